// The benchmark page's worker: runs the bench core (bench/bench.ts) on this worker's WebGPU device
// and streams its log lines to the page, then the report. Messages in: { type: 'run', opts }; out:
// { type: 'ready', adapter, precisions, families } once, then per run { type: 'log', line }… and
// { type: 'report', report } or { type: 'error', name, message }.
import { runBench, type BenchOptions } from '../bench/bench.js';
import { firstRun, type FirstRunOptions } from '../bench/first_run.js';
import { requestGpu, type Gpu } from '../src/gpu/device.js';
import { KERNEL_FAMILIES } from '../src/gpu/kernels.js';
import { PRECISIONS } from '../src/weights/load.js';

/** `firstRun`: the time-to-first-mask run of bench/first_run.ts instead (bench/run.mjs --cold). */
export type BenchRunOptions = Omit<BenchOptions, 'log' | 'weights'> & Pick<FirstRunOptions, 'warmup' | 'pipelines' | 'warmRuns'> & { firstRun?: boolean };
export type FromPage = { type: 'run'; opts: BenchRunOptions };
export type ToPage =
  | { type: 'ready'; adapter: string; isSoftware: boolean; features: string[]; precisions: readonly string[]; families: readonly string[] }
  | { type: 'log'; line: string }
  | { type: 'report'; report: unknown }
  | { type: 'error'; name: string; message: string };

const post = (m: ToPage) => (self as unknown as Worker).postMessage(m);
const fail = (e: unknown) => post({ type: 'error', name: (e as Error)?.name ?? 'Error', message: (e as Error)?.message ?? String(e) });

let gpu: Gpu | null = null;
let busy = false;

self.onmessage = async (ev: MessageEvent<FromPage>) => {
  if (ev.data?.type !== 'run') return;
  if (busy || !gpu) return fail(new Error(busy ? 'a run is in progress' : 'no WebGPU device'));
  busy = true;
  try {
    const log = (line: string) => post({ type: 'log', line });
    const g = gpu;
    const report = ev.data.opts.firstRun ? await firstRun(async () => g, { ...ev.data.opts, log }) : await runBench(gpu, { ...ev.data.opts, log });
    post({ type: 'report', report: { ...report, runtime: `${report.runtime} (${navigator.userAgent.match(/(Chrome|Firefox|Version)\/[\d.]+/)?.[0] ?? 'unknown browser'}, worker)` } });
  } catch (e) {
    fail(e);
  } finally {
    busy = false;
  }
};

try {
  gpu = await requestGpu({ timestamps: true, f16: true }); // f16: precision 'f16-compute' where the GPU has shader-f16
  post({ type: 'ready', adapter: gpu.info.name, isSoftware: gpu.info.isSoftware, features: gpu.info.features, precisions: PRECISIONS, families: KERNEL_FAMILIES });
} catch (e) {
  fail(e);
}
