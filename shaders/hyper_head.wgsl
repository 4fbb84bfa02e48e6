// SAM-UNet's hypernetwork head in one dispatch (wrapped.py SAMMaskDecoderWrapper_Med: hf_mlp, an
// MLP of 3 layers with ReLU between, on each set's med token) and the per-set weight of the mask
// head's folded 3×3 conv (ops/mask_head.ts maskProduct):
//   h[n]    = relu(relu(x[n] · W0ᵀ + b0) · W1ᵀ + b1) · W2ᵀ + b2      x[n] = queries[n, 0, :]
//   weff[n] = h[n] · W3                                              W3 [Dout, Kf]
// Tensors (f32, or f16 in the twin; sums f32): queries [N, T', C] (rows of rowStride = T'·C
// elements per set); wp the weights pack (ops/hyper_head.ts): W0T [C, C], b0 [C], W1T [C, C],
// b1 [C], W2T [C, Dout], b2 [Dout]; w3 [Dout, Kf]; outputs h [N, Dout], weff [N, Kf].
// One workgroup of 256 per set: invocation li owns unit li of each layer (its input row in
// workgroup memory, the transposed weights read along their rows: coalesced), then the columns
// li, li + 256, … of weff. Needs C, Dout ≤ 256.
#include "_storage.wgsl"
const WG: u32 = 256u;

struct Params { N: u32, C: u32, Dout: u32, Kf: u32, rowStride: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<storage, read> queries: array<st>;
@group(0) @binding(1) var<storage, read> wp: array<st>;
@group(0) @binding(2) var<storage, read> w3: array<st>;
@group(0) @binding(3) var<storage, read_write> h: array<st>;
@group(0) @binding(4) var<storage, read_write> weff: array<st>;
@group(0) @binding(5) var<uniform> p: Params;

var<workgroup> a: array<f32, WG>; // a layer's input
var<workgroup> b: array<f32, WG>; // its output

// Unit `u` of the layer whose transposed weight [K, U] starts at `w` (bias right after it), on `a`.
fn unit(w: u32, K: u32, U: u32, u: u32) -> f32 {
  var s = f32(wp[w + K * U + u]);
  for (var k = 0u; k < K; k++) { s += a[k] * f32(wp[w + k * U + u]); }
  return s;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let n = wg.x;
  if (n >= p.N) { return; }
  let C = p.C;
  let D = p.Dout;
  if (li < C) { a[li] = f32(queries[n * p.rowStride + li]); }
  workgroupBarrier();
  if (li < C) { b[li] = max(unit(0u, C, C, li), 0.0); }
  workgroupBarrier();
  if (li < C) { a[li] = b[li]; }
  workgroupBarrier();
  let w1 = C * C + C;
  if (li < C) { b[li] = max(unit(w1, C, C, li), 0.0); }
  workgroupBarrier();
  if (li < C) { a[li] = b[li]; }
  workgroupBarrier();
  if (li < D) {
    let v = st(unit(2u * w1, C, D, li));
    h[n * D + li] = v;
    b[li] = f32(v); // weff is made from h as stored (mask_product reads the same h)
  }
  workgroupBarrier();
  for (var j = li; j < p.Kf; j += WG) {
    var s = 0.0;
    for (var k = 0u; k < D; k++) { s += b[k] * f32(w3[k * p.Kf + j]); }
    weff[n * p.Kf + j] = st(s);
  }
}
