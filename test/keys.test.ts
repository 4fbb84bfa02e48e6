// The key spec: what building the module tree declares (model/net.ts) against the golden
// state_dict key lists, and the forward against the spec: recording the encoder and the decoder
// (with and without a mask prompt) binds every GPU weight the modules declare and nothing else, and
// every declared source tensor is read by the loader except the I64 num_batches_tracked.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Plan } from '../src/gpu/plan.js';
import { recordDecoder } from '../src/model/decoder.js';
import { recordEncoder } from '../src/model/encoder.js';
import { modelKeys, type Variant } from '../src/model/keys.js';
import { modelSpec } from '../src/model/net.js';
import { ModelWeights, type WeightProvider } from '../src/model/weights.js';
import { testGpu } from './helpers/gpu.js';
import { describeShared, goldenDir, itShared } from './helpers/shared.js';

const DTYPES: Record<string, string> = { float32: 'F32', int64: 'I64' };

/** Lines "key<TAB>torch dtype<TAB>AxBxC" (empty shape for a scalar) as "key F32 [A,B,C]". */
function goldenKeys(variant: Variant): string[] {
  const text = readFileSync(join(goldenDir(), `keys_${variant}.txt`), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const [key, dtype, shape, ...rest] = line.split('\t');
      expect(rest, line).toEqual([]);
      expect(DTYPES[dtype!], `dtype of ${key}`).toBeDefined();
      const dims = shape ? shape.split('x').map(Number) : [];
      return `${key} ${DTYPES[dtype!]} [${dims.join(',')}]`;
    });
}

describeShared('modelKeys', () => {
  for (const variant of ['res50', 'res34'] as const) {
    itShared(`${variant} equals golden/keys_${variant}.txt, in order`, () => {
      const ours = modelKeys(variant).map((k) => `${k.key} ${k.dtype} [${k.shape.join(',')}]`);
      const golden = goldenKeys(variant);
      expect(ours).toEqual(golden);
    });
  }
});

/** Zeros for every key: loads fast, and the forward is recorded, not run. */
function zeroWeights(variant: Variant): WeightProvider {
  const entries = new Map(modelKeys(variant).map((k) => [k.key, { dtype: k.dtype, shape: k.shape }]));
  return { entries, read: async (key) => new Float32Array(entries.get(key)!.shape.reduce((a, b) => a * b, 1)) };
}

describe('the forward reads exactly the declared weights', () => {
  for (const variant of ['res50', 'res34'] as const) {
    it(`${variant}: every declared source tensor is read (but num_batches_tracked), every GPU weight bound, nothing else`, async () => {
      const { spec } = modelSpec(variant);
      const read = new Set(spec.groups.flatMap((g) => g.inputs));
      expect(spec.keys.filter((k) => !read.has(k.key)).map((k) => k.key.replace(/^.*\./, ''))).toEqual(
        spec.keys.filter((k) => k.dtype === 'I64').map(() => 'num_batches_tracked'),
      );
      const gpu = await testGpu();
      const W = await ModelWeights.load(gpu, zeroWeights(variant));
      const spy = vi.spyOn(Plan.prototype, 'external');
      const plans = [
        recordEncoder(gpu, W),
        recordDecoder(gpu, W, { n: 2, t: 3, hasMask: false, inputH: 100, inputW: 256, origH: 50, origW: 128 }),
        recordDecoder(gpu, W, { n: 1, t: 2, hasMask: true, inputH: 256, inputW: 256, origH: 256, origW: 256 }),
      ];
      const bound = new Set(spy.mock.calls.map(([buffer, , label]) => {
        expect(buffer, label).toBe(W.weight(label).buffer); // a weight's own buffer, under its key
        return label;
      }));
      spy.mockRestore();
      expect([...bound].sort()).toEqual(W.keys().sort());
      for (const p of plans) p.destroy();
      W.destroy();
    });
  }
});
