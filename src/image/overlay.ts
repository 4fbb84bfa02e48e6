// Drawing for the result picture: a translucent mask over the image, the prompt box outline and
// the prompt points (foreground green, background red). Coordinates are original-image pixels.

import type { RgbImage } from './types.js';

export type Rgb = readonly [number, number, number];

/**
 * A copy of `img` with `color` blended in at `alpha` where `mask` (width·height bytes, row-major)
 * is non-zero: out = round((1 − alpha)·pixel + alpha·color).
 */
export function overlayMask(img: RgbImage, mask: Uint8Array, color: Rgb = [255, 64, 64], alpha = 0.45): RgbImage {
  const n = img.width * img.height;
  if (mask.length !== n) throw new RangeError(`overlayMask: mask has ${mask.length} values, image has ${n} pixels`);
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`overlayMask: alpha ${alpha} is outside [0, 1]`);
  const out = img.data.slice();
  for (let i = 0; i < n; i++) {
    if (!mask[i]) continue;
    for (let c = 0; c < 3; c++) out[3 * i + c] = Math.round((1 - alpha) * out[3 * i + c] + alpha * color[c]);
  }
  return { width: img.width, height: img.height, data: out };
}

/** Sets one pixel if it is inside the image. */
function put(img: RgbImage, x: number, y: number, color: Rgb): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const o = (y * img.width + x) * 3;
  img.data[o] = color[0];
  img.data[o + 1] = color[1];
  img.data[o + 2] = color[2];
}

/** Draws the outline of box (x0, y0, x1, y1) in place, `thickness` pixels inwards; returns `img`. */
export function drawBox(
  img: RgbImage, box: readonly [number, number, number, number], color: Rgb = [64, 160, 255], thickness = 2,
): RgbImage {
  const x0 = Math.round(Math.min(box[0], box[2])), x1 = Math.round(Math.max(box[0], box[2]));
  const y0 = Math.round(Math.min(box[1], box[3])), y1 = Math.round(Math.max(box[1], box[3]));
  for (let t = 0; t < thickness; t++) {
    for (let x = x0; x <= x1; x++) {
      put(img, x, y0 + t, color);
      put(img, x, y1 - t, color);
    }
    for (let y = y0; y <= y1; y++) {
      put(img, x0 + t, y, color);
      put(img, x1 - t, y, color);
    }
  }
  return img;
}

/**
 * Draws each point (x, y, label) in place as a filled disc with a white rim: label 1 (foreground)
 * green, anything else red. The radius defaults to ~1 % of the shorter side (at least 3). Returns `img`.
 */
export function drawPoints(
  img: RgbImage, points: readonly (readonly [number, number, number])[], radius = Math.max(3, Math.round(Math.min(img.width, img.height) / 100)),
): RgbImage {
  for (const [px, py, label] of points) {
    const cx = Math.round(px), cy = Math.round(py);
    const fill: Rgb = label === 1 ? [40, 220, 60] : [230, 40, 40];
    const outer = radius + 1;
    for (let dy = -outer; dy <= outer; dy++) {
      for (let dx = -outer; dx <= outer; dx++) {
        const d2 = dx * dx + dy * dy;
        if (d2 <= radius * radius) put(img, cx + dx, cy + dy, fill);
        else if (d2 <= outer * outer) put(img, cx + dx, cy + dy, [255, 255, 255]);
      }
    }
  }
  return img;
}
