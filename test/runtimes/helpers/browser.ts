// Debian's Chromium, headless, with WebGPU (SwiftShader on a machine without a GPU), driven by
// puppeteer-core. Without Chromium the browser tests skip with a message; under CI they fail.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { it } from 'vitest';

export const CHROME = process.env.CHROME_BIN ?? '/usr/lib/chromium/chromium';
const FLAGS = [
  '--enable-unsafe-webgpu', '--headless=new', '--no-sandbox', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic', '--disable-gpu-watchdog', '--enable-precise-memory-info',
];
const inCI = process.env.CI !== undefined;
export const haveChrome = existsSync(CHROME);
if (!haveChrome && !inCI) console.warn(`[chromium] ${CHROME} is missing: the browser tests are skipped (install Debian's chromium, see .ci/install-system.sh)`);

/** An `it` that needs Chromium: skipped without it, failing under CI. */
export const itBrowser = it.skipIf(!haveChrome && !inCI);

export interface Chromium {
  browser: Browser;
  close(): Promise<void>;
}

/** Starts Chromium with a fresh profile (deleted by close()). */
export async function launchChromium(): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), 'sam-unet-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROME, headless: true, pipe: true, protocolTimeout: 900_000,
    args: [...FLAGS, `--user-data-dir=${profile}`],
  });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Logs the page's errors and warnings (and uncaught exceptions) to the test output. */
export function logPage(page: Page): void {
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') console.log(`[page ${m.type()}] ${m.text()}`);
  });
  page.on('pageerror', (e) => console.log(`[page error] ${(e as Error).message}`));
}
