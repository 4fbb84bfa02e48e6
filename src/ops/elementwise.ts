// Elementwise add with a repeating operand (shaders/elementwise.wgsl).
import { ceilDiv, grid } from '../gpu/dispatch.js';
import type { Plan } from '../gpu/plan.js';
import type { Tensor } from '../gpu/tensor.js';

/** Elements per invocation (elementwise.wgsl's PER). */
const PER = 4;

/**
 * a + b. The shorter operand repeats (flat index modulo its size), which covers the model's
 * broadcasts: one image embedding against N prompt sets, a bias over a batch. `outShape` may be
 * larger than both (both repeat), e.g. to expand one image's tokens to N prompt sets.
 */
export function add(p: Plan, a: Tensor, b: Tensor, label = 'add', outShape?: readonly number[]): Tensor {
  const y = p.temp(outShape ?? (a.size >= b.size ? a.shape : b.shape), label);
  const n = y.size;
  if (n % a.size !== 0 || n % b.size !== 0) {
    throw new Error(`add: shapes [${a.shape}] and [${b.shape}] do not broadcast to [${y.shape}]`);
  }
  p.dispatch({
    shader: 'elementwise',
    constants: { PER },
    inputs: [a, b],
    outputs: [y],
    params: { n, na: a.size, nb: b.size },
    groups: grid(ceilDiv(n, 256 * PER)),
    label,
  });
  return y;
}
