// The same images re-encoded by dcmtk (dcmcrle, dcmcjpeg, dcmcjpls) in every compressed syntax it
// writes, then decoded by decodeDicom: lossless syntaxes must equal pydicom's values of the
// uncompressed original exactly; lossy ones (JPEG baseline / extended, JPEG-LS near-lossless) are
// compared with dcmtk's own decode of the same file (dcmdjpeg, dcmdjpls), read by pydicom. Sources:
// pydicom's test files (16-bit signed CT, MR, 8-bit grey, RGB, a 2-frame RGB, 32-bit 15-frame RT
// Dose, 12-bit NM), and multi-frame files with and without a Basic Offset Table and with
// several fragments per frame.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeDicom } from '../../src/medical/dicom/image.js';
import { compareValues, referenceValuesAll, type Reference } from './reference.js';
import { pydicomTestFiles, requireTools, run, skipWithout, tempDir } from './tools.js';

// name → how to make an uncompressed explicit VR little endian source from a pydicom test file
const SOURCES: Record<string, [string, string[]]> = {
  ct16s: ['CT_small.dcm', ['dcmconv', '+te']],
  mr16s: ['MR_small.dcm', ['dcmconv', '+te']],
  grey8: ['image_dfl.dcm', ['dcmconv', '+te']],
  rgb8: ['ExplVR_BigEnd.dcm', ['dcmconv', '+te']],
  rgb8x2: ['SC_rgb_rle_2frame.dcm', ['dcmdrle']],
  dose32x15: ['rtdose.dcm', ['dcmconv', '+te']],
  nm12: ['JPGExtended.dcm', ['dcmdjpeg']],
};

interface Enc {
  tool: string;
  args: string[];
  sources: string[];
  /** Lossy: compare with this dcmtk decoder's output instead of the original. */
  lossyRef?: 'dcmdjpeg' | 'dcmdjpls';
}

const ENCODINGS: Record<string, Enc> = {
  'RLE': { tool: 'dcmcrle', args: [], sources: ['ct16s', 'mr16s', 'grey8', 'rgb8', 'rgb8x2', 'dose32x15', 'nm12'] },
  'JPEG lossless SV1 (.70)': { tool: 'dcmcjpeg', args: ['+e1'], sources: ['ct16s', 'mr16s', 'grey8', 'rgb8', 'rgb8x2', 'nm12'] },
  'JPEG lossless process 14, predictor 6 (.57)': { tool: 'dcmcjpeg', args: ['+el', '+sv', '6'], sources: ['ct16s', 'mr16s', 'grey8', 'rgb8'] },
  'JPEG lossless, no offset table, 4 KB fragments': { tool: 'dcmcjpeg', args: ['+e1', '-ot', '+fs', '4'], sources: ['ct16s', 'rgb8x2'] },
  'JPEG baseline (.50)': { tool: 'dcmcjpeg', args: ['+eb'], sources: ['grey8', 'rgb8', 'rgb8x2'], lossyRef: 'dcmdjpeg' },
  'JPEG extended 8-bit (.51)': { tool: 'dcmcjpeg', args: ['+ee'], sources: ['grey8'], lossyRef: 'dcmdjpeg' },
  'JPEG extended 12-bit (.51)': { tool: 'dcmcjpeg', args: ['+ee'], sources: ['nm12'], lossyRef: 'dcmdjpeg' },
  'JPEG-LS lossless (.80)': { tool: 'dcmcjpls', args: ['+el'], sources: ['ct16s', 'mr16s', 'grey8', 'rgb8', 'rgb8x2'] },
  'JPEG-LS lossless, sample interleaved': { tool: 'dcmcjpls', args: ['+el', '+is'], sources: ['rgb8'] },
  'JPEG-LS near-lossless (.81)': { tool: 'dcmcjpls', args: ['+en'], sources: ['nm12', 'grey8', 'rgb8'], lossyRef: 'dcmdjpls' }, // dcmcjpls: no signed near-lossless
};

describe.skipIf(skipWithout('pydicom', 'dcmtk'))('DICOM re-encoded by dcmtk', () => {
  let tmp: ReturnType<typeof tempDir>;
  const src = (k: string) => join(tmp.dir, `${k}.dcm`);
  const cases = Object.entries(ENCODINGS).flatMap(([name, enc]) => enc.sources.map((s, i) => ({ name, enc, s, out: `${name.replace(/\W+/g, '_')}_${i}.dcm` })));
  const refs: (Reference | Error)[] = [];
  beforeAll(() => {
    requireTools('pydicom', 'dcmtk');
    tmp = tempDir('dcmtk');
    const dir = pydicomTestFiles();
    for (const [k, [file, [tool, ...args]]] of Object.entries(SOURCES)) run(tool, [...args, join(dir, file), src(k)]);
    // Encode everything, decode the lossy ones with dcmtk, and read every reference in one pydicom run.
    const refFiles = cases.map(({ enc, s, out }) => {
      run(enc.tool, [...enc.args, src(s), join(tmp.dir, out)]);
      if (!enc.lossyRef) return src(s);
      run(enc.lossyRef, [join(tmp.dir, out), join(tmp.dir, `${out}.ref.dcm`)]);
      return join(tmp.dir, `${out}.ref.dcm`);
    });
    refs.push(...referenceValuesAll(refFiles, tmp.dir));
  });
  afterAll(() => tmp?.remove());

  cases.forEach(({ name, s, out }, k) => {
    it(`${name}: ${s}`, async () => {
        const img = await decodeDicom(new Uint8Array(readFileSync(join(tmp.dir, out))));
        const ref = refs[k];
        if (ref instanceof Error) throw ref;
        const r = compareValues(img, ref);
        console.log(`${name} ${s}: ${img.syntax.uid} ${img.info.columns}×${img.info.rows}×${img.frames.length} ${img.info.photometric}, max |diff| ${r.maxDiff}, ${r.exact}/${r.count} exact`);
        expect(r.maxDiff).toBe(0);
    });
  });
});
