// Bilinear sampling as F.interpolate(mode='bilinear', align_corners=False, antialias=False) computes
// it (PyTorch's area_pixel_compute_source_index + upsample_bilinear2d), shared by resize.wgsl and
// postprocess_masks.wgsl:
//   src = (dst + 0.5)·(in / out) − 0.5, clamped below at 0; i0 = floor(src),
//   i1 = i0 + (i0 < in − 1 ? 1 : 0), λ1 = src − i0, λ0 = 1 − λ1.
// src is evaluated exactly in integers, src = (in·(2·dst + 1) − out) / (2·out), so i0 is an exact
// integer division and λ1 the remainder over 2·out (one rounding): no dependence on how a compiler
// rounds or fuses the float formula. The host checks that in·(2·out − 1) fits in an i32.
struct Src { i0: u32, i1: u32, l1: f32 }

fn source(dst: u32, in_size: u32, out_size: u32) -> Src {
  let den = 2 * i32(out_size);
  let num = max(i32(in_size) * (2 * i32(dst) + 1) - i32(out_size), 0);
  let i0 = u32(num / den);
  let i1 = select(i0, i0 + 1u, i0 + 1u < in_size);
  return Src(i0, i1, f32(num % den) / f32(den));
}

// The value between the four samples v<row><col> (rows sy.i0, sy.i1; columns sx.i0, sx.i1).
fn lerp2(v00: f32, v01: f32, v10: f32, v11: f32, sy: Src, sx: Src) -> f32 {
  let h1 = sy.l1;
  let h0 = 1.0 - h1;
  let w1 = sx.l1;
  let w0 = 1.0 - w1;
  return h0 * (w0 * v00 + w1 * v01) + h1 * (w0 * v10 + w1 * v11);
}
