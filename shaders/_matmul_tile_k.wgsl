// The K loop of the tiled GEMM kernels (_matmul_tiled.wgsl: matmul, matmul_f16w; _matmul_splitk.wgsl):
// the workgroup's ROWS×TS tile of C at rows m0.., columns n0.., summed over k in [k0, k1) into acc
// (invocation (lid.x, lid.y)'s 4×4 block, see _gemm_tile.wgsl), through workgroup memory one TK slice
// at a time. The includer declares A and A2 (arrays of st), `fn loadB(e: u32) -> f32`, the params p
// (M, N, K, plusN, plusRows) and the overrides TRANS_B, PLUS, ROWS; k0 is a multiple of TK.
// Call in uniform control flow.
fn tile_k(acc: ptr<function, array<vec4<f32>, 4>>, m0: u32, n0: u32, aBase: u32, bBase: u32, li: u32, lid: vec3<u32>, k0: u32, k1: u32) {
  let M = p.M; let N = p.N; let K = p.K;
  // Loader roles, k fastest across invocations so that each row segment is read contiguously.
  let lk = li % TK;      // k within the slice, for loads along K
  let l4 = li / TK;      // group of 4 rows (0 .. ROWS/4 − 1); B's 64 rows take 64/ROWS passes
  let ln4 = li % 16u;    // group of 4 columns, for K-major B loads (k row l4)
  let plus = PLUS == 1u && n0 < p.plusN; // uniform per workgroup
  for (var i = 0u; i < 4u; i++) { (*acc)[i] = vec4<f32>(0.0); }

  for (var ks = k0; ks < k1; ks += TK) {
    let gk = ks + lk;
    var va = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
      let m = m0 + l4 * 4u + j;
      if (m < M && gk < k1) {
        va[j] = f32(A[aBase + m * K + gk]);
        if (plus) { va[j] += f32(A2[(m % p.plusRows) * K + gk]); }
      }
    }
    As[lk * LD + l4] = va;
    for (var q = 0u; q < TS / ROWS; q++) {
      let g = l4 + q * (ROWS / 4u);
      var vb = vec4<f32>(0.0);
      if (TRANS_B == 1u) {
        for (var j = 0u; j < 4u; j++) {
          let n = n0 + g * 4u + j;
          if (n < N && gk < k1) { vb[j] = loadB(bBase + n * K + gk); }
        }
        Bs[lk * LD + g] = vb;
      } else {
        let kb = ks + g;
        for (var j = 0u; j < 4u; j++) {
          let n = n0 + ln4 * 4u + j;
          if (n < N && kb < k1) { vb[j] = loadB(bBase + kb * N + n); }
        }
        Bs[g * LD + ln4] = vb;
      }
    }
    tile_fma(acc, lid.x, lid.y);
  }
}
