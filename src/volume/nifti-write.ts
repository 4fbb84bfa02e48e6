// A label map as NIfTI-1 (one .nii file, gzipped for .nii.gz), on the grid of the scan it was
// segmented from, so that it lies on that scan in 3D Slicer, ITK-SNAP or nibabel:
// - the same dims; labels uint8, or uint16 when one exceeds 255; intent NIFTI_INTENT_LABEL;
// - sform = the source's affine (RAS+ mm, float32 as NIfTI stores it), with the source's sform
//   code (a NIfTI source), 1 = scanner (a DICOM series), else 2 = aligned; a NIfTI source whose
//   affine came from pixdim alone (both codes 0) is mirrored with both codes 0;
// - qform = the same affine as a quaternion, its offset and pixdim, with qfac = −1 for a
//   left-handed one (det < 0); an affine that is no rotation times a scale (shear) gets
//   qform_code 0: a quaternion cannot hold it, and readers then use the sform.
// ref: https://nifti.nimh.nih.gov/pub/dist/src/niftilib/nifti1.h (field layout);
//      nifti1_io.c nifti_mat44_to_quatern (the quaternion).
import { gzipSync } from 'fflate';
import { checkLabels, LabelMapError, type Labels } from './labels.js';
import type { Affine, Volume } from './types.js';

export { LabelMapError, type Labels } from './labels.js';

export interface NiftiWriteOptions {
  /** Gzip the file (.nii.gz); default true. */
  gzip?: boolean;
  /** The header's descrip (at most 79 ASCII characters). */
  description?: string;
}

const HEADER = 348;
const VOX_OFFSET = 352; // header + the 4-byte extension flag (no extensions)
const NIFTI_INTENT_LABEL = 1002;
const NIFTI_UNITS_MM = 2;
const DT_UINT8 = 2;
const DT_UINT16 = 512;

/** The quaternion form of an affine (nifti_mat44_to_quatern), or null when it is not rotation · scale. */
export function affineToQuatern(a: Affine): { b: number; c: number; d: number; qfac: 1 | -1; pixdim: [number, number, number]; offset: [number, number, number] } | null {
  const m = (r: number, c: number) => a[4 * r + c]!;
  const pixdim = [0, 1, 2].map((c) => Math.hypot(m(0, c), m(1, c), m(2, c))) as [number, number, number];
  if (pixdim.some((p) => !(p > 0))) return null;
  const R = [0, 1, 2].map((r) => [0, 1, 2].map((c) => m(r, c) / pixdim[c]!));
  const det = R[0]![0]! * (R[1]![1]! * R[2]![2]! - R[1]![2]! * R[2]![1]!) - R[0]![1]! * (R[1]![0]! * R[2]![2]! - R[1]![2]! * R[2]![0]!) + R[0]![2]! * (R[1]![0]! * R[2]![1]! - R[1]![1]! * R[2]![0]!);
  const qfac = det < 0 ? -1 : 1;
  if (qfac < 0) for (const row of R) row[2] = -row[2]!;
  // Columns orthonormal (to float32 precision): else a shear, which no quaternion holds.
  for (let i = 0; i < 3; i++) {
    for (let j = i; j < 3; j++) {
      const dot = R[0]![i]! * R[0]![j]! + R[1]![i]! * R[1]![j]! + R[2]![i]! * R[2]![j]!;
      if (Math.abs(dot - (i === j ? 1 : 0)) > 1e-5) return null;
    }
  }
  const [r11, r12, r13] = R[0]!, [r21, r22, r23] = R[1]!, [r31, r32, r33] = R[2]!;
  let qa = r11! + r22! + r33! + 1, qb: number, qc: number, qd: number;
  if (qa > 0.5) {
    qa = 0.5 * Math.sqrt(qa);
    qb = (0.25 * (r32! - r23!)) / qa;
    qc = (0.25 * (r13! - r31!)) / qa;
    qd = (0.25 * (r21! - r12!)) / qa;
  } else {
    const xd = 1 + r11! - (r22! + r33!), yd = 1 + r22! - (r11! + r33!), zd = 1 + r33! - (r11! + r22!);
    if (xd > 1) {
      qb = 0.5 * Math.sqrt(xd);
      qc = (0.25 * (r12! + r21!)) / qb;
      qd = (0.25 * (r13! + r31!)) / qb;
      qa = (0.25 * (r32! - r23!)) / qb;
    } else if (yd > 1) {
      qc = 0.5 * Math.sqrt(yd);
      qb = (0.25 * (r12! + r21!)) / qc;
      qd = (0.25 * (r23! + r32!)) / qc;
      qa = (0.25 * (r13! - r31!)) / qc;
    } else {
      qd = 0.5 * Math.sqrt(zd);
      qb = (0.25 * (r13! + r31!)) / qd;
      qc = (0.25 * (r23! + r32!)) / qd;
      qa = (0.25 * (r21! - r12!)) / qd;
    }
    if (qa < 0) [qb, qc, qd] = [-qb, -qc, -qd];
  }
  return { b: qb, c: qc, d: qd, qfac, pixdim, offset: [m(0, 3), m(1, 3), m(2, 3)] };
}

/** sform / qform code for the output: what the source's affine is relative to. */
function formCode(source: Volume['source'] | undefined): number {
  if (source?.kind === 'dicom') return 1; // scanner-based patient coordinates
  if (source?.kind === 'nifti') {
    if (source.affineFrom === 'pixdim') return 0;
    const h = source.header ?? {};
    const code = Number(source.affineFrom === 'qform' ? h.qform_code : h.sform_code);
    if (Number.isInteger(code) && code >= 1 && code <= 4) return code;
  }
  return 2;
}

/** The label map as a NIfTI-1 file's bytes (gzipped unless opts.gzip is false). */
export function niftiLabelMap(labels: Labels, ref: Pick<Volume, 'dims' | 'affine'> & { source?: Volume['source'] }, opts: NiftiWriteOptions = {}): Uint8Array {
  const { dims, max } = checkLabels(labels, ref);
  const uint16 = max > 255;
  if (dims.some((d) => d > 32767)) throw new LabelMapError(`dims ${dims.join('×')}: NIfTI-1 holds at most 32767 voxels per axis`);
  const desc = opts.description ?? 'sam-unet-webgpu label map';
  if (!/^[\x20-\x7e]{0,79}$/.test(desc)) throw new LabelMapError('description must be at most 79 printable ASCII characters');
  const bytes = new Uint8Array(VOX_OFFSET + labels.length * (uint16 ? 2 : 1));
  const v = new DataView(bytes.buffer);
  v.setInt32(0, HEADER, true);
  bytes[38] = 'r'.charCodeAt(0); // regular
  [3, ...dims, 1, 1, 1, 1].forEach((d, i) => v.setInt16(40 + 2 * i, d, true));
  v.setInt16(68, NIFTI_INTENT_LABEL, true);
  v.setInt16(70, uint16 ? DT_UINT16 : DT_UINT8, true);
  v.setInt16(72, uint16 ? 16 : 8, true);
  const a = ref.affine;
  const q = affineToQuatern(a);
  const pixdim = q?.pixdim ?? ([0, 1, 2].map((c) => Math.hypot(a[c]!, a[4 + c]!, a[8 + c]!)) as [number, number, number]);
  [q?.qfac ?? 1, ...pixdim, 1, 1, 1, 1].forEach((p, i) => v.setFloat32(76 + 4 * i, p, true));
  v.setFloat32(108, VOX_OFFSET, true);
  v.setFloat32(112, 0, true); // scl_slope 0: values are not scaled
  bytes[123] = NIFTI_UNITS_MM;
  v.setFloat32(124, max, true); // cal_max, cal_min = 0: the display range of the labels
  for (let i = 0; i < desc.length; i++) bytes[148 + i] = desc.charCodeAt(i);
  const code = formCode(ref.source);
  v.setInt16(252, q && code ? code : 0, true);
  v.setInt16(254, code, true);
  if (q) {
    [q.b, q.c, q.d, ...q.offset].forEach((x, i) => v.setFloat32(256 + 4 * i, x, true));
  }
  for (let k = 0; k < 12; k++) v.setFloat32(280 + 4 * k, a[k]!, true); // srow_x, srow_y, srow_z
  'n+1\0'.split('').forEach((ch, i) => (bytes[344 + i] = ch.charCodeAt(0)));
  const body = new Uint8Array(bytes.buffer, VOX_OFFSET);
  if (uint16) {
    for (let i = 0; i < labels.length; i++) v.setUint16(VOX_OFFSET + 2 * i, labels[i]!, true);
  } else body.set(labels);
  return opts.gzip === false ? bytes : gzipSync(bytes, { level: 6 });
}
