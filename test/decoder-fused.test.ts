// The fused kernels of the mask decoder (and the encoder's permute + add) against float64 CPU
// references on awkward shapes: the GEMM's PE prologue (stacked projections), attentionBlock (MHA +
// out_proj + residual + LayerNorm, q projected inside or taken from a stacked projection, keys and
// residual shared by every set), mlpBlock (MLP + residual + LayerNorm), hyperHead (3-layer MLP +
// the mask head's per-set weight), postprocessMasks (two bilinear resizes and a crop in one),
// convTranspose2x2 on channels-last input, and permuteAdd. GEMM-like results: |gpu − ref| ≤
// 1e-5·rms(ref) + 1e-4·|ref| (the GEMM tests' bound), normalised ones 2e-5 + 1e-4·|ref|.
import { describe, expect, it, vi } from 'vitest';
import type { Plan } from '../src/gpu/plan.js';
import type { Tensor } from '../src/gpu/tensor.js';
import { attentionBlock, attentionPack, attentionPackSize } from '../src/ops/attention_block.js';
import { convTranspose2x2, convTranspose2x2Kernel } from '../src/ops/conv_transpose.js';
import { hyperHead, hyperPack } from '../src/ops/hyper_head.js';
import { permuteAdd } from '../src/ops/layout.js';
import { gemmKernel, linear } from '../src/ops/matmul.js';
import { mlpBlock, mlpPack } from '../src/ops/mlp_block.js';
import { postprocessMasks, resizeBilinear } from '../src/ops/resize.js';
import { describeKernelPaths, expectClose, newPlan, rand, type KernelChoice } from './helpers/gpu.js';
import { convTranspose2x2Ref, layerNormRef, linearRef, matmulRef, mhaRef, permuteRef, resizeBilinearRef, rmsRef } from './helpers/reference.js';

const gemmClose = (got: Float32Array, ref: Float64Array, what: string) => expectClose(got, ref, 1e-5 * rmsRef(ref), 1e-4, what);
const normClose = (got: Float32Array, ref: Float64Array, what: string) => expectClose(got, ref, 2e-5, 1e-4, what);

/** A plan with its inputs made from seeded data; `run` builds, runs and returns the outputs. */
async function planWith(label: string, kernels: KernelChoice = {}) {
  const p = await newPlan(label, { kernels });
  const data: Record<string, Float32Array> = {};
  let seed = 7;
  const input = (name: string, shape: number[], lo = -1, hi = 1): Tensor => {
    data[name] = rand(shape.reduce((a, b) => a * b, 1), seed++, lo, hi);
    return p.input(name, shape);
  };
  const run = async () => {
    await p.build();
    try {
      return await p.run(data);
    } finally {
      p.destroy();
    }
  };
  return { p, data, input, run };
}

/** Rows of `x` plus rows of `a2` (row m takes a2's row m % its rows; the same row length). */
function plusRows(x: Float32Array, a2: Float32Array): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i]! + a2[i % a2.length]!;
  return y;
}

describeKernelPaths('gemm', (path, kernels) => {
  it('linear with a PE added to its input for the first columns (stacked projections)', async () => {
    const { p, data, input, run } = await planWith('plus', kernels);
    const cases = [
      { M: 7, K: 20, N: 130, rows: 7, cols: 64 },
      { M: 10, K: 12, N: 70, rows: 5, cols: 70 }, // rows repeating twice, every column
      { M: 9, K: 32, N: 192, rows: 3, cols: 128 },
    ];
    cases.forEach((c, i) => {
      expect(gemmKernel(p, c.M, c.N, c.K, true)).toBe(path);
      const y = linear(p, input(`x${i}`, [c.M, c.K]), input(`w${i}`, [c.N, c.K]), input(`b${i}`, [c.N]), { plus: { t: input(`a${i}`, [c.rows, c.K]), cols: c.cols } });
      p.output(`y${i}`, y);
    });
    const out = await run();
    cases.forEach((c, i) => {
      const withPe = linearRef(plusRows(data[`x${i}`]!, data[`a${i}`]!), data[`w${i}`]!, data[`b${i}`]!, c.M, c.N, c.K);
      const without = linearRef(data[`x${i}`]!, data[`w${i}`]!, data[`b${i}`]!, c.M, c.N, c.K);
      const ref = withPe.map((v, k) => (k % c.N < c.cols ? v : without[k]!));
      gemmClose(out[`y${i}`]!, ref, `linear [${c.M}, ${c.K}] -> ${c.N}, PE rows ${c.rows} on columns < ${c.cols} (${path})`);
    });
  });

  it('convTranspose2x2 on channels-last input (C % 4 == 0 on the CPU GEMM; C = 7 takes the tiled kernel)', async () => {
    const { p, data, input, run } = await planWith('convT nhwc', kernels);
    const cases = [{ N: 2, H: 4, W: 6, C: 8, O: 5 }, { N: 1, H: 3, W: 5, C: 7, O: 3 }, { N: 2, H: 16, W: 16, C: 64, O: 32 }];
    cases.forEach((c, i) => {
      if (path === 'cpu') expect(convTranspose2x2Kernel(p, c.H, c.W, c.C)).toBe(c.C % 4 === 0 ? 'cpu' : 'tiled');
      p.output(`y${i}`, convTranspose2x2(p, input(`x${i}`, [c.N, c.H, c.W, c.C]), input(`w${i}`, [c.C, c.O, 2, 2]), input(`b${i}`, [c.O]), { act: 'gelu', layout: 'nhwc' }));
    });
    const out = await run();
    cases.forEach((c, i) => {
      const nchw = permuteRef(data[`x${i}`]!, [c.N, c.H, c.W, c.C], [0, 3, 1, 2]);
      gemmClose(out[`y${i}`]!, convTranspose2x2Ref(nchw, data[`w${i}`]!, data[`b${i}`]!, [c.N, c.C, c.H, c.W], c.O, 'gelu'), `convT nhwc ${JSON.stringify(c)} (${path})`);
    });
  });
});

describeKernelPaths('layout', (path, kernels) => {
  it('permuteAdd: NCHW -> NHWC plus a same-shape or repeating addend in one dispatch; a gather + add otherwise', async () => {
    const { p, data, input, run } = await planWith('permute add', kernels);
    const spy = vi.spyOn(p, 'dispatch');
    p.output('a', permuteAdd(p, input('x0', [1, 37, 5, 7]), [0, 2, 3, 1], input('b0', [1, 5, 7, 37])));
    p.output('b', permuteAdd(p, input('x1', [3, 33, 40]), [0, 2, 1], input('b1', [33])));
    p.output('c', permuteAdd(p, input('x2', [3, 33, 40]), [0, 2, 1], input('b2', [40, 33])));
    const fused = spy.mock.calls.length;
    p.output('d', permuteAdd(p, input('x3', [3, 4, 5]), [1, 0, 2], input('b3', [5])));
    expect([fused, spy.mock.calls.length]).toEqual([3, 5]);
    spy.mockRestore();
    const out = await run();
    // The sums in f32, as the kernel makes them: exact equality.
    const ref = (x: string, shape: number[], perm: number[], b: string) => Float32Array.from(permuteRef(data[x]!, shape, perm), (v, i) => v + data[b]![i % data[b]!.length]!);
    expectClose(out.a!, ref('x0', [1, 37, 5, 7], [0, 2, 3, 1], 'b0'), 0, 0, `NCHW -> NHWC + same shape (${path})`);
    expectClose(out.b!, ref('x1', [3, 33, 40], [0, 2, 1], 'b1'), 0, 0, `transpose + [C] (${path})`);
    expectClose(out.c!, ref('x2', [3, 33, 40], [0, 2, 1], 'b2'), 0, 0, `transpose + one set's worth (${path})`);
    expectClose(out.d!, ref('x3', [3, 4, 5], [1, 0, 2], 'b3'), 0, 0, `gather + add (${path})`);
  });
});

/** The float64 reference of attentionBlock from dense q, k, v [B, ·, Ci]. */
function attnBlockRef(q: Float64Array, k: Float64Array, v: Float64Array, [B, Tq, Tk, Ci, C, H]: number[], wo: Float32Array, bo: Float32Array, res: Float32Array | null, resShared: boolean, g: Float32Array, beta: Float32Array, eps: number): Float64Array {
  const o = mhaRef(q, k, v, [B, Tq, Tk, Ci], H);
  const y = linearRef(o, wo, bo, B * Tq, C, Ci);
  if (res) for (let i = 0; i < y.length; i++) y[i] += res[resShared ? i % (Tq * C) : i]!;
  return layerNormRef(y, g, beta, C, eps);
}

/** Columns off .. off + n of rows [R, W] of x, set b's rows at b·rows (rows 0: shared), as [B, T, n]. */
function columns(x: ArrayLike<number>, B: number, T: number, W: number, off: number, n: number, shared: boolean): Float64Array {
  const y = new Float64Array(B * T * n);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let c = 0; c < n; c++) y[(b * T + t) * n + c] = x[((shared ? 0 : b) * T + t) * W + off + c]!;
  return y;
}

describe('attentionBlock', () => {
  it('q projected inside or taken from a stacked projection; keys, queries and residual per set or shared; odd sizes; no residual', async () => {
    const { p, data, input, run } = await planWith('attention block');
    interface Case { B: number; Tq: number; Tk: number; C: number; Ci: number; H: number; proj: boolean; kvShared: boolean; qShared: boolean; res: 'none' | 'set' | 'shared' }
    const cases: Case[] = [
      { B: 2, Tq: 7, Tk: 33, C: 40, Ci: 24, H: 3, proj: true, kvShared: false, qShared: false, res: 'set' },
      { B: 3, Tq: 5, Tk: 11, C: 36, Ci: 32, H: 8, proj: false, kvShared: true, qShared: false, res: 'shared' },
      { B: 1, Tq: 9, Tk: 2, C: 24, Ci: 20, H: 5, proj: false, kvShared: false, qShared: false, res: 'none' },
      { B: 2, Tq: 70, Tk: 6, C: 64, Ci: 48, H: 8, proj: false, kvShared: false, qShared: true, res: 'shared' },
      { B: 2, Tq: 3, Tk: 256, C: 256, Ci: 128, H: 8, proj: true, kvShared: true, qShared: false, res: 'set' }, // the decoder's token → image
    ];
    const refs: Float64Array[] = [];
    cases.forEach((c, i) => {
      const Wq = 2 * c.Ci + 5; // q / kv rows hold other columns too
      const kv = input(`kv${i}`, [c.kvShared ? 1 : c.B, c.Tk, Wq], -2, 2);
      const parts = {
        wq: c.proj ? rand(c.Ci * c.C, 100 + i, -0.3, 0.3) : undefined, bq: c.proj ? rand(c.Ci, 200 + i) : undefined,
        wo: rand(c.C * c.Ci, 300 + i, -0.3, 0.3), bo: rand(c.C, 400 + i), g: rand(c.C, 500 + i, 0.5, 1.5), beta: rand(c.C, 600 + i),
      };
      const packed = attentionPack(parts, c.C, c.Ci);
      expect(packed.length).toBe(attentionPackSize(c.C, c.Ci, c.proj));
      data[`pack${i}`] = packed;
      const pack = p.input(`pack${i}`, [packed.length]);
      const res = c.res === 'none' ? undefined : input(`res${i}`, [c.res === 'shared' ? 1 : c.B, c.Tq, c.C]);
      let qDense: Float64Array;
      let q: Parameters<typeof attentionBlock>[1]['q'];
      if (c.proj) {
        q = { x: input(`x${i}`, [c.B, c.Tq, c.C]), pe: input(`pe${i}`, [c.B, c.Tq, c.C]) };
        qDense = linearRef(plusRows(data[`x${i}`]!, data[`pe${i}`]!), parts.wq!, parts.bq!, c.B * c.Tq, c.Ci, c.C);
      } else {
        q = { from: input(`q${i}`, [c.qShared ? 1 : c.B, c.Tq, Wq], -2, 2), offset: 3, sets: c.B };
        qDense = columns(data[`q${i}`]!, c.B, c.Tq, Wq, 3, c.Ci, c.qShared);
      }
      p.output(`y${i}`, attentionBlock(p, { heads: c.H, q, kv: { t: kv, k: 5, v: 5 + c.Ci }, residual: res, pack, internal: c.Ci, eps: 1e-5, label: `block${i}` }));
      refs.push(attnBlockRef(qDense, columns(data[`kv${i}`]!, c.B, c.Tk, Wq, 5, c.Ci, c.kvShared), columns(data[`kv${i}`]!, c.B, c.Tk, Wq, 5 + c.Ci, c.Ci, c.kvShared),
        [c.B, c.Tq, c.Tk, c.Ci, c.C, c.H], parts.wo, parts.bo, res ? data[`res${i}`]! : null, c.res === 'shared', parts.g, parts.beta, 1e-5));
    });
    const out = await run();
    cases.forEach((c, i) => normClose(out[`y${i}`]!, refs[i]!, `attentionBlock ${JSON.stringify(c)}`));
  });
});

describe('mlpBlock and hyperHead', () => {
  it('mlpBlock: 7 rows of 40 with 300 hidden (ReLU), 9 × 256 with 2048 (the decoder), 5 × 13 with 5 (no activation)', async () => {
    const { p, data, input, run } = await planWith('mlp block');
    const cases = [{ R: 7, C: 40, Hd: 300, act: 'relu' }, { R: 9, C: 256, Hd: 2048, act: 'relu' }, { R: 5, C: 13, Hd: 5, act: 'none' }] as const;
    const refs = cases.map((c, i) => {
      const w1 = rand(c.Hd * c.C, 10 + i, -0.2, 0.2), b1 = rand(c.Hd, 20 + i), w2 = rand(c.C * c.Hd, 30 + i, -0.1, 0.1), b2 = rand(c.C, 40 + i);
      const g = rand(c.C, 50 + i, 0.5, 1.5), beta = rand(c.C, 60 + i);
      data[`pack${i}`] = mlpPack(w1, b1, w2, b2, g, beta, c.C, c.Hd);
      const x = input(`x${i}`, [c.R, c.C], -2, 2);
      p.output(`y${i}`, mlpBlock(p, x, p.input(`pack${i}`, [data[`pack${i}`]!.length]), c.Hd, 1e-5, { act: c.act }));
      const h = linearRef(data[`x${i}`]!, w1, b1, c.R, c.Hd, c.C, c.act);
      return layerNormRef(linearRef(h, w2, b2, c.R, c.C, c.Hd, 'none', data[`x${i}`]!), g, beta, c.C, 1e-5);
    });
    const out = await run();
    cases.forEach((c, i) => normClose(out[`y${i}`]!, refs[i]!, `mlpBlock ${JSON.stringify(c)}`));
  });

  it('hyperHead: each set\'s row 0 through 3 layers, and h · W3 (N 3, T\' 4, C 36, Dout 20, Kf 45; the decoder\'s sizes)', async () => {
    const { p, data, input, run } = await planWith('hyper head');
    const cases = [{ N: 3, T: 4, C: 36, D: 20, Kf: 45 }, { N: 2, T: 3, C: 256, D: 32, Kf: 576 }];
    const refs = cases.map((c, i) => {
      const layers: [Float32Array, Float32Array][] = [0, 1, 2].map((l) => [rand((l === 2 ? c.D : c.C) * c.C, 70 + 10 * i + l, -0.2, 0.2), rand(l === 2 ? c.D : c.C, 80 + 10 * i + l)]);
      data[`pack${i}`] = hyperPack(layers, c.C, c.D);
      const q = input(`q${i}`, [c.N, c.T, c.C], -2, 2);
      const { h, weff } = hyperHead(p, q, p.input(`pack${i}`, [data[`pack${i}`]!.length]), input(`w3${i}`, [c.D, c.Kf]));
      p.output(`h${i}`, h);
      p.output(`weff${i}`, weff);
      const x = columns(data[`q${i}`]!, c.N, 1, c.T * c.C, 0, c.C, false);
      const a = linearRef(linearRef(x, layers[0]![0], layers[0]![1], c.N, c.C, c.C, 'relu'), layers[1]![0], layers[1]![1], c.N, c.C, c.C, 'relu');
      const hr = linearRef(a, layers[2]![0], layers[2]![1], c.N, c.D, c.C);
      return { h: hr, weff: matmulRef(hr, data[`w3${i}`]!, 1, c.N, c.Kf, c.D, false) };
    });
    const out = await run();
    cases.forEach((c, i) => {
      gemmClose(out[`h${i}`]!, refs[i]!.h, `hyperHead h ${JSON.stringify(c)}`);
      gemmClose(out[`weff${i}`]!, refs[i]!.weff, `hyperHead weff ${JSON.stringify(c)}`);
    });
  });
});

describe('postprocessMasks', () => {
  it('64 -> 256, crop, -> H×W in one pass equals the two resizes (float64 and GPU), up and down, odd crops', async () => {
    const { p, data, input, run } = await planWith('postprocess');
    const cases = [{ crop: [171, 256], out: [455, 683] }, { crop: [256, 97], out: [211, 80] }, { crop: [256, 256], out: [64, 64] }, { crop: [13, 200], out: [5, 77] }];
    const x = input('low', [2, 1, 64, 64], -8, 8);
    cases.forEach(({ crop, out }, i) => {
      p.output(`one${i}`, postprocessMasks(p, x, 256, { h: crop[0]!, w: crop[1]! }, { h: out[0]!, w: out[1]! }));
      p.output(`two${i}`, resizeBilinear(p, resizeBilinear(p, x, 256, 256), out[0]!, out[1]!, { srcH: crop[0]!, srcW: crop[1]! }));
    });
    const out = await run();
    cases.forEach(({ crop, out: o }, i) => {
      const mid = resizeBilinearRef(data.low!, [2, 1, 64, 64], 256, 256);
      const ref = resizeBilinearRef(mid, [2, 1, 256, 256], o[0]!, o[1]!, crop[0]!, crop[1]!);
      expectClose(out[`one${i}`]!, ref, 2e-5, 1e-5, `postprocessMasks crop ${crop} -> ${o}`);
      expectClose(out[`one${i}`]!, out[`two${i}`]!, 1e-6, 1e-6, `one pass vs two GPU resizes, crop ${crop} -> ${o}`);
    });
  });
});

it('attentionBlock and the PE prologue refuse what their kernels cannot do, by name', async () => {
  const p: Plan = await newPlan('fused checks');
  const x = p.input('x', [1, 3, 16]);
  const kv = p.input('kv', [1, 5, 32]);
  let n = 0;
  const pack = (C: number, Ci: number) => p.input(`pack${n++}`, [attentionPackSize(C, Ci, true)]);
  expect(() => attentionBlock(p, { heads: 16, q: { x, pe: x }, kv: { t: kv, k: 0, v: 16 }, pack: pack(16, 16), internal: 16, eps: 1e-5 })).toThrow(/16 channels in 16 heads/);
  expect(() => attentionBlock(p, { heads: 2, q: { x, pe: x }, kv: { t: kv, k: 0, v: 16 }, pack: pack(16, 8), internal: 16, eps: 1e-5 })).toThrow(/weights pack/);
  expect(() => attentionBlock(p, { heads: 2, q: { x, pe: x }, kv: { t: kv, k: 8, v: 20 }, pack: pack(16, 16), internal: 16, eps: 1e-5 })).toThrow(/k \/ v columns exceed/);
  expect(() => linear(p, p.input('a', [6, 12]), p.input('w', [70, 12]), null, { plus: { t: p.input('pe', [4, 12]), cols: 64 } })).toThrow(/not rows of K = 12 repeating over M = 6/);
  expect(() => linear(p, p.input('a2', [6, 12]), p.input('w2', [70, 12]), null, { plus: { t: p.input('pe2', [6, 12]), cols: 32 } })).toThrow(/plus columns 32 are not a multiple of 64/);
  p.destroy();
});
