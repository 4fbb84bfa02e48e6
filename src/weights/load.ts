// The one upload path: a WeightSpec's weights from a source to GPU buffers.
//
// Loading is strict: every key of the spec must be present with its exact shape (an error names
// the key), floating values must be finite (NaN / Inf are reported by key and index), and keys the
// spec does not know are reported (not fatal). Tensors arrive as one pushed sequence (a random-access
// source is read in spec order); a tensor is uploaded as soon as its group is complete, so only an
// incomplete group (a conv waiting for its BatchNorm) is held in memory. Unknown keys and unread
// (I64) ones are skipped without being decoded.
import { assertDeviceAlive, captureGpuErrors, gpuErrorToThrow, type Gpu } from '../gpu/device.js';
import { numel, storageBytes, type DType } from '../gpu/tensor.js';
import { nonFiniteIndex } from '../util/finite.js';
import { encodeWeight } from './dtype.js';
import { pushedTensors, WeightError, type EntryInfo, type WeightProvider } from './source.js';
import type { KeySpec, Weight, WeightGroup, WeightSpec } from './spec.js';

/**
 * How weights are held on the GPU (Weight.dtypeIn): 'f32'; 'f16', the lowPrecision ones (the ViT's
 * linear weights) in f16, read by f32 kernels; 'f16-compute', every weight but the keepF32 ones in
 * f16, read by the kernels' f16 twins (activations in f16 too; needs shader-f16); 'q8', the
 * lowPrecision ones as int8 blocks (weights/q8.ts), read by the *_q8w GEMM kernels of f32 activations.
 */
export const PRECISIONS = ['f32', 'f16', 'f16-compute', 'q8'] as const;
export type Precision = (typeof PRECISIONS)[number];

/** `s` as a Precision, or null when it names none (command-line parsing). */
export const parsePrecision = (s: string): Precision | null => ((PRECISIONS as readonly string[]).includes(s) ? (s as Precision) : null);

export interface LoadProgress {
  /** Source tensors uploaded so far, of `total`. */
  loaded: number;
  total: number;
  /** The tensor just uploaded. */
  key: string;
  /** Sequential sources: bytes consumed so far, and the source's size when known. */
  bytesRead?: number;
  bytesTotal?: number;
}

export interface UploadOptions {
  /** What the spec describes, for messages ('res50 weights: 2 key(s) missing'). */
  name: string;
  precision?: Precision;
  onProgress?: (p: LoadProgress) => void;
}

/** The GPU buffers of a loaded spec; each of its weights holds one until destroy(). */
export class LoadedWeights {
  private constructor(
    readonly weights: ReadonlyMap<string, Weight>,
    /** Keys in the source that the spec does not use (reported, not fatal). */
    readonly unexpected: string[],
  ) {}

  /**
   * Checks the source's key set, then reads, checks, transforms and uploads every tensor. On any
   * error every buffer made so far is destroyed.
   */
  static async load(gpu: Gpu, src: WeightProvider, spec: WeightSpec, opts: UploadOptions): Promise<LoadedWeights> {
    const precision = opts.precision ?? 'f32';
    if (!(PRECISIONS as readonly string[]).includes(precision)) {
      throw new WeightError(`precision must be ${PRECISIONS.map((x) => `'${x}'`).join(' or ')}, got ${JSON.stringify(precision)}`);
    }
    const unexpected = checkEntries(src.entries, spec.keys, opts.name);
    assertDeviceAlive(gpu.device, 'loading weights');
    const w = new LoadedWeights(new Map(spec.weights.map((x) => [x.key, x])), unexpected);
    try {
      await upload(gpu, src, spec.groups, precision, opts.onProgress);
    } catch (e) {
      w.destroy();
      throw e;
    }
    return w;
  }

  get bufferCount(): number {
    let n = 0;
    for (const w of this.weights.values()) n += w.loaded ? 1 : 0;
    return n;
  }

  get bytes(): number {
    let n = 0;
    for (const w of this.weights.values()) n += w.loaded ? w.buffer.size : 0;
    return n;
  }

  destroy(): void {
    for (const w of this.weights.values()) {
      if (w.loaded) w.buffer.destroy();
      w.hold(null);
    }
  }
}

/** Every spec key present with its shape and a usable dtype; returns the source's other keys. */
function checkEntries(entries: ReadonlyMap<string, EntryInfo>, keys: readonly KeySpec[], name: string): string[] {
  const missing = keys.filter((s) => !entries.has(s.key)).map((s) => s.key);
  if (missing.length) {
    throw new WeightError(`${name} weights: ${missing.length} key(s) missing: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''}`);
  }
  for (const s of keys) {
    if (s.dtype !== 'F32') continue; // not read (PyTorch stores num_batches_tracked as an int64 scalar of any rank)
    const e = entries.get(s.key)!;
    const same = e.shape.length === s.shape.length && e.shape.every((d, i) => d === s.shape[i]);
    if (!same) throw new WeightError(`weight '${s.key}' has shape [${e.shape}], ${name} needs [${s.shape}]`);
    if (!['F32', 'F16', 'BF16', 'Q8_0'].includes(e.dtype)) {
      throw new WeightError(`weight '${s.key}' has dtype ${e.dtype}, a float tensor (F32, F16, BF16, or I8 with q8 scales) is needed`);
    }
  }
  const known = new Set(keys.map((s) => s.key));
  return [...entries.keys()].filter((k) => !known.has(k));
}

/**
 * `v` after checking that the source gave a Float32Array of exactly the shape's element count (a
 * WeightProvider is user code: a wrong array would otherwise be uploaded silently) of finite values.
 */
function checkValues(key: string, v: Float32Array, shape: readonly number[]): Float32Array {
  if (!(v instanceof Float32Array)) throw new WeightError(`weight '${key}': the source gave ${Object.prototype.toString.call(v)}, not a Float32Array`);
  if (v.length !== numel(shape)) throw new WeightError(`weight '${key}': the source gave ${v.length} values, shape [${shape}] has ${numel(shape)}`);
  const i = nonFiniteIndex(v);
  if (i >= 0) throw new WeightError(`weight '${key}' holds ${v[i]} at flat index ${i}`);
  return v;
}

async function upload(gpu: Gpu, src: WeightProvider, groups: readonly WeightGroup[], precision: Precision, onProgress?: (p: LoadProgress) => void): Promise<void> {
  const groupOf = new Map<string, WeightGroup>();
  for (const g of groups) for (const k of g.inputs) groupOf.set(k, g);
  const order = groups.flatMap((g) => g.inputs);
  const pending = new Map<WeightGroup, Map<string, Float32Array>>();
  const seen = new Set<string>();
  const uploads: { key: string; errors: Promise<GPUError | null> }[] = [];
  let loaded = 0;
  for await (const t of pushedTensors(src, order)) {
    const g = groupOf.get(t.key);
    if (!g) continue;
    if (seen.has(t.key)) throw new WeightError(`weight '${t.key}' arrived twice`);
    seen.add(t.key);
    const parts = pending.get(g) ?? new Map<string, Float32Array>();
    parts.set(t.key, checkValues(t.key, t.values(), src.entries.get(t.key)!.shape));
    if (parts.size < g.inputs.length) {
      pending.set(g, parts);
      continue;
    }
    pending.delete(g);
    const values = g.inputs.map((k) => parts.get(k)!);
    const made = g.make ? g.make(values) : values;
    g.outputs.forEach((w, i) => uploads.push(put(gpu, w, made[i]!, w.dtypeIn(precision))));
    loaded += g.inputs.length;
    onProgress?.({ loaded, total: order.length, key: t.key, bytesRead: t.bytesRead, bytesTotal: src.size });
  }
  const missing = order.filter((k) => !seen.has(k));
  if (missing.length) throw new WeightError(`the source ended without ${missing.length} weight(s): ${missing.slice(0, 8).join(', ')}`);
  // GPU errors (out of memory, over a limit): a GpuResourceError naming the first weight refused.
  const errs = await Promise.all(uploads.map((u) => u.errors));
  const i = errs.findIndex((e) => e);
  if (i >= 0) throw gpuErrorToThrow(gpu.device, errs[i]!, `uploading weight '${uploads[i]!.key}'`);
}

/** Uploads `data` as weight `w` held in `dtype`; the GPU's verdict comes later through `errors`. */
function put(gpu: Gpu, w: Weight, data: Float32Array, dtype: DType): { key: string; errors: Promise<GPUError | null> } {
  if (data.length !== numel(w.shape)) throw new Error(`weight '${w.key}': ${data.length} values made for shape [${w.shape}]`);
  const bytes = encodeWeight(dtype, w.key, data);
  const device = gpu.device;
  const { errors } = captureGpuErrors(device, () => {
    const buffer = device.createBuffer({
      size: Math.max(16, Math.ceil(storageBytes(dtype, data.length) / 16) * 16),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
      label: w.key,
    });
    w.hold({ buffer, dtype });
    device.queue.writeBuffer(buffer, 0, bytes as Uint32Array<ArrayBuffer> | Float32Array<ArrayBuffer>);
  });
  return { key: w.key, errors };
}
