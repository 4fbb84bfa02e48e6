// Safetensors weight sources: a file read tensor by tensor (random access), or a stream (a download,
// a File, a Node file stream) read once in file order.
import { byOffset, type SafetensorsHeader } from '../safetensors/header.js';
import { decodeF32, readSafetensorsStream, SafetensorsError, SafetensorsFile, type StreamTensor, type TensorInfo } from '../safetensors/read.js';
import { dequantizeQ8, q8Entries, q8Pairs } from './q8.js';
import type { EntryInfo, PushedTensor, WeightProvider } from './source.js';

/**
 * An open safetensors file as a random-access source (one tensor read per read()). Block-quantised
 * int8 tensors (q8.ts) are dequantised as they are read.
 */
export function safetensorsWeights(file: SafetensorsFile): WeightProvider {
  const raw = new Map<string, EntryInfo>();
  for (const [name, t] of file.tensors) raw.set(name, { dtype: t.dtype, shape: t.shape });
  const pairs = q8Pairs(raw);
  return {
    entries: q8Entries(raw, pairs),
    read: async (key) => {
      const sk = pairs.get(key);
      if (!sk) return file.readF32(key);
      const { data } = await file.read(key);
      return dequantizeQ8(key, new Int8Array(data.buffer, data.byteOffset, data.byteLength), await file.readF32(sk), raw.get(key)!.shape);
    },
  };
}

/** Progress of a sequential read: bytes so far and the tensor whose bytes are arriving. */
export interface StreamProgress {
  bytesRead: number;
  /** The source's size when known (a Content-Length, a Blob's size). */
  bytesTotal?: number;
  /** The tensor being received; null while the header is read or after the last tensor. */
  tensor: string | null;
}

export interface StreamWeightsOptions {
  /** Total length when known: offsets past it are rejected up front and progress has a total. */
  size?: number;
  /** Called after every chunk of the stream. */
  onProgress?: (p: StreamProgress) => void;
  /** Largest accepted JSON header, in bytes (default 100 MiB). */
  maxHeaderBytes?: number;
}

/** A WeightProvider over a safetensors stream: `tensors()` yields each tensor once, in file order. */
export interface StreamWeightProvider extends WeightProvider {
  tensors(): AsyncIterable<PushedTensor>;
  readonly header: SafetensorsHeader;
  /** The file's size as its header implies (end of the last tensor). */
  readonly impliedSize: number;
  /** Cancels the stream; for a source whose tensors() is never read (e.g. loading failed early). */
  cancel(): Promise<void>;
}

/** Float32 values of a streamed tensor; an F32 tensor's own buffer is viewed, not copied. */
function streamedF32(t: StreamTensor): Float32Array {
  const { info, data } = t;
  if (info.dtype === 'F32' && data.byteOffset % 4 === 0) return new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4);
  return decodeF32({ info, data });
}

/**
 * Opens a safetensors byte stream (a fetch body, `blob.stream()`, a Node file stream) as weights.
 * Resolves once the header is in (it names every tensor, so the loader can check the key
 * set before any weight arrives). The tensors are then read once, in file order, as the loader
 * asks for them: only the tensor being assembled is held in memory, never the whole file.
 *
 *   const model = await SamUnet.load(gpu, await streamWeights((await fetch(url)).body!, { size }));
 */
export async function streamWeights(stream: ReadableStream<Uint8Array>, opts: StreamWeightsOptions = {}): Promise<StreamWeightProvider> {
  let ordered: TensorInfo[] = [];
  let at = 0; // index in `ordered` of the tensor whose bytes arrive next
  const gen = readSafetensorsStream(stream, {
    size: opts.size,
    maxHeaderBytes: opts.maxHeaderBytes,
    onHeader: (h) => (ordered = byOffset(h.tensors)),
    onProgress: (bytesRead, bytesTotal) => {
      if (!opts.onProgress) return;
      while (at < ordered.length && ordered[at]!.begin + ordered[at]!.byteLength <= bytesRead) at++;
      opts.onProgress({ bytesRead, bytesTotal, tensor: ordered.length && at < ordered.length ? ordered[at]!.name : null });
    },
  });
  // The first step reads the header (and the first tensor, kept for the loader).
  const first = await gen.next();
  const header = first.done ? null : first.value.header;
  if (!header) {
    throw new SafetensorsError('the stream holds no tensors');
  }
  const raw = new Map<string, EntryInfo>();
  for (const t of header.tensors) raw.set(t.name, { dtype: t.dtype, shape: t.shape });
  const pairs = q8Pairs(raw);
  const entries = q8Entries(raw, pairs);
  const q8 = q8Stream(pairs, raw);
  const impliedSize = ordered.reduce((m, t) => Math.max(m, t.begin + t.byteLength), header.dataStart);
  let started = false;
  async function* tensors(): AsyncGenerator<PushedTensor> {
    if (started) throw new Error('a streamed weight source can be read only once');
    started = true;
    try {
      let item: IteratorResult<StreamTensor, void> = first;
      while (!item.done) {
        const t = item.value;
        if (pairs.size) yield* q8.take(t);
        else yield { key: t.info.name, values: () => streamedF32(t), bytesRead: t.bytesRead };
        item = await gen.next();
      }
    } finally {
      await gen.return(undefined); // cancels the stream when the loader stops early
    }
  }
  return {
    entries,
    header,
    impliedSize,
    size: opts.size,
    tensors,
    cancel: async () => void (await gen.return(undefined)),
    read: async (key) => {
      throw new Error(`streamed weights are read in file order through tensors(), not by key ('${key}')`);
    },
  };
}

/**
 * Pairs a q8 tensor with its scales as they stream by, in whichever order the file has them: the
 * one that comes first waits (a scales tensor is small; int8 values wait as int8).
 */
function q8Stream(pairs: ReadonlyMap<string, string>, raw: ReadonlyMap<string, EntryInfo>) {
  const owner = new Map([...pairs].map(([k, sk]) => [sk, k]));
  const scales = new Map<string, Float32Array>();
  const values = new Map<string, Int8Array>();
  const done = (key: string, q: Int8Array, s: Float32Array, bytesRead: number): PushedTensor => {
    scales.delete(key);
    values.delete(key);
    return { key, values: () => dequantizeQ8(key, q, s, raw.get(key)!.shape), bytesRead };
  };
  return {
    *take(t: StreamTensor): Generator<PushedTensor> {
      const name = t.info.name;
      const of = owner.get(name);
      if (of !== undefined) {
        const s = decodeF32(t);
        const q = values.get(of);
        if (q) yield done(of, q, s, t.bytesRead);
        else scales.set(of, s);
      } else if (pairs.has(name)) {
        const q = new Int8Array(t.data.byteLength);
        q.set(new Int8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
        const s = scales.get(name);
        if (s) yield done(name, q, s, t.bytesRead);
        else values.set(name, q);
      } else yield { key: name, values: () => streamedF32(t), bytesRead: t.bytesRead };
    },
  };
}

/** A File or Blob as streamed weights (its size gives the progress total). */
export function blobWeights(blob: Blob, opts: Omit<StreamWeightsOptions, 'size'> = {}): Promise<StreamWeightProvider> {
  return streamWeights(blob.stream() as ReadableStream<Uint8Array>, { ...opts, size: blob.size });
}
