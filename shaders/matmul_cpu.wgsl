// Batched GEMM with a fused epilogue for SOFTWARE adapters (lavapipe / llvmpipe, SwiftShader), f32 (f16
// storage in its twin matmul_cpu_f16: sums in f32):
//   C[b, m, n] = epilogue(sum_k A[b, m, k] · B[b, k, n])
//   A: A_KMAJOR = 0: [batch, M, K] row-major (K % 4 == 0); 1: stored [batch, K, M] (M % 4 == 0)
//   B: B_KMAJOR = 0: [batch, N, K] (an nn.Linear weight, K % 4 == 0); 1: [batch, K, N] (N % 4 == 0)
//   batch strides p.sA, p.sB in elements (0: shared; multiples of 4); C (and R): [batch, M, N].
//   BIAS: 0 none, 1 bias[n], 2 bias[m], 3 bias[m / 4]. RESIDUAL: 0 none, 1 R added after the
//   activation (linear), 2 added before it (conv). ACT: 0 none, 1 relu, 2 gelu (exact erf form).
//   OUT: 0 C[b, m, n]; 1 the 2×2 stride-2 transposed-conv scatter: row m = 4·o + 2·dy + dx, column
//   n = iy·W + ix land at y[b, o, 2·iy + dy, 2·ix + dx] (y: [batch, M/4, 2H, 2W], W = p.W).
//   Unused bindings get any buffer (never read).
// Why a second GEMM: on a CPU "GPU" every load whose address differs between invocations costs a
// scalar load per invocation (Mesa 25 llvmpipe: a per-lane loop with a bounds check per component),
// workgroup memory is barely cheaper than global memory, and barriers switch coroutines. The FMAs are
// almost free next to that, so what counts is FMAs per loaded vec4: no workgroup memory, and each
// invocation owns an 8×4 block of C (32 accumulators, which still fit the CPU's registers), loading
// per 4 steps of K eight vec4 of A and four vec4 of B (12 loads for 128 FMAs; the shared-tile
// kernel, matmul.wgsl, does 32 for 128 plus its staging and barriers). Operands are bound as
// array<vec4<f32>>: a vec4 load costs about half of four scalar loads there. Measured on lavapipe
// (2 cores): 3-4× the rate of matmul.wgsl. Larger blocks (8×8, 16×8, also with the accumulators
// in an indexed array) spill and are slower; each row of A is used as soon as it is loaded (loading
// all eight first costs 20 %: the per-lane load code is a chain of branches that LLVM does not
// reorder, so the eight rows would all stay live).
// A workgroup of (64/WY)×WY invocations owns an (8·WY)×(4·64/WY) tile of C (batch wg.z); invocation
// (lid.x, lid.y) owns rows wg.y·8·WY + 8·lid.y .. +7, columns wg.x·4·(64/WY) + 4·lid.x .. +3. WY = 16
// (128×16 tiles) unless M is small: M ≤ 64 takes WY = ceil(M/8) rounded up to a power of two, so that
// no invocation works on rows past M only. Rows and columns past M, N read clamped (valid) data and
// are not stored.
#include "_erf.wgsl"
#include "_storage.wgsl"
@group(0) @binding(1) var<storage, read> B: array<st4>;
fn loadB4(i: u32) -> vec4<f32> { return vec4<f32>(B[i]); }
#include "_matmul_cpu.wgsl"
