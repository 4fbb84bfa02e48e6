// Strict parsing of a safetensors JSON header: UTF-8, JSON, an object of tensor entries plus an
// optional "__metadata__" string map; duplicate keys (which JSON.parse silently drops) are found
// by scanning the raw text. Every entry is checked against its dtype, shape and offsets, and
// tensors may leave gaps in the data section but never overlap.

import { DTYPE_SIZES, SafetensorsError, isDtype, numel, type TensorInfo } from './format.js';

/** A parsed header. */
export interface SafetensorsHeader {
  /** N, the JSON header's length in bytes (after the 8-byte length prefix). */
  readonly headerLength: number;
  /** Absolute offset of the data section: 8 + N. */
  readonly dataStart: number;
  /** Tensors in header order. */
  readonly tensors: readonly TensorInfo[];
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * The header's default size cap: 16 MiB, some 220 times the res50 header (75 kB for 661 tensors).
 * A longer length prefix is refused before a byte of the header is read.
 */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024 * 1024;

/**
 * Most tensors a header may list by default (25 times res50's 661). Counted in the raw text before
 * JSON.parse, which allocates some 9 bytes per header byte for a header of many small entries.
 */
export const DEFAULT_MAX_TENSORS = 16384;

/** Caps on a header, checked before it is parsed. */
export interface HeaderLimits {
  /** Largest accepted JSON header, in bytes (default DEFAULT_MAX_HEADER_BYTES, 16 MiB). */
  maxHeaderBytes?: number;
  /** Most tensors the header may list (default DEFAULT_MAX_TENSORS, 16384). */
  maxTensors?: number;
}

const METADATA = '__metadata__';

/** The header length N from the 8-byte little-endian prefix, checked against the cap. */
export function headerLengthOf(prefix: Uint8Array, maxHeaderBytes: number): number {
  const dv = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const n = dv.getUint32(4, true) * 2 ** 32 + dv.getUint32(0, true);
  if (n > maxHeaderBytes) {
    throw new SafetensorsError(`header length ${n} exceeds the cap of ${maxHeaderBytes} bytes (maxHeaderBytes)`);
  }
  return n;
}

/**
 * Parses and validates header bytes. `dataSize` is the data section's length when known (a
 * file); a stream passes undefined and finds out-of-range offsets as truncation instead.
 */
export function parseHeader(bytes: Uint8Array, dataSize: number | undefined, maxTensors = DEFAULT_MAX_TENSORS): SafetensorsHeader {
  let text: string;
  try {
    // ignoreBOM keeps a byte-order mark in the text, so that JSON.parse rejects it as serde does.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new SafetensorsError('header is not valid UTF-8');
  }
  checkStructure(text, maxTensors);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(json)) throw new SafetensorsError('header is not a JSON object');
  const names = topLevelKeys(text);
  const dataStart = 8 + bytes.byteLength;
  const tensors: TensorInfo[] = [];
  let metadata: Record<string, string> = {};
  for (const name of names) {
    const entry = json[name];
    if (name === METADATA) metadata = checkMetadata(entry);
    else tensors.push(checkEntry(name, entry, dataStart, dataSize));
  }
  checkOverlaps(tensors);
  return { headerLength: bytes.byteLength, dataStart, tensors, metadata };
}

/** A header nests 3 deep ({name: {shape: [...]}}); anything far deeper is hostile. */
export const MAX_HEADER_DEPTH = 16;

/**
 * Rejects JSON nested deeper than MAX_HEADER_DEPTH before JSON.parse sees it (deep enough nesting
 * overflows JSON.parse's stack: a RangeError, not a named error), and a header that lists more
 * than `maxTensors` tensors (top-level keys besides "__metadata__") before JSON.parse spends
 * memory on them.
 */
function checkStructure(text: string, maxTensors: number): void {
  let depth = 0;
  let keys = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i + 1;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \ */) i++;
      if (depth !== 1) continue;
      let j = i + 1;
      while (j < text.length && ' \t\n\r'.includes(text[j]!)) j++;
      if (text.charCodeAt(j) === 0x3a /* : */ && text.slice(start, i) !== METADATA && ++keys > maxTensors) {
        throw new SafetensorsError(`the header lists more than ${maxTensors} tensors, the cap (maxTensors)`);
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > MAX_HEADER_DEPTH) throw new SafetensorsError(`header nests deeper than ${MAX_HEADER_DEPTH} levels of JSON objects/arrays`);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
}

/** Tensors sorted by their place in the data section (empty ones before a tensor at the same offset). */
export function byOffset(tensors: readonly TensorInfo[]): TensorInfo[] {
  return [...tensors].sort((a, b) => a.begin - b.begin || a.byteLength - b.byteLength);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkMetadata(v: unknown): Record<string, string> {
  if (!isPlainObject(v)) throw new SafetensorsError(`"${METADATA}" is not an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, s] of Object.entries(v)) {
    if (typeof s !== 'string') throw new SafetensorsError(`"${METADATA}" value for "${k}" is not a string`);
    out[k] = s;
  }
  return out;
}

function checkEntry(name: string, v: unknown, dataStart: number, dataSize: number | undefined): TensorInfo {
  const where = `tensor "${name}"`;
  if (!isPlainObject(v)) throw new SafetensorsError(`${where}: entry is not an object`);
  for (const field of ['dtype', 'shape', 'data_offsets']) {
    if (!(field in v)) throw new SafetensorsError(`${where}: missing field "${field}"`);
  }
  const { dtype, shape, data_offsets: offsets } = v;
  if (!isDtype(dtype)) throw new SafetensorsError(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError(`${where}: shape ${JSON.stringify(shape)} is not an array of non-negative safe integers`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  ) {
    throw new SafetensorsError(`${where}: data_offsets ${JSON.stringify(offsets)} are not two ordered non-negative safe integers`);
  }
  const [begin, end] = offsets as [number, number];
  const count = numel(shape);
  const expected = count * DTYPE_SIZES[dtype];
  if (count < 0 || !Number.isSafeInteger(expected)) throw new SafetensorsError(`${where}: shape [${shape}] is too large`);
  if (end - begin !== expected) {
    throw new SafetensorsError(
      `${where}: byte length ${end - begin} (data_offsets [${begin}, ${end}]) is not ${expected} = ` +
        `prod([${shape}]) × ${DTYPE_SIZES[dtype]} (${dtype})`,
    );
  }
  if (dataSize !== undefined && end > dataSize) {
    throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] lie outside the data section (${dataSize} bytes)`);
  }
  return { name, dtype, shape: shape as number[], begin: dataStart + begin, byteLength: end - begin };
}

function checkOverlaps(tensors: readonly TensorInfo[]): void {
  let last: TensorInfo | null = null;
  for (const t of byOffset(tensors)) {
    if (t.byteLength === 0) continue; // an empty tensor holds no byte, so overlaps nothing
    if (last && t.begin < last.begin + last.byteLength) {
      const rel = (x: TensorInfo) => `[${x.begin}, ${x.begin + x.byteLength})`;
      throw new SafetensorsError(`tensors "${last.name}" ${rel(last)} and "${t.name}" ${rel(t)} overlap (absolute offsets)`);
    }
    last = t;
  }
}

/**
 * The top-level object's keys in source order, rejecting a duplicate key in any object. Assumes
 * `text` is valid JSON (JSON.parse has accepted it): a string followed by ':' is then a key.
 */
export function topLevelKeys(text: string): string[] {
  const stack: (Set<string> | null)[] = []; // a key set per open object, null per open array
  const keys: string[] = [];
  let current = ''; // the top-level key whose value is being scanned
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') stack.push(new Set());
    else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') stack.pop();
    else if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      let j = i + 1;
      while (j < text.length && ' \t\n\r'.includes(text[j]!)) j++;
      if (text[j] !== ':') continue;
      const key = JSON.parse(text.slice(start, i + 1)) as string;
      const seen = stack[stack.length - 1] as Set<string>;
      if (seen.has(key)) {
        throw new SafetensorsError(
          stack.length === 1 ? `duplicate tensor name "${key}" in header` : `duplicate key "${key}" inside "${current}" in header`,
        );
      }
      seen.add(key);
      if (stack.length === 1) keys.push((current = key));
      i = j;
    }
  }
  return keys;
}
