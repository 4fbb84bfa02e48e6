// Tiled permutation for when the innermost dim moves. In input coordinates: dim L is the input's
// innermost (stride 1), dim Q becomes the output's innermost (output stride 1); up to four other
// dims o0..o3 (sizes, input strides si*, output strides so*) ride along.
//   x: [.., Q, .., L] row-major; y: the permuted layout, [.., L, .., Q] in its last dims
// A workgroup of 256 (32 × 8) owns a 32 (Q) × 32 (L) tile for one index of the other dims: it reads
// the tile along L (coalesced), stages it in workgroup memory (33 columns: no bank conflicts) and
// writes it along Q (coalesced). Linear workgroup index = (((o0·D1 + o1)·D2 + o2)·D3 + o3)·TQ·TL
// + tq·TL + tl, folded over x and y (see grid()).
// CPU = 1 (software adapters, layout.ts picks it there): no tile in workgroup memory and no barrier
// (each a slow coroutine switch on a CPU adapter: SwiftShader took 15 ms for a 256 × 256 transpose);
// invocation (tx, ty) copies q = tq·32 + tx, l = tl·32 + 4·ty .. +3 straight from x to y.
// ADD = 1: y = permute(x) + b, b read at the output's flat index modulo p.nb (b repeating as in
// elementwise.wgsl: the adapters' injection into the token grid, the decoder's dense prompt).
override CPU: u32 = 0u;
override ADD: u32 = 0u;
#include "_storage.wgsl"

struct Params {
  DQ: u32, DL: u32, TQ: u32, TL: u32, sQ: u32, sL: u32, total: u32, nb: u32,
  D0: u32, D1: u32, D2: u32, D3: u32,
  si0: u32, si1: u32, si2: u32, si3: u32,
  so0: u32, so1: u32, so2: u32, so3: u32,
}
@group(0) @binding(0) var<storage, read> x: array<st>;
@group(0) @binding(1) var<storage, read> b: array<st>;
@group(0) @binding(2) var<storage, read_write> y: array<st>;
@group(0) @binding(3) var<uniform> p: Params;

// Stores v at output index o (plus b's element when ADD).
fn put(o: u32, v: st) {
  if (ADD == 1u) { y[o] = st(f32(v) + f32(b[o % p.nb])); } else { y[o] = v; }
}

var<workgroup> tile: array<array<st, 33>, 32>;

@compute @workgroup_size(32, 8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let wgi = wg.x + wg.y * nwg.x;
  if (wgi >= p.total) { return; }  // uniform per workgroup: grid padding
  let tl = wgi % p.TL;
  var t = wgi / p.TL;
  let tq = t % p.TQ;
  t = t / p.TQ;
  let o3 = t % p.D3; t = t / p.D3;
  let o2 = t % p.D2; t = t / p.D2;
  let o1 = t % p.D1; t = t / p.D1;
  let o0 = t;
  let bin = o0 * p.si0 + o1 * p.si1 + o2 * p.si2 + o3 * p.si3;
  let bout = o0 * p.so0 + o1 * p.so1 + o2 * p.so2 + o3 * p.so3;

  let tx = lid.x;
  let ty = lid.y;
  if (CPU == 1u) {
    let q = tq * 32u + tx;
    if (q < p.DQ) {
      for (var r = 0u; r < 4u; r++) {
        let l = tl * 32u + 4u * ty + r;
        if (l < p.DL) { put(bout + l * p.sL + q, x[bin + q * p.sQ + l]); }
      }
    }
    return;
  }
  let l_in = tl * 32u + tx;
  for (var r = 0u; r < 32u; r += 8u) {
    let q = tq * 32u + ty + r;
    if (q < p.DQ && l_in < p.DL) { tile[ty + r][tx] = x[bin + q * p.sQ + l_in]; }
  }
  workgroupBarrier();
  let q_out = tq * 32u + tx;
  for (var r = 0u; r < 32u; r += 8u) {
    let l = tl * 32u + ty + r;
    if (q_out < p.DQ && l < p.DL) { put(bout + l * p.sL + q_out, tile[tx][ty + r]); }
  }
}
