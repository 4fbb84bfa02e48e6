// DICOM Part 10 (and a bare data set without the 128-byte preamble) to the attributes an image
// needs. dicom-parser (cornerstone's parser: it reads implicit and explicit VR little endian and
// explicit big endian, and records each element's offset and length without copying) walks the
// data set; the deflated syntax is inflated here with fflate, with a cap on the inflated size.
// Every value is then read through the accessors below, which check the element lies inside the
// data (dicom-parser does not, for a truncated file) and parse numbers strictly.

import type { DataSet, Element } from 'dicom-parser';
import { Inflate } from 'fflate';
import { DicomError, describe } from '../errors.js';
import { syntaxName, TRANSFER_SYNTAXES, transferSyntax, type TransferSyntax } from './syntax.js';

/** Largest DICOM data set accepted, inflated (bytes). */
export const MAX_DICOM_BYTES = 2 ** 31 - 1;

export const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';

/** An element accessor bound to one data set (the file's, or a sequence item's). */
export class Attributes {
  constructor(
    readonly dataSet: DataSet,
    private readonly littleEndian: boolean,
    private readonly utf8: boolean,
  ) {}

  has(tag: string): boolean {
    const e = this.dataSet.elements[tag];
    return e !== undefined && e.length > 0;
  }

  /** The element's bytes, checked against the end of the data. */
  bytes(tag: string): Uint8Array | undefined {
    const e = this.dataSet.elements[tag];
    if (!e || e.length === 0 || e.length === 0xffffffff) return undefined;
    const b = this.dataSet.byteArray;
    if (e.dataOffset + e.length > b.length) {
      throw new DicomError('truncated', `element (${tagText(tag)}) declares ${e.length} bytes, but the data ends ${e.dataOffset + e.length - b.length} bytes early`);
    }
    return b.subarray(e.dataOffset, e.dataOffset + e.length);
  }

  /** A text value, trailing spaces and NULs removed (latin-1, or UTF-8 for ISO_IR 192). */
  text(tag: string): string | undefined {
    const b = this.bytes(tag);
    if (!b) return undefined;
    const s = new TextDecoder(this.utf8 ? 'utf-8' : 'latin1').decode(b);
    return s.replace(/[\0 ]+$/, '');
  }

  /** The values of a multi-valued string (split at backslashes, trimmed). */
  strings(tag: string): string[] {
    const t = this.text(tag);
    return t === undefined ? [] : t.split('\\').map((v) => v.replace(/^[\0 ]+|[\0 ]+$/g, ''));
  }

  string(tag: string): string | undefined {
    const v = this.strings(tag)[0];
    return v === undefined || v === '' ? undefined : v;
  }

  /** The numbers of a DS or IS value; an unparsable or non-finite one is an error naming the tag. */
  numbers(tag: string, name: string): number[] {
    return this.strings(tag).map((v) => {
      const n = v === '' ? NaN : Number(v);
      if (!Number.isFinite(n)) throw new DicomError('corrupt', `${name} (${tagText(tag)}) holds "${v.slice(0, 40)}", not a finite number`);
      return n;
    });
  }

  number(tag: string, name: string): number | undefined {
    return this.numbers(tag, name)[0];
  }

  /** Unsigned 16-bit values (US), or the same bytes read as signed (SS) when `signed`. */
  uint16s(tag: string, signed = false): number[] {
    const b = this.bytes(tag);
    if (!b) return [];
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return Array.from({ length: b.byteLength >> 1 }, (_, i) => (signed ? v.getInt16(2 * i, this.littleEndian) : v.getUint16(2 * i, this.littleEndian)));
  }

  uint16(tag: string): number | undefined {
    return this.uint16s(tag)[0];
  }

  /** The items of a sequence, each as its own accessor. */
  items(tag: string): Attributes[] {
    const e: Element | undefined = this.dataSet.elements[tag];
    return (e?.items ?? []).flatMap((it) => (it.dataSet ? [new Attributes(it.dataSet, this.littleEndian, this.utf8)] : []));
  }
}

export function tagText(tag: string): string {
  return `${tag.slice(1, 5)},${tag.slice(5, 9)}`.toUpperCase();
}

/** A parsed file: its transfer syntax and its attributes. */
export interface ParsedDicom {
  syntax: TransferSyntax;
  attrs: Attributes;
  /** dicom-parser's warnings (elements it could not fully parse). */
  warnings: string[];
}

const isDicm = (b: Uint8Array) => b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;

/**
 * Without a preamble: a data set that starts with a group 0x0002, 0x0008 (or other low group)
 * element, in explicit or implicit VR little endian or explicit big endian (as pydicom's
 * `force=True` reads it).
 */
function bareSyntax(b: Uint8Array): string | null {
  if (b.length < 8) return null;
  const plausible = (g: number) => g !== 0 && g <= 0x0028 && g % 2 === 0;
  const explicit = /^[A-Z]{2}$/.test(String.fromCharCode(b[4], b[5]));
  if (plausible(b[0] | (b[1] << 8))) return explicit ? EXPLICIT_LE : IMPLICIT_LE;
  if (plausible((b[0] << 8) | b[1]) && explicit) return EXPLICIT_BE;
  return null;
}

/** Inflates the deflated data set after the file meta information, up to MAX_DICOM_BYTES. */
function inflater(bytes: Uint8Array, position: number): Uint8Array {
  const chunks: Uint8Array[] = [bytes.subarray(0, position)];
  let total = position;
  const inf = new Inflate((chunk) => {
    total += chunk.length;
    if (total > MAX_DICOM_BYTES) throw new DicomError('too-large', `the deflated data set inflates to more than ${MAX_DICOM_BYTES} bytes`);
    chunks.push(chunk);
  });
  try {
    inf.push(bytes.subarray(position), true);
  } catch (e) {
    if (e instanceof DicomError) throw e;
    throw new DicomError('corrupt', `the deflated data set cannot be inflated (${describe(e)})`, { cause: e });
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) out.set(c, (at += c.length) - c.length);
  return out;
}

/**
 * Parses a DICOM file. Throws DicomError for anything that is not a readable DICOM data set.
 * dicom-parser is imported on first use, so that a bundle that never opens a DICOM file does not carry it.
 */
export async function parseDicom(bytes: Uint8Array): Promise<ParsedDicom> {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('parseDicom expects a Uint8Array');
  if (bytes.length > MAX_DICOM_BYTES) throw new DicomError('too-large', `${bytes.length} bytes is over the limit of ${MAX_DICOM_BYTES}`);
  const part10 = isDicm(bytes);
  const bare = part10 ? null : bareSyntax(bytes);
  if (!part10 && !bare) {
    const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new DicomError('not-dicom', `not a DICOM file: no "DICM" at byte 128 and no data set at the start (first bytes ${head || 'none: empty'})`);
  }
  const dicomParser = (await import('dicom-parser')).default;
  let dataSet: DataSet;
  try {
    dataSet = dicomParser.parseDicom(bytes, { inflater, ...(bare ? { TransferSyntaxUID: bare } : {}) });
  } catch (e) {
    if (e instanceof DicomError) throw e;
    const inner = e && typeof e === 'object' && 'exception' in e ? (e as { exception: unknown }).exception : e;
    if (inner instanceof DicomError) throw inner;
    const msg = describe(e);
    const truncated = /past end|overread|overrun|eof|end of buffer/i.test(msg);
    throw new DicomError(truncated ? 'truncated' : 'corrupt', `cannot parse the DICOM data set (${msg})`, { cause: e });
  }
  const meta = new Attributes(dataSet, true, false);
  const uid = bare ?? meta.string('x00020010');
  if (!uid) throw new DicomError('corrupt', 'the file meta information has no Transfer Syntax UID (0002,0010)');
  const syntax = transferSyntax(uid);
  if (!syntax) {
    throw new DicomError('unsupported-syntax', `transfer syntax ${uid} (${syntaxName(uid)}) is not supported; supported: ${TRANSFER_SYNTAXES.map((t) => t.name).join(', ')}`);
  }
  const charset = new Attributes(dataSet, syntax.littleEndian, false).strings('x00080005');
  const attrs = new Attributes(dataSet, syntax.littleEndian, charset.includes('ISO_IR 192'));
  return { syntax, attrs, warnings: dataSet.warnings ?? [] };
}
