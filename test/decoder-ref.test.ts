// The GPU decoder (prompt encoder, two-way transformer, med-token head, postprocess) on prompt cases
// that the golden fixtures do not cover, against an independent float64 CPU reference written from
// the upstream PyTorch code (test/helpers/decoder-ref.ts). The embeddings are random with the
// statistics of real ones (image_embeddings and multi_scale_feature have rms ≈ 1 in the fixtures),
// written straight into GPU buffers, so the 40 s encoder is not run.
//
// Tolerances (golden README): low_res_logits and logits max abs error ≤ 2e-3.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelKeys } from '../src/model/keys.js';
import { promptTokensOf, type FrameInfo, type PromptSet } from '../src/model/prompts.js';
import { syntheticWeights } from '../src/model/keys.js';
import { ImageEmbedding, SamUnet, type DecodeResult } from '../src/model/sam_unet.js';
import type { Variant } from '../src/model/weights.js';
import { syntheticValues } from '../src/weights/synthetic.js';
import {
  applyBoxes, applyCoords, cachedWeights, decoderRef, densePeRef, getPreprocessShape, promptEncoderRef, type DecoderRefResult, type WeightFn,
} from './helpers/decoder-ref.js';
import { readGoldenTensor } from './helpers/golden-raw.js';
import { maxAbsDiff, rand, testGpu } from './helpers/gpu.js';
import { describeShared, goldenCases, goldenPath, itShared } from './helpers/shared.js';

const TOL = 2e-3;

/** Synthetic weights of `variant` as the reference reads them (shapes from modelKeys). */
function refWeights(variant: Variant): WeightFn {
  const shapes = new Map(modelKeys(variant).map((k) => [k.key, k.shape]));
  return cachedWeights((key) => {
    const shape = shapes.get(key);
    if (!shape) throw new Error(`no key ${key} in ${variant}`);
    return syntheticValues(key, shape);
  });
}

/** The frame of a W×H image, from upstream's get_preprocess_shape. */
function frameOf(width: number, height: number): FrameInfo {
  const [inputH, inputW] = getPreprocessShape(height, width);
  return { width, height, inputW, inputH };
}

/** Standard normal values (Box–Muller over the seeded uniform generator). */
function gauss(n: number, seed: number, std = 1): Float32Array {
  const u = rand(2 * n, seed, 0, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = std * Math.sqrt(-2 * Math.log(1 - u[2 * i]!)) * Math.cos(2 * Math.PI * u[2 * i + 1]!);
  return out;
}

/** A mask prompt like an earlier run's output: about +4 inside an ellipse, −4 outside, with noise. */
function maskPrompt(cx: number, cy: number, rx: number, ry: number, seed: number): Float32Array {
  const noise = rand(64 * 64, seed, -0.5, 0.5);
  const m = new Float32Array(64 * 64);
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      const r = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2;
      m[y * 64 + x] = (r < 1 ? 4 : -4) + noise[y * 64 + x]!;
    }
  }
  return m;
}

interface CaseError {
  name: string;
  low: number;
  logits: number;
  logitsMax: number;
}
const report: CaseError[] = [];
const batchReport: string[] = [];

function compareToRef(name: string, out: DecodeResult, ref: DecoderRefResult): void {
  const n = ref.lowRes.length;
  expect(out.lowResLogits.length, `${name}: sets`).toBe(n);
  let low = 0;
  let logits = 0;
  let logitsMax = 0;
  let where = '';
  for (let i = 0; i < n; i++) {
    expect(out.lowResLogits[i]!.length, `${name}[${i}] low_res_logits size`).toBe(64 * 64);
    expect(out.logits[i]!.length, `${name}[${i}] logits size`).toBe(out.width * out.height);
    const a = maxAbsDiff(out.lowResLogits[i]!, ref.lowRes64[i]!);
    const b = maxAbsDiff(out.logits[i]!, ref.logits64[i]!);
    if (a.maxAbs > low) {
      low = a.maxAbs;
      if (a.maxAbs > TOL) where += ` low[${i}]@${a.worstIndex} ours ${out.lowResLogits[i]![a.worstIndex]} ref ${ref.lowRes64[i]![a.worstIndex]};`;
    }
    if (b.maxAbs > logits) {
      logits = b.maxAbs;
      if (b.maxAbs > TOL) where += ` logits[${i}]@${b.worstIndex} ours ${out.logits[i]![b.worstIndex]} ref ${ref.logits64[i]![b.worstIndex]};`;
    }
    for (const v of ref.logits64[i]!) logitsMax = Math.max(logitsMax, Math.abs(v));
  }
  report.push({ name, low, logits, logitsMax });
  console.log(`[decoder-ref] ${name}: max |ours − ref| low_res_logits ${low.toExponential(2)}, logits ${logits.toExponential(2)} (max|ref logits| ${logitsMax.toFixed(3)})`);
  if (!(low <= TOL) || !(logits <= TOL)) throw new Error(`${name}: error above ${TOL}:${where}`);
  // Masks are logits > 0: they must agree wherever the reference is clearly away from 0.
  for (let i = 0; i < n; i++) {
    let disagree = 0;
    for (let k = 0; k < out.masks[i]!.length; k++) if (Math.abs(ref.logits64[i]![k]!) > 1e-2 && (ref.logits64[i]![k]! > 0 ? 1 : 0) !== out.masks[i]![k]) disagree++;
    expect(disagree, `${name}[${i}]: mask pixels that disagree where |ref| > 1e-2`).toBe(0);
  }
}

/** Batched and one-by-one decodes must agree (they run different plans: n = batch vs n = 1). */
function compareOutputs(name: string, batched: DecodeResult, single: DecodeResult[]): void {
  let worst = 0;
  single.forEach((s, i) => {
    worst = Math.max(worst, maxAbsDiff(batched.lowResLogits[i]!, s.lowResLogits[0]!).maxAbs, maxAbsDiff(batched.logits[i]!, s.logits[0]!).maxAbs);
  });
  const line = `${name}: batched vs one by one, max |diff| ${worst === 0 ? '0 (bit-identical)' : worst.toExponential(2)}`;
  batchReport.push(line);
  console.log(`[decoder-ref] ${line}`);
  expect(worst, `${name}: batched vs separate`).toBeLessThanOrEqual(1e-6);
}

afterAll(() => {
  if (report.length === 0) return;
  console.log(
    '[decoder-ref] worst error per case (limit 2e-3):\n' +
      report.map((r) => `  ${r.name.padEnd(44)} low_res ${r.low.toExponential(2)}  logits ${r.logits.toExponential(2)}  (max|ref| ${r.logitsMax.toFixed(3)})`).join('\n') +
      (batchReport.length ? '\n' + batchReport.map((l) => `  ${l}`).join('\n') : ''),
  );
});

// ---- The reference itself against the PyTorch golden fixtures (CPU only) ----

describeShared('decoder reference vs the golden fixtures', () => {
  const cases = goldenCases();
  for (const c of cases) {
    const name = c.name;
    itShared(`${name}: decoderRef reproduces PyTorch`, () => {
      const file = join(goldenPath, `${name}.safetensors`);
      const t = (n: string) => readGoldenTensor(file, n).data as Float32Array;
      const W = refWeights(c.variant);
      const [H, Wd] = c.original_size;
      const frame = frameOf(Wd, H);
      expect([frame.inputH, frame.inputW]).toEqual(c.input_size);
      // apply_coords / apply_boxes against the model-frame prompts the fixture recorded.
      if (c.points) {
        const mf = applyCoords(c.points.map((p) => [p[0], p[1]]), [H, Wd]);
        mf.forEach((p, i) => p.forEach((v, j) => expect(Math.abs(v - c.points_model_frame![i]![j]!)).toBeLessThan(1e-4)));
      }
      if (c.boxes) {
        const mf = applyBoxes(c.boxes, [H, Wd]);
        mf.forEach((b, i) => b.forEach((v, j) => expect(Math.abs(v - c.boxes_model_frame![i]![j]!)).toBeLessThan(1e-4)));
      }
      const n = c.tensors['low_res_logits']![0]!;
      const masks = c.tensors['input.mask_inputs'] ? t('input.mask_inputs') : null;
      const sets: PromptSet[] = [];
      for (let i = 0; i < n; i++) {
        sets.push({
          box: c.boxes?.[i],
          points: c.points,
          maskInput: masks ? masks.slice(i * 4096, (i + 1) * 4096) : undefined,
        });
      }
      // Stage checks: the dense PE and the sparse tokens.
      const pe = densePeRef(W('prompt_encoder.sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix'));
      const peRef = t('dense_pe'); // [1, 256, 16, 16]
      let dPe = 0;
      for (let tok = 0; tok < 256; tok++) for (let ch = 0; ch < 256; ch++) dPe = Math.max(dPe, Math.abs(pe[tok * 256 + ch]! - peRef[ch * 256 + tok]!));
      expect(dPe, 'dense_pe').toBeLessThan(1e-4);
      const sparseRef = t('prompt.0');
      const T = c.tensors['prompt.0']![1]!;
      sets.forEach((s, i) => {
        const pts = s.points ? { coords: applyCoords(s.points.map((p) => [p[0], p[1]]), [H, Wd]), labels: s.points.map((p) => p[2]) } : null;
        const box = s.box ? applyBoxes([s.box], [H, Wd])[0]! : null;
        const enc = promptEncoderRef(W, pts, box, s.maskInput ?? null);
        expect(enc.T).toBe(T);
        expect(maxAbsDiff(enc.sparse, sparseRef.subarray(i * T * 256, (i + 1) * T * 256)).maxAbs, 'prompt.0').toBeLessThan(1e-4);
        if (masks) expect(maxAbsDiff(enc.dense, t('prompt.1').subarray(i * 65536, (i + 1) * 65536)).maxAbs, 'prompt.1').toBeLessThan(1e-4);
      });
      const ref = decoderRef(W, t('image_embeddings'), t('multi_scale_feature'), sets, frame);
      const lowG = t('low_res_logits');
      const logG = t('logits');
      const hw = H * Wd;
      let low = 0;
      let lg = 0;
      for (let i = 0; i < n; i++) {
        low = Math.max(low, maxAbsDiff(ref.lowRes64[i]!, lowG.subarray(i * 4096, (i + 1) * 4096)).maxAbs);
        lg = Math.max(lg, maxAbsDiff(ref.logits64[i]!, logG.subarray(i * hw, (i + 1) * hw)).maxAbs);
      }
      console.log(`[decoder-ref] reference vs PyTorch ${name}: dense_pe ${dPe.toExponential(2)}, low_res_logits ${low.toExponential(2)}, logits ${lg.toExponential(2)}`);
      // PyTorch ran in float32; the reference is float64. Far tighter than the GPU tolerance.
      expect(low).toBeLessThan(2e-5);
      expect(lg).toBeLessThan(2e-5);
    });
  }
});

// ---- The GPU decoder against the reference on new cases ----

describe('GPU decoder vs float64 reference on cases outside the fixtures', () => {
  const embeddings = gauss(256 * 16 * 16, 11);
  const msf = gauss(32 * 64 * 64, 12);

  async function embed(model: SamUnet, frame: FrameInfo): Promise<ImageEmbedding> {
    // The frame the library computes for an image of this size equals upstream's.
    const prepared = SamUnet.prepare({ width: frame.width, height: frame.height, data: new Uint8Array(frame.width * frame.height * 3) });
    expect(prepared.frame).toEqual(frame);
    const device = model.gpu.device;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const e = device.createBuffer({ size: embeddings.byteLength, usage, label: 'test.image_embeddings' });
    const m = device.createBuffer({ size: msf.byteLength, usage, label: 'test.multi_scale_feature' });
    device.queue.writeBuffer(e, 0, embeddings as Float32Array<ArrayBuffer>);
    device.queue.writeBuffer(m, 0, msf as Float32Array<ArrayBuffer>);
    return new ImageEmbedding(frame, e, m, model);
  }

  /** The library's coordinate transform (promptTokensOf) against upstream's apply_coords / apply_boxes. */
  function checkTokens(name: string, sets: readonly PromptSet[], frame: FrameInfo): void {
    const size: [number, number] = [frame.height, frame.width];
    sets.forEach((s, i) => {
      const want: number[][] = [];
      if (s.points?.length) applyCoords(s.points.map((p) => [p[0], p[1]]), size).forEach((c, j) => want.push([c[0]!, c[1]!, s.points![j]![2]]));
      if (s.box) {
        const b = applyBoxes([s.box], size)[0]!;
        want.push([b[0]!, b[1]!, 2], [b[2]!, b[3]!, 3]);
      } else {
        want.push([0, 0, -1]);
      }
      const got = promptTokensOf(s, frame);
      expect(got.length, `${name}[${i}] token count`).toBe(want.length);
      got.forEach((tok, j) => tok.forEach((v, k) => expect(Math.abs(v - want[j]![k]!), `${name}[${i}] token ${j}.${k}`).toBeLessThan(1e-9)));
    });
  }

  async function check(model: SamUnet, W: WeightFn, name: string, frame: FrameInfo, sets: PromptSet[], emb?: ImageEmbedding): Promise<DecodeResult> {
    checkTokens(name, sets, frame);
    const e = emb ?? (await embed(model, frame));
    try {
      const out = await model.decode(e, sets);
      expect(out.n).toBe(sets.length);
      expect([out.width, out.height]).toEqual([frame.width, frame.height]);
      const ref = decoderRef(W, embeddings, msf, sets, frame);
      compareToRef(name, out, ref);
      return out;
    } finally {
      if (!emb) e.destroy();
    }
  }

  it('res50: boxes, points, mask prompts, odd frames, mixed batches', async () => {
    const W = refWeights('res50');
    const model = await SamUnet.load(await testGpu(), syntheticWeights('res50'));
    try {
      // Wide 300×120 (model frame 256×102): three boxes of different sizes, one batch of N = 3.
      const wide = frameOf(300, 120);
      const boxes: PromptSet[] = [{ box: [12, 9, 287, 111] }, { box: [118.5, 37.25, 181, 83] }, { box: [201, 90, 209, 97] }];
      const embWide = await embed(model, wide);
      const batched = await check(model, W, 'res50 300x120 3 boxes (N=3)', wide, boxes, embWide);
      const single: DecodeResult[] = [];
      for (const s of boxes) single.push(await model.decode(embWide, [s]));
      compareOutputs('res50 300x120 3 boxes', batched, single);
      // A box partly outside the image (used as given, as upstream does), on both sides.
      await check(model, W, 'res50 300x120 boxes partly outside', wide, [{ box: [-40, -25, 70, 55] }, { box: [240, 60, 345.5, 170] }], embWide);
      embWide.destroy();

      // Tall, odd 97×211 (model frame 118×256): two sets of four mixed points, no box (pad point).
      const tall = frameOf(97, 211);
      const embTall = await embed(model, tall);
      await check(model, W, 'res50 97x211 2x4 points (no box)', tall, [
        { points: [[10, 20, 1], [50.5, 100, 0], [96, 210, 1], [0, 0, 0]] },
        { points: [[48, 105, 1], [30, 60, 1], [70, 150, 0], [5.25, 199.75, 0]] },
      ], embTall);

      // Mixed structures in one call (the API groups them by token count and mask prompt):
      // box only (T 2), 2 points (T 3), box + 1 point (T 3), 1 point + mask (T 2 + mask), box only.
      const mixed: PromptSet[] = [
        { box: [20, 40, 80, 170] },
        { points: [[40, 90, 1], [60, 30, 0]] },
        { box: [5, 100, 60, 200], points: [[30, 150, 1]] },
        { points: [[45, 120, 1]], maskInput: maskPrompt(20, 38, 12, 20, 5) },
        { box: [60, 10, 95, 50] },
      ];
      const mixedOut = await check(model, W, 'res50 97x211 mixed structures (5 sets, 3 groups)', tall, mixed, embTall);
      const mixedSingle: DecodeResult[] = [];
      for (const s of mixed) mixedSingle.push(await model.decode(embTall, s));
      compareOutputs('res50 97x211 mixed structures', mixedOut, mixedSingle);
      embTall.destroy();

      // 256×256 (no resize): box + 2 points + mask prompt, two sets in one batch.
      await check(model, W, 'res50 256x256 box+2 points+mask (N=2)', frameOf(256, 256), [
        { box: [60, 70, 190, 200], points: [[120, 130, 1], [70, 190, 0]], maskInput: maskPrompt(31, 33, 16, 16, 3) },
        { box: [10, 10, 100, 60], points: [[50, 30, 1], [95, 55, 0]], maskInput: maskPrompt(14, 9, 12, 7, 4) },
      ]);

      // Large 1000×700 (model frame 256×179): a single point.
      await check(model, W, 'res50 1000x700 single point', frameOf(1000, 700), [{ points: [[612.5, 301, 1]] }]);
    } finally {
      model.destroy();
    }
  });

  it('res34: its own weight load, box + points + mask and a point-only set', async () => {
    const W = refWeights('res34');
    const model = await SamUnet.load(await testGpu(), syntheticWeights('res34'));
    try {
      // 640×481 (model frame 256×192): a mask-prompted set and a plain one in separate groups.
      await check(model, W, 'res34 640x481 box+3 points+mask, 1 point', frameOf(640, 481), [
        { box: [100, 80, 400, 300], points: [[250, 190, 1], [120, 280, 0], [390, 90, 0]], maskInput: maskPrompt(30, 28, 18, 14, 9) },
        { points: [[320, 240, 1]] },
      ]);
    } finally {
      model.destroy();
    }
  });
});
