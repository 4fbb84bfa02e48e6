// ConvTranspose2d with kernel 2 and stride 2, NCHW (shaders/conv_transpose2x2.wgsl); on software
// adapters the same GEMM on the CPU-shaped kernel (shaders/matmul_cpu.wgsl, its transposed-conv
// output mode).
import { ceilDiv } from '../gpu/dispatch.js';
import type { Plan } from '../gpu/plan.js';
import { commonDtype, kernelOf } from '../gpu/storage.js';
import { ANY, expectShape, type Tensor } from '../gpu/tensor.js';
import { ACT_CODE, cpuGemm, tileRows, type Activation } from './matmul.js';

const TILE = 64;

/**
 * The kernel convTranspose2x2 records on `p` now for an H×W input: 'cpu' (matmul_cpu.wgsl, which
 * reads x [C, H·W] as vec4 rows: H·W % 4 == 0; a channels-last x [H·W, C] with C given: C % 4 == 0)
 * or 'tiled' (conv_transpose2x2.wgsl, the real-GPU kernel).
 */
export function convTranspose2x2Kernel(p: Plan, H: number, W: number, channelsLastC?: number): 'cpu' | 'tiled' {
  const aligned = channelsLastC === undefined ? (H * W) % 4 === 0 : channelsLastC % 4 === 0;
  return p.kernels.gemm === 'cpu' && aligned ? 'cpu' : 'tiled';
}

/**
 * y = act(convTranspose2d(x, w, stride 2) + b).
 * x [N, C, H, W] (or channels-last [N, H, W, C] with layout 'nhwc'), w [C, O, 2, 2] (PyTorch
 * ConvTranspose2d layout), b [O] → y [N, O, 2H, 2W].
 */
export function convTranspose2x2(
  p: Plan,
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  opts: { act?: Activation; layout?: 'nchw' | 'nhwc'; label?: string } = {},
): Tensor {
  const label = opts.label ?? 'conv_transpose2x2';
  expectShape(x, [-1, -1, -1, -1], `${label} input`, ANY);
  const cl = opts.layout === 'nhwc';
  const [N, C, H, W] = (cl ? [x.dim(0), x.dim(3), x.dim(1), x.dim(2)] : x.shape) as [number, number, number, number];
  expectShape(w, [C, -1, 2, 2], `${label} weight`, ANY);
  const O = w.dim(1);
  if (b) expectShape(b, [O], `${label} bias`, ANY);
  const dt = commonDtype(label, x, w, b);
  const y = p.temp([N, O, 2 * H, 2 * W], label, dt);
  // Software adapters: A = w read as [K = C, M = 4·O] (K-major), B = x[b] [C, H·W] (K-major, needs
  // H·W % 4 == 0; channels-last: [H·W, C] row-major, needs C % 4 == 0), rows 4·o + t scattered to tap t.
  if (convTranspose2x2Kernel(p, H, W, cl ? C : undefined) === 'cpu') {
    cpuGemm(p, {
      a: w, b: x, bias: b, residual: null, out: y, batch: N, M: 4 * O, N: H * W, K: C, sA: 0, sB: C * H * W,
      aKMajor: true, bKMajor: !cl, biasMode: 3, residualMode: 0, act: opts.act ?? 'none', outMode: 1, W, label,
    });
    return y;
  }
  const rows = tileRows(4 * O, H * W, N);
  const gx = ceilDiv(H * W, TILE);
  const gy = ceilDiv(4 * O, rows);
  if (gx > 65535 || gy > 65535 || N > 65535) throw new Error(`${label}: output [${y.shape}] is too large for one dispatch`);
  p.dispatch({
    shader: kernelOf('conv_transpose2x2', dt),
    constants: { BIAS: b ? 1 : 0, ROWS: rows, CL: cl ? 1 : 0 },
    // Without bias its binding is filled with `x` (never read).
    inputs: [x, w, b ?? x],
    outputs: [y],
    params: { C, O, H, W, act: ACT_CODE[opts.act ?? 'none'] },
    groups: [gx, gy, N],
    label,
  });
  return y;
}
