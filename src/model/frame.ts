// How an image maps into the model input (upstream `ResizeLongestSide`): resized so that its longest
// side is INPUT_SIZE, placed at the top-left of the square input. The image-size limits are checked
// here, once, and the coordinate map is written once (prompts.ts uses it).
import { longestSideShape } from '../image/resize.js';
import { INPUT_SIZE } from './config.js';

/** An image (or a prepared input and its frame) the model cannot take; the message says why. */
export class ImageInputError extends Error {
  override name = 'ImageInputError';
}

export interface FrameInfo {
  /** Original image size. */
  width: number;
  height: number;
  /** Resized size (longest side 256). */
  inputW: number;
  inputH: number;
}

/**
 * Image size limits: each side 1 … MAX_INPUT_SIDE pixels, and the image no more than
 * MAX_ASPECT_RATIO times longer than it is wide (or the reverse): resizing to a longest side of 256
 * must leave the short side ≥ 1 pixel. (The logits must also fit one GPU binding: SamUnet checks
 * that against its device.)
 */
export const MAX_INPUT_SIDE = 8192;
/** Longest side : shortest side beyond which the short side resizes to 0 pixels. */
export const MAX_ASPECT_RATIO = 512;

/** The frame of a width×height image, after checking the size limits (`what` names it in errors). */
export function imageFrame(width: number, height: number, what = 'image'): FrameInfo {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageInputError(`${what}: bad size ${width}×${height} (width and height must be positive integers)`);
  }
  if (width > MAX_INPUT_SIDE || height > MAX_INPUT_SIDE) {
    throw new ImageInputError(`${what}: ${width}×${height} exceeds the ${MAX_INPUT_SIDE}-pixel side limit (MAX_INPUT_SIDE); downscale it first`);
  }
  const [inputH, inputW] = longestSideShape(height, width, INPUT_SIZE);
  if (inputH < 1 || inputW < 1) {
    throw new ImageInputError(
      `${what}: ${width}×${height} is too elongated: resized to a longest side of ${INPUT_SIZE} its short side would be 0 pixels ` +
        `(at most ${MAX_ASPECT_RATIO}:1); pad or crop it first`,
    );
  }
  return { width, height, inputW, inputH };
}

/** A point (x, y) in original-image pixels → the model frame (upstream apply_coords: x · (newW / W)). */
export function toModelFrame(f: FrameInfo, x: number, y: number): [number, number] {
  return [x * (f.inputW / f.width), y * (f.inputH / f.height)];
}
