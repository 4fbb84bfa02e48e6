// The WGSL erf / GELU (shaders/_erf.wgsl, through the elementwise gelu op) against float64 erf on a
// dense sweep of x in [-10, 10]: |erf error| < 1e-6 and |GELU error| < 1e-6·max(1, |x|).
import { describe, expect, it } from 'vitest';
import { gelu } from '../src/ops/elementwise.js';
import { newPlan } from './helpers/gpu.js';
import { erfRef, geluRef } from './helpers/reference.js';

describe('erf / GELU approximation', () => {
  it('is within 1e-6 of float64 over x in [-10, 10]', async () => {
    const n = 200001;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = -10 + (20 * i) / (n - 1);
    const p = await newPlan();
    p.output('y', gelu(p, p.input('x', [n])));
    await p.build();
    const y = (await p.run({ x })).y!;
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
    console.log(`[gelu] max |erf err| ${maxErf.toExponential(2)} at x=${maxErfAt}; max |gelu err|/max(1,|x|) ${maxGelu.toExponential(2)} at x=${maxGeluAt}`);
    expect(maxErf).toBeLessThan(1e-6);
    expect(maxGelu).toBeLessThan(1e-6);
    p.destroy();
  });
});
