// ConvTranspose2d, kernel 2, stride 2, no padding, NCHW, f32 (f16 storage in the twin; sums in f32):
//   y[b, o, 2·iy + dy, 2·ix + dx] = act(Σ_c x[b, c, iy, ix] · w[c, o, dy, dx] + bias[o])
//   x: [batch, C, H, W], w: [C, O, 2, 2] (PyTorch layout), y: [batch, O, 2H, 2W].
// Every output pixel takes exactly one tap per input channel, so this is one GEMM per image:
//   A [M = 4·O, K = C] with A[4·o + t, c] = w[c, o, t] (w read as Aᵀ, row-major [C, 4·O]),
//   B [K = C, N = H·W] = x[b] itself, and row 4·o + t of the product lands at tap t = 2·dy + dx.
//   p.act: 0 none, 1 relu, 2 gelu (a params field, not an override: a uniform branch of the
//   epilogue, so that every activation takes one pipeline). Without BIAS the bias binding gets any buffer (never read).
//   CL = 1: x channels-last, [batch, H, W, C] (B = x[b]ᵀ: the mask decoder's image tokens, the ViT's
//   grid), staged with consecutive invocations on consecutive channels (coalesced).
// A workgroup of 16×(ROWS/4) invocations owns a ROWS×64 tile of the product (image wg.z); one invocation
// owns the 4 taps of one output channel (rows 4·lid.y..) for 4 consecutive input pixels, i.e. a
// 2×8 block of output pixels.
#include "_erf.wgsl"
#include "_storage.wgsl"
override BIAS: u32 = 0u;
override ROWS: u32 = 64u; // tile rows: 64 (16×16 invocations) or 32 (16×8)
override CL: u32 = 0u;

struct Params { C: u32, O: u32, H: u32, W: u32, act: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<storage, read> x: array<st>;
@group(0) @binding(1) var<storage, read> w: array<st>;
@group(0) @binding(2) var<storage, read> bias: array<st>;
@group(0) @binding(3) var<storage, read_write> y: array<st>;
@group(0) @binding(4) var<uniform> p: Params;

#include "_gemm_tile.wgsl"

@compute @workgroup_size(16, ROWS / 4u)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let M = 4u * p.O; let N = p.H * p.W; let K = p.C;
  let m0 = wg.y * ROWS;
  let n0 = wg.x * TS;
  let xBase = wg.z * K * N;
  let kr = li / 16u;   // loads: k rows kr + (ROWS/4)·q of the slice
  let lane = li % 16u; //   and lane; columns lane + 16·j keep loads coalesced
  var acc: array<vec4<f32>, 4>;
  for (var i = 0u; i < 4u; i++) { acc[i] = vec4<f32>(0.0); }

  for (var k0 = 0u; k0 < K; k0 += TK) {
    for (var q = 0u; q < TS / ROWS; q++) {
      let r = kr + q * (ROWS / 4u);
      let k = k0 + r;
      for (var j = 0u; j < ROWS / 16u; j++) {
        let m = m0 + lane + 16u * j;
        var a = 0.0;
        if (k < K && m < M) { a = f32(w[k * M + m]); }
        As[r * LD + lane / 4u + 4u * j][lane % 4u] = a;
      }
      if (CL == 0u) {
        for (var j = 0u; j < 4u; j++) {
          let n = n0 + lane + 16u * j;
          var b = 0.0;
          if (k < K && n < N) { b = f32(x[xBase + k * N + n]); }
          Bs[r * LD + lane / 4u + 4u * j][lane % 4u] = b;
        }
      }
    }
    if (CL == 1u) {
      // k (lane) fastest: each pixel's 16 channels of the slice are one contiguous read.
      for (var e = li; e < TK * TS; e += 4u * ROWS) {
        let kk = e % TK;
        let nn = e / TK;
        var b = 0.0;
        if (k0 + kk < K && n0 + nn < N) { b = f32(x[xBase + (n0 + nn) * K + k0 + kk]); }
        Bs[kk * LD + nn / 4u][nn % 4u] = b;
      }
    }
    tile_fma(&acc, lid.x, lid.y);
  }

  let o = (m0 + lid.y * 4u) / 4u;
  if (o >= p.O) { return; }
  let W2 = 2u * p.W;
  let yBase = (wg.z * p.O + o) * 4u * N;
  var bo = 0.0;
  if (BIAS == 1u) { bo = f32(bias[o]); }
  for (var j = 0u; j < 4u; j++) {
    let n = n0 + lid.x * 4u + j;
    if (n >= N) { continue; }
    let iy = n / p.W;
    let ix = n - iy * p.W;
    for (var t = 0u; t < 4u; t++) {
      var v = acc[t][j] + bo;
      if (p.act == 1u) { v = max(v, 0.0); } else if (p.act == 2u) { v = gelu(v); }
      y[yBase + (2u * iy + t / 2u) * W2 + 2u * ix + t % 2u] = st(v);
    }
  }
}
