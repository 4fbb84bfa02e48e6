// DICOM files nobody on this team wrote, decoded by decodeDicom and compared value for value with
// pydicom's pixel_array (after apply_modality_lut / apply_color_lut / convert_color_space):
// pydicom's own test files (Debian's python3-pydicom ships them) in every transfer syntax they
// cover. JPEG and JPEG-LS frames, which pydicom cannot decode without plugins, are compared with
// dcmtk's decode of the same file (dcmdjpeg, dcmdjpls), read by pydicom; lossless ones also equal
// the uncompressed original. Files that must fail are checked for the named error.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeDicom, type DicomImage } from '../../src/medical/dicom/image.js';
import { DicomError, type ScanFailure } from '../../src/medical/errors.js';
import { compareValues, referenceValuesAll, type Reference } from './reference.js';
import { pydicomTestFiles, requireTools, run, skipWithout, tempDir } from './tools.js';

interface Case {
  file: string;
  /** Where the reference values come from: pydicom on the file itself, or on dcmtk's decode of it, or on another (uncompressed) file. */
  ref?: 'pydicom' | 'dcmdjpeg' | 'dcmdjpls' | { original: string };
  /** Largest |ours − reference| allowed (0: exact). */
  tol?: number;
  error?: ScanFailure;
}

const CASES: Case[] = [
  { file: 'CT_small.dcm' }, // explicit VR LE, signed, rescaled CT
  { file: 'MR_small.dcm' },
  { file: 'MR_small_implicit.dcm', ref: { original: 'MR_small.dcm' } },
  { file: 'MR_small_bigendian.dcm', ref: { original: 'MR_small.dcm' } },
  { file: 'MR_small_expb.dcm', ref: { original: 'MR_small.dcm' } },
  { file: 'MR_small_padded.dcm' },
  { file: 'MR_small_RLE.dcm', ref: { original: 'MR_small.dcm' } },
  { file: 'MR_small_jp2klossless.dcm', ref: { original: 'MR_small.dcm' } },
  { file: 'MR_small_jpeg_ls_lossless.dcm', ref: { original: 'MR_small.dcm' } },
  { file: 'image_dfl.dcm' }, // deflated explicit VR LE
  { file: 'ExplVR_BigEnd.dcm' }, // big endian RGB, planar configuration 1
  { file: 'JPGExtended.dcm', ref: 'dcmdjpeg' }, // JPEG extended, 12-bit
  { file: 'JPEG2000.dcm' },
  { file: '693_J2KI.dcm' },
  { file: 'SC_rgb_jpeg_dcmtk.dcm', ref: 'dcmdjpeg' },
  { file: 'SC_rgb_dcmtk_+eb+cr.dcm', ref: 'dcmdjpeg' },
  { file: 'SC_rgb_dcmtk_+eb+cy+n1.dcm', ref: 'dcmdjpeg' },
  { file: 'SC_rgb_dcmtk_+eb+cy+n2.dcm', ref: 'dcmdjpeg' },
  { file: 'SC_rgb_dcmtk_+eb+cy+np.dcm', ref: 'dcmdjpeg' },
  { file: 'SC_rgb_dcmtk_+eb+cy+s2.dcm', ref: 'dcmdjpeg' },
  { file: 'SC_rgb_dcmtk_+eb+cy+s4.dcm', ref: 'dcmdjpeg' },
  { file: 'SC_jpeg_no_color_transform.dcm', ref: 'dcmdjpeg' },
  { file: 'SC_jpeg_no_color_transform_2.dcm', ref: 'dcmdjpeg' },
  { file: 'SC_rgb_jpeg_gdcm.dcm', ref: 'dcmdjpeg' },
  { file: 'SC_rgb_jpeg_lossy_gdcm.dcm', ref: 'dcmdjpeg' },
  { file: 'SC_rgb_jpeg_app14_dcmd.dcm', ref: 'dcmdjpeg' },
  { file: 'J2K_pixelrep_mismatch.dcm' }, // unsigned J2K samples under Pixel Representation 1, BitsStored 13
  { file: 'SC_rgb_small_odd_jpeg.dcm', ref: 'dcmdjpeg' },
  { file: 'SC_rgb_rle.dcm' },
  { file: 'SC_rgb_rle_2frame.dcm' },
  { file: 'SC_rgb_rle_16bit.dcm' },
  { file: 'SC_rgb_rle_16bit_2frame.dcm' },
  { file: 'SC_rgb_rle_32bit.dcm' },
  { file: 'SC_rgb_rle_32bit_2frame.dcm' },
  { file: 'SC_rgb_small_odd.dcm' },
  { file: 'SC_ybr_full_422_uncompressed.dcm' },
  { file: 'liver_1frame.dcm' }, // 1 bit allocated
  { file: 'liver_expb_1frame.dcm' },
  { file: 'rtdose.dcm' }, // 15 frames, 32-bit
  { file: 'rtdose_expb.dcm' },
  { file: 'rtdose_rle.dcm' },
  { file: 'rtdose_rle_1frame.dcm' },
  { file: 'MR_truncated.dcm', error: 'truncated' },
  { file: 'badVR.dcm', error: 'corrupt' }, // NumberOfFrames "1A"
  { file: 'JPEG2000-embedded-sequence-delimiter.dcm', error: 'corrupt' }, // its SIZ then claims 3722445056 columns
  { file: 'ExplVR_BigEndNoMeta.dcm', error: 'missing-pixel-data' }, // bare data sets: they parse, and hold no image
  { file: 'ExplVR_LitEndNoMeta.dcm', error: 'missing-pixel-data' },
  { file: 'rtplan.dcm', error: 'missing-pixel-data' },
  { file: 'meta_missing_tsyntax.dcm', error: 'corrupt' },
];

describe.skipIf(skipWithout('pydicom', 'dcmtk'))('DICOM: pydicom test files vs pydicom / dcmtk', () => {
  let dir = '';
  let tmp: ReturnType<typeof tempDir>;
  const refs = new Map<string, Reference | Error>(); // case file → pydicom's values of its reference file
  beforeAll(() => {
    requireTools('pydicom', 'dcmtk');
    dir = pydicomTestFiles();
    tmp = tempDir('dicom-corpus');
    const withRef = CASES.filter((c) => !c.error);
    const files = withRef.map((c) => {
      const src = join(dir, c.file);
      if (c.ref === 'dcmdjpeg' || c.ref === 'dcmdjpls') {
        const out = join(tmp.dir, c.file);
        run(c.ref, [src, out]);
        return out;
      }
      return typeof c.ref === 'object' ? join(dir, c.ref.original) : src;
    });
    referenceValuesAll(files, tmp.dir).forEach((r, k) => refs.set(withRef[k].file, r));
  });
  afterAll(() => tmp?.remove());

  const load = (c: Case) => decodeDicom(new Uint8Array(readFileSync(join(dir, c.file))));

  for (const c of CASES) {
    if (c.error) {
      it(`${c.file}: DicomError '${c.error}'`, async () => {
        const e = await load(c).then(() => null, (x: unknown) => x);
        expect(e).toBeInstanceOf(DicomError);
        expect((e as DicomError).reason, (e as Error).message).toBe(c.error);
      });
      continue;
    }
    it(`${c.file} equals ${typeof c.ref === 'object' ? c.ref.original : c.ref ?? 'pydicom'}${c.tol ? ` within ${c.tol}` : ''}`, async () => {
      const img: DicomImage = await load(c);
      const ref = refs.get(c.file)!;
      if (ref instanceof Error) throw ref;
      const r = compareValues(img, ref);
      console.log(`${c.file}: ${img.syntax.name}, ${img.info.columns}×${img.info.rows}×${img.frames.length} ${img.info.photometric}, max |diff| ${r.maxDiff}, ${r.exact}/${r.count} exact`);
      expect(r.maxDiff).toBeLessThanOrEqual(c.tol ?? 0);
    });
  }
});
