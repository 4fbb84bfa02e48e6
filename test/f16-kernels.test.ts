// The f16 twins (precision 'f16-compute'; shaders/_storage.wgsl, gpu/storage.ts) against their f32
// kernels. On inputs that float16 represents exactly, a twin reads the same values, runs the same f32
// arithmetic and rounds once when it stores, so every output element must be the f32 kernel's
// rounded to float16: within one f16 ulp, |Δ| ≤ 2^-10·|ref| + 2^-24 (WGSL lets a conversion round
// to either neighbour). The f32 kernels are checked against float64 references in their own tests;
// each family runs on both kernel paths, on awkward shapes. Also: the casts, and the device feature.
import { describe, expect, it, vi } from 'vitest';
import { Plan, PlanError } from '../src/gpu/plan.js';
import type { DType, Tensor } from '../src/gpu/tensor.js';
import { attention } from '../src/ops/attention.js';
import { attentionBlock, attentionPackSize } from '../src/ops/attention_block.js';
import { attentionRelPos } from '../src/ops/attention_relpos.js';
import { hyperHead, hyperPackSize } from '../src/ops/hyper_head.js';
import { mlpBlock, mlpPackSize } from '../src/ops/mlp_block.js';
import { cast } from '../src/ops/cast.js';
import { conv2d } from '../src/ops/conv2d.js';
import { convTranspose2x2 } from '../src/ops/conv_transpose.js';
import { add } from '../src/ops/elementwise.js';
import { layerNorm, layerNorm2d } from '../src/ops/layernorm.js';
import { permute, permuteAdd } from '../src/ops/layout.js';
import { maskProduct } from '../src/ops/mask_head.js';
import { linear, matmul } from '../src/ops/matmul.js';
import { maxPool3x3s2 } from '../src/ops/maxpool.js';
import { narrow } from '../src/ops/narrow.js';
import { densePe, promptTokens } from '../src/ops/prompt_embed.js';
import { postprocessMasks, resizeBilinear } from '../src/ops/resize.js';
import { f16ArrayToF32, f32ArrayToF16 } from '../src/safetensors/half.js';
import { describeKernelPaths, newPlan, rand, testGpuF16, type KernelChoice } from './helpers/gpu.js';

/** `v` rounded to float16 (nearest even), as f32. */
const toHalf = (v: Float32Array): Float32Array => f16ArrayToF32(f32ArrayToF16(v));

/** Every element of `got` within one f16 ulp of `ref`; the failure names the first bad one. */
function expectHalfOf(got: Float32Array, ref: Float32Array, what: string): void {
  expect(got.length, `${what}: length`).toBe(ref.length);
  for (let i = 0; i < ref.length; i++) {
    const tol = 2 ** -10 * Math.abs(ref[i]!) + 2 ** -24;
    if (!(Math.abs(got[i]! - ref[i]!) <= tol)) throw new Error(`${what}: element ${i} is ${got[i]} in f16, ${ref[i]} in f32 (|Δ| ${Math.abs(got[i]! - ref[i]!)} > ${tol})`);
  }
}

interface TwinCase {
  name: string;
  /** Input shapes by name; values uniform in [lo, hi) (default [-1, 1)), rounded to f16. */
  inputs: Record<string, number[]>;
  range?: Record<string, [number, number]>;
  /** Inputs the f16 version reads as f32 too (the prompt points and tables, the multi-scale feature). */
  keepF32?: string[];
  /** Records the op on inputs `t(name)`; `dt` is the activation dtype of this version. */
  record: (p: Plan, t: (name: string) => Tensor, dt: DType) => Tensor;
}

/** Records every case twice (f32 inputs, and the same values cast to f16) in one plan, runs it, compares. */
async function checkTwins(cases: TwinCase[], kernels: KernelChoice = {}): Promise<void> {
  const p = new Plan(await testGpuF16(), 'f16 twins', { kernels });
  const data: Record<string, Float32Array> = {};
  let seed = 1;
  cases.forEach((c, i) => {
    const f32: Record<string, Tensor> = {};
    for (const [name, shape] of Object.entries(c.inputs)) {
      const [lo, hi] = c.range?.[name] ?? [-1, 1];
      data[`${i}.${name}`] = toHalf(rand(shape.reduce((a, b) => a * b, 1), seed++, lo, hi));
      f32[name] = p.input(`${i}.${name}`, shape);
    }
    const y32 = c.record(p, (n) => f32[n]!, 'f32');
    const spy = vi.spyOn(p, 'dispatch');
    const y16 = c.record(p, (n) => (c.keepF32?.includes(n) ? f32[n]! : cast(p, f32[n]!, 'f16')), 'f16');
    const shaders = spy.mock.calls.map(([d]) => d.shader);
    spy.mockRestore();
    expect(shaders.filter((s) => s.includes('_f16')).length, `${c.name}: ${shaders}`).toBeGreaterThan(0);
    expect(y32.dtype).toBe('f32');
    p.output(`${i}.f32`, y32);
    p.output(`${i}.f16`, y16);
  });
  await p.build();
  try {
    const out = await p.run(data);
    cases.forEach((c, i) => expectHalfOf(out[`${i}.f16`]!, out[`${i}.f32`]!, `${c.name} (${JSON.stringify(kernels)})`));
  } finally {
    p.destroy();
  }
}

describe('casts', () => {
  it('pack_half rounds to the nearest f16 (exact on f16 values, ±Inf beyond ±65504), unpack_half is exact; odd counts', async () => {
    const p = new Plan(await testGpuF16(), 'casts');
    const v = rand(1001, 3, -70000, 70000);
    v.set([0, -0, 65504, -65504, 65520, 2 ** -24, 2 ** -25 * 3, 1 + 2 ** -11]);
    const x = p.input('x', [1001]);
    const h = cast(p, x, 'f16');
    expect([h.dtype, h.bytes, cast(p, h, 'f16')]).toEqual(['f16', 2004, h]);
    p.output('back', cast(p, h, 'f32'));
    p.output('half', h); // read back as f32 by Plan.run
    await p.build();
    const out = await p.run({ x: v });
    const ref = toHalf(v);
    for (let i = 0; i < v.length; i++) {
      const r = ref[i]!;
      const tol = Number.isFinite(r) ? 2 ** -10 * Math.abs(r) + 2 ** -24 : 0;
      const got = out.back![i]!;
      if (!Number.isFinite(r)) expect(got, `element ${i}: ${v[i]}`).toBe(r);
      else expect(Math.abs(got - r), `element ${i}: ${v[i]}`).toBeLessThanOrEqual(tol);
    }
    expect([...out.back!.subarray(0, 5)]).toEqual([0, -0, 65504, -65504, Infinity]);
    expect([...out.half!]).toEqual([...out.back!]);
    p.destroy();
  });

  it('an f16 twin on a device without shader-f16 is a PlanError naming the feature', async () => {
    const p = await newPlan('no f16');
    if (p.device.features.has('shader-f16')) return; // the default test device is not given it
    expect(() => cast(p, p.input('x', [4]), 'f16')).toThrow(PlanError);
    expect(() => cast(p, p.input('y', [4]), 'f16')).toThrow(/needs the device feature 'shader-f16'.*requestGpu\(\{ f16: true \}\)/);
  });
});

describeKernelPaths('gemm', (_path, kernels) => {
  it('linear and matmul: odd M, N, K, every epilogue, leading dims', async () => {
    const lin = (lead: number[], K: number, N: number, act: 'none' | 'relu' | 'gelu', res: boolean): TwinCase => ({
      name: `linear [${lead}, ${K}] -> ${N} ${act}${res ? ' +res' : ''}`,
      inputs: { x: [...lead, K], w: [N, K], b: [N], ...(res ? { r: [...lead, N] } : {}) },
      range: { w: [-1 / Math.sqrt(K), 1 / Math.sqrt(K)] },
      record: (p, t) => linear(p, t('x'), t('w'), t('b'), { act, residual: res ? t('r') : undefined }),
    });
    await checkTwins([
      lin([7], 17, 5, 'gelu', true), lin([65], 768, 130, 'relu', true), lin([1], 772, 17, 'none', false),
      lin([2, 3, 7], 36, 70, 'gelu', false), lin([33], 20, 129, 'none', true),
      { name: 'matmul [9, 12] x [12, 21]', inputs: { a: [9, 12], b: [12, 21] }, record: (p, t) => matmul(p, t('a'), t('b')) },
    ], kernels);
  });

  it('conv2d (1×1, 3×3 s2, 7×7 s2 p3 with padded weight rows, 2×2 s2) and convTranspose2x2, batch 2', async () => {
    const conv = (x: number[], O: number, k: number, stride: number, pad: number, res: boolean): TwinCase => {
      const Ho = Math.floor((x[2]! + 2 * pad - k) / stride) + 1;
      const Wo = Math.floor((x[3]! + 2 * pad - k) / stride) + 1;
      return {
        name: `conv2d [${x}] -> ${O} ${k}×${k} s${stride} p${pad}`,
        inputs: { x, w: [O, x[1]!, k, k], b: [O], ...(res ? { r: [x[0]!, O, Ho, Wo] } : {}) },
        range: { w: [-1 / k, 1 / k] },
        record: (p, t) => conv2d(p, t('x'), t('w'), t('b'), { stride, pad, act: res ? 'relu' : 'gelu', residual: res ? t('r') : undefined }),
      };
    };
    const convT = (x: number[], O: number): TwinCase => ({
      name: `convT [${x}] -> ${O}`,
      inputs: { x, w: [x[1]!, O, 2, 2], b: [O] },
      record: (p, t) => convTranspose2x2(p, t('x'), t('w'), t('b'), { act: 'gelu' }),
    });
    await checkTwins([
      conv([2, 8, 6, 6], 12, 1, 1, 0, true), conv([2, 5, 9, 7], 6, 3, 2, 1, false), conv([1, 3, 19, 21], 8, 7, 2, 3, true),
      conv([2, 4, 8, 10], 5, 2, 2, 0, false), convT([2, 8, 4, 6], 5), convT([1, 7, 3, 5], 3),
      {
        name: 'convT channels-last [2, 4, 6, 8] -> 5',
        inputs: { x: [2, 4, 6, 8], w: [8, 5, 2, 2], b: [5] },
        record: (p, t) => convTranspose2x2(p, t('x'), t('w'), t('b'), { act: 'gelu', layout: 'nhwc' }),
      },
      {
        name: 'linear with a PE on its first 64 columns',
        inputs: { x: [10, 12], w: [130, 12], b: [130], pe: [5, 12] },
        record: (p, t) => linear(p, t('x'), t('w'), t('b'), { plus: { t: t('pe'), cols: 64 } }),
      },
    ], kernels);
  });
});

describeKernelPaths('norm', (_path, kernels) => {
  it('layerNorm (C = 12, 13) and layerNorm2d (+ GELU; H·W = 24, 9)', async () => {
    const ln = (rows: number, C: number): TwinCase => ({
      name: `layerNorm [${rows}, ${C}]`,
      inputs: { x: [rows, C], g: [C], b: [C] },
      range: { x: [-3, 5] },
      record: (p, t) => layerNorm(p, t('x'), t('g'), t('b'), 1e-6),
    });
    const ln2d = (x: number[], act: 'none' | 'gelu'): TwinCase => ({
      name: `layerNorm2d [${x}] ${act}`,
      inputs: { x, g: [x[1]!], b: [x[1]!] },
      range: { x: [-2, 4] },
      record: (p, t) => layerNorm2d(p, t('x'), t('g'), t('b'), 1e-6, { act }),
    });
    await checkTwins([ln(7, 12), ln(5, 13), ln2d([2, 7, 6, 4], 'gelu'), ln2d([1, 5, 3, 3], 'none')], kernels);
  });
});

describeKernelPaths('attention', (_path, kernels) => {
  it('attentionRelPos (windowed with padding, global) and attention (with a bias)', async () => {
    const relpos = (S: number, ws: number, H: number, d: number): TwinCase => ({
      name: `attentionRelPos S${S} ws${ws} h${H} d${d}`,
      inputs: { qkv: [2, S * S, 3 * H * d], qb: [3 * H * d], rh: [2 * ws - 1, d], rw: [2 * ws - 1, d] },
      range: { qkv: [-2, 2] },
      record: (p, t) => attentionRelPos(p, t('qkv'), t('qb'), t('rh'), t('rw'), { heads: H, size: S, window: ws }),
    });
    await checkTwins([
      relpos(9, 4, 2, 8), relpos(16, 14, 2, 16), relpos(7, 7, 3, 4),
      {
        name: 'attention B2 Tq7 Tk33 h2 d8 + bias',
        inputs: { q: [2, 7, 16], k: [2, 33, 16], v: [2, 33, 16], bias: [2, 2, 7, 33] },
        range: { q: [-3, 3] },
        record: (p, t) => attention(p, t('q'), t('k'), t('v'), { heads: 2, bias: t('bias') }),
      },
    ], kernels);
  });
});

describeKernelPaths('layout', (_path, kernels) => {
  it('permute (transpose and strided gather), add with repeats, narrow, maxpool, resize with a crop', async () => {
    await checkTwins([
      { name: 'permute NCHW -> NHWC', inputs: { x: [2, 5, 7, 3] }, record: (p, t) => permute(p, t('x'), [0, 2, 3, 1]) },
      { name: 'permute keeping the last dim', inputs: { x: [3, 4, 5, 6] }, record: (p, t) => permute(p, t('x'), [2, 0, 1, 3]) },
      { name: 'permuteAdd NCHW -> NHWC + [C]', inputs: { x: [2, 9, 5, 3], b: [9] }, record: (p, t) => permuteAdd(p, t('x'), [0, 2, 3, 1], t('b')) },
      { name: 'add, b repeating', inputs: { a: [3, 7, 10], b: [10] }, record: (p, t) => add(p, t('a'), t('b')) },
      { name: 'narrow dim 1', inputs: { x: [3, 9, 5] }, record: (p, t) => narrow(p, t('x'), 1, 2, 4) },
      { name: 'maxpool 3×3 s2', inputs: { x: [2, 3, 9, 8] }, record: (p, t) => maxPool3x3s2(p, t('x')) },
      { name: 'resize crop 11×9 of 13×12 -> 20×17', inputs: { x: [2, 2, 13, 12] }, record: (p, t) => resizeBilinear(p, t('x'), 20, 17, { srcH: 11, srcW: 9 }) },
    ], kernels);
  });
});

it('the decoder\'s fused ops: attentionBlock (q projected or given), mlpBlock, hyperHead (h), postprocessMasks', async () => {
  const C = 24;
  const Ci = 16;
  await checkTwins([
    {
      name: 'attentionBlock, q projected, residual',
      inputs: { x: [2, 5, C], pe: [2, 5, C], kv: [1, 9, 2 * Ci], res: [2, 5, C], pack: [attentionPackSize(C, Ci, true)] },
      range: { pack: [-0.5, 0.5] },
      record: (p, t) => attentionBlock(p, { heads: 4, q: { x: t('x'), pe: t('pe') }, kv: { t: t('kv'), k: 0, v: Ci }, residual: t('res'), pack: t('pack'), internal: Ci, eps: 1e-5 }),
    },
    {
      name: 'attentionBlock, q given, no residual',
      inputs: { q: [2, 6, 3 * Ci], pack: [attentionPackSize(C, Ci, false)] },
      range: { pack: [-0.5, 0.5] },
      record: (p, t) => attentionBlock(p, { heads: 2, q: { from: t('q'), offset: 0 }, kv: { t: t('q'), k: Ci, v: 2 * Ci }, pack: t('pack'), internal: Ci, eps: 1e-5 }),
    },
    { name: 'mlpBlock 6 x 20, hidden 300', inputs: { x: [6, 20], pack: [mlpPackSize(20, 300)] }, range: { pack: [-0.2, 0.2] }, record: (p, t) => mlpBlock(p, t('x'), t('pack'), 300, 1e-5) },
    {
      name: 'hyperHead h',
      inputs: { q: [3, 4, C], pack: [hyperPackSize(C, 8)], w3: [8, 18] },
      range: { pack: [-0.5, 0.5] },
      record: (p, t) => hyperHead(p, t('q'), t('pack'), t('w3')).h,
    },
    { name: 'postprocessMasks', inputs: { x: [2, 1, 16, 16] }, range: { x: [-8, 8] }, record: (p, t) => postprocessMasks(p, t('x'), 64, { h: 40, w: 64 }, { h: 50, w: 81 }) },
  ]);
});

it('prompt tokens and dense PE stored as f16 (tables f32), and the mask head (f32 multi-scale feature and logits)', async () => {
  const tables = { gauss: [2, 128], labelEmb: [5, 256], med: [1, 256] };
  const keepF32 = ['pts', 'gauss', 'labelEmb', 'med'];
  const tab = (t: (n: string) => Tensor) => ({ gauss: t('gauss'), labelEmb: t('labelEmb'), med: t('med') });
  await checkTwins([
    {
      name: 'promptTokens N2 T3',
      inputs: { pts: [2, 3, 3], ...tables },
      range: { pts: [0, 3.4] }, // x, y in the frame; the label column rounds to −1 … 3
      keepF32,
      record: (p, t, dt) => promptTokens(p, t('pts'), tab(t), 256, 'tokens', dt),
    },
    { name: 'densePe 5×5', inputs: tables, keepF32, record: (p, t, dt) => densePe(p, tab(t), 5, 'pe', dt) },
    {
      name: 'maskProduct N2 Cf5 Ch3 8×12',
      inputs: { f: [2, 5, 8, 12], weff: [2, 45], h: [2, 3], b3: [3], msf: [1, 3, 8, 12] },
      keepF32: ['msf'],
      record: (p, t, dt) => {
        const low = maskProduct(p, t('f'), t('weff'), t('h'), t('b3'), t('msf'));
        expect(low.dtype).toBe('f32');
        return dt === 'f16' ? cast(p, low, 'f16') : low;
      },
    },
  ]);
});
