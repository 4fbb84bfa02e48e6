// Fuzzing the weight-file path: hostile safetensors files must end in a named error
// (SafetensorsError, or WeightError for a well-formed file that is not a valid model) or load
// correctly; never another exception, never a hang, never a read or allocation out of proportion
// to the file.
//
// Two parts:
//  - Container cases: small valid safetensors files (random dtypes, shapes, names, metadata)
//    mutated in one of ~30 ways (length prefix, JSON text, dtype / shape / offset edits, truncation,
//    huge headers, huge tensor counts, deep nesting, random bytes, …). Each goes through
//    SafetensorsFile.open + reading every tensor (raw and as float32), through a ByteSource that
//    records every read, and through readSafetensorsStream; the two readers must agree.
//  - Semantic cases (every `semanticEvery`-th case): the full res34 key set as an in-memory
//    WeightProvider with one thing wrong (a key missing or renamed, a shape or dtype changed, a
//    NaN / Inf / negative variance, a provider returning the wrong array, …) loaded by
//    ModelWeights.load onto a stub GPU device. Every such mutation must be rejected with a
//    WeightError; the unmutated and harmless ones (F16 / BF16 dtypes, an extra key) must load.
//
// Run it (10000 cases by default; compiled with tsc into node_modules/.cache/fuzz):
//   npm run fuzz:safetensors -- [--cases N] [--seed S] [--timeout-ms T]
// or through vitest: FUZZ_CASES=10000 npx vitest run test/fuzz/safetensors.test.ts
// The CLI runs the cases in a worker thread and kills it if a case stops making progress (a
// synchronous hang), naming the case; every case is reproducible from (seed, index).

import { ModelWeights, WeightError, type WeightProvider } from '../../src/model/weights.js';
import { modelKeys } from '../../src/model/keys.js';
import type { Gpu } from '../../src/gpu/device.js';
import {
  DEFAULT_MAX_HEADER_BYTES, DTYPE_SIZES, SafetensorsError, SafetensorsFile, readSafetensorsStream, typedArray, type Dtype,
} from '../../src/safetensors/read.js';
import { serializeSafetensors, type TensorEntry } from '../../src/safetensors/write.js';
import {
  describeError, flipBits, formatTally, fuzzCli, heapNow, int, isFuzzEntry, join, logUniform, messageClass, mib, newReadStats, newTally, pick,
  randomBytes, rng, caseSeed, tally, trackedSource, withTimeout, type Rng, type RunOptions, type Tally,
} from './common.js';

export { caseSeed, messageClass, rng, trackedSource, type ReadStats, type Rng } from './common.js';

// ---------------------------------------------------------------- valid base files

const DTYPES = Object.keys(DTYPE_SIZES) as Dtype[];
const NAME_PARTS = ['w', 'bias', 'layer.0.weight', 'a/b', 'ünï', 'x"q', 'back\\slash', '0', '12', 'emoji😀', ' ', 'tab\t', '__meta', 'constructor', '__proto__'];

interface Base {
  bytes: Uint8Array;
  entries: TensorEntry[];
}

function baseFile(r: Rng): Base {
  const count = int(r, 0, 6);
  const entries: TensorEntry[] = [];
  const names = new Set<string>();
  for (let i = 0; i < count; i++) {
    let name = pick(r, NAME_PARTS) + (r() < 0.7 ? `.${i}` : '');
    if (names.has(name)) name += `#${i}`;
    names.add(name);
    const dtype = pick(r, DTYPES);
    const rank = int(r, 0, 3);
    const shape = Array.from({ length: rank }, () => (r() < 0.08 ? 0 : int(r, 1, 5)));
    const n = shape.reduce((a, b) => a * b, 1);
    const data = randomBytes(r, n * DTYPE_SIZES[dtype]);
    entries.push({ name, dtype, shape, data });
  }
  const metadata = r() < 0.4 ? { format: 'pt', note: pick(r, ['', 'x', 'ünï', '"q"']) } : undefined;
  return { bytes: serializeSafetensors(entries, metadata), entries };
}

/** The 8-byte prefix, the header text and the data section of a valid file. */
function split(bytes: Uint8Array): { header: string; data: Uint8Array } {
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  return { header: new TextDecoder().decode(bytes.subarray(8, 8 + n)), data: bytes.subarray(8 + n) };
}

function u64le(n: number | bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(n)), true);
  return out;
}

/** A file from header bytes and data, with the true length prefix unless `length` is given. */
function assemble(header: Uint8Array | string, data: Uint8Array, length?: number | bigint): Uint8Array {
  const h = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  return join(u64le(length ?? h.byteLength), h, data);
}

// ---------------------------------------------------------------- mutations

export interface FuzzCase {
  mutation: string;
  bytes: Uint8Array;
  /** 'ok' when the mutation keeps the file valid (a rejection is then a failure too). */
  expect?: 'ok';
}

type Json = Record<string, unknown>;
const JSON_CHARS = ['{', '}', '[', ']', '"', ',', ':', '\\', ' ', '\n', '0', '-', '1e999', 'null', 'true', '\u0000', 'é'];
const BAD_DTYPES: unknown[] = ['f32', 'F8_E4M3', 'F32 ', '', 'FLOAT', 'Q4', 32, null, true, ['F32'], { F32: 1 }, 'BF16\u0000', '__proto__', 'toString'];
const BAD_NUMBERS: unknown[] = [-1, 1.5, -0.5, 2 ** 53, 2 ** 64, 1e300, -1e300, '3', null, true, [], {}, NaN, 4294967296, 2 ** 31];

/** Edits the parsed header object; returns the mutation name. */
function editJson(r: Rng, h: Json, dataLen: number): string {
  const tensorNames = Object.keys(h).filter((k) => k !== '__metadata__');
  const name = tensorNames.length ? pick(r, tensorNames) : null;
  const entry = name ? (h[name] as Json) : null;
  const kind = pick(r, ['dtype', 'shape', 'shape', 'offsets', 'offsets', 'offsets', 'fields', 'metadata', 'names', 'claims'] as const);
  if (!entry && kind !== 'metadata' && kind !== 'names') {
    // No tensor to edit: add a bogus one.
    h[`t${int(r, 0, 9)}`] = { dtype: pick(r, BAD_DTYPES), shape: [int(r, -2, 4)], data_offsets: [0, int(r, -4, 1000)] };
    return 'json-add-tensor';
  }
  switch (kind) {
    case 'dtype': {
      const e = entry!;
      if (r() < 0.5) e.dtype = pick(r, BAD_DTYPES);
      else e.dtype = pick(r, DTYPES); // a valid dtype of another size: lengths then disagree (or not)
      return 'json-dtype';
    }
    case 'shape': {
      const e = entry!;
      const shape = [...((e.shape as number[]) ?? [])];
      const op = int(r, 0, 6);
      if (op === 0 && shape.length) shape[int(r, 0, shape.length - 1)] = pick(r, BAD_NUMBERS) as number;
      else if (op === 1) shape.push(int(r, 0, 3));
      else if (op === 2) shape.pop();
      else if (op === 3) e.shape = pick(r, [null, 'x', 3, {}, [[1]], [1, [2]]]);
      else if (op === 4) e.shape = [2 ** 26, 2 ** 26, 2 ** 26]; // numel overflows 2^53
      else if (op === 5) e.shape = [0, 2 ** 52];
      else shape.reverse();
      if (op <= 2 || op === 6) e.shape = shape;
      return 'json-shape';
    }
    case 'offsets': {
      const e = entry!;
      const [b, en] = (e.data_offsets as number[]) ?? [0, 0];
      const op = int(r, 0, 9);
      if (op === 0) e.data_offsets = [en, b];
      else if (op === 1) e.data_offsets = [b, en + int(r, 1, 64)];
      else if (op === 2) e.data_offsets = [b + dataLen, en + dataLen];
      else if (op === 3) e.data_offsets = [pick(r, BAD_NUMBERS), en];
      else if (op === 4) e.data_offsets = [b, pick(r, BAD_NUMBERS)];
      else if (op === 5) e.data_offsets = pick(r, [[b], [b, en, en], [], null, 'x', { 0: b, 1: en }]);
      else if (op === 6 && tensorNames.length > 1) {
        // overlap another tensor exactly or partly
        const other = h[pick(r, tensorNames.filter((n) => n !== name))] as Json;
        const [ob] = (other.data_offsets as number[]) ?? [0, 0];
        e.data_offsets = [ob + int(r, 0, 2), ob + int(r, 0, 2) + (en - b)];
      } else if (op === 7) e.data_offsets = [b - 1, en - 1];
      else if (op === 8) e.data_offsets = [2 ** 53 - 8, 2 ** 53];
      else e.data_offsets = [b + 1, en + 1];
      return 'json-offsets';
    }
    case 'fields': {
      const e = entry!;
      const op = int(r, 0, 3);
      if (op === 0) delete e[pick(r, ['dtype', 'shape', 'data_offsets'])];
      else if (op === 1) e[pick(r, ['extra', 'DTYPE', '__proto__', 'offsets'])] = pick(r, [1, 'x', null, { a: 1 }]);
      else if (op === 2) h[name!] = pick(r, [null, 1, 'x', [], true, [entry]]);
      else h[name!] = {};
      return 'json-fields';
    }
    case 'metadata': {
      h.__metadata__ = pick(r, [null, 1, 'x', [], { a: 1 }, { a: null }, { a: { b: 'c' } }, { a: ['x'] }, { '': '' }, { __proto__: 'x' }, { a: 'b'.repeat(int(r, 0, 5000)) }]);
      return 'json-metadata';
    }
    case 'names': {
      const fresh = pick(r, ['', '__metadata__', '__proto__', 'constructor', 'x'.repeat(int(r, 1, 100000)), '\ud800', 'a\u0000b', '😀'.repeat(50)]);
      if (name) {
        h[fresh] = h[name];
        if (fresh !== name) delete h[name];
      } else h[fresh] = { dtype: 'F32', shape: [0], data_offsets: [0, 0] };
      return 'json-names';
    }
    default: {
      // A tensor that claims far more data than the file has (consistent with its own shape).
      const e = entry!;
      const dims = [int(r, 1, 1 << 16), int(r, 1, 1 << 16), int(r, 1, 64)];
      e.dtype = 'F32';
      e.shape = dims;
      e.data_offsets = [0, dims.reduce((a, b) => a * b, 4)];
      return 'json-huge-claim';
    }
  }
}

/** Serialises `h` keeping key order (JSON.stringify moves integer-like keys first; rebuild by hand). */
function stringifyOrdered(h: Json): string {
  return `{${Object.keys(h).map((k) => `${JSON.stringify(k)}:${JSON.stringify(h[k])}`).join(',')}}`;
}

function deepNest(depth: number, open: string, close: string, inner = '1'): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

/** One fuzz case: a mutated file, deterministic in (seed, index). */
export function makeCase(seed: number, index: number): FuzzCase {
  const r = rng(caseSeed(seed, index));
  const base = baseFile(r);
  const { header, data } = split(base.bytes);
  const size = base.bytes.byteLength;
  const roll = r() * 100;
  let acc = 0;
  const when = (p: number) => roll < (acc += p);

  if (when(5)) return { mutation: 'valid', bytes: base.bytes, expect: 'ok' };
  if (when(3)) return { mutation: 'append-bytes', bytes: join(base.bytes, randomBytes(r, int(r, 1, 64))), expect: 'ok' };
  if (when(4)) {
    const b = base.bytes.slice();
    const start = base.bytes.byteLength - data.byteLength;
    if (b.byteLength > start) for (let k = int(r, 1, 8); k > 0; k--) b[int(r, start, b.byteLength - 1)] = (r() * 256) | 0;
    return { mutation: 'data-bytes', bytes: b, expect: 'ok' };
  }
  if (when(6)) {
    const n = pick(r, [0, 1, 2, 7, header.length - 1, header.length + 1, size - 8, size - 7, size, 2 ** 32, 2 ** 32 + header.length, 2 ** 53, DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_HEADER_BYTES + 1]);
    return { mutation: 'length-edge', bytes: assemble(header, data, n) };
  }
  if (when(2)) return { mutation: 'length-u64-max', bytes: assemble(header, data, 2n ** 64n - 1n - BigInt(int(r, 0, 3))) };
  if (when(3)) return { mutation: 'length-random', bytes: assemble(header, data, int(r, 0, size * 2)) };
  if (when(7)) return { mutation: 'truncate', bytes: base.bytes.slice(0, int(r, 0, Math.max(0, size - 1))) };
  if (when(8)) {
    const b = base.bytes.slice();
    const end = base.bytes.byteLength - data.byteLength;
    for (let k = int(r, 1, 4); k > 0; k--) b[int(r, 8, end - 1)] = (r() * 256) | 0;
    return { mutation: 'header-bytes', bytes: b };
  }
  if (when(8)) {
    let t = header;
    for (let k = int(r, 1, 3); k > 0; k--) {
      const at = int(r, 0, t.length);
      const op = int(r, 0, 2);
      if (op === 0) t = t.slice(0, at) + pick(r, JSON_CHARS) + t.slice(at);
      else if (op === 1) t = t.slice(0, at) + t.slice(at + int(r, 1, 4));
      else t = t.slice(0, at) + pick(r, JSON_CHARS) + t.slice(at + 1);
    }
    return { mutation: 'header-chars', bytes: assemble(t, data) };
  }
  if (when(4)) {
    const a = int(r, 0, header.length);
    const b = int(r, a, Math.min(header.length, a + 64));
    const at = int(r, 0, header.length);
    const t = r() < 0.5 ? header.slice(0, at) + header.slice(a, b) + header.slice(at) : header.slice(0, a) + header.slice(b);
    return { mutation: 'header-splice', bytes: assemble(t, data) };
  }
  if (when(3)) {
    const enc = new TextEncoder().encode(header);
    const bad = pick(r, [[0xef, 0xbb, 0xbf], [0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80]]);
    const at = pick(r, [0, int(r, 0, enc.length)]);
    return { mutation: 'header-utf8', bytes: assemble(join(enc.subarray(0, at), Uint8Array.from(bad), enc.subarray(at)), data) };
  }
  if (when(36)) {
    const h = JSON.parse(header) as Json;
    const m = editJson(r, h, data.byteLength);
    return { mutation: m, bytes: assemble(stringifyOrdered(h), data) };
  }
  if (when(3)) {
    // Duplicate keys, at the top level or inside an entry (JSON.parse would silently keep the last).
    const h = JSON.parse(header) as Json;
    const names = Object.keys(h);
    let t: string;
    if (names.length && r() < 0.6) {
      const k = pick(r, names);
      t = `{${names.map((n) => `${JSON.stringify(n)}:${JSON.stringify(h[n])}`).join(',')},${JSON.stringify(k)}:${JSON.stringify(h[k])}}`;
    } else {
      t = '{"a":{"dtype":"F32","dtype":"F16","shape":[0],"data_offsets":[0,0]}}';
    }
    return { mutation: 'duplicate-key', bytes: assemble(t, data) };
  }
  if (when(2)) {
    const t = pick(r, ['[]', '1', '"x"', 'null', 'true', '{}', '', ' ', '{"__metadata__":{}}', '[{"a":1}]', '{"a":1}{"b":2}', '{}x']);
    return { mutation: 'top-level', bytes: assemble(t, data) };
  }
  if (when(2)) {
    const depth = pick(r, [64, 1000, 10000, 100000, 500000]);
    const where = int(r, 0, 4);
    const nested = deepNest(depth, '[', ']');
    const t = [
      `{"a":{"dtype":"F32","shape":${nested},"data_offsets":[0,0]}}`,
      `{"a":{"dtype":${nested},"shape":[0],"data_offsets":[0,0]}}`,
      `{"a":{"dtype":"F32","shape":[0],"data_offsets":${nested}}}`,
      `{"__metadata__":{"a":${nested}}}`,
      `{"a":${deepNest(depth, '{"x":', '}')}}`,
    ][where]!;
    return { mutation: `deep-nesting`, bytes: assemble(t, data) };
  }
  if (when(0.6)) {
    // A real, big header: whitespace padding or one long metadata string.
    const n = logUniform(r, 1 << 16, 24 << 20);
    const h = JSON.parse(header) as Json;
    const t = r() < 0.5 ? stringifyOrdered(h) + ' '.repeat(n) : stringifyOrdered({ __metadata__: { pad: 'p'.repeat(n) }, ...h });
    return { mutation: 'huge-header', bytes: assemble(t, data) };
  }
  if (when(0.6)) {
    // Many tensors: zero-size ones (all at offset 0) or 1-byte ones back to back.
    const n = logUniform(r, 1000, 150000);
    const zero = r() < 0.5;
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(`"t${i}":{"dtype":"U8","shape":[${zero ? 0 : 1}],"data_offsets":[${zero ? 0 : i},${zero ? 0 : i + 1}]}`);
    const body = zero ? new Uint8Array(0) : randomBytes(r, n - (r() < 0.3 ? 1 : 0));
    return { mutation: 'huge-count', bytes: assemble(`{${parts.join(',')}}`, body) };
  }
  if (when(2)) {
    // The prefix claims a header near the cap, but the file is small.
    return { mutation: 'huge-header-claim', bytes: assemble(header, data, DEFAULT_MAX_HEADER_BYTES - int(r, 0, 8)) };
  }
  if (when(3)) return { mutation: 'random-file', bytes: randomBytes(r, int(r, 0, 300)) };
  if (when(2)) {
    const body = randomBytes(r, int(r, 0, 200));
    return { mutation: 'random-after-prefix', bytes: assemble(body, new Uint8Array(0)) };
  }
  // Bit flips anywhere.
  return { mutation: 'bit-flips', bytes: flipBits(r, base.bytes.slice(), 6) };
}

// ---------------------------------------------------------------- running one container case

function streamOf(bytes: Uint8Array, r: Rng): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (at >= bytes.byteLength) {
        c.close();
        return;
      }
      const n = Math.min(bytes.byteLength - at, pick(r, [1, 7, 64, 4096, 1 << 20]));
      c.enqueue(bytes.slice(at, at + n));
      at += n;
    },
  });
}

export type Outcome = 'ok' | string; // 'ok' or the error's class name

export interface CaseResult {
  index: number;
  mutation: string;
  source: string;
  outcome: Outcome;
  /** The error message, normalised into a class (numbers → N, names → "…"). */
  messageClass: string;
  message: string;
  ms: number;
  fileSize: number;
  /** The size the ByteSource reported (more than fileSize for a source that shrank). */
  sourceSize: number;
  maxRead: number;
  totalRead: number;
  /** Largest array the reader returned (raw or float32), in bytes. */
  maxArray: number;
  heapDelta: number;
  /** Why this case breaks an invariant; null when it does not. */
  failure: string | null;
}

const NAMED = new Set(['SafetensorsError', 'WeightError']);

const FLOATS = new Set(['F32', 'F16', 'BF16']);

/** Runs one container case through both readers and checks every invariant. */
export async function runContainerCase(c: FuzzCase, index: number, r: Rng, timeoutMs: number, gc?: () => void): Promise<CaseResult> {
  const stats = newReadStats();
  const mode = r() < 0.8 ? 'plain' : r() < 0.5 ? 'unaligned' : 'shrunk';
  const src = trackedSource(c.bytes, mode, stats, int(r, 1, 64));
  let maxArray = 0;
  const readAll = async (): Promise<Map<string, Uint8Array>> => {
    const f = await SafetensorsFile.open(src);
    const got = new Map<string, Uint8Array>();
    for (const [name, info] of f.tensors) {
      const d = await f.read(name);
      if (d.data.byteLength !== info.byteLength) throw new Error(`invariant: read "${name}" gave ${d.data.byteLength} of ${info.byteLength} bytes`);
      maxArray = Math.max(maxArray, d.data.byteLength);
      const n = info.shape.reduce((a, b) => a * b, 1);
      if (FLOATS.has(info.dtype)) {
        const v = await f.readF32(name);
        if (v.length !== n) throw new Error(`invariant: readF32 "${name}" gave ${v.length} of ${n} values`);
        maxArray = Math.max(maxArray, v.byteLength);
      } else {
        const v = typedArray(info.dtype, d.data);
        if (v.length !== n) throw new Error(`invariant: typedArray "${name}" gave ${v.length} of ${n} values`);
      }
      got.set(name, d.data.slice());
    }
    return got;
  };
  gc?.();
  const h0 = heapNow();
  const t0 = performance.now();
  let outcome = 'ok';
  let message = '';
  let tensors: Map<string, Uint8Array> | null = null;
  try {
    tensors = await withTimeout(readAll(), timeoutMs);
  } catch (e) {
    ({ outcome, message } = describeError(e));
  }
  const ms = performance.now() - t0;
  const heapDelta = heapNow() - h0;
  let failure: string | null = null;
  const fileSize = c.bytes.byteLength;
  if (outcome !== 'ok' && !NAMED.has(outcome)) failure = `${outcome} instead of a SafetensorsError: ${message.slice(0, 300)}`;
  else if (outcome === 'SafetensorsError' && mode === 'plain' && c.expect === 'ok') failure = `a valid file was rejected: ${message}`;
  else if (stats.badRead) failure = `out-of-range read: ${stats.badRead}`;
  else if (stats.maxRead > src.size) failure = `a read of ${stats.maxRead} bytes from a ${src.size}-byte source`;
  else if (ms > timeoutMs) failure = `took ${ms.toFixed(0)} ms (limit ${timeoutMs})`;
  // The streaming reader must agree with the random-access one on the same bytes (size known).
  if (!failure && mode !== 'shrunk') {
    let sOutcome = 'ok';
    let sMessage = '';
    const sGot = new Map<string, Uint8Array>();
    try {
      await withTimeout(
        (async () => {
          for await (const t of readSafetensorsStream(streamOf(c.bytes, r), { size: fileSize })) sGot.set(t.info.name, t.data.slice());
        })(),
        timeoutMs,
      );
    } catch (e) {
      ({ outcome: sOutcome, message: sMessage } = describeError(e));
    }
    if (sOutcome !== 'ok' && !NAMED.has(sOutcome)) failure = `stream reader: ${sOutcome} instead of a SafetensorsError: ${sMessage.slice(0, 300)}`;
    else if ((sOutcome === 'ok') !== (outcome === 'ok')) failure = `readers disagree: random access ${outcome} (${message}), stream ${sOutcome} (${sMessage})`;
    else if (tensors) {
      for (const [name, bytes] of tensors) {
        const s = sGot.get(name);
        if (!s || s.byteLength !== bytes.byteLength || s.some((b, i) => b !== bytes[i])) {
          failure = `readers disagree on the bytes of "${name}"`;
          break;
        }
      }
    }
  }
  // And for a valid file: the bytes read back are the file's bytes.
  if (!failure && c.mutation === 'valid' && tensors && mode === 'plain') {
    const f = await SafetensorsFile.open(trackedSource(c.bytes, 'plain', { maxRead: 0, totalRead: 0, reads: 0, badRead: null }));
    for (const [name, info] of f.tensors) {
      const want = c.bytes.subarray(info.begin, info.begin + info.byteLength);
      const got = tensors.get(name)!;
      if (got.some((b, i) => b !== want[i])) failure = `valid file: tensor "${name}" read back different bytes`;
    }
  }
  return {
    index, mutation: c.mutation, source: mode, outcome, messageClass: outcome === 'ok' ? 'ok' : `${outcome}: ${messageClass(message)}`,
    message, ms, fileSize, sourceSize: src.size, maxRead: stats.maxRead, totalRead: stats.totalRead, maxArray, heapDelta, failure,
  };
}

// ---------------------------------------------------------------- semantic (model) cases

/** Buffer usage flags, for a stub device when no WebGPU is loaded. */
function ensureGpuGlobals(): void {
  const g = globalThis as Record<string, unknown>;
  g.GPUBufferUsage ??= { MAP_READ: 1, MAP_WRITE: 2, COPY_SRC: 4, COPY_DST: 8, INDEX: 16, VERTEX: 32, UNIFORM: 64, STORAGE: 128, INDIRECT: 256, QUERY_RESOLVE: 512 };
}

/** A Gpu whose device only counts buffers: ModelWeights.load runs without a GPU. */
export function stubGpu(): Gpu & { live: () => number } {
  ensureGpuGlobals();
  let live = 0;
  const device = {
    limits: { maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28 },
    lost: new Promise(() => undefined),
    createBuffer: (d: GPUBufferDescriptor) => {
      live++;
      let alive = true;
      return { size: d.size, label: d.label ?? '', destroy: () => void (alive && (live--, (alive = false))) };
    },
    createCommandEncoder: () => ({ copyBufferToBuffer: () => undefined, finish: () => ({}) }),
    queue: { writeBuffer: () => undefined, submit: () => undefined },
    pushErrorScope: () => undefined,
    popErrorScope: async () => null,
  } as unknown as GPUDevice;
  return {
    gpu: {} as GPU, device, adapter: {} as GPUAdapter, hasF16: false, hasTimestamps: false,
    info: { name: 'stub', runtime: 'node', vendor: '', architecture: '', description: '', isSoftware: true, features: [] },
    live: () => live,
  };
}

/** Shared fill arrays by length (values 0.5: finite, a valid variance). */
const fills = new Map<number, Float32Array>();
function fill(n: number): Float32Array {
  let a = fills.get(n);
  if (!a) fills.set(n, (a = new Float32Array(n).fill(0.5)));
  return a;
}

export interface SemanticCase {
  mutation: string;
  /** 'ok' must load; 'reject' must fail with a named error (WeightError / SafetensorsError). */
  expect: 'ok' | 'reject';
  provider: WeightProvider;
  variant?: 'res34' | 'res50';
}

const SPEC34 = modelKeys('res34');

export function makeSemanticCase(r: Rng): SemanticCase {
  const entries = new Map<string, { dtype: string; shape: readonly number[] }>();
  for (const k of SPEC34) entries.set(k.key, { dtype: k.dtype, shape: [...k.shape] });
  const floatKeys = SPEC34.filter((k) => k.dtype === 'F32').map((k) => k.key);
  const target = pick(r, floatKeys);
  let values: (key: string, n: number) => Float32Array = (_k, n) => fill(n);
  let mutation: string;
  let expect: 'ok' | 'reject' = 'reject';
  let variant: 'res34' | 'res50' | undefined;
  let readError: Error | null = null;
  const kind = int(r, 0, 14);
  if (kind === 0) {
    mutation = 'none';
    expect = 'ok';
  } else if (kind === 1) {
    entries.delete(pick(r, SPEC34).key);
    mutation = 'missing-key';
  } else if (kind === 2) {
    const e = entries.get(target)!;
    entries.delete(target);
    entries.set(target.replace(/\.(\w+)$/, pick(r, ['.$1s', '_$1', '.$1.0'])), e);
    mutation = 'renamed-key';
  } else if (kind === 3) {
    const e = entries.get(target)!;
    const s = [...e.shape];
    const op = int(r, 0, 3);
    if (op === 0) s[int(r, 0, s.length - 1)]! += pick(r, [1, -1, 2]);
    else if (op === 1) s.unshift(1);
    else if (op === 2) s.pop();
    else s.reverse();
    const same = s.length === e.shape.length && s.every((d, i) => d === e.shape[i]);
    if (same || s.some((d) => d < 1) || s.length === 0) s.push(2); // make sure it differs
    entries.set(target, { dtype: e.dtype, shape: s });
    values = (_k, n) => fill(n);
    mutation = 'wrong-shape';
  } else if (kind === 4) {
    entries.get(target)!.dtype = pick(r, ['F64', 'I64', 'I32', 'U8', 'BOOL', 'I8', 'F8_E4M3', 'Q4_0']);
    mutation = 'wrong-dtype';
  } else if (kind === 5) {
    entries.get(target)!.dtype = pick(r, ['F16', 'BF16']);
    mutation = 'half-dtype';
    expect = 'ok';
  } else if (kind === 6 || kind === 7) {
    const bad = pick(r, [NaN, Infinity, -Infinity]);
    values = (k, n) => {
      if (k !== target) return fill(n);
      const v = fill(n).slice();
      v[int(r, 0, n - 1)] = bad;
      return v;
    };
    mutation = `value-${bad}`;
  } else if (kind === 8) {
    const bns = floatKeys.filter((k) => /^resnet\..*(bn\d|downsample\.1|stage0\.1)\.running_var$/.test(k));
    const t = pick(r, bns);
    values = (k, n) => {
      if (k !== t) return fill(n);
      const v = fill(n).slice();
      v[int(r, 0, n - 1)] = -pick(r, [1e-3, 0.5, 1e30]);
      return v;
    };
    mutation = 'negative-variance';
  } else if (kind === 9) {
    values = (k, n) => (k === target ? fill(n).subarray(0, n - 1) : fill(n));
    mutation = 'provider-short-array';
  } else if (kind === 10) {
    values = (k, n) => (k === target ? (new Float64Array(n) as unknown as Float32Array) : fill(n));
    mutation = 'provider-wrong-type';
  } else if (kind === 11) {
    entries.set(pick(r, ['extra.weight', 'resnet.fc.weight', 'module.x']), { dtype: 'F32', shape: [3] });
    mutation = 'extra-key';
    expect = 'ok';
  } else if (kind === 12) {
    variant = 'res50';
    mutation = 'variant-mismatch';
  } else if (kind === 13) {
    entries.set('resnet.stage1.0.conv3.weight', { dtype: 'F32', shape: [256, 64, 1, 1] });
    mutation = 'res50-marker-in-res34';
  } else {
    readError = new SafetensorsError(`truncated: read 0 of 64 bytes of tensor "${target}" at offset 1`);
    mutation = 'read-fails';
  }
  const valuesOf = (key: string) => {
    if (readError && key === target) throw readError;
    const e = entries.get(key);
    if (!e) throw new WeightError(`no tensor '${key}'`);
    return values(key, e.shape.reduce((a, b) => a * b, 1));
  };
  const provider: WeightProvider = { entries, read: async (key) => valuesOf(key) };
  if (r() < 0.3) {
    // A sequential source (a download): ModelWeights.load takes its tensors() path instead of read().
    const order = [...entries.keys()];
    if (r() < 0.5) order.reverse();
    provider.tensors = async function* () {
      for (const key of order) yield { key, values: () => valuesOf(key) };
    };
    mutation += '+pushed';
  }
  return { mutation, expect, provider, variant };
}

export async function runSemanticCase(c: SemanticCase, index: number, timeoutMs: number): Promise<CaseResult> {
  const gpu = stubGpu();
  const t0 = performance.now();
  let outcome = 'ok';
  let message = '';
  try {
    const w = await withTimeout(ModelWeights.load(gpu, c.provider, c.variant ? { variant: c.variant } : {}), timeoutMs);
    w.destroy();
  } catch (e) {
    ({ outcome, message } = describeError(e));
  }
  const ms = performance.now() - t0;
  let failure: string | null = null;
  if (outcome !== 'ok' && !NAMED.has(outcome)) failure = `${outcome} instead of a WeightError: ${message.slice(0, 300)}`;
  else if (c.expect === 'reject' && outcome === 'ok') failure = `${c.mutation}: bad weights were accepted`;
  else if (c.expect === 'ok' && outcome !== 'ok') failure = `${c.mutation}: good weights were rejected: ${message}`;
  else if (gpu.live() !== 0) failure = `${c.mutation}: ${gpu.live()} GPU buffers left alive after ${outcome === 'ok' ? 'destroy()' : 'the rejection'}`;
  return {
    index, mutation: `model:${c.mutation}`, source: 'provider', outcome,
    messageClass: outcome === 'ok' ? 'ok' : `${outcome}: ${messageClass(message)}`,
    message, ms, fileSize: 0, sourceSize: 0, maxRead: 0, totalRead: 0, maxArray: 0, heapDelta: 0, failure,
  };
}

// ---------------------------------------------------------------- the run

export interface FuzzOptions extends RunOptions<CaseResult> {
  /** Every k-th case also runs a semantic (model) case; 0: none. */
  semanticEvery?: number;
}

export interface FuzzSummary extends Tally<CaseResult> {
  semanticCases: number;
  /** Slowest rejected container case (a hostile file). */
  slowestRejection: CaseResult | null;
  slowestSuccess: CaseResult | null;
  /** Slowest rejected model case (ModelWeights.load on a stub device; reads the res34 key set). */
  slowestModelRejection: CaseResult | null;
  /** The case with the largest read relative to its file. */
  largestReadRatio: { ratio: number; result: CaseResult } | null;
  largestRead: CaseResult | null;
  largestArray: CaseResult | null;
  largestHeapDelta: CaseResult | null;
  largestHeapDeltaRejected: CaseResult | null;
}

export async function runFuzz(opts: FuzzOptions = {}): Promise<FuzzSummary> {
  const seed = opts.seed ?? 1;
  const cases = opts.cases ?? 10000;
  const start = opts.start ?? 0;
  const timeoutMs = opts.caseTimeoutMs ?? 5000;
  const every = opts.semanticEvery ?? 50;
  const s: FuzzSummary = {
    ...newTally<CaseResult>(seed), semanticCases: 0,
    slowestRejection: null, slowestSuccess: null, slowestModelRejection: null, largestReadRatio: null, largestRead: null, largestArray: null,
    largestHeapDelta: null, largestHeapDeltaRejected: null,
  };
  const t0 = performance.now();
  const record = (res: CaseResult) => {
    tally(s, res);
    if (res.outcome === 'ok') {
      if (res.source !== 'provider' && (!s.slowestSuccess || res.ms > s.slowestSuccess.ms)) s.slowestSuccess = res;
    } else {
      if (res.source === 'provider') {
        if (!s.slowestModelRejection || res.ms > s.slowestModelRejection.ms) s.slowestModelRejection = res;
      } else if (!s.slowestRejection || res.ms > s.slowestRejection.ms) s.slowestRejection = res;
      if (res.source !== 'provider' && (!s.largestHeapDeltaRejected || res.heapDelta > s.largestHeapDeltaRejected.heapDelta)) s.largestHeapDeltaRejected = res;
    }
    if (res.source !== 'provider') {
      const ratio = res.sourceSize ? res.maxRead / res.sourceSize : 0;
      if (!s.largestReadRatio || ratio > s.largestReadRatio.ratio) s.largestReadRatio = { ratio, result: res };
      if (!s.largestRead || res.maxRead > s.largestRead.maxRead) s.largestRead = res;
      if (!s.largestArray || res.maxArray > s.largestArray.maxArray) s.largestArray = res;
      if (!s.largestHeapDelta || res.heapDelta > s.largestHeapDelta.heapDelta) s.largestHeapDelta = res;
    }
    opts.onCase?.(res);
  };
  for (let i = start; i < start + cases; i++) {
    const r = rng(caseSeed(seed, i) ^ 0x9e3779b9);
    let res: CaseResult;
    try {
      res = await runContainerCase(makeCase(seed, i), i, r, timeoutMs, opts.gc);
    } catch (e) {
      // The harness itself failed (e.g. a mutation could not be built): a failure to look at.
      const { outcome, message } = describeError(e);
      res = { index: i, mutation: 'harness', source: '', outcome, messageClass: `harness: ${outcome}`, message, ms: 0, fileSize: 0, sourceSize: 0, maxRead: 0, totalRead: 0, maxArray: 0, heapDelta: 0, failure: `harness error: ${message}` };
    }
    s.cases++;
    record(res);
    if (every > 0 && i % every === 0) {
      s.semanticCases++;
      record(await runSemanticCase(makeSemanticCase(r), i, Math.max(timeoutMs, 20000)));
    }
  }
  s.totalMs = performance.now() - t0;
  return s;
}

export function formatSummary(s: FuzzSummary): string {
  const lines: string[] = [];
  lines.push(`safetensors fuzz: seed ${s.seed}, ${s.cases} container cases + ${s.semanticCases} model cases in ${(s.totalMs / 1000).toFixed(1)} s`);
  lines.push(...formatTally(s, 'mutation'));
  const at = (r: CaseResult | null) => (r ? `case ${r.index} (${r.mutation}, ${r.fileSize} B file)` : '-');
  if (s.slowestRejection) lines.push(`  slowest rejection: ${s.slowestRejection.ms.toFixed(1)} ms, ${at(s.slowestRejection)}: ${s.slowestRejection.messageClass}`);
  if (s.slowestSuccess) lines.push(`  slowest success: ${s.slowestSuccess.ms.toFixed(1)} ms, ${at(s.slowestSuccess)}`);
  if (s.slowestModelRejection) lines.push(`  slowest model-weights rejection: ${s.slowestModelRejection.ms.toFixed(1)} ms, case ${s.slowestModelRejection.index} (${s.slowestModelRejection.mutation}): ${s.slowestModelRejection.messageClass}`);
  if (s.largestRead) lines.push(`  largest single read: ${s.largestRead.maxRead} B (${mib(s.largestRead.maxRead)}) of a ${s.largestRead.fileSize} B file, ${at(s.largestRead)}`);
  if (s.largestReadRatio) lines.push(`  largest read / source size: ${s.largestReadRatio.ratio.toFixed(3)} (${at(s.largestReadRatio.result)})`);
  if (s.largestArray) lines.push(`  largest array returned: ${s.largestArray.maxArray} B from a ${s.largestArray.fileSize} B file, ${at(s.largestArray)}`);
  if (s.largestHeapDelta) lines.push(`  largest heap+ArrayBuffer growth over a case: ${mib(s.largestHeapDelta.heapDelta)} (${at(s.largestHeapDelta)}, ${s.largestHeapDelta.outcome})`);
  if (s.largestHeapDeltaRejected) lines.push(`  largest growth over a rejected case: ${mib(s.largestHeapDeltaRejected.heapDelta)} (${at(s.largestHeapDeltaRejected)})`);
  for (const f of s.failures.slice(0, 20)) lines.push(`  FAILURE case ${f.index} (${f.mutation}, source ${f.source}): ${f.failure}`);
  if (s.failures.length > 20) lines.push(`  … ${s.failures.length - 20} more failures`);
  return lines.join('\n');
}

// ---------------------------------------------------------------- CLI (node, compiled)

if (await isFuzzEntry(import.meta.url, /fuzz-safetensors\.(m?js)$/)) {
  await fuzzCli<FuzzOptions, FuzzSummary>({
    url: import.meta.url,
    options: { 'semantic-every': '50' },
    toOptions: (v) => ({
      cases: Number(v.cases), seed: Number(v.seed), start: Number(v.start),
      caseTimeoutMs: Number(v['timeout-ms']), semanticEvery: Number(v['semantic-every']),
    }),
    run: (o, gc, onCase) => runFuzz({ ...o, gc, onCase: (r) => onCase(r.index, r.mutation) }),
    format: formatSummary,
    failed: (s) => s.failures.length > 0,
  });
}
