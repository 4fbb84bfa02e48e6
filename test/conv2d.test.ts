import { describe, expect, it } from 'vitest';
import { conv2d, conv2dKernel } from '../src/ops/conv2d.js';
import { tileRows, type Activation } from '../src/ops/matmul.js';
import { describeKernelPaths, newPlan, rand, expectClose, type KernelChoice } from './helpers/gpu.js';
import { conv2dRef, rmsRef } from './helpers/reference.js';

// Tolerance: |gpu − ref| ≤ atol + rtol·|ref| with atol = 1e-5 · rms(ref) and rtol = 1e-4; data in [-1, 1].
const RTOL = 1e-4;
const ATOL_REL = 1e-5;

interface ConvCase {
  x: [number, number, number, number]; // N, C, H, W
  O: number;
  k: number;
  stride: number;
  pad: number;
  act?: Activation;
  bias?: boolean;
  residual?: boolean;
}

async function runConv(kernels: KernelChoice, cases: ConvCase[], expectKernel?: (c: ConvCase) => string): Promise<void> {
  const p = await newPlan('conv2d', { kernels });
  if (expectKernel) {
    for (const c of cases) {
      const [, C, H, W] = c.x;
      const NP = (Math.floor((H + 2 * c.pad - c.k) / c.stride) + 1) * (Math.floor((W + 2 * c.pad - c.k) / c.stride) + 1);
      expect(conv2dKernel(p, C, c.k, c.k, c.stride, c.pad, NP), `conv ${c.k}×${c.k} s${c.stride} [${c.x}]`).toBe(expectKernel(c));
    }
  }
  const data: Record<string, Float32Array> = {};
  const shapes: number[][] = [];
  cases.forEach((c, i) => {
    const [N, C, H, W] = c.x;
    const Ho = Math.floor((H + 2 * c.pad - c.k) / c.stride) + 1;
    const Wo = Math.floor((W + 2 * c.pad - c.k) / c.stride) + 1;
    const x = p.input(`x${i}`, c.x);
    const w = p.input(`w${i}`, [c.O, C, c.k, c.k]);
    const b = c.bias !== false ? p.input(`b${i}`, [c.O]) : null;
    const r = c.residual ? p.input(`r${i}`, [N, c.O, Ho, Wo]) : undefined;
    const y = conv2d(p, x, w, b, { stride: c.stride, pad: c.pad, act: c.act, residual: r, label: `conv${i}` });
    shapes.push([...y.shape]);
    p.output(`y${i}`, y);
    data[`x${i}`] = rand(N * C * H * W, 10 * i + 1);
    data[`w${i}`] = rand(c.O * C * c.k * c.k, 10 * i + 2);
    if (b) data[`b${i}`] = rand(c.O, 10 * i + 3);
    if (r) data[`r${i}`] = rand(N * c.O * Ho * Wo, 10 * i + 4);
  });
  await p.build();
  const out = await p.run(data);
  cases.forEach((c, i) => {
    const what = `conv ${c.k}×${c.k} s${c.stride} p${c.pad} [${c.x}] -> ${c.O} act=${c.act ?? 'none'} bias=${c.bias !== false} residual=${!!c.residual}`;
    const ref = conv2dRef(data[`x${i}`]!, data[`w${i}`]!, data[`b${i}`] ?? null, c.x, [c.O, c.k, c.k], c.stride, c.pad, c.act, data[`r${i}`] ?? null);
    if (shapes[i]!.join() !== ref.shape.join()) throw new Error(`${what}: shape [${shapes[i]}], expected [${ref.shape}]`);
    expectClose(out[`y${i}`]!, ref.y, ATOL_REL * rmsRef(ref.y), RTOL, what);
  });
  p.destroy();
}

// Every case runs on both kernel families, whatever the adapter: 'tiled' (conv2d.wgsl, the real-GPU
// kernel) and 'cpu' (what software adapters take: conv2d_im2col.wgsl + matmul_cpu.wgsl, with the
// weight rows zero-padded to a multiple of 4 first when C·kh·kw % 4 != 0; matmul_cpu.wgsl alone for
// a 1×1 stride-1 conv with C % 4 == 0 and H·W % 4 == 0).
describeKernelPaths('gemm', (path, kernels) => {
  describe('conv2d', () => {
    it("each of the model's kernel / stride / pad combinations on small odd shapes, batch 2", async () => {
      await runConv(kernels, [
        { x: [2, 3, 13, 11], O: 7, k: 7, stride: 2, pad: 3, act: 'relu' },
        { x: [2, 3, 37, 29], O: 9, k: 7, stride: 2, pad: 3 },
        { x: [2, 5, 13, 11], O: 7, k: 3, stride: 1, pad: 1, act: 'gelu' },
        { x: [2, 5, 13, 11], O: 9, k: 3, stride: 2, pad: 1, bias: false },
        { x: [2, 5, 13, 11], O: 7, k: 1, stride: 1, pad: 0 },
        { x: [2, 37, 13, 11], O: 70, k: 1, stride: 1, pad: 0, act: 'gelu' },
        { x: [2, 5, 13, 11], O: 9, k: 1, stride: 2, pad: 0, bias: false },
        { x: [2, 1, 13, 11], O: 4, k: 2, stride: 2, pad: 0, act: 'gelu' },
        { x: [2, 4, 13, 11], O: 16, k: 2, stride: 2, pad: 0 },
        { x: [2, 3, 50, 33], O: 9, k: 16, stride: 16, pad: 0 },
        { x: [2, 5, 13, 11], O: 70, k: 3, stride: 1, pad: 1, act: 'relu', residual: true },
      ]);
    });

    it('1×1 with residual + relu (ResNet block end), with and without bias', async () => {
      await runConv(kernels, [
        { x: [2, 5, 13, 11], O: 9, k: 1, stride: 1, pad: 0, act: 'relu', residual: true },
        { x: [2, 19, 9, 7], O: 67, k: 1, stride: 1, pad: 0, act: 'relu', residual: true, bias: false },
      ]);
    });

    it('model size: 64 -> 64, 3×3 p1 on 64×64 with bias, residual, relu', async () => {
      await runConv(kernels, [{ x: [1, 64, 64, 64], O: 64, k: 3, stride: 1, pad: 1, act: 'relu', residual: true }]);
    });

    it('64-row tiles (>= 256 tiles of 64×64): ResNet conv1 3 -> 64 7×7 s2 p3 on 256×256; 3×3 and 1×1 on 3×130×130 -> 70', async () => {
      expect([tileRows(64, 128 * 128, 1), tileRows(70, 130 * 130, 1)]).toEqual([64, 64]);
      await runConv(kernels, [
        { x: [1, 3, 256, 256], O: 64, k: 7, stride: 2, pad: 3, bias: false, act: 'relu' },
        { x: [1, 3, 130, 130], O: 70, k: 3, stride: 1, pad: 1, act: 'gelu', residual: true },
        { x: [1, 3, 130, 130], O: 70, k: 1, stride: 1, pad: 0, act: 'relu' },
      ]);
    });
  });

  it('C % 4 == 0 (the CPU 1×1 path and unpadded weights): 3×3 s1/s2, 1×1 s1 with H·W % 4 == 0 and != 0, 1×1 s2, 7×7 s2 p3, 16×16 s16, 2×2 s2; odd sizes, batch 2, every epilogue part', async () => {
    const cases: ConvCase[] = [
      { x: [2, 4, 13, 11], O: 7, k: 3, stride: 1, pad: 1, act: 'relu' },
      { x: [2, 8, 13, 11], O: 70, k: 3, stride: 2, pad: 1, act: 'gelu', bias: false },
      { x: [2, 4, 9, 7], O: 9, k: 3, stride: 1, pad: 1, act: 'relu', residual: true },
      { x: [2, 12, 12, 11], O: 131, k: 1, stride: 1, pad: 0, act: 'relu', residual: true },
      { x: [2, 12, 13, 11], O: 9, k: 1, stride: 1, pad: 0, act: 'gelu' },
      { x: [2, 8, 13, 11], O: 9, k: 1, stride: 2, pad: 0, bias: false },
      { x: [2, 4, 37, 29], O: 9, k: 7, stride: 2, pad: 3, act: 'relu' },
      { x: [2, 3, 50, 33], O: 9, k: 16, stride: 16, pad: 0 },
      { x: [2, 4, 13, 11], O: 16, k: 2, stride: 2, pad: 0, act: 'gelu' },
    ];
    await runConv(kernels, cases, (c) => (path === 'tiled' ? 'tiled' : c.k === 1 && c.stride === 1 && (c.x[2] * c.x[3]) % 4 === 0 ? 'cpu-1x1' : 'cpu-im2col'));
  });

  it('C·kh·kw % 4 != 0 (padded weight rows on the CPU path): 7×7 s2 p3 from 3 channels, 3×3 from 5, 1×1 from 7 and 9 (H·W % 4 == 0), batch 2', async () => {
    const cases: ConvCase[] = [
      { x: [2, 3, 21, 19], O: 9, k: 7, stride: 2, pad: 3, act: 'relu' },
      { x: [2, 5, 12, 11], O: 17, k: 3, stride: 1, pad: 1, residual: true, act: 'relu' },
      { x: [2, 7, 8, 6], O: 5, k: 1, stride: 1, pad: 0, act: 'gelu' },
      { x: [2, 9, 8, 6], O: 70, k: 1, stride: 1, pad: 0, bias: false },
    ];
    await runConv(kernels, cases, () => (path === 'tiled' ? 'tiled' : 'cpu-im2col'));
  });
});
