// NIfTI label maps checked by nibabel (Debian's python3-nibabel), an independent reader: nibabel
// writes a source scan with a given affine; its affine (as nibabel reads it back) goes into our
// Volume-like ref; we write labels; nibabel reads both files. The label map's shape and affine must
// equal the source's, its qform (when it has one) must describe the same affine, and every voxel's
// label must come back. Cases: oblique, left-handed, sheared, pixdim-only, DICOM-derived (LPS
// flipped), 180° and 150° turns (each branch of the quaternion code), uint8 and uint16, gzipped or not.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { affineToQuatern, LabelMapError, niftiLabelMap } from '../src/volume/nifti-write.js';
import type { Volume } from '../src/volume/types.js';
import { itWithTools, runPy } from './helpers/python.js';

const dir = mkdtempSync(join(tmpdir(), 'sam-unet-nifti-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type M3 = number[][];
const mul = (a: M3, b: M3): M3 => a.map((r) => [0, 1, 2].map((c) => r[0]! * b[0]![c]! + r[1]! * b[1]![c]! + r[2]! * b[2]![c]!));
const diag = (x: number, y: number, z: number): M3 => [[x, 0, 0], [0, y, 0], [0, 0, z]];
/** Rotation by `deg` about `axis` (Rodrigues). */
function rot(axis: [number, number, number], deg: number): M3 {
  const n = Math.hypot(...axis), [x, y, z] = axis.map((v) => v / n) as [number, number, number];
  const t = (deg * Math.PI) / 180, c = Math.cos(t), s = Math.sin(t), C = 1 - c;
  return [[c + x * x * C, x * y * C - z * s, x * z * C + y * s], [y * x * C + z * s, c + y * y * C, y * z * C - x * s], [z * x * C - y * s, z * y * C + x * s, c + z * z * C]];
}
const affine = (m: M3, t: [number, number, number]) => [...m.map((r, i) => [...r, t[i]!]), [0, 0, 0, 1]];

interface Case {
  name: string;
  shape: [number, number, number];
  affine: number[][];
  sform: number;
  qform: number;
  zooms?: number[];
  source: Volume['source'];
  big?: boolean;
  gzip?: boolean;
  want: { sform: number; qform: number; dtype: string };
}

const nifti = (affineFrom: 'sform' | 'qform' | 'pixdim', header: Record<string, unknown> = {}): Volume['source'] => ({ kind: 'nifti', version: 1, affineFrom, header });
const dicom: Volume['source'] = {
  kind: 'dicom', studyInstanceUID: '1.2', seriesInstanceUID: '1.2.3', sopClassUID: '1.2.840.10008.5.1.4.1.1.2', instances: [], patient: {}, orientation: [1, 0, 0, 0, 1, 0],
};

const cases: Case[] = [
  { name: 'oblique', shape: [7, 6, 5], affine: affine(mul(rot([1, 2, 3], 30), diag(0.8, 1.1, 2.5)), [-12.5, 30, 7]), sform: 1, qform: 1, source: nifti('sform', { sform_code: 1 }), want: { sform: 1, qform: 1, dtype: 'uint8' } },
  { name: 'left-handed, uint16', shape: [6, 5, 4], affine: affine(mul(rot([0, 0, 1], 10), diag(-1.5, 1, 2)), [40, -20, 5]), sform: 2, qform: 0, source: nifti('sform', { sform_code: 2 }), big: true, want: { sform: 2, qform: 2, dtype: 'uint16' } },
  { name: 'sheared, plain .nii', shape: [5, 5, 3], affine: affine([[1, 0.3, 0], [0, 1, 0], [0.1, 0, 2]], [1, 2, 3]), sform: 2, qform: 0, source: nifti('sform', { sform_code: 2 }), gzip: false, want: { sform: 2, qform: 0, dtype: 'uint8' } },
  { name: 'pixdim only', shape: [6, 4, 3], affine: [], sform: 0, qform: 0, zooms: [0.9, 0.9, 3], source: nifti('pixdim'), want: { sform: 0, qform: 0, dtype: 'uint8' } },
  { name: 'DICOM-derived (180° about z)', shape: [8, 8, 4], affine: affine(diag(-0.7, -0.7, 2.5), [90, 110, -40]), sform: 1, qform: 1, source: dicom, want: { sform: 1, qform: 1, dtype: 'uint8' } },
  { name: '180° about x', shape: [4, 5, 6], affine: affine(diag(1.2, -1.2, -3), [0, 5, 9]), sform: 1, qform: 1, source: nifti('qform', { qform_code: 1 }), want: { sform: 1, qform: 1, dtype: 'uint8' } },
  { name: '180° about y', shape: [4, 5, 6], affine: affine(diag(-2, 1, -1), [3, 2, 1]), sform: 3, qform: 3, source: nifti('sform', { sform_code: 3 }), want: { sform: 3, qform: 3, dtype: 'uint8' } },
  // Turns past 120° about oblique axes: the three branches of the quaternion code with their off-diagonal terms.
  ...([[3, 1, 1], [1, 3, 1], [1, 1, 3]] as const).map((axis): Case => ({
    name: `150° about [${axis}]`, shape: [3, 4, 5], affine: affine(mul(rot([...axis], 150), diag(1, 2, 3)), [1, 1, 1]), sform: 1, qform: 1, source: nifti('sform', { sform_code: 1 }), want: { sform: 1, qform: 1, dtype: 'uint8' },
  })),
];

/** Two ellipsoids (labels 1, 2) and, for `big`, a voxel labelled 300. */
function labelsFor(c: Case): Uint8Array | Uint16Array {
  const [ni, nj, nk] = c.shape;
  const out = c.big ? new Uint16Array(ni * nj * nk) : new Uint8Array(ni * nj * nk);
  for (let k = 0; k < nk; k++) {
    for (let j = 0; j < nj; j++) {
      for (let i = 0; i < ni; i++) {
        const e = (cx: number, r: number) => ((i - cx) / r) ** 2 + ((j - nj / 2) / (nj / 3)) ** 2 + ((k - nk / 2) / (nk / 2)) ** 2 <= 1;
        out[i + ni * (j + nj * k)] = e(ni / 3, ni / 4) ? 1 : e((2 * ni) / 3, ni / 5) ? 2 : 0;
      }
    }
  }
  if (c.big) out[ni + 1] = 300;
  return out;
}

const close = (a: number[][], b: number[][], tol: number) => a.every((r, i) => r.every((v, j) => Math.abs(v - b[i]![j]!) <= tol));

describe('niftiLabelMap', () => {
  itWithTools('lies on its source per nibabel: same shape and affine, a matching qform, every label back', { python: ['nibabel', 'numpy'] }, async () => {
    const spec = cases.map((c, n) => ({ path: join(dir, `src${n}.nii.gz`), shape: c.shape, affine: c.affine.length ? c.affine : null, sform_code: c.sform, qform_code: c.qform, zooms: c.zooms }));
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
    const read = await runPy<{ affine: number[][]; shape: number[] }[]>('nifti_check.py', ['nibabel', 'numpy'], ['source', join(dir, 'spec.json')]);
    const pairs = cases.map((c, n) => {
      const labels = labelsFor(c);
      const ref = { dims: read[n]!.shape as [number, number, number], affine: new Float64Array(read[n]!.affine.flat()), source: c.source };
      const path = join(dir, `labels${n}.nii${c.gzip === false ? '' : '.gz'}`);
      const bytes = niftiLabelMap(labels, ref, { gzip: c.gzip });
      expect(bytes[0] === 0x1f && bytes[1] === 0x8b, `${c.name}: gzip magic`).toBe(c.gzip !== false);
      writeFileSync(path, bytes);
      return { source: spec[n]!.path, labels: path, raw: join(dir, `raw${n}.bin`) };
    });
    writeFileSync(join(dir, 'pairs.json'), JSON.stringify(pairs));
    type Got = { sourceShape: number[]; shape: number[]; sourceAffine: number[][]; affine: number[][]; qform: number[][]; qformCode: number; sformCode: number; dtype: string; intent: string; zooms: number[]; sourceZooms: number[] };
    const got = await runPy<Got[]>('nifti_check.py', ['nibabel', 'numpy'], ['compare', join(dir, 'pairs.json')]);
    cases.forEach((c, n) => {
      const g = got[n]!;
      const what = `${c.name}`;
      expect(g.shape, `${what}: shape`).toEqual(g.sourceShape);
      expect(close(g.affine, g.sourceAffine, 1e-5), `${what}: affine ${JSON.stringify(g.affine)} vs source ${JSON.stringify(g.sourceAffine)}`).toBe(true);
      expect([g.sformCode, g.qformCode, g.dtype, g.intent], what).toEqual([c.want.sform, c.want.qform, c.want.dtype, 'label']);
      if (g.qformCode > 0) expect(close(g.qform, g.sourceAffine, 1e-4), `${what}: qform ${JSON.stringify(g.qform)}`).toBe(true);
      g.zooms.forEach((z, i) => expect(Math.abs(z - g.sourceZooms[i]!), `${what}: zoom ${i}`).toBeLessThan(1e-5));
      const labels = labelsFor(c);
      const raw = readFileSync(pairs[n]!.raw);
      expect(Buffer.compare(raw, Buffer.from(labels.buffer, labels.byteOffset, labels.byteLength)), `${what}: label values`).toBe(0);
    });
  }, 120_000);

  it('refuses labels that do not fit the volume, and a bad affine, with a LabelMapError', () => {
    const affine = new Float64Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    const ref = { dims: [4, 3, 2] as const, affine };
    expect(() => niftiLabelMap(new Uint8Array(23), ref)).toThrow(/23 labels for a 4×3×2 volume, which has 24 voxels/);
    expect(() => niftiLabelMap(new Float32Array(24) as unknown as Uint8Array, ref)).toThrow(/Uint8Array or Uint16Array/);
    expect(() => niftiLabelMap(new Uint8Array(24), { ...ref, dims: [4, 3, 0] })).toThrow(LabelMapError);
    const nan = affine.slice();
    nan[5] = NaN;
    expect(() => niftiLabelMap(new Uint8Array(24), { ...ref, affine: nan })).toThrow(/16 finite values/);
    const persp = affine.slice();
    persp[12] = 0.5;
    expect(() => niftiLabelMap(new Uint8Array(24), { ...ref, affine: persp })).toThrow(/last row/);
    expect(() => niftiLabelMap(new Uint8Array(40000), { dims: [40000, 1, 1], affine })).toThrow(/at most 32767/);
    expect(() => niftiLabelMap(new Uint8Array(24), ref, { description: 'é' })).toThrow(/ASCII/);
  });

  it('gives the identity quaternion for an axis-aligned grid and none for a shear', () => {
    const q = affineToQuatern(new Float64Array([2, 0, 0, 5, 0, 3, 0, 6, 0, 0, 4, 7, 0, 0, 0, 1]))!;
    expect([q.b, q.c, q.d, q.qfac, ...q.pixdim, ...q.offset]).toEqual([0, 0, 0, 1, 2, 3, 4, 5, 6, 7]);
    expect(affineToQuatern(new Float64Array([1, 0.2, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]))).toBeNull();
    expect(affineToQuatern(new Float64Array([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]))).toBeNull(); // a zero column
  });
});
