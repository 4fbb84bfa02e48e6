// SAM-UNet weights on the GPU, keyed by the upstream state_dict names.
//
// Loading is strict: every key of the variant must be present with its exact shape (an error
// names the key), floating values must be finite (NaN / Inf are reported by key), and keys the
// model does not know are reported in `unexpected`. The one layout change, BatchNorm folded into
// the preceding convolution, happens here through foldBatchNorm().
//
// Precision 'f16' ("f16 weights, f32 accumulation"): the ViT linear weights (qkv, proj, mlp.lin1,
// mlp.lin2 of the 12 blocks, 85 M of the model's values) are rounded to IEEE binary16 on the CPU
// (round to nearest even, subnormals kept; a value beyond ±65504 is an error naming the tensor) and
// uploaded as packed pairs (an f16 Tensor, see DType); the GEMM kernels convert them back to f32 as they load
// them. Everything else stays f32.
import { assertDeviceAlive, captureGpuErrors, gpuErrorToThrow, type Gpu } from '../gpu/device.js';
import type { Plan } from '../gpu/plan.js';
import type { Tensor } from '../gpu/tensor.js';
import { f32ArrayToF16 } from '../safetensors/half.js';
import { foldBatchNorm, type BatchNormParams } from '../weights/fold.js';
import { modelKeys } from './keys.js';

import type { Variant } from './keys.js';

export type { Variant };

export const BN_EPS = 1e-5;

/** Where weights come from: a safetensors file, a stream, or the synthetic rule. */
export interface WeightProvider {
  /** Every tensor the source holds, with its dtype and shape. */
  readonly entries: ReadonlyMap<string, { dtype: string; shape: readonly number[] }>;
  /** The tensor's values as float32 (F16 / BF16 converted). */
  read(key: string): Promise<Float32Array>;
  /**
   * Sequential sources only (a download, a file stream): every tensor once, in the source's own
   * order. When present, ModelWeights.load consumes this instead of calling read().
   */
  tensors?(): AsyncIterable<PushedTensor>;
  /** Total bytes of the source, when known (for progress). */
  readonly size?: number;
}

/** One tensor of a sequential source. */
export interface PushedTensor {
  key: string;
  /** Its values as float32; called at most once. */
  values(): Float32Array;
  /** Source bytes consumed up to the end of this tensor. */
  bytesRead?: number;
}

export class WeightError extends Error {
  override name = 'WeightError';
}

/** res50 and res34 differ in their ResNet blocks: Bottleneck blocks have a conv3. */
export function detectVariant(keys: Iterable<string>): Variant {
  let sawResnet = false;
  for (const k of keys) {
    if (k === 'resnet.stage1.0.conv3.weight') return 'res50';
    if (k.startsWith('resnet.')) sawResnet = true;
  }
  if (!sawResnet) throw new WeightError('weights hold no resnet.* keys: not a SAM-UNet state_dict (keys must be the upstream names, unchanged)');
  return 'res34';
}

export interface LoadProgress {
  /** Tensors uploaded so far, of `total`. */
  loaded: number;
  total: number;
  /** The tensor just uploaded. */
  key: string;
  /** Sequential sources: bytes consumed so far, and the source's size when known. */
  bytesRead?: number;
  bytesTotal?: number;
}

/** How the large weights are held on the GPU (see LoadOptions.precision). */
export type Precision = 'f32' | 'f16';

export interface LoadOptions {
  variant?: Variant;
  onProgress?: (p: LoadProgress) => void;
  /**
   * 'f32' (default): every weight in float32. 'f16': the ViT linear weights (halfPrecisionKey) in
   * IEEE binary16, half their bytes, read by the GEMM kernels as f16 and accumulated in f32; the
   * rest stays f32. Needs no device feature (the kernels unpack with core WGSL). F16 tensors of a
   * weight file come through exactly (F16 → f32 → F16 is lossless).
   */
  precision?: Precision;
}

/** The largest finite binary16 value. */
export const F16_MAX = 65504;

/** Whether precision 'f16' stores the weight `key` in binary16: the ViT blocks' linear weights. */
export function halfPrecisionKey(key: string): boolean {
  return /^image_encoder\.sam_img_encoder\.blocks\.\d+\.(attn\.qkv|attn\.proj|mlp\.lin1|mlp\.lin2)\.weight$/.test(key);
}

/**
 * `values` rounded to IEEE binary16 (nearest, ties to even; subnormals kept, values below half the
 * smallest subnormal become ±0) and packed two per word, element e in bits 16·(e % 2) .. of word
 * e / 2 (an odd count is padded with a zero). A value beyond ±F16_MAX (which would become ±Inf) or
 * NaN is a WeightError naming `key` and the index.
 */
export function toF16Words(key: string, values: Float32Array): Uint32Array<ArrayBuffer> {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(Math.abs(v) <= F16_MAX)) {
      throw new WeightError(`weight '${key}' holds ${v} at flat index ${i}, outside float16's finite range (±${F16_MAX}); load it with precision 'f32'`);
    }
  }
  const words = new Uint32Array(Math.ceil(values.length / 2));
  f32ArrayToF16(values, new Uint16Array(words.buffer, 0, values.length));
  return words;
}

interface GpuWeight {
  buffer: GPUBuffer;
  shape: readonly number[];
  /** 'f16': binary16 pairs packed into words (toF16Words). */
  dtype: Precision;
}

/** The conv whose output the BatchNorm at `bnPrefix` normalises (torchvision / upstream naming). */
function convOfBn(bnPrefix: string): string | null {
  let m: RegExpMatchArray | null;
  if ((m = bnPrefix.match(/^(resnet\.stage\d+\.\d+)\.bn(\d)$/))) return `${m[1]}.conv${m[2]}`;
  if ((m = bnPrefix.match(/^(resnet\.stage\d+\.\d+\.downsample)\.1$/))) return `${m[1]}.0`;
  if (bnPrefix === 'resnet.stage0.1') return 'resnet.stage0.0';
  return null;
}

/** For a ResNet conv weight, the BatchNorm prefix that follows it. */
function bnAfter(key: string, keys: ReadonlySet<string>): string | null {
  let m: RegExpMatchArray | null;
  let bn: string | null = null;
  if ((m = key.match(/^(resnet\.stage\d+\.\d+)\.conv(\d)\.weight$/))) bn = `${m[1]}.bn${m[2]}`;
  else if ((m = key.match(/^(resnet\.stage\d+\.\d+\.downsample)\.0\.weight$/))) bn = `${m[1]}.1`;
  else if (key === 'resnet.stage0.0.weight') bn = 'resnet.stage0.1';
  return bn && keys.has(`${bn}.running_var`) ? bn : null;
}

/**
 * `v`, after checking that every value is finite (a NaN / Inf is reported by key and index) and,
 * given the shape, that the source returned a Float32Array of exactly that many values (a
 * WeightProvider is user code: a wrong array would otherwise be folded or uploaded silently).
 */
function checkFinite(key: string, v: Float32Array, shape?: readonly number[]): Float32Array {
  if (!(v instanceof Float32Array)) throw new WeightError(`weight '${key}': the source gave ${Object.prototype.toString.call(v)}, not a Float32Array`);
  const n = shape?.reduce((a, b) => a * b, 1);
  if (n !== undefined && v.length !== n) throw new WeightError(`weight '${key}': the source gave ${v.length} values, shape [${shape}] has ${n}`);
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) throw new WeightError(`weight '${key}' holds ${v[i]} at flat index ${i}`);
  }
  return v;
}

export class ModelWeights {
  readonly variant: Variant;
  /** Keys in the source that the model does not use (reported, not fatal). */
  readonly unexpected: string[];
  /** The precision asked for at load (which weights it affects: halfPrecisionKey). */
  readonly precision: Precision;
  private readonly gpu: Gpu;
  private readonly tensors = new Map<string, GpuWeight>();
  private destroyed = false;

  private constructor(gpu: Gpu, variant: Variant, unexpected: string[], precision: Precision) {
    this.gpu = gpu;
    this.variant = variant;
    this.unexpected = unexpected;
    this.precision = precision;
  }

  /** Validates the key set, then reads, checks, folds and uploads every tensor. */
  static async load(gpu: Gpu, src: WeightProvider, opts: LoadOptions = {}): Promise<ModelWeights> {
    const precision = opts.precision ?? 'f32';
    if (precision !== 'f32' && precision !== 'f16') throw new WeightError(`precision must be 'f32' or 'f16', got ${JSON.stringify(precision)}`);
    const detected = detectVariant(src.entries.keys());
    const variant = opts.variant ?? detected;
    if (opts.variant && opts.variant !== detected) {
      throw new WeightError(`weights look like ${detected} (resnet.stage1.0.conv3.weight ${detected === 'res50' ? 'present' : 'absent'}) but variant ${opts.variant} was asked for`);
    }
    const spec = modelKeys(variant);
    const specByKey = new Map(spec.map((s) => [s.key, s]));
    const missing = spec.filter((s) => !src.entries.has(s.key)).map((s) => s.key);
    if (missing.length) {
      throw new WeightError(`${variant} weights: ${missing.length} key(s) missing: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''}`);
    }
    for (const s of spec) {
      const e = src.entries.get(s.key)!;
      const same = e.shape.length === s.shape.length && e.shape.every((d, i) => d === s.shape[i]);
      // PyTorch stores 0-d num_batches_tracked; accept any integer scalar-ish shape there.
      if (!same && !s.key.endsWith('num_batches_tracked')) {
        throw new WeightError(`weight '${s.key}' has shape [${e.shape}], ${variant} needs [${s.shape}]`);
      }
      if (s.dtype === 'F32' && !['F32', 'F16', 'BF16'].includes(e.dtype)) {
        throw new WeightError(`weight '${s.key}' has dtype ${e.dtype}, a float tensor (F32, F16 or BF16) is needed`);
      }
    }
    const unexpected = [...src.entries.keys()].filter((k) => !specByKey.has(k));
    assertDeviceAlive(gpu.device, 'loading weights');
    const w = new ModelWeights(gpu, variant, unexpected, precision);
    try {
      const keys = spec.map((s) => s.key);
      if (src.tensors) await w.uploadPushed(src, keys, opts.onProgress);
      else await w.upload(src, keys, opts.onProgress);
      await w.checkPending();
    } catch (e) {
      w.destroy();
      throw e;
    }
    return w;
  }

  private async upload(src: WeightProvider, keys: string[], onProgress?: (p: LoadProgress) => void): Promise<void> {
    const floatKeys = keys.filter((k) => !k.endsWith('num_batches_tracked'));
    const readChecked = async (key: string) => checkFinite(key, await src.read(key), src.entries.get(key)!.shape);
    const keySet = new Set(keys);
    let loaded = 0;
    const total = floatKeys.length;
    for (const key of floatKeys) {
      const m = key.match(/^(.*)\.(weight|bias|running_mean|running_var)$/);
      if (m && convOfBn(m[1]!)) continue; // a BatchNorm parameter: folded into its conv below
      const bnPrefix = bnAfter(key, keySet);
      if (bnPrefix) {
        const shape = src.entries.get(key)!.shape;
        const [wv, g, b, mean, variance] = await Promise.all([
          readChecked(key),
          readChecked(`${bnPrefix}.weight`),
          readChecked(`${bnPrefix}.bias`),
          readChecked(`${bnPrefix}.running_mean`),
          readChecked(`${bnPrefix}.running_var`),
        ]);
        this.putFolded(key, shape, wv, { weight: g, bias: b, mean, var: variance });
        loaded += 5;
      } else {
        this.put(key, await readChecked(key), src.entries.get(key)!.shape);
        loaded += 1;
      }
      onProgress?.({ loaded, total, key });
    }
  }

  /**
   * The sequential path: tensors arrive in the source's order. A ResNet conv and its BatchNorm
   * (conv weight + 4 BN tensors) are held in memory only until the group is complete, then folded
   * and uploaded; every other tensor goes to the GPU as it arrives. Unknown keys and
   * num_batches_tracked are skipped without being decoded. With the orders files have in practice
   * (state_dict order: conv then its BN; safetensors' name-sorted order: a block's BNs then its
   * convs) at most one ResNet block's tensors are held at a time.
   */
  private async uploadPushed(src: WeightProvider, keys: string[], onProgress?: (p: LoadProgress) => void): Promise<void> {
    const floatKeys = new Set(keys.filter((k) => !k.endsWith('num_batches_tracked')));
    const keySet = new Set(keys);
    const groupOf = new Map<string, { conv: string; bn: string }>();
    for (const key of floatKeys) {
      const bn = bnAfter(key, keySet);
      if (!bn) continue;
      const g = { conv: key, bn };
      groupOf.set(key, g);
      for (const p of ['weight', 'bias', 'running_mean', 'running_var']) groupOf.set(`${bn}.${p}`, g);
    }
    const pending = new Map<string, Map<string, Float32Array>>();
    const seen = new Set<string>();
    let loaded = 0;
    const total = floatKeys.size;
    let bytesRead: number | undefined;
    for await (const t of src.tensors!()) {
      bytesRead = t.bytesRead;
      if (!floatKeys.has(t.key)) continue;
      if (seen.has(t.key)) throw new WeightError(`weight '${t.key}' arrived twice`);
      seen.add(t.key);
      const v = checkFinite(t.key, t.values(), src.entries.get(t.key)!.shape);
      const g = groupOf.get(t.key);
      if (g) {
        const parts = pending.get(g.conv) ?? new Map<string, Float32Array>();
        pending.set(g.conv, parts.set(t.key, v));
        if (parts.size < 5) continue;
        pending.delete(g.conv);
        const part = (p: string) => parts.get(`${g.bn}.${p}`)!;
        this.putFolded(g.conv, src.entries.get(g.conv)!.shape, parts.get(g.conv)!, {
          weight: part('weight'), bias: part('bias'), mean: part('running_mean'), var: part('running_var'),
        });
        loaded += 5;
      } else {
        this.put(t.key, v, src.entries.get(t.key)!.shape);
        loaded += 1;
      }
      onProgress?.({ loaded, total, key: t.key, bytesRead, bytesTotal: src.size });
    }
    const missing = [...floatKeys].filter((k) => !seen.has(k));
    if (missing.length) throw new WeightError(`the source ended without ${missing.length} weight(s): ${missing.slice(0, 8).join(', ')}`);
  }

  /** Folds the BatchNorm into the conv `key` and uploads `<conv>.weight` and `<conv>.bias`. */
  private putFolded(key: string, shape: readonly number[], w: Float32Array, bn: BatchNormParams): void {
    for (let i = 0; i < bn.var.length; i++) {
      // sqrt(var + eps) of a negative variance is NaN: every folded value would be NaN.
      if (!(bn.var[i]! >= 0)) throw new WeightError(`the running_var of the BatchNorm after '${key}' holds ${bn.var[i]} at flat index ${i}; a variance cannot be negative`);
    }
    const folded = foldBatchNorm(w, shape[0]!, null, bn, BN_EPS);
    for (const [what, v] of [['weight', folded.w], ['bias', folded.b]] as const) {
      for (let i = 0; i < v.length; i++) {
        if (!Number.isFinite(v[i]!)) throw new WeightError(`'${key}' folded with its BatchNorm gives a non-finite ${what} (${v[i]}) at flat index ${i}`);
      }
    }
    this.put(key, folded.w, shape);
    this.put(`${key.slice(0, -'.weight'.length)}.bias`, folded.b, [shape[0]!]);
  }

  private put(key: string, data: Float32Array, shape: readonly number[]): void {
    // A WeightProvider is user code: a wrong array type or length would upload wrong bytes silently.
    if (!(data instanceof Float32Array)) throw new WeightError(`weight '${key}': the source gave ${Object.prototype.toString.call(data)}, not a Float32Array`);
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new WeightError(`weight '${key}': the source gave ${data.length} values, shape [${shape}] has ${n}`);
    const dtype: Precision = this.precision === 'f16' && halfPrecisionKey(key) ? 'f16' : 'f32';
    const bytes = dtype === 'f16' ? toF16Words(key, data) : data;
    const device = this.gpu.device;
    const { errors } = captureGpuErrors(device, () => {
      const buffer = device.createBuffer({
        size: Math.max(16, Math.ceil(bytes.byteLength / 16) * 16),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
        label: key,
      });
      this.tensors.set(key, { buffer, shape: [...shape], dtype });
      device.queue.writeBuffer(buffer, 0, bytes as Uint32Array<ArrayBuffer> | Float32Array<ArrayBuffer>);
    });
    this.pending.push({ key, errors });
  }

  /** GPU errors (out of memory, over a limit) caught around put(), checked by checkPending(). */
  private pending: { key: string; errors: Promise<GPUError | null> }[] = [];

  /** Throws a GpuResourceError (or GpuDeviceLostError) naming the first weight the GPU refused. */
  private async checkPending(): Promise<void> {
    const list = this.pending;
    this.pending = [];
    const errs = await Promise.all(list.map((p) => p.errors));
    const i = errs.findIndex((e) => e);
    if (i >= 0) throw gpuErrorToThrow(this.gpu.device, errs[i]!, `uploading weight '${list[i]!.key}'`);
  }

  /**
   * A derived weight `key`: the tensors `parts` (each [1, C]) stacked into [parts.length, C] by GPU
   * copies, so that a kernel binds one buffer instead of many (the prompt encoder's label embeddings).
   */
  concat(key: string, parts: readonly string[]): void {
    const ws = parts.map((k) => {
      const w = this.tensors.get(k);
      if (!w) throw new WeightError(`no weight '${k}' to concatenate into '${key}'`);
      return w;
    });
    const c = ws[0]!.shape[ws[0]!.shape.length - 1]!;
    for (const [i, w] of ws.entries()) {
      if (w.dtype !== 'f32' || w.shape.reduce((a, b) => a * b, 1) !== c) throw new WeightError(`'${parts[i]}' [${w.shape}] is not a row of ${c}`);
    }
    const device = this.gpu.device;
    const buffer = device.createBuffer({ size: parts.length * c * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, label: key });
    const enc = device.createCommandEncoder();
    ws.forEach((w, i) => enc.copyBufferToBuffer(w.buffer, 0, buffer, i * c * 4, c * 4));
    device.queue.submit([enc.finish()]);
    this.tensors.set(key, { buffer, shape: [parts.length, c], dtype: 'f32' });
  }

  has(key: string): boolean {
    return this.tensors.has(key);
  }

  /** The weight as a tensor of plan `p`, in the dtype it is held in. A folded conv's bias is `<conv>.bias`. */
  t(p: Plan, key: string): Tensor {
    const w = this.get(key);
    return p.external(w.buffer, w.shape, key, w.dtype);
  }

  /** How the weight `key` is held on the GPU. */
  dtypeOf(key: string): Precision {
    return this.get(key).dtype;
  }

  private get(key: string): GpuWeight {
    if (this.destroyed) throw new Error('weights were destroyed');
    const w = this.tensors.get(key);
    if (!w) throw new WeightError(`no weight '${key}' on the GPU`);
    return w;
  }

  /** `<prefix>.bias` as a tensor, or null when the layer has none. */
  biasOrNull(p: Plan, prefix: string): Tensor | null {
    return this.tensors.has(`${prefix}.bias`) ? this.t(p, `${prefix}.bias`) : null;
  }

  get bufferCount(): number {
    return this.tensors.size;
  }

  get bytes(): number {
    let n = 0;
    for (const w of this.tensors.values()) n += w.buffer.size;
    return n;
  }

  destroy(): void {
    this.destroyed = true;
    for (const w of this.tensors.values()) w.buffer.destroy();
    this.tensors.clear();
  }
}
