// Shared image types: the RGB image every decoder returns, the decode error, and the size limits
// that decoders check from the file header before allocating anything.

/** An 8-bit RGB image, row-major, channels interleaved (R, G, B per pixel, no padding). */
export interface RgbImage {
  width: number;
  height: number;
  /** width·height·3 bytes. */
  data: Uint8Array;
}

/** Largest width or height accepted by `decodeImage`. */
export const MAX_IMAGE_SIDE = 16384;
/** Largest pixel count accepted by `decodeImage` (2^28, i.e. 16384×16384; 768 MiB as RGB). */
export const MAX_IMAGE_PIXELS = 2 ** 28;

/** Why a decode failed; `message` says the details. */
export type ImageDecodeFailure =
  | 'unsupported-format' // not PNG or JPEG (by magic bytes)
  | 'unsupported-feature' // PNG/JPEG, but a variant we do not decode (e.g. arithmetic-coded JPEG)
  | 'truncated' // the data ends before the image does
  | 'corrupt' // inconsistent or invalid data
  | 'too-large'; // header dimensions over MAX_IMAGE_SIDE / MAX_IMAGE_PIXELS

/** Thrown by `decodeImage` for anything it cannot turn into a correct image. */
export class ImageDecodeError extends Error {
  override readonly name = 'ImageDecodeError';
  constructor(
    readonly reason: ImageDecodeFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Throws `too-large` / `corrupt` unless width×height is a decodable size. */
export function checkImageSize(format: string, width: number, height: number): void {
  if (!(width > 0 && height > 0)) {
    throw new ImageDecodeError('corrupt', `${format}: invalid image size ${width}×${height}`);
  }
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || width * height > MAX_IMAGE_PIXELS) {
    throw new ImageDecodeError(
      'too-large',
      `${format}: image ${width}×${height} exceeds the limit of ${MAX_IMAGE_SIDE} pixels per side ` +
        `and ${MAX_IMAGE_PIXELS} pixels in all`,
    );
  }
}

/** A new black RGB image. */
export function newRgbImage(width: number, height: number): RgbImage {
  return { width, height, data: new Uint8Array(width * height * 3) };
}
