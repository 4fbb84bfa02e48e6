// Time to first mask in a fresh process (issue 13, a fast first run), runtime-agnostic: get a
// device, load the weights, optionally create every pipeline (all at once or one by one, to measure
// what creating them in parallel saves) and warm the model up, then the first encode and decode,
// then warm ones for comparison. The runner (bench/first-run.mjs: Node, Deno; the bench page in
// Chromium) calls it once per process; bench/run.mjs --cold spawns the processes and empties the
// driver's shader cache first where asked. Every time is wall time in ms.
import type { Gpu } from '../src/gpu/device.js';
import { kernelPaths, type KernelPath, type KernelPaths } from '../src/gpu/kernels.js';
import type { PlanOptions } from '../src/gpu/plan.js';
import { sheppLogan } from '../src/image/phantom.js';
import { recordDecoder } from '../src/model/decoder.js';
import { recordEncoder } from '../src/model/encoder.js';
import { syntheticWeights } from '../src/model/keys.js';
import { SamUnet } from '../src/model/sam_unet.js';
import { pipelineCensus, TYPICAL_DECODERS } from '../src/model/warmup.js';
import type { Precision, Variant, WeightProvider } from '../src/model/weights.js';

export interface FirstRunOptions {
  model?: Variant;
  precision?: Precision;
  kernelPaths?: PlanOptions['kernels'];
  weights?: WeightProvider;
  /** Run model.warmup() before the first encode (default true). */
  warmup?: boolean;
  /**
   * Before the warm-up, create every pipeline of the encoder and typical decoders: 'parallel' (all
   * at once, as a plan build does), 'serial' (each awaited before the next); default none.
   */
  pipelines?: 'parallel' | 'serial';
  /** Warm encode + decode runs after the first (default 2). */
  warmRuns?: number;
  log?: (s: string) => void;
}

export interface PipelineCount {
  encoder: number;
  decoder: number;
  total: number;
  shaders: number;
}

export interface FirstRunReport {
  runtime: string;
  adapter: string;
  model: Variant;
  precision: Precision;
  kernel_paths: KernelPaths;
  warmup: boolean;
  pipeline_mode: 'parallel' | 'serial' | null;
  /** Distinct pipelines (shader + override constants) of this run's plans, and per kernel path at this precision. */
  pipelines: PipelineCount;
  pipelines_by_path: Record<KernelPath, PipelineCount>;
  device_ms: number;
  load_ms: number;
  /** Creating the pipelines alone (pipeline_mode), null when not asked. */
  pipelines_ms: number | null;
  warmup_ms: number | null;
  first_encode_ms: number;
  first_decode_ms: number;
  /** From the start of firstRun (device request included) to the first mask. */
  first_mask_ms: number;
  /** performance.now() at the first mask: since process start in Node and Deno (module loading included), since the worker started in a page. */
  first_mask_since_origin_ms: number;
  warm_encode_ms: number;
  warm_decode_ms: number;
  /** first / warm. */
  encode_ratio: number;
  decode_ratio: number;
}

const count = (c: { encoder: string[]; decoder: string[]; pipelines: number; shaders: number }): PipelineCount =>
  ({ encoder: c.encoder.length, decoder: c.decoder.length, total: c.pipelines, shaders: c.shaders });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

export async function firstRun(getGpu: () => Promise<Gpu>, opts: FirstRunOptions = {}): Promise<FirstRunReport> {
  const log = opts.log ?? (() => {});
  const t0 = performance.now();
  const gpu = await getGpu();
  const deviceMs = performance.now() - t0;
  const variant = opts.model ?? 'res50';
  const precision = opts.precision ?? 'f32';
  const planOptions: PlanOptions = { kernels: opts.kernelPaths };
  const t1 = performance.now();
  const model = await SamUnet.load(gpu, opts.weights ?? syntheticWeights(variant), { variant, precision, ...planOptions });
  const loadMs = performance.now() - t1;
  log(`adapter ${gpu.info.name}; device ${deviceMs.toFixed(0)} ms, weights ${loadMs.toFixed(0)} ms`);
  try {
    let pipelinesMs: number | null = null;
    if (opts.pipelines) {
      const plans = [recordEncoder(gpu, model.weights, [], planOptions), ...TYPICAL_DECODERS.map((s) => recordDecoder(gpu, model.weights, s, [], planOptions))];
      const s = performance.now();
      if (opts.pipelines === 'serial') for (const p of plans) await p.compilePipelines(true);
      else await Promise.all(plans.map((p) => p.compilePipelines()));
      pipelinesMs = performance.now() - s;
      log(`pipelines (${opts.pipelines}): ${pipelinesMs.toFixed(0)} ms`);
    }
    let warmupMs: number | null = null;
    if (opts.warmup !== false) {
      const w = await model.warmup();
      warmupMs = w.ms;
      log(`warm-up: ${w.ms.toFixed(0)} ms (${w.pipelines} pipelines${w.ran ? ', plans run once' : ''})`);
    }
    const image = sheppLogan(256);
    const e0 = performance.now();
    let emb = await model.encode(image);
    const firstEncode = performance.now() - e0;
    const d0 = performance.now();
    await model.decode(emb, { box: [70, 60, 150, 200] });
    const firstMask = performance.now();
    const firstDecode = firstMask - d0;
    log(`first encode ${firstEncode.toFixed(0)} ms, first decode ${firstDecode.toFixed(0)} ms; first mask at ${(firstMask - t0).toFixed(0)} ms`);
    const enc: number[] = [];
    const dec: number[] = [];
    for (let i = 0; i < (opts.warmRuns ?? 2); i++) {
      emb.destroy();
      const s = performance.now();
      emb = await model.encode(image);
      enc.push(performance.now() - s);
      const d = performance.now();
      await model.decode(emb, { box: [72 + i, 60, 150, 200 - i] });
      dec.push(performance.now() - d);
    }
    emb.destroy();
    const warmEncode = enc.length ? median(enc) : NaN;
    const warmDecode = dec.length ? median(dec) : NaN;
    log(`warm encode ${warmEncode.toFixed(0)} ms, decode ${warmDecode.toFixed(1)} ms`);
    const byPath = (path: KernelPath) => count(pipelineCensus(gpu, model.weights, { ...planOptions, kernels: { gemm: path, attention: path, norm: path, layout: path } }));
    return {
      runtime: gpu.info.runtime,
      adapter: gpu.info.name,
      model: variant,
      precision: model.weights.precision,
      kernel_paths: kernelPaths(gpu.info, opts.kernelPaths),
      warmup: opts.warmup !== false,
      pipeline_mode: opts.pipelines ?? null,
      pipelines: count(pipelineCensus(gpu, model.weights, planOptions)),
      pipelines_by_path: { tiled: byPath('tiled'), cpu: byPath('cpu') },
      device_ms: deviceMs,
      load_ms: loadMs,
      pipelines_ms: pipelinesMs,
      warmup_ms: warmupMs,
      first_encode_ms: firstEncode,
      first_decode_ms: firstDecode,
      first_mask_ms: firstMask - t0,
      first_mask_since_origin_ms: firstMask,
      warm_encode_ms: warmEncode,
      warm_decode_ms: warmDecode,
      encode_ratio: firstEncode / warmEncode,
      decode_ratio: firstDecode / warmDecode,
    };
  } finally {
    model.destroy();
  }
}
