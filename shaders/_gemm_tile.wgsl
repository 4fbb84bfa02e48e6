// The shared-memory core of the tiled (real-GPU) GEMM kernels: matmul (_matmul_tiled.wgsl), conv2d
// and conv_transpose2x2. A workgroup accumulates its ROWS×TS tile of C one K slice of TK at a time:
// the includer stages the slice of A in As[k][m/4] and of B in Bs[k][n/4] (LD vec4 per k row, padded
// against bank conflicts), then calls tile_fma, in which invocation (tx, ty) adds the slice's
// contribution to its 4×4 block, rows 4·ty .. 4·ty+3 (acc[i]), columns 4·tx .. 4·tx+3.
const TS: u32 = 64u;
const TK: u32 = 16u;
const LD: u32 = 17u;
var<workgroup> As: array<vec4<f32>, 272>; // TK · LD
var<workgroup> Bs: array<vec4<f32>, 272>;

// Waits for the staged slice, accumulates it, and waits again before the next slice is staged.
// Call in uniform control flow.
fn tile_fma(acc: ptr<function, array<vec4<f32>, 4>>, tx: u32, ty: u32) {
  workgroupBarrier();
  for (var k = 0u; k < TK; k++) {
    let a = As[k * LD + ty];
    let b = Bs[k * LD + tx];
    (*acc)[0] += a.x * b;
    (*acc)[1] += a.y * b;
    (*acc)[2] += a.z * b;
    (*acc)[3] += a.w * b;
  }
  workgroupBarrier();
}
