// The synthetic weight rule of golden/README.md: every floating tensor gets values from a hash of
// its key and flat index, so anyone can rebuild the golden fixtures' weights bit for bit without
// a weight file. Integer tensors (num_batches_tracked) are zero.

import { numel } from '../gpu/tensor.js';
import type { EntryInfo, WeightProvider } from './source.js';
import type { KeySpec } from './spec.js';

/** FNV-1a 32-bit hash of the key's UTF-8 bytes. */
export function fnv1a32(key: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(key)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** (offset, scale) by the key's last component and the shape; the first matching row wins. */
export function offsetScale(key: string, shape: readonly number[]): [number, number] {
  const last = key.slice(key.lastIndexOf('.') + 1);
  if (last === 'running_var') return [1.0, 0.5];
  if (last === 'running_mean') return [0.0, 0.1];
  if (last === 'positional_encoding_gaussian_matrix') return [0.0, 1.0];
  if (last === 'pos_embed') return [0.0, 0.1];
  if (shape.length === 1) return last === 'weight' ? [1.0, 0.1] : [0.0, 0.1];
  let fanIn = 1;
  for (const d of shape.slice(1)) fanIn *= d;
  return [0.0, 1 / Math.sqrt(fanIn)];
}

/** The synthetic float32 values of one floating tensor, in row-major order. */
export function syntheticValues(key: string, shape: readonly number[]): Float32Array {
  let n = 1;
  for (const d of shape) n *= d;
  const out = new Float32Array(n);
  const seed = fnv1a32(key);
  const [offset, scale] = offsetScale(key, shape);
  for (let i = 0; i < n; i++) {
    let x = (seed + Math.imul(i, 0x9e3779b9)) >>> 0;
    x ^= x >>> 16;
    x = Math.imul(x, 0x85ebca6b) >>> 0;
    x ^= x >>> 13;
    x = Math.imul(x, 0xc2b2ae35) >>> 0;
    x ^= x >>> 16;
    const r = 2 * ((x >>> 8) / 16777216) - 1; // exact in float64
    out[i] = Math.fround(offset + scale * r); // float64 arithmetic, rounded once
  }
  return out;
}

/** One tensor of the synthetic state_dict; `data` computes its values when called. */
export interface SyntheticTensor {
  /** The state_dict key (also `name`, for writeSafetensors). */
  key: string;
  name: string;
  dtype: 'F32' | 'I64';
  shape: number[];
  data: () => Float32Array | BigInt64Array;
}

/** Every key of `keys` with lazily computed synthetic data, in their order. */
export function* syntheticTensors(keys: readonly KeySpec[]): Generator<SyntheticTensor> {
  for (const { key, dtype, shape } of keys) {
    const n = numel(shape);
    const data = dtype === 'I64' ? () => new BigInt64Array(n) : () => syntheticValues(key, shape);
    yield { key, name: key, dtype, shape, data };
  }
}

/** A random-access source holding the synthetic values of `keys` (made when read, no file). */
export function syntheticSource(keys: readonly KeySpec[]): WeightProvider {
  const entries = new Map<string, EntryInfo>();
  for (const k of keys) entries.set(k.key, { dtype: k.dtype, shape: k.shape });
  return {
    entries,
    read: async (key) => {
      const e = entries.get(key);
      if (!e) throw new Error(`no synthetic weight '${key}'`);
      return syntheticValues(key, e.shape);
    },
  };
}
