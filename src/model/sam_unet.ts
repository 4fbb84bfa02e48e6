// SAM-UNet on WebGPU: load weights, encode an image once, decode any number of prompts against it.
//
//   const model = await SamUnet.load(gpu, provider);
//   const emb = await model.encode(image);            // RGB image, any size
//   const out = await model.decode(emb, [{ box: [x0, y0, x1, y1] }]);
//   out.masks[0]                                      // H×W, 1 inside
import type { Gpu } from '../gpu/device.js';
import type { Plan } from '../gpu/plan.js';
import { preprocess, modelFrameScale } from '../image/preprocess.js';
import { resizeLongestSide } from '../image/resize.js';
import type { RgbImage } from '../image/decode.js';
import { recordDecoder, type DecoderShape } from './decoder.js';
import { IMG_SIZE, recordEncoder } from './encoder.js';
import { promptTokensOf, PromptError, MASK_SIDE, type FrameInfo, type PromptSet } from './prompts.js';
import { ModelWeights, type LoadOptions, type Variant, type WeightProvider } from './weights.js';

/** The largest original image side accepted (the logits buffer is N·H·W floats). */
export const MAX_IMAGE_SIDE = 8192;
const MAX_DECODER_PLANS = 8;

/** An encoded image: its embeddings on the GPU, ready for any number of decodes. */
export class ImageEmbedding {
  constructor(
    readonly frame: FrameInfo,
    /** [1, 256, 16, 16] */
    readonly embeddings: GPUBuffer,
    /** [1, 32, 64, 64] */
    readonly multiScaleFeature: GPUBuffer,
    readonly owner: SamUnet,
  ) {}

  private alive = true;

  get destroyed(): boolean {
    return !this.alive;
  }

  destroy(): void {
    if (!this.alive) return;
    this.alive = false;
    this.embeddings.destroy();
    this.multiScaleFeature.destroy();
  }
}

export interface DecodeResult {
  /** Number of prompt sets. */
  n: number;
  width: number;
  height: number;
  /** Per set: 64×64 logits in the model frame (feed back as maskInput). */
  lowResLogits: Float32Array[];
  /** Per set: H×W logits in the original frame. */
  logits: Float32Array[];
  /** Per set: H×W, 1 where logits > 0. */
  masks: Uint8Array[];
}

export class SamUnet {
  readonly gpu: Gpu;
  readonly weights: ModelWeights;
  private encoder: Plan | null = null;
  private decoders = new Map<string, Plan>();
  private destroyed = false;

  private constructor(gpu: Gpu, weights: ModelWeights) {
    this.gpu = gpu;
    this.weights = weights;
  }

  static async load(gpu: Gpu, src: WeightProvider, opts: LoadOptions = {}): Promise<SamUnet> {
    const weights = await ModelWeights.load(gpu, src, opts);
    weights.concat('prompt_encoder.sam_prompt_encoder.label_embeddings', [
      'prompt_encoder.sam_prompt_encoder.not_a_point_embed.weight',
      ...[0, 1, 2, 3].map((i) => `prompt_encoder.sam_prompt_encoder.point_embeddings.${i}.weight`),
    ]);
    return new SamUnet(gpu, weights);
  }

  get variant(): Variant {
    return this.weights.variant;
  }

  private check(): void {
    if (this.destroyed) throw new Error('SamUnet was destroyed');
  }

  /** The encoder plan (recorded and built on first use). */
  async encoderPlan(): Promise<Plan> {
    this.check();
    if (!this.encoder) {
      const p = recordEncoder(this.gpu, this.weights);
      await p.build();
      this.encoder = p;
    }
    return this.encoder;
  }

  /** Resizes, normalises and pads an RGB image; returns the model input and its frame. */
  static prepare(image: RgbImage): { input: Float32Array; frame: FrameInfo } {
    const { width, height } = image;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new Error(`image: bad size ${width}×${height}`);
    }
    if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
      throw new Error(`image: ${width}×${height} exceeds the ${MAX_IMAGE_SIDE}-pixel side limit; downscale it first`);
    }
    if (image.data.length !== width * height * 3) throw new Error(`image: ${image.data.length} bytes for ${width}×${height} RGB`);
    const resized = resizeLongestSide(image, IMG_SIZE);
    const { newW, newH } = modelFrameScale(width, height, IMG_SIZE);
    return { input: preprocess(resized, IMG_SIZE), frame: { width, height, inputW: newW, inputH: newH } };
  }

  /** Runs the encoder on an RGB image; the result stays on the GPU until destroyed. */
  async encode(image: RgbImage): Promise<ImageEmbedding> {
    const { input, frame } = SamUnet.prepare(image);
    return this.encodeInput(input, frame);
  }

  /** Runs the encoder on a prepared 1×3×256×256 input. */
  async encodeInput(input: Float32Array, frame: FrameInfo): Promise<ImageEmbedding> {
    const p = await this.encoderPlan();
    await p.run({ image: input }, []);
    const device = this.gpu.device;
    const copy = (name: string) => {
      const t = p.outputTensor(name);
      const b = device.createBuffer({ size: t.buffer!.size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC, label: name });
      return { t, b };
    };
    const e = copy('image_embeddings');
    const m = copy('multi_scale_feature');
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(e.t.buffer!, 0, e.b, 0, e.t.buffer!.size);
    enc.copyBufferToBuffer(m.t.buffer!, 0, m.b, 0, m.t.buffer!.size);
    device.queue.submit([enc.finish()]);
    return new ImageEmbedding(frame, e.b, m.b, this);
  }

  /** The decoder plan for one prompt structure (cached; a few are kept). */
  async decoderPlan(shape: DecoderShape): Promise<Plan> {
    this.check();
    const key = JSON.stringify(shape);
    let p = this.decoders.get(key);
    if (p) {
      this.decoders.delete(key);
      this.decoders.set(key, p); // most recently used last
      return p;
    }
    p = recordDecoder(this.gpu, this.weights, shape);
    await p.build();
    this.decoders.set(key, p);
    while (this.decoders.size > MAX_DECODER_PLANS) {
      const [oldKey, old] = this.decoders.entries().next().value as [string, Plan];
      this.decoders.delete(oldKey);
      old.destroy();
    }
    return p;
  }

  /**
   * Decodes prompt sets against an encoded image. Sets with the same structure (number of sparse
   * tokens, mask prompt or not) run as one batch.
   */
  async decode(emb: ImageEmbedding, prompts: PromptSet | readonly PromptSet[]): Promise<DecodeResult> {
    this.check();
    if (emb.owner !== this) throw new Error('decode: the embedding was made by another model');
    if (emb.destroyed) throw new Error('decode: the embedding was destroyed');
    const sets = Array.isArray(prompts) ? (prompts as readonly PromptSet[]) : [prompts as PromptSet];
    if (sets.length === 0) throw new PromptError('decode: no prompt sets given');
    const f = emb.frame;
    const tokens = sets.map((s, i) => promptTokensOf(s, f, sets.length > 1 ? `prompts[${i}]` : 'prompt'));
    const groups = new Map<string, number[]>();
    sets.forEach((s, i) => {
      const key = `${tokens[i]!.length}|${s.maskInput ? 1 : 0}`;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)!.push(i);
    });
    const result: DecodeResult = { n: sets.length, width: f.width, height: f.height, lowResLogits: [], logits: [], masks: [] };
    for (const idx of groups.values()) {
      const t = tokens[idx[0]!]!.length;
      const hasMask = !!sets[idx[0]!]!.maskInput;
      const plan = await this.decoderPlan({ n: idx.length, t, hasMask, inputH: f.inputH, inputW: f.inputW, origH: f.height, origW: f.width });
      const pts = new Float32Array(idx.length * t * 3);
      idx.forEach((si, j) => pts.set(tokens[si]!.flat(), j * t * 3));
      const inputs: Parameters<Plan['run']>[0] = {
        image_embeddings: { buffer: emb.embeddings },
        multi_scale_feature: { buffer: emb.multiScaleFeature },
        points: pts,
      };
      if (hasMask) {
        const m = new Float32Array(idx.length * MASK_SIDE * MASK_SIDE);
        idx.forEach((si, j) => m.set(sets[si]!.maskInput!, j * MASK_SIDE * MASK_SIDE));
        inputs.mask_input = m;
      }
      const out = await plan.run(inputs, ['low_res_logits', 'logits']);
      const hw = f.width * f.height;
      idx.forEach((si, j) => {
        result.lowResLogits[si] = out.low_res_logits!.slice(j * 4096, (j + 1) * 4096);
        const logits = out.logits!.slice(j * hw, (j + 1) * hw);
        result.logits[si] = logits;
        const mask = new Uint8Array(hw);
        for (let k = 0; k < hw; k++) mask[k] = logits[k]! > 0 ? 1 : 0;
        result.masks[si] = mask;
      });
    }
    return result;
  }

  /** encode + decode in one call; the embedding is freed afterwards. */
  async segment(image: RgbImage, prompts: PromptSet | readonly PromptSet[]): Promise<DecodeResult> {
    const emb = await this.encode(image);
    try {
      return await this.decode(emb, prompts);
    } finally {
      emb.destroy();
    }
  }

  /** Bytes held by the cached decoder plans. */
  decoderPlanBytes(): number {
    let n = 0;
    for (const p of this.decoders.values()) n += p.gpuBytes;
    return n;
  }

  /** Frees every GPU buffer the model made (weights, plans). Embeddings are freed by their owner. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.encoder?.destroy();
    for (const p of this.decoders.values()) p.destroy();
    this.decoders.clear();
    this.weights.destroy();
  }
}
