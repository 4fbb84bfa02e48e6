// JPEG to RGB: baseline, extended and progressive Huffman-coded JPEG with 8-bit samples, grey
// (→ R = G = B), YCbCr, RGB and CMYK/YCCK. jpeg-js does the entropy decoding and IDCT; for 3
// components the chroma upsampling and colour conversion are libjpeg-turbo's (jpeg-color.ts), so
// the result is PIL's within ±1 (grey) or ±3 (colour) levels, as jpeg-js's IDCT rounds differently
// from libjpeg's (measured on PIL-written files: 88–97 % of values exact). Before
// decoding, the marker structure is walked here: the frame size is checked against the limits,
// unsupported variants (arithmetic coding, lossless, hierarchical, 12-bit) are refused by name,
// and data that ends before the EOI marker is reported as truncated (jpeg-js alone would decode
// missing data as grey). EXIF orientation is not applied (PIL's convert('RGB') does not either).

import jpeg from 'jpeg-js';
import { finishThreeComponents, type JpegColorInfo } from './jpeg-color.js';
import { checkImageSize, ImageDecodeError, MAX_IMAGE_PIXELS, type RgbImage } from './types.js';

interface FrameHeader extends JpegColorInfo {
  width: number;
  height: number;
}

const UNSUPPORTED_SOF: Record<number, string> = {
  0xc3: 'lossless', 0xc5: 'differential sequential', 0xc6: 'differential progressive',
  0xc7: 'differential lossless', 0xc9: 'arithmetic-coded sequential', 0xca: 'arithmetic-coded progressive',
  0xcb: 'arithmetic-coded lossless', 0xcd: 'arithmetic-coded differential sequential',
  0xce: 'arithmetic-coded differential progressive', 0xcf: 'arithmetic-coded differential lossless',
};

export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

const hex = (m: number) => `0xFF${m.toString(16).toUpperCase().padStart(2, '0')}`;
const fail = (reason: 'corrupt' | 'truncated' | 'unsupported-feature', msg: string) =>
  new ImageDecodeError(reason, `JPEG: ${msg}`);

const isTag = (b: Uint8Array, o: number, tag: string) => [...tag].every((ch, i) => b[o + i] === ch.charCodeAt(0));

/** Walks SOI … EOI, skipping segments and entropy-coded scan data; returns the frame header. */
function readStructure(b: Uint8Array): FrameHeader {
  let frame: FrameHeader | null = null;
  let jfif = false;
  let adobeTransform: number | null = null;
  let scanBytes = 0;
  let off = 2;
  for (;;) {
    if (off >= b.length) throw fail('truncated', `data ends at byte ${b.length} before the end-of-image marker`);
    if (b[off] !== 0xff) throw fail('corrupt', `expected a marker at byte ${off}, found 0x${b[off].toString(16)}`);
    while (off < b.length && b[off] === 0xff) off++; // fill bytes
    if (off >= b.length) throw fail('truncated', `data ends at byte ${b.length} before the end-of-image marker`);
    const m = b[off++];
    if (m === 0xd9) break; // EOI
    if ((m >= 0xd0 && m <= 0xd7) || m === 0x01) continue; // markers without a segment
    if (m === 0x00 || m === 0xd8) throw fail('corrupt', `unexpected marker ${hex(m)} at byte ${off - 2}`);
    if (off + 2 > b.length) throw fail('truncated', `data ends inside the ${hex(m)} segment header`);
    const len = (b[off] << 8) | b[off + 1];
    if (len < 2) throw fail('corrupt', `segment ${hex(m)} at byte ${off - 2} has invalid length ${len}`);
    if (off + len > b.length) throw fail('truncated', `segment ${hex(m)} at byte ${off - 2} (${len} bytes) runs past the end of the data`);
    if (m === 0xe0 && len >= 16 && isTag(b, off + 2, 'JFIF\0')) jfif = true;
    if (m === 0xee && len >= 14 && isTag(b, off + 2, 'Adobe')) adobeTransform = b[off + 13];
    if (m in UNSUPPORTED_SOF) throw fail('unsupported-feature', `${UNSUPPORTED_SOF[m]} JPEG (${hex(m)}) is not supported`);
    if (m === 0xc0 || m === 0xc1 || m === 0xc2) {
      if (frame) throw fail('corrupt', 'more than one frame header');
      const count = b[off + 7];
      if (len < 8 + 3 * count) throw fail('corrupt', `frame header too short (${len} bytes)`);
      if (b[off + 2] !== 8) throw fail('unsupported-feature', `${b[off + 2]}-bit samples are not supported (8-bit only)`);
      const components = Array.from({ length: count }, (_, i) => {
        const p = off + 8 + 3 * i;
        return { id: b[p], h: b[p + 1] >> 4, v: b[p + 1] & 15 };
      });
      if (components.some((k) => k.h < 1 || k.h > 4 || k.v < 1 || k.v > 4)) throw fail('corrupt', 'invalid sampling factors');
      frame = { height: (b[off + 3] << 8) | b[off + 4], width: (b[off + 5] << 8) | b[off + 6], components, jfif, adobeTransform };
      if (frame.height === 0) throw fail('unsupported-feature', 'height defined by a DNL marker is not supported');
      if (count !== 1 && count !== 3 && count !== 4) {
        throw fail('unsupported-feature', `${count} colour components are not supported`);
      }
      checkImageSize('JPEG', frame.width, frame.height);
    }
    off += len;
    if (m === 0xda) {
      if (!frame) throw fail('corrupt', 'scan before the frame header');
      // Entropy-coded data: runs to the next marker that is not a stuffed 0xFF00 or a restart marker.
      const scanStart = off;
      while (off + 1 < b.length && !(b[off] === 0xff && b[off + 1] !== 0 && (b[off + 1] < 0xd0 || b[off + 1] > 0xd7))) off++;
      if (off + 1 >= b.length) throw fail('truncated', 'data ends inside the scan data, before the end-of-image marker');
      scanBytes += off - scanStart;
    }
  }
  if (!frame) throw fail('corrupt', 'no frame header (SOF0/1/2) before the end-of-image marker');
  // Every 8×8 block's DC coefficient takes at least one bit: refuse files far too small for the
  // size they claim before jpeg-js allocates memory for it.
  const maxH = Math.max(...frame.components.map((k) => k.h)), maxV = Math.max(...frame.components.map((k) => k.v));
  const { width: W, height: H } = frame;
  const blocks = Math.min(...frame.components.map((k) => Math.ceil(Math.ceil((W * k.h) / maxH) / 8) * Math.ceil(Math.ceil((H * k.v) / maxV) / 8)));
  if (scanBytes * 8 < blocks) throw fail('truncated', `${scanBytes} bytes of scan data cannot hold a ${W}×${H} image`);
  return { ...frame, jfif, adobeTransform };
}

export function decodeJpeg(bytes: Uint8Array): RgbImage {
  const frame = readStructure(bytes);
  const three = frame.components.length === 3;
  let out: { width: number; height: number; data: Uint8Array };
  try {
    out = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      // 3 components: raw planes, finished below as libjpeg-turbo does
      ...(three ? { colorTransform: false } : {}),
      tolerantDecoding: false,
      maxResolutionInMP: Math.ceil(MAX_IMAGE_PIXELS / 1e6),
      // jpeg-js keeps 4 bytes per sample per component in DCT blocks, plus the output.
      maxMemoryUsageInMB: Math.ceil((frame.width * frame.height * (frame.components.length * 6 + 4)) / 2 ** 20) + 64,
    });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new ImageDecodeError('corrupt', `JPEG: cannot decode (${msg})`, { cause: e });
  }
  const { width, height, data } = out;
  if (width !== frame.width || height !== frame.height || data.length !== width * height * 3) {
    throw fail('corrupt', `decoder returned ${width}×${height} (${data.length} bytes) for a ${frame.width}×${frame.height} frame`);
  }
  return { width, height, data: three ? finishThreeComponents(data, width, height, frame) : data };
}
