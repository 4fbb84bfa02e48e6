// Seeded random numbers for every fuzzer: each case is reproducible from (seed, index). A module of
// its own, free of side effects, so that a fuzzer's worker thread can import it.

export type Rng = () => number;

/** mulberry32 of a 32-bit seed: uniform [0, 1). */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit integer hash (lowbias32). */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * A per-case seed from the run seed and the case index. The run seed is hashed before the index
 * joins it: with `seed ^ index`, seeds that differ in low bits give the same set of cases, only
 * reordered.
 */
export function caseSeed(seed: number, index: number): number {
  return mix((mix(seed >>> 0) + Math.imul(index, 0x9e3779b9)) >>> 0);
}
