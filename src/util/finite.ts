// The one finite-value scan: weights, the encoder input, mask prompts and logits all use it, each
// with its own error naming what holds the bad value.

/** Index of the first NaN or ±Infinity in `v`, or -1 when every value is finite. */
export function nonFiniteIndex(v: ArrayLike<number>): number {
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) return i;
  }
  return -1;
}
