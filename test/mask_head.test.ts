// maskHead (the med-token product with embedding_maskfeature's last conv folded in) against the
// unfolded float64 computation upstream does: feat = conv3x3_p1(f; W3, b3) + msf, low = h · feat.
// Tolerance: atol 1e-5 · rms(ref), rtol 1e-4 (the GEMM tests' bound; the fold only reassociates sums).
import { describe, expect, it } from 'vitest';
import { maskHead } from '../src/ops/mask_head.js';
import { describeKernelPaths, expectClose, maxAbsDiff, newPlan, rand } from './helpers/gpu.js';
import { conv2dRef, rmsRef } from './helpers/reference.js';

function maskHeadRef(f: Float32Array, h: Float32Array, w3: Float32Array, b3: Float32Array, msf: Float32Array, [N, Cf, H, W]: number[], Ch: number): Float64Array {
  const HW = H * W;
  const { y: feat } = conv2dRef(f, w3, b3, [N, Cf, H, W], [Ch, 3, 3], 1, 1);
  const low = new Float64Array(N * HW);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < Ch; k++) {
      for (let i = 0; i < HW; i++) low[n * HW + i]! += h[n * Ch + k]! * (feat[(n * Ch + k) * HW + i]! + msf[k * HW + i]!);
    }
  }
  return low;
}

describe('maskHead', () => {
  // [N, Cf, H, W], Ch: the model's [N, 64, 64, 64] with Ch = 32 (N = 1 and 3), odd channel counts,
  // a single row and a single quad (every pixel on a border), a width of 4.
  const cases: [number[], number][] = [
    [[1, 64, 64, 64], 32],
    [[3, 64, 64, 64], 32],
    [[2, 5, 9, 12], 7],
    [[1, 3, 1, 4], 1],
    [[4, 1, 7, 8], 3],
  ];
  // The weff product on both GEMM paths.
  describeKernelPaths('gemm', (path, kernels) => {
    it('matches the unfolded conv + product', async () => {
      const p = await newPlan('mask_head', { kernels });
      const data = cases.map(([shape, Ch], i) => {
        const [N, Cf, H, W] = shape as [number, number, number, number];
        const t = {
          f: rand(N * Cf * H * W, 10 + i, -2, 2), h: rand(N * Ch, 20 + i, -1, 1), w3: rand(Ch * Cf * 9, 30 + i, -0.2, 0.2),
          b3: rand(Ch, 40 + i, -1, 1), msf: rand(Ch * H * W, 50 + i, -1, 1),
        };
        const inp = (k: keyof typeof t, s: number[]) => p.input(`${k}${i}`, s);
        p.output(`low${i}`, maskHead(p, inp('f', shape), inp('h', [N, Ch]), inp('w3', [Ch, Cf, 3, 3]), inp('b3', [Ch]), inp('msf', [1, Ch, H, W])));
        return t;
      });
      await p.build();
      const feeds: Record<string, Float32Array> = {};
      data.forEach((t, i) => Object.entries(t).forEach(([k, v]) => (feeds[`${k}${i}`] = v)));
      const out = await p.run(feeds);
      cases.forEach(([shape, Ch], i) => {
        const t = data[i]!;
        const ref = maskHeadRef(t.f, t.h, t.w3, t.b3, t.msf, shape, Ch);
        const got = out[`low${i}`]!;
        console.log(`[maskHead] [${shape}] Ch ${Ch} (${path}): max |diff| ${maxAbsDiff(got, ref).maxAbs.toExponential(2)}, rms(ref) ${rmsRef(ref).toFixed(2)}`);
        expectClose(got, ref, 1e-5 * rmsRef(ref), 1e-4, `maskHead [${shape}] Ch ${Ch}`);
      });
      p.destroy();
    });
  });

  it('rejects mismatched shapes and a width that is not a multiple of 4, naming them', async () => {
    const p = await newPlan();
    const f = p.input('f', [2, 5, 8, 8]);
    const h = p.input('h', [2, 3]);
    const w3 = p.input('w3', [3, 5, 3, 3]);
    const b3 = p.input('b3', [3]);
    const msf = p.input('msf', [1, 3, 8, 8]);
    expect(() => maskHead(p, f, p.input('h1', [1, 3]), w3, b3, msf)).toThrow(/h: 'h1' has shape \[1,3\], expected \[2,\?\]/);
    expect(() => maskHead(p, f, h, p.input('w4', [3, 4, 3, 3]), b3, msf)).toThrow(/conv weight/);
    expect(() => maskHead(p, f, h, w3, b3, p.input('m2', [1, 3, 8, 7]))).toThrow(/multi-scale feature/);
    expect(() => maskHead(p, p.input('f6', [2, 5, 8, 6]), h, w3, b3, p.input('m6', [1, 3, 8, 6]))).toThrow(/width 6 is not a multiple of 4/);
    p.destroy();
  });
});
