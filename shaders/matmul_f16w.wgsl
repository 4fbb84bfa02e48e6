// matmul.wgsl with B in half precision ("f16 weights, f32 accumulation"): the same batched GEMM,
// layouts, tiles and epilogue (see matmul.wgsl's header), except that
//   B: IEEE binary16 values, two per u32 word: element e in bits 16·(e % 2) .. 16·(e % 2) + 15 of
//   word e / 2 (a little-endian Uint16Array viewed as u32; flat indices as for an f32 B),
// converted to f32 as they are staged into workgroup memory; products and sums stay f32.
// Core WGSL (unpack2x16float): no `enable f16`, so it runs on devices without shader-f16 too.
// Each invocation loads the word holding its element: two neighbouring invocations read one word,
// so a row segment of 16 k values is one contiguous 32-byte read, as coalesced as the f32 kernel's.
#include "_erf.wgsl"
alias st = f32; // activations (A, bias, R, C) in f32: no f16 twin
@group(0) @binding(1) var<storage, read> B: array<u32>;
fn loadB(e: u32) -> f32 { return unpack2x16float(B[e >> 1u] >> ((e & 1u) << 4u)).x; }
#include "_matmul_tiled.wgsl"
