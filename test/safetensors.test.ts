// The safetensors reader and writer: round trips, every rejection of a malformed file, the
// streaming reader over odd-sized chunks, Blob and Node file sources, and the half conversions.
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileSource } from '../src/safetensors/node.js';
import {
  SafetensorsError,
  SafetensorsFile,
  bf16ToF32,
  blobSource,
  bytesSource,
  f16ToF32,
  readSafetensorsStream,
  type ByteSource,
  type SafetensorsHeader,
  type StreamTensor,
} from '../src/safetensors/read.js';
import { f32ArrayToF16, f32ToF16, serializeSafetensors, writeSafetensors, type TensorEntry } from '../src/safetensors/write.js';

const enc = new TextEncoder();

/** A file with this exact header text (no padding) followed by `data` (or that many zero bytes). */
function raw(header: string | Uint8Array, data: Uint8Array | number = 0): Uint8Array {
  const h = typeof header === 'string' ? enc.encode(header) : header;
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.byteLength + d.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.byteLength), true);
  out.set(h, 8);
  out.set(d, 8 + h.byteLength);
  return out;
}

const entry = (dtype: unknown, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });
const rawJson = (header: object, data: Uint8Array | number = 0) => raw(JSON.stringify(header), data);

async function rejects(p: Promise<unknown>, fragment: string | RegExp): Promise<SafetensorsError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e, `should reject with ${fragment}`).toBeInstanceOf(SafetensorsError);
  expect((e as Error).message).toMatch(fragment);
  return e as SafetensorsError;
}

const openBytes = (u8: Uint8Array, maxHeaderBytes?: number) => SafetensorsFile.open(bytesSource(u8), { maxHeaderBytes });

/** A ReadableStream handing out `bytes` in chunks of `size`. */
function chunked(bytes: Uint8Array, size: number, onCancel?: () => void): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (at >= bytes.byteLength) return c.close();
      c.enqueue(bytes.slice(at, (at += size)));
    },
    cancel: onCancel,
  });
}

async function collect(stream: ReadableStream<Uint8Array>, opts = {}): Promise<StreamTensor[]> {
  const out: StreamTensor[] = [];
  for await (const t of readSafetensorsStream(stream, opts)) out.push(t);
  return out;
}

const f32 = Float32Array.from([1.5, -2.25, 3e-5, 65504, -0, 7]);
const sample: TensorEntry[] = [
  { name: 'w.f32', dtype: 'F32', shape: [2, 3], data: f32 },
  { name: 'w.f16', dtype: 'F16', shape: [6], data: f32ArrayToF16(f32) },
  { name: 'w.bf16', dtype: 'BF16', shape: [3, 2], data: Uint16Array.from(new Uint32Array(f32.buffer), (b) => b >>> 16) },
  { name: 'num_batches_tracked', dtype: 'I64', shape: [], data: BigInt64Array.from([-5n]) },
  { name: 'empty', dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
  { name: 'mask', dtype: 'U8', shape: [5], data: Uint8Array.from([0, 1, 2, 254, 255]) },
  { name: '7', dtype: 'U8', shape: [1], data: Uint8Array.from([7]) }, // an integer-like name keeps its place
];
const sampleFile = serializeSafetensors(sample, { format: 'pt', note: 'ü' });

describe('safetensors round trip', () => {
  it('writes a space-padded header and reads every dtype, metadata and a zero-size tensor back', async () => {
    const n = Number(new DataView(sampleFile.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const headerText = new TextDecoder().decode(sampleFile.subarray(8, 8 + n));
    expect(headerText.trimEnd().endsWith('}')).toBe(true);
    expect(/^ *$/.test(headerText.slice(headerText.lastIndexOf('}') + 1))).toBe(true);

    const f = await openBytes(sampleFile);
    expect(f.metadata).toEqual({ format: 'pt', note: 'ü' });
    expect([...f.tensors.keys()]).toEqual(sample.map((e) => e.name));
    const f32Info = f.tensors.get('w.f32')!;
    expect(f32Info).toEqual({ name: 'w.f32', dtype: 'F32', shape: [2, 3], begin: 8 + n, byteLength: 24 });
    expect(Array.from(await f.readF32('w.f32'))).toEqual(Array.from(f32));
    expect(Array.from(await f.readF32('w.f16'))).toEqual(Array.from(f32).map((x) => f16ToF32(f32ToF16(x))));
    const truncatedBf16 = Array.from(new Uint32Array(f32.buffer), (b) => bf16ToF32(b >>> 16));
    expect(Array.from(await f.readF32('w.bf16'))).toEqual(truncatedBf16);
    expect((await f.readF32('empty')).length).toBe(0);
    const i64 = await f.read('num_batches_tracked');
    expect(new DataView(i64.data.buffer, i64.data.byteOffset).getBigInt64(0, true)).toBe(-5n);
    expect(Array.from((await f.read('mask')).data)).toEqual([0, 1, 2, 254, 255]);
    expect(Array.from((await f.read('7')).data)).toEqual([7]);
  });

  it('rejects a header nested deep enough to overflow JSON.parse, with a named error', async () => {
    const deep = '{"a":' + '['.repeat(200000) + ']'.repeat(200000) + '}';
    await rejects(openBytes(raw(deep)), /nests deeper than 16 levels/);
  });

  it('readF32 rejects integer tensors by name, and unknown names', async () => {
    const f = await openBytes(sampleFile);
    await rejects(f.readF32('num_batches_tracked'), /"num_batches_tracked" has dtype I64/);
    await rejects(f.readF32('mask'), /"mask" has dtype U8/);
    await rejects(f.read('nope'), /no tensor named "nope"/);
  });

  it('reads only the bytes asked for, and never more than the source holds', async () => {
    const asked: [number, number][] = [];
    const base = bytesSource(sampleFile);
    const spy: ByteSource = { size: base.size, read: (o, l) => (asked.push([o, l]), base.read(o, l)) };
    const f = await SafetensorsFile.open(spy);
    await f.read('mask');
    const mask = f.tensors.get('mask')!;
    expect(asked.at(-1)).toEqual([mask.begin, 5]);
    expect(asked.every(([o, l]) => o + l <= sampleFile.byteLength)).toBe(true);
  });

  it('allows gaps between tensors and after the last one, and empty tensors anywhere', async () => {
    const data = Uint8Array.from({ length: 20 }, (_, i) => i);
    const file = rawJson({ b: entry('U8', [4], [8, 12]), a: entry('U8', [4], [0, 4]), e: entry('F32', [0], [2, 2]) }, data);
    const f = await openBytes(file);
    expect(Array.from((await f.read('b')).data)).toEqual([8, 9, 10, 11]);
    const streamed = await collect(chunked(file, 3));
    expect(streamed.map((t) => t.info.name)).toEqual(['a', 'e', 'b']);
    expect(Array.from(streamed[2]!.data)).toEqual([8, 9, 10, 11]);
  });

  it('writer rejects duplicate names, wrong data sizes and non-string metadata', () => {
    const t = { name: 't', dtype: 'F32' as const, shape: [2], data: new Float32Array(2) };
    expect(() => serializeSafetensors([t, t])).toThrow(/duplicate tensor name "t"/);
    expect(() => serializeSafetensors([{ ...t, shape: [3] }])).toThrow(/"t": data has 8 bytes/);
    expect(() => serializeSafetensors([t], { a: 1 } as never)).toThrow(SafetensorsError);
  });

  it('writeSafetensors asks for one tensor at a time, after the previous one is written', async () => {
    const log: string[] = [];
    const lazy = sample.map((e) => ({ ...e, data: () => (log.push(`data ${e.name}`), e.data) }));
    const chunks: Uint8Array[] = [];
    const total = await writeSafetensors(lazy, async (c) => {
      await new Promise((r) => setTimeout(r, 1));
      log.push(`sink ${c.byteLength}`);
      chunks.push(c.slice());
    }, { format: 'pt', note: 'ü' });
    expect(log.slice(0, 3)).toEqual([expect.stringMatching(/^sink /), 'data w.f32', 'sink 24']);
    const joined = new Uint8Array(total);
    chunks.reduce((at, c) => (joined.set(c, at), at + c.byteLength), 0);
    expect(joined).toEqual(sampleFile);
  });
});

describe('safetensors rejections', () => {
  const ok = entry('F32', [2], [0, 8]);
  it('a file shorter than 8 bytes', () => rejects(openBytes(new Uint8Array(5)), /5 bytes, shorter than the 8-byte/));
  it('a header length beyond the file', async () => {
    const file = raw('{}', 0);
    new DataView(file.buffer).setBigUint64(0, 3n, true);
    await rejects(openBytes(file), /header length 3 runs past the end of the file \(10 bytes\)/);
  });
  it('a header length above the cap (checked before any allocation)', async () => {
    const file = new Uint8Array(16);
    new DataView(file.buffer).setBigUint64(0, 2n ** 60n, true);
    await rejects(openBytes(file), /exceeds the cap of 16777216 bytes \(maxHeaderBytes\)/);
    await rejects(openBytes(rawJson({ t: ok }, 8), 16), /header length \d+ exceeds the cap of 16/);
  });
  it('a 59 MB header (a million empty tensors) is refused from its 8-byte length alone', async () => {
    const n = 59_000_000;
    const file = new Uint8Array(64);
    new DataView(file.buffer).setBigUint64(0, BigInt(n), true);
    const reads: number[] = [];
    const src = { size: 8 + n, read: async (o: number, l: number) => (reads.push(l), file.subarray(o, o + l)) };
    await rejects(SafetensorsFile.open(src), /header length 59000000 exceeds the cap of 16777216 bytes \(maxHeaderBytes\)/);
    expect(reads).toEqual([8]);
    const stream = new ReadableStream<Uint8Array>({ pull: (c) => c.enqueue(file.slice()) });
    await rejects((async () => { for await (const _ of readSafetensorsStream(stream)) void _; })(), /exceeds the cap of 16777216/);
  });
  it('more tensors than the cap, refused before JSON.parse; the cap is an option', async () => {
    const header: Record<string, unknown> = {};
    for (let i = 0; i <= 16384; i++) header[`t${i}`] = entry('U8', [0], [0, 0]);
    const file = rawJson(header, 0);
    await rejects(openBytes(file), /the header lists more than 16384 tensors, the cap \(maxTensors\)/);
    expect((await SafetensorsFile.open(bytesSource(file), { maxTensors: 16385 })).tensors.size).toBe(16385);
    // "__metadata__" is not a tensor.
    const meta = rawJson({ __metadata__: { a: 'b' }, t: entry('U8', [0], [0, 0]) }, 0);
    expect((await SafetensorsFile.open(bytesSource(meta), { maxTensors: 1 })).tensors.size).toBe(1);
  });
  it('a header that is not UTF-8', () => rejects(openBytes(raw(Uint8Array.from([0x7b, 0xff, 0x7d]))), /not valid UTF-8/));
  it('a header that is not JSON', () => rejects(openBytes(raw('{"t": ')), /not valid JSON/));
  it('a header with a byte-order mark', () => rejects(openBytes(raw('\ufeff{}')), /not valid JSON/));
  it('a header that is not an object', async () => {
    await rejects(openBytes(raw('[1, 2]')), /not a JSON object/);
    await rejects(openBytes(raw('null')), /not a JSON object/);
  });
  it('a tensor entry that is not an object', () => rejects(openBytes(rawJson({ t: [1] })), /tensor "t": entry is not an object/));
  it('a tensor entry missing a field', () =>
    rejects(openBytes(rawJson({ t: { dtype: 'F32', shape: [2] } }, 8)), /tensor "t": missing field "data_offsets"/));
  it('a shape that is not an array of non-negative safe integers', async () => {
    for (const shape of [[-1], [1.5], '2', [2 ** 53], [null]]) {
      await rejects(openBytes(rawJson({ t: entry('F32', shape, [0, 8]) }, 8)), /tensor "t": shape .* non-negative safe integers/);
    }
  });
  it('data_offsets that are not two ordered safe integers', async () => {
    for (const offsets of [[8, 0], [0], [0, 4, 8], ['0', 8], [-1, 7], [0, 2 ** 53], null]) {
      await rejects(openBytes(rawJson({ t: entry('F32', [2], offsets) }, 8)), /tensor "t": data_offsets .* two ordered/);
    }
  });
  it('an unknown dtype', () => rejects(openBytes(rawJson({ t: entry('F8_E4M3', [2], [0, 2]) }, 2)), /tensor "t": unknown dtype "F8_E4M3"/));
  it('offsets outside the data section', () =>
    rejects(openBytes(rawJson({ t: entry('F32', [2], [4, 12]) }, 8)), /tensor "t": data_offsets \[4, 12\] lie outside the data section \(8 bytes\)/));
  it('overlapping tensors', () =>
    rejects(openBytes(rawJson({ a: ok, b: entry('F32', [2], [4, 12]) }, 12)), /tensors "a" .* and "b" .* overlap/));
  it('a byte length that is not prod(shape) × dtype size', () =>
    rejects(openBytes(rawJson({ t: entry('F32', [3], [0, 8]) }, 12)), /tensor "t": byte length 8 .* is not 12/));
  it('a shape whose element count overflows', () =>
    rejects(openBytes(rawJson({ t: entry('F64', [2 ** 26, 2 ** 26, 2], [0, 8]) }, 8)), /tensor "t": shape .* too large/));
  it('duplicate tensor names (which JSON.parse would hide)', async () => {
    const e = JSON.stringify(ok);
    await rejects(openBytes(raw(`{"t":${e}, "t" :${e}}`, 8)), /duplicate tensor name "t"/);
    await rejects(openBytes(raw(`{"t":${e},"\\u0074":${e}}`, 8)), /duplicate tensor name "t"/);
    await rejects(openBytes(raw(`{"t":{"dtype":"F32","dtype":"U8","shape":[2],"data_offsets":[0,8]}}`, 8)), /duplicate key "dtype" inside "t"/);
    // Keys inside strings and nested values are not top-level names.
    const f = await openBytes(raw(`{"__metadata__":{"t":"{\\"t\\":1}"},"t":${e}}`, 8));
    expect(f.metadata).toEqual({ t: '{"t":1}' });
  });
  it('metadata that is not a string map', () => rejects(openBytes(rawJson({ __metadata__: { a: 1 } })), /"__metadata__" value for "a" is not a string/));
  it('a source that returns fewer bytes than asked (a file truncated after opening)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-trunc-'));
    const path = join(dir, 'x.safetensors');
    writeFileSync(path, sampleFile);
    const src = await fileSource(path);
    try {
      const f = await SafetensorsFile.open(src);
      truncateSync(path, sampleFile.byteLength - 3);
      await rejects(f.read('7'), /truncated: read 0 of 1 bytes of tensor "7"/);
    } finally {
      await src.close();
      rmSync(dir, { recursive: true });
    }
  });
});

describe('readSafetensorsStream', () => {
  it('parses 7-byte chunks: header first, tensors in offset order, progress to the end', async () => {
    let header: SafetensorsHeader | null = null;
    const progress: number[] = [];
    const items = await collect(chunked(sampleFile, 7), {
      onHeader: (h: SafetensorsHeader) => (header = h),
      onProgress: (n: number) => progress.push(n),
    });
    expect(header).not.toBeNull();
    expect(header!.metadata).toEqual({ format: 'pt', note: 'ü' });
    expect(items.map((t) => t.index)).toEqual(items.map((_, i) => i));
    const begins = items.map((t) => t.info.begin);
    expect(begins).toEqual([...begins].sort((a, b) => a - b));
    const f = await openBytes(sampleFile);
    for (const t of items) {
      expect(t.header).toBe(header);
      expect(t.data.byteOffset).toBe(0);
      expect(t.bytesRead).toBe(t.info.begin + t.info.byteLength);
      expect(Array.from(t.data)).toEqual(Array.from((await f.read(t.info.name)).data));
    }
    expect(progress.at(-1)).toBe(sampleFile.byteLength);
    expect(progress.every((p, i) => i === 0 || p > progress[i - 1]!)).toBe(true);
  });

  it('rejects a stream that ends early, naming the tensor', async () => {
    const err = await rejects(collect(chunked(sampleFile.subarray(0, sampleFile.byteLength - 3), 7)), /truncated: .*tensor "/);
    expect(err.message).toMatch(/"7"|"mask"/);
    await rejects(collect(chunked(sampleFile.subarray(0, 5), 2)), /truncated: .*shorter than 8 bytes/);
    await rejects(collect(chunked(sampleFile.subarray(0, 40), 7)), /truncated: .*header/);
  });

  it('applies the header checks, and the known size when given', async () => {
    await rejects(collect(chunked(rawJson({ a: entry('F32', [3], [0, 8]) }, 8), 7)), /byte length/);
    const short = rawJson({ t: entry('F32', [2], [4, 12]) }, 8);
    await rejects(collect(chunked(short, 7), { size: short.byteLength }), /tensor "t": data_offsets \[4, 12\] lie outside the data section/);
    await rejects(collect(chunked(short, 7)), /truncated: .*tensor "t"/); // without a size, found at the end
    await rejects(collect(chunked(short, 7), { size: 20 }), /header length \d+ runs past the end of the file \(20 bytes\)/);
  });

  it('cancels the stream when the caller stops early', async () => {
    let cancelled = false;
    for await (const t of readSafetensorsStream(chunked(sampleFile, 7, () => (cancelled = true)))) {
      expect(t.index).toBe(0);
      break;
    }
    expect(cancelled).toBe(true);
  });
});

describe('byte sources', () => {
  it('blobSource reads a Blob', async () => {
    const f = await SafetensorsFile.open(blobSource(new Blob([sampleFile])));
    expect(Array.from(await f.readF32('w.f32'))).toEqual(Array.from(f32));
  });

  const dir = mkdtempSync(join(tmpdir(), 'st-'));
  afterAll(() => rmSync(dir, { recursive: true }));
  it('fileSource reads a file on disk', async () => {
    const path = join(dir, 'sample.safetensors');
    writeFileSync(path, sampleFile);
    const src = await fileSource(path);
    try {
      expect(src.size).toBe(sampleFile.byteLength);
      const f = await SafetensorsFile.open(src);
      expect(Array.from(await f.readF32('w.f32'))).toEqual(Array.from(f32));
      expect(Array.from((await f.read('mask')).data)).toEqual([0, 1, 2, 254, 255]);
    } finally {
      await src.close();
    }
  });
});

describe('half precision', () => {
  it('every F16 value survives F16 → F32 → F16; special values are exact', () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = f16ToF32(h);
      if (Number.isNaN(x)) expect((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0).toBe(true);
      else expect(f32ToF16(x)).toBe(h);
    }
    expect(f16ToF32(0x3c00)).toBe(1);
    expect(f16ToF32(0x7bff)).toBe(65504);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(f16ToF32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(f16ToF32(0xfc00)).toBe(-Infinity);
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
    expect(bf16ToF32(0x3f80)).toBe(1);
    expect(bf16ToF32(0xc049)).toBe(-3.140625);
  });

  it('F32 → F16 rounds to nearest even, overflows to Inf and underflows to zero', () => {
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie, down to even
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, up to even
    expect(f32ToF16(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
    expect(f32ToF16(65519)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00);
    expect(f32ToF16(-1e9)).toBe(0xfc00);
    expect(f32ToF16(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal
    expect(f32ToF16(2 ** -25 * 1.5)).toBe(1);
    expect(f32ToF16(3 * 2 ** -25)).toBe(2); // tie, up to even
    expect(f32ToF16(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up into the normals
    expect(f32ToF16(-1e-30)).toBe(0x8000);
    expect(f32ToF16(NaN) & 0x7e00).toBe(0x7e00);
  });
});
