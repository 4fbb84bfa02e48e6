// Benchmark timings of a built plan: whole runs (wall clock, and GPU time between two timestamps)
// and every dispatch alone (GPU timestamps). Runs with the inputs as last written.
import type { Gpu } from './device.js';
import type { PoliteWait } from './wait.js';

/** What timing needs of a plan. */
export interface Timeable {
  readonly label: string;
  readonly gpu: Gpu;
  readonly wait: PoliteWait;
  /** Encodes one whole run (no segment skipped) into one compute pass. */
  encodeRun(encoder: GPUCommandEncoder, timestampWrites?: GPUComputePassTimestampWrites): void;
  readonly dispatches: readonly {
    label: string;
    shader: string;
    /** Sets its pipeline and bind group on `pass` and dispatches it `reps` times. */
    encode(pass: GPUComputePassEncoder, reps: number): void;
  }[];
}

export interface DispatchTime {
  label: string;
  shader: string;
  gpuMs: number;
}

/** Dispatches per query set in profile() (two queries each; Dawn allows 4096 per set). */
const PROFILE_CHUNK = 2048;

/**
 * Runs the plan `n` times in one command buffer; returns the wall time per repetition in ms, and
 * the GPU time per repetition when the device has `timestamp-query`.
 */
export async function timeRuns(t: Timeable, n: number): Promise<{ wallMs: number; gpuMs: number | null }> {
  const device = t.gpu.device;
  const ts = t.gpu.hasTimestamps;
  const qs = ts ? device.createQuerySet({ type: 'timestamp', count: 2 }) : null;
  const resolve = ts ? device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }) : null;
  const read = ts ? device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }) : null;
  try {
    const encoder = device.createCommandEncoder({ label: `${t.label} x${n}` });
    for (let i = 0; i < n; i++) {
      const first = i === 0;
      const last = i === n - 1;
      t.encodeRun(encoder, qs && (first || last)
        ? { querySet: qs, beginningOfPassWriteIndex: first ? 0 : undefined, endOfPassWriteIndex: last ? 1 : undefined }
        : undefined);
    }
    if (qs) {
      encoder.resolveQuerySet(qs, 0, 2, resolve!, 0);
      encoder.copyBufferToBuffer(resolve!, 0, read!, 0, 16);
    }
    const t0 = performance.now();
    device.queue.submit([encoder.finish()]);
    const slept = await t.wait.sleep(n);
    await device.queue.onSubmittedWorkDone();
    const wallMs = (performance.now() - t0) / n;
    t.wait.learn(wallMs * n, slept, n);
    let gpuMs: number | null = null;
    if (read) {
      await read.mapAsync(GPUMapMode.READ);
      const stamps = new BigUint64Array(read.getMappedRange());
      const dt = Number(stamps[1]! - stamps[0]!) / 1e6 / n;
      read.unmap();
      gpuMs = dt > 0 ? dt : null;
    }
    return { wallMs, gpuMs };
  } finally {
    qs?.destroy();
    resolve?.destroy();
    read?.destroy();
  }
}

/**
 * GPU time of every dispatch: each one runs `reps` times in a compute pass of its own, between two
 * timestamps, all in one command buffer per chunk. Null when the device has no `timestamp-query`.
 * A dispatch timed alone misses the overlap a real run may get between neighbours, so the sum can
 * exceed timeRuns()'s.
 */
export async function profileDispatches(t: Timeable, reps: number): Promise<DispatchTime[] | null> {
  if (!t.gpu.hasTimestamps) return null;
  const device = t.gpu.device;
  const out: DispatchTime[] = [];
  for (let first = 0; first < t.dispatches.length; first += PROFILE_CHUNK) {
    const chunk = t.dispatches.slice(first, first + PROFILE_CHUNK);
    const n = chunk.length;
    const qs = device.createQuerySet({ type: 'timestamp', count: 2 * n });
    const resolve = device.createBuffer({ size: 16 * n, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const read = device.createBuffer({ size: 16 * n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      const encoder = device.createCommandEncoder({ label: `${t.label} profile` });
      chunk.forEach((d, j) => {
        const pass = encoder.beginComputePass({ timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 2 * j, endOfPassWriteIndex: 2 * j + 1 } });
        d.encode(pass, reps);
        pass.end();
      });
      encoder.resolveQuerySet(qs, 0, 2 * n, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, read, 0, 16 * n);
      device.queue.submit([encoder.finish()]);
      await t.wait.sleep(reps);
      await device.queue.onSubmittedWorkDone();
      await read.mapAsync(GPUMapMode.READ);
      const stamps = new BigUint64Array(read.getMappedRange());
      chunk.forEach((d, j) => {
        const dt = Number(stamps[2 * j + 1]! - stamps[2 * j]!) / 1e6 / reps;
        out.push({ label: d.label, shader: d.shader, gpuMs: Math.max(0, dt) });
      });
      read.unmap();
    } finally {
      qs.destroy();
      resolve.destroy();
      read.destroy();
    }
  }
  return out;
}
