// SAM image-encoder attention with the decomposed relative-position bias, windowed or global, over
// the real S×S tokens (no padded or partitioned copy in memory). f32, or f16 storage in the twin
// (scores, softmax and sums in f32).
//   qkv  [B, S·S, 3·C]   the qkv Linear's output (bias included), token y·S+x, channels (3, H, d):
//                        q at h·d+i, k at C+h·d+i, v at 2C+h·d+i
//   qkvb [3·C]           the qkv Linear's bias: the k and v of the zero-padded tokens
//   rph, rpw [2·ws−1, d] rel_pos_h, rel_pos_w
//   out  [B, S·S, C]     heads concatenated, token order y·S+x (ready for proj)
// The grid is zero-padded to nw·ws per side and cut into nw×nw windows of ws×ws (nw = ceil(S/ws);
// global attention: ws = S, one window). A real query at window coordinates (qy, qx) attends the
// ws² positions (ky, kx) of its window with
//   score = scale·q·k + q·rph[qy−ky+ws−1] + q·rpw[qx−kx+ws−1]
// where a position outside S×S has k = bias_k, v = bias_v. Outputs of padded queries are dropped.
// One workgroup of 64 invocations owns QPW = 16 real queries of one (batch, head, window) (the
// windows' blocks are enumerated in order); invocation li = qi·KS + s works on query qi with
// every KS-th key. Per query, rel_h[ws] and rel_w[ws] (2·ws dot products of length d) are made
// once into workgroup memory; the real keys' K and V rows are staged in tiles in workgroup
// memory; the padded keys, which share k and v, cost one scalar each (score from q·bias_k and the
// rel terms, their weights summed, times bias_v once at the end). Online softmax (running max and
// sum); the KS partial results of a query are merged through workgroup memory at the end.
// Override: HD = d (1..64). Needs ws ≤ WSMAX.
override HD: u32 = 64u;
#include "_storage.wgsl"
#include "_reduce.wgsl"

const WG: u32 = 64u;
const KS: u32 = 4u;
const QPW: u32 = 16u;    // WG / KS
const WSMAX: u32 = 32u;
const TILE: u32 = 1280u; // floats per K (and per V) tile
const RC: u32 = 16u;     // channels per merge chunk
const RCP: u32 = 17u;
const NEG: f32 = -1.0e30;

#include "_window_block.wgsl"

struct Params { B: u32, S: u32, ws: u32, H: u32, C: u32, nw: u32, nblk: u32, scale: f32 }
@group(0) @binding(0) var<storage, read> qkv: array<st>;
@group(0) @binding(1) var<storage, read> qkvb: array<st>;
@group(0) @binding(2) var<storage, read> rph: array<st>;
@group(0) @binding(3) var<storage, read> rpw: array<st>;
@group(0) @binding(4) var<storage, read_write> out: array<st>;
@group(0) @binding(5) var<uniform> p: Params;

var<workgroup> ks: array<f32, TILE>; // K tile, then the merge buffer
var<workgroup> vs: array<f32, TILE>;
var<workgroup> relh: array<f32, QPW * WSMAX>;
var<workgroup> relw: array<f32, QPW * WSMAX>;
#include "_attn_merge.wgsl"

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        lane: Lane) {
  let li = lane.li;
  let sw = subgroup_width(lane);
  let wid = wg.x + wg.y * nwg.x;
  if (wid >= p.B * p.H * p.nblk) { return; }
  let hdp = HD + 1u;
  let tk = (TILE / hdp) / KS * KS;
  let ws = p.ws;
  let S = p.S;
  let C = p.C;
  let C3 = 3u * C;
  let h = (wid / p.nblk) % p.H;
  let b = wid / (p.nblk * p.H);
  let hoff = h * HD;

  // Which window this block belongs to.
  let wb = window_block(wid % p.nblk, p.nw, ws, S, QPW);
  let blk = wb.blk;
  let wy = wb.wy;
  let wx = wb.wx;
  let rh = wb.rh;
  let rw = wb.rw;
  let nreal = rh * rw;       // real keys (and queries) of the window
  let y0 = wy * ws;
  let x0 = wx * ws;
  let tokb = b * S * S;

  let qi = li / KS;
  let s = li % KS;
  let ql = blk * QPW + qi;
  let valid = ql < nreal;
  let qy = ql / rw;
  let qx = ql - qy * rw;

  var qv: array<f32, 64>;
  var acc: array<f32, 64>;
  for (var i = 0u; i < HD; i++) { acc[i] = 0.0; qv[i] = 0.0; }
  var qbk = 0.0; // scale · q·bias_k: the score of a padded key before its position terms
  if (valid) {
    let base = (tokb + (y0 + qy) * S + x0 + qx) * C3 + hoff;
    for (var i = 0u; i < HD; i++) {
      qv[i] = f32(qkv[base + i]);
      qbk += qv[i] * f32(qkvb[C + hoff + i]);
    }
    qbk *= p.scale;
    // rel_h[ky] = q·rph[qy−ky+ws−1], rel_w[kx] = q·rpw[qx−kx+ws−1], split over the KS invocations.
    for (var r = s; r < 2u * ws; r += KS) {
      var dot = 0.0;
      if (r < ws) {
        let row = (qy + ws - 1u - r) * HD;
        for (var i = 0u; i < HD; i++) { dot += qv[i] * f32(rph[row + i]); }
        relh[qi * WSMAX + r] = dot;
      } else {
        let kx = r - ws;
        let row = (qx + ws - 1u - kx) * HD;
        for (var i = 0u; i < HD; i++) { dot += qv[i] * f32(rpw[row + i]); }
        relw[qi * WSMAX + kx] = dot;
      }
    }
  }
  workgroupBarrier();

  var m = NEG;
  var l = 0.0;
  // Padded keys: rows ky < rh with kx in [rw, ws), then rows ky ≥ rh. They share k and v.
  var wpad = 0.0;
  if (valid) {
    let npad = ws * ws - nreal;
    let cw = ws - rw;
    let n1 = rh * cw;
    for (var j = s; j < npad; j += KS) {
      var ky: u32;
      var kx: u32;
      if (j < n1) {
        ky = j / cw;
        kx = rw + (j - ky * cw);
      } else {
        let r = j - n1;
        ky = rh + r / ws;
        kx = r % ws;
      }
      let sc = qbk + relh[qi * WSMAX + ky] + relw[qi * WSMAX + kx];
      if (sc > m) {
        let c = exp(m - sc);
        l *= c;
        wpad *= c;
        m = sc;
      }
      let pr = exp(sc - m);
      l += pr;
      wpad += pr;
    }
  }

  // Real keys, staged in tiles: key j of the window is (j / rw, j % rw).
  for (var kb = 0u; kb < nreal; kb += tk) {
    let nk = min(tk, nreal - kb);
    workgroupBarrier();
    for (var e = li; e < nk * HD; e += WG) {
      let j = e / HD;
      let i = e - j * HD;
      let kj = kb + j;
      let ky = kj / rw;
      let kx = kj - ky * rw;
      let g = (tokb + (y0 + ky) * S + x0 + kx) * C3 + C + hoff + i;
      ks[j * hdp + i] = f32(qkv[g]);
      vs[j * hdp + i] = f32(qkv[g + C]);
    }
    workgroupBarrier();
    if (valid) {
      for (var j = s; j < nk; j += KS) {
        let kj = kb + j;
        let ky = kj / rw;
        let kx = kj - ky * rw;
        let o = j * hdp;
        var dot = 0.0;
        for (var i = 0u; i < HD; i++) { dot += qv[i] * ks[o + i]; }
        let sc = dot * p.scale + relh[qi * WSMAX + ky] + relw[qi * WSMAX + kx];
        if (sc > m) {
          let c = exp(m - sc);
          l *= c;
          wpad *= c;
          for (var i = 0u; i < HD; i++) { acc[i] *= c; }
          m = sc;
        }
        let pr = exp(sc - m);
        l += pr;
        for (var i = 0u; i < HD; i++) { acc[i] += pr * vs[o + i]; }
      }
    }
  }
  if (wpad != 0.0) {
    let vb = 2u * C + hoff;
    for (var i = 0u; i < HD; i++) { acc[i] += wpad * f32(qkvb[vb + i]); }
  }

  // Merge the KS partial results of each query (_attn_merge.wgsl).
  let f = merge_factor(lane, sw, m, l);
  for (var c0 = 0u; c0 < HD; c0 += RC) {
    stage_chunk(li, c0, f, &acc);
    for (var o = li; o < QPW * RC; o += WG) {
      let q2 = o / RC;
      let j = o - q2 * RC;
      let l2 = blk * QPW + q2;
      if (c0 + j < HD && l2 < nreal) {
        let y2 = l2 / rw;
        let x2 = l2 - y2 * rw;
        out[(tokb + (y0 + y2) * S + x0 + x2) * C + hoff + c0 + j] = st(merged(q2, j));
      }
    }
  }
}
