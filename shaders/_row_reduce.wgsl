// Max or sum over the TPR lanes (a power of two) that own one row, for the row-per-lane-group
// kernels (layernorm.wgsl, softmax.wgsl: a workgroup of 256 holds 256 / TPR rows, lane = li % TPR).
// Every lane gets the result. Call in uniform control flow. The includer declares TPR.
var<workgroup> red: array<f32, 256>;

fn row_reduce(li: u32, lane: u32, v: f32, is_max: bool) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var s = TPR / 2u; s > 0u; s = s >> 1u) {
    if (lane < s) {
      if (is_max) { red[li] = max(red[li], red[li + s]); } else { red[li] = red[li] + red[li + s]; }
    }
    workgroupBarrier();
  }
  let r = red[li - lane];
  workgroupBarrier();
  return r;
}
