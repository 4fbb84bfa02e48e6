// The kernel variant per family is a setting of each Plan (PlanOptions.kernels, src/gpu/kernels.ts),
// by default from the adapter, and SamUnet.load passes it to every plan it records.
import { describe, expect, it, vi } from 'vitest';
import type { Gpu } from '../src/gpu/device.js';
import { Plan, PlanError } from '../src/gpu/plan.js';
import { syntheticWeights } from '../src/model/keys.js';
import { SamUnet } from '../src/model/sam_unet.js';
import { gemmKernel } from '../src/ops/matmul.js';
import { testGpu } from './helpers/gpu.js';

/** A Gpu for recording only, software or not. */
const recordOnly = (isSoftware: boolean) =>
  ({ device: {} as GPUDevice, info: { name: 'record-only', runtime: 'node', vendor: '', architecture: '', description: '', isSoftware, features: [] } }) as unknown as Gpu;

describe('Plan kernels', () => {
  it("defaults to 'cpu' on a software adapter and 'tiled' on any other; an option overrides one family", () => {
    expect(new Plan(recordOnly(true)).kernels).toEqual({ gemm: 'cpu', attention: 'cpu', norm: 'cpu', layout: 'cpu' });
    expect(new Plan(recordOnly(false)).kernels).toEqual({ gemm: 'tiled', attention: 'tiled', norm: 'tiled', layout: 'tiled' });
    const p = new Plan(recordOnly(false), 'cpu gemm', { kernels: { gemm: 'cpu' } });
    expect(p.kernels).toEqual({ gemm: 'cpu', attention: 'tiled', norm: 'tiled', layout: 'tiled' });
    // Two plans on one adapter, each with its own setting: nothing global.
    const q = new Plan(recordOnly(false), 'tiled');
    expect([gemmKernel(p, 64, 64, 64, true), gemmKernel(q, 64, 64, 64, true)]).toEqual(['cpu', 'tiled']);
    expect(gemmKernel(p, 64, 64, 63, true)).toBe('tiled'); // outside matmul_cpu's vec4 alignment
  });

  it('a family or path that does not exist is a PlanError', () => {
    // @ts-expect-error no family 'conv'
    expect(() => new Plan(recordOnly(false), 'bad', { kernels: { conv: 'cpu' } })).toThrow(/no kernel family 'conv' \(gemm, attention, norm, layout\)/);
    // @ts-expect-error no path 'gpu'
    expect(() => new Plan(recordOnly(false), 'bad', { kernels: { gemm: 'gpu' } })).toThrow(PlanError);
  });

  it('SamUnet.load passes kernels to its plans, and rejects a bad one before loading', async () => {
    const gpu = await testGpu();
    // @ts-expect-error no path 'auto'
    await expect(SamUnet.load(gpu, syntheticWeights('res34'), { kernels: { norm: 'auto' } })).rejects.toThrow(/kernels\.norm: 'auto' is not 'tiled' or 'cpu'/);
    const forced = gpu.info.isSoftware ? 'tiled' : 'cpu'; // the adapter's other choice
    const model = await SamUnet.load(gpu, syntheticWeights('res34'), { kernels: { gemm: forced, norm: forced } });
    try {
      const spy = vi.spyOn(Plan.prototype, 'dispatch');
      const dec = await model.decoderPlan({ n: 1, t: 2, hasMask: false, inputH: 256, inputW: 256, origH: 256, origW: 256 });
      const shaders = spy.mock.calls.map(([d]) => d.shader);
      spy.mockRestore();
      expect(dec.kernels.gemm).toBe(forced);
      expect(dec.kernels.norm).toBe(forced);
      const cpuGemms = shaders.filter((s) => s === 'matmul_cpu').length;
      const tiledGemms = shaders.filter((s) => s === 'matmul' || s === 'conv_transpose2x2').length;
      if (forced === 'tiled') expect([cpuGemms, tiledGemms > 0]).toEqual([0, true]);
      else expect(cpuGemms).toBeGreaterThan(0);
    } finally {
      model.destroy();
    }
  });
});
