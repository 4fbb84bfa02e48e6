import { describe, expect, it } from 'vitest';
import { tileRows, type Activation } from '../src/ops/matmul.js';
import { describeKernelPaths } from './helpers/gpu.js';
import { runLinear, runMatmul, type LinearCase } from './helpers/linear.js';

// Tolerance: checkGemm (helpers/linear.ts): atol = 1e-5 · rms(ref), rtol = 1e-4; data uniform in [-1, 1].

// Every case runs on both GEMM kernel families, whatever the adapter: 'tiled' (matmul.wgsl, the
// real-GPU kernel) and 'cpu' (matmul_cpu.wgsl, what software adapters take; shapes outside its vec4
// alignment fall back to matmul.wgsl).
describeKernelPaths('gemm', (path) => {
  describe('linear', () => {
    it('M ∈ {1, 7, 65, 256} × K ∈ {3, 17, 768} × N ∈ {5, 33, 130}, epilogues in rotation', async () => {
      const acts: Activation[] = ['none', 'relu', 'gelu'];
      const cases: LinearCase[] = [];
      let i = 0;
      for (const M of [1, 7, 65, 256]) {
        for (const K of [3, 17, 768]) {
          for (const N of [5, 33, 130]) {
            cases.push({ lead: [M], K, N, act: acts[i % 3]!, bias: i % 2 === 0, residual: i % 4 === 1 });
            i++;
          }
        }
      }
      await runLinear(cases, { path });
    });

    it('every epilogue (act × bias × residual) on [65, 17] -> 33, and leading dims [2, 3, 7]', async () => {
      const cases: LinearCase[] = [];
      for (const act of ['none', 'relu', 'gelu'] as const) {
        for (const bias of [false, true]) {
          for (const residual of [false, true]) cases.push({ lead: [65], K: 17, N: 33, act, bias, residual });
        }
      }
      cases.push({ lead: [2, 3, 7], K: 19, N: 70, act: 'gelu', bias: true, residual: true });
      cases.push({ lead: [2, 3, 11], K: 64, N: 5, act: 'none', bias: false, residual: false });
      await runLinear(cases, { path });
    });

    it('model size: [256, 768] -> 2304 + bias (ViT qkv, 32-row tiles), [784, 768] -> 3072 + bias + gelu (windowed MLP, 64-row tiles), [256, 768] -> 768 + residual', async () => {
      expect([tileRows(256, 2304), tileRows(784, 3072)]).toEqual([32, 64]);
      await runLinear([
        { lead: [256], K: 768, N: 2304, act: 'none', bias: true, residual: false },
        { lead: [784], K: 768, N: 3072, act: 'gelu', bias: true, residual: false },
        { lead: [256], K: 768, N: 768, act: 'none', bias: true, residual: true },
      ], { path });
    });

    it('64-row tiles on awkward sizes: [1600, 3] -> 1300, [5, 321, 7] -> 1300 with every epilogue part', async () => {
      expect([tileRows(1600, 1300), tileRows(5 * 321, 1300)]).toEqual([64, 64]);
      await runLinear([
        { lead: [1600], K: 3, N: 1300, act: 'relu', bias: true, residual: false },
        { lead: [5, 321], K: 7, N: 1300, act: 'gelu', bias: true, residual: true },
      ], { path });
    });
  });

  describe('matmul', () => {
    it('batched B = 3 (GEMM batch strides) with odd M, N, K in both transB modes, and rank 2', async () => {
      const cases = [
        { batch: 3, M: 37, N: 29, K: 19, transB: false },
        { batch: 3, M: 37, N: 29, K: 19, transB: true },
        { batch: 3, M: 67, N: 131, K: 83, transB: false },
        { batch: 3, M: 67, N: 131, K: 83, transB: true },
        { batch: 1, M: 65, N: 3, K: 1, transB: false },
        { batch: 1, M: 5, N: 66, K: 33, transB: true },
        // 64-row tiles (>= 256 tiles of 64×64)
        { batch: 3, M: 701, N: 1001, K: 5, transB: false },
        { batch: 3, M: 701, N: 1001, K: 5, transB: true },
      ];
      expect(cases.map((c) => tileRows(c.M, c.N, c.batch))).toEqual([32, 32, 32, 32, 32, 32, 64, 64]);
      await runMatmul(cases, path);
    });
  });

  describe('vec4-aligned shapes (K % 4 == 0; N % 4 == 0 for a [K, N] b) that the CPU kernel takes', () => {
    it('linear: M ∈ {1, 7, 130, 300} (row tiles of 8 and 128 crossed) × K ∈ {4, 20, 772} × N ∈ {5, 17, 130}, epilogues in rotation, leading dims [2, 3, 7]', async () => {
      const acts: Activation[] = ['none', 'relu', 'gelu'];
      const cases: LinearCase[] = [];
      let i = 0;
      for (const M of [1, 7, 130, 300]) {
        for (const K of [4, 20, 772]) {
          for (const N of [5, 17, 130]) {
            cases.push({ lead: [M], K, N, act: acts[i % 3]!, bias: i % 2 === 0, residual: i % 4 === 1 });
            i++;
          }
        }
      }
      cases.push({ lead: [2, 3, 7], K: 36, N: 70, act: 'gelu', bias: true, residual: true });
      await runLinear(cases, { path });
    });

    it('matmul: batched B = 3 (GEMM batch strides) in both transB modes (odd M, N), rank 2, a 1-row [1, 32] x [32, 4096]', async () => {
      const cases = [
        { batch: 3, M: 37, N: 29, K: 20, transB: true },
        { batch: 3, M: 37, N: 28, K: 20, transB: false },
        { batch: 3, M: 131, N: 44, K: 84, transB: false },
        { batch: 3, M: 131, N: 45, K: 84, transB: true },
        { batch: 1, M: 9, N: 12, K: 8, transB: false },
        { batch: 1, M: 1, N: 4096, K: 32, transB: false },
      ];
      await runMatmul(cases, path, { seed: 300, expectPath: true });
    });
  });
});
