// LayerNorm over the last dim (nn.LayerNorm), two-pass like PyTorch:
//   x [R, C] (every leading dim folded into R rows), g [C], b [C] -> y [R, C]
//   u = mean_c x, s = mean_c (x - u)^2, y = (x - u) / sqrt(s + eps) * g + b.
// TPR lanes (override: a power of two, 32..256) own one row and stride over its C values; a
// workgroup of 256 holds 256 / TPR rows. Each sum is reduced in workgroup memory, one segment of
// TPR slots per row. The linear workgroup index is folded over x and y (see grid()).
override TPR: u32 = 256u;

struct Params { rows: u32, C: u32, eps: f32, _pad: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> red: array<f32, 256>;

// Sum of `v` over the TPR lanes that own one row; every lane gets it. Uniform control flow.
fn row_sum(li: u32, lane: u32, v: f32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var s = TPR / 2u; s > 0u; s = s >> 1u) {
    if (lane < s) { red[li] = red[li] + red[li + s]; }
    workgroupBarrier();
  }
  let r = red[li - lane];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let lane = li % TPR;
  let row = (wg.x + wg.y * nwg.x) * (256u / TPR) + li / TPR;
  let C = p.C;
  let live = row < p.rows;
  let base = row * C;

  var s = 0.0;
  if (live) { for (var c = lane; c < C; c += TPR) { s += x[base + c]; } }
  let mean = row_sum(li, lane, s) / f32(C);

  var q = 0.0;
  if (live) { for (var c = lane; c < C; c += TPR) { let d = x[base + c] - mean; q += d * d; } }
  let rstd = inverseSqrt(row_sum(li, lane, q) / f32(C) + p.eps);

  if (live) {
    for (var c = lane; c < C; c += TPR) { y[base + c] = (x[base + c] - mean) * rstd * g[c] + b[c]; }
  }
}
