// 2-D convolution as an implicit GEMM, NCHW, f32 (f16 storage in the twin; sums in f32):
//   y[b, o, oy, ox] = act(Σ_{c,ky,kx} w[o, c, ky, kx] · x[b, c, oy·s − pad + ky, ox·s − pad + kx]
//                         + bias[o] + R[b, o, oy, ox])          (zero padding; R when RESIDUAL = 1)
//   x: [batch, C, H, W], w: [O, C, kh, kw] = A [M = O, K = C·kh·kw], y and R: [batch, O, Ho, Wo].
//   The im2col matrix B [K, N = Ho·Wo] is never stored: each K slice of it is gathered into
//   workgroup memory. POINTWISE = 1 (1×1, stride 1, pad 0) reads B straight from x [C, H·W].
//   ACT: 0 none, 1 relu, 2 gelu. Unused bindings get any buffer (never read).
// A workgroup of 16×(ROWS/4) invocations owns a ROWS×64 tile of y (image wg.z, channels
// wg.y·ROWS, pixels wg.x·64); one invocation owns 4 channels × 4 consecutive pixels at 4·lid.y, 4·lid.x.
#include "_erf.wgsl"
#include "_storage.wgsl"
override BIAS: u32 = 0u;
override ACT: u32 = 0u;
override RESIDUAL: u32 = 0u;
override POINTWISE: u32 = 0u;
override ROWS: u32 = 64u; // tile rows (channels): 64 (16×16 invocations) or 32 (16×8)

struct Params {
  C: u32, H: u32, W: u32, O: u32,
  Wo: u32, NP: u32, kh: u32, kw: u32,
  stride: u32, pad: u32, K: u32, _p0: u32,
}
@group(0) @binding(0) var<storage, read> x: array<st>;
@group(0) @binding(1) var<storage, read> w: array<st>;
@group(0) @binding(2) var<storage, read> bias: array<st>;
@group(0) @binding(3) var<storage, read> R: array<st>;
@group(0) @binding(4) var<storage, read_write> y: array<st>;
@group(0) @binding(5) var<uniform> p: Params;

#include "_gemm_tile.wgsl"

@compute @workgroup_size(16, ROWS / 4u)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let M = p.O; let N = p.NP; let K = p.K;
  let m0 = wg.y * ROWS;
  let n0 = wg.x * TS;
  let xBase = wg.z * p.C * p.H * p.W;
  let lk = li % TK;     // weight loads: k within the slice
  let l4 = li / TK;     //   and the group of 4 channels
  let lane = li % 16u;  // gather: pixel lane (pixels n0 + lane + 16·j keep loads coalesced)
                        //   and k rows l4 + (ROWS/4)·q of the slice
  // Per gathered pixel: top-left input corner of its window (i32: may be negative), or invalid.
  var iy0: array<i32, 4>;
  var ix0: array<i32, 4>;
  for (var j = 0u; j < 4u; j++) {
    let n = n0 + lane + 16u * j;
    let oy = n / p.Wo;
    let ox = n - oy * p.Wo;
    iy0[j] = i32(oy * p.stride) - i32(p.pad);
    ix0[j] = i32(ox * p.stride) - i32(p.pad);
    if (n >= N) { iy0[j] = -0x40000000; } // fails the bounds test below
  }
  let khw = p.kh * p.kw;
  var acc: array<vec4<f32>, 4>;
  for (var i = 0u; i < 4u; i++) { acc[i] = vec4<f32>(0.0); }

  for (var k0 = 0u; k0 < K; k0 += TK) {
    let gk = k0 + lk;
    var va = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
      let m = m0 + l4 * 4u + j;
      if (m < M && gk < K) { va[j] = f32(w[m * K + gk]); }
    }
    As[lk * LD + l4] = va;

    for (var q = 0u; q < TS / ROWS; q++) {
      let kr = l4 + q * (ROWS / 4u);
      let k = k0 + kr;
      if (POINTWISE == 1u) {
        for (var j = 0u; j < 4u; j++) {
          let n = n0 + lane + 16u * j;
          var v = 0.0;
          if (k < K && n < N) { v = f32(x[xBase + k * N + n]); }
          Bs[kr * LD + lane / 4u + 4u * j][lane % 4u] = v;
        }
      } else {
        let c = k / khw;
        let r = k - c * khw;
        let ky = r / p.kw;
        let kx = r - ky * p.kw;
        let cBase = xBase + c * p.H * p.W;
        for (var j = 0u; j < 4u; j++) {
          let iy = iy0[j] + i32(ky);
          let ix = ix0[j] + i32(kx);
          var v = 0.0;
          if (k < K && iy >= 0 && iy < i32(p.H) && ix >= 0 && ix < i32(p.W)) {
            v = f32(x[cBase + u32(iy) * p.W + u32(ix)]);
          }
          Bs[kr * LD + lane / 4u + 4u * j][lane % 4u] = v;
        }
      }
    }
    tile_fma(&acc, lid.x, lid.y);
  }

  let yBase = wg.z * M * N;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + lid.y * 4u + i;
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + lid.x * 4u + j;
      if (m >= M || n >= N) { continue; }
      var v = acc[i][j];
      if (BIAS == 1u) { v += f32(bias[m]); }
      let o = yBase + m * N + n;
      if (RESIDUAL == 1u) { v += f32(R[o]); }
      if (ACT == 1u) { v = max(v, 0.0); } else if (ACT == 2u) { v = gelu(v); }
      y[o] = st(v);
    }
  }
}
