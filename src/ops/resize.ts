// Bilinear resize, F.interpolate(mode='bilinear', align_corners=False), with an optional fused
// top-left crop of the input (shaders/resize.wgsl).
import { ceilDiv, grid } from '../gpu/dispatch.js';
import type { Plan } from '../gpu/plan.js';
import { kernelOf } from '../gpu/storage.js';
import { ANY, expectShape, type Tensor } from '../gpu/tensor.js';

/**
 * Resizes x [N, C, H, W] to [N, C, outH, outW]. With srcH / srcW, only the top-left srcH×srcW
 * region of x is the image being resized (x[..., :srcH, :srcW] in PyTorch), with no copy.
 */
export function resizeBilinear(
  p: Plan,
  x: Tensor,
  outH: number,
  outW: number,
  opts: { srcH?: number; srcW?: number; label?: string } = {},
): Tensor {
  const label = opts.label ?? 'resize';
  expectShape(x, [-1, -1, -1, -1], `${label}: input`, ANY);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const srcH = opts.srcH ?? H;
  const srcW = opts.srcW ?? W;
  for (const [name, v, hi] of [['srcH', srcH, H], ['srcW', srcW, W]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > hi) throw new Error(`${label}: ${name} = ${v} is outside 1..${hi}`);
  }
  // The shader evaluates in·(2·dst + 1) − out in i32.
  if (srcH * (2 * outH - 1) >= 2 ** 31 || srcW * (2 * outW - 1) >= 2 ** 31) {
    throw new Error(`${label}: sizes ${srcH}×${srcW} -> ${outH}×${outW} are too large`);
  }
  const y = p.temp([N, C, outH, outW], label, x.dtype);
  p.dispatch({
    shader: kernelOf('resize', x.dtype),
    inputs: [x],
    outputs: [y],
    params: { n: y.size, H, W, srcH, srcW, outH, outW },
    groups: grid(ceilDiv(y.size, 256)),
    label,
  });
  return y;
}

/**
 * SAM_UNET.postprocess_masks in one dispatch (shaders/postprocess_masks.wgsl): x [N, C, h, w] resized
 * bilinearly to mid×mid, cropped to its top-left cropH×cropW, resized to outH×outW, as the two
 * resizes compute it (without the intermediate image).
 */
export function postprocessMasks(
  p: Plan,
  x: Tensor,
  mid: number,
  crop: { h: number; w: number },
  out: { h: number; w: number },
  label = 'postprocess_masks',
): Tensor {
  expectShape(x, [-1, -1, -1, -1], `${label}: input`, ANY);
  const [N, C, lowH, lowW] = x.shape as [number, number, number, number];
  for (const [name, v] of [['crop height', crop.h], ['crop width', crop.w]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > mid) throw new Error(`${label}: ${name} ${v} is outside 1..${mid}`);
  }
  for (const [i, o] of [[lowH, mid], [lowW, mid], [crop.h, out.h], [crop.w, out.w]] as const) {
    if (!Number.isInteger(o) || o < 1 || i * (2 * o - 1) >= 2 ** 31) throw new Error(`${label}: sizes ${i} -> ${o} are not possible`);
  }
  const y = p.temp([N, C, out.h, out.w], label, x.dtype);
  p.dispatch({
    shader: kernelOf('postprocess_masks', x.dtype),
    inputs: [x],
    outputs: [y],
    params: { n: y.size, lowH, lowW, midH: mid, midW: mid, cropH: crop.h, cropW: crop.w, outH: out.h, outW: out.w },
    groups: grid(ceilDiv(y.size, 256)),
    label,
  });
  return y;
}
