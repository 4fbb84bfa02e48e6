// Chrome bench runner: Debian's Chromium, headless, driven by puppeteer-core, WebGPU on whatever
// adapter Chromium picks (SwiftShader on a machine without a GPU). The page imports bench/dist/ directly
// from a static server on 127.0.0.1 (a secure context, as WebGPU needs).
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
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.map': 'application/json' };

function serve() {
  return new Promise((resolve) => {
    const srv = http.createServer((req, res) => {
      const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      const file = path.join(root, path.normalize(rel));
      const allowed = file.startsWith(path.join(root, 'bench', 'dist') + path.sep) || file === path.join(root, 'bench', 'chrome.html');
      if (!allowed || !fs.existsSync(file) || fs.statSync(file).isDirectory()) { res.writeHead(404); res.end(); return; }
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      fs.createReadStream(file).pipe(res);
    });
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

export async function benchChrome(opts, log) {
  if (!fs.existsSync(CHROME)) throw new Error(`${CHROME} is missing: install Debian's chromium (see .ci/install-system.sh) or set CHROME_BIN`);
  if (opts.weights) throw new Error('--weights is not supported with --runtime chrome (the page uses the synthetic weights)');
  const srv = await serve();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-unet-bench-chrome-'));
  const browser = await puppeteer.launch({ executablePath: CHROME, headless: true, args: [...FLAGS, `--user-data-dir=${profile}`], protocolTimeout: 3_600_000, pipe: true });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => log(m.text()));
    page.on('pageerror', (e) => log(`[pageerror] ${e.message}`));
    await page.goto(`http://127.0.0.1:${srv.address().port}/bench/chrome.html`, { waitUntil: 'load' });
    await page.waitForFunction('window.benchReady === true', { timeout: 30_000 });
    return await page.evaluate((o) => window.runBench(o), { runs: 2, decodeRuns: 5, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) });
  } finally {
    await browser.close();
    srv.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}
