// int8 weight files (src/weights/q8.ts: q8_0, blocks of 32 along each row, F16 scales):
// - the quantiser against an independent one written from the documented convention in numpy
//   (test/py/q8_ref.py): int8 values and scales equal, bit for bit, on awkward shapes;
// - a q8 file read at random (SafetensorsFile) and streamed (a Blob, scales before or after their
//   values) gives the same dequantised weights; missing or misshapen scales are WeightErrors;
// - accuracy, the issue's measure: every golden case end to end with the synthetic weights
//   quantised, against PyTorch fp32 (low_res_logits max |Δ|, mask IoU, flips where |ref| > 0.5),
//   and res34 on an image and prompts no fixture has, against this engine's f32 path.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { sheppLogan } from '../src/image/phantom.js';
import { modelKeys, syntheticWeights } from '../src/model/keys.js';
import type { PromptSet } from '../src/model/prompts.js';
import { SamUnet, type DecodeResult } from '../src/model/sam_unet.js';
import type { Variant } from '../src/model/weights.js';
import { bytesSource, SafetensorsFile } from '../src/safetensors/read.js';
import { serializeSafetensors, type TensorEntry } from '../src/safetensors/write.js';
import { dequantizeQ8, Q8_SCALES_SUFFIX, q8Eligible, quantizeQ8 } from '../src/weights/q8.js';
import { blobWeights, safetensorsWeights } from '../src/weights/sources.js';
import { WeightError } from '../src/weights/source.js';
import { syntheticValues } from '../src/weights/synthetic.js';
import { maxAbsDiff, newPlan, rand, testGpu } from './helpers/gpu.js';
import { checkGemm, runLinear } from './helpers/linear.js';
import { linearRef } from './helpers/reference.js';
import { linear } from '../src/ops/matmul.js';
import { toQ8Words } from '../src/weights/dtype.js';
import { f16ArrayToF32 } from '../src/safetensors/half.js';
import { itWithTools, runPy } from './helpers/python.js';
import { describeShared, goldenCases, goldenRun, itShared } from './helpers/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'sam-unet-q8-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A q8 safetensors file of `entries` (scales first, or after their values). */
function q8File(tensors: { name: string; shape: number[]; values: Float32Array }[], scalesFirst = true, extra: TensorEntry[] = []): Uint8Array {
  const out: TensorEntry[] = [...extra];
  for (const t of tensors) {
    if (!q8Eligible(t.name, t.shape)) {
      out.push({ name: t.name, dtype: 'F32', shape: t.shape, data: t.values });
      continue;
    }
    const { q, scales, scaleShape } = quantizeQ8(t.name, t.values, t.shape);
    const pair: TensorEntry[] = [{ name: t.name + Q8_SCALES_SUFFIX, dtype: 'F16', shape: scaleShape, data: scales }, { name: t.name, dtype: 'I8', shape: t.shape, data: q }];
    out.push(...(scalesFirst ? pair : pair.reverse()));
  }
  return serializeSafetensors(out);
}

describe('q8_0 quantiser and reader', () => {
  itWithTools('equals an independent numpy quantiser of the documented convention, bit for bit', { python: ['numpy'] }, async () => {
    const shapes = [[7, 33], [64, 3, 7, 7], [5, 32], [3, 100], [2, 1, 2, 2]];
    for (const [i, shape] of shapes.entries()) {
      const n = shape.reduce((a, b) => a * b, 1);
      const v = rand(n, 40 + i, -3, 3);
      if (i === 2) v.fill(0, 0, 32); // a block of zeros
      if (i === 3) v[5] = 1e-30; // tiny values
      const raw = join(dir, `v${i}.f32`);
      writeFileSync(raw, v);
      const ref = await runPy<{ q: number[]; scales: number[] }>('q8_ref.py', ['numpy'], [raw, JSON.stringify(shape)]);
      const ours = quantizeQ8('t', v, shape);
      expect(Array.from(ours.q), `q of [${shape}]`).toEqual(ref.q);
      expect(Array.from(ours.scales), `scales of [${shape}]`).toEqual(ref.scales);
      // q · d is within half a step of the value.
      const back = dequantizeQ8('t', ours.q, Float32Array.from(ref.scales, (h) => f16(h)), shape);
      const K = n / shape[0]!;
      back.forEach((x, j) => expect(Math.abs(x - v[j]!)).toBeLessThanOrEqual(f16(ref.scales[Math.floor(j / K) * Math.ceil(K / 32) + Math.floor((j % K) / 32)]!) / 2 + 1e-7));
    }
    expect(() => quantizeQ8('bad', Float32Array.of(1, NaN, ...new Array(62).fill(0)), [2, 32])).toThrow(/'bad' holds NaN at flat index 1/);
  });

  it('a q8 file read at random and streamed (scales before or after) gives the same weights; bad scales are named', async () => {
    const tensors = [
      { name: 'blocks.0.mlp.lin1.weight', shape: [96, 64], values: rand(96 * 64, 3) },
      { name: 'blocks.0.mlp.lin1.bias', shape: [96], values: rand(96, 4) },
      { name: 'conv.weight', shape: [32, 3, 7, 7], values: rand(32 * 147, 5) }, // K = 147: a short last block
      { name: 'pos_embed', shape: [1, 4, 4, 256], values: rand(4096, 6) },
    ];
    const want = new Map(tensors.map((t) => [t.name, q8Eligible(t.name, t.shape) ? (() => {
      const { q, scales } = quantizeQ8(t.name, t.values, t.shape);
      return dequantizeQ8(t.name, q, Float32Array.from(scales, f16), t.shape);
    })() : t.values]));
    for (const scalesFirst of [true, false]) {
      const bytes = q8File(tensors, scalesFirst);
      const random = safetensorsWeights(await SafetensorsFile.open(bytesSource(bytes)));
      expect(Object.fromEntries([...random.entries].map(([k, e]) => [k, e.dtype]))).toEqual({
        'blocks.0.mlp.lin1.weight': 'Q8_0', 'blocks.0.mlp.lin1.bias': 'F32', 'conv.weight': 'Q8_0', 'pos_embed': 'F32',
      });
      for (const [k, v] of want) expect(Array.from(await random.read(k)), k).toEqual(Array.from(v));
      const streamed = await blobWeights(new Blob([bytes as BlobPart]));
      const got = new Map<string, Float32Array>();
      for await (const t of streamed.tensors!()) got.set(t.key, t.values());
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [k, v] of want) expect(Array.from(got.get(k)!), `${k} streamed`).toEqual(Array.from(v));
    }
    // Missing and misshapen scales.
    const q = new Int8Array(64);
    const noScales = serializeSafetensors([{ name: 'a.weight', dtype: 'I8', shape: [2, 32], data: q }, { name: 'b.weight.q8_scales', dtype: 'F16', shape: [1, 1], data: new Uint16Array(1) }]);
    await expect(SafetensorsFile.open(bytesSource(noScales)).then(safetensorsWeights)).rejects.toThrow(WeightError);
    const wrong = serializeSafetensors([{ name: 'a.weight', dtype: 'I8', shape: [2, 32], data: q }, { name: 'a.weight.q8_scales', dtype: 'F16', shape: [2, 2], data: new Uint16Array(4) }]);
    await expect(SafetensorsFile.open(bytesSource(wrong)).then(safetensorsWeights)).rejects.toThrow(/q8 scales 'a.weight.q8_scales' are F16 \[2,2\]; F16 \[2,1\] expected/);
  });
});

/** IEEE binary16 bits as a number. */
function f16(h: number): number {
  const e = (h >> 10) & 31, m = h & 1023, s = h >> 15 ? -1 : 1;
  return s * (e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15));
}

/** The synthetic weights of `variant` written as a q8 file (in memory), and its size. */
function syntheticQ8(variant: Variant): Uint8Array {
  const keys = modelKeys(variant);
  const extra: TensorEntry[] = keys.filter((k) => k.dtype !== 'F32').map((k) => ({ name: k.key, dtype: 'I64', shape: [...k.shape], data: new BigInt64Array(1) }));
  return q8File(keys.filter((k) => k.dtype === 'F32').map((k) => ({ name: k.key, shape: [...k.shape], values: syntheticValues(k.key, k.shape) })), true, extra);
}

interface Row { name: string; low: number; iou: number; flipsAbove: number; flips: number; pixels: number }
const rows: Row[] = [];
afterAll(() => {
  if (rows.length) console.log(`[q8] q8_0 weights vs the reference:\n${rows.map((r) => `  ${r.name.padEnd(44)} low_res_logits ${r.low.toExponential(2)}  IoU ${r.iou.toFixed(5)}  flips ${r.flipsAbove} where |ref| > 0.5 (${r.flips} nearer 0, of ${r.pixels})`).join('\n')}`);
});

function judge(name: string, out: DecodeResult, refLow: ArrayLike<number>[], refLogits: ArrayLike<number>[]): Row {
  const row: Row = { name, low: 0, iou: 1, flipsAbove: 0, flips: 0, pixels: 0 };
  let inter = 0, union = 0;
  out.logits.forEach((l, i) => {
    row.low = Math.max(row.low, maxAbsDiff(out.lowResLogits[i]!, refLow[i]!).maxAbs);
    l.forEach((v, k) => {
      const r = refLogits[i]![k]!;
      row.pixels++;
      inter += +(v > 0 && r > 0);
      union += +(v > 0 || r > 0);
      if (v > 0 !== r > 0) {
        row.flips++;
        if (Math.abs(r) > 0.5) row.flipsAbove++;
      }
    });
  });
  row.iou = union ? inter / union : 1;
  rows.push(row);
  return row;
}

const models = new Map<Variant, Promise<SamUnet>>();
const q8Model = (v: Variant) => {
  if (!models.has(v)) models.set(v, (async () => SamUnet.load(await testGpu(), safetensorsWeights(await SafetensorsFile.open(bytesSource(syntheticQ8(v))))))());
  return models.get(v)!;
};
afterAll(async () => {
  for (const m of models.values()) (await m).destroy();
});

describeShared('q8 weights: every golden case end to end', () => {
  for (const c of goldenCases()) {
    itShared(`${c.name} (${c.variant})`, async () => {
      const m = await q8Model(c.variant);
      const g = await goldenRun(c);
      const emb = await m.encodeInput(g.input, g.frame);
      try {
        const row = judge(`${c.name} (golden)`, await m.decode(emb, g.sets), g.refLow, g.refLogits);
        expect(row.iou, 'mask IoU').toBeGreaterThanOrEqual(0.99);
        expect(row.flipsAbove, 'flips where |ref logit| > 0.5').toBe(0);
      } finally {
        emb.destroy();
      }
    }, 300_000);
  }
});

describe('q8 weights outside the fixtures', () => {
  it('res34 on a 200×300 phantom with a box and points, a batch of 2, against the f32 path', async () => {
    const m = await q8Model('res34');
    const f32 = await SamUnet.load(m.gpu, syntheticWeights('res34'));
    try {
      const img = sheppLogan(300);
      const image = { width: 200, height: 300, data: img.data.slice(0, 200 * 300 * 3) };
      for (let y = 0; y < 300; y++) image.data.set(img.data.subarray(y * 300 * 3, y * 300 * 3 + 600), y * 600);
      const sets: PromptSet[] = [{ box: [30, 40, 170, 260], points: [[100, 150, 1]] }, { points: [[60, 90, 1], [140, 200, 0]] }];
      const want = await f32.segment(image, sets);
      const got = await m.segment(image, sets);
      const row = judge('res34 phantom 200x300 box + points (N=2) vs f32', got, want.lowResLogits, want.logits);
      expect(row.iou).toBeGreaterThanOrEqual(0.99);
      expect(row.flipsAbove).toBe(0);
    } finally {
      f32.destroy();
    }
  }, 300_000);

  it('the res50 file is at most 150 MB', () => {
    const bytes = syntheticQ8('res50').byteLength;
    console.log(`[q8] res50 q8 file: ${(bytes / 1e6).toFixed(1)} MB`);
    expect(bytes).toBeLessThanOrEqual(150e6);
  }, 120_000);
});

describe("precision 'q8': the ViT's linear weights held as int8 blocks on the GPU", () => {
  for (const path of ['cpu', 'tiled'] as const) {
    it(`linear() with a q8 weight on the ${path} GEMM path matches float64 on the dequantised weights (awkward shapes)`, async () => {
      await runLinear([
        { lead: [7], K: 32, N: 5, act: 'gelu', bias: true, residual: true },
        { lead: [65], K: 768, N: 130, act: 'gelu', bias: true, residual: false },
        { lead: [1], K: 96, N: 17, act: 'none', bias: true, residual: true },
        { lead: [2, 3, 7], K: 64, N: 70, act: 'relu', bias: false, residual: true },
        { lead: [256], K: 3072, N: 36, act: 'none', bias: true, residual: true },
      ], { path, q8: true });
    }, 120_000);
  }

  it('split-K (the big-GPU GEMM) reads q8 weights too; K not in whole blocks is an error naming it', async () => {
    const p = await newPlan('q8-splitk', { kernels: { gemm: 'tiled' }, tuning: { splitK: true } });
    const w = rand(64 * 768, 9, -0.05, 0.05);
    const packed = toQ8Words('w', w);
    const buffer = p.device.createBuffer({ size: packed.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    p.device.queue.writeBuffer(buffer, 0, packed);
    const x = p.input('x', [256, 768]);
    const spy = vi.spyOn(p, 'dispatch');
    p.output('y', linear(p, x, p.external(buffer, [64, 768], 'w', 'q8'), null, { label: 'lin' }));
    expect(spy.mock.calls.map(([d]) => d.shader)).toContain('matmul_splitk_q8w');
    spy.mockRestore();
    await p.build();
    const xs = rand(256 * 768, 10);
    const y = (await p.run({ x: xs })).y!;
    const { q, scales } = quantizeQ8('w', w, [64 * 24, 32]);
    checkGemm(y, linearRef(xs, dequantizeQ8('w', q, f16ArrayToF32(scales), [64 * 24, 32]), null, 256, 64, 768, 'none', null), 'split-K q8 linear');
    p.destroy();
    buffer.destroy();
    const p2 = await newPlan('q8-bad');
    const b2 = p2.device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE });
    expect(() => linear(p2, p2.input('x', [4, 40]), p2.external(b2, [2, 40], 'w', 'q8'), null, { label: 'bad' })).toThrow(/a q8 weight needs B as \[N, K\] with K and its batch stride multiples of 32 \(K = 40/);
    p2.destroy();
    b2.destroy();
  }, 120_000);

  it("a q8 file under precision 'q8' computes exactly what it computes under 'f32' (both kernel paths), in less GPU memory", async () => {
    const gpu = await testGpu();
    const file = syntheticQ8('res34');
    const image = sheppLogan(160);
    const sets: PromptSet[] = [{ box: [20, 30, 140, 120], points: [[80, 70, 1]] }];
    for (const gemm of ['cpu', 'tiled'] as const) {
      const load = async (precision: 'f32' | 'q8') => SamUnet.load(gpu, safetensorsWeights(await SafetensorsFile.open(bytesSource(file))), { precision, kernels: { gemm } });
      const a = await load('f32');
      const b = await load('q8');
      try {
        expect(b.weights.precision).toBe('q8');
        const ra = await a.segment(image, sets);
        const rb = await b.segment(image, sets);
        expect(Buffer.from(rb.lowResLogits[0]!.buffer).equals(Buffer.from(ra.lowResLogits[0]!.buffer)), `${gemm}: low_res_logits bit for bit`).toBe(true);
        console.log(`[q8] GPU weight bytes, res34: f32 ${(a.weights.bytes / 1e6).toFixed(1)} MB, q8 ${(b.weights.bytes / 1e6).toFixed(1)} MB`);
        expect(b.weights.bytes).toBeLessThan(a.weights.bytes * 0.6);
      } finally {
        a.destroy();
        b.destroy();
      }
    }
  }, 300_000);
});
