// The U-Net side of SAM-UNet: `adapters_in` (common.Reshaper: ResNet features to the ViT grid),
// `adapters_bridge` and `embedding_encoder` (ViT grid up to the U-Net's 32 × 64 × 64).
import type { Plan } from '../gpu/plan.js';
import type { Tensor } from '../gpu/tensor.js';
import type { VarBuilder } from '../weights/spec.js';
import { Conv2d, ConvTranspose2x2, LayerNorm2d } from './layers.js';

/**
 * `adapters_in.<k>.reshaper`: features [B, cin, size, size] → [B, outDim, grid, grid]. Each halving
 * (size > grid) is [Conv 3×3 s2 p1 C → 2C, LN2d, GELU], each doubling (size < grid) [ConvT 2×2 s2
 * C → C/2, LN2d, GELU], at module indices 3j and 3j + 1; then a 1×1 conv to outDim. So 64 → 16 is
 * two halvings, 32 → 16 one, 16 → 16 the 1×1 conv alone, 8 → 16 one doubling.
 */
export class Reshaper {
  private readonly steps: { resample: Conv2d | ConvTranspose2x2; norm: LayerNorm2d }[] = [];
  private readonly out: Conv2d;

  constructor(vb: VarBuilder, cin: number, size: number, grid: number, outDim: number, eps: number) {
    let c = cin;
    for (let s = size; s !== grid; s = s > grid ? s / 2 : s * 2) {
      const i = 3 * this.steps.length;
      const next = s > grid ? 2 * c : c / 2;
      const resample = s > grid ? Conv2d.load(vb.pp(i), c, next, 3, { stride: 2, pad: 1 }) : new ConvTranspose2x2(vb.pp(i), c, next);
      this.steps.push({ resample, norm: new LayerNorm2d(vb.pp(i + 1), next, eps) });
      c = next;
    }
    this.out = Conv2d.load(vb.pp(3 * this.steps.length), c, outDim, 1);
  }

  forward(p: Plan, f: Tensor): Tensor {
    let h = f;
    for (const { resample, norm } of this.steps) h = norm.forward(p, resample.forward(p, h), 'gelu');
    return this.out.forward(p, h);
  }
}

/**
 * `adapters_bridge.<k>` (ViT grid 768 × 16 × 16) and `embedding_encoder` (image embeddings
 * 256 × 16 × 16) up to [B, out, 64, 64]: ConvT 2×2 s2 cin → mid, LN2d, GELU, ConvT 2×2 s2 mid → out.
 */
export class Upscale4 {
  private readonly up0: ConvTranspose2x2;
  private readonly norm: LayerNorm2d;
  private readonly up1: ConvTranspose2x2;

  constructor(vb: VarBuilder, cin: number, mid: number, out: number, eps: number) {
    this.up0 = new ConvTranspose2x2(vb.pp(0), cin, mid);
    this.norm = new LayerNorm2d(vb.pp(1), mid, eps);
    this.up1 = new ConvTranspose2x2(vb.pp(3), mid, out);
  }

  forward(p: Plan, x: Tensor): Tensor {
    return this.up1.forward(p, this.norm.forward(p, this.up0.forward(p, x), 'gelu'));
  }
}
