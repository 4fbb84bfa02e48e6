// The GPU side of reliability: a lost device rejects pending and later calls with
// GpuDeviceLostError (and a new model loads on a new device); an adapter missing a limit is named;
// a plan or weight the device cannot hold (over a limit, out of memory) is a thrown error, not a
// plan that silently runs nothing; commands the device rejects never return stale outputs; bad
// weights on a real device leave no buffer behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkAdapter, GpuDeviceLostError, GpuResourceError, GpuUnavailableError, REQUIRED_LIMITS, requestGpu, type Gpu,
} from '../src/gpu/device.js';
import { Plan } from '../src/gpu/plan.js';
import { trackBuffers } from '../src/gpu/tracking.js';
import { syntheticWeights } from '../src/model/keys.js';
import { SamUnet } from '../src/model/sam_unet.js';
import { ModelWeights, WeightError, type WeightProvider } from '../src/model/weights.js';
import { add } from '../src/ops/elementwise.js';
import { fakeEmbedding } from './helpers/embedding.js';
import { testGpu } from './helpers/gpu.js';

/** A fake adapter: the real one's limits with some replaced or removed. */
function fakeAdapter(limits: Record<string, number | undefined>, features: string[] = []): GPUAdapter {
  const base: Record<string, number | undefined> = { ...REQUIRED_LIMITS };
  for (const [k, v] of Object.entries(limits)) base[k] = v;
  return { limits: base, features: new Set(features) } as unknown as GPUAdapter;
}

describe('adapter checks', () => {
  it('names every missing or too small limit and missing feature', () => {
    expect(() => checkAdapter(fakeAdapter({}))).not.toThrow();
    const missing = () => checkAdapter(fakeAdapter({ maxStorageBufferBindingSize: undefined }));
    expect(missing).toThrow(GpuUnavailableError);
    expect(missing).toThrow(/limit maxStorageBufferBindingSize is undefined, the model needs 134217728/);
    const small = () => checkAdapter(fakeAdapter({ maxComputeWorkgroupStorageSize: 8192, maxStorageBuffersPerShaderStage: 4 }), ['shader-f16']);
    expect(small).toThrow(/maxComputeWorkgroupStorageSize is 8192, the model needs 16384/);
    expect(small).toThrow(/maxStorageBuffersPerShaderStage is 4, the model needs 8/);
    expect(small).toThrow(/feature 'shader-f16' is missing/);
  });

  it('a requestGpu through a GPU whose adapter lacks a limit fails naming it', async () => {
    const fakeGpu = { requestAdapter: async () => fakeAdapter({ maxComputeInvocationsPerWorkgroup: 128 }) } as unknown as GPU;
    await expect(requestGpu({ gpu: fakeGpu })).rejects.toThrow(/maxComputeInvocationsPerWorkgroup is 128, the model needs 256/);
    const none = { requestAdapter: async () => null } as unknown as GPU;
    await expect(requestGpu({ gpu: none })).rejects.toThrow(GpuUnavailableError);
  });
});

describe('GPU limits and memory', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await testGpu();
  });

  it('a plan with a tensor over maxStorageBufferBindingSize is refused at build, naming it, with nothing allocated', async () => {
    const t = trackBuffers(gpu.device);
    try {
      const before = t.live.buffers;
      const p = new Plan(gpu, 'too-big');
      const n = Math.floor(gpu.device.limits.maxStorageBufferBindingSize / 4) + 1024;
      const x = p.input('x', [n]);
      p.output('y', add(p, x, x, 'big'));
      const err = await p.build().catch((e: Error) => e);
      expect(err).toBeInstanceOf(GpuResourceError);
      expect(String(err)).toMatch(/tensor '(x|big)' \[\d+\] needs \d+ bytes, more than this device's maxStorageBufferBindingSize/);
      expect(t.live.buffers).toBe(before);
      await expect(p.run({ x: new Float32Array(n) })).rejects.toThrow(/destroyed|not built/);
    } finally {
      t.stop();
    }
  });

  it('a buffer the device refuses (validation or out of memory) makes build() throw and frees what it made', async () => {
    const device = gpu.device;
    const t = trackBuffers(device);
    const before = t.live.buffers;
    // Make the plan's temporary ask for more than maxBufferSize: a real WebGPU validation error.
    const create = device.createBuffer;
    Object.defineProperty(device, 'createBuffer', {
      configurable: true,
      writable: true,
      value: (d: GPUBufferDescriptor) => create.call(device, d.label === 'temp:mid' ? { ...d, size: device.limits.maxBufferSize + 16 } : d),
    });
    try {
      const p = new Plan(gpu, 'refused');
      const x = p.input('x', [1024]);
      p.output('y', add(p, add(p, x, x, 'mid'), x, 'out'));
      const err = await p.build().catch((e: Error) => e);
      expect(err).toBeInstanceOf(GpuResourceError);
      expect(String(err)).toMatch(/plan 'refused': creating .* MiB of buffers: rejected by WebGPU: .*max buffer size/i);
    } finally {
      Object.defineProperty(device, 'createBuffer', { configurable: true, writable: true, value: create });
    }
    expect(t.live.buffers).toBe(before);

    // Out of memory: the device reports GPUOutOfMemoryError through the error scope.
    const pop = device.popErrorScope;
    let injected = false;
    let popCount = 0;
    Object.defineProperty(device, 'popErrorScope', {
      configurable: true,
      writable: true,
      value: function (this: GPUDevice) {
        const r = pop.call(device);
        // The out-of-memory scope is pushed first, so popped second; fail the first plan's.
        return r.then((e) => {
          if (!injected && e === null && popCount++ % 2 === 1) {
            injected = true;
            return new GPUOutOfMemoryError('simulated: not enough memory left for 4096 bytes');
          }
          return e;
        });
      },
    });
    try {
      const p = new Plan(gpu, 'oom');
      const x = p.input('x', [1024]);
      p.output('y', add(p, x, x));
      const err = await p.build().catch((e: Error) => e);
      expect(err).toBeInstanceOf(GpuResourceError);
      expect(String(err)).toMatch(/plan 'oom': creating .*: out of GPU memory: simulated/);
    } finally {
      delete (device as { popErrorScope?: unknown }).popErrorScope; // back to the prototype's
    }
    expect(t.live.buffers).toBe(before);
    t.stop();
  });

  it('weights the device cannot hold: load throws naming the weight, and frees every buffer', async () => {
    const device = gpu.device;
    const t = trackBuffers(device);
    const before = t.live.buffers;
    const create = device.createBuffer;
    const victim = 'image_encoder.sam_img_encoder.blocks.3.mlp.lin1.weight';
    Object.defineProperty(device, 'createBuffer', {
      configurable: true,
      writable: true,
      value: (d: GPUBufferDescriptor) => create.call(device, d.label === victim ? { ...d, size: device.limits.maxBufferSize + 16 } : d),
    });
    try {
      const err = await SamUnet.load(gpu, syntheticWeights('res34')).catch((e: Error) => e);
      expect(err).toBeInstanceOf(GpuResourceError);
      expect(String(err)).toContain(`uploading weight '${victim}'`);
    } finally {
      delete (device as { createBuffer?: unknown }).createBuffer;
      Object.defineProperty(device, 'createBuffer', { configurable: true, writable: true, value: create });
    }
    expect(t.live.buffers).toBe(before);
    t.stop();
  });

  it('bad values in the weights: WeightError naming key and index, and no buffer left', async () => {
    const t = trackBuffers(gpu.device);
    const before = t.live.buffers;
    const base = syntheticWeights('res34');
    /** The synthetic weights with v[index] = value for each key in `changes`. */
    const bad = (changes: Record<string, [number, number]>): WeightProvider => ({
      entries: base.entries,
      read: async (k) => {
        const v = await base.read(k);
        if (changes[k]) v[changes[k][0]] = changes[k][1];
        return v;
      },
    });
    try {
      // A late key, so that many buffers exist when the error comes.
      await expect(SamUnet.load(gpu, bad({ 'mask_decoder.hf_mlp.layers.2.weight': [17, NaN] }))).rejects.toThrow(
        /weight 'mask_decoder.hf_mlp.layers.2.weight' holds NaN at flat index 17/,
      );
      expect(t.live.buffers).toBe(before);
      const negVar = await ModelWeights.load(gpu, bad({ 'resnet.stage2.1.bn1.running_var': [3, -0.25] })).catch((e: Error) => e);
      expect(negVar).toBeInstanceOf(WeightError);
      expect(String(negVar)).toMatch(/running_var .* holds -0.25 at flat index 3; a variance cannot be negative/);
      // Finite inputs whose fold overflows float32: gamma 3e38 over sqrt(0 + eps).
      const overflow = bad({ 'resnet.stage0.1.weight': [0, 3e38], 'resnet.stage0.1.running_var': [0, 0] });
      await expect(ModelWeights.load(gpu, overflow)).rejects.toThrow(/'resnet.stage0.0.weight' folded with its BatchNorm gives a non-finite weight/);
      expect(t.live.buffers).toBe(before);
    } finally {
      t.stop();
    }
  });

  it('a run whose commands the device rejects throws instead of returning stale outputs', async () => {
    const p = new Plan(gpu, 'stale');
    const device = gpu.device;
    const ext = device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(ext, 0, new Float32Array(16).fill(1));
    const x = p.input('x', [16]);
    p.output('y', add(p, x, p.external(ext, [16], 'ext')));
    await p.build();
    const ok = await p.run({ x: new Float32Array(16).fill(2) });
    expect([...ok.y!]).toEqual(new Array(16).fill(3));
    ext.destroy();
    await expect(p.run({ x: new Float32Array(16).fill(5) })).rejects.toThrow(/plan 'stale' run: rejected by WebGPU/);
    p.destroy();
  });
});

describe('device loss', () => {
  let own: Gpu;
  afterAll(() => own?.device.destroy());

  it('a lost device rejects the pending and every later call; a new device works', async () => {
    own = await requestGpu();
    const model = await SamUnet.load(own, syntheticWeights('res34'));
    const emb = fakeEmbedding(model, 96, 64);
    const prompt = { box: [10, 10, 60, 50] as const };
    const first = await model.decode(emb, prompt);
    expect(first.masks[0]!.length).toBe(96 * 64);

    // Lost while a decode runs on the GPU.
    const pending = model.decode(emb, { box: [12, 10, 60, 50] });
    setTimeout(() => own.device.destroy(), 30);
    const err = await pending.catch((e: Error) => e);
    // (The decode may also have finished first on a fast device; then the next call must fail.)
    console.log(`[reliability-gpu] decode pending when the device was destroyed: ${err instanceof Error ? `rejected: ${err.name}: ${err.message}` : 'finished first'}`);
    if (err instanceof Error) {
      expect(err).toBeInstanceOf(GpuDeviceLostError);
      expect(err.message).toMatch(/the WebGPU device was lost \(destroyed/);
    }
    await own.device.lost;
    await expect(model.decode(emb, prompt)).rejects.toThrow(GpuDeviceLostError);
    await expect(model.decode(emb, prompt)).rejects.toThrow(/request a new device and load the model again/);
    await expect(model.encode({ width: 4, height: 4, data: new Uint8Array(48) })).rejects.toThrow(GpuDeviceLostError);
    await expect(SamUnet.load(own, syntheticWeights('res34'))).rejects.toThrow(GpuDeviceLostError);
    emb.destroy();
    model.destroy();

    // A new device and a new model work, and give the same mask as before the loss.
    const fresh = await requestGpu();
    try {
      const m2 = await SamUnet.load(fresh, syntheticWeights('res34'));
      const e2 = fakeEmbedding(m2, 96, 64);
      const again = await m2.decode(e2, prompt);
      expect(Buffer.from(again.logits[0]!.buffer).equals(Buffer.from(first.logits[0]!.buffer))).toBe(true);
      e2.destroy();
      m2.destroy();
    } finally {
      fresh.device.destroy();
    }
  });

  it('a device destroyed right after a call is made still rejects that call', async () => {
    const g = await requestGpu();
    const model = await SamUnet.load(g, syntheticWeights('res34'));
    const emb = fakeEmbedding(model, 40, 30);
    await model.decode(emb, { points: [[5, 5, 1]] });
    const p = model.decode(emb, { points: [[6, 5, 1]] });
    g.device.destroy(); // before the run is even submitted
    await expect(p).rejects.toThrow(GpuDeviceLostError);
    model.destroy();
  });
});
