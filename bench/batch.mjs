#!/usr/bin/env node
// node bench/batch.mjs [--models res34,res50] [--images N] [--repeats R] [--size S] [--json OUT.json]
// The per-image cost of `sam-unet batch` (one process: weights loaded, pipelines compiled once)
// against one `sam-unet segment` process per image, side by side in one run, on N phantom
// variants of S×S pixels (same size, different content) with synthetic weights. Each side runs R
// times, alternating; reported: the median wall time per image of the segment processes, the
// batch's wall time / N (its start-up included, as a user pays it), and their ratio. Both sides'
// masks are compared (they must be equal). Needs `npm run build` first. Run it alone on the
// machine: timings taken under load mean little.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodePng, decodeImage, sheppLogan } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'dist', 'cli.js');
const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'res34,res50' },
    images: { type: 'string', default: '8' },
    repeats: { type: 'string', default: '1' },
    size: { type: 'string', default: '256' },
    json: { type: 'string' },
  },
});
function fail(msg) {
  console.error(`bench/batch: ${msg}`);
  process.exit(2);
}
const int = (name, min) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}, got '${values[name]}'`);
  return n;
};
const models = values.models.split(',');
if (!models.length || models.some((m) => m !== 'res34' && m !== 'res50')) fail(`--models must list res34 and/or res50, got '${values.models}'`);
const N = int('images', 1), R = int('repeats', 1), S = int('size', 16);

const dir = mkdtempSync(join(tmpdir(), 'sam-unet-bench-batch-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Phantom variant i: shifted by i pixels, brightness varied, so every encode sees other pixels. */
function variant(i) {
  const base = sheppLogan(S);
  const data = new Uint8Array(base.data.length);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const sx = Math.min(S - 1, x + i);
      for (let c = 0; c < 3; c++) data[(y * S + x) * 3 + c] = Math.min(255, base.data[(y * S + sx) * 3 + c] + 7 * i);
    }
  }
  return encodePng(S, S, data, 3);
}

const box = [Math.round(S * 0.27), Math.round(S * 0.23), Math.round(S * 0.59), Math.round(S * 0.78)];
const images = Array.from({ length: N }, (_, i) => {
  const p = join(dir, `img${i}.png`);
  writeFileSync(p, variant(i));
  return p;
});

function run(args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = performance.now() - t0;
  if (r.status !== 0) fail(`sam-unet ${args[0]} failed (${r.status}):\n${r.stderr}`);
  return ms;
}

const results = [];
try {
  for (const model of models) {
    const weights = `synthetic:${model}`;
    const seg = [], batch = [];
    for (let rep = 0; rep < R; rep++) {
      const segDir = join(dir, `${model}-seg-${rep}`);
      mkdirSync(segDir, { recursive: true });
      for (let i = 0; i < N; i++) {
        seg.push(run(['segment', images[i], '--weights', weights, '--box', box.join(','), '--out', join(segDir, `m${i}.png`)]));
      }
      const outDir = join(dir, `${model}-batch-${rep}`);
      const manifest = join(dir, `manifest-${model}-${rep}.jsonl`);
      writeFileSync(manifest, images.map((p, i) => JSON.stringify({ input: p, boxes: [box], out: `m${i}.png` })).join('\n') + '\n');
      batch.push(run(['batch', manifest, '--out-dir', outDir, '--weights', weights]) / N);
      for (let i = 0; i < N; i++) {
        const a = decodeImage(readFileSync(join(segDir, `m${i}.png`))).data, b = decodeImage(readFileSync(join(outDir, `m${i}.png`))).data;
        if (a.length !== b.length || a.some((v, k) => v !== b[k])) fail(`${model}: the masks of image ${i} differ between segment and batch`);
      }
      console.error(`bench/batch: ${model} repeat ${rep + 1}/${R}: segment ${median(seg.slice(-N)).toFixed(0)} ms/image, batch ${batch.at(-1).toFixed(0)} ms/image`);
    }
    results.push({ model, images: N, size: S, segmentMsPerImage: median(seg), batchMsPerImage: median(batch), segmentRuns: seg, batchRuns: batch });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\n${N} images of ${S}×${S}, synthetic weights, ${R} repeat(s); masks equal on both sides\n`);
console.log('| model | one `segment` process per image | `batch`, per image (wall / N) | ratio |');
console.log('| --- | --- | --- | --- |');
for (const r of results) {
  console.log(`| ${r.model} | ${(r.segmentMsPerImage / 1000).toFixed(2)} s | ${(r.batchMsPerImage / 1000).toFixed(2)} s | ${(r.segmentMsPerImage / r.batchMsPerImage).toFixed(1)}× |`);
}
if (values.json) writeFileSync(values.json, JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2));
