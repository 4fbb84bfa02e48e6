// The frame of a kernel in which one invocation owns one output element, y[i] = element(i) for
// i < p.n: x (read) at binding 0, y at binding 1, the includer's Params (with n, the element count)
// at binding 2; workgroups of 256, the linear index folded over x and y (see grid()). The includer
// declares Params and defines fn element(i: u32) -> f32.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * nwg.x) * 256u + li;
  if (i >= p.n) { return; }
  y[i] = element(i);
}
