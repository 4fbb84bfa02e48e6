// matmul.wgsl with B as q8 weights ("int8 weights, f32 accumulation"; _q8_load.wgsl): the same
// batched GEMM, layouts, tiles and epilogue (see matmul.wgsl's header), B dequantised as it is
// staged into workgroup memory; products and sums stay f32. B must be K-contiguous in whole blocks
// (TRANS_B = 1, K % 32 == 0: the ViT's linear weights), checked by ops/matmul.ts.
#include "_erf.wgsl"
alias st = f32; // activations (A, bias, R, C) in f32: no f16 twin
#include "_q8_load.wgsl"
#include "_matmul_tiled.wgsl"
