// The mask decoder's attention and what surrounds it in TwoWayAttentionBlock, in one dispatch
// (segment_anything transformer.py: Attention, then `x = norm(x + attn_out)`):
//   out[b, t] = LN(res[b, t] + (MHA(q[b, t], k[b, ·], v[b, ·]) · Woᵀ + bo)) · g + beta
//   q[b, t]  Q_PROJ = 1: (x + pe)[b, t] · Wqᵀ + bq (projected here); Q_PROJ = 0: qs[b, t, qOff ..]
//   k[b, j] = kv[b, j, kOff ..], v[b, j] = kv[b, j, vOff ..]: column blocks of a stacked projection
//   MHA: H heads of d = Ci / H channels, softmax(q_h k_hᵀ / sqrt(d)) v_h (f32), heads concatenated.
// Tensors (f32, or f16 in the twin; all sums and statistics f32):
//   xq  Q_PROJ = 1: x [B, Tq, C]; else qs, rows of qStride elements, set b's at row b·qRows (qRows
//       0: shared by every b)                                           pe [B, Tq, C] (Q_PROJ)
//   kv  rows of kvStride elements; set b's Tk rows start at row b·kvRows (kvRows 0: shared by every b)
//   wp  the weights pack (ops/attention_block.ts): [WqT [C, Ci], bq [Ci] when Q_PROJ,] WoT [Ci, C],
//       bo [C], g [C], beta [C]
//   res [·, Tq, C], set b's rows at b·resRows (RESIDUAL = 1; resRows 0: shared)   out [B, Tq, C]
// A workgroup of 128 owns QB = 4 queries of one b (workgroup wid: b = wid / nqb, block wid % nqb):
//   Q: the 4 q rows into workgroup memory, times 1/sqrt(d) (projected: invocation li owns columns
//      li, li + 128 for the 4 rows; WqT is read along its rows, coalesced);
//   A: invocation li works on the pair (query, head) li / KS with every KS-th key, online softmax;
//      the KS partials are merged through workgroup memory (_attn_merge.wgsl) into the o rows;
//   O: o · WoT + bo + res into workgroup memory (columns li, li + 128 of the 4 rows);
//   N: LayerNorm of each row, 32 invocations per row.
// Needs C, Ci ≤ 256, H ≤ 8 (QB·H ≤ 32 pairs), d = HD ≤ 64.
#include "_storage.wgsl"
#include "_reduce.wgsl"
override HD: u32 = 32u;
override Q_PROJ: u32 = 0u;
override RESIDUAL: u32 = 0u;

const WG: u32 = 128u;
const QB: u32 = 4u;
const KS: u32 = 4u;
const RC: u32 = 8u;   // channels per merge chunk
const RCP: u32 = 9u;
const NEG: f32 = -1.0e30;

struct Params {
  B: u32, Tq: u32, Tk: u32, C: u32, Ci: u32, H: u32, nqb: u32, qStride: u32,
  qOff: u32, kvStride: u32, kOff: u32, vOff: u32, kvRows: u32, resRows: u32, scale: f32, eps: f32,
  qRows: u32, _p0: u32, _p1: u32, _p2: u32,
}
@group(0) @binding(0) var<storage, read> xq: array<st>;
@group(0) @binding(1) var<storage, read> pe: array<st>;
@group(0) @binding(2) var<storage, read> kv: array<st>;
@group(0) @binding(3) var<storage, read> wp: array<st>;
@group(0) @binding(4) var<storage, read> res: array<st>;
@group(0) @binding(5) var<storage, read_write> out: array<st>;
@group(0) @binding(6) var<uniform> p: Params;

var<workgroup> xs: array<f32, 1024>; // (x + pe) rows [QB][C], then the projected rows y [QB][C]
var<workgroup> qo: array<f32, 1024>; // q rows [QB][Ci], then the attention output rows o
var<workgroup> ks: array<f32, 1152>; // merge buffer: WG · RCP
#include "_attn_merge.wgsl"

@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        lane: Lane) {
  let li = lane.li;
  let sw = subgroup_width(lane);
  let wid = wg.x + wg.y * nwg.x;
  if (wid >= p.B * p.nqb) { return; }  // uniform per workgroup: grid padding
  let C = p.C;
  let Ci = p.Ci;
  let b = wid / p.nqb;
  let t0 = (wid % p.nqb) * QB;
  let woOff = select(0u, C * Ci + Ci, Q_PROJ == 1u);

  // Q: the 4 query rows (rows past Tq are zeros: computed, never stored).
  if (Q_PROJ == 1u) {
    for (var e = li; e < QB * C; e += WG) {
      let r = e / C;
      var v = 0.0;
      if (t0 + r < p.Tq) { let g = (b * p.Tq + t0 + r) * C + e - r * C; v = f32(xq[g]) + f32(pe[g]); }
      xs[e] = v;
    }
    workgroupBarrier();
    for (var j = li; j < Ci; j += WG) {
      var a = vec4<f32>(f32(wp[C * Ci + j]));
      for (var c = 0u; c < C; c++) {
        let w = f32(wp[c * Ci + j]);
        a += w * vec4<f32>(xs[c], xs[C + c], xs[2u * C + c], xs[3u * C + c]);
      }
      for (var r = 0u; r < QB; r++) { qo[r * Ci + j] = a[r] * p.scale; }
    }
  } else {
    for (var e = li; e < QB * Ci; e += WG) {
      let r = e / Ci;
      var v = 0.0;
      if (t0 + r < p.Tq) { v = f32(xq[(b * p.qRows + t0 + r) * p.qStride + p.qOff + e - r * Ci]); }
      qo[e] = v * p.scale;
    }
  }
  workgroupBarrier();

  // A: pair (query r, head h) = li / KS over the keys j ≡ s (mod KS).
  let pair = li / KS;
  let s = li % KS;
  let r = pair / p.H;
  let h = pair % p.H;
  let live = r < QB && t0 + r < p.Tq;
  var qv: array<f32, 64>;
  var acc: array<f32, 64>;
  for (var i = 0u; i < HD; i++) { acc[i] = 0.0; qv[i] = 0.0; }
  var m = NEG;
  var l = 0.0;
  if (live) {
    for (var i = 0u; i < HD; i++) { qv[i] = qo[r * Ci + h * HD + i]; }
    let kb = b * p.kvRows;
    for (var j = s; j < p.Tk; j += KS) {
      let row = (kb + j) * p.kvStride;
      let ko = row + p.kOff + h * HD;
      var sc = 0.0;
      for (var i = 0u; i < HD; i++) { sc += qv[i] * f32(kv[ko + i]); }
      let pr = online_softmax(sc, &m, &l, &acc);
      let vo = row + p.vOff + h * HD;
      for (var i = 0u; i < HD; i++) { acc[i] += pr * f32(kv[vo + i]); }
    }
  }
  let f = merge_factor(lane, sw, m, l);
  for (var c0 = 0u; c0 < HD; c0 += RC) {
    stage_chunk(li, c0, f, &acc);
    for (var o = li; o < (WG / KS) * RC; o += WG) {
      let q2 = o / RC;
      let j = o - q2 * RC;
      if (q2 / p.H < QB && c0 + j < HD) { qo[(q2 / p.H) * Ci + (q2 % p.H) * HD + c0 + j] = merged(q2, j); }
    }
  }
  workgroupBarrier();

  // O: y = o · WoT + bo (+ res), columns li and li + 128 of the 4 rows.
  for (var n = li; n < C; n += WG) {
    var a = vec4<f32>(f32(wp[woOff + Ci * C + n]));
    for (var i = 0u; i < Ci; i++) {
      let w = f32(wp[woOff + i * C + n]);
      a += w * vec4<f32>(qo[i], qo[Ci + i], qo[2u * Ci + i], qo[3u * Ci + i]);
    }
    for (var rr = 0u; rr < QB; rr++) {
      var y = a[rr];
      if (RESIDUAL == 1u && t0 + rr < p.Tq) { y += f32(res[(b * p.resRows + t0 + rr) * C + n]); }
      xs[rr * C + n] = y;
    }
  }
  workgroupBarrier();

  // N: LayerNorm of each row: invocations 32·r .. 32·r + 31 reduce row r (two-pass, as PyTorch).
  let nr = li / 32u;
  let c0 = li % 32u;
  var su = 0.0;
  for (var n = c0; n < C; n += 32u) { su += xs[nr * C + n]; }
  let mean = group_sum(lane, sw, 32u, su) / f32(C);
  var sq = 0.0;
  for (var n = c0; n < C; n += 32u) { let d = xs[nr * C + n] - mean; sq += d * d; }
  let rstd = inverseSqrt(group_sum(lane, sw, 32u, sq) / f32(C) + p.eps);
  if (t0 + nr < p.Tq) {
    let gOff = woOff + Ci * C + C;
    for (var n = c0; n < C; n += 32u) {
      out[(b * p.Tq + t0 + nr) * C + n] = st((xs[nr * C + n] - mean) * rstd * f32(wp[gOff + n]) + f32(wp[gOff + C + n]));
    }
  }
}
