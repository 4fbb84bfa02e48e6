// Linear layers and batched matmul on one register-tiled GEMM (shaders/matmul.wgsl).
import { ceilDiv, type Plan } from '../gpu/plan.js';
import { expectShape, type Tensor } from '../gpu/tensor.js';

export type Activation = 'none' | 'relu' | 'gelu';
export const ACT_CODE: Readonly<Record<Activation, number>> = { none: 0, relu: 1, gelu: 2 };

/** Columns of a GEMM tile; rows are 64 or 32 (see tileRows). */
const TILE = 64;

/**
 * Rows of the output tile of a workgroup (the kernels' ROWS override) for an M×N (×batch) output:
 * 64 × 64 tiles, unless there are fewer than 256 of them, when 32 × 64 tiles (half-size
 * workgroups, twice as many) fill a large GPU better. Measured on an H100 (Vulkan, Dawn): 1.2–1.5×
 * faster below 200 tiles (the model's M = 256 linears, ResNet and adapter convs, ConvTs), 2–10 %
 * slower from 256 tiles up.
 */
export function tileRows(M: number, N: number, batch = 1): 64 | 32 {
  return ceilDiv(M, 64) * ceilDiv(N, TILE) * batch < 256 ? 32 : 64;
}

interface Gemm {
  a: Tensor;
  b: Tensor;
  bias: Tensor | null;
  residual: Tensor | null;
  out: Tensor;
  batch: number;
  M: number;
  N: number;
  K: number;
  /** Batch strides of a and b in elements (0: shared). */
  sA: number;
  sB: number;
  transB: boolean;
  act: Activation;
  label: string;
}

function gemm(p: Plan, g: Gemm): void {
  const rows = tileRows(g.M, g.N, g.batch);
  const gx = ceilDiv(g.N, TILE);
  const gy = ceilDiv(g.M, rows);
  if (gx > 65535 || gy > 65535 || g.batch > 65535) throw new Error(`${g.label}: GEMM [${g.batch}, ${g.M}, ${g.N}] is too large for one dispatch`);
  p.dispatch({
    shader: 'matmul',
    constants: { TRANS_B: g.transB ? 1 : 0, BIAS: g.bias ? 1 : 0, ACT: ACT_CODE[g.act], RESIDUAL: g.residual ? 1 : 0, ROWS: rows },
    // Disabled bias / residual bindings are filled with `a` (never read).
    inputs: [g.a, g.b, g.bias ?? g.a, g.residual ?? g.a],
    outputs: [g.out],
    params: [g.M, g.N, g.K, g.sA, g.sB, 0, 0, 0],
    groups: [gx, gy, g.batch],
    label: g.label,
  });
}

/**
 * nn.Linear: y = act(x · wᵀ + b) (+ residual, added after the activation).
 * x [..., K], w [N, K], b [N] → y [..., N].
 */
export function linear(
  p: Plan,
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  opts: { act?: Activation; residual?: Tensor; label?: string } = {},
): Tensor {
  const label = opts.label ?? 'linear';
  const K = x.dim(-1);
  expectShape(w, [-1, K], `${label} weight`);
  const N = w.dim(0);
  if (b) expectShape(b, [N], `${label} bias`);
  const outShape = [...x.shape.slice(0, -1), N];
  if (opts.residual) expectShape(opts.residual, outShape, `${label} residual`);
  const M = x.size / K;
  const y = p.temp(outShape, label);
  gemm(p, { a: x, b: w, bias: b, residual: opts.residual ?? null, out: y, batch: 1, M, N, K, sA: 0, sB: 0, transB: true, act: opts.act ?? 'none', label });
  return y;
}

/**
 * Batched matmul: a [B, M, K] · b [B, K, N] (or b [B, N, K] with transB) → [B, M, N].
 * Rank-2 operands mean B = 1 and give [M, N].
 */
export function matmul(p: Plan, a: Tensor, b: Tensor, opts: { transB?: boolean; label?: string } = {}): Tensor {
  const label = opts.label ?? 'matmul';
  const transB = opts.transB ?? false;
  if (a.rank !== b.rank || (a.rank !== 2 && a.rank !== 3)) {
    throw new Error(`${label}: operands must both be [M, K] or [B, M, K]; got [${a.shape}] and [${b.shape}]`);
  }
  const batch = a.rank === 3 ? a.dim(0) : 1;
  const [M, K] = [a.dim(-2), a.dim(-1)];
  const N = transB ? b.dim(-2) : b.dim(-1);
  const bShape = transB ? [N, K] : [K, N];
  expectShape(b, a.rank === 3 ? [batch, ...bShape] : bShape, `${label} b`);
  const y = p.temp(a.rank === 3 ? [batch, M, N] : [M, N], label);
  gemm(p, { a, b, bias: null, residual: null, out: y, batch, M, N, K, sA: M * K, sB: K * N, transB, act: 'none', label });
  return y;
}
