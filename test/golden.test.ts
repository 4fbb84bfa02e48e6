// The whole model against ../shared/golden, stage by stage, on the synthetic weights.
// Tolerances (golden README): per stage max |ours − ref| ≤ 1e-3 · max(1, max|ref|); low_res_logits
// max abs error ≤ 2e-3, and masks equal wherever |ref logit| > 1e-2.
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { recordDecoder, DECODER_STAGES } from '../src/model/decoder.js';
import { ENCODER_STAGES, recordEncoder } from '../src/model/encoder.js';
import { syntheticWeights } from '../src/model/keys.js';
import { promptTokensOf, type PromptSet } from '../src/model/prompts.js';
import { SamUnet } from '../src/model/sam_unet.js';
import type { Variant } from '../src/model/weights.js';
import { fileSource } from '../src/safetensors/node.js';
import { SafetensorsFile } from '../src/safetensors/read.js';
import { maxAbsDiff, testGpu } from './helpers/gpu.js';
import { describeShared, goldenCases, goldenPath, itShared } from './helpers/shared.js';


export interface StageError {
  stage: string;
  maxAbs: number;
  refMax: number;
  limit: number;
}

/** Worst errors seen per stage, printed at the end (for the closing note). */
const report: StageError[] = [];

function compare(stage: string, ours: Float32Array, ref: Float32Array, absLimit?: number): void {
  expect(ours.length, `${stage}: element count`).toBe(ref.length);
  let refMax = 0;
  for (const v of ref) refMax = Math.max(refMax, Math.abs(v));
  const limit = absLimit ?? 1e-3 * Math.max(1, refMax);
  const { maxAbs, worstIndex } = maxAbsDiff(ours, ref);
  report.push({ stage, maxAbs, refMax, limit });
  if (!(maxAbs <= limit)) {
    throw new Error(`stage ${stage}: max |ours − ref| = ${maxAbs} at ${worstIndex} (ours ${ours[worstIndex]}, ref ${ref[worstIndex]}) > ${limit}`);
  }
}

/** [N, C, HW] → [N, HW, C] on the CPU (for comparing channels-last outputs with NCHW references). */
function toTokens(x: Float32Array, n: number, c: number, hw: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let i = 0; i < hw; i++) out[(b * hw + i) * c + ch] = x[(b * c + ch) * hw + i]!;
  return out;
}

const cases = goldenCases();

describeShared('golden: full model, stage by stage', () => {
  const files = new Map<string, SafetensorsFile>();
  const models = new Map<Variant, SamUnet>();

  beforeAll(async () => {
    for (const c of cases) files.set(c.name, await SafetensorsFile.open(await fileSource(join(goldenPath, `${c.name}.safetensors`))));
  });

  afterAll(() => {
    for (const m of models.values()) m.destroy();
    console.log('[golden] worst error per stage:\n' + report.map((r) => `  ${r.stage.padEnd(40)} ${r.maxAbs.toExponential(2)} (limit ${r.limit.toExponential(2)}, max|ref| ${r.refMax.toFixed(3)})`).join('\n'));
  });

  async function model(variant: Variant): Promise<SamUnet> {
    let m = models.get(variant);
    if (!m) {
      m = await SamUnet.load(await testGpu(), syntheticWeights(variant));
      models.set(variant, m);
    }
    return m;
  }

  for (const c of cases) {
    itShared(`${c.name} (${c.variant})`, async () => {
      const f = files.get(c.name)!;
      const ref = (name: string) => f.readF32(name);
      const m = await model(c.variant);
      const gpu = await testGpu();

      // Encoder, every stage.
      const enc = recordEncoder(gpu, m.weights, ENCODER_STAGES);
      await enc.build();
      const t0 = performance.now();
      const e = await enc.run({ image: await ref('input.image') });
      console.log(`[golden] ${c.name}: encoder ${(performance.now() - t0).toFixed(0)} ms on ${gpu.info.name}`);
      for (const s of [...ENCODER_STAGES, 'image_embeddings', 'multi_scale_feature']) compare(`${c.name}/${s}`, e[s]!, await ref(s));

      // Decoder on the reference embeddings, so that its stages are judged on their own.
      const [H, W] = c.original_size;
      const [h, w] = c.input_size;
      const frame = { width: W, height: H, inputW: w, inputH: h };
      const n = c.tensors['low_res_logits']![0]!;
      const sets: PromptSet[] = [];
      const maskInputs = c.tensors['input.mask_inputs'] ? await ref('input.mask_inputs') : null;
      for (let i = 0; i < n; i++) {
        sets.push({
          box: c.boxes?.[i] as [number, number, number, number] | undefined,
          points: c.points?.map((p) => p as unknown as [number, number, number]),
          maskInput: maskInputs ? maskInputs.slice(i * 4096, (i + 1) * 4096) : undefined,
        });
      }
      const tokens = sets.map((s) => promptTokensOf(s, frame));
      const t = tokens[0]!.length;
      const dec = recordDecoder(gpu, m.weights, { n, t, hasMask: !!maskInputs, inputH: h, inputW: w, origH: H, origW: W },
        DECODER_STAGES.filter((s) => s !== 'prompt.1' || maskInputs));
      await dec.build();
      const inputs: Record<string, Float32Array> = {
        image_embeddings: await ref('image_embeddings'),
        multi_scale_feature: await ref('multi_scale_feature'),
        points: new Float32Array(tokens.flat(2)),
      };
      if (maskInputs) inputs.mask_input = maskInputs;
      const t1 = performance.now();
      const d = await dec.run(inputs);
      console.log(`[golden] ${c.name}: decoder ${(performance.now() - t1).toFixed(0)} ms`);
      // tokens = [med, sparse…]: compare the sparse part with prompt.0.
      const sparse = new Float32Array(n * t * 256);
      for (let b = 0; b < n; b++) sparse.set(d.tokens!.subarray((b * (t + 1) + 1) * 256, (b + 1) * (t + 1) * 256), b * t * 256);
      compare(`${c.name}/prompt.0`, sparse, await ref('prompt.0'));
      if (maskInputs) compare(`${c.name}/prompt.1`, d['prompt.1']!, await ref('prompt.1'));
      compare(`${c.name}/dense_pe`, d.dense_pe!, toTokens(await ref('dense_pe'), 1, 256, 256));
      for (const s of ['transformer.0', 'transformer.1', 'output_upscaling', 'embedding_maskfeature', 'hf_mlp']) {
        compare(`${c.name}/${s}`, d[s]!, await ref(s));
      }
      compare(`${c.name}/low_res_logits`, d.low_res_logits!, await ref('low_res_logits'), 2e-3);
      const refLogits = await ref('logits');
      compare(`${c.name}/logits`, d.logits!, refLogits);
      let disagree = 0;
      for (let i = 0; i < refLogits.length; i++) {
        if (Math.abs(refLogits[i]!) > 1e-2 && refLogits[i]! > 0 !== d.logits![i]! > 0) disagree++;
      }
      expect(disagree, `${c.name}: mask pixels that disagree where |ref logit| > 1e-2`).toBe(0);
      enc.destroy();
      dec.destroy();

      // The library path end to end: encode the reference input, decode, compare the logits.
      const emb = await m.encodeInput(await ref('input.image'), frame);
      const out = await m.decode(emb, sets);
      emb.destroy();
      const lowAll = new Float32Array(n * 4096);
      out.lowResLogits.forEach((l, i) => lowAll.set(l, i * 4096));
      compare(`${c.name}/api low_res_logits`, lowAll, await ref('low_res_logits'), 2e-3);
    });
  }
});
