// Runs the items of a batch one after another: items whose outputs all exist are skipped with
// --resume; a failing item is recorded and the batch goes on (unless the failure is fatal for the
// rest, such as a lost GPU); an abort signal (the first Ctrl-C) stops it after the current item.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { BatchItem } from './manifest.js';
import type { ProgressReporter } from './progress.js';

export interface BatchSummary {
  /** Items in this run (this shard). */
  total: number;
  done: number;
  /** Already done (--resume). */
  skipped: number;
  failed: { item: BatchItem; error: string }[];
  /** Not started: interrupted, or stopped by a fatal error. */
  notRun: number;
  interrupted: boolean;
  seconds: number;
}

export interface RunOptions {
  resume: boolean;
  reporter: ProgressReporter;
  /** Aborted: finish the current item, start no other. */
  signal?: AbortSignal;
  /** An error after which no item can succeed (the GPU is gone): stop. */
  fatal?: (e: unknown) => boolean;
}

/** `line 12 (ct1.png)` */
export function itemName(item: BatchItem): string {
  return `line ${item.line} (${basename(item.input)})`;
}

/** Whether every output of `item` exists. */
export function isDone(item: BatchItem): boolean {
  return item.outputs.every((o) => existsSync(o));
}

export async function runBatch(items: readonly BatchItem[], handle: (item: BatchItem) => Promise<void>, opts: RunOptions): Promise<BatchSummary> {
  const t0 = performance.now();
  const todo = opts.resume ? items.filter((it) => !isDone(it)) : [...items];
  const s: BatchSummary = { total: items.length, done: 0, skipped: items.length - todo.length, failed: [], notRun: 0, interrupted: false, seconds: 0 };
  opts.reporter.start(items.length, s.skipped);
  for (let i = 0; i < todo.length; i++) {
    const item = todo[i]!;
    if (opts.signal?.aborted) {
      s.interrupted = true;
      s.notRun = todo.length - i;
      break;
    }
    try {
      await handle(item);
      s.done++;
      opts.reporter.item(itemName(item), 'done');
    } catch (e) {
      const err = e as Error;
      const error = `${err?.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err?.message ?? String(e)}`;
      s.failed.push({ item, error });
      opts.reporter.item(itemName(item), 'failed', error);
      if (opts.fatal?.(e)) {
        s.notRun = todo.length - i - 1;
        break;
      }
    }
  }
  s.interrupted = !!opts.signal?.aborted;
  opts.reporter.end();
  s.seconds = (performance.now() - t0) / 1000;
  return s;
}

/** The closing report: counts, then each failed item with its error. */
export function summaryText(s: BatchSummary, shard?: { k: number; n: number }): string {
  const parts = [`${s.done} done`, `${s.skipped} skipped (already done)`, `${s.failed.length} failed`];
  if (s.notRun) parts.push(`${s.notRun} not run${s.interrupted ? ' (interrupted)' : ''}`);
  const lines = [`batch: ${s.total} item(s)${shard ? ` in shard ${shard.k}/${shard.n}` : ''}: ${parts.join(', ')} in ${s.seconds.toFixed(1)} s`];
  for (const f of s.failed) lines.push(`  failed: ${itemName(f.item)}: ${f.error}`);
  return lines.join('\n');
}
