// MaxPool2d(kernel 3, stride 2, padding 1), fp32, NCHW:
//   y[b, c, oy, ox] = max over the in-bounds x[b, c, 2·oy − 1 + ky, 2·ox − 1 + kx], ky, kx < 3
//   (padding never wins: every window holds at least its centre pixel).
//   x: [batch, C, H, W], y: [batch, C, Ho, Wo], Ho = floor((H − 1)/2) + 1.
// One invocation owns one output element (_per_element.wgsl).
struct Params { H: u32, W: u32, Ho: u32, Wo: u32, n: u32, _p0: u32, _p1: u32, _p2: u32 }
#include "_per_element.wgsl"

fn element(i: u32) -> f32 {
  let ox = i % p.Wo;
  let t = i / p.Wo;
  let oy = t % p.Ho;
  let plane = t / p.Ho;
  let base = plane * p.H * p.W;
  // Window rows / columns clipped to the image (2·o − 1 may be −1).
  let y0 = max(2u * oy, 1u) - 1u;
  let y1 = min(2u * oy + 2u, p.H);
  let x0 = max(2u * ox, 1u) - 1u;
  let x1 = min(2u * ox + 2u, p.W);
  var m = x[base + (2u * oy) * p.W + 2u * ox];
  for (var iy = y0; iy < y1; iy++) {
    for (var ix = x0; ix < x1; ix++) {
      m = max(m, x[base + iy * p.W + ix]);
    }
  }
  return m;
}
