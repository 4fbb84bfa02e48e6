// What the op wrappers must pass to each kernel, read from the WGSL itself (wgsl_reflect): its
// read-only and read_write storage bindings, its params uniform struct and its override constants.
// scripts/gen-shaders.mjs writes it into src/generated/shaders.ts as TypeScript types and a field
// table, so that a wrapper whose params do not match the struct fails `tsc`, and Plan.dispatch
// packs the named fields into the uniform words (src/gpu/params.ts).
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';

/**
 * The source of shaders/<file> with every line `#include "_<part>.wgsl"` replaced by that file
 * (by the file `swap[part]` names instead, where it names one).
 */
export function expandIncludes(dir, file, stack = [], swap = {}) {
  if (stack.includes(file)) throw new Error(`include cycle: ${[...stack, file].join(' -> ')}`);
  return readFileSync(join(dir, file), 'utf8').replace(/^#include "([^"]+)"\s*$/gm, (_, part) => {
    const inc = swap[part] ?? part;
    if (!existsSync(join(dir, inc))) throw new Error(`${file}: #include "${inc}" not found in shaders/`);
    return expandIncludes(dir, inc, [...stack, file], swap);
  });
}

/**
 * The variant axes of the kernels. A kernel whose own file has the line `#include "<include>"` is also
 * emitted with `<swap>` included in its place, `enable <enable>;` first, under its name + `<suffix>`;
 * with several axes, every combination (suffixes in this order: `<name>_f16_sg`). So each kernel's
 * logic exists once.
 * - _storage.wgsl (alias st = f32, st4 = vec4<f32>: the element types of its activation and weight
 *   bindings) → _storage_f16.wgsl (f16): the f16 twin, sums still f32 wherever the source computes in
 *   f32 (it converts on load and store).
 * - _reduce.wgsl (group reductions in workgroup memory) → _reduce_sg.wgsl (subgroup operations).
 */
export const AXES = [
  { include: '_storage.wgsl', swap: '_storage_f16.wgsl', suffix: '_f16', enable: 'f16' },
  { include: '_reduce.wgsl', swap: '_reduce_sg.wgsl', suffix: '_sg', enable: 'subgroups' },
];

/** `code` (a kernel's source) with the expanded `from` texts replaced by `to`, each exactly once, and `enable`s first. */
export function variantSource(code, swaps, enables) {
  for (const [from] of swaps) {
    const at = code.indexOf(from);
    if (at < 0 || code.indexOf(from, at + 1) >= 0) throw new Error('a variant needs each swapped snippet exactly once in its source');
  }
  return enables.map((e) => `enable ${e};\n`).join('') + swaps.reduce((c, [from, to]) => c.replace(from, to), code);
}

/**
 * Every kernel of shaders/ (files not starting with `_`) and its variants (AXES), sorted by name, as
 * { name, code, variantOf?: { base, axes } }; with `snippets`, each axis's expanded include and swap.
 */
export function kernelSources(dir) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.wgsl') && !f.startsWith('_')).sort();
  const snippets = AXES.map((a) => [expandIncludes(dir, a.include), expandIncludes(dir, a.swap)]);
  const out = [];
  for (const f of files) {
    const name = f.slice(0, -5);
    const own = readFileSync(join(dir, f), 'utf8');
    const code = expandIncludes(dir, f);
    out.push({ name, code });
    const axes = AXES.map((a, i) => i).filter((i) => new RegExp(`^#include "${AXES[i].include.replace('.', '\\.')}"\\s*$`, 'm').test(own));
    for (let mask = 1; mask < 1 << axes.length; mask++) {
      const chosen = axes.filter((_, j) => mask & (1 << j));
      const vname = name + chosen.map((i) => AXES[i].suffix).join('');
      if (files.includes(`${vname}.wgsl`)) throw new Error(`shaders/${vname}.wgsl: the name of a generated variant of ${f}`);
      const vcode = variantSource(code, chosen.map((i) => snippets[i]), chosen.map((i) => AXES[i].enable));
      const swap = Object.fromEntries(chosen.map((i) => [AXES[i].include, AXES[i].swap]));
      const direct = chosen.map((i) => `enable ${AXES[i].enable};\n`).join('') + expandIncludes(dir, f, [], swap);
      if (vcode !== direct) throw new Error(`${f}: its variant ${vname} is not its source with the swapped snippets included`);
      out.push({ name: vname, code: vcode, variantOf: { base: name, axes: chosen } });
    }
  }
  return { kernels: out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)), snippets };
}

const SCALARS = new Set(['u32', 'i32', 'f32']);

/**
 * The binding layout of kernel `name` (its expanded WGSL `code`), checked against the conventions
 * of docs/KERNELS.md: group 0; read-only storage at bindings 0.., then read_write storage, then at
 * most one uniform (the params), last; params fields u32, i32 or f32 scalars (names starting with
 * `_` are padding, packed as 0). Throws naming the shader and the rule it breaks.
 * Returns { inputs, outputs, params: [{ name, type, offset }], paramBytes, constants: [name] }.
 */
export function kernelLayout(name, code) {
  const fail = (msg) => {
    throw new Error(`shaders/${name}.wgsl: ${msg}`);
  };
  let r;
  try {
    // wgsl_reflect 1.6 cannot parse an expression in @workgroup_size (`ROWS / 4u`); the layout
    // does not depend on it.
    r = new WgslReflect(code.replace(/@workgroup_size\([^)]*\)/g, '@workgroup_size(1)'));
  } catch (e) {
    fail(`WGSL that wgsl_reflect cannot parse (${e.message})`);
  }
  if (r.textures.length || r.samplers.length) fail('textures and samplers are not supported');
  const storage = [...r.storage].sort((a, b) => a.binding - b.binding);
  const uniforms = r.uniforms;
  for (const v of [...storage, ...uniforms]) if (v.group !== 0) fail(`binding '${v.name}' is in group ${v.group}, not 0`);
  storage.forEach((v, i) => {
    if (v.binding !== i) fail(`storage bindings must be 0, 1, …: '${v.name}' is at ${v.binding}, expected ${i}`);
    if (v.access !== 'read' && v.access !== 'read_write') fail(`storage '${v.name}' has access '${v.access}'`);
    if (i > 0 && v.access === 'read' && storage[i - 1].access === 'read_write') {
      fail(`read-only '${v.name}' (binding ${v.binding}) follows a read_write binding: inputs come first, then outputs`);
    }
  });
  if (uniforms.length > 1) fail(`${uniforms.length} uniforms; one params struct at most`);
  const inputs = storage.filter((v) => v.access === 'read').length;
  const outputs = storage.length - inputs;
  let params = [];
  let paramBytes = 0;
  if (uniforms.length) {
    const u = uniforms[0];
    if (u.binding !== storage.length) fail(`the params uniform '${u.name}' is at binding ${u.binding}, expected ${storage.length} (after the storage bindings)`);
    if (!u.type.isStruct) fail(`the params uniform '${u.name}' is a ${u.type.name}, not a struct`);
    params = u.type.members.map((m) => {
      if (!SCALARS.has(m.type.name)) fail(`params field '${m.name}' has type ${m.type.getTypeName()}: only u32, i32 and f32 scalars`);
      return { name: m.name, type: m.type.name, offset: m.offset };
    });
    paramBytes = u.type.size;
  }
  // Overrides: the pipeline constants a wrapper may set (each needs a default in the WGSL).
  const constants = r.overrides.map((o) => o.name);
  for (const c of constants) {
    if (!new RegExp(`override\\s+${c}\\s*(:\\s*\\w+\\s*)?=`).test(code)) fail(`override '${c}' has no default value`);
  }
  // WGSL extensions (`enable f16;`): each needs a device feature (Plan.dispatch checks it).
  const enables = [...code.matchAll(/^\s*enable\s+([\w\s,]+);/gm)].flatMap((m) => m[1].split(',').map((e) => e.trim()).filter(Boolean));
  return { inputs, outputs, params, paramBytes, constants, enables };
}

const q = JSON.stringify;
const isPadding = (field) => field.name.startsWith('_');

// No fields: Record<string, never>, so that a literal with any field is a type error (`{}` takes anything).
const objectType = (fields) => (fields.length ? `{ ${fields.join(' ')} }` : 'Record<string, never>');

/**
 * src/generated/shaders.ts for the kernels `{ name, code, layout, variantOf? }[]` (sorted by name),
 * `snippets` as kernelSources gives them. The variants' sources are made from their kernels' when the
 * module loads (variantSource), not stored twice.
 */
export function emitShadersTs(kernels, snippets) {
  let out = '// Generated by scripts/gen-shaders.mjs from shaders/*.wgsl. Do not edit.\n';
  out += `export type ShaderName =\n${kernels.map((k) => `  | ${q(k.name)}`).join('\n')};\n\n`;
  out += 'const BASE = {\n';
  for (const k of kernels) if (!k.variantOf) out += `  ${q(k.name)}: ${q(k.code)},\n`;
  out += '};\n\n';
  out += `/** Per variant axis (scripts/shader-layout.mjs AXES): the expanded snippet, its swap, the extension. */\n`;
  out += `const AXES: readonly (readonly [string, string, string])[] = [\n${AXES.map((a, i) => `  [${q(snippets[i][0])}, ${q(snippets[i][1])}, ${q(a.enable)}],`).join('\n')}\n];\n\n`;
  out += '/** A variant\'s source: its axes\' snippets swapped in the kernel\'s source, their `enable`s first. */\n';
  out += 'const variant = (code: string, axes: readonly number[]): string =>\n';
  out += "  axes.map((i) => `enable ${AXES[i]![2]};\\n`).join('') + axes.reduce((c, i) => c.replace(AXES[i]![0], AXES[i]![1]), code);\n\n";
  out += 'export const SHADERS: Readonly<Record<ShaderName, string>> = {\n  ...BASE,\n';
  for (const k of kernels) if (k.variantOf) out += `  ${q(k.name)}: variant(BASE[${q(k.variantOf.base)}], ${q(k.variantOf.axes)}),\n`;
  out += '};\n\n';
  out += '/** One field of a params struct: its name, WGSL type and byte offset. */\n';
  out += "export interface ParamField { readonly name: string; readonly type: 'u32' | 'i32' | 'f32'; readonly offset: number }\n\n";
  out += '/** What each kernel binds: storage inputs, then outputs, then the params struct (`paramBytes` 0: none). */\n';
  out += 'export interface ShaderLayout {\n  readonly inputs: number;\n  readonly outputs: number;\n';
  out += '  readonly params: readonly ParamField[];\n  readonly paramBytes: number;\n  readonly constants: readonly string[];\n';
  out += '  /** WGSL extensions the kernel enables (f16, subgroups): each needs its device feature. */\n  readonly enables: readonly string[];\n}\n\n';
  out += 'export const SHADER_LAYOUTS: Readonly<Record<ShaderName, ShaderLayout>> = {\n';
  for (const { name, layout: l } of kernels) {
    const fields = l.params.map((f) => `{ name: ${q(f.name)}, type: ${q(f.type)}, offset: ${f.offset} }`).join(', ');
    out += `  ${q(name)}: { inputs: ${l.inputs}, outputs: ${l.outputs}, params: [${fields}], paramBytes: ${l.paramBytes}, constants: ${q(l.constants)}, enables: ${q(l.enables)} },\n`;
  }
  out += '};\n\n';
  out += '/** The named params of each kernel: the fields of its WGSL params struct, padding (`_…`) left out. */\n';
  out += 'export interface ShaderParams {\n';
  for (const { name, layout: l } of kernels) {
    out += `  ${q(name)}: ${objectType(l.params.filter((f) => !isPadding(f)).map((f) => `${f.name}: number;`))};\n`;
  }
  out += '}\n\n';
  out += '/** The override constants of each kernel (each has a default in the WGSL). */\n';
  out += 'export interface ShaderConstants {\n';
  for (const { name, layout: l } of kernels) out += `  ${q(name)}: ${objectType(l.constants.map((c) => `${c}?: number;`))};\n`;
  out += '}\n';
  return out;
}
