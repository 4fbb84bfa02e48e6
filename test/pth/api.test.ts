// The reader's API on the committed seed checkpoints (test/fuzz/seeds/pth/, written by torch.save
// from one small state_dict in every layout; no Python needed here): every layout gives the same
// tensors, a Blob is read by slices, the options and their caps work, and each cap names itself.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { looksLikePth, pthWeights, PthCheckpoint, PthError, type PthWeights } from '../../src/pth/index.js';
import { bytesSource, type ByteSource } from '../../src/safetensors/read.js';
import { serializeSafetensors } from '../../src/safetensors/write.js';
import { checkpointZip, writePickle, type GenStorage } from '../fuzz/pth-gen.js';

const dir = fileURLToPath(new URL('../fuzz/seeds/pth/', import.meta.url));
const seed = (name: string) => new Uint8Array(readFileSync(dir + name));

async function values(w: PthWeights): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [k, e] of w.entries) if (e.dtype !== 'I64') out.set(k, await w.read(k));
  return out;
}

describe('pth API on checkpoints written by torch.save', () => {
  it('every layout gives the same state_dict (F16 / BF16 within their rounding)', async () => {
    const ref = await pthWeights(seed('protocol4.pth'));
    expect([...ref.entries.keys()]).toEqual([
      'conv.weight', 'conv.bias', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked', 'fc.weight',
    ]);
    expect(ref.entries.get('conv.weight')).toEqual({ dtype: 'F32', shape: [4, 3, 3, 3] });
    expect(ref.entries.get('bn.num_batches_tracked')).toEqual({ dtype: 'I64', shape: [] });
    const want = await values(ref);
    const layouts = readdirSync(dir).filter((f) => f.endsWith('.pth') && f !== 'views.pth');
    expect(layouts.length).toBeGreaterThanOrEqual(8);
    for (const f of layouts) {
      const w = await pthWeights(seed(f));
      expect([...w.entries.keys()], f).toEqual([...ref.entries.keys()]);
      const got = await values(w);
      const tol = f.startsWith('bf16') ? 2 ** -8 : f.startsWith('f16') ? 2 ** -11 : 0;
      for (const [k, v] of want) {
        const g = got.get(k)!;
        for (let i = 0; i < v.length; i++) if (!(Math.abs(g[i]! - v[i]!) <= tol * Math.abs(v[i]!))) throw new Error(`${f}: "${k}"[${i}] ${g[i]} vs ${v[i]}`);
      }
      const steps = (await w.checkpoint.read('bn.num_batches_tracked')).data;
      expect(new BigInt64Array(steps.slice().buffer)[0], f).toBe(7n);
    }
  });

  it('a Blob is read by slices: the largest is one tensor, not the file', async () => {
    const big: GenStorage = { key: '0', dtype: 'F32', numel: 1 << 20, data: new Uint8Array(4 << 20).fill(0x3f) };
    const small: GenStorage = { key: '1', dtype: 'F32', numel: 4, data: new Uint8Array(16) };
    const t = (s: GenStorage, shape: number[]) => ({ tensor: { storage: s, offset: 0, shape, stride: shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1)), parameter: false } });
    const file = checkpointZip(writePickle({ dict: [['a', t(big, [1024, 1024])], ['b', t(small, [4])]] }, 2), [big, small], { align: true, descriptor: true, zip64: true });
    const slices: number[] = [];
    class SpyBlob extends Blob {
      override slice(a?: number, b?: number, type?: string): Blob {
        slices.push((b ?? this.size) - (a ?? 0));
        return super.slice(a, b, type);
      }
    }
    const spy = new SpyBlob([file as Uint8Array<ArrayBuffer>]);
    const w = await pthWeights(spy);
    expect(w.size).toBe(file.byteLength);
    expect(Math.max(...slices)).toBeLessThan(100_000); // directory and pickle only
    expect((await w.read('a')).length).toBe(1 << 20);
    expect(Math.max(...slices)).toBe(4 << 20);
    expect(slices.every((n) => n < file.byteLength)).toBe(true);
  });

  it('stateDictKey names the entry; a wrong one is an error naming it', async () => {
    const file = seed('model_state_dict.pth');
    expect((await pthWeights(file, { stateDictKey: 'model_state_dict' })).entries.size).toBe(8);
    await expect(pthWeights(file, { stateDictKey: 'optimizer_state_dict' })).rejects.toThrow(/state_dict entry "state" is a dict, not a tensor/);
    await expect(pthWeights(file, { stateDictKey: 'nope' })).rejects.toThrow(/entry "nope" is missing, not a state_dict/);
  });

  it('caps: pickle bytes, pickle memory, zip entries; each named in its error', async () => {
    const file = seed('upstream.pth');
    await expect(pthWeights(file, { maxPickleBytes: 1000 })).rejects.toThrow(/data\.pkl" is \d+ bytes, more than the cap of 1000 \(maxPickleBytes\)/);
    await expect(pthWeights(file, { maxPickleMemory: 10_000 })).rejects.toThrow(/more than 10000 bytes of memory \(maxPickleMemory\)/);
    await expect(pthWeights(file, { maxEntries: 3 })).rejects.toThrow(/entries, more than the cap of 3 \(maxEntries\)/);
    await expect(pthWeights(seed('legacy.pth'), { maxPickleBytes: 100 })).rejects.toThrow(/run past 100 bytes, the cap \(maxPickleBytes\)/);
  });

  it('CRC-32 is checked on whole-tensor reads unless verifyCrc is false', async () => {
    const file = seed('protocol4.pth').slice();
    const ck = await PthCheckpoint.open(bytesSource(file));
    const at = ck.info('conv.bias').begin + 3; // the sign bit of element 0 (little-endian)
    file[at] = file[at]! ^ 0x80;
    const w = await pthWeights(file);
    await expect(w.read('conv.bias')).rejects.toThrow(/CRC-32 .* does not match/);
    const unchecked = await (await pthWeights(file, { verifyCrc: false })).read('conv.bias');
    const original = await (await pthWeights(seed('protocol4.pth'))).read('conv.bias');
    expect(Math.abs(unchecked[0]!)).toBe(Math.abs(original[0]!)); // the flipped bit is the sign
    expect(unchecked[0]).toBe(-original[0]!);
  });

  it('looksLikePth tells checkpoints from other files by their first bytes', () => {
    for (const f of readdirSync(dir)) expect(looksLikePth(seed(f).subarray(0, 8)), f).toBe(true);
    expect(looksLikePth(serializeSafetensors([]).subarray(0, 8))).toBe(false);
    expect(looksLikePth(new Uint8Array([0x89, 0x50, 0x4e, 0x47]))).toBe(false);
  });

  it('errors are PthError; a read past the source is named, not a short array', async () => {
    const file = seed('protocol4.pth');
    const shrunk: ByteSource = { size: file.byteLength, read: async (o, l) => file.subarray(o, Math.min(o + l, file.byteLength - 40)) };
    const err = await pthWeights(shrunk).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(PthError);
    expect((err as Error).message).toMatch(/truncated: read \d+ of \d+ bytes/);
  });
});
