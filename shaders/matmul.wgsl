// Batched GEMM with a fused epilogue, row-major, f32 (f16 storage in its twin matmul_f16: sums in f32):
//   C[b, m, n] = act(sum_k A[b, m, k] · B'[b, k, n] + bias[n]) + R[b, m, n]
//   A: [batch, M, K] at batch stride p.sA (0: shared by every batch)
//   B': TRANS_B = 0: B is [batch, K, N]; TRANS_B = 1: B is [batch, N, K] (nn.Linear weight), stride p.sB
//   bias: [N] when BIAS = 1; R: [batch, M, N] when RESIDUAL = 1; C: [batch, M, N].
//   ACT: 0 none, 1 relu, 2 gelu (exact erf form). Unused bindings get any buffer (never read).
// A workgroup of 16×(ROWS/4) invocations owns a ROWS×64 tile of C (batch wg.z, rows wg.y·ROWS,
// columns wg.x·64); one invocation owns the 4×4 block at rows 4·lid.y.., columns 4·lid.x... K is walked in
// slices of 16 through workgroup memory: As[k][m/4] holds 4 consecutive rows of one k column,
// Bs[k][n/4] 4 consecutive columns of one k row (row stride 17 vec4 to spread the banks).
#include "_erf.wgsl"
#include "_storage.wgsl"
@group(0) @binding(1) var<storage, read> B: array<st>;
fn loadB(e: u32) -> f32 { return f32(B[e]); }
#include "_matmul_tiled.wgsl"
