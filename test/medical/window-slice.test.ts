// Values → 8-bit against MedSAM's own pre-processing code (pre_CT_MR.py, run by python on the
// volume nibabel reads): the percentile rule on an MRIcron template (MR) and the CT window on a
// CT volume; and slices in the display orientation against nibabel's orientation code
// (as_closest_canonical + io_orientation) on volumes stored in permuted and flipped axis orders.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNifti } from '../../src/medical/nifti.js';
import { intensityMap, parseWindow, positivePercentiles, toByte } from '../../src/medical/window.js';
import { displayToVoxel, extractSlice, sliceGeometry, voxelToDisplay, writeSliceMask, SLICE_AXES } from '../../src/volume/slice.js';
import { MRICRON_TEMPLATES, nibabelTestData, requireTools, run, runPython, skipWithout, tempDir } from './tools.js';

describe('window: unit', () => {
  it('parses presets, W,L and keywords; rejects the rest by name', () => {
    expect(parseWindow('lung')).toBe('lung');
    expect(parseWindow('400,40')).toEqual({ width: 400, center: 40 });
    expect(parseWindow('1500,-600')).toEqual({ width: 1500, center: -600 });
    expect(parseWindow('file')).toBe('file');
    for (const bad of ['', 'x', '0,40', '-5,3', '400']) expect(() => parseWindow(bad)).toThrow(/window/);
  });

  it('percentiles equal numpy linear interpolation on a small case', () => {
    // numpy: np.percentile([1,2,3,4,10], [0.5, 99.5]) = [1.02, 9.88]
    const v = Float32Array.from([0, 1, 2, -5, 3, 4, 10, 0]);
    const [a, b] = positivePercentiles(v, [0.5, 99.5]);
    expect(a).toBeCloseTo(1.02, 12);
    expect(b).toBeCloseTo(9.88, 12);
  });

  it('a constant image maps to 0, not NaN', () => {
    const v = new Float32Array(10).fill(7);
    const m = intensityMap(v, { modality: 'MR' });
    expect(toByte(7, m)).toBe(0);
  });
});

describe.skipIf(skipWithout('nibabel', 'mricron'))('window and slices vs MedSAM code and nibabel', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    requireTools('nibabel', 'mricron');
    tmp = tempDir('window');
  });
  afterAll(() => tmp?.remove());

  const cases: [string, string, 'CT' | 'MR'][] = [
    ['MRIcron ch2 (MR, percentiles)', join(MRICRON_TEMPLATES, 'ch2.nii.gz'), 'MR'],
    ['nibabel example4d (percentiles)', join('@nib', 'example4d.nii.gz'), 'MR'],
  ];
  for (const [name, file0, modality] of cases) {
    it(`${name}: every voxel equals MedSAM's uint8`, () => {
      const file = file0.startsWith('@nib') ? join(nibabelTestData(), file0.slice(5)) : file0;
      const out = join(tmp.dir, 'ref.u8');
      runPython('window_ref.py', [file, modality, out]);
      const ref = readFileSync(out);
      const vol = readNifti(new Uint8Array(readFileSync(file)));
      const m = intensityMap(vol.data, { modality });
      let diff = 0;
      for (let i = 0; i < vol.data.length; i++) if (toByte(vol.data[i], m) !== ref[i]) diff++;
      console.log(`${name}: ${m.description}; ${diff} of ${vol.data.length} voxels differ`);
      expect(diff).toBe(0);
    });
  }

  it('CT window: a synthetic HU volume equals MedSAM', () => {
    const file = join(tmp.dir, 'ct.nii');
    run('/usr/bin/python3', ['-c', `import nibabel as nib, numpy as np; r=np.random.default_rng(3); a=r.integers(-1024, 2000, (40,30,12)).astype('int16'); nib.save(nib.Nifti1Image(a, np.eye(4)), '${file}')`]);
    const out = join(tmp.dir, 'ct.u8');
    runPython('window_ref.py', [file, 'CT', out]);
    const ref = readFileSync(out);
    const vol = readNifti(new Uint8Array(readFileSync(file)));
    const m = intensityMap(vol.data, { modality: 'CT' });
    let diff = 0;
    for (let i = 0; i < vol.data.length; i++) if (toByte(vol.data[i], m) !== ref[i]) diff++;
    expect(m.description).toMatch(/abdomen window W400\/L40/);
    expect(diff).toBe(0);
  });

  it('slices along each axis match nibabel canonical orientation, for several storage orders', () => {
    const dir = join(tmp.dir, 'orient');
    run('mkdir', ['-p', dir]);
    // The same anatomy stored in 4 axis orders (as scanners and converters write them).
    const py = `import nibabel as nib, numpy as np, sys
r=np.random.default_rng(5); a=r.normal(size=(9,7,5)).astype('float32'); base=np.diag([0.9,1.1,2.0,1.0]); base[:3,3]=[3,-4,5]
img=nib.Nifti1Image(a, base)
for name, o in [('ras','RAS'),('lps','LPS'),('ail','AIL'),('sla','SLA')]:
    t=nib.orientations.ornt_transform(nib.orientations.axcodes2ornt('RAS'), nib.orientations.axcodes2ornt(tuple(o)))
    nib.save(img.as_reoriented(t), '${dir}/'+name+'.nii')`;
    run('/usr/bin/python3', ['-c', py]);
    for (const name of ['ras', 'lps', 'ail', 'sla']) {
      const path = join(dir, `${name}.nii`);
      const vol = readNifti(new Uint8Array(readFileSync(path)));
      const specs = SLICE_AXES.flatMap((axis) => {
        const n = vol.dims[sliceGeometry(vol, axis, 0).fixed];
        return [0, Math.floor(n / 2), n - 1].map((index) => ({ axis, index, out: join(dir, `${name}-${axis}-${index}.f32`) }));
      });
      const sizes = runPython('slice_ref.py', [path, ...specs.map((p) => `${p.axis}:${p.index}:${p.out}`)]).trim().split('\n');
      specs.forEach(({ axis, index, out }, k) => {
        const geo = sliceGeometry(vol, axis, index);
        expect([geo.width, geo.height], `${name} ${axis}`).toEqual(sizes[k].split(' ').map(Number));
        const b = readFileSync(out);
        expect(Array.from(extractSlice(vol, geo)), `${name} ${axis} ${index}`).toEqual(Array.from(new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4)));
      });
    }
  });
});

describe('slice geometry: unit', () => {
  const vol = { dims: [4, 3, 2] as [number, number, number], affine: Float64Array.from([-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]), spacing: [1, 1, 1] as [number, number, number] };
  it('display ↔ voxel maps are inverse, and a mask goes back to its voxels', () => {
    for (const axis of SLICE_AXES) {
      const g = sliceGeometry(vol, axis, 1);
      const mask = new Uint8Array(g.width * g.height);
      const labels = new Uint8Array(24);
      for (let y = 0; y < g.height; y++) {
        for (let x = 0; x < g.width; x++) {
          const v = displayToVoxel(g, x, y);
          expect(voxelToDisplay(g, v)).toEqual([x, y]);
          if ((x + y) % 2) mask[y * g.width + x] = 1;
        }
      }
      writeSliceMask(labels, vol.dims, g, mask, 3);
      const back = extractSlice({ dims: vol.dims, data: Float32Array.from(labels) }, g);
      expect(Array.from(back)).toEqual(Array.from(mask, (m) => m * 3));
    }
  });
  it('an index outside the volume is a RangeError naming the axis', () => {
    expect(() => sliceGeometry(vol, 'axial', 2)).toThrow(/axial slice 2 is outside 0..1/);
  });
});
