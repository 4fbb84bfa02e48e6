// The benchmark page (demo/bench.html), as anyone would open it in their browser: built by Vite,
// served on 127.0.0.1, driven in headless Chromium (SwiftShader here) through window.benchPage, the
// same hook `npm run bench -- --runtime chrome` (bench/chrome.mjs) uses. A tiny run (res34, one
// encoder and one decoder run, no kernel table) must give a report of the bench's JSON shape, and
// the page must show it: the summary table, the JSON to copy, and the log the worker streamed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { repoRoot } from '../helpers/shared.js';
import { itBrowser, launchChromium, logPage, type Chromium } from './helpers/browser.js';
import { startServer, type TestServer } from './helpers/server.js';

const out = mkdtempSync(join(tmpdir(), 'sam-unet-bench-page-'));
let srv: TestServer;
let chromium: Chromium | null = null;

beforeAll(async () => {
  await build({
    configFile: join(repoRoot, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: out, emptyOutDir: true, sourcemap: false, rollupOptions: { input: { bench: join(repoRoot, 'demo', 'bench.html') } } },
  });
  srv = await startServer(out);
}, 120_000);

afterAll(async () => {
  await chromium?.close();
  await srv?.close();
  rmSync(out, { recursive: true, force: true });
});

interface PageReport {
  adapter: string;
  model: string;
  precision: string;
  runtime: string;
  load_ms: number;
  encode_ms: { cold: number; median: number; runs: number[] };
  decode_ms: { cold: number; median: number; runs: number[] };
  kernels: unknown[];
  matmul_best_gflops: number;
  peak_gpu_bytes: number;
  encoder_profile: unknown;
}

describe('the benchmark page', () => {
  itBrowser('runs the bench in its worker and shows the adapter, the medians and the JSON', async () => {
    chromium = await launchChromium();
    const page = await chromium.browser.newPage();
    logPage(page);
    await page.goto(`${srv.origin}/bench.html?model=res34&runs=1&decodeRuns=1&kernels=0`, { waitUntil: 'load' });
    await page.waitForFunction('window.benchPage !== undefined', { timeout: 30_000 });
    const ready = await page.evaluate(async () => (await (window as any).benchPage.ready) as { adapter: string; precisions: string[]; families: string[] });
    expect(ready.adapter).toMatch(/\S/);
    expect(ready.precisions).toContain('f32');
    expect(ready.families).toEqual(expect.arrayContaining(['gemm', 'attention', 'norm', 'layout']));
    expect(await page.$eval('#adapter', (e) => e.textContent)).toContain(ready.adapter);
    // The URL preset the settings: a run with them, as the Run button starts it.
    expect(await page.$eval('#model', (e) => (e as HTMLSelectElement).value)).toBe('res34');
    await page.click('#run');
    await page.waitForFunction(() => (window as any).benchPage.report !== null || /failed/.test(document.getElementById('status')!.textContent ?? ''), {
      timeout: 600_000, polling: 1000,
    });
    expect(await page.$eval('#status', (e) => e.textContent)).toMatch(/^done in/);
    const r = await page.evaluate(() => (window as any).benchPage.report as PageReport);
    console.log(`[bench-page] ${r.adapter}: load ${r.load_ms.toFixed(0)} ms, encode ${r.encode_ms.median.toFixed(0)} ms (cold ${r.encode_ms.cold.toFixed(0)}), decode ${r.decode_ms.median.toFixed(1)} ms`);
    expect(r).toMatchObject({ model: 'res34', precision: 'f32', adapter: ready.adapter });
    expect(r.runtime).toMatch(/worker/);
    expect(r.encode_ms.runs).toHaveLength(1);
    expect(r.decode_ms.runs).toHaveLength(1);
    for (const v of [r.load_ms, r.encode_ms.median, r.encode_ms.cold, r.decode_ms.median, r.matmul_best_gflops, r.peak_gpu_bytes]) expect(v).toBeGreaterThan(0);
    expect(r.kernels).toEqual([]);
    // What the page shows: the summary, the JSON (parseable, the same report) and the streamed log.
    const summary = await page.$$eval('#summary tr', (rows) => rows.map((tr) => tr.textContent ?? ''));
    expect(summary.join('\n')).toMatch(/encode median[\s\S]*decode median/);
    const json = JSON.parse(await page.$eval('#json', (e) => (e as HTMLTextAreaElement).value));
    expect(json.encode_ms.median).toBe(r.encode_ms.median);
    expect(await page.$eval('#copy', (e) => (e as HTMLButtonElement).disabled)).toBe(false);
    expect(await page.$eval('#log', (e) => e.textContent)).toMatch(/encode cold/);
  }, 900_000);
});
