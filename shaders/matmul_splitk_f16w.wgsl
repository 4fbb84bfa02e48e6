// Split-K GEMM, first pass (_matmul_splitk.wgsl), with f32 A and B in half precision, two binary16
// per u32 word, as matmul_f16w.wgsl reads it (core WGSL: no shader-f16 needed).
alias st = f32; // activations (A, A2) in f32: no f16 twin
@group(0) @binding(1) var<storage, read> B: array<u32>;
fn loadB(e: u32) -> f32 { return unpack2x16float(B[e >> 1u] >> ((e & 1u) << 4u)).x; }
#include "_matmul_splitk.wgsl"
