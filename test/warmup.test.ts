// A fast first run (issue 13): the number of distinct pipelines (shader + override constants) a
// model compiles before its first mask stays within budget, a plan builds exactly the pipelines it
// lists, and warm-up (SamUnet.load({ warmup }) / model.warmup()) changes no result bit.
import { afterAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../src/gpu/device.js';
import type { KernelPath } from '../src/gpu/kernels.js';
import type { RgbImage } from '../src/image/types.js';
import { syntheticWeights } from '../src/model/keys.js';
import { SamUnet, type DecodeResult } from '../src/model/sam_unet.js';
import type { Variant } from '../src/model/weights.js';
import { pipelineCensus, TYPICAL_DECODERS } from '../src/model/warmup.js';
import { SamUnetWorker } from '../src/worker/client.js';
import { serveSamUnet } from '../src/worker/host.js';
import { testGpu, testGpuF16 } from './helpers/gpu.js';

// Distinct pipelines of the encoder + the typical decoders (one box or point, without and with a
// mask prompt) today. A change that adds pipelines must raise these on purpose: each one is a
// compile on a fresh driver cache (seconds on lavapipe, tens of ms on a real GPU).
const BUDGET: Record<string, number> = {
  'res34 f32 tiled': 31,
  'res34 f32 cpu': 39,
  'res34 f16-compute tiled': 33,
  'res34 f16-compute cpu': 41,
  'res50 f32 tiled': 34,
  'res50 f32 cpu': 40,
};

const lines: string[] = [];
afterAll(() => lines.length && console.log(`[pipelines] distinct per model (encoder, decoders, both; shaders):\n${lines.join('\n')}`));

const allPaths = (path: KernelPath) => ({ gemm: path, attention: path, norm: path, layout: path });

describe('distinct pipelines', () => {
  const cases: [Variant, 'f32' | 'f16-compute'][] = [['res34', 'f32'], ['res34', 'f16-compute'], ['res50', 'f32']];
  for (const [variant, precision] of cases) {
    it(`${variant} ${precision}: encoder + decoders within budget on both kernel paths`, async () => {
      const gpu: Gpu = precision === 'f16-compute' ? await testGpuF16() : await testGpu();
      const m = await SamUnet.load(gpu, syntheticWeights(variant), { precision });
      try {
        for (const path of ['tiled', 'cpu'] as const) {
          const c = pipelineCensus(gpu, m.weights, { kernels: allPaths(path) });
          const name = `${variant} ${precision} ${path}`;
          lines.push(`  ${name.padEnd(24)} ${c.encoder.length} + ${c.decoder.length} -> ${c.pipelines} (${c.shaders} shaders)`);
          expect(c.pipelines, `${name}: ${[...c.encoder, ...c.decoder].join(' ')}`).toBeLessThanOrEqual(BUDGET[name]!);
          expect(c.shaders).toBeLessThan(c.pipelines);
        }
      } finally {
        m.destroy();
      }
    }, 120_000);
  }
});

function testImage(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
  return { width, height, data };
}

async function segmentBoth(m: SamUnet, image: RgbImage): Promise<DecodeResult[]> {
  const emb = await m.encode(image);
  try {
    const box = await m.decode(emb, { box: [20, 30, 150, 120] });
    const withMask = await m.decode(emb, { points: [[60, 70, 1]], maskInput: box.lowResLogits[0]! });
    return [box, withMask];
  } finally {
    emb.destroy();
  }
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe('warm-up', () => {
  it('load({ warmup }) builds what the census lists, and the first encode and decodes are bit-identical to a cold model', async () => {
    const gpu = await testGpu();
    const image = testImage(180, 140);
    const cold = await SamUnet.load(gpu, syntheticWeights('res34'));
    let coldOut: DecodeResult[];
    try {
      coldOut = await segmentBoth(cold, image);
    } finally {
      cold.destroy();
    }
    const warm = await SamUnet.load(gpu, syntheticWeights('res34'), { warmup: true });
    try {
      const w = warm.lastWarmup!;
      expect(w).not.toBeNull();
      expect(w.ran).toBe(gpu.info.isSoftware);
      const census = pipelineCensus(gpu, warm.weights, {}, TYPICAL_DECODERS);
      expect(w.pipelines).toBe(census.pipelines);
      expect(w.encoderPipelines).toBe(census.encoder.length);
      const enc = await warm.encoderPlan();
      expect(enc.stats!.pipelines).toBe(census.encoder.length);
      const warmOut = await segmentBoth(warm, image);
      for (let k = 0; k < 2; k++) {
        expect(bits(warmOut[k]!.logits[0]!)).toEqual(bits(coldOut[k]!.logits[0]!));
        expect(bits(warmOut[k]!.lowResLogits[0]!)).toEqual(bits(coldOut[k]!.lowResLogits[0]!));
        expect(warmOut[k]!.masks[0]).toEqual(coldOut[k]!.masks[0]);
      }
      // A second warmup() finds everything built.
      const again = await warm.warmup({ run: false });
      expect(again.pipelines).toBe(w.pipelines);
    } finally {
      warm.destroy();
    }
    // The worker's load({ warmup }) warms up in the background: an encode and a decode sent at once
    // wait for the plans they share and give the same bits.
    const { port1, port2 } = new MessageChannel();
    serveSamUnet(port2, { requestGpu: testGpu });
    const sam = await SamUnetWorker.create(port1);
    try {
      await sam.load({ kind: 'synthetic', variant: 'res34' }, { warmup: true });
      const emb = await sam.encode(image);
      const r = await sam.decode(emb, { box: [20, 30, 150, 120] });
      expect(bits(r.logits[0]!)).toEqual(bits(coldOut[0]!.logits[0]!));
      emb.destroy();
    } finally {
      sam.destroy();
      port1.close();
      port2.close();
    }
  }, 300_000);
});
