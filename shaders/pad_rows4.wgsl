// The rows of x [R, K] zero-padded to K4 columns (K rounded up to a multiple of 4), as vec4s:
//   y [R, K4 / 4] of vec4, y[r, k4][u] = x[r, 4·k4 + u] where 4·k4 + u < K, else 0.
// For the software-adapter conv2d path (conv2d.ts): a weight [O, C·kh·kw] with K % 4 != 0 (the
// ResNet stem's 7×7×3 = 147), so that matmul_cpu.wgsl can read it as vec4 rows.
// One invocation owns one vec4 of y: column k4 = wg.x·16 + li of row wg.y.
struct Params { K: u32, K4: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let k4 = wg.x * 16u + li;
  if (k4 >= p.K4 / 4u) { return; }
  var v = vec4<f32>(0.0);
  let base = wg.y * p.K;
  for (var u = 0u; u < 4u; u++) {
    let k = 4u * k4 + u;
    if (k < p.K) { v[u] = x[base + k]; }
  }
  y[wg.y * (p.K4 / 4u) + k4] = v;
}
