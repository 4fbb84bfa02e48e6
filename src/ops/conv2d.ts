// 2-D convolution, NCHW, as an implicit GEMM (shaders/conv2d.wgsl).
import { ceilDiv, type Plan } from '../gpu/plan.js';
import { expectShape, type Tensor } from '../gpu/tensor.js';
import { ACT_CODE, tileRows, type Activation } from './matmul.js';

const TILE = 64;

/**
 * y = act(conv(x, w) + b + residual), zero padding; the residual is added before the activation
 * (ResNet: relu(conv + b + shortcut)).
 * x [N, C, H, W], w [O, C, kh, kw], b [O] → y [N, O, Ho, Wo], Ho = floor((H + 2·pad − kh)/stride) + 1.
 */
export function conv2d(
  p: Plan,
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  opts: { stride?: number; pad?: number; act?: Activation; residual?: Tensor; label?: string } = {},
): Tensor {
  const label = opts.label ?? 'conv2d';
  const stride = opts.stride ?? 1;
  const pad = opts.pad ?? 0;
  expectShape(x, [-1, -1, -1, -1], `${label} input`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  expectShape(w, [-1, C, -1, -1], `${label} weight`);
  const [O, , kh, kw] = w.shape as [number, number, number, number];
  if (b) expectShape(b, [O], `${label} bias`);
  if (!Number.isInteger(stride) || stride < 1 || !Number.isInteger(pad) || pad < 0) throw new Error(`${label}: bad stride ${stride} / pad ${pad}`);
  const Ho = Math.floor((H + 2 * pad - kh) / stride) + 1;
  const Wo = Math.floor((W + 2 * pad - kw) / stride) + 1;
  if (Ho < 1 || Wo < 1) throw new Error(`${label}: kernel ${kh}×${kw} does not fit input ${H}×${W} with pad ${pad}`);
  const outShape = [N, O, Ho, Wo];
  if (opts.residual) expectShape(opts.residual, outShape, `${label} residual`);
  const y = p.temp(outShape, label);
  const pointwise = kh === 1 && kw === 1 && stride === 1 && pad === 0;
  const rows = tileRows(O, Ho * Wo, N);
  const gx = ceilDiv(Ho * Wo, TILE);
  const gy = ceilDiv(O, rows);
  if (gx > 65535 || gy > 65535 || N > 65535) throw new Error(`${label}: output [${outShape}] is too large for one dispatch`);
  p.dispatch({
    shader: 'conv2d',
    constants: { BIAS: b ? 1 : 0, ACT: ACT_CODE[opts.act ?? 'none'], RESIDUAL: opts.residual ? 1 : 0, POINTWISE: pointwise ? 1 : 0, ROWS: rows },
    // Disabled bias / residual bindings are filled with `x` (never read).
    inputs: [x, w, b ?? x, opts.residual ?? x],
    outputs: [y],
    params: [C, H, W, O, Wo, Ho * Wo, kh, kw, stride, pad, C * kh * kw, 0],
    groups: [gx, gy, N],
    label,
  });
  return y;
}
