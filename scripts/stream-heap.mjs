#!/usr/bin/env node
// Peak JS memory while streaming a safetensors weight file into GPU buffers (Node + Dawn).
//   npm run build && node dist/cli.js synth-weights --variant res50 --out /tmp/w50.safetensors
//   node [--expose-gc] scripts/stream-heap.mjs /tmp/w50.safetensors [--random-access] [--gc-each]
// Samples process.memoryUsage() after every stream chunk and every 20 ms; prints the peaks of
// heapUsed (JS objects), arrayBuffers (typed-array backing stores, outside the heap) and rss
// (which also counts the weights themselves once Dawn holds them in host memory on a CPU adapter).
import { requestGpu, ModelWeights, safetensorsWeights, SafetensorsFile } from '../dist/index.js';
import { fileWeights, fileSource } from '../dist/node/index.js';

const path = process.argv[2] ?? '/tmp/w50.safetensors';
const randomAccess = process.argv.includes('--random-access');
const MB = (n) => (n / 1048576).toFixed(1);
const gpu = await requestGpu();
globalThis.gc?.();
const base = process.memoryUsage();
const peak = { heapUsed: 0, arrayBuffers: 0, external: 0, rss: 0 };
// --gc-each (with node --expose-gc): collect before every sample, so the peaks are the live set.
const gcEach = process.argv.includes('--gc-each') && typeof globalThis.gc === 'function';
const sample = () => {
  if (gcEach) globalThis.gc();
  const m = process.memoryUsage();
  for (const k of Object.keys(peak)) peak[k] = Math.max(peak[k], m[k]);
};
const timer = setInterval(sample, 20);
let chunks = 0;
const t0 = performance.now();
let weights, close = async () => {};
if (randomAccess) {
  const src = await fileSource(path);
  close = () => src.close();
  weights = await ModelWeights.load(gpu, safetensorsWeights(await SafetensorsFile.open(src)), { onProgress: sample });
} else {
  weights = await ModelWeights.load(gpu, await fileWeights(path, { onProgress: () => { chunks++; sample(); } }));
}
await gpu.device.queue.onSubmittedWorkDone();
const ms = performance.now() - t0;
sample();
clearInterval(timer);
await close();
console.log(JSON.stringify({
  path, mode: randomAccess ? 'random-access (fileSource)' : 'stream (fileWeights)', gcEach, adapter: gpu.info.name,
  variant: weights.variant, gpuMB: +MB(weights.bytes), ms: Math.round(ms), chunks,
  baselineMB: { heapUsed: +MB(base.heapUsed), arrayBuffers: +MB(base.arrayBuffers), external: +MB(base.external), rss: +MB(base.rss) },
  peakMB: Object.fromEntries(Object.entries(peak).map(([k, v]) => [k, +MB(v)])),
}, null, 1));
weights.destroy();
process.exit(0);
