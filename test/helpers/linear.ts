// linear() against a float64 reference, shared by matmul.test.ts (f32 weights) and f16.test.ts
// (f16 weight tensors), and the GEMM with batch strides (matmul.test.ts): every case is recorded into one
// plan, run once and checked with the GEMM tolerance,
// |gpu − ref| ≤ atol + rtol·|ref| with atol = 1e-5 · rms(ref) (the typical magnitude of the
// output) and rtol = 1e-4; data uniform in [-1, 1].
import { expect, vi } from 'vitest';
import { toF16Words, toQ8Words } from '../../src/weights/dtype.js';
import { dequantizeQ8, quantizeQ8 } from '../../src/weights/q8.js';
import { gemm, gemmKernel, linear, matmul, type Activation } from '../../src/ops/matmul.js';
import { f16ArrayToF32 } from '../../src/safetensors/half.js';
import { expectClose, newPlan, rand } from './gpu.js';
import { linearRef, matmulRef, rmsRef } from './reference.js';

export const GEMM_RTOL = 1e-4;
export const GEMM_ATOL_REL = 1e-5;

/** The GEMM tests' check of `got` against a float64 reference. */
export const checkGemm = (got: Float32Array, ref: Float64Array, what: string): void => expectClose(got, ref, GEMM_ATOL_REL * rmsRef(ref), GEMM_RTOL, what);

/** The f32 values of packed binary16 words (the first n elements). */
export const unpackWords = (words: Uint32Array, n: number): Float32Array => f16ArrayToF32(new Uint16Array(words.buffer, 0, n));

export interface LinearCase {
  lead: number[];
  K: number;
  N: number;
  act: Activation;
  bias: boolean;
  residual: boolean;
}

export interface RunLinearOptions {
  /** The plan's gemm path; every case must take it ('cpu' falls back to 'tiled' where K % 4 != 0). */
  path?: 'cpu' | 'tiled';
  /**
   * Weights as f16 tensors (at the ViT's scale ±1/sqrt(K), a few in the subnormal range); the
   * reference then uses the same rounded weights, so only the f32 accumulation differs.
   */
  f16?: boolean;
  /** Weights as q8 blocks (toQ8Words; K % 32 == 0); the reference uses the dequantised weights. */
  q8?: boolean;
}

/** Records every case into one plan, runs it once and checks each output against linearRef. */
export async function runLinear(cases: LinearCase[], opts: RunLinearOptions = {}): Promise<void> {
  const packedAs = opts.q8 ? 'q8' : opts.f16 ? 'f16' : null;
  const p = await newPlan(packedAs ? `linear-${packedAs}` : 'linear', opts.path ? { kernels: { gemm: opts.path } } : {});
  const spy = vi.spyOn(p, 'dispatch');
  const data: Record<string, Float32Array> = {};
  const weights: Float32Array[] = [];
  const owned: GPUBuffer[] = [];
  cases.forEach((c, i) => {
    const M = c.lead.reduce((a, b) => a * b, 1);
    if (opts.path) {
      expect(gemmKernel(p, M, c.N, c.K, true), `[${c.lead}, ${c.K}] -> ${c.N}`).toBe(opts.path === 'cpu' && c.K % 4 === 0 ? 'cpu' : 'tiled');
    }
    const x = p.input(`x${i}`, [...c.lead, c.K]);
    const b = c.bias ? p.input(`b${i}`, [c.N]) : null;
    const r = c.residual ? p.input(`r${i}`, [...c.lead, c.N]) : undefined;
    data[`x${i}`] = rand(M * c.K, 10 * i + 1);
    const nw = c.N * c.K;
    if (packedAs) {
      const w = rand(nw, 10 * i + 2, -1 / Math.sqrt(c.K), 1 / Math.sqrt(c.K));
      for (let j = 0; j < nw; j += 97) w[j] = w[j]! * 2 ** -18;
      if (packedAs === 'q8') w.fill(0, 0, Math.min(nw, 32)); // a block of zeros
      const packed = packedAs === 'q8' ? toQ8Words(`w${i}`, w) : toF16Words(`w${i}`, w);
      if (packedAs === 'q8') {
        const { q, scales } = quantizeQ8(`w${i}`, w, [nw / 32, 32]);
        weights.push(dequantizeQ8(`w${i}`, q, f16ArrayToF32(scales), [nw / 32, 32]));
      } else weights.push(unpackWords(packed, nw));
      // An f16 weight lives in a buffer of its own, as ModelWeights holds it.
      const buffer = p.device.createBuffer({ size: Math.max(16, Math.ceil(packed.byteLength / 16) * 16), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
      p.device.queue.writeBuffer(buffer, 0, packed);
      owned.push(buffer);
      p.output(`y${i}`, linear(p, x, p.external(buffer, [c.N, c.K], `w${i}`, packedAs), b, { act: c.act, residual: r, label: `linear${i}` }));
    } else {
      const w = p.input(`w${i}`, [c.N, c.K]);
      p.output(`y${i}`, linear(p, x, w, b, { act: c.act, residual: r, label: `linear${i}` }));
      data[`w${i}`] = rand(nw, 10 * i + 2);
      weights.push(data[`w${i}`]!);
    }
    if (b) data[`b${i}`] = rand(c.N, 10 * i + 3);
    if (r) data[`r${i}`] = rand(M * c.N, 10 * i + 4);
  });
  const shaders = spy.mock.calls.map(([d]) => d.shader);
  spy.mockRestore();
  const packedShaders = shaders.filter((s) => /^matmul(_cpu|_splitk)?_(f16w|q8w)$/.test(s) && s.endsWith(`${packedAs}w`)).length;
  expect(packedShaders, shaders.join()).toBe(packedAs ? shaders.filter((s) => s !== 'matmul_splitk_reduce').length : 0);
  await p.build();
  const out = await p.run(data);
  cases.forEach((c, i) => {
    const M = c.lead.reduce((a, b) => a * b, 1);
    const ref = linearRef(data[`x${i}`]!, weights[i]!, data[`b${i}`] ?? null, M, c.N, c.K, c.act, data[`r${i}`] ?? null);
    checkGemm(out[`y${i}`]!, ref, `${packedAs ? `${packedAs} ` : ''}linear [${c.lead}, ${c.K}] -> ${c.N} act=${c.act} bias=${c.bias} residual=${c.residual}${opts.path ? ` (${opts.path})` : ''}`);
  });
  p.destroy();
  for (const b of owned) b.destroy();
}

export interface MatmulCase {
  batch: number;
  M: number;
  N: number;
  K: number;
  transB: boolean;
}

/**
 * a [batch, M, K] · b [batch, K, N] (or [batch, N, K] with transB) for every case, on the plan's
 * gemm path `path`, checked against matmulRef. Batch 1 goes through matmul(); a larger batch
 * through gemm() with batch strides M·K and K·N (the model never batches a matmul; conv2d uses the
 * strides with a shared A). With `expectPath`, every case must take `path` (no fallback).
 */
export async function runMatmul(cases: MatmulCase[], path: 'cpu' | 'tiled', opts: { seed?: number; expectPath?: boolean } = {}): Promise<void> {
  const p = await newPlan('matmul', { kernels: { gemm: path } });
  const seed = opts.seed ?? 100;
  const data: Record<string, Float32Array> = {};
  cases.forEach((c, i) => {
    if (opts.expectPath) expect(gemmKernel(p, c.M, c.N, c.K, c.transB), `[${c.M}, ${c.K}] x [${c.N}]`).toBe(path);
    const label = `matmul${i}`;
    const lead = c.batch > 1 ? [c.batch] : [];
    const a = p.input(`a${i}`, [...lead, c.M, c.K]);
    const b = p.input(`b${i}`, [...lead, ...(c.transB ? [c.N, c.K] : [c.K, c.N])]);
    const y = c.batch > 1 ? p.temp([c.batch, c.M, c.N], label) : matmul(p, a, b, { transB: c.transB, label });
    if (c.batch > 1) {
      gemm(p, { a, b, bias: null, residual: null, out: y, batch: c.batch, M: c.M, N: c.N, K: c.K, sA: c.M * c.K, sB: c.K * c.N, transB: c.transB, act: 'none', label });
    }
    expect(y.shape).toEqual([...lead, c.M, c.N]);
    p.output(`y${i}`, y);
    data[`a${i}`] = rand(c.batch * c.M * c.K, seed + i);
    data[`b${i}`] = rand(c.batch * c.K * c.N, 2 * seed + i);
  });
  await p.build();
  const out = await p.run(data);
  cases.forEach((c, i) => {
    const ref = matmulRef(data[`a${i}`]!, data[`b${i}`]!, c.batch, c.M, c.N, c.K, c.transB);
    checkGemm(out[`y${i}`]!, ref, `matmul [${c.batch}, ${c.M}, ${c.K}] x ${c.transB ? 'T' : ''}[${c.N}] (${path})`);
  });
  p.destroy();
}
