// SAM_UNET.postprocess_masks in one pass: the low-resolution logits resized bilinearly to the
// model's input size, cropped to the image's resized size, and resized to the original size
// (F.interpolate, align_corners=False, twice). Each output value is the second resize's lerp2 of
// four intermediate values, each of them the first resize's lerp2 of four logits, computed as the
// two passes compute them (_bilinear.wgsl), without the intermediate image in memory.
//   x [NC, lowH, lowW] -> (midH × midW, of which the top-left cropH × cropW is kept) -> y [NC, outH, outW]
// One invocation owns one output element (_per_element.wgsl).
struct Params {
  n: u32, lowH: u32, lowW: u32, midH: u32, midW: u32, cropH: u32, cropW: u32, outH: u32,
  outW: u32, _p0: u32, _p1: u32, _p2: u32,
}
#include "_storage.wgsl"
#include "_per_element.wgsl"
#include "_bilinear.wgsl"

// The first resize's value at (my, mx) of the intermediate image of plane `base`.
fn mid(base: u32, my: u32, mx: u32) -> f32 {
  let sy = source(my, p.lowH, p.midH);
  let sx = source(mx, p.lowW, p.midW);
  let r0 = base + sy.i0 * p.lowW;
  let r1 = base + sy.i1 * p.lowW;
  return lerp2(f32(x[r0 + sx.i0]), f32(x[r0 + sx.i1]), f32(x[r1 + sx.i0]), f32(x[r1 + sx.i1]), sy, sx);
}

fn element(i: u32) -> f32 {
  let ox = i % p.outW;
  let t = i / p.outW;
  let oy = t % p.outH;
  let base = (t / p.outH) * p.lowH * p.lowW;
  let sy = source(oy, p.cropH, p.outH);
  let sx = source(ox, p.cropW, p.outW);
  return lerp2(mid(base, sy.i0, sx.i0), mid(base, sy.i0, sx.i1), mid(base, sy.i1, sx.i0), mid(base, sy.i1, sx.i1), sy, sx);
}
