// One cold process of the time-to-first-mask bench (bench/first_run.ts), under Node or Deno:
//   node bench/first-run.mjs '<json options>'      npx deno run -A bench/first-run.mjs '<json options>'
// Prints the log, then one line 'REPORT <json>'. bench/run.mjs --cold spawns it.
import { requestGpu } from './dist/src/gpu/device.js';
import { firstRun } from './dist/bench/first_run.js';

const isDeno = typeof Deno !== 'undefined';
const opts = JSON.parse((isDeno ? Deno.args[0] : process.argv[2]) ?? '{}');
if (opts.weights) {
  const { fileSource } = await import('./dist/src/safetensors/node.js');
  const { SafetensorsFile } = await import('./dist/src/safetensors/read.js');
  const { safetensorsWeights } = await import('./dist/src/weights/sources.js');
  opts.weights = safetensorsWeights(await SafetensorsFile.open(await fileSource(opts.weights)));
}
const report = await firstRun(() => requestGpu({ f16: true }), { ...opts, log: (s) => console.log(s) });
if (isDeno) report.runtime = `deno ${Deno.version.deno}`;
console.log('REPORT ' + JSON.stringify(report));
if (isDeno) Deno.exit(0);
else process.exit(0);
