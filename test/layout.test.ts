// Permutations against a float64 reference. Layout ops move values only: every comparison is exact
// (atol 0, rtol 0).
import { describe, expect, it } from 'vitest';
import { permute, simplifyPermutation, transposeKernel } from '../src/ops/layout.js';
import { describeKernelPaths, expectClose, newPlan, rand } from './helpers/gpu.js';
import { permuteRef } from './helpers/reference.js';

describe('permute', () => {
  it('merges dims that stay adjacent and drops size-1 dims', () => {
    expect(simplifyPermutation([2, 5, 7, 3], [0, 2, 3, 1])).toEqual({ dims: [2, 5, 21], perm: [0, 2, 1] });
    expect(simplifyPermutation([1, 5, 21], [0, 2, 1])).toEqual({ dims: [5, 21], perm: [1, 0] });
    expect(simplifyPermutation([3, 4, 5], [0, 1, 2])).toEqual({ dims: [60], perm: [0] });
    expect(simplifyPermutation([1, 1], [1, 0])).toEqual({ dims: [1], perm: [0] });
    expect(simplifyPermutation([2, 1, 3, 4], [2, 1, 3, 0])).toEqual({ dims: [2, 12], perm: [1, 0] });
  });

  // [shape, perm]: NCHW ↔ NHWC, [N, C, HW] ↔ [N, HW, C] (tiled transpose, sizes not multiples of
  // 32), innermost dim kept (strided gather), a rank-6 shuffle, identity, size-1 dims.
  const cases: [number[], number[]][] = [
    [[2, 5, 7, 3], [0, 2, 3, 1]],
    [[2, 7, 3, 5], [0, 3, 1, 2]],
    [[1, 256, 64, 64], [0, 2, 3, 1]],
    [[1, 64, 64, 256], [0, 3, 1, 2]],
    [[2, 5, 21], [0, 2, 1]],
    [[2, 21, 5], [0, 2, 1]],
    [[2, 33, 65], [0, 2, 1]],
    [[3, 4, 5, 6], [2, 0, 1, 3]],
    [[2, 3, 1, 4, 5, 3], [5, 1, 3, 0, 4, 2]],
    [[2, 3, 4, 5, 3, 2], [1, 0, 4, 3, 5, 2]],
    [[3, 4, 5], [0, 1, 2]],
    [[1, 1, 1], [2, 0, 1]],
    [[40, 1, 70], [2, 1, 0]],
  ];
  // Both variants of the tiled transpose (innermost dim moves), whatever the adapter: 'tiled'
  // (workgroup-memory tiles, the real-GPU path) and 'cpu' (what software adapters take).
  describeKernelPaths('layout', (path, kernels) => {
    it('matches the reference exactly', async () => {
      const p = await newPlan('permute', { kernels });
      expect(transposeKernel(p)).toBe(path);
      const data = cases.map(([shape, perm], i) => {
        const x = p.input(`x${i}`, shape);
        const y = permute(p, x, perm);
        expect(y.shape).toEqual(perm.map((k) => shape[k]));
        p.output(`y${i}`, y);
        return rand(x.size, 110 + i, -100, 100);
      });
      // Round trip NCHW -> NHWC -> NCHW.
      const rt = p.input('rt', [2, 13, 9, 11]);
      p.output('rt', permute(p, permute(p, rt, [0, 2, 3, 1]), [0, 3, 1, 2]));
      const rtv = rand(rt.size, 130);
      await p.build();
      const out = await p.run({ ...Object.fromEntries(data.map((v, i) => [`x${i}`, v])), rt: rtv });
      cases.forEach(([shape, perm], i) => {
        expectClose(out[`y${i}`]!, permuteRef(data[i]!, shape, perm), 0, 0, `permute [${shape}] by [${perm}]`);
      });
      expectClose(out.rt!, rtv, 0, 0, 'NCHW -> NHWC -> NCHW');
      expect(() => permute(p, rt, [0, 1, 1, 3])).toThrow();
      p.destroy();
    });
  });
});
