/// <reference path="./codec-modules.d.ts" />
// Decoders for compressed frames, each loaded by dynamic import() the first time a file needs it,
// so that a bundle that never opens a compressed file carries none of them:
//  - JPEG baseline / extended with 8-bit samples: libjpeg-turbo (@cornerstonejs/codec-libjpeg-turbo-8bit, WASM)
//  - JPEG extended with 12-bit samples: jpeg12.ts (no maintained WASM build decodes 12-bit JPEG;
//    Cornerstone itself carries a JavaScript decoder for it)
//  - JPEG lossless (process 14): jpeg-lossless-decoder-js (the decoder Cornerstone uses)
//  - JPEG-LS: CharLS (@cornerstonejs/codec-charls, WASM)
//  - JPEG 2000: OpenJPEG (@cornerstonejs/codec-openjpeg, WASM)
//  - RLE: rle.ts
// Before a codec runs, the frame header in the bitstream (SOF, SOF55 or SIZ) is read here and
// checked against the DICOM header, so a hostile size never reaches a decoder's allocator.
//
// Where the .wasm files are: in Node, beside each package's loader (Emscripten finds them). In a
// browser bundle, `new URL('./wasm/<file>', import.meta.url)` next to this module (the build copies
// them there; bundlers such as Vite emit them as assets), or wherever setCodecWasmLocation says.

import { DicomError, describe } from '../errors.js';
import type { DicomImageInfo } from './info.js';
import { decodeRle } from './rle.js';
import type { TransferSyntax } from './syntax.js';

/** One decoded frame: interleaved little-endian samples (Planar Configuration 0). */
export interface DecodedFrame {
  bytes: Uint8Array;
  bytesPerSample: 1 | 2 | 4;
  /** True when the codec turned YCbCr into RGB (JPEG colour transform, JPEG 2000 MCT). */
  colorConverted: boolean;
}

type WasmLocator = (file: string) => string | URL;
let locateWasm: WasmLocator | undefined;

/** Tells the browser build where the codec .wasm files are served (file name → URL). */
export function setCodecWasmLocation(locate: WasmLocator | undefined): void {
  locateWasm = locate;
}

const isNode = () => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** The Emscripten module arguments: where the .wasm is, and the codec's log lines dropped (OpenJPEG prints [INFO] per frame). */
function factoryArgs(file: string, beside: () => URL): { locateFile?: (f: string) => string; print: () => void; printErr: () => void } {
  const quiet = { print: () => {}, printErr: () => {} };
  if (locateWasm) return { ...quiet, locateFile: () => String(locateWasm!(file)) };
  if (isNode()) return quiet;
  return { ...quiet, locateFile: () => beside().href };
}

const cache = new Map<string, Promise<unknown>>();
function once<T>(key: string, load: () => Promise<T>): Promise<T> {
  let p = cache.get(key) as Promise<T> | undefined;
  if (!p) {
    p = load().catch((e) => {
      cache.delete(key);
      throw new DicomError('codec', `cannot load the ${key} decoder (${describe(e)})`, { cause: e });
    });
    cache.set(key, p);
  }
  return p;
}

type Codec = { new (): EmscriptenCodecDecoder };
const loaders = {
  'JPEG (libjpeg-turbo)': () =>
    import('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs').then(async (m) =>
      (await m.default(factoryArgs('libjpegturbowasm_decode.wasm', () => new URL('./wasm/libjpegturbowasm_decode.wasm', import.meta.url)))).JPEGDecoder as Codec),
  'JPEG-LS (CharLS)': () =>
    import('@cornerstonejs/codec-charls/decodewasmjs').then(async (m) =>
      (await m.default(factoryArgs('charlswasm_decode.wasm', () => new URL('./wasm/charlswasm_decode.wasm', import.meta.url)))).JpegLSDecoder as Codec),
  'JPEG 2000 (OpenJPEG)': () =>
    import('@cornerstonejs/codec-openjpeg/decodewasmjs').then(async (m) =>
      (await m.default(factoryArgs('openjpegwasm_decode.wasm', () => new URL('./wasm/openjpegwasm_decode.wasm', import.meta.url)))).J2KDecoder as Codec),
};

async function runWasm(name: keyof typeof loaders, data: Uint8Array): Promise<{ bytes: Uint8Array; info: ReturnType<EmscriptenCodecDecoder['getFrameInfo']> }> {
  const Decoder = await once(name, loaders[name]);
  const d = new Decoder();
  try {
    d.getEncodedBuffer(data.length).set(data);
    d.decode();
    const info = d.getFrameInfo();
    return { bytes: d.getDecodedBuffer().slice(), info };
  } catch (e) {
    // An Emscripten abort leaves the instance unusable: load a fresh one next time.
    cache.delete(name);
    throw new DicomError('codec', `${name} rejected the frame (${describe(e)})`, { cause: e });
  } finally {
    try {
      d.delete();
    } catch {
      // the aborted instance is dropped above
    }
  }
}

/** The frame header of a JPEG / JPEG-LS (SOFn, SOF55) or JPEG 2000 (SIZ) bitstream. */
export interface StreamHeader {
  width: number;
  height: number;
  components: number;
  precision: number;
  /** JPEG: the SOF marker (0xC0 …, 0xF7 for JPEG-LS); JPEG 2000: 0x51 (SIZ). */
  marker: number;
}

export function streamHeader(b: Uint8Array): StreamHeader | null {
  const u16 = (o: number) => (b[o] << 8) | b[o + 1];
  if (b[0] === 0xff && b[1] === 0xd8) {
    for (let o = 2; o + 4 <= b.length; ) {
      if (b[o] !== 0xff) return null;
      const m = b[o + 1];
      if (m === 0xff) { o++; continue; }
      if (m === 0xd8 || (m >= 0xd0 && m <= 0xd7) || m === 0x01) { o += 2; continue; }
      if (m === 0xda || m === 0xd9) return null; // scan before any frame header
      const len = u16(o + 2);
      if (((m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) || m === 0xf7) && o + 10 <= b.length) {
        return { marker: m, precision: b[o + 4], height: u16(o + 5), width: u16(o + 7), components: b[o + 9] };
      }
      o += 2 + len;
    }
    return null;
  }
  let at = 0;
  if (b.length >= 12 && u16(4) === 0x6a50) {
    // A JP2 file: the codestream is the content of the 'jp2c' box.
    const i = b.findIndex((_, k) => k + 4 <= b.length && b[k] === 0x6a && b[k + 1] === 0x70 && b[k + 2] === 0x32 && b[k + 3] === 0x63);
    if (i < 0) return null;
    at = i + 4;
  }
  if (b[at] === 0xff && b[at + 1] === 0x4f && b[at + 2] === 0xff && b[at + 3] === 0x51 && at + 42 <= b.length) {
    const u32 = (o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
    const s = at + 4;
    return { marker: 0x51, width: u32(s + 4) - u32(s + 12), height: u32(s + 8) - u32(s + 16), components: u16(s + 36), precision: (b[s + 38] & 0x7f) + 1 };
  }
  return null;
}

function checkHeader(h: StreamHeader | null, info: DicomImageInfo, syntax: TransferSyntax, k: number): StreamHeader {
  const where = `frame ${k + 1} (${syntax.name})`;
  if (!h) throw new DicomError('codec', `${where}: no frame header found in the compressed bitstream`);
  if (h.width !== info.columns || h.height !== info.rows) {
    throw new DicomError('corrupt', `${where}: the bitstream is ${h.width}×${h.height}, the DICOM header says ${info.columns}×${info.rows} (Columns × Rows)`);
  }
  if (h.components !== info.samplesPerPixel) throw new DicomError('corrupt', `${where}: ${h.components} components, SamplesPerPixel ${info.samplesPerPixel}`);
  if (h.precision > info.bitsAllocated || h.precision < 2) throw new DicomError('corrupt', `${where}: ${h.precision}-bit samples with BitsAllocated ${info.bitsAllocated}`);
  return h;
}

/**
 * A 3-component JPEG whose header tells libjpeg what the DICOM Photometric Interpretation says:
 * RGB components (transform 0) or YCbCr to convert (1). libjpeg otherwise guesses from a JFIF or
 * Adobe marker or the component IDs, and a file marked RGB in DICOM but not in its JPEG stream
 * would be converted as YCbCr. dcmtk's dcmdjpeg (its default, +cp) decides by the Photometric
 * Interpretation too. The JFIF and Adobe segments are dropped, and one Adobe APP14 segment with the
 * transform flag is put after SOI.
 */
function withColorTransform(b: Uint8Array, transform: 0 | 1): Uint8Array {
  const keep: Uint8Array[] = [b.subarray(0, 2)];
  let o = 2;
  while (o + 4 <= b.length && b[o] === 0xff && (b[o + 1] === 0xe0 || b[o + 1] === 0xee || (b[o + 1] >= 0xe1 && b[o + 1] <= 0xef))) {
    const end = o + 2 + ((b[o + 2] << 8) | b[o + 3]);
    const isJfif = b[o + 1] === 0xe0 && b[o + 4] === 0x4a && b[o + 5] === 0x46; // "JF"
    const isAdobe = b[o + 1] === 0xee && b[o + 4] === 0x41 && b[o + 5] === 0x64; // "Ad"
    if (!isJfif && !isAdobe) keep.push(b.subarray(o, end));
    o = end;
  }
  const adobe = Uint8Array.from([0xff, 0xee, 0, 14, 0x41, 0x64, 0x6f, 0x62, 0x65, 0, 100, 0, 0, 0, 0, transform]);
  const parts = [keep[0], adobe, ...keep.slice(1), b.subarray(Math.min(o, b.length))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

/**
 * jpeg-lossless-decoder-js drops the last sample when the end-of-image marker is within the bits
 * it reads ahead while decoding it (seen on dcmtk's 8-bit selection-value-1 files: the last pixel
 * came out 0). Zero bytes before EOI give it those bits; a decoder stops after the last sample, so
 * they are never decoded as data.
 */
function padBeforeEoi(b: Uint8Array): Uint8Array {
  let eoi = -1;
  for (let i = b.length - 2; i >= Math.max(0, b.length - 6); i--) if (b[i] === 0xff && b[i + 1] === 0xd9) eoi = i;
  const at = eoi < 0 ? b.length : eoi;
  const out = new Uint8Array(b.length + 8);
  out.set(b.subarray(0, at));
  out.set(b.subarray(at), at + 8);
  return out;
}

/** Decodes the compressed frame `k` to samples. */
export async function decodeFrame(data: Uint8Array, info: DicomImageInfo, syntax: TransferSyntax, k: number): Promise<DecodedFrame> {
  const pixels = info.rows * info.columns;
  const spp = info.samplesPerPixel;
  if (syntax.encoding === 'rle') {
    const bps = (info.bitsAllocated / 8) as 1 | 2 | 4;
    if (info.bitsAllocated === 1) throw new DicomError('unsupported-feature', 'RLE with BitsAllocated 1 is not supported');
    return { bytes: decodeRle(data, pixels, spp, bps), bytesPerSample: bps, colorConverted: false };
  }
  const h = checkHeader(streamHeader(data), info, syntax, k);
  const expectBytes = (bps: number) => pixels * spp * bps;
  let out: DecodedFrame;
  if (syntax.encoding === 'jpeg-lossless') {
    if (h.marker !== 0xc3) throw new DicomError('codec', `frame ${k + 1}: ${syntax.name} expects a lossless (SOF3) JPEG, found SOF marker 0x${h.marker.toString(16)}`);
    const { Decoder } = await once('JPEG lossless (jpeg-lossless-decoder-js)', () => import('jpeg-lossless-decoder-js'));
    const bps = h.precision > 8 ? 2 : 1;
    try {
      const padded = padBeforeEoi(data);
      const arr = new Decoder().decode(padded.buffer as ArrayBuffer, 0, padded.length, bps);
      out = { bytes: new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength), bytesPerSample: bps, colorConverted: false };
    } catch (e) {
      throw new DicomError('codec', `JPEG lossless rejected frame ${k + 1} (${describe(e)})`, { cause: e });
    }
  } else if (syntax.encoding === 'jpeg-baseline' || syntax.encoding === 'jpeg-extended') {
    if (h.marker === 0xc3 || h.marker === 0xf7) throw new DicomError('codec', `frame ${k + 1}: a lossless JPEG bitstream under ${syntax.name}`);
    if (h.precision === 12) {
      const { decodeJpeg12 } = await once('JPEG 12-bit', () => import('./jpeg12.js'));
      out = { ...decodeJpeg12(data), bytesPerSample: 2 };
    } else {
      const r = await runWasm('JPEG (libjpeg-turbo)', spp === 3 ? withColorTransform(data, info.photometric === 'RGB' ? 0 : 1) : data);
      out = { bytes: r.bytes, bytesPerSample: 1, colorConverted: spp === 3 };
    }
  } else if (syntax.encoding === 'jpeg-ls') {
    const r = await runWasm('JPEG-LS (CharLS)', data);
    out = { bytes: r.bytes, bytesPerSample: r.info.bitsPerSample > 8 ? 2 : 1, colorConverted: false };
  } else {
    const r = await runWasm('JPEG 2000 (OpenJPEG)', data);
    out = { bytes: r.bytes, bytesPerSample: r.info.bitsPerSample > 8 ? 2 : 1, colorConverted: spp === 3 };
  }
  if (out.bytes.length < expectBytes(out.bytesPerSample)) {
    throw new DicomError('codec', `frame ${k + 1}: the decoder returned ${out.bytes.length} bytes for ${info.columns}×${info.rows}×${spp} samples`);
  }
  return out;
}
