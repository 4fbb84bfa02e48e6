// The attributes of a DICOM image that decide what its pixel values mean and where they lie:
// the Image Pixel module (size, bits, photometric interpretation), the modality LUT (rescale),
// the file's window, and the plane geometry, per frame where a multi-frame file has functional
// groups (enhanced CT / MR) or a GridFrameOffsetVector (RT Dose). Each is checked here, so that a
// header whose sizes lie is an error naming the attribute before any pixel is read.

import { DicomError } from '../errors.js';
import { tagText, type Attributes } from './parse.js';

/** Largest sample count (rows × columns × frames × samples per pixel) of one file. */
export const MAX_DICOM_SAMPLES = 2 ** 29;

export type Photometric = 'MONOCHROME1' | 'MONOCHROME2' | 'RGB' | 'YBR_FULL' | 'YBR_FULL_422' | 'PALETTE COLOR' | 'YBR_RCT' | 'YBR_ICT' | 'YBR_PARTIAL_420';
const PHOTOMETRICS: readonly string[] = ['MONOCHROME1', 'MONOCHROME2', 'RGB', 'YBR_FULL', 'YBR_FULL_422', 'PALETTE COLOR', 'YBR_RCT', 'YBR_ICT', 'YBR_PARTIAL_420'];

/** One palette colour channel: entries map stored values firstMapped … firstMapped+n-1 (PS3.3 C.7.6.3.1.5). */
export interface PaletteChannel {
  firstMapped: number;
  bits: number;
  data: Uint16Array;
}

/** Where one frame lies: DICOM patient coordinates (LPS, mm). */
export interface FramePlane {
  /** ImagePositionPatient: the centre of the first transmitted pixel. */
  position?: readonly number[];
  /** ImageOrientationPatient: row direction cosines, then column direction cosines. */
  orientation?: readonly number[];
  /** PixelSpacing: [between rows, between columns]. */
  pixelSpacing?: readonly number[];
  rescale: { slope: number; intercept: number };
}

export interface DicomImageInfo {
  sopClassUID: string;
  sopInstanceUID: string;
  studyInstanceUID: string;
  seriesInstanceUID: string;
  frameOfReferenceUID?: string;
  modality: string;
  instanceNumber?: number;
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: 1 | 3;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  /** 1: two's complement samples. */
  signed: boolean;
  photometric: Photometric;
  /** 1: colour planes one after another (RRR…GGG…BBB); 0: interleaved. */
  planarConfiguration: 0 | 1;
  /** The file's first WindowCenter / WindowWidth, when present and valid (width > 0). */
  window?: { center: number; width: number };
  sliceThickness?: number;
  /** Per frame (length `frames`). */
  planes: FramePlane[];
  palette?: { red: PaletteChannel; green: PaletteChannel; blue: PaletteChannel };
  /** Patient / study attributes to carry into derived objects, as strings. */
  patient: Record<string, string>;
  /** What was odd but readable (named), e.g. functional groups that do not match the frame count. */
  warnings: string[];
}

const PATIENT_TAGS: Record<string, string> = {
  PatientName: 'x00100010', PatientID: 'x00100020', PatientBirthDate: 'x00100030', PatientSex: 'x00100040',
  PatientAge: 'x00101010', StudyDate: 'x00080020', StudyTime: 'x00080030', StudyID: 'x00200010',
  AccessionNumber: 'x00080050', ReferringPhysicianName: 'x00080090', StudyDescription: 'x00081030',
  SeriesDescription: 'x0008103e', SeriesNumber: 'x00200011', Manufacturer: 'x00080070', BodyPartExamined: 'x00180015',
};

const bad = (msg: string) => new DicomError('corrupt', msg);

function required(a: Attributes, tag: string, name: string): number {
  const v = a.uint16(tag);
  if (v === undefined) throw new DicomError('corrupt', `${name} (${tagText(tag)}) is missing`);
  return v;
}

function vector(a: Attributes, tag: string, name: string, n: number): number[] | undefined {
  if (!a.has(tag)) return undefined;
  const v = a.numbers(tag, name);
  if (v.length !== n) throw bad(`${name} (${tagText(tag)}) has ${v.length} values, not ${n}`);
  return v;
}

/** Position, orientation, spacing and rescale from one data set or functional-group item. */
function planeFrom(a: Attributes, base: FramePlane): FramePlane {
  const out: FramePlane = { ...base };
  for (const g of a.items('x00209113')) out.position = vector(g, 'x00200032', 'ImagePositionPatient', 3) ?? out.position;
  for (const g of a.items('x00209116')) out.orientation = vector(g, 'x00200037', 'ImageOrientationPatient', 6) ?? out.orientation;
  for (const g of a.items('x00289110')) out.pixelSpacing = vector(g, 'x00280030', 'PixelSpacing', 2) ?? out.pixelSpacing;
  for (const g of a.items('x00289145')) out.rescale = rescaleOf(g, out.rescale);
  return out;
}

function rescaleOf(a: Attributes, fallback: FramePlane['rescale']): FramePlane['rescale'] {
  const slope = a.number('x00281053', 'RescaleSlope');
  const intercept = a.number('x00281052', 'RescaleIntercept');
  if (slope === undefined && intercept === undefined) return fallback;
  if (slope === 0) throw bad('RescaleSlope (0028,1053) is 0: every value would map to the intercept');
  return { slope: slope ?? 1, intercept: intercept ?? 0 };
}

function paletteChannel(a: Attributes, color: string, descTag: string, dataTag: string, signed: boolean): PaletteChannel {
  const desc = a.uint16s(descTag);
  if (desc.length !== 3) throw bad(`${color} Palette Color Lookup Table Descriptor (${tagText(descTag)}) has ${desc.length} values, not 3`);
  const entries = desc[0] === 0 ? 65536 : desc[0];
  const firstMapped = signed && desc[1] > 32767 ? desc[1] - 65536 : desc[1];
  const bits = desc[2];
  if (bits !== 8 && bits !== 16) throw bad(`${color} palette entries have ${bits} bits; 8 or 16 expected`);
  const raw = a.bytes(dataTag);
  if (!raw) throw new DicomError('unsupported-feature', `PALETTE COLOR without ${color} Palette Color Lookup Table Data (${tagText(dataTag)}) (segmented palettes are not supported)`);
  let data: Uint16Array;
  if (bits === 8 && raw.length === entries) data = Uint16Array.from(raw);
  else if (raw.length === 2 * entries) {
    const words = a.uint16s(dataTag);
    data = Uint16Array.from(words, (w) => (bits === 8 ? w & 0xff : w));
  } else throw bad(`${color} palette data holds ${raw.length} bytes for ${entries} entries of ${bits} bits`);
  return { firstMapped, bits, data };
}

/** Reads and checks the image attributes. */
export function readImageInfo(a: Attributes): DicomImageInfo {
  if (!a.has('x7fe00010')) {
    const other = a.has('x7fe00008') ? 'Float Pixel Data (7FE0,0008)' : a.has('x7fe00009') ? 'Double Float Pixel Data (7FE0,0009)' : null;
    if (other) throw new DicomError('unsupported-feature', `${other} is not supported (integer Pixel Data only)`);
    throw new DicomError('missing-pixel-data', 'no Pixel Data (7FE0,0010): not an image');
  }
  const rows = required(a, 'x00280010', 'Rows');
  const columns = required(a, 'x00280011', 'Columns');
  const spp = a.uint16('x00280002') ?? 1;
  const bitsAllocated = required(a, 'x00280100', 'BitsAllocated');
  const bitsStored = a.uint16('x00280101') ?? bitsAllocated;
  const highBit = a.uint16('x00280102') ?? bitsStored - 1;
  const pr = a.uint16('x00280103') ?? 0;
  const photometric = (a.string('x00280004') ?? (spp === 1 ? 'MONOCHROME2' : '')).toUpperCase();
  const framesText = a.string('x00280008');
  const frames = framesText === undefined ? 1 : Number(framesText);
  if (rows === 0 || columns === 0) throw bad(`image size ${columns}×${rows} (Columns × Rows) is empty`);
  if (spp !== 1 && spp !== 3) throw new DicomError('unsupported-feature', `SamplesPerPixel (0028,0002) is ${spp}; 1 or 3 are supported`);
  if (![1, 8, 16, 32].includes(bitsAllocated)) throw bad(`BitsAllocated (0028,0100) is ${bitsAllocated}; 1, 8, 16 or 32 expected`);
  if (bitsStored < 1 || bitsStored > bitsAllocated) throw bad(`BitsStored (0028,0101) is ${bitsStored} with BitsAllocated ${bitsAllocated}`);
  if (highBit >= bitsAllocated || highBit < bitsStored - 1) throw bad(`HighBit (0028,0102) is ${highBit} with BitsStored ${bitsStored} and BitsAllocated ${bitsAllocated}`);
  if (pr !== 0 && pr !== 1) throw bad(`PixelRepresentation (0028,0103) is ${pr}; 0 or 1 expected`);
  if (!PHOTOMETRICS.includes(photometric)) throw new DicomError('unsupported-feature', `PhotometricInterpretation (0028,0004) "${photometric}" is not supported`);
  if ((spp === 1) !== (photometric.startsWith('MONOCHROME') || photometric === 'PALETTE COLOR')) {
    throw bad(`PhotometricInterpretation ${photometric} with SamplesPerPixel ${spp}`);
  }
  if (!Number.isInteger(frames) || frames < 1) throw bad(`NumberOfFrames (0028,0008) is "${framesText}"`);
  if (rows * columns * frames * spp > MAX_DICOM_SAMPLES) {
    throw new DicomError('too-large', `${columns}×${rows}×${frames} frames×${spp} samples is over the limit of ${MAX_DICOM_SAMPLES} samples`);
  }
  if (a.has('x00283000') && !a.has('x00281053')) throw new DicomError('unsupported-feature', 'a Modality LUT Sequence (0028,3000) is not supported (Rescale Slope/Intercept only)');

  const base: FramePlane = {
    position: vector(a, 'x00200032', 'ImagePositionPatient', 3),
    orientation: vector(a, 'x00200037', 'ImageOrientationPatient', 6),
    pixelSpacing: vector(a, 'x00280030', 'PixelSpacing', 2) ?? vector(a, 'x00181164', 'ImagerPixelSpacing', 2),
    rescale: rescaleOf(a, { slope: 1, intercept: 0 }),
  };
  const shared = a.items('x52009229')[0];
  const common = shared ? planeFrom(shared, base) : base;
  const perFrame = a.items('x52009230');
  const warnings: string[] = [];
  if (perFrame.length && perFrame.length !== frames) {
    warnings.push(`PerFrameFunctionalGroupsSequence (5200,9230) has ${perFrame.length} items for ${frames} frames: per-frame geometry ignored`);
  }
  let planes = perFrame.length === frames ? perFrame.map((f) => planeFrom(f, common)) : Array.from({ length: frames }, () => common);
  const offsets = frames > 1 && !perFrame.length ? vector(a, 'x3004000c', 'GridFrameOffsetVector', frames) : undefined;
  if (offsets && common.position && common.orientation) {
    // RT Dose: frame k lies offsets[k] mm along the normal from ImagePositionPatient; a first
    // offset of 0 makes them relative, otherwise they are absolute and the first is the image's own
    // (PS3.3 C.8.8.3.2).
    const [r, c] = [common.orientation.slice(0, 3), common.orientation.slice(3)];
    const n = [r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0]];
    const p0 = common.position;
    planes = offsets.map((o) => {
      const d = o - offsets[0];
      return { ...common, position: [p0[0] + d * n[0], p0[1] + d * n[1], p0[2] + d * n[2]] };
    });
  }

  const center = a.number('x00281050', 'WindowCenter');
  const width = a.number('x00281051', 'WindowWidth');
  const signed = pr === 1;
  const info: DicomImageInfo = {
    sopClassUID: a.string('x00080016') ?? '',
    sopInstanceUID: a.string('x00080018') ?? '',
    studyInstanceUID: a.string('x0020000d') ?? '',
    seriesInstanceUID: a.string('x0020000e') ?? '',
    frameOfReferenceUID: a.string('x00200052'),
    modality: a.string('x00080060') ?? 'OT',
    instanceNumber: a.has('x00200013') ? a.number('x00200013', 'InstanceNumber') : undefined,
    rows, columns, frames,
    samplesPerPixel: spp as 1 | 3,
    bitsAllocated, bitsStored, highBit, signed,
    photometric: photometric as Photometric,
    planarConfiguration: spp === 3 && a.uint16('x00280006') === 1 ? 1 : 0,
    window: center !== undefined && width !== undefined && width > 0 ? { center, width } : undefined,
    sliceThickness: a.has('x00180050') ? a.number('x00180050', 'SliceThickness') : undefined,
    planes,
    warnings,
    patient: Object.fromEntries(Object.entries(PATIENT_TAGS).flatMap(([k, t]) => {
      const v = a.text(t);
      return v === undefined ? [] : [[k, v]];
    })),
  };
  if (photometric === 'PALETTE COLOR') {
    info.palette = {
      red: paletteChannel(a, 'Red', 'x00281101', 'x00281201', signed),
      green: paletteChannel(a, 'Green', 'x00281102', 'x00281202', signed),
      blue: paletteChannel(a, 'Blue', 'x00281103', 'x00281203', signed),
    };
  }
  return info;
}
