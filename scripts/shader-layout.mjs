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

/** The line that gives a kernel an f16 twin: its storage element types (st, st4) come from here. */
const STORAGE_INCLUDE = /^#include "_storage\.wgsl"\s*$/m;

/** The source of a kernel's f16 twin from its own: `storage` (_storage.wgsl) swapped for `storageF16`, `enable f16;` first. */
export function f16Twin(code, storage, storageF16) {
  const at = code.indexOf(storage);
  if (at < 0 || code.indexOf(storage, at + 1) >= 0) throw new Error('an f16 twin needs _storage.wgsl exactly once in its source');
  return 'enable f16;\n' + code.replace(storage, storageF16);
}

/**
 * Every kernel of shaders/ (files not starting with `_`), sorted by name, as { name, code, twinOf? }.
 * A kernel whose own file has the line `#include "_storage.wgsl"` (alias st = f32, st4 = vec4<f32>:
 * the element types of its activation and weight bindings) is also a kernel `<name>_f16` (twinOf:
 * name): the same source with _storage_f16.wgsl (st = f16) in its place and `enable f16;` first
 * (f16Twin), so that each kernel's logic exists once. Its sums stay f32 wherever the source computes
 * in f32 (it converts on load and store).
 */
export function kernelSources(dir) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.wgsl') && !f.startsWith('_')).sort();
  const storage = readFileSync(join(dir, '_storage.wgsl'), 'utf8');
  const storageF16 = readFileSync(join(dir, '_storage_f16.wgsl'), 'utf8');
  const out = [];
  for (const f of files) {
    const name = f.slice(0, -5);
    const code = expandIncludes(dir, f);
    out.push({ name, code });
    if (STORAGE_INCLUDE.test(readFileSync(join(dir, f), 'utf8'))) {
      if (files.includes(`${name}_f16.wgsl`)) throw new Error(`shaders/${name}_f16.wgsl: the name of ${f}'s generated f16 twin`);
      const twin = f16Twin(code, storage, storageF16);
      if (twin !== 'enable f16;\n' + expandIncludes(dir, f, [], { '_storage.wgsl': '_storage_f16.wgsl' })) throw new Error(`${f}: its f16 twin is not its source with _storage_f16.wgsl included`);
      out.push({ name: `${name}_f16`, code: twin, twinOf: name });
    }
  }
  return { kernels: out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)), storage, storageF16 };
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
 * src/generated/shaders.ts for the kernels `{ name, code, layout, twinOf? }[]` (sorted by name). The
 * f16 twins' sources are made from their originals when the module loads (f16Twin), not stored twice.
 */
export function emitShadersTs(kernels, storage, storageF16) {
  let out = '// Generated by scripts/gen-shaders.mjs from shaders/*.wgsl. Do not edit.\n';
  out += `export type ShaderName =\n${kernels.map((k) => `  | ${q(k.name)}`).join('\n')};\n\n`;
  out += 'const BASE = {\n';
  for (const k of kernels) if (!k.twinOf) out += `  ${q(k.name)}: ${q(k.code)},\n`;
  out += '};\n\n';
  out += '/** An f16 twin\'s source: shaders/_storage_f16.wgsl in place of _storage.wgsl, `enable f16;` first. */\n';
  out += `const f16Twin = (code: string): string => 'enable f16;\\n' + code.replace(${q(storage)}, ${q(storageF16)});\n\n`;
  out += 'export const SHADERS: Readonly<Record<ShaderName, string>> = {\n  ...BASE,\n';
  for (const k of kernels) if (k.twinOf) out += `  ${q(k.name)}: f16Twin(BASE[${q(k.twinOf)}]),\n`;
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
