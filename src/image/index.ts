// Image input/output and preprocessing for SAM-UNet: decode PNG/JPEG, resize and normalise for
// the model, map prompts into the model frame, and draw/encode the result.

export { decodeImage, encodePng, ImageDecodeError, MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE } from './decode.js';
export type { ImageDecodeFailure, RgbImage } from './types.js';
export { longestSideShape, resizeBilinear, resizeLongestSide } from './resize.js';
export {
  boxToModelFrame, modelFrameScale, pointToModelFrame, preprocess, PIXEL_MEAN, PIXEL_STD, type ModelFrame,
} from './preprocess.js';
export { sheppLogan, sheppLoganValues } from './phantom.js';
export { drawBox, drawPoints, overlayMask, type Rgb } from './overlay.js';
export { maskFromLogits } from './mask.js';
