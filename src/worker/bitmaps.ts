// Pictures the worker makes for the app to draw (ctx.drawImage), so that the app's thread never
// loops over the pixels of a large image: the image as the model sees it, and a mask as a colour
// overlay. ImageBitmaps are transferred, not copied. Needs createImageBitmap (browsers, Deno).
import { ImageInputError, type RgbImage } from '../index.js';
import { SamUnetWorkerError, type Rgba } from './protocol.js';

/** Throws unless this runtime can make ImageBitmaps off the main thread. */
export function assertBitmaps(what: string): void {
  if (typeof createImageBitmap !== 'function' || typeof ImageData !== 'function') {
    throw new SamUnetWorkerError(`${what}: this runtime has no createImageBitmap / ImageData (a browser worker has both); ask for no bitmap`);
  }
}

/** The RGB image as an opaque ImageBitmap. */
export function rgbBitmap(img: RgbImage): Promise<ImageBitmap> {
  const { width, height, data } = img;
  if (!(data instanceof Uint8Array) || data.length !== width * height * 3) {
    throw new ImageInputError(`image: ${data?.length} bytes for ${width}×${height} RGB, which needs ${width * height * 3}`);
  }
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0, j = 0; i < data.length; i += 3, j += 4) {
    rgba[j] = data[i]!;
    rgba[j + 1] = data[i + 1]!;
    rgba[j + 2] = data[i + 2]!;
    rgba[j + 3] = 255;
  }
  return createImageBitmap(new ImageData(rgba, width, height));
}

/** `mask` (1 inside) painted in `color`, transparent elsewhere. */
export function maskBitmap(mask: Uint8Array, width: number, height: number, color: Rgba): Promise<ImageBitmap> {
  const px = new Uint32Array(width * height);
  const bytes = new Uint8ClampedArray(px.buffer);
  // One 32-bit word per pixel, in memory order R, G, B, A whatever the platform's endianness.
  bytes.set(color.map((c) => Math.max(0, Math.min(255, Math.round(c)))), 0);
  const word = px[0]!;
  px[0] = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) px[i] = word;
  return createImageBitmap(new ImageData(bytes, width, height));
}
