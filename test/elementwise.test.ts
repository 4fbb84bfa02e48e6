import { describe, it } from 'vitest';
import { add, addGelu, gelu, relu } from '../src/ops/elementwise.js';
import { expectClose, newPlan, rand } from './helpers/gpu.js';
import { geluRef } from './helpers/reference.js';

describe('elementwise', () => {
  it('add (same size and with broadcast), relu, gelu, gelu(a+b) on an odd size', async () => {
    const p = await newPlan();
    const n = 3 * 17 * 13;
    const a = p.input('a', [3, 17, 13]);
    const b = p.input('b', [17, 13]);
    p.output('add', add(p, a, b));
    p.output('addb', add(p, b, a));
    p.output('same', add(p, a, a));
    p.output('relu', relu(p, a));
    p.output('gelu', gelu(p, a));
    p.output('addGelu', addGelu(p, a, b));
    await p.build();
    const av = rand(n, 1, -6, 6);
    const bv = rand(17 * 13, 2, -2, 2);
    const out = await p.run({ a: av, b: bv });
    const refAdd = av.map((v, i) => v + bv[i % bv.length]!);
    expectClose(out.add!, refAdd, 0, 1e-7, 'add');
    expectClose(out.addb!, refAdd, 0, 1e-7, 'add (shorter first)');
    expectClose(out.same!, av.map((v) => 2 * v), 0, 0, 'add (same size)');
    expectClose(out.relu!, av.map((v) => Math.max(v, 0)), 0, 0, 'relu');
    expectClose(out.gelu!, Array.from(av, geluRef), 1e-6, 1e-6, 'gelu');
    expectClose(out.addGelu!, Array.from(refAdd, geluRef), 1e-6, 1e-6, 'gelu(a+b)');
    p.destroy();
  });
});
