// Linear layers and matmul on one register-tiled GEMM (shaders/matmul.wgsl), or on software
// adapters on the CPU-shaped GEMM (shaders/matmul_cpu.wgsl), which conv2d and convTranspose2x2 use too.
// Operands are f32, or all f16 (precision 'f16-compute': the kernels' f16 twins, sums in f32). An f16
// weight of f32 activations (precision 'f16') is read through matmul_f16w.wgsl / matmul_cpu_f16w.wgsl,
// converting each value to f32 and accumulating in f32.
import { ceilDiv, grid } from '../gpu/dispatch.js';
import type { Plan } from '../gpu/plan.js';
import { commonDtype, kernelOf } from '../gpu/storage.js';
import { ANY, expectShape, type DType, type Tensor } from '../gpu/tensor.js';

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

/** Output tiles below which a GEMM on the tiled path is split along K (split-K, PlanOptions.tuning). */
export const SPLIT_K_TILES = 256;

/**
 * Chunks of K a tiled GEMM [batch, M, N, K] is split into when its tiles are fewer than
 * SPLIT_K_TILES: enough to reach about that many workgroups, with at least 256 k per chunk (a
 * chunk also pays for reading and writing a partial tile); 1 means no split. The ViT's M = 256
 * proj and lin2 (96 tiles) take 3; qkv (288) and lin1 (384) none.
 */
export function splitKFactor(M: number, N: number, K: number, batch = 1): number {
  const tiles = ceilDiv(M, tileRows(M, N, batch)) * ceilDiv(N, TILE) * batch;
  if (tiles >= SPLIT_K_TILES) return 1;
  return Math.max(1, Math.min(ceilDiv(SPLIT_K_TILES, tiles), Math.floor(K / 256)));
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
  /** a, bias, residual and out share one dtype; b has it too, or is f16 for f32 activations. */
  a: Tensor;
  b: Tensor;
  bias: Tensor | null;
  residual: Tensor | null;
  /** Added to row-major `a` for the output columns n < plusN (a query / key PE): [rows, K], row m takes row m % rows. */
  plus?: { t: Tensor; cols: number } | null;
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

/**
 * The dtype a GEMM computes in (a, bias, residual and out share it) and whether b is an f16 weight of
 * f32 activations (read by the *_f16w kernels); any other mix is an Error naming the operands.
 */
function gemmDtypes(g: GemmOperands & { kMajorB: boolean }): { dt: DType; packedB: 'f16w' | 'q8w' | null } {
  const dt = commonDtype(g.label, g.a, g.bias, g.residual, g.plus?.t, g.out);
  const packedB = dt === 'f32' && g.b.dtype === 'f16' ? 'f16w' : dt === 'f32' && g.b.dtype === 'q8' ? 'q8w' : null;
  if (!packedB) commonDtype(g.label, g.a, g.b);
  // q8 blocks run along K: B must be [N, K] with whole blocks per row (an nn.Linear weight).
  if (packedB === 'q8w' && (g.K % 32 !== 0 || g.sB % 32 !== 0 || !g.kMajorB)) {
    throw new Error(`${g.label}: a q8 weight needs B as [N, K] with K and its batch stride multiples of 32 (K = ${g.K}, sB = ${g.sB})`);
  }
  return { dt, packedB };
}


/**
 * The PLUS constant and params of both kernels: A2 = plus.t ([rows, K], its rows repeating over M)
 * for the columns below plus.cols, or none. plus.cols must be a multiple of 64 (the tiled kernel's
 * tile width, so that a plan records the same on either path) unless it covers every column.
 */
function plusOperand(g: GemmOperands): { PLUS: number; A2: Tensor; plusN: number; plusRows: number } {
  const tile = TILE;
  const pl = g.plus;
  if (!pl || pl.cols <= 0) return { PLUS: 0, A2: g.a, plusN: 0, plusRows: 1 };
  const rows = pl.t.size / g.K;
  if (!Number.isInteger(rows) || g.M % rows !== 0) throw new Error(`${g.label}: plus '${pl.t.label}' [${pl.t.shape}] is not rows of K = ${g.K} repeating over M = ${g.M}`);
  if (pl.cols < g.N && pl.cols % tile !== 0) throw new Error(`${g.label}: plus columns ${pl.cols} are not a multiple of ${tile}`);
  return { PLUS: 1, A2: pl.t, plusN: pl.cols, plusRows: rows };
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
  const { dt, packedB } = gemmDtypes({ ...g, kMajorB: !g.bKMajor });
  if (g.plus && g.aKMajor) throw new Error(`${g.label}: plus needs a row-major A`);
  const { PLUS, A2, plusN, plusRows } = plusOperand(g);
  p.dispatch({
    shader: packedB === 'q8w' ? 'matmul_cpu_q8w' : packedB ? 'matmul_cpu_f16w' : kernelOf('matmul_cpu', dt),
    constants: {
      A_KMAJOR: g.aKMajor ? 1 : 0, B_KMAJOR: g.bKMajor ? 1 : 0, BIAS: g.bias ? g.biasMode : 0, ACT: ACT_CODE[g.act],
      RESIDUAL: g.residual ? g.residualMode : 0, OUT: g.outMode, WY: wy, PLUS,
    },
    // Disabled bias / residual / plus bindings are filled with `a` (never read).
    inputs: [g.a, g.b, g.bias ?? g.a, g.residual ?? g.a, A2],
    outputs: [g.out],
    params: { M: g.M, N: g.N, K: g.K, sA: g.sA, sB: g.sB, W: g.W ?? 0, plusN, plusRows },
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
      a: g.a, b: g.b, bias: g.bias, residual: g.residual, plus: g.plus, out: g.out, batch: g.batch, M: g.M, N: g.N, K: g.K,
      sA: g.sA, sB: g.sB, aKMajor: false, bKMajor: !g.transB, biasMode: 1, residualMode: 1, act: g.act, outMode: 0, label: g.label,
    });
    return;
  }
  const rows = tileRows(g.M, g.N, g.batch);
  const gx = ceilDiv(g.N, TILE);
  const gy = ceilDiv(g.M, rows);
  if (gx > 65535 || gy > 65535 || g.batch > 65535) throw new Error(`${g.label}: GEMM [${g.batch}, ${g.M}, ${g.N}] is too large for one dispatch`);
  const { dt, packedB } = gemmDtypes({ ...g, kMajorB: g.transB });
  const { PLUS, A2, plusN, plusRows } = plusOperand(g);
  const S = p.tuning.splitK ? splitKFactor(g.M, g.N, g.K, g.batch) : 1;
  if (S > 1 && g.batch * S <= 65535) {
    // Split-K: S partial products over K chunks (f32), then their sum and the epilogue.
    const kChunk = ceilDiv(ceilDiv(g.K, S), 16) * 16;
    const splits = ceilDiv(g.K, kChunk);
    const partial = p.temp([splits, g.batch, g.M, g.N], `${g.label}.partial`);
    p.dispatch({
      shader: packedB === 'q8w' ? 'matmul_splitk_q8w' : packedB ? 'matmul_splitk_f16w' : kernelOf('matmul_splitk', dt),
      constants: { TRANS_B: g.transB ? 1 : 0, ROWS: rows, PLUS },
      inputs: [g.a, g.b, A2],
      outputs: [partial],
      params: { M: g.M, N: g.N, K: g.K, sA: g.sA, sB: g.sB, plusN, plusRows, kChunk, S: splits, batch: g.batch },
      groups: [gx, gy, g.batch * splits],
      label: `${g.label}.splitk`,
    });
    const n = g.batch * g.M * g.N;
    p.dispatch({
      shader: kernelOf('matmul_splitk_reduce', dt),
      constants: { BIAS: g.bias ? 1 : 0, ACT: ACT_CODE[g.act], RESIDUAL: g.residual ? 1 : 0 },
      inputs: [partial, g.bias ?? g.a, g.residual ?? g.a],
      outputs: [g.out],
      params: { n, N: g.N, S: splits },
      groups: grid(ceilDiv(n, 256)),
      label: g.label,
    });
    return;
  }
  p.dispatch({
    shader: packedB === 'q8w' ? 'matmul_q8w' : packedB ? 'matmul_f16w' : kernelOf('matmul', dt),
    constants: { TRANS_B: g.transB ? 1 : 0, BIAS: g.bias ? 1 : 0, ACT: ACT_CODE[g.act], RESIDUAL: g.residual ? 1 : 0, ROWS: rows, PLUS },
    // Disabled bias / residual / plus bindings are filled with `a` (never read).
    inputs: [g.a, g.b, g.bias ?? g.a, g.residual ?? g.a, A2],
    outputs: [g.out],
    params: { M: g.M, N: g.N, K: g.K, sA: g.sA, sB: g.sB, plusN, plusRows },
    groups: [gx, gy, g.batch],
    label: g.label,
  });
}

/**
 * nn.Linear: y = act(x · wᵀ + b) (+ residual, added after the activation).
 * x [..., K], w [N, K], b [N] → y [..., N], in x's dtype; w has it too, or is f16 for f32 x.
 * `plus`: the output columns below plus.cols read x + plus.t instead (plus.t: rows of K repeating
 * over x's rows; cols a multiple of 64 unless ≥ N): stacked projections of which some take a PE.
 */
export function linear(
  p: Plan,
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  opts: { act?: Activation; residual?: Tensor; plus?: { t: Tensor; cols: number }; label?: string } = {},
): Tensor {
  const label = opts.label ?? 'linear';
  const K = x.dim(-1);
  expectShape(w, [-1, K], `${label} weight`, [...ANY, 'q8']);
  const N = w.dim(0);
  if (b) expectShape(b, [N], `${label} bias`, ANY);
  const outShape = [...x.shape.slice(0, -1), N];
  if (opts.residual) expectShape(opts.residual, outShape, `${label} residual`, ANY);
  const M = x.size / K;
  const y = p.temp(outShape, label, x.dtype);
  gemm(p, { a: x, b: w, bias: b, residual: opts.residual ?? null, plus: opts.plus, out: y, batch: 1, M, N, K, sA: 0, sB: 0, transB: true, act: opts.act ?? 'none', label });
  return y;
}

/** a [M, K] · b [K, N] (or b [N, K] with transB) → [M, N]. */
export function matmul(p: Plan, a: Tensor, b: Tensor, opts: { transB?: boolean; label?: string } = {}): Tensor {
  const label = opts.label ?? 'matmul';
  const transB = opts.transB ?? false;
  if (a.rank !== 2 || b.rank !== 2) throw new Error(`${label}: operands must both be rank 2; got [${a.shape}] and [${b.shape}]`);
  const [M, K] = a.shape as [number, number];
  const N = transB ? b.dim(0) : b.dim(1);
  expectShape(b, transB ? [N, K] : [K, N], `${label} b`, ANY);
  const y = p.temp([M, N], label, a.dtype);
  gemm(p, { a, b, bias: null, residual: null, out: y, batch: 1, M, N, K, sA: 0, sB: 0, transB, act: 'none', label });
  return y;
}
