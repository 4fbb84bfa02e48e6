// SAM-UNet on WebGPU: load weights, encode an image once, decode any number of prompts against it.
//
//   const model = await SamUnet.load(gpu, provider);
//   const emb = await model.encode(image);            // RGB image, any size
//   const out = await model.decode(emb, [{ box: [x0, y0, x1, y1] }]);
//   out.masks[0]                                      // H×W, 1 inside
import { assertDeviceAlive, deviceLost, deviceLostError, watchDevice, type Gpu } from '../gpu/device.js';
import { kernelPaths, kernelTuning } from '../gpu/kernels.js';
import type { Plan, PlanOptions } from '../gpu/plan.js';
import type { RgbImage } from '../image/decode.js';
import { maskFromLogits } from '../image/mask.js';
import { nonFiniteIndex } from '../util/finite.js';
import { INPUT_SIZE, MASK_SIDE } from './config.js';
import { recordDecoder, type DecoderShape } from './decoder.js';
import { recordEncoder } from './encoder.js';
import { PlanCache } from './plan_cache.js';
import { ImageInputError, type FrameInfo } from './frame.js';
import { promptTokensOf, PromptError, type PromptSet } from './prompts.js';
import { ModelWeights, type LoadOptions, type Variant, type WeightProvider } from './weights.js';
import { warmUp, type WarmupOptions, type WarmupStats } from './warmup.js';
import { checkFinite, checkFrame, checkLogitsFit, frameOfImage, maxBindingBytes, modelInput } from './model_input.js';
import { EMBEDDING_LENGTHS, ImageEmbedding, type EmbeddingData } from './embedding.js';

export { EMBEDDING_LENGTHS, ImageEmbedding, type EmbeddingData } from './embedding.js';
export { maxLogitsPixels } from './model_input.js';

export { ImageInputError, MAX_ASPECT_RATIO, MAX_INPUT_SIDE } from './frame.js';

/** The most prompt sets decoded in one GPU run. */
export const MAX_DECODE_BATCH = 32;
const MAX_DECODER_PLANS = 8;

/**
 * Options of SamUnet.load: how the weights are loaded (and, as they join, how the plans run);
 * `warmup` builds the encoder and typical decoder plans before load resolves (SamUnet.warmup).
 */
export type SamUnetOptions = LoadOptions & PlanOptions & { warmup?: boolean | WarmupOptions };

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
  private encoder: Promise<Plan> | null = null;
  private readonly decoders: PlanCache<DecoderShape>;
  private encoderObj: Plan | null = null;
  private embeddingsAlive = new Set<ImageEmbedding>();
  private destroyed = false;

  private constructor(gpu: Gpu, weights: ModelWeights, private readonly planOptions: PlanOptions) {
    this.gpu = gpu;
    this.weights = weights;
    this.decoders = new PlanCache((shape) => recordDecoder(gpu, weights, shape, [], planOptions), MAX_DECODER_PLANS, () => this.check('decode'));
    watchDevice(gpu.device);
  }

  /**
   * Loads and uploads the weights. `opts.precision: 'f16'` holds the ViT linear weights in float16
   * on the GPU (half their bytes; f32 accumulation; no device feature needed); 'f16-compute' runs
   * every layer on f16 weights and activations (f32 sums; needs shader-f16), see LoadOptions.
   * `opts.kernels` forces a kernel family's variant in every plan, `opts.tuning` split-K GEMMs and
   * subgroup reductions (PlanOptions; default: the adapter's).
   */
  static async load(gpu: Gpu, src: WeightProvider, opts: SamUnetOptions = {}): Promise<SamUnet> {
    kernelPaths(gpu.info, opts.kernels); // a bad choice fails here, before the weights load
    kernelTuning(gpu.info, gpu.device.features, opts.tuning);
    const model = new SamUnet(gpu, await ModelWeights.load(gpu, src, opts), { kernels: opts.kernels, tuning: opts.tuning });
    if (opts.warmup) {
      try {
        model.lastWarmup = await model.warmup(opts.warmup === true ? {} : opts.warmup);
      } catch (e) {
        model.destroy();
        throw e;
      }
    }
    return model;
  }

  /** What the warm-up of load({ warmup }) did, if it ran. */
  lastWarmup: WarmupStats | null = null;

  /**
   * Builds the encoder plan and the decoder plans of typical prompts (their pipelines created all at
   * once, asynchronously), and on a software adapter runs each once on zero inputs (it compiles at
   * first dispatch), so that the first encode and decode run at warm speed. Results are unchanged.
   */
  async warmup(opts: WarmupOptions = {}): Promise<WarmupStats> {
    this.check('warmup');
    return warmUp(this, opts);
  }

  get variant(): Variant {
    return this.weights.variant;
  }

  private check(what = 'SamUnet'): void {
    if (this.destroyed) throw new Error(`${what}: SamUnet was destroyed`);
    assertDeviceAlive(this.gpu.device, what);
  }

  /** The encoder plan (recorded and built on first use; concurrent first calls share one build). */
  async encoderPlan(): Promise<Plan> {
    this.check('encode');
    if (!this.encoder) {
      const p = recordEncoder(this.gpu, this.weights, [], this.planOptions);
      this.encoderObj = p;
      const built = p.build().then(() => p);
      this.encoder = built;
      built.catch(() => {
        if (this.encoder === built) this.encoder = null;
      });
    }
    const p = await this.encoder;
    this.check('encode');
    return p;
  }

  /** Embeddings made by this model and not yet destroyed. */
  get liveEmbeddings(): number {
    return this.embeddingsAlive.size;
  }

  /** @internal Called by ImageEmbedding.destroy(). */
  _forget(emb: ImageEmbedding): void {
    this.embeddingsAlive.delete(emb);
  }

  /** Resizes, normalises and pads an RGB image; returns the model input and its frame. */
  static prepare(image: RgbImage): { input: Float32Array; frame: FrameInfo } {
    const frame = frameOfImage(image);
    return { input: modelInput(image, frame), frame };
  }

  /** Runs the encoder on an RGB image; the result stays on the GPU until destroyed. */
  async encode(image: RgbImage): Promise<ImageEmbedding> {
    this.check('encode');
    const frame = frameOfImage(image);
    checkLogitsFit(this.gpu, frame, 'image'); // before spending the resize and the encoder on it
    return this.runEncoder(modelInput(image, frame), frame);
  }

  /** Runs the encoder on a prepared 1×3×256×256 input; `frame` must be what prepare() gives. */
  async encodeInput(input: Float32Array, frame: FrameInfo): Promise<ImageEmbedding> {
    this.check('encode');
    const size = 3 * INPUT_SIZE * INPUT_SIZE;
    if (!(input instanceof Float32Array) || input.length !== size) {
      throw new ImageInputError(`encodeInput: input must be a Float32Array of 1×3×${INPUT_SIZE}×${INPUT_SIZE} = ${size} values, got ${input instanceof Float32Array ? input.length : Object.prototype.toString.call(input)}`);
    }
    checkFinite(input, 'encodeInput: input');
    return this.runEncoder(input, checkFrame(this.gpu, frame, 'encodeInput'));
  }

  private async runEncoder(input: Float32Array, frame: FrameInfo): Promise<ImageEmbedding> {
    const p = await this.encoderPlan();
    const device = this.gpu.device;
    const make = (name: string) =>
      device.createBuffer({ size: p.outputTensor(name).buffer!.size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC, label: name });
    const e = make('image_embeddings');
    const m = make('multi_scale_feature');
    try {
      // The copies go in the encoder's own submission: a concurrent encode cannot overwrite the
      // outputs before they are copied.
      await p.run({ image: input }, [], { copyOut: { image_embeddings: e, multi_scale_feature: m } });
      this.check('encode');
    } catch (err) {
      e.destroy();
      m.destroy();
      throw err;
    }
    const emb = new ImageEmbedding(frame, e, m, this);
    this.embeddingsAlive.add(emb);
    return emb;
  }

  /** Reads an embedding back to the host (for a cache: importEmbedding re-creates it). */
  async exportEmbedding(emb: ImageEmbedding): Promise<EmbeddingData> {
    this.check('exportEmbedding');
    if (!(emb instanceof ImageEmbedding) || emb.owner !== this) throw new Error('exportEmbedding: not an ImageEmbedding of this model');
    if (emb.destroyed) throw new Error('exportEmbedding: the embedding was destroyed');
    const e = EMBEDDING_LENGTHS.embeddings * 4;
    const m = EMBEDDING_LENGTHS.multiScaleFeature * 4;
    const read = this.gpu.device.createBuffer({ size: e + m, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'exportEmbedding' });
    try {
      const enc = this.gpu.device.createCommandEncoder({ label: 'exportEmbedding' });
      enc.copyBufferToBuffer(emb.embeddings, 0, read, 0, e);
      enc.copyBufferToBuffer(emb.multiScaleFeature, 0, read, e, m);
      this.gpu.device.queue.submit([enc.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      const all = new Float32Array(read.getMappedRange().slice(0));
      read.unmap();
      return { frame: { ...emb.frame }, embeddings: all.subarray(0, e / 4), multiScaleFeature: all.subarray(e / 4) };
    } catch (err) {
      if (deviceLost(this.gpu.device)) throw deviceLostError(this.gpu.device, 'exportEmbedding');
      throw err;
    } finally {
      read.destroy();
    }
  }

  /** An embedding on the GPU from host values (exportEmbedding's result), as if encoded here. */
  importEmbedding(data: EmbeddingData): ImageEmbedding {
    this.check('importEmbedding');
    if (data === null || typeof data !== 'object') throw new ImageInputError('importEmbedding: expected { frame, embeddings, multiScaleFeature }');
    const frame = checkFrame(this.gpu, data.frame, 'importEmbedding');
    const device = this.gpu.device;
    const upload = (v: Float32Array, n: number, name: 'embeddings' | 'multiScaleFeature') => {
      if (!(v instanceof Float32Array) || v.length !== n) {
        throw new ImageInputError(`importEmbedding: ${name} must be a Float32Array of ${n} values, got ${v instanceof Float32Array ? v.length : Object.prototype.toString.call(v)}`);
      }
      checkFinite(v, `importEmbedding: ${name}`);
      const b = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC, label: name });
      device.queue.writeBuffer(b, 0, v as Float32Array<ArrayBuffer>);
      return b;
    };
    const e = upload(data.embeddings, EMBEDDING_LENGTHS.embeddings, 'embeddings');
    let m: GPUBuffer;
    try {
      m = upload(data.multiScaleFeature, EMBEDDING_LENGTHS.multiScaleFeature, 'multiScaleFeature');
    } catch (err) {
      e.destroy();
      throw err;
    }
    const emb = new ImageEmbedding(frame, e, m, this);
    this.embeddingsAlive.add(emb);
    return emb;
  }

  /** The decoder plan for one prompt structure (cached; a few are kept). */
  async decoderPlan(shape: DecoderShape): Promise<Plan> {
    const p = await this.decoders.pin(shape);
    this.decoders.unpin(p);
    return p;
  }

  /**
   * Decodes prompt sets against an encoded image. Sets with the same structure (number of sparse
   * tokens, mask prompt or not) run as one batch.
   */
  async decode(emb: ImageEmbedding, prompts: PromptSet | readonly PromptSet[]): Promise<DecodeResult> {
    this.check('decode');
    if (!(emb instanceof ImageEmbedding)) throw new Error('decode: the first argument must be an ImageEmbedding from encode()');
    if (emb.owner !== this) throw new Error('decode: the embedding was made by another model');
    if (emb.destroyed) throw new Error('decode: the embedding was destroyed');
    if (prompts === null || prompts === undefined) throw new PromptError('decode: no prompt sets given');
    const sets = Array.isArray(prompts) ? (prompts as readonly PromptSet[]) : [prompts as PromptSet];
    if (sets.length === 0) throw new PromptError('decode: no prompt sets given');
    const f = emb.frame;
    checkLogitsFit(this.gpu, f, 'decode');
    const tokens = sets.map((s, i) => promptTokensOf(s, f, sets.length > 1 ? `prompts[${i}]` : 'prompt'));
    // Snapshot the mask prompts now: the caller may reuse its arrays while the GPU runs.
    const masks = sets.map((s) => (s.maskInput ? s.maskInput.slice() : null));
    const groups = new Map<string, number[]>();
    tokens.forEach((t, i) => {
      const key = `${t.length}|${masks[i] ? 1 : 0}`;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)!.push(i);
    });
    // Sets per GPU run: every chunk's N·H·W logits must fit one storage binding.
    const hw = f.width * f.height;
    const perRun = Math.max(1, Math.min(MAX_DECODE_BATCH, Math.floor(maxBindingBytes(this.gpu) / (hw * 4))));
    const result: DecodeResult = { n: sets.length, width: f.width, height: f.height, lowResLogits: [], logits: [], masks: [] };
    for (const all of groups.values()) {
      for (let c = 0; c < all.length; c += perRun) {
        const idx = all.slice(c, c + perRun);
        await this.decodeChunk(emb, idx, tokens, masks, result);
      }
    }
    return result;
  }

  /** One GPU run of the decoder for the sets `idx` (same structure), written into `result`. */
  private async decodeChunk(
    emb: ImageEmbedding,
    idx: readonly number[],
    tokens: readonly number[][][],
    masks: readonly (Float32Array | null)[],
    result: DecodeResult,
  ): Promise<void> {
    const f = emb.frame;
    const t = tokens[idx[0]!]!.length;
    const hasMask = !!masks[idx[0]!];
    const plan = await this.decoders.pin({ n: idx.length, t, hasMask, inputH: f.inputH, inputW: f.inputW, origH: f.height, origW: f.width });
    let out: Record<string, Float32Array>;
    try {
      if (emb.destroyed) throw new Error('decode: the embedding was destroyed');
      const pts = new Float32Array(idx.length * t * 3);
      idx.forEach((si, j) => pts.set(tokens[si]!.flat(), j * t * 3));
      const inputs: Parameters<Plan['run']>[0] = {
        image_embeddings: { buffer: emb.embeddings },
        multi_scale_feature: { buffer: emb.multiScaleFeature },
        points: pts,
      };
      if (hasMask) {
        const m = new Float32Array(idx.length * MASK_SIDE * MASK_SIDE);
        idx.forEach((si, j) => m.set(masks[si]!, j * MASK_SIDE * MASK_SIDE));
        inputs.mask_input = m;
      }
      out = await plan.run(inputs, ['low_res_logits', 'logits']);
    } catch (e) {
      if (this.destroyed) throw new Error('decode: SamUnet was destroyed while decoding');
      if (deviceLost(this.gpu.device)) throw deviceLostError(this.gpu.device, 'decode');
      throw e;
    } finally {
      this.decoders.unpin(plan);
    }
    const hw = f.width * f.height;
    const low = MASK_SIDE * MASK_SIDE;
    idx.forEach((si, j) => {
      const lowRes = out.low_res_logits!.slice(j * low, (j + 1) * low);
      const logits = out.logits!.slice(j * hw, (j + 1) * hw);
      // A NaN logit would read as background: a silently wrong mask. Refuse it.
      for (const [what, v] of [['low-resolution logits', lowRes], ['logits', logits]] as const) {
        const k = nonFiniteIndex(v);
        if (k >= 0) {
          const range = this.weights.precision === 'f16-compute' ? "float16 (precision 'f16-compute': ±65504; try 'f32')" : 'float32';
          throw new Error(`decode: prompt set ${si} gave ${v[k]} in its ${what} at index ${k}: the weights or inputs overflow ${range}; no mask is returned`);
        }
      }
      result.lowResLogits[si] = lowRes;
      result.logits[si] = logits;
      result.masks[si] = maskFromLogits(logits, f.width, f.height, 1);
    });
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
    return this.decoders.bytes;
  }

  /**
   * Frees every GPU buffer the model made: weights, plans, and the embeddings it encoded that are
   * still alive (they cannot be decoded without the model). Calls in flight reject.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const e of [...this.embeddingsAlive]) e.destroy();
    this.encoderObj?.destroy();
    this.encoderObj = null;
    this.encoder = null;
    this.decoders.destroy();
    this.weights.destroy();
  }
}
