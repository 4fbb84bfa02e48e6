// Seeded random numbers for the fuzzers: every case is reproducible from (seed, index).
// (bench/fuzz-safetensors.ts holds the same two functions; it cannot be imported from a fuzzer
// worker, since its module runs its own CLI when loaded inside any worker thread.)

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

/** A per-case seed from the run seed and the case index. */
export function caseSeed(seed: number, index: number): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  h = Math.imul(h ^ index, 0x01000193) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}
