// Split-K GEMM, first pass (_matmul_splitk.wgsl), with f32 A and B as q8 weights (_q8_load.wgsl).
alias st = f32; // activations (A, A2) in f32: no f16 twin
#include "_q8_load.wgsl"
#include "_matmul_splitk.wgsl"
