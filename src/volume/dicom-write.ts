// A small DICOM Part 10 writer: explicit VR little endian, defined lengths everywhere, the VRs a
// derived object needs. Enough for a Segmentation (dicom-seg.ts), ~150 lines instead of a DICOM
// toolkit in the bundle. Values are checked against their VR (length, characters), so that a
// value from a hostile source file cannot turn into extra values or a malformed file.
// ref: DICOM PS3.5 §6.2 (VRs), §7.1.2 (explicit VR encoding), §7.5 (sequences); PS3.10 §7.1 (meta).
import { concatBytes, totalLength } from '../util/bytes.js';

/** A dataset the writer refuses; the message names the attribute. */
export class DicomWriteError extends Error {
  override name = 'DicomWriteError';
}

export type VR = 'AT' | 'CS' | 'DA' | 'DS' | 'DT' | 'FD' | 'IS' | 'LO' | 'LT' | 'OB' | 'PN' | 'SH' | 'SQ' | 'ST' | 'TM' | 'UI' | 'UL' | 'US';

/** One element: tag as 0xGGGGEEEE, its VR and value (strings: one value or several; SQ: items). */
export type Element = readonly [tag: number, vr: VR, value: string | readonly string[] | readonly number[] | Uint8Array | readonly Dataset[]];
export type Dataset = readonly Element[];

const LONG = new Set<VR>(['OB', 'SQ']); // 2 reserved bytes and a 4-byte length
/** Most characters per value, and the characters allowed (besides those of every text VR). */
const TEXT: Partial<Record<VR, { max: number; chars?: RegExp }>> = {
  CS: { max: 16, chars: /^[A-Z0-9 _]*$/ }, DA: { max: 8, chars: /^(\d{8})?$/ }, DS: { max: 16, chars: /^[0-9+\-.eE ]*$/ },
  DT: { max: 26, chars: /^[0-9.+\- ]*$/ }, IS: { max: 12, chars: /^[0-9+\- ]*$/ }, LO: { max: 64 }, LT: { max: 10240 }, PN: { max: 194 },
  SH: { max: 16 }, ST: { max: 1024 }, TM: { max: 14, chars: /^[0-9.]*$/ }, UI: { max: 64, chars: /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$|^$/ },
};
const utf8 = new TextEncoder();

const tagName = (tag: number) => `(${(tag >>> 16).toString(16).padStart(4, '0')},${(tag & 0xffff).toString(16).padStart(4, '0')})`.toUpperCase();

/** A decimal string of at most 16 characters (DS), as exact as fits. */
export function ds(x: number): string {
  if (!Number.isFinite(x)) throw new DicomWriteError(`DS value ${x} is not finite`);
  if (Object.is(x, -0) || Math.abs(x) < 1e-300) return '0';
  for (let p = 17; p >= 1; p--) {
    const s = String(Number(x.toPrecision(p)));
    if (s.length <= 16) return s;
    const e = x.toExponential(Math.max(0, p - 1)).replace('e+', 'e');
    if (e.length <= 16) return e;
  }
  throw new DicomWriteError(`DS value ${x} does not fit 16 characters`);
}

function textBytes(tag: number, vr: VR, value: string | readonly string[]): Uint8Array {
  const values = typeof value === 'string' ? [value] : value;
  const rule = TEXT[vr]!;
  for (const v of values) {
    // Control characters (other than in LT/ST, which may hold CR LF), and '\' in multi-valued VRs, would change the file's meaning.
    const bad = vr === 'LT' || vr === 'ST' ? /[\x00-\x08\x0b\x0c\x0e-\x1f]/.test(v) : /[\x00-\x1f\\]/.test(v);
    if (typeof v !== 'string' || bad || [...v].length > rule.max || (rule.chars && !rule.chars.test(v))) {
      throw new DicomWriteError(`${tagName(tag)} ${vr}: ${JSON.stringify(v)} is not a valid ${vr} value${rule.max ? ` (at most ${rule.max} characters)` : ''}`);
    }
  }
  const b = utf8.encode(values.join('\\'));
  if (b.length % 2 === 0) return b;
  const padded = new Uint8Array(b.length + 1);
  padded.set(b);
  padded[b.length] = vr === 'UI' ? 0 : 0x20;
  return padded;
}

function binaryBytes(tag: number, vr: VR, value: readonly number[] | Uint8Array): Uint8Array {
  if (vr === 'OB') {
    const b = value as Uint8Array;
    if (!(b instanceof Uint8Array)) throw new DicomWriteError(`${tagName(tag)} OB needs a Uint8Array`);
    if (b.length % 2 === 0) return b;
    const padded = new Uint8Array(b.length + 1);
    padded.set(b);
    return padded;
  }
  const size = { AT: 4, FD: 8, UL: 4, US: 2 }[vr as 'AT' | 'FD' | 'UL' | 'US'];
  const nums = value as readonly number[];
  const out = new Uint8Array(nums.length * size);
  const v = new DataView(out.buffer);
  nums.forEach((x, i) => {
    const ok = vr === 'FD' ? Number.isFinite(x) : Number.isInteger(x) && x >= 0 && x < 2 ** (8 * size);
    if (!ok) throw new DicomWriteError(`${tagName(tag)} ${vr}: ${x} is out of range`);
    if (vr === 'FD') v.setFloat64(8 * i, x, true);
    else if (vr === 'US') v.setUint16(2 * i, x, true);
    else if (vr === 'UL') v.setUint32(4 * i, x, true);
    else {
      v.setUint16(4 * i, x >>> 16, true); // AT: group, then element
      v.setUint16(4 * i + 2, x & 0xffff, true);
    }
  });
  return out;
}

/** The encoded elements of `ds`, in ascending tag order. */
export function encodeDataset(ds: Dataset): Uint8Array[] {
  const out: Uint8Array[] = [];
  const sorted = [...ds].sort((a, b) => a[0] - b[0]);
  sorted.forEach((e, i) => {
    if (i > 0 && sorted[i - 1]![0] === e[0]) throw new DicomWriteError(`${tagName(e[0])} appears twice`);
  });
  for (const [tag, vr, value] of sorted) {
    let body: Uint8Array[];
    if (vr === 'SQ') {
      body = (value as readonly Dataset[]).flatMap((item) => {
        const parts = encodeDataset(item);
        return [itemHeader(0xfffee000, totalLength(parts)), ...parts];
      });
    } else if (TEXT[vr]) body = [textBytes(tag, vr, value as string | string[])];
    else body = [binaryBytes(tag, vr, value as number[] | Uint8Array)];
    const len = totalLength(body);
    const head = new Uint8Array(LONG.has(vr) ? 12 : 8);
    const v = new DataView(head.buffer);
    v.setUint16(0, tag >>> 16, true);
    v.setUint16(2, tag & 0xffff, true);
    head[4] = vr.charCodeAt(0);
    head[5] = vr.charCodeAt(1);
    if (LONG.has(vr)) v.setUint32(8, len, true);
    else if (len > 0xffff) throw new DicomWriteError(`${tagName(tag)} ${vr}: ${len} bytes do not fit a 16-bit length`);
    else v.setUint16(6, len, true);
    out.push(head, ...body);
  }
  return out;
}

function itemHeader(tag: number, len: number): Uint8Array {
  const h = new Uint8Array(8);
  const v = new DataView(h.buffer);
  v.setUint16(0, tag >>> 16, true);
  v.setUint16(2, tag & 0xffff, true);
  v.setUint32(4, len, true);
  return h;
}

const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';
/** This writer's Implementation Class UID (2.25: a UUID as a decimal integer, no registration). */
export const IMPLEMENTATION_CLASS_UID = '2.25.325434798089308734571415116549138027406';

/** A DICOM Part 10 file: preamble, 'DICM', the file meta group, then `ds` (explicit VR LE). */
export function dicomFile(sopClassUID: string, sopInstanceUID: string, ds: Dataset): Uint8Array {
  const meta = encodeDataset([
    [0x00020001, 'OB', new Uint8Array([0, 1])],
    [0x00020002, 'UI', sopClassUID],
    [0x00020003, 'UI', sopInstanceUID],
    [0x00020010, 'UI', EXPLICIT_VR_LE],
    [0x00020012, 'UI', IMPLEMENTATION_CLASS_UID],
    [0x00020013, 'SH', 'SAMUNET_WEBGPU'],
  ]);
  const metaLen = totalLength(meta);
  const parts = [new Uint8Array(128), utf8.encode('DICM'), ...encodeDataset([[0x00020000, 'UL', [metaLen]]]), ...meta, ...encodeDataset(ds)];
  return concatBytes(parts);
}

/** A new UID: '2.25.' and a random (version 4) UUID as a decimal integer (ISO/IEC 9834-8). */
export function newUid(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return `2.25.${n}`;
}
