// DICOM RLE Lossless (PS3.5 Annex G): a 64-byte header of segment offsets, then one PackBits
// segment per byte plane (for each sample, most significant byte first). Decodes one frame into
// interleaved little-endian samples, the layout of native Explicit VR Little Endian data with
// Planar Configuration 0.

import { DicomError } from '../errors.js';

const fail = (msg: string) => new DicomError('codec', `RLE: ${msg}`);

/** One PackBits segment, decoded into `out` at stride `stride` from `start`; returns bytes written. */
function unpack(seg: Uint8Array, out: Uint8Array, start: number, stride: number, count: number): number {
  let i = 0, n = 0, o = start;
  while (i < seg.length && n < count) {
    const h = seg[i++];
    if (h < 128) {
      const len = Math.min(h + 1, count - n, seg.length - i);
      for (let k = 0; k < len; k++, o += stride) out[o] = seg[i + k];
      i += h + 1;
      n += len;
    } else if (h > 128) {
      if (i >= seg.length) break;
      const v = seg[i++];
      const len = Math.min(257 - h, count - n);
      for (let k = 0; k < len; k++, o += stride) out[o] = v;
      n += len;
    } // 128: no operation
  }
  return n;
}

/** Decodes one RLE frame of rows×columns pixels with `samples` samples of `bytesPerSample` bytes. */
export function decodeRle(frame: Uint8Array, pixels: number, samples: number, bytesPerSample: number): Uint8Array {
  if (frame.length < 64) throw fail(`the frame has ${frame.length} bytes, less than its 64-byte header`);
  const v = new DataView(frame.buffer, frame.byteOffset, 64);
  const count = v.getUint32(0, true);
  const want = samples * bytesPerSample;
  if (count !== want) throw fail(`the header lists ${count} segments; ${samples} samples of ${bytesPerSample} bytes need ${want}`);
  const offsets = Array.from({ length: count }, (_, k) => v.getUint32(4 + 4 * k, true));
  const stride = want;
  const out = new Uint8Array(pixels * stride);
  for (let s = 0; s < count; s++) {
    const begin = offsets[s];
    const end = s + 1 < count ? offsets[s + 1] : frame.length;
    if (begin < 64 || end > frame.length || end < begin) throw fail(`segment ${s + 1} offset ${begin}..${end} lies outside the ${frame.length}-byte frame`);
    // Segment s holds byte (bytesPerSample - 1 - s % bytesPerSample) of sample ⌊s / bytesPerSample⌋.
    const sample = Math.floor(s / bytesPerSample);
    const byte = bytesPerSample - 1 - (s % bytesPerSample);
    const got = unpack(frame.subarray(begin, end), out, sample * bytesPerSample + byte, stride, pixels);
    if (got < pixels) throw new DicomError('truncated', `RLE: segment ${s + 1} decodes to ${got} bytes; the image needs ${pixels}`);
  }
  return out;
}
