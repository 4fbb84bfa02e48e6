// A dispatch as an op wrapper records it: named params and constants, typed per kernel from the
// kernel's WGSL (scripts/shader-layout.mjs writes SHADER_LAYOUTS and the types into
// src/generated/shaders.ts). A field that does not match the WGSL params struct is a `tsc` error
// in the wrapper; what the types cannot see (a computed value that is not an integer, NaN, a
// binding count) is a PlanError when the dispatch is recorded.
import { SHADER_LAYOUTS, type ShaderConstants, type ShaderLayout, type ShaderName, type ShaderParams } from '../generated/shaders.js';
import { PlanError } from './allocator.js';
import type { Tensor } from './tensor.js';

export type { ShaderName } from '../generated/shaders.js';

export interface DispatchSpec<S extends ShaderName = ShaderName> {
  /** shaders/<shader>.wgsl */
  shader: S;
  /** Pipeline-overridable constants (`override NAME` in the shader): the specialisation key. */
  constants?: ShaderConstants[S];
  /** Bound in order at bindings 0.., read-only storage. */
  inputs: Tensor[];
  /** Bound after the inputs, read_write storage. */
  outputs: Tensor[];
  /** The fields of the shader's params struct, by name (f32 fields as numbers); bound last. */
  params: ShaderParams[S];
  /** Workgroup counts. */
  groups: [number, number?, number?];
  label?: string;
}

export const ceilDiv = (a: number, b: number): number => Math.floor((a + b - 1) / b);

/** Splits `n` workgroups over x and y so that neither exceeds 65535; shaders rebuild the linear index
 * as `wg.x + wg.y * nwg.x`. */
export function grid(n: number, maxPerDim = 65535): [number, number] {
  if (n <= maxPerDim) return [Math.max(1, n), 1];
  const y = ceilDiv(n, maxPerDim);
  return [ceilDiv(n, y), y];
}

/** The layout of `shader`, or a PlanError for a name with no shaders/<name>.wgsl. */
export function shaderLayout(shader: string, what: string): ShaderLayout {
  if (!Object.hasOwn(SHADER_LAYOUTS, shader)) throw new PlanError(`${what}: unknown shader '${shader}' (no shaders/${shader}.wgsl)`);
  return SHADER_LAYOUTS[shader as ShaderName];
}

/**
 * The params uniform of `layout` (a multiple of 16 bytes, at least 16) with the named `params`:
 * u32 and i32 fields must be integers in their range, f32 fields finite; padding fields (`_…`) are
 * 0. Throws a PlanError naming the shader and field for a missing, unknown or bad one.
 */
export function packParams(shader: string, layout: ShaderLayout, params: Readonly<Record<string, number>>, what = shader): Uint32Array<ArrayBuffer> {
  const fields = layout.params.filter((f) => !f.name.startsWith('_'));
  const struct = `shaders/${shader}.wgsl's params { ${fields.map((f) => f.name).join(', ')} }`;
  for (const k of Object.keys(params)) {
    if (!fields.some((f) => f.name === k)) throw new PlanError(`${what}: params has '${k}', which is not a field of ${struct}`);
  }
  const words = new Uint32Array(Math.max(4, Math.ceil(layout.paramBytes / 16) * 4));
  const f32 = new Float32Array(words.buffer);
  const i32 = new Int32Array(words.buffer);
  for (const f of fields) {
    const v = params[f.name];
    const at = f.offset / 4;
    if (v === undefined) throw new PlanError(`${what}: params.${f.name} is missing (${struct})`);
    const bad = (why: string) => new PlanError(`${what}: params.${f.name} = ${v} ${why}`);
    if (typeof v !== 'number') throw bad(`is not a number`);
    if (f.type === 'f32') {
      if (!Number.isFinite(v)) throw bad('is not a finite f32');
      f32[at] = v;
    } else if (f.type === 'i32') {
      if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw bad('is not an i32');
      i32[at] = v;
    } else {
      if (!Number.isInteger(v) || v < 0 || v >= 2 ** 32) throw bad('is not a u32');
      words[at] = v;
    }
  }
  return words;
}

/**
 * Checks `spec` against its shader and the binding rules (a written tensor is bound once, and is
 * not an input or an external); returns its packed params uniform (null: the shader has none).
 * Throws a PlanError prefixed with `what`.
 */
export function checkDispatch(spec: DispatchSpec, what: string): Uint32Array<ArrayBuffer> | null {
  const layout = shaderLayout(spec.shader, what);
  if (spec.inputs.length !== layout.inputs || spec.outputs.length !== layout.outputs) {
    throw new PlanError(`${what}: binds ${spec.inputs.length} input(s) and ${spec.outputs.length} output(s); the shader has ${layout.inputs} and ${layout.outputs}`);
  }
  // A written buffer may appear once only (read-only bindings of one buffer may repeat).
  const written = new Set<Tensor>();
  for (const t of spec.outputs) {
    if (t.root.kind === 'external' || t.root.kind === 'input') throw new PlanError(`${what}: '${t.label}' is read-only (${t.root.kind})`);
    if (written.has(t.root) || spec.inputs.some((i) => i.root === t.root)) {
      throw new PlanError(`${what}: tensor '${t.label}' is written and bound again in one dispatch`);
    }
    written.add(t.root);
  }
  const [x, y = 1, z = 1] = spec.groups;
  for (const g of [x, y, z]) {
    if (!Number.isInteger(g) || g < 0 || g > 65535) throw new PlanError(`${what}: bad workgroup count ${spec.groups}`);
  }
  if (spec.constants) checkConstants(spec.shader, layout, spec.constants as Readonly<Record<string, number>>, what);
  return layout.paramBytes ? packParams(spec.shader, layout, spec.params as Readonly<Record<string, number>>, what) : null;
}

/** Checks the constants' names against the shader's overrides, and their values (finite numbers). */
export function checkConstants(shader: string, layout: ShaderLayout, constants: Readonly<Record<string, number>>, what = shader): void {
  for (const [k, v] of Object.entries(constants)) {
    if (!layout.constants.includes(k)) {
      throw new PlanError(`${what}: constant '${k}' is not an override of shaders/${shader}.wgsl (${layout.constants.join(', ') || 'it has none'})`);
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new PlanError(`${what}: constant ${k} = ${v} is not a finite number`);
  }
}
