// SAM image-encoder attention with the decomposed relative-position bias, windowed or global, for
// SOFTWARE adapters (lavapipe / llvmpipe, SwiftShader); same inputs, output and maths as
// attention_relpos.wgsl (see there):
//   qkv  [B, S·S, 3·C]   q at h·d+i, k at C+h·d+i, v at 2C+h·d+i of token y·S+x (bias included)
//   qkvb [3·C]           the qkv Linear's bias: k and v of the zero-padded tokens
//   rph, rpw [2·ws−1, d] rel_pos_h, rel_pos_w
//   out  [B, S·S, C]
//   score(q, key (ky, kx)) = scale·q·k + q·rph[qy−ky+ws−1] + q·rpw[qx−kx+ws−1]; padded keys: k = bias_k,
//   v = bias_v. d % 4 == 0 (qkv, the tables and out are read and written as vec4), d ≤ 64.
// Why a second kernel: on a CPU "GPU" (Mesa 25 llvmpipe) every load whose address differs between
// invocations is a scalar load per invocation with a bounds check per component, workgroup memory is
// barely cheaper, and barriers switch coroutines; the shared-tile kernel reads each K and V element
// once per query from workgroup memory as a scalar, after staging it with barriers.
// Here there is no staging and no barrier: each invocation owns 2 queries of one (batch, head,
// window) (slots 0, 1) and walks the window's real keys reading each K and V row once for both
// queries as vec4 (32 vec4 loads per key for 256 FMAs). The softmax is online and branch-free
// (running max; the output is rescaled every key). The padded keys cost a few scalar operations
// each: their own running max and sum, merged at the end (they share v = bias_v); q·rpw[·] is made
// once per query into workgroup memory (per invocation), q·rph[·] once per key row.
// The loops over d/4 run to p.d4 (not unrolled) except the V update, which is unrolled (HD/4):
// unrolling them all made llvmpipe's compile take 20-60 s for this shader, and was not faster
// (q and o then live in memory either way; with everything unrolled the CPU spills them). Measured
// alternatives (lavapipe, 2 cores): 4 queries per invocation, the QK loop unrolled, a leading
// barrier: no faster, some slower.
// A workgroup of 64 invocations owns the QPW = 128 real queries blk·128 + 64·r + li (slot r) of one
// (batch, head, window) (the windows' blocks are enumerated in order, as in
// attention_relpos.ts). Override: HD = d.
override HD: u32 = 64u;

const WG: u32 = 64u;
const QPW: u32 = 128u;
const NEG: f32 = -1.0e30;

struct Params { B: u32, S: u32, ws: u32, H: u32, C: u32, nw: u32, nblk: u32, scale: f32, d4: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> qkvb: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> rph: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> rpw: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> p: Params;

// q·rpw[qx − kx + ws − 1] of each invocation's 2 queries: [kx][li], slots in the vec2. ws ≤ 32.
var<workgroup> wrel: array<vec2<f32>, 2048>; // 32 * WG

// q and output rows of the 2 queries (d/4 vec4 each; d4 = d/4 in the params).
var<private> q0: array<vec4<f32>, 16>;
var<private> q1: array<vec4<f32>, 16>;
var<private> o0: array<vec4<f32>, 16>;
var<private> o1: array<vec4<f32>, 16>;

fn hsum(v: vec4<f32>) -> f32 { return (v.x + v.y) + (v.z + v.w); }

// The 2 queries against d floats of qkv from vec4 index base (one read of the row for both).
fn dots_qkv(base: u32) -> vec2<f32> {
  var s0 = vec4<f32>(0.0); var s1 = vec4<f32>(0.0);
  for (var i = 0u; i < p.d4; i++) {
    let k = qkv[base + i];
    s0 = fma(q0[i], k, s0); s1 = fma(q1[i], k, s1);
  }
  return vec2<f32>(hsum(s0), hsum(s1));
}

fn dots_bias(base: u32) -> vec2<f32> {
  var s0 = vec4<f32>(0.0); var s1 = vec4<f32>(0.0);
  for (var i = 0u; i < p.d4; i++) {
    let k = qkvb[base + i];
    s0 = fma(q0[i], k, s0); s1 = fma(q1[i], k, s1);
  }
  return vec2<f32>(hsum(s0), hsum(s1));
}

// Each query against its own row of rel_pos_h / rel_pos_w (vec4 index of the row start per slot).
fn dots_rph(r: vec2<u32>) -> vec2<f32> {
  var s0 = vec4<f32>(0.0); var s1 = vec4<f32>(0.0);
  for (var i = 0u; i < p.d4; i++) {
    s0 = fma(q0[i], rph[r.x + i], s0); s1 = fma(q1[i], rph[r.y + i], s1);
  }
  return vec2<f32>(hsum(s0), hsum(s1));
}

fn dots_rpw(r: vec2<u32>) -> vec2<f32> {
  var s0 = vec4<f32>(0.0); var s1 = vec4<f32>(0.0);
  for (var i = 0u; i < p.d4; i++) {
    s0 = fma(q0[i], rpw[r.x + i], s0); s1 = fma(q1[i], rpw[r.y + i], s1);
  }
  return vec2<f32>(hsum(s0), hsum(s1));
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let wid = wg.x + wg.y * nwg.x;
  if (wid >= p.B * p.H * p.nblk) { return; }
  let ws = p.ws;
  let S = p.S;
  let C4 = p.C / 4u;
  let C34 = 3u * C4;
  let D4 = HD / 4u;
  let h = (wid / p.nblk) % p.H;
  let b = wid / (p.nblk * p.H);
  let hoff4 = h * D4;

  // Which window this block belongs to: window w has ceil(rh·rw / QPW) blocks.
  var blk = wid % p.nblk;
  var wy = 0u;
  var wx = 0u;
  var rh = 0u;
  var rw = 0u;
  for (var w = 0u; w < p.nw * p.nw; w++) {
    wy = w / p.nw;
    wx = w - wy * p.nw;
    rh = min(ws, S - wy * ws);
    rw = min(ws, S - wx * ws);
    let nb = (rh * rw + QPW - 1u) / QPW;
    if (blk < nb) { break; }
    blk -= nb;
  }
  let nreal = rh * rw;
  let y0 = wy * ws;
  let x0 = wx * ws;
  let tokb = b * S * S;

  // The 2 queries; past nreal: computed on a valid token, not stored.
  let ql = vec2<u32>(blk * QPW + li) + vec2<u32>(0u, WG);
  let qc = min(ql, vec2<u32>(nreal - 1u));
  let qy = qc / vec2<u32>(rw);
  let qx = qc - qy * rw;
  let tok = vec2<u32>(tokb + x0) + (vec2<u32>(y0) + qy) * S + qx;
  let qb = tok * C34 + hoff4;
  for (var i = 0u; i < p.d4; i++) {
    q0[i] = qkv[qb.x + i]; q1[i] = qkv[qb.y + i];
    o0[i] = vec4<f32>(0.0); o1[i] = vec4<f32>(0.0);
  }
  // q·rpw[qx − kx + ws − 1] into workgroup memory.
  for (var kx = 0u; kx < ws; kx++) {
    wrel[kx * WG + li] = dots_rpw((qx + ws - 1u - kx) * D4);
  }
  let scale = p.scale;
  let qbk = dots_bias(C4 + hoff4) * scale; // scale · q·bias_k: the score of a padded key before its rel terms

  // Online softmax, the 2 queries in the vec2 components: real keys (m, l; o) and padded keys
  // (mp, lp; they share v = bias_v) apart.
  var m = vec2<f32>(NEG);
  var l = vec2<f32>(0.0);
  var mp = vec2<f32>(NEG);
  var lp = vec2<f32>(0.0);
  for (var ky = 0u; ky < ws; ky++) {
    let relh = dots_rph((qy + ws - 1u - ky) * D4);
    // Real keys of the row: kx < rw when ky < rh.
    var nrk = 0u;
    if (ky < rh) { nrk = rw; }
    let rowTok = (tokb + (y0 + ky) * S + x0) * C34 + hoff4;
    for (var kx = 0u; kx < nrk; kx++) {
      let kb = rowTok + kx * C34;
      let sc = dots_qkv(kb + C4) * scale + relh + wrel[kx * WG + li];
      let mn = max(m, sc);
      let c = exp(m - mn);
      let pr = exp(sc - mn);
      m = mn;
      l = l * c + pr;
      let vb = kb + 2u * C4;
      for (var i = 0u; i < D4; i++) {
        let v = qkv[vb + i];
        o0[i] = fma(vec4<f32>(pr.x), v, o0[i] * c.x);
        o1[i] = fma(vec4<f32>(pr.y), v, o1[i] * c.y);
      }
    }
    // Padded keys of the row: kx in [nrk, ws).
    for (var kx = nrk; kx < ws; kx++) {
      let sc = qbk + relh + wrel[kx * WG + li];
      let mn = max(mp, sc);
      lp = lp * exp(mp - mn) + exp(sc - mn);
      mp = mn;
    }
  }
  // Merge: out = (o·e^(m−M) + lp·e^(mp−M)·bias_v) / (l·e^(m−M) + lp·e^(mp−M)), M = max(m, mp).
  let mx = max(m, mp);
  let cr = exp(m - mx);
  let wp = lp * exp(mp - mx);
  let f = 1.0 / (l * cr + wp);
  let vbb = 2u * C4 + hoff4;
  let ob = tok * C4 + hoff4;
  let valid = ql < vec2<u32>(nreal);
  for (var i = 0u; i < p.d4; i++) {
    let bv = qkvb[vbb + i];
    if (valid.x) { out[ob.x + i] = fma(vec4<f32>(wp.x), bv, o0[i] * cr.x) * f.x; }
    if (valid.y) { out[ob.y + i] = fma(vec4<f32>(wp.y), bv, o1[i] * cr.y) * f.y; }
  }
}
