// Dispatches per decode (issue 15): a new prompt on an image already decoded runs at most 25
// (24 on the 'tiled' kernel path, 25 on the 'cpu' one: the 3×3 conv's im2col), a first decode the
// cached image-only segment more; the counts come from Plan.lastRunDispatches, which the bench
// reports. Both kernel paths, both precisions that change what is recorded (f16-compute adds casts).
import { afterAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../src/gpu/device.js';
import { syntheticWeights } from '../src/model/keys.js';
import { SamUnet } from '../src/model/sam_unet.js';
import { fakeEmbedding } from './helpers/embedding.js';
import { testGpu, testGpuF16 } from './helpers/gpu.js';

const lines: string[] = [];
afterAll(() => console.log(`[dispatches] per decode (box prompt, 256×256 image):\n${lines.join('\n')}`));

async function counts(gpu: Gpu, path: 'tiled' | 'cpu', precision: 'f32' | 'f16-compute') {
  const m = await SamUnet.load(gpu, syntheticWeights('res34'), { precision, kernels: { gemm: path, attention: path, norm: path, layout: path } });
  try {
    const emb = fakeEmbedding(m, 256, 256);
    await m.decode(emb, { box: [40, 50, 200, 220] });
    const plan = await m.decoderPlan({ n: 1, t: 2, hasMask: false, inputH: 256, inputW: 256, origH: 256, origW: 256 });
    const first = plan.lastRunDispatches;
    await m.decode(emb, { box: [60, 50, 200, 200] });
    const again = plan.lastRunDispatches;
    const mask = new Float32Array(64 * 64).fill(-1);
    await m.decode(emb, { box: [60, 50, 200, 200], maskInput: mask });
    const withMask = (await m.decoderPlan({ n: 1, t: 2, hasMask: true, inputH: 256, inputW: 256, origH: 256, origW: 256 })).lastRunDispatches;
    await m.decode(emb, { box: [50, 50, 200, 200], maskInput: mask });
    const withMaskAgain = (await m.decoderPlan({ n: 1, t: 2, hasMask: true, inputH: 256, inputW: 256, origH: 256, origW: 256 })).lastRunDispatches;
    emb.destroy();
    lines.push(`  ${path.padEnd(5)} ${precision.padEnd(11)} new prompt ${again}, first decode ${first} (recorded ${plan.dispatchCount}); with a mask prompt ${withMaskAgain} (first ${withMask})`);
    return { first, again, recorded: plan.dispatchCount };
  } finally {
    m.destroy();
  }
}

describe('dispatches per decode', () => {
  for (const path of ['tiled', 'cpu'] as const) {
    it(`${path} path: a new prompt runs ≤ 25 dispatches, the first decode the cached segment more`, async () => {
      const c = await counts(await testGpu(), path, 'f32');
      expect(c.again).toBeLessThanOrEqual(25);
      expect(c.first).toBeGreaterThan(c.again);
      expect(c.recorded).toBe(c.first);
    });
  }
  it('f16-compute: the same, plus the embedding cast in the cached segment', async () => {
    const c = await counts(await testGpuF16(), 'cpu', 'f16-compute');
    expect(c.again).toBeLessThanOrEqual(25);
  });
});
