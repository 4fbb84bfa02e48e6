// One DICOM file to values: parse (parse.ts), check the image attributes (info.ts), cut the pixel
// data into frames (frames.ts), decode compressed frames (codecs.ts) and turn samples into
// values (pixels.ts).

import { DicomError, describe } from '../errors.js';
import { encapsulatedFrames, nativeFrameBits, nativePixelData } from './frames.js';
import { decodeFrame } from './codecs.js';
import { readImageInfo, type DicomImageInfo } from './info.js';
import { parseDicom } from './parse.js';
import { colorMax, frameValues, type FrameSamples } from './pixels.js';
import type { TransferSyntax } from './syntax.js';

/** A decoded DICOM image: every frame's values, and the attributes that say what they mean. */
export interface DicomImage {
  info: DicomImageInfo;
  syntax: TransferSyntax;
  /** 1 for grey images (values after the modality LUT), 3 for colour (RGB, interleaved). */
  channels: 1 | 3;
  /** Per frame: rows × columns × channels values, row-major. */
  frames: Float32Array[];
  /** MONOCHROME1: higher values are shown darker. */
  invert: boolean;
  /** Colour images: the largest sample value (255 for 8-bit samples), for scaling to 8 bits. */
  colorMax?: number;
}

export interface DecodeDicomOptions {
  /** Decode only these frames (0-based); default all. */
  frames?: readonly number[];
}

/** Decodes one DICOM file (Part 10, or a bare data set). Throws DicomError naming any problem. */
export async function decodeDicom(bytes: Uint8Array, opts: DecodeDicomOptions = {}): Promise<DicomImage> {
  const { syntax, attrs } = await parseDicom(bytes);
  const info = readImageInfo(attrs);
  const wanted = opts.frames ?? Array.from({ length: info.frames }, (_, k) => k);
  for (const k of wanted) {
    if (!Number.isInteger(k) || k < 0 || k >= info.frames) throw new RangeError(`frame ${k} is outside 0..${info.frames - 1}`);
  }
  const frames: Float32Array[] = [];
  try {
    if (syntax.encoding === 'native') {
      const all = nativePixelData(attrs.dataSet, info);
      const bits = nativeFrameBits(info);
      for (const k of wanted) {
        let bytes: Uint8Array;
        if (bits % 8 === 0) bytes = all.subarray((k * bits) / 8, ((k + 1) * bits) / 8);
        else bytes = unpackBitFrame(all, k * bits, bits);
        const s: FrameSamples = {
          bytes, bytesPerSample: Math.max(1, info.bitsAllocated / 8) as 1 | 2 | 4, littleEndian: syntax.littleEndian,
          native: true, planar: info.planarConfiguration, rgb: false,
        };
        frames.push(frameValues(info, s, k));
      }
    } else {
      if (info.bitsAllocated === 1) throw new DicomError('unsupported-feature', `BitsAllocated 1 under ${syntax.name}`);
      const data = encapsulatedFrames(attrs.dataSet, info, syntax);
      for (const k of wanted) {
        const d = await decodeFrame(data[k], info, syntax, k);
        const rgb = d.colorConverted && !(syntax.encoding === 'jpeg-2000' && info.photometric.startsWith('YBR_FULL'));
        frames.push(frameValues(info, { ...d, littleEndian: true, native: false, planar: 0, rgb }, k));
      }
    }
  } catch (e) {
    if (e instanceof DicomError || e instanceof RangeError) throw e;
    throw new DicomError('corrupt', `cannot decode the pixel data (${describe(e)})`, { cause: e });
  }
  const channels = info.samplesPerPixel === 3 || info.photometric === 'PALETTE COLOR' ? 3 : 1;
  return {
    info, syntax, channels, frames,
    invert: info.photometric === 'MONOCHROME1',
    colorMax: channels === 3 ? colorMax(info) : undefined,
  };
}

/** A 1-bit frame that does not start on a byte boundary, copied to start at bit 0. */
function unpackBitFrame(all: Uint8Array, startBit: number, bits: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(bits / 8));
  for (let i = 0; i < bits; i++) {
    const b = startBit + i;
    if ((all[b >> 3] >> (b & 7)) & 1) out[i >> 3] |= 1 << (i & 7);
  }
  return out;
}
