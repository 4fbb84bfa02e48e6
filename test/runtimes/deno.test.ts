// The library in Deno (WebGPU through navigator.gpu, wgpu on Mesa lavapipe here): one golden case,
// res34_box_point_mask, end to end (synthetic weights, encoder, decoder) against the fp32
// reference: low_res_logits within 2e-3 and masks equal where |ref logit| > 1e-2 (the golden
// README's tolerances). Deno runs dist/ (built by `npm test`), the ESM JS that an app would import.
// Deno is the npm package `deno` (a devDependency), run as node_modules/.bin/deno.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { goldenPath, itShared, repoRoot } from '../helpers/shared.js';

const deno = join(repoRoot, 'node_modules', '.bin', 'deno');

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

itShared('Deno: res34_box_point_mask through dist/ — low_res_logits within 2e-3 of the reference', async () => {
  expect(existsSync(deno), `${deno} is missing: run npm ci (deno is a devDependency)`).toBe(true);
  expect(existsSync(join(repoRoot, 'dist', 'index.js')), 'dist/index.js is missing: run npm run build').toBe(true);
  const t0 = performance.now();
  const { code, out } = await run(deno, ['run', '-A', 'test/runtimes/deno/golden.js', goldenPath, 'res34_box_point_mask'], 540_000);
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (code !== 0 || !line) throw new Error(`deno exited with ${code}:\n${out.slice(-4000)}`);
  const r = JSON.parse(line.slice('RESULT '.length));
  console.log(`[deno] ${r.deno} on ${r.adapter}: load ${r.loadMs.toFixed(0)} ms, encode ${r.encodeMs.toFixed(0)} ms (first run, pipelines compiled), ` +
    `decode ${r.decodeMs.toFixed(0)} ms cold / ${r.decodeWarmMs.toFixed(0)} ms warm; low_res_logits max |Δ| ${Number(r.lowResMaxAbs).toExponential(2)}; ` +
    `whole run ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  expect(r.lowResMaxAbs).toBeLessThanOrEqual(2e-3);
  expect(r.maskDisagree).toBe(0);
}, 600_000);
