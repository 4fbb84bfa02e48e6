// Reductions over aligned groups of G consecutive invocations of a 1-D workgroup (G a power of two,
// 1 ≤ G ≤ 256, at most the workgroup size): every invocation gets its group's result. This version
// reduces in workgroup memory (a tree); a kernel that includes it has a variant <name>_sg that
// includes _reduce_sg.wgsl instead (subgroup operations). The kernel's entry point takes `lane: Lane`
// and, in uniform control flow, first `let sw = subgroup_width(lane);` (here always 0: no subgroups),
// then calls group_sum(lane, sw, G, v) / group_max(…) in uniform control flow.
struct Lane { @builtin(local_invocation_index) li: u32 }
#include "_reduce_tree.wgsl"

fn subgroup_width(lane: Lane) -> u32 { return 0u; }
fn group_sum(lane: Lane, sw: u32, G: u32, v: f32) -> f32 { return tree_sum(lane.li, G, v); }
fn group_max(lane: Lane, sw: u32, G: u32, v: f32) -> f32 { return tree_max(lane.li, G, v); }
