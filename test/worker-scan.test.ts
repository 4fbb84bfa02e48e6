// Scans through SamUnetWorker over a real MessageChannel (the demo's scan page does the same in a
// Worker: test/runtimes/scan-page.test.ts): a NIfTI phantom written by nibabel is opened in the
// host, a slice comes back as the library's RGB, prefetched slices are found in the store later,
// propagation reports progress, stops on an AbortSignal, corrects, and exports a label map that
// reads back equal.
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { DicomError, readNifti, volumeSliceToRgb, type SliceProgress } from '../src/index.js';
import { SamUnetWorker } from '../src/worker/client.js';
import { serveSamUnet } from '../src/worker/host.js';
import { testGpu } from './helpers/gpu.js';
import { itWithTools, pythonWith, runPy } from './helpers/python.js';

const NEEDS = { python: ['nibabel', 'pydicom', 'numpy'] } as const;
const dir = mkdtempSync(join(tmpdir(), 'sam-unet-worker-scan-'));

describe('SamUnetWorker scans (MessageChannel)', () => {
  let sam: SamUnetWorker;
  let ports: MessagePort[];
  let nifti: string;
  let series: string;
  beforeAll(async () => {
    const { port1, port2 } = new MessageChannel();
    ports = [port1, port2];
    serveSamUnet(port2, { requestGpu: testGpu });
    sam = await SamUnetWorker.create(port1);
    await sam.load({ kind: 'synthetic', variant: 'res34' });
    if (pythonWith(NEEDS.python)) ({ nifti, series } = await runPy<{ nifti: string; series: string }>('volume_phantom.py', NEEDS.python, [dir, '40', '32', '4']));
  }, 120_000);
  afterAll(() => {
    sam?.destroy();
    for (const p of ports ?? []) p.close();
    rmSync(dir, { recursive: true, force: true });
  });

  itWithTools('open, slice, prefetch, propagate with progress, cancel, correct, export', NEEDS, async () => {
    // Scan errors cross as their own classes, with their reason (400 zero bytes: neither a NIfTI
    // header nor DICOM; Node's structured clone drops a File's name, so it is tried as DICOM).
    const bad = await sam.openScan([new File([new Uint8Array(400)], 'x.dcm')]).catch((e: Error) => e);
    expect(bad).toBeInstanceOf(DicomError);
    expect((bad as DicomError).reason).toBe('not-dicom');
    const bytes = readFileSync(nifti);
    const scan = await sam.openScan([new File([bytes], 'phantom.nii.gz')]);
    expect(scan.info).toMatchObject({ kind: 'nifti', dims: [40, 32, 4], slices: { axial: { count: 4, width: 40, height: 32 } } });
    const vol = readNifti(new Uint8Array(bytes));
    const s = await scan.slice('axial', 2, 'abdomen');
    expect(Buffer.from(s.rgb).equals(Buffer.from(volumeSliceToRgb(vol, { axis: 'axial', index: 2, window: 'abdomen' }).image.data))).toBe(true);
    expect(s.window).toMatch(/W400/);

    expect(await scan.prefetch('axial', [1, 2], 'abdomen')).toEqual({ encoded: 2, cached: 0 });
    expect(await scan.prefetch('axial', [2], 'abdomen')).toEqual({ encoded: 0, cached: 1 });

    // Cancelled on the first slice's progress: rejects with the signal's reason.
    const ac = new AbortController();
    const stop = scan.segment([{ slice: 2, label: 1, box: [4, 4, 36, 28] }], { window: 'abdomen', signal: ac.signal, onProgress: () => ac.abort(new Error('stop')) });
    await expect(stop).rejects.toThrow('stop');

    const progress: SliceProgress[] = [];
    const r = await scan.segment([{ slice: 2, label: 1, box: [4, 4, 36, 28] }], { window: 'abdomen', onProgress: (p) => progress.push(p) });
    expect(r.dims).toEqual([40, 32, 4]);
    expect(progress.at(-1)!.done).toBe(r.decodes);
    expect(r.encodes).toBeLessThanOrEqual(2); // slices 1 and 2 were prefetched
    const exported = readNifti(await scan.export('nifti'));
    expect(Array.from(exported.data)).toEqual(Array.from(r.labels));

    // A correction on slice 0 for label 2 keeps label 1 and decodes slice 0's territory only.
    const c = await scan.segment([{ slice: 0, label: 2, box: [2, 2, 20, 20] }], { window: 'abdomen', correct: true });
    expect(c.slices.filter((x) => x.label === 1)).toEqual(r.slices.filter((x) => x.label === 1));
    expect(c.decodes).toBeLessThanOrEqual(4);
    await expect(scan.export('seg')).rejects.toThrow(/DICOM SEG references a DICOM series/);
    scan.destroy();
    await expect(scan.slice('axial', 0)).rejects.toThrow(/not open/);

    // A DICOM series (a folder's files) exports a SEG.
    const files = (await import('node:fs')).readdirSync(series).map((f) => new File([readFileSync(join(series, f))], f));
    const ds = await sam.openScan(files);
    expect(ds.info.kind).toBe('dicom');
    await ds.segment([{ slice: 1, label: 1, box: [4, 4, 36, 28] }], { window: 'abdomen' });
    const seg = await ds.export('seg');
    expect(new TextDecoder().decode(seg.subarray(128, 132))).toBe('DICM');
    ds.destroy();
  }, 300_000);
});
