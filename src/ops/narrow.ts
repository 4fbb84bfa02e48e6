// A slice along one dimension, as torch.Tensor.narrow (shaders/narrow.wgsl).
import { ceilDiv, grid } from '../gpu/dispatch.js';
import type { Plan } from '../gpu/plan.js';
import type { Tensor } from '../gpu/tensor.js';

export function narrow(p: Plan, x: Tensor, dim: number, start: number, len: number, label = 'narrow'): Tensor {
  const d = dim < 0 ? x.rank + dim : dim;
  const D = x.dim(d);
  if (!Number.isInteger(start) || !Number.isInteger(len) || start < 0 || len < 1 || start + len > D) {
    throw new Error(`narrow '${x.label}' [${x.shape}] dim ${dim}: [${start}, ${start + len}) is outside 0..${D}`);
  }
  const shape = [...x.shape];
  shape[d] = len;
  const y = p.temp(shape, label);
  const inner = x.shape.slice(d + 1).reduce((a, b) => a * b, 1);
  p.dispatch({
    shader: 'narrow',
    inputs: [x],
    outputs: [y],
    params: { n: y.size, d: D, len, inner, start },
    groups: grid(ceilDiv(y.size, 256)),
    label,
  });
  return y;
}
