// bench/run.mjs --cold N: time to first mask in N fresh processes in a row (Node, Deno), or N fresh
// browser launches on one profile (Chromium: the bench page). The driver's shader cache is the
// Mesa disk cache (MESA_SHADER_CACHE_DIR, default ~/.cache/mesa_shader_cache): --fresh-cache points
// it at an empty folder first, so that process 1 compiles every kernel ("fresh driver cache") and
// the later ones find them ("second process"). Chromium keeps its own caches in the profile, which
// is new for the run: its first launch starts empty there too.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Runs one process of bench/first-run.mjs; returns its report with process_ms (spawn to exit). */
function spawnFirstRun(runtime, opts, env, log) {
  const args = JSON.stringify(opts);
  const [cmd, argv] = runtime === 'deno' ? ['npx', ['deno', 'run', '-A', path.join(here, 'first-run.mjs'), args]] : [process.execPath, [path.join(here, 'first-run.mjs'), args]];
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { env, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 26 });
  const processMs = performance.now() - t0;
  const lines = (r.stdout ?? '').split('\n');
  for (const l of lines) if (l && !l.startsWith('REPORT ')) log(`  ${l}`);
  const line = lines.find((l) => l.startsWith('REPORT '));
  if (!line) throw new Error(`${runtime} first-run process failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
  return { ...JSON.parse(line.slice(7)), process_ms: processMs };
}

/**
 * `n` cold runs under `runtime`; `freshCache`: a new, empty Mesa shader cache folder for the first
 * (removed afterwards) instead of the user's.
 */
export async function benchCold(runtime, n, opts, { freshCache = false } = {}, log = console.log) {
  const cacheDir = freshCache ? fs.mkdtempSync(path.join(os.tmpdir(), 'sam-unet-mesa-cache-')) : process.env.MESA_SHADER_CACHE_DIR ?? null;
  const env = { ...process.env, ...(freshCache ? { MESA_SHADER_CACHE_DIR: cacheDir } : {}) };
  const runs = [];
  try {
    let chrome = null;
    if (runtime === 'chrome') chrome = await (await import('./chrome.mjs')).chromeColdSession(env, log);
    try {
      for (let i = 0; i < n; i++) {
        log(`${runtime} cold run ${i + 1}/${n}${i === 0 && freshCache ? ' (fresh driver cache)' : ''}:`);
        const t0 = performance.now();
        const r = chrome ? { ...(await chrome.run(opts)), process_ms: performance.now() - t0 } : spawnFirstRun(runtime, opts, env, log);
        log(`  first mask ${r.first_mask_ms.toFixed(0)} ms after the device request (${r.first_mask_since_origin_ms.toFixed(0)} ms from ${runtime === 'chrome' ? 'worker' : 'process'} start); ` +
          `first encode ${r.first_encode_ms.toFixed(0)} ms = ${r.encode_ratio.toFixed(2)}× warm, first decode ${r.first_decode_ms.toFixed(0)} ms = ${r.decode_ratio.toFixed(2)}× warm` +
          `${r.warmup_ms !== null ? `; warm-up ${r.warmup_ms.toFixed(0)} ms` : ''}${r.pipelines_ms !== null ? `; pipelines (${r.pipeline_mode}) ${r.pipelines_ms.toFixed(0)} ms` : ''}; ${r.pipelines.total} pipelines`);
        runs.push(r);
      }
    } finally {
      await chrome?.close();
    }
  } finally {
    if (freshCache) fs.rmSync(cacheDir, { recursive: true, force: true });
  }
  return { runtime, fresh_cache: freshCache, mesa_shader_cache_dir: freshCache ? '(temporary)' : cacheDir, options: opts, runs };
}
