import { assertAlmostEquals, assertThrows } from "@std/assert";
import { cubicSpline } from "../../lib/pretext/spline.ts";

Deno.test("cubicSpline: not-a-knot reproduces any cubic exactly (as scipy CubicSpline)", () => {
  const f = (x: number) => 0.3 * x ** 3 - 1.2 * x ** 2 + 0.5 * x + 2;
  const xs = [0, 0.7, 2, 2.5, 4, 5.5];
  const s = cubicSpline(xs, xs.map(f));
  for (let x = -0.5; x <= 6; x += 0.13) assertAlmostEquals(s.at(x), f(x), 1e-9);
  // 4 knots: the single cubic through them.
  const s4 = cubicSpline([0, 1, 3, 4], [0, 1, 3, 4].map(f));
  for (let x = 0; x <= 4; x += 0.25) assertAlmostEquals(s4.at(x), f(x), 1e-9);
});

Deno.test("cubicSpline: interpolates knots; 3 knots = parabola; 2 knots = line", () => {
  const xs = [0, 59.8, 119.6, 179.4, 239.2, 299];
  const ys = [1.1, 0.8, 1.3, 0.95, 1.0, 1.2];
  const s = cubicSpline(xs, ys);
  xs.forEach((x, i) => assertAlmostEquals(s.at(x), ys[i], 1e-12));
  const q = (x: number) => 2 * x * x - x + 1;
  const p = cubicSpline([0, 1, 3], [q(0), q(1), q(3)]);
  for (let x = 0; x <= 3; x += 0.2) assertAlmostEquals(p.at(x), q(x), 1e-9);
  const l = cubicSpline([0, 2], [1, 5]);
  assertAlmostEquals(l.at(1), 3, 1e-12);
});

Deno.test("cubicSpline: rejects bad knots", () => {
  assertThrows(() => cubicSpline([0], [1]), RangeError, "at least 2");
  assertThrows(() => cubicSpline([0, 1, 1, 2], [0, 0, 0, 0]), RangeError, "strictly increasing");
  assertThrows(() => cubicSpline([0, 1], [0]), RangeError, "ys has 1");
});

Deno.test("cubicSpline: matches scipy CubicSpline on ssl-wearables' time-warp knots", () => {
  // Values from scipy 1.17 CubicSpline(np.arange(0, 300, 299 / 5), yy) (default not-a-knot).
  const xs = [0, 59.8, 119.6, 179.4, 239.2, 299];
  const s = cubicSpline(xs, [1.21, 0.92, 1.1, 0.8, 1.05, 0.97]);
  const at = [0, 7.5, 50, 123.25, 200, 299];
  const scipy = [
    1.21,
    1.0928372654837886,
    0.8926553389269349,
    1.0906421446647598,
    0.8285906901223188,
    0.97,
  ];
  at.forEach((x, i) => assertAlmostEquals(s.at(x), scipy[i], 1e-12));
});
