// NIfTI-1 and NIfTI-2 single-file volumes (.nii, .nii.gz) to a Volume, read as nibabel reads them:
// nifti-reader-js parses the header (either version, either byte order); gzip is inflated here by
// fflate as a stream, only as far as the header says the data goes (a gzip bomb stops there). The
// affine follows nibabel's get_best_affine: the sform when sform_code ≠ 0, else the qform (the
// quaternion, qfac and pixdim, computed as nibabel's quat2mat does), else nibabel's fallback from
// pixdim (x flipped, centred). Values: the stored type, then scl_slope / scl_inter as nibabel applies
// them (a slope of 0 or NaN means none). Every datatype with a scalar value is read (integers of
// 8 to 64 bits, float32, float64); complex, RGB, binary and float128 are errors naming the type.

import * as nifti from 'nifti-reader-js';
import { Gunzip } from 'fflate';
import type { Affine, Volume } from '../volume/types.js';
import { NiftiError, describe } from './errors.js';

/** Largest voxel count of the volume read (one time point). */
export const MAX_NIFTI_VOXELS = 2 ** 29;

export interface ReadNiftiOptions {
  /** For a 4-D file: which volume (0-based, default 0). */
  timeIndex?: number;
  /** NaN / ±Infinity values: an error (default) or read as 0 (counted in `warnings`). */
  nonFinite?: 'error' | 'zero';
}

const TYPES: Record<number, { name: string; bytes: number; read?: (v: DataView, o: number, le: boolean) => number }> = {
  2: { name: 'UINT8', bytes: 1, read: (v, o) => v.getUint8(o) },
  4: { name: 'INT16', bytes: 2, read: (v, o, le) => v.getInt16(o, le) },
  8: { name: 'INT32', bytes: 4, read: (v, o, le) => v.getInt32(o, le) },
  16: { name: 'FLOAT32', bytes: 4, read: (v, o, le) => v.getFloat32(o, le) },
  64: { name: 'FLOAT64', bytes: 8, read: (v, o, le) => v.getFloat64(o, le) },
  256: { name: 'INT8', bytes: 1, read: (v, o) => v.getInt8(o) },
  512: { name: 'UINT16', bytes: 2, read: (v, o, le) => v.getUint16(o, le) },
  768: { name: 'UINT32', bytes: 4, read: (v, o, le) => v.getUint32(o, le) },
  1024: { name: 'INT64', bytes: 8, read: (v, o, le) => Number(v.getBigInt64(o, le)) },
  1280: { name: 'UINT64', bytes: 8, read: (v, o, le) => Number(v.getBigUint64(o, le)) },
  1: { name: 'BINARY (1 bit)', bytes: 0 },
  32: { name: 'COMPLEX64', bytes: 8 },
  128: { name: 'RGB24', bytes: 3 },
  1536: { name: 'FLOAT128', bytes: 16 },
  1792: { name: 'COMPLEX128', bytes: 16 },
  2048: { name: 'COMPLEX256', bytes: 32 },
  2304: { name: 'RGBA32', bytes: 4 },
};

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Inflates a .nii.gz as far as `need(headerBytes)` says (at least the header). */
function gunzip(b: Uint8Array, need: (head: Uint8Array) => number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0, target = 540, targetKnown = false;
  const g = new Gunzip((c) => {
    chunks.push(c);
    total += c.length;
  });
  const CH = 1 << 20;
  try {
    for (let at = 0; at < b.length && total < target; at += CH) {
      g.push(b.subarray(at, at + CH), at + CH >= b.length);
      if (!targetKnown && total >= 540) {
        target = need(concat(chunks, total));
        targetKnown = true;
      }
    }
  } catch (e) {
    if (e instanceof NiftiError) throw e;
    if (total < target) throw new NiftiError(total ? 'truncated' : 'corrupt', `gzip data ends or breaks after ${total} bytes (${describe(e)})`, { cause: e });
  }
  if (!targetKnown && total > 0) target = need(concat(chunks, total));
  return concat(chunks, total).subarray(0, Math.min(total, target));
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) out.set(c, (at += c.length) - c.length);
  chunks.splice(0, chunks.length, out);
  return out;
}

type Header = nifti.NIFTI1 | nifti.NIFTI2;

function parseHeader(b: Uint8Array): Header {
  const ab = b.buffer.slice(b.byteOffset, b.byteOffset + Math.min(b.length, 4096)) as ArrayBuffer;
  if (nifti.isNIFTI1(ab, true) || nifti.isNIFTI2(ab, true)) {
    let h: Header;
    try {
      h = nifti.isNIFTI1(ab, true) ? new nifti.NIFTI1() : new nifti.NIFTI2();
      h.readHeader(ab);
    } catch (e) {
      throw new NiftiError('corrupt', `cannot parse the NIfTI header (${describe(e)})`, { cause: e });
    }
    if (/^ni[12]/.test(h.magic)) throw new NiftiError('unsupported-feature', `a NIfTI header/image pair (magic "${h.magic}") is not supported; use a single .nii file`);
    return h;
  }
  const head = Array.from(b.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
  throw new NiftiError('not-nifti', `not a NIfTI-1 or NIfTI-2 file: no "n+1" / "n+2" magic (first bytes ${head || 'none: empty'})`);
}

/** The voxel grid's shape, the time points, and the data's byte range, all checked. */
function layout(h: Header) {
  const d = h.dims.map(Number);
  const nd = d[0];
  if (!(nd >= 1 && nd <= 7)) throw new NiftiError('corrupt', `dim[0] is ${nd}: the number of dimensions must be 1 to 7`);
  const shape = d.slice(1, nd + 1);
  if (shape.some((n) => !Number.isSafeInteger(n) || n < 1)) throw new NiftiError('corrupt', `dim[1..${nd}] is [${shape.join(', ')}]: each must be a positive integer`);
  if (shape.slice(4).some((n) => n > 1)) throw new NiftiError('unsupported-feature', `a ${nd}-D NIfTI with dim[5..7] = [${shape.slice(4).join(', ')}] is not supported (3-D, or 4-D with time)`);
  const [ni, nj = 1, nk = 1, nt = 1] = shape;
  const type = TYPES[h.datatypeCode];
  if (!type) throw new NiftiError('corrupt', `datatype ${h.datatypeCode} is not a NIfTI datatype`);
  if (!type.read) throw new NiftiError('unsupported-feature', `datatype ${type.name} (${h.datatypeCode}) has no scalar value; supported: integers, FLOAT32, FLOAT64`);
  if (h.numBitsPerVoxel !== type.bytes * 8) throw new NiftiError('corrupt', `bitpix ${h.numBitsPerVoxel} does not match datatype ${type.name} (${type.bytes * 8} bits)`);
  const voxels = ni * nj * nk;
  if (voxels > MAX_NIFTI_VOXELS) throw new NiftiError('too-large', `${ni}×${nj}×${nk} is over the limit of ${MAX_NIFTI_VOXELS} voxels`);
  const minOffset = h instanceof nifti.NIFTI2 ? 544 : 352;
  const offset = Number(h.vox_offset);
  if (!Number.isSafeInteger(offset) || offset < minOffset - 4) throw new NiftiError('corrupt', `vox_offset ${h.vox_offset} is not past the header (${minOffset - 4} bytes)`);
  return { dims: [ni, nj, nk] as [number, number, number], nt, type, voxels, offset, bytes: voxels * nt * type.bytes };
}

/** nibabel's affine: sform if sform_code ≠ 0, else qform if qform_code ≠ 0, else from pixdim. */
function affineOf(h: Header, head: Uint8Array, dims: readonly number[]): { affine: Affine; from: 'sform' | 'qform' | 'pixdim' } {
  const v2 = h instanceof nifti.NIFTI2;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const le = h.littleEndian;
  const f = (o: number) => (v2 ? view.getFloat64(o, le) : view.getFloat32(o, le));
  const pixdim = Array.from({ length: 8 }, (_, i) => f((v2 ? 104 : 76) + (v2 ? 8 : 4) * i));
  const A = new Float64Array(16);
  A[15] = 1;
  if (h.sform_code !== 0) {
    const base = v2 ? 400 : 280;
    for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) A[4 * r + c] = f(base + (v2 ? 32 : 16) * r + (v2 ? 8 : 4) * c);
    if (!A.every(Number.isFinite)) throw new NiftiError('non-finite', 'the sform (srow_x/y/z) holds NaN or Infinity');
    return { affine: A, from: 'sform' };
  }
  if (h.qform_code !== 0) {
    const q = v2 ? 352 : 256;
    const [b, c, d, x0, y0, z0] = Array.from({ length: 6 }, (_, i) => f(q + (v2 ? 8 : 4) * i));
    const w2 = 1 - (b * b + c * c + d * d);
    if (w2 < -3 * 2 ** -23) throw new NiftiError('corrupt', `quatern_b/c/d (${b}, ${c}, ${d}) is not a unit quaternion's vector part`);
    const w = Math.sqrt(Math.max(0, w2));
    const n = w * w + b * b + c * c + d * d;
    const s = 2 / n;
    const [X, Y, Z] = [b * s, c * s, d * s];
    const R = [
      [1 - (c * Y + d * Z), b * Y - w * Z, b * Z + w * Y],
      [b * Y + w * Z, 1 - (b * X + d * Z), c * Z - w * X],
      [b * Z - w * Y, c * Z + w * X, 1 - (b * X + c * Y)],
    ];
    const vox = [pixdim[1], pixdim[2], pixdim[3]];
    if (vox.some((p) => p < 0)) throw new NiftiError('corrupt', `pixdim[1..3] (${vox.join(', ')}) must not be negative for a qform`);
    vox[2] *= pixdim[0] === -1 ? -1 : 1; // qfac
    for (let r = 0; r < 3; r++) for (let k = 0; k < 3; k++) A[4 * r + k] = R[r][k] * vox[k];
    [A[3], A[7], A[11]] = [x0, y0, z0];
    if (!A.every(Number.isFinite)) throw new NiftiError('non-finite', 'the qform holds NaN or Infinity');
    return { affine: A, from: 'qform' };
  }
  // nibabel's shape_zoom_affine(shape, zooms, x_flip=True): centred, x flipped.
  const zooms = [1, 2, 3].map((i) => (dims[i - 1] > 0 && Number.isFinite(pixdim[i]) && pixdim[i] !== 0 ? Math.abs(pixdim[i]) : 1));
  zooms[0] = -zooms[0];
  for (let i = 0; i < 3; i++) {
    A[5 * i] = zooms[i];
    A[4 * i + 3] = (-(dims[i] - 1) / 2) * zooms[i];
  }
  return { affine: A, from: 'pixdim' };
}

/** Reads a .nii or .nii.gz file. Throws NiftiError naming any problem. */
export function readNifti(bytes: Uint8Array, opts: ReadNiftiOptions = {}): Volume {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('readNifti expects a Uint8Array');
  let lay: ReturnType<typeof layout> | undefined;
  let header: Header | undefined;
  const need = (head: Uint8Array) => {
    header = parseHeader(head);
    lay = layout(header);
    return lay.offset + lay.bytes;
  };
  const b = isGzip(bytes) ? gunzip(bytes, need) : bytes;
  if (!header) need(b);
  const h = header!, L = lay!;
  if (b.length < L.offset + L.bytes) {
    throw new NiftiError('truncated', `the header declares ${L.dims.join('×')}${L.nt > 1 ? `×${L.nt}` : ''} ${L.type.name} voxels (${L.bytes} bytes from offset ${L.offset}), but the data holds ${Math.max(0, b.length - L.offset)} bytes`);
  }
  const t = opts.timeIndex ?? 0;
  if (!Number.isInteger(t) || t < 0 || t >= L.nt) throw new RangeError(`timeIndex ${t} is outside 0..${L.nt - 1}`);
  // nibabel's get_slope_inter: a slope of 0 or non-finite means unscaled; a finite slope needs a finite intercept.
  let slope = h.scl_slope, inter = h.scl_inter;
  if (slope === 0 || !Number.isFinite(slope)) [slope, inter] = [1, 0];
  else if (!Number.isFinite(inter)) throw new NiftiError('non-finite', `scl_slope is ${slope} but scl_inter is ${inter}`);
  const view = new DataView(b.buffer, b.byteOffset + L.offset + t * L.voxels * L.type.bytes, L.voxels * L.type.bytes);
  const data = new Float32Array(L.voxels);
  const read = L.type.read!;
  let bad = 0;
  for (let i = 0, o = 0; i < L.voxels; i++, o += L.type.bytes) {
    const v = read(view, o, h.littleEndian) * slope + inter;
    data[i] = v;
    if (!Number.isFinite(data[i])) bad++;
  }
  const warnings: string[] = [];
  if (bad) {
    if (opts.nonFinite !== 'zero') throw new NiftiError('non-finite', `${bad} voxels are NaN or ±Infinity (pass nonFinite: 'zero' to read them as 0)`);
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) data[i] = 0;
    warnings.push(`${bad} NaN or infinite voxels read as 0`);
  }
  if (L.nt > 1) warnings.push(`4-D file: volume ${t} of ${L.nt}`);
  const { affine, from } = affineOf(h, b, L.dims);
  const norm = (c: number) => Math.hypot(affine[c], affine[4 + c], affine[8 + c]);
  return {
    dims: L.dims,
    data,
    affine,
    spacing: [norm(0), norm(1), norm(2)],
    modality: 'unknown',
    warnings,
    source: {
      kind: 'nifti',
      version: h instanceof nifti.NIFTI2 ? 2 : 1,
      affineFrom: from,
      header: {
        descrip: h.description, datatype: L.type.name, dims: h.dims.map(Number), pixdim: h.pixDims, xyzt_units: h.xyzt_units,
        intent_code: h.intent_code, scl_slope: h.scl_slope, scl_inter: h.scl_inter, qform_code: h.qform_code, sform_code: h.sform_code,
      },
    },
  };
}

/** True when the bytes start like a NIfTI file (gzip is assumed to be one). */
export function looksLikeNifti(b: Uint8Array): boolean {
  if (isGzip(b)) return true;
  if (b.length < 348) return false;
  const m1 = String.fromCharCode(b[344], b[345], b[346]);
  const m2 = String.fromCharCode(b[4], b[5], b[6]);
  return m1 === 'n+1' || m2 === 'n+2';
}
