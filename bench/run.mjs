#!/usr/bin/env node
// npm run bench -- [--runtime node|deno|chrome] [--model res50|res34] [--json OUT.json] [--runs N]
//                  [--no-kernels] [--weights W.safetensors] [--soak N]
//                  [--precision f32|f16]
// Prints every kernel at the model's shapes (median time, GFLOP/s or GB/s), the best matmul rate,
// and the encoder / decoder medians with cold start apart, the encoder's and decoder's GPU time by
// kernel, and live GPU memory (--soak N: N more consecutive encode + decode runs, watching it).
// Needs `npm run build` first (npm run bench does it). Node runs here; deno and chrome are driven
// from here (bench/deno.mjs, bench/chrome.mjs).
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    runtime: { type: 'string', default: 'node' },
    model: { type: 'string', default: 'res50' },
    json: { type: 'string' },
    runs: { type: 'string' },
    'decode-runs': { type: 'string' },
    'no-kernels': { type: 'boolean' },
    weights: { type: 'string' },
    soak: { type: 'string' },
    precision: { type: 'string' },
  },
});
const opts = {
  model: values.model,
  runs: values.runs ? Number(values.runs) : undefined,
  decodeRuns: values['decode-runs'] ? Number(values['decode-runs']) : undefined,
  kernels: !values['no-kernels'],
  weights: values.weights,
  soak: values.soak ? Number(values.soak) : undefined,
  precision: values.precision,
};

let report;
if (values.runtime === 'node') {
  const { benchMain } = await import('./common.mjs');
  report = await benchMain(opts, (s) => console.log(s));
} else if (values.runtime === 'deno') {
  const r = spawnSync('npx', ['deno', 'run', '-A', join(here, 'deno.mjs'), JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 26 });
  process.stdout.write(r.stdout.split('\n').filter((l) => !l.startsWith('REPORT ')).join('\n'));
  const line = r.stdout.split('\n').find((l) => l.startsWith('REPORT '));
  if (!line) { console.error(`deno bench failed (exit ${r.status})`); process.exit(1); }
  report = JSON.parse(line.slice(7));
} else if (values.runtime === 'chrome') {
  const { benchChrome } = await import('./chrome.mjs');
  report = await benchChrome(opts, (s) => console.log(s));
} else {
  console.error(`unknown --runtime ${values.runtime} (node, deno or chrome)`);
  process.exit(2);
}
if (values.json) {
  writeFileSync(values.json, JSON.stringify(report, null, 2));
  console.log(`wrote ${values.json}`);
}
process.exit(0);
