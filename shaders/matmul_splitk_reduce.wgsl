// Split-K GEMM, second pass: C[b, m, n] = act(Σ_s P[s, b, m, n] + bias[n]) + R[b, m, n] (the epilogue
// of matmul.wgsl), P the S partial sums of _matmul_splitk.wgsl (f32) [S, batch·M·N], C and R
// [batch, M, N] (f32, or f16 in the twin). BIAS, ACT, RESIDUAL as in matmul.wgsl. One invocation owns
// one element of C; the linear workgroup index is folded over x and y.
#include "_erf.wgsl"
#include "_storage.wgsl"
override BIAS: u32 = 0u;
override ACT: u32 = 0u;
override RESIDUAL: u32 = 0u;

struct Params { n: u32, N: u32, S: u32, _p0: u32 }
@group(0) @binding(0) var<storage, read> P: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<st>;
@group(0) @binding(2) var<storage, read> R: array<st>;
@group(0) @binding(3) var<storage, read_write> C: array<st>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * nwg.x) * 256u + li;
  if (i >= p.n) { return; }
  var v = 0.0;
  for (var s = 0u; s < p.S; s++) { v += P[s * p.n + i]; }
  if (BIAS == 1u) { v += f32(bias[i % p.N]); }
  if (ACT == 1u) { v = max(v, 0.0); } else if (ACT == 2u) { v = gelu(v); }
  if (RESIDUAL == 1u) { v += f32(R[i]); }
  C[i] = st(v);
}
