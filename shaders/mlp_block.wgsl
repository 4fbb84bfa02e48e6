// The MLP of TwoWayAttentionBlock with its residual and LayerNorm, in one dispatch (segment_anything
// transformer.py: `queries = norm3(queries + mlp(queries))`, MLPBlock = lin2(act(lin1(x)))):
//   out[r] = LN(x[r] + act(x[r] · W1ᵀ + b1) · W2ᵀ + b2) · g + beta,   act: ReLU (ACT = 1) or none
// Tensors (f32, or f16 in the twin; sums and statistics f32): x, out [R, C]; wp the weights pack
// (ops/mlp_block.ts): W1T [C, Hd], b1 [Hd], W2T [Hd, C], b2 [C], g [C], beta [C].
// A workgroup of 256 owns RB = 4 rows; invocation li owns output column li (li < C) of the 4 rows.
// The hidden units go by chunks of 256: unit c0 + li of the 4 rows into workgroup memory (W1T read
// along its rows: coalesced), then the chunk's share of the 4 output rows (W2T likewise). Then the
// LayerNorm, 64 invocations per row. The weights are read once per 4 rows. Needs C ≤ 256.
#include "_storage.wgsl"
override ACT: u32 = 1u;

const WG: u32 = 256u;
const RB: u32 = 4u;

struct Params { R: u32, C: u32, Hd: u32, eps: f32 }
@group(0) @binding(0) var<storage, read> x: array<st>;
@group(0) @binding(1) var<storage, read> wp: array<st>;
@group(0) @binding(2) var<storage, read_write> out: array<st>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> xs: array<f32, 1024>; // the 4 input rows [RB][C], then the output rows before the norm
var<workgroup> hs: array<f32, 1024>; // a chunk of hidden units [RB][256]
var<workgroup> red: array<f32, WG>;

// The sum over each row's 64 invocations of `v` (red[64·row]); uniform control flow.
fn row_sum(li: u32, v: f32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var w = 32u; w > 0u; w = w >> 1u) {
    if (li % 64u < w) { red[li] += red[li + w]; }
    workgroupBarrier();
  }
  let r = red[li - li % 64u];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let r0 = (wg.x + wg.y * nwg.x) * RB;
  if (r0 >= p.R) { return; }  // uniform per workgroup: grid padding
  let C = p.C;
  let Hd = p.Hd;
  for (var e = li; e < RB * C; e += WG) {
    let r = e / C;
    var v = 0.0;
    if (r0 + r < p.R) { v = f32(x[(r0 + r) * C + e - r * C]); }
    xs[e] = v;
  }
  let w2 = C * Hd + Hd; // W2T's offset in the pack
  var y = vec4<f32>(0.0);
  for (var c0 = 0u; c0 < Hd; c0 += WG) {
    workgroupBarrier();
    let j = c0 + li;
    if (j < Hd) {
      var a = vec4<f32>(f32(wp[C * Hd + j]));
      for (var c = 0u; c < C; c++) {
        a += f32(wp[c * Hd + j]) * vec4<f32>(xs[c], xs[C + c], xs[2u * C + c], xs[3u * C + c]);
      }
      if (ACT == 1u) { a = max(a, vec4<f32>(0.0)); }
      for (var r = 0u; r < RB; r++) { hs[r * WG + li] = a[r]; }
    }
    workgroupBarrier();
    if (li < C) {
      for (var u = 0u; u < min(WG, Hd - c0); u++) {
        y += f32(wp[w2 + (c0 + u) * C + li]) * vec4<f32>(hs[u], hs[WG + u], hs[2u * WG + u], hs[3u * WG + u]);
      }
    }
  }
  workgroupBarrier();
  if (li < C) {
    let b2 = f32(wp[w2 + Hd * C + li]);
    for (var r = 0u; r < RB; r++) { xs[r * C + li] += y[r] + b2; }
  }
  workgroupBarrier();

  // LayerNorm: invocations 64·r .. 64·r + 63 reduce row r (two-pass, as PyTorch).
  let nr = li / 64u;
  let lane = li % 64u;
  var su = 0.0;
  for (var n = lane; n < C; n += 64u) { su += xs[nr * C + n]; }
  let mean = row_sum(li, su) / f32(C);
  var sq = 0.0;
  for (var n = lane; n < C; n += 64u) { let d = xs[nr * C + n] - mean; sq += d * d; }
  let rstd = inverseSqrt(row_sum(li, sq) / f32(C) + p.eps);
  if (r0 + nr < p.R) {
    let gOff = w2 + Hd * C + C;
    for (var n = lane; n < C; n += 64u) {
      out[(r0 + nr) * C + n] = st((xs[nr * C + n] - mean) * rstd * f32(wp[gOff + n]) + f32(wp[gOff + C + n]));
    }
  }
}
