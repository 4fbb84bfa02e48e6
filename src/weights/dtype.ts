// How a weight's float32 values are stored on the GPU in each tensor dtype (DType, gpu/tensor.ts).
// 'f16' ("f16 weights, f32 accumulation"): IEEE binary16, rounded on the CPU to nearest even with
// subnormals kept, packed two per word; a value beyond ±65504 is an error naming the tensor.
import type { DType } from '../gpu/tensor.js';
import { f32ArrayToF16 } from '../safetensors/half.js';
import { WeightError } from './source.js';

/** The largest finite binary16 value. */
export const F16_MAX = 65504;

/**
 * `values` rounded to IEEE binary16 (nearest, ties to even; subnormals kept, values below half the
 * smallest subnormal become ±0) and packed two per word, element e in bits 16·(e % 2) .. of word
 * e / 2 (an odd count is padded with a zero). A value beyond ±F16_MAX (which would become ±Inf) or
 * NaN is a WeightError naming `key` and the index.
 */
export function toF16Words(key: string, values: Float32Array): Uint32Array<ArrayBuffer> {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(Math.abs(v) <= F16_MAX)) {
      throw new WeightError(`weight '${key}' holds ${v} at flat index ${i}, outside float16's finite range (±${F16_MAX}); load it with precision 'f32'`);
    }
  }
  const words = new Uint32Array(Math.ceil(values.length / 2));
  f32ArrayToF16(values, new Uint16Array(words.buffer, 0, values.length));
  return words;
}

/** The bytes to upload for weight `key` held as `dtype`. */
export function encodeWeight(dtype: DType, key: string, values: Float32Array): Float32Array | Uint32Array {
  return dtype === 'f16' ? toF16Words(key, values) : values;
}
