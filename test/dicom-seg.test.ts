// DICOM SEG output checked by independent tools: pydicom writes an oblique CT series (files in
// shuffled order, a UTF-8 patient name); we build its Volume (as a DICOM reader would: slices sorted
// along the normal, LPS → RAS), write a SEG of a label map with three labels, and then
// - pydicom reads it: class, BINARY, frame count, segments, per frame the referenced instance,
//   whose own ImagePositionPatient must equal the frame's, the pixels (pydicom's 1-bit unpacking)
//   equal to the labels, the shared orientation and spacing equal to the source's, the study,
//   patient and frame of reference copied, every source instance in the Referenced Series Sequence;
// - dcmtk's dcmdump parses it, and dicom3tools' dciodvfy finds no error against the Segmentation IOD.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { dicomSeg, rgbToDicomLab, SEGMENTATION_STORAGE } from '../src/volume/dicom-seg.js';
import { ds, DicomWriteError, newUid } from '../src/volume/dicom-write.js';
import { LabelMapError } from '../src/volume/labels.js';
import type { Volume } from '../src/volume/types.js';
import { itWithTools, runPy } from './helpers/python.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'sam-unet-seg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Series {
  study: string; series: string; frameOfReference: string; sopClassUID: string; orientation: number[]; pixelSpacing: [number, number];
  rows: number; cols: number; slices: { path: string; sopInstanceUID: string; position: number[] }[]; patient: Record<string, string>;
}

/** The series as a Volume (what the DICOM reader of src/volume produces): sorted along the normal, RAS+. */
function volumeOf(s: Series): Volume {
  const [rx, ry, rz, cx, cy, cz] = s.orientation as [number, number, number, number, number, number];
  const normal = [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx];
  const along = (p: number[]) => p[0]! * normal[0]! + p[1]! * normal[1]! + p[2]! * normal[2]!;
  const sorted = [...s.slices].sort((a, b) => along(a.position) - along(b.position));
  const n = sorted.length;
  const first = sorted[0]!.position, last = sorted[n - 1]!.position;
  const step = [0, 1, 2].map((r) => (last[r]! - first[r]!) / (n - 1));
  const [dr, dc] = s.pixelSpacing;
  // LPS columns: i along a row (spacing between columns), j down the rows, k across slices; RAS negates rows x and y.
  const lps = [[rx * dc, cx * dr, step[0]!, first[0]!], [ry * dc, cy * dr, step[1]!, first[1]!], [rz * dc, cz * dr, step[2]!, first[2]!]];
  const ras = [lps[0]!.map((v) => -v), lps[1]!.map((v) => -v), lps[2]!];
  const affine = new Float64Array([...ras.flat(), 0, 0, 0, 1]);
  const dims = [s.cols, s.rows, n] as const;
  return {
    dims, data: new Float32Array(dims[0] * dims[1] * dims[2]), affine, spacing: [dc, dr, Math.hypot(...step)], modality: 'CT',
    source: {
      kind: 'dicom', studyInstanceUID: s.study, seriesInstanceUID: s.series, frameOfReferenceUID: s.frameOfReference, sopClassUID: s.sopClassUID,
      instances: sorted.map((x) => ({ sopInstanceUID: x.sopInstanceUID })), patient: s.patient, orientation: s.orientation,
    },
  };
}

/** Label 1: an ellipsoid through slices 1–4; 2: a smaller one in slices 2–3; 5: one voxel on slice 5. Slice 0 is empty. */
function labelsOf([ni, nj, nk]: readonly [number, number, number]): Uint8Array {
  const out = new Uint8Array(ni * nj * nk);
  for (let k = 1; k <= 4; k++) {
    for (let j = 0; j < nj; j++) {
      for (let i = 0; i < ni; i++) {
        const e = (cx: number, cy: number, rx: number, ry: number) => ((i - cx) / rx) ** 2 + ((j - cy) / ry) ** 2 <= 1;
        out[i + ni * (j + nj * k)] = k >= 2 && k <= 3 && e(8, 5, 2.5, 2) ? 2 : e(5, 4, 4, 3.5) ? 1 : 0;
      }
    }
  }
  out[3 + ni * (2 + nj * 5)] = 5;
  return out;
}

describe('dicomSeg', () => {
  itWithTools('references its source series as pydicom, dcmdump and dciodvfy read it', { python: ['pydicom', 'numpy'], tools: ['dcmdump', 'dciodvfy'] }, async () => {
    const series = await runPy<Series>('dicom_series.py', ['pydicom', 'numpy'], [join(dir, 'ct'), '9', '13', '6']);
    const vol = volumeOf(series);
    const labels = labelsOf(vol.dims);
    const segPath = join(dir, 'seg.dcm');
    writeFileSync(segPath, dicomSeg(labels, vol, { segments: [{ label: 1, name: 'Liver' }, { label: 2, name: 'Lesion', color: [255, 255, 0] }, { label: 5 }] }));
    type Frame = { segment: number; dimensionIndex: number[]; referencedSOPInstanceUID: string; referencedSOPClassUID: string; position: number[]; sourcePosition: number[] | null };
    const got = await runPy<{
      sopClassUID: string; modality: string; segmentationType: string; numberOfFrames: number; rows: number; columns: number;
      segments: { number: number; label: string; algorithm: string }[]; orientation: number[]; sourceOrientation: number[];
      pixelSpacing: number[]; sourcePixelSpacing: number[]; frames: Frame[]; referencedSeries: { uid: string; instances: string[] }[];
      sourceSeries: string; sourceInstances: string[]; same: Record<string, boolean>; patientName: string; newSeries: boolean;
    }>('seg_check.py', ['pydicom', 'numpy'], [segPath, join(dir, 'ct'), join(dir, 'frames.bin')]);

    const [ni, nj] = vol.dims;
    expect([got.sopClassUID, got.modality, got.segmentationType, got.rows, got.columns]).toEqual([SEGMENTATION_STORAGE, 'SEG', 'BINARY', nj, ni]);
    expect(got.segments).toEqual([
      { number: 1, label: 'Liver', algorithm: 'SEMIAUTOMATIC' }, { number: 2, label: 'Lesion', algorithm: 'SEMIAUTOMATIC' }, { number: 3, label: 'Label 5', algorithm: 'SEMIAUTOMATIC' },
    ]);
    // Frames with content only: label 1 on slices 1–4, 2 on 2–3, 5 on 5.
    const want = [[1, 1], [1, 2], [1, 3], [1, 4], [2, 2], [2, 3], [3, 5]];
    expect(got.frames.map((f) => [f.segment, f.dimensionIndex[1]! - 1])).toEqual(want);
    expect(got.numberOfFrames).toBe(want.length);
    const pixels = readFileSync(join(dir, 'frames.bin'));
    const segLabel = [0, 1, 2, 5];
    got.frames.forEach((f, n) => {
      const k = f.dimensionIndex[1]! - 1;
      expect(f.dimensionIndex[0]).toBe(f.segment);
      expect(f.referencedSOPInstanceUID, `frame ${n}`).toBe(vol.source.kind === 'dicom' && vol.source.instances[k]!.sopInstanceUID);
      expect(f.referencedSOPClassUID).toBe(series.sopClassUID);
      f.position.forEach((v, r) => expect(Math.abs(v - f.sourcePosition![r]!), `frame ${n} position`).toBeLessThan(1e-4));
      for (let p = 0; p < ni * nj; p++) {
        const inside = labels[k * ni * nj + p] === segLabel[f.segment];
        if ((pixels[n * ni * nj + p] === 1) !== inside) throw new Error(`frame ${n} (segment ${f.segment}, slice ${k}): pixel ${p} is ${pixels[n * ni * nj + p]}`);
      }
    });
    got.orientation.forEach((v, i) => expect(Math.abs(v - got.sourceOrientation[i]!)).toBeLessThan(1e-6));
    got.pixelSpacing.forEach((v, i) => expect(Math.abs(v - got.sourcePixelSpacing[i]!)).toBeLessThan(1e-6));
    expect(got.referencedSeries).toEqual([{ uid: got.sourceSeries, instances: got.sourceInstances }]);
    expect(got.same).toEqual({ StudyInstanceUID: true, FrameOfReferenceUID: true, PatientName: true, PatientID: true, PatientBirthDate: true, PatientSex: true, StudyDate: true, AccessionNumber: true });
    expect(got.patientName).toBe('Müller^Anna');
    expect(got.newSeries).toBe(true);

    await run('dcmdump', ['-q', segPath]);
    const v = await run('dciodvfy', [segPath]).catch((e: { stdout: string; stderr: string }) => e);
    const report = `${v.stdout}${v.stderr}`.trim().split('\n').filter((l) => l.trim());
    console.log(`[dciodvfy] ${report.length} line(s):\n${report.map((l) => `  ${l}`).join('\n')}`);
    expect(report.filter((l) => /^Error/.test(l))).toEqual([]);
  }, 120_000);

  it('refuses what it cannot write, naming the problem', () => {
    const affine = new Float64Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    const source = {
      kind: 'dicom' as const, studyInstanceUID: '1.2', seriesInstanceUID: '1.2.3', frameOfReferenceUID: '1.2.4', sopClassUID: '1.2.840.10008.5.1.4.1.1.2',
      instances: [{ sopInstanceUID: '1.2.3.1' }, { sopInstanceUID: '1.2.3.2' }], patient: {}, orientation: [1, 0, 0, 0, 1, 0],
    };
    const vol = { dims: [2, 2, 2] as const, affine, source };
    const labels = new Uint8Array([0, 1, 0, 0, 0, 0, 1, 1]);
    expect(dicomSeg(labels, vol).length).toBeGreaterThan(132);
    expect(() => dicomSeg(labels, { ...vol, source: { kind: 'nifti', version: 1, affineFrom: 'sform' } })).toThrow(/references a DICOM series; this volume came from nifti/);
    expect(() => dicomSeg(labels, { ...vol, source: { ...source, instances: source.instances.slice(1) } })).toThrow(/1 instances for 2 slices/);
    expect(() => dicomSeg(labels, { ...vol, source: { ...source, frameOfReferenceUID: undefined } })).toThrow(/FrameOfReferenceUID/);
    expect(() => dicomSeg(new Uint8Array(8), vol)).toThrow(LabelMapError);
    expect(() => dicomSeg(labels, vol, { segments: [{ label: 1 }, { label: 1 }] })).toThrow(/its own label/);
    // A hostile source value: a backslash would make two values, a control character a malformed file.
    expect(() => dicomSeg(labels, { ...vol, source: { ...source, patient: { PatientID: 'a\\b' } } })).toThrow(DicomWriteError);
    expect(() => dicomSeg(labels, { ...vol, source: { ...source, patient: { PatientName: 'x\u0000y' } } })).toThrow(/\(0010,0010\) PN/);
    expect(() => dicomSeg(labels, { ...vol, source: { ...source, seriesInstanceUID: '1.2.abc' } })).toThrow(/\(0020,000E\) UI/);
    expect(() => dicomSeg(labels, { ...vol, source: { ...source, patient: { StudyDate: '2024-01-02' } } })).toThrow(/\(0008,0020\) DA/);
  });

  it('formats decimal strings within 16 characters and makes valid UIDs', () => {
    for (const x of [0, -0, 1, -2.5, 0.1 + 0.2, 123456789.123456789, -1e-7, 1e21, 3.141592653589793, -110.25000000000001]) {
      const s = ds(x);
      expect(s.length, s).toBeLessThanOrEqual(16);
      expect(s).toMatch(/^[0-9+\-.e]+$/);
      expect(Math.abs(Number(s) - x)).toBeLessThanOrEqual(Math.abs(x) * 1e-9 + 1e-300);
    }
    expect(() => ds(NaN)).toThrow(DicomWriteError);
    const uids = new Set(Array.from({ length: 100 }, newUid));
    expect(uids.size).toBe(100);
    for (const u of uids) expect(u).toMatch(/^2\.25\.[1-9]\d{0,38}$/);
    // White: L* 100, a* ≈ b* ≈ 0; black: L* 0.
    const [L, a, b] = rgbToDicomLab([255, 255, 255]);
    expect(L).toBe(65535);
    expect(Math.abs(a - 32896) + Math.abs(b - 32896)).toBeLessThan(100);
    expect(rgbToDicomLab([0, 0, 0])[0]).toBe(0);
  });
});
