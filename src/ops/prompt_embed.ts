// SAM's prompt encoder: sparse point / box tokens and the dense positional encoding
// (shaders/prompt_embed.wgsl).
import type { Plan } from '../gpu/plan.js';
import { expectShape, type Tensor } from '../gpu/tensor.js';

export interface PromptTables {
  /** positional_encoding_gaussian_matrix [2, 128] */
  gauss: Tensor;
  /** [5, 256]: not_a_point_embed, point_embeddings.0 .. .3 */
  labelEmb: Tensor;
  /** med token [1, 256] */
  med: Tensor;
}

/** pts [N, T, 3] (x, y, label) in the img×img model frame → tokens [N, 1 + T, 256], med token first. */
export function promptTokens(p: Plan, pts: Tensor, tab: PromptTables, img: number, label = 'prompt_tokens'): Tensor {
  expectShape(pts, [-1, -1, 3], 'promptTokens');
  const [N, T] = [pts.dim(0), pts.dim(1)];
  const out = p.temp([N, 1 + T, 256], label);
  p.dispatch({
    shader: 'prompt_embed',
    constants: { MODE: 0 },
    inputs: [pts, tab.gauss, tab.labelEmb, tab.med],
    outputs: [out],
    params: { n_tokens: N * (1 + T), t: T, s: 0, img },
    groups: [N * (1 + T)],
    label,
  });
  return out;
}

/** The dense PE of an s×s grid, channels-last [s·s, 256] (get_dense_pe, flattened). */
export function densePe(p: Plan, tab: PromptTables, s: number, label = 'dense_pe'): Tensor {
  const out = p.temp([s * s, 256], label);
  p.dispatch({
    shader: 'prompt_embed',
    constants: { MODE: 1 },
    inputs: [tab.gauss, tab.gauss, tab.labelEmb, tab.med],
    outputs: [out],
    params: { n_tokens: s * s, t: 0, s, img: 0 },
    groups: [s * s],
    label,
  });
  return out;
}
