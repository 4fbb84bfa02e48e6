// Naive CPU references for the kernels, in float64. Written for clarity, not speed.

/** erf in float64: Taylor series for |x| < 3, continued fraction beyond (|error| < 1e-15). */
export function erfRef(x: number): number {
  const z = Math.abs(x);
  let r: number;
  if (z < 3) {
    let term = z;
    let sum = z;
    for (let n = 1; n < 200; n++) {
      term *= (-z * z) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc(z) = exp(-z²)/sqrt(pi) · 1/(z + 1/2/(z + 1/(z + 3/2/(z + …))))
    let f = z;
    for (let n = 60; n >= 1; n--) f = z + n / 2 / f;
    r = 1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
  }
  return x < 0 ? -r : r;
}

export const geluRef = (x: number): number => 0.5 * x * (1 + erfRef(x / Math.SQRT2));
