// Model input (upstream `utils.preprocess`): the resized image (longest side = 256) normalised and
// placed at the top-left of the 256×256 input. (Where the image lands, and prompt coordinates with
// it: model/frame.ts.)

import type { RgbImage } from './types.js';

export const PIXEL_MEAN = [123.675, 116.28, 103.53] as const;
export const PIXEL_STD = [58.395, 57.12, 57.375] as const;

/**
 * The resized RGB image as a 1×3×size×size NCHW Float32Array: (v − mean) / std per channel,
 * zero-padded on the right and bottom (padding comes after normalisation, so it is 0, not −mean/std).
 */
export function preprocess(resized: RgbImage, size = 256): Float32Array {
  const { width: w, height: h, data } = resized;
  if (w > size || h > size) throw new RangeError(`preprocess: image ${w}×${h} is larger than ${size}×${size}`);
  const out = new Float32Array(3 * size * size);
  const lut = new Float32Array(256);
  for (let c = 0; c < 3; c++) {
    // float32 arithmetic as in PyTorch: fl(fl(v − mean) / std) with float32 mean and std
    const mean = Math.fround(PIXEL_MEAN[c]), std = Math.fround(PIXEL_STD[c]), plane = c * size * size;
    for (let v = 0; v < 256; v++) lut[v] = Math.fround(v - mean) / std;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) out[plane + y * size + x] = lut[data[(y * w + x) * 3 + c]];
    }
  }
  return out;
}
