#!/usr/bin/env node
// Accuracy of fp16 weight files: each golden case (../shared/golden) run with the synthetic weights
// rounded to float16 (written with `sam-unet synth-weights --dtype f16`, streamed back in), against
// the fp32 reference tensors. Prints max |Δ| of low_res_logits and logits, and how many mask pixels
// disagree where |ref logit| exceeds a few margins.
//   npm run build && node scripts/f16-accuracy.mjs [--dtype f32] [case…]   (f32: the same path, unrounded)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestGpu, SamUnet, SafetensorsFile } from '../dist/index.js';
import { fileSource, fileWeights } from '../dist/node/index.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const golden = resolve(root, '..', 'shared', 'golden');
const argv = process.argv.slice(2);
const di = argv.indexOf('--dtype');
const dtype = di >= 0 ? argv.splice(di, 2)[1] : 'f16';
const wanted = argv;
const cases = JSON.parse(readFileSync(join(golden, 'cases.json'), 'utf8')).map((c) => c.name).filter((n) => !wanted.length || wanted.includes(n));
const gpu = await requestGpu();
console.log(`adapter: ${gpu.info.name}; weights ${dtype}`);
const models = new Map();
for (const name of cases) {
  const c = JSON.parse(readFileSync(join(golden, `${name}.json`), 'utf8'));
  let model = models.get(c.variant);
  if (!model) {
    const path = join(tmpdir(), `sam-unet-${c.variant}-${dtype}.safetensors`);
    if (!existsSync(path)) execFileSync(process.execPath, [join(root, 'dist/cli.js'), 'synth-weights', '--variant', c.variant, '--dtype', dtype, '--out', path], { stdio: 'inherit' });
    model = await SamUnet.load(gpu, await fileWeights(path));
    models.set(c.variant, model);
  }
  const src = await fileSource(join(golden, `${name}.safetensors`));
  const f = await SafetensorsFile.open(src);
  const [H, W] = c.original_size;
  const [h, w] = c.input_size;
  const n = c.tensors.low_res_logits[0];
  const maskInputs = c.tensors['input.mask_inputs'] ? await f.readF32('input.mask_inputs') : null;
  const sets = [];
  for (let i = 0; i < n; i++) sets.push({ box: c.boxes?.[i], points: c.points, maskInput: maskInputs?.slice(i * 4096, (i + 1) * 4096) });
  const t0 = performance.now();
  const emb = await model.encodeInput(await f.readF32('input.image'), { width: W, height: H, inputW: w, inputH: h });
  const out = await model.decode(emb, sets);
  const ms = performance.now() - t0;
  emb.destroy();
  const refLow = await f.readF32('low_res_logits');
  const refLogits = await f.readF32('logits');
  let lowErr = 0, logitErr = 0, refMax = 0;
  out.lowResLogits.forEach((l, i) => l.forEach((v, k) => (lowErr = Math.max(lowErr, Math.abs(v - refLow[i * 4096 + k])))));
  const margins = [1e-2, 5e-2, 1e-1, 2e-1];
  const disagree = margins.map(() => 0);
  let anyDisagree = 0;
  out.logits.forEach((l, i) => l.forEach((v, k) => {
    const r = refLogits[i * H * W + k];
    refMax = Math.max(refMax, Math.abs(r));
    logitErr = Math.max(logitErr, Math.abs(v - r));
    if (v > 0 !== r > 0) {
      anyDisagree++;
      margins.forEach((m, j) => { if (Math.abs(r) > m) disagree[j]++; });
    }
  }));
  console.log(JSON.stringify({
    case: name, variant: c.variant, ms: Math.round(ms), lowResLogitsMaxAbs: lowErr, logitsMaxAbs: logitErr, refLogitsMaxAbs: refMax,
    pixels: n * H * W, maskDisagree: anyDisagree, maskDisagreeWhereAbsRefAbove: Object.fromEntries(margins.map((m, j) => [m, disagree[j]])),
  }));
  await src.close();
}
for (const m of models.values()) m.destroy();
process.exit(0);
