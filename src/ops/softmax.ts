// Softmax over the last dim, max-subtracted (shaders/softmax.wgsl).
import { ceilDiv, grid } from '../gpu/dispatch.js';
import type { Plan } from '../gpu/plan.js';
import type { Tensor } from '../gpu/tensor.js';
import { lanesPerRow } from './layernorm.js';

/** softmax(x, dim=-1) for x [..., L]. */
export function softmax(p: Plan, x: Tensor, label = 'softmax'): Tensor {
  const L = x.dim(-1);
  const rows = x.size / L;
  const tpr = lanesPerRow(L);
  const y = p.temp(x.shape, label);
  p.dispatch({
    shader: 'softmax',
    constants: { TPR: tpr },
    inputs: [x],
    outputs: [y],
    params: { rows, L },
    groups: grid(ceilDiv(rows, 256 / tpr)),
    label,
  });
  return y;
}
