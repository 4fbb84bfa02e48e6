// NIfTI volumes read by readNifti, compared with nibabel (get_fdata and img.affine) voxel for voxel:
// nibabel's own test data and the MRIcron templates (files nobody on this team wrote), and files
// nibabel writes here in every scalar datatype, scaled, qform-only, pixdim-only, NIfTI-2, big
// endian, 4-D and gzipped. Then the files that must fail, each with the named error.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NiftiError, type ScanFailure } from '../../src/medical/errors.js';
import { readNifti } from '../../src/medical/nifti.js';
import { MRICRON_TEMPLATES, nibabelTestData, requireTools, runPython, skipWithout, tempDir } from './tools.js';

interface Ref { shape: number[]; affine: number[]; data: Float32Array }

/** nibabel's values and affine of each file (one python run). */
function nibabelRefs(files: string[], dir: string): Ref[] {
  runPython('nifti_ref.py', [dir, ...files]);
  return files.map((file, k) => {
    const meta = JSON.parse(readFileSync(join(dir, `${k}.json`), 'utf8'));
    if (meta.error) throw new Error(`nibabel cannot read ${file}: ${meta.error}`);
    const b = readFileSync(join(dir, `${k}.f32`));
    return { ...meta, data: new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4) };
  });
}

describe.skipIf(skipWithout('nibabel', 'mricron'))('NIfTI vs nibabel', () => {
  let tmp: ReturnType<typeof tempDir>;
  let made: string[] = [];
  beforeAll(() => {
    requireTools('nibabel', 'mricron');
    tmp = tempDir('nifti');
    made = runPython('make_nifti.py', [join(tmp.dir, 'made')]).trim().split('\n');
  });
  afterAll(() => tmp?.remove());

  const check = (path: string, ref: Ref, relTol: number, nonFinite?: 'zero') => {
    const vol = readNifti(new Uint8Array(readFileSync(path)), { nonFinite });
    if (nonFinite) ref = { ...ref, data: ref.data.map((v) => (Number.isFinite(v) ? v : 0)) };
    expect([...vol.dims]).toEqual(ref.shape);
    let maxRel = 0;
    for (let i = 0; i < ref.data.length; i++) {
      const d = Math.abs(vol.data[i] - ref.data[i]) / Math.max(1, Math.abs(ref.data[i]));
      if (!(d <= maxRel)) maxRel = Number.isNaN(d) ? Infinity : d;
    }
    const affErr = Math.max(...ref.affine.map((v, i) => Math.abs(v - vol.affine[i])));
    console.log(`${path.split('/').pop()}: ${vol.dims.join('×')} ${vol.source.kind === 'nifti' ? `${vol.source.header!.datatype}, affine from ${vol.source.affineFrom}` : ''}, max rel diff ${maxRel}, affine diff ${affErr.toExponential(2)}`);
    expect(maxRel).toBeLessThanOrEqual(relTol);
    expect(affErr).toBeLessThan(1e-5);
    return vol;
  };

  it('nibabel test data', () => {
    const dir = nibabelTestData();
    const files = ['anatomical.nii', 'functional.nii', 'example4d.nii.gz', 'example_nifti2.nii.gz', 'standard.nii.gz', 'reoriented_anat_moved.nii', 'resampled_anat_moved.nii'].map((f) => join(dir, f));
    const refs = nibabelRefs(files, tmp.dir);
    files.slice(0, -1).forEach((f, k) => check(f, refs[k], 0));
    // NaN outside the brain: an error by default, read as 0 on request.
    expect(() => readNifti(new Uint8Array(readFileSync(files[6])))).toThrow(/153 voxels are NaN/);
    expect(check(files[6], refs[6], 0, 'zero').warnings!.join()).toMatch(/153 NaN/);
  });

  it('MRIcron templates', () => {
    const files = ['aal.nii.gz', 'ch2bet.nii.gz', 'JHU-WhiteMatter-labels-2mm.nii.gz'].map((f) => join(MRICRON_TEMPLATES, f));
    nibabelRefs(files, tmp.dir).forEach((ref, k) => check(files[k], ref, 0));
  });

  it('every scalar datatype, scaling, qform, pixdim, NIfTI-2, big endian, 4-D, gzip (written by nibabel)', () => {
    const refs = nibabelRefs(made.map((f) => join(tmp.dir, 'made', f)), tmp.dir);
    for (const [k, f] of made.entries()) {
      // Scaled values: nibabel may scale in float32 before get_fdata's float64; ours is float64 → float32.
      const vol = check(join(tmp.dir, 'made', f), refs[k], f.startsWith('scaled') ? 1e-6 : 0);
      if (f === 'four_d.nii.gz') expect(vol.warnings!.join()).toMatch(/volume 0 of 3/);
    }
  });

  const failures: [string, ScanFailure, (b: Uint8Array) => Uint8Array][] = [
    ['truncated data', 'truncated', (b) => b.subarray(0, b.length - 10)],
    ['truncated gzip', 'truncated', (b) => gzipSync(b).subarray(0, 200)],
    ['dimensions larger than the data', 'truncated', (b) => withInt16(b, 42, 9)],
    ['a negative dimension', 'corrupt', (b) => withInt16(b, 44, -3)],
    ['dim[0] of 9', 'corrupt', (b) => withInt16(b, 40, 9)],
    ['datatype COMPLEX64', 'unsupported-feature', (b) => withInt16(withInt16(b, 70, 32), 72, 64)],
    ['datatype RGB24', 'unsupported-feature', (b) => withInt16(withInt16(b, 70, 128), 72, 24)],
    ['bitpix that contradicts the datatype', 'corrupt', (b) => withInt16(b, 72, 8)],
    ['an unknown datatype', 'corrupt', (b) => withInt16(b, 70, 3)],
    ['vox_offset inside the header', 'corrupt', (b) => withFloat32(b, 108, 100)],
    ['no magic', 'not-nifti', (b) => Uint8Array.from(b, (x, i) => (i >= 344 && i < 348 ? 0 : x))],
    ['an empty file', 'not-nifti', () => new Uint8Array(0)],
    ['NaN voxels', 'non-finite', (b) => withFloat32(b, 352, NaN)],
  ];
  for (const [name, reason, mutate] of failures) {
    it(`${name}: NiftiError '${reason}'`, () => {
      const base = new Uint8Array(readFileSync(join(tmp.dir, 'made', 'dtype_float32.nii')));
      let err: unknown = null;
      try {
        readNifti(mutate(base));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NiftiError);
      expect((err as NiftiError).reason, (err as Error).message).toBe(reason);
    });
  }

  it("NaN voxels with nonFinite: 'zero' read as 0, counted", () => {
    const b = withFloat32(new Uint8Array(readFileSync(join(tmp.dir, 'made', 'dtype_float32.nii'))), 352, NaN);
    const v = readNifti(b, { nonFinite: 'zero' });
    expect(v.data[0]).toBe(0);
    expect(v.warnings!.join()).toMatch(/1 NaN/);
  });
});

function withInt16(b: Uint8Array, at: number, v: number): Uint8Array {
  const c = b.slice();
  new DataView(c.buffer).setInt16(at, v, true);
  return c;
}
function withFloat32(b: Uint8Array, at: number, v: number): Uint8Array {
  const c = b.slice();
  new DataView(c.buffer).setFloat32(at, v, true);
  return c;
}
