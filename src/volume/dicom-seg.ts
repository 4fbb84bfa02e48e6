// A label map as a DICOM Segmentation (Segmentation Storage, BINARY) that references the source
// series, so that a PACS viewer (OHIF, 3D Slicer, Weasis) shows it on the scan it came from:
// - one frame per (segment, slice) with content, each with its Source Image Sequence (the slice's
//   SOP Instance, and frame for a multi-frame source), Plane Position (the slice's
//   ImagePositionPatient), Segment Identification and Dimension Index Values (segment, slice);
// - shared Pixel Measures (spacing, slice thickness) and Plane Orientation;
// - the source's study, patient, Frame of Reference UID, and every source instance in the
//   Referenced Series Sequence (Common Instance Reference).
// Geometry comes from the Volume's affine (RAS+), turned back into DICOM's LPS: the frame's rows
// run along j, its columns along i, as a DICOM reader builds the volume (src/volume/types.ts).
// ref: DICOM PS3.3 A.51 (Segmentation IOD), C.8.20 (Segmentation modules), C.7.6.16 (functional
//      groups); PS3.5 §8.1.1 (1-bit pixel data: frames packed back to back, first pixel in the LSB).
import { dicomFile, ds, newUid, type Dataset, type Element } from './dicom-write.js';
import { checkLabels, labelColor, LabelMapError, type Labels } from './labels.js';
import type { Volume } from './types.js';

export const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';

/** A coded concept (Code Sequence item). */
export interface Code {
  value: string;
  scheme: string;
  meaning: string;
}

export interface SegmentDescription {
  /** The voxel value of this segment in the label map. */
  label: number;
  /** SegmentLabel; default 'Label N'. */
  name?: string;
  /** sRGB 0–255, written as RecommendedDisplayCIELabValue; default labelColor(label). */
  color?: readonly [number, number, number];
  /** SegmentedPropertyCategory / Type; default SCT 85756007 'Tissue' / SCT 85756007 'Tissue'. */
  category?: Code;
  type?: Code;
}

export interface DicomSegOptions {
  /** The segments, in SegmentNumber order; default: one per label present, ascending. */
  segments?: readonly SegmentDescription[];
  seriesDescription?: string;
  seriesNumber?: number;
  /** Default 'SEMIAUTOMATIC' (masks from a user's prompts), algorithm 'SAM-UNet' version '1'. */
  algorithm?: { type: 'AUTOMATIC' | 'SEMIAUTOMATIC'; name: string; version: string };
  /** ContentDate / SeriesDate; default now. */
  date?: Date;
  /** Fixed UIDs (tests); default new ones. */
  seriesInstanceUID?: string;
  sopInstanceUID?: string;
}

const TISSUE: Code = { value: '85756007', scheme: 'SCT', meaning: 'Tissue' };
/** The patient / study attributes copied from the source, by keyword. */
const COPIED: readonly [keyword: string, tag: number, vr: 'PN' | 'LO' | 'DA' | 'CS' | 'TM' | 'SH', type2: boolean][] = [
  ['StudyDate', 0x00080020, 'DA', true], ['StudyTime', 0x00080030, 'TM', true], ['AccessionNumber', 0x00080050, 'SH', true],
  ['ReferringPhysicianName', 0x00080090, 'PN', true], ['StudyDescription', 0x00081030, 'LO', false], ['PatientName', 0x00100010, 'PN', true],
  ['PatientID', 0x00100020, 'LO', true], ['PatientBirthDate', 0x00100030, 'DA', true], ['PatientSex', 0x00100040, 'CS', true],
  ['StudyID', 0x00200010, 'SH', true],
];

const code = (c: Code): Dataset => [[0x00080100, 'SH', c.value], [0x00080102, 'SH', c.scheme], [0x00080104, 'LO', c.meaning]];

/** sRGB (0–255) → DICOM's scaled CIELab (D65): L 0–100 and a, b −128–127 onto 0–65535. */
export function rgbToDicomLab([r, g, b]: readonly [number, number, number]): [number, number, number] {
  const lin = (c: number) => ((c /= 255) <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  const [R, G, B] = [lin(r), lin(g), lin(b)];
  const xyz = [0.4124 * R + 0.3576 * G + 0.1805 * B, 0.2126 * R + 0.7152 * G + 0.0722 * B, 0.0193 * R + 0.1192 * G + 0.9505 * B];
  const f = (t: number) => (t > (6 / 29) ** 3 ? Math.cbrt(t) : t / (3 * (6 / 29) ** 2) + 4 / 29);
  const [fx, fy, fz] = [f(xyz[0]! / 0.95047), f(xyz[1]!), f(xyz[2]! / 1.08883)];
  const L = 116 * fy - 16, a = 500 * (fx - fy), bb = 200 * (fy - fz);
  const clamp = (v: number) => Math.max(0, Math.min(65535, Math.round(v)));
  return [clamp((L * 65535) / 100), clamp(((a + 128) * 65535) / 255), clamp(((bb + 128) * 65535) / 255)];
}

function dateTime(d: Date): { date: string; time: string } {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return { date: `${p(d.getFullYear(), 4)}${p(d.getMonth() + 1)}${p(d.getDate())}`, time: `${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}` };
}

/** The label map as a DICOM SEG file referencing `volume`'s source series (which must be DICOM). */
export function dicomSeg(labels: Labels, volume: Pick<Volume, 'dims' | 'affine' | 'source'>, opts: DicomSegOptions = {}): Uint8Array {
  const { dims: [ni, nj, nk] } = checkLabels(labels, volume);
  const src = volume.source;
  if (src?.kind !== 'dicom') throw new LabelMapError(`a DICOM SEG references a DICOM series; this volume came from ${src?.kind ?? 'no source'} (write NIfTI instead)`);
  if (src.instances.length !== nk) throw new LabelMapError(`the source lists ${src.instances.length} instances for ${nk} slices`);
  if (ni > 65535 || nj > 65535) throw new LabelMapError(`slices of ${ni}×${nj}: DICOM rows and columns are at most 65535`);
  const present = new Set<number>();
  for (let i = 0; i < labels.length; i++) if (labels[i]) present.add(labels[i]!);
  const segments: readonly SegmentDescription[] = opts.segments ?? [...present].sort((a, b) => a - b).map((label) => ({ label }));
  const seen = new Set<number>();
  for (const s of segments) {
    if (!Number.isInteger(s?.label) || s.label < 1 || s.label > 65535 || seen.has(s.label)) throw new LabelMapError(`segment label ${s?.label}: each segment needs its own label, 1 … 65535`);
    seen.add(s.label);
  }
  if (!segments.length) throw new LabelMapError('no segments: the label map is empty and none were described');

  // Geometry, LPS: DICOM's patient coordinates are RAS with x and y negated.
  const A = volume.affine;
  const lps = (v: number[]) => [-v[0]!, -v[1]!, v[2]!];
  const unit = (c: number) => {
    const v = [A[c]!, A[4 + c]!, A[8 + c]!];
    const n = Math.hypot(...v);
    return lps(v.map((x) => x / n));
  };
  const spacing = [0, 1, 2].map((c) => Math.hypot(A[c]!, A[4 + c]!, A[8 + c]!));
  if (!spacing.every((s) => s > 0)) throw new LabelMapError(`the affine has a zero column (voxel size ${spacing.join(' × ')} mm)`);
  const position = (k: number) => lps([0, 1, 2].map((r) => A[4 * r + 2]! * k + A[4 * r + 3]!));

  // Frames: every (segment, slice) with at least one voxel of the segment; at least one frame.
  const frames: { segment: number; k: number }[] = [];
  const slice = ni * nj;
  for (let s = 1; s <= segments.length; s++) {
    for (let k = 0; k < nk; k++) {
      const want = segments[s - 1]!.label;
      let any = false;
      for (let p = k * slice; p < (k + 1) * slice && !any; p++) any = labels[p] === want;
      if (any) frames.push({ segment: s, k });
    }
  }
  if (!frames.length) frames.push({ segment: 1, k: 0 });
  const bits = new Uint8Array(Math.ceil((frames.length * slice) / 8));
  frames.forEach(({ segment, k }, f) => {
    const want = segments[segment - 1]!.label;
    for (let p = 0; p < slice; p++) {
      if (labels[k * slice + p] === want) {
        const bit = f * slice + p;
        bits[bit >> 3] |= 1 << (bit & 7);
      }
    }
  });

  const now = dateTime(opts.date ?? new Date());
  const algo = opts.algorithm ?? { type: 'SEMIAUTOMATIC', name: 'SAM-UNet', version: '1' };
  const seriesUID = opts.seriesInstanceUID ?? newUid();
  const sopUID = opts.sopInstanceUID ?? newUid();
  const frameRef = src.frameOfReferenceUID;
  if (!frameRef) throw new LabelMapError('the source series has no FrameOfReferenceUID: a SEG on its geometry needs one');
  const patient: Element[] = COPIED.flatMap(([kw, tag, vr, type2]): Element[] => {
    const v = src.patient[kw];
    return v !== undefined ? [[tag, vr, v]] : type2 ? [[tag, vr, '']] : [];
  });
  const segmentItems: Dataset[] = segments.map((s, i) => [
    [0x00620003, 'SQ', [code(s.category ?? TISSUE)]],
    [0x00620004, 'US', [i + 1]],
    [0x00620005, 'LO', s.name ?? `Label ${s.label}`],
    [0x00620008, 'CS', algo.type],
    [0x00620009, 'LO', algo.name],
    [0x0062000d, 'US', rgbToDicomLab(s.color ?? labelColor(s.label))],
    [0x0062000f, 'SQ', [code(s.type ?? TISSUE)]],
  ]);
  const perFrame: Dataset[] = frames.map(({ segment, k }) => {
    const inst = src.instances[k]!;
    const source: Element[] = [
      [0x00081150, 'UI', src.sopClassUID],
      [0x00081155, 'UI', inst.sopInstanceUID],
      [0x0040a170, 'SQ', [code({ value: '121322', scheme: 'DCM', meaning: 'Source image for image processing operation' })]],
    ];
    if (inst.frame !== undefined) source.push([0x00081160, 'IS', [String(inst.frame)]]);
    return [
      [0x00089124, 'SQ', [[[0x00082112, 'SQ', [source]], [0x00089215, 'SQ', [code({ value: '113076', scheme: 'DCM', meaning: 'Segmentation' })]]]]],
      [0x00209111, 'SQ', [[[0x00209157, 'UL', [segment, k + 1]]]]],
      [0x00209113, 'SQ', [[[0x00200032, 'DS', position(k).map(ds)]]]],
      [0x0062000a, 'SQ', [[[0x0062000b, 'US', [segment]]]]],
    ];
  });
  const dimOrg = newUid();
  const dataset: Element[] = [
    [0x00080005, 'CS', 'ISO_IR 192'],
    [0x00080008, 'CS', ['DERIVED', 'PRIMARY']],
    [0x00080016, 'UI', SEGMENTATION_STORAGE],
    [0x00080018, 'UI', sopUID],
    [0x00080021, 'DA', now.date],
    [0x00080023, 'DA', now.date],
    [0x00080031, 'TM', now.time],
    [0x00080033, 'TM', now.time],
    [0x00080060, 'CS', 'SEG'],
    [0x00080070, 'LO', 'sam-unet-webgpu'],
    [0x0008103e, 'LO', opts.seriesDescription ?? 'SAM-UNet segmentation'],
    [0x00081090, 'LO', 'SAM-UNet on WebGPU'],
    [0x00081115, 'SQ', [[[0x0008114a, 'SQ', src.instances.map((x): Dataset => [[0x00081150, 'UI', src.sopClassUID], [0x00081155, 'UI', x.sopInstanceUID]])], [0x0020000e, 'UI', src.seriesInstanceUID]]]],
    [0x00181000, 'LO', '1'],
    [0x00181020, 'LO', algo.version],
    [0x0020000d, 'UI', src.studyInstanceUID],
    [0x0020000e, 'UI', seriesUID],
    [0x00200011, 'IS', String(opts.seriesNumber ?? 300)],
    [0x00200013, 'IS', '1'],
    [0x00200052, 'UI', frameRef],
    [0x00201040, 'LO', ''],
    [0x00209221, 'SQ', [[[0x00209164, 'UI', dimOrg]]]],
    [0x00209222, 'SQ', [
      [[0x00209164, 'UI', dimOrg], [0x00209165, 'AT', [0x0062000b]], [0x00209167, 'AT', [0x0062000a]], [0x00209421, 'LO', 'Segment']],
      [[0x00209164, 'UI', dimOrg], [0x00209165, 'AT', [0x00200032]], [0x00209167, 'AT', [0x00209113]], [0x00209421, 'LO', 'Slice position']],
    ]],
    [0x00280002, 'US', [1]],
    [0x00280004, 'CS', 'MONOCHROME2'],
    [0x00280008, 'IS', String(frames.length)],
    [0x00280010, 'US', [nj]],
    [0x00280011, 'US', [ni]],
    [0x00280100, 'US', [1]],
    [0x00280101, 'US', [1]],
    [0x00280102, 'US', [0]],
    [0x00280103, 'US', [0]],
    [0x00282110, 'CS', '00'],
    [0x00620001, 'CS', 'BINARY'],
    [0x00620002, 'SQ', segmentItems],
    [0x00620013, 'CS', 'NO'],
    [0x00700080, 'CS', 'SAM_UNET'],
    [0x00700081, 'LO', ''],
    [0x00700084, 'PN', ''],
    [0x52009229, 'SQ', [[
      [0x00209116, 'SQ', [[[0x00200037, 'DS', [...unit(0), ...unit(1)].map(ds)]]]],
      [0x00289110, 'SQ', [[[0x00180050, 'DS', ds(spacing[2]!)], [0x00180088, 'DS', ds(spacing[2]!)], [0x00280030, 'DS', [ds(spacing[1]!), ds(spacing[0]!)]]]]],
    ]]],
    [0x52009230, 'SQ', perFrame],
    [0x7fe00010, 'OB', bits],
    ...patient,
  ];
  return dicomFile(SEGMENTATION_STORAGE, sopUID, dataset);
}
