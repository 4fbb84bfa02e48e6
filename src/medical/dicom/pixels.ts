// Samples to values, as PS3.3 C.7.6.3 and C.11.1 define them:
//  - the stored value: BitsStored bits ending at HighBit (native data; a codec returns them
//    right-aligned), two's complement when PixelRepresentation is 1;
//  - grey images: the modality LUT (Rescale Slope and Intercept, per frame where functional groups
//    give them), so CT is in Hounsfield units; MONOCHROME1 is kept as values and marked `invert`
//    (it is a display rule: higher values are darker);
//  - colour: RGB as stored; YBR_FULL / YBR_FULL_422 converted to RGB with the full-range ITU-R
//    BT.601 matrix (PS3.3 C.7.6.3.1.2, the same arithmetic as pydicom's convert_color_space);
//    PALETTE COLOR through its lookup tables; Planar Configuration 1 read plane by plane.

import { DicomError } from '../errors.js';
import type { DicomImageInfo, PaletteChannel } from './info.js';

/** The samples of one frame, and how they are laid out. */
export interface FrameSamples {
  bytes: Uint8Array;
  bytesPerSample: 1 | 2 | 4;
  littleEndian: boolean;
  /** Native data: the stored bits end at HighBit; decoded data: right-aligned. */
  native: boolean;
  /** 1: planes RRR…GGG…BBB. */
  planar: 0 | 1;
  /** The samples are RGB whatever the photometric interpretation says (a codec converted them). */
  rgb: boolean;
}

const hostLittleEndian = () => new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** The samples as an aligned, host-order typed array (a view when possible, else a copy). */
function sampleArray(s: FrameSamples, count: number): Uint8Array | Uint16Array | Uint32Array {
  const n = s.bytesPerSample;
  if (n === 1) return s.bytes.subarray(0, count);
  let b = s.bytes.subarray(0, count * n);
  if (s.littleEndian !== hostLittleEndian()) {
    const sw = new Uint8Array(b.length);
    for (let i = 0; i < b.length; i += n) for (let k = 0; k < n; k++) sw[i + k] = b[i + n - 1 - k];
    b = sw;
  } else if (b.byteOffset % n) b = b.slice();
  return n === 2 ? new Uint16Array(b.buffer, b.byteOffset, count) : new Uint32Array(b.buffer, b.byteOffset, count);
}

/** Stored values (integers) of the frame's samples, in file order. */
function storedValues(info: DicomImageInfo, s: FrameSamples, count: number): ArrayLike<number> {
  if (info.bitsAllocated === 1) {
    const out = new Uint8Array(count);
    for (let i = 0; i < count; i++) out[i] = (s.bytes[i >> 3] >> (i & 7)) & 1;
    return out;
  }
  const raw = sampleArray(s, count);
  const shift = s.native ? info.highBit - info.bitsStored + 1 : 0;
  const bits = info.bitsStored;
  const full = shift === 0 && bits === 8 * s.bytesPerSample;
  if (full) {
    // The common case: every bit is a stored bit; a signed view reinterprets them.
    if (!info.signed) return raw;
    const b = raw.buffer, o = raw.byteOffset;
    return raw instanceof Uint8Array ? new Int8Array(b, o, count) : raw instanceof Uint16Array ? new Int16Array(b, o, count) : new Int32Array(b, o, count);
  }
  // Fewer stored bits than allocated (bits < 32 here): mask them out and extend the sign.
  const out = new Int32Array(count);
  const mask = (1 << bits) - 1 || -1;
  const sign = 1 << (bits - 1);
  for (let i = 0; i < count; i++) {
    let v = (raw[i] >>> shift) & mask;
    if (info.signed && v >= sign) v -= 2 * sign;
    out[i] = v;
  }
  return out;
}

/** YCbCr (full range) to RGB, as pydicom's convert_color_space does: round half up, clip. */
function ybrToRgb(v: ArrayLike<number>, out: Float32Array, bits: number): void {
  const half = 2 ** (bits - 1);
  const max = 2 ** bits - 1;
  const clip = (x: number) => Math.min(max, Math.max(0, Math.floor(x + 0.5)));
  for (let p = 0; p < out.length; p += 3) {
    const y = v[p], cb = v[p + 1] - half, cr = v[p + 2] - half;
    out[p] = clip(y + 1.402 * cr);
    out[p + 1] = clip(y + ((-0.114 * 1.772) / 0.587) * cb + ((-0.299 * 1.402) / 0.587) * cr);
    out[p + 2] = clip(y + 1.772 * cb);
  }
}

function lookup(ch: PaletteChannel, v: number): number {
  const i = Math.min(ch.data.length - 1, Math.max(0, v - ch.firstMapped));
  return ch.data[i];
}

/** The values of one frame: rows×columns (grey) or rows×columns×3 (RGB, interleaved). */
export function frameValues(info: DicomImageInfo, s: FrameSamples, frame: number): Float32Array {
  const pixels = info.rows * info.columns;
  const { photometric } = info;
  if (info.samplesPerPixel === 1) {
    const v = storedValues(info, s, pixels);
    if (photometric === 'PALETTE COLOR') {
      const pal = info.palette!;
      const out = new Float32Array(pixels * 3);
      for (let p = 0; p < pixels; p++) {
        out[3 * p] = lookup(pal.red, v[p]);
        out[3 * p + 1] = lookup(pal.green, v[p]);
        out[3 * p + 2] = lookup(pal.blue, v[p]);
      }
      return out;
    }
    const { slope, intercept } = info.planes[frame].rescale;
    const out = new Float32Array(pixels);
    for (let p = 0; p < pixels; p++) out[p] = v[p] * slope + intercept;
    return out;
  }
  // Three samples per pixel.
  const sub422 = photometric === 'YBR_FULL_422' && s.native;
  const n = sub422 ? pixels * 2 : pixels * 3;
  const raw = storedValues(info, s, n);
  let v: ArrayLike<number> = raw;
  if (sub422) {
    // Y0 Y1 Cb Cr for each pair of pixels along a row (PS3.3 C.7.6.3.1.2).
    if (info.columns % 2) throw new DicomError('corrupt', `YBR_FULL_422 with an odd number of columns (${info.columns})`);
    const full = new Float64Array(pixels * 3);
    for (let p = 0, q = 0; p < pixels; p += 2, q += 4) {
      full.set([raw[q], raw[q + 2], raw[q + 3], raw[q + 1], raw[q + 2], raw[q + 3]], 3 * p);
    }
    v = full;
  } else if (s.planar === 1) {
    const inter = new Float64Array(pixels * 3);
    for (let p = 0; p < pixels; p++) for (let c = 0; c < 3; c++) inter[3 * p + c] = raw[c * pixels + p];
    v = inter;
  }
  const out = new Float32Array(pixels * 3);
  if (!s.rgb && (photometric === 'YBR_FULL' || photometric === 'YBR_FULL_422')) ybrToRgb(v, out, info.bitsStored);
  else if (!s.rgb && photometric !== 'RGB') {
    throw new DicomError('unsupported-feature', `PhotometricInterpretation ${photometric} in uncompressed data is not supported`);
  } else for (let i = 0; i < out.length; i++) out[i] = v[i];
  return out;
}

/** Largest value of a colour image's samples (255 for 8 bits), for scaling to 8-bit RGB. */
export function colorMax(info: DicomImageInfo): number {
  if (info.photometric === 'PALETTE COLOR') return info.palette!.red.bits === 8 ? 255 : 65535;
  return 2 ** info.bitsStored - 1;
}
