// The ResNet branch (torchvision resnet50 / resnet34 in eval mode, `resnet.stage0..4`), with each
// BatchNorm folded into its conv at load time (ModelWeights). Returns the four stage outputs
// f1..f4: res50 256×64×64, 512×32×32, 1024×16×16, 2048×8×8 (res34: 64/128/256/512 channels).
import type { Plan } from '../gpu/plan.js';
import type { Tensor } from '../gpu/tensor.js';
import { conv2d } from '../ops/conv2d.js';
import { maxPool3x3s2 } from '../ops/maxpool.js';
import type { ModelWeights } from './weights.js';

const BLOCKS = [3, 4, 6, 3];

/** conv (BatchNorm folded in) → optional residual → optional ReLU. */
function convBn(
  p: Plan,
  W: ModelWeights,
  conv: string,
  x: Tensor,
  opts: { stride?: number; pad?: number; relu: boolean; residual?: Tensor },
): Tensor {
  return conv2d(p, x, W.t(p, `${conv}.weight`), W.t(p, `${conv}.bias`), {
    stride: opts.stride ?? 1,
    pad: opts.pad ?? 0,
    act: opts.relu ? 'relu' : 'none',
    residual: opts.residual,
    label: conv,
  });
}

/** torchvision Bottleneck: 1×1 → 3×3 (stride here) → 1×1, identity or downsample, ReLU after the add. */
function bottleneck(p: Plan, W: ModelWeights, prefix: string, x: Tensor, stride: number): Tensor {
  const identity = W.has(`${prefix}.downsample.0.weight`)
    ? convBn(p, W, `${prefix}.downsample.0`, x, { stride, relu: false })
    : x;
  let h = convBn(p, W, `${prefix}.conv1`, x, { relu: true });
  h = convBn(p, W, `${prefix}.conv2`, h, { stride, pad: 1, relu: true });
  return convBn(p, W, `${prefix}.conv3`, h, { relu: true, residual: identity });
}

/** torchvision BasicBlock: 3×3 (stride here) → 3×3, identity or downsample, ReLU after the add. */
function basicBlock(p: Plan, W: ModelWeights, prefix: string, x: Tensor, stride: number): Tensor {
  const identity = W.has(`${prefix}.downsample.0.weight`)
    ? convBn(p, W, `${prefix}.downsample.0`, x, { stride, relu: false })
    : x;
  const h = convBn(p, W, `${prefix}.conv1`, x, { stride, pad: 1, relu: true });
  return convBn(p, W, `${prefix}.conv2`, h, { pad: 1, relu: true, residual: identity });
}

/** x: the normalised image [B, 3, 256, 256] → [f1, f2, f3, f4]. */
export function resnet(p: Plan, W: ModelWeights, x: Tensor): Tensor[] {
  // stage0: conv 7×7 s2 p3 → bn → ReLU → maxpool 3×3 s2 p1
  let h = convBn(p, W, 'resnet.stage0.0', x, { stride: 2, pad: 3, relu: true });
  h = maxPool3x3s2(p, h, 'resnet.stage0.3');
  const block = W.variant === 'res50' ? bottleneck : basicBlock;
  const features: Tensor[] = [];
  for (let s = 0; s < 4; s++) {
    for (let b = 0; b < BLOCKS[s]!; b++) {
      h = block(p, W, `resnet.stage${s + 1}.${b}`, h, b === 0 && s > 0 ? 2 : 1);
    }
    features.push(h);
  }
  return features;
}
