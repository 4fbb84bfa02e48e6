// Dawn in Node busy-waits a JS thread while a GPU promise is pending, which steals a core from a
// software adapter (the res50 encoder took 4.9 s instead of 3.0 s on lavapipe). A plan sleeps for
// most of the run time it expects before it awaits the GPU, which gives that core back; the
// expectation is learnt from the plan's last run.
import type { AdapterDescription } from './device.js';

export const sleep = (ms: number): Promise<void> => new Promise<void>((r) => setTimeout(r, ms));

/** Whether the busy wait costs a core: Dawn in Node on a software adapter. */
export const busyWaits = (info: AdapterDescription): boolean => info.runtime === 'node' && info.isSoftware;

export class PoliteWait {
  /** The expected time of one run (ms). */
  private estimateMs = Infinity;
  /** No run learnt from yet: the next one pays for the driver's deferred work. */
  private cold = true;

  constructor(private readonly info: AdapterDescription) {}

  /** Sleeps for most of the expected time of `reps` runs where the busy wait costs a core; returns the ms slept. */
  async sleep(reps = 1): Promise<number> {
    const ms = Number.isFinite(this.estimateMs) ? this.estimateMs * reps * 0.85 : 0;
    if (busyWaits(this.info) && ms > 17) {
      await sleep(ms);
      return ms;
    }
    return 0;
  }

  /** Learns from `reps` repetitions that took `ms` in all, `sleptMs` of it asleep. */
  learn(ms: number, sleptMs: number, reps = 1): void {
    let per = ms / reps;
    // The first run pays for work a driver defers (shader compilation, first touch of buffers): it
    // took 1.8x (encoder) to 10x (decoder) a warm run on lavapipe, up to 2.4x under load. It is not
    // learnt: a guess from it overslept every later run for many runs (each oversleep only shrinks
    // the estimate by a fifth), so the second run busy-waits and is learnt instead.
    if (this.cold) {
      this.cold = false;
      return;
    }
    // Woken to find the work done: the run may have been much shorter than the sleep. Otherwise the
    // run took `ms` (the estimate follows the last run both ways: a slow run, e.g. on a machine busy
    // with other work, costs at most one oversleep).
    if (sleptMs > 0 && ms - sleptMs < 0.05 * sleptMs) per = (0.8 * sleptMs) / reps;
    this.estimateMs = per;
  }

  /** A warm-up run (Plan.run's `warmup`) paid for the deferred work: the next run is learnt from. */
  warmedUp(): void {
    this.cold = false;
  }
}
