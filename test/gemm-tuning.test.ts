// The tiled (real-GPU) kernels' tuning, forced both ways whatever the adapter (PlanOptions.tuning):
// split-K GEMMs (matmul_splitk*.wgsl: K in chunks on more workgroups, then a reduce with the
// epilogue) and subgroup reductions (the `_sg` variants of layernorm, attention, attention_relpos,
// attention_block). Each against float64 references on awkward shapes (the GEMM tests' and the
// kernels' own tolerances); then the whole model on the tiled kernels with both on, against a golden
// case. Also the defaults: split-K off on software adapters, subgroups where the device has them.
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { Gpu } from '../src/gpu/device.js';
import { Plan, PlanError } from '../src/gpu/plan.js';
import type { KernelTuning } from '../src/gpu/kernels.js';
import { attention } from '../src/ops/attention.js';
import { attentionRelPos } from '../src/ops/attention_relpos.js';
import { layerNorm } from '../src/ops/layernorm.js';
import { gemm, linear, splitKFactor } from '../src/ops/matmul.js';
import { syntheticWeights } from '../src/model/keys.js';
import { SamUnet } from '../src/model/sam_unet.js';
import { fileSource } from '../src/safetensors/node.js';
import { SafetensorsFile } from '../src/safetensors/read.js';
import { toF16Words } from '../src/weights/dtype.js';
import { expectClose, maxAbsDiff, rand, testGpu } from './helpers/gpu.js';
import { describeShared, goldenCases, goldenPath, itShared } from './helpers/shared.js';
import { unpackWords } from './helpers/linear.js';
import { layerNormRef, linearRef, matmulRef, mhaRef, rmsRef, samQkvRef, samRelPosAttnRef } from './helpers/reference.js';

const TILED = { gemm: 'tiled', attention: 'tiled', norm: 'tiled', layout: 'tiled' } as const;
const gemmClose = (got: Float32Array, ref: Float64Array, what: string) => expectClose(got, ref, 1e-5 * rmsRef(ref), 1e-4, what);

const recordOnly = (isSoftware: boolean, features: string[] = []) =>
  ({ device: { features: new Set(features) } as unknown as GPUDevice, info: { name: 'record-only', runtime: 'node', vendor: '', architecture: '', description: '', isSoftware, features } }) as unknown as Gpu;

describe('defaults', () => {
  it('split-K on real GPUs only; subgroups where the device has them; asking for subgroups without them is a PlanError', () => {
    expect(new Plan(recordOnly(true, ['subgroups'])).tuning).toEqual({ splitK: false, subgroups: true });
    expect(new Plan(recordOnly(false)).tuning).toEqual({ splitK: true, subgroups: false });
    expect(new Plan(recordOnly(false), 'x', { tuning: { splitK: false } }).tuning.splitK).toBe(false);
    expect(() => new Plan(recordOnly(false), 'x', { tuning: { subgroups: true } })).toThrow(PlanError);
    // The ViT's M = 256 GEMMs: proj and lin2 (96 tiles of 32×64) split in 3; qkv (288) and lin1 (384) not.
    expect([splitKFactor(256, 768, 768), splitKFactor(256, 768, 3072), splitKFactor(256, 2304, 768), splitKFactor(256, 3072, 768)]).toEqual([3, 3, 1, 1]);
    expect(splitKFactor(7, 5, 200)).toBe(1); // too little K to split
  });
});

describe.each([true, false])('split-K %s (tiled GEMM)', (splitK) => {
  it('linear and batched GEMMs with few tiles: every epilogue, odd K, f16 weights', async () => {
    const gpu = await testGpu();
    const p = new Plan(gpu, 'split-K', { kernels: TILED, tuning: { splitK } });
    const spy = vi.spyOn(p, 'dispatch');
    const data: Record<string, Float32Array> = {};
    const cases = [
      { M: 7, K: 1000, N: 5, act: 'gelu', res: true },
      { M: 33, K: 777, N: 130, act: 'relu', res: false },
      { M: 256, K: 768, N: 768, act: 'none', res: true }, // the ViT's proj
    ] as const;
    const owned: GPUBuffer[] = [];
    const weights: Float32Array[] = [];
    cases.forEach((c, i) => {
      data[`x${i}`] = rand(c.M * c.K, 1 + i);
      data[`b${i}`] = rand(c.N, 10 + i);
      if (c.res) data[`r${i}`] = rand(c.M * c.N, 20 + i);
      let w;
      if (i === 1) {
        // An f16 weight of f32 activations (precision 'f16': matmul_splitk_f16w).
        const packed = toF16Words('w', rand(c.N * c.K, 30 + i, -0.05, 0.05));
        weights.push(unpackWords(packed, c.N * c.K));
        const buffer = p.device.createBuffer({ size: Math.ceil(packed.byteLength / 16) * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
        p.device.queue.writeBuffer(buffer, 0, packed);
        owned.push(buffer);
        w = p.external(buffer, [c.N, c.K], 'w16', 'f16');
      } else {
        data[`w${i}`] = rand(c.N * c.K, 30 + i);
        weights.push(data[`w${i}`]!);
        w = p.input(`w${i}`, [c.N, c.K]);
      }
      const y = linear(p, p.input(`x${i}`, [c.M, c.K]), w, p.input(`b${i}`, [c.N]), { act: c.act, residual: c.res ? p.input(`r${i}`, [c.M, c.N]) : undefined });
      p.output(`y${i}`, y);
    });
    // A batched GEMM, A shared by the batch (sA 0), B per batch, transB false.
    data.a = rand(17 * 600, 41);
    data.bb = rand(3 * 600 * 40, 42);
    const out3 = p.temp([3, 17, 40], 'batched');
    gemm(p, { a: p.input('a', [17, 600]), b: p.input('bb', [3, 600, 40]), bias: null, residual: null, out: out3, batch: 3, M: 17, N: 40, K: 600, sA: 0, sB: 600 * 40, transB: false, act: 'none', label: 'batched' });
    p.output('batched', out3);
    const shaders = spy.mock.calls.map(([d]) => d.shader);
    spy.mockRestore();
    const splits = shaders.filter((s) => s.startsWith('matmul_splitk') && !s.includes('reduce')).length;
    expect(splits).toBe(splitK ? 4 : 0);
    if (splitK) expect(shaders).toContain('matmul_splitk_f16w');
    await p.build();
    try {
      const o = await p.run(data);
      cases.forEach((c, i) => {
        const ref = linearRef(data[`x${i}`]!, weights[i]!, data[`b${i}`]!, c.M, c.N, c.K, c.act, c.res ? data[`r${i}`]! : null);
        gemmClose(o[`y${i}`]!, ref, `linear [${c.M}, ${c.K}] -> ${c.N} split-K ${splitK}`);
      });
      gemmClose(o.batched!, matmulRef(data.a, data.bb, 3, 17, 40, 600, false, 0, 600 * 40), `batched GEMM split-K ${splitK}`);
    } finally {
      p.destroy();
      for (const b of owned) b.destroy();
    }
  });
});

describe.each([true, false])('subgroups %s (tiled reductions)', (subgroups) => {
  it('layerNorm (TPR 32 and 256), attention (KS 1 … 64), attentionRelPos', async () => {
    const gpu = await testGpu();
    if (subgroups && !gpu.device.features.has('subgroups')) return; // the adapter lacks them: nothing to force
    const tuning: Partial<KernelTuning> = { subgroups };
    const p = new Plan(gpu, 'subgroups', { kernels: TILED, tuning });
    const spy = vi.spyOn(p, 'dispatch');
    const data: Record<string, Float32Array> = {};
    const refs: Record<string, Float64Array> = {};
    const tol: Record<string, [number, number]> = {};
    for (const [i, [rows, C]] of [[7, 13], [5, 768], [3, 1000]].entries()) {
      data[`x${i}`] = rand(rows! * C!, 50 + i, -2, 4);
      data[`g${i}`] = rand(C!, 60 + i, 0.5, 1.5);
      data[`b${i}`] = rand(C!, 70 + i);
      p.output(`ln${i}`, layerNorm(p, p.input(`x${i}`, [rows!, C!]), p.input(`g${i}`, [C!]), p.input(`b${i}`, [C!]), 1e-6));
      refs[`ln${i}`] = layerNormRef(data[`x${i}`]!, data[`g${i}`]!, data[`b${i}`]!, C!, 1e-6);
      tol[`ln${i}`] = [1e-5, 1e-4];
    }
    for (const [i, [Tq, Tk, H, d]] of [[1, 256, 8, 16], [70, 33, 3, 8], [256, 7, 8, 16], [5, 200, 4, 24]].entries()) {
      const C = H! * d!;
      data[`q${i}`] = rand(2 * Tq! * C, 80 + i, -3, 3);
      data[`k${i}`] = rand(2 * Tk! * C, 90 + i, -1.5, 1.5);
      data[`v${i}`] = rand(2 * Tk! * C, 100 + i, -2, 2);
      p.output(`att${i}`, attention(p, p.input(`q${i}`, [2, Tq!, C]), p.input(`k${i}`, [2, Tk!, C]), p.input(`v${i}`, [2, Tk!, C]), { heads: H! }));
      refs[`att${i}`] = mhaRef(data[`q${i}`]!, data[`k${i}`]!, data[`v${i}`]!, [2, Tq!, Tk!, C], H!);
      tol[`att${i}`] = [2e-5, 1e-4];
    }
    const [S, ws, H, d] = [9, 4, 2, 24];
    const C = H * d;
    const x = rand(S * S * C, 110);
    const wq = rand(3 * C * C, 114, -0.2, 0.2);
    data.qb = rand(3 * C, 111);
    data.qkv = Float32Array.from(samQkvRef(x, S * S, C, wq, data.qb));
    data.rh = rand((2 * ws - 1) * d, 112);
    data.rw = rand((2 * ws - 1) * d, 113);
    p.output('relpos', attentionRelPos(p, p.input('qkv', [1, S * S, 3 * C]), p.input('qb', [3 * C]), p.input('rh', [2 * ws - 1, d]), p.input('rw', [2 * ws - 1, d]), { heads: H, size: S, window: ws }));
    refs.relpos = samRelPosAttnRef(x, wq, data.qb, data.rh, data.rw, { B: 1, S, C, heads: H, ws });
    tol.relpos = [2e-5, 1e-4];
    const shaders = spy.mock.calls.map(([c]) => c.shader);
    spy.mockRestore();
    expect(shaders.filter((s) => s.endsWith('_sg')).length).toBe(subgroups ? shaders.length : 0);
    await p.build();
    try {
      const o = await p.run(data);
      for (const [name, ref] of Object.entries(refs)) expectClose(o[name]!, ref, tol[name]![0], tol[name]![1], `${name} subgroups ${subgroups}`);
    } finally {
      p.destroy();
    }
  });
});

describeShared('the whole model on the tiled kernels, split-K and subgroups on', () => {
  const c = goldenCases().find((x) => x.variant === 'res34')!;
  itShared(`${c.name}: image embeddings and low_res_logits within the golden bounds`, async () => {
    const gpu = await testGpu();
    const tuning = { splitK: true, subgroups: gpu.device.features.has('subgroups') };
    const m = await SamUnet.load(gpu, syntheticWeights(c.variant), { kernels: TILED, tuning });
    const f = await SafetensorsFile.open(await fileSource(join(goldenPath, `${c.name}.safetensors`)));
    try {
      const enc = await m.encoderPlan();
      expect(enc.tuning).toEqual(tuning);
      const [H, W] = c.original_size;
      const [h, w] = c.input_size;
      const n = c.tensors['low_res_logits']![0]!;
      const masks = c.tensors['input.mask_inputs'] ? await f.readF32('input.mask_inputs') : null;
      const emb = await m.encodeInput(await f.readF32('input.image'), { width: W, height: H, inputW: w, inputH: h });
      const out = await m.decode(emb, Array.from({ length: n }, (_, i) => ({
        box: c.boxes?.[i], points: c.points, maskInput: masks ? masks.slice(i * 4096, (i + 1) * 4096) : undefined,
      })));
      const embOut = await m.exportEmbedding(emb);
      emb.destroy();
      const refEmb = await f.readF32('image_embeddings');
      let refMax = 0;
      for (const v of refEmb) refMax = Math.max(refMax, Math.abs(v));
      const e = maxAbsDiff(embOut.embeddings, refEmb).maxAbs;
      const refLow = await f.readF32('low_res_logits');
      let low = 0;
      out.lowResLogits.forEach((l, i) => (low = Math.max(low, maxAbsDiff(l, refLow.subarray(i * 4096, (i + 1) * 4096)).maxAbs)));
      console.log(`[tiled + split-K + subgroups] ${c.name}: image_embeddings ${e.toExponential(2)}, low_res_logits ${low.toExponential(2)}`);
      expect(e).toBeLessThanOrEqual(1e-3 * Math.max(1, refMax));
      expect(low).toBeLessThanOrEqual(2e-3);
    } finally {
      m.destroy();
    }
  }, 600_000);
});
