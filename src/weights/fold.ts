// Eval-mode BatchNorm folded into the convolution before it, at load time.

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
