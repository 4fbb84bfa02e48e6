// Precision 'f16' ("f16 weights, f32 accumulation"): the ViT linear weights held as IEEE binary16 on
// the GPU, read by matmul_f16w.wgsl (tiled) and matmul_cpu_f16w.wgsl (software adapters).
// - toF16Words: round to nearest even, subnormals, overflow as an error naming the tensor, packing.
// - linear() with an f16 weight tensor on both GEMM paths against a float64 reference that uses the same
//   f16-rounded weights: only the f32 accumulation differs, so the tolerance is the GEMM tests' one
//   (runLinear, helpers/linear.ts).
// - The whole model with precision 'f16' on every golden case (and precision 'f32' for comparison),
//   on a device that was not given shader-f16 (the kernels do not need it): low_res_logits within
//   5e-3 of the reference (the bound of the fp16-weight-file test), masks equal where
//   |ref logit| > 1e-2, and the weights' GPU bytes smaller by half of the ViT linears' bytes.
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Plan } from '../src/gpu/plan.js';
import { recordEncoder } from '../src/model/encoder.js';
import { modelKeys } from '../src/model/keys.js';
import { syntheticWeights } from '../src/model/keys.js';
import type { PromptSet } from '../src/model/prompts.js';
import { SamUnet } from '../src/model/sam_unet.js';
import { modelSpec } from '../src/model/net.js';
import { WeightError, type Precision, type Variant, type WeightProvider } from '../src/model/weights.js';
import { F16_MAX, toF16Words } from '../src/weights/dtype.js';
import { layerNorm } from '../src/ops/layernorm.js';
import { linear, tileRows } from '../src/ops/matmul.js';
import { fileSource } from '../src/safetensors/node.js';
import { SafetensorsFile } from '../src/safetensors/read.js';
import { describeKernelPaths, maxAbsDiff, newPlan, rand, testGpu } from './helpers/gpu.js';
import { runLinear, unpackWords } from './helpers/linear.js';
import { describeShared, goldenCases, goldenPath, itShared } from './helpers/shared.js';

/** The weights precision 'f16' holds in binary16: those the modules declare lowPrecision. */
const lowPrecisionKeys = (variant: Variant) => modelSpec(variant).spec.weights.filter((w) => w.lowPrecision).map((w) => w.key);

describe('toF16Words (CPU conversion f32 → binary16)', () => {
  it('rounds to nearest even, keeps subnormals, packs element 2i in the low half of word i', () => {
    const v = new Float32Array([
      1, // 0x3c00
      1 + 2 ** -11, // tie between 1 and 1 + 2^-10: even → 1
      1 + 3 * 2 ** -11, // tie between 1 + 2^-10 and 1 + 2^-9: even → 1 + 2^-9
      -(1 + 2 ** -11 + 2 ** -20), // above the tie: away from 1
      2 ** -24, // smallest subnormal 0x0001
      2 ** -25, // tie between 0 and 2^-24: even → 0
      3 * 2 ** -25, // tie between 2^-24 and 2^-23: even → 2^-23 (0x0002)
      2 ** -14 - 2 ** -24, // largest subnormal 0x03ff
      F16_MAX, // 0x7bff
      -F16_MAX,
    ]);
    const words = toF16Words('t', v);
    expect(words.length).toBe(5);
    const halves = new Uint16Array(words.buffer);
    expect([...halves].map((h) => h.toString(16))).toEqual(['3c00', '3c00', '3c02', 'bc01', '1', '0', '2', '3ff', '7bff', 'fbff']);
    expect(words[0]).toBe(0x3c003c00);
    expect(words[1]! & 0xffff).toBe(0x3c02); // element 2 in the low half of word 1
    // An odd count is padded with a zero half.
    const odd = toF16Words('odd', new Float32Array([0.5, -2, 3]));
    expect(odd.length).toBe(2);
    expect(odd[1]! >>> 16).toBe(0);
    expect([...unpackWords(odd, 3)]).toEqual([0.5, -2, 3]);
    // Exactly representable values (what an F16 weight file holds) come through unchanged.
    const exact = unpackWords(toF16Words('r', rand(1000, 7)), 1000);
    expect([...unpackWords(toF16Words('r2', exact), 1000)]).toEqual([...exact]);
  });

  it('a value beyond ±65504 is a WeightError naming the tensor and index (not a silent Inf)', () => {
    expect(() => toF16Words('blocks.3.mlp.lin1.weight', new Float32Array([0, 1, 65504.5]))).toThrow(WeightError);
    expect(() => toF16Words('blocks.3.mlp.lin1.weight', new Float32Array([0, 1, 65504.5]))).toThrow(/'blocks\.3\.mlp\.lin1\.weight' holds 65504\.5 at flat index 2/);
    expect(() => toF16Words('w', new Float32Array([-7e4]))).toThrow(/float16's finite range/);
    expect(() => toF16Words('w', new Float32Array([Infinity]))).toThrow(WeightError);
  });

  it('SamUnet.load with precision f16 rejects an out-of-range ViT weight by name; f32-kept weights may exceed it', async () => {
    const gpu = await testGpu();
    const base = syntheticWeights('res50');
    const victim = 'image_encoder.sam_img_encoder.blocks.0.attn.qkv.weight';
    // The modules mark exactly the 48 ViT linear weights as low precision.
    const vitLinear = /^image_encoder\.sam_img_encoder\.blocks\.\d+\.(attn\.qkv|attn\.proj|mlp\.lin1|mlp\.lin2)\.weight$/;
    for (const v of ['res50', 'res34'] as const) {
      expect(lowPrecisionKeys(v)).toEqual(modelKeys(v).map((k) => k.key).filter((k) => vitLinear.test(k)));
      expect(lowPrecisionKeys(v).length).toBe(48);
    }
    expect(lowPrecisionKeys('res50')).toContain(victim);
    const src: WeightProvider = {
      entries: base.entries,
      read: async (key) => {
        const v = await base.read(key);
        if (key === victim) v[12345] = 1e5;
        if (key === 'image_encoder.sam_img_encoder.pos_embed') v[0] = 1e5; // stays f32: fine
        return v;
      },
    };
    await expect(SamUnet.load(gpu, src, { precision: 'f16' })).rejects.toThrow(new RegExp(`'${victim.replace(/\./g, '\\.')}' holds 100000 at flat index 12345`));
    await expect(SamUnet.load(gpu, base, { precision: 'bf16' as Precision })).rejects.toThrow(/precision must be 'f32' or 'f16' or 'f16-compute' or 'q8', got "bf16"/);
  });
});

describeKernelPaths('gemm', (path) => {
  it('awkward shapes: 7x17x5, 65x768x130, 1x772x17, [2, 3, 7]x36x70, 33x20x129, every epilogue', async () => {
    await runLinear([
      { lead: [7], K: 17, N: 5, act: 'gelu', bias: true, residual: true },
      { lead: [7], K: 17, N: 5, act: 'none', bias: false, residual: false },
      { lead: [65], K: 768, N: 130, act: 'gelu', bias: true, residual: false },
      { lead: [65], K: 768, N: 130, act: 'relu', bias: false, residual: true },
      { lead: [1], K: 772, N: 17, act: 'none', bias: true, residual: true },
      { lead: [2, 3, 7], K: 36, N: 70, act: 'gelu', bias: true, residual: true },
      { lead: [33], K: 20, N: 129, act: 'none', bias: true, residual: false },
      { lead: [5], K: 3, N: 9, act: 'relu', bias: true, residual: false }, // odd weight count (27 halves)
    ], { path, f16: true });
  });

  it('model sizes: 256x768x2304 + bias (qkv), 64x3072x768 + bias + residual (lin2), 1100x12x1100 gelu (64-row tiles)', async () => {
    expect([tileRows(256, 2304), tileRows(1100, 1100)]).toEqual([32, 64]);
    await runLinear([
      { lead: [256], K: 768, N: 2304, act: 'none', bias: true, residual: false },
      { lead: [64], K: 3072, N: 768, act: 'none', bias: true, residual: true },
      { lead: [1100], K: 12, N: 1100, act: 'gelu', bias: true, residual: false },
    ], { path, f16: true });
  });
});

it('f16 tensors: external() checks the packed size, linear() the shape, and ops refuse operands of mixed dtypes', async () => {
  const p = await newPlan('f16-shapes');
  const buffer = p.device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE }); // 32 halves
  try {
    const x = p.input('x', [3, 8]);
    expect(() => p.external(buffer, [5, 8], 'w', 'f16')).toThrow(/64 bytes is smaller than f16 shape \[5,8\]/);
    const w = p.external(buffer, [4, 8], 'w', 'f16');
    expect([w.dtype, w.bytes]).toEqual(['f16', 64]);
    expect(p.reshape(w, [32]).dtype).toBe('f16');
    expect(() => linear(p, x, p.external(buffer, [8, 4], 'w2', 'f16'), null)).toThrow(/expected \[\?,8\]/);
    expect(linear(p, x, w, null).shape).toEqual([3, 4]);
    const g = p.external(buffer, [8], 'g', 'f16');
    expect(() => layerNorm(p, x, g, p.input('b', [8]), 1e-5)).toThrow(/mixed storage dtypes \('x' f32, 'g' f16, 'b' f32\)/);
  } finally {
    p.destroy();
    buffer.destroy();
  }
});


const cases = goldenCases();

/** Golden tensors of case `name`: input image, image_embeddings, low_res_logits, logits, and the mask prompt if any. */
async function readGolden(name: string, names: string[], mask: string | null) {
  const src = await fileSource(join(goldenPath, `${name}.safetensors`));
  try {
    const f = await SafetensorsFile.open(src);
    const t = new Map<string, Float32Array>();
    for (const k of names) t.set(k, await f.readF32(k));
    const get = (k: string) => t.get(k) ?? new Float32Array(0);
    return {
      image: get('input.image'), refEmb: get('image_embeddings'), refLow: get('low_res_logits'), refLogits: get('logits'),
      maskInputs: mask ? await f.readF32(mask) : null,
    };
  } finally {
    await src.close();
  }
}

async function readBuffer(device: GPUDevice, buffer: GPUBuffer): Promise<Float32Array> {
  const rb = device.createBuffer({ size: buffer.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, 0, rb, 0, buffer.size);
  device.queue.submit([enc.finish()]);
  await rb.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(rb.getMappedRange().slice(0));
  rb.destroy();
  return out;
}

/** Bytes of the 48 ViT linear weights in f32. */
const vitLinearBytes = (variant: Variant) => modelSpec(variant).spec.weights.filter((w) => w.lowPrecision).reduce((n, w) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0);

describeShared('precision f16: the whole model on the golden cases', () => {
  const models = new Map<string, SamUnet>();
  const lines: string[] = [];

  async function model(variant: Variant, precision: Precision): Promise<SamUnet> {
    const key = `${variant}/${precision}`;
    let m = models.get(key);
    if (!m) {
      m = await SamUnet.load(await testGpu(), syntheticWeights(variant), { precision });
      models.set(key, m);
    }
    return m;
  }

  afterAll(() => {
    for (const m of models.values()) m.destroy();
    console.log('[f16] max |ours − golden| (synthetic weights):\n' + lines.join('\n'));
  });

  itShared('the device was not given shader-f16: the f16 kernels do not need it', async () => {
    const gpu = await testGpu();
    expect(gpu.hasF16).toBe(false);
    expect(gpu.device.features.has('shader-f16')).toBe(false);
  });

  for (const c of cases) {
    itShared(`${c.name} (${c.variant}): low_res_logits within 5e-3, masks equal where |ref| > 1e-2, smaller weights`, async () => {
      const gpu = await testGpu();
      const { image, refEmb, refLow, refLogits, maskInputs } = await readGolden(c.name, ['input.image', 'image_embeddings', 'low_res_logits', 'logits'],
        c.tensors['input.mask_inputs'] ? 'input.mask_inputs' : null);
      const [H, W] = c.original_size;
      const [h, w] = c.input_size;
      const frame = { width: W, height: H, inputW: w, inputH: h };
      const n = c.tensors['low_res_logits']![0]!;
      const sets: PromptSet[] = [];
      for (let i = 0; i < n; i++) {
        sets.push({
          box: c.boxes?.[i] as [number, number, number, number] | undefined,
          points: c.points?.map((p) => p as unknown as [number, number, number]),
          maskInput: maskInputs ? maskInputs.slice(i * 4096, (i + 1) * 4096) : undefined,
        });
      }
      const hw = H * W;

      const errs: Record<Precision, { emb: number; low: number; logits: number; disagree: number; nearZero: number }> = {} as never;
      for (const precision of ['f32', 'f16'] as const) {
        const m = await model(c.variant, precision);
        const spy = vi.spyOn(Plan.prototype, 'dispatch');
        const t0 = performance.now();
        const emb = await m.encodeInput(image, frame);
        const ms = performance.now() - t0;
        const shaders = spy.mock.calls.map(([d]) => d.shader);
        spy.mockRestore();
        const out = await m.decode(emb, sets);
        const embOut = (await readBuffer(gpu.device, emb.embeddings)).subarray(0, refEmb.length);
        emb.destroy();
        const low = new Float32Array(n * 4096);
        out.lowResLogits.forEach((l, i) => low.set(l, i * 4096));
        let disagree = 0;
        let nearZero = 0;
        let logitsErr = 0;
        for (let s = 0; s < n; s++) {
          logitsErr = Math.max(logitsErr, maxAbsDiff(out.logits[s]!, refLogits.subarray(s * hw, (s + 1) * hw)).maxAbs);
          for (let i = 0; i < hw; i++) {
            const r = refLogits[s * hw + i]!;
            if (r > 0 === (out.masks[s]![i] === 1)) continue;
            if (Math.abs(r) > 1e-2) disagree++;
            else nearZero++;
          }
        }
        errs[precision] = { emb: maxAbsDiff(embOut, refEmb).maxAbs, low: maxAbsDiff(low, refLow).maxAbs, logits: logitsErr, disagree, nearZero };
        const e = errs[precision];
        // The encoder plan is recorded on the first encode of each model (a cached plan records nothing).
        const f16Gemms = shaders.filter((s) => s === 'matmul_f16w' || s === 'matmul_cpu_f16w').length;
        if (shaders.length) expect(f16Gemms, `${precision}: f16-weight GEMM dispatches`).toBe(precision === 'f16' ? 48 : 0);
        lines.push(`  ${c.name.padEnd(22)} ${precision}: image_embeddings ${e.emb.toExponential(2)}, low_res_logits ${e.low.toExponential(2)}, ` +
          `logits ${e.logits.toExponential(2)}, mask pixels differing ${e.disagree} where |ref| > 1e-2 (${e.nearZero} nearer 0); ` +
          `encode ${ms.toFixed(0)} ms; weights ${(m.weights.bytes / 2 ** 20).toFixed(1)} MiB`);
      }
      console.log(`[f16] ${c.name}: f16 low_res_logits ${errs.f16.low.toExponential(2)} image_embeddings ${errs.f16.emb.toExponential(2)} | ` +
        `f32 low_res_logits ${errs.f32.low.toExponential(2)} image_embeddings ${errs.f32.emb.toExponential(2)}`);
      expect(errs.f16.low).toBeLessThan(5e-3);
      expect(errs.f16.disagree).toBe(0);

      // Half the ViT linears' bytes, to the byte (their element counts are multiples of 8: no padding).
      const b32 = (await model(c.variant, 'f32')).weights.bytes;
      const m16 = await model(c.variant, 'f16');
      expect(m16.weights.bytes).toBeLessThan(b32);
      expect(b32 - m16.weights.bytes).toBe(vitLinearBytes(c.variant) / 2);
      expect(m16.weights.precision).toBe('f16');
      expect(m16.weights.dtypeOf('image_encoder.sam_img_encoder.blocks.11.mlp.lin2.weight')).toBe('f16');
      expect(m16.weights.dtypeOf('image_encoder.sam_img_encoder.blocks.11.mlp.lin2.bias')).toBe('f32');
      const p = new Plan(gpu, 'probe');
      expect(m16.weights.t(p, 'image_encoder.sam_img_encoder.blocks.0.attn.qkv.weight').dtype).toBe('f16');
    });
  }

  const tiledCase = cases.find((c) => c.variant === 'res50');
  if (tiledCase) {
    itShared(`${tiledCase.name}: the tiled (real-GPU) path end to end with f16 weights`, async () => {
      const gpu = await testGpu();
      const m = await model('res50', 'f16');
      const { image, refEmb } = await readGolden(tiledCase.name, ['input.image', 'image_embeddings'], null);
      const spy = vi.spyOn(Plan.prototype, 'dispatch');
      const enc = recordEncoder(gpu, m.weights, [], { kernels: { gemm: 'tiled' } });
      const shaders = spy.mock.calls.map(([d]) => d.shader);
      spy.mockRestore();
      expect(shaders.filter((s) => s === 'matmul_f16w').length).toBe(48);
      expect(shaders.filter((s) => s === 'matmul_cpu_f16w').length).toBe(0);
      await enc.build();
      const t0 = performance.now();
      const out = await enc.run({ image }, ['image_embeddings']);
      const ms = performance.now() - t0;
      enc.destroy();
      const err = maxAbsDiff(out.image_embeddings!, refEmb).maxAbs;
      let refMax = 0;
      for (const v of refEmb) refMax = Math.max(refMax, Math.abs(v));
      lines.push(`  ${tiledCase.name.padEnd(22)} f16, tiled path: image_embeddings ${err.toExponential(2)} (max|ref| ${refMax.toFixed(3)}); encode ${ms.toFixed(0)} ms`);
      expect(err).toBeLessThan(1e-2 * Math.max(1, refMax));
    });
  }
});
