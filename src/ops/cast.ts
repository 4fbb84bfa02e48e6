// Storage dtype conversions at the boundaries of a precision 'f16-compute' plan
// (shaders/pack_half.wgsl: f32 → f16; shaders/unpack_half.wgsl: f16 → f32).
import { ceilDiv, grid } from '../gpu/dispatch.js';
import type { Plan } from '../gpu/plan.js';
import type { DType, Tensor } from '../gpu/tensor.js';

/** x stored as `dtype`: x itself when it already is, else a converted copy (f32 → f16 rounds to nearest). */
export function cast(p: Plan, x: Tensor, dtype: DType, label = `${x.label}.${dtype}`): Tensor {
  if (x.dtype === dtype) return x;
  const y = p.temp(x.shape, label, dtype);
  p.dispatch({
    shader: dtype === 'f16' ? 'pack_half' : 'unpack_half',
    inputs: [x],
    outputs: [y],
    params: { n: x.size },
    groups: grid(ceilDiv(x.size, 1024)),
    label,
  });
  return y;
}
