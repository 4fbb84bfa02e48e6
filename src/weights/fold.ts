// Eval-mode BatchNorm folded into the convolution before it, at load time (layers.ts declares which
// conv and BatchNorm go together: Conv2d.withBatchNorm).
import { nonFiniteIndex } from '../util/finite.js';
import { WeightError } from './source.js';

export interface BatchNormParams {
  /** gamma [O] */
  weight: Float32Array;
  /** beta [O] */
  bias: Float32Array;
  /** running_mean [O] */
  mean: Float32Array;
  /** running_var [O] */
  var: Float32Array;
}

/**
 * bn(conv(x, w) + bias) as one conv: with scale = bn.weight / sqrt(bn.var + eps) per output channel,
 * w' = w · scale (w is [O, ...], each output channel contiguous) and
 * b' = (bias − bn.mean) · scale + bn.bias (bias 0 when the conv has none).
 * Computed in float64 and rounded to float32 once.
 */
export function foldBatchNorm(
  w: Float32Array,
  outChannels: number,
  bias: Float32Array | null,
  bn: BatchNormParams,
  eps: number,
): { w: Float32Array; b: Float32Array } {
  const O = outChannels;
  if (!Number.isInteger(O) || O <= 0 || w.length % O !== 0) throw new Error(`foldBatchNorm: ${w.length} weights do not split into ${O} output channels`);
  for (const [name, v] of [['bias', bias], ['bn.weight', bn.weight], ['bn.bias', bn.bias], ['bn.mean', bn.mean], ['bn.var', bn.var]] as const) {
    if (v && v.length !== O) throw new Error(`foldBatchNorm: ${name} has ${v.length} values, expected ${O}`);
  }
  const per = w.length / O;
  const wf = new Float32Array(w.length);
  const bf = new Float32Array(O);
  for (let o = 0; o < O; o++) {
    const scale = bn.weight[o]! / Math.sqrt(bn.var[o]! + eps);
    for (let i = o * per; i < (o + 1) * per; i++) wf[i] = w[i]! * scale;
    bf[o] = ((bias ? bias[o]! : 0) - bn.mean[o]!) * scale + bn.bias[o]!;
  }
  return { w: wf, b: bf };
}

/**
 * The conv weight `convKey` (shape [O, ...], no bias) with the BatchNorm `bn` folded in: [w', b'].
 * A negative variance, or a fold that overflows float32, is a WeightError naming the conv.
 */
export function foldConvBatchNorm(convKey: string, w: Float32Array, outChannels: number, bn: BatchNormParams, eps: number): [Float32Array, Float32Array] {
  for (let i = 0; i < bn.var.length; i++) {
    // sqrt(var + eps) of a negative variance is NaN: every folded value would be NaN.
    if (!(bn.var[i]! >= 0)) throw new WeightError(`the running_var of the BatchNorm after '${convKey}' holds ${bn.var[i]} at flat index ${i}; a variance cannot be negative`);
  }
  const folded = foldBatchNorm(w, outChannels, null, bn, eps);
  for (const [what, v] of [['weight', folded.w], ['bias', folded.b]] as const) {
    const i = nonFiniteIndex(v);
    if (i >= 0) throw new WeightError(`'${convKey}' folded with its BatchNorm gives a non-finite ${what} (${v[i]}) at flat index ${i}`);
  }
  return [folded.w, folded.b];
}
