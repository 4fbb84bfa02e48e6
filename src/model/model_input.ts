// What an image and a frame must be before the model runs: the RGB data resized into the
// 1×3×256×256 model input, finite values, and a frame whose logits fit the device.
//
// Image size limits (frame.ts: each side 1 … MAX_INPUT_SIDE, at most MAX_ASPECT_RATIO : 1), and:
//
// - The decoder writes full-resolution logits, H·W float32 per prompt set, into one GPU storage
//   binding, so H·W·4 bytes must fit the device's maxStorageBufferBindingSize (and maxBufferSize).
//   With WebGPU's default of 128 MiB that is H·W ≤ 33,554,432 pixels (8192×4096; 5792×5792).
//   maxLogitsPixels(gpu) gives the device's figure; encode() rejects a larger image before running
//   the encoder, with an ImageInputError naming the limit.
// - decode() runs the prompt sets in chunks of at most MAX_DECODE_BATCH sets whose logits fit one
//   binding (N·H·W·4 bytes ≤ the limit), so any number of sets works on any accepted image; the
//   returned arrays hold N·H·W·5 bytes of CPU memory in all (float32 logits + uint8 masks).
import type { Gpu } from '../gpu/device.js';
import type { RgbImage } from '../image/decode.js';
import { preprocess } from '../image/preprocess.js';
import { resizeBilinear } from '../image/resize.js';
import { nonFiniteIndex } from '../util/finite.js';
import { INPUT_SIZE } from './config.js';
import { imageFrame, ImageInputError, type FrameInfo } from './frame.js';

/** Bytes one storage binding may have on this device (the logits of one decode chunk). */
export function maxBindingBytes(gpu: Gpu): number {
  const l = gpu.device.limits;
  return Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize);
}

/** The most pixels (H·W) an image may have for its logits to fit one binding on `gpu`. */
export function maxLogitsPixels(gpu: Gpu): number {
  return Math.floor(maxBindingBytes(gpu) / 4);
}

export function checkLogitsFit(gpu: Gpu, { width, height }: FrameInfo, what: string): void {
  const max = maxLogitsPixels(gpu);
  if (width * height > max) {
    throw new ImageInputError(
      `${what}: ${width}×${height} = ${width * height} pixels; its logits (${width * height * 4} bytes of float32) do not fit one GPU ` +
        `storage binding on this device (maxStorageBufferBindingSize ${gpu.device.limits.maxStorageBufferBindingSize} bytes, ` +
        `maxBufferSize ${gpu.device.limits.maxBufferSize}): at most ${max} pixels; downscale it first`,
    );
  }
}

/** The frame of an RGB image argument (its size checked). */
export function frameOfImage(image: RgbImage): FrameInfo {
  if (image === null || typeof image !== 'object') throw new ImageInputError('image: expected { width, height, data } (8-bit RGB)');
  return imageFrame(image.width, image.height, 'image');
}

/** The image's data checked, resized into `frame` and normalised: the 1×3×256×256 model input. */
export function modelInput(image: RgbImage, frame: FrameInfo): Float32Array {
  const { width, height } = frame;
  const data: unknown = image.data;
  if (!(data instanceof Uint8Array) && !(data instanceof Uint8ClampedArray)) {
    throw new ImageInputError(`image: data must be a Uint8Array of 8-bit RGB, got ${Object.prototype.toString.call(image.data)}`);
  }
  if (image.data.length !== width * height * 3) {
    const per = image.data.length / (width * height);
    const hint = per === 4 ? ' (this looks like RGBA: drop the alpha channel, or decode with decodeImage)' : per === 1 ? ' (this looks like greyscale: repeat it into R, G and B)' : '';
    throw new ImageInputError(`image: ${image.data.length} bytes for ${width}×${height} RGB, which needs ${width * height * 3}${hint}`);
  }
  return preprocess(resizeBilinear(image, frame.inputW, frame.inputH), INPUT_SIZE);
}

export function checkFinite(v: Float32Array, what: string): void {
  const bad = nonFiniteIndex(v);
  if (bad >= 0) throw new ImageInputError(`${what} holds ${v[bad]} at index ${bad}`);
}

/** `frame` checked against the one SamUnet.prepare gives for its size on this device; returns that one. */
export function checkFrame(gpu: Gpu, frame: FrameInfo, what: string): FrameInfo {
  if (frame === null || typeof frame !== 'object') throw new ImageInputError(`${what}: frame must be { width, height, inputW, inputH }`);
  const expected = imageFrame(frame.width, frame.height, `${what}: frame`);
  if (frame.inputW !== expected.inputW || frame.inputH !== expected.inputH) {
    throw new ImageInputError(
      `${what}: frame ${frame.width}×${frame.height} resizes to ${expected.inputW}×${expected.inputH}, but the frame says ${frame.inputW}×${frame.inputH} (use SamUnet.prepare)`,
    );
  }
  checkLogitsFit(gpu, expected, `${what}: frame`);
  return expected;
}
