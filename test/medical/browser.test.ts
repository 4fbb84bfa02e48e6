// The medical readers in headless Chromium, bundled by Vite from the built package (dist/) as an
// app would bundle it: every codec's lazy chunk and .wasm asset must load from the bundle
// (`new URL('./wasm/…', import.meta.url)`), and decode the same values as in Node. Then the time
// to open a 512×512×200 series from File objects (fetched first; the timing excludes the fetch).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeDicom } from '../../src/medical/dicom/image.js';
import { readNifti } from '../../src/medical/nifti.js';
import { repoRoot } from '../helpers/shared.js';
import { startServer, type TestServer } from '../runtimes/helpers/server.js';
import { nibabelTestData, pydicomTestFiles, requireTools, runPython, skipWithout } from './tools.js';

const CHROME = process.env.CHROME_BIN ?? '/usr/lib/chromium/chromium';
const inCI = process.env.CI !== undefined;
const haveChrome = existsSync(CHROME);
const FILES = ['MR_small_jp2klossless.dcm', 'MR_small_jpeg_ls_lossless.dcm', 'SC_rgb_jpeg_dcmtk.dcm', 'JPGExtended.dcm', 'SC_rgb_jpeg_gdcm.dcm', 'MR_small_RLE.dcm', 'image_dfl.dcm'];

/** A checksum of values: their sum and an FNV hash of their float32 bits. */
const checksum = `(arrays) => { let sum = 0, h = 2166136261; for (const a of arrays) { const u = new Uint32Array(new Float32Array(a).buffer); for (let i = 0; i < u.length; i++) { sum += a[i]; h = Math.imul(h ^ u[i], 16777619) >>> 0; } } return { sum, hash: h }; }`;
const nodeChecksum = new Function(`return ${checksum}`)() as (a: ArrayLike<number>[]) => { sum: number; hash: number };

const MAIN = `import { decodeDicom, readNifti, readDicomSeries } from 'sam-unet-webgpu';
const checksum = ${checksum};
const get = async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer());
window.decodeFile = async (u) => {
  const b = await get(u);
  if (u.endsWith('.nii') || u.endsWith('.gz')) return checksum([readNifti(b).data]);
  const img = await decodeDicom(b);
  return { ...checksum(img.frames), syntax: img.syntax.uid };
};
window.openSeries = async (names) => {
  const files = await Promise.all(names.map(async (n) => new File([await get('/series/' + n)], n)));
  const t0 = performance.now();
  const v = await readDicomSeries(files);
  return { ms: performance.now() - t0, dims: v.dims };
};
window.ready = true;
`;

describe.skipIf((!haveChrome && !inCI) || skipWithout('pydicom', 'nibabel'))('medical readers in Chromium', () => {
  let dir = '';
  let srv: TestServer;
  let browser: Browser;
  let page: Page;
  const seriesDir = () => join(dir, 'series');
  beforeAll(async () => {
    requireTools('pydicom', 'nibabel');
    if (!existsSync(join(repoRoot, 'dist', 'medical', 'dicom', 'wasm', 'openjpegwasm_decode.wasm'))) throw new Error('dist/ is not built with the codecs (npm run build)');
    dir = mkdtempSync(join(tmpdir(), 'medical-browser-'));
    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>\n');
    writeFileSync(join(app, 'main.js'), MAIN);
    const { build } = await import('vite');
    await build({
      root: app, logLevel: 'silent', configFile: false,
      resolve: { alias: { 'sam-unet-webgpu': join(repoRoot, 'dist', 'index.js') } },
      build: { outDir: join(dir, 'out'), emptyOutDir: true, target: 'es2022' },
    });
    runPython('make_series.py', [seriesDir(), '--rows', '512', '--cols', '512', '--slices', '200']);
    srv = await startServer(join(dir, 'out'), {}, { '/dicom/': pydicomTestFiles(), '/nifti/': nibabelTestData(), '/series/': seriesDir() });
    browser = await puppeteer.launch({ executablePath: CHROME, headless: true, pipe: true, args: ['--headless=new', '--no-sandbox', '--no-first-run', `--user-data-dir=${join(dir, 'profile')}`] });
    page = await browser.newPage();
    page.on('pageerror', (e) => console.log(`[page error] ${(e as Error).message}`));
    await page.goto(`${srv.origin}/index.html`, { waitUntil: 'load' });
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, { timeout: 60_000 });
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await srv?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('decodes every codec and NIfTI as Node does', async () => {
    for (const f of FILES) {
      const got = await page.evaluate((u) => (window as unknown as { decodeFile: (u: string) => Promise<{ sum: number; hash: number; syntax: string }> }).decodeFile(u), `/dicom/${f}`);
      const ours = nodeChecksum((await decodeDicom(new Uint8Array(readFileSync(join(pydicomTestFiles(), f))))).frames);
      console.log(`[chromium] ${f} (${got.syntax}): sum ${got.sum}, hash ${got.hash.toString(16)}`);
      expect({ sum: got.sum, hash: got.hash }).toEqual(ours);
    }
    const nii = await page.evaluate(() => (window as unknown as { decodeFile: (u: string) => Promise<{ sum: number; hash: number }> }).decodeFile('/nifti/example4d.nii.gz'));
    expect(nii).toEqual(nodeChecksum([readNifti(new Uint8Array(readFileSync(join(nibabelTestData(), 'example4d.nii.gz')))).data]));
    // Every codec's .wasm came from the bundle's assets.
    const wasm = [...srv.hits.keys()].filter((p) => p.endsWith('.wasm'));
    expect(wasm.length).toBe(3);
  });

  it('opens a 512×512×200 series from File objects (time measured)', async () => {
    const names = readdirSync(seriesDir()).sort();
    const r = await page.evaluate((n) => (window as unknown as { openSeries: (n: string[]) => Promise<{ ms: number; dims: number[] }> }).openSeries(n), names);
    console.log(`[chromium] ${await browser.version()}: readDicomSeries of 512×512×200 (100 MB, explicit VR LE) in ${r.ms.toFixed(0)} ms (measured under load)`);
    expect(r.dims).toEqual([512, 512, 200]);
  });
});
