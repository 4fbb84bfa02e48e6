// LayerNorm over the last dim for software adapters (llvmpipe, SwiftShader); layernorm.ts picks it
// there (see NormPath). Same math as layernorm.wgsl, two-pass like PyTorch:
//   x [R, C] (leading dims folded into R rows), g [C], b [C] -> y [R, C], C % 4 == 0.
// One invocation owns one row and walks it in vec4s: no workgroup memory and no barriers, which a
// CPU adapter runs as slow coroutine switches (the workgroup kernel spent ~7 ms on one [256, 768]
// LayerNorm on lavapipe). On a real GPU this would be uncoalesced: it is not used there.
#include "_storage.wgsl"
struct Params { rows: u32, C4: u32, eps: f32, _pad: u32 }
@group(0) @binding(0) var<storage, read> x: array<st4>;
@group(0) @binding(1) var<storage, read> g: array<st4>;
@group(0) @binding(2) var<storage, read> b: array<st4>;
@group(0) @binding(3) var<storage, read_write> y: array<st4>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let row = (wg.x + wg.y * nwg.x) * 64u + li;
  if (row >= p.rows) { return; }
  let C4 = p.C4;
  let base = row * C4;
  let n = f32(4u * C4);

  var s = vec4<f32>(0.0);
  for (var c = 0u; c < C4; c++) { s += vec4<f32>(x[base + c]); }
  let mean = (s.x + s.y + s.z + s.w) / n;

  var q = vec4<f32>(0.0);
  for (var c = 0u; c < C4; c++) { let d = vec4<f32>(x[base + c]) - mean; q += d * d; }
  let rstd = inverseSqrt((q.x + q.y + q.z + q.w) / n + p.eps);

  for (var c = 0u; c < C4; c++) { y[base + c] = st4((vec4<f32>(x[base + c]) - mean) * rstd * vec4<f32>(g[c]) + vec4<f32>(b[c])); }
}
