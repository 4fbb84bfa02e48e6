// Kernels per storage dtype (and reduction style). A kernel whose source includes
// shaders/_storage.wgsl has an f16 twin, `<name>_f16` (generated from the same source:
// scripts/shader-layout.mjs kernelSources), that holds its activation and weight bindings (`st`) in
// binary16 and computes in f32 as the original does: GEMM sums, softmax statistics and normalisation
// statistics, with one rounding on each store. An op reads one dtype for all its `st` operands
// (inputs, weights, output) and records the kernel of that dtype; the twins need the device feature
// shader-f16 (Plan.dispatch checks it). A kernel that includes _reduce.wgsl also has `<name>_sg` (and
// `<name>_f16_sg`), its group reductions on subgroup operations (Plan.tuning.subgroups).
import { SHADER_LAYOUTS } from '../generated/shaders.js';
import type { ShaderName } from './dispatch.js';
import type { DType, Tensor } from './tensor.js';

/** The kernels that have an f16 twin. */
export type TwinnedKernel = { [K in ShaderName]: `${K}_f16` extends ShaderName ? K : never }[ShaderName];

/** `${S}${X}` where that kernel exists. */
type Variant<S extends string, X extends string> = `${S}${X}` extends ShaderName ? `${S}${X}` : never;

/**
 * `shader` for f32 storage, its twin `<shader>_f16` for f16; with `subgroups`, the `_sg` variant of
 * that where the kernel has one (else the same kernel).
 */
export function kernelOf<S extends TwinnedKernel>(shader: S, dtype: DType, subgroups = false): S | `${S}_f16` | Variant<S, '_sg'> | Variant<S, '_f16_sg'> {
  const name = dtype === 'f16' ? `${shader}_f16` : shader;
  const sg = `${name}_sg`;
  return (subgroups && Object.hasOwn(SHADER_LAYOUTS, sg) ? sg : name) as S | `${S}_f16`;
}

/**
 * The dtype all of `tensors` are stored in (nulls skipped): what `what` (an op and its label) then
 * reads and writes. Operands of two dtypes are an Error naming each.
 */
export function commonDtype(what: string, ...tensors: (Tensor | null | undefined)[]): DType {
  const given = tensors.filter((t): t is Tensor => !!t);
  const dtype = given[0]?.dtype ?? 'f32';
  if (given.some((t) => t.dtype !== dtype)) {
    throw new Error(`${what}: operands of mixed storage dtypes (${given.map((t) => `'${t.label}' ${t.dtype}`).join(', ')}); an op reads one`);
  }
  return dtype;
}
