// The embedding store on Node + lavapipe: SamUnet.exportEmbedding / importEmbedding round trips,
// the GPU → CPU → dropped LRU tiers under byte budgets, leases that pin, one encoder run for
// concurrent requests of a slice, the persistent tier, keys, and one real encode whose cached
// embedding decodes exactly as a fresh one. Decoder runs on fake embeddings need no encoder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sheppLogan } from '../src/image/phantom.js';
import { syntheticWeights } from '../src/model/keys.js';
import { EMBEDDING_LENGTHS, ImageInputError, SamUnet, type EmbeddingData, type ImageEmbedding } from '../src/model/sam_unet.js';
import { bytesSource, SafetensorsFile } from '../src/safetensors/read.js';
import { serializeSafetensors } from '../src/safetensors/write.js';
import { embeddingKey, safetensorsIdentity } from '../src/volume/embedding-key.js';
import { EMBEDDING_BYTES, EmbeddingStore, type PersistentEmbeddingCache } from '../src/volume/embedding-store.js';
import { fakeEmbedding } from './helpers/embedding.js';
import { rand, testGpu } from './helpers/gpu.js';

let model: SamUnet;
const W = 96, H = 80;
const box = { box: [10, 12, 60, 70] as const };

beforeAll(async () => {
  model = await SamUnet.load(await testGpu(), syntheticWeights('res34'));
});
afterAll(() => model?.destroy());

/** low_res_logits of one box prompt: a fingerprint of every value the decoder reads. */
async function decodeOf(emb: ImageEmbedding): Promise<Float32Array> {
  return (await model.decode(emb, box)).lowResLogits[0]!;
}

/** A store whose encoder makes fake embeddings (seed from the key) and counts its runs. */
function fakeStore(gpuSlots: number, cpuSlots: number, persistent?: PersistentEmbeddingCache) {
  const store = new EmbeddingStore(model, { weightsId: 'test', gpuBytes: gpuSlots * EMBEDDING_BYTES, cpuBytes: cpuSlots * EMBEDDING_BYTES, persistent });
  const runs: string[] = [];
  const encode = (key: string) => async () => {
    runs.push(key);
    return fakeEmbedding(model, W, H, Number(key.slice(1)) * 10);
  };
  const get = async (key: string) => (await store.acquire(key, encode(key)))!;
  return { store, runs, encode, get };
}

describe('exportEmbedding / importEmbedding', () => {
  it('read an embedding back exactly and re-create one that decodes bit for bit the same', async () => {
    const emb = fakeEmbedding(model, W, H, 7);
    const data = await model.exportEmbedding(emb);
    expect(data.frame).toEqual(emb.frame);
    expect(data.embeddings).toEqual(rand(EMBEDDING_LENGTHS.embeddings, 7));
    expect(data.multiScaleFeature).toEqual(rand(EMBEDDING_LENGTHS.multiScaleFeature, 8));
    const again = model.importEmbedding(data);
    expect(await decodeOf(again)).toEqual(await decodeOf(emb));
    emb.destroy();
    again.destroy();
    expect(model.liveEmbeddings).toBe(0);
  });

  it('refuse host data that is not an embedding, naming what is wrong', async () => {
    const emb = fakeEmbedding(model, W, H, 3);
    const good = await model.exportEmbedding(emb);
    emb.destroy();
    await expect(model.exportEmbedding(emb)).rejects.toThrow(/destroyed/);
    const bad = (patch: Partial<EmbeddingData>) => () => model.importEmbedding({ ...good, ...patch });
    expect(bad({ embeddings: good.embeddings.subarray(1) })).toThrow(/embeddings must be a Float32Array of 65536 values, got 65535/);
    const nan = good.multiScaleFeature.slice();
    nan[1234] = NaN;
    expect(bad({ multiScaleFeature: nan })).toThrow(/multiScaleFeature holds NaN at index 1234/);
    expect(bad({ frame: { width: W, height: H, inputW: 256, inputH: 256 } })).toThrow(ImageInputError);
    expect(bad({ frame: { width: 0, height: H, inputW: 0, inputH: 213 } })).toThrow(/bad size/);
    expect(model.liveEmbeddings).toBe(0); // nothing leaked by the failed imports
  });
});

describe('EmbeddingStore', () => {
  it('keeps the most recent entries on the GPU, the next ones on the CPU, and drops the rest', async () => {
    const { store, runs, get } = fakeStore(2, 2);
    for (const k of ['k1', 'k2', 'k3', 'k4', 'k5']) (await get(k)).release();
    await store.flush();
    expect(['k1', 'k2', 'k3', 'k4', 'k5'].map((k) => store.where(k))).toEqual([undefined, 'cpu', 'cpu', 'gpu', 'gpu']);
    expect(store.stats).toMatchObject({ gpuEntries: 2, cpuEntries: 2, encodes: 5, readbacks: 3, drops: 1 });
    // k2 comes back from the CPU tier (an upload, no encode) and pushes k4, now the LRU, off the GPU.
    const k2 = await get('k2');
    await store.flush();
    expect(runs).toEqual(['k1', 'k2', 'k3', 'k4', 'k5']);
    expect(store.stats).toMatchObject({ cpuHits: 1, gpuEntries: 2, cpuEntries: 2 });
    expect(['k2', 'k3', 'k4', 'k5'].map((k) => store.where(k))).toEqual(['gpu', 'cpu', 'cpu', 'gpu']);
    const fresh = fakeEmbedding(model, W, H, 20);
    expect(await decodeOf(k2.embedding)).toEqual(await decodeOf(fresh)); // GPU → CPU → GPU changed nothing
    fresh.destroy();
    k2.release();
    // A dropped entry is encoded again.
    (await get('k1')).release();
    expect(runs.at(-1)).toBe('k1');
    store.destroy();
    expect(model.liveEmbeddings).toBe(0);
  });

  it('never evicts a leased embedding; the GPU tier goes over budget until the leases end', async () => {
    const { store, get } = fakeStore(1, 4);
    const a = await get('k1');
    const b = await get('k2');
    await store.flush();
    expect([store.where('k1'), store.where('k2')]).toEqual(['gpu', 'gpu']);
    expect(a.embedding.destroyed).toBe(false);
    a.release();
    a.release(); // a second release is a no-op, not a second unpin
    await store.flush();
    expect([store.where('k1'), store.where('k2')]).toEqual(['cpu', 'gpu']);
    expect(a.embedding.destroyed).toBe(true);
    expect(await decodeOf(b.embedding)).toEqual(await decodeOf(b.embedding));
    b.release();
    store.destroy();
  });

  it('runs the encoder once for concurrent requests of one key', async () => {
    const { store, runs, encode } = fakeStore(4, 0);
    const [x, y] = await Promise.all([store.acquire('k9', encode('k9')), store.acquire('k9', encode('k9'))]);
    expect(runs).toEqual(['k9']);
    expect(x!.embedding).toBe(y!.embedding);
    x!.release();
    y!.release();
    expect(await store.acquire('k404')).toBeUndefined(); // no encoder, no persistent tier: not there
    store.destroy();
  });

  it('finds entries dropped from memory in the persistent tier, and survives a failing one', async () => {
    const saved = new Map<string, EmbeddingData>();
    const persistent: PersistentEmbeddingCache = { get: async (k) => saved.get(k), put: async (k, d) => void saved.set(k, d) };
    const { store, runs, get } = fakeStore(1, 0, persistent);
    (await get('k1')).release();
    (await get('k2')).release();
    await store.flush();
    expect(store.where('k1')).toBeUndefined();
    expect([...saved.keys()]).toEqual(['k1', 'k2']);
    const back = (await store.acquire('k1'))!; // no encoder given: only the persistent tier can answer
    expect(store.stats).toMatchObject({ persistentHits: 1, encodes: 2 });
    const fresh = fakeEmbedding(model, W, H, 10);
    expect(await decodeOf(back.embedding)).toEqual(await decodeOf(fresh));
    fresh.destroy();
    back.release();
    expect(runs).toEqual(['k1', 'k2']);
    store.destroy();

    const broken: PersistentEmbeddingCache = { get: async () => { throw new Error('quota'); }, put: async () => { throw new Error('quota'); } };
    const b = fakeStore(1, 0, broken);
    (await b.get('k1')).release();
    await b.store.flush();
    expect(b.store.stats).toMatchObject({ encodes: 1, persistentErrors: 1 });
    b.store.destroy();
  });

  it('rejects bad options and use after destroy', async () => {
    expect(() => new EmbeddingStore(model, { weightsId: '' })).toThrow(/weightsId/);
    expect(() => new EmbeddingStore(model, { weightsId: 'x', gpuBytes: -1 })).toThrow(/gpuBytes/);
    expect(() => new EmbeddingStore(model, { weightsId: 'x', cpuBytes: NaN })).toThrow(/cpuBytes/);
    const s = new EmbeddingStore(model, { weightsId: 'x' });
    s.destroy();
    await expect(s.acquire('k')).rejects.toThrow(/destroyed/);
  });

  it('encodes an image once; its cached embedding decodes exactly as a fresh encode', async () => {
    const store = new EmbeddingStore(model, { weightsId: 'synthetic:res34', gpuBytes: EMBEDDING_BYTES, cpuBytes: EMBEDDING_BYTES });
    const img = sheppLogan(W);
    const first = await store.acquireImage(img);
    first.release();
    await store.acquireImage(sheppLogan(W + 8)).then((l) => l.release()); // pushes the phantom to the CPU tier
    await store.flush();
    const { input, frame } = SamUnet.prepare(img);
    expect(store.where(await store.keyOf(input, frame))).toBe('cpu');
    const again = await store.acquireImage({ ...img, data: img.data.slice() }); // same pixels, another array
    expect(store.stats).toMatchObject({ encodes: 2, cpuHits: 1 });
    const direct = await model.encode(img);
    // Our bytes per cached slice: exactly the encoder's two outputs.
    const enc = await model.encoderPlan();
    expect(enc.outputTensor('image_embeddings').buffer!.size + enc.outputTensor('multi_scale_feature').buffer!.size).toBe(EMBEDDING_BYTES);
    expect(EMBEDDING_BYTES).toBe(768 * 1024);
    expect(await decodeOf(again.embedding)).toEqual(await decodeOf(direct));
    direct.destroy();
    again.release();
    store.destroy();
    expect(model.liveEmbeddings).toBe(0);
  });
});

describe('embedding keys', () => {
  it('depend on the model id, the frame and every input value', async () => {
    const input = rand(3 * 256 * 256, 5);
    const frame = { width: 100, height: 50, inputW: 256, inputH: 128 };
    const k = await embeddingKey('m', input, frame);
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(await embeddingKey('m', input.slice(), { ...frame })).toBe(k);
    expect(await embeddingKey('m2', input, frame)).not.toBe(k);
    expect(await embeddingKey('m', input, { ...frame, width: 101 })).not.toBe(k);
    const changed = input.slice();
    changed[196607] = Math.fround(changed[196607]! + 1e-6);
    expect(await embeddingKey('m', changed, frame)).not.toBe(k);
    const store = new EmbeddingStore(model, { weightsId: 'w' });
    expect(store.modelId).toBe('w|res34|f32');
    expect(await store.keyOf(input, frame)).toBe(await embeddingKey('w|res34|f32', input, frame));
    store.destroy();
  });

  it('safetensorsIdentity tells apart two checkpoints with the same header', async () => {
    const file = (seed: number) => serializeSafetensors([
      { name: 'a', dtype: 'F32', shape: [5000], data: rand(5000, seed) },
      { name: 'b', dtype: 'F32', shape: [3], data: rand(3, 9) },
    ]);
    const id = async (bytes: Uint8Array) => safetensorsIdentity(await SafetensorsFile.open(bytesSource(bytes)));
    const one = await id(file(1));
    expect(one).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await id(file(1))).toBe(one);
    expect(await id(file(2))).not.toBe(one);
    const middle = file(1);
    middle[middle.length - 12 - 10_000] ^= 1; // a byte in the middle sample of tensor 'a'
    expect(await id(middle)).not.toBe(one);
  });
});
