// One golden case in Deno (navigator.gpu, wgpu), through the built package: run by
// test/runtimes/deno.test.ts as `deno run -A test/runtimes/deno/golden.js <golden dir> <case>`.
// It imports the package by name, as an app would: inside this repository Deno resolves
// 'sam-unet-webgpu' through package.json's exports map to dist/ (plain ESM JS, built by
// `npm run build`) and the package's npm dependencies (fflate, jpeg-js) from node_modules, so this
// file must stay inside the repository. Plain JS, so that `tsc` over test/ (which does not build
// dist/) never needs the package's types. (The TypeScript sources would need --sloppy-imports, as
// they import './x.js' for './x.ts'; dist/ needs no flag.) Prints one line `RESULT {json}`.
import { bytesSource, requestGpu, SafetensorsFile, SamUnet, syntheticWeights } from 'sam-unet-webgpu';

/* global Deno */

const [dir, name = 'res34_box_point_mask'] = Deno.args;
if (!dir) throw new Error('usage: golden.ts <golden dir> [case]');
const c = JSON.parse(await Deno.readTextFile(`${dir}/${name}.json`));
const f = await SafetensorsFile.open(bytesSource(await Deno.readFile(`${dir}/${name}.safetensors`)));
const gpu = await requestGpu();
let t = performance.now();
const model = await SamUnet.load(gpu, syntheticWeights(c.variant));
const loadMs = performance.now() - t;
const [H, W] = c.original_size;
const [h, w] = c.input_size;
const n = c.tensors.low_res_logits[0];
const maskInputs = c.tensors['input.mask_inputs'] ? await f.readF32('input.mask_inputs') : undefined;
const sets = [];
for (let i = 0; i < n; i++) sets.push({ box: c.boxes?.[i], points: c.points, maskInput: maskInputs?.slice(i * 4096, (i + 1) * 4096) });

t = performance.now();
const emb = await model.encodeInput(await f.readF32('input.image'), { width: W, height: H, inputW: w, inputH: h });
await gpu.device.queue.onSubmittedWorkDone();
const encodeMs = performance.now() - t;
t = performance.now();
const out = await model.decode(emb, sets);
const decodeMs = performance.now() - t;
t = performance.now();
await model.decode(emb, sets); // again, with the decoder's pipelines built
const decodeWarmMs = performance.now() - t;

const refLow = await f.readF32('low_res_logits');
const refLogits = await f.readF32('logits');
let lowResMaxAbs = 0;
out.lowResLogits.forEach((l, i) => l.forEach((v, k) => (lowResMaxAbs = Math.max(lowResMaxAbs, Math.abs(v - refLow[i * 4096 + k])))));
let maskDisagree = 0;
out.logits.forEach((l, i) => l.forEach((v, k) => {
  const r = refLogits[i * H * W + k];
  if (Math.abs(r) > 1e-2 && r > 0 !== v > 0) maskDisagree++;
}));
console.log('RESULT ' + JSON.stringify({
  case: name, deno: Deno.version.deno, adapter: gpu.info.name, loadMs, encodeMs, decodeMs, decodeWarmMs, lowResMaxAbs: Number.isNaN(lowResMaxAbs) ? 'NaN' : lowResMaxAbs, maskDisagree,
}));
emb.destroy();
model.destroy();
Deno.exit(0);
