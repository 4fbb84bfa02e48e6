// Softmax over the last dim against float64. Tolerance: atol 1e-6, rtol 1e-4 (outputs lie in [0, 1]).
import { describe, it } from 'vitest';
import { softmax } from '../src/ops/softmax.js';
import { expectClose, maxAbsDiff, newPlan, rand } from './helpers/gpu.js';
import { softmaxRef } from './helpers/reference.js';

describe('softmax', () => {
  // L = 7 (8 rows per workgroup), 196 (windowed attention), 256 (global attention), 4096 (16 values
  // per lane), 1 (all ones), and > 65535 workgroups (grid folded over y).
  const cases: number[][] = [[3, 5, 7], [2, 12, 196], [12, 256], [3, 4096], [5, 1], [600001, 3]];
  it('matches float64; large logits need the max subtracted', async () => {
    const p = await newPlan();
    const runs = cases.map((shape, i) => {
      const x = p.input(`x${i}`, shape);
      p.output(`y${i}`, softmax(p, x));
      const L = shape[shape.length - 1]!;
      const xv = rand(x.size, 70 + i, -15, 15);
      // One row far beyond exp's f32 range: exp(x) overflows unless the row max is subtracted.
      for (let c = 0; c < L; c++) xv[c] = xv[c]! + 1000;
      return { L, xv };
    });
    await p.build();
    const out = await p.run(Object.fromEntries(runs.map((r, i) => [`x${i}`, r.xv])));
    runs.forEach((r, i) => {
      const ref = softmaxRef(r.xv, r.L);
      console.log(`[softmax] [${cases[i]}] max |diff| ${maxAbsDiff(out[`y${i}`]!, ref).maxAbs.toExponential(2)}`);
      expectClose(out[`y${i}`]!, ref, 1e-6, 1e-4, `softmax [${cases[i]}]`);
    });
    p.destroy();
  });
});
