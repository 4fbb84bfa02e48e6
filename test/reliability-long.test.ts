// Long runs on one model: GPU buffers counted (src/gpu/tracking.ts) over many encode / decode
// cycles show no growth; destroy() on embeddings and the model returns the count to its baseline;
// concurrent encodes and decodes give what sequential ones give; the same inputs give bit-identical
// outputs run after run (decoder, and one pair of encoder runs). A 1×1 image goes end to end.
// RELIABILITY_CYCLES sets the number of decode calls of the long run (default 120; ~0.4 s each on a
// software adapter).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../src/gpu/device.js';
import { trackBuffers, type BufferTracker } from '../src/gpu/tracking.js';
import { sheppLogan } from '../src/image/phantom.js';
import { PromptError, type PromptSet } from '../src/model/prompts.js';
import { syntheticWeights } from '../src/model/keys.js';
import { ImageEmbedding, SamUnet, type DecodeResult } from '../src/model/sam_unet.js';
import { fakeEmbedding } from './helpers/embedding.js';
import { rand, testGpu } from './helpers/gpu.js';

const CYCLES = Number(process.env.RELIABILITY_CYCLES ?? 120);

async function readBuffer(gpu: Gpu, buffer: GPUBuffer): Promise<Uint32Array> {
  const device = gpu.device;
  const s = device.createBuffer({ size: buffer.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, 0, s, 0, buffer.size);
  device.queue.submit([enc.finish()]);
  await s.mapAsync(GPUMapMode.READ);
  const out = new Uint32Array(s.getMappedRange().slice(0));
  s.unmap();
  s.destroy();
  return out;
}

const bitsEqual = (a: Float32Array | Uint8Array | Uint32Array, b: Float32Array | Uint8Array | Uint32Array) =>
  a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

function expectSameResult(a: DecodeResult, b: DecodeResult, what: string): void {
  expect(a.n, what).toBe(b.n);
  for (let i = 0; i < a.n; i++) {
    expect(bitsEqual(a.lowResLogits[i]!, b.lowResLogits[i]!), `${what}: low_res_logits[${i}] bit-identical`).toBe(true);
    expect(bitsEqual(a.logits[i]!, b.logits[i]!), `${what}: logits[${i}] bit-identical`).toBe(true);
    expect(bitsEqual(a.masks[i]!, b.masks[i]!), `${what}: masks[${i}]`).toBe(true);
  }
}

function maskPrompt(seed: number): Float32Array {
  return rand(64 * 64, seed, -4, 4);
}

describe('long runs, concurrency and determinism (res34 synthetic weights)', () => {
  let gpu: Gpu;
  let t: BufferTracker;
  let baseline: { buffers: number; bytes: number };
  let model: SamUnet;
  let phantom: ImageEmbedding;
  let phantom2: ImageEmbedding;
  let tiny: ImageEmbedding;
  const report: string[] = [];

  beforeAll(async () => {
    gpu = await testGpu();
    t = trackBuffers(gpu.device);
    baseline = t.live;
    model = await SamUnet.load(gpu, syntheticWeights('res34'));
    report.push(`after load: ${t.live.buffers - baseline.buffers} buffers, ${((t.live.bytes - baseline.bytes) / 2 ** 20).toFixed(1)} MiB`);
  });

  afterAll(() => {
    t.stop();
    console.log('[reliability-long]\n  ' + report.join('\n  '));
  });

  it('encoder: concurrent encodes give what a sequential one gives, bit for bit; a 1×1 image goes end to end', async () => {
    const img = sheppLogan(256);
    const one = { width: 1, height: 1, data: Uint8Array.of(200, 120, 40) };
    const t0 = performance.now();
    [phantom, tiny] = await Promise.all([model.encode(img), model.encode(one)]);
    phantom2 = await model.encode(img);
    report.push(`3 encodes (2 concurrent + 1) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(model.liveEmbeddings).toBe(3);
    const [e1, e2, e3] = await Promise.all([phantom, phantom2, tiny].map((e) => readBuffer(gpu, e.embeddings)));
    const [m1, m2] = await Promise.all([phantom, phantom2].map((e) => readBuffer(gpu, e.multiScaleFeature)));
    expect(bitsEqual(e1!, e2!), 'image_embeddings of two runs bit-identical').toBe(true);
    expect(bitsEqual(m1!, m2!), 'multi_scale_feature of two runs bit-identical').toBe(true);
    expect(bitsEqual(e1!, e3!), 'the 1×1 image has its own embedding').toBe(false);
    expect(tiny.frame).toEqual({ width: 1, height: 1, inputW: 256, inputH: 256 });
    const out = await model.decode(tiny, [{ box: [0, 0, 1, 1] }, { points: [[0.5, 0.5, 1]] }]);
    expect(out.masks.map((m) => m.length)).toEqual([1, 1]);
    expect(out.logits.every((l) => l.length === 1 && Number.isFinite(l[0]!))).toBe(true);
  });

  it('decoder: the same inputs give bit-identical outputs run after run', async () => {
    const sets: PromptSet[] = [
      { box: [40, 50, 200, 210] },
      { box: [60, 60, 120, 180], points: [[90, 100, 1], [70, 170, 0]] },
      { points: [[128, 128, 1]], maskInput: maskPrompt(3) },
      { box: [10, 20, 100, 90] }, // same structure as set 0: one GPU run with it
    ];
    const first = await model.decode(phantom, sets);
    for (let r = 0; r < 3; r++) expectSameResult(await model.decode(phantom, sets), first, `run ${r + 2}`);
    // The second, independently encoded embedding of the same image decodes identically.
    expectSameResult(await model.decode(phantom2, sets), first, 'second encode');
    // Each set alone gives what it gave in the batch. Sets 0 and 3 ran in one GPU run of N = 2:
    // kernels specialised for another N may round differently, so within 1e-4, with equal masks
    // wherever the logit is not within 1e-3 of 0. The others ran alone in the batch: bit-identical.
    let worst = 0;
    for (let i = 0; i < sets.length; i++) {
      const alone = await model.decode(phantom, sets[i]!);
      if (i === 1 || i === 2) {
        expectSameResult(alone, { ...first, n: 1, lowResLogits: [first.lowResLogits[i]!], logits: [first.logits[i]!], masks: [first.masks[i]!] }, `set ${i} alone`);
        continue;
      }
      for (const [a, b] of [[alone.lowResLogits[0]!, first.lowResLogits[i]!], [alone.logits[0]!, first.logits[i]!]] as const) {
        let refMax = 1;
        for (const v of b) refMax = Math.max(refMax, Math.abs(v));
        for (let k = 0; k < a.length; k++) {
          const d = Math.abs(a[k]! - b[k]!);
          worst = Math.max(worst, d / refMax);
          expect(d, `set ${i} alone vs batched, element ${k}`).toBeLessThanOrEqual(1e-4 * refMax);
        }
      }
      const l = first.logits[i]!;
      for (let k = 0; k < l.length; k++) if (Math.abs(l[k]!) > 1e-3) expect(alone.masks[0]![k], `set ${i} mask pixel ${k}`).toBe(first.masks[i]![k]);
    }
    report.push(`decoder: 4 identical runs bit-identical; N = 2 batch vs alone: max |diff| / max(1, max|ref|) = ${worst.toExponential(2)}`);
  });

  it('concurrent decodes on one model give what sequential ones give, also across plan evictions', async () => {
    const fakes = [fakeEmbedding(model, 300, 120, 5), fakeEmbedding(model, 97, 211, 7)];
    const jobs: [ImageEmbedding, PromptSet | PromptSet[]][] = [];
    // 14 calls over more distinct decoder plans (> 8) than the cache keeps.
    const embs = [phantom, phantom2, ...fakes];
    for (let i = 0; i < 14; i++) {
      const e = embs[i % embs.length]!;
      const w = e.frame.width;
      const h = e.frame.height;
      const box = [w * 0.1 + i, h * 0.2, w * 0.7, h * 0.9 - i] as const;
      const n = 1 + (i % 3);
      const set: PromptSet = i % 4 === 3 ? { points: [[w / 2, h / 2, 1], [w / 3, h / 4, 0]] } : { box, ...(i % 5 === 1 ? { maskInput: maskPrompt(i) } : {}) };
      jobs.push([e, n === 1 ? set : Array.from({ length: n }, () => set)]);
    }
    const sequential: DecodeResult[] = [];
    for (const [e, p] of jobs) sequential.push(await model.decode(e, p));
    const concurrent = await Promise.all(jobs.map(([e, p]) => model.decode(e, p)));
    concurrent.forEach((r, i) => expectSameResult(r, sequential[i]!, `call ${i}`));
    for (const f of fakes) f.destroy();
  });

  it(`${CYCLES} decode calls (plan cache hits, evictions, errors): no buffer growth`, async () => {
    const frames: [number, number][] = [[256, 256], [300, 120], [97, 211], [64, 64], [1000, 700], [33, 517]];
    const embs = frames.map(([w, h], i) => fakeEmbedding(model, w, h, 100 + i));
    // One round: 20 calls over 14 distinct decoder plans, plus calls that fail.
    const round = async (r: number): Promise<number> => {
      let calls = 0;
      for (let k = 0; k < 20; k++) {
        const e = k < 14 ? embs[k % embs.length]! : k % 2 ? phantom : tiny;
        const { width: w, height: h } = e.frame;
        const kind = k % 4;
        const set: PromptSet =
          kind === 0 ? { box: [w * 0.2, h * 0.2, w * 0.8, h * 0.8] }
          : kind === 1 ? { points: [[w * 0.5, h * 0.5, 1]] }
          : kind === 2 ? { box: [0, 0, w, h], points: [[w * 0.3, h * 0.6, 0]] }
          : { points: [[w * 0.4, h * 0.4, 1], [w * 0.1, h * 0.9, 0]], maskInput: maskPrompt(r * 20 + k) };
        const out = await model.decode(e, k % 7 === 6 ? [set, set] : set);
        expect(out.masks[0]!.length).toBe(w * h);
        calls++;
      }
      // Failing calls leave nothing behind either.
      await expect(model.decode(phantom, { box: [5, 5, 1, 1] })).rejects.toThrow(PromptError);
      const gone = fakeEmbedding(model, 50, 40, 999);
      gone.destroy();
      await expect(model.decode(gone, { box: [1, 1, 20, 20] })).rejects.toThrow(/destroyed/);
      return calls + 2;
    };
    let calls = 0;
    const t0 = performance.now();
    calls += await round(0);
    const afterFirst = t.live;
    const peakFirst = t.peak;
    const counts: number[] = [];
    for (let r = 1; calls < CYCLES; r++) {
      calls += await round(r);
      counts.push(t.live.buffers - baseline.buffers);
      expect(t.live, `live buffers after round ${r}`).toEqual(afterFirst);
    }
    expect(t.peak).toEqual(peakFirst);
    report.push(
      `${calls} decode calls in ${((performance.now() - t0) / 1000).toFixed(1)} s: live buffers after each round ` +
        `${[...new Set(counts)].join(', ')} (${((afterFirst.bytes - baseline.bytes) / 2 ** 20).toFixed(1)} MiB), peak ${peakFirst.buffers - baseline.buffers}; ` +
        `created ${t.created}, destroyed ${t.destroyed} buffers in all`,
    );
    for (const e of embs) e.destroy();
  });

  it('destroy() frees every buffer: an embedding its 2, the model the rest (baseline again)', async () => {
    const before = t.live.buffers;
    phantom2.destroy();
    expect(t.live.buffers).toBe(before - 2);
    phantom2.destroy(); // twice is harmless
    expect(t.live.buffers).toBe(before - 2);
    // phantom and tiny are still alive: the model frees them too.
    expect(model.liveEmbeddings).toBe(2);
    model.destroy();
    expect(tiny.destroyed && phantom.destroyed).toBe(true);
    expect(t.live).toEqual(baseline);
    report.push(`after model.destroy(): ${t.live.buffers - baseline.buffers} buffers, ${t.live.bytes - baseline.bytes} bytes above the baseline`);
    await expect(model.decode(phantom, { box: [1, 1, 9, 9] })).rejects.toThrow(/SamUnet was destroyed/);
    // A model destroyed while a decode runs: that decode rejects, and nothing is left.
    const m2 = await SamUnet.load(gpu, syntheticWeights('res34'));
    const e = fakeEmbedding(m2, 80, 60);
    await m2.decode(e, { box: [5, 5, 50, 40] });
    const pending = m2.decode(e, { box: [6, 5, 50, 40] });
    setTimeout(() => m2.destroy(), 20);
    const r = await pending.then(() => 'finished', (err: Error) => err.message);
    expect(r === 'finished' || /destroyed/.test(r)).toBe(true);
    e.destroy();
    m2.destroy();
    expect(t.live).toEqual(baseline);
  });
});
