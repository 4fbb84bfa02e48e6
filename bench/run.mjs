#!/usr/bin/env node
// npm run bench -- [--runtime node|deno|chrome] [--model res50|res34] [--json OUT.json] [--runs N]
//                  [--no-kernels] [--weights W.safetensors] [--soak N]
//                  [--precision f32|f16|f16-compute] [--kernels gemm=tiled,norm=cpu,...]
//                  [--cold N [--fresh-cache] [--no-warmup] [--pipelines parallel|serial]]
// Prints every kernel at the model's shapes (median time, GFLOP/s or GB/s), the best matmul rate,
// and the encoder / decoder medians with cold start apart, the encoder's and decoder's GPU time by
// kernel, and live GPU memory (--soak N: N more consecutive encode + decode runs, watching it).
// --kernels forces a kernel family's variant (tiled or cpu) in every plan; the others take the
// adapter's. Needs bench/dist/ first (npm run bench compiles it: tsc -p bench/tsconfig.json). Node
// runs here; deno and chrome are driven from here (bench/deno.mjs; bench/chrome.mjs drives the
// benchmark page demo/bench.html, the one anyone can open in their own browser).
// --cold N measures instead the time to first mask in N fresh processes (bench/cold.mjs):
// --fresh-cache empties the driver's shader cache before the first, --no-warmup skips
// model.warmup(), --pipelines creates every pipeline first, all at once or one by one (timed).
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
    kernels: { type: 'string' },
    cold: { type: 'string' },
    'fresh-cache': { type: 'boolean' },
    'no-warmup': { type: 'boolean' },
    pipelines: { type: 'string' },
  },
});
function fail(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}
/** A count option: undefined when absent, else an integer >= min (anything else stops the bench). */
function count(name, min) {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}
if (!['res50', 'res34'].includes(values.model)) fail(`--model must be res50 or res34, got '${values.model}'`);
const { PRECISIONS } = await import('./dist/src/weights/load.js');
if (values.precision !== undefined && !PRECISIONS.includes(values.precision)) fail(`--precision must be ${PRECISIONS.join(', ')}; got '${values.precision}'`);
/** --kernels gemm=tiled,norm=cpu: the plans' kernel variant per family. */
function kernelPaths(v) {
  if (v === undefined) return undefined;
  const out = {};
  for (const part of v.split(',')) {
    const [family, path] = part.split('=');
    if (!['gemm', 'attention', 'norm', 'layout'].includes(family) || !['tiled', 'cpu'].includes(path)) {
      fail(`--kernels takes family=path pairs (families gemm, attention, norm, layout; paths tiled, cpu), got '${part}'`);
    }
    out[family] = path;
  }
  return out;
}
const opts = {
  model: values.model,
  runs: count('runs', 1),
  decodeRuns: count('decode-runs', 1),
  kernels: !values['no-kernels'],
  weights: values.weights,
  soak: count('soak', 0),
  precision: values.precision,
  kernelPaths: kernelPaths(values.kernels),
};

let report;
if (values.cold !== undefined) {
  if (values.pipelines !== undefined && !['parallel', 'serial'].includes(values.pipelines)) fail(`--pipelines must be parallel or serial, got '${values.pipelines}'`);
  if (!['node', 'deno', 'chrome'].includes(values.runtime)) fail(`unknown --runtime ${values.runtime} (node, deno or chrome)`);
  const { benchCold } = await import('./cold.mjs');
  const cold = { model: opts.model, precision: opts.precision, kernelPaths: opts.kernelPaths, weights: opts.weights, warmup: !values['no-warmup'], pipelines: values.pipelines, warmRuns: opts.runs };
  report = await benchCold(values.runtime, count('cold', 1), cold, { freshCache: !!values['fresh-cache'] });
} else if (values.runtime === 'node') {
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
