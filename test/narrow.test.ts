// narrow (torch.Tensor.narrow) against slicing on the CPU: every dim of an odd 3-D shape, and the
// bounds it refuses. Values move only: exact.
import { describe, expect, it } from 'vitest';
import { narrow } from '../src/ops/narrow.js';
import { expectClose, newPlan, rand } from './helpers/gpu.js';

describe('narrow', () => {
  it('slices along each dim exactly', async () => {
    const shape = [3, 5, 7];
    const cases: [number, number, number][] = [[0, 1, 2], [1, 1, 3], [-1, 4, 3], [2, 0, 7], [1, 4, 1]];
    const p = await newPlan('narrow');
    const x = p.input('x', shape);
    cases.forEach(([dim, start, len], i) => p.output(`y${i}`, narrow(p, x, dim, start, len)));
    expect(() => narrow(p, x, 1, 3, 3)).toThrow(/dim 1: \[3, 6\) is outside 0..5/);
    expect(() => narrow(p, x, 0, 0, 0)).toThrow(/outside/);
    await p.build();
    const xv = rand(3 * 5 * 7, 9);
    const out = await p.run({ x: xv });
    cases.forEach(([dim, start, len], i) => {
      const d = dim < 0 ? 3 + dim : dim;
      const ref: number[] = [];
      for (let a = 0; a < 3; a++) {
        for (let b = 0; b < 5; b++) {
          for (let c = 0; c < 7; c++) {
            const k = [a, b, c][d]!;
            if (k >= start && k < start + len) ref.push(xv[(a * 5 + b) * 7 + c]!);
          }
        }
      }
      expectClose(out[`y${i}`]!, ref, 0, 0, `narrow dim ${dim} [${start}, ${start + len})`);
    });
    p.destroy();
  });
});
