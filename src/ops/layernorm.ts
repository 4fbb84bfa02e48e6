// LayerNorm over the last dim (shaders/layernorm.wgsl) and SAM's LayerNorm2d over the channels of
// an NCHW tensor, optionally fused with GELU (shaders/layernorm2d.wgsl). Both two-pass (mean, then
// the mean square deviation), like PyTorch. On a software adapter both take a barrier-free variant
// (layernorm_cpu.wgsl, layernorm2d_cpu.wgsl) where its vec4 alignment holds.
import { ceilDiv, grid } from '../gpu/dispatch.js';
import type { Plan } from '../gpu/plan.js';
import { commonDtype, kernelOf } from '../gpu/storage.js';
import { ANY, expectShape, type Tensor } from '../gpu/tensor.js';

/**
 * The kernels a LayerNorm recorded on `p` now takes: 'cpu' (one invocation per row / per 4 pixels, on
 * the plan's norm path is 'cpu' and `aligned`: C % 4 == 0, H·W % 4 == 0 for 2d; see gpu/kernels.ts) or 'tiled'
 * (workgroup reductions, the real-GPU kernels).
 */
export function normKernel(p: Plan, aligned: boolean): 'cpu' | 'tiled' {
  return aligned && p.kernels.norm === 'cpu' ? 'cpu' : 'tiled';
}

/** Lanes per row for a row-per-segment reduction: a power of two in 32..256, about the row length. */
export function lanesPerRow(n: number): number {
  let t = 32;
  while (t < 256 && t < n) t *= 2;
  return t;
}

/** nn.LayerNorm over the last dim of x [..., C] with weight g [C] and bias b [C] (all f32 or all f16; statistics in f32). */
export function layerNorm(p: Plan, x: Tensor, g: Tensor, b: Tensor, eps: number, opts: { label?: string } = {}): Tensor {
  const label = opts.label ?? 'layernorm';
  const C = x.dim(-1);
  expectShape(g, [C], `${label}: weight`, ANY);
  expectShape(b, [C], `${label}: bias`, ANY);
  const dt = commonDtype(label, x, g, b);
  const rows = x.size / C;
  const y = p.temp(x.shape, label, dt);
  if (normKernel(p, C % 4 === 0) === 'cpu') {
    p.dispatch({
      shader: kernelOf('layernorm_cpu', dt),
      inputs: [x, g, b],
      outputs: [y],
      params: { rows, C4: C / 4, eps },
      groups: grid(ceilDiv(rows, 64)),
      label,
    });
    return y;
  }
  const tpr = lanesPerRow(C);
  p.dispatch({
    shader: kernelOf('layernorm', dt, p.tuning.subgroups),
    constants: { TPR: tpr },
    inputs: [x, g, b],
    outputs: [y],
    params: { rows, C, eps },
    groups: grid(ceilDiv(rows, 256 / tpr)),
    label,
  });
  return y;
}

/**
 * Pixels per workgroup of layernorm2d: as many as still leave ~256 workgroups (coalesced runs of
 * 16..64 pixels), then more while the 256 / PX channel slices outnumber the channels.
 */
export function pixelsPerGroup(N: number, C: number, HW: number): number {
  let px = 64;
  while (px > 16 && N * ceilDiv(HW, px) < 256) px /= 2;
  while (px < 256 && 256 / px > C) px *= 2;
  return px;
}

/** SAM's LayerNorm2d over the channels of x [N, C, H, W], then GELU when act = 'gelu'. */
export function layerNorm2d(
  p: Plan,
  x: Tensor,
  g: Tensor,
  b: Tensor,
  eps: number,
  opts: { act?: 'none' | 'gelu'; label?: string } = {},
): Tensor {
  const label = opts.label ?? 'layernorm2d';
  expectShape(x, [-1, -1, -1, -1], `${label}: input`, ANY);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  expectShape(g, [C], `${label}: weight`, ANY);
  expectShape(b, [C], `${label}: bias`, ANY);
  const dt = commonDtype(label, x, g, b);
  const HW = H * W;
  if (normKernel(p, HW % 4 === 0) === 'cpu') {
    const y = p.temp(x.shape, label, dt);
    const total = N * (HW / 4);
    p.dispatch({
      shader: kernelOf('layernorm2d_cpu', dt),
      constants: { ACT: opts.act === 'gelu' ? 1 : 0 },
      inputs: [x, g, b],
      outputs: [y],
      params: { total, C, HW4: HW / 4, eps },
      groups: grid(ceilDiv(total, 64)),
      label,
    });
    return y;
  }
  const px = pixelsPerGroup(N, C, HW);
  const blocks = ceilDiv(HW, px);
  const total = N * blocks;
  const y = p.temp(x.shape, label, dt);
  p.dispatch({
    shader: kernelOf('layernorm2d', dt),
    constants: { PX: px },
    inputs: [x, g, b],
    outputs: [y],
    params: { C, HW, blocks, total, eps, act: opts.act === 'gelu' ? 1 : 0 },
    groups: grid(total),
    label,
  });
  return y;
}
