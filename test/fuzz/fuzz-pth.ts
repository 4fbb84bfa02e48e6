// Fuzzing the checkpoint reader (src/pth): every input must load, giving exactly the tensors it
// holds, or fail with a named error (PthError / UnsafePickleError); never another exception, never
// a hang, never a read outside the file or larger than it.
//
// Cases, each reproducible from (seed, index):
//  - generated: a random checkpoint (tensors viewing shared storages at offsets, every dtype,
//    parameters, 'module.' prefixes, nested plain data, an inert Adam object; protocol 2 or 4;
//    zip with or without torch's alignment, data descriptors, ZIP64) whose tensors are known: it
//    must load them exactly, or be refused for the reason it was built with (a non-contiguous view);
//  - pickle: a seed's or a generated checkpoint's pickle mutated (bits, bytes, opcode splices,
//    dangerous GLOBAL + REDUCE snippets, edge integers, huge lengths) and re-packed with a valid
//    CRC, so that the mutation reaches the unpickler;
//  - storage: a storage record truncated, grown, dropped, renamed, duplicated or deflated;
//  - zip: one field of the end records, a central-directory entry or a local header set to an edge
//    value;
//  - bytes: bit flips, byte edits, truncation, insertion, deletion, random files, splices.
// The seeds (test/fuzz/seeds/pth/) were written by real torch.save (test/pth/torch_checkpoints.py -).
//
//   npm run fuzz:pth -- [--cases N] [--seed S] [--start K] [--timeout-ms T]
//   npm run fuzz:pth -- --heap-check DIR [MIN_BYTES]   (see heapCheck; DIR: e.g. the hostile corpus)
//   FUZZ_CASES=10000 npx vitest run test/fuzz/pth.test.ts

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PthCheckpoint } from '../../src/pth/checkpoint.js';
import { ZipArchive } from '../../src/pth/zip.js';
import { fileSource } from '../../src/safetensors/node.js';
import { bytesSource, type ByteSource } from '../../src/safetensors/read.js';
import { DTYPE_SIZES } from '../../src/safetensors/format.js';
import {
  caseSeed, describeError, flipBits, formatTally, fuzzCli, heapNow, int, isFuzzEntry, join as joinBytes, messageClass, mib, newReadStats, newTally,
  pick, randomBytes, rng, tally, trackedSource, withTimeout, type Rng, type RunOptions, type Tally,
} from './common.js';
import { checkpointZip, genCheckpoint, writePickle, type GenCheckpoint, type ZipRecord, type ZipStyle, writeZip } from './pth-gen.js';

// ---------------------------------------------------------------- seeds

interface Seed {
  name: string;
  bytes: Uint8Array;
  /** The zip records (null for the legacy format). */
  records: ZipRecord[] | null;
}

function seedDir(): string {
  const here = fileURLToPath(new URL('./seeds/pth/', import.meta.url));
  return existsSync(here) ? here : resolve('test/fuzz/seeds/pth');
}

let seeds: Seed[] | null = null;

/** The seed files and their records (read through the reader under test: they are valid). */
export async function loadSeeds(): Promise<Seed[]> {
  if (seeds) return seeds;
  const dir = seedDir();
  const out: Seed[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.pth')).sort()) {
    const bytes = new Uint8Array(readFileSync(join(dir, name)));
    let records: ZipRecord[] | null = null;
    if (bytes[0] === 0x50) {
      const zip = await ZipArchive.open(bytesSource(bytes));
      records = [];
      for (const e of zip.entries.values()) records.push({ name: e.name, data: (await zip.read(e)).slice() });
    }
    out.push({ name, bytes, records });
  }
  if (out.length === 0) throw new Error(`no seeds in ${dir}`);
  return (seeds = out);
}

// ---------------------------------------------------------------- cases

export interface PthCase {
  mutation: string;
  bytes: Uint8Array;
  /** A generated checkpoint: what it must give, or why it must be refused. */
  gen?: GenCheckpoint;
}

const STYLES: ZipStyle[] = [{}, { align: true, descriptor: true }, { align: true, descriptor: true, zip64: true }, { zip64: true }];

/** Opcode snippets spliced into pickles: dangerous calls, bombs, stack and memo abuse. */
const SNIPPETS: string[] = [
  'cos\nsystem\nX\x02\x00\x00\x00id\x85R', 'c__builtin__\neval\nN\x85R', 'cbuiltins\ngetattr\n)R', '\x8c\x02os\x8c\x06system\x93',
  'ctorch\nFloatStorage\nK\x01\x85R', 'ccollections\nOrderedDict\n)\x81', 'ccollections\nOrderedDict\n)R}b', ']}b', 'N(', '(', 't', ')', '0', '1', '2',
  'a', 'e', 's', 'u', 'R', 'b', '\x81', 'Q', '.', 'h\x00', 'j\xff\xff\xff\xff', 'q\x07', 'r\x00\x00\x00\x80', '\x94', '\x92', 'i', 'o', '\x82\x01',
  ']q\x00h\x00a', 'X\xff\xff\xff\x7f', '\x8b\xff\xff\xff\x7f', '\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f', 'J\xff\xff\xff\xff', 'K\x00', 'M\xff\xff',
  '(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuJ\x00\x00\x00\x40tQ',
  'ctorch._utils\n_rebuild_tensor_v2\n', 'ctorch.optim.adam\nAdam\n)\x81', 'c_codecs\nencode\nX\x01\x00\x00\x00\xffX\x05\x00\x00\x00ascii\x86R',
];
const EDGE_INTS = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, -1, -2147483648];

function mutatePickle(r: Rng, p: Uint8Array): { mutation: string; bytes: Uint8Array } {
  const b = p.slice();
  const at = int(r, 0, Math.max(0, b.byteLength - 1));
  switch (int(r, 0, 7)) {
    case 0:
      return { mutation: 'pickle-bits', bytes: flipBits(r, b, 4) };
    case 1:
      for (let k = int(r, 1, 4); k > 0; k--) b[int(r, 0, b.byteLength - 1)] = int(r, 0, 255);
      return { mutation: 'pickle-bytes', bytes: b };
    case 2: {
      const s = Uint8Array.from(pick(r, SNIPPETS), (c) => c.charCodeAt(0));
      return { mutation: 'pickle-snippet', bytes: joinBytes(b.subarray(0, at), s, b.subarray(at)) };
    }
    case 3:
      return { mutation: 'pickle-delete', bytes: joinBytes(b.subarray(0, at), b.subarray(Math.min(b.byteLength, at + int(r, 1, 16)))) };
    case 4: {
      const from = int(r, 0, b.byteLength - 1);
      const piece = b.subarray(from, Math.min(b.byteLength, from + int(r, 1, 64)));
      return { mutation: 'pickle-duplicate', bytes: joinBytes(b.subarray(0, at), piece, b.subarray(at)) };
    }
    case 5:
      return { mutation: 'pickle-truncate', bytes: b.subarray(0, at) };
    case 6: {
      // An integer argument (BININT / BININT1 / BININT2 / LONG_BINPUT / BINUNICODE length) set to an edge value.
      const ops = [...b.keys()].filter((i) => [0x4a, 0x4b, 0x4d, 0x58, 0x72, 0x6a].includes(b[i]!) && i + 4 < b.byteLength);
      if (!ops.length) return { mutation: 'pickle-bits', bytes: b };
      const i = pick(r, ops);
      const width = b[i] === 0x4b ? 1 : b[i] === 0x4d ? 2 : 4;
      const v = pick(r, EDGE_INTS) >>> 0;
      for (let k = 0; k < width; k++) b[i + 1 + k] = (v >>> (8 * k)) & 0xff;
      return { mutation: 'pickle-int', bytes: b };
    }
    default: {
      const n = logN(r);
      const s = Uint8Array.from(pick(r, ['N', '(', ']', '2', ']a', '}', 'h\x00']), (c) => c.charCodeAt(0));
      const run = new Uint8Array(n * s.byteLength);
      for (let k = 0; k < n; k++) run.set(s, k * s.byteLength);
      return { mutation: 'pickle-bomb', bytes: joinBytes(b.subarray(0, at), run, b.subarray(at)) };
    }
  }
}

const logN = (r: Rng) => Math.floor(Math.exp(Math.log(10) + r() * (Math.log(300000) - Math.log(10))));

function mutateStorages(r: Rng, records: ZipRecord[]): { mutation: string; records: ZipRecord[] } {
  const out = records.map((x) => ({ ...x }));
  const data = out.filter((x) => /\/data\/[^/]+$/.test(x.name));
  if (!data.length) return { mutation: 'storage-none', records: out };
  const t = pick(r, data);
  switch (int(r, 0, 5)) {
    case 0: t.data = t.data.subarray(0, int(r, 0, Math.max(0, t.data.byteLength - 1))); return { mutation: 'storage-truncate', records: out };
    case 1: t.data = joinBytes(t.data, randomBytes(r, int(r, 1, 64))); return { mutation: 'storage-grow', records: out };
    case 2: return { mutation: 'storage-drop', records: out.filter((x) => x !== t) };
    case 3: t.name = t.name.replace(/[^/]+$/, pick(r, ['99', '0 ', '../0', '', 'x'])); return { mutation: 'storage-rename', records: out };
    case 4: t.deflate = true; return { mutation: 'storage-deflate', records: out };
    default: {
      const u = pick(r, data);
      [t.data, u.data] = [u.data, t.data];
      return { mutation: 'storage-swap', records: out };
    }
  }
}

/** Offsets of every zip structure's fields: [offset, width] pairs worth setting to edge values. */
function zipFields(b: Uint8Array): [number, number][] {
  const fields: [number, number][] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const at = (i: number, ...f: [number, number][]) => fields.push(...f.map(([o, w]): [number, number] => [i + o, w]).filter(([o, w]) => o + w <= b.byteLength));
  for (let i = 0; i + 4 <= b.byteLength; i++) {
    const sig = dv.getUint32(i, true);
    if (sig === 0x06054b50) at(i, [4, 2], [6, 2], [8, 2], [10, 2], [12, 4], [16, 4], [20, 2]);
    else if (sig === 0x02014b50) at(i, [8, 2], [10, 2], [16, 4], [20, 4], [24, 4], [28, 2], [30, 2], [32, 2], [34, 2], [42, 4]);
    else if (sig === 0x04034b50) at(i, [6, 2], [8, 2], [14, 4], [18, 4], [22, 4], [26, 2], [28, 2]);
    else if (sig === 0x06064b50) at(i, [24, 8], [32, 8], [40, 8], [48, 8]);
    else if (sig === 0x07064b50) at(i, [8, 8], [16, 4]);
  }
  return fields;
}

function mutateZip(r: Rng, file: Uint8Array): { mutation: string; bytes: Uint8Array } {
  const fields = zipFields(file);
  const b = file.slice();
  if (!fields.length) return { mutation: 'zip-none', bytes: b };
  const [at, width] = pick(r, fields);
  const dv = new DataView(b.buffer);
  const old = width === 2 ? dv.getUint16(at, true) : width === 4 ? dv.getUint32(at, true) : Number(dv.getBigUint64(at, true));
  const v = pick(r, [0, 1, old + 1, old - 1, old + 64, old * 2, file.byteLength, file.byteLength - 1, 2 ** (8 * Math.min(width, 6)) - 1, 2 ** 31, int(r, 0, 2 ** 16)]);
  const bounded = Math.max(0, Math.min(v, width === 8 ? 2 ** 53 : 2 ** (8 * width) - 1));
  if (width === 2) dv.setUint16(at, bounded, true);
  else if (width === 4) dv.setUint32(at, bounded, true);
  else dv.setBigUint64(at, r() < 0.1 ? 2n ** 64n - 1n : BigInt(bounded), true);
  return { mutation: `zip-field-${width}`, bytes: b };
}

function mutateBytes(r: Rng, file: Uint8Array, other: Uint8Array): { mutation: string; bytes: Uint8Array } {
  const b = file.slice();
  const at = int(r, 0, Math.max(0, b.byteLength - 1));
  switch (int(r, 0, 6)) {
    case 0:
      return { mutation: 'bytes-bits', bytes: flipBits(r, b, 6) };
    case 1: return { mutation: 'bytes-truncate', bytes: b.subarray(0, at) };
    case 2: return { mutation: 'bytes-append', bytes: joinBytes(b, randomBytes(r, int(r, 1, 100))) };
    case 3: return { mutation: 'bytes-insert', bytes: joinBytes(b.subarray(0, at), randomBytes(r, int(r, 1, 32)), b.subarray(at)) };
    case 4: return { mutation: 'bytes-delete', bytes: joinBytes(b.subarray(0, at), b.subarray(Math.min(b.byteLength, at + int(r, 1, 32)))) };
    case 5: return { mutation: 'bytes-splice', bytes: joinBytes(b.subarray(0, at), other.subarray(int(r, 0, other.byteLength - 1))) };
    default: return { mutation: 'bytes-random', bytes: randomBytes(r, int(r, 0, 400)) };
  }
}

/** One case, deterministic in (seed, index). */
export async function makeCase(seed: number, index: number): Promise<PthCase> {
  const r = rng(caseSeed(seed, index));
  const all = await loadSeeds();
  const zips = all.filter((s) => s.records);
  const style = pick(r, STYLES);
  const roll = r() * 100;
  if (roll < 20) {
    const gen = genCheckpoint(r);
    const bytes = checkpointZip(writePickle(gen.root, r() < 0.7 ? 2 : 4), gen.storages, style);
    return { mutation: `generated${gen.expected ? '' : '-refused'}`, bytes, gen };
  }
  if (roll < 45) {
    let records: ZipRecord[];
    if (r() < 0.5) records = pick(r, zips).records!;
    else {
      const gen = genCheckpoint(r);
      records = [{ name: 'archive/data.pkl', data: writePickle(gen.root, r() < 0.7 ? 2 : 4) }, ...gen.storages.map((s) => ({ name: `archive/data/${s.key}`, data: s.data }))];
    }
    const pkl = records.find((x) => x.name.endsWith('/data.pkl'))!;
    const m = mutatePickle(r, pkl.data);
    return { mutation: m.mutation, bytes: writeZip(records.map((x) => (x === pkl ? { ...x, data: m.bytes } : x)), style) };
  }
  if (roll < 55) {
    const m = mutateStorages(r, pick(r, zips).records!);
    return { mutation: m.mutation, bytes: writeZip(m.records, style) };
  }
  const base = r() < 0.5 ? pick(r, all).bytes : writeZip(pick(r, zips).records!, style);
  if (roll < 75) return mutateZip(r, base);
  return mutateBytes(r, base, pick(r, all).bytes);
}

// ---------------------------------------------------------------- running a case

/** Opens the checkpoint and reads every tensor, raw and (floats) as float32, checking their sizes. */
export async function openAndReadAll(src: ByteSource): Promise<{ ck: PthCheckpoint; raw: Map<string, Uint8Array> }> {
  const ck = await PthCheckpoint.open(src);
  const raw = new Map<string, Uint8Array>();
  for (const [name, t] of ck.tensors) {
    const { data } = await ck.read(name);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (data.byteLength !== n * DTYPE_SIZES[t.dtype]) throw new Error(`invariant: "${name}" read ${data.byteLength} bytes for ${n} × ${t.dtype}`);
    if (t.dtype === 'F32' || t.dtype === 'F16' || t.dtype === 'BF16') {
      const v = await ck.readF32(name);
      if (v.length !== n) throw new Error(`invariant: readF32 "${name}" gave ${v.length} of ${n} values`);
    }
    raw.set(name, data.slice());
  }
  return { ck, raw };
}

export interface CaseResult {
  index: number;
  mutation: string;
  outcome: string;
  messageClass: string;
  message: string;
  ms: number;
  fileSize: number;
  maxRead: number;
  heapDelta: number;
  failure: string | null;
}

const NAMED = new Set(['PthError', 'UnsafePickleError']);

/** Checks a loaded generated checkpoint against what it was built to hold. */
function checkGenerated(gen: GenCheckpoint, got: Map<string, Uint8Array>, ck: PthCheckpoint): string | null {
  const want = gen.expected!;
  const keys = [...want.keys()];
  if (JSON.stringify([...got.keys()]) !== JSON.stringify(keys)) return `keys ${JSON.stringify([...got.keys()])}, expected ${JSON.stringify(keys)}`;
  for (const [k, w] of want) {
    const t = ck.info(k);
    const bytes = got.get(k)!;
    if (t.dtype !== w.dtype || JSON.stringify(t.shape) !== JSON.stringify(w.shape)) return `"${k}": ${t.dtype} [${t.shape}], expected ${w.dtype} [${w.shape}]`;
    if (!Buffer.from(bytes).equals(Buffer.from(w.bytes))) return `"${k}": wrong bytes (a silent wrong answer)`;
  }
  return null;
}

export async function runCase(c: PthCase, index: number, r: Rng, timeoutMs: number, gc?: () => void): Promise<CaseResult> {
  const stats = newReadStats();
  const mode = r() < 0.8 ? 'plain' : r() < 0.5 ? 'unaligned' : 'shrunk';
  const src = trackedSource(c.bytes, mode, stats, int(r, 1, 64));
  gc?.();
  const h0 = heapNow();
  const t0 = performance.now();
  let outcome = 'ok';
  let message = '';
  let loaded: Awaited<ReturnType<typeof openAndReadAll>> | null = null;
  try {
    loaded = await withTimeout(openAndReadAll(src), timeoutMs);
  } catch (e) {
    ({ outcome, message } = describeError(e));
  }
  const ms = performance.now() - t0;
  const heapDelta = heapNow() - h0;
  let failure: string | null = null;
  if (outcome !== 'ok' && !NAMED.has(outcome)) failure = `${outcome} instead of a PthError: ${message.slice(0, 300)}`;
  else if (stats.badRead) failure = `out-of-range read: ${stats.badRead}`;
  else if (stats.maxRead > src.size) failure = `a read of ${stats.maxRead} bytes from a ${src.size}-byte source`;
  else if (ms > timeoutMs) failure = `took ${ms.toFixed(0)} ms (limit ${timeoutMs})`;
  else if (c.gen && mode !== 'shrunk') {
    if (c.gen.expected && !loaded) failure = `a valid generated checkpoint was rejected: ${message}`;
    else if (c.gen.expected && loaded) failure = checkGenerated(c.gen, loaded.raw, loaded.ck);
    else if (c.gen.refusal && (outcome !== 'PthError' || !c.gen.refusal.test(message))) failure = `expected a refusal ${c.gen.refusal}, got ${outcome}: ${message}`;
  }
  return {
    index, mutation: c.mutation, outcome, messageClass: outcome === 'ok' ? 'ok' : `${outcome}: ${messageClass(message)}`, message, ms,
    fileSize: c.bytes.byteLength, maxRead: stats.maxRead, heapDelta, failure,
  };
}

// ---------------------------------------------------------------- the run

export type FuzzOptions = RunOptions<CaseResult>;

export interface FuzzSummary extends Tally<CaseResult> {
  slowest: CaseResult | null;
  largestHeapDeltaRejected: CaseResult | null;
  /** Largest heap growth over a rejected case relative to max(file size, 1 MiB). */
  largestHeapRatio: { ratio: number; result: CaseResult } | null;
}

export async function runFuzz(opts: FuzzOptions = {}): Promise<FuzzSummary> {
  const seed = opts.seed ?? 1;
  const start = opts.start ?? 0;
  const cases = opts.cases ?? 10000;
  const s: FuzzSummary = { ...newTally<CaseResult>(seed), slowest: null, largestHeapDeltaRejected: null, largestHeapRatio: null };
  const t0 = performance.now();
  for (let i = start; i < start + cases; i++) {
    let res: CaseResult;
    try {
      res = await runCase(await makeCase(seed, i), i, rng(caseSeed(seed, i) ^ 0x9e3779b9), opts.caseTimeoutMs ?? 5000, opts.gc);
    } catch (e) {
      const { outcome, message } = describeError(e);
      res = { index: i, mutation: 'harness', outcome, messageClass: `harness: ${outcome}`, message, ms: 0, fileSize: 0, maxRead: 0, heapDelta: 0, failure: `harness error: ${message}` };
    }
    s.cases++;
    tally(s, res);
    if (res.outcome !== 'ok') {
      if (!s.largestHeapDeltaRejected || res.heapDelta > s.largestHeapDeltaRejected.heapDelta) s.largestHeapDeltaRejected = res;
      const ratio = res.heapDelta / Math.max(res.fileSize, 2 ** 20);
      if (!s.largestHeapRatio || ratio > s.largestHeapRatio.ratio) s.largestHeapRatio = { ratio, result: res };
    }
    if (!s.slowest || res.ms > s.slowest.ms) s.slowest = res;
    opts.onCase?.(res);
  }
  s.totalMs = performance.now() - t0;
  return s;
}

export function formatSummary(s: FuzzSummary): string {
  const lines = [`pth fuzz: seed ${s.seed}, ${s.cases} cases in ${(s.totalMs / 1000).toFixed(1)} s`];
  lines.push(...formatTally(s, 'mutation'));
  const at = (r: CaseResult) => `case ${r.index} (${r.mutation}, ${r.fileSize} B file)`;
  if (s.slowest) lines.push(`  slowest case: ${s.slowest.ms.toFixed(1)} ms, ${at(s.slowest)}: ${s.slowest.messageClass}`);
  if (s.largestHeapDeltaRejected) lines.push(`  largest heap+ArrayBuffer growth over a rejected case: ${mib(s.largestHeapDeltaRejected.heapDelta)} (${at(s.largestHeapDeltaRejected)})`);
  if (s.largestHeapRatio) lines.push(`  largest growth / max(file, 1 MiB) over a rejected case: ${s.largestHeapRatio.ratio.toFixed(3)} (${at(s.largestHeapRatio.result)})`);
  for (const f of s.failures.slice(0, 20)) lines.push(`  FAILURE case ${f.index} (${f.mutation}): ${f.failure}`);
  if (s.failures.length > 20) lines.push(`  … ${s.failures.length - 20} more failures`);
  return lines.join('\n');
}

// ---------------------------------------------------------------- heap-capped runs

/** Old-space MiB a Node process needs to open a tiny valid checkpoint (measured on Node 20: 3.7 to 4.2). */
const BASE_HEAP_MIB = 5;

/** --one FILE: opens the file and reads every tensor; prints {outcome, message} as JSON. */
async function one(file: string): Promise<void> {
  const src = await fileSource(file);
  let outcome = 'ok';
  let message = '';
  try {
    await openAndReadAll(src);
  } catch (e) {
    ({ outcome, message } = describeError(e));
  } finally {
    await src.close();
  }
  console.log(JSON.stringify({ outcome, message: message.slice(0, 300) }));
}

/**
 * --heap-check DIR [MIN_BYTES]: every .pth file in DIR (at least MIN_BYTES long) opened by its own
 * Node process whose V8 old space is capped at BASE_HEAP_MIB + the file's size in MiB (young
 * space 1 MiB): rejecting it (or loading it) must fit, so the live JS heap never exceeds the
 * file's size beyond the baseline. With DIR/manifest.json (test/pth/hostile_checkpoints.py) the
 * error class must be the one it names.
 */
async function heapCheck(dir: string, minBytes: number): Promise<boolean> {
  const { spawnSync } = await import('node:child_process');
  const { statSync } = await import('node:fs');
  const manifest = existsSync(join(dir, 'manifest.json'))
    ? new Map((JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { file: string; error: string | null }[]).map((c) => [c.file, c.error ?? 'ok']))
    : null;
  const script = fileURLToPath(import.meta.url);
  let failures = 0;
  let checked = 0;
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.pth')).sort()) {
    const file = join(dir, name);
    const size = statSync(file).size;
    if (size < minBytes) continue;
    const cap = BASE_HEAP_MIB + Math.ceil(size / 2 ** 20);
    const r = spawnSync(process.execPath, [`--max-old-space-size=${cap}`, '--max-semi-space-size=1', script, '--one', file], { encoding: 'utf8', timeout: 120_000 });
    checked++;
    let failure: string | null = null;
    if (r.status !== 0) failure = `exit ${r.status ?? r.signal} with the heap capped at ${cap} MiB: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`;
    else {
      const { outcome, message } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { outcome: string; message: string };
      const want = manifest?.get(name);
      if (want !== undefined && outcome !== want) failure = `${outcome} (${message}), expected ${want}`;
      else if (outcome !== 'ok' && !NAMED.has(outcome)) failure = `${outcome}: ${message}`;
    }
    if (failure) {
      failures++;
      console.log(`FAILURE ${name} (${size} B): ${failure}`);
    }
  }
  console.log(`heap check: ${checked} files in ${dir}, each in a Node process capped at ${BASE_HEAP_MIB} MiB + its size; ${failures} FAILURES`);
  return failures === 0;
}

// ---------------------------------------------------------------- CLI (node, compiled)

if (await isFuzzEntry(import.meta.url, /fuzz-pth\.(m?js)$/)) {
  const [mode, arg, extra] = process.argv.slice(2);
  if (mode === '--one') await one(arg!);
  else if (mode === '--heap-check') process.exitCode = (await heapCheck(arg!, Number(extra ?? 0))) ? 0 : 1;
  else {
    await fuzzCli<FuzzOptions, FuzzSummary>({
      url: import.meta.url,
      toOptions: (v) => ({ cases: Number(v.cases), seed: Number(v.seed), start: Number(v.start), caseTimeoutMs: Number(v['timeout-ms']) }),
      run: (o, gc, onCase) => runFuzz({ ...o, gc, onCase: (r) => onCase(r.index, r.mutation) }),
      format: formatSummary,
      failed: (s) => s.failures.length > 0,
    });
  }
}
