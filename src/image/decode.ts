// Image file bytes → 8-bit RGB, as PIL's `Image.open(f).convert('RGB')` would give (alpha dropped,
// not composited). PNG and JPEG, recognised by their magic bytes. Everything else, and any
// corrupt, truncated or oversized file (limits: MAX_IMAGE_SIDE per side, MAX_IMAGE_PIXELS in all,
// checked from the header before decoding), throws an ImageDecodeError saying what is wrong.

import { decodeJpeg, isJpeg } from './jpeg.js';
import { decodePng, isPng } from './png.js';
import { ImageDecodeError, type RgbImage } from './types.js';

export { encodePng } from './png.js';
export { ImageDecodeError, MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, type ImageDecodeFailure, type RgbImage } from './types.js';

/** Names of formats we recognise but do not decode, by magic bytes. */
const OTHER_FORMATS: [string, number[]][] = [
  ['GIF', [0x47, 0x49, 0x46, 0x38]],
  ['BMP', [0x42, 0x4d]],
  ['TIFF', [0x49, 0x49, 0x2a, 0x00]],
  ['TIFF', [0x4d, 0x4d, 0x00, 0x2a]],
  ['RIFF (WebP?)', [0x52, 0x49, 0x46, 0x46]],
];

/** Decodes a PNG or JPEG file to RGB. Throws ImageDecodeError for anything else. */
export function decodeImage(bytes: Uint8Array): RgbImage {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('decodeImage expects a Uint8Array');
  let decode: (b: Uint8Array) => RgbImage;
  if (isPng(bytes)) decode = decodePng;
  else if (isJpeg(bytes)) decode = decodeJpeg;
  else {
    if (bytes.length === 0) throw new ImageDecodeError('unsupported-format', 'empty data is not an image');
    const other = OTHER_FORMATS.find(([, magic]) => magic.every((b, i) => bytes[i] === b));
    const dicom = bytes.length >= 132 && String.fromCharCode(...bytes.subarray(128, 132)) === 'DICM';
    const what = other ? `${other[0]} data` : dicom ? 'DICOM data' : 'not a PNG or JPEG file';
    const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new ImageDecodeError('unsupported-format', `unsupported image format: ${what} (first bytes ${head}); PNG and JPEG are supported`);
  }
  try {
    return decode(bytes);
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    // Out of memory for the pixels (RangeError) or a decoder bug: still a decode error, with the cause.
    const msg = e instanceof Error ? e.message : String(e);
    throw new ImageDecodeError('corrupt', `${decode === decodePng ? 'PNG' : 'JPEG'}: cannot decode (${msg})`, { cause: e });
  }
}
