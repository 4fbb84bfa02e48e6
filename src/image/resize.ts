// Resize so the longest side is `target` (upstream `ResizeLongestSide`), resampling exactly as
// PIL's `Image.resize((w, h), Image.BILINEAR)` does on uint8 RGB: Pillow's ImagingResample
// (src/libImaging/Resample.c) with a triangle filter whose support widens by the scale when
// shrinking (antialiasing), fixed-point weights with PRECISION_BITS = 22, a horizontal pass then a
// vertical pass, each rounded and clipped to uint8, and a pass skipped when its size is unchanged.
// Images more than 100 times taller than wide are shrunk vertically first, as Pillow ≥ 12.2 does
// (older Pillow differs there by ±1 grey level).

import type { RgbImage } from './types.js';

const PRECISION_BITS = 32 - 8 - 2;

/** Output size of upstream `ResizeLongestSide.get_preprocess_shape`: [newH, newW]. */
export function longestSideShape(height: number, width: number, target = 256): [number, number] {
  const scale = target / Math.max(height, width);
  return [Math.floor(height * scale + 0.5), Math.floor(width * scale + 0.5)];
}

/** Resamples so that max(side) = target, as upstream's preprocessing (PIL bilinear). */
export function resizeLongestSide(img: RgbImage, target = 256): RgbImage {
  const [h, w] = longestSideShape(img.height, img.width, target);
  return resizeBilinear(img, w, h);
}

/**
 * Per output index: first input index, tap count, and 22-bit fixed-point weights
 * (Resample.c `precompute_coeffs` + `normalize_coeffs_8bpc`, bilinear filter, box = whole image).
 */
function coefficients(inSize: number, outSize: number): { bounds: Int32Array; weights: Int32Array; ksize: number } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 1.0 * filterScale; // BILINEAR support is 1
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const invFilterScale = 1.0 / filterScale;
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * invFilterScale);
      const w = t < 1 ? 1 - t : 0;
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? k[x] / ww : k[x];
      // (int)(±0.5 + v·2^22): C truncation toward zero
      weights[xx * ksize + x] = Math.trunc(v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, weights, ksize };
}

/** Fixed-point sum → uint8: round (the 2^21 bias is added by the caller), shift, clip. */
function clip8(ss: number): number {
  const v = Math.floor(ss / (1 << PRECISION_BITS));
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Resamples along x: `src` has `srcW` pixels per row, `rows` rows; returns `outW` per row. */
function horizontal(src: Uint8Array, srcW: number, rows: number, outW: number): Uint8Array {
  const { bounds, weights, ksize } = coefficients(srcW, outW);
  const out = new Uint8Array(outW * rows * 3);
  const half = 1 << (PRECISION_BITS - 1);
  for (let y = 0; y < rows; y++) {
    const rowIn = y * srcW * 3;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = bounds[xx * 2], xmax = bounds[xx * 2 + 1], k0 = xx * ksize;
      let s0 = half, s1 = half, s2 = half;
      for (let x = 0; x < xmax; x++) {
        const p = rowIn + (x + xmin) * 3, wgt = weights[k0 + x];
        s0 += src[p] * wgt;
        s1 += src[p + 1] * wgt;
        s2 += src[p + 2] * wgt;
      }
      const o = (y * outW + xx) * 3;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return out;
}

/** Resamples along y: `src` is `width`×`srcH`; returns `width`×`outH`. */
function vertical(src: Uint8Array, width: number, srcH: number, outH: number): Uint8Array {
  const { bounds, weights, ksize } = coefficients(srcH, outH);
  const out = new Uint8Array(width * outH * 3);
  const half = 1 << (PRECISION_BITS - 1);
  const stride = width * 3;
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[yy * 2], ymax = bounds[yy * 2 + 1], k0 = yy * ksize;
    for (let i = 0; i < stride; i++) {
      let s = half;
      for (let y = 0; y < ymax; y++) s += src[(y + ymin) * stride + i] * weights[k0 + y];
      out[yy * stride + i] = clip8(s);
    }
  }
  return out;
}

/** PIL `Image.resize((width, height), Image.BILINEAR)` on an RGB uint8 image. */
export function resizeBilinear(img: RgbImage, width: number, height: number): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`resizeBilinear: invalid output size ${width}×${height}`);
  }
  let data = img.data;
  if (img.height > img.width * 100 && height < img.height) {
    // Pillow ≥ 12.2 (Image.resize, "Resize tall images vertically first"): vertical pass first.
    if (height !== img.height) data = vertical(data, img.width, img.height, height);
    if (width !== img.width) data = horizontal(data, img.width, height, width);
  } else {
    // Horizontal pass, then vertical (ImagingResampleInner); a pass is skipped when its size is unchanged.
    if (width !== img.width) data = horizontal(data, img.width, img.height, width);
    if (height !== img.height) data = vertical(data, width, img.height, height);
  }
  return { width, height, data: data === img.data ? data.slice() : data };
}
