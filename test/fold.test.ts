import { describe, expect, it } from 'vitest';
import { conv2d } from '../src/ops/conv2d.js';
import { foldBatchNorm } from '../src/weights/fold.js';
import { expectClose, newPlan, rand } from './helpers/gpu.js';
import { conv2dRef, rmsRef } from './helpers/reference.js';

const bnParams = (O: number, seed: number) => ({
  weight: rand(O, seed, 0.5, 1.5),
  bias: rand(O, seed + 1, -0.5, 0.5),
  mean: rand(O, seed + 2, -0.5, 0.5),
  var: rand(O, seed + 3, 0.05, 2),
});

describe('foldBatchNorm', () => {
  it('rounds the float64 fold once', () => {
    const O = 3;
    const w = rand(O * 4, 1);
    const bias = rand(O, 2);
    const bn = bnParams(O, 3);
    const eps = 1e-5;
    const f = foldBatchNorm(w, O, bias, bn, eps);
    for (let o = 0; o < O; o++) {
      const s = bn.weight[o]! / Math.sqrt(bn.var[o]! + eps);
      for (let i = 0; i < 4; i++) expect(f.w[o * 4 + i]).toBe(Math.fround(w[o * 4 + i]! * s));
      expect(f.b[o]).toBe(Math.fround((bias[o]! - bn.mean[o]!) * s + bn.bias[o]!));
    }
    expect(() => foldBatchNorm(w, 5, null, bn, eps)).toThrow();
  });

  // Tolerance: |gpu − ref| ≤ atol + rtol·|ref| with atol = 1e-5 · rms(ref) and rtol = 1e-4; data in [-1, 1].
  it('folded conv on the GPU matches conv then BatchNorm (eps 1e-5) in float64, with and without conv bias', async () => {
    const cases = [
      { x: [2, 5, 13, 11], O: 7, k: 3, stride: 1, pad: 1, bias: false },
      { x: [2, 3, 37, 29], O: 9, k: 7, stride: 2, pad: 3, bias: true },
      { x: [2, 5, 13, 11], O: 9, k: 1, stride: 2, pad: 0, bias: false },
    ];
    const eps = 1e-5;
    const p = await newPlan('fold');
    const data: Record<string, Float32Array> = {};
    const refs: Float64Array[] = [];
    cases.forEach((c, i) => {
      const [N, C, H, W] = c.x as [number, number, number, number];
      const xv = rand(N * C * H * W, 10 * i + 1);
      const wv = rand(c.O * C * c.k * c.k, 10 * i + 2);
      const bv = c.bias ? rand(c.O, 10 * i + 3) : null;
      const bn = bnParams(c.O, 10 * i + 4);
      // Reference: the conv in float64, then eval-mode BN per output channel.
      const conv = conv2dRef(xv, wv, bv, c.x, [c.O, c.k, c.k], c.stride, c.pad);
      const plane = conv.shape[2]! * conv.shape[3]!;
      refs.push(conv.y.map((v, j) => {
        const o = Math.floor(j / plane) % c.O;
        return ((v - bn.mean[o]!) / Math.sqrt(bn.var[o]! + eps)) * bn.weight[o]! + bn.bias[o]!;
      }));
      const f = foldBatchNorm(wv, c.O, bv, bn, eps);
      const x = p.input(`x${i}`, c.x);
      const w = p.input(`w${i}`, [c.O, C, c.k, c.k]);
      const b = p.input(`b${i}`, [c.O]);
      p.output(`y${i}`, conv2d(p, x, w, b, { stride: c.stride, pad: c.pad, label: `conv${i}` }));
      Object.assign(data, { [`x${i}`]: xv, [`w${i}`]: f.w, [`b${i}`]: f.b });
    });
    await p.build();
    const out = await p.run(data);
    cases.forEach((c, i) => {
      const ref = refs[i]!;
      expectClose(out[`y${i}`]!, ref, 1e-5 * rmsRef(ref), 1e-4, `conv ${c.k}×${c.k} + BN [${c.x}] -> ${c.O} bias=${c.bias}`);
    });
    p.destroy();
  });
});
