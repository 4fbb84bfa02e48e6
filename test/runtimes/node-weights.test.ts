// Streamed weight loading and fp16 weight files, in Node.
// - fetchWeights over HTTP: a whole download streams tensor by tensor; a cut one fails.
// - A file in safetensors' own order (tensors sorted by name, as Python's save_file writes them:
//   a ResNet block's BatchNorms before its convs) streamed into GPU buffers gives exactly the
//   buffers of the random-access loader.
// - fp16 weights (synthetic res34 rounded to float16) on the res34 golden case. Measured on
//   lavapipe: low_res_logits max |Δ| 1.9e-3 against the fp32 reference (fp32 weights: 3.3e-6),
//   logits 1.5e-3, and no mask pixel differs where |ref logit| > 1e-2 (24 of 34 875 differ
//   closer to 0). Bounds asserted: low_res_logits ≤ 5e-3, logits ≤ 5e-3, masks equal where
//   |ref logit| > 1e-2.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchWeights } from '../../src/browser/index.js';
import { safetensorsWeights } from '../../src/weights/sources.js';
import { SamUnet } from '../../src/model/sam_unet.js';
import { ModelWeights } from '../../src/model/weights.js';
import { fileStream, fileWeights } from '../../src/node/index.js';
import { modelKeys } from '../../src/model/keys.js';
import { fileSource } from '../../src/safetensors/node.js';
import { SafetensorsError, SafetensorsFile } from '../../src/safetensors/read.js';
import { f32ArrayToF16, serializeSafetensors, writeSafetensors, type LazyTensorEntry } from '../../src/safetensors/write.js';
import { syntheticValues } from '../../src/weights/synthetic.js';
import { maxAbsDiff, rand, testGpu } from '../helpers/gpu.js';
import { goldenPath, itShared } from '../helpers/shared.js';
import { full, startServer, truncated, type TestServer } from './helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'sam-unet-weights-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every GPU buffer of `w`, read back. */
async function readAll(w: ModelWeights): Promise<Map<string, Float32Array>> {
  const device = (await testGpu()).device;
  const out = new Map<string, Float32Array>();
  for (const key of w.keys()) {
    const { buffer } = w.weight(key);
    const rb = device.createBuffer({ size: buffer.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, 0, rb, 0, buffer.size);
    device.queue.submit([enc.finish()]);
    await rb.mapAsync(GPUMapMode.READ);
    out.set(key, new Float32Array(rb.getMappedRange().slice(0)));
    rb.destroy();
  }
  return out;
}

describe('fetchWeights in Node (no Cache API: plain streaming)', () => {
  const names = ['b.weight', 'a.bias', 'c.big'];
  const values = [rand(3000, 1), rand(7, 2), rand(600_000, 3)];
  const file = serializeSafetensors(names.map((name, i) => ({ name, dtype: 'F32', shape: [values[i]!.length], data: values[i]! })));
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer(dir, {
      '/ok.safetensors': full(file),
      '/abort.safetensors': truncated(file, file.byteLength >> 1, 'abort'),
      '/short.safetensors': truncated(file, file.byteLength >> 1, 'short'),
    });
  });
  afterAll(() => srv.close());

  it('streams every tensor of a whole download, in file order, with byte progress', async () => {
    const progress: number[] = [];
    const w = await fetchWeights(`${srv.origin}/ok.safetensors`, { onProgress: (p) => progress.push(p.bytesRead) });
    expect(w.fromCache).toBe(false);
    expect(w.size).toBe(file.byteLength);
    const got: string[] = [];
    for await (const t of w.tensors()) {
      const i = names.indexOf(t.key);
      expect(Array.from(t.values())).toEqual(Array.from(values[i]!));
      got.push(t.key);
    }
    expect(got).toEqual(names);
    expect(progress.at(-1)).toBe(file.byteLength);
  });

  it.each(['abort', 'short'])('a download cut short (%s) fails while reading the tensors', async (how) => {
    const w = await fetchWeights(`${srv.origin}/${how}.safetensors`);
    const read = async () => {
      for await (const t of w.tensors()) t.values();
    };
    await expect(read()).rejects.toThrow(how === 'short' ? SafetensorsError : Error);
  });

  it('fileStream reads a file in chunks, pulling one chunk at a time', async () => {
    const path = join(dir, 'small.safetensors');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, file);
    const { stream, size } = await fileStream(path, 1000);
    expect(size).toBe(file.byteLength);
    const chunks: Uint8Array[] = [];
    for await (const c of stream as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
    expect(chunks.length).toBe(Math.ceil(file.byteLength / 1000));
    expect(Buffer.concat(chunks).equals(Buffer.from(file))).toBe(true);
  });
});

describe('fp16 weight files, streamed in safetensors name order', () => {
  const path = join(dir, 'res34-f16-sorted.safetensors');
  let streamed: SamUnet;

  beforeAll(async () => {
    // Python's safetensors writes tensors sorted by name: resnet.stage1.0.bn1.* arrive before conv1.
    const keys = modelKeys('res34').slice().sort((a, b) => (a.key < b.key ? -1 : 1));
    const entries: LazyTensorEntry[] = keys.map((k) =>
      k.dtype === 'F32'
        ? { name: k.key, dtype: 'F16', shape: k.shape, data: () => f32ArrayToF16(syntheticValues(k.key, k.shape)) }
        : { name: k.key, dtype: k.dtype, shape: k.shape, data: () => new BigInt64Array(k.shape.reduce((a, b) => a * b, 1)) },
    );
    const { createWriteStream } = await import('node:fs');
    const out = createWriteStream(path);
    await writeSafetensors(entries, (c) => new Promise<void>((r, j) => out.write(c, (e) => (e ? j(e) : r()))));
    await new Promise<void>((r) => out.end(r));
    const progress: { loaded: number; bytesRead?: number }[] = [];
    streamed = await SamUnet.load(await testGpu(), await fileWeights(path), { onProgress: (p) => progress.push(p) });
    expect(progress.at(-1)!.bytesRead).toBeGreaterThan(0.99 * readFileSync(path).byteLength);
  });

  afterAll(() => streamed?.destroy());

  it('gives the same GPU buffers as the random-access loader (BatchNorm folded alike)', async () => {
    const src = await fileSource(path);
    const random = await ModelWeights.load(await testGpu(), safetensorsWeights(await SafetensorsFile.open(src)));
    await src.close();
    const a = await readAll(streamed.weights);
    const b = await readAll(random);
    random.destroy();
    const shared = [...b.keys()];
    expect([...a.keys()].sort()).toEqual(shared.sort());
    expect(shared.length).toBeGreaterThan(300);
    for (const k of shared) {
      const d = maxAbsDiff(a.get(k)!, b.get(k)!);
      if (d.maxAbs !== 0) throw new Error(`${k}: streamed and random-access weights differ by ${d.maxAbs} at ${d.worstIndex}`);
    }
    // And they are the fp32 synthetic weights rounded to float16 (a tensor that is not folded).
    const key = 'image_encoder.sam_img_encoder.blocks.0.attn.qkv.weight';
    const exact = syntheticValues(key, [2304, 768]);
    const { maxAbs } = maxAbsDiff(a.get(key)!, exact);
    expect(maxAbs).toBeGreaterThan(0);
    expect(maxAbs).toBeLessThan(2 ** -11 * 0.05); // values are within ±1/sqrt(768): half an f16 ulp
  });

  itShared('res34_box_point_mask with fp16 weights: low_res_logits within 5e-3, masks equal where |ref| > 1e-2', async () => {
    const f = await SafetensorsFile.open(await fileSource(join(goldenPath, 'res34_box_point_mask.safetensors')));
    const c = JSON.parse(readFileSync(join(goldenPath, 'res34_box_point_mask.json'), 'utf8'));
    const [H, W] = c.original_size as [number, number];
    const [h, w] = c.input_size as [number, number];
    const t0 = performance.now();
    const emb = await streamed.encodeInput(await f.readF32('input.image'), { width: W, height: H, inputW: w, inputH: h });
    const out = await streamed.decode(emb, [{ box: c.boxes[0], points: c.points, maskInput: await f.readF32('input.mask_inputs') }]);
    emb.destroy();
    const low = maxAbsDiff(out.lowResLogits[0]!, await f.readF32('low_res_logits')).maxAbs;
    const refLogits = await f.readF32('logits');
    const logits = maxAbsDiff(out.logits[0]!, refLogits).maxAbs;
    let disagree = 0;
    let disagreeNearZero = 0;
    refLogits.forEach((r, i) => {
      if (r > 0 === out.logits[0]![i]! > 0) return;
      if (Math.abs(r) > 1e-2) disagree++;
      else disagreeNearZero++;
    });
    console.log(`[fp16] res34_box_point_mask: low_res_logits max |Δ| ${low.toExponential(2)}, logits ${logits.toExponential(2)}, ` +
      `mask pixels differing: ${disagree} where |ref| > 1e-2, ${disagreeNearZero} nearer 0 (${(performance.now() - t0).toFixed(0)} ms)`);
    expect(low).toBeLessThanOrEqual(5e-3);
    expect(logits).toBeLessThanOrEqual(5e-3);
    expect(disagree).toBe(0);
  });

});
