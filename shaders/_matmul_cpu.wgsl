// The body of the software-adapter GEMM: matmul_cpu.wgsl (B of A's dtype) and matmul_cpu_f16w.wgsl
// (f32 A, packed f16 B). The including file declares the storage aliases st, st4 (A is an array of
// st4; bias, R and C of st), B at binding 1 and `fn loadB4(i: u32) -> vec4<f32>`, B's elements
// 4·i .. 4·i+3.
// PLUS = 1 (row-major A only): the output columns n < p.plusN (a multiple of 4) read A + A2, A2
// [plusRows, K] row-major and shared by the batch (row m takes A2's row m % plusRows), as in
// _matmul_tiled.wgsl.
override A_KMAJOR: u32 = 0u;
override PLUS: u32 = 0u;
override B_KMAJOR: u32 = 0u;
override BIAS: u32 = 0u;
override ACT: u32 = 0u;
override RESIDUAL: u32 = 0u;
override OUT: u32 = 0u;
override WY: u32 = 16u; // invocations along M (1, 2, 4, 8 or 16); 64 / WY along N

struct Params { M: u32, N: u32, K: u32, sA: u32, sB: u32, W: u32, plusN: u32, plusRows: u32 }
@group(0) @binding(0) var<storage, read> A: array<st4>;
@group(0) @binding(2) var<storage, read> bias: array<st>;
@group(0) @binding(3) var<storage, read> R: array<st>;
@group(0) @binding(4) var<storage, read> A2: array<st4>;
@group(0) @binding(5) var<storage, read_write> C: array<st>;
@group(0) @binding(6) var<uniform> p: Params;

fn loadA4(i: u32) -> vec4<f32> { return vec4<f32>(A[i]); }

// A row-major A's vec4 k4 of the row starting at vec4 r, plus A2's (row start pr) where `plus`.
fn rowA(r: u32, pr: u32, k4: u32, plus: bool) -> vec4<f32> {
  var a = loadA4(r + k4);
  if (plus) { a += vec4<f32>(A2[pr + k4]); }
  return a;
}

// acc += a[u] · b_u over the 4 k steps u (a: one row of A at k..k+3; b_u: the 4 columns at k+u).
fn mac(acc: vec4<f32>, a: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>) -> vec4<f32> {
  return fma(vec4<f32>(a.w), b3, fma(vec4<f32>(a.z), b2, fma(vec4<f32>(a.y), b1, fma(vec4<f32>(a.x), b0, acc))));
}

fn store1(acc: f32, m: u32, n: u32, cBase: u32) {
  let N = p.N;
  if (m >= p.M || n >= N) { return; }
  var v = acc;
  if (BIAS == 1u) { v += f32(bias[n]); } else if (BIAS == 2u) { v += f32(bias[m]); } else if (BIAS == 3u) { v += f32(bias[m / 4u]); }
  let o = cBase + m * N + n;
  if (RESIDUAL == 2u) { v += f32(R[o]); }
  if (ACT == 1u) { v = max(v, 0.0); } else if (ACT == 2u) { v = gelu(v); }
  if (RESIDUAL == 1u) { v += f32(R[o]); }
  if (OUT == 0u) {
    C[o] = st(v);
  } else {
    let t = m % 4u;
    let iy = n / p.W;
    let ix = n - iy * p.W;
    C[cBase + (m - t) * N + (2u * iy + t / 2u) * 2u * p.W + 2u * ix + t % 2u] = st(v);
  }
}

fn epilogue(acc: vec4<f32>, m: u32, n0: u32, cBase: u32) {
  store1(acc.x, m, n0, cBase);
  store1(acc.y, m, n0 + 1u, cBase);
  store1(acc.z, m, n0 + 2u, cBase);
  store1(acc.w, m, n0 + 3u, cBase);
}

@compute @workgroup_size(64u / WY, WY)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  // Not needed for correctness (no workgroup memory), but llvmpipe (Mesa 25) runs this kernel 1.2×
  // faster with a barrier first (measured; the cause is in its code generation; a barrier after the
  // setup code gains nothing).
  workgroupBarrier();
  let M = p.M; let N = p.N; let K = p.K;
  let K4 = (K + 3u) / 4u;
  let m0 = wg.y * 8u * WY + lid.y * 8u;
  let n0 = wg.x * 4u * (64u / WY) + lid.x * 4u;
  let aB = wg.z * (p.sA / 4u);
  let bB = wg.z * (p.sB / 4u);
  // Row-major operands: the vec4 index of each row's start (rows past the end clamped).
  // K-major operands: the vec4 column group, and the vec4 row length.
  var ar: array<u32, 8>;
  var pr: array<u32, 8>; // A2's row starts (PLUS)
  var br: array<u32, 4>;
  let plus = PLUS == 1u && n0 < p.plusN;
  let M4 = M / 4u;
  let N4 = N / 4u;
  let ag = aB + min(m0 / 4u, M4 - 1u);
  let ag1 = aB + min(m0 / 4u + 1u, M4 - 1u);
  let bg = bB + min(n0 / 4u, N4 - 1u);
  if (A_KMAJOR == 0u) {
    ar[0] = aB + min(m0, M - 1u) * K4;
    ar[1] = aB + min(m0 + 1u, M - 1u) * K4;
    ar[2] = aB + min(m0 + 2u, M - 1u) * K4;
    ar[3] = aB + min(m0 + 3u, M - 1u) * K4;
    ar[4] = aB + min(m0 + 4u, M - 1u) * K4;
    ar[5] = aB + min(m0 + 5u, M - 1u) * K4;
    ar[6] = aB + min(m0 + 6u, M - 1u) * K4;
    ar[7] = aB + min(m0 + 7u, M - 1u) * K4;
    if (PLUS == 1u) {
      for (var i = 0u; i < 8u; i++) { pr[i] = (min(m0 + i, M - 1u) % p.plusRows) * K4; }
    }
  }
  if (B_KMAJOR == 0u) {
    br[0] = bB + min(n0, N - 1u) * K4;
    br[1] = bB + min(n0 + 1u, N - 1u) * K4;
    br[2] = bB + min(n0 + 2u, N - 1u) * K4;
    br[3] = bB + min(n0 + 3u, N - 1u) * K4;
  }
  var c0 = vec4<f32>(0.0); var c1 = vec4<f32>(0.0); var c2 = vec4<f32>(0.0); var c3 = vec4<f32>(0.0);
  var c4 = vec4<f32>(0.0); var c5 = vec4<f32>(0.0); var c6 = vec4<f32>(0.0); var c7 = vec4<f32>(0.0);

  for (var k4 = 0u; k4 < K4; k4++) {
    // b0..b3: the 4 columns at k = 4·k4 + u.
    var b0: vec4<f32>; var b1: vec4<f32>; var b2: vec4<f32>; var b3: vec4<f32>;
    if (B_KMAJOR == 0u) {
      let x0 = loadB4(br[0] + k4); let x1 = loadB4(br[1] + k4); let x2 = loadB4(br[2] + k4); let x3 = loadB4(br[3] + k4);
      b0 = vec4<f32>(x0.x, x1.x, x2.x, x3.x);
      b1 = vec4<f32>(x0.y, x1.y, x2.y, x3.y);
      b2 = vec4<f32>(x0.z, x1.z, x2.z, x3.z);
      b3 = vec4<f32>(x0.w, x1.w, x2.w, x3.w);
    } else {
      // K rows past the end (K % 4 != 0) read as zero.
      let k = 4u * k4;
      b0 = loadB4(bg + k * N4);
      b1 = select(vec4<f32>(0.0), loadB4(bg + min(k + 1u, K - 1u) * N4), k + 1u < K);
      b2 = select(vec4<f32>(0.0), loadB4(bg + min(k + 2u, K - 1u) * N4), k + 2u < K);
      b3 = select(vec4<f32>(0.0), loadB4(bg + min(k + 3u, K - 1u) * N4), k + 3u < K);
    }
    // Rows m0 .. m0+7 at k .. k+3, each used as soon as it is loaded (fewer live registers).
    if (A_KMAJOR == 0u) {
      c0 = mac(c0, rowA(ar[0], pr[0], k4, plus), b0, b1, b2, b3);
      c1 = mac(c1, rowA(ar[1], pr[1], k4, plus), b0, b1, b2, b3);
      c2 = mac(c2, rowA(ar[2], pr[2], k4, plus), b0, b1, b2, b3);
      c3 = mac(c3, rowA(ar[3], pr[3], k4, plus), b0, b1, b2, b3);
      c4 = mac(c4, rowA(ar[4], pr[4], k4, plus), b0, b1, b2, b3);
      c5 = mac(c5, rowA(ar[5], pr[5], k4, plus), b0, b1, b2, b3);
      c6 = mac(c6, rowA(ar[6], pr[6], k4, plus), b0, b1, b2, b3);
      c7 = mac(c7, rowA(ar[7], pr[7], k4, plus), b0, b1, b2, b3);
    } else {
      // 4 K rows of 4 consecutive m each, transposed (free: a renaming of registers).
      let k = 4u * k4;
      let r1 = min(k + 1u, K - 1u) * M4; let r2 = min(k + 2u, K - 1u) * M4; let r3 = min(k + 3u, K - 1u) * M4;
      let z = vec4<f32>(0.0);
      let p0 = loadA4(ag + k * M4);
      let p1 = select(z, loadA4(ag + r1), k + 1u < K);
      let p2 = select(z, loadA4(ag + r2), k + 2u < K);
      let p3 = select(z, loadA4(ag + r3), k + 3u < K);
      c0 = mac(c0, vec4<f32>(p0.x, p1.x, p2.x, p3.x), b0, b1, b2, b3);
      c1 = mac(c1, vec4<f32>(p0.y, p1.y, p2.y, p3.y), b0, b1, b2, b3);
      c2 = mac(c2, vec4<f32>(p0.z, p1.z, p2.z, p3.z), b0, b1, b2, b3);
      c3 = mac(c3, vec4<f32>(p0.w, p1.w, p2.w, p3.w), b0, b1, b2, b3);
      let q0 = loadA4(ag1 + k * M4);
      let q1 = select(z, loadA4(ag1 + r1), k + 1u < K);
      let q2 = select(z, loadA4(ag1 + r2), k + 2u < K);
      let q3 = select(z, loadA4(ag1 + r3), k + 3u < K);
      c4 = mac(c4, vec4<f32>(q0.x, q1.x, q2.x, q3.x), b0, b1, b2, b3);
      c5 = mac(c5, vec4<f32>(q0.y, q1.y, q2.y, q3.y), b0, b1, b2, b3);
      c6 = mac(c6, vec4<f32>(q0.z, q1.z, q2.z, q3.z), b0, b1, b2, b3);
      c7 = mac(c7, vec4<f32>(q0.w, q1.w, q2.w, q3.w), b0, b1, b2, b3);
    }
  }

  let cBase = wg.z * M * N;
  epilogue(c0, m0, n0, cBase);
  epilogue(c1, m0 + 1u, n0, cBase);
  epilogue(c2, m0 + 2u, n0, cBase);
  epilogue(c3, m0 + 3u, n0, cBase);
  epilogue(c4, m0 + 4u, n0, cBase);
  epilogue(c5, m0 + 5u, n0, cBase);
  epilogue(c6, m0 + 6u, n0, cBase);
  epilogue(c7, m0 + 7u, n0, cBase);
}
