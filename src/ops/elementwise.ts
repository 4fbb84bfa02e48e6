// Elementwise add / ReLU / GELU (shaders/elementwise.wgsl).
import { ceilDiv, grid } from '../gpu/dispatch.js';
import type { Plan } from '../gpu/plan.js';
import type { Tensor } from '../gpu/tensor.js';

const OPS = { add: 0, relu: 1, gelu: 2, addGelu: 3 } as const;
/** Elements per invocation (elementwise.wgsl's PER). */
const PER = 4;

function elementwise(p: Plan, op: keyof typeof OPS, a: Tensor, b: Tensor, outShape: readonly number[], label: string): Tensor {
  const y = p.temp(outShape, label);
  const n = y.size;
  if (n % a.size !== 0 || n % b.size !== 0) {
    throw new Error(`${op}: shapes [${a.shape}] and [${b.shape}] do not broadcast to [${outShape}]`);
  }
  p.dispatch({
    shader: 'elementwise',
    constants: { OP: OPS[op], PER },
    inputs: [a, b],
    outputs: [y],
    params: { n, na: a.size, nb: b.size },
    groups: grid(ceilDiv(n, 256 * PER)),
    label,
  });
  return y;
}

/**
 * a + b. The shorter operand repeats (flat index modulo its size), which covers the model's
 * broadcasts: one image embedding against N prompt sets, a bias over a batch. `outShape` may be
 * larger than both (both repeat), e.g. to expand one image's tokens to N prompt sets.
 */
export function add(p: Plan, a: Tensor, b: Tensor, label = 'add', outShape?: readonly number[]): Tensor {
  return elementwise(p, 'add', a, b, outShape ?? (a.size >= b.size ? a.shape : b.shape), label);
}

export function relu(p: Plan, x: Tensor, label = 'relu'): Tensor {
  return elementwise(p, 'relu', x, x, x.shape, label);
}

/** GELU, exact erf form (torch.nn.GELU()). */
export function gelu(p: Plan, x: Tensor, label = 'gelu'): Tensor {
  return elementwise(p, 'gelu', x, x, x.shape, label);
}

/** gelu(a + b), same broadcast as add(). */
export function addGelu(p: Plan, a: Tensor, b: Tensor, label = 'add_gelu'): Tensor {
  return elementwise(p, 'addGelu', a, b, a.size >= b.size ? a.shape : b.shape, label);
}
