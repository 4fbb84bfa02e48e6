// The mask decoder's attention with its out_proj, residual and LayerNorm in one dispatch
// (shaders/attention_block.wgsl), and the layout of its weights pack.
import { ceilDiv, grid } from '../gpu/dispatch.js';
import type { Plan } from '../gpu/plan.js';
import { commonDtype, kernelOf } from '../gpu/storage.js';
import { ANY, expectShape, type Tensor } from '../gpu/tensor.js';

/** Queries per workgroup (the shader's QB) and the most heads (QB · H ≤ 32 pairs). */
const QB = 4;
const MAX_HEADS = 8;
const MAX_DIM = 256;

/** nn.Linear weights [out, in] and biases, as the pack is made from them at load. */
export interface AttentionPackParts {
  /** q_proj, present when the kernel projects q itself: [Ci, C], [Ci]. */
  wq?: Float32Array;
  bq?: Float32Array;
  /** out_proj [C, Ci], [C]; then the LayerNorm's weight and bias [C]. */
  wo: Float32Array;
  bo: Float32Array;
  g: Float32Array;
  beta: Float32Array;
}

/** Elements of a pack for model dim C, internal dim Ci, with or without q_proj. */
export const attentionPackSize = (C: number, Ci: number, qProj: boolean): number => (qProj ? C * Ci + Ci : 0) + Ci * C + 3 * C;

/** The rows of w [rows, cols] as its transpose [cols, rows] into out at `at`. */
export function putTransposed(out: Float32Array, at: number, w: Float32Array, rows: number, cols: number): number {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[at + c * rows + r] = w[r * cols + c]!;
  return at + rows * cols;
}

/** The weights pack attention_block.wgsl reads: [WqT [C, Ci], bq,] WoT [Ci, C], bo, g, beta. */
export function attentionPack(parts: AttentionPackParts, C: number, Ci: number): Float32Array {
  const qProj = !!parts.wq;
  const out = new Float32Array(attentionPackSize(C, Ci, qProj));
  let at = 0;
  if (qProj) {
    at = putTransposed(out, at, parts.wq!, Ci, C);
    out.set(parts.bq!, at);
    at += Ci;
  }
  at = putTransposed(out, at, parts.wo, C, Ci);
  for (const v of [parts.bo, parts.g, parts.beta]) {
    out.set(v, at);
    at += C;
  }
  return out;
}

export interface AttentionBlockOptions {
  heads: number;
  /**
   * The queries: x and its PE [B, Tq, C], projected in the kernel (the pack holds q_proj); or the
   * columns offset .. offset + Ci of `from` [B or 1, Tq, W] (1: shared by every b), already
   * projected; then `sets` gives B.
   */
  q: { x: Tensor; pe: Tensor } | { from: Tensor; offset: number; sets?: number };
  /** Keys and values: columns k .. k + Ci and v .. v + Ci of t [B or 1, Tk, W] (1: shared by every b). */
  kv: { t: Tensor; k: number; v: number };
  /** [B or 1, Tq, C], added before the norm. */
  residual?: Tensor;
  /** attentionPack's result, with (when q.x is given) or without q_proj. */
  pack: Tensor;
  /** Internal dim Ci (the heads' channels) and the LayerNorm's eps. */
  internal: number;
  eps: number;
  label?: string;
}

/**
 * LN(residual + out_proj(MHA(q, k, v))) for each of B sets: the decoder's Attention + `x = norm(x +
 * attn_out)` in one dispatch. Returns [B, Tq, C]. C, Ci ≤ 256, heads ≤ 8, head dim ≤ 64.
 */
export function attentionBlock(p: Plan, o: AttentionBlockOptions): Tensor {
  const label = o.label ?? 'attention_block';
  const H = o.heads;
  const Ci = o.internal;
  const proj = 'x' in o.q;
  const qt = 'x' in o.q ? o.q.x : o.q.from;
  if (qt.rank !== 3) throw new Error(`${label}: queries '${qt.label}' [${qt.shape}] are not [B, Tq, ·]`);
  const Tq = qt.dim(1);
  const B = 'x' in o.q ? qt.dim(0) : o.q.sets ?? qt.dim(0);
  if (qt.dim(0) !== B && qt.dim(0) !== 1) throw new Error(`${label}: queries '${qt.label}' [${qt.shape}] are not [${B} or 1, Tq, ·]`);
  // The model dim: x's, or what the pack (WoT [Ci, C], bo, g, beta) holds.
  const C = 'x' in o.q ? qt.dim(2) : o.pack.size / (Ci + 3);
  if (!Number.isInteger(C)) throw new Error(`${label}: a weights pack of ${o.pack.size} elements holds no out_proj from ${Ci} channels`);
  if ('x' in o.q) expectShape(o.q.pe, [B, Tq, C], `${label}: query PE`, ANY);
  else if (o.q.offset + Ci > qt.dim(2)) throw new Error(`${label}: q columns ${o.q.offset} + ${Ci} exceed '${qt.label}' [${qt.shape}]`);
  const kv = o.kv.t;
  if (kv.rank !== 3 || (kv.dim(0) !== B && kv.dim(0) !== 1)) throw new Error(`${label}: keys '${kv.label}' [${kv.shape}] are not [${B} or 1, Tk, ·]`);
  if (Math.max(o.kv.k, o.kv.v) + Ci > kv.dim(2)) throw new Error(`${label}: k / v columns exceed '${kv.label}' [${kv.shape}]`);
  if (o.residual) {
    expectShape(o.residual, [-1, Tq, C], `${label}: residual`, ANY);
    if (o.residual.dim(0) !== B && o.residual.dim(0) !== 1) throw new Error(`${label}: residual '${o.residual.label}' [${o.residual.shape}] is not [${B} or 1, ${Tq}, ${C}]`);
  }
  expectShape(o.pack, [attentionPackSize(C, Ci, proj)], `${label}: weights pack`, ANY);
  if (!Number.isInteger(H) || H < 1 || H > MAX_HEADS || Ci % H !== 0 || Ci / H > 64) throw new Error(`${label}: ${Ci} channels in ${H} heads (≤ ${MAX_HEADS} heads of ≤ 64)`);
  if (C > MAX_DIM || Ci > MAX_DIM) throw new Error(`${label}: dims ${C}, ${Ci} > ${MAX_DIM}`);
  const dt = commonDtype(label, qt, 'x' in o.q ? o.q.pe : null, kv, o.pack, o.residual);
  const nqb = ceilDiv(Tq, QB);
  const y = p.temp([B, Tq, C], label, dt);
  p.dispatch({
    shader: kernelOf('attention_block', dt, p.tuning.subgroups),
    constants: { HD: Ci / H, Q_PROJ: proj ? 1 : 0, RESIDUAL: o.residual ? 1 : 0 },
    // Unused bindings (pe without q_proj, the residual) are filled with the queries (never read).
    inputs: [qt, 'x' in o.q ? o.q.pe : qt, kv, o.pack, o.residual ?? qt],
    outputs: [y],
    params: {
      B, Tq, Tk: kv.dim(1), C, Ci, H, nqb, qStride: qt.dim(2), qOff: 'x' in o.q ? 0 : o.q.offset,
      kvStride: kv.dim(2), kOff: o.kv.k, vOff: o.kv.v, kvRows: kv.dim(0) === 1 ? 0 : kv.dim(1),
      resRows: o.residual && o.residual.dim(0) === B ? Tq : 0, scale: 1 / Math.sqrt(Ci / H), eps: o.eps,
      qRows: qt.dim(0) === B ? Tq : 0,
    },
    groups: grid(B * nqb),
    label,
  });
  return y;
}
