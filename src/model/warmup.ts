// A model's warm-up (issue 13, a fast first run): the encoder plan and the typical decoder plans
// built before the first image, their pipelines created with createComputePipelineAsync all at
// once (pipelines.ts), so that the first encode and decode find them compiled. Software adapters
// (lavapipe/llvmpipe) compile a kernel for the CPU at its first dispatch, not at pipeline creation:
// there (by default) each plan also runs once on zero inputs.
import type { Gpu } from '../gpu/device.js';
import { shaderOfKey } from '../gpu/pipelines.js';
import type { Plan, PlanOptions } from '../gpu/plan.js';
import { INPUT_SIZE } from './config.js';
import { recordDecoder, type DecoderShape } from './decoder.js';
import { recordEncoder } from './encoder.js';
import type { ModelWeights } from './weights.js';

/** What warmup() prepares. */
export interface WarmupOptions {
  /**
   * The decoder prompt structures to build (default: one set of one box or point, i.e. two sparse
   * tokens, on a 256×256 image, without and with a mask prompt). Decoder pipelines do not depend on
   * the image size, so these warm every decoder's kernels.
   */
  decoders?: readonly DecoderShape[];
  /** Also run each plan once on zero inputs (default: on a software adapter, which compiles at first dispatch). */
  run?: boolean;
}

export interface WarmupStats {
  /** Wall time of the whole warm-up (ms). */
  ms: number;
  /** Distinct pipelines (shader + override constants) of the encoder and of the decoders, and of both. */
  encoderPipelines: number;
  decoderPipelines: number;
  pipelines: number;
  /** Whether the plans also ran once. */
  ran: boolean;
}

/** The model side warmUp needs (SamUnet's public plan accessors). */
export interface Warmable {
  readonly gpu: { info: { isSoftware: boolean } };
  encoderPlan(): Promise<Plan>;
  decoderPlan(shape: DecoderShape): Promise<Plan>;
}

export const TYPICAL_DECODERS: readonly DecoderShape[] = [
  { n: 1, t: 2, hasMask: false, inputH: INPUT_SIZE, inputW: INPUT_SIZE, origH: INPUT_SIZE, origW: INPUT_SIZE },
  { n: 1, t: 2, hasMask: true, inputH: INPUT_SIZE, inputW: INPUT_SIZE, origH: INPUT_SIZE, origW: INPUT_SIZE },
];

/** Zero inputs for every input of `plan` (decoder or encoder). */
function zeroInputs(plan: Plan, names: readonly string[]): Record<string, Float32Array> {
  return Object.fromEntries(names.map((n) => [n, new Float32Array(plan.inputTensor(n).size)]));
}

function decoderInputs(s: DecoderShape): string[] {
  return ['image_embeddings', 'multi_scale_feature', 'points', ...(s.hasMask ? ['mask_input'] : [])];
}

/** Builds (and, with `run`, runs once) the encoder and the decoder plans of `opts`, all at once. */
export async function warmUp(model: Warmable, opts: WarmupOptions = {}): Promise<WarmupStats> {
  const t0 = performance.now();
  const shapes = opts.decoders ?? TYPICAL_DECODERS;
  const run = opts.run ?? model.gpu.info.isSoftware;
  const [enc, ...decs] = await Promise.all([model.encoderPlan(), ...shapes.map((s) => model.decoderPlan(s))]);
  if (run) {
    // One after the other: each run already fills the CPU (software) or the GPU.
    await enc!.run(zeroInputs(enc!, ['image']), [], { warmup: true });
    for (let i = 0; i < decs.length; i++) await decs[i]!.run(zeroInputs(decs[i]!, decoderInputs(shapes[i]!)), [], { warmup: true });
  }
  const encKeys = enc!.pipelineKeys();
  const decKeys = new Set(decs.flatMap((d) => d.pipelineKeys()));
  return {
    ms: performance.now() - t0,
    encoderPipelines: encKeys.length,
    decoderPipelines: decKeys.size,
    pipelines: new Set([...encKeys, ...decKeys]).size,
    ran: run,
  };
}

/** The distinct pipelines of a model's plans (pipelineKey strings, sorted) and their shaders. */
export interface PipelineCensus {
  encoder: string[];
  decoder: string[];
  /** Distinct pipelines of both; distinct shaders (modules) of both. */
  pipelines: number;
  shaders: number;
}

/**
 * Records (builds nothing) the encoder and the decoder plans of `shapes` with `opts` and lists
 * their distinct pipelines: what a fresh device compiles before the first mask.
 */
export function pipelineCensus(gpu: Gpu, weights: ModelWeights, opts: PlanOptions = {}, shapes: readonly DecoderShape[] = TYPICAL_DECODERS): PipelineCensus {
  const encoder = recordEncoder(gpu, weights, [], opts).pipelineKeys();
  const decoder = [...new Set(shapes.flatMap((s) => recordDecoder(gpu, weights, s, [], opts).pipelineKeys()))].sort();
  const all = new Set([...encoder, ...decoder]);
  return { encoder, decoder, pipelines: all.size, shaders: new Set([...all].map(shaderOfKey)).size };
}
