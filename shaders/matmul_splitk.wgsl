// Split-K GEMM, first pass (_matmul_splitk.wgsl), B of A's dtype: f32, or f16 storage in the twin
// (partial sums f32 in both).
#include "_storage.wgsl"
@group(0) @binding(1) var<storage, read> B: array<st>;
fn loadB(e: u32) -> f32 { return f32(B[e]); }
#include "_matmul_splitk.wgsl"
