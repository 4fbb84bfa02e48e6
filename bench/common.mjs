// Shared by the Node and Deno bench runners: get a device, load weights, run the bench core.
// bench/dist/ is bench.ts compiled with the library sources it imports (bench/tsconfig.json).
import { requestGpu } from './dist/src/gpu/device.js';
import { runBench } from './dist/bench/bench.js';

export async function benchMain(opts, log) {
  const gpu = await requestGpu({ timestamps: true });
  let weights;
  if (opts.weights) {
    const { fileSource } = await import('./dist/src/safetensors/node.js');
    const { SafetensorsFile } = await import('./dist/src/safetensors/read.js');
    const { safetensorsWeights } = await import('./dist/src/weights/sources.js');
    weights = safetensorsWeights(await SafetensorsFile.open(await fileSource(opts.weights)));
  }
  const report = await runBench(gpu, { ...opts, weights, log });
  return report;
}
