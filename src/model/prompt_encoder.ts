// SAM's prompt encoder (`prompt_encoder.sam_prompt_encoder`: segment_anything prompt_encoder.py):
// sparse tokens of points and box corners, the dense positional encoding, and the dense embedding
// of a mask prompt (or no_mask_embed).
import type { Plan } from '../gpu/plan.js';
import type { Tensor } from '../gpu/tensor.js';
import { densePe, promptTokens, type PromptTables } from '../ops/prompt_embed.js';
import type { VarBuilder, Weight } from '../weights/spec.js';
import type { PromptConfig } from './config.js';
import { Conv2d, LayerNorm2d } from './layers.js';

/** Rows of the label table: not_a_point_embed (label −1), then point_embeddings.0 .. .3 (labels 0 .. 3). */
const POINT_EMBEDDINGS = 4;

export class PromptEncoder {
  private readonly gauss: Weight;
  /** [5, dim], stacked at load: the table prompt_embed.wgsl indexes by label + 1. */
  private readonly labelEmbeddings: Weight;
  private readonly maskDownscaling: [Conv2d, LayerNorm2d, Conv2d, LayerNorm2d, Conv2d];
  readonly noMaskEmbed: Weight;

  constructor(vb: VarBuilder, private readonly cfg: PromptConfig, private readonly inputSize: number, ln2dEps: number) {
    const { dim, maskInChans: c } = cfg;
    this.gauss = vb.get('pe_layer.positional_encoding_gaussian_matrix', [2, dim / 2]);
    const points = Array.from({ length: POINT_EMBEDDINGS }, (_, i) => vb.source(`point_embeddings.${i}.weight`, [1, dim]));
    const notAPoint = vb.source('not_a_point_embed.weight', [1, dim]);
    [this.labelEmbeddings] = vb.derive([notAPoint, ...points], [{ name: 'label_embeddings', shape: [1 + POINT_EMBEDDINGS, dim] }], stackRows);
    const m = vb.pp('mask_downscaling'); // Conv 2×2 s2, LN2d, GELU, Conv 2×2 s2, LN2d, GELU, Conv 1×1
    this.maskDownscaling = [
      Conv2d.load(m.pp(0), 1, c / 4, 2, { stride: 2 }),
      new LayerNorm2d(m.pp(1), c / 4, ln2dEps),
      Conv2d.load(m.pp(3), c / 4, c, 2, { stride: 2 }),
      new LayerNorm2d(m.pp(4), c, ln2dEps),
      Conv2d.load(m.pp(6), c, dim, 1),
    ];
    this.noMaskEmbed = vb.get('no_mask_embed.weight', [1, dim]);
  }

  /** The tables the prompt_embed kernel reads; `med` is the mask decoder's med token. */
  tables(p: Plan, med: Weight): PromptTables {
    return { gauss: this.gauss.t(p), labelEmb: this.labelEmbeddings.t(p), med: med.t(p) };
  }

  /** pts [N, T, 3] (x, y, label) in the model frame → tokens [N, 1 + T, dim], med token first. */
  tokens(p: Plan, pts: Tensor, tab: PromptTables): Tensor {
    return promptTokens(p, pts, tab, this.inputSize, 'prompt_tokens');
  }

  /** get_dense_pe: the positional encoding of the embedding grid, channels-last [grid², dim]. */
  densePe(p: Plan, tab: PromptTables): Tensor {
    return densePe(p, tab, this.cfg.grid, 'dense_pe');
  }

  /** The dense embedding of mask prompts [N, 1, 64, 64] → [N, dim, 16, 16]. */
  embedMask(p: Plan, mask: Tensor): Tensor {
    const [c0, n1, c3, n4, c6] = this.maskDownscaling;
    return c6.forward(p, n4.forward(p, c3.forward(p, n1.forward(p, c0.forward(p, mask), 'gelu')), 'gelu'));
  }
}

/** Rows [1, C] stacked into one [rows, C] table. */
function stackRows(rows: Float32Array[]): Float32Array[] {
  const out = new Float32Array(rows.reduce((n, r) => n + r.length, 0));
  let at = 0;
  for (const r of rows) {
    out.set(r, at);
    at += r.length;
  }
  return [out];
}
