// The U-Net side of SAM-UNet: `adapters_in` (common.Reshaper: ResNet features to the 16×16 ViT grid),
// `adapters_bridge` and `embedding_encoder` (ViT grid up to 32×64×64).
import type { Plan } from '../gpu/plan.js';
import type { Tensor } from '../gpu/tensor.js';
import { conv2d } from '../ops/conv2d.js';
import { convTranspose2x2 } from '../ops/conv_transpose.js';
import { layerNorm2d } from '../ops/layernorm.js';
import type { ModelWeights } from './weights.js';

export const LN2D_EPS = 1e-6;

/** ConvTranspose 2×2 s2 (`<prefix>.<i>`), then LayerNorm2d (`<prefix>.<i+1>`) with GELU. */
function upLnGelu(p: Plan, W: ModelWeights, prefix: string, i: number, x: Tensor): Tensor {
  const h = convTranspose2x2(p, x, W.t(p, `${prefix}.${i}.weight`), W.t(p, `${prefix}.${i}.bias`), { label: `${prefix}.${i}` });
  return layerNorm2d(p, h, W.t(p, `${prefix}.${i + 1}.weight`), W.t(p, `${prefix}.${i + 1}.bias`), LN2D_EPS, { act: 'gelu', label: `${prefix}.${i + 1}` });
}

/** Conv 3×3 s2 p1 (`<prefix>.<i>`), then LayerNorm2d with GELU. */
function downLnGelu(p: Plan, W: ModelWeights, prefix: string, i: number, x: Tensor): Tensor {
  const h = conv2d(p, x, W.t(p, `${prefix}.${i}.weight`), W.t(p, `${prefix}.${i}.bias`), { stride: 2, pad: 1, label: `${prefix}.${i}` });
  return layerNorm2d(p, h, W.t(p, `${prefix}.${i + 1}.weight`), W.t(p, `${prefix}.${i + 1}.bias`), LN2D_EPS, { act: 'gelu', label: `${prefix}.${i + 1}` });
}

/**
 * `adapters_in.<k>`: ResNet feature f_{k+1} → [B, 768, 16, 16].
 * k = 0 (64→16): two down steps; 1 (32→16): one; 2 (16→16): a 1×1 conv only; 3 (8→16): one up step.
 * Each step is [conv, LN2d, GELU] (3 module indices), then the final 1×1 conv.
 */
export function adapterIn(p: Plan, W: ModelWeights, k: number, f: Tensor): Tensor {
  const prefix = `adapters_in.${k}.reshaper`;
  const size = f.dim(-1);
  let h = f;
  let i = 0;
  if (size > 16) {
    for (let s = size; s > 16; s /= 2, i += 3) h = downLnGelu(p, W, prefix, i, h);
  } else if (size < 16) {
    for (let s = size; s < 16; s *= 2, i += 3) h = upLnGelu(p, W, prefix, i, h);
  }
  return conv2d(p, h, W.t(p, `${prefix}.${i}.weight`), W.t(p, `${prefix}.${i}.bias`), { label: `${prefix}.${i}` });
}

/** `adapters_bridge.<k>`: ViT grid [B, 768, 16, 16] → [B, 32, 64, 64]. */
export function adapterBridge(p: Plan, W: ModelWeights, k: number, x: Tensor): Tensor {
  const prefix = `adapters_bridge.${k}`;
  const h = upLnGelu(p, W, prefix, 0, x);
  return convTranspose2x2(p, h, W.t(p, `${prefix}.3.weight`), W.t(p, `${prefix}.3.bias`), { label: `${prefix}.3` });
}

/** `embedding_encoder`: image embeddings [B, 256, 16, 16] → [B, 32, 64, 64]. */
export function embeddingEncoder(p: Plan, W: ModelWeights, x: Tensor): Tensor {
  const h = upLnGelu(p, W, 'embedding_encoder', 0, x);
  return convTranspose2x2(p, h, W.t(p, 'embedding_encoder.3.weight'), W.t(p, 'embedding_encoder.3.bias'), { label: 'embedding_encoder.3' });
}
