// matmul_cpu.wgsl with B as q8 weights (_q8_load.wgsl): the same GEMM for software adapters,
// layouts, blocks, alignment rules and epilogues (see matmul_cpu.wgsl's header); loadB4 reads one
// word of four int8 values and its block's scale. B_KMAJOR = 0, K % 32 == 0 (ops/matmul.ts checks).
#include "_erf.wgsl"
alias st = f32; // activations (A, bias, R, C) in f32: no f16 twin
alias st4 = vec4<f32>;
#include "_q8_load.wgsl"
#include "_matmul_cpu.wgsl"
