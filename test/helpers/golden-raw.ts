// Minimal safetensors reader for the image tests only (F32 and U8 tensors by name): an 8-byte
// little-endian header length, a JSON header, then the data. The project's real loader is
// src/safetensors/read.ts; this one exists so that the image tests do not depend on it.

import { readFileSync } from 'node:fs';

export interface RawTensor {
  dtype: 'F32' | 'U8';
  shape: number[];
  data: Float32Array | Uint8Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Reads one tensor from a .safetensors file. Throws if it is absent or not F32/U8. */
export function readGoldenTensor(path: string, name: string): RawTensor {
  const file = readFileSync(path);
  const bytes = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as Record<string, HeaderEntry>;
  const entry = header[name];
  if (!entry) throw new Error(`${path}: no tensor named ${name}`);
  const [begin, end] = entry.data_offsets;
  const start = 8 + headerLen + begin;
  const slice = bytes.slice(start, 8 + headerLen + end); // copy: aligned, detached from the file buffer
  const count = entry.shape.reduce((a, b) => a * b, 1);
  if (entry.dtype === 'U8') {
    if (slice.length !== count) throw new Error(`${name}: ${slice.length} bytes for shape ${entry.shape}`);
    return { dtype: 'U8', shape: entry.shape, data: slice };
  }
  if (entry.dtype === 'F32') {
    if (slice.length !== count * 4) throw new Error(`${name}: ${slice.length} bytes for shape ${entry.shape}`);
    return { dtype: 'F32', shape: entry.shape, data: new Float32Array(slice.buffer, 0, count) };
  }
  throw new Error(`${name}: dtype ${entry.dtype} is not supported by this helper (F32, U8 only)`);
}
