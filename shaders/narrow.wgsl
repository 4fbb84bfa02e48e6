// y = x.narrow(dim, start, len), with x viewed as [outer, D, inner] and y as [outer, len, inner].
// One invocation owns one output element (_per_element.wgsl).
struct Params { n: u32, d: u32, len: u32, inner: u32, start: u32, _p0: u32, _p1: u32, _p2: u32 }
#include "_per_element.wgsl"

fn element(i: u32) -> f32 {
  let inner = i % p.inner;
  let j = (i / p.inner) % p.len;
  let o = i / (p.inner * p.len);
  return x[(o * p.d + p.start + j) * p.inner + inner];
}
