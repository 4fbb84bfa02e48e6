// Shared test helpers: one device per test file, seeded random data, tolerance checks.
import { describe, expect } from 'vitest';
import { requestGpu, type Gpu } from '../../src/gpu/device.js';
import type { KernelFamily, KernelPath } from '../../src/gpu/kernels.js';
import { Plan, type PlanOptions } from '../../src/gpu/plan.js';

let gpuPromise: Promise<Gpu> | null = null;
let announced = false;

/** The WebGPU device the tests run on; the first call prints the adapter. */
export async function testGpu(): Promise<Gpu> {
  gpuPromise ??= requestGpu();
  const gpu = await gpuPromise;
  if (!announced) {
    announced = true;
    console.log(`[adapter] ${gpu.info.name}${gpu.info.icd ? ` (ICD ${gpu.info.icd})` : ''}`);
  }
  return gpu;
}

/** A fresh plan on the test device. */
export async function newPlan(label = 'test', opts: PlanOptions = {}): Promise<Plan> {
  return new Plan(await testGpu(), label, opts);
}

/** Plan options choosing the kernel path of one family (the others take the adapter's). */
export type KernelChoice = NonNullable<PlanOptions['kernels']>;

/**
 * One describe block per path of a kernel family, whatever the adapter: 'tiled' (the real-GPU
 * kernel), then 'cpu' (the software-adapter variant). `kernels` is the plan option that forces it:
 * `newPlan(label, { kernels })`.
 */
export function describeKernelPaths(family: KernelFamily, body: (path: KernelPath, kernels: KernelChoice) => void): void {
  for (const path of ['tiled', 'cpu'] as const) describe(`${family} path '${path}'`, () => body(path, { [family]: path }));
}

/** Deterministic uniform values in [lo, hi). */
export function rand(n: number, seed = 1, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

export interface CloseReport {
  maxAbs: number;
  worstIndex: number;
}

/** Max |a - ref| and where it is. */
export function maxAbsDiff(a: ArrayLike<number>, ref: ArrayLike<number>): CloseReport {
  let maxAbs = 0;
  let worstIndex = -1;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(a[i]! - ref[i]!);
    if (!(d <= maxAbs)) {
      maxAbs = Number.isNaN(d) ? Infinity : d;
      worstIndex = i;
    }
  }
  return { maxAbs, worstIndex };
}

/** Every element within atol + rtol·|ref|; the failure names the first bad index and values. */
export function expectClose(actual: ArrayLike<number>, ref: ArrayLike<number>, atol: number, rtol: number, what = 'result'): void {
  expect(actual.length, `${what}: length`).toBe(ref.length);
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!;
    const a = actual[i]!;
    const tol = atol + rtol * Math.abs(r);
    if (!(Math.abs(a - r) <= tol)) {
      const { maxAbs, worstIndex } = maxAbsDiff(actual, ref);
      throw new Error(
        `${what}: element ${i} is ${a}, reference ${r} (|diff| ${Math.abs(a - r)} > ${tol} = ${atol} + ${rtol}·|ref|); ` +
          `max |diff| ${maxAbs} at ${worstIndex}`,
      );
    }
  }
}
