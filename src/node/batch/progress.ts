// Progress of a batch on stderr. On a terminal: one line, redrawn in place, with items done of the
// total, items/s and the time left; failures print above it. Elsewhere (a log file, a CI job, a
// Slurm output file): one plain line per item. Rates count the items processed in this run, not
// those skipped as already done.

/** Where progress goes: a stream, and whether it is a terminal. */
export interface ProgressSink {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type ItemStatus = 'done' | 'failed' | 'skipped';

export interface ProgressReporter {
  /** `total` items in this run (this shard), of which `skipped` are already done. */
  start(total: number, skipped: number): void;
  /** One item finished. `name` identifies it (line and input), `error` says why it failed. */
  item(name: string, status: ItemStatus, error?: string): void;
  /** Removes the in-place line (before the summary). */
  end(): void;
}

/** "1:05" / "1:02:03" */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}

export function progressReporter(sink: ProgressSink, now: () => number = () => performance.now()): ProgressReporter {
  let total = 0, finished = 0, processed = 0, t0 = 0;
  let drawn = false;
  const tty = !!sink.isTTY;
  const status = (): string => {
    const secs = (now() - t0) / 1000;
    // No rate in the first second: a quick failure would promise thousands of items per second.
    const rate = processed > 0 && secs >= 1 ? processed / secs : 0;
    const left = total - finished;
    return `${finished}/${total} items, ${rate ? rate.toFixed(2) : '?'} items/s, ${left ? `${rate ? clock(left / rate) : '?'} left` : `done in ${clock(secs)}`}`;
  };
  const clear = () => {
    if (drawn) sink.write('\r\x1b[2K');
    drawn = false;
  };
  const draw = (last: string) => {
    const width = Math.max(20, (sink.columns ?? 100) - 1);
    const line = `${status()} · ${last}`;
    sink.write(`\r\x1b[2K${line.length > width ? line.slice(0, width - 1) + '…' : line}`);
    drawn = true;
  };
  return {
    start(n, skipped) {
      total = n;
      finished = skipped;
      t0 = now();
      if (tty) draw(skipped ? `${skipped} already done` : 'starting');
      else sink.write(`batch: ${n} item(s)${skipped ? `, ${skipped} already done` : ''}\n`);
    },
    item(name, st, error) {
      finished++;
      if (st !== 'skipped') processed++;
      if (tty) {
        if (st === 'failed') {
          clear();
          sink.write(`failed: ${name}: ${error}\n`);
        }
        draw(`${name} ${st}`);
      } else {
        sink.write(`${status()} · ${name} ${st}${error ? `: ${error}` : ''}\n`);
      }
    },
    end() {
      if (tty) {
        clear();
      }
    },
  };
}
