// Naive CPU references for the kernels, in float64. Written for clarity, not speed.

/** erf in float64: Taylor series for |x| < 3, continued fraction beyond (|error| < 1e-15). */
export function erfRef(x: number): number {
  const z = Math.abs(x);
  let r: number;
  if (z < 3) {
    let term = z;
    let sum = z;
    for (let n = 1; n < 200; n++) {
      term *= (-z * z) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc(z) = exp(-z²)/sqrt(pi) · 1/(z + 1/2/(z + 1/(z + 3/2/(z + …))))
    let f = z;
    for (let n = 60; n >= 1; n--) f = z + n / 2 / f;
    r = 1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
  }
  return x < 0 ? -r : r;
}

export const geluRef = (x: number): number => 0.5 * x * (1 + erfRef(x / Math.SQRT2));

// --- GEMM / convolution / pooling references (matmul, conv2d, conv_transpose, maxpool kernels) ---

export type ActRef = 'none' | 'relu' | 'gelu';

export const actRef = (v: number, act: ActRef = 'none'): number => (act === 'relu' ? Math.max(v, 0) : act === 'gelu' ? geluRef(v) : v);

/** Batched C[b, m, n] = Σ_k A[b, m, k]·B[b, k, n] (B as [b, n, k] when transB); strides 0 share an operand. */
export function matmulRef(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  batch: number,
  M: number,
  N: number,
  K: number,
  transB: boolean,
  strideA = M * K,
  strideB = K * N,
): Float64Array {
  const c = new Float64Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[z * strideA + m * K + k]! * b[z * strideB + (transB ? n * K + k : k * N + n)]!;
        c[(z * M + m) * N + n] = s;
      }
    }
  }
  return c;
}

/** nn.Linear: act(x·wᵀ + bias) + residual, x [M, K], w [N, K]. */
export function linearRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  M: number,
  N: number,
  K: number,
  act: ActRef = 'none',
  residual: ArrayLike<number> | null = null,
): Float64Array {
  const y = matmulRef(x, w, 1, M, N, K, true);
  for (let i = 0; i < y.length; i++) {
    y[i] = actRef(y[i]! + (bias ? bias[i % N]! : 0), act) + (residual ? residual[i]! : 0);
  }
  return y;
}

/** Conv2d, NCHW: act(conv(x, w) + bias[o] + residual), w [O, C, kh, kw], zero padding. */
export function conv2dRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  [N, C, H, W]: readonly number[],
  [O, kh, kw]: readonly number[],
  stride: number,
  pad: number,
  act: ActRef = 'none',
  residual: ArrayLike<number> | null = null,
): { y: Float64Array; shape: number[] } {
  const Ho = Math.floor((H + 2 * pad - kh) / stride) + 1;
  const Wo = Math.floor((W + 2 * pad - kw) / stride) + 1;
  const y = new Float64Array(N * O * Ho * Wo);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      for (let oy = 0; oy < Ho; oy++) {
        for (let ox = 0; ox < Wo; ox++) {
          let s = bias ? bias[o]! : 0;
          for (let c = 0; c < C; c++) {
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * stride - pad + ky;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * stride - pad + kx;
                if (ix < 0 || ix >= W) continue;
                s += x[((n * C + c) * H + iy) * W + ix]! * w[((o * C + c) * kh + ky) * kw + kx]!;
              }
            }
          }
          const i = ((n * O + o) * Ho + oy) * Wo + ox;
          y[i] = actRef(s + (residual ? residual[i]! : 0), act);
        }
      }
    }
  }
  return { y, shape: [N, O, Ho, Wo] };
}

/** ConvTranspose2d kernel 2 stride 2, w [C, O, 2, 2]: act(Σ_c x[c, y, x]·w[c, o, dy, dx] + bias[o]). */
export function convTranspose2x2Ref(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  [N, C, H, W]: readonly number[],
  O: number,
  act: ActRef = 'none',
): Float64Array {
  const y = new Float64Array(N * O * 4 * H * W);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      for (let oy = 0; oy < 2 * H; oy++) {
        for (let ox = 0; ox < 2 * W; ox++) {
          let s = bias ? bias[o]! : 0;
          const iy = oy >> 1;
          const ix = ox >> 1;
          for (let c = 0; c < C; c++) s += x[((n * C + c) * H + iy) * W + ix]! * w[((c * O + o) * 2 + (oy & 1)) * 2 + (ox & 1)]!;
          y[((n * O + o) * 2 * H + oy) * 2 * W + ox] = actRef(s, act);
        }
      }
    }
  }
  return y;
}

/** MaxPool2d(kernel 3, stride 2, padding 1), NCHW; padding never wins. */
export function maxPool3x3s2Ref(x: ArrayLike<number>, [N, C, H, W]: readonly number[]): { y: Float64Array; shape: number[] } {
  const Ho = Math.floor((H + 2 - 3) / 2) + 1;
  const Wo = Math.floor((W + 2 - 3) / 2) + 1;
  const y = new Float64Array(N * C * Ho * Wo);
  for (let nc = 0; nc < N * C; nc++) {
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++) {
        let m = -Infinity;
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) {
            const iy = oy * 2 - 1 + ky;
            const ix = ox * 2 - 1 + kx;
            if (iy >= 0 && iy < H && ix >= 0 && ix < W) m = Math.max(m, x[(nc * H + iy) * W + ix]!);
          }
        }
        y[(nc * Ho + oy) * Wo + ox] = m;
      }
    }
  }
  return { y, shape: [N, C, Ho, Wo] };
}

/** Root mean square of `v`: the typical magnitude that scales a test's atol. */
export function rmsRef(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s / Math.max(1, v.length));
}

// --- Normalisation / resize / layout references (layernorm, resize, layout kernels) ---

/** nn.LayerNorm over the last dim of x [rows, C]: (x − u)/sqrt(var + eps)·g + b, biased variance. */
export function layerNormRef(x: ArrayLike<number>, g: ArrayLike<number>, b: ArrayLike<number>, C: number, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / C; r++) {
    let u = 0;
    for (let c = 0; c < C; c++) u += x[r * C + c]!;
    u /= C;
    let s = 0;
    for (let c = 0; c < C; c++) s += (x[r * C + c]! - u) ** 2;
    const rstd = 1 / Math.sqrt(s / C + eps);
    for (let c = 0; c < C; c++) y[r * C + c] = (x[r * C + c]! - u) * rstd * g[c]! + b[c]!;
  }
  return y;
}

/** SAM's LayerNorm2d on x [N, C, H, W] (per pixel over channels), then act. */
export function layerNorm2dRef(
  x: ArrayLike<number>,
  g: ArrayLike<number>,
  b: ArrayLike<number>,
  [N, C, H, W]: readonly number[],
  eps: number,
  act: 'none' | 'gelu' = 'none',
): Float64Array {
  const HW = H * W;
  const y = new Float64Array(x.length);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < HW; i++) {
      const at = (c: number) => (n * C + c) * HW + i;
      let u = 0;
      for (let c = 0; c < C; c++) u += x[at(c)]!;
      u /= C;
      let s = 0;
      for (let c = 0; c < C; c++) s += (x[at(c)]! - u) ** 2;
      s /= C;
      for (let c = 0; c < C; c++) {
        const v = ((x[at(c)]! - u) / Math.sqrt(s + eps)) * g[c]! + b[c]!;
        y[at(c)] = act === 'gelu' ? geluRef(v) : v;
      }
    }
  }
  return y;
}

/**
 * F.interpolate(x[..., :srcH, :srcW], (outH, outW), mode='bilinear', align_corners=False) on
 * x [N, C, H, W], from PyTorch's area_pixel_compute_source_index + upsample_bilinear2d, in float64.
 */
export function resizeBilinearRef(
  x: ArrayLike<number>,
  [N, C, H, W]: readonly number[],
  outH: number,
  outW: number,
  srcH = H,
  srcW = W,
): Float64Array {
  const src = (dst: number, inSize: number, outSize: number) => {
    const scale = inSize / outSize;
    const s = Math.max(scale * (dst + 0.5) - 0.5, 0);
    const i0 = Math.floor(s);
    const i1 = i0 + (i0 < inSize - 1 ? 1 : 0);
    const l1 = s - i0;
    return { i0, i1, l0: 1 - l1, l1 };
  };
  const y = new Float64Array(N * C * outH * outW);
  for (let nc = 0; nc < N * C; nc++) {
    for (let oy = 0; oy < outH; oy++) {
      const h = src(oy, srcH, outH);
      for (let ox = 0; ox < outW; ox++) {
        const w = src(ox, srcW, outW);
        const at = (iy: number, ix: number) => x[(nc * H + iy) * W + ix]!;
        y[(nc * outH + oy) * outW + ox] =
          h.l0 * (w.l0 * at(h.i0, w.i0) + w.l1 * at(h.i0, w.i1)) + h.l1 * (w.l0 * at(h.i1, w.i0) + w.l1 * at(h.i1, w.i1));
      }
    }
  }
  return y;
}

/** x.permute(perm) made contiguous, any rank. */
export function permuteRef(x: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): Float64Array {
  const r = shape.length;
  const strides = new Array<number>(r);
  for (let k = r - 1, s = 1; k >= 0; k--) {
    strides[k] = s;
    s *= shape[k]!;
  }
  const outShape = perm.map((k) => shape[k]!);
  const y = new Float64Array(x.length);
  const idx = new Array<number>(r).fill(0);
  for (let i = 0; i < y.length; i++) {
    let off = 0;
    for (let j = 0; j < r; j++) off += idx[j]! * strides[perm[j]!]!;
    y[i] = x[off]!;
    for (let j = r - 1; j >= 0; j--) {
      if (++idx[j]! < outShape[j]!) break;
      idx[j] = 0;
    }
  }
  return y;
}

// ---- Attention (test/attention.test.ts, test/attention_relpos.test.ts) ----

/**
 * Multi-head attention as the mask decoder's Attention does it between its projections:
 * separate_heads, softmax(q kᵀ / sqrt(d) + bias) v, recombine_heads.
 * q [B, Tq, C], k and v [B, Tk, C], bias [B, heads, Tq, Tk] -> [B, Tq, C].
 */
export function mhaRef(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  [B, Tq, Tk, C]: readonly number[],
  heads: number,
  bias?: ArrayLike<number>,
): Float64Array {
  const d = C / heads;
  const out = new Float64Array(B * Tq * C);
  const sc = new Float64Array(Tk);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < Tq; i++) {
        let mx = -Infinity;
        for (let j = 0; j < Tk; j++) {
          let s = 0;
          for (let c = 0; c < d; c++) s += q[(b * Tq + i) * C + h * d + c]! * k[(b * Tk + j) * C + h * d + c]!;
          s /= Math.sqrt(d);
          if (bias) s += bias[((b * heads + h) * Tq + i) * Tk + j]!;
          sc[j] = s;
          mx = Math.max(mx, s);
        }
        let sum = 0;
        for (let j = 0; j < Tk; j++) sum += (sc[j] = Math.exp(sc[j]! - mx));
        for (let c = 0; c < d; c++) {
          let o = 0;
          for (let j = 0; j < Tk; j++) o += sc[j]! * v[(b * Tk + j) * C + h * d + c]!;
          out[(b * Tq + i) * C + h * d + c] = o / sum;
        }
      }
    }
  }
  return out;
}

/** y = x Wᵀ + b over `rows` rows (torch Linear: weight [cout, cin]). */
export function samQkvRef(x: ArrayLike<number>, rows: number, cin: number, w: ArrayLike<number>, bias: ArrayLike<number>): Float64Array {
  const cout = bias.length;
  const y = new Float64Array(rows * cout);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < cout; o++) {
      let s = bias[o]!;
      for (let i = 0; i < cin; i++) s += x[r * cin + i]! * w[o * cin + i]!;
      y[r * cout + o] = s;
    }
  }
  return y;
}

/** Upstream get_rel_pos without the interpolation branch: [qSize][kSize] -> a row of relPos [L, d]. */
function getRelPosRef(qSize: number, kSize: number, relPos: ArrayLike<number>, d: number): Float64Array[][] {
  const maxRelDist = 2 * Math.max(qSize, kSize) - 1;
  if (relPos.length / d !== maxRelDist) throw new Error('getRelPosRef: rel_pos interpolation is not mirrored');
  const out: Float64Array[][] = [];
  for (let i = 0; i < qSize; i++) {
    out.push([]);
    for (let j = 0; j < kSize; j++) {
      const qc = i * Math.max(kSize / qSize, 1);
      const kc = j * Math.max(qSize / kSize, 1);
      const idx = Math.trunc(qc - kc + (kSize - 1) * Math.max(qSize / kSize, 1));
      out[i]!.push(Float64Array.from({ length: d }, (_, c) => relPos[idx * d + c]!));
    }
  }
  return out;
}

/**
 * SAM's Block attention path, literally: x [B, S, S, C] (the normed tokens) is zero-padded to a
 * multiple of ws and window_partition-ed (global attention: ws = S, nothing to pad); per window
 * qkv = Linear(x) (wQkv [3C, C], bQkv [3C]), reshape (T, 3, heads, d); attn = (q·scale) kᵀ;
 * add_decomposed_rel_pos with get_rel_pos(ws, ws, ·); softmax; attn v; heads concatenated;
 * window_unpartition and crop. The proj Linear is left out. -> [B, S, S, C].
 */
export function samRelPosAttnRef(
  x: ArrayLike<number>,
  wQkv: ArrayLike<number>,
  bQkv: ArrayLike<number>,
  relPosH: ArrayLike<number>,
  relPosW: ArrayLike<number>,
  { B, S, C, heads, ws }: { B: number; S: number; C: number; heads: number; ws: number },
): Float64Array {
  const d = C / heads;
  const scale = d ** -0.5;
  const pad = (ws - (S % ws)) % ws;
  const Hp = S + pad;
  const nW = Hp / ws;
  const T = ws * ws;
  // F.pad with zeros.
  const xp = new Float64Array(B * Hp * Hp * C);
  for (let b = 0; b < B; b++)
    for (let y = 0; y < S; y++)
      for (let xx = 0; xx < S; xx++)
        for (let c = 0; c < C; c++) xp[((b * Hp + y) * Hp + xx) * C + c] = x[((b * S + y) * S + xx) * C + c]!;
  const Rh = getRelPosRef(ws, ws, relPosH, d);
  const Rw = getRelPosRef(ws, ws, relPosW, d);
  const outP = new Float64Array(B * Hp * Hp * C);
  const win = new Float64Array(T * C);
  const attn = new Float64Array(T);
  const relH = new Float64Array(ws);
  const relW = new Float64Array(ws);
  for (let b = 0; b < B; b++) {
    for (let wy = 0; wy < nW; wy++) {
      for (let wx = 0; wx < nW; wx++) {
        // window_partition: view(B, Hp/ws, ws, Wp/ws, ws, C).permute(0, 1, 3, 2, 4, 5).
        for (let iy = 0; iy < ws; iy++)
          for (let ix = 0; ix < ws; ix++)
            for (let c = 0; c < C; c++) win[(iy * ws + ix) * C + c] = xp[((b * Hp + wy * ws + iy) * Hp + wx * ws + ix) * C + c]!;
        const qkv = samQkvRef(win, T, C, wQkv, bQkv); // [T, 3C] = reshape(T, 3, heads, d)
        const at = (which: number, h: number, t: number, c: number) => qkv[t * 3 * C + which * C + h * d + c]!;
        for (let h = 0; h < heads; h++) {
          for (let t = 0; t < T; t++) {
            const qh = Math.floor(t / ws);
            const qw = t % ws;
            for (let kk = 0; kk < ws; kk++) {
              let sh = 0;
              let sw = 0;
              for (let c = 0; c < d; c++) {
                sh += at(0, h, t, c) * Rh[qh]![kk]![c]!;
                sw += at(0, h, t, c) * Rw[qw]![kk]![c]!;
              }
              relH[kk] = sh;
              relW[kk] = sw;
            }
            let mx = -Infinity;
            for (let kt = 0; kt < T; kt++) {
              let s = 0;
              for (let c = 0; c < d; c++) s += at(0, h, t, c) * scale * at(1, h, kt, c);
              s += relH[Math.floor(kt / ws)]! + relW[kt % ws]!;
              attn[kt] = s;
              mx = Math.max(mx, s);
            }
            let sum = 0;
            for (let kt = 0; kt < T; kt++) sum += (attn[kt] = Math.exp(attn[kt]! - mx));
            // (attn @ v).view(B, heads, ws, ws, d).permute(0, 2, 3, 1, 4), then window_unpartition.
            const o = ((b * Hp + wy * ws + qh) * Hp + wx * ws + qw) * C + h * d;
            for (let c = 0; c < d; c++) {
              let r = 0;
              for (let kt = 0; kt < T; kt++) r += attn[kt]! * at(2, h, kt, c);
              outP[o + c] = r / sum;
            }
          }
        }
      }
    }
  }
  // Crop x[:, :S, :S, :].
  const out = new Float64Array(B * S * S * C);
  for (let b = 0; b < B; b++)
    for (let y = 0; y < S; y++)
      for (let xx = 0; xx < S; xx++)
        for (let c = 0; c < C; c++) out[((b * S + y) * S + xx) * C + c] = outP[((b * Hp + y) * Hp + xx) * C + c]!;
  return out;
}
