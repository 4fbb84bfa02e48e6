// Prompts in the original image's pixels → the sparse token list the decoder takes, with the checks
// that keep a wrong prompt from turning into a silently wrong mask.
//
// Documented behaviour:
// - Coordinates are pixels of the original image, x to the right, y down. A point or box must be
//   finite; a box needs x0 < x1 and y0 < y1. A point must lie in the image (0 ≤ x ≤ W, 0 ≤ y ≤ H).
//   A box partly outside the image is used as given (as upstream does); one wholly outside the
//   image is an error, and so is a corner more than one image size outside it (x outside
//   [−W, 2W] or y outside [−H, 2H]): the positional encoding of such far coordinates is not
//   meaningful, and huge ones overflow float32 into a NaN mask.
// - A prompt set is a plain object with only the fields box, points and maskInput (a misspelt
//   field is an error, not silently ignored).
// - Point labels are 1 (foreground) or 0 (background). At most MAX_POINTS points per prompt set.
// - Each prompt set needs a box or at least one point; a mask prompt (1×64×64 low-resolution logits
//   of an earlier run) may be added to either.
// - Without a box, a padding point (0, 0, label −1) is appended, as upstream's prompt encoder does.

import { nonFiniteIndex } from '../util/finite.js';
import { MASK_SIDE } from './config.js';
import { toModelFrame, type FrameInfo } from './frame.js';

export type { FrameInfo };

export type Box = readonly [number, number, number, number];
export type Point = readonly [number, number, number];

export interface PromptSet {
  box?: Box;
  points?: readonly Point[];
  /** Low-resolution logits of an earlier run, 64×64 (1×1×64×64). */
  maskInput?: Float32Array;
}

export const MAX_POINTS = 64;
const KNOWN_FIELDS = new Set(['box', 'points', 'maskInput']);

export class PromptError extends Error {
  override name = 'PromptError';
}

/** Tokens of one set as (x, y, label) in the model frame; labels 2 / 3 are box corners, −1 padding. */
export function promptTokensOf(set: PromptSet, f: FrameInfo, which = 'prompt'): number[][] {
  if (set === null || typeof set !== 'object' || Array.isArray(set)) {
    throw new PromptError(`${which}: expected an object with box / points / maskInput, got ${Array.isArray(set) ? 'an array' : String(set)}`);
  }
  for (const k of Object.keys(set)) {
    if (!KNOWN_FIELDS.has(k)) throw new PromptError(`${which}: unknown field '${k}' (a prompt set has box, points and maskInput)`);
  }
  if (!(f.width >= 1 && f.height >= 1 && f.inputW >= 1 && f.inputH >= 1)) {
    throw new PromptError(`${which}: bad image frame ${f.width}×${f.height} (model frame ${f.inputW}×${f.inputH})`);
  }
  const tokens: number[][] = [];
  const points = set.points ?? [];
  if (!Array.isArray(points)) throw new PromptError(`${which}.points: expected an array of [x, y, label]`);
  if (points.length > MAX_POINTS) throw new PromptError(`${which}.points: ${points.length} points, at most ${MAX_POINTS} are allowed`);
  points.forEach((pt, i) => {
    const name = `${which}.points[${i}]`;
    if (!Array.isArray(pt) || pt.length !== 3) throw new PromptError(`${name}: expected [x, y, label]`);
    const [x, y, label] = pt as unknown as Point;
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw new PromptError(`${name}: coordinates must be finite numbers, got (${x}, ${y})`);
    if (label !== 0 && label !== 1) throw new PromptError(`${name}: label must be 1 (foreground) or 0 (background), got ${label}`);
    if (x < 0 || y < 0 || x > f.width || y > f.height) {
      throw new PromptError(`${name}: (${x}, ${y}) is outside the ${f.width}×${f.height} image`);
    }
    tokens.push([...toModelFrame(f, x, y), label]);
  });
  if (set.box !== undefined) {
    const b = set.box;
    if (!Array.isArray(b) || b.length !== 4) throw new PromptError(`${which}.box: expected [x0, y0, x1, y1]`);
    const [x0, y0, x1, y1] = b as unknown as Box;
    if (![x0, y0, x1, y1].every(Number.isFinite)) throw new PromptError(`${which}.box: coordinates must be finite numbers, got [${b}]`);
    if (!(x0 < x1) || !(y0 < y1)) throw new PromptError(`${which}.box: needs x0 < x1 and y0 < y1, got [${b}]`);
    if (x1 <= 0 || y1 <= 0 || x0 >= f.width || y0 >= f.height) {
      throw new PromptError(`${which}.box: [${b}] lies wholly outside the ${f.width}×${f.height} image`);
    }
    if (x0 < -f.width || y0 < -f.height || x1 > 2 * f.width || y1 > 2 * f.height) {
      throw new PromptError(
        `${which}.box: [${b}] reaches more than one image size outside the ${f.width}×${f.height} image ` +
          `(corners must lie in [${-f.width}, ${2 * f.width}] × [${-f.height}, ${2 * f.height}])`,
      );
    }
    tokens.push([...toModelFrame(f, x0, y0), 2], [...toModelFrame(f, x1, y1), 3]);
  } else {
    if (points.length === 0) throw new PromptError(`${which}: needs a box or at least one point`);
    // Upstream's _embed_points(pad=True): pad point inserted after the points, before the box.
    tokens.push([0, 0, -1]);
  }
  if (set.maskInput !== undefined) {
    const m = set.maskInput;
    if (!(m instanceof Float32Array) || m.length !== MASK_SIDE * MASK_SIDE) {
      throw new PromptError(`${which}.maskInput: expected a Float32Array of ${MASK_SIDE}×${MASK_SIDE} logits, got ${m instanceof Float32Array ? m.length : typeof m} values`);
    }
    const i = nonFiniteIndex(m);
    if (i >= 0) throw new PromptError(`${which}.maskInput: value ${m[i]} at index ${i}`);
  }
  return tokens;
}
