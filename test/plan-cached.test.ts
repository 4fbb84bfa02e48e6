// Plan.cached: a recorded segment that run() skips while its key inputs are the same GPU buffers as
// in the last completed run (the decoder keeps its image-only work there), and the decoder on top
// of it: decoding image A, then B, then A again gives A's masks bit for bit.
import { describe, expect, it } from 'vitest';
import { Segments } from '../src/gpu/inputs.js';
import { Plan } from '../src/gpu/plan.js';
import { SamUnet } from '../src/model/sam_unet.js';
import { syntheticWeights } from '../src/model/keys.js';
import { add } from '../src/ops/elementwise.js';
import { fakeEmbedding } from './helpers/embedding.js';
import { rand, testGpu } from './helpers/gpu.js';

function buffer(device: GPUDevice, v: Float32Array): GPUBuffer {
  const b = device.createBuffer({ size: v.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(b, 0, v as Float32Array<ArrayBuffer>);
  return b;
}

const n = 1000;
/** What the plan computes: (a + a) + b. */
const ref = (a: Float32Array, b: Float32Array) => a.map((v, i) => Math.fround(2 * v + b[i]!));
const close = (got: Float32Array, want: Float32Array) => {
  for (let i = 0; i < n; i++) expect(Math.abs(got[i]! - want[i]!), `element ${i}`).toBeLessThan(1e-5);
};

describe('Segments (no GPU)', () => {
  const buf = (n: number) => ({ size: n }) as unknown as GPUBuffer;
  it('skips a segment only while every key is the same buffer at the same offset as in the last completed run', () => {
    const [A, B] = [buf(64), buf(64)];
    const s = new Segments();
    s.add(0, 3, ['a']);
    s.add(3, 5, ['a', 'b']); // adjacent to the first
    s.add(7, 7, ['a']); // empty: no segment
    s.add(8, 9, []); // no keys: runs once
    const encoded = (skip: boolean[]) => {
      const out: number[] = [];
      for (let i = s.next(0, skip); i < 10; i = s.next(i + 1, skip)) out.push(i);
      return out;
    };
    expect(s.begin({ a: { buffer: A }, b: { buffer: B } })).toEqual([false, false, false]);
    s.done({ a: { buffer: A }, b: { buffer: B } });
    const again = s.begin({ a: { buffer: A }, b: { buffer: B } });
    expect(again).toEqual([true, true, true]);
    expect(encoded(again)).toEqual([5, 6, 7, 9]);
    // Not completed: nothing counts as computed.
    expect(s.begin({ a: { buffer: A }, b: { buffer: B } })).toEqual([false, false, false]);
    s.done({ a: { buffer: A }, b: { buffer: B } });
    expect(s.begin({ a: { buffer: A, offset: 16 }, b: { buffer: B } })).toEqual([false, false, true]);
    s.done({ a: { buffer: A }, b: new Float32Array(4) }); // b as values: segment 2 recomputes next time
    expect(s.begin({ a: { buffer: A }, b: { buffer: B } })).toEqual([true, false, true]);
    expect(encoded([true, false, true])).toEqual([3, 4, 5, 6, 7, 9]);
  });
});

describe('Plan.cached', () => {
  it('skips the segment while the key buffer is the same, recomputes for another buffer, a Float32Array or after a failed run', async () => {
    const gpu = await testGpu();
    const device = gpu.device;
    const p = new Plan(gpu, 'cached');
    const a = p.input('a', [n]);
    const b = p.input('b', [n]);
    const g = p.cached(['a'], () => add(p, a, a, 'a+a'));
    p.output('y', add(p, g, b, 'y'));
    await p.build();
    const [a1, a2, bv] = [rand(n, 1, -3, 3), rand(n, 2, -3, 3), rand(n, 3)];
    const A1 = buffer(device, a1);
    const A2 = buffer(device, a2);
    close((await p.run({ a: { buffer: A1 }, b: bv })).y!, ref(a1, bv));
    // Same buffer: skipped. Its contents changed behind the plan's back (which the contract forbids),
    // so a skipped segment shows the old values: that is how the test sees the skip.
    device.queue.writeBuffer(A1, 0, a2 as Float32Array<ArrayBuffer>);
    const b2 = rand(n, 4);
    close((await p.run({ a: { buffer: A1 }, b: b2 })).y!, ref(a1, b2)); // b is outside the segment: read anew
    // Another buffer, or values: recomputed.
    close((await p.run({ a: { buffer: A2 }, b: bv })).y!, ref(a2, bv));
    close((await p.run({ a: a1, b: bv })).y!, ref(a1, bv));
    close((await p.run({ a: { buffer: A2 }, b: bv })).y!, ref(a2, bv));
    // A failed run (a destroyed input buffer) leaves nothing counted as computed.
    const A3 = buffer(device, a1);
    close((await p.run({ a: { buffer: A3 }, b: bv })).y!, ref(a1, bv));
    const dead = buffer(device, a2);
    dead.destroy();
    await expect(p.run({ a: { buffer: dead }, b: bv })).rejects.toThrow();
    device.queue.writeBuffer(A3, 0, a2 as Float32Array<ArrayBuffer>);
    close((await p.run({ a: { buffer: A3 }, b: bv })).y!, ref(a2, bv));
    for (const x of [A1, A2, A3]) x.destroy();
    p.destroy();
  });

  it('refuses a segment that reads a non-key input, naming it', async () => {
    const p = new Plan(await testGpu(), 'bad segment');
    const a = p.input('a', [4]);
    const b = p.input('b', [4]);
    expect(() => p.cached(['a'], () => add(p, a, b, 'a+b'))).toThrow(/a\+b reads 'b', which is neither a key input \(a\)/);
    expect(() => p.cached(['c'], () => a)).toThrow(/has no input 'c'/);
    p.destroy();
  });
});

describe('decoder with its image-side segment', () => {
  it('decoding image A, then B, then A again gives A\'s logits bit for bit (with and without a mask prompt)', async () => {
    const model = await SamUnet.load(await testGpu(), syntheticWeights('res34'));
    try {
      const A = fakeEmbedding(model, 120, 90, 11);
      const B = fakeEmbedding(model, 120, 90, 23);
      const mask = rand(64 * 64, 5, -2, 2);
      for (const prompt of [{ box: [10, 12, 80, 70] as const }, { points: [[40, 30, 1]] as [number, number, number][], maskInput: mask }]) {
        const a1 = await model.decode(A, prompt);
        const b1 = await model.decode(B, prompt);
        const a2 = await model.decode(A, prompt);
        const a3 = await model.decode(A, prompt);
        expect(a2.lowResLogits[0]).toEqual(a1.lowResLogits[0]);
        expect(a3.logits[0]).toEqual(a1.logits[0]);
        expect(b1.lowResLogits[0]).not.toEqual(a1.lowResLogits[0]);
      }
      A.destroy();
      B.destroy();
    } finally {
      model.destroy();
    }
  });
});
