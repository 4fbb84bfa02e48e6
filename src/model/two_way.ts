// SAM's TwoWayTransformer (segment_anything modeling/transformer.py): tokens attend to the image
// and the image to the tokens, `depth` blocks, then a final token-to-image attention.
import type { Plan } from '../gpu/plan.js';
import type { Tensor } from '../gpu/tensor.js';
import { attention } from '../ops/attention.js';
import { add } from '../ops/elementwise.js';
import type { VarBuilder } from '../weights/spec.js';
import type { DecoderConfig } from './config.js';
import { LayerNorm, Linear } from './layers.js';

/** transformer.py `Attention`: q/k/v projections to `internal`, multi-head softmax(q kᵀ/√d) v, out_proj. */
class Attention {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  private readonly out: Linear;
  private readonly label: string;

  constructor(vb: VarBuilder, dim: number, internal: number, private readonly heads: number) {
    this.label = vb.prefix;
    this.q = new Linear(vb.pp('q_proj'), dim, internal);
    this.k = new Linear(vb.pp('k_proj'), dim, internal);
    this.v = new Linear(vb.pp('v_proj'), dim, internal);
    this.out = new Linear(vb.pp('out_proj'), internal, dim);
  }

  forward(p: Plan, q: Tensor, k: Tensor, v: Tensor, residual?: Tensor): Tensor {
    return this.attend(p, this.q.forward(p, q), this.k.forward(p, k), this.v.forward(p, v), residual);
  }

  /** The rest on projected q, k, v: the heads, out_proj (+ residual). */
  attend(p: Plan, q: Tensor, k: Tensor, v: Tensor, residual?: Tensor): Tensor {
    return this.out.forward(p, attention(p, q, k, v, { heads: this.heads, label: this.label }), { residual });
  }
}

/**
 * What a TwoWayAttentionBlock computes from its keys (and the key PE) alone: the token→image k and
 * v projections and the image→token q projection. For block 0 without a mask prompt that depends on
 * the image only, and the decoder records it in a cached segment.
 */
export interface KeySide {
  k: Tensor;
  v: Tensor;
  qImg: Tensor;
}

/** transformer.py `TwoWayAttentionBlock`; block 0 skips the PE (and the residual) in its self-attention. */
class TwoWayBlock {
  private readonly selfAttn: Attention;
  private readonly norm1: LayerNorm;
  private readonly tokenToImage: Attention;
  private readonly norm2: LayerNorm;
  private readonly lin1: Linear;
  private readonly lin2: Linear;
  private readonly norm3: LayerNorm;
  private readonly norm4: LayerNorm;
  private readonly imageToToken: Attention;
  private readonly label: string;

  constructor(vb: VarBuilder, dim: number, cfg: DecoderConfig, private readonly skipFirstLayerPe: boolean) {
    this.label = vb.prefix;
    const ln = (name: string) => new LayerNorm(vb.pp(name), dim, cfg.lnEps);
    this.selfAttn = new Attention(vb.pp('self_attn'), dim, dim, cfg.heads);
    this.norm1 = ln('norm1');
    this.tokenToImage = new Attention(vb.pp('cross_attn_token_to_image'), dim, cfg.crossDim, cfg.heads);
    this.norm2 = ln('norm2');
    this.lin1 = new Linear(vb.pp('mlp.lin1'), dim, cfg.mlpDim);
    this.lin2 = new Linear(vb.pp('mlp.lin2'), cfg.mlpDim, dim);
    this.norm3 = ln('norm3');
    this.norm4 = ln('norm4');
    this.imageToToken = new Attention(vb.pp('cross_attn_image_to_token'), dim, cfg.crossDim, cfg.heads);
  }

  keySide(p: Plan, keys: Tensor, keyPe: Tensor): KeySide {
    const keysPe = add(p, keys, keyPe, `${this.label}.k_pe`);
    return { k: this.tokenToImage.k.forward(p, keysPe), v: this.tokenToImage.v.forward(p, keys), qImg: this.imageToToken.q.forward(p, keysPe) };
  }

  /** queries [N, 1 + T, dim], keys [N, grid², dim]; `side` = keySide(keys). */
  forward(p: Plan, queries: Tensor, keys: Tensor, queryPe: Tensor, side: KeySide): [Tensor, Tensor] {
    if (this.skipFirstLayerPe) {
      queries = this.selfAttn.forward(p, queries, queries, queries);
    } else {
      const q = add(p, queries, queryPe, `${this.label}.q_pe`);
      queries = this.selfAttn.forward(p, q, q, queries, queries);
    }
    queries = this.norm1.forward(p, queries);
    const q2 = this.tokenToImage.q.forward(p, add(p, queries, queryPe, `${this.label}.q_pe2`));
    queries = this.norm2.forward(p, this.tokenToImage.attend(p, q2, side.k, side.v, queries));
    const h = this.lin1.forward(p, queries, { act: 'relu' });
    queries = this.norm3.forward(p, this.lin2.forward(p, h, { residual: queries }));
    const q3 = add(p, queries, queryPe, `${this.label}.q_pe3`);
    const i2t = this.imageToToken;
    keys = this.norm4.forward(p, i2t.attend(p, side.qImg, i2t.k.forward(p, q3), i2t.v.forward(p, queries), keys));
    return [queries, keys];
  }
}

/** `transformer`: `depth` blocks, then the final token→image attention and its norm. */
export class TwoWayTransformer {
  readonly layers: TwoWayBlock[];
  private readonly finalAttn: Attention;
  private readonly normFinal: LayerNorm;
  private readonly label: string;

  constructor(vb: VarBuilder, dim: number, cfg: DecoderConfig) {
    this.label = vb.prefix;
    this.layers = Array.from({ length: cfg.depth }, (_, i) => new TwoWayBlock(vb.pp(`layers.${i}`), dim, cfg, i === 0));
    this.finalAttn = new Attention(vb.pp('final_attn_token_to_image'), dim, cfg.crossDim, cfg.heads);
    this.normFinal = new LayerNorm(vb.pp('norm_final_attn'), dim, cfg.lnEps);
  }

  /**
   * tokens [N, 1 + T, dim] (also the query PE), src [N, grid², dim], pos [grid², dim] (the key PE);
   * side0 = layers[0].keySide(src, pos), recorded by the caller (the decoder caches it).
   * Returns [queries, keys].
   */
  forward(p: Plan, tokens: Tensor, src: Tensor, pos: Tensor, side0: KeySide): [Tensor, Tensor] {
    let [queries, keys] = [tokens, src];
    this.layers.forEach((layer, i) => {
      [queries, keys] = layer.forward(p, queries, keys, tokens, i === 0 ? side0 : layer.keySide(p, keys, pos));
    });
    const qf = add(p, queries, tokens, `${this.label}.final.q_pe`);
    const kf = add(p, keys, pos, `${this.label}.final.k_pe`);
    queries = this.normFinal.forward(p, this.finalAttn.forward(p, qf, kf, keys, queries));
    return [queries, keys];
  }
}
