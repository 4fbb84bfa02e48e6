// SamUnetWorker: SamUnet in a dedicated Web Worker, behind the same calls (load, encode, decode,
// destroy), so that loading weights and running the model never block the app's thread.
//
//   const sam = await SamUnetWorker.create(new Worker(new URL('sam-unet-webgpu/worker', import.meta.url), { type: 'module' }));
//   await sam.load({ kind: 'url', url }, { onProgress: (p) => … });
//   const emb = await sam.encode(file);                 // a PNG/JPEG File, or { width, height, data }
//   const { masks } = await sam.decode(emb, [{ box: [x0, y0, x1, y1] }]);
//   emb.destroy(); sam.destroy();
//
// Errors thrown in the worker are thrown here as the same classes (PromptError, ImageInputError,
// WeightError, GpuUnavailableError, …) with the same messages. Results are transferred, not copied.
// An AbortSignal on a call rejects it at once with the signal's reason and tells the worker to stop.
import type {
  AdapterDescription, LoadProgress, Precision, PromptSet, PropagationStrategy, RgbImage, SliceAxis, SliceProgress, Variant, VolumePrompt, WindowSpec,
} from '../index.js';
import {
  fromWire, SamUnetWorkerError,
  type Args, type Endpoint, type FromWorker, type HandleId, type ImageFrame, type Method, type Progress, type Result, type Rgba, type ToWorker,
  type WorkerDecodeResult, type WorkerImageSource, type WorkerModelInfo, type WorkerScanInfo, type WorkerSegmentation, type WorkerWeights,
} from './protocol.js';

export interface WorkerCallOptions {
  signal?: AbortSignal;
}

export interface SamUnetWorkerOptions extends WorkerCallOptions {
  powerPreference?: GPUPowerPreference;
  /** Ask for `shader-f16` / `timestamp-query` when the adapter has them (see GpuOptions). */
  f16?: boolean;
  timestamps?: boolean;
}

export interface WorkerLoadOptions extends WorkerCallOptions {
  precision?: Precision;
  variant?: Variant;
  /** Tensors uploaded, and bytes read for a URL or a File (at most one call per 50 ms, and the last). */
  onProgress?: (p: LoadProgress) => void;
  /**
   * Warm the model up in the worker after the load resolves (SamUnet.warmup, in the background): the
   * first encode and decode then find their pipelines built (and, on a software adapter, compiled).
   */
  warmup?: boolean;
}

export interface WorkerEncodeOptions extends WorkerCallOptions {
  /** An RgbImage: move its data's whole ArrayBuffer to the worker instead of copying it (it is detached here). */
  transfer?: boolean;
}

export interface WorkerImageOptions extends WorkerEncodeOptions {
  /** Also return the image as an ImageBitmap to draw (made in the worker). */
  bitmap?: boolean;
}

export interface WorkerDecodeOptions extends WorkerCallOptions {
  /** Also return each mask as an ImageBitmap in this RGBA colour (transparent outside), made in the worker. */
  overlay?: Rgba;
}

/** An image decoded and kept in the worker (openImage): encode it by handle, draw its bitmap. */
export class WorkerImage {
  private alive = true;

  /** @internal */
  constructor(
    readonly owner: SamUnetWorker,
    /** @internal */
    readonly id: HandleId,
    readonly width: number,
    readonly height: number,
    /** The image as the model sees it, when asked for; yours to draw and close(). */
    readonly bitmap: ImageBitmap | null,
  ) {}

  get destroyed(): boolean {
    return !this.alive || this.owner.destroyed;
  }

  /** Frees the worker's copy (the bitmap stays valid). */
  destroy(): void {
    if (!this.alive) return;
    this.alive = false;
    this.owner._release(this.id);
  }
}

/** An encoded image, kept on the worker's GPU until destroyed or until a later load() replaces the model. */
export class WorkerEmbedding {
  private alive = true;

  /** @internal */
  constructor(
    readonly owner: SamUnetWorker,
    /** @internal */
    readonly id: HandleId,
    readonly frame: ImageFrame,
    private readonly generation: number,
  ) {}

  get width(): number {
    return this.frame.width;
  }

  get height(): number {
    return this.frame.height;
  }

  get destroyed(): boolean {
    return !this.alive || this.owner.destroyed || this.owner._generation !== this.generation;
  }

  destroy(): void {
    if (!this.alive) return;
    this.alive = false;
    this.owner._release(this.id);
  }
}

/**
 * A DICOM series or file or a NIfTI volume opened in the worker (openScan): slices to draw, slices
 * encoded in the background, prompts propagated through it, the label map as file bytes.
 */
export class WorkerScan {
  private alive = true;

  /** @internal */
  constructor(
    readonly owner: SamUnetWorker,
    readonly info: WorkerScanInfo,
  ) {}

  get destroyed(): boolean {
    return !this.alive || this.owner.destroyed;
  }

  /** Slice `index` along `axis` as 8-bit RGB (display orientation), and how the window was applied. */
  slice(axis: SliceAxis, index: number, window: WindowSpec = 'auto', opts: WorkerCallOptions = {}): Promise<{ width: number; height: number; rgb: Uint8Array; window: string }> {
    return this.owner._call('scanSlice', { scan: this.id, axis, index, window }, opts);
  }

  /** Encodes these slices into the worker's embedding store unless it holds them (a background job: cancel with a signal). */
  prefetch(axis: SliceAxis, indices: number[], window: WindowSpec = 'auto', opts: WorkerCallOptions = {}): Promise<{ encoded: number; cached: number }> {
    return this.owner._call('prefetchScan', { scan: this.id, axis, window, indices }, opts);
  }

  /**
   * Propagates prompts through the scan (segmentVolume in the worker). `correct`: keep the last
   * result and re-propagate from these prompts' slices only.
   */
  segment(prompts: VolumePrompt[], opts: WorkerCallOptions & { axis?: SliceAxis; window?: WindowSpec; strategy?: PropagationStrategy; correct?: boolean; onProgress?: (p: SliceProgress) => void } = {}): Promise<WorkerSegmentation> {
    return this.owner._call('segmentScan', { scan: this.id, prompts, axis: opts.axis ?? 'axial', window: opts.window ?? 'auto', strategy: opts.strategy, correct: opts.correct }, opts);
  }

  /** The last segmentation as a NIfTI label map (.nii.gz) or a DICOM SEG (DICOM series only). */
  export(format: 'nifti' | 'seg', opts: WorkerCallOptions = {}): Promise<Uint8Array> {
    return this.owner._call('exportScan', { scan: this.id, format }, opts);
  }

  /** @internal */
  get id(): HandleId {
    return this.info.id;
  }

  destroy(): void {
    if (!this.alive) return;
    this.alive = false;
    this.owner._release(this.id);
  }
}

interface Pending {
  method: Method;
  resolve(value: unknown): void;
  reject(e: unknown): void;
  progress?: (p: never) => void;
  /** Cancelled here: the answer, when it comes, is dropped (and what it made in the worker freed). */
  cancelled: boolean;
}

export class SamUnetWorker {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | null = null;
  private info: AdapterDescription | null = null;
  /** @internal Counts loads: embeddings of an earlier model are gone. */
  _generation = 0;

  private constructor(private readonly target: Worker | Endpoint) {
    target.addEventListener('message', (e) => this.receive(e.data as FromWorker));
    target.addEventListener('messageerror', () => this.rejectAll(new SamUnetWorkerError('a message from the worker could not be read (structured clone failed)')));
    if (isWorker(target)) {
      target.addEventListener('error', (e: ErrorEvent) => {
        e.preventDefault?.();
        const why = e.message || 'its script did not load or did not run: check the Worker URL, and that it is served as JavaScript';
        this.fail(new SamUnetWorkerError(`the SamUnet worker failed: ${why}`));
      });
    }
    (target as Endpoint).start?.();
  }

  /**
   * Starts the model host on `target` (a module Worker running `sam-unet-webgpu/worker`, or any
   * Endpoint served by serveSamUnet) and gets its WebGPU device. Rejects with the worker's
   * GpuUnavailableError when it has no WebGPU.
   */
  static async create(target: Worker | Endpoint, opts: SamUnetWorkerOptions = {}): Promise<SamUnetWorker> {
    const client = new SamUnetWorker(target);
    try {
      client.info = await client.call('init', { powerPreference: opts.powerPreference, f16: opts.f16, timestamps: opts.timestamps }, { signal: opts.signal });
    } catch (e) {
      client.destroy();
      throw e;
    }
    return client;
  }

  /** The worker's adapter. */
  get adapter(): AdapterDescription {
    return this.info!;
  }

  get destroyed(): boolean {
    return this.dead !== null;
  }

  /**
   * Loads weights in the worker. A model loaded before is freed first, with its embeddings; a load
   * still running is stopped (it rejects with an AbortError).
   */
  load(weights: WorkerWeights, opts: WorkerLoadOptions = {}): Promise<WorkerModelInfo> {
    this._generation++;
    return this.call('load', { weights, precision: opts.precision, variant: opts.variant, warmup: opts.warmup }, { signal: opts.signal, onProgress: opts.onProgress });
  }

  /**
   * Decodes a PNG/JPEG File or Blob in the worker (or takes an RGB image, or makes the phantom) and
   * keeps it there, for encode().
   */
  async openImage(image: WorkerImageSource, opts: WorkerImageOptions = {}): Promise<WorkerImage> {
    const r = await this.call('openImage', { image, bitmap: !!opts.bitmap }, { signal: opts.signal, transfer: this.imageTransfer(image, opts.transfer) });
    return new WorkerImage(this, r.id, r.width, r.height, r.bitmap);
  }

  /** Encodes an image: one opened with openImage, or any source openImage takes. */
  async encode(image: WorkerImage | WorkerImageSource, opts: WorkerEncodeOptions = {}): Promise<WorkerEmbedding> {
    let arg: Args<'encode'>['image'];
    if (image instanceof WorkerImage) {
      if (image.owner !== this) throw new SamUnetWorkerError('encode: the image was opened by another SamUnetWorker');
      if (image.destroyed) throw new SamUnetWorkerError('encode: the image was destroyed');
      arg = image.id;
    } else arg = image;
    const generation = this._generation;
    const r = await this.call('encode', { image: arg }, { signal: opts.signal, transfer: image instanceof WorkerImage ? [] : this.imageTransfer(image, opts.transfer) });
    return new WorkerEmbedding(this, r.id, r.frame, generation);
  }

  /** Decodes prompt sets against an embedding (see SamUnet.decode); the arrays are transferred here. */
  decode(emb: WorkerEmbedding, prompts: PromptSet | readonly PromptSet[], opts: WorkerDecodeOptions = {}): Promise<WorkerDecodeResult> {
    if (!(emb instanceof WorkerEmbedding)) return Promise.reject(new SamUnetWorkerError('decode: the first argument must be a WorkerEmbedding from encode()'));
    if (emb.owner !== this) return Promise.reject(new SamUnetWorkerError('decode: the embedding was made by another SamUnetWorker'));
    if (emb.destroyed) return Promise.reject(new SamUnetWorkerError('decode: the embedding was destroyed, or a later load() replaced its model'));
    return this.call('decode', { embedding: emb.id, prompts, overlay: opts.overlay }, { signal: opts.signal });
  }

  /** Opens DICOM files (one file, or a series' files: a folder picked with webkitdirectory) or a NIfTI file in the worker. */
  async openScan(files: Blob[], opts: WorkerCallOptions & { series?: string } = {}): Promise<WorkerScan> {
    return new WorkerScan(this, await this.call('openScan', { files, series: opts.series }, opts));
  }

  /** @internal */
  _call<M extends Method>(method: M, args: Args<M>, o: { signal?: AbortSignal; onProgress?: (p: Progress<M>) => void } = {}): Promise<Result<M>> {
    return this.call(method, args, o);
  }

  /**
   * Stops the worker: calls in flight reject with a SamUnetWorkerError, and a Worker is terminated
   * (the browser frees its GPU device with it). Another Endpoint is asked to free everything.
   */
  destroy(): void {
    if (this.dead) return;
    this.fail(new SamUnetWorkerError('SamUnetWorker was destroyed'));
  }

  /** @internal Frees a handle's object in the worker (fire and forget). */
  _release(id: HandleId): void {
    if (!this.dead) void this.call('release', { id }).catch(() => undefined);
  }

  private imageTransfer(image: WorkerImageSource, transfer: boolean | undefined): Transferable[] {
    if (!transfer || image instanceof Blob) return [];
    const buf = (image as Partial<RgbImage> | null)?.data?.buffer;
    return buf instanceof ArrayBuffer ? [buf] : [];
  }

  private call<M extends Method>(
    method: M,
    args: Args<M>,
    o: { signal?: AbortSignal; onProgress?: (p: Progress<M>) => void; transfer?: Transferable[] } = {},
  ): Promise<Result<M>> {
    if (this.dead) return Promise.reject(this.dead);
    const { signal } = o;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = this.nextId++;
    return new Promise<Result<M>>((resolve, reject) => {
      const onAbort = () => {
        const p = this.pending.get(id);
        if (!p || p.cancelled) return;
        p.cancelled = true;
        this.post({ type: 'cancel', id });
        reject(signal!.reason);
      };
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        method,
        cancelled: false,
        resolve: (v) => (done(), resolve(v as Result<M>)),
        reject: (e) => (done(), reject(e)),
        progress: o.onProgress as ((p: never) => void) | undefined,
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        this.target.postMessage({ type: 'call', id, method, args } satisfies ToWorker, o.transfer ?? []);
      } catch (e) {
        this.pending.delete(id);
        done();
        reject(e); // DataCloneError: something in the arguments cannot be sent
      }
    });
  }

  private post(msg: ToWorker): void {
    try {
      this.target.postMessage(msg, []);
    } catch {
      /* a closed port: nothing left to tell */
    }
  }

  private receive(msg: FromWorker): void {
    const p = this.pending.get(msg?.id);
    if (!p) return;
    if (msg.type === 'progress') {
      if (!p.cancelled) p.progress?.(msg.progress as never);
      return;
    }
    this.pending.delete(msg.id);
    if (p.cancelled) {
      if (msg.type === 'result') this.orphan(p.method, msg.value);
      return;
    }
    if (msg.type === 'result') p.resolve(msg.value);
    else p.reject(fromWire(msg.error));
  }

  /** What a cancelled call made anyway: freed in the worker, bitmaps closed. */
  private orphan(method: Method, value: unknown): void {
    const v = value as { id?: HandleId; bitmap?: ImageBitmap | null; overlays?: ImageBitmap[] | null } | null;
    if ((method === 'encode' || method === 'openImage') && typeof v?.id === 'number') this._release(v.id);
    v?.bitmap?.close();
    for (const b of v?.overlays ?? []) b.close();
  }

  private rejectAll(e: Error): void {
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const p of calls) if (!p.cancelled) p.reject(e);
  }

  private fail(e: Error): void {
    if (this.dead) return;
    this.post({ type: 'call', id: this.nextId++, method: 'dispose', args: {} });
    this.dead = e;
    this.rejectAll(e);
    if (isWorker(this.target)) this.target.terminate();
  }
}

function isWorker(t: Worker | Endpoint): t is Worker {
  return typeof (t as Worker).terminate === 'function';
}
