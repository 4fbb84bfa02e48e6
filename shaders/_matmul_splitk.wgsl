// The body of the split-K GEMM's first pass: matmul_splitk.wgsl (B of A's dtype) and
// matmul_splitk_f16w.wgsl (f32 A, packed f16 B). For a GEMM with too few output tiles to fill a
// large GPU (the ViT's M = 256 linears), K is cut into S chunks of kChunk (a multiple of TK): each
// workgroup sums one chunk of one tile,
//   P[s, b, m, n] = Σ_{k ∈ [s·kChunk, min(K, (s+1)·kChunk))} (A (+ A2))[b, m, k] · B'[b, k, n]   (f32)
// and matmul_splitk_reduce.wgsl adds the S partials and applies the epilogue. Same layouts, tiles
// and PE prologue as _matmul_tiled.wgsl; workgroup (wg.x, wg.y, wg.z = b·S + s). The includer
// declares st, B at binding 1 and `fn loadB(e: u32) -> f32`.
override TRANS_B: u32 = 0u;
override PLUS: u32 = 0u;
override ROWS: u32 = 64u;

struct Params { M: u32, N: u32, K: u32, sA: u32, sB: u32, plusN: u32, plusRows: u32, kChunk: u32, S: u32, batch: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<storage, read> A: array<st>;
@group(0) @binding(2) var<storage, read> A2: array<st>;
@group(0) @binding(3) var<storage, read_write> P: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

#include "_gemm_tile.wgsl"
#include "_matmul_tile_k.wgsl"

@compute @workgroup_size(16, ROWS / 4u)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let M = p.M; let N = p.N;
  let s = wg.z % p.S;
  let b = wg.z / p.S;
  let m0 = wg.y * ROWS;
  let n0 = wg.x * TS;
  var acc: array<vec4<f32>, 4>;
  tile_k(&acc, m0, n0, b * p.sA, b * p.sB, li, lid, s * p.kChunk, min(p.K, (s + 1u) * p.kChunk));

  let base = (s * p.batch + b) * M * N;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + lid.y * 4u + i;
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + lid.x * 4u + j;
      if (m < M && n < N) { P[base + m * N + n] = acc[i][j]; }
    }
  }
}
