// Bilinear resize, F.interpolate(mode='bilinear', align_corners=False, antialias=False):
//   x [NC, H, W] (N·C planes), of which the top-left srcH×srcW region is the image -> y [NC, outH, outW]
// (_bilinear.wgsl: source coordinates and weights as PyTorch computes them).
// One invocation owns one output element (_per_element.wgsl; consecutive invocations: consecutive
// output columns).
struct Params { n: u32, H: u32, W: u32, srcH: u32, srcW: u32, outH: u32, outW: u32, _pad: u32 }
#include "_storage.wgsl"
#include "_per_element.wgsl"
#include "_bilinear.wgsl"

fn element(i: u32) -> f32 {
  let ox = i % p.outW;
  let t = i / p.outW;
  let oy = t % p.outH;
  let plane = t / p.outH;
  let sy = source(oy, p.srcH, p.outH);
  let sx = source(ox, p.srcW, p.outW);
  let base = plane * p.H * p.W;
  let r0 = base + sy.i0 * p.W;
  let r1 = base + sy.i1 * p.W;
  return lerp2(f32(x[r0 + sx.i0]), f32(x[r0 + sx.i1]), f32(x[r1 + sx.i0]), f32(x[r1 + sx.i1]), sy, sx);
}
