#!/usr/bin/env node
// node bench/volume.mjs [--models res34,res50] [--slices N] [--size S] [--json OUT.json]
// Whole-scan throughput on this machine, synthetic weights: a CT phantom of N slices of S×S
// (an ellipsoid that spans every slice), one box on the middle slice, segmentVolume with the
// default strategy. Reported per model:
//   cold: every slice encoded once and decoded (slices/s = what a first propagation gives);
//   warm: the same again on the same EmbeddingStore (every embedding found: decode-only, what a
//         correction or a new object on a scan already seen costs);
// the encodes and decodes each run made and the bytes one cached embedding takes. Needs
// `npm run build` first; run it alone on the machine (timings under load mean little). The
// per-image cost of `batch` against one `segment` process per image is bench/batch.mjs.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EMBEDDING_BYTES, EmbeddingStore, SamUnet, requestGpu, segmentVolume, syntheticWeights } from '../dist/index.js';

const { values } = parseArgs({
  options: { models: { type: 'string', default: 'res34,res50' }, slices: { type: 'string', default: '12' }, size: { type: 'string', default: '256' }, json: { type: 'string' } },
});
const fail = (m) => { console.error(`bench/volume: ${m}`); process.exit(2); };
const N = Number(values.slices), S = Number(values.size);
if (!Number.isInteger(N) || N < 2) fail(`--slices must be an integer >= 2, got '${values.slices}'`);
if (!Number.isInteger(S) || S < 16) fail(`--size must be an integer >= 16, got '${values.size}'`);
const models = values.models.split(',');
if (models.some((m) => m !== 'res34' && m !== 'res50')) fail(`--models must list res34 and/or res50, got '${values.models}'`);

/** An ellipsoid of 60 HU in air, radii 0.35 S in-plane, spanning every slice with a varying section (no two slices alike). */
function phantom() {
  const data = new Float32Array(S * S * N).fill(-1000);
  for (let k = 0; k < N; k++) {
    const r = 0.35 * S * Math.sqrt(1 - ((k - (N - 1) / 2) / N) ** 2);
    for (let j = 0; j < S; j++) for (let i = 0; i < S; i++) if ((i - S / 2 - k) ** 2 + (j - S / 2) ** 2 <= r * r) data[i + S * (j + S * k)] = 60;
  }
  const affine = Float64Array.from([-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1]);
  return { dims: [S, S, N], data, affine, spacing: [1, 1, 2], modality: 'CT', source: { kind: 'nifti', version: 1, affineFrom: 'sform' } };
}

const gpu = await requestGpu();
const volume = phantom();
const box = [Math.round(0.1 * S), Math.round(0.1 * S), Math.round(0.9 * S), Math.round(0.9 * S)];
const report = { adapter: gpu.info.name, slices: N, size: S, embedding_bytes: EMBEDDING_BYTES, models: {} };
for (const variant of models) {
  const model = await SamUnet.load(gpu, syntheticWeights(variant));
  await model.segment(grey(), { box }); // pipelines compiled outside the timings
  const store = new EmbeddingStore(model, { weightsId: `synthetic:${variant}` });
  const runs = {};
  for (const phase of ['cold', 'warm']) {
    const t0 = performance.now();
    const r = await segmentVolume(model, volume, [{ slice: Math.floor(N / 2), label: 1, box }], { window: 'abdomen', store });
    const s = (performance.now() - t0) / 1000;
    runs[phase] = { seconds: +s.toFixed(3), encodes: r.encodes, decodes: r.decodes, slices_per_s: +(r.decodes / s).toFixed(3) };
    console.error(`${variant} ${phase}: ${r.decodes} slices (${r.encodes} encoded) in ${s.toFixed(2)} s = ${(r.decodes / s).toFixed(2)} slices/s`);
  }
  report.models[variant] = runs;
  store.destroy();
  model.destroy();
}
console.log(JSON.stringify(report, null, 2));
if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2) + '\n');

/** A flat grey S×S image (the warm-up). */
function grey() {
  return { width: S, height: S, data: new Uint8Array(S * S * 3).fill(90) };
}
