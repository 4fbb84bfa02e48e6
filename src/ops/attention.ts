// Fused multi-head attention (shaders/attention.wgsl): the mask decoder's Attention core.
import { ceilDiv, grid } from '../gpu/dispatch.js';
import type { Plan } from '../gpu/plan.js';
import { expectShape, type Tensor } from '../gpu/tensor.js';

/** Floats per K (and V) tile in the shader; a tile holds TILE / (d + 1) keys. */
const TILE = 1280;
const WG = 64;

const nextPow2 = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

export interface AttentionOptions {
  heads: number;
  /** [B, heads, Tq, Tk], added to the scaled scores before the softmax. */
  bias?: Tensor;
  label?: string;
}

/**
 * softmax(q kᵀ / sqrt(d) + bias) v for each head, heads concatenated in the channel dim:
 * q [B, Tq, H·d], k and v [B, Tk, H·d] -> [B, Tq, H·d] (PyTorch's separate_heads, the attention
 * and recombine_heads; the q/k/v and out projections are separate Linear ops). d ≤ 64.
 */
export function attention(p: Plan, q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Tensor {
  const label = opts.label ?? 'attention';
  const H = opts.heads;
  if (q.rank !== 3) throw new Error(`${label}: q '${q.label}' has shape [${q.shape}], expected [B, Tq, C]`);
  const [B, Tq, C] = q.shape as [number, number, number];
  expectShape(k, [B, -1, C], `${label}: k`);
  const Tk = k.dim(1);
  expectShape(v, [B, Tk, C], `${label}: v`);
  if (!Number.isInteger(H) || H <= 0 || C % H !== 0) throw new Error(`${label}: ${C} channels do not split into ${H} heads`);
  const d = C / H;
  if (d > 64) throw new Error(`${label}: head dim ${d} > 64`);
  if (opts.bias) expectShape(opts.bias, [B, H, Tq, Tk], `${label}: bias`);

  // Queries per workgroup: enough to cover Tq (up to 64); the other invocations split the keys.
  let qpw = Math.min(WG, nextPow2(Tq));
  let ks = WG / qpw;
  const keysPerTile = Math.floor(TILE / (d + 1));
  while (ks > 1 && (ks > keysPerTile || ks > nextPow2(Tk))) {
    ks /= 2;
    qpw *= 2;
  }
  const nqb = ceilDiv(Tq, qpw);
  const y = p.temp([B, Tq, C], label);
  p.dispatch({
    shader: 'attention',
    constants: { HD: d, KS: ks, HAS_BIAS: opts.bias ? 1 : 0 },
    inputs: [q, k, v, opts.bias ?? q],
    outputs: [y],
    params: { B, Tq, Tk, H, C, nqb, scale: 1 / Math.sqrt(d) },
    groups: grid(B * H * nqb),
    label,
  });
  return y;
}
