// The im2col matrix of a 2-D convolution, pixel-major, for the software-adapter conv2d path
// (conv2d.ts: this, then matmul_cpu.wgsl with the weight [O, C·kh·kw] as A and this as an [N, K4] B):
//   cols[b, n, k] = x[b, c, oy·s − pad + ky, ox·s − pad + kx]   (0 outside the image)
//     n = oy·Wo + ox, k = (c·kh + ky)·kw + kx < K = C·kh·kw; x: [batch, C, H, W];
//     cols: [batch, Ho·Wo, K4], K4 = K rounded up to a multiple of 4 (columns k ≥ K are 0; the
//     weight gets the same zero columns from pad_rows4.wgsl).
// One invocation writes KV consecutive vec4s (k = 4·k4 .. 4·k4+3 for KV values of k4) of one pixel.
// Workgroup (wg.x, wg.y, wg.z) = (16 pixels of a row, the row oy, k4 block + ceil(K4/4/KV)·b): the
// taps (c, ky, kx) and the row are the same for the whole workgroup, so the divisions that split k
// run once per workgroup (a division that differs between invocations is 8 scalar divisions on a
// CPU adapter), and only ox varies. KV > 1 divides the number of workgroups, each of which costs a
// CPU adapter a fixed overhead (with KV = 1 the decoder's 64→32 3×3 conv spent 9.5 ms in here).
override KV: u32 = 8u;

struct Params {
  C: u32, H: u32, W: u32, Wo: u32,
  kh: u32, kw: u32, stride: u32, pad: u32,
  K: u32, NP: u32, K4: u32, _p0: u32,
}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> cols: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

// (c, ky, kx) of the next k.
fn next(t: vec3<u32>) -> vec3<u32> {
  var r = t + vec3<u32>(0u, 0u, 1u);
  if (r.z == p.kw) { r.z = 0u; r.y += 1u; }
  if (r.y == p.kh) { r.y = 0u; r.x += 1u; }
  return r;
}

fn tap(xBase: u32, t: vec3<u32>, iy0: i32, ix0: i32) -> f32 {
  let iy = iy0 + i32(t.y);
  let ix = ix0 + i32(t.z);
  if (t.x < p.C && iy >= 0 && iy < i32(p.H) && ix >= 0 && ix < i32(p.W)) {
    return x[xBase + (t.x * p.H + u32(iy)) * p.W + u32(ix)];
  }
  return 0.0;
}

@compute @workgroup_size(16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let ox = wg.x * 16u + li;
  if (ox >= p.Wo) { return; }
  let oy = wg.y;
  let K4 = p.K4 / 4u;
  let KB = (K4 + KV - 1u) / KV;
  let b = wg.z / KB;
  let k4First = (wg.z - b * KB) * KV;
  let k4End = min(k4First + KV, K4);
  let khw = p.kh * p.kw;
  let k = 4u * k4First;
  let c = k / khw;
  let r = k - c * khw;
  let ky = r / p.kw;
  var t = vec3<u32>(c, ky, r - ky * p.kw);
  let iy0 = i32(oy * p.stride) - i32(p.pad);
  let ix0 = i32(ox * p.stride) - i32(p.pad);
  let xBase = b * p.C * p.H * p.W;
  let row = (b * p.NP + oy * p.Wo + ox) * K4;
  for (var k4 = k4First; k4 < k4End; k4++) {
    let t1 = next(t);
    let t2 = next(t1);
    let t3 = next(t2);
    cols[row + k4] = vec4<f32>(tap(xBase, t, iy0, ix0), tap(xBase, t1, iy0, ix0), tap(xBase, t2, iy0, ix0), tap(xBase, t3, iy0, ix0));
    t = next(t3);
  }
}
