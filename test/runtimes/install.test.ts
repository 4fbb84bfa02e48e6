// A fresh Vite app installs the packed tarball, as a web developer would (`npm install` from the
// registry for the package's own dependencies; the repository's vite builds the app, so that CI
// downloads no vite):
// - the tarball holds what users need (dist's JavaScript and declarations, README), not the bench,
//   tests, sources, source maps or raw shaders; every exports entry and the bin are in it;
// - the install does not fetch npm `webgpu` (Dawn's native binaries): an optional peer dependency;
// - `vite build` bundles the app and its worker (`new Worker(new URL('sam-unet-webgpu/worker',
//   import.meta.url), { type: 'module' })`): the app's thread gets the client only, the worker the
//   model; sizes (gzip) are printed;
// - in Node, in that app, requestGpu() and the CLI say to install `webgpu`;
// - in headless Chromium the app, built and on Vite's dev server (with the README's vite.config),
//   starts its worker, which finds WebGPU, decodes a PNG into an ImageBitmap, and sends errors back
//   as the library's classes.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build, createLogger, createServer, type Plugin, type Rolldown } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../src/image/decode.js';
import { sheppLogan } from '../../src/image/phantom.js';
import { repoRoot } from '../helpers/shared.js';
import { itBrowser, launchChromium, logPage, type Chromium } from './helpers/browser.js';
import { startServer } from './helpers/server.js';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'sam-unet-app-'));
const app = join(work, 'app');

/** The environment without the npm_* variables of an enclosing `npm test`. */
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

// The app: its thread imports the client and an error class; the model runs in the worker.
const MAIN_JS = `
import { SamUnetWorker, SafetensorsError, SamUnetWorkerError } from 'sam-unet-webgpu';
const out = {};
try {
  const sam = await SamUnetWorker.create(new Worker(new URL('sam-unet-webgpu/worker', import.meta.url), { type: 'module' }));
  out.adapter = sam.adapter.name;
  out.noModel = await sam.encode({ phantom: 8 }).then(() => 'resolved', (e) => e instanceof SamUnetWorkerError && e.message);
  out.badWeights = await sam.load({ kind: 'blob', blob: new Blob(['not weights']) }).then(() => 'resolved', (e) => e instanceof SafetensorsError && e.message);
  const img = await sam.openImage(await (await fetch('./tiny.png')).blob(), { bitmap: true });
  out.image = [img.width, img.height, img.bitmap.width, img.bitmap.height];
  sam.destroy();
} catch (e) {
  out.error = String(e);
}
window.appResult = out;
`;

// As the README says: an ES module worker; for the dev server, jpeg-js (CommonJS) pre-bundled.
const VITE_CONFIG = "export default { worker: { format: 'es' }, optimizeDeps: { include: ['sam-unet-webgpu > jpeg-js'] } };\n";

interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

let packed: Packed;
let installMs = 0;
const pageChunks: Rolldown.OutputChunk[] = [];
const workerChunks: Rolldown.OutputChunk[] = [];

const keep = (into: Rolldown.OutputChunk[]): Plugin => ({
  name: 'keep-chunks',
  generateBundle(_o, bundle) {
    for (const c of Object.values(bundle)) if (c.type === 'chunk') into.push(c);
  },
});

beforeAll(async () => {
  expect(existsSync(join(repoRoot, 'dist', 'worker', 'worker.js')), 'dist/ is missing: run npm run build').toBe(true);
  // --ignore-scripts: `npm test` has just built dist/ (prepare would build it again).
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: repoRoot, env: cleanEnv, maxBuffer: 16 << 20 });
  packed = (JSON.parse(stdout) as Packed[])[0]!;
  mkdirSync(join(app, 'public'), { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true, type: 'module', dependencies: { 'sam-unet-webgpu': `file:../${packed.filename}` } }, null, 2));
  writeFileSync(join(app, 'index.html'), '<!doctype html><html><head><link rel="icon" href="data:,"></head><body><script type="module" src="./main.js"></script></body></html>\n');
  writeFileSync(join(app, 'main.js'), MAIN_JS);
  writeFileSync(join(app, 'vite.config.js'), VITE_CONFIG);
  const img = sheppLogan(40);
  writeFileSync(join(app, 'public', 'tiny.png'), encodePng(40, 40, img.data, 3));
  const t0 = performance.now();
  try {
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app, env: cleanEnv, maxBuffer: 16 << 20 });
  } catch (e) {
    throw new Error(`npm install of the packed tarball failed (the registry must be reachable for fflate and jpeg-js): ${(e as { stderr?: string }).stderr ?? e}`);
  }
  installMs = performance.now() - t0;
  await build({
    root: app, configFile: join(app, 'vite.config.js'), logLevel: 'warn',
    plugins: [keep(pageChunks)], worker: { format: 'es', plugins: () => [keep(workerChunks)] },
    build: { reportCompressedSize: false },
  });
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const kB = (n: number) => `${(n / 1000).toFixed(1)} kB`;
const gz = (cs: Rolldown.OutputChunk[]) => cs.reduce((a, c) => a + gzipSync(c.code, { level: 9 }).byteLength, 0);
const raw = (cs: Rolldown.OutputChunk[]) => cs.reduce((a, c) => a + Buffer.byteLength(c.code), 0);

describe('a fresh Vite app installing the packed tarball', () => {
  it('the tarball holds dist (JavaScript + declarations), the README and package.json, and nothing else', () => {
    const paths = packed.files.map((f) => f.path);
    // The DICOM codecs' WebAssembly (copied by scripts/copy-codecs.mjs) is loaded only when a file needs it.
    const unexpected = paths.filter(
      (p) => !/^dist\/.+\.(js|d\.ts)$/.test(p) && !/^dist\/medical\/dicom\/wasm\/[a-z0-9_]+\.wasm$/.test(p) && !['README.md', 'package.json', 'LICENSE'].includes(p),
    );
    expect(unexpected).toEqual([]);
    expect(paths.filter((p) => /\.map$|^dist\/bench\/|^(src|test|bench|shaders|scripts|demo)\//.test(p))).toEqual([]);
    for (const [name, entry] of Object.entries(pkg.exports as Record<string, string | { types: string; import: string }>)) {
      const files = typeof entry === 'string' ? [entry] : [entry.import, entry.types];
      for (const f of files) expect(paths, `exports['${name}'] → ${f}`).toContain(f.replace(/^\.\//, ''));
    }
    for (const bin of Object.values(pkg.bin as Record<string, string>)) expect(paths).toContain(bin);
    console.log(`[install] npm pack: ${kB(packed.size)} tarball, ${kB(packed.unpackedSize)} unpacked, ${paths.length} files`);
  });

  it('npm install brings the package and its dependencies, not npm webgpu (Dawn)', () => {
    const installed = readdirSync(join(app, 'node_modules')).filter((d) => !d.startsWith('.')).sort();
    // Our dependencies by scope or name, and one stray: jpeg-lossless-decoder-js 2.1 lists rollup's
    // native binary (@rollup/rollup-linux-x64-gnu) as an optionalDependency by mistake.
    const expected = new Set(['sam-unet-webgpu', '@rollup', ...Object.keys(pkg.dependencies as Record<string, string>).map((d) => d.split('/')[0]!)]);
    expect(installed).toEqual([...expected].sort());
    expect(readFileSync(join(app, 'package-lock.json'), 'utf8')).not.toMatch(/node_modules\/webgpu"/);
    const meta = JSON.parse(readFileSync(join(app, 'node_modules', 'sam-unet-webgpu', 'package.json'), 'utf8'));
    expect(meta.peerDependencies?.webgpu).toBeDefined();
    expect(meta.peerDependenciesMeta?.webgpu?.optional).toBe(true);
    console.log(`[install] npm install of the tarball into a fresh app: ${(installMs / 1000).toFixed(1)} s, node_modules: ${installed.join(', ')}`);
  });

  it("vite build: the app's thread gets the client, the worker the model; no Node-only module", () => {
    expect(workerChunks.length).toBeGreaterThan(0);
    const ids = (cs: Rolldown.OutputChunk[]) => cs.flatMap((c) => c.moduleIds).map((id) => id.replace(/\\/g, '/'));
    const page = ids(pageChunks);
    const worker = ids(workerChunks);
    expect(page.some((id) => id.endsWith('sam-unet-webgpu/dist/worker/client.js'))).toBe(true);
    expect(worker.some((id) => id.endsWith('sam-unet-webgpu/dist/generated/shaders.js'))).toBe(true);
    expect(page.filter((id) => /sam-unet-webgpu\/dist\/(generated|ops|gpu\/plan|model\/(encoder|decoder))|node_modules\/(jpeg-js|fflate)\//.test(id)), 'model code on the app\'s thread').toEqual([]);
    expect([...page, ...worker].filter((id) => /node_modules\/webgpu\/|^node:/.test(id))).toEqual([]);
    // The worker opens scans, so the DICOM codecs are its lazy chunks: their Emscripten glue's
    // Node branches (fs, path) become Vite's empty browser stubs there, never run in a browser. No
    // entry chunk (the page's, the worker's) holds one.
    const entries = [...pageChunks, ...workerChunks].filter((c) => c.isEntry);
    expect(ids(entries).filter((id) => /__vite-browser-external/.test(id)), 'Node stubs in an entry chunk').toEqual([]);
    expect([...page, ...worker].filter((id) => /__vite-browser-external/.test(id) && !/^__vite-browser-external(:fs|:path)?$/.test(id))).toEqual([]);
    for (const c of pageChunks) expect(c.code).not.toMatch(/@compute/);
    console.log(`[install] vite build: app thread ${kB(raw(pageChunks))} (${kB(gz(pageChunks))} gzip), worker ${kB(raw(workerChunks))} (${kB(gz(workerChunks))} gzip)`);
  });

  it("in Node without webgpu, requestGpu() and the CLI say which package to install", async () => {
    const code = `import('sam-unet-webgpu').then(async (m) => { try { await m.requestGpu(); console.log('{}'); } catch (e) { console.log(JSON.stringify({ name: e.name, cls: e instanceof m.GpuUnavailableError, message: e.message })); } });`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: app, env: cleanEnv });
    const r = JSON.parse(stdout);
    expect(r).toMatchObject({ name: 'GpuUnavailableError', cls: true });
    expect(r.message).toMatch(/'npm install webgpu'/);
    const cli = await run(process.execPath, [join(app, 'node_modules', '.bin', 'sam-unet'), 'info'], { cwd: app, env: cleanEnv }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/GpuUnavailableError: .*'npm install webgpu'/);
  });

  /** Opens `origin`/index.html and returns what the app's main.js reports. */
  async function appResult(chromium: Chromium, origin: string): Promise<Record<string, unknown>> {
    const page = await chromium.browser.newPage();
    logPage(page);
    await page.goto(`${origin}/index.html`, { waitUntil: 'load' });
    await page.waitForFunction(() => (window as unknown as { appResult?: unknown }).appResult !== undefined, { timeout: 120_000 });
    const r = await page.evaluate(() => (window as unknown as { appResult: Record<string, unknown> }).appResult);
    await page.close();
    return r;
  }

  function expectWorking(r: Record<string, unknown>): void {
    expect(r.error).toBeUndefined();
    expect(r.adapter).toMatch(/\S/);
    expect(r.noModel).toMatch(/no model is loaded/);
    expect(r.badWeights).toMatch(/\S/);
    expect(r.image).toEqual([40, 40, 40, 40]);
  }

  itBrowser('in headless Chromium the app runs its worker, built and on the dev server: WebGPU, a PNG as an ImageBitmap, errors by class', async () => {
    const srv = await startServer(join(app, 'dist'));
    const problems: string[] = [];
    const logger = createLogger('warn');
    logger.warn = (m) => void problems.push(m);
    logger.warnOnce = logger.warn;
    logger.error = (m) => void problems.push(m);
    const dev = await createServer({ root: app, configFile: join(app, 'vite.config.js'), customLogger: logger, server: { host: '127.0.0.1', port: 0 } });
    const chromium = await launchChromium();
    try {
      const built = await appResult(chromium, srv.origin);
      expectWorking(built);
      console.log(`[install] the built app in Chromium: worker adapter ${built.adapter}; load of a bad file: SafetensorsError '${built.badWeights}'`);
      await dev.listen();
      const served = await appResult(chromium, dev.resolvedUrls!.local[0]!.replace(/\/$/, ''));
      expectWorking(served);
      // nifti-reader-js 0.8 publishes source maps whose sources it does not ship: Vite says so once
      // per file. Not ours to fix; anything else is.
      const foreign = /^Sourcemap for "[^"]*\/node_modules\/nifti-reader-js\/[^"]*" points to missing source files$/;
      expect(problems.filter((m) => !foreign.test(m)), 'Vite dev server warnings and errors').toEqual([]);
    } finally {
      await chromium.close();
      await dev.close();
      await srv.close();
    }
  }, 180_000);
});
