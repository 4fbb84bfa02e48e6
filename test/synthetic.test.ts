// The synthetic weight rule (golden/README.md) reproduced bit for bit, and the synthetic
// state_dict written and read back through the streaming safetensors writer and reader.
import { describe, expect, it } from 'vitest';
import { modelKeys, syntheticStateDict } from '../src/model/keys.js';
import { SafetensorsFile, bytesSource } from '../src/safetensors/read.js';
import { writeSafetensors } from '../src/safetensors/write.js';
import { fnv1a32, offsetScale, syntheticValues } from '../src/weights/synthetic.js';

const bits = (xs: ArrayLike<number>): number[] => Array.from(new Uint32Array(Float32Array.from(xs).buffer));

describe('synthetic weights', () => {
  it('fnv1a32 matches the published FNV-1a test vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('x.weight 3×5 starts with the README check values, bit for bit', () => {
    const v = syntheticValues('x.weight', [3, 5]);
    expect(v.length).toBe(15);
    expect(bits(v.subarray(0, 3))).toEqual(bits([-0.13737829, 0.11235299, 0.163744554].map(Math.fround)));
  });

  it('a (shape 4) equals the README check values, bit for bit', () => {
    const v = syntheticValues('a', [4]);
    expect(bits(v)).toEqual(bits([-0.0792947635, -0.00309188361, 0.0631385595, 0.0723613501].map(Math.fround)));
  });

  it('picks (offset, scale) by the key suffix and rank, first match first', () => {
    expect(offsetScale('resnet.stage0.1.running_var', [64])).toEqual([1, 0.5]);
    expect(offsetScale('resnet.stage0.1.running_mean', [64])).toEqual([0, 0.1]);
    expect(offsetScale('p.pe_layer.positional_encoding_gaussian_matrix', [2, 128])).toEqual([0, 1]);
    expect(offsetScale('image_encoder.sam_img_encoder.pos_embed', [1, 16, 16, 768])).toEqual([0, 0.1]);
    expect(offsetScale('blocks.0.norm1.weight', [768])).toEqual([1, 0.1]);
    expect(offsetScale('blocks.0.norm1.bias', [768])).toEqual([0, 0.1]);
    expect(offsetScale('conv.weight', [64, 3, 7, 7])).toEqual([0, 1 / Math.sqrt(147)]);
    expect(offsetScale('point_embeddings.0.weight', [1, 256])).toEqual([0, 1 / 16]);
  });

  it('values stay within offset ± scale', () => {
    const v = syntheticValues('resnet.stage1.0.bn1.running_var', [1000]);
    expect(Math.min(...v)).toBeGreaterThanOrEqual(0.5);
    expect(Math.max(...v)).toBeLessThan(1.5);
  });

  it('the state_dict has every key; integer tensors are zeros', () => {
    const all = [...syntheticStateDict('res34')];
    expect(all.map((t) => t.key)).toEqual(modelKeys('res34').map((k) => k.key));
    const nbt = all.find((t) => t.key === 'resnet.stage0.1.num_batches_tracked')!;
    expect(nbt.dtype).toBe('I64');
    expect(nbt.shape).toEqual([]);
    const data = nbt.data();
    expect(data).toBeInstanceOf(BigInt64Array);
    expect(Array.from(data as BigInt64Array)).toEqual([0n]);
    const qkv = all.find((t) => t.key.endsWith('blocks.0.attn.qkv.weight'))!;
    expect(bits(qkv.data() as Float32Array)).toEqual(bits(syntheticValues(qkv.key, [2304, 768])));
  });

  it('streams into a safetensors file that reads back (prompt encoder and decoder keys)', async () => {
    const some = [...syntheticStateDict('res50')].filter((t) => !t.key.startsWith('image_encoder') && !/^resnet\.stage[1-4]/.test(t.key));
    const chunks: Uint8Array[] = [];
    const total = await writeSafetensors(some, (c) => void chunks.push(c.slice()), { format: 'pt' });
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) bytes.set(c, (at += c.byteLength) - c.byteLength);
    expect(at).toBe(total);
    const f = await SafetensorsFile.open(bytesSource(bytes));
    expect([...f.tensors.keys()]).toEqual(some.map((t) => t.key));
    const key = 'prompt_encoder.sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix';
    expect(bits(await f.readF32(key))).toEqual(bits(syntheticValues(key, [2, 128])));
    const nbt = await f.read('resnet.stage0.1.num_batches_tracked');
    expect(nbt.info.dtype).toBe('I64');
    expect(Array.from(nbt.data)).toEqual(new Array(8).fill(0));
  });
});
