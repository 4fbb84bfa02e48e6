// Weights from a URL: streamed into the loader as they download, and kept in the Cache API so that
// a reload does not download them again. The cache entry is written by a cache.put() whose body is
// fed the same chunks as the parser and is closed only once every tensor has been parsed and taken
// by the loader and the byte count matches the Content-Length. A failed, partial or rejected
// download errors that body instead, so put() rejects and nothing is stored; a cached entry that
// turns out unreadable is deleted. Needs only fetch and (optionally) caches: browsers, Deno, Node.
import type { PushedTensor } from '../weights/source.js';
import { streamWeights, type StreamWeightProvider, type StreamWeightsOptions } from '../weights/sources.js';

export const DEFAULT_WEIGHT_CACHE = 'sam-unet-weights';

/** Bytes of the download that may wait for the cache writer. */
const CACHE_QUEUE = 8 * 1024 * 1024;

export interface FetchWeightsOptions extends Omit<StreamWeightsOptions, 'size'> {
  /** Cache API cache to use; null: no caching. Default 'sam-unet-weights'. */
  cacheName?: string | null;
  signal?: AbortSignal;
  /** The fetch to use (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Called once the cache entry is written, or with the reason it was not. */
  onCached?: (ok: boolean, reason?: unknown) => void;
}

export interface FetchedWeights extends StreamWeightProvider {
  readonly url: string;
  /** True when the bytes come from the cache, not the network. */
  readonly fromCache: boolean;
}

function cacheStorage(): CacheStorage | null {
  return typeof caches === 'undefined' ? null : caches;
}

async function openCache(name: string | null | undefined): Promise<Cache | null> {
  const storage = cacheStorage();
  if (name === null || !storage) return null;
  try {
    return await storage.open(name ?? DEFAULT_WEIGHT_CACHE);
  } catch {
    return null; // an opaque origin, storage disabled: load without caching
  }
}

/** Content-Length when it counts the body bytes we will read (not a compressed length). */
function bodySize(res: Response): number | undefined {
  const enc = res.headers.get('content-encoding');
  if (enc && enc !== 'identity') return undefined;
  const text = res.headers.get('content-length');
  const n = text === null ? NaN : Number(text);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Streams safetensors weights from `url` (from the cache when an entry is there). Resolves once the
 * header is in; pass the result to SamUnet.load / ModelWeights.load, which read the tensors, or
 * call cancel() if you do not.
 *
 *   const model = await SamUnet.load(gpu, await fetchWeights(url, { onProgress }));
 */
export async function fetchWeights(url: string, opts: FetchWeightsOptions = {}): Promise<FetchedWeights> {
  // The Cache API keeps http(s) requests only (not blob:, data:, file:).
  const cache = /^https?:/i.test(url) ? await openCache(opts.cacheName) : null;
  if (cache) {
    const hit = await cache.match(url).catch(() => undefined);
    if (hit?.body) {
      try {
        return await fromCache(url, cache, hit, opts);
      } catch {
        await cache.delete(url).catch(() => false); // unreadable entry: drop it and download again
      }
    }
  }
  return fromNetwork(url, cache, opts);
}

async function fromCache(url: string, cache: Cache, res: Response, opts: FetchWeightsOptions): Promise<FetchedWeights> {
  const inner = await streamWeights(res.body!, { ...opts, size: bodySize(res) });
  async function* tensors(): AsyncGenerator<PushedTensor> {
    let ok = false;
    try {
      yield* inner.tensors();
      ok = true;
    } finally {
      if (!ok) await cache.delete(url).catch(() => false);
    }
  }
  return { ...inner, url, fromCache: true, tensors };
}

async function fromNetwork(url: string, cache: Cache | null, opts: FetchWeightsOptions): Promise<FetchedWeights> {
  const res = await (opts.fetch ?? fetch)(url, { signal: opts.signal });
  if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`.trim());
  const size = bodySize(res);
  const net = res.body.getReader();
  let received = 0;

  // The cache's copy: fed chunk by chunk, closed only after a complete, accepted load. The cache
  // writer sets the pace (at most CACHE_QUEUE bytes wait for it, so a writer slower than the
  // network does not pile the file up in memory). If the cache gives up on it (put() rejected:
  // quota, …) the feed stops and the load goes on.
  const feed: { c: ReadableStreamDefaultController<Uint8Array> | null; wake: (() => void) | null } = { c: null, wake: null };
  const wake = () => {
    feed.wake?.();
    feed.wake = null;
  };
  const toCache = async (chunk: Uint8Array) => {
    const c = feed.c;
    if (!c) return;
    try {
      c.enqueue(chunk);
    } catch {
      feed.c = null; // closed by the cache
      return;
    }
    if ((c.desiredSize ?? 1) <= 0) await new Promise<void>((r) => (feed.wake = r));
  };
  let put: Promise<void> | null = null;
  if (cache) {
    const body = new ReadableStream<Uint8Array>(
      {
        start: (c) => void (feed.c = c),
        pull: wake,
        cancel: () => {
          feed.c = null;
          wake();
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: CACHE_QUEUE }),
    );
    const headers = new Headers({ 'content-type': res.headers.get('content-type') ?? 'application/octet-stream' });
    if (size !== undefined) headers.set('content-length', String(size));
    put = cache.put(url, new Response(body, { headers }));
    put.catch(() => {}).finally(() => {
      feed.c = null;
      wake();
    }); // awaited in finish() / abandon()
  }
  let settled = false;
  const abandon = async (reason: unknown) => {
    if (settled) return;
    settled = true;
    try {
      feed.c?.error(reason);
    } catch {
      /* already errored */
    }
    wake();
    await net.cancel(reason).catch(() => {});
    if (put) {
      await put.catch(() => {});
      opts.onCached?.(false, reason);
    }
  };
  const finish = async () => {
    // The parser stops after the last tensor; bytes after it (if any) are still part of the file.
    for (;;) {
      const { done, value } = await net.read();
      if (done) break;
      received += value.byteLength;
      await toCache(value);
    }
    if (size !== undefined && received !== size) throw new Error(`${url}: received ${received} of ${size} bytes`);
    if (received < inner.impliedSize) throw new Error(`${url}: received ${received} bytes, the header needs ${inner.impliedSize}`);
    settled = true;
    if (!put) return;
    try {
      feed.c?.close();
    } catch {
      /* the cache cancelled its body: put() rejects below */
    }
    try {
      await put;
      opts.onCached?.(true);
    } catch (e) {
      opts.onCached?.(false, e); // quota, private browsing…: the weights are loaded all the same
    }
  };

  // What the parser reads: pulled from the network one chunk at a time; each chunk also goes to the cache.
  const forParser = new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        try {
          const { done, value } = await net.read();
          if (done) return c.close();
          received += value.byteLength;
          await toCache(value);
          c.enqueue(value);
        } catch (e) {
          c.error(e);
        }
      },
      // The parser is through or failed: finish() or abandon() decides what happens to the rest.
      cancel: () => {},
    },
    { highWaterMark: 0 },
  );

  let inner: StreamWeightProvider;
  try {
    inner = await streamWeights(forParser, { ...opts, size });
  } catch (e) {
    await abandon(e);
    throw e;
  }
  async function* tensors(): AsyncGenerator<PushedTensor> {
    let ok = false;
    try {
      yield* inner.tensors();
      await finish();
      ok = true;
    } catch (e) {
      await abandon(e);
      throw e;
    } finally {
      if (!ok) await abandon(new Error('the loader stopped before the last tensor'));
    }
  }
  return {
    ...inner,
    url,
    fromCache: false,
    tensors,
    cancel: async () => {
      await inner.cancel();
      await abandon(new Error('cancelled'));
    },
  };
}

/** Deletes the cached weights of `url`, or the whole cache without a url. True if anything went. */
export async function clearWeightCache(url?: string, cacheName = DEFAULT_WEIGHT_CACHE): Promise<boolean> {
  const storage = cacheStorage();
  if (!storage) return false;
  if (url === undefined) return storage.delete(cacheName);
  if (!(await storage.has(cacheName))) return false;
  return (await storage.open(cacheName)).delete(url);
}

/** URLs of the cached weight files. */
export async function cachedWeightUrls(cacheName = DEFAULT_WEIGHT_CACHE): Promise<string[]> {
  const storage = cacheStorage();
  if (!storage || !(await storage.has(cacheName))) return [];
  return (await (await storage.open(cacheName)).keys()).map((r) => r.url);
}
