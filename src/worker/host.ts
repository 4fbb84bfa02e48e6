// The worker side of SamUnetWorker: a GPU device, one model, and the images and embeddings the app
// holds handles to, behind the requests of protocol.ts. worker.ts serves it on the worker's global
// scope; any Endpoint works (a MessagePort in the tests).
//
// Requests run as they arrive, concurrently, as calls on a SamUnet on the main thread would. A
// load() frees the model before it (and that model's embeddings) and stops a load still running.
import {
  blobWeights, decodeImage, fetchWeights, ImageInputError, requestGpu, SamUnet, sheppLogan, syntheticWeights, WeightError,
  type Gpu, type GpuOptions, type ImageEmbedding, type LoadProgress, type RgbImage, type StreamWeightProvider, type WeightProvider,
} from '../index.js';
import type { ScanHost } from './scans.js';
import { assertBitmaps, maskBitmap, rgbBitmap } from './bitmaps.js';
import {
  SamUnetWorkerError, toWire,
  type Args, type Endpoint, type FromWorker, type HandleId, type Method, type Progress, type Result, type ToWorker, type WorkerImageSource, type WorkerModelInfo, type WorkerWeights,
} from './protocol.js';

interface Call<M extends Method> {
  signal: AbortSignal;
  progress(p: Progress<M>): void;
}
interface Reply<M extends Method> {
  value: Result<M>;
  transfer?: Transferable[];
}
type Handler<M extends Method> = (args: Args<M>, call: Call<M>) => Promise<Reply<M>>;

export interface HostOptions {
  /** How the host gets its device (default requestGpu); tests pass their own. */
  requestGpu?: (opts: GpuOptions) => Promise<Gpu>;
}

/** Progress messages at most this often (the last one always goes). */
const PROGRESS_MS = 50;
/** A load gives the event loop a turn this often, so that a cancel message is seen. */
const YIELD_MS = 50;

type SourceInfo = Pick<WorkerModelInfo, 'fromCache' | 'cached' | 'cacheError'>;
type Opener<K extends WorkerWeights['kind']> = (w: Extract<WorkerWeights, { kind: K }>, signal: AbortSignal, info: SourceInfo) => Promise<WeightProvider>;

/** Each kind of weight source, opened in the worker. */
const WEIGHT_SOURCES: { [K in WorkerWeights['kind']]: Opener<K> } = {
  synthetic: async ({ variant }) => {
    if (variant !== 'res50' && variant !== 'res34') throw new WeightError(`synthetic weights: variant must be 'res50' or 'res34', got ${JSON.stringify(variant)}`);
    return syntheticWeights(variant);
  },
  url: async ({ url, cacheName }, signal, info) => {
    if (typeof url !== 'string') throw new TypeError('load: weights.url must be a string');
    const fetched = await fetchWeights(url, {
      cacheName, signal,
      onCached: (ok, why) => {
        info.cached = ok;
        if (!ok) info.cacheError = why instanceof Error ? why.message : String(why);
      },
    });
    info.fromCache = fetched.fromCache;
    return fetched;
  },
  blob: async ({ blob }) => {
    if (!(blob instanceof Blob)) throw new TypeError('load: weights.blob must be a File or Blob');
    // A PyTorch checkpoint (torch.save's zip: 'PK\x03\x04') is read without running its pickle; the
    // reader is loaded only then. Anything else is read as safetensors.
    const magic = new Uint8Array(await blob.slice(0, 4).arrayBuffer());
    if (magic[0] === 0x50 && magic[1] === 0x4b && magic[2] === 0x03 && magic[3] === 0x04) return (await import('../pth/index.js')).pthWeights(blob);
    return blobWeights(blob);
  },
};

/** `src` read with a check of `signal` (and a turn of the event loop every YIELD_MS) before each tensor. */
function abortable(src: WeightProvider, signal: AbortSignal): WeightProvider {
  let last = performance.now();
  const checkpoint = async () => {
    if (performance.now() - last > YIELD_MS) {
      await new Promise((r) => setTimeout(r, 0));
      last = performance.now();
    }
    signal.throwIfAborted();
  };
  const inner = src.tensors?.bind(src);
  return {
    entries: src.entries,
    size: src.size,
    read: async (key) => {
      await checkpoint();
      return src.read(key);
    },
    tensors: inner && async function* () {
      for await (const t of inner()) {
        await checkpoint();
        yield t;
      }
    },
  };
}

/** The largest phantom openImage makes. */
const MAX_PHANTOM = 4096;

async function toRgb(image: WorkerImageSource): Promise<RgbImage> {
  if (image instanceof Blob) return decodeImage(new Uint8Array(await image.arrayBuffer()));
  if (image === null || typeof image !== 'object') throw new ImageInputError('image: expected a File, a Blob, { width, height, data } (8-bit RGB) or { phantom: size }');
  if ('phantom' in image) {
    const n = image.phantom;
    if (!Number.isInteger(n) || n < 1 || n > MAX_PHANTOM) throw new ImageInputError(`image: the phantom's size must be an integer 1 … ${MAX_PHANTOM}, got ${n}`);
    return sheppLogan(n);
  }
  return image;
}

function count(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i]!;
  return n;
}

export class SamUnetHost {
  private gpu: Gpu | null = null;
  private model: SamUnet | null = null;
  private loading: AbortController | null = null;
  private readonly images = new Map<HandleId, RgbImage>();
  private readonly embeddings = new Map<HandleId, ImageEmbedding>();
  private nextId = 1;
  private disposed = false;
  private readonly calls = new Map<number, AbortController>();
  /** Scans (DICOM, NIfTI): their readers load with the first openScan, so a worker that never opens one never loads them. */
  private scanHost: Promise<ScanHost> | null = null;
  private scanHostLoaded: ScanHost | null = null;
  private scans(): Promise<ScanHost> {
    return (this.scanHost ??= import('./scans.js').then(({ ScanHost }) => (this.scanHostLoaded = new ScanHost(() => this.nextId++))));
  }
  /** What the loaded weights are, for embedding keys (synthetic:res34, a URL, a file's name and size). */
  private weightsId = '';

  /** The requests: one handler each. */
  private readonly handlers: { [M in Method]: Handler<M> } = {
    init: (a) => this.init(a),
    load: (a, c) => this.load(a, c),
    openImage: (a) => this.openImage(a),
    encode: (a, c) => this.encode(a, c),
    decode: (a) => this.decode(a),
    openScan: async (a) => ({ value: await (await this.scans()).open(a) }),
    scanSlice: async (a) => (await this.scans()).slice(a),
    prefetchScan: async (a, c) => ({ value: await (await this.scans()).prefetch(this.requireModel('prefetchScan'), this.weightsId, a, c.signal) }),
    segmentScan: async (a, c) => (await this.scans()).segment(this.requireModel('segmentScan'), this.weightsId, a, c.signal, c.progress),
    exportScan: async (a) => (await this.scans()).export(a),
    release: async ({ id }) => {
      this.scanHostLoaded?.release(id);
      this.images.delete(id);
      this.embeddings.get(id)?.destroy();
      this.embeddings.delete(id);
      return { value: undefined };
    },
    dispose: async () => {
      this.disposed = true;
      const stop = new SamUnetWorkerError('the SamUnetWorker was destroyed');
      for (const ac of this.calls.values()) ac.abort(stop);
      this.loading?.abort(stop);
      this.dropModel();
      this.images.clear();
      this.scanHostLoaded?.clear();
      return { value: undefined };
    },
  };

  constructor(
    private readonly port: Endpoint,
    private readonly opts: HostOptions = {},
  ) {
    port.addEventListener('message', (e) => this.receive(e.data as ToWorker));
    port.start?.();
  }

  private receive(msg: ToWorker): void {
    if (msg?.type === 'cancel') this.calls.get(msg.id)?.abort(new DOMException('cancelled by the caller', 'AbortError'));
    else if (msg?.type === 'call') void this.run(msg.id, msg.method, msg.args);
  }

  private async run(id: number, method: Method, args: unknown): Promise<void> {
    const ac = new AbortController();
    this.calls.set(id, ac);
    try {
      if (!Object.prototype.hasOwnProperty.call(this.handlers, method)) throw new SamUnetWorkerError(`unknown request '${String(method)}'`);
      if (this.disposed) throw new SamUnetWorkerError(`${method}: the SamUnetWorker was destroyed`);
      const handler = this.handlers[method] as Handler<Method>;
      const call: Call<Method> = { signal: ac.signal, progress: (progress) => this.post({ type: 'progress', id, progress }) };
      const { value, transfer } = await handler((args ?? {}) as never, call);
      this.post({ type: 'result', id, value }, transfer);
    } catch (e) {
      this.post({ type: 'error', id, error: toWire(e) });
    } finally {
      this.calls.delete(id);
    }
  }

  private post(msg: FromWorker, transfer: Transferable[] = []): void {
    try {
      this.port.postMessage(msg, transfer);
    } catch (e) {
      // A value that cannot be cloned: the caller gets that error instead of waiting forever.
      if (msg.type !== 'progress') this.port.postMessage({ type: 'error', id: msg.id, error: toWire(e) } satisfies FromWorker, []);
    }
  }

  private async init(a: Args<'init'>): Promise<Reply<'init'>> {
    this.gpu ??= await (this.opts.requestGpu ?? requestGpu)({ powerPreference: a.powerPreference, f16: a.f16, timestamps: a.timestamps });
    return { value: this.gpu.info };
  }

  private requireModel(what: string): SamUnet {
    if (!this.gpu) throw new SamUnetWorkerError(`${what}: the worker was not initialised`);
    if (!this.model) throw new SamUnetWorkerError(`${what}: no model is loaded (call load() first, and wait for it)`);
    return this.model;
  }

  private dropModel(): void {
    this.model?.destroy(); // and with it every embedding it made
    this.model = null;
    this.embeddings.clear();
    this.scanHostLoaded?.dropModel();
  }

  private async load({ weights, precision, variant, warmup }: Args<'load'>, call: Call<'load'>): Promise<Reply<'load'>> {
    if (!this.gpu) throw new SamUnetWorkerError('load: the worker was not initialised');
    const open = weights && typeof weights === 'object' && Object.prototype.hasOwnProperty.call(WEIGHT_SOURCES, weights.kind) ? (WEIGHT_SOURCES[weights.kind] as Opener<WorkerWeights['kind']>) : null;
    if (!open) throw new SamUnetWorkerError(`load: unknown weight source ${JSON.stringify((weights as { kind?: unknown } | null)?.kind)} (synthetic, url or blob)`);
    this.loading?.abort(new DOMException('replaced by a later load()', 'AbortError'));
    const mine = new AbortController();
    this.loading = mine;
    const signal = AbortSignal.any([call.signal, mine.signal]);
    this.dropModel();
    const info: SourceInfo = {};
    let last = 0;
    const onProgress = (p: LoadProgress) => {
      const now = performance.now();
      if (now - last < PROGRESS_MS && p.loaded < p.total) return;
      last = now;
      call.progress(p);
    };
    let src: WeightProvider | null = null;
    let model: SamUnet;
    try {
      src = await open(weights, signal, info);
      model = await SamUnet.load(this.gpu, abortable(src, signal), { precision, variant, onProgress });
    } catch (e) {
      await (src as Partial<StreamWeightProvider> | null)?.cancel?.().catch(() => undefined); // a download the loader never read
      throw signal.aborted ? signal.reason : e;
    } finally {
      if (this.loading === mine) this.loading = null;
    }
    if (signal.aborted) {
      model.destroy();
      throw signal.reason;
    }
    this.model = model;
    this.weightsId = weights.kind === 'synthetic' ? `synthetic:${weights.variant}` : weights.kind === 'url' ? weights.url
      : `blob:${(weights.blob as File).name ?? ''}:${weights.blob.size}:${(weights.blob as File).lastModified ?? ''}`;
    // In the background: an encode meanwhile waits for the plans it shares; a failure shows there.
    if (warmup) model.warmup().catch(() => undefined);
    const w = model.weights;
    return { value: { variant: model.variant, precision: w.precision, bytes: w.bytes, bufferCount: w.bufferCount, unexpected: w.unexpected, ...info } };
  }

  private async openImage({ image, bitmap }: Args<'openImage'>): Promise<Reply<'openImage'>> {
    if (bitmap) assertBitmaps('openImage');
    const rgb = await toRgb(image);
    const picture = bitmap ? await rgbBitmap(rgb) : null;
    const id = this.nextId++;
    this.images.set(id, rgb);
    return { value: { id, width: rgb.width, height: rgb.height, bitmap: picture }, transfer: picture ? [picture] : [] };
  }

  private async encode({ image }: Args<'encode'>, call: Call<'encode'>): Promise<Reply<'encode'>> {
    const model = this.requireModel('encode');
    let rgb: RgbImage;
    if (typeof image === 'number') {
      const kept = this.images.get(image);
      if (!kept) throw new SamUnetWorkerError(`encode: image ${image} is not open (it was destroyed)`);
      rgb = kept;
    } else rgb = await toRgb(image);
    const emb = await model.encode(rgb);
    // Resolve when the GPU is done, so that the encode's time is the encode's.
    await model.gpu.device.queue.onSubmittedWorkDone();
    if (call.signal.aborted || emb.destroyed) {
      emb.destroy();
      throw call.signal.aborted ? call.signal.reason : new SamUnetWorkerError('encode: the model was replaced by a later load() while it encoded');
    }
    const id = this.nextId++;
    this.embeddings.set(id, emb);
    return { value: { id, frame: { ...emb.frame } } };
  }

  private async decode({ embedding, prompts, overlay }: Args<'decode'>): Promise<Reply<'decode'>> {
    this.requireModel('decode');
    const emb = this.embeddings.get(embedding);
    if (!emb || emb.destroyed) throw new SamUnetWorkerError(`decode: embedding ${embedding} is not alive (destroyed, or its model was replaced by a later load())`);
    if (overlay !== undefined) {
      assertBitmaps('decode');
      if (!Array.isArray(overlay) || overlay.length !== 4 || !overlay.every((c) => Number.isFinite(c))) {
        throw new TypeError(`decode: overlay must be an RGBA colour [r, g, b, a] of numbers 0–255, got ${JSON.stringify(overlay)}`);
      }
    }
    const r = await emb.owner.decode(emb, prompts);
    const overlays = overlay ? await Promise.all(r.masks.map((m) => maskBitmap(m, r.width, r.height, overlay))) : null;
    const buffers = new Set([...r.lowResLogits, ...r.logits, ...r.masks].map((a) => a.buffer as ArrayBuffer));
    return { value: { ...r, areas: r.masks.map(count), overlays }, transfer: [...buffers, ...(overlays ?? [])] };
  }
}

/** Answers SamUnetWorker's requests arriving on `port` (a worker's global scope, a MessagePort). */
export function serveSamUnet(port: Endpoint, opts: HostOptions = {}): SamUnetHost {
  return new SamUnetHost(port, opts);
}
