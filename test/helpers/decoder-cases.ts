// What the decoder tests outside the fixtures share: the synthetic weights as the float64 reference
// reads them, upstream's frame of an image size, embedding-like random values and mask prompts.
import { modelKeys } from '../../src/model/keys.js';
import type { FrameInfo } from '../../src/model/prompts.js';
import type { Variant } from '../../src/model/weights.js';
import { syntheticValues } from '../../src/weights/synthetic.js';
import { cachedWeights, getPreprocessShape, type WeightFn } from './decoder-ref.js';
import { rand } from './gpu.js';

/** Synthetic weights of `variant` as the reference reads them (shapes from modelKeys). */
export function refWeights(variant: Variant): WeightFn {
  const shapes = new Map(modelKeys(variant).map((k) => [k.key, k.shape]));
  return cachedWeights((key) => {
    const shape = shapes.get(key);
    if (!shape) throw new Error(`no key ${key} in ${variant}`);
    return syntheticValues(key, shape);
  });
}

/** The frame of a W×H image, from upstream's get_preprocess_shape. */
export function frameOf(width: number, height: number): FrameInfo {
  const [inputH, inputW] = getPreprocessShape(height, width);
  return { width, height, inputW, inputH };
}

/** Standard normal values (Box–Muller over the seeded uniform generator). */
export function gauss(n: number, seed: number, std = 1): Float32Array {
  const u = rand(2 * n, seed, 0, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = std * Math.sqrt(-2 * Math.log(1 - u[2 * i]!)) * Math.cos(2 * Math.PI * u[2 * i + 1]!);
  return out;
}

/** A mask prompt like an earlier run's output: about +4 inside an ellipse, −4 outside, with noise. */
export function maskPrompt(cx: number, cy: number, rx: number, ry: number, seed: number): Float32Array {
  const noise = rand(64 * 64, seed, -0.5, 0.5);
  const m = new Float32Array(64 * 64);
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      const r = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2;
      m[y * 64 + x] = (r < 1 ? 4 : -4) + noise[y * 64 + x]!;
    }
  }
  return m;
}
