// LayerNorm (last dim) and SAM's LayerNorm2d (+ fused GELU) against float64 references.
// Tolerance for both: atol 1e-5, rtol 1e-4.
import { describe, expect, it } from 'vitest';
import { layerNorm, layerNorm2d, lanesPerRow, normKernel, pixelsPerGroup } from '../src/ops/layernorm.js';
import { describeKernelPaths, maxAbsDiff, newPlan, rand, expectClose } from './helpers/gpu.js';
import { layerNorm2dRef, layerNormRef } from './helpers/reference.js';

const ATOL = 1e-5;
const RTOL = 1e-4;

// Every case runs on both kernel families, whatever the adapter: 'tiled' (workgroup reductions, the
// real-GPU kernels) and 'cpu' (one invocation per row / per 4 pixels, what software adapters take
// where C % 4 == 0 / H·W % 4 == 0; the other cases check that they fall back to the tiled kernels).
describeKernelPaths('norm', (path, kernels) => {
  describe('layerNorm (last dim)', () => {
    // [shape, eps]: odd C (1 row per lane group of 32 / 64), the ViT's C = 768 and the decoder's 256
    // with row counts that do not fill the last workgroup, and > 65535 workgroups (grid folded over y).
    const cases: [number[], number][] = [
      [[13, 5], 1e-6],
      [[3, 7, 37], 1e-5],
      [[2, 5, 768], 1e-6],
      [[1, 9, 256], 1e-5],
      [[2, 3, 1000], 1e-6],
      [[600001, 3], 1e-5],
      [[4099, 4], 1e-5],
    ];
    it('matches float64 on odd shapes, offset data', async () => {
      const p = await newPlan('layernorm', { kernels });
      const runs = cases.map(([shape, eps], i) => {
        const C = shape[shape.length - 1]!;
        expect(normKernel(p, C % 4 === 0)).toBe(C % 4 === 0 ? path : 'tiled');
        const x = p.input(`x${i}`, shape);
        const g = p.input(`g${i}`, [C]);
        const b = p.input(`b${i}`, [C]);
        p.output(`y${i}`, layerNorm(p, x, g, b, eps));
        const n = shape.reduce((a, v) => a * v, 1);
        // Mean 3 (a one-pass E[x²] − u² would lose digits), ±1.5 alternating over c plus noise in ±1:
        // every row's std stays well away from 0 (the output's error grows as 1/std), also at C = 3.
        const xv = rand(n, 10 + i, -1, 1).map((v, k) => 3 + (k % C) % 2 * 3 - 1.5 + v);
        return { C, eps, xv, gv: rand(C, 20 + i, 0.5, 1.5), bv: rand(C, 30 + i, -1, 1) };
      });
      await p.build();
      const feeds: Record<string, Float32Array> = {};
      runs.forEach((r, i) => Object.assign(feeds, { [`x${i}`]: r.xv, [`g${i}`]: r.gv, [`b${i}`]: r.bv }));
      const out = await p.run(feeds);
      runs.forEach((r, i) => {
        const ref = layerNormRef(r.xv, r.gv, r.bv, r.C, r.eps);
        console.log(`[layerNorm] [${cases[i]![0]}] max |diff| ${maxAbsDiff(out[`y${i}`]!, ref).maxAbs.toExponential(2)}`);
        expectClose(out[`y${i}`]!, ref, ATOL, RTOL, `layerNorm [${cases[i]![0]}]`);
      });
      expect(lanesPerRow(5)).toBe(32);
      expect(lanesPerRow(37)).toBe(64);
      expect(lanesPerRow(768)).toBe(256);
      p.destroy();
    });
  });

  describe('layerNorm2d', () => {
    // [N, C, H, W], act, eps: pixels per workgroup 16 (small images, C ≥ 16), 128 (C = 3: fewer
    // channel slices than the default), 64 (large image), and SAM's neck / adapter sizes.
    const cases: [number[], 'none' | 'gelu', number][] = [
      [[2, 37, 5, 7], 'none', 1e-6],
      [[2, 37, 5, 7], 'gelu', 1e-6],
      [[1, 3, 19, 23], 'gelu', 1e-6],
      [[2, 8, 100, 90], 'none', 1e-6],
      [[1, 256, 16, 16], 'none', 1e-6],
      [[1, 64, 33, 31], 'gelu', 1e-6],
      [[3, 1, 4, 5], 'none', 1e-6],
      [[2, 5, 12, 12], 'gelu', 1e-6],
      [[1, 32, 64, 64], 'gelu', 1e-6],
    ];
    it('matches float64, with and without fused GELU', async () => {
      expect(pixelsPerGroup(2, 37, 35)).toBe(16);
      expect(pixelsPerGroup(1, 3, 19 * 23)).toBe(128);
      expect(pixelsPerGroup(2, 8, 9000)).toBe(64);
      expect(pixelsPerGroup(3, 1, 20)).toBe(256);
      const p = await newPlan('layernorm', { kernels });
      const runs = cases.map(([shape, act, eps], i) => {
        const C = shape[1]!;
        const hw4 = (shape[2]! * shape[3]!) % 4 === 0;
        expect(normKernel(p, hw4)).toBe(hw4 ? path : 'tiled');
        const x = p.input(`x${i}`, shape);
        const g = p.input(`g${i}`, [C]);
        const b = p.input(`b${i}`, [C]);
        p.output(`y${i}`, layerNorm2d(p, x, g, b, eps, { act }));
        const n = shape.reduce((a, v) => a * v, 1);
        return { shape, act, eps, xv: rand(n, 40 + i, -1, 5), gv: rand(C, 50 + i, 0.5, 1.5), bv: rand(C, 60 + i, -1, 1) };
      });
      await p.build();
      const feeds: Record<string, Float32Array> = {};
      runs.forEach((r, i) => Object.assign(feeds, { [`x${i}`]: r.xv, [`g${i}`]: r.gv, [`b${i}`]: r.bv }));
      const out = await p.run(feeds);
      runs.forEach((r, i) => {
        const ref = layerNorm2dRef(r.xv, r.gv, r.bv, r.shape, r.eps, r.act);
        console.log(`[layerNorm2d] [${r.shape}] ${r.act}: max |diff| ${maxAbsDiff(out[`y${i}`]!, ref).maxAbs.toExponential(2)}`);
        expectClose(out[`y${i}`]!, ref, ATOL, RTOL, `layerNorm2d [${r.shape}] ${r.act}`);
      });
      p.destroy();
    });
  });
});
