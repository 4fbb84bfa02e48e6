import { describe, it } from 'vitest';
import { maxPool3x3s2 } from '../src/ops/maxpool.js';
import { expectClose, newPlan, rand } from './helpers/gpu.js';
import { maxPool3x3s2Ref } from './helpers/reference.js';

// A max is exact: tolerance 0 (atol 0, rtol 0).
describe('maxPool3x3s2', () => {
  it('odd and even sizes, 1×1 and 2×2 inputs, all-negative data (padding never wins)', async () => {
    const shapes: [number, number, number, number][] = [
      [2, 3, 13, 11],
      [2, 3, 12, 10],
      [1, 5, 1, 1],
      [1, 2, 2, 2],
      [1, 2, 3, 4],
      [1, 7, 32, 32],
    ];
    const p = await newPlan('maxpool');
    const data: Record<string, Float32Array> = {};
    shapes.forEach((s, i) => {
      const x = p.input(`x${i}`, s);
      p.output(`y${i}`, maxPool3x3s2(p, x, `maxpool${i}`));
      // Case 3 and 4 are all negative: a zero from padding would win if it were counted.
      data[`x${i}`] = rand(s.reduce((a, b) => a * b, 1), i + 1, i === 3 || i === 4 ? -2 : -1, i === 3 || i === 4 ? -0.5 : 1);
    });
    await p.build();
    const out = await p.run(data);
    shapes.forEach((s, i) => {
      const ref = maxPool3x3s2Ref(data[`x${i}`]!, s);
      const shape = p.outputTensor(`y${i}`).shape;
      if (shape.join() !== ref.shape.join()) throw new Error(`maxpool [${s}]: shape [${shape}], expected [${ref.shape}]`);
      expectClose(out[`y${i}`]!, ref.y, 0, 0, `maxpool [${s}]`);
    });
    p.destroy();
  });
});
