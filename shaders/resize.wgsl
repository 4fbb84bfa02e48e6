// Bilinear resize, F.interpolate(mode='bilinear', align_corners=False, antialias=False):
//   x [NC, H, W] (N·C planes), of which the top-left srcH×srcW region is the image -> y [NC, outH, outW]
// Source coordinate per PyTorch's area_pixel_compute_source_index + upsample_bilinear2d:
//   src = (dst + 0.5)·(in / out) − 0.5, clamped below at 0; i0 = floor(src),
//   i1 = i0 + (i0 < in − 1 ? 1 : 0), λ1 = src − i0, λ0 = 1 − λ1.
// src is evaluated exactly in integers, src = (in·(2·dst + 1) − out) / (2·out), so i0 is an exact
// integer division and λ1 the remainder over 2·out (one rounding): no dependence on how a compiler
// rounds or fuses the float formula. The host checks that in·(2·out − 1) fits in an i32.
// One invocation owns one output element (_per_element.wgsl; consecutive invocations: consecutive
// output columns).
struct Params { n: u32, H: u32, W: u32, srcH: u32, srcW: u32, outH: u32, outW: u32, _pad: u32 }
#include "_per_element.wgsl"

struct Src { i0: u32, i1: u32, l1: f32 }

fn source(dst: u32, in_size: u32, out_size: u32) -> Src {
  let den = 2 * i32(out_size);
  let num = max(i32(in_size) * (2 * i32(dst) + 1) - i32(out_size), 0);
  let i0 = u32(num / den);
  let i1 = select(i0, i0 + 1u, i0 + 1u < in_size);
  return Src(i0, i1, f32(num % den) / f32(den));
}

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
  let h1 = sy.l1;
  let h0 = 1.0 - h1;
  let w1 = sx.l1;
  let w0 = 1.0 - w1;
  return h0 * (w0 * x[r0 + sx.i0] + w1 * x[r0 + sx.i1]) + h1 * (w0 * x[r1 + sx.i0] + w1 * x[r1 + sx.i1]);
}
