// Named params, checked against the WGSL: the build-time layout (scripts/shader-layout.mjs, which
// gen-shaders turns into src/generated/shaders.ts), the packing into uniform words, and what
// Plan.dispatch refuses when an op is recorded. The `@ts-expect-error` lines are the compile-time
// half: `npm run typecheck` fails if one of them stops being a type error. No GPU.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { expandIncludes, kernelLayout } from '../scripts/shader-layout.mjs';
import { SHADER_LAYOUTS } from '../src/generated/shaders.js';
import type { Gpu } from '../src/gpu/device.js';
import { packParams } from '../src/gpu/dispatch.js';
import { Plan, PlanError } from '../src/gpu/plan.js';

/** A Gpu for recording only (nothing here builds or runs). */
const recordOnly = {
  device: {} as GPUDevice,
  info: { name: 'record-only', runtime: 'node', vendor: '', architecture: '', description: '', isSoftware: false, features: [] },
} as unknown as Gpu;

const kernel = (struct: string, extra = '') => `
${extra}
${struct}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@compute @workgroup_size(64, ROWS / 4u)
fn main(@builtin(global_invocation_id) g: vec3<u32>) { y[g.x] = x[g.x] * p.s; }
`;

describe('kernelLayout (build time)', () => {
  it('reads the bindings, the params struct (names, types, offsets) and the override constants', () => {
    const l = kernelLayout('t', kernel('struct Params { n: u32, k: i32, s: f32, _pad: u32 }', 'override ROWS: u32 = 64u;'));
    expect(l).toEqual({
      inputs: 1, outputs: 1, paramBytes: 16, constants: ['ROWS'],
      params: [{ name: 'n', type: 'u32', offset: 0 }, { name: 'k', type: 'i32', offset: 4 }, { name: 's', type: 'f32', offset: 8 }, { name: '_pad', type: 'u32', offset: 12 }],
    });
  });

  it('refuses what the packer cannot fill or the conventions forbid, naming the shader', () => {
    expect(() => kernelLayout('t', kernel('struct Params { n: u32, v: vec2<f32> }', 'override ROWS: u32 = 64u;'))).toThrow(/shaders\/t\.wgsl: params field 'v' has type vec2f: only u32, i32 and f32 scalars/);
    expect(() => kernelLayout('t', kernel('struct Params { n: u32, s: f32 }', 'override ROWS: u32;'))).toThrow(/override 'ROWS' has no default/);
    const late = kernel('struct Params { s: f32 }', 'override ROWS: u32 = 64u;').replace('@binding(2) var<uniform>', '@binding(3) var<uniform>');
    expect(() => kernelLayout('t', late)).toThrow(/params uniform 'p' is at binding 3, expected 2/);
    const swapped = kernel('struct Params { s: f32 }', 'override ROWS: u32 = 64u;').replace('@binding(0) var<storage, read>', '@binding(9) var<storage, read>').replace('@binding(1)', '@binding(0)').replace('@binding(9)', '@binding(1)');
    expect(() => kernelLayout('t', swapped)).toThrow(/read-only 'x' \(binding 1\) follows a read_write binding/);
  });

  it('the generated table holds every kernel of shaders/ as kernelLayout reads it', () => {
    const dir = fileURLToPath(new URL('../shaders', import.meta.url));
    const names = readdirSync(dir).filter((f) => f.endsWith('.wgsl') && !f.startsWith('_')).map((f) => f.slice(0, -5));
    expect(Object.keys(SHADER_LAYOUTS).sort()).toEqual(names.sort());
    for (const n of names) expect(SHADER_LAYOUTS[n as keyof typeof SHADER_LAYOUTS], n).toEqual(kernelLayout(n, expandIncludes(dir, `${n}.wgsl`)));
    expect(SHADER_LAYOUTS.pad_rows4.params.map((f) => f.name)).toEqual(['K', 'K4', '_p0', '_p1']);
  });
});

describe('packParams', () => {
  const layout = { inputs: 1, outputs: 1, paramBytes: 20, constants: [], params: [
    { name: 'n', type: 'u32', offset: 0 }, { name: 'k', type: 'i32', offset: 4 }, { name: 's', type: 'f32', offset: 8 },
    { name: '_pad', type: 'u32', offset: 12 }, { name: 'big', type: 'u32', offset: 16 },
  ] } as const;

  it('packs u32 as is, i32 as two\'s complement, f32 as its bits, padding as 0, in 16-byte rows', () => {
    const w = packParams('t', layout, { n: 7, k: -5, s: 0.1, big: 2 ** 32 - 1 });
    expect(w.length).toBe(8);
    expect([...w]).toEqual([7, 2 ** 32 - 5, new Uint32Array(Float32Array.of(0.1).buffer)[0], 0, 2 ** 32 - 1, 0, 0, 0]);
  });

  it('a missing, unknown or out-of-range field is a PlanError naming it', () => {
    const ok = { n: 1, k: 0, s: 1, big: 0 };
    const bad = (p: Record<string, number>) => () => packParams('t', layout, p);
    expect(bad({ n: 1, k: 0, s: 1 })).toThrow(PlanError);
    expect(bad({ n: 1, k: 0, s: 1 })).toThrow(/params\.big is missing/);
    expect(bad({ ...ok, m: 1 })).toThrow(/params has 'm', which is not a field of shaders\/t\.wgsl's params \{ n, k, s, big \}/);
    expect(bad({ ...ok, _pad: 1 })).toThrow(/params has '_pad'/);
    expect(bad({ ...ok, n: -1 })).toThrow(/params\.n = -1 is not a u32/);
    expect(bad({ ...ok, n: 2 ** 32 })).toThrow(/is not a u32/);
    expect(bad({ ...ok, n: 1.5 })).toThrow(/params\.n = 1\.5 is not a u32/);
    expect(bad({ ...ok, k: 2 ** 31 })).toThrow(/params\.k = 2147483648 is not an i32/);
    expect(bad({ ...ok, s: NaN })).toThrow(/params\.s = NaN is not a finite f32/);
    expect(bad({ ...ok, s: Infinity })).toThrow(/not a finite f32/);
  });
});

describe('Plan.dispatch checks an op against its shader when it is recorded', () => {
  const setup = () => {
    const p = new Plan(recordOnly, 'checks');
    const x = p.input('x', [4, 4]);
    return { p, x, y: p.temp([4, 4]) };
  };
  const good = { H: 4, W: 4, Ho: 2, Wo: 2, n: 16 };

  it('records named params, and refuses misnamed, missing or extra ones (compile time and record time)', () => {
    const { p, x, y } = setup();
    p.dispatch({ shader: 'maxpool', inputs: [x], outputs: [y], params: good, groups: [1] });
    expect(p.dispatchCount).toBe(1);
    const z = p.temp([2, 2]);
    expect(() =>
      // @ts-expect-error 'Hout' is not a field of shaders/maxpool.wgsl's params
      p.dispatch({ shader: 'maxpool', inputs: [x], outputs: [z], params: { H: 4, W: 4, Hout: 2, Wo: 2, n: 4 }, groups: [1] }),
    ).toThrow(/plan 'checks': maxpool \(maxpool\): params has 'Hout', which is not a field/);
    expect(() =>
      // @ts-expect-error 'n' is missing
      p.dispatch({ shader: 'maxpool', inputs: [x], outputs: [z], params: { H: 4, W: 4, Ho: 2, Wo: 2 }, groups: [1] }),
    ).toThrow(/params\.n is missing/);
    expect(() =>
      // @ts-expect-error maxpool's params lack resize's srcH, srcW, outH, outW
      p.dispatch({ shader: 'resize', inputs: [x], outputs: [z], params: good, groups: [1] }),
    ).toThrow(/params has 'Ho', which is not a field of shaders\/resize\.wgsl's params/);
    expect(() =>
      // @ts-expect-error 'ROWS' is not an override of maxpool
      p.dispatch({ shader: 'maxpool', constants: { ROWS: 32 }, inputs: [x], outputs: [z], params: good, groups: [1] }),
    ).toThrow(/constant 'ROWS' is not an override of shaders\/maxpool\.wgsl \(it has none\)/);
    expect(() =>
      // @ts-expect-error no shaders/maxpool2.wgsl
      p.dispatch({ shader: 'maxpool2', inputs: [x], outputs: [z], params: good, groups: [1] }),
    ).toThrow(/unknown shader 'maxpool2'/);
    expect(p.dispatchCount).toBe(1);
  });

  it('refuses a binding count the shader does not have, and a computed param that is not an integer', () => {
    const { p, x, y } = setup();
    expect(() => p.dispatch({ shader: 'maxpool', inputs: [x, x], outputs: [y], params: good, groups: [1] }))
      .toThrow(/binds 2 input\(s\) and 1 output\(s\); the shader has 1 and 1/);
    expect(() => p.dispatch({ shader: 'maxpool', inputs: [x], outputs: [y], params: { ...good, Ho: 7 / 2 }, groups: [1] }))
      .toThrow(/params\.Ho = 3\.5 is not a u32/);
    expect(() => p.dispatch({ shader: 'layernorm', inputs: [x, x, x], outputs: [y], params: { rows: 4, C: 4, eps: NaN }, groups: [1] }))
      .toThrow(/params\.eps = NaN is not a finite f32/);
    expect(p.dispatchCount).toBe(0);
  });
});
