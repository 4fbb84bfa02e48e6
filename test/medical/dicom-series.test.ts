// DICOM series → volume, against dcm2niix: synthetic series written by pydicom (shuffled file names,
// oblique and sagittal orientations, the three uncompressed syntaxes, a SliceThickness that lies)
// are read by readDicomSeries and converted by dcm2niix; every voxel of ours, mapped through our
// affine into dcm2niix's NIfTI (read by nibabel), must land on one of its voxel centres with the
// same value. Then each defect a series can have is reported by name.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDicomSeries, readDicomSeries, type DicomSource } from '../../src/medical/dicom/series.js';
import { SeriesError, type SeriesProblem } from '../../src/medical/errors.js';
import type { Volume } from '../../src/volume/types.js';
import { requireTools, run, runPython, skipWithout, tempDir } from './tools.js';

const files = (dir: string): DicomSource[] => readdirSync(dir).sort().map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(dir, name))) }));

describe.skipIf(skipWithout('pydicom', 'dcm2niix', 'nibabel'))('DICOM series vs dcm2niix', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    requireTools('pydicom', 'dcm2niix', 'nibabel');
    tmp = tempDir('dicom-series');
  });
  afterAll(() => tmp?.remove());
  let n = 0;
  const make = (args: string[]) => {
    const dir = join(tmp.dir, `s${n++}`);
    const uids = runPython('make_series.py', [dir, ...args]).trim().split('\n');
    return { dir, uids };
  };

  const geometries: [string, string[]][] = [
    ['axial, explicit VR LE', []],
    ['oblique, implicit VR LE', ['--orientation', '0.9,0.1,0.1,-0.1,0.95,0.2', '--syntax', 'implicit']],
    ['sagittal, explicit VR BE, MR rescale', ['--orientation', '0,1,0,0,0,-1', '--syntax', 'bigendian', '--modality', 'MR', '--slices', '7']],
    ['coronal, descending positions', ['--orientation', '1,0,0,0,0,-1', '--spacing', '-3', '--pixel', '0.5,0.9']],
  ];
  for (const [name, args] of geometries) {
    it(`${name}: every voxel where dcm2niix has it`, async () => {
      const { dir } = make(args);
      const vol = await readDicomSeries(files(dir));
      expect(vol.data.length).toBe(vol.dims[0] * vol.dims[1] * vol.dims[2]);
      writeFileSync(join(dir, '..', 'ours.f32'), vol.data);
      writeFileSync(join(dir, '..', 'ours.json'), JSON.stringify({ dims: vol.dims, affine: Array.from(vol.affine) }));
      const out = join(tmp.dir, `nii${n}`);
      run('mkdir', ['-p', out]);
      run('dcm2niix', ['-z', 'n', '-o', out, '-f', 'vol', dir]);
      const r = JSON.parse(runPython('compare_dcm2niix.py', [join(dir, '..', 'ours.f32'), join(dir, '..', 'ours.json'), join(out, 'vol.nii')]));
      console.log(`${name}: dims ${vol.dims.join('×')}, spacing ${vol.spacing.map((s) => +s.toFixed(4)).join(' × ')} mm, dcm2niix ${r.dims.join('×')}, index error ${r.max_index_error.toExponential(2)}, value diff ${r.max_value_diff}`);
      expect(r.inside).toBe(true);
      expect(r.max_index_error).toBeLessThan(1e-3);
      expect(r.max_value_diff).toBe(0);
      expect(vol.source.kind === 'dicom' && vol.source.instances.length).toBe(vol.dims[2]);
      expect(vol.warnings).toEqual([]);
    });
  }

  const defects: [string, SeriesProblem][] = [
    ['uneven', 'uneven-spacing'], ['duplicate', 'duplicate-position'], ['mixed-orientation', 'mixed-orientation'],
    ['mixed-size', 'mixed-size'], ['single', 'single-slice'], ['two-series', 'several-series'],
  ];
  for (const [defect, problem] of defects) {
    it(`${defect}: SeriesError '${problem}' naming the files`, async () => {
      const { dir } = make(['--defect', defect]);
      const e = await readDicomSeries(files(dir)).then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(SeriesError);
      expect((e as SeriesError).problem, (e as Error).message).toBe(problem);
      console.log(`${defect}: ${(e as Error).message}`);
      if (problem !== 'several-series') expect((e as Error).message).toMatch(/img\d{5}\.dcm/);
    });
  }

  it('two series: listed, and each read when chosen; an unknown UID is named', async () => {
    const { dir, uids } = make(['--defect', 'two-series']);
    const list = await listDicomSeries(files(dir));
    expect(list.map((s) => s.seriesInstanceUID).sort()).toEqual([...uids].sort());
    for (const uid of uids) {
      const v: Volume = await readDicomSeries(files(dir), { seriesInstanceUID: uid });
      expect(v.source.kind === 'dicom' && v.source.seriesInstanceUID).toBe(uid);
      expect(v.dims[2]).toBe(9);
    }
    const e = await readDicomSeries(files(dir), { seriesInstanceUID: '1.2.3' }).catch((x: unknown) => x);
    expect((e as SeriesError).problem).toBe('unknown-series');
  });

  it('uneven spacing with allowUnevenSpacing: read, with a warning', async () => {
    const { dir } = make(['--defect', 'uneven']);
    const v = await readDicomSeries(files(dir), { allowUnevenSpacing: true });
    expect(v.warnings!.join()).toMatch(/uneven slice spacing/);
  });

  it('a tilted (sheared) series keeps the shear in its affine, with a warning', async () => {
    const { dir } = make(['--defect', 'tilt']);
    const v = await readDicomSeries(files(dir));
    expect(v.warnings!.join()).toMatch(/sheared/);
    // k column (RAS) = per-slice step: 2.5 mm along z plus 0.4 mm along the column direction (+y LPS → −y RAS)
    expect([v.affine[2], v.affine[6], v.affine[10]].map((x) => +x.toFixed(6))).toEqual([0, -0.4, 2.5]);
  });

  it('files that are not DICOM images are skipped and listed', async () => {
    const { dir } = make([]);
    const extra: DicomSource[] = [{ name: 'README.txt', bytes: new TextEncoder().encode('not dicom') }];
    const v = await readDicomSeries([...files(dir), ...extra]);
    expect(v.warnings!.join()).toMatch(/skipped 1 files.*README\.txt/);
  });
});
