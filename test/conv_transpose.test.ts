import { describe, expect, it } from 'vitest';
import { convTranspose2x2, convTranspose2x2Kernel } from '../src/ops/conv_transpose.js';
import { tileRows, type Activation } from '../src/ops/matmul.js';
import { describeKernelPaths, newPlan, rand, expectClose, type KernelChoice } from './helpers/gpu.js';
import { convTranspose2x2Ref, rmsRef } from './helpers/reference.js';

// Tolerance: |gpu − ref| ≤ atol + rtol·|ref| with atol = 1e-5 · rms(ref) and rtol = 1e-4; data in [-1, 1].
const RTOL = 1e-4;
const ATOL_REL = 1e-5;

interface Case {
  x: [number, number, number, number];
  O: number;
  act?: Activation;
  bias?: boolean;
}

async function runConvT(kernels: KernelChoice, cases: Case[], expectKernel?: 'cpu' | 'tiled'): Promise<void> {
  const p = await newPlan('conv_transpose', { kernels });
  if (expectKernel) for (const c of cases) expect(convTranspose2x2Kernel(p, c.x[2], c.x[3]), `[${c.x}]`).toBe(expectKernel);
  const data: Record<string, Float32Array> = {};
  cases.forEach((c, i) => {
    const [N, C, H, W] = c.x;
    const x = p.input(`x${i}`, c.x);
    const w = p.input(`w${i}`, [C, c.O, 2, 2]);
    const b = c.bias !== false ? p.input(`b${i}`, [c.O]) : null;
    const y = convTranspose2x2(p, x, w, b, { act: c.act, label: `convT${i}` });
    if (y.shape.join() !== [N, c.O, 2 * H, 2 * W].join()) throw new Error(`convT${i}: shape [${y.shape}]`);
    p.output(`y${i}`, y);
    data[`x${i}`] = rand(N * C * H * W, 10 * i + 1);
    data[`w${i}`] = rand(C * c.O * 4, 10 * i + 2);
    if (b) data[`b${i}`] = rand(c.O, 10 * i + 3);
  });
  await p.build();
  const out = await p.run(data);
  cases.forEach((c, i) => {
    const ref = convTranspose2x2Ref(data[`x${i}`]!, data[`w${i}`]!, data[`b${i}`] ?? null, c.x, c.O, c.act);
    expectClose(out[`y${i}`]!, ref, ATOL_REL * rmsRef(ref), RTOL, `convT [${c.x}] -> ${c.O} act=${c.act ?? 'none'} bias=${c.bias !== false}`);
  });
  p.destroy();
}

// Every case runs on both kernel families, whatever the adapter: 'tiled' (conv_transpose2x2.wgsl,
// the real-GPU kernel) and 'cpu' (matmul_cpu.wgsl, what software adapters take; H·W % 4 != 0 falls
// back to conv_transpose2x2.wgsl).
describeKernelPaths('gemm', (path, kernels) => {
  describe('convTranspose2x2', () => {
    it('C=5 O=3 H=7 W=9 batch 2 (plain, gelu, no bias), tiles crossed in C, O and pixels, a bridge-like size, 32- and 64-row tiles', async () => {
      const cases: Case[] = [
        { x: [2, 5, 7, 9], O: 3 },
        { x: [2, 5, 7, 9], O: 3, act: 'gelu' },
        { x: [2, 5, 7, 9], O: 3, act: 'relu', bias: false },
        { x: [2, 37, 9, 11], O: 19, act: 'gelu' },
        // adapters_bridge first layer, reduced: 768 -> 256 on 16×16 is 1/4 of this in C.
        { x: [1, 192, 16, 16], O: 256 },
        // >= 256 tiles of 64×64: 64-row tiles
        { x: [1, 3, 100, 70], O: 65, act: 'relu' },
      ];
      expect(cases.map((c) => tileRows(4 * c.O, c.x[2] * c.x[3], c.x[0]))).toEqual([32, 32, 32, 32, 32, 64]);
      await runConvT(kernels, cases);
    });
  });

  it('H·W % 4 == 0 (what the CPU kernel takes): odd C and O, batch 2, every epilogue, a bridge-like size, several row and column tiles', async () => {
    await runConvT(
      kernels,
      [
        { x: [2, 5, 8, 7], O: 3 },
        { x: [2, 5, 6, 2], O: 3, act: 'gelu' },
        { x: [2, 37, 4, 9], O: 19, act: 'relu', bias: false },
        { x: [1, 192, 16, 16], O: 65, act: 'gelu' },
        { x: [1, 3, 20, 30], O: 40, act: 'relu' },
      ],
      path,
    );
  });
});
