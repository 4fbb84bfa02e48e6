// The embedding store's IndexedDB tier (src/volume/idb-cache.ts) in headless Chromium (Debian's
// /usr/lib/chromium/chromium via puppeteer-core), bundled by vite from test/runtimes/idb-page/:
// entries come back value for value after a reload; the least recently used go past maxBytes; a
// view (exportEmbedding's arrays share one buffer) is stored as its own values, not its buffer; a
// damaged record is deleted, not returned. No WebGPU needed. Without Chromium the test skips with
// a message; under CI it fails instead.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { build, createLogger } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Idb from '../../src/volume/idb-cache.js';
import type { EMBEDDING_LENGTHS } from '../../src/model/sam_unet.js';
import { repoRoot } from '../helpers/shared.js';
import { startServer, type TestServer } from './helpers/server.js';

const CHROME = process.env.CHROME_BIN ?? '/usr/lib/chromium/chromium';
const inCI = process.env.CI !== undefined;
const haveChrome = existsSync(CHROME);
if (!haveChrome && !inCI) console.warn(`[idb] ${CHROME} is missing: the IndexedDB test is skipped (install Debian's chromium, see .ci/install-system.sh)`);
const itBrowser = it.skipIf(!haveChrome && !inCI);

declare global {
  interface Window {
    idbTest: { IdbEmbeddingCache: typeof Idb.IdbEmbeddingCache; EMBEDDING_LENGTHS: typeof EMBEDDING_LENGTHS; ready: boolean };
  }
}

const pageDir = join(repoRoot, 'test', 'runtimes', 'idb-page');
const outDir = join(repoRoot, 'out', 'idb-page');
let srv: TestServer | null = null;
let browser: Browser | null = null;
let profile = '';

beforeAll(async () => {
  if (!haveChrome && !inCI) return;
  await build({
    configFile: false, root: pageDir, base: './', logLevel: 'warn', customLogger: createLogger('warn'),
    build: { outDir, emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
  });
  srv = await startServer(outDir);
  profile = mkdtempSync(join(tmpdir(), 'sam-unet-idb-'));
  browser = await puppeteer.launch({ executablePath: CHROME, headless: true, pipe: true, args: ['--headless=new', '--no-sandbox', '--no-first-run', `--user-data-dir=${profile}`] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await srv?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function ready(page: Page): Promise<void> {
  await page.waitForFunction(() => window.idbTest?.ready === true, { timeout: 30_000 });
}

describe('IdbEmbeddingCache in Chromium', () => {
  itBrowser('keeps entries across a reload, least recently used out past maxBytes, damaged records dropped', async () => {
    const page = await browser!.newPage();
    page.on('pageerror', (e) => console.log(`[page error] ${(e as Error).message}`));
    await page.goto(`${srv!.origin}/index.html`, { waitUntil: 'load' });
    await ready(page);

    const before = await page.evaluate(async () => {
      const { IdbEmbeddingCache, EMBEDDING_LENGTHS: L } = window.idbTest;
      const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => ((i * 7919 + seed * 104729) % 65521) / 65521 - 0.5);
      const data = (seed: number, width: number) => {
        // As exportEmbedding gives them: two views of one buffer.
        const all = new Float32Array(L.embeddings + L.multiScaleFeature);
        all.set(values(L.embeddings, seed));
        all.set(values(L.multiScaleFeature, seed + 1), L.embeddings);
        return { frame: { width, height: 40, inputW: 256, inputH: Math.round((40 * 256) / width) }, embeddings: all.subarray(0, L.embeddings), multiScaleFeature: all.subarray(L.embeddings) };
      };
      const bytes = 4 * (L.embeddings + L.multiScaleFeature);
      const cache = await IdbEmbeddingCache.open({ name: 'idb-test', maxBytes: 2 * bytes + 100 });
      await cache.put('k1', data(1, 100));
      await cache.put('k2', data(2, 120));
      const k1 = await cache.get('k1'); // k1 used after k2: k2 is now the least recently used
      await cache.put('k3', data(3, 140));
      const keys = await cache.keys();
      const held = await cache.bytes();
      // A record someone else wrote, or an older version's: not an embedding.
      const raw = await new Promise<IDBDatabase>((res, rej) => {
        const r = indexedDB.open('idb-test');
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      await new Promise<void>((res, rej) => {
        const tx = raw.transaction('embeddings', 'readwrite');
        tx.objectStore('embeddings').put({ key: 'bad', frame: { width: 1, height: 1, inputW: 256, inputH: 256 }, embeddings: new Float32Array(3), multiScaleFeature: new Float32Array(3), lastUsed: 0 });
        tx.oncomplete = () => res();
        tx.onerror = () => rej(tx.error);
      });
      raw.close();
      const bad = await cache.get('bad');
      const afterBad = await cache.keys();
      let putError = '';
      await cache.put('x', { frame: { width: 1, height: 1, inputW: 256, inputH: 256 }, embeddings: new Float32Array(5), multiScaleFeature: new Float32Array(5) }).catch((e: Error) => (putError = e.message));
      cache.close();
      return { keys, held, bytes, k1Width: k1?.frame.width, bad: bad === undefined, afterBad, putError };
    });
    expect(before.k1Width).toBe(100);
    expect(before.keys).toEqual(['k1', 'k3']);
    expect(before.held).toBe(2 * before.bytes);
    expect(before.bad).toBe(true);
    expect(before.afterBad).toEqual(['k1', 'k3']);
    expect(before.putError).toMatch(/not an embedding/);

    await page.reload({ waitUntil: 'load' });
    await ready(page);
    const after = await page.evaluate(async () => {
      const { IdbEmbeddingCache, EMBEDDING_LENGTHS: L } = window.idbTest;
      const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => ((i * 7919 + seed * 104729) % 65521) / 65521 - 0.5);
      const cache = await IdbEmbeddingCache.open({ name: 'idb-test' });
      const out: Record<string, unknown> = {};
      for (const [key, seed] of [['k1', 1], ['k3', 3]] as const) {
        const d = await cache.get(key);
        if (!d) {
          out[key] = 'missing';
          continue;
        }
        const e = values(L.embeddings, seed), m = values(L.multiScaleFeature, seed + 1);
        let diff = 0;
        for (let i = 0; i < e.length; i++) diff += d.embeddings[i] !== e[i] ? 1 : 0;
        for (let i = 0; i < m.length; i++) diff += d.multiScaleFeature[i] !== m[i] ? 1 : 0;
        out[key] = { frame: d.frame, diff, ownBuffers: d.embeddings.buffer.byteLength === 4 * L.embeddings && d.multiScaleFeature.buffer.byteLength === 4 * L.multiScaleFeature };
      }
      out.k2 = (await cache.get('k2')) === undefined ? 'gone' : 'present';
      await cache.clear();
      out.cleared = await cache.keys();
      cache.close();
      return out;
    });
    expect(after.k1).toEqual({ frame: { width: 100, height: 40, inputW: 256, inputH: 102 }, diff: 0, ownBuffers: true });
    expect(after.k3).toEqual({ frame: { width: 140, height: 40, inputW: 256, inputH: 73 }, diff: 0, ownBuffers: true });
    expect(after.k2).toBe('gone');
    expect(after.cleared).toEqual([]);
    await page.close();
  }, 180_000);
});
