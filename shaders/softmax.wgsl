// Softmax over the last dim, max-subtracted:
//   x [R, L] (every leading dim folded into R rows) -> y [R, L], y = exp(x - max) / sum exp(x - max).
// TPR lanes (override: a power of two, 32..256) own one row and stride over its L values; a
// workgroup of 256 holds 256 / TPR rows. Max and sum are reduced in workgroup memory, one segment
// of TPR slots per row. The linear workgroup index is folded over x and y (see grid()).
override TPR: u32 = 256u;

struct Params { rows: u32, L: u32, _pad0: u32, _pad1: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

#include "_row_reduce.wgsl"

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let lane = li % TPR;
  let row = (wg.x + wg.y * nwg.x) * (256u / TPR) + li / TPR;
  let L = p.L;
  let live = row < p.rows;
  let base = row * L;

  var m = -3.402823e38;
  if (live) { for (var c = lane; c < L; c += TPR) { m = max(m, x[base + c]); } }
  m = row_reduce(li, lane, m, true);

  var s = 0.0;
  if (live) { for (var c = lane; c < L; c += TPR) { s += exp(x[base + c] - m); } }
  let inv = 1.0 / row_reduce(li, lane, s, false);

  if (live) {
    for (var c = lane; c < L; c += TPR) { y[base + c] = exp(x[base + c] - m) * inv; }
  }
}
