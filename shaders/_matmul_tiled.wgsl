// The body of the tiled GEMM: matmul.wgsl (B of A's dtype) and matmul_f16w.wgsl (f32 A, packed f16
// B). The including file declares the storage alias st (A, bias, R and C are arrays of st), B at
// binding 1 and `fn loadB(e: u32) -> f32`, B's element e (a flat index) as f32.
// PLUS = 1: the output columns n < p.plusN (a multiple of 64: whole tiles) read A + A2, A2 [plusRows,
// K] row-major and shared by the batch (row m takes A2's row m % plusRows): a query or key PE added
// to the input of the projections that take it (the mask decoder's q/k/v stacked in one GEMM).
override TRANS_B: u32 = 0u;
override PLUS: u32 = 0u;
override BIAS: u32 = 0u;
override ACT: u32 = 0u;
override RESIDUAL: u32 = 0u;
override ROWS: u32 = 64u; // tile rows: 64 (16×16 invocations) or 32 (16×8), for more workgroups

struct Params { M: u32, N: u32, K: u32, sA: u32, sB: u32, plusN: u32, plusRows: u32, _p0: u32 }
@group(0) @binding(0) var<storage, read> A: array<st>;
@group(0) @binding(2) var<storage, read> bias: array<st>;
@group(0) @binding(3) var<storage, read> R: array<st>;
@group(0) @binding(4) var<storage, read> A2: array<st>;
@group(0) @binding(5) var<storage, read_write> C: array<st>;
@group(0) @binding(6) var<uniform> p: Params;

#include "_gemm_tile.wgsl"
#include "_matmul_tile_k.wgsl"

@compute @workgroup_size(16, ROWS / 4u)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let M = p.M; let N = p.N; let K = p.K;
  let m0 = wg.y * ROWS;
  let n0 = wg.x * TS;
  var acc: array<vec4<f32>, 4>;
  tile_k(&acc, m0, n0, wg.z * p.sA, wg.z * p.sB, li, lid, 0u, K);

  let cBase = wg.z * M * N;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + lid.y * 4u + i;
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + lid.x * 4u + j;
      if (m >= M || n >= N) { continue; }
      var v = acc[i][j];
      if (BIAS == 1u) { v += f32(bias[n]); }
      if (ACT == 1u) { v = max(v, 0.0); } else if (ACT == 2u) { v = gelu(v); }
      let o = cBase + m * N + n;
      if (RESIDUAL == 1u) { v += f32(R[o]); }
      C[o] = st(v);
    }
  }
}
