// SAM-UNet's med-token mask product with the last 3×3 conv (p1) of embedding_maskfeature folded in
// (shaders/mask_head.wgsl): low = h · (conv3x3(f; W3, b3) + msf), computed as one conv with the
// per-set weight weff = h · W3, so the conv has one output channel per prompt set instead of Ch.
import { ceilDiv, grid } from '../gpu/dispatch.js';
import type { Plan } from '../gpu/plan.js';
import { expectShape, type Tensor } from '../gpu/tensor.js';
import { matmul } from './matmul.js';

/**
 * f [N, Cf, H, W] (the conv's input), h [N, Ch] (one row per prompt set), w3 [Ch, Cf, 3, 3],
 * b3 [Ch], msf [1, Ch, H, W] (shared by every set) → low [N, 1, H, W] with
 * low[n] = Σ_k h[n, k] · (conv3x3_p1(f[n]; w3, b3)[k] + msf[0, k]). W % 4 == 0.
 */
export function maskHead(p: Plan, f: Tensor, h: Tensor, w3: Tensor, b3: Tensor, msf: Tensor, label = 'mask_head'): Tensor {
  expectShape(f, [-1, -1, -1, -1], `${label}: features`);
  const [N, Cf, H, W] = f.shape as [number, number, number, number];
  expectShape(h, [N, -1], `${label}: h`);
  const Ch = h.dim(1);
  expectShape(w3, [Ch, Cf, 3, 3], `${label}: conv weight`);
  expectShape(b3, [Ch], `${label}: conv bias`);
  expectShape(msf, [1, Ch, H, W], `${label}: multi-scale feature`);
  if (W % 4 !== 0) throw new Error(`${label}: width ${W} is not a multiple of 4`);
  const weff = matmul(p, h, p.reshape(w3, [Ch, Cf * 9]), { label: `${label}.weight` });
  const low = p.temp([N, 1, H, W], label);
  const quads = N * H * (W / 4);
  p.dispatch({
    shader: 'mask_head',
    inputs: [f, weff, h, b3, msf],
    outputs: [low],
    params: { N, Cf, Ch, H, W },
    groups: grid(ceilDiv(quads, 64)),
    label,
  });
  return low;
}
