// Chrome bench runner: builds the benchmark page (demo/bench.html, the page anyone can open in their
// own browser) with Vite into a temporary folder, serves it on 127.0.0.1 (a secure context, as
// WebGPU needs) and drives it in Debian's Chromium, headless, through puppeteer-core: WebGPU on
// whatever adapter Chromium picks (SwiftShader on a machine without a GPU). The page runs the bench
// core in a Web Worker; window.benchPage.run(opts) returns its report.
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHROME = process.env.CHROME_BIN ?? '/usr/lib/chromium/chromium';
const FLAGS = ['--enable-unsafe-webgpu', '--headless=new', '--no-sandbox', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-gpu-watchdog'];
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.map': 'application/json', '.wasm': 'application/wasm' };

/** Builds the bench page alone into `outDir` (vite's build API with the repo's config, one input). */
export async function buildBenchPage(outDir) {
  const { build } = await import('vite');
  await build({
    configFile: path.join(root, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, sourcemap: false, rollupOptions: { input: { bench: path.join(root, 'demo', 'bench.html') } } },
  });
}

/** A static server for `dir` on 127.0.0.1 (an ephemeral port). */
export function serveDir(dir) {
  return new Promise((resolve) => {
    const srv = http.createServer((req, res) => {
      const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      const file = path.join(dir, path.normalize(rel));
      if (!file.startsWith(dir + path.sep) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) { res.writeHead(404); res.end(); return; }
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      fs.createReadStream(file).pipe(res);
    });
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

export async function benchChrome(opts, log) {
  if (!fs.existsSync(CHROME)) throw new Error(`${CHROME} is missing: install Debian's chromium (see .ci/install-system.sh) or set CHROME_BIN`);
  if (opts.weights) throw new Error('--weights is not supported with --runtime chrome (the page uses the synthetic weights)');
  if (opts.soak) throw new Error('--soak is not supported with --runtime chrome');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-unet-bench-chrome-'));
  const out = path.join(work, 'page');
  await buildBenchPage(out);
  const srv = await serveDir(out);
  const browser = await puppeteer.launch({ executablePath: CHROME, headless: true, args: [...FLAGS, `--user-data-dir=${path.join(work, 'profile')}`], protocolTimeout: 3_600_000, pipe: true });
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => log(`[pageerror] ${e.message}`));
    await page.goto(`http://127.0.0.1:${srv.address().port}/bench.html`, { waitUntil: 'load' });
    await page.waitForFunction('window.benchPage !== undefined', { timeout: 30_000 });
    const adapter = await page.evaluate(async () => (await window.benchPage.ready).adapter);
    log(`adapter: ${adapter}`);
    const run = { runs: 2, decodeRuns: 5, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) };
    // The page shows the worker's log lines as they come: copy the new ones out every second.
    let read = 0;
    const flush = async () => {
      const text = await page.evaluate(() => document.getElementById('log').textContent ?? '');
      for (const line of text.slice(read).split('\n').filter(Boolean)) log(line);
      read = text.length;
    };
    const timer = setInterval(() => void flush().catch(() => {}), 1000);
    try {
      return await page.evaluate((o) => window.benchPage.run(o), run);
    } finally {
      clearInterval(timer);
      await flush().catch(() => {});
    }
  } finally {
    await browser.close();
    srv.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Cold runs of the bench page for bench/cold.mjs: the page is built and served once; each run()
 * launches Chromium anew on one profile (new for the session, so the first launch has empty
 * caches), runs bench/first_run.ts in the page's worker and closes the browser.
 */
export async function chromeColdSession(env, log) {
  if (!fs.existsSync(CHROME)) throw new Error(`${CHROME} is missing: install Debian's chromium (see .ci/install-system.sh) or set CHROME_BIN`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-unet-bench-chrome-cold-'));
  const out = path.join(work, 'page');
  await buildBenchPage(out);
  const srv = await serveDir(out);
  return {
    async run(opts) {
      if (opts.weights) throw new Error('--weights is not supported with --runtime chrome (the page uses the synthetic weights)');
      const browser = await puppeteer.launch({ executablePath: CHROME, headless: true, env, args: [...FLAGS, `--user-data-dir=${path.join(work, 'profile')}`], protocolTimeout: 3_600_000, pipe: true });
      try {
        const page = await browser.newPage();
        page.on('pageerror', (e) => log(`  [pageerror] ${e.message}`));
        await page.goto(`http://127.0.0.1:${srv.address().port}/bench.html`, { waitUntil: 'load' });
        await page.waitForFunction('window.benchPage !== undefined', { timeout: 30_000 });
        await page.evaluate(async () => (await window.benchPage.ready).adapter);
        const run = { ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)), firstRun: true };
        const report = await page.evaluate((o) => window.benchPage.run(o), run);
        const text = await page.evaluate(() => document.getElementById('log').textContent ?? '');
        for (const line of text.split('\n').filter(Boolean)) log(`  ${line}`);
        return report;
      } finally {
        await browser.close();
      }
    },
    async close() {
      srv.close();
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
}
