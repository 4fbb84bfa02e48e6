import { describe, it } from 'vitest';
import { attention } from '../src/ops/attention.js';
import { expectClose, newPlan, rand } from './helpers/gpu.js';
import { mhaRef } from './helpers/reference.js';

// GPU fp32 against the float64 reference: every element within atol + rtol·|ref|.
const ATOL = 2e-5;
const RTOL = 1e-4;

interface Case {
  B: number;
  Tq: number;
  Tk: number;
  heads: number;
  d: number;
  bias: boolean;
  /** Bias rising along the keys (later keys keep raising the running max). */
  ramp?: boolean;
}

const cases: Case[] = [];
for (const Tq of [1, 7, 256])
  for (const Tk of [5, 256])
    for (const d of [16, 32])
      for (const bias of [false, true]) cases.push({ B: 2, Tq, Tk, heads: 8, d, bias });
// Head dims of the image encoder and an odd one, more batch, a ramped bias.
cases.push({ B: 3, Tq: 12, Tk: 256, heads: 2, d: 64, bias: false });
cases.push({ B: 1, Tq: 70, Tk: 33, heads: 3, d: 8, bias: true });
cases.push({ B: 2, Tq: 5, Tk: 200, heads: 4, d: 24, bias: true, ramp: true });

const name = (c: Case) => `B${c.B} Tq${c.Tq} Tk${c.Tk} h${c.heads} d${c.d}${c.bias ? (c.ramp ? ' ramp-bias' : ' bias') : ''}`;

describe('attention', () => {
  it(`matches softmax(q kᵀ/sqrt(d) + bias) v on ${cases.length} shapes (atol ${ATOL}, rtol ${RTOL})`, async () => {
    const p = await newPlan();
    const data = cases.map((c, n) => {
      const C = c.heads * c.d;
      const q = rand(c.B * c.Tq * C, 100 + n, -3, 3);
      const k = rand(c.B * c.Tk * C, 200 + n, -1.5, 1.5);
      const v = rand(c.B * c.Tk * C, 300 + n, -2, 2);
      let bias: Float32Array | undefined;
      if (c.bias) {
        bias = rand(c.B * c.heads * c.Tq * c.Tk, 400 + n, -1, 1);
        if (c.ramp) for (let i = 0; i < bias.length; i++) bias[i] = bias[i]! + 0.15 * (i % c.Tk);
      }
      const qt = p.input(`q${n}`, [c.B, c.Tq, C]);
      const kt = p.input(`k${n}`, [c.B, c.Tk, C]);
      const vt = p.input(`v${n}`, [c.B, c.Tk, C]);
      const bt = bias ? p.input(`b${n}`, [c.B, c.heads, c.Tq, c.Tk]) : undefined;
      p.output(`o${n}`, attention(p, qt, kt, vt, { heads: c.heads, bias: bt, label: name(c) }));
      const inputs: Record<string, Float32Array> = { [`q${n}`]: q, [`k${n}`]: k, [`v${n}`]: v };
      if (bias) inputs[`b${n}`] = bias;
      return { inputs, ref: mhaRef(q, k, v, [c.B, c.Tq, c.Tk, C], c.heads, bias) };
    });
    await p.build();
    const out = await p.run(Object.assign({}, ...data.map((x) => x.inputs)));
    cases.forEach((c, n) => expectClose(out[`o${n}`]!, data[n]!.ref, ATOL, RTOL, name(c)));
    p.destroy();
  });
});
