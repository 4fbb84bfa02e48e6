// LayerNorm over the last dim (nn.LayerNorm), two-pass like PyTorch (f16 storage in the twin; statistics
// in f32):
//   x [R, C] (every leading dim folded into R rows), g [C], b [C] -> y [R, C]
//   u = mean_c x, s = mean_c (x - u)^2, y = (x - u) / sqrt(s + eps) * g + b.
// TPR lanes (override: a power of two, 32..256) own one row and stride over its C values; a
// workgroup of 256 holds 256 / TPR rows. Each sum is reduced over the row's TPR lanes
// (_reduce.wgsl: a tree in workgroup memory; subgroup operations in layernorm_sg). The linear workgroup index is folded over x and y (see grid()).
override TPR: u32 = 256u;
#include "_storage.wgsl"
#include "_reduce.wgsl"

struct Params { rows: u32, C: u32, eps: f32, _pad: u32 }
@group(0) @binding(0) var<storage, read> x: array<st>;
@group(0) @binding(1) var<storage, read> g: array<st>;
@group(0) @binding(2) var<storage, read> b: array<st>;
@group(0) @binding(3) var<storage, read_write> y: array<st>;
@group(0) @binding(4) var<uniform> p: Params;


@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        ln: Lane) {
  let li = ln.li;
  let sw = subgroup_width(ln);
  let lane = li % TPR;
  let row = (wg.x + wg.y * nwg.x) * (256u / TPR) + li / TPR;
  let C = p.C;
  let live = row < p.rows;
  let base = row * C;

  var s = 0.0;
  if (live) { for (var c = lane; c < C; c += TPR) { s += f32(x[base + c]); } }
  let mean = group_sum(ln, sw, TPR, s) / f32(C);

  var q = 0.0;
  if (live) { for (var c = lane; c < C; c += TPR) { let d = f32(x[base + c]) - mean; q += d * d; } }
  let rstd = inverseSqrt(group_sum(ln, sw, TPR, q) / f32(C) + p.eps);

  if (live) {
    for (var c = lane; c < C; c += TPR) { y[base + c] = st((f32(x[base + c]) - mean) * rstd * f32(g[c]) + f32(b[c])); }
  }
}
