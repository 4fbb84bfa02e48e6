// Plan.profile(): per-dispatch GPU times for the benchmark (bench/ prints the encoder's and the
// decoder's by kernel). Needs `timestamp-query`: without it profile() says so with null.
import { describe, expect, it } from 'vitest';
import { requestGpu } from '../src/gpu/device.js';
import { Plan } from '../src/gpu/plan.js';
import { add } from '../src/ops/elementwise.js';
import { linear } from '../src/ops/matmul.js';
import { rand } from './helpers/gpu.js';

describe('Plan.profile', () => {
  it('times every recorded dispatch, in order, with its label and shader', async () => {
    const gpu = await requestGpu({ timestamps: true });
    const p = new Plan(gpu, 'profiled');
    const x = p.input('x', [300, 64]);
    const w = p.input('w', [96, 64]);
    const h = linear(p, x, w, null, { label: 'big linear' });
    p.output('y', add(p, add(p, h, h, 'twice'), h, 'thrice'));
    await p.build();
    await p.run({ x: rand(300 * 64, 1), w: rand(96 * 64, 2) });
    const prof = await p.profile(2);
    if (!gpu.hasTimestamps) {
      console.log('[profile] the adapter has no timestamp-query: profile() returned null');
      expect(prof).toBeNull();
    } else {
      expect(prof).not.toBeNull();
      expect(prof!.map((r) => r.label)).toEqual(['big linear', 'twice', 'thrice']);
      expect(prof![1]!.shader).toBe('elementwise');
      for (const r of prof!) expect(r.gpuMs).toBeGreaterThanOrEqual(0);
      console.log(`[profile] ${prof!.map((r) => `${r.label} ${r.gpuMs.toFixed(3)} ms`).join(', ')}`);
    }
    p.destroy();
    gpu.device.destroy();
  });
});
