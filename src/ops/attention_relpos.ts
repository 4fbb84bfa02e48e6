// SAM image-encoder attention with decomposed relative-position bias, windowed or global
// (shaders/attention_relpos.wgsl; on software adapters shaders/attention_relpos_cpu.wgsl):
// everything between the qkv Linear and the proj Linear of a ViT block, including the window
// padding / partition / unpartition.
import { ceilDiv, grid } from '../gpu/dispatch.js';
import type { Plan } from '../gpu/plan.js';
import { expectShape, type Tensor } from '../gpu/tensor.js';

/** Real queries per workgroup in the shader (attention_relpos.wgsl; attention_relpos_cpu.wgsl: 128). */
const QPW = 16;
const QPW_CPU = 128;

/** Largest window side the shader's workgroup arrays hold. */
const WSMAX = 32;

export interface AttentionRelPosOptions {
  heads: number;
  /** S: the token grid is S×S. */
  size: number;
  /** ws: the window side (14 for windowed blocks), or S for global attention. */
  window: number;
  label?: string;
}

/**
 * The kernel attentionRelPos records on `p` now for head dim d: 'cpu' (attention_relpos_cpu.wgsl, on a
 * plan's attention path is 'cpu' and d % 4 == 0; see gpu/kernels.ts) or 'tiled' (attention_relpos.wgsl).
 */
export function attentionRelPosKernel(p: Plan, d: number): 'cpu' | 'tiled' {
  return d % 4 === 0 && p.kernels.attention === 'cpu' ? 'cpu' : 'tiled';
}

/**
 * Upstream `Attention.forward` (use_rel_pos) without the proj Linear, run on each ws×ws window of
 * the zero-padded S×S grid as `Block.forward` does (window_partition / window_unpartition):
 *   qkv      [B, S·S, 3·C]  the qkv Linear's output for the real tokens (row-major y·S+x),
 *                           channels (3, heads, d)
 *   qkvBias  [3·C]          the qkv Linear's bias: the q, k, v of a padded token
 *   relPosH, relPosW [2·ws−1, d]
 * -> [B, S·S, C], heads concatenated, in token order y·S+x. d ≤ 64, ws ≤ 32.
 */
export function attentionRelPos(
  p: Plan,
  qkv: Tensor,
  qkvBias: Tensor,
  relPosH: Tensor,
  relPosW: Tensor,
  opts: AttentionRelPosOptions,
): Tensor {
  const label = opts.label ?? 'attention_relpos';
  const { heads: H, size: S, window: ws } = opts;
  if (!Number.isInteger(S) || S <= 0 || !Number.isInteger(ws) || ws <= 0) throw new Error(`${label}: bad size ${S} / window ${ws}`);
  if (ws > WSMAX) throw new Error(`${label}: window ${ws} > ${WSMAX}`);
  if (qkv.rank !== 3) throw new Error(`${label}: qkv '${qkv.label}' has shape [${qkv.shape}], expected [B, S·S, 3·C]`);
  const [B, T, C3] = qkv.shape as [number, number, number];
  if (T !== S * S) throw new Error(`${label}: qkv has ${T} tokens, expected ${S}×${S}`);
  if (C3 % 3 !== 0) throw new Error(`${label}: qkv has ${C3} channels, not 3·C`);
  const C = C3 / 3;
  if (!Number.isInteger(H) || H <= 0 || C % H !== 0) throw new Error(`${label}: ${C} channels do not split into ${H} heads`);
  const d = C / H;
  if (d > 64) throw new Error(`${label}: head dim ${d} > 64`);
  expectShape(qkvBias, [C3], `${label}: qkvBias`);
  expectShape(relPosH, [2 * ws - 1, d], `${label}: relPosH`);
  expectShape(relPosW, [2 * ws - 1, d], `${label}: relPosW`);

  // Software adapters: the CPU-shaped kernel (see its header), which reads vec4 along d.
  const cpu = attentionRelPosKernel(p, d) === 'cpu';
  const qpw = cpu ? QPW_CPU : QPW;
  // Blocks of qpw real queries, window by window (the shader walks the same list).
  const nw = ceilDiv(S, ws);
  let nblk = 0;
  for (let wy = 0; wy < nw; wy++) {
    for (let wx = 0; wx < nw; wx++) {
      nblk += ceilDiv(Math.min(ws, S - wy * ws) * Math.min(ws, S - wx * ws), qpw);
    }
  }
  const y = p.temp([B, T, C], label);
  const common = { constants: { HD: d }, inputs: [qkv, qkvBias, relPosH, relPosW], outputs: [y], groups: grid(B * H * nblk), label };
  const params = { B, S, ws, H, C, nw, nblk, scale: d ** -0.5 };
  if (cpu) p.dispatch({ shader: 'attention_relpos_cpu', ...common, params: { ...params, d4: d / 4 } });
  else p.dispatch({ shader: 'attention_relpos', ...common, params });
  return y;
}
