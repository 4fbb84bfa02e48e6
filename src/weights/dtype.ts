// How a weight's float32 values are stored on the GPU in each tensor dtype (DType, gpu/tensor.ts).
// 'f16' ("f16 weights, f32 accumulation"): IEEE binary16, rounded on the CPU to nearest even with
// subnormals kept, packed two per word; a value beyond ±65504 is an error naming the tensor.
import type { DType } from '../gpu/tensor.js';
import { f32ArrayToF16 } from '../safetensors/half.js';
import { Q8_BLOCK, quantizeQ8 } from './q8.js';
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

/**
 * `values` as GPU q8 blocks (shaders/_q8_load.wgsl): q8_0 of each 32 consecutive values (q8.ts),
 * 8 words of int8 then one word holding the binary16 scale. The count must be a multiple of 32 (a
 * linear weight whose in_features is). Quantising a q8 file's dequantised values gives back its
 * int8 values and scales exactly (each nonzero block's largest |q| is 127, so d is recovered).
 */
export function toQ8Words(key: string, values: Float32Array): Uint32Array<ArrayBuffer> {
  if (values.length % Q8_BLOCK !== 0) throw new WeightError(`weight '${key}': ${values.length} values are not whole q8 blocks of ${Q8_BLOCK}`);
  const nb = values.length / Q8_BLOCK;
  const { q, scales } = quantizeQ8(key, values, [nb, Q8_BLOCK]);
  const words = new Uint32Array(nb * 9);
  const qw = new Uint32Array(q.buffer, q.byteOffset, q.length / 4);
  for (let b = 0; b < nb; b++) {
    words.set(qw.subarray(8 * b, 8 * b + 8), 9 * b);
    words[9 * b + 8] = scales[b]!;
  }
  return words;
}

/** The bytes to upload for weight `key` held as `dtype`. */
export function encodeWeight(dtype: DType, key: string, values: Float32Array): Float32Array | Uint32Array {
  return dtype === 'f16' ? toF16Words(key, values) : dtype === 'q8' ? toQ8Words(key, values) : values;
}
