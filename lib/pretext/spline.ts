/**
 * Cubic-spline interpolation with scipy's default "not-a-knot" end
 * conditions (`scipy.interpolate.CubicSpline(x, y)`), used by the time-warp
 * pretext task to draw a smooth random speed curve through a few knots.
 *
 * "Not-a-knot": the third derivative is continuous at the second and the
 * second-to-last knot, so the first two and last two pieces are one cubic
 * each. With 3 knots the spline is the parabola through them, with 2 the line
 * (as scipy). Any cubic polynomial is reproduced exactly.
 *
 * @example
 * const s = cubicSpline([0, 1, 2, 3, 4], [1, 0.8, 1.1, 1.3, 0.9]);
 * s.at(2.5);                        // one value
 * s.evaluate(Float64Array.from({ length: 5 }, (_, i) => i)); // many
 */

/** A fitted cubic spline. */
export interface CubicSpline {
  /** Knot positions (strictly increasing). */
  readonly knots: Float64Array;
  /** Second derivative of the spline at each knot. */
  readonly secondDerivatives: Float64Array;
  /** Value at `x`; outside the knots the end pieces are extrapolated (scipy's default). */
  at(x: number): number;
  /** Values at every point of `xs`. */
  evaluate(xs: ArrayLike<number>): Float64Array;
}

/**
 * Fit a not-a-knot cubic spline through `(xs[i], ys[i])`.
 *
 * @throws RangeError when fewer than 2 knots, lengths differ, or `xs` is not strictly increasing.
 */
export function cubicSpline(xs: ArrayLike<number>, ys: ArrayLike<number>): CubicSpline {
  const n = xs.length;
  if (n < 2) throw new RangeError(`cubicSpline: xs has ${n} knots, need at least 2`);
  if (ys.length !== n) {
    throw new RangeError(`cubicSpline: ys has ${ys.length} values, xs has ${n}`);
  }
  const x = Float64Array.from(xs);
  const y = Float64Array.from(ys);
  const h = new Float64Array(n - 1);
  for (let i = 0; i < n - 1; i++) {
    h[i] = x[i + 1] - x[i];
    if (!(h[i] > 0)) {
      throw new RangeError(
        `cubicSpline: xs must be strictly increasing (xs[${i + 1}] <= xs[${i}])`,
      );
    }
  }
  const m = new Float64Array(n);
  if (n === 3) {
    // Parabola through 3 points: constant second derivative.
    const c = 2 * ((y[2] - y[1]) / h[1] - (y[1] - y[0]) / h[0]) / (h[0] + h[1]);
    m.fill(c);
  } else if (n >= 4) {
    const a: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    const b = new Float64Array(n);
    // Not-a-knot at x[1]: M'''(x1-) = M'''(x1+).
    a[0][0] = h[1];
    a[0][1] = -(h[0] + h[1]);
    a[0][2] = h[0];
    for (let i = 1; i < n - 1; i++) {
      a[i][i - 1] = h[i - 1];
      a[i][i] = 2 * (h[i - 1] + h[i]);
      a[i][i + 1] = h[i];
      b[i] = 6 * ((y[i + 1] - y[i]) / h[i] - (y[i] - y[i - 1]) / h[i - 1]);
    }
    // Not-a-knot at x[n-2].
    a[n - 1][n - 3] = h[n - 2];
    a[n - 1][n - 2] = -(h[n - 3] + h[n - 2]);
    a[n - 1][n - 1] = h[n - 3];
    solveInPlace(a, b);
    m.set(b);
  }
  const piece = (v: number): number => {
    // Largest i with x[i] <= v, clamped to a valid piece.
    let lo = 0, hi = n - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (x[mid] <= v) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const at = (v: number): number => {
    const i = piece(v);
    const hi = h[i];
    const t = v - x[i];
    const slope = (y[i + 1] - y[i]) / hi - hi * (2 * m[i] + m[i + 1]) / 6;
    return y[i] + t * (slope + t * (m[i] / 2 + t * (m[i + 1] - m[i]) / (6 * hi)));
  };
  return {
    knots: x,
    secondDerivatives: m,
    at,
    evaluate(pts: ArrayLike<number>): Float64Array {
      const out = new Float64Array(pts.length);
      for (let k = 0; k < pts.length; k++) out[k] = at(pts[k]);
      return out;
    },
  };
}

/** Gaussian elimination with partial pivoting; the solution overwrites `b`. */
function solveInPlace(a: number[][], b: Float64Array): void {
  const n = b.length;
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r][col]) > Math.abs(a[p][col])) p = r;
    if (a[p][col] === 0) throw new RangeError("cubicSpline: singular knot system");
    if (p !== col) {
      [a[p], a[col]] = [a[col], a[p]];
      [b[p], b[col]] = [b[col], b[p]];
    }
    for (let r = col + 1; r < n; r++) {
      const f = a[r][col] / a[col][col];
      if (f === 0) continue;
      for (let c = col; c < n; c++) a[r][c] -= f * a[col][c];
      b[r] -= f * b[col];
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r];
    for (let c = r + 1; c < n; c++) s -= a[r][c] * b[c];
    b[r] = s / a[r][r];
  }
}
