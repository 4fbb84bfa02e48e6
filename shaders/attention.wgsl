// Fused multi-head attention: out = softmax(q kᵀ / sqrt(d) + bias) v, per head, heads concatenated
// in the channel dim (PyTorch's separate_heads / recombine_heads), flash style: scores, an online
// softmax (running max and sum) and the V product in one pass; no Tq×Tk matrix in global memory.
// f32, or f16 storage in the twin (scores, softmax and sums in f32).
//   q    [B, Tq, C]       C = H·d, head h owns channels h·d .. h·d+d-1
//   k, v [B, Tk, C]
//   bias [B, H, Tq, Tk]   additive, added to the scaled scores (HAS_BIAS = 1; else any buffer, unread)
//   out  [B, Tq, C]
// One workgroup of 64 invocations owns QPW = 64/KS queries of one (batch, head): invocation
// li = qi·KS + s works on query qi against the keys s, s+KS, … of each tile of TK keys, which is
// staged (K and V, rows padded to d+1 floats) in workgroup memory. The KS partial (max, sum, acc)
// of a query are merged at the end through workgroup memory, RC channels at a time, so that the
// output rows are written by consecutive invocations.
// Overrides: HD = d (1..64), KS (power of two dividing 64, at most TILE/(HD+1)), HAS_BIAS.
override HD: u32 = 32u;
override KS: u32 = 8u;
override HAS_BIAS: u32 = 0u;
#include "_storage.wgsl"
#include "_reduce.wgsl"

const WG: u32 = 64u;
const TILE: u32 = 1280u; // floats per K (and per V) tile
const RC: u32 = 16u;     // channels per merge chunk
const RCP: u32 = 17u;    // padded row of the merge buffer
const NEG: f32 = -1.0e30;

struct Params { B: u32, Tq: u32, Tk: u32, H: u32, C: u32, nqb: u32, scale: f32, _pad: u32 }
@group(0) @binding(0) var<storage, read> q: array<st>;
@group(0) @binding(1) var<storage, read> k: array<st>;
@group(0) @binding(2) var<storage, read> v: array<st>;
@group(0) @binding(3) var<storage, read> bias: array<st>;
@group(0) @binding(4) var<storage, read_write> out: array<st>;
@group(0) @binding(5) var<uniform> p: Params;

var<workgroup> ks: array<f32, TILE>; // K tile, then the merge buffer
var<workgroup> vs: array<f32, TILE>;
#include "_attn_merge.wgsl"

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        lane: Lane) {
  let li = lane.li;
  let sw = subgroup_width(lane);
  let wid = wg.x + wg.y * nwg.x;
  if (wid >= p.B * p.H * p.nqb) { return; }
  let qpw = WG / KS;
  let hdp = HD + 1u;
  let tk = (TILE / hdp) / KS * KS;
  let qb = wid % p.nqb;
  let h = (wid / p.nqb) % p.H;
  let b = wid / (p.nqb * p.H);
  let qi = li / KS;
  let s = li % KS;
  let tq = qb * qpw + qi;
  let valid = tq < p.Tq;
  let hoff = h * HD;

  var qv: array<f32, 64>;
  var acc: array<f32, 64>;
  for (var i = 0u; i < HD; i++) { acc[i] = 0.0; qv[i] = 0.0; }
  if (valid) {
    let base = (b * p.Tq + tq) * p.C + hoff;
    for (var i = 0u; i < HD; i++) { qv[i] = f32(q[base + i]) * p.scale; }
  }
  var m = NEG;
  var l = 0.0;
  let brow = ((b * p.H + h) * p.Tq + tq) * p.Tk;

  for (var kb = 0u; kb < p.Tk; kb += tk) {
    let nk = min(tk, p.Tk - kb);
    workgroupBarrier();
    for (var e = li; e < nk * HD; e += WG) {
      let j = e / HD;
      let i = e - j * HD;
      let g = (b * p.Tk + kb + j) * p.C + hoff + i;
      ks[j * hdp + i] = f32(k[g]);
      vs[j * hdp + i] = f32(v[g]);
    }
    workgroupBarrier();
    if (valid) {
      for (var j = s; j < nk; j += KS) {
        let o = j * hdp;
        var sc = 0.0;
        for (var i = 0u; i < HD; i++) { sc += qv[i] * ks[o + i]; }
        if (HAS_BIAS != 0u) { sc += f32(bias[brow + kb + j]); }
        let pr = online_softmax(sc, &m, &l, &acc);
        for (var i = 0u; i < HD; i++) { acc[i] += pr * vs[o + i]; }
      }
    }
  }

  // Merge the KS partial results of each query (_attn_merge.wgsl).
  let f = merge_factor(lane, sw, m, l);
  for (var c0 = 0u; c0 < HD; c0 += RC) {
    stage_chunk(li, c0, f, &acc);
    for (var o = li; o < qpw * RC; o += WG) {
      let q2 = o / RC;
      let j = o - q2 * RC;
      let t2 = qb * qpw + q2;
      if (c0 + j < HD && t2 < p.Tq) {
        out[(b * p.Tq + t2) * p.C + hoff + c0 + j] = st(merged(q2, j));
      }
    }
  }
}
