// Group reductions in workgroup memory, a tree over log2(G) steps (_reduce.wgsl, _reduce_sg.wgsl).
var<workgroup> red_: array<f32, 256>;

fn tree_sum(li: u32, G: u32, v: f32) -> f32 {
  red_[li] = v;
  workgroupBarrier();
  for (var w = G / 2u; w > 0u; w = w >> 1u) {
    if (li % G < w) { red_[li] += red_[li + w]; }
    workgroupBarrier();
  }
  let r = red_[li - li % G];
  workgroupBarrier();
  return r;
}

fn tree_max(li: u32, G: u32, v: f32) -> f32 {
  red_[li] = v;
  workgroupBarrier();
  for (var w = G / 2u; w > 0u; w = w >> 1u) {
    if (li % G < w) { red_[li] = max(red_[li], red_[li + w]); }
    workgroupBarrier();
  }
  let r = red_[li - li % G];
  workgroupBarrier();
  return r;
}
