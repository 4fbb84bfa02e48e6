// PNG to RGB, as PIL's `Image.open(f).convert('RGB')` gives it, and RGB/grey/RGBA to PNG.
// Chunks are walked and CRC-checked here; zlib is fflate's. Every PNG variant is decoded
// (bit depths 1–16, grey, grey+alpha, RGB, RGBA, palette, Adam7 interlace), following PIL:
//   - alpha (and tRNS) is dropped, not composited;
//   - 16-bit RGB, RGBA and grey+alpha keep the high byte of each sample;
//   - 16-bit grey opens as PIL mode "I;16" and clips to 255 on the way to RGB (values ≥ 255 → 255);
//   - 1/2/4-bit grey scales to 0–255 (×255, ×85, ×17); palette indices past the palette are black.
// Anything malformed throws ImageDecodeError; the size is checked from IHDR before inflating.

import { unzlibSync, zlibSync } from 'fflate';
import { crc32 } from '../util/crc32.js';
import { concatBytes } from '../util/bytes.js';
import { checkImageSize, ImageDecodeError, newRgbImage, type RgbImage } from './types.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Samples per pixel and the legal bit depths, per colour type. */
const COLOR_TYPES: Record<number, { channels: number; depths: number[] }> = {
  0: { channels: 1, depths: [1, 2, 4, 8, 16] }, // grey
  2: { channels: 3, depths: [8, 16] }, // RGB
  3: { channels: 1, depths: [1, 2, 4, 8] }, // palette
  4: { channels: 2, depths: [8, 16] }, // grey + alpha
  6: { channels: 4, depths: [8, 16] }, // RGBA
};
/** Adam7 passes: x0, y0, dx, dy. */
const ADAM7 = [
  [0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2],
];

interface PngHeader {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlaced: boolean;
}

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

const u32 = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
const fail = (reason: 'corrupt' | 'truncated' | 'unsupported-feature', msg: string) =>
  new ImageDecodeError(reason, `PNG: ${msg}`);

function parseHeader(b: Uint8Array, o: number, length: number): PngHeader {
  if (length !== 13) throw fail('corrupt', `IHDR chunk has length ${length}, expected 13`);
  const h = { width: u32(b, o), height: u32(b, o + 4), depth: b[o + 8], colorType: b[o + 9], interlaced: b[o + 12] === 1 };
  const ct = COLOR_TYPES[h.colorType];
  if (!ct) throw fail('corrupt', `invalid colour type ${h.colorType}`);
  if (!ct.depths.includes(h.depth)) throw fail('corrupt', `bit depth ${h.depth} is invalid for colour type ${h.colorType}`);
  if (b[o + 10] !== 0 || b[o + 11] !== 0) throw fail('corrupt', 'unknown compression or filter method');
  if (b[o + 12] > 1) throw fail('corrupt', `unknown interlace method ${b[o + 12]}`);
  checkImageSize('PNG', h.width, h.height);
  return h;
}

/** Walks the chunks: header, palette (RGB triples) and the concatenated IDAT payload. */
function readChunks(b: Uint8Array): { header: PngHeader; palette: Uint8Array | null; idat: Uint8Array } {
  let header: PngHeader | null = null;
  let palette: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let off = 8;
  for (;;) {
    if (off + 8 > b.length) throw fail('truncated', `data ends at byte ${b.length} before the IEND chunk`);
    const length = u32(b, off);
    const type = String.fromCharCode(b[off + 4], b[off + 5], b[off + 6], b[off + 7]);
    if (length > 0x7fffffff) throw fail('corrupt', `chunk at byte ${off} has invalid length ${length}`);
    const data = off + 8;
    if (data + length + 4 > b.length) {
      throw fail('truncated', `chunk ${JSON.stringify(type)} at byte ${off} (${length} bytes) runs past the end of the data (${b.length} bytes)`);
    }
    if (crc32(b, off + 4, data + length) !== u32(b, data + length)) throw fail('corrupt', `CRC mismatch in chunk ${JSON.stringify(type)} at byte ${off}`);
    if (header === null && type !== 'IHDR') throw fail('corrupt', `first chunk is ${JSON.stringify(type)}, not IHDR`);
    if (type === 'IHDR') {
      if (header) throw fail('corrupt', 'more than one IHDR chunk');
      header = parseHeader(b, data, length);
    } else if (type === 'PLTE') {
      if (length % 3 !== 0 || length === 0 || length > 768) throw fail('corrupt', `PLTE chunk has invalid length ${length}`);
      palette = b.subarray(data, data + length);
    } else if (type === 'IDAT') {
      idat.push(b.subarray(data, data + length));
    } else if (type === 'IEND') {
      break;
    }
    off = data + length + 4;
  }
  if (!header) throw fail('corrupt', 'no IHDR chunk');
  if (idat.length === 0) throw fail('corrupt', 'no IDAT chunk');
  if (header.colorType === 3 && !palette) throw fail('corrupt', 'palette image without a PLTE chunk');
  let total = 0;
  for (const p of idat) total += p.length;
  const joined = new Uint8Array(total);
  total = 0;
  for (const p of idat) joined.set(p, (total += p.length) - p.length);
  return { header, palette, idat: joined };
}

/** The sub-images that make up the filtered data: one for a plain image, up to 7 for Adam7. */
function passes(h: PngHeader): { x0: number; y0: number; dx: number; dy: number; w: number; h: number }[] {
  const list = h.interlaced ? ADAM7 : [[0, 0, 1, 1]];
  return list
    .map(([x0, y0, dx, dy]) => ({ x0, y0, dx, dy, w: Math.ceil((h.width - x0) / dx), h: Math.ceil((h.height - y0) / dy) }))
    .filter((p) => p.w > 0 && p.h > 0);
}

/** Reverses the per-row filters in place; rows are `1 + stride` bytes (filter byte first). */
function unfilter(raw: Uint8Array, start: number, rows: number, stride: number, bpp: number): void {
  for (let r = 0; r < rows; r++) {
    const row = start + r * (stride + 1);
    const cur = row + 1;
    const prev = cur - (stride + 1); // only read when r > 0
    const f = raw[row];
    if (f === 0) continue;
    if (f > 4) throw fail('corrupt', `invalid filter type ${f} in row ${r}`);
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? raw[cur + i - bpp] : 0;
      const b = r > 0 ? raw[prev + i] : 0;
      let pred: number;
      if (f === 1) pred = a;
      else if (f === 2) pred = b;
      else if (f === 3) pred = (a + b) >> 1;
      else {
        const c = r > 0 && i >= bpp ? raw[prev + i - bpp] : 0;
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      raw[cur + i] = (raw[cur + i] + pred) & 0xff;
    }
  }
}

/** Converts `count` pixels of one unfiltered row to RGB, writing pixel c at out[(o0 + c·step)·3]. */
function rowToRgb(
  h: PngHeader, palette: Uint8Array | null, src: Uint8Array, s0: number, count: number,
  out: Uint8Array, o0: number, step: number,
): void {
  const { depth, colorType } = h;
  const channels = COLOR_TYPES[colorType].channels;
  for (let c = 0; c < count; c++) {
    const o = (o0 + c * step) * 3;
    let r: number, g: number, b: number;
    if (depth < 8) {
      const bit = c * depth;
      const v = (src[s0 + (bit >> 3)] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
      if (colorType === 3) {
        const p = v * 3;
        [r, g, b] = palette && p < palette.length ? [palette[p], palette[p + 1], palette[p + 2]] : [0, 0, 0];
      } else {
        r = g = b = (v * 255) / ((1 << depth) - 1);
      }
    } else if (depth === 8) {
      const i = s0 + c * channels;
      if (colorType === 3) {
        const p = src[i] * 3;
        [r, g, b] = palette && p < palette.length ? [palette[p], palette[p + 1], palette[p + 2]] : [0, 0, 0];
      } else if (channels <= 2) r = g = b = src[i];
      else [r, g, b] = [src[i], src[i + 1], src[i + 2]];
    } else {
      const i = s0 + c * channels * 2; // big-endian samples: high byte first
      if (colorType === 0) r = g = b = src[i] > 0 ? 255 : src[i + 1];
      else if (colorType === 4) r = g = b = src[i];
      else [r, g, b] = [src[i], src[i + 2], src[i + 4]];
    }
    out[o] = r;
    out[o + 1] = g;
    out[o + 2] = b;
  }
}

export function decodePng(bytes: Uint8Array): RgbImage {
  const { header: h, palette, idat } = readChunks(bytes);
  const bitsPerPixel = h.depth * COLOR_TYPES[h.colorType].channels;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const subs = passes(h).map((p) => ({ ...p, stride: Math.ceil((p.w * bitsPerPixel) / 8) }));
  const expected = subs.reduce((n, p) => n + p.h * (p.stride + 1), 0);
  // fflate hands back `out` untouched when the stream has no deflate data; refuse that first.
  if (idat.length <= 6) throw fail('corrupt', `compressed image data is empty (${idat.length} bytes)`);
  // Deflate expands at most ~1032:1: refuse files far too small for their size before allocating.
  if (idat.length * 1032 + 1024 < expected) throw fail('truncated', `${idat.length} bytes of compressed data cannot hold a ${h.width}×${h.height} image`);
  let raw: Uint8Array;
  try {
    raw = unzlibSync(idat, { out: new Uint8Array(expected) });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new ImageDecodeError(/EOF/i.test(msg) ? 'truncated' : 'corrupt', `PNG: bad compressed image data (${msg})`, { cause: e });
  }
  if (raw.length < expected) throw fail('truncated', `image data holds ${raw.length} bytes, expected ${expected}`);
  const img = newRgbImage(h.width, h.height);
  let start = 0;
  for (const p of subs) {
    unfilter(raw, start, p.h, p.stride, bpp);
    for (let r = 0; r < p.h; r++) {
      const y = p.y0 + r * p.dy;
      rowToRgb(h, palette, raw, start + r * (p.stride + 1) + 1, p.w, img.data, y * h.width + p.x0, p.dx);
    }
    start += p.h * (p.stride + 1);
  }
  return img;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

/**
 * Encodes 8-bit pixels (row-major, interleaved) as a PNG: 1 channel → grey, 3 → RGB, 4 → RGBA.
 * Rows use the "Up" filter, which suits masks and photos alike.
 */
export function encodePng(width: number, height: number, data: Uint8Array, channels: 1 | 3 | 4): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`encodePng: invalid size ${width}×${height}`);
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) throw new RangeError(`encodePng: invalid channel count ${channels}`);
  const stride = width * channels;
  if (data.length !== stride * height) {
    throw new RangeError(`encodePng: ${width}×${height}×${channels} needs ${stride * height} bytes, got ${data.length}`);
  }
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1);
    raw[o] = 2; // Up
    for (let i = 0; i < stride; i++) {
      const up = y > 0 ? data[(y - 1) * stride + i] : 0;
      raw[o + 1 + i] = (data[y * stride + i] - up) & 0xff;
    }
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = channels === 1 ? 0 : channels === 3 ? 2 : 6;
  const parts = [Uint8Array.from(SIGNATURE), chunk('IHDR', ihdr), chunk('IDAT', zlibSync(raw, { level: 6 })), chunk('IEND', new Uint8Array(0))];
  return concatBytes(parts);
}
