// Channels-last spatial layouts (SAM's windowed attention), MODE override:
//   MODE 0, pad:       x [B, H, W, C] -> y [B, P1, P2, C]          (P1 = Hp, P2 = Wp) zero-padded
//                      at the bottom and right.
//   MODE 1, partition: x [B, H, W, C] -> y [B·nH·nW, ws, ws, C]    window_partition: zero-pad H, W
//                      to nH·ws, nW·ws, windows row-major over (nH, nW); P1 = ws.
//   MODE 2, merge:     w [B·nH·nW, ws, ws, C] -> y [B, H, W, C]    window_unpartition: merge the
//                      windows, crop to H×W; P1 = ws.
// One invocation owns one output element; C is innermost on both sides, so loads and stores are
// coalesced. The linear index is folded over x and y (see grid()).
override MODE: u32 = 0u;

struct Params { n: u32, H: u32, W: u32, C: u32, P1: u32, P2: u32, nH: u32, nW: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * nwg.x) * 256u + li;
  if (i >= p.n) { return; }
  let c = i % p.C;
  let t = i / p.C;
  if (MODE == 0u) {
    let w = t % p.P2;
    let t2 = t / p.P2;
    let h = t2 % p.P1;
    let bb = t2 / p.P1;
    var v = 0.0;
    if (h < p.H && w < p.W) { v = x[((bb * p.H + h) * p.W + w) * p.C + c]; }
    y[i] = v;
  } else if (MODE == 1u) {
    let ws = p.P1;
    let j = t % ws;
    let t2 = t / ws;
    let r = t2 % ws;
    let win = t2 / ws;
    let wx = win % p.nW;
    let t3 = win / p.nW;
    let wy = t3 % p.nH;
    let bb = t3 / p.nH;
    let h = wy * ws + r;
    let w = wx * ws + j;
    var v = 0.0;
    if (h < p.H && w < p.W) { v = x[((bb * p.H + h) * p.W + w) * p.C + c]; }
    y[i] = v;
  } else {
    let ws = p.P1;
    let w = t % p.W;
    let t2 = t / p.W;
    let h = t2 % p.H;
    let bb = t2 / p.H;
    let win = (bb * p.nH + h / ws) * p.nW + w / ws;
    y[i] = x[((win * ws + h % ws) * ws + w % ws) * p.C + c];
  }
}
