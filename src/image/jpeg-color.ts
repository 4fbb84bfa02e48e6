// The last two steps of decoding a 3-component JPEG, done as libjpeg-turbo does them (and so as
// PIL does): "fancy" triangle-filter chroma upsampling (jdsample.c: h2v1, h1v2, h2v2) and the
// fixed-point YCbCr → RGB tables (jdcolor.c). jpeg-js, which does the entropy decoding and IDCT,
// would otherwise replicate chroma samples and truncate a float colour conversion, which differs
// from PIL by tens of grey levels at colour edges.

/** What the frame and marker segments say about the colour components. */
export interface JpegColorInfo {
  /** Component id and sampling factors, in frame order. */
  components: { id: number; h: number; v: number }[];
  /** An APP0 "JFIF" segment was seen. */
  jfif: boolean;
  /** The transform byte of an APP14 "Adobe" segment, or null without one. */
  adobeTransform: number | null;
}

/** libjpeg's guess for 3 components (jdapimin.c default_decompress_parms): YCbCr, or RGB. */
export function isYCbCr(info: JpegColorInfo): boolean {
  if (info.jfif) return true;
  if (info.adobeTransform !== null) return info.adobeTransform !== 0;
  const [a, b, c] = info.components.map((k) => k.id);
  return !(a === 82 && b === 71 && c === 66); // 'R', 'G', 'B'
}

/**
 * Upsamples one row of `n` samples by 2 into `width` outputs (extra output dropped), with
 * libjpeg's triangle filter: out[2i] = (3·s[i] + s[i−1] + b0) >> shift,
 * out[2i+1] = (3·s[i] + s[i+1] + b1) >> shift, neighbours clamped at the ends.
 */
function upsampleRow2(s: Int32Array, n: number, out: Uint8Array, o0: number, width: number, b0: number, b1: number, shift: number): void {
  for (let i = 0; i < n; i++) {
    const x = 2 * i, t = 3 * s[i];
    if (x < width) out[o0 + x * 3] = (t + s[i > 0 ? i - 1 : 0] + b0) >> shift;
    if (x + 1 < width) out[o0 + (x + 1) * 3] = (t + s[i < n - 1 ? i + 1 : n - 1] + b1) >> shift;
  }
}

/**
 * Replaces channel `c` of `rgb` (width×height, 3 interleaved channels, in which jpeg-js stored the
 * component replicated fx×fy times) by libjpeg-turbo's fancy upsampling of the component.
 */
function fancyUpsample(rgb: Uint8Array, width: number, height: number, c: number, fx: number, fy: number): void {
  const dsW = Math.ceil(width / fx), dsH = Math.ceil(height / fy);
  // h2v1 and h2v2 are "fancy" only when the component is wider than 2 samples (jdsample.c).
  if (fx === 2 && dsW <= 2) return;
  const plane = new Int32Array(dsW * dsH);
  for (let cy = 0; cy < dsH; cy++) for (let cx = 0; cx < dsW; cx++) plane[cy * dsW + cx] = rgb[(cy * fy * width + cx * fx) * 3 + c];
  const row = new Int32Array(dsW);
  for (let cy = 0; cy < dsH; cy++) {
    const cur = cy * dsW;
    for (let v = 0; v < fy; v++) {
      const y = cy * fy + v;
      if (y >= height) break;
      const o0 = y * width * 3 + c;
      if (fy === 1) {
        upsampleRow2(plane.subarray(cur, cur + dsW), dsW, rgb, o0, width, 1, 2, 2); // h2v1
        continue;
      }
      // Vertical 3:1 blend with the row above (v = 0) or below (v = 1), edge rows replicated.
      const far = (v === 0 ? Math.max(cy - 1, 0) : Math.min(cy + 1, dsH - 1)) * dsW;
      for (let i = 0; i < dsW; i++) row[i] = 3 * plane[cur + i] + plane[far + i];
      if (fx === 2) upsampleRow2(row, dsW, rgb, o0, width, 8, 7, 4); // h2v2
      else for (let x = 0; x < width; x++) rgb[o0 + x * 3] = (row[x] + (v === 0 ? 1 : 2)) >> 2; // h1v2
    }
  }
}

const FIX = (x: number) => Math.floor(x * 65536 + 0.5);
const CR_R = new Int32Array(256), CB_B = new Int32Array(256), CR_G = new Int32Array(256), CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (FIX(1.402) * x + 32768) >> 16;
  CB_B[i] = (FIX(1.772) * x + 32768) >> 16;
  CR_G[i] = -FIX(0.71414) * x;
  CB_G[i] = -FIX(0.34414) * x + 32768;
}
const clamp8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/**
 * Finishes a 3-component image that jpeg-js decoded with `colorTransform: false` (components
 * replicated to full size, not converted): fancy upsampling where a component is subsampled 2:1,
 * then YCbCr → RGB unless the file is RGB. Works in place on `rgb` and returns it.
 */
export function finishThreeComponents(rgb: Uint8Array, width: number, height: number, info: JpegColorInfo): Uint8Array {
  const maxH = Math.max(...info.components.map((k) => k.h));
  const maxV = Math.max(...info.components.map((k) => k.v));
  info.components.forEach(({ h, v }, c) => {
    const fx = maxH / h, fy = maxV / v;
    // 2:1 cases are filtered; full-size needs nothing; other integer ratios are replicated by
    // libjpeg too (int_upsample), which is what jpeg-js did.
    if ((fx === 2 && (fy === 1 || fy === 2)) || (fx === 1 && fy === 2)) fancyUpsample(rgb, width, height, c, fx, fy);
  });
  if (!isYCbCr(info)) return rgb;
  for (let i = 0; i < rgb.length; i += 3) {
    const y = rgb[i], cb = rgb[i + 1], cr = rgb[i + 2];
    rgb[i] = clamp8(y + CR_R[cr]);
    rgb[i + 1] = clamp8(y + ((CB_G[cb] + CR_G[cr]) >> 16));
    rgb[i + 2] = clamp8(y + CB_B[cb]);
  }
  return rgb;
}
