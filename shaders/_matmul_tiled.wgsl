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

@compute @workgroup_size(16, ROWS / 4u)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let M = p.M; let N = p.N; let K = p.K;
  let m0 = wg.y * ROWS;
  let n0 = wg.x * TS;
  let aBase = wg.z * p.sA;
  let bBase = wg.z * p.sB;
  // Loader roles, k fastest across invocations so that each row segment is read contiguously.
  let lk = li % TK;      // k within the slice, for loads along K
  let l4 = li / TK;      // group of 4 rows (0 .. ROWS/4 − 1); B's 64 rows take 64/ROWS passes
  let ln4 = li % 16u;    // group of 4 columns, for K-major B loads (k row l4)
  let plus = PLUS == 1u && n0 < p.plusN; // uniform per workgroup
  var acc: array<vec4<f32>, 4>;
  for (var i = 0u; i < 4u; i++) { acc[i] = vec4<f32>(0.0); }

  for (var k0 = 0u; k0 < K; k0 += TK) {
    let gk = k0 + lk;
    var va = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
      let m = m0 + l4 * 4u + j;
      if (m < M && gk < K) {
        va[j] = f32(A[aBase + m * K + gk]);
        if (plus) { va[j] += f32(A2[(m % p.plusRows) * K + gk]); }
      }
    }
    As[lk * LD + l4] = va;
    for (var q = 0u; q < TS / ROWS; q++) {
      let g = l4 + q * (ROWS / 4u);
      var vb = vec4<f32>(0.0);
      if (TRANS_B == 1u) {
        for (var j = 0u; j < 4u; j++) {
          let n = n0 + g * 4u + j;
          if (n < N && gk < K) { vb[j] = loadB(bBase + n * K + gk); }
        }
        Bs[lk * LD + g] = vb;
      } else {
        let kb = k0 + g;
        for (var j = 0u; j < 4u; j++) {
          let n = n0 + ln4 * 4u + j;
          if (n < N && kb < K) { vb[j] = loadB(bBase + kb * N + n); }
        }
        Bs[g * LD + ln4] = vb;
      }
    }
    tile_fma(&acc, lid.x, lid.y);
  }

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
