// Max pooling, NCHW (shaders/maxpool.wgsl).
import { ceilDiv, grid } from '../gpu/dispatch.js';
import type { Plan } from '../gpu/plan.js';
import { expectShape, type Tensor } from '../gpu/tensor.js';

/**
 * nn.MaxPool2d(kernel_size=3, stride=2, padding=1) (ResNet stage 0).
 * x [N, C, H, W] → [N, C, Ho, Wo], Ho = floor((H + 2 − 3)/2) + 1.
 */
export function maxPool3x3s2(p: Plan, x: Tensor, label = 'maxpool'): Tensor {
  expectShape(x, [-1, -1, -1, -1], `${label} input`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const Ho = Math.floor((H + 2 - 3) / 2) + 1;
  const Wo = Math.floor((W + 2 - 3) / 2) + 1;
  const y = p.temp([N, C, Ho, Wo], label);
  p.dispatch({
    shader: 'maxpool',
    inputs: [x],
    outputs: [y],
    params: { H, W, Ho, Wo, n: y.size },
    groups: grid(ceilDiv(y.size, 256)),
    label,
  });
  return y;
}
