// SAM-UNet's weights on the GPU: a module tree (net.ts) built for the variant, its declared weights
// loaded from a source through the one upload path (weights/load.ts), keyed by the upstream
// state_dict names. The variant is told apart from the keys; BatchNorms are folded into their convs
// and the prompt encoder's label embeddings stacked as the modules declare (Conv2d.withBatchNorm,
// PromptEncoder).
//
// Precision 'f16' ("f16 weights, f32 accumulation"): the weights the modules mark lowPrecision (the
// ViT blocks' qkv, proj, mlp.lin1, mlp.lin2: 85 M of the model's values) are held as f16 tensors
// (weights/dtype.ts), which the GEMM kernels convert back to f32 as they load them. Everything else
// stays f32.
import type { Gpu } from '../gpu/device.js';
import type { Plan } from '../gpu/plan.js';
import type { DType, Tensor } from '../gpu/tensor.js';
import { LoadedWeights, type LoadProgress, type Precision } from '../weights/load.js';
import { WeightError, type WeightProvider } from '../weights/source.js';
import type { Weight } from '../weights/spec.js';
import { streamWeights, type StreamWeightsOptions } from '../weights/sources.js';
import type { SamUnetConfig, Variant } from './config.js';
import { detectVariant } from './keys.js';
import { modelSpec, type SamUnetNet } from './net.js';

export type { LoadProgress, Precision, Variant };
export { WeightError, type PushedTensor, type WeightProvider } from '../weights/source.js';

export interface LoadOptions {
  variant?: Variant;
  onProgress?: (p: LoadProgress) => void;
  /**
   * 'f32' (default): every weight in float32. 'f16': the ViT linear weights in IEEE binary16, half
   * their bytes, read by the GEMM kernels as f16 and accumulated in f32; the rest stays f32. Needs no
   * device feature (the kernels unpack with core WGSL). F16 tensors of a weight file are converted to
   * float32 on load either way.
   */
  precision?: Precision;
}

export class ModelWeights {
  private constructor(
    readonly variant: Variant,
    /** The module tree, its weights on the GPU: what recordEncoder / recordDecoder run. */
    readonly net: SamUnetNet,
    /** The precision asked for at load. */
    readonly precision: Precision,
    private readonly loaded: LoadedWeights,
  ) {}

  /** Detects or checks the variant, validates the key set, then reads, checks and uploads every tensor. */
  static async load(gpu: Gpu, src: WeightProvider, opts: LoadOptions = {}): Promise<ModelWeights> {
    const detected = detectVariant(src.entries.keys());
    const variant = opts.variant ?? detected;
    if (opts.variant && opts.variant !== detected) {
      throw new WeightError(`weights look like ${detected} (resnet.stage1.0.conv3.weight ${detected === 'res50' ? 'present' : 'absent'}) but variant ${opts.variant} was asked for`);
    }
    const { net, spec } = modelSpec(variant);
    const precision = opts.precision ?? 'f32';
    const loaded = await LoadedWeights.load(gpu, src, spec, { name: variant, precision, onProgress: opts.onProgress });
    return new ModelWeights(variant, net, precision, loaded);
  }

  get config(): SamUnetConfig {
    return this.net.config;
  }

  /** Keys in the source that the model does not use (reported, not fatal). */
  get unexpected(): string[] {
    return this.loaded.unexpected;
  }

  /** The keys of the GPU weights (a folded conv's bias is `<conv>.bias`; the prompt encoder's label table is `…label_embeddings`). */
  keys(): string[] {
    return [...this.loaded.weights.keys()];
  }

  has(key: string): boolean {
    return this.loaded.weights.has(key);
  }

  /** The GPU weight `key` (its buffer, shape and dtype). */
  weight(key: string): Weight {
    const w = this.loaded.weights.get(key);
    if (!w) throw new WeightError(`no weight '${key}' on the GPU`);
    return w;
  }

  /** The GPU weight `key` as a tensor of plan `p`, in the dtype it is held in. */
  t(p: Plan, key: string): Tensor {
    return this.weight(key).t(p);
  }

  /** How the weight `key` is held on the GPU. */
  dtypeOf(key: string): DType {
    return this.weight(key).dtype;
  }

  get bufferCount(): number {
    return this.loaded.bufferCount;
  }

  get bytes(): number {
    return this.loaded.bytes;
  }

  destroy(): void {
    this.loaded.destroy();
  }
}

/** Streams a safetensors file into GPU buffers (see streamWeights): ModelWeights, progress in bytes. */
export async function loadWeightsFromStream(
  gpu: Gpu,
  stream: ReadableStream<Uint8Array>,
  opts: StreamWeightsOptions & { variant?: Variant } = {},
): Promise<ModelWeights> {
  return ModelWeights.load(gpu, await streamWeights(stream, opts), { variant: opts.variant });
}
