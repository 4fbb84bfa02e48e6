// The embedding store's persistent tier in the browser: IndexedDB (every browser, workers, headless
// Chromium; no secure context needed). One record per embedding, keyed by the store's key (SHA-256
// of the weights id, precision and prepared input), so entries survive a reload and never mix
// checkpoints. Bounded by maxBytes: past it the least recently read or written records go.
//
//   const store = new EmbeddingStore(model, { weightsId, persistent: await IdbEmbeddingCache.open() });
import type { FrameInfo } from '../model/prompts.js';
import { EMBEDDING_LENGTHS, type EmbeddingData } from '../model/sam_unet.js';
import { EMBEDDING_BYTES, type PersistentEmbeddingCache } from './embedding-store.js';

export const DEFAULT_EMBEDDING_DB = 'sam-unet-embeddings';
const STORE = 'embeddings';
const BY_USE = 'lastUsed';

interface EmbeddingRecord {
  key: string;
  frame: FrameInfo;
  embeddings: Float32Array;
  multiScaleFeature: Float32Array;
  lastUsed: number;
}

export interface IdbEmbeddingCacheOptions {
  /** Database name (default 'sam-unet-embeddings'). */
  name?: string;
  /** Most bytes of embeddings kept (default 512 MiB: 682 slices). */
  maxBytes?: number;
  /** The IndexedDB factory (default globalThis.indexedDB). */
  indexedDB?: IDBFactory;
}

/** A request as a promise. */
function done<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Resolves when the transaction commits, rejects when it aborts. */
function committed(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

/** A record as written by put(), else null (another version, a damaged entry). */
function asData(r: unknown): EmbeddingData | null {
  const rec = r as Partial<EmbeddingRecord> | undefined;
  const f = rec?.frame;
  const ok =
    rec?.embeddings instanceof Float32Array && rec.embeddings.length === EMBEDDING_LENGTHS.embeddings &&
    rec.multiScaleFeature instanceof Float32Array && rec.multiScaleFeature.length === EMBEDDING_LENGTHS.multiScaleFeature &&
    !!f && [f.width, f.height, f.inputW, f.inputH].every((v) => Number.isInteger(v) && v > 0);
  return ok ? { frame: f!, embeddings: rec!.embeddings!, multiScaleFeature: rec!.multiScaleFeature! } : null;
}

export class IdbEmbeddingCache implements PersistentEmbeddingCache {
  private last = 0;

  private constructor(
    private readonly db: IDBDatabase,
    readonly maxBytes: number,
  ) {}

  /** Opens (creating on first use) the database. Rejects where IndexedDB is missing or refused. */
  static async open(opts: IdbEmbeddingCacheOptions = {}): Promise<IdbEmbeddingCache> {
    const factory = opts.indexedDB ?? globalThis.indexedDB;
    if (!factory) throw new Error('IdbEmbeddingCache: IndexedDB is not available here');
    const maxBytes = opts.maxBytes ?? 512 * 2 ** 20;
    if (!Number.isFinite(maxBytes) || maxBytes < 0) throw new RangeError(`IdbEmbeddingCache: maxBytes must be ≥ 0, got ${opts.maxBytes}`);
    const req = factory.open(opts.name ?? DEFAULT_EMBEDDING_DB, 1);
    req.onupgradeneeded = () => {
      const store = req.result.createObjectStore(STORE, { keyPath: 'key' });
      store.createIndex(BY_USE, 'lastUsed');
    };
    return new IdbEmbeddingCache(await done(req), maxBytes);
  }

  /** The entry, or undefined (a damaged record is deleted). Marks it used. */
  async get(key: string): Promise<EmbeddingData | undefined> {
    const tx = this.db.transaction(STORE, 'readwrite');
    const store = tx.objectStore(STORE);
    const rec = (await done(store.get(key))) as EmbeddingRecord | undefined;
    const data = rec === undefined ? null : asData(rec);
    if (rec !== undefined && !data) store.delete(key);
    else if (data) store.put({ ...rec, lastUsed: this.stamp() });
    await committed(tx);
    return data ?? undefined;
  }

  /** Stores the entry, then removes the least recently used records beyond maxBytes. */
  async put(key: string, data: EmbeddingData): Promise<void> {
    if (!asData(data)) throw new TypeError('IdbEmbeddingCache.put: not an embedding ({ frame, embeddings, multiScaleFeature })');
    const { width, height, inputW, inputH } = data.frame;
    // A view is cloned with its whole ArrayBuffer (exportEmbedding's two share one): store copies.
    const own = (v: Float32Array) => (v.byteOffset === 0 && v.buffer.byteLength === v.byteLength ? v : v.slice());
    const rec: EmbeddingRecord = {
      key, frame: { width, height, inputW, inputH }, embeddings: own(data.embeddings), multiScaleFeature: own(data.multiScaleFeature), lastUsed: this.stamp(),
    };
    const tx = this.db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).put(rec);
    await committed(tx);
    await this.prune();
  }

  async delete(key: string): Promise<void> {
    const tx = this.db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).delete(key);
    await committed(tx);
  }

  /** Keys held, least recently used first. */
  async keys(): Promise<string[]> {
    const tx = this.db.transaction(STORE, 'readonly');
    const keys = (await done(tx.objectStore(STORE).index(BY_USE).getAllKeys())) as string[];
    await committed(tx);
    return keys;
  }

  /** Bytes of the embeddings held. */
  async bytes(): Promise<number> {
    const tx = this.db.transaction(STORE, 'readonly');
    const n = await done(tx.objectStore(STORE).count());
    await committed(tx);
    return n * EMBEDDING_BYTES;
  }

  async clear(): Promise<void> {
    const tx = this.db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).clear();
    await committed(tx);
  }

  /** Date.now(), strictly increasing within this instance (two uses in one millisecond stay ordered). */
  private stamp(): number {
    this.last = Math.max(Date.now(), this.last + 1);
    return this.last;
  }

  close(): void {
    this.db.close();
  }

  /** Deletes least recently used records until at most maxBytes remain. */
  private async prune(): Promise<void> {
    const tx = this.db.transaction(STORE, 'readwrite');
    const store = tx.objectStore(STORE);
    let excess = (await done(store.count())) - Math.floor(this.maxBytes / EMBEDDING_BYTES);
    if (excess > 0) {
      const cursorReq = store.index(BY_USE).openCursor();
      await new Promise<void>((resolve, reject) => {
        cursorReq.onerror = () => reject(cursorReq.error);
        cursorReq.onsuccess = () => {
          const c = cursorReq.result;
          if (!c || excess <= 0) return resolve();
          c.delete();
          excess--;
          c.continue();
        };
      });
    }
    await committed(tx);
  }
}
