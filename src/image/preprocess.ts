// Model input and the image ↔ model-frame coordinate maps (upstream `utils.preprocess` and
// `ResizeLongestSide.apply_coords` / `apply_boxes`). The model frame is the resized image
// (longest side = 256) placed at the top-left of the 256×256 input.

import { longestSideShape } from './resize.js';
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

/** How an origW×origH image maps into the model frame: resized size and per-axis scales. */
export interface ModelFrame {
  newW: number;
  newH: number;
  /** newW / origW */
  sx: number;
  /** newH / origH */
  sy: number;
}

export function modelFrameScale(origW: number, origH: number, target = 256): ModelFrame {
  const [newH, newW] = longestSideShape(origH, origW, target);
  return { newW, newH, sx: newW / origW, sy: newH / origH };
}

/** A point (x, y) in original-image pixels → model frame (x·(newW/W), y·(newH/H)). */
export function pointToModelFrame(
  [x, y]: readonly [number, number], origW: number, origH: number, target = 256,
): [number, number] {
  const { sx, sy } = modelFrameScale(origW, origH, target);
  return [x * sx, y * sy]; // upstream: coords[..., 0] * (new_w / old_w)
}

/** A box (x0, y0, x1, y1) in original-image pixels → model frame, both corners as points. */
export function boxToModelFrame(
  [x0, y0, x1, y1]: readonly [number, number, number, number], origW: number, origH: number, target = 256,
): [number, number, number, number] {
  const [a, b] = pointToModelFrame([x0, y0], origW, origH, target);
  const [c, d] = pointToModelFrame([x1, y1], origW, origH, target);
  return [a, b, c, d];
}
