// ConvTranspose2d with kernel 2 and stride 2, NCHW (shaders/conv_transpose2x2.wgsl).
import { ceilDiv, type Plan } from '../gpu/plan.js';
import { expectShape, type Tensor } from '../gpu/tensor.js';
import { ACT_CODE, tileRows, type Activation } from './matmul.js';

const TILE = 64;

/**
 * y = act(convTranspose2d(x, w, stride 2) + b).
 * x [N, C, H, W], w [C, O, 2, 2] (PyTorch ConvTranspose2d layout), b [O] → y [N, O, 2H, 2W].
 */
export function convTranspose2x2(
  p: Plan,
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  opts: { act?: Activation; label?: string } = {},
): Tensor {
  const label = opts.label ?? 'conv_transpose2x2';
  expectShape(x, [-1, -1, -1, -1], `${label} input`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  expectShape(w, [C, -1, 2, 2], `${label} weight`);
  const O = w.dim(1);
  if (b) expectShape(b, [O], `${label} bias`);
  const y = p.temp([N, O, 2 * H, 2 * W], label);
  const rows = tileRows(4 * O, H * W, N);
  const gx = ceilDiv(H * W, TILE);
  const gy = ceilDiv(4 * O, rows);
  if (gx > 65535 || gy > 65535 || N > 65535) throw new Error(`${label}: output [${y.shape}] is too large for one dispatch`);
  p.dispatch({
    shader: 'conv_transpose2x2',
    constants: { BIAS: b ? 1 : 0, ACT: ACT_CODE[opts.act ?? 'none'], ROWS: rows },
    // Without bias its binding is filled with `x` (never read).
    inputs: [x, w, b ?? x],
    outputs: [y],
    params: [C, O, H, W],
    groups: [gx, gy, N],
    label,
  });
  return y;
}
