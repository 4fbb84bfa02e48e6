// f32 → f16 (the DType 'f16' layout, gpu/tensor.ts): y[i] = f16(x[i]), i < n; the conversion at the
// boundaries of a precision 'f16-compute' plan (its f32 inputs). A value beyond ±65504 becomes ±Inf.
// One invocation owns 4 consecutive elements; the linear workgroup index is folded over x and y.
enable f16;

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f16>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i0 = ((wg.x + wg.y * nwg.x) * 256u + li) * 4u;
  for (var i = i0; i < min(i0 + 4u, p.n); i++) { y[i] = f16(x[i]); }
}
