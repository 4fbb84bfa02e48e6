// erf(x) by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7), and GELU in its exact erf form,
// 0.5 x (1 + erf(x / sqrt 2)), as torch.nn.GELU() computes it. Included by other kernels.
fn erf_approx(x: f32) -> f32 {
  let s = sign(x);
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * z);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return s * (1.0 - poly * exp(-z * z));
}

fn gelu(x: f32) -> f32 {
  return 0.5 * x * (1.0 + erf_approx(x * 0.70710678118654752));
}
