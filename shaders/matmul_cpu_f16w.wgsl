// matmul_cpu.wgsl with B in half precision ("f16 weights, f32 accumulation"): the same GEMM for
// software adapters, layouts, blocks, alignment rules and epilogues (see matmul_cpu.wgsl's header),
// except that
//   B: IEEE binary16 values, two per u32 word (element e in bits 16·(e % 2) .. of word e / 2; a
//   little-endian Uint16Array viewed as u32), bound as array<vec2<u32>>: one 8-byte load gives the
//   4 consecutive elements that matmul_cpu.wgsl reads as one vec4<f32>,
// converted to f32 on load; products and sums stay f32. Core WGSL (unpack2x16float): no
// `enable f16`, so it runs on devices without shader-f16 too.
#include "_erf.wgsl"
alias st = f32; // activations (A, bias, R, C) in f32: no f16 twin
alias st4 = vec4<f32>;
@group(0) @binding(1) var<storage, read> B: array<vec2<u32>>;
fn loadB4(i: u32) -> vec4<f32> {
  let w = B[i];
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}
#include "_matmul_cpu.wgsl"
