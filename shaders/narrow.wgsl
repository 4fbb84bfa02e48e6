// y = x.narrow(dim, start, len), with x viewed as [outer, D, inner] and y as [outer, len, inner].
// One invocation owns one output element; the linear index is folded over x and y (see grid()).
struct Params { n: u32, d: u32, len: u32, inner: u32, start: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * nwg.x) * 256u + li;
  if (i >= p.n) { return; }
  let inner = i % p.inner;
  let j = (i / p.inner) % p.len;
  let o = i / (p.inner * p.len);
  y[i] = x[(o * p.d + p.start + j) * p.inner + inner];
}
