// The decoder's MLP with its residual and LayerNorm in one dispatch (shaders/mlp_block.wgsl), and the
// layout of its weights pack.
import { ceilDiv, grid } from '../gpu/dispatch.js';
import type { Plan } from '../gpu/plan.js';
import { kernelOf, commonDtype } from '../gpu/storage.js';
import { ANY, expectShape, type Tensor } from '../gpu/tensor.js';
import { putTransposed } from './attention_block.js';

/** Rows per workgroup (the shader's RB). */
const RB = 4;

/** Elements of the pack for dim C and hidden dim Hd. */
export const mlpPackSize = (C: number, Hd: number): number => 2 * C * Hd + Hd + 3 * C;

/** The pack mlp_block.wgsl reads, from lin1 [Hd, C] + [Hd], lin2 [C, Hd] + [C], the norm's g, beta [C]. */
export function mlpPack(w1: Float32Array, b1: Float32Array, w2: Float32Array, b2: Float32Array, g: Float32Array, beta: Float32Array, C: number, Hd: number): Float32Array {
  const out = new Float32Array(mlpPackSize(C, Hd));
  let at = putTransposed(out, 0, w1, Hd, C);
  out.set(b1, at);
  at = putTransposed(out, at + Hd, w2, C, Hd);
  for (const v of [b2, g, beta]) {
    out.set(v, at);
    at += C;
  }
  return out;
}

/**
 * LN(x + lin2(act(lin1(x)))) over the last dim of x [..., C] (act: ReLU, or none), with `pack` =
 * mlpPack(…) of hidden dim Hd. C ≤ 256.
 */
export function mlpBlock(p: Plan, x: Tensor, pack: Tensor, Hd: number, eps: number, opts: { act?: 'relu' | 'none'; label?: string } = {}): Tensor {
  const label = opts.label ?? 'mlp_block';
  const C = x.dim(-1);
  if (C > 256) throw new Error(`${label}: dim ${C} > 256`);
  expectShape(pack, [mlpPackSize(C, Hd)], `${label}: weights pack`, ANY);
  const dt = commonDtype(label, x, pack);
  const R = x.size / C;
  const y = p.temp(x.shape, label, dt);
  p.dispatch({
    shader: kernelOf('mlp_block', dt),
    constants: { ACT: opts.act === 'none' ? 0 : 1 },
    inputs: [x, pack],
    outputs: [y],
    params: { R, C, Hd, eps },
    groups: grid(ceilDiv(R, RB)),
    label,
  });
  return y;
}
