// The CLI on scans (dist/cli.js, built by `npm test`): a 3-D phantom (ellipsoids of different HU)
// written as a DICOM CT series by pydicom and as NIfTI by nibabel, both independent of our code.
// `volume` on both: the label map's shape and affine as nibabel reads them equal the scan's, the
// DICOM SEG is read by pydicom and references the series' instances; `segment` on a volume slice
// equals the library's mask for that slice; `info`; a batch volume item; a .pth checkpoint
// written by torch.save as --weights; and the errors that name a bad slice, axis or window.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { decodePng } from '../src/image/png.js';
import { volumeSliceToRgb } from '../src/medical/index.js';
import { syntheticWeights } from '../src/model/keys.js';
import { SamUnet } from '../src/model/sam_unet.js';
import { openScanPath } from '../src/node/medical.js';
import { testGpu } from './helpers/gpu.js';
import { itWithTools, pythonWith, runPy } from './helpers/python.js';
import { repoRoot } from './helpers/shared.js';

const run = promisify(execFile);
const cli = join(repoRoot, 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'sam-unet-scan-cli-'));
const NEEDS = { python: ['nibabel', 'pydicom', 'numpy'] } as const;

async function sam(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [cli, ...args], { maxBuffer: 1 << 24 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

interface Phantom { series: string; nifti: string; shape: number[]; affine: number[][] }
interface NiftiView { shape: number[]; sourceShape: number[]; affine: number[][]; sourceAffine: number[][]; dtype: string; intent: string }

/** nibabel's view of label maps against their source scan, and the label values (i fastest). */
async function nibabelView(source: string, labels: string): Promise<NiftiView & { values: Uint8Array }> {
  const raw = join(dir, `raw-${Math.random().toString(36).slice(2)}`);
  const spec = join(dir, `${raw}.json`.split('/').pop()!);
  writeFileSync(spec, JSON.stringify([{ source, labels, raw }]));
  const [view] = await runPy<NiftiView[]>('nifti_check.py', NEEDS.python, ['compare', spec]);
  return { ...view!, values: new Uint8Array(readFileSync(raw)) };
}

const closeAffine = (a: number[][], b: number[][]) => a.every((row, i) => row.every((v, j) => Math.abs(v - b[i]![j]!) < 1e-4));

describe('sam-unet on scans (pydicom series, nibabel NIfTI)', () => {
  let ph: Phantom;
  beforeAll(async () => {
    if (!pythonWith(NEEDS.python)) return;
    ph = await runPy<Phantom>('volume_phantom.py', NEEDS.python, [join(dir, 'phantom'), '48', '40', '6']);
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  itWithTools('info describes a series and a NIfTI file', NEEDS, async () => {
    const s = await sam(['info', ph.series]);
    expect(s.code, s.stderr).toBe(0);
    const series = JSON.parse(s.stdout);
    expect(series).toMatchObject({ kind: 'DICOM series', modality: 'CT', dims: [48, 40, 6], spacing: [0.8, 0.7, 2] });
    expect(closeAffine(series.affine, ph.affine)).toBe(true);
    const n = JSON.parse((await sam(['info', ph.nifti])).stdout);
    expect(n).toMatchObject({ kind: 'NIfTI-1', dims: ph.shape, slices: { axial: { count: 6, width: 48, height: 40 } } });
    // One file of the series is a 2-D DICOM image for `segment`.
    const file = join(ph.series, readdirSync(ph.series)[0]!);
    const one = await sam(['segment', file, '--weights', 'synthetic:res34', '--window', 'abdomen', '--box', '2,2,30,30', '--out', join(dir, 'one.png')]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stderr).toMatch(/DICOM CT 48×40, frame 0 of 1, .*W400.*L40/);
    expect(decodePng(readFileSync(join(dir, 'one.png'))).width).toBe(48);
  }, 120_000);

  itWithTools('volume on the DICOM series: the label map lies on the scan (nibabel) and the SEG references its instances (pydicom)', NEEDS, async () => {
    const out = join(dir, 'series-labels.nii.gz'), seg = join(dir, 'series-seg.dcm');
    const r = await sam(['volume', ph.series, '--weights', 'synthetic:res34', '--box', '3:8,6,40,34', '--window', 'abdomen', '--out', out, '--seg', seg]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\d+\/\d+ slices, .* slices\/s/);
    expect(r.stderr).toMatch(/volume 48×40×6 \(CT\): \d+ slice decodes/);
    const v = await nibabelView(ph.nifti, out);
    expect(v.shape).toEqual(v.sourceShape);
    expect(closeAffine(v.affine, v.sourceAffine)).toBe(true);
    expect(v.intent).toBe('label');
    expect(v.values.some((x) => x === 1)).toBe(true);
    const raw = join(dir, 'seg-frames.raw');
    const info = await runPy<{ frames: { segment: number; sourcePosition: number[] | null }[] }>('seg_check.py', ['pydicom'], [seg, ph.series, raw]);
    expect(info.frames.length).toBeGreaterThan(0);
    for (const f of info.frames) expect(f.sourcePosition, 'every frame references an instance of the series').not.toBeNull();
  }, 300_000);

  itWithTools('volume on the NIfTI file: two labels at once, PNG slices; segment on one slice equals the library', NEEDS, async () => {
    const out = join(dir, 'nifti-labels.nii'), png = join(dir, 'png');
    const r = await sam(['volume', ph.nifti, '--weights', 'synthetic:res34', '--window', 'abdomen', '--box', '1@2:4,4,24,36', '--box', '2@3:24,4,44,36', '--out', out, '--png-dir', png, '--strategy', 'box+mask']);
    expect(r.code, r.stderr).toBe(0);
    const v = await nibabelView(ph.nifti, out);
    expect(v.shape).toEqual(v.sourceShape);
    expect(closeAffine(v.affine, v.sourceAffine)).toBe(true);
    expect(v.dtype).toBe('uint8');
    expect(Math.max(...v.values)).toBeLessThanOrEqual(2);
    expect(readdirSync(png).length).toBe(6);

    // One slice through `segment`, and the same through the library.
    const mask = join(dir, 'slice.png'), labels = join(dir, 'slice-labels.nii.gz');
    const s = await sam(['segment', ph.nifti, '--weights', 'synthetic:res34', '--window', 'abdomen', '--slice', '2', '--box', '4,4,24,36', '--out', mask, '--out-labels', labels]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toMatch(/axial slice 2 of 0..5 \(48×40\), CT window W400\/L40|axial slice 2 of 0..5 \(48×40\)/);
    const model = await SamUnet.load(await testGpu(), syntheticWeights('res34'));
    try {
      const scan = await openScanPath(ph.nifti);
      if (scan.kind !== 'volume') throw new Error('not a volume');
      const { image } = volumeSliceToRgb(scan.volume, { axis: 'axial', index: 2, window: 'abdomen' });
      const ref = await model.segment(image, { box: [4, 4, 24, 36] });
      const got = decodePng(readFileSync(mask));
      expect([got.width, got.height]).toEqual([48, 40]);
      const channels = got.data.length / (48 * 40);
      expect(Array.from(got.data.filter((_, i) => i % channels === 0), (x) => (x ? 1 : 0))).toEqual(Array.from(ref.masks[0]!));
    } finally {
      model.destroy();
    }
    const sl = await nibabelView(ph.nifti, labels);
    expect(closeAffine(sl.affine, sl.sourceAffine)).toBe(true);
    // The one-slice label map holds labels on slice k = 2 only (i fastest, k slowest).
    const plane = 48 * 40;
    sl.values.forEach((x, p) => x && expect(Math.floor(p / plane)).toBe(2));
  }, 300_000);

  itWithTools('a batch manifest with a volume item writes its label map', NEEDS, async () => {
    const manifest = join(dir, 'batch.jsonl'), outDir = join(dir, 'batch-out');
    writeFileSync(manifest, JSON.stringify({ input: ph.nifti, boxes: [[3, 8, 6, 40, 34]], label: 3, out: 'v.nii.gz' }) + '\n');
    const r = await sam(['batch', manifest, '--out-dir', outDir, '--weights', 'synthetic:res34']);
    expect(r.code, r.stderr).toBe(0);
    const v = await nibabelView(ph.nifti, join(outDir, 'v.nii.gz'));
    expect(v.shape).toEqual(v.sourceShape);
    expect(v.values.some((x) => x === 3)).toBe(true);
  }, 300_000);

  itWithTools('errors name a bad slice, axis, window, frame or option', NEEDS, async () => {
    const base = ['segment', ph.nifti, '--weights', 'synthetic:res34', '--box', '1,1,5,5', '--out', join(dir, 'x.png')];
    const slice = await sam([...base, '--slice', '6']);
    expect(slice.code).toBe(1);
    expect(slice.stderr).toContain('--slice 6 is outside 0..5 (6 axial slices');
    const axis = await sam([...base, '--axis', 'oblique']);
    expect(axis.stderr).toContain("--axis must be axial, coronal, sagittal, got 'oblique'");
    const win = await sam([...base, '--window', 'soft']);
    expect(win.stderr).toMatch(/--window: window "soft": expected abdomen, lung/);
    const frame = await sam([...base, '--frame', '1']);
    expect(frame.stderr).toContain('--frame applies to a 2-D multi-frame DICOM file');
    const vol = await sam(['volume', ph.nifti, '--box', '9:1,1,5,5', '--out', join(dir, 'y.nii.gz'), '--weights', 'synthetic:res34']);
    expect(vol.code).toBe(1);
    expect(vol.stderr).toContain('slice 9 is outside 0..5 (axial)');
    const syntax = await sam(['volume', ph.nifti, '--box', '1,1,5,5', '--out', join(dir, 'y.nii.gz')]);
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toContain("--box '1,1,5,5': expected [LABEL@]SLICE:x0,y0,x1,y1");
    const seg = await sam(['volume', ph.nifti, '--box', '2:1,1,5,5', '--out', join(dir, 'y.nii.gz'), '--seg', join(dir, 'y.dcm'), '--weights', 'synthetic:res34']);
    expect(seg.stderr).toContain('--seg writes a DICOM SEG that references a DICOM series');
    expect(existsSync(join(dir, 'y.nii.gz'))).toBe(false);
  }, 300_000);

  itWithTools('--weights takes a checkpoint written by torch.save: the same mask as its safetensors', { python: ['torch'] }, async () => {
    const w = join(dir, 'res34.safetensors');
    expect((await sam(['synth-weights', '--variant', 'res34', '--out', w])).code).toBe(0);
    const ckpt = join(dir, 'ckpt');
    mkdirSync(ckpt, { recursive: true });
    await run(pythonWith(['torch'])!, [join(repoRoot, 'test', 'pth', 'torch_checkpoints.py'), w, ckpt, 'upstream'], { maxBuffer: 1 << 24 });
    const png = join(dir, 'in.png');
    const { encodePng } = await import('../src/image/decode.js');
    const rgb = new Uint8Array(64 * 48 * 3).map((_, i) => (i * 37) % 251);
    writeFileSync(png, encodePng(64, 48, rgb, 3));
    const a = await sam(['segment', png, '--weights', join(ckpt, 'upstream.pth'), '--box', '4,4,40,40', '--out', join(dir, 'pth.png')]);
    expect(a.code, a.stderr).toBe(0);
    const b = await sam(['segment', png, '--weights', w, '--box', '4,4,40,40', '--out', join(dir, 'st.png')]);
    expect(b.code, b.stderr).toBe(0);
    expect(readFileSync(join(dir, 'pth.png')).equals(readFileSync(join(dir, 'st.png')))).toBe(true);
  }, 300_000);
});
