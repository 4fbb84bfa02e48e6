// The benchmark core, runtime-agnostic (Node, Deno, a browser page): every kernel at the model's
// real shapes, the best matmul rate on the adapter, and the whole model end to end (cold and warm).
// Runners: bench/run.mjs (CLI, --runtime node|deno|chrome), which compile it with bench/tsconfig.json
// into bench/dist/ (with the library sources it imports).
import type { Gpu } from '../src/gpu/device.js';
import { Plan, type PlanOptions } from '../src/gpu/plan.js';
import { KERNEL_FAMILIES, kernelPaths, type KernelPaths } from '../src/gpu/kernels.js';
import { trackBuffers } from '../src/gpu/tracking.js';
import type { Tensor } from '../src/gpu/tensor.js';
import { attention } from '../src/ops/attention.js';
import { attentionRelPos } from '../src/ops/attention_relpos.js';
import { conv2d } from '../src/ops/conv2d.js';
import { convTranspose2x2 } from '../src/ops/conv_transpose.js';
import { layerNorm, layerNorm2d } from '../src/ops/layernorm.js';
import { linear, matmul } from '../src/ops/matmul.js';
import { permute } from '../src/ops/layout.js';
import { sheppLogan } from '../src/image/phantom.js';
import { syntheticWeights } from '../src/model/keys.js';
import { SamUnet } from '../src/model/sam_unet.js';
import type { Precision, Variant, WeightProvider } from '../src/model/weights.js';

/** Nominal cost of one res50 forward (SAM-UNET.md): upstream's count, windowed blocks on 784 padded tokens. */
export const MODEL_GFLOP: Record<Variant, number> = { res50: 91.6, res34: 0 };

export interface KernelResult {
  name: string;
  shape: string;
  median_ms: number;
  gflops: number | null;
  gbps: number | null;
  /** GPU timestamp time, where the adapter has timestamp queries. */
  gpu_ms: number | null;
}

/** GPU time of one kernel family (shader) within a plan, summed over its dispatches. */
export interface ProfileRow {
  kernel: string;
  calls: number;
  gpu_ms: number;
}

/** Live GPU buffers (all made through this device since the bench started) at a point of the run. */
export interface MemoryPoint {
  run: number;
  buffers: number;
  bytes: number;
}

export interface BenchReport {
  runtime: string;
  adapter: string;
  model: Variant;
  /** How the ViT linear weights were held (LoadOptions.precision). */
  precision: Precision;
  /** The kernel variant of each family in every plan. */
  kernel_paths: KernelPaths;
  load_ms: number;
  encode_ms: { cold: number; median: number; runs: number[] };
  decode_ms: { cold: number; median: number; runs: number[] };
  peak_gpu_bytes: number;
  weights_bytes: number;
  encoder_temp_bytes: number;
  encoder_temp_bytes_unshared: number;
  matmul_best_gflops: number;
  model_gflop: number;
  model_gflops: number;
  model_fraction_of_matmul_best: number;
  decode_fraction_of_encode: number;
  kernels: KernelResult[];
  /** Per kernel family, from Plan.profile (each dispatch timed alone); null without timestamps. */
  encoder_profile: ProfileRow[] | null;
  decoder_profile: ProfileRow[] | null;
  /** Live GPU buffers after the timed runs (every encode and the first decode), then after every
   * 10th soak run (`run`: 1, then 1 + soak runs done). */
  memory: MemoryPoint[];
  /** Whether the live buffer bytes after the last soak run exceed those after the timed runs. */
  memory_grew: boolean;
}

export interface BenchOptions {
  model?: Variant;
  /** Warm encoder runs (median taken). */
  runs?: number;
  decodeRuns?: number;
  kernels?: boolean;
  /** Repetitions per kernel timing (one command buffer). */
  reps?: number;
  samples?: number;
  weights?: WeightProvider;
  precision?: Precision;
  /** Extra consecutive (encode, decode) runs after the timings, watching live GPU memory. */
  soak?: number;
  /** Kernel variants to force, per family (PlanOptions.kernels); default: the adapter's. */
  kernelPaths?: PlanOptions['kernels'];
  log?: (s: string) => void;
}

function byKernel(prof: { shader: string; gpuMs: number }[] | null): ProfileRow[] | null {
  if (!prof) return null;
  const m = new Map<string, ProfileRow>();
  for (const r of prof) {
    const row = m.get(r.shader) ?? { kernel: r.shader, calls: 0, gpu_ms: 0 };
    row.calls++;
    row.gpu_ms += r.gpuMs;
    m.set(r.shader, row);
  }
  return [...m.values()].sort((a, b) => b.gpu_ms - a.gpu_ms);
}

function logProfile(log: (s: string) => void, what: string, rows: ProfileRow[] | null): void {
  if (!rows) return;
  const total = rows.reduce((a, r) => a + r.gpu_ms, 0);
  log(`${what} by kernel (each dispatch timed alone, GPU timestamps; sum ${total.toFixed(1)} ms):`);
  for (const r of rows) {
    log(`  ${r.kernel.padEnd(24)} ${String(r.calls).padStart(4)} calls ${r.gpu_ms.toFixed(2).padStart(10)} ms ${(100 * r.gpu_ms / total).toFixed(1).padStart(5)} %`);
  }
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

function randomInput(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296 - 0.5) * 0.2;
  }
  return out;
}

interface KernelCase {
  name: string;
  shape: string;
  flop?: number;
  bytes?: number;
  /** Records the op on `p` over inputs made with `inp`. */
  record: (p: Plan, inp: (name: string, shape: number[]) => Tensor) => Tensor;
}

/** The kernels at the shapes the model runs them. */
export function modelKernels(): KernelCase[] {
  const lin = (name: string, M: number, K: number, N: number, act: 'none' | 'gelu' = 'none', residual = false): KernelCase => ({
    name,
    shape: `[${M}, ${K}] x [${N}, ${K}]ᵀ`,
    flop: 2 * M * N * K,
    record: (p, inp) => linear(p, inp('x', [M, K]), inp('w', [N, K]), inp('b', [N]), { act, residual: residual ? inp('r', [M, N]) : undefined }),
  });
  const conv = (name: string, C: number, H: number, O: number, k: number, stride: number, pad: number): KernelCase => {
    const Ho = Math.floor((H + 2 * pad - k) / stride) + 1;
    return {
      name,
      shape: `${C}x${H}x${H} -> ${O}x${Ho}x${Ho}, ${k}x${k} s${stride} p${pad}`,
      flop: 2 * O * Ho * Ho * C * k * k,
      record: (p, inp) => conv2d(p, inp('x', [1, C, H, H]), inp('w', [O, C, k, k]), inp('b', [O]), { stride, pad, act: 'relu' }),
    };
  };
  const convT = (name: string, C: number, H: number, O: number): KernelCase => ({
    name,
    shape: `${C}x${H}x${H} -> ${O}x${2 * H}x${2 * H}`,
    flop: 2 * O * 4 * H * H * C,
    record: (p, inp) => convTranspose2x2(p, inp('x', [1, C, H, H]), inp('w', [C, O, 2, 2]), inp('b', [O])),
  });
  const relpos = (name: string, ws: number): KernelCase => {
    const S = 16, H = 12, d = 64;
    const keys = ws * ws;
    return {
      name,
      shape: `16x16 tokens, ${H} heads x ${d}, window ${ws}`,
      // q·k and p·v over all (padded) keys of each real query, plus the rel-pos dot products.
      flop: S * S * H * (2 * 2 * keys * d + 2 * 2 * ws * d),
      record: (p, inp) => attentionRelPos(p, inp('qkv', [1, S * S, 3 * H * d]), inp('bias', [3 * H * d]), inp('rh', [2 * ws - 1, d]), inp('rw', [2 * ws - 1, d]), { heads: H, size: S, window: ws }),
    };
  };
  const mha = (name: string, N: number, Tq: number, Tk: number, C: number): KernelCase => ({
    name,
    shape: `N ${N}, ${Tq} x ${Tk} tokens, ${C} ch, 8 heads`,
    flop: N * 2 * 2 * Tq * Tk * C,
    record: (p, inp) => attention(p, inp('q', [N, Tq, C]), inp('k', [N, Tk, C]), inp('v', [N, Tk, C]), { heads: 8 }),
  });
  return [
    lin('vit.qkv', 256, 768, 2304),
    lin('vit.proj (+residual)', 256, 768, 768, 'none', true),
    lin('vit.mlp.lin1 (+gelu)', 256, 768, 3072, 'gelu'),
    lin('vit.mlp.lin2 (+residual)', 256, 3072, 768, 'none', true),
    relpos('vit.attn windowed', 14),
    relpos('vit.attn global', 16),
    {
      name: 'vit.layernorm',
      shape: '[256, 768]',
      bytes: 2 * 256 * 768 * 4,
      record: (p, inp) => layerNorm(p, inp('x', [256, 768]), inp('g', [768]), inp('b', [768]), 1e-6),
    },
    conv('patch_embed', 3, 256, 768, 16, 16, 0),
    conv('resnet.stage0 conv 7x7', 3, 256, 64, 7, 2, 3),
    conv('resnet.stage1 conv 3x3', 64, 64, 64, 3, 1, 1),
    conv('resnet.stage1 conv 1x1', 64, 64, 256, 1, 1, 0),
    conv('resnet.stage2 conv 3x3 s2', 128, 64, 128, 3, 2, 1),
    conv('resnet.stage3 conv 3x3', 256, 16, 256, 3, 1, 1),
    conv('resnet.stage4 conv 1x1', 512, 8, 2048, 1, 1, 0),
    conv('adapters_in.0 conv 3x3 s2', 256, 64, 512, 3, 2, 1),
    conv('adapters_in.0 conv 3x3 s2 (2)', 512, 32, 1024, 3, 2, 1),
    conv('adapters_in conv 1x1 -> 768', 1024, 16, 768, 1, 1, 0),
    conv('neck conv 3x3', 256, 16, 256, 3, 1, 1),
    convT('adapters_bridge convT 1', 768, 16, 256),
    convT('adapters_bridge convT 2', 256, 32, 32),
    {
      name: 'layernorm2d (+gelu)',
      shape: '[1, 256, 32, 32]',
      bytes: 2 * 256 * 32 * 32 * 4,
      record: (p, inp) => layerNorm2d(p, inp('x', [1, 256, 32, 32]), inp('g', [256]), inp('b', [256]), 1e-6, { act: 'gelu' }),
    },
    {
      name: 'permute nhwc->nchw',
      shape: '[1, 16, 16, 768]',
      bytes: 2 * 256 * 768 * 4,
      record: (p, inp) => permute(p, inp('x', [1, 16, 16, 768]), [0, 3, 1, 2]),
    },
    mha('decoder token->image attn', 1, 8, 256, 128),
    mha('decoder image->token attn', 1, 256, 8, 128),
    {
      name: 'decoder mask product',
      shape: '[1, 32] x [32, 4096]',
      flop: 2 * 32 * 4096,
      record: (p, inp) => matmul(p, inp('h', [1, 32]), inp('f', [32, 4096])),
    },
  ];
}

async function timeCase(gpu: Gpu, c: KernelCase, reps: number, samples: number, opts: PlanOptions = {}): Promise<KernelResult> {
  const p = new Plan(gpu, c.name, opts);
  const inputs: Record<string, Float32Array> = {};
  let seed = 1;
  const out = c.record(p, (name, shape) => {
    inputs[name] = randomInput(shape.reduce((a, b) => a * b, 1), seed++);
    return p.input(name, shape);
  });
  p.output('y', out);
  await p.build();
  try {
    await p.run(inputs, []);
    await p.time(1); // warm-up
    const wall: number[] = [];
    const gpuT: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t = await p.time(reps);
      wall.push(t.wallMs);
      if (t.gpuMs !== null) gpuT.push(t.gpuMs);
    }
    const ms = median(wall);
    const g = gpuT.length ? median(gpuT) : null;
    const best = g ?? ms;
    return {
      name: c.name,
      shape: c.shape,
      median_ms: ms,
      gpu_ms: g,
      gflops: c.flop ? c.flop / (best * 1e6) : null,
      gbps: c.bytes ? c.bytes / (best * 1e6) : null,
    };
  } finally {
    p.destroy();
  }
}

/** The best rate of our GEMM on this adapter, over a few large shapes. */
export async function matmulBest(gpu: Gpu, samples = 3, opts: PlanOptions = {}): Promise<KernelResult> {
  const shapes: [number, number, number][] = [[1024, 1024, 1024], [784, 768, 3072], [2048, 1024, 1024]];
  let best: KernelResult | null = null;
  for (const [M, K, N] of shapes) {
    const r = await timeCase(gpu, {
      name: 'matmul best',
      shape: `${M}x${K}x${N}`,
      flop: 2 * M * N * K,
      record: (p, inp) => linear(p, inp('x', [M, K]), inp('w', [N, K]), null),
    }, 1, samples, opts);
    if (!best || r.gflops! > best.gflops!) best = r;
  }
  return best!;
}

export async function runBench(gpu: Gpu, opts: BenchOptions = {}): Promise<BenchReport> {
  const log = opts.log ?? (() => {});
  const variant = opts.model ?? 'res50';
  const runs = opts.runs ?? 5;
  const decodeRuns = opts.decodeRuns ?? 10;
  const kernels: KernelResult[] = [];
  const isSlow = gpu.info.isSoftware;
  const reps = opts.reps ?? (isSlow ? 3 : 50);
  const samples = opts.samples ?? (isSlow ? 3 : 7);
  const paths = kernelPaths(gpu.info, opts.kernelPaths);
  log(`adapter: ${gpu.info.name}; kernels ${KERNEL_FAMILIES.map((f) => `${f} ${paths[f]}`).join(', ')}`);

  const planOptions: PlanOptions = { kernels: opts.kernelPaths };
  const mm = await matmulBest(gpu, samples, planOptions);
  log(`matmul best: ${mm.gflops!.toFixed(1)} GFLOP/s at ${mm.shape}`);
  if (opts.kernels !== false) {
    for (const c of modelKernels()) {
      const r = await timeCase(gpu, c, reps, samples, planOptions);
      kernels.push(r);
      log(`${r.name.padEnd(32)} ${r.shape.padEnd(44)} ${r.median_ms.toFixed(3).padStart(9)} ms${r.gpu_ms !== null ? ` (gpu ${r.gpu_ms.toFixed(3)})` : ''}` +
        `${r.gflops !== null ? `  ${r.gflops.toFixed(1)} GFLOP/s` : ''}${r.gbps !== null ? `  ${r.gbps.toFixed(1)} GB/s` : ''}`);
    }
  }

  // Every buffer made from here on is counted (the kernel cases above destroyed theirs).
  const tracker = trackBuffers(gpu.device);
  tracker.resetPeak();
  const memory: MemoryPoint[] = [];
  const t0 = performance.now();
  const precision = opts.precision ?? 'f32';
  const model = await SamUnet.load(gpu, opts.weights ?? syntheticWeights(variant), { variant, precision, ...planOptions });
  const loadMs = performance.now() - t0;
  log(`weights loaded in ${loadMs.toFixed(0)} ms (${(model.weights.bytes / 1e6).toFixed(0)} MB on the GPU, precision ${precision})`);
  try {
    const image = sheppLogan(256);
    const { input, frame } = SamUnet.prepare(image);
    const c0 = performance.now();
    let emb = await model.encodeInput(input, frame);
    const cold = performance.now() - c0;
    log(`encode cold (pipelines + first run): ${cold.toFixed(0)} ms`);
    const encRuns: number[] = [];
    for (let i = 0; i < runs; i++) {
      emb.destroy();
      const s = performance.now();
      emb = await model.encodeInput(input, frame);
      // encodeInput returns after the encoder plan finished on the GPU.
      encRuns.push(performance.now() - s);
      log(`encode run ${i + 1}: ${encRuns[i]!.toFixed(0)} ms`);
    }
    const prompt = { box: [70, 60, 150, 200] as const };
    const d0 = performance.now();
    await model.decode(emb, prompt);
    const decCold = performance.now() - d0;
    memory.push({ run: 1, ...tracker.live });
    const decRuns: number[] = [];
    for (let i = 0; i < decodeRuns; i++) {
      const s = performance.now();
      await model.decode(emb, { box: [70 + i, 60, 150, 200 - i] });
      decRuns.push(performance.now() - s);
    }
    const enc = await model.encoderPlan();
    const f = emb.frame;
    const dec = await model.decoderPlan({ n: 1, t: 2, hasMask: false, inputH: f.inputH, inputW: f.inputW, origH: f.height, origW: f.width });
    const encoderProfile = byKernel(await enc.profile(1));
    const decoderProfile = byKernel(await dec.profile(isSlow ? 3 : 20));
    const soak = opts.soak ?? 0;
    for (let i = 0; i < soak; i++) {
      emb.destroy();
      emb = await model.encodeInput(input, frame);
      await model.decode(emb, { box: [60 + (i % 50), 50, 160, 210 - (i % 30)] });
      if ((i + 1) % 10 === 0 || i + 1 === soak) {
        memory.push({ run: i + 2, ...tracker.live });
        log(`soak run ${i + 1}/${soak}: ${tracker.live.buffers} live GPU buffers, ${(tracker.live.bytes / 2 ** 20).toFixed(1)} MiB`);
      }
    }
    emb.destroy();
    const encMed = median(encRuns);
    const decMed = median(decRuns);
    const gflop = MODEL_GFLOP[variant] || 0;
    const last = memory[memory.length - 1]!;
    const report: BenchReport = {
      runtime: gpu.info.runtime,
      adapter: gpu.info.name,
      model: variant,
      precision,
      kernel_paths: paths,
      load_ms: loadMs,
      encode_ms: { cold, median: encMed, runs: encRuns },
      decode_ms: { cold: decCold, median: decMed, runs: decRuns },
      peak_gpu_bytes: tracker.peak.bytes,
      weights_bytes: model.weights.bytes,
      encoder_temp_bytes: enc.stats!.tempBytes,
      encoder_temp_bytes_unshared: enc.stats!.tempBytesUnshared,
      matmul_best_gflops: mm.gflops!,
      model_gflop: gflop,
      model_gflops: gflop ? gflop / (encMed / 1000) : 0,
      model_fraction_of_matmul_best: gflop ? gflop / (encMed / 1000) / mm.gflops! : 0,
      decode_fraction_of_encode: decMed / encMed,
      kernels,
      encoder_profile: encoderProfile,
      decoder_profile: decoderProfile,
      memory,
      memory_grew: last.bytes > memory[0]!.bytes,
    };
    logProfile(log, 'encoder', encoderProfile);
    logProfile(log, 'decoder', decoderProfile);
    log(`encode median ${encMed.toFixed(0)} ms, decode median ${decMed.toFixed(1)} ms (${(100 * report.decode_fraction_of_encode).toFixed(2)} % of encode)`);
    if (gflop) log(`model rate ${report.model_gflops.toFixed(2)} GFLOP/s (nominal ${gflop} GFLOP) = ${(100 * report.model_fraction_of_matmul_best).toFixed(0)} % of the best matmul rate`);
    if (soak) log(`GPU memory over ${soak} more encode + decode runs: ${memory[0]!.buffers} buffers / ${memory[0]!.bytes} bytes before, ${last.buffers} / ${last.bytes} after${report.memory_grew ? ' (GREW)' : ' (no growth)'}`);
    log(`peak GPU memory ${(report.peak_gpu_bytes / 1e6).toFixed(0)} MB, measured (weights ${(report.weights_bytes / 1e6).toFixed(0)} MB, encoder temporaries ${(report.encoder_temp_bytes / 1e6).toFixed(1)} MB shared by liveness vs ${(report.encoder_temp_bytes_unshared / 1e6).toFixed(1)} MB unshared)`);
    return report;
  } finally {
    model.destroy();
    tracker.stop();
  }
}
