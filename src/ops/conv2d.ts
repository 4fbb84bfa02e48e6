// 2-D convolution, NCHW, as an implicit GEMM (shaders/conv2d.wgsl); on software adapters as the
// CPU-shaped GEMM (shaders/matmul_cpu.wgsl) over x itself (1×1) or over its im2col matrix
// (shaders/conv2d_im2col.wgsl).
import { ceilDiv } from '../gpu/dispatch.js';
import type { Plan } from '../gpu/plan.js';
import { expectShape, type Tensor } from '../gpu/tensor.js';
import { ACT_CODE, cpuGemm, tileRows, type Activation } from './matmul.js';

const TILE = 64;
/** vec4s of the im2col matrix one invocation of conv2d_im2col.wgsl writes (its KV). */
const IM2COL_KV = 8;

/**
 * The kernels conv2d records on `p` now for a conv with C input channels, a kh×kw kernel and NP
 * output pixels: 'cpu-1x1' (matmul_cpu.wgsl over x), 'cpu-im2col' (conv2d_im2col.wgsl, then
 * matmul_cpu.wgsl) or 'tiled' (conv2d.wgsl, the real-GPU kernel). The CPU GEMM reads the weight
 * [O, K = C·kh·kw] as vec4 rows (zero-padded to K4 = K rounded up to 4 first when K % 4 != 0) and,
 * for a 1×1 stride-1 conv, x [C, H·W] as vec4 rows (H·W % 4 == 0, C % 4 == 0); the im2col matrix
 * [batch, NP, K4] must fit one storage binding.
 */
export function conv2dKernel(
  p: Plan, C: number, kh: number, kw: number, stride: number, pad: number, NP: number, batch = 1,
): 'cpu-1x1' | 'cpu-im2col' | 'tiled' {
  const K = C * kh * kw;
  const K4 = Math.ceil(K / 4) * 4;
  if (p.kernels.gemm !== 'cpu' || Math.ceil(NP / 16) > 65535 || (K4 / 4) * batch > 65535) return 'tiled';
  if (kh === 1 && kw === 1 && stride === 1 && pad === 0 && NP % 4 === 0 && K % 4 === 0) return 'cpu-1x1';
  // The im2col matrix must fit one storage binding.
  const lim = p.device.limits;
  return batch * NP * K4 * 4 <= Math.min(lim.maxStorageBufferBindingSize, lim.maxBufferSize) ? 'cpu-im2col' : 'tiled';
}

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
  const K = C * kh * kw;
  const NP = Ho * Wo;
  // Software adapters (see matmul_cpu.wgsl for why): the weight [O, K] is the GEMM's A; B is x
  // [C, H·W] itself (1×1) or its im2col matrix [H·W, K].
  const kernel = conv2dKernel(p, C, kh, kw, stride, pad, NP, N);
  if (kernel !== 'tiled') {
    const common = {
      bias: b, residual: opts.residual ?? null, out: y, batch: N, M: O, N: NP, sA: 0,
      aKMajor: false, biasMode: 2, residualMode: 2, act: opts.act ?? 'none', outMode: 0, label,
    } as const;
    if (kernel === 'cpu-1x1') {
      cpuGemm(p, { ...common, a: p.reshape(w, [O, K]), K, b: x, sB: K * NP, bKMajor: true });
      return y;
    }
    const K4 = Math.ceil(K / 4) * 4;
    let a = p.reshape(w, [O, K]);
    if (K4 !== K) {
      // The weight with rows zero-padded to K4 (the stem's 7×7×3 = 147), remade every run: O·K4 floats.
      const wp = p.temp([O, K4], `${label}.weight4`);
      p.dispatch({
        shader: 'pad_rows4',
        inputs: [w],
        outputs: [wp],
        params: { K, K4 },
        groups: [ceilDiv(K4 / 4, 16), O],
        label: `${label}.weight4`,
      });
      a = wp;
    }
    const cols = p.temp([N, NP, K4], `${label}.im2col`);
    p.dispatch({
      shader: 'conv2d_im2col',
      constants: { KV: IM2COL_KV },
      inputs: [x],
      outputs: [cols],
      params: { C, H, W, Wo, kh, kw, stride, pad, K, NP, K4 },
      groups: [ceilDiv(Wo, 16), Ho, ceilDiv(K4 / 4, IM2COL_KV) * N],
      label: `${label}.im2col`,
    });
    cpuGemm(p, { ...common, a, K: K4, b: cols, sB: NP * K4, bKMajor: false });
    return y;
  }
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
    params: { C, H, W, O, Wo, NP, kh, kw, stride, pad, K },
    groups: [gx, gy, N],
    label,
  });
  return y;
}
