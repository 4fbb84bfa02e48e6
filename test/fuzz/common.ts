// What the fuzzers share: seeded random numbers, a ByteSource that records the reads asked of it,
// error classification, timeouts, heap measurement, and the command-line runner (cases in a worker
// thread, killed and named when one stops making progress).

import type { ByteSource } from '../../src/safetensors/read.js';
import type { Rng } from './rng.js';

// ---------------------------------------------------------------- random numbers

export { caseSeed, rng, type Rng } from './rng.js';

/** An integer in [lo, hi], both inclusive. */
export const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
export const logUniform = (r: Rng, lo: number, hi: number) => Math.floor(Math.exp(Math.log(lo) + r() * (Math.log(hi) - Math.log(lo))));

export function randomBytes(r: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 256) | 0;
  return out;
}

/** Flips 1 to `max` random bits of `b` in place. */
export function flipBits(r: Rng, b: Uint8Array, max: number): Uint8Array {
  for (let k = int(r, 1, max); k > 0 && b.byteLength; k--) b[int(r, 0, b.byteLength - 1)]! ^= 1 << int(r, 0, 7);
  return b;
}

export function join(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.byteLength) - p.byteLength);
  return out;
}

// ---------------------------------------------------------------- a source that records its reads

export interface ReadStats {
  /** Largest single read asked of the source, in bytes. */
  maxRead: number;
  /** Sum of all reads. */
  totalRead: number;
  reads: number;
  /** A read outside [0, size] or with a bad length (the reader's bug, not the file's). */
  badRead: string | null;
}

export const newReadStats = (): ReadStats => ({ maxRead: 0, totalRead: 0, reads: 0, badRead: null });

/**
 * A ByteSource over `bytes` that records what is asked of it. 'unaligned' answers from an odd
 * offset of a larger buffer; 'shrunk' claims `extra` more bytes than there are (a file that shrank
 * after it was opened), so the last reads come back short.
 */
export function trackedSource(bytes: Uint8Array, mode: 'plain' | 'shrunk' | 'unaligned', stats: ReadStats, extra = 0): ByteSource {
  const size = mode === 'shrunk' ? bytes.byteLength + extra : bytes.byteLength;
  return {
    size,
    async read(offset, length) {
      stats.reads++;
      stats.totalRead += length;
      if (length > stats.maxRead) stats.maxRead = length;
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
        stats.badRead ??= `read(${offset}, ${length}) on a ${size}-byte source`;
      }
      const view = bytes.subarray(offset, offset + length); // short at the real end (a file that shrank)
      if (mode !== 'unaligned') return view;
      const host = new Uint8Array(view.byteLength + 3);
      host.set(view, 3);
      return host.subarray(3);
    },
  };
}

// ---------------------------------------------------------------- outcomes

/** An error message normalised into a class: numbers → N, quoted names → "…", brackets → […]. */
export function messageClass(msg: string): string {
  let m = msg
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/'(?:[^'\\]|\\.)*'/g, "'…'")
    .replace(/0x[0-9a-f]+/gi, 'N')
    .replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/gi, 'N')
    .replace(/\[[^\]]*\]/g, '[…]');
  // JSON.parse messages vary by token and position; keep their gist.
  const j = m.match(/^header is not valid JSON: (Unexpected token|Unexpected end|Unexpected non-whitespace|Expected|Bad|Unterminated|Unexpected)/);
  if (j) m = `header is not valid JSON: ${j[1]} …`;
  return m.length > 110 ? m.slice(0, 110) + '…' : m;
}

export function describeError(e: unknown): { outcome: string; message: string } {
  if (e instanceof Error) return { outcome: e.name || e.constructor.name, message: e.message };
  return { outcome: `non-Error ${typeof e}`, message: String(e) };
}

export class HangError extends Error {
  override name = 'Hang';
}

export async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new HangError(`no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** JS heap in use plus ArrayBuffer memory, in bytes. */
export const heapNow = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

export const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;

// ---------------------------------------------------------------- runs and their tallies

/** Options every fuzz run takes. */
export interface RunOptions<R> {
  cases?: number;
  seed?: number;
  /** First case index (to rerun one case: start = index, cases = 1). */
  start?: number;
  /** Per-case limit; a case past it is a failure. */
  caseTimeoutMs?: number;
  /** Called before each case's heap measurement (node --expose-gc: globalThis.gc). */
  gc?: () => void;
  /** After each case (progress, heartbeat). */
  onCase?: (r: R) => void;
}

/** What a case's result must say for the tally. */
export interface TalliedResult {
  mutation: string;
  /** 'ok' or the error's class name. */
  outcome: string;
  messageClass: string;
  /** Why the case breaks an invariant; null when it does not. */
  failure: string | null;
}

/** Counts of a run: outcomes, error classes, and per mutation. */
export interface Tally<R> {
  seed: number;
  cases: number;
  ok: number;
  rejected: number;
  failures: R[];
  /** Outcome classes ("ok", "PthError: …") → count. */
  byClass: Record<string, number>;
  byMutation: Record<string, { ok: number; rejected: number; failed: number }>;
  totalMs: number;
}

export const newTally = <R>(seed: number): Tally<R> => ({ seed, cases: 0, ok: 0, rejected: 0, failures: [], byClass: {}, byMutation: {}, totalMs: 0 });

/** Adds one result to the tally. */
export function tally<R extends TalliedResult>(s: Tally<R>, res: R): void {
  s.byClass[res.messageClass] = (s.byClass[res.messageClass] ?? 0) + 1;
  const m = (s.byMutation[res.mutation] ??= { ok: 0, rejected: 0, failed: 0 });
  if (res.failure) {
    s.failures.push(res);
    m.failed++;
  }
  if (res.outcome === 'ok') {
    s.ok++;
    m.ok++;
  } else {
    s.rejected++;
    m.rejected++;
  }
}

/** The tally's lines of a summary: outcomes, error classes, mutations. */
export function formatTally<R>(s: Tally<R>, label: string): string[] {
  const lines = [`  outcomes: ${s.ok} loaded, ${s.rejected} rejected with a named error, ${s.failures.length} FAILURES`, '  by error class:'];
  for (const [k, n] of Object.entries(s.byClass).sort((a, b) => b[1] - a[1])) lines.push(`    ${String(n).padStart(6)}  ${k}`);
  lines.push(`  by ${label} (ok / rejected / failed):`);
  for (const [k, m] of Object.entries(s.byMutation).sort()) lines.push(`    ${k.padEnd(28)} ${m.ok} / ${m.rejected} / ${m.failed}`);
  return lines;
}

// ---------------------------------------------------------------- command line

export interface CliSpec<O, S> {
  /** The fuzz script's import.meta.url: its worker runs the same file. */
  url: string;
  /** Options beyond --cases, --seed, --start, --timeout-ms and --hang-ms, with their defaults. */
  options?: Record<string, string>;
  /** The run's options from the parsed command line (strings as given). */
  toOptions(values: Record<string, string>): O;
  /** Runs the cases; onCase after each one (the heartbeat). */
  run(o: O, gc: (() => void) | undefined, onCase: (index: number, mutation: string) => void): Promise<S>;
  format(s: S): string;
  failed(s: S): boolean;
}

/** Whether the module at `url` is running as the fuzz command (the script, or its worker). */
export async function isFuzzEntry(url: string, name: RegExp): Promise<boolean> {
  if (typeof process === 'undefined') return false;
  if (process.argv[1] !== undefined && name.test(process.argv[1])) return true;
  try {
    return !(await import('node:worker_threads')).isMainThread && name.test(new URL(url).pathname);
  } catch {
    return false;
  }
}

/**
 * The fuzz command: parses --cases N --seed S --start K --timeout-ms T --hang-ms H (and the
 * spec's options), runs the cases in a worker thread and prints the summary. If no case finishes
 * within --hang-ms (a synchronous hang) the worker is killed and the case named. Exit code 1 on
 * failures, 2 on a hang, 3 when the worker dies.
 */
export async function fuzzCli<O, S>(spec: CliSpec<O, S>): Promise<void> {
  const { parseArgs } = await import('node:util');
  const { Worker, isMainThread, parentPort, workerData } = await import('node:worker_threads');
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!isMainThread) {
    const summary = await spec.run(workerData as O, gc, (index, mutation) => parentPort!.postMessage({ type: 'case', index, mutation }));
    parentPort!.postMessage({ type: 'done', summary });
    return;
  }
  const options: Record<string, { type: 'string'; default: string }> = {};
  const defaults = { cases: '10000', seed: '1', start: '0', 'timeout-ms': '5000', 'hang-ms': '60000', ...spec.options };
  for (const [k, v] of Object.entries(defaults)) options[k] = { type: 'string', default: v };
  const { values } = parseArgs({ options });
  const o = spec.toOptions(values as Record<string, string>);
  const hangMs = Number(values['hang-ms']);
  // V8 flags such as --expose-gc are process-wide: the worker has gc() when this process does.
  const worker = new Worker(new URL(spec.url), { workerData: o });
  let last = { index: Number(values.start) - 1, mutation: '' };
  let lastAt = Date.now();
  let done = 0;
  const timer = setInterval(() => {
    if (Date.now() - lastAt > hangMs) {
      console.error(`HANG: no case finished for ${hangMs} ms after case ${last.index} (${last.mutation}); next is case ${last.index + 1} (seed ${values.seed}): rerun with --start ${last.index + 1} --cases 1`);
      void worker.terminate();
      clearInterval(timer);
      process.exitCode = 2;
    }
  }, 1000);
  worker.on('message', (m: { type: string; index: number; mutation: string; summary: S }) => {
    if (m.type === 'case') {
      last = m;
      lastAt = Date.now();
      if (++done % 1000 === 0) console.error(`… ${done} cases`);
    } else {
      clearInterval(timer);
      console.log(spec.format(m.summary));
      if (spec.failed(m.summary)) process.exitCode = 1;
    }
  });
  worker.on('error', (e) => {
    clearInterval(timer);
    console.error(`worker died after case ${last.index}: ${e.stack ?? e}`);
    process.exitCode = 3;
  });
}
