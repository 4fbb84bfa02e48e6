// Strict safetensors reading with random access: a file is opened through a ByteSource (bytes in
// memory, a Blob / File, or a Node file handle from ./node.ts), its header is validated once, and
// each tensor read fetches only that tensor's bytes, so a 550 MB file never sits whole in memory.
// Sequential reading of a fetched stream lives in ./stream.ts and is re-exported here.

import { bf16ArrayToF32, f16ArrayToF32 } from './half.js';
import { SafetensorsError, typedArray, type TensorInfo } from './format.js';
import { DEFAULT_MAX_HEADER_BYTES, headerLengthOf, parseHeader, type HeaderLimits, type SafetensorsHeader } from './header.js';

export { DTYPE_SIZES, SafetensorsError, numel, typedArray, type Dtype, type TensorInfo } from './format.js';
export { DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_TENSORS, type HeaderLimits, type SafetensorsHeader } from './header.js';
export { bf16ArrayToF32, bf16ToF32, f16ArrayToF32, f16ToF32 } from './half.js';
export { readSafetensorsStream, type StreamOptions, type StreamTensor } from './stream.js';

/** Random-access bytes: `read` resolves to exactly `length` bytes starting at `offset`. */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Bytes already in memory. Reads are views of `u8`, not copies. */
export function bytesSource(u8: Uint8Array | ArrayBuffer): ByteSource {
  const bytes = u8 instanceof Uint8Array ? u8 : new Uint8Array(u8);
  return {
    size: bytes.byteLength,
    read: async (offset, length) => bytes.subarray(offset, offset + length),
  };
}

/** A Blob or File (browser, Deno, Node ≥ 20): each read slices the blob, loading only those bytes. */
export function blobSource(blob: Blob): ByteSource {
  return {
    size: blob.size,
    read: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()),
  };
}

export type OpenOptions = HeaderLimits;

/** One tensor's raw little-endian bytes (a view of the source's memory for bytesSource). */
export interface TensorData {
  readonly info: TensorInfo;
  readonly data: Uint8Array;
}

/** A validated safetensors file whose tensors are read on demand. */
export class SafetensorsFile {
  /** Tensors by name, in header order. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;

  private constructor(
    readonly source: ByteSource,
    readonly header: SafetensorsHeader,
  ) {
    this.tensors = new Map(header.tensors.map((t) => [t.name, t]));
    this.metadata = header.metadata;
  }

  /** Reads and validates the header (only the header's bytes are read). */
  static async open(src: ByteSource, opts: OpenOptions = {}): Promise<SafetensorsFile> {
    const size = src.size;
    if (size < 8) throw new SafetensorsError(`file is ${size} bytes, shorter than the 8-byte header length`);
    const n = headerLengthOf(await readExact(src, 0, 8, 'the header length'), opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES);
    if (n > size - 8) {
      throw new SafetensorsError(`header length ${n} runs past the end of the file (${size} bytes)`);
    }
    const header = parseHeader(await readExact(src, 8, n, 'the header'), size - 8 - n, opts.maxTensors);
    return new SafetensorsFile(src, header);
  }

  /** The tensor's place and shape; throws a SafetensorsError naming an unknown tensor. */
  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new SafetensorsError(`no tensor named "${name}" in the file`);
    return t;
  }

  /** The tensor's raw bytes. */
  async read(name: string): Promise<TensorData> {
    const info = this.info(name);
    return { info, data: await readExact(this.source, info.begin, info.byteLength, `tensor "${name}"`) };
  }

  /** The tensor as float32 values (F16 and BF16 converted exactly); other dtypes are rejected. */
  async readF32(name: string): Promise<Float32Array> {
    const info = this.info(name);
    checkFloat(info);
    return decodeF32(await this.read(name));
  }
}

type FloatInfo = TensorInfo & { readonly dtype: 'F32' | 'F16' | 'BF16' };

function checkFloat(info: TensorInfo): asserts info is FloatInfo {
  if (info.dtype !== 'F32' && info.dtype !== 'F16' && info.dtype !== 'BF16') {
    throw new SafetensorsError(`tensor "${info.name}" has dtype ${info.dtype}; readF32 converts only F32, F16 and BF16`);
  }
}

/** A fresh Float32Array of an F32, F16 or BF16 tensor's values. */
export function decodeF32({ info, data }: TensorData): Float32Array {
  checkFloat(info);
  if (info.dtype === 'F32') return typedArray('F32', data).slice();
  const bits = typedArray(info.dtype, data);
  return info.dtype === 'F16' ? f16ArrayToF32(bits) : bf16ArrayToF32(bits);
}

async function readExact(src: ByteSource, offset: number, length: number, what: string): Promise<Uint8Array> {
  const got = await src.read(offset, length);
  if (got.byteLength !== length) {
    throw new SafetensorsError(`truncated: read ${got.byteLength} of ${length} bytes of ${what} at offset ${offset}`);
  }
  return got;
}
