// _reduce.wgsl with subgroup operations (`enable subgroups`; the device feature 'subgroups'): within a
// subgroup a butterfly of subgroupShuffleXor (G ≤ the subgroup size) or subgroupAdd / subgroupMax
// (G larger: the subgroups' results then combined in workgroup memory). This needs every subgroup to
// be an aligned run of consecutive local_invocation_index values, which the 1-D workgroups of common
// GPUs give but WGSL does not promise: subgroup_width checks it across the workgroup once and gives
// 0 where it fails, and the reductions then take the tree of _reduce_tree.wgsl.
struct Lane {
  @builtin(local_invocation_index) li: u32,
  @builtin(subgroup_size) size: u32,
  @builtin(subgroup_invocation_id) id: u32,
}
#include "_reduce_tree.wgsl"
var<workgroup> width_: u32;

// The subgroup size, as a workgroup-uniform value, or 0 where the subgroups are not aligned runs.
// Call once, first, in uniform control flow.
fn subgroup_width(lane: Lane) -> u32 {
  let first = subgroupBroadcastFirst(lane.li);
  let ok = subgroupAll(lane.li == first + lane.id && first % lane.size == 0u);
  if (lane.li == 0u) { width_ = lane.size; }
  workgroupBarrier();
  if (!ok) { width_ = 0u; }
  return workgroupUniformLoad(&width_);
}

fn group_sum(lane: Lane, sw: u32, G: u32, v: f32) -> f32 {
  if (sw == 0u) { return tree_sum(lane.li, G, v); }
  if (G <= sw) {
    var s = v;
    for (var m = 1u; m < G; m = m << 1u) { s += subgroupShuffleXor(s, m); }
    return s;
  }
  let t = subgroupAdd(v);
  if (lane.id == 0u) { red_[lane.li / sw] = t; }
  workgroupBarrier();
  let per = G / sw;
  let g0 = (lane.li / G) * per;
  var s = 0.0;
  for (var k = 0u; k < per; k++) { s += red_[g0 + k]; }
  workgroupBarrier();
  return s;
}

fn group_max(lane: Lane, sw: u32, G: u32, v: f32) -> f32 {
  if (sw == 0u) { return tree_max(lane.li, G, v); }
  if (G <= sw) {
    var s = v;
    for (var m = 1u; m < G; m = m << 1u) { s = max(s, subgroupShuffleXor(s, m)); }
    return s;
  }
  let t = subgroupMax(v);
  if (lane.id == 0u) { red_[lane.li / sw] = t; }
  workgroupBarrier();
  let per = G / sw;
  let g0 = (lane.li / G) * per;
  var s = t;
  for (var k = 0u; k < per; k++) { s = max(s, red_[g0 + k]); }
  workgroupBarrier();
  return s;
}
