// Image operations: Pillow-exact bilinear resizing (ResizeLongestSide), normalisation and
// model-frame coordinates, the Shepp–Logan phantom, overlays and the logits → mask threshold.
// The resize hashes were produced with Pillow 12.3 (Image.fromarray(...).resize(..., BILINEAR)).

import { describe, expect, it } from 'vitest';
import { decodeImage, encodePng } from '../src/image/decode.js';
import { maskFromLogits } from '../src/image/mask.js';
import { drawBox, drawPoints, overlayMask } from '../src/image/overlay.js';
import { sheppLogan, sheppLoganValues } from '../src/image/phantom.js';
import { preprocess } from '../src/image/preprocess.js';
import { imageFrame, toModelFrame } from '../src/model/frame.js';
import { promptTokensOf } from '../src/model/prompts.js';
import { longestSideShape, resizeBilinear, resizeLongestSide } from '../src/image/resize.js';
import type { RgbImage } from '../src/image/types.js';

describe('resize (PIL bilinear)', () => {
  it('gives upstream ResizeLongestSide shapes', () => {
    expect(longestSideShape(512, 512)).toEqual([256, 256]);
    expect(longestSideShape(181, 258)).toEqual([180, 256]);
    expect(longestSideShape(155, 225)).toEqual([176, 256]);
    expect(longestSideShape(300, 1000)).toEqual([77, 256]);
    expect(longestSideShape(100, 50, 1024)).toEqual([1024, 512]);
    const small = resizeLongestSide({ width: 3, height: 2, data: new Uint8Array(18).fill(9) });
    expect([small.width, small.height]).toEqual([256, 171]);
    expect(small.data.every((v) => v === 9)).toBe(true);
  });

  it('matches Pillow 12.3 bit for bit on synthetic images (FNV-1a of the output)', () => {
    const synth = (w: number, h: number): RgbImage => {
      const data = new Uint8Array(w * h * 3);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
        data[(y * w + x) * 3 + c] = (x * x * 3 + y * y * 5 + x * y * 7 + c * 91 + ((x ^ y) & 15) * 13) % 256;
      }
      return { width: w, height: h, data };
    };
    const fnv = (b: Uint8Array) => b.reduce((h, v) => Math.imul(h ^ v, 0x01000193) >>> 0, 0x811c9dc5);
    // [w, h, out w, out h, hash of PIL's Image.fromarray(synth).resize((ow, oh), BILINEAR)]
    const cases = [
      [258, 181, 256, 180, 0x62a1681b], // shrink, both passes
      [513, 300, 256, 150, 0x2319e805],
      [60, 45, 256, 192, 0x3ff113a2], // enlarge
      [5, 1200, 1, 256, 0xddc8fbe4], // > 100× taller than wide: Pillow ≥ 12.2 resizes vertically first
      [300, 17, 256, 15, 0x5d731662],
      [7, 9, 5, 3, 0x57e42ee1],
    ];
    for (const [w, h, ow, oh, hash] of cases) {
      expect(fnv(resizeBilinear(synth(w, h), ow, oh).data), `${w}×${h} → ${ow}×${oh}`).toBe(hash);
    }
  });

  it('copies when the size is unchanged and rejects empty output sizes', () => {
    const img = { width: 2, height: 2, data: Uint8Array.from({ length: 12 }, (_, i) => i) };
    const same = resizeBilinear(img, 2, 2);
    expect(same.data).toEqual(img.data);
    expect(same.data).not.toBe(img.data);
    expect(() => resizeBilinear(img, 0, 2)).toThrow(RangeError);
  });
});

describe('preprocess and model-frame coordinates', () => {
  it('normalises per channel and pads with zeros', () => {
    const img = { width: 2, height: 1, data: Uint8Array.from([0, 128, 255, 10, 20, 30]) };
    const t = preprocess(img, 4);
    expect(t.length).toBe(3 * 16);
    expect(t[0]).toBeCloseTo((0 - 123.675) / 58.395, 6);
    expect(t[16 + 0]).toBeCloseTo((128 - 116.28) / 57.12, 6);
    expect(t[32 + 1]).toBeCloseTo((30 - 103.53) / 57.375, 6);
    expect(Array.from(t.subarray(2, 16)).every((v) => v === 0)).toBe(true);
    expect(() => preprocess({ width: 5, height: 1, data: new Uint8Array(15) }, 4)).toThrow(RangeError);
  });

  it('maps boxes and points as upstream apply_coords (imageFrame, toModelFrame, the prompt tokens)', () => {
    expect(imageFrame(512, 512)).toEqual({ width: 512, height: 512, inputW: 256, inputH: 256 });
    expect(promptTokensOf({ box: [153, 237, 222, 295] }, imageFrame(512, 512))).toEqual([[76.5, 118.5, 2], [111, 147.5, 3]]);
    const f = imageFrame(258, 181);
    expect(f).toEqual({ width: 258, height: 181, inputW: 256, inputH: 180 });
    const [x, y] = toModelFrame(f, 88, 104);
    expect(x).toBeCloseTo(88 * (256 / 258), 12);
    expect(y).toBeCloseTo(104 * (180 / 181), 12);
    expect(promptTokensOf({ points: [[88, 104, 1]] }, f)).toEqual([[x, y, 1], [0, 0, -1]]);
  });
});

describe('phantom, overlay, mask', () => {
  it('renders the modified Shepp–Logan phantom', () => {
    const size = 201; // pixel (100 + 100·x, 100 − 100·y) sits exactly at (x, y)
    const img = sheppLogan(size);
    expect([img.width, img.height, img.data.length]).toEqual([size, size, size * size * 3]);
    const at = (x: number, y: number) => img.data[(Math.round(100 - 100 * y) * size + Math.round(100 + 100 * x)) * 3];
    expect(at(0, 0)).toBe(51); // 1 − 0.8
    expect(at(0, 0.35)).toBe(77); // + 0.1 = 0.3 → 76.5 → 77
    expect(at(0, 0.9)).toBe(255); // skull
    expect(at(0.95, 0.95)).toBe(0); // outside
    expect(at(0.22, 0)).toBe(0); // right ventricle: 1 − 0.8 − 0.2
    expect(at(-0.22, 0.2)).toBe(0); // left ventricle
    expect(at(-0.08, -0.605)).toBe(77); // small tumour
    const v = sheppLoganValues(64);
    expect(Math.max(...v)).toBeCloseTo(1, 12);
    expect(img.data[0]).toBe(img.data[1]);
  });

  it('blends a mask, draws a box and points', () => {
    const img = { width: 4, height: 3, data: new Uint8Array(36).fill(100) };
    const mask = Uint8Array.from([0, 1, 0, 0, 0, 255, 0, 0, 0, 0, 0, 0]);
    const out = overlayMask(img, mask, [200, 0, 100], 0.5);
    expect(Array.from(out.data.subarray(3, 6))).toEqual([150, 50, 100]);
    expect(Array.from(out.data.subarray(15, 18))).toEqual([150, 50, 100]);
    expect(Array.from(out.data.subarray(0, 3))).toEqual([100, 100, 100]);
    expect(img.data[3]).toBe(100); // input untouched
    expect(() => overlayMask(img, new Uint8Array(5))).toThrow(RangeError);

    const canvas = { width: 10, height: 10, data: new Uint8Array(300) };
    drawBox(canvas, [2, 2, 7, 6], [1, 2, 3], 1);
    const px = (x: number, y: number) => Array.from(canvas.data.subarray((y * 10 + x) * 3, (y * 10 + x) * 3 + 3));
    expect(px(2, 2)).toEqual([1, 2, 3]);
    expect(px(7, 6)).toEqual([1, 2, 3]);
    expect(px(4, 6)).toEqual([1, 2, 3]);
    expect(px(4, 4)).toEqual([0, 0, 0]);
    drawPoints(canvas, [[5, 5, 1], [0, 0, 0], [50, 50, 1]], 1);
    expect(px(5, 5)).toEqual([40, 220, 60]);
    expect(px(0, 0)).toEqual([230, 40, 40]);
    expect(px(7, 5)).toEqual([255, 255, 255]); // rim
  });

  it('thresholds logits at 0', () => {
    const m = maskFromLogits(Float32Array.from([-1, 0, 1e-8, 5, NaN, -0]), 3, 2);
    expect(Array.from(m)).toEqual([0, 0, 255, 255, 0, 0]);
    expect(() => maskFromLogits(new Float32Array(5), 3, 2)).toThrow(RangeError);
    const png = decodeImage(encodePng(3, 2, m, 1));
    expect(Array.from(png.data)).toEqual([0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0]);
  });
});
