// SAM's windowed attention walks the S×S token grid window by window: nw×nw windows of ws×ws, the
// last row and column of windows clipped to rh×rw real tokens, and window w split into
// ceil(rh·rw / qpw) blocks of qpw queries. window_block(i) finds the window of the i-th block and
// the block's index within it (the host (attention_relpos.ts) counts blocks the same way).
struct WindowBlock { blk: u32, wy: u32, wx: u32, rh: u32, rw: u32 }

fn window_block(i: u32, nw: u32, ws: u32, S: u32, qpw: u32) -> WindowBlock {
  var r = WindowBlock(i, 0u, 0u, 0u, 0u);
  for (var w = 0u; w < nw * nw; w++) {
    r.wy = w / nw;
    r.wx = w - r.wy * nw;
    r.rh = min(ws, S - r.wy * ws);
    r.rw = min(ws, S - r.wx * ws);
    let nb = (r.rh * r.rw + qpw - 1u) / qpw;
    if (r.blk < nb) { break; }
    r.blk -= nb;
  }
  return r;
}
