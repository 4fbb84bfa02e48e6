// SAM's LayerNorm2d: per pixel over the channels, optionally followed by GELU (exact erf form).
//   x [N, C, H, W], g [C], b [C] -> y [N, C, H, W]
//   u = mean_c x, s = mean_c (x - u)^2, y = act((x - u) / sqrt(s + eps) * g[c] + b[c]).
//   p.act: 0 none, 1 GELU (a params field, not an override: a uniform branch of the epilogue, so
//   that both take one pipeline).
// A workgroup of 256 owns PX consecutive pixels of one image (override PX: a power of two,
// 16..256) and splits the channels in CS = 256 / PX slices: invocation li owns pixel li % PX and
// channels c = li / PX + k * CS. Consecutive invocations read consecutive pixels of one channel
// plane, so every load is coalesced. Per-pixel sums are reduced over the slices in workgroup
// memory. The linear workgroup index (image, pixel block) is folded over x and y (see grid()).
#include "_erf.wgsl"
#include "_storage.wgsl"
override PX: u32 = 32u;

struct Params { C: u32, HW: u32, blocks: u32, total: u32, eps: f32, act: u32, _pad1: u32, _pad2: u32 }
@group(0) @binding(0) var<storage, read> x: array<st>;
@group(0) @binding(1) var<storage, read> g: array<st>;
@group(0) @binding(2) var<storage, read> b: array<st>;
@group(0) @binding(3) var<storage, read_write> y: array<st>;
@group(0) @binding(4) var<uniform> p: Params;

override CS: u32 = 256u / PX;
var<workgroup> red: array<f32, 256>;

// Sum of `v` over the CS channel slices of pixel `px`; every slice gets it. Uniform control flow.
fn pixel_sum(li: u32, px: u32, cs: u32, v: f32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var s = CS / 2u; s > 0u; s = s >> 1u) {
    if (cs < s) { red[li] = red[li] + red[li + s * PX]; }
    workgroupBarrier();
  }
  let r = red[px];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let wgi = wg.x + wg.y * nwg.x;
  if (wgi >= p.total) { return; }  // uniform per workgroup: grid padding
  let n = wgi / p.blocks;
  let px = li % PX;
  let cs = li / PX;
  let pix = (wgi % p.blocks) * PX + px;
  let C = p.C;
  let HW = p.HW;
  let live = pix < HW;
  let base = n * C * HW + pix;

  var s = 0.0;
  if (live) { for (var c = cs; c < C; c += CS) { s += f32(x[base + c * HW]); } }
  let mean = pixel_sum(li, px, cs, s) / f32(C);

  var q = 0.0;
  if (live) { for (var c = cs; c < C; c += CS) { let d = f32(x[base + c * HW]) - mean; q += d * d; } }
  let rstd = inverseSqrt(pixel_sum(li, px, cs, q) / f32(C) + p.eps);

  if (live) {
    for (var c = cs; c < C; c += CS) {
      var v = (f32(x[base + c * HW]) - mean) * rstd * f32(g[c]) + f32(b[c]);
      if (p.act == 1u) { v = gelu(v); }
      y[base + c * HW] = st(v);
    }
  }
}
