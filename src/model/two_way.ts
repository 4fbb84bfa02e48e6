// SAM's TwoWayTransformer (segment_anything modeling/transformer.py): tokens attend to the image
// and the image to the tokens, `depth` blocks, then a final token-to-image attention.
//
// Recorded in few, full dispatches. The projections that read one input are stacked at load into
// one GEMM (StackedLinear), the PE that some of them add to their input added in the GEMM's
// prologue; each Attention runs with its out_proj, the residual and the LayerNorm after it in one
// kernel (ops/attention_block.ts; q_proj too where q comes from the tokens), and each MLP with its
// residual and norm (ops/mlp_block.ts). Per block: self q/k/v, self-attention, token→image
// attention, MLP, the tokens' k/v for image→token, image→token attention, plus the image side's
// k/v/q (keySide) before it. The weights keep their upstream keys, declared in state_dict order;
// the stacks and packs are made from them at load (derive).
import type { Plan } from '../gpu/plan.js';
import type { Tensor } from '../gpu/tensor.js';
import { attentionBlock, attentionPack, attentionPackSize } from '../ops/attention_block.js';
import { mlpBlock, mlpPack, mlpPackSize } from '../ops/mlp_block.js';
import type { VarBuilder, Weight } from '../weights/spec.js';
import type { DecoderConfig } from './config.js';
import { linearSource, normSource, StackedLinear, type LinearSource } from './layers.js';

/** transformer.py `Attention`'s projections (q_proj, k_proj, v_proj, out_proj), declared in order. */
function attentionSources(vb: VarBuilder, dim: number, internal: number) {
  return {
    q: linearSource(vb.pp('q_proj'), dim, internal),
    k: linearSource(vb.pp('k_proj'), dim, internal),
    v: linearSource(vb.pp('v_proj'), dim, internal),
    out: linearSource(vb.pp('out_proj'), internal, dim),
  };
}

/** `<vb>.pack`: attention_block's weights (q_proj where the kernel projects q, out_proj, the norm after). */
function attentionPackWeight(vb: VarBuilder, q: LinearSource | null, out: LinearSource, norm: { weight: string; bias: string }): Weight {
  const [dim, internal] = [out.outF, out.inF];
  const keys = [...(q ? [q.weight, q.bias] : []), out.weight, out.bias, norm.weight, norm.bias];
  return vb.derive(keys, [{ name: 'pack', shape: [attentionPackSize(dim, internal, !!q)] }], (v) => {
    const [wo, bo, g, beta] = v.slice(q ? 2 : 0) as [Float32Array, Float32Array, Float32Array, Float32Array];
    return [attentionPack({ wq: q ? v[0] : undefined, bq: q ? v[1] : undefined, wo, bo, g, beta }, dim, internal)];
  })[0]!;
}

/**
 * What a block computes from its keys (and the key PE) alone: [Nk, HW, 3·cross] = the token→image
 * k (with the PE) at column 0, the image→token q (with the PE) at cross, the token→image v at
 * 2·cross. For block 0 without a mask prompt it depends on the image only (the decoder caches it).
 */
export type KeySide = Tensor;

/** transformer.py `TwoWayAttentionBlock`; block 0 skips the PE (and the residual) in its self-attention. */
class TwoWayBlock {
  private readonly selfQkv: StackedLinear;
  private readonly selfPack: Weight;
  private readonly t2iPack: Weight;
  private readonly keys: StackedLinear;
  private readonly mlpPack: Weight;
  private readonly tokKv: StackedLinear;
  private readonly i2tPack: Weight;
  private readonly label: string;

  constructor(vb: VarBuilder, private readonly dim: number, private readonly cfg: DecoderConfig, private readonly skipFirstLayerPe: boolean) {
    this.label = vb.prefix;
    const cross = cfg.crossDim;
    const self = attentionSources(vb.pp('self_attn'), dim, dim);
    const norm1 = normSource(vb.pp('norm1'), dim);
    const t2i = attentionSources(vb.pp('cross_attn_token_to_image'), dim, cross);
    const norm2 = normSource(vb.pp('norm2'), dim);
    const lin1 = linearSource(vb.pp('mlp.lin1'), dim, cfg.mlpDim);
    const lin2 = linearSource(vb.pp('mlp.lin2'), cfg.mlpDim, dim);
    const norm3 = normSource(vb.pp('norm3'), dim);
    const norm4 = normSource(vb.pp('norm4'), dim);
    const i2t = attentionSources(vb.pp('cross_attn_image_to_token'), dim, cross);
    this.selfQkv = new StackedLinear(vb.pp('self_attn'), 'qkv', [self.q, self.k, self.v]);
    this.selfPack = attentionPackWeight(vb.pp('self_attn'), null, self.out, norm1);
    this.t2iPack = attentionPackWeight(vb.pp('cross_attn_token_to_image'), t2i.q, t2i.out, norm2);
    this.keys = new StackedLinear(vb, 'key_side', [t2i.k, i2t.q, t2i.v]);
    this.mlpPack = vb.pp('mlp').derive([lin1.weight, lin1.bias, lin2.weight, lin2.bias, norm3.weight, norm3.bias],
      [{ name: 'pack', shape: [mlpPackSize(dim, cfg.mlpDim)] }], ([w1, b1, w2, b2, g, beta]) => [mlpPack(w1!, b1!, w2!, b2!, g!, beta!, dim, cfg.mlpDim)])[0]!;
    this.tokKv = new StackedLinear(vb.pp('cross_attn_image_to_token'), 'kv', [i2t.k, i2t.v]);
    this.i2tPack = attentionPackWeight(vb.pp('cross_attn_image_to_token'), null, i2t.out, norm4);
  }

  /** keys [Nk, HW, dim], keyPe [HW, dim] → KeySide. */
  keySide(p: Plan, keys: Tensor, keyPe: Tensor): KeySide {
    return this.keys.forward(p, keys, { t: keyPe, cols: 2 * this.cfg.crossDim });
  }

  /** queries [N, 1 + T, dim], keys [N or 1, HW, dim] (1: shared by every set); `side` = keySide(keys). */
  forward(p: Plan, queries: Tensor, keys: Tensor, queryPe: Tensor, side: KeySide): [Tensor, Tensor] {
    const { dim, cfg, label } = this;
    const { heads, crossDim: cross, lnEps: eps } = cfg;
    const N = queries.dim(0);
    // queries = norm1(queries (+ PE unless block 0) → self_attn (+ queries unless block 0)).
    const qkv = this.selfQkv.forward(p, queries, this.skipFirstLayerPe ? undefined : { t: queryPe, cols: 2 * dim });
    queries = attentionBlock(p, {
      heads, q: { from: qkv, offset: 0 }, kv: { t: qkv, k: dim, v: 2 * dim }, residual: this.skipFirstLayerPe ? undefined : queries,
      pack: this.selfPack.t(p), internal: dim, eps, label: `${label}.self_attn`,
    });
    // queries = norm2(queries + cross_attn_token_to_image(q = queries + PE, k = keys + key PE, v = keys)).
    queries = attentionBlock(p, {
      heads, q: { x: queries, pe: queryPe }, kv: { t: side, k: 0, v: 2 * cross }, residual: queries,
      pack: this.t2iPack.t(p), internal: cross, eps, label: `${label}.cross_attn_token_to_image`,
    });
    queries = mlpBlock(p, queries, this.mlpPack.t(p), cfg.mlpDim, eps, { label: `${label}.mlp` });
    // keys = norm4(keys + cross_attn_image_to_token(q = keys + key PE, k = queries + PE, v = queries)).
    const kv = this.tokKv.forward(p, queries, { t: queryPe, cols: cross });
    keys = attentionBlock(p, {
      heads, q: { from: side, offset: cross, sets: N }, kv: { t: kv, k: 0, v: cross }, residual: keys,
      pack: this.i2tPack.t(p), internal: cross, eps, label: `${label}.cross_attn_image_to_token`,
    });
    return [queries, keys];
  }
}

/** `transformer`: `depth` blocks, then the final token→image attention and its norm. */
export class TwoWayTransformer {
  readonly layers: TwoWayBlock[];
  private readonly finalKv: StackedLinear;
  private readonly finalPack: Weight;
  private readonly label: string;

  constructor(vb: VarBuilder, dim: number, private readonly cfg: DecoderConfig) {
    this.label = vb.prefix;
    this.layers = Array.from({ length: cfg.depth }, (_, i) => new TwoWayBlock(vb.pp(`layers.${i}`), dim, cfg, i === 0));
    const fin = attentionSources(vb.pp('final_attn_token_to_image'), dim, cfg.crossDim);
    const norm = normSource(vb.pp('norm_final_attn'), dim);
    this.finalKv = new StackedLinear(vb.pp('final_attn_token_to_image'), 'kv', [fin.k, fin.v]);
    this.finalPack = attentionPackWeight(vb.pp('final_attn_token_to_image'), fin.q, fin.out, norm);
  }

  /**
   * tokens [N, 1 + T, dim] (also the query PE), src [N or 1, grid², dim], pos [grid², dim] (the key PE);
   * side0 = layers[0].keySide(src, pos), recorded by the caller (the decoder caches it).
   * Returns [queries, keys], keys [N, grid², dim].
   */
  forward(p: Plan, tokens: Tensor, src: Tensor, pos: Tensor, side0: KeySide): [Tensor, Tensor] {
    let [queries, keys] = [tokens, src];
    this.layers.forEach((layer, i) => {
      [queries, keys] = layer.forward(p, queries, keys, tokens, i === 0 ? side0 : layer.keySide(p, keys, pos));
    });
    // queries = norm_final(queries + final_attn(q = queries + PE, k = keys + key PE, v = keys)).
    const cross = this.cfg.crossDim;
    const kv = this.finalKv.forward(p, keys, { t: pos, cols: cross });
    queries = attentionBlock(p, {
      heads: this.cfg.heads, q: { x: queries, pe: tokens }, kv: { t: kv, k: 0, v: cross }, residual: queries,
      pack: this.finalPack.t(p), internal: cross, eps: this.cfg.lnEps, label: `${this.label}.final_attn_token_to_image`,
    });
    return [queries, keys];
  }
}
