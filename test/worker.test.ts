// SamUnetWorker against its host over a real MessageChannel (structured clone and transfer as a
// Worker does them; the Worker itself runs in chromium.test.ts), on the test device:
// - errors cross as the library's own classes, with their messages and fields;
// - a load stopped by an AbortSignal or by a later load() rejects with an AbortError and frees
//   what it had uploaded; progress reaches the total;
// - the golden res34 case (a PNG File decoded in the worker, box + point + mask prompt) decodes to
//   PyTorch's low_res_logits within the golden tolerance; results arrive as transferred arrays;
// - handles: a destroyed embedding frees its GPU buffers; destroy() rejects what is in flight.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeImage, GpuDeviceLostError, GpuUnavailableError, ImageDecodeError, ImageInputError, PlanError, PromptError, SafetensorsError, serializeSafetensors,
  PthError, sheppLogan, trackBuffers, WeightError, type BufferTracker, type Gpu, type LoadProgress,
} from '../src/index.js';
import { SamUnetWorker, type WorkerEmbedding } from '../src/worker/client.js';
import { serveSamUnet } from '../src/worker/host.js';
import { fromWire, SamUnetWorkerError, toWire } from '../src/worker/protocol.js';
import { readGoldenTensor } from './helpers/golden-raw.js';
import { maxAbsDiff, testGpu } from './helpers/gpu.js';
import { goldenCases, goldenPath, itShared } from './helpers/shared.js';

/** A client and host joined by a MessageChannel; the host gets `requestGpu`'s device. */
function channel(requestGpu: () => Promise<Gpu>): { client: Promise<SamUnetWorker>; close(): void } {
  const { port1, port2 } = new MessageChannel();
  serveSamUnet(port2, { requestGpu });
  return {
    client: SamUnetWorker.create(port1),
    close: () => {
      port1.close();
      port2.close();
    },
  };
}

/** Waits until `ok()` holds (the worker frees things after it answers). */
async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const t0 = performance.now();
  while (!ok()) {
    if (performance.now() - t0 > ms) throw new Error(`${what}: not so after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const rejection = (p: Promise<unknown>): Promise<Error> => p.then(() => { throw new Error('expected a rejection'); }, (e: Error) => e);

describe('worker protocol: errors by class', () => {
  it('every library error class comes back as itself, with its message and fields', () => {
    const errors: Error[] = [
      new PromptError('p'), new ImageInputError('i'), new WeightError('w'), new SafetensorsError('s'), new GpuUnavailableError('g'),
      new ImageDecodeError('truncated', 'd'), new GpuDeviceLostError('lost', 'destroyed'), new PlanError('plan'), new SamUnetWorkerError('x'), new RangeError('r'),
      new DOMException('stop', 'AbortError'),
    ];
    for (const e of errors) {
      const back = fromWire(structuredClone(toWire(e)));
      expect(back.constructor, e.name).toBe(e.constructor);
      expect([back.name, back.message]).toEqual([e.name, e.message]);
    }
    expect((fromWire(toWire(new ImageDecodeError('truncated', 'd'))) as ImageDecodeError).reason).toBe('truncated');
    expect((fromWire(toWire(new GpuDeviceLostError('lost', 'destroyed'))) as GpuDeviceLostError).reason).toBe('destroyed');
    const odd = fromWire({ name: 'OddError', message: 'm' });
    expect([odd instanceof Error, odd.name, odd.message]).toEqual([true, 'OddError', 'm']);
  });
});

describe('SamUnetWorker over a MessageChannel', () => {
  let gpu: Gpu;
  let sam: SamUnetWorker;
  let close: () => void;
  let track: BufferTracker;
  const cases = goldenCases().filter((c) => c.variant === 'res34');

  beforeAll(async () => {
    gpu = await testGpu();
    track = trackBuffers(gpu.device);
    const c = channel(async () => gpu);
    close = c.close;
    sam = await c.client;
  });

  afterAll(() => {
    sam?.destroy();
    close?.();
    track?.stop();
  });

  it('create: the worker has the device; a worker without WebGPU rejects with its GpuUnavailableError', async () => {
    expect(sam.adapter.name).toBe(gpu.info.name);
    const none = channel(async () => {
      throw new GpuUnavailableError('no adapter here');
    });
    const e = await rejection(none.client);
    none.close();
    expect(e).toBeInstanceOf(GpuUnavailableError);
    expect(e.message).toBe('no adapter here');
  });

  it('errors from the worker are the library classes with the library messages', async () => {
    expect(await rejection(sam.encode(sheppLogan(32)))).toSatisfy((e: Error) => e instanceof SamUnetWorkerError && /no model is loaded/.test(e.message));
    const junk = new Uint8Array([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0, 0]);
    const direct = (() => { try { decodeImage(junk); } catch (e) { return e as ImageDecodeError; } })()!;
    const viaWorker = await rejection(sam.openImage(new Blob([junk])));
    expect(viaWorker).toBeInstanceOf(ImageDecodeError);
    expect([viaWorker.message, (viaWorker as ImageDecodeError).reason]).toEqual([direct.message, 'unsupported-format']);
    expect(await rejection(sam.openImage({ width: 4, height: 4, data: new Uint8Array(10) }, { bitmap: true }))).toBeInstanceOf(SamUnetWorkerError); // no createImageBitmap in Node
    expect(await rejection(sam.load({ kind: 'blob', blob: new Blob(['not a safetensors file']) }))).toBeInstanceOf(SafetensorsError);
    const wrongKeys = serializeSafetensors([{ name: 'resnet.conv1.weight', dtype: 'F32', shape: [2], data: new Float32Array(2) }]);
    const w = await rejection(sam.load({ kind: 'blob', blob: new Blob([wrongKeys]) }));
    expect(w).toBeInstanceOf(WeightError);
    expect(w.message).toMatch(/key\(s\) missing/);
    expect(await rejection(sam.load({ kind: 'synthetic', variant: 'res99' as 'res50' }))).toBeInstanceOf(WeightError);
    // A .pth Blob is read as a PyTorch checkpoint (told by its bytes, not its name): torch.save's
    // tiny seed holds other keys (a WeightError, not a SafetensorsError); a cut one is a PthError.
    const seed = readFileSync(join(import.meta.dirname, 'fuzz', 'seeds', 'pth', 'upstream.pth'));
    const pthKeys = await rejection(sam.load({ kind: 'blob', blob: new Blob([seed]) }));
    expect(pthKeys).toBeInstanceOf(WeightError);
    expect(pthKeys.message).toMatch(/not a SAM-UNet state_dict/);
    expect(await rejection(sam.load({ kind: 'blob', blob: new Blob([seed.subarray(0, seed.length - 30)]) }))).toBeInstanceOf(PthError);
    expect(await rejection(sam.load({ kind: 'pth' } as never))).toSatisfy((e: Error) => e instanceof SamUnetWorkerError && /unknown weight source "pth"/.test(e.message));
    expect(await rejection(sam.openImage({ phantom: 0 }))).toBeInstanceOf(ImageInputError);
    const phantom = await sam.openImage({ phantom: 24 });
    expect([phantom.width, phantom.height]).toEqual([24, 24]);
    phantom.destroy();
    // An RGB image moved, not copied: the caller's buffer is detached.
    const img = sheppLogan(48);
    const opened = await sam.openImage(img, { transfer: true });
    expect([opened.width, opened.height, opened.bitmap, img.data.byteLength]).toEqual([48, 48, null, 0]);
    opened.destroy();
  });

  it('load: an AbortSignal stops it at once and the worker frees what it uploaded; a later load() stops a running one', async () => {
    const base = track.live.buffers;
    const ac = new AbortController();
    let seen = 0;
    const stopped = rejection(sam.load({ kind: 'synthetic', variant: 'res34' }, {
      signal: ac.signal,
      onProgress: () => {
        if (++seen === 2) ac.abort();
      },
    }));
    const e = await stopped;
    expect(e.name).toBe('AbortError');
    await until('the stopped load frees its buffers', () => track.live.buffers === base);
    expect(await rejection(sam.encode(sheppLogan(32)))).toSatisfy((e: Error) => /no model is loaded/.test(e.message));

    const first = rejection(sam.load({ kind: 'synthetic', variant: 'res34' }));
    const progress: LoadProgress[] = [];
    const info = await sam.load({ kind: 'synthetic', variant: 'res34' }, { onProgress: (p) => progress.push(p) });
    const replaced = await first;
    expect([replaced.name, replaced.message]).toEqual(['AbortError', 'replaced by a later load()']);
    expect(info).toMatchObject({ variant: 'res34', precision: 'f32', unexpected: [] });
    expect(info.bytes).toBeGreaterThan(100e6);
    expect(progress.length).toBeGreaterThan(3);
    expect(progress.at(-1)!.loaded).toBe(progress.at(-1)!.total);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.loaded).toBeGreaterThan(progress[i - 1]!.loaded);
    console.log(`[worker] synthetic res34 loaded through the worker: ${(info.bytes / 2 ** 20).toFixed(0)} MiB in ${info.bufferCount} buffers, ${progress.length} progress messages`);
  }, 300_000);

  let emb: WorkerEmbedding | null = null;

  itShared('the golden res34 case: a PNG File decoded in the worker, box + point + mask prompt, matches PyTorch', async () => {
    expect(cases.length).toBe(1);
    const c = cases[0]!;
    const file = join(goldenPath, `${c.name}.safetensors`);
    const image = await sam.openImage(new Blob([readFileSync(join(goldenPath, c.image))]));
    expect([image.height, image.width]).toEqual(c.original_size);
    const t0 = performance.now();
    emb = await sam.encode(image);
    const encodeMs = performance.now() - t0;
    image.destroy();
    expect([emb.frame.inputH, emb.frame.inputW]).toEqual(c.input_size);
    const maskInput = readGoldenTensor(file, 'input.mask_inputs').data as Float32Array;
    const r = await sam.decode(emb, [{ box: c.boxes![0]!, points: c.points!, maskInput }]);
    expect(r.lowResLogits[0]).toBeInstanceOf(Float32Array);
    expect(r.masks[0]).toBeInstanceOf(Uint8Array);
    expect([r.n, r.width, r.height, r.logits[0]!.length, r.overlays]).toEqual([1, c.original_size[1], c.original_size[0], c.original_size[0] * c.original_size[1], null]);
    const low = maxAbsDiff(r.lowResLogits[0]!, readGoldenTensor(file, 'low_res_logits').data as Float32Array);
    expect(low.maxAbs).toBeLessThanOrEqual(2e-3);
    const ref = readGoldenTensor(file, 'logits').data as Float32Array;
    let differ = 0;
    ref.forEach((v, i) => (differ += Math.abs(v) > 1e-2 && (v > 0) !== (r.masks[0]![i] === 1) ? 1 : 0));
    expect(differ).toBe(0);
    expect(r.areas[0]).toBe(r.masks[0]!.reduce((a, b) => a + b, 0));
    console.log(`[worker] golden ${c.name}: encode ${encodeMs.toFixed(0)} ms; low_res_logits max |Δ| ${low.maxAbs.toExponential(2)}; mask ${r.areas[0]} px`);

    // Prompt errors come back as PromptError, with SamUnet's messages.
    const bad = await rejection(sam.decode(emb, { box: [50, 50, 40, 60] }));
    expect(bad).toBeInstanceOf(PromptError);
    expect(bad.message).toMatch(/x0/);
    expect(await rejection(sam.decode(emb, [{ points: [[Number.NaN, 3, 1]] }]))).toBeInstanceOf(PromptError);
    expect(await rejection(sam.decode(emb, { box: c.boxes![0]! }, { overlay: [255, 0, 0, 128] }))).toSatisfy((e: Error) => e instanceof SamUnetWorkerError && /createImageBitmap/.test(e.message));
  }, 600_000);

  itShared('encode: an AbortSignal rejects at once; the worker frees the embedding it finishes', async () => {
    expect(emb, 'needs the golden case above').not.toBeNull();
    const { live: { buffers: before }, created } = track;
    const ac = new AbortController();
    const p = rejection(sam.encode({ phantom: 32 }, { signal: ac.signal }));
    ac.abort();
    expect((await p).name).toBe('AbortError');
    await until('the cancelled encode made its buffers and freed them', () => track.created > created && track.live.buffers === before, 120_000);
  }, 300_000);

  itShared('handles: a destroyed embedding frees its GPU buffers; a later load() makes old embeddings dead', async () => {
    expect(emb, 'needs the golden case above').not.toBeNull();
    const before = track.live.buffers;
    emb!.destroy();
    expect(emb!.destroyed).toBe(true);
    await until('the embedding buffers are freed', () => track.live.buffers === before - 2);
    expect(await rejection(sam.decode(emb!, { box: [1, 1, 9, 9] }))).toBeInstanceOf(SamUnetWorkerError);
  });

  it('destroy(): calls in flight and later calls reject; the host frees the model', async () => {
    const base = track.live.buffers;
    const c = channel(async () => gpu);
    const other = await c.client;
    const loading = rejection(other.load({ kind: 'synthetic', variant: 'res34' }));
    await new Promise((r) => setTimeout(r, 200));
    other.destroy();
    expect(await loading).toSatisfy((e: Error) => e instanceof SamUnetWorkerError && /destroyed/.test(e.message));
    expect(await rejection(other.decode(null as never, {}))).toBeInstanceOf(SamUnetWorkerError);
    expect(await rejection(other.load({ kind: 'synthetic', variant: 'res34' }))).toBeInstanceOf(SamUnetWorkerError);
    await until('the destroyed client\'s model is freed', () => track.live.buffers <= base);
    c.close();
  }, 120_000);
});
