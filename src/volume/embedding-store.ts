// Embeddings kept, not recomputed: every slice (image) is encoded once, and re-prompting it is a
// decode alone. Entries are keyed by embeddingKey (weights + precision + prepared input) and live
// in one of two tiers under byte budgets, least recently used out:
//   GPU  (an ImageEmbedding, ready to decode) → over gpuBytes the LRU unpinned entry is read back
//   CPU  (Float32Arrays, EmbeddingData)       → over cpuBytes the LRU entry is dropped
// and, optionally, a persistent cache (IndexedDB in the browser: IdbEmbeddingCache) written through
// on every encode, consulted before encoding. One slice costs EMBEDDING_BYTES = 768 KiB (float32
// image_embeddings [1,256,16,16] 256 KiB + multi_scale_feature [1,32,64,64] 512 KiB) in each tier.
//
//   const store = new EmbeddingStore(model, { weightsId: 'synthetic:res34', gpuBytes: 64 << 20 });
//   const lease = await store.acquireImage(sliceRgb);   // encodes, or finds it cached
//   try { await model.decode(lease.embedding, prompts) } finally { lease.release() }
//
// A leased embedding is pinned: it is not evicted (the GPU tier may exceed its budget while every
// entry there is pinned) until release().
import type { RgbImage } from '../image/decode.js';
import type { FrameInfo } from '../model/prompts.js';
import { EMBEDDING_LENGTHS, SamUnet, type EmbeddingData, type ImageEmbedding } from '../model/sam_unet.js';
import { embeddingKey } from './embedding-key.js';

/** Bytes of one cached embedding (float32), in either tier: 786,432 (768 KiB). */
export const EMBEDDING_BYTES = 4 * (EMBEDDING_LENGTHS.embeddings + EMBEDDING_LENGTHS.multiScaleFeature);

/** Where embeddings survive a reload (IdbEmbeddingCache); the store never depends on it succeeding. */
export interface PersistentEmbeddingCache {
  get(key: string): Promise<EmbeddingData | undefined>;
  put(key: string, data: EmbeddingData): Promise<void>;
}

export interface EmbeddingStoreOptions {
  /**
   * What the weights are: 'synthetic:res34', safetensorsIdentity(file), a release name. The model's
   * variant and precision are added to it. Keys (and so persistent entries) depend on it.
   */
  weightsId: string;
  /** Embedding bytes kept on the GPU (default 256 MiB: 341 slices). */
  gpuBytes?: number;
  /** Embedding bytes kept in host memory once off the GPU (default 1 GiB: 1365 slices; 0: none). */
  cpuBytes?: number;
  persistent?: PersistentEmbeddingCache;
}

/** A pinned, GPU-resident embedding; release() lets the store evict it again. */
export interface EmbeddingLease {
  readonly key: string;
  readonly embedding: ImageEmbedding;
  release(): void;
}

export interface EmbeddingStoreStats {
  gpuEntries: number;
  cpuEntries: number;
  /** Encoder runs. */
  encodes: number;
  /** Acquires answered from the GPU tier, from the CPU tier (an upload), from the persistent cache. */
  gpuHits: number;
  cpuHits: number;
  persistentHits: number;
  /** Entries read back from the GPU to the CPU tier, and entries dropped from memory. */
  readbacks: number;
  drops: number;
  /** Write-throughs to the persistent cache that failed (the store carries on without them). */
  persistentErrors: number;
}

interface Entry {
  key: string;
  gpu: ImageEmbedding | null;
  cpu: EmbeddingData | null;
  pins: number;
}

export class EmbeddingStore {
  readonly gpuBytes: number;
  readonly cpuBytes: number;
  /** weightsId|variant|precision: the model part of every key. */
  readonly modelId: string;
  private readonly persistent: PersistentEmbeddingCache | undefined;
  /** Least recently used first. */
  private readonly entries = new Map<string, Entry>();
  private readonly producing = new Map<string, Promise<void>>();
  private readonly writes = new Set<Promise<void>>();
  private balancing: Promise<void> = Promise.resolve();
  private destroyed = false;
  private readonly counts = { encodes: 0, gpuHits: 0, cpuHits: 0, persistentHits: 0, readbacks: 0, drops: 0, persistentErrors: 0 };

  constructor(readonly model: SamUnet, opts: EmbeddingStoreOptions) {
    if (typeof opts?.weightsId !== 'string' || opts.weightsId === '') throw new TypeError('EmbeddingStore: weightsId must be a non-empty string');
    const budget = (v: number | undefined, fallback: number, what: string) => {
      const b = v ?? fallback;
      if (!Number.isFinite(b) || b < 0) throw new RangeError(`EmbeddingStore: ${what} must be a byte count ≥ 0, got ${v}`);
      return b;
    };
    this.gpuBytes = budget(opts.gpuBytes, 256 * 2 ** 20, 'gpuBytes');
    this.cpuBytes = budget(opts.cpuBytes, 2 ** 30, 'cpuBytes');
    this.modelId = `${opts.weightsId}|${model.variant}|${model.weights.precision}`;
    this.persistent = opts.persistent;
  }

  /** The key of a prepared input (SamUnet.prepare) under this store's model. */
  keyOf(input: Float32Array, frame: FrameInfo): Promise<string> {
    return embeddingKey(this.modelId, input, frame);
  }

  /** The embedding of an RGB image, encoded only if no tier has it. */
  acquireImage(image: RgbImage): Promise<EmbeddingLease> {
    const { input, frame } = SamUnet.prepare(image);
    return this.acquireInput(input, frame);
  }

  /** The embedding of a prepared input, encoded only if no tier has it. */
  async acquireInput(input: Float32Array, frame: FrameInfo): Promise<EmbeddingLease> {
    const key = await this.keyOf(input, frame);
    return (await this.acquire(key, () => this.model.encodeInput(input, frame)))!;
  }

  /**
   * The entry `key` on the GPU, pinned. Missing from memory: the persistent cache is asked, then
   * `encode` (a concurrent acquire of the same key shares that one run); with neither, undefined.
   */
  async acquire(key: string, encode?: () => Promise<ImageEmbedding>): Promise<EmbeddingLease | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      this.check();
      const e = this.entries.get(key);
      if (e && (e.cpu || (e.gpu && !e.gpu.destroyed))) {
        e.pins++; // before any await: nothing evicts it from here on
        try {
          if (!e.gpu || e.gpu.destroyed) {
            e.gpu = this.model.importEmbedding(e.cpu!);
            e.cpu = null;
            this.counts.cpuHits++;
          } else this.counts.gpuHits++;
        } catch (err) {
          e.pins--;
          throw err;
        }
        this.entries.delete(key);
        this.entries.set(key, e); // most recently used last
        this.rebalance();
        return this.lease(e);
      }
      if (e) this.entries.delete(key); // its GPU copy was destroyed from outside (model.destroy)
      let p = this.producing.get(key);
      if (!p) {
        if (!encode && !this.persistent) return undefined;
        p = this.produce(key, encode).finally(() => this.producing.delete(key));
        this.producing.set(key, p);
      }
      await p;
      if (!this.entries.has(key) && !encode) return undefined;
      // The loop pins the new entry; it could only have gone if a budget of 0 evicted it meanwhile.
    }
    throw new Error(`EmbeddingStore: entry ${key} was evicted three times before it could be pinned (is gpuBytes 0 and cpuBytes 0?)`);
  }

  /** Where `key` is held in memory now. */
  where(key: string): 'gpu' | 'cpu' | undefined {
    const e = this.entries.get(key);
    return !e ? undefined : e.gpu && !e.gpu.destroyed ? 'gpu' : e.cpu ? 'cpu' : undefined;
  }

  get stats(): EmbeddingStoreStats {
    let gpuEntries = 0, cpuEntries = 0;
    for (const e of this.entries.values()) {
      if (e.gpu && !e.gpu.destroyed) gpuEntries++;
      else if (e.cpu) cpuEntries++;
    }
    return { gpuEntries, cpuEntries, ...this.counts };
  }

  /** Resolves once every pending persistent write has settled, and eviction has caught up. */
  async flush(): Promise<void> {
    while (this.writes.size) await Promise.allSettled([...this.writes]);
    await this.balancing;
  }

  /** Drops every unpinned entry from memory (the persistent cache keeps its copies). */
  clear(): void {
    for (const [key, e] of [...this.entries]) {
      if (e.pins > 0) continue;
      e.gpu?.destroy();
      this.entries.delete(key);
    }
  }

  /** Frees every GPU embedding the store holds, leased or not; the store cannot be used after. */
  destroy(): void {
    this.destroyed = true;
    for (const e of this.entries.values()) e.gpu?.destroy();
    this.entries.clear();
  }

  private check(): void {
    if (this.destroyed) throw new Error('EmbeddingStore: the store was destroyed');
  }

  private lease(e: Entry): EmbeddingLease {
    let held = true;
    return {
      key: e.key,
      embedding: e.gpu!,
      release: () => {
        if (!held) return;
        held = false;
        e.pins--;
        this.rebalance();
      },
    };
  }

  /** From the persistent cache, else the encoder; the entry joins the GPU tier, unpinned. */
  private async produce(key: string, encode?: () => Promise<ImageEmbedding>): Promise<void> {
    const saved = this.persistent ? await this.persistent.get(key).catch(() => undefined) : undefined;
    let emb: ImageEmbedding;
    if (saved) {
      emb = this.model.importEmbedding(saved);
      this.counts.persistentHits++;
    } else if (encode) {
      emb = await encode();
      this.counts.encodes++;
      if (this.persistent) this.writeThrough(key, emb);
    } else return;
    if (this.destroyed) {
      emb.destroy();
      this.check();
    }
    this.entries.set(key, { key, gpu: emb, cpu: null, pins: 0 });
  }

  private writeThrough(key: string, emb: ImageEmbedding): void {
    const w = this.model
      .exportEmbedding(emb)
      .then((data) => this.persistent!.put(key, data))
      .catch(() => void this.counts.persistentErrors++)
      .finally(() => this.writes.delete(w));
    this.writes.add(w);
  }

  /** Brings both tiers within budget (one pass at a time; a call during a pass runs after it). */
  private rebalance(): void {
    this.balancing = this.balancing.then(() => this.balance()).catch(() => undefined);
  }

  private async balance(): Promise<void> {
    const onGpu = () => [...this.entries.values()].filter((e) => e.gpu && !e.gpu.destroyed);
    const skip = new Set<Entry>();
    for (;;) {
      const resident = onGpu();
      if (resident.length * EMBEDDING_BYTES <= this.gpuBytes) break;
      const victim = resident.find((e) => e.pins === 0 && !skip.has(e));
      if (!victim) break; // the rest are leased: over budget until they are released
      const emb = victim.gpu!;
      let data: EmbeddingData | null = null;
      if (this.cpuBytes >= EMBEDDING_BYTES) data = await this.model.exportEmbedding(emb).catch(() => null);
      if (victim.pins > 0 || this.entries.get(victim.key) !== victim || victim.gpu !== emb) {
        skip.add(victim); // leased (or replaced) while it was read back: it stays
        continue;
      }
      emb.destroy();
      victim.gpu = null;
      if (data) {
        victim.cpu = data;
        this.counts.readbacks++;
      } else {
        this.entries.delete(victim.key);
        this.counts.drops++;
      }
    }
    const onCpu = [...this.entries.values()].filter((e) => !e.gpu && e.cpu);
    while (onCpu.length * EMBEDDING_BYTES > this.cpuBytes) {
      this.entries.delete(onCpu.shift()!.key);
      this.counts.drops++;
    }
  }
}
