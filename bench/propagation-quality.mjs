#!/usr/bin/env node
// node bench/propagation-quality.mjs --weights W.(safetensors|pth) --scan SCAN --truth LABELS.nii[.gz]
//        --label L --box Z:x0,y0,x1,y1 [--axis axial] [--window W] [--margin PX] [--json OUT.json]
// How well each propagation strategy (box, mask, box+mask) segments an organ from one key-slice
// box, with TRAINED weights and a labelled scan (the ground truth on the scan's grid, e.g. a
// dataset's label map): Dice and the slices reached, per strategy, against voxels of label L.
// Nothing here was run with trained weights in this repository (it has only synthetic ones).
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EmbeddingStore, PROPAGATION_STRATEGIES, SamUnet, parseWindow, readNifti, requestGpu, safetensorsWeights, SafetensorsFile, segmentVolume } from '../dist/index.js';
import { openScanPath, pthFileWeights } from '../dist/node/index.js';
import { fileSource } from '../dist/safetensors/node.js';

const { values } = parseArgs({
  options: {
    weights: { type: 'string' }, scan: { type: 'string' }, truth: { type: 'string' }, label: { type: 'string', default: '1' },
    box: { type: 'string' }, axis: { type: 'string', default: 'axial' }, window: { type: 'string', default: 'auto' }, margin: { type: 'string', default: '5' },
    json: { type: 'string' },
  },
});
const fail = (m) => { console.error(`bench/propagation-quality: ${m}`); process.exit(2); };
for (const k of ['weights', 'scan', 'truth', 'box']) if (!values[k]) fail(`--${k} is required`);
const m = /^(\d+):([-\d.]+),([-\d.]+),([-\d.]+),([-\d.]+)$/.exec(values.box);
if (!m) fail(`--box must be Z:x0,y0,x1,y1, got '${values.box}'`);
const [z, ...box] = m.slice(1).map(Number);
const label = Number(values.label);

const scan = await openScanPath(values.scan);
if (scan.kind !== 'volume') fail(`${values.scan} is not a volume`);
const volume = scan.volume;
const truth = readNifti(new Uint8Array(readFileSync(values.truth)));
if (truth.dims.join() !== volume.dims.join()) fail(`the truth is ${truth.dims.join('×')}, the scan ${volume.dims.join('×')}: they must share a grid`);

const gpu = await requestGpu();
const isPth = readFileSync(values.weights).subarray(0, 2).toString() === 'PK';
const provider = isPth ? await pthFileWeights(values.weights) : safetensorsWeights(await SafetensorsFile.open(await fileSource(values.weights)));
const model = await SamUnet.load(gpu, provider);
const store = new EmbeddingStore(model, { weightsId: values.weights });
const out = { scan: values.scan, truth: values.truth, label, key: { slice: z, box }, strategies: {} };
for (const strategy of PROPAGATION_STRATEGIES) {
  const t0 = performance.now();
  const r = await segmentVolume(model, volume, [{ slice: z, label: 1, box }], { axis: values.axis, window: parseWindow(values.window), strategy, margin: Number(values.margin), store });
  let inter = 0, a = 0, b = 0;
  for (let i = 0; i < r.labels.length; i++) {
    const p = r.labels[i] === 1, t = truth.data[i] === label;
    a += +p; b += +t; inter += +(p && t);
  }
  const reached = [...r.records.get(1).values()].filter((x) => x.mask).map((x) => x.slice);
  out.strategies[strategy] = { dice: +(2 * inter / Math.max(1, a + b)).toFixed(4), predicted_voxels: a, truth_voxels: b, slices: [Math.min(...reached), Math.max(...reached)], seconds: +((performance.now() - t0) / 1000).toFixed(2) };
  console.error(`${strategy}: Dice ${out.strategies[strategy].dice}, slices ${out.strategies[strategy].slices.join('..')}`);
}
console.log(JSON.stringify(out, null, 2));
if (values.json) writeFileSync(values.json, JSON.stringify(out, null, 2) + '\n');
store.destroy();
model.destroy();
