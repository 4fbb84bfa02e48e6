import { describe, expect, it } from 'vitest';
import { add } from '../src/ops/elementwise.js';
import { expectClose, newPlan, rand } from './helpers/gpu.js';

describe('add', () => {
  it('same size, with the shorter operand repeating (either side), and expanded to a larger shape, on an odd size', async () => {
    const p = await newPlan();
    const n = 3 * 17 * 13;
    const a = p.input('a', [3, 17, 13]);
    const b = p.input('b', [17, 13]);
    p.output('add', add(p, a, b));
    p.output('addb', add(p, b, a));
    p.output('same', add(p, a, a));
    p.output('expand', add(p, b, b, 'expand', [2, 3, 17, 13]));
    expect(() => add(p, a, p.input('c', [5]))).toThrow(/do not broadcast/);
    await p.build();
    const av = rand(n, 1, -6, 6);
    const bv = rand(17 * 13, 2, -2, 2);
    const out = await p.run({ a: av, b: bv, c: new Float32Array(5) });
    const refAdd = av.map((v, i) => v + bv[i % bv.length]!);
    expectClose(out.add!, refAdd, 0, 1e-7, 'add');
    expectClose(out.addb!, refAdd, 0, 1e-7, 'add (shorter first)');
    expectClose(out.same!, av.map((v) => 2 * v), 0, 0, 'add (same size)');
    expectClose(out.expand!, Float32Array.from({ length: 6 * bv.length }, (_, i) => 2 * bv[i % bv.length]!), 0, 0, 'add (expanded)');
    p.destroy();
  });
});
