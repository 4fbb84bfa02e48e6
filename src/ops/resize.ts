// Bilinear resize, F.interpolate(mode='bilinear', align_corners=False), with an optional fused
// top-left crop of the input (shaders/resize.wgsl).
import { ceilDiv, grid } from '../gpu/dispatch.js';
import type { Plan } from '../gpu/plan.js';
import { expectShape, type Tensor } from '../gpu/tensor.js';

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
  expectShape(x, [-1, -1, -1, -1], `${label}: input`);
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
  const y = p.temp([N, C, outH, outW], label);
  p.dispatch({
    shader: 'resize',
    inputs: [x],
    outputs: [y],
    params: { n: y.size, H, W, srcH, srcW, outH, outW },
    groups: grid(ceilDiv(y.size, 256)),
    label,
  });
  return y;
}
