// Bad inputs must give an error naming the problem, never a crash or a silently wrong mask:
// images (corrupt / truncated PNG and JPEG, greyscale and RGBA, 1×1, very elongated, very large:
// the logits limit of the device, and the decode chunking that keeps any number of prompt sets
// within it) and prompts (src/model/prompts.ts: each case works as documented or throws a
// PromptError naming the argument).
import jpeg from 'jpeg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../src/gpu/device.js';
import { decodeImage, encodePng, ImageDecodeError } from '../src/image/decode.js';
import { imageFrame } from '../src/model/frame.js';
import { MAX_POINTS, PromptError, promptTokensOf, type PromptSet } from '../src/model/prompts.js';
import { syntheticWeights } from '../src/model/keys.js';
import { ImageEmbedding, ImageInputError, MAX_DECODE_BATCH, MAX_INPUT_SIDE, maxLogitsPixels, SamUnet } from '../src/model/sam_unet.js';
import { fakeEmbedding } from './helpers/embedding.js';
import { rand, testGpu } from './helpers/gpu.js';

const rgb = (w: number, h: number, fill = 90) => ({ width: w, height: h, data: new Uint8Array(w * h * 3).fill(fill) });

function expectError<E extends Error>(fn: () => unknown, cls: new (...a: never[]) => E, message: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${cls.name} ${message}`).toBeInstanceOf(cls);
  expect((err as Error).message).toMatch(message);
}

describe('images: sizes and layouts (SamUnet.prepare)', () => {
  it('1×1 works: it resizes to 256×256', () => {
    const { input, frame } = SamUnet.prepare({ width: 1, height: 1, data: Uint8Array.of(200, 120, 40) });
    expect(frame).toEqual({ width: 1, height: 1, inputW: 256, inputH: 256 });
    expect(input.length).toBe(3 * 256 * 256);
    expect(input.every(Number.isFinite)).toBe(true);
  });

  it('an image too elongated for a side to survive the resize is an ImageInputError, not a RangeError', () => {
    expect(SamUnet.prepare(rgb(512, 1)).frame).toEqual({ width: 512, height: 1, inputW: 256, inputH: 1 });
    expect(SamUnet.prepare(rgb(1, 512)).frame).toEqual({ width: 1, height: 512, inputW: 1, inputH: 256 });
    expectError(() => SamUnet.prepare(rgb(513, 1)), ImageInputError, /513×1 is too elongated: .* short side would be 0 pixels \(at most 512:1\)/);
    expectError(() => SamUnet.prepare(rgb(1000, 1)), ImageInputError, /1000×1 is too elongated/);
    expectError(() => SamUnet.prepare(rgb(3, 8000)), ImageInputError, /3×8000 is too elongated/);
  });

  it('bad sizes, over the side limit, wrong layouts: named errors', () => {
    for (const [w, h] of [[0, 5], [5, 0], [-1, 5], [1.5, 4], [NaN, 4], [Infinity, 3]] as const) {
      expectError(() => SamUnet.prepare({ width: w, height: h, data: new Uint8Array(12) }), ImageInputError, /bad size/);
    }
    expectError(() => SamUnet.prepare({ width: MAX_INPUT_SIDE + 1, height: 100, data: new Uint8Array(0) }), ImageInputError, /exceeds the 8192-pixel side limit/);
    expectError(() => SamUnet.prepare({ width: 4, height: 4, data: new Uint8Array(64) }), ImageInputError, /64 bytes for 4×4 RGB, which needs 48 \(this looks like RGBA/);
    expectError(() => SamUnet.prepare({ width: 4, height: 4, data: new Uint8Array(16) }), ImageInputError, /this looks like greyscale/);
    expectError(() => SamUnet.prepare({ width: 2, height: 2, data: new Float32Array(12) as unknown as Uint8Array }), ImageInputError, /must be a Uint8Array/);
    expectError(() => SamUnet.prepare(null as never), ImageInputError, /expected \{ width, height, data \}/);
  });
});

describe('images: files (decodeImage → prepare)', () => {
  it('greyscale, RGB and RGBA PNG, and a 1×1 PNG and JPEG, decode to RGB the model takes', () => {
    const w = 7;
    const h = 5;
    const grey = Uint8Array.from({ length: w * h }, (_, i) => (i * 37) & 255);
    const g = decodeImage(encodePng(w, h, grey, 1));
    expect([g.width, g.height, g.data.length]).toEqual([w, h, w * h * 3]);
    expect([g.data[3], g.data[4], g.data[5]]).toEqual([37, 37, 37]);
    const rgba = Uint8Array.from({ length: w * h * 4 }, (_, i) => (i * 11) & 255);
    const a = decodeImage(encodePng(w, h, rgba, 4));
    expect([a.data[0], a.data[1], a.data[2], a.data[3]]).toEqual([rgba[0], rgba[1], rgba[2], rgba[4]]); // alpha dropped
    for (const img of [g, a, decodeImage(encodePng(1, 1, Uint8Array.of(9, 8, 7), 3))]) expect(SamUnet.prepare(img).frame.inputW).toBeGreaterThan(0);
    const j = decodeImage(new Uint8Array(jpeg.encode({ width: 1, height: 1, data: Uint8Array.of(200, 100, 50, 255) }, 90).data));
    expect([j.width, j.height, j.data.length]).toEqual([1, 1, 3]);
    expect(SamUnet.prepare(j).frame).toEqual({ width: 1, height: 1, inputW: 256, inputH: 256 });
  });

  it('every truncation and random corruption of a PNG and a JPEG is an ImageDecodeError or a correct-size image', () => {
    const w = 24;
    const h = 16;
    const px = Uint8Array.from({ length: w * h * 4 }, (_, i) => (i * 13 + (i >> 6)) & 255);
    const png = encodePng(w, h, px.subarray(0, w * h * 3), 3);
    const jpg = new Uint8Array(jpeg.encode({ width: w, height: h, data: px }, 85).data);
    const r = rand(4000, 77, 0, 1);
    let k = 0;
    const tally = { png: { error: 0, image: 0 }, jpeg: { error: 0, image: 0 } };
    for (const [name, file] of [['png', png], ['jpeg', jpg]] as const) {
      const variants: Uint8Array[] = [];
      for (let n = 0; n < file.length; n += Math.max(1, Math.floor(file.length / 150))) variants.push(file.subarray(0, n));
      for (let i = 0; i < 300; i++) {
        const b = file.slice();
        for (let f = 1 + Math.floor(r[k++ % r.length]! * 4); f > 0; f--) b[Math.floor(r[k++ % r.length]! * b.length)] = Math.floor(r[k++ % r.length]! * 256);
        variants.push(b);
      }
      for (const v of variants) {
        let img;
        try {
          img = decodeImage(v);
        } catch (e) {
          expect(e, `${name}: ${(e as Error).message}`).toBeInstanceOf(ImageDecodeError);
          tally[name].error++;
          continue;
        }
        // JPEG has no checksum: a flipped byte in the entropy data decodes to other pixels.
        expect(img.data.length).toBe(img.width * img.height * 3);
        expect(() => SamUnet.prepare(img)).not.toThrow();
        tally[name].image++;
      }
    }
    console.log(`[reliability-inputs] corrupted files: ${JSON.stringify(tally)}`);
    expect(tally.png.image).toBeLessThanOrEqual(5); // PNG chunks are CRC-checked: almost every corruption is caught
  });
});

describe('prompts (src/model/prompts.ts)', () => {
  const f = imageFrame(200, 100);
  const rejects = (set: unknown, message: RegExp) => expectError(() => promptTokensOf(set as PromptSet, f, 'prompt'), PromptError, message);

  it('boxes: partly outside works as given; wholly or far outside, reversed, empty, non-finite are named errors', () => {
    const t = promptTokensOf({ box: [-20, -10, 100, 60] }, f);
    expect(t).toEqual([[-20 * 1.28, -10 * 1.28, 2], [100 * 1.28, 60 * 1.28, 3]]);
    expect(promptTokensOf({ box: [150, 50, 400, 200] }, f).length).toBe(2); // up to one image size outside
    rejects({ box: [210, 0, 300, 50] }, /prompt\.box: \[210,0,300,50\] lies wholly outside the 200×100 image/);
    rejects({ box: [-50, -40, -1, 20] }, /prompt\.box: .* lies wholly outside/);
    rejects({ box: [10, 10, 1e6, 50] }, /prompt\.box: .* reaches more than one image size outside .*corners must lie in \[-200, 400\] × \[-100, 200\]/);
    rejects({ box: [-1e300, 0, 10, 10] }, /prompt\.box: .* more than one image size outside/);
    rejects({ box: [50, 10, 20, 40] }, /prompt\.box: needs x0 < x1 and y0 < y1, got \[50,10,20,40\]/);
    rejects({ box: [20, 10, 20, 40] }, /needs x0 < x1/);
    rejects({ box: [20, 40, 30, 10] }, /needs x0 < x1 and y0 < y1/);
    rejects({ box: [NaN, 0, 10, 10] }, /prompt\.box: coordinates must be finite numbers/);
    rejects({ box: [0, 0, Infinity, 10] }, /prompt\.box: coordinates must be finite/);
    rejects({ box: [0, 0, '10', 10] }, /prompt\.box: coordinates must be finite/);
    rejects({ box: [0, 0, 10] }, /prompt\.box: expected \[x0, y0, x1, y1\]/);
    rejects({ box: new Float32Array([0, 0, 10, 10]) }, /prompt\.box: expected \[x0, y0, x1, y1\]/);
  });

  it('points: outside, non-finite, bad labels, too many: named errors; MAX_POINTS is accepted', () => {
    expect(promptTokensOf({ points: [[0, 0, 1], [200, 100, 0]] }, f)).toEqual([[0, 0, 1], [256, 128, 0], [0, 0, -1]]);
    rejects({ points: [[201, 50, 1]] }, /prompt\.points\[0\]: \(201, 50\) is outside the 200×100 image/);
    rejects({ points: [[10, 10, 1], [5, -1, 1]] }, /prompt\.points\[1\]: \(5, -1\) is outside/);
    rejects({ points: [[NaN, 10, 1]] }, /prompt\.points\[0\]: coordinates must be finite numbers, got \(NaN, 10\)/);
    rejects({ points: [[10, -Infinity, 1]] }, /points\[0\]: coordinates must be finite/);
    for (const label of [2, 3, -1, 0.5, NaN, true, '1', null]) {
      rejects({ points: [[10, 10, label]] }, /prompt\.points\[0\]: label must be 1 \(foreground\) or 0 \(background\)/);
    }
    rejects({ points: [[10, 10]] }, /points\[0\]: expected \[x, y, label\]/);
    rejects({ points: [10, 10, 1] }, /points\[0\]: expected \[x, y, label\]/);
    rejects({ points: 'x' }, /prompt\.points: expected an array/);
    const many = Array.from({ length: MAX_POINTS + 1 }, (_, i) => [i % 200, i % 100, i % 2] as const);
    rejects({ points: many }, new RegExp(`prompt\\.points: ${MAX_POINTS + 1} points, at most ${MAX_POINTS} are allowed`));
    expect(promptTokensOf({ points: many.slice(0, MAX_POINTS) }, f).length).toBe(MAX_POINTS + 1);
  });

  it('no prompt, unknown fields, bad mask prompts: named errors', () => {
    rejects({}, /prompt: needs a box or at least one point/);
    rejects({ points: [] }, /needs a box or at least one point/);
    rejects({ maskInput: new Float32Array(4096) }, /needs a box or at least one point/);
    rejects(null, /prompt: expected an object/);
    rejects([10, 10, 50, 50], /prompt: expected an object .* got an array/);
    rejects({ boxes: [[0, 0, 10, 10]] }, /prompt: unknown field 'boxes'/);
    rejects({ box: [0, 0, 10, 10], mask_input: new Float32Array(4096) }, /prompt: unknown field 'mask_input'/);
    rejects({ box: [0, 0, 10, 10], maskInput: new Float32Array(4095) }, /prompt\.maskInput: expected a Float32Array of 64×64 logits, got 4095 values/);
    rejects({ box: [0, 0, 10, 10], maskInput: new Float64Array(4096) }, /prompt\.maskInput: expected a Float32Array/);
    rejects({ box: [0, 0, 10, 10], maskInput: new Float32Array(256 * 256) }, /maskInput: expected a Float32Array of 64×64/);
    const nan = new Float32Array(4096);
    nan[1234] = NaN;
    rejects({ box: [0, 0, 10, 10], maskInput: nan }, /prompt\.maskInput: value NaN at index 1234/);
    nan[1234] = -Infinity;
    rejects({ box: [0, 0, 10, 10], maskInput: nan }, /maskInput: value -Infinity at index 1234/);
  });
});

describe('decode with bad prompts, limits and chunking (res34 synthetic weights, decoder only)', () => {
  let gpu: Gpu;
  let model: SamUnet;
  let emb: ImageEmbedding;
  beforeAll(async () => {
    gpu = await testGpu();
    model = await SamUnet.load(gpu, syntheticWeights('res34'));
    emb = fakeEmbedding(model, 200, 100);
  });
  afterAll(() => {
    emb?.destroy();
    model?.destroy();
  });

  it('a batch with one bad set names it and runs nothing; no prompt at all is a PromptError', async () => {
    const good: PromptSet = { box: [10, 10, 90, 60] };
    await expect(model.decode(emb, [good, good, { box: [10, 10, 5, 60] }])).rejects.toThrow(/prompts\[2\]\.box: needs x0 < x1/);
    await expect(model.decode(emb, [good, { points: [[10, 10, 7]] }])).rejects.toThrow(/prompts\[1\]\.points\[0\]: label must be 1/);
    await expect(model.decode(emb, [])).rejects.toThrow(PromptError);
    await expect(model.decode(emb, undefined as never)).rejects.toThrow(PromptError);
    await expect(model.decode(emb, null as never)).rejects.toThrow(PromptError);
    await expect(model.decode({} as ImageEmbedding, good)).rejects.toThrow(/must be an ImageEmbedding/);
  });

  it('documented cases work: a box partly outside, MAX_POINTS points, a mask prompt; 1×1 and 512×1 frames', async () => {
    const out = await model.decode(emb, [
      { box: [-30, -20, 120, 80] },
      { points: Array.from({ length: MAX_POINTS }, (_, i) => [(i * 37) % 200, (i * 11) % 100, i % 2] as const) },
      { box: [20, 20, 120, 90], maskInput: rand(4096, 5, -3, 3) },
    ]);
    expect(out.masks.map((m) => m.length)).toEqual([20000, 20000, 20000]);
    for (const l of out.logits) expect(l.every(Number.isFinite)).toBe(true);
    for (const [w, h] of [[1, 1], [512, 1], [1, 512]] as const) {
      const e = fakeEmbedding(model, w, h, 9);
      const r = await model.decode(e, { box: [0, 0, w, h] });
      expect(r.masks[0]!.length).toBe(w * h);
      e.destroy();
    }
  });

  it('an image whose H·W logits cannot fit one binding is refused before any work, naming the limit', async () => {
    const max = maxLogitsPixels(gpu);
    expect(max).toBe(Math.floor(Math.min(gpu.device.limits.maxStorageBufferBindingSize, gpu.device.limits.maxBufferSize) / 4));
    console.log(`[reliability-inputs] this device: logits of at most ${max} pixels per image (maxStorageBufferBindingSize ${gpu.device.limits.maxStorageBufferBindingSize})`);
    if (MAX_INPUT_SIDE * MAX_INPUT_SIDE <= max) {
      console.warn('[reliability-inputs] every image within MAX_INPUT_SIDE fits this device: the over-limit case cannot be made');
      return;
    }
    const side = MAX_INPUT_SIDE;
    const h = Math.min(MAX_INPUT_SIDE, Math.floor(max / side) + 1); // just over the limit
    const big = { width: side, height: h, data: new Uint8Array(side * h * 3) };
    const t0 = performance.now();
    const err = await model.encode(big).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ImageInputError);
    expect(String(err)).toMatch(new RegExp(`${side}×${h} = ${side * h} pixels; its logits .* do not fit one GPU storage binding on this device \\(maxStorageBufferBindingSize ${gpu.device.limits.maxStorageBufferBindingSize} bytes`));
    expect(performance.now() - t0).toBeLessThan(2000); // refused before the encoder runs
    const { input } = SamUnet.prepare(rgb(4, 4));
    await expect(model.encodeInput(input, imageFrame(side, h))).rejects.toThrow(/do not fit one GPU storage binding/);
    // An embedding for such a frame (made by hand) cannot be decoded either.
    const e = fakeEmbedding(model, side, h);
    await expect(model.decode(e, { box: [0, 0, 100, 100] })).rejects.toThrow(/decode: .* do not fit one GPU storage binding/);
    e.destroy();
  });

  it('encodeInput checks its input and frame', async () => {
    const { input } = SamUnet.prepare(rgb(4, 4));
    await expect(model.encodeInput(input.subarray(1), imageFrame(4, 4))).rejects.toThrow(/input must be a Float32Array of 1×3×256×256 = 196608 values, got 196607/);
    const bad = input.slice();
    bad[100] = NaN;
    await expect(model.encodeInput(bad, imageFrame(4, 4))).rejects.toThrow(/input holds NaN at index 100/);
    await expect(model.encodeInput(input, { width: 4, height: 4, inputW: 200, inputH: 256 })).rejects.toThrow(/resizes to 256×256, but the frame says 200×256/);
    await expect(model.encodeInput(input, { width: 1000, height: 1, inputW: 256, inputH: 0 })).rejects.toThrow(ImageInputError);
  });

  it(`many prompt sets run in chunks of at most ${MAX_DECODE_BATCH}, each set as it decodes alone`, async () => {
    const n = MAX_DECODE_BATCH + 2;
    const sets: PromptSet[] = Array.from({ length: n }, (_, i) => ({ box: [5 + (i % 40), 5 + (i % 20), 120 + (i % 70), 60 + (i % 35)] }));
    const all = await model.decode(emb, sets);
    expect(all.n).toBe(n);
    expect(all.masks.every((m) => m.length === 20000)).toBe(true);
    for (const i of [0, MAX_DECODE_BATCH - 1, MAX_DECODE_BATCH, n - 1]) {
      const alone = await model.decode(emb, sets[i]!);
      let d = 0;
      for (let k = 0; k < 20000; k++) d = Math.max(d, Math.abs(alone.logits[0]![k]! - all.logits[i]![k]!));
      expect(d, `set ${i}`).toBeLessThan(1e-3);
      for (let k = 0; k < 20000; k++) {
        if (Math.abs(all.logits[i]![k]!) > 1e-2) expect(alone.masks[0]![k]).toBe(all.masks[i]![k]);
      }
    }
  });

  it('sets whose logits together exceed one binding are split by the limit (large image)', async () => {
    const max = maxLogitsPixels(gpu);
    // A frame where exactly 2 sets fit one binding: H·W in (max/3, max/2].
    const width = 4096;
    const height = Math.floor(max / 2 / width);
    if (height > MAX_INPUT_SIDE || height * width * 3 <= max) {
      console.warn('[reliability-inputs] this device\'s binding limit is too large for a limit-driven split within MAX_INPUT_SIDE');
      return;
    }
    const e = fakeEmbedding(model, width, height, 21);
    const sets: PromptSet[] = [0, 1, 2].map((i) => ({ box: [100 + 200 * i, 100, 2000 + 300 * i, height - 100 - 50 * i] }));
    const t0 = performance.now();
    const out = await model.decode(e, sets);
    console.log(`[reliability-inputs] 3 sets on ${width}×${height} (${((width * height * 4) / 2 ** 20).toFixed(0)} MiB of logits each; 2 per GPU run) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(out.logits.map((l) => l.length)).toEqual([width * height, width * height, width * height]);
    const last = await model.decode(e, sets[2]!);
    expect(Buffer.from(last.lowResLogits[0]!.buffer).equals(Buffer.from(out.lowResLogits[2]!.buffer))).toBe(true); // ran alone both times
    e.destroy();
  });
});
