// SAM's LayerNorm2d (+ GELU) for software adapters (llvmpipe, SwiftShader); layernorm.ts picks it
// there (see NormPath). Same math as layernorm2d.wgsl, two-pass like PyTorch:
//   x [N, C, H, W], g [C], b [C] -> y [N, C, H, W], H·W % 4 == 0.
// One invocation owns 4 consecutive pixels (one vec4 of each channel plane) and walks the
// channels: no workgroup memory and no barriers (slow coroutine switches on a CPU adapter).
#include "_erf.wgsl"
#include "_storage.wgsl"
override ACT: u32 = 0u;  // 0: none, 1: GELU

struct Params { total: u32, C: u32, HW4: u32, eps: f32 }
@group(0) @binding(0) var<storage, read> x: array<st4>;
@group(0) @binding(1) var<storage, read> g: array<st>;
@group(0) @binding(2) var<storage, read> b: array<st>;
@group(0) @binding(3) var<storage, read_write> y: array<st4>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * nwg.x) * 64u + li;  // (image, pixel quad)
  if (i >= p.total) { return; }
  let C = p.C;
  let HW4 = p.HW4;
  let img = i / HW4;
  let base = img * C * HW4 + (i - img * HW4);
  let n = f32(C);

  var s = vec4<f32>(0.0);
  for (var c = 0u; c < C; c++) { s += vec4<f32>(x[base + c * HW4]); }
  let mean = s / n;

  var q = vec4<f32>(0.0);
  for (var c = 0u; c < C; c++) { let d = vec4<f32>(x[base + c * HW4]) - mean; q += d * d; }
  let rstd = inverseSqrt(q / n + vec4<f32>(p.eps));

  for (var c = 0u; c < C; c++) {
    var v = (vec4<f32>(x[base + c * HW4]) - mean) * rstd * f32(g[c]) + f32(b[c]);
    if (ACT == 1u) { v = vec4<f32>(gelu(v.x), gelu(v.y), gelu(v.z), gelu(v.w)); }
    y[base + c * HW4] = st4(v);
  }
}
