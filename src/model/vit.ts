// SAM's ViT-B image encoder (`image_encoder.sam_img_encoder`: segment_anything image_encoder.py),
// run block by block so that SAM-UNet can inject the ResNet features between blocks (encoder.ts).
// Tokens are channels-last [B, 16, 16, 768].
import type { Plan } from '../gpu/plan.js';
import type { Tensor } from '../gpu/tensor.js';
import { attentionRelPos } from '../ops/attention_relpos.js';
import { add } from '../ops/elementwise.js';
import { permute } from '../ops/layout.js';
import type { VarBuilder, Weight } from '../weights/spec.js';
import type { VitConfig } from './config.js';
import { Conv2d, LayerNorm, LayerNorm2d, Linear } from './layers.js';

/**
 * image_encoder.py `Attention` with decomposed relative positions over an S×S grid in ws×ws windows
 * (ws = S: global), the window padding and partition done inside attentionRelPos. The qkv and proj
 * weights may be held in f16 (LoadOptions.precision).
 */
class RelPosAttention {
  private readonly relPosH: Weight;
  private readonly relPosW: Weight;
  private readonly qkv: Linear;
  private readonly proj: Linear;
  private readonly label: string;

  constructor(vb: VarBuilder, private readonly cfg: VitConfig, private readonly window: number) {
    this.label = vb.prefix;
    const d = cfg.dim / cfg.heads;
    this.relPosH = vb.get('rel_pos_h', [2 * window - 1, d]);
    this.relPosW = vb.get('rel_pos_w', [2 * window - 1, d]);
    this.qkv = new Linear(vb.pp('qkv'), cfg.dim, 3 * cfg.dim, { lowPrecision: true });
    this.proj = new Linear(vb.pp('proj'), cfg.dim, cfg.dim, { lowPrecision: true });
  }

  /** x [B, S·S, dim] → proj(attention) + residual. */
  forward(p: Plan, x: Tensor, size: number, residual: Tensor): Tensor {
    const qkv = this.qkv.forward(p, x);
    const a = attentionRelPos(p, qkv, this.qkv.bias!.t(p), this.relPosH.t(p), this.relPosW.t(p), {
      heads: this.cfg.heads, size, window: this.window, label: this.label,
    });
    return this.proj.forward(p, a, { residual });
  }
}

/** `blocks.<i>`: x = x + attn(norm1(x)); x = x + lin2(gelu(lin1(norm2(x)))). */
export class VitBlock {
  private readonly norm1: LayerNorm;
  private readonly attn: RelPosAttention;
  private readonly norm2: LayerNorm;
  private readonly lin1: Linear;
  private readonly lin2: Linear;

  constructor(vb: VarBuilder, private readonly cfg: VitConfig, window: number) {
    this.norm1 = new LayerNorm(vb.pp('norm1'), cfg.dim, cfg.lnEps);
    this.attn = new RelPosAttention(vb.pp('attn'), cfg, window);
    this.norm2 = new LayerNorm(vb.pp('norm2'), cfg.dim, cfg.lnEps);
    this.lin1 = new Linear(vb.pp('mlp.lin1'), cfg.dim, cfg.mlpDim, { lowPrecision: true });
    this.lin2 = new Linear(vb.pp('mlp.lin2'), cfg.mlpDim, cfg.dim, { lowPrecision: true });
  }

  /** x [B, S, S, dim] → [B, S, S, dim]. */
  forward(p: Plan, x: Tensor): Tensor {
    const [B, S] = [x.dim(0), x.dim(1)];
    const tokens = p.reshape(x, [B, S * S, this.cfg.dim]);
    const x1 = this.attn.forward(p, this.norm1.forward(p, tokens), S, tokens);
    const h = this.lin1.forward(p, this.norm2.forward(p, x1), { act: 'gelu' });
    return p.reshape(this.lin2.forward(p, h, { residual: x1 }), [B, S, S, this.cfg.dim]);
  }
}

/** `image_encoder.sam_img_encoder`: pos_embed, patch_embed, blocks, neck. */
export class ImageEncoderViT {
  private readonly posEmbed: Weight;
  private readonly patch: Conv2d;
  readonly blocks: VitBlock[];
  private readonly neckLayers: [Conv2d, LayerNorm2d, Conv2d, LayerNorm2d];
  private readonly label: string;

  constructor(vb: VarBuilder, cfg: VitConfig, inputSize: number) {
    this.label = vb.prefix;
    const grid = inputSize / cfg.patchSize;
    this.posEmbed = vb.get('pos_embed', [1, grid, grid, cfg.dim]);
    this.patch = Conv2d.load(vb.pp('patch_embed.proj'), 3, cfg.dim, cfg.patchSize, { stride: cfg.patchSize });
    this.blocks = Array.from({ length: cfg.depth }, (_, i) =>
      new VitBlock(vb.pp(`blocks.${i}`), cfg, cfg.globalBlocks.includes(i) ? grid : cfg.window));
    const n = vb.pp('neck'); // no conv biases
    this.neckLayers = [
      Conv2d.load(n.pp(0), cfg.dim, cfg.neckDim, 1, { bias: false }),
      new LayerNorm2d(n.pp(1), cfg.neckDim, cfg.lnEps),
      Conv2d.load(n.pp(2), cfg.neckDim, cfg.neckDim, 3, { pad: 1, bias: false }),
      new LayerNorm2d(n.pp(3), cfg.neckDim, cfg.lnEps),
    ];
  }

  /** PatchEmbed: conv 16×16 s16, to channels-last: image [B, 3, 256, 256] → [B, 16, 16, dim]. */
  patchEmbed(p: Plan, image: Tensor): Tensor {
    return permute(p, this.patch.forward(p, image), [0, 2, 3, 1], `${this.label}.patch_embed.nhwc`);
  }

  addPosEmbed(p: Plan, x: Tensor): Tensor {
    return add(p, x, this.posEmbed.t(p), `${this.label}.pos_embed`);
  }

  /** The neck: x [B, dim, 16, 16] (NCHW) → image embeddings [B, 256, 16, 16]. */
  neck(p: Plan, x: Tensor): Tensor {
    const [c0, n1, c2, n3] = this.neckLayers;
    return n3.forward(p, c2.forward(p, n1.forward(p, c0.forward(p, x))));
  }
}
