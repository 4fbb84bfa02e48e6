// Image decoding: PNG and JPEG as PIL's Image.open(...).convert('RGB') gives them (every PNG
// colour type, bit depth, filter and interlace; baseline/progressive/subsampled JPEG), and a named
// ImageDecodeError for random, truncated, corrupt, oversized or unsupported input.
// Expected values marked "PIL" were produced with Pillow 12.3 from the same bytes.

import { zlibSync } from 'fflate';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { decodeImage, encodePng, ImageDecodeError, type ImageDecodeFailure } from '../src/image/decode.js';
import type { RgbImage } from '../src/image/types.js';

// ---- a small PNG writer for any colour type / bit depth, with every filter type and Adam7 ----

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (b: Uint8Array) => (b.reduce((c, v) => CRC[(c ^ v) & 0xff] ^ (c >>> 8), 0xffffffff) ^ 0xffffffff) >>> 0;
const be32 = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

function pngChunk(type: string, data: ArrayLike<number>): number[] {
  const body = Uint8Array.from([...type].map((c) => c.charCodeAt(0)).concat(Array.from(data)));
  return [...be32(data.length), ...body, ...be32(crc32(body))];
}

interface PngSpec {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  samples: number[]; // row-major, interleaved channels
  palette?: number[];
  trns?: number[];
  interlace?: boolean;
}
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Packs one row of samples at `depth` bits and filters it with `type` (prev = unfiltered row above). */
function filteredRow(samples: number[], depth: number, bpp: number, prev: Uint8Array | null, type: number) {
  const bytes = new Uint8Array(Math.ceil((samples.length * depth) / 8));
  samples.forEach((v, i) => {
    if (depth === 16) bytes.set([v >> 8, v & 255], 2 * i);
    else if (depth === 8) bytes[i] = v;
    else bytes[(i * depth) >> 3] |= v << (8 - depth - ((i * depth) & 7));
  });
  const out = [type];
  for (let i = 0; i < bytes.length; i++) {
    const a = i >= bpp ? bytes[i - bpp] : 0, b = prev ? prev[i] : 0, c = prev && i >= bpp ? prev[i - bpp] : 0;
    const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
    const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][type];
    out.push((bytes[i] - pred) & 255);
  }
  return { out, bytes };
}

function makePng(s: PngSpec): Uint8Array {
  const ch = CHANNELS[s.colorType], bpp = Math.max(1, (s.depth * ch) >> 3);
  const passes = s.interlace
    ? [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]]
    : [[0, 0, 1, 1]];
  const raw: number[] = [];
  let rowIndex = 0;
  for (const [x0, y0, dx, dy] of passes) {
    let prev: Uint8Array | null = null;
    for (let y = y0; y < s.height; y += dy) {
      const row: number[] = [];
      for (let x = x0; x < s.width; x += dx) row.push(...s.samples.slice((y * s.width + x) * ch, (y * s.width + x + 1) * ch));
      if (row.length === 0) continue;
      const { out, bytes } = filteredRow(row, s.depth, bpp, prev, rowIndex++ % 5);
      raw.push(...out);
      prev = bytes;
    }
  }
  const ihdr = [...be32(s.width), ...be32(s.height), s.depth, s.colorType, 0, 0, s.interlace ? 1 : 0];
  return Uint8Array.from([
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a,
    ...pngChunk('IHDR', ihdr),
    ...(s.palette ? pngChunk('PLTE', s.palette) : []),
    ...(s.trns ? pngChunk('tRNS', s.trns) : []),
    ...pngChunk('IDAT', zlibSync(Uint8Array.from(raw))),
    ...pngChunk('IEND', []),
  ]);
}

const pixels = (img: RgbImage) => Array.from({ length: img.width * img.height }, (_, i) => Array.from(img.data.subarray(3 * i, 3 * i + 3)));
const grey = (...v: number[]) => v.map((g) => [g, g, g]);

/** A deterministic pseudo-random sequence (xorshift32). */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function expectDecodeError(bytes: Uint8Array, reason: ImageDecodeFailure, message: RegExp): void {
  let error: unknown;
  try {
    decodeImage(bytes);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ImageDecodeError);
  const e = error as ImageDecodeError;
  expect(e.name).toBe('ImageDecodeError');
  expect(e.reason).toBe(reason);
  expect(e.message).toMatch(message);
}

describe('PNG decoding as PIL convert("RGB")', () => {
  it('round-trips grey, RGB and RGBA through encodePng; alpha is dropped, not composited', () => {
    const r = rng(1);
    const w = 37, h = 23;
    for (const ch of [1, 3, 4] as const) {
      const data = Uint8Array.from({ length: w * h * ch }, () => Math.floor(r() * 256));
      for (let i = 0; i < w * h && ch === 4; i += 3) data[4 * i + 3] = 0; // fully transparent pixels keep their colour
      const img = decodeImage(encodePng(w, h, data, ch));
      expect([img.width, img.height]).toEqual([w, h]);
      const expected = new Uint8Array(w * h * 3);
      for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) expected[3 * i + c] = data[i * ch + (ch === 1 ? 0 : c)];
      expect(img.data).toEqual(expected);
    }
  });

  it('matches PIL on every colour type and bit depth', () => {
    const png = (depth: number, colorType: number, samples: number[], extra: Partial<PngSpec> = {}) =>
      pixels(decodeImage(makePng({ width: samples.length / CHANNELS[colorType], height: 1, depth, colorType, samples, ...extra })));
    // 16-bit grey opens as mode I;16 and clips to 255 (PIL), it does not take the high byte.
    expect(png(16, 0, [0, 255, 256, 1000, 65535])).toEqual(grey(0, 255, 255, 255, 255));
    expect(png(16, 0, [300, 70], { trns: [1, 44] })).toEqual(grey(255, 70));
    expect(png(4, 0, [0, 1, 2, 15])).toEqual(grey(0, 17, 34, 255));
    expect(png(2, 0, [0, 1, 2, 3])).toEqual(grey(0, 85, 170, 255));
    expect(png(1, 0, [1, 0, 1, 0, 0, 0, 0, 0])).toEqual(grey(255, 0, 255, 0, 0, 0, 0, 0));
    expect(png(8, 0, [5, 6], { trns: [0, 5] })).toEqual(grey(5, 6));
    // 16-bit RGB, RGBA and grey+alpha keep the high byte (PIL).
    expect(png(16, 2, [1000, 256, 65535, 0x1234, 0xff00, 0x00ff])).toEqual([[3, 1, 255], [18, 255, 0]]);
    expect(png(16, 6, [1000, 256, 65535, 0])).toEqual([[3, 1, 255]]);
    expect(png(16, 4, [1000, 0, 0x8000, 0xffff])).toEqual(grey(3, 128));
    expect(png(8, 4, [10, 0, 200, 128])).toEqual(grey(10, 200));
    expect(png(8, 6, [10, 20, 30, 0, 200, 100, 50, 128])).toEqual([[10, 20, 30], [200, 100, 50]]);
    // Palette: tRNS ignored, indices past the palette are black (PIL).
    const palette = [255, 0, 0, 0, 255, 0, 0, 0, 255];
    expect(png(8, 3, [0, 1, 2], { palette, trns: [0, 128] })).toEqual([[255, 0, 0], [0, 255, 0], [0, 0, 255]]);
    expect(png(2, 3, [0, 1, 2], { palette })).toEqual([[255, 0, 0], [0, 255, 0], [0, 0, 255]]);
    expect(png(8, 3, [0, 1, 2, 200], { palette: palette.slice(0, 6) })).toEqual([[255, 0, 0], [0, 255, 0], [0, 0, 0], [0, 0, 0]]);
  });

  it('decodes all filter types and Adam7 interlacing, at every depth and odd sizes', () => {
    const r = rng(7);
    const combos: [number, number][] = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16], [2, 8], [2, 16], [3, 1], [3, 4], [3, 8], [4, 8], [4, 16], [6, 8], [6, 16]];
    for (const [width, height] of [[1, 1], [3, 2], [13, 11], [9, 17]]) {
      for (const [colorType, depth] of combos) {
        const max = 2 ** depth - 1;
        const samples = Array.from({ length: width * height * CHANNELS[colorType] }, () => Math.floor(r() * (max + 1)));
        const palette = Array.from({ length: 3 * 2 ** Math.min(depth, 8) }, () => Math.floor(r() * 256));
        const spec = { width, height, depth, colorType, samples, palette: colorType === 3 ? palette : undefined };
        const plain = decodeImage(makePng(spec));
        const interlaced = decodeImage(makePng({ ...spec, interlace: true }));
        expect(interlaced.data).toEqual(plain.data);
        // spot-check the conversion of the last pixel against the rules above
        const ch = CHANNELS[colorType], i = width * height - 1, s = samples.slice(i * ch, (i + 1) * ch);
        const want =
          colorType === 3 ? palette.slice(3 * s[0], 3 * s[0] + 3)
          : depth === 16 ? (colorType === 0 ? [Math.min(s[0], 255)] : s.map((v) => v >> 8))
          : depth < 8 ? [(s[0] * 255) / max]
          : s;
        const rgb = ch >= 3 || colorType === 3 ? want.slice(0, 3) : [want[0], want[0], want[0]];
        expect(Array.from(plain.data.subarray(3 * i, 3 * i + 3)), `${colorType}/${depth} ${width}×${height}`).toEqual(rgb);
      }
    }
  });
});

describe('JPEG decoding', () => {
  // PIL's fixtures below: 40×24, R = 40 + 4x + 2y, G = 200 − 3x + y, B = 60 + 2x + 4y; grey = (40 + 4x + 3y) mod 256.
  const ramp = (x: number, y: number, c: number) => [40 + 4 * x + 2 * y, 200 - 3 * x + y, 60 + 2 * x + 4 * y][c];

  it('decodes what the jpeg-js encoder wrote within a few grey levels', () => {
    const w = 45, h = 31;
    const rgba = new Uint8Array(w * h * 4);
    const smooth = (x: number, y: number, c: number) => [30 + 3 * x + 2 * y, 220 - 3 * x + y, 60 + 2 * x + 3 * y, 255][c];
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 4; c++) rgba[(y * w + x) * 4 + c] = smooth(x, y, c);
    const file = new Uint8Array(jpeg.encode({ width: w, height: h, data: rgba }, 95).data);
    const img = decodeImage(file);
    expect([img.width, img.height]).toEqual([w, h]);
    let maxDiff = 0;
    for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) maxDiff = Math.max(maxDiff, Math.abs(img.data[3 * i + c] - rgba[4 * i + c]));
    expect(maxDiff).toBeLessThanOrEqual(6);
  });

  // 40×24 ramps written by PIL (quality 95): grey baseline, grey progressive, RGB progressive 4:2:0.
  const pilJpegs: Record<string, string> = {
    greyBaseline:
      '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAIBAQEBAQIBAQECAgICAgQDAgICAgUEBAMEBgUGBgYFBgYGBwkIBgcJBwYGCAsICQoKCgoKBggLDAsKDAkKCgr/wAALCAAYACgBAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/APgH4beCP9X+59O1fQHw28Ef6v8Ac+navoD4beCP9X+59O1fQHw28Ef6v9z6dq+gPht4I/1f7n07V+L/AMNvBH+r/c+navoD4beCP9X+59O1fQHw28Ef6v8Ac+navoD4beCP9X+59O1fQHw28Ef6v9z6dq/F/wCG3gj/AFf7n07V9AfDbwR/q/3Pp2r6A+G3gj/V/ufTtX0B8NvBH+r/AHPp2rQ/bN/a8+DX/BNv9kbxT+1Z8ZtU0+OLRdPlTw1oV7qBtpPEmstFI1npUDJHK/mzumC6xuIY1lncCKGRl//Z',
    greyProgressive:
      '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAIBAQEBAQIBAQECAgICAgQDAgICAgUEBAMEBgUGBgYFBgYGBwkIBgcJBwYGCAsICQoKCgoKBggLDAsKDAkKCgr/wgALCAAYACgBAREA/8QAFgABAQEAAAAAAAAAAAAAAAAABwgE/9oACAEBAAAAAQBAQEBAi9AQEBAi9AQEDR//xAAYEAADAQEAAAAAAAAAAAAAAAAABAUGB//aAAgBAQABBQKakTUiakTUiakTUiakTUiakTUiakTUiakTUjZ6+NzbI//EACAQAAMBAAEDBQAAAAAAAAAAAAABIQMEAhESBQYUMXH/2gAIAQEABj8CUFBQUFBQUFBQUFBQUFDle6/Wdc0sc38bDr08Xyduz8MlHX+Rd39Jn//EABgQAQEAAwAAAAAAAAAAAAAAAAERITAx/9oACAEBAAE/IdyqqqqqqqqqAISgCJEqdFJco//aAAgBAQAAABAAAf/EABgQAAMBAQAAAAAAAAAAAAAAAABBoQEh/9oACAEBAAE/EJiJiJiJiJiJiJiJiJiJiJiJiJiJiNrBPuSjX+5OD4Q//9k=',
    rgbProgressive420:
      '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAIBAQEBAQIBAQECAgICAgQDAgICAgUEBAMEBgUGBgYFBgYGBwkIBgcJBwYGCAsICQoKCgoKBggLDAsKDAkKCgr/2wBDAQICAgICAgUDAwUKBwYHCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgr/wgARCAAYACgDASIAAhEBAxEB/8QAFwABAQEBAAAAAAAAAAAAAAAAAAMGBf/EABYBAQEBAAAAAAAAAAAAAAAAAAYHCP/aAAwDAQACEAMQAAAB7MtBEjKM/LQRVWPgO0SVXYRCmTpSFdjiElV//8QAFhAAAwAAAAAAAAAAAAAAAAAAAAED/9oACAEBAAEFAnAcBwHAcBwHAcBwHAcBwHAcBwP/xAAaEQACAwEBAAAAAAAAAAAAAAAAAQIFMQQj/9oACAEDAQE/AaOOFHHDij4Io1hRrDiXgj//xAAZEQADAQEBAAAAAAAAAAAAAAAAAwQCEiL/2gAIAQIBAT8BjjI4xUfgjVgjVgUrHB//xAAUEAEAAAAAAAAAAAAAAAAAAAAw/9oACAEBAAY/An//xAAVEAEBAAAAAAAAAAAAAAAAAAAAYf/aAAgBAQABPyGaaaaaaSSSaaaaab//2gAMAwEAAgADAAAAEJNAHoPP/8QAFxEBAQEBAAAAAAAAAAAAAAAAAAEQEf/aAAgBAwEBPxDW0hxgwX//xAAXEQEBAQEAAAAAAAAAAAAAAAAhADER/9oACAECAQE/EMCwIhAIBcgv/8QAGBAAAwEBAAAAAAAAAAAAAAAAAAHw8RD/2gAIAQEAAT8QYYrpMUIyJzztyMyRXSYoQf/Z',
  };
  const b64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

  it('decodes baseline and progressive, grey and colour JPEGs written by PIL', () => {
    for (const [name, data] of Object.entries(pilJpegs)) {
      const img = decodeImage(b64(data));
      expect([img.width, img.height], name).toEqual([40, 24]);
      let maxDiff = 0;
      for (let y = 0; y < 24; y++) {
        for (let x = 0; x < 40; x++) {
          for (let c = 0; c < 3; c++) {
            const want = name.startsWith('grey') ? (40 + 4 * x + 3 * y) & 255 : ramp(x, y, c);
            maxDiff = Math.max(maxDiff, Math.abs(img.data[(y * 40 + x) * 3 + c] - want));
          }
        }
      }
      expect(maxDiff, name).toBeLessThanOrEqual(8);
      if (name.startsWith('grey')) for (let i = 0; i < 40 * 24; i++) expect(img.data[3 * i]).toBe(img.data[3 * i + 2]);
    }
  });

  // 15×11 colour blocks with sharp chroma edges, written by PIL at 4:2:0, 4:2:2 and as RGB, with PIL's
  // decoded RGB: checks libjpeg-turbo's fancy upsampling and colour conversion (replicating chroma
  // samples, as jpeg-js alone does, is off by up to 57).
  const pilChroma: Record<string, [string, string]> = {
    s420: [
      '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBT/wAARCAALAA8DASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDzTwf4onl1e0vLy1MXjKNNtlp6AeRLDzlmO4jODL/GPujj197+Hviieymu5fDlqdQ1Wdt2rwXAAS3m5O1MsuRuMg6t90c+vyd8OLqa4+HOo6tLNJLqsFyscV87EzxqTFlVf7wHzNwD/EfWvezdT6R4e8M3NhNJZXN7amS6mt2MbztsjO5yMFjlmOTnqfWviM94+z2U3SvDdx+HTRXtvfl7K977u2h6vFEqFGhLMG5pKKq3TXtLTl7NSTa5fatq05W5XTslFS94/9k=',
      '5Sm+1zrRqk/oUTHAL0nARE22w3LY0XXKr5XUT3GhMYOzQoq8ta/r3q/j6K3N0jPFx0LTqVTnVC63OUK5SEm1tnTYyoHappHUVWukQoG2TIS3rrDjzbLb2rrSqEPPrFDZqV3jXyioVTmyW0e2m3jeqonkpZjoY2ewW3CxYHqtrb3frbzRt8rYTBiWURqSYR6PrWnQrW3OqHrUWUycWlqiXVucpZ7Us6bRra/IYYaMYJ2WVp6TOCmQRSqJYSx6smSiymKVwnSeWVR9R2GCWGR6sKWryp6RxLOZWJh2NaN8ObKFOg5LRRVJWR0/p15xslthq2VjWURDS05FV1tCoJ1yq5ZXqKVeToM9O5NHPJ5HxDY1u0A5oks6WSYJRjgRV0UXsHBCvnxCoYc6XmsPQHMMVYUYq7NGuLE8wMM+0y4SzEAfs1cuWC8APkQESUYAwHgwynkntJQtVWgAO4ADR4ICurEw1rAn1LkiskIqqUYpoVcyWywATzcAXkcAp3gos4oyopYwXGkAVXYAX30ArLMvurszwcY2UxYBVBgAXCUAoWoypGohpXUjZEsAVkwAY2EAm5wnraonqK4mYoIAYJAGWpQBMCAROyMJRx8AqWkpvFsWvG4kVEwBT2ENW1kAsp0ov5cTt6shSooCNKQUM7EQ',
    ],
    s422: [
      '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBT/wAARCAALAA8DASEAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDzTwf4onl1e0vLy1MXjKNNtlp6AeRLDzlmO4jODL/GPujj197+Hviieymu5fDlqdQ1Wdt2rwXAAS3m5O1MsuRuMg6t90c+vdn/AIlZE4uMqdX2drX5Y35L3i/j3ctHpt0W57PEdDNI4h1qEIvFc8pKDfu/WHHlqwvde5GhacXzW5nbnl8J8nfDi6muPhzqOrSzSS6rBcrHFfOxM8akxZVX+8B8zcA/xH1r3s3U+keHvDNzYTSWVze2pkuprdjG87bIzucjBY5Zjk56n1r+dM7hF4hwa055K3SyjdL0T1S76nNxdia9PKamKhNqoqFKfMm+bnlWcJTvvzyguWUr3cfdbtof/9k=',
      '4inE1zrRs07cWS+3MkfHRErCxHHd2HHMv43SWmujJ4e6Oo2/wqza7avP5bDC5iq91TzKqFfaSjSzKkfFQUrDwW7Y3XnTtYrSWWipMobEQYjAu63R4qzG5bbG7CS73zjNtFjfSzCzJkzLO1TLrm/Xy3rWr5TlU226MYDPR4LI0Kza65/D7LHRICLVNB/EYRqmxVvV11nFwm3UPVazMGq8S2OjrJzN0prBvKbKOZO4IbHTHrHFGirVKSvLRTCzpGDb1lHRzGLeRFK7LGO+T16xtJji1I3Px6TcP5bDEqfIGrTMGygWLSwQTy4Br2Yv0Vgfw2YjS1cFNGYHVGoAr6MtxZUVu6ciRZIGJ6cUJrQQ8CgG2jgSolAgRjMAKkkDRlEDwG8d2nUdt4AjZGsBLX8DRpAHv7Ec4qUM8bIZ3CwH0z0auFM1WCwHMUkPQkkFyHQr1XUhrpYySG0AL4QNQoUExK4l5asZ4bQZ6CsV0jQZsVEpUS8AKEYKQVIMuHEh1noju4otXmYBNIATRYcLwqsd5qoW5LcoETURJy0HWCcAvF4r0lUTwmgcSVcALV4CUmgEp5Un25UZxqIWQpMAIq8JIq8IGCgoMiQbXBMAyVol0VMJwm0cQlUGN2sWTl8AsZ8jzJMGv6kYOpAJH6skI7Yf',
    ],
    // the same pixels stored as RGB (Adobe transform 0, PIL keep_rgb=True): no colour conversion
    keepRgb: [
      '/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwADAgIDAgIDAwMDBAMDBAUIBQUEBAUKBwcGCAwKDAwLCgsLDQ4SEA0OEQ4LCxAWEBETFBUVFQwPFxgWFBgSFBUU/8AAEQgACwAPA1IRAEcRAEIRAP/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYHCAkKC//EALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAAwDUgBHAEIAAD8A1tU1Txrf/E/SPFPinSLLTf2prG1a38J+CLVw2kahpZEoknmkEjqJAkmokA3UZzBH8hyA/wA5fCT/AJY/hVz/AIeW/DH/AKAXi3/wDtf/AJJo8D6p418J+IfFOo/AnSLLxp8RdYuvtHxN0jXHEdtoeqb5GEFozSQB4/Okvlysk4xCnz8hn+0vhX/qF/3f6Uf8PLfhj/0AvFv/AIB2v/yTXnngTxHq2t/sJfEX4k6jql7f/EXR9eisdN8XXVw8mr2Nuz2AaGG7YmWOMiecFVYAiaTj52z8W/CT/lj+FfmnR+1R4j1b4Y/B34C694O1S98J654q0E33iDU9DuHsrnWLj7PZv513LEVaeTfNM26Qscyuc5Y5+0vhX/qF/wB3+lFf/9k=',
      '5ijI5zLI5DzIIUXIHlHIH1rI5WTI527I6HjIHYPIIovIG5bI5KHI6arI5LTI4ijI5jLI6jzIHkXIH1HIG1rI7WTI5G7I5njIG4PIG4vIIZbI6aHI5arI6bTI6ijI6jLI3zzIIUXIGFHIHVrI62TI427I53jIG4PII4vII5bI4KHI5KrI5bTIHijHFzLHJDzH4UXH7VHH6lrHFmTHIm7HIHjH6IPH44vH4JbHIaHHHKrHJrTHHijJHzLJHzzJ6EXJ4FHJ5lrJGWTJHG7JIHjJ34PJ7IvJ45bJHKHJIKrJFrTJISgTGDITHDwT6kUT6FET5loTIGQTIm4TGXgT7IMT5YsT6ZYTGaETJqoTHbQT6CgV7DIV6TwVGUUVHFEVH1oV6mQV3W4V7XgVHIMVF4sVIZYV6qEV4KoV5rQV5SgU4zIU5jwUHkUUIFEUHFoU5GQU6m4U4ngUIIMUH4sUHpYU4aEU6aoU5rQU6igU4TIU6DwUIkUUHVEUHloU7GQU424U5ngUGYMUIIsUI5YU46EU6KoU6rQUGSgUIzIUFzwU6kUU3FEU51oUHmQUIm4UIHgU5oMU6IsU45YUIaEUGaoUG7QUHygUHDIUJDwU5EUU61EU6loUE2QUHG4UHXgU5IMU5YsU4pYUH6EUIqoUH7QU',
    ],
  };

  it('upsamples chroma and converts colour as libjpeg-turbo (PIL) does, within ±3', () => {
    for (const [name, [file, pil]] of Object.entries(pilChroma)) {
      const img = decodeImage(b64(file));
      const ref = b64(pil);
      expect([img.width, img.height], name).toEqual([15, 11]);
      let maxDiff = 0;
      for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(img.data[i] - ref[i]));
      expect(maxDiff, name).toBeLessThanOrEqual(3);
    }
  });
});

describe('bad input throws a named ImageDecodeError', () => {
  const w = 64, h = 48;
  const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37) & 255);
  const png = encodePng(w, h, rgb, 3);
  const rgba = Uint8Array.from({ length: w * h * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 13) & 255));
  const jpg = new Uint8Array(jpeg.encode({ width: w, height: h, data: rgba }, 80).data);

  it('random bytes, empty data and other formats', () => {
    const r = rng(3);
    expectDecodeError(Uint8Array.from({ length: 1000 }, () => Math.floor(r() * 256)), 'unsupported-format', /unsupported image format/);
    expectDecodeError(new Uint8Array(0), 'unsupported-format', /empty/);
    expectDecodeError(new TextEncoder().encode('GIF89a\x01\x00\x01\x00'), 'unsupported-format', /GIF/);
    expectDecodeError(new TextEncoder().encode('BM6\x00\x00\x00'), 'unsupported-format', /BMP/);
  });

  it('truncated PNG and JPEG', () => {
    expectDecodeError(png.subarray(0, png.length >> 1), 'truncated', /PNG: .*runs past the end/);
    expectDecodeError(png.subarray(0, png.length - 12), 'truncated', /PNG: .*before the IEND/);
    expectDecodeError(png.subarray(0, 8), 'truncated', /PNG/);
    expectDecodeError(jpg.subarray(0, jpg.length >> 1), 'truncated', /JPEG: .*ends inside the scan data/);
    expectDecodeError(jpg.subarray(0, jpg.length - 2), 'truncated', /JPEG/);
    expectDecodeError(jpg.subarray(0, 40), 'truncated', /JPEG/);
  });

  it('corrupt PNG: bad CRC, bad zlib data, short image data, bad filter, bad header', () => {
    const flipped = png.slice();
    flipped[png.length - 20] ^= 0x55; // inside IDAT
    expectDecodeError(flipped, 'corrupt', /CRC mismatch in chunk "IDAT"/);
    const bad = (ihdr: number[], idat: Uint8Array) =>
      Uint8Array.from([...png.subarray(0, 8), ...pngChunk('IHDR', ihdr), ...pngChunk('IDAT', idat), ...pngChunk('IEND', [])]);
    const ihdr = [...be32(4), ...be32(2), 8, 0, 0, 0, 0];
    expectDecodeError(bad(ihdr, Uint8Array.from([0x78, 0x9c, 0xff, 0xff, 0xff, 0xff])), 'corrupt', /compressed image data/);
    expectDecodeError(bad(ihdr, zlibSync(new Uint8Array(7))), 'truncated', /image data holds 7 bytes, expected 10/);
    expectDecodeError(bad(ihdr, zlibSync(Uint8Array.from([9, 0, 0, 0, 0, 0, 0, 0, 0, 0]))), 'corrupt', /invalid filter type 9/);
    expectDecodeError(bad([...be32(4), ...be32(2), 8, 2, 0, 0, 0].map((v, i) => (i === 8 ? 4 : v)), new Uint8Array(0)), 'corrupt', /bit depth 4 is invalid for colour type 2/);
    expectDecodeError(bad([...be32(0), ...be32(2), 8, 0, 0, 0, 0], new Uint8Array(0)), 'corrupt', /invalid image size 0×2/);
  });

  it('headers claiming huge images are refused before decoding', () => {
    const huge = Uint8Array.from([...png.subarray(0, 8), ...pngChunk('IHDR', [...be32(100000), ...be32(100000), 8, 2, 0, 0, 0])]);
    expectDecodeError(huge, 'too-large', /PNG: image 100000×100000 exceeds the limit/);
    const wide = Uint8Array.from([...png.subarray(0, 8), ...pngChunk('IHDR', [...be32(20000), ...be32(1), 8, 0, 0, 0, 0])]);
    expectDecodeError(wide, 'too-large', /exceeds/);
    // JPEG SOI + SOF0 for 60000×60000 grey, then nothing.
    const sof = Uint8Array.from([0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0xea, 0x60, 0xea, 0x60, 1, 1, 0x11, 0]);
    expectDecodeError(sof, 'too-large', /JPEG: image 60000×60000 exceeds the limit/);
    // Within the limits, but far too little data for the size: refused before allocating.
    const bomb = Uint8Array.from([
      ...png.subarray(0, 8), ...pngChunk('IHDR', [...be32(16000), ...be32(16000), 8, 6, 0, 0, 0]),
      ...pngChunk('IDAT', zlibSync(new Uint8Array(1000))), ...pngChunk('IEND', []),
    ]);
    expectDecodeError(bomb, 'truncated', /PNG: \d+ bytes of compressed data cannot hold a 16000×16000 image/);
    const jpegBomb = Uint8Array.from([
      0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0x3e, 0x80, 0x3e, 0x80, 1, 1, 0x11, 0, // SOF0 16000×16000 grey
      0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0, 1, 2, 3, 4, 0xff, 0xd9, // SOS, 4 bytes of scan data, EOI
    ]);
    expectDecodeError(jpegBomb, 'truncated', /JPEG: 4 bytes of scan data cannot hold a 16000×16000 image/);
  });

  it('unsupported JPEG variants are named', () => {
    const arith = Uint8Array.from([0xff, 0xd8, 0xff, 0xc9, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0, 0xff, 0xd9]);
    expectDecodeError(arith, 'unsupported-feature', /arithmetic-coded sequential/);
    const twelveBit = Uint8Array.from([0xff, 0xd8, 0xff, 0xc1, 0, 11, 12, 0, 8, 0, 8, 1, 1, 0x11, 0, 0xff, 0xd9]);
    expectDecodeError(twelveBit, 'unsupported-feature', /12-bit/);
  });

  it('mutated files either decode to a consistent image or throw ImageDecodeError', () => {
    const r = rng(11);
    for (const file of [png, jpg]) {
      for (let t = 0; t < 300; t++) {
        const m = file.slice(0, t % 3 === 0 ? Math.floor(r() * file.length) : file.length);
        for (let k = 0; k < 1 + (t % 4); k++) m[Math.floor(r() * m.length)] = Math.floor(r() * 256);
        try {
          const img = decodeImage(m);
          expect(img.data.length).toBe(img.width * img.height * 3);
        } catch (e) {
          expect(e, String(e)).toBeInstanceOf(ImageDecodeError);
        }
      }
    }
  });
});
