// Strided gather for a permutation that keeps the innermost dim innermost (loads and stores both
// run along it, so both are coalesced); layout.ts sends the others to layout_transpose.
//   x: any layout; y [d0, d1, d2, d3, d4, d5] row-major (rank ≤ 6, leading dims 1)
//   y[i0..i5] = x[Σ_k i_k · s_k], s_k = the input stride of the dim that output dim k takes.
// One invocation owns one output element (_per_element.wgsl).
struct Params {
  n: u32, d1: u32, d2: u32, d3: u32, d4: u32, d5: u32, _pad0: u32, _pad1: u32,
  s0: u32, s1: u32, s2: u32, s3: u32, s4: u32, s5: u32, _pad2: u32, _pad3: u32,
}
#include "_per_element.wgsl"

fn element(i: u32) -> f32 {
  var t = i;
  var off = (t % p.d5) * p.s5; t = t / p.d5;
  off += (t % p.d4) * p.s4; t = t / p.d4;
  off += (t % p.d3) * p.s3; t = t / p.d3;
  off += (t % p.d2) * p.s2; t = t / p.d2;
  off += (t % p.d1) * p.s1; t = t / p.d1;
  off += t * p.s0;
  return x[off];
}
