// The modified Shepp–Logan head phantom (Toft's higher-contrast intensities, as MATLAB's
// `phantom('Modified Shepp-Logan')`), rendered as a grey RGB image: the default demo input.
// The overlay helpers live in overlay.ts and are re-exported here for the demo.

import { newRgbImage, type RgbImage } from './types.js';

export { drawBox, drawPoints, overlayMask } from './overlay.js';

/**
 * [intensity in tenths, semi-axis a, semi-axis b, centre x0, centre y0, rotation φ (degrees)] in
 * [−1, 1]² (intensities 1, −0.8, −0.2, −0.2, 0.1 ×6). Tenths are summed as integers so that
 * sums such as 1 − 0.8 + 0.1 are exactly 0.3 and render to the same grey on every run.
 */
const MODIFIED_SHEPP_LOGAN: readonly (readonly number[])[] = [
  [10, 0.69, 0.92, 0, 0, 0],
  [-8, 0.6624, 0.874, 0, -0.0184, 0],
  [-2, 0.11, 0.31, 0.22, 0, -18],
  [-2, 0.16, 0.41, -0.22, 0, 18],
  [1, 0.21, 0.25, 0, 0.35, 0],
  [1, 0.046, 0.046, 0, 0.1, 0],
  [1, 0.046, 0.046, 0, -0.1, 0],
  [1, 0.046, 0.023, -0.08, -0.605, 0],
  [1, 0.023, 0.023, 0, -0.605, 0],
  [1, 0.023, 0.046, 0.06, -0.605, 0],
];

/** The phantom's intensities (0 … 1) on a size×size grid, row 0 at the top (y = +1), as MATLAB's. */
export function sheppLoganValues(size: number): Float64Array {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`sheppLogan: invalid size ${size}`);
  const tenths = new Int32Array(size * size);
  const half = (size - 1) / 2 || 1;
  for (const [A, a, b, x0, y0, phiDeg] of MODIFIED_SHEPP_LOGAN) {
    const phi = (phiDeg * Math.PI) / 180;
    const cos = Math.cos(phi), sin = Math.sin(phi);
    for (let row = 0; row < size; row++) {
      const y = (size - 1 - row - (size - 1) / 2) / half - y0;
      for (let col = 0; col < size; col++) {
        const x = (col - (size - 1) / 2) / half - x0;
        const u = x * cos + y * sin, v = y * cos - x * sin;
        if ((u * u) / (a * a) + (v * v) / (b * b) <= 1) tenths[row * size + col] += A;
      }
    }
  }
  return Float64Array.from(tenths, (t) => t / 10);
}

/** The modified Shepp–Logan phantom as a size×size grey RGB image (intensity 1 → 255). */
export function sheppLogan(size = 256): RgbImage {
  const values = sheppLoganValues(size);
  const img = newRgbImage(size, size);
  for (let i = 0; i < values.length; i++) {
    const g = Math.round(Math.min(1, Math.max(0, values[i])) * 255);
    img.data[3 * i] = img.data[3 * i + 1] = img.data[3 * i + 2] = g;
  }
  return img;
}
