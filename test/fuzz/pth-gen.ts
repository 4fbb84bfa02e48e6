// Writers for the checkpoint fuzzer: a zip writer (stored or deflated records, torch's 64-byte
// alignment and data descriptors, ZIP64 on request) so that a mutated pickle is re-packed with a
// valid CRC and reaches the unpickler, and a pickle writer (protocol 2 as torch.save writes it, or
// protocol 4 with SHORT_BINUNICODE, STACK_GLOBAL and MEMOIZE) for random checkpoints whose
// tensors are known exactly.

import { deflateSync } from 'fflate';
import { DTYPE_SIZES, type Dtype } from '../../src/safetensors/format.js';
import { crc32 } from '../../src/util/crc32.js';
import { int, pick, randomBytes, type Rng } from './common.js';

// ---------------------------------------------------------------- zip

export interface ZipRecord {
  name: string;
  data: Uint8Array;
  /** Deflate this record (torch never does: the reader must refuse it). */
  deflate?: boolean;
}

export interface ZipStyle {
  /** Pad local headers so that data starts on a 64-byte boundary (torch). */
  align?: boolean;
  /** Sizes and CRC in a data descriptor after the data, zeros in the local header (torch). */
  descriptor?: boolean;
  /** ZIP64 extra fields on every entry and a ZIP64 end record with its locator. */
  zip64?: boolean;
}

class Bytes {
  private chunks: Uint8Array[] = [];
  length = 0;
  u8(...v: number[]) {
    this.raw(Uint8Array.from(v));
  }
  u16(v: number) {
    this.u8(v & 0xff, (v >>> 8) & 0xff);
  }
  u32(v: number) {
    this.u16(v & 0xffff);
    this.u16(Math.floor(v / 65536) & 0xffff);
  }
  u64(v: number) {
    this.u32(v % 2 ** 32);
    this.u32(Math.floor(v / 2 ** 32));
  }
  /** The ZIP64 extra field (id 1) holding `values` as u64s. */
  zip64Extra(...values: number[]) {
    this.u16(1);
    this.u16(8 * values.length);
    for (const v of values) this.u64(v);
  }
  raw(b: Uint8Array) {
    this.chunks.push(b);
    this.length += b.byteLength;
  }
  done(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) out.set(c, (at += c.byteLength) - c.byteLength);
    return out;
  }
}

export function writeZip(records: readonly ZipRecord[], style: ZipStyle = {}): Uint8Array {
  const out = new Bytes();
  const central = new Bytes();
  const enc = new TextEncoder();
  const M = 0xffffffff;
  for (const r of records) {
    const name = enc.encode(r.name);
    const body = r.deflate ? deflateSync(r.data) : r.data;
    const crc = crc32(r.data);
    const lho = out.length;
    const flags = 0x800 | (style.descriptor ? 8 : 0);
    let extraLen = style.zip64 ? 20 : 0;
    const pad = style.align ? (64 - ((lho + 30 + name.byteLength + extraLen + 4) % 64)) % 64 : 0;
    if (style.align) extraLen += 4 + pad;
    out.u32(0x04034b50);
    out.u16(style.zip64 ? 45 : 20);
    out.u16(flags);
    out.u16(r.deflate ? 8 : 0);
    out.u32(0);
    out.u32(style.descriptor ? 0 : crc);
    out.u32(style.zip64 ? M : style.descriptor ? 0 : body.byteLength);
    out.u32(style.zip64 ? M : style.descriptor ? 0 : r.data.byteLength);
    out.u16(name.byteLength);
    out.u16(extraLen);
    out.raw(name);
    if (style.zip64) out.zip64Extra(r.data.byteLength, body.byteLength);
    if (style.align) {
      out.u8(0x46, 0x42); // "FB", as torch's writer
      out.u16(pad);
      out.raw(new Uint8Array(pad).fill(0x5a));
    }
    out.raw(body);
    if (style.descriptor) {
      out.u32(0x08074b50);
      out.u32(crc);
      if (style.zip64) {
        out.u64(body.byteLength);
        out.u64(r.data.byteLength);
      } else {
        out.u32(body.byteLength);
        out.u32(r.data.byteLength);
      }
    }
    central.u32(0x02014b50);
    central.u16(style.zip64 ? 45 : 20);
    central.u16(style.zip64 ? 45 : 20);
    central.u16(flags);
    central.u16(r.deflate ? 8 : 0);
    central.u32(0);
    central.u32(crc);
    central.u32(style.zip64 ? M : body.byteLength);
    central.u32(style.zip64 ? M : r.data.byteLength);
    central.u16(name.byteLength);
    central.u16(style.zip64 ? 28 : 0);
    central.u16(0);
    central.u16(0);
    central.u16(0);
    central.u32(0);
    central.u32(style.zip64 ? M : lho);
    central.raw(name);
    if (style.zip64) central.zip64Extra(r.data.byteLength, body.byteLength, lho);
  }
  const cdOffset = out.length;
  const cd = central.done();
  out.raw(cd);
  const n = records.length;
  if (style.zip64) {
    const z64 = out.length;
    out.u32(0x06064b50);
    out.u64(44);
    out.u16(45);
    out.u16(45);
    out.u32(0);
    out.u32(0);
    out.u64(n);
    out.u64(n);
    out.u64(cd.byteLength);
    out.u64(cdOffset);
    out.u32(0x07064b50);
    out.u32(0);
    out.u64(z64);
    out.u32(1);
  }
  out.u32(0x06054b50);
  out.u16(0);
  out.u16(0);
  out.u16(style.zip64 ? 0xffff : n);
  out.u16(style.zip64 ? 0xffff : n);
  out.u32(style.zip64 ? M : cd.byteLength);
  out.u32(style.zip64 ? M : cdOffset);
  out.u16(0);
  return out.done();
}

// ---------------------------------------------------------------- pickle

/** A storage of a generated checkpoint. */
export interface GenStorage {
  key: string;
  dtype: Dtype;
  numel: number;
  data: Uint8Array;
}

/** A tensor: a view of a storage. */
export interface GenTensor {
  storage: GenStorage;
  offset: number;
  shape: number[];
  stride: number[];
  parameter: boolean;
}

/** Python values a generated checkpoint holds. */
export type GenValue =
  | null | boolean | number | string
  | { int: bigint }
  | { bytes: Uint8Array }
  | { list: GenValue[] }
  | { tuple: GenValue[] }
  | { dict: [GenValue, GenValue][]; ordered?: boolean }
  | { set: GenValue[] }
  | { adam: GenValue }
  | { tensor: GenTensor };

const STORAGE_TYPES: Partial<Record<Dtype, string>> = {
  F32: 'FloatStorage', F16: 'HalfStorage', BF16: 'BFloat16Storage', F64: 'DoubleStorage', I64: 'LongStorage',
  I32: 'IntStorage', I16: 'ShortStorage', I8: 'CharStorage', U8: 'ByteStorage', BOOL: 'BoolStorage',
};
export const GEN_DTYPES = Object.keys(STORAGE_TYPES) as Dtype[];

/** Pickles `v` as protocol 2 (torch.save's) or 4. */
export function writePickle(v: GenValue, protocol: 2 | 4): Uint8Array {
  const b = new Bytes();
  const enc = new TextEncoder();
  let memo = 0;
  const put = () => (protocol === 4 ? b.u8(0x94) : memo < 256 ? b.u8(0x71, memo) : (b.u8(0x72), b.u32(memo)), memo++);
  const str = (s: string) => {
    const u = enc.encode(s);
    if (protocol === 4 && u.byteLength < 256) b.u8(0x8c, u.byteLength);
    else (b.u8(0x58), b.u32(u.byteLength));
    b.raw(u);
    put();
  };
  const global = (m: string, n: string) => {
    if (protocol === 4) {
      str(m);
      str(n);
      b.u8(0x93);
    } else b.raw(enc.encode(`c${m}\n${n}\n`));
    put();
  };
  const intv = (n: number | bigint) => {
    const x = BigInt(n);
    if (x >= 0n && x < 256n) b.u8(0x4b, Number(x));
    else if (x >= 0n && x < 65536n) (b.u8(0x4d), b.u16(Number(x)));
    else if (x >= -(2n ** 31n) && x < 2n ** 31n) (b.u8(0x4a), b.u32(Number(BigInt.asUintN(32, x))));
    else {
      const bytes: number[] = [];
      let y = x;
      do {
        bytes.push(Number(BigInt.asUintN(8, y)));
        y >>= 8n;
      } while (!((y === 0n && !(bytes[bytes.length - 1]! & 0x80)) || (y === -1n && bytes[bytes.length - 1]! & 0x80)));
      b.u8(0x8a, bytes.length, ...bytes);
    }
  };
  const tuple = (items: (() => void)[]) => {
    if (items.length === 0) return b.u8(0x29);
    if (items.length <= 3) {
      items.forEach((f) => f());
      b.u8([0, 0x85, 0x86, 0x87][items.length]!);
    } else {
      b.u8(0x28);
      items.forEach((f) => f());
      b.u8(0x74);
    }
    put();
  };
  const odict = () => {
    global('collections', 'OrderedDict');
    b.u8(0x29, 0x52);
    put();
  };
  const storages = new Set<GenStorage>();
  const tensor = (t: GenTensor) => {
    storages.add(t.storage);
    if (t.parameter) global('torch._utils', '_rebuild_parameter');
    global('torch._utils', '_rebuild_tensor_v2');
    b.u8(0x28);
    tuple([() => str('storage'), () => global('torch', STORAGE_TYPES[t.storage.dtype]!), () => str(t.storage.key), () => str('cpu'), () => intv(t.storage.numel)]);
    b.u8(0x51);
    intv(t.offset);
    tuple(t.shape.map((d) => () => intv(d)));
    tuple(t.stride.map((d) => () => intv(d)));
    b.u8(0x89);
    odict();
    b.u8(0x74, 0x52);
    put();
    if (t.parameter) {
      b.u8(0x88);
      odict();
      b.u8(0x87, 0x52);
      put();
    }
  };
  const value = (x: GenValue): void => {
    if (x === null) b.u8(0x4e);
    else if (x === true) b.u8(0x88);
    else if (x === false) b.u8(0x89);
    else if (typeof x === 'number') {
      if (Number.isInteger(x)) intv(x);
      else {
        b.u8(0x47);
        const f = new DataView(new ArrayBuffer(8));
        f.setFloat64(0, x, false);
        b.raw(new Uint8Array(f.buffer));
      }
    } else if (typeof x === 'string') str(x);
    else if ('int' in x) intv(x.int);
    else if ('bytes' in x) {
      if (protocol === 4) (b.u8(0x43, x.bytes.byteLength), b.raw(x.bytes));
      else {
        global('_codecs', 'encode');
        str(String.fromCharCode(...x.bytes));
        str('latin1');
        b.u8(0x86, 0x52);
      }
      put();
    } else if ('list' in x) {
      b.u8(0x5d);
      put();
      if (x.list.length) {
        b.u8(0x28);
        x.list.forEach(value);
        b.u8(0x65);
      }
    } else if ('tuple' in x) tuple(x.tuple.map((y) => () => value(y)));
    else if ('dict' in x) {
      if (x.ordered) odict();
      else (b.u8(0x7d), put());
      if (x.dict.length) {
        b.u8(0x28);
        for (const [k, y] of x.dict) (value(k), value(y));
        b.u8(0x75);
      }
    } else if ('set' in x) {
      global('__builtin__', 'set');
      value({ list: x.set });
      b.u8(0x85, 0x52);
      put();
    } else if ('adam' in x) {
      global('torch.optim.adam', 'Adam');
      b.u8(0x29, 0x81);
      put();
      value(x.adam);
      b.u8(0x62);
    } else tensor(x.tensor);
  };
  b.u8(0x80, protocol);
  value(v);
  b.u8(0x2e);
  return b.done();
}

// ---------------------------------------------------------------- random checkpoints

const KEY_PARTS = ['w', 'bias', 'layer.0.weight', 'bn.running_var', 'ünï', 'x"q', '', '0', '__proto__', 'constructor', 'emoji😀', 'a/b', 'bn.num_batches_tracked'];

/** A random plain value (no tensors), nested at most `depth` deep. */
function junk(r: Rng, depth: number): GenValue {
  const k = int(r, 0, depth > 0 ? 9 : 5);
  switch (k) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return pick(r, [0, 1, -1, 255, 256, 65535, 65536, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, 0.5, -1e-8, 1e300]);
    case 3: return pick(r, ['', 'epoch', 'ünï', 'x'.repeat(int(r, 0, 300))]);
    case 4: return { int: pick(r, [2n ** 63n, -(2n ** 70n), 2n ** 64n - 1n]) };
    case 5: return { bytes: randomBytes(r, int(r, 0, 20)) };
    case 6: return { list: Array.from({ length: int(r, 0, 4) }, () => junk(r, depth - 1)) };
    case 7: return { tuple: Array.from({ length: int(r, 0, 5) }, () => junk(r, depth - 1)) };
    case 8: return { dict: Array.from({ length: int(r, 0, 4) }, (_, i): [GenValue, GenValue] => [pick(r, [`k${i}`, i]), junk(r, depth - 1)]), ordered: r() < 0.3 };
    default: return { set: Array.from({ length: int(r, 0, 3) }, (_, i) => `s${i}`) };
  }
}

/** A random state_dict: tensors over a few storages (views with offsets, shared, sometimes non-contiguous). */
export interface GenCheckpoint {
  root: GenValue;
  /** The state_dict as the reader must return it (prefix stripped), or null when it must refuse. */
  expected: Map<string, { dtype: Dtype; shape: number[]; bytes: Uint8Array }> | null;
  /** Why it must be refused (a regex), when `expected` is null. */
  refusal: RegExp | null;
  storages: GenStorage[];
}

export function genCheckpoint(r: Rng): GenCheckpoint {
  const storages: GenStorage[] = [];
  const nStorages = int(r, 1, 4);
  for (let i = 0; i < nStorages; i++) {
    const dtype = pick(r, GEN_DTYPES);
    const numel = pick(r, [0, 1, int(r, 1, 64)]);
    storages.push({ key: String(i), dtype, numel, data: randomBytes(r, numel * DTYPE_SIZES[dtype]) });
  }
  const sd: [string, GenTensor][] = [];
  const names = new Set<string>();
  let refusal: RegExp | null = null;
  for (let i = int(r, 0, 6); i > 0; i--) {
    const storage = pick(r, storages);
    // A contiguous view of `storage`: a shape whose product fits after a random offset.
    const rank = int(r, 0, 3);
    const room = storage.numel;
    let shape = Array.from({ length: rank }, () => int(r, 1, 4));
    let numel = shape.reduce((a, b) => a * b, 1);
    if (numel > room) {
      shape = rank ? [room, ...Array(rank - 1).fill(1)] : [];
      numel = rank ? room : 1;
    }
    if (numel > room) continue; // a scalar of an empty storage
    const offset = int(r, 0, room - numel);
    const stride = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
    let name = pick(r, KEY_PARTS) + (r() < 0.6 ? `.${i}` : '');
    while (names.has(name)) name += '#';
    names.add(name);
    const t: GenTensor = { storage, offset, shape, stride, parameter: r() < 0.2 };
    if (rank === 2 && shape[0]! > 1 && shape[1]! > 1 && r() < 0.1) {
      // a transposed view: same elements, non-contiguous
      t.shape = [shape[1]!, shape[0]!];
      t.stride = [1, shape[1]!];
      refusal ??= /is a non-contiguous view/;
    }
    sd.push([name, t]);
  }
  const prefix = r() < 0.2 ? 'module.' : '';
  const dict: GenValue = { dict: sd.map(([k, t]): [GenValue, GenValue] => [prefix + k, { tensor: t }]), ordered: r() < 0.7 };
  const layout = pick(r, ['bare', 'model', 'state_dict', 'model_state_dict'] as const);
  const extras: [GenValue, GenValue][] = [];
  if (layout !== 'bare') {
    extras.push(['epoch', int(r, 0, 100)]);
    if (r() < 0.5) extras.push(['optimizer', r() < 0.5 ? { adam: { dict: [['state', junk(r, 3)], ['param_groups', junk(r, 2)]] } } : junk(r, 3)]);
    if (r() < 0.3) extras.push(['args', junk(r, 3)]);
  }
  const root: GenValue = layout === 'bare' ? dict : { dict: [[layout, dict], ...extras] };
  if (sd.length === 0) refusal ??= /no state_dict/;
  const expected = refusal ? null : new Map(sd.map(([k, t]) => {
    const size = DTYPE_SIZES[t.storage.dtype];
    const n = t.shape.reduce((a, b) => a * b, 1);
    return [k, { dtype: t.storage.dtype, shape: t.shape, bytes: t.storage.data.subarray(t.offset * size, (t.offset + n) * size) }];
  }));
  return { root, expected, refusal, storages };
}

/** The checkpoint as torch.save would lay it out: `<archive>/data.pkl`, `data/<key>`, `version`. */
export function checkpointZip(pickle: Uint8Array, storages: readonly GenStorage[], style: ZipStyle, archive = 'archive'): Uint8Array {
  return writeZip([
    { name: `${archive}/data.pkl`, data: pickle },
    ...storages.map((s) => ({ name: `${archive}/data/${s.key}`, data: s.data })),
    { name: `${archive}/version`, data: new TextEncoder().encode('3\n') },
  ], style);
}
