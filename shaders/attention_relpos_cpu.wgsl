// SAM image-encoder attention with the decomposed relative-position bias, windowed or global, for
// SOFTWARE adapters (lavapipe / llvmpipe, SwiftShader); same inputs, output and maths as
// attention_relpos.wgsl (see there; f16 storage in the twin, the maths in f32):
//   qkv  [B, S·S, 3·C]   q at h·d+i, k at C+h·d+i, v at 2C+h·d+i of token y·S+x (bias included)
//   qkvb [3·C]           the qkv Linear's bias: k and v of the zero-padded tokens
//   rph, rpw [2·ws−1, d] rel_pos_h, rel_pos_w
//   out  [B, S·S, C]
//   score(q, key (ky, kx)) = scale·q·k + q·rph(qy−ky+ws−1) + q·rpw(qx−kx+ws−1); padded keys: k = bias_k,
//   v = bias_v. d % 4 == 0 (qkv, the tables and out are read and written as vec4), d ≤ 64.
// Why a second kernel: on a CPU "GPU" (Mesa 25 llvmpipe) every load whose address differs between
// invocations is a scalar load per invocation with a bounds check per component, workgroup memory is
// barely cheaper, and barriers switch coroutines; the shared-tile kernel reads each K and V element
// once per query from workgroup memory as a scalar, after staging it with barriers.
// Here there is no staging and no barrier: each invocation owns 4 queries of one (batch, head,
// window) (slots 0..3, the vec4 components of m, l, scores) and walks the window's real keys 4 at a
// time, reading each K and V row once for the 4 queries as vec4 (per 4 keys: 32 vec4 loads of K and
// V and 16 of q for 1024 FMAs). The softmax is online and branch-free (running max, the output
// rescaled once per 4 keys; a block's keys past the row end repeat the last key with weight 0).
// The padded keys cost a few scalar operations each: their own running max and sum, merged at the
// end (they share v = bias_v); q·rpw(·) is made once per query into workgroup memory (per
// invocation), q·rph(·) once per key row.
// The loops over d/4 run to p.d4, not unrolled (q and o stay in memory, read per invocation):
// unrolling them made llvmpipe's compile take 7 s (the V loop) to 60 s (all of them; the 1-key
// version) for at most 10 % of speed. Measured on lavapipe (2 cores, model shapes, CPU time):
// 1 key × 2 queries per step 24 ms (global) / 25 ms (windowed); 4 keys × 2 queries 16 / 20;
// 4 keys × 4 queries 13 / 16 (this; 12 / 14 with the V loop unrolled); the shared-tile kernel 104 / 67.
// A workgroup of 32 invocations owns the QPW = 128 real queries blk·128 + 32·r + li (slot r) of one
// (batch, head, window) (the windows' blocks are enumerated in order, as in
// attention_relpos.ts). Override: HD = d.
override HD: u32 = 64u;
#include "_storage.wgsl"

const WG: u32 = 32u;
const QPW: u32 = 128u;
const NEG: f32 = -1.0e30;

#include "_window_block.wgsl"

struct Params { B: u32, S: u32, ws: u32, H: u32, C: u32, nw: u32, nblk: u32, scale: f32, d4: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<storage, read> qkv_: array<st4>;
@group(0) @binding(1) var<storage, read> qkvb_: array<st4>;
@group(0) @binding(2) var<storage, read> rph_: array<st4>;
@group(0) @binding(3) var<storage, read> rpw_: array<st4>;
@group(0) @binding(4) var<storage, read_write> out: array<st4>;

// The bindings' vec4s as f32 (a conversion in the f16 twin).
fn qkv(i: u32) -> vec4<f32> { return vec4<f32>(qkv_[i]); }
fn qkvb(i: u32) -> vec4<f32> { return vec4<f32>(qkvb_[i]); }
fn rph(i: u32) -> vec4<f32> { return vec4<f32>(rph_[i]); }
fn rpw(i: u32) -> vec4<f32> { return vec4<f32>(rpw_[i]); }
@group(0) @binding(5) var<uniform> p: Params;

// q·rpw(qx − kx + ws − 1) of each invocation's 4 queries: [kx][li], slots in the vec4. ws ≤ 32.
var<workgroup> wrel: array<vec4<f32>, 1024>; // 32 * WG

// q and output rows of the 4 queries (d/4 vec4 each; d4 = d/4 in the params).
var<private> q0: array<vec4<f32>, 16>;
var<private> q1: array<vec4<f32>, 16>;
var<private> q2: array<vec4<f32>, 16>;
var<private> q3: array<vec4<f32>, 16>;
var<private> o0: array<vec4<f32>, 16>;
var<private> o1: array<vec4<f32>, 16>;
var<private> o2: array<vec4<f32>, 16>;
var<private> o3: array<vec4<f32>, 16>;

fn hsum(v: vec4<f32>) -> f32 { return (v.x + v.y) + (v.z + v.w); }

// The 4 queries against 4 keys' rows of qkv (vec4 index bases b.x..b.w): [key j] = (q_r · k_j)_r.
fn dots4(b: vec4<u32>) -> array<vec4<f32>, 4> {
  var t0 = vec4<f32>(0.0); var t1 = vec4<f32>(0.0); var t2 = vec4<f32>(0.0); var t3 = vec4<f32>(0.0);
  for (var i = 0u; i < p.d4; i++) {
    let k0 = qkv(b.x + i); let k1 = qkv(b.y + i); let k2 = qkv(b.z + i); let k3 = qkv(b.w + i);
    let a0 = q0[i];
    t0.x += dot(a0, k0); t1.x += dot(a0, k1); t2.x += dot(a0, k2); t3.x += dot(a0, k3);
    let a1 = q1[i];
    t0.y += dot(a1, k0); t1.y += dot(a1, k1); t2.y += dot(a1, k2); t3.y += dot(a1, k3);
    let a2 = q2[i];
    t0.z += dot(a2, k0); t1.z += dot(a2, k1); t2.z += dot(a2, k2); t3.z += dot(a2, k3);
    let a3 = q3[i];
    t0.w += dot(a3, k0); t1.w += dot(a3, k1); t2.w += dot(a3, k2); t3.w += dot(a3, k3);
  }
  return array<vec4<f32>, 4>(t0, t1, t2, t3);
}

fn dots_bias(base: u32) -> vec4<f32> {
  var s0 = vec4<f32>(0.0); var s1 = vec4<f32>(0.0); var s2 = vec4<f32>(0.0); var s3 = vec4<f32>(0.0);
  for (var i = 0u; i < p.d4; i++) {
    let k = qkvb(base + i);
    s0 = fma(q0[i], k, s0); s1 = fma(q1[i], k, s1); s2 = fma(q2[i], k, s2); s3 = fma(q3[i], k, s3);
  }
  return vec4<f32>(hsum(s0), hsum(s1), hsum(s2), hsum(s3));
}

// Each query against its own row of rel_pos_h / rel_pos_w (vec4 index of the row start per slot).
fn dots_rph(r: vec4<u32>) -> vec4<f32> {
  var s0 = vec4<f32>(0.0); var s1 = vec4<f32>(0.0); var s2 = vec4<f32>(0.0); var s3 = vec4<f32>(0.0);
  for (var i = 0u; i < p.d4; i++) {
    s0 = fma(q0[i], rph(r.x + i), s0); s1 = fma(q1[i], rph(r.y + i), s1);
    s2 = fma(q2[i], rph(r.z + i), s2); s3 = fma(q3[i], rph(r.w + i), s3);
  }
  return vec4<f32>(hsum(s0), hsum(s1), hsum(s2), hsum(s3));
}

fn dots_rpw(r: vec4<u32>) -> vec4<f32> {
  var s0 = vec4<f32>(0.0); var s1 = vec4<f32>(0.0); var s2 = vec4<f32>(0.0); var s3 = vec4<f32>(0.0);
  for (var i = 0u; i < p.d4; i++) {
    s0 = fma(q0[i], rpw(r.x + i), s0); s1 = fma(q1[i], rpw(r.y + i), s1);
    s2 = fma(q2[i], rpw(r.z + i), s2); s3 = fma(q3[i], rpw(r.w + i), s3);
  }
  return vec4<f32>(hsum(s0), hsum(s1), hsum(s2), hsum(s3));
}

@compute @workgroup_size(32)
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

  // Which window this block belongs to.
  let wb = window_block(wid % p.nblk, p.nw, ws, S, QPW);
  let blk = wb.blk;
  let wy = wb.wy;
  let wx = wb.wx;
  let rh = wb.rh;
  let rw = wb.rw;
  let nreal = rh * rw;
  let y0 = wy * ws;
  let x0 = wx * ws;
  let tokb = b * S * S;

  // The 4 queries; past nreal: computed on a valid token, not stored.
  let ql = vec4<u32>(blk * QPW + li) + vec4<u32>(0u, WG, 2u * WG, 3u * WG);
  let qc = min(ql, vec4<u32>(nreal - 1u));
  let qy = qc / vec4<u32>(rw);
  let qx = qc - qy * rw;
  let tok = vec4<u32>(tokb + x0) + (vec4<u32>(y0) + qy) * S + qx;
  let qb = tok * C34 + hoff4;
  for (var i = 0u; i < p.d4; i++) {
    q0[i] = qkv(qb.x + i); q1[i] = qkv(qb.y + i); q2[i] = qkv(qb.z + i); q3[i] = qkv(qb.w + i);
    o0[i] = vec4<f32>(0.0); o1[i] = vec4<f32>(0.0); o2[i] = vec4<f32>(0.0); o3[i] = vec4<f32>(0.0);
  }
  // q·rpw(qx − kx + ws − 1) into workgroup memory.
  for (var kx = 0u; kx < ws; kx++) {
    wrel[kx * WG + li] = dots_rpw((qx + ws - 1u - kx) * D4);
  }
  let scale = p.scale;
  let qbk = dots_bias(C4 + hoff4) * scale; // scale · q·bias_k: the score of a padded key before its rel terms

  // Online softmax, the 4 queries in the vec4 components: real keys (m, l; o) and padded keys
  // (mp, lp; they share v = bias_v) apart.
  var m = vec4<f32>(NEG);
  var l = vec4<f32>(0.0);
  var mp = vec4<f32>(NEG);
  var lp = vec4<f32>(0.0);
  for (var ky = 0u; ky < ws; ky++) {
    let relh = dots_rph((qy + ws - 1u - ky) * D4);
    // Real keys of the row: kx < rw when ky < rh.
    var nrk = 0u;
    if (ky < rh) { nrk = rw; }
    let rowTok = (tokb + (y0 + ky) * S + x0) * C34 + hoff4;
    // Real keys in blocks of 4 (past nrk: the last key again, with weight 0).
    for (var kx0 = 0u; kx0 < nrk; kx0 += 4u) {
      let kxs = min(vec4<u32>(kx0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(nrk - 1u));
      let kb = vec4<u32>(rowTok) + kxs * C34;
      let d = dots4(kb + C4);
      let s0 = d[0] * scale + relh + wrel[kxs.x * WG + li];
      let s1 = select(vec4<f32>(NEG), d[1] * scale + relh + wrel[kxs.y * WG + li], kx0 + 1u < nrk);
      let s2 = select(vec4<f32>(NEG), d[2] * scale + relh + wrel[kxs.z * WG + li], kx0 + 2u < nrk);
      let s3 = select(vec4<f32>(NEG), d[3] * scale + relh + wrel[kxs.w * WG + li], kx0 + 3u < nrk);
      let mn = max(m, max(max(s0, s1), max(s2, s3)));
      let c = exp(m - mn);
      let p0 = exp(s0 - mn); let p1 = exp(s1 - mn); let p2 = exp(s2 - mn); let p3 = exp(s3 - mn);
      m = mn;
      l = l * c + ((p0 + p1) + (p2 + p3));
      let vb = kb + 2u * C4;
      for (var i = 0u; i < p.d4; i++) {
        let v0 = qkv(vb.x + i); let v1 = qkv(vb.y + i); let v2 = qkv(vb.z + i); let v3 = qkv(vb.w + i);
        o0[i] = fma(vec4<f32>(p3.x), v3, fma(vec4<f32>(p2.x), v2, fma(vec4<f32>(p1.x), v1, fma(vec4<f32>(p0.x), v0, o0[i] * c.x))));
        o1[i] = fma(vec4<f32>(p3.y), v3, fma(vec4<f32>(p2.y), v2, fma(vec4<f32>(p1.y), v1, fma(vec4<f32>(p0.y), v0, o1[i] * c.y))));
        o2[i] = fma(vec4<f32>(p3.z), v3, fma(vec4<f32>(p2.z), v2, fma(vec4<f32>(p1.z), v1, fma(vec4<f32>(p0.z), v0, o2[i] * c.z))));
        o3[i] = fma(vec4<f32>(p3.w), v3, fma(vec4<f32>(p2.w), v2, fma(vec4<f32>(p1.w), v1, fma(vec4<f32>(p0.w), v0, o3[i] * c.w))));
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
  let valid = ql < vec4<u32>(nreal);
  for (var i = 0u; i < p.d4; i++) {
    let bv = qkvb(vbb + i);
    if (valid.x) { out[ob.x + i] = st4(fma(vec4<f32>(wp.x), bv, o0[i] * cr.x) * f.x); }
    if (valid.y) { out[ob.y + i] = st4(fma(vec4<f32>(wp.y), bv, o1[i] * cr.y) * f.y); }
    if (valid.z) { out[ob.z + i] = st4(fma(vec4<f32>(wp.z), bv, o2[i] * cr.z) * f.z); }
    if (valid.w) { out[ob.w + i] = st4(fma(vec4<f32>(wp.w), bv, o3[i] * cr.w) * f.w); }
  }
}
