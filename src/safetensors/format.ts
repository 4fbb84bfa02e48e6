// Safetensors format basics shared by the reader and the writer: the dtype table, the error
// class, element counts and typed views of raw little-endian tensor bytes.
//
// Every platform that runs WebGPU is little-endian, so typed-array views read the file's bytes
// directly; nothing here byte-swaps.

/** Every dtype this package reads or writes, with its size in bytes. */
export const DTYPE_SIZES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
} as const;

export type Dtype = keyof typeof DTYPE_SIZES;

/** A malformed, truncated or unsupported safetensors file; the message names the problem and the tensor. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

export function isDtype(s: unknown): s is Dtype {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZES, s);
}

/** prod(shape) (1 for a scalar), or -1 when it is not a safe integer. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return -1;
  }
  return n;
}

/** Where one tensor lies in a safetensors file. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** Absolute byte offset of the first byte in the file or stream. */
  readonly begin: number;
  readonly byteLength: number;
}

export type TypedArrayOf<D extends Dtype> = D extends 'F64'
  ? Float64Array
  : D extends 'F32'
    ? Float32Array
    : D extends 'I64'
      ? BigInt64Array
      : D extends 'U64'
        ? BigUint64Array
        : D extends 'I32'
          ? Int32Array
          : D extends 'U32'
            ? Uint32Array
            : D extends 'I16'
              ? Int16Array
              : D extends 'F16' | 'BF16' | 'U16'
                ? Uint16Array
                : D extends 'I8'
                  ? Int8Array
                  : Uint8Array;

/**
 * A typed view of a tensor's raw bytes (F16 and BF16 as their Uint16 bit patterns, BOOL as
 * Uint8). Views the same memory when the bytes are aligned, copies them otherwise.
 */
export function typedArray<D extends Dtype>(dtype: D, bytes: Uint8Array): TypedArrayOf<D> {
  const size = DTYPE_SIZES[dtype];
  if (bytes.byteLength % size !== 0) {
    throw new SafetensorsError(`${bytes.byteLength} bytes are not a whole number of ${dtype} elements`);
  }
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const { buffer, byteOffset } = aligned;
  const n = bytes.byteLength / size;
  const ctor = {
    F64: Float64Array,
    F32: Float32Array,
    F16: Uint16Array,
    BF16: Uint16Array,
    I64: BigInt64Array,
    I32: Int32Array,
    I16: Int16Array,
    I8: Int8Array,
    U64: BigUint64Array,
    U32: Uint32Array,
    U16: Uint16Array,
    U8: Uint8Array,
    BOOL: Uint8Array,
  }[dtype];
  return new ctor(buffer as ArrayBuffer, byteOffset, n) as TypedArrayOf<D>;
}
