// Writing safetensors: the header is JSON padded with spaces to a multiple of 8 bytes (as the
// reference implementation does), and the tensors follow back to back in the order given.
// serializeSafetensors builds the whole file in memory; writeSafetensors streams it to a sink,
// asking for one tensor's data at a time.

import { DTYPE_SIZES, SafetensorsError, isDtype, numel, type Dtype } from './format.js';

export { f32ArrayToF16, f32ToF16 } from './half.js';

/** One tensor to write. */
export interface TensorEntry {
  name: string;
  dtype: Dtype;
  shape: readonly number[];
  data: ArrayBufferView;
}

/** One tensor to write whose data is produced only when its turn comes. */
export interface LazyTensorEntry {
  name: string;
  dtype: Dtype;
  shape: readonly number[];
  data: () => ArrayBufferView | Promise<ArrayBufferView>;
}

/** The whole file in memory. */
export function serializeSafetensors(entries: readonly TensorEntry[], metadata?: Record<string, string>): Uint8Array<ArrayBuffer> {
  const { header, dataSize } = buildHeader(entries, metadata);
  const out = new Uint8Array(header.byteLength + dataSize);
  out.set(header);
  let at = header.byteLength;
  for (const e of entries) {
    const bytes = checkedBytes(e, e.data);
    out.set(bytes, at);
    at += bytes.byteLength;
  }
  return out;
}

/**
 * Streams a file to `sink`: first the length prefix and header, then each tensor's bytes. Only
 * one tensor's data is asked for and held at a time; a chunk may view the caller's data, so the
 * sink must be done with it when its promise resolves. Resolves to the bytes written.
 */
export async function writeSafetensors(
  entries: Iterable<LazyTensorEntry>,
  sink: (chunk: Uint8Array) => Promise<void> | void,
  metadata?: Record<string, string>,
): Promise<number> {
  const list = [...entries];
  const { header, dataSize } = buildHeader(list, metadata);
  await sink(header);
  for (const e of list) await sink(checkedBytes(e, await e.data()));
  return header.byteLength + dataSize;
}

/** The 8-byte length prefix and the space-padded JSON header; the data section's size. */
function buildHeader(
  entries: readonly { name: string; dtype: Dtype; shape: readonly number[] }[],
  metadata: Record<string, string> | undefined,
): { header: Uint8Array; dataSize: number } {
  // Written by hand, not JSON.stringify of one object, which would move integer-like names first.
  const parts: string[] = [];
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(`metadata value for "${k}" is not a string`);
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  const names = new Set<string>();
  let offset = 0;
  for (const e of entries) {
    if (e.name === '__metadata__') throw new SafetensorsError('a tensor cannot be named "__metadata__"');
    if (names.has(e.name)) throw new SafetensorsError(`duplicate tensor name "${e.name}"`);
    names.add(e.name);
    const size = byteSize(e);
    parts.push(`${JSON.stringify(e.name)}:${JSON.stringify({ dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + size] })}`);
    offset += size;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const n = Math.ceil(json.byteLength / 8) * 8;
  const header = new Uint8Array(8 + n).fill(0x20, 8 + json.byteLength);
  const dv = new DataView(header.buffer);
  dv.setUint32(0, n % 2 ** 32, true);
  dv.setUint32(4, Math.floor(n / 2 ** 32), true);
  header.set(json, 8);
  return { header, dataSize: offset };
}

function byteSize(e: { name: string; dtype: Dtype; shape: readonly number[] }): number {
  if (!isDtype(e.dtype)) throw new SafetensorsError(`tensor "${e.name}": unknown dtype ${JSON.stringify(e.dtype)}`);
  if (!e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError(`tensor "${e.name}": shape [${e.shape}] is not non-negative integers`);
  }
  const n = numel(e.shape);
  const size = n * DTYPE_SIZES[e.dtype];
  if (n < 0 || !Number.isSafeInteger(size)) throw new SafetensorsError(`tensor "${e.name}": shape [${e.shape}] is too large`);
  return size;
}

function checkedBytes(e: { name: string; dtype: Dtype; shape: readonly number[] }, data: ArrayBufferView): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const size = byteSize(e);
  if (bytes.byteLength !== size) {
    throw new SafetensorsError(`tensor "${e.name}": data has ${bytes.byteLength} bytes, ${e.dtype} [${e.shape}] needs ${size}`);
  }
  return bytes;
}
