// The WGSL erf / GELU (shaders/_erf.wgsl) against float64 erf on a dense sweep of x in [-10, 10]:
// |erf error| < 1e-6 and |GELU error| < 1e-6·max(1, |x|). Taken through linear()'s GELU epilogue,
// the way the model uses it: x [n, 4] rows (x, 0, 0, 0) times the weight row (1, 0, 0, 0) give x
// exactly, on both GEMM kernels.
import { expect, it } from 'vitest';
import { linear } from '../src/ops/matmul.js';
import { describeKernelPaths, newPlan } from './helpers/gpu.js';
import { erfRef, geluRef } from './helpers/reference.js';

describeKernelPaths('gemm', (path, kernels) => {
  it('erf / GELU is within 1e-6 of float64 over x in [-10, 10]', async () => {
    const n = 200001;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = -10 + (20 * i) / (n - 1);
    const rows = new Float32Array(4 * n);
    for (let i = 0; i < n; i++) rows[4 * i] = x[i]!;
    const p = await newPlan('gelu', { kernels });
    p.output('y', linear(p, p.input('x', [n, 4]), p.input('w', [1, 4]), null, { act: 'gelu' }));
    await p.build();
    const y = (await p.run({ x: rows, w: Float32Array.of(1, 0, 0, 0) })).y!;
    let maxErf = 0;
    let maxErfAt = 0;
    let maxGelu = 0;
    let maxGeluAt = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[i]!; // the float32 value the GPU saw
      const g = y[i]!;
      const eg = Math.abs(g - geluRef(xi)) / Math.max(1, Math.abs(xi));
      if (!(eg <= maxGelu)) [maxGelu, maxGeluAt] = [eg, xi];
      // The erf the kernel used, recovered from gelu = x/2·(1 + erf(x/√2)) (x = 0 carries none).
      if (xi !== 0) {
        const ee = Math.abs((2 * g) / xi - 1 - erfRef(xi / Math.SQRT2));
        if (!(ee <= maxErf)) [maxErf, maxErfAt] = [ee, xi];
      }
    }
    console.log(`[gelu ${path}] max |erf err| ${maxErf.toExponential(2)} at x=${maxErfAt}; max |gelu err|/max(1,|x|) ${maxGelu.toExponential(2)} at x=${maxGeluAt}`);
    expect(maxErf).toBeLessThan(1e-6);
    expect(maxGelu).toBeLessThan(1e-6);
    p.destroy();
  });
});
