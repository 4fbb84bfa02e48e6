// SAM-UNet's med-token mask product with the last 3×3 conv of embedding_maskfeature folded into it
// (decoder.ts). Upstream computes feat = conv3(f) + b3 + msf ([N, Ch, H, W]) and then
// low[n] = h[n] · feat[n]; since the product is linear in feat,
//   low[n, y, x] = Σ_{c, ky, kx} weff[n, c, ky, kx] · f[n, c, y + ky − 1, x + kx − 1]   (zero padding)
//                + Σ_k h[n, k] · (b3[k] + msf[k, y, x]),    weff[n] = Σ_k h[n, k] · W3[k]
// so the conv needs one output channel per prompt set instead of Ch (weff: a matmul before this).
//   f: [N, Cf, H, W]; weff: [N, Cf·9]; h: [N, Ch]; b3: [Ch]; msf: [Ch, H, W] (one image, shared by
//   every n); low: [N, H, W]. W % 4 == 0.
// One invocation owns 4 consecutive pixels of a row (n, y, x0 .. x0+3): per channel and kernel row
// it loads the 6 input values x0 − 1 .. x0 + 4 once for the 4 pixels, and the 3 taps of weff.
// f, weff, h and b3 are f16 in the twin; msf (the encoder's output) and low stay f32, sums in f32.
#include "_storage.wgsl"
struct Params { N: u32, Cf: u32, Ch: u32, H: u32, W: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<storage, read> f: array<st>;
@group(0) @binding(1) var<storage, read> weff: array<st>;
@group(0) @binding(2) var<storage, read> h: array<st>;
@group(0) @binding(3) var<storage, read> b3: array<st>;
@group(0) @binding(4) var<storage, read> msf: array<f32>;
@group(0) @binding(5) var<storage, read_write> low: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let H = p.H;
  let W = p.W;
  let W4 = W / 4u;
  let q = (wg.x + wg.y * nwg.x) * 64u + li;
  if (q >= p.N * H * W4) { return; }
  let n = q / (H * W4);
  let r = q - n * H * W4;
  let y = r / W4;
  let x0 = 4u * (r - y * W4);
  let HW = H * W;
  let pix = y * W + x0;

  var acc = vec4<f32>(0.0);
  for (var k = 0u; k < p.Ch; k++) {
    let m = k * HW + pix;
    acc += f32(h[n * p.Ch + k]) * (vec4<f32>(f32(b3[k])) + vec4<f32>(msf[m], msf[m + 1u], msf[m + 2u], msf[m + 3u]));
  }
  let hasLeft = x0 > 0u;
  let hasRight = x0 + 4u < W;
  for (var c = 0u; c < p.Cf; c++) {
    let fc = (n * p.Cf + c) * HW;
    let wc = (n * p.Cf + c) * 9u;
    for (var ky = 0u; ky < 3u; ky++) {
      let iy = i32(y) + i32(ky) - 1;
      if (iy < 0 || iy >= i32(H)) { continue; }
      let row = fc + u32(iy) * W + x0;
      let v0 = f32(f[row]);
      let v1 = f32(f[row + 1u]);
      let v2 = f32(f[row + 2u]);
      let v3 = f32(f[row + 3u]);
      let vl = select(0.0, f32(f[select(row, row - 1u, hasLeft)]), hasLeft);
      let vr = select(0.0, f32(f[select(row, row + 4u, hasRight)]), hasRight);
      let w = wc + 3u * ky;
      acc += f32(weff[w]) * vec4<f32>(vl, v0, v1, v2) + f32(weff[w + 1u]) * vec4<f32>(v0, v1, v2, v3) + f32(weff[w + 2u]) * vec4<f32>(v1, v2, v3, vr);
    }
  }
  let o = n * HW + pix;
  low[o] = acc.x;
  low[o + 1u] = acc.y;
  low[o + 2u] = acc.z;
  low[o + 3u] = acc.w;
}
