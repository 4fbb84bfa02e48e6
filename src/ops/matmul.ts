// Linear layers and matmul on one register-tiled GEMM (shaders/matmul.wgsl), or on software
// adapters on the CPU-shaped GEMM (shaders/matmul_cpu.wgsl), which conv2d and convTranspose2x2 use too.
// A linear weight may be an f16 tensor (Tensor.dtype): the same kernels then read it through
// matmul_f16w.wgsl / matmul_cpu_f16w.wgsl, converting each value to f32 and accumulating in f32.
import { ceilDiv } from '../gpu/dispatch.js';
import type { Plan } from '../gpu/plan.js';
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

/**
 * Invocations along M in a workgroup of matmul_cpu.wgsl (its WY; the workgroup owns 8·WY rows and
 * 4·64/WY columns of C): 16, or fewer for M ≤ 64 so that no invocation only computes rows past M.
 */
export function cpuGemmWY(M: number): number {
  let wy = 1;
  while (wy < 16 && 8 * wy < M) wy *= 2;
  return wy;
}

/** What both GEMM kernels take: operands, output, sizes, batch strides, activation. */
export interface GemmOperands {
  a: Tensor;
  /** f32 values, or with bF16 an f16 tensor (packed binary16 words, indexed as its elements). */
  b: Tensor;
  /** b holds binary16 pairs (matmul_f16w.wgsl / matmul_cpu_f16w.wgsl); default false. */
  bF16?: boolean;
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
  act: Activation;
  label: string;
}

/**
 * One dispatch of shaders/matmul_cpu.wgsl (see its header): C = epilogue(A · B), A and B bound as
 * vec4 arrays. Alignment (the caller checks with cpuGemmFits): K % 4 == 0 for a row-major A or an
 * [N, K] B, M % 4 == 0 for a K-major A, N % 4 == 0 for a K-major B; batch strides multiples of 4.
 */
export interface CpuGemm extends GemmOperands {
  /** a stored [K, M] instead of [M, K]. */
  aKMajor: boolean;
  /** b stored [K, N] instead of [N, K]. */
  bKMajor: boolean;
  /** 1: bias[n], 2: bias[m], 3: bias[m / 4]. */
  biasMode: 0 | 1 | 2 | 3;
  /** 1: residual added after the activation, 2: before it. */
  residualMode: 0 | 1 | 2;
  /** 0: C [batch, M, N]; 1: the transposed-conv 2×2 scatter with input width W. */
  outMode: 0 | 1;
  W?: number;
}

/** Whether a GEMM of this shape and layout meets matmul_cpu.wgsl's vec4 alignment (and fits one dispatch). */
export function cpuGemmFits(M: number, N: number, K: number, aKMajor: boolean, bKMajor: boolean): boolean {
  return (aKMajor ? M % 4 === 0 : K % 4 === 0) && (bKMajor ? N % 4 === 0 : K % 4 === 0) &&
    ceilDiv(N, (4 * 64) / cpuGemmWY(M)) <= 65535 && ceilDiv(M, 8 * cpuGemmWY(M)) <= 65535;
}

export function cpuGemm(p: Plan, g: CpuGemm): void {
  if (!cpuGemmFits(g.M, g.N, g.K, g.aKMajor, g.bKMajor) || g.sA % 4 !== 0 || g.sB % 4 !== 0) {
    throw new Error(`${g.label}: GEMM [${g.batch}, ${g.M}, ${g.N}, ${g.K}] does not fit matmul_cpu's vec4 alignment`);
  }
  const wy = cpuGemmWY(g.M);
  const gx = ceilDiv(g.N, (4 * 64) / wy);
  const gy = ceilDiv(g.M, 8 * wy);
  if (gx > 65535 || gy > 65535 || g.batch > 65535) throw new Error(`${g.label}: GEMM [${g.batch}, ${g.M}, ${g.N}] is too large for one dispatch`);
  p.dispatch({
    shader: g.bF16 ? 'matmul_cpu_f16w' : 'matmul_cpu',
    constants: {
      A_KMAJOR: g.aKMajor ? 1 : 0, B_KMAJOR: g.bKMajor ? 1 : 0, BIAS: g.bias ? g.biasMode : 0, ACT: ACT_CODE[g.act],
      RESIDUAL: g.residual ? g.residualMode : 0, OUT: g.outMode, WY: wy,
    },
    // Disabled bias / residual bindings are filled with `a` (never read).
    inputs: [g.a, g.b, g.bias ?? g.a, g.residual ?? g.a],
    outputs: [g.out],
    params: { M: g.M, N: g.N, K: g.K, sA: g.sA, sB: g.sB, W: g.W ?? 0 },
    groups: [gx, gy, g.batch],
    label: g.label,
  });
}

/** A GEMM for gemm(): b is [batch, K, N], or [batch, N, K] with transB. */
export interface Gemm extends GemmOperands {
  transB: boolean;
}

/** The kernel linear / matmul record on `p` now for this GEMM: matmul_cpu.wgsl ('cpu') or matmul.wgsl ('tiled'). */
export function gemmKernel(p: Plan, M: number, N: number, K: number, transB: boolean): 'cpu' | 'tiled' {
  return p.kernels.gemm === 'cpu' && cpuGemmFits(M, N, K, false, !transB) ? 'cpu' : 'tiled';
}

/** One dispatch of the GEMM on the plan's gemm path (gemmKernel): C = epilogue(A · B), batched. */
export function gemm(p: Plan, g: Gemm): void {
  if (gemmKernel(p, g.M, g.N, g.K, g.transB) === 'cpu') {
    cpuGemm(p, {
      a: g.a, b: g.b, bF16: g.bF16, bias: g.bias, residual: g.residual, out: g.out, batch: g.batch, M: g.M, N: g.N, K: g.K,
      sA: g.sA, sB: g.sB, aKMajor: false, bKMajor: !g.transB, biasMode: 1, residualMode: 1, act: g.act, outMode: 0, label: g.label,
    });
    return;
  }
  const rows = tileRows(g.M, g.N, g.batch);
  const gx = ceilDiv(g.N, TILE);
  const gy = ceilDiv(g.M, rows);
  if (gx > 65535 || gy > 65535 || g.batch > 65535) throw new Error(`${g.label}: GEMM [${g.batch}, ${g.M}, ${g.N}] is too large for one dispatch`);
  p.dispatch({
    shader: g.bF16 ? 'matmul_f16w' : 'matmul',
    constants: { TRANS_B: g.transB ? 1 : 0, BIAS: g.bias ? 1 : 0, ACT: ACT_CODE[g.act], RESIDUAL: g.residual ? 1 : 0, ROWS: rows },
    // Disabled bias / residual bindings are filled with `a` (never read).
    inputs: [g.a, g.b, g.bias ?? g.a, g.residual ?? g.a],
    outputs: [g.out],
    params: { M: g.M, N: g.N, K: g.K, sA: g.sA, sB: g.sB },
    groups: [gx, gy, g.batch],
    label: g.label,
  });
}

/**
 * nn.Linear: y = act(x · wᵀ + b) (+ residual, added after the activation).
 * x [..., K], w [N, K] (an f32 or f16 tensor), b [N] → y [..., N].
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
  expectShape(w, [-1, K], `${label} weight`, ['f32', 'f16']);
  const N = w.dim(0);
  if (b) expectShape(b, [N], `${label} bias`);
  const outShape = [...x.shape.slice(0, -1), N];
  if (opts.residual) expectShape(opts.residual, outShape, `${label} residual`);
  const M = x.size / K;
  const y = p.temp(outShape, label);
  gemm(p, { a: x, b: w, bF16: w.dtype === 'f16', bias: b, residual: opts.residual ?? null, out: y, batch: 1, M, N, K, sA: 0, sB: 0, transB: true, act: opts.act ?? 'none', label });
  return y;
}

/** a [M, K] · b [K, N] (or b [N, K] with transB) → [M, N]. */
export function matmul(p: Plan, a: Tensor, b: Tensor, opts: { transB?: boolean; label?: string } = {}): Tensor {
  const label = opts.label ?? 'matmul';
  const transB = opts.transB ?? false;
  if (a.rank !== 2 || b.rank !== 2) throw new Error(`${label}: operands must both be rank 2; got [${a.shape}] and [${b.shape}]`);
  const [M, K] = a.shape as [number, number];
  const N = transB ? b.dim(0) : b.dim(1);
  expectShape(b, transB ? [N, K] : [K, N], `${label} b`);
  const y = p.temp([M, N], label);
  gemm(p, { a, b, bias: null, residual: null, out: y, batch: 1, M, N, K, sA: 0, sB: 0, transB, act: 'none', label });
  return y;
}
