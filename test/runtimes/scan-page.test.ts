// The scan demo (demo/scan.html, `vite build` of demo/) in headless Chromium (SwiftShader), driven by
// puppeteer-core: a 3-D phantom written by pydicom (a CT series) and by nibabel (NIfTI) is opened
// through the page's file picker, slices are scrolled with the wheel, a box is drawn with the
// mouse, the propagation runs in the page's worker with its progress bar, and the label map and
// DICOM SEG the page downloads are read by nibabel (shape and affine equal the scan's) and pydicom
// (frames reference the series' instances). A screenshot is written to out/scan-page.png. One
// SwiftShader encode takes 30-85 s on this machine: the phantom has three slices.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ElementHandle, Page } from 'puppeteer-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { pythonWith, runPy } from '../helpers/python.js';
import { repoRoot } from '../helpers/shared.js';
import { haveChrome, itBrowser, launchChromium, logPage, type Chromium } from './helpers/browser.js';
import { startServer, type TestServer } from './helpers/server.js';

const NEEDS = ['nibabel', 'pydicom', 'numpy'];
const outDir = join(repoRoot, 'out', 'demo-scan');
const dir = mkdtempSync(join(tmpdir(), 'sam-unet-scan-page-'));

interface ScanHandle {
  ready: boolean;
  state: { busy: string | null; error: string | null; scan: { kind: string; dims: number[] } | null; slice: number; result: { decodes: number; encodes: number } | null; reached: Record<number, string>; prompts: unknown };
  idle(): Promise<void>;
  download(f: 'nifti' | 'seg'): Promise<Uint8Array | null>;
}
declare global {
  interface Window {
    samUnetScan: ScanHandle;
  }
}

describe('the scan demo in headless Chromium', () => {
  let srv: TestServer;
  let chromium: Chromium | null = null;
  let ph: { series: string; nifti: string };
  beforeAll(async () => {
    if (!haveChrome && !process.env.CI) return;
    if (!pythonWith(NEEDS) && !process.env.CI) return;
    ph = await runPy<{ series: string; nifti: string }>('volume_phantom.py', NEEDS, [join(dir, 'phantom'), '40', '32', '3']);
    await build({ configFile: join(repoRoot, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
    srv = await startServer(outDir);
  }, 180_000);
  afterAll(async () => {
    await chromium?.close();
    await srv?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function waitIdle(page: Page, what: string, ms: number): Promise<void> {
    const t0 = performance.now();
    const beat = setInterval(async () => {
      const s = await page.evaluate(() => `${document.getElementById('status')!.textContent} | ${document.getElementById('progress-text')!.textContent}`).catch(String);
      console.log(`[scan page] ${what}, ${((performance.now() - t0) / 1000).toFixed(0)} s: ${s}`);
    }, 30_000);
    try {
      await page.waitForFunction(() => window.samUnetScan.state.busy === null, { timeout: ms, polling: 250 });
      await page.evaluate(() => window.samUnetScan.idle());
    } finally {
      clearInterval(beat);
    }
    const err = await page.evaluate(() => window.samUnetScan.state.error);
    expect(err, `${what}: the page's error`).toBeNull();
  }

  itBrowser('open a pydicom series and a nibabel NIfTI, scroll, box, propagate, download what nibabel and pydicom read', async () => {
    expect(pythonWith(NEEDS), `python3 with ${NEEDS.join(', ')}`).not.toBeNull();
    chromium = await launchChromium();
    const page = await chromium.browser.newPage();
    await page.setViewport({ width: 1280, height: 1100 });
    logPage(page);
    await page.goto(`${srv.origin}/scan.html`, { waitUntil: 'load' });
    await page.waitForFunction(() => window.samUnetScan?.ready === true, { timeout: 60_000 });
    await page.bringToFront();

    await page.click('#synth-res34');
    await waitIdle(page, 'loading res34', 300_000);

    // The NIfTI file through the picker: shown at its middle slice.
    const files = (await page.$('#scan-files')) as ElementHandle<HTMLInputElement> | null;
    await files!.uploadFile(ph.nifti);
    await page.waitForFunction(() => window.samUnetScan.state.scan?.kind === 'nifti', { timeout: 120_000 });
    await waitIdle(page, 'opening the NIfTI file', 120_000);

    // The DICOM series (its files, as a folder picker gives them).
    await files!.uploadFile(...readdirSync(ph.series).map((f) => join(ph.series, f)));
    await page.waitForFunction(() => window.samUnetScan.state.scan?.kind === 'dicom', { timeout: 120_000 });
    await waitIdle(page, 'opening the series', 120_000);
    expect(await page.evaluate(() => window.samUnetScan.state.scan!.dims)).toEqual([40, 32, 3]);
    const canvas = (await page.$('#view'))!;
    const box = (await canvas.boundingBox())!;
    // Wheel down then up: back on the middle slice.
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel({ deltaY: 100 });
    await page.waitForFunction(() => window.samUnetScan.state.slice === 2);
    await page.mouse.wheel({ deltaY: -100 });
    await page.waitForFunction(() => window.samUnetScan.state.slice === 1);
    // A box over most of the slice, drawn with the mouse.
    await page.mouse.move(box.x + box.width * 0.1, box.y + box.height * 0.1);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5, { steps: 4 });
    await page.mouse.move(box.x + box.width * 0.9, box.y + box.height * 0.9, { steps: 4 });
    await page.mouse.up();
    await page.click('#propagate');
    await page.waitForFunction(() => window.samUnetScan.state.busy !== null, { timeout: 10_000 }).catch(() => undefined);
    await waitIdle(page, 'propagating', 900_000);
    const result = await page.evaluate(() => window.samUnetScan.state.result);
    expect(result!.decodes).toBeGreaterThanOrEqual(1);
    console.log(`[scan page] propagation: ${JSON.stringify(await page.evaluate(() => ({ ...window.samUnetScan.state.result, labels: undefined, reached: window.samUnetScan.state.reached })))}`);
    const shot = join(repoRoot, 'out', 'scan-page.png'); // out/ is git-ignored; kept for a look
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`[scan page] screenshot: ${shot}`);

    const nii = join(dir, 'labels.nii.gz'), seg = join(dir, 'labels-seg.dcm');
    writeFileSync(nii, Uint8Array.from(await page.evaluate(async () => Array.from((await window.samUnetScan.download('nifti'))!))));
    writeFileSync(seg, Uint8Array.from(await page.evaluate(async () => Array.from((await window.samUnetScan.download('seg'))!))));
    const spec = join(dir, 'compare.json');
    writeFileSync(spec, JSON.stringify([{ source: ph.nifti, labels: nii, raw: join(dir, 'labels.raw') }]));
    const [v] = await runPy<{ shape: number[]; sourceShape: number[]; affine: number[][]; sourceAffine: number[][] }[]>('nifti_check.py', NEEDS, ['compare', spec]);
    expect(v!.shape).toEqual(v!.sourceShape);
    v!.affine.forEach((row, i) => row.forEach((x, j) => expect(Math.abs(x - v!.sourceAffine[i]![j]!)).toBeLessThan(1e-4)));
    const info = await runPy<{ frames: { sourcePosition: number[] | null }[] }>('seg_check.py', ['pydicom'], [seg, ph.series, join(dir, 'seg.raw')]);
    for (const f of info.frames) expect(f.sourcePosition).not.toBeNull();
  }, 1_500_000);
});
