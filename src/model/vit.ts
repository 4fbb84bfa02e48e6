// SAM's ViT-B image encoder (`image_encoder.sam_img_encoder`), run block by block so that
// SAM-UNet can inject the ResNet features between blocks. Tokens are channels-last [B, 16, 16, 768].
import type { Plan } from '../gpu/plan.js';
import type { Tensor } from '../gpu/tensor.js';
import { attentionRelPos } from '../ops/attention_relpos.js';
import { conv2d } from '../ops/conv2d.js';
import { add } from '../ops/elementwise.js';
import { layerNorm, layerNorm2d } from '../ops/layernorm.js';
import { linear } from '../ops/matmul.js';
import { permute } from '../ops/layout.js';
import type { ModelWeights } from './weights.js';

export const VIT = {
  dim: 768,
  heads: 12,
  grid: 16,
  window: 14,
  globalBlocks: [2, 5, 8, 11] as readonly number[],
  lnEps: 1e-6,
};

const ENC = 'image_encoder.sam_img_encoder';

/** PatchEmbed: conv 16×16 s16 (3→768), to channels-last. Returns [B, 16, 16, 768] before pos_embed. */
export function patchEmbed(p: Plan, W: ModelWeights, image: Tensor): Tensor {
  const h = conv2d(p, image, W.t(p, `${ENC}.patch_embed.proj.weight`), W.t(p, `${ENC}.patch_embed.proj.bias`), {
    stride: 16,
    label: 'patch_embed',
  });
  return permute(p, h, [0, 2, 3, 1], 'patch_embed.nhwc');
}

export function addPosEmbed(p: Plan, W: ModelWeights, x: Tensor): Tensor {
  return add(p, x, W.t(p, `${ENC}.pos_embed`), 'pos_embed');
}

/**
 * Block i: x = x + proj(attn(norm1(x))); x = x + lin2(gelu(lin1(norm2(x)))).
 * Windowed blocks attend within 14×14 windows of the zero-padded 28×28 grid (the padding is
 * handled inside attentionRelPos); global blocks over all 16×16 tokens. The four linear weights are
 * f16 tensors when the weights were loaded with precision 'f16'.
 */
export function vitBlock(p: Plan, W: ModelWeights, i: number, x: Tensor): Tensor {
  const b = `${ENC}.blocks.${i}`;
  const [B, S] = [x.dim(0), x.dim(1)];
  const tokens = p.reshape(x, [B, S * S, VIT.dim]);
  const h = layerNorm(p, tokens, W.t(p, `${b}.norm1.weight`), W.t(p, `${b}.norm1.bias`), VIT.lnEps, { label: `${b}.norm1` });
  const qkv = linear(p, h, W.t(p, `${b}.attn.qkv.weight`), W.t(p, `${b}.attn.qkv.bias`), { label: `${b}.attn.qkv` });
  const a = attentionRelPos(p, qkv, W.t(p, `${b}.attn.qkv.bias`), W.t(p, `${b}.attn.rel_pos_h`), W.t(p, `${b}.attn.rel_pos_w`), {
    heads: VIT.heads,
    size: S,
    window: VIT.globalBlocks.includes(i) ? S : VIT.window,
    label: `${b}.attn`,
  });
  const x1 = linear(p, a, W.t(p, `${b}.attn.proj.weight`), W.t(p, `${b}.attn.proj.bias`), { residual: tokens, label: `${b}.attn.proj` });
  const h2 = layerNorm(p, x1, W.t(p, `${b}.norm2.weight`), W.t(p, `${b}.norm2.bias`), VIT.lnEps, { label: `${b}.norm2` });
  const m = linear(p, h2, W.t(p, `${b}.mlp.lin1.weight`), W.t(p, `${b}.mlp.lin1.bias`), { act: 'gelu', label: `${b}.mlp.lin1` });
  const x2 = linear(p, m, W.t(p, `${b}.mlp.lin2.weight`), W.t(p, `${b}.mlp.lin2.bias`), { residual: x1, label: `${b}.mlp.lin2` });
  return p.reshape(x2, [B, S, S, VIT.dim]);
}

/** Neck: conv 1×1 768→256, LN2d, conv 3×3 p1 256→256, LN2d (no conv biases). x: NCHW [B, 768, 16, 16]. */
export function neck(p: Plan, W: ModelWeights, x: Tensor): Tensor {
  let h = conv2d(p, x, W.t(p, `${ENC}.neck.0.weight`), null, { label: 'neck.0' });
  h = layerNorm2d(p, h, W.t(p, `${ENC}.neck.1.weight`), W.t(p, `${ENC}.neck.1.bias`), VIT.lnEps, { label: 'neck.1' });
  h = conv2d(p, h, W.t(p, `${ENC}.neck.2.weight`), null, { pad: 1, label: 'neck.2' });
  return layerNorm2d(p, h, W.t(p, `${ENC}.neck.3.weight`), W.t(p, `${ENC}.neck.3.bias`), VIT.lnEps, { label: 'neck.3' });
}
