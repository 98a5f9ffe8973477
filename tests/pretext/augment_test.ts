import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertGreater,
  assertLess,
  assertNotEquals,
  assertThrows,
} from "@std/assert";
import { ConfigError } from "../../lib/errors.ts";
import {
  applyRotation,
  AXIS_ORDERS,
  axisAngleMatrix,
  randomRotation,
  rotate3d,
  type RotationMode,
  swapAxes,
} from "../../lib/pretext/augment.ts";
import { rng } from "../../lib/signal/random.ts";
import { maxAbsDiff, norms, rows, testWindow } from "./_signals.ts";

const L = 300;

Deno.test("swapAxes: every order is a permutation of the axes and keeps per-sample norms", () => {
  const x = testWindow();
  const xr = rows(x);
  for (let o = 0; o < 6; o++) {
    const y = swapAxes(x, { order: o }, rng(0));
    rows(y).forEach((row, k) => assertEquals([...row], [...xr[AXIS_ORDERS[o][k]]]));
    assertLess(maxAbsDiff(norms(y), norms(x)), 1e-12);
  }
  // Drawn uniformly over the 6 orders, identity included (ssl-wearables randint(1, 6)).
  const counts = new Array(6).fill(0);
  const r = rng(2);
  for (let i = 0; i < 1200; i++) {
    const y = swapAxes(x, {}, r);
    const first = rows(y)[0], second = rows(y)[1];
    const o = AXIS_ORDERS.findIndex(([a, b]) =>
      maxAbsDiff(first, xr[a]) === 0 && maxAbsDiff(second, xr[b]) === 0
    );
    counts[o]++;
  }
  for (const c of counts) assert(c > 150 && c < 250, `order counts ${counts}`);
  assertEquals([...swapAxes(x, {}, rng(9))], [...swapAxes(x, {}, rng(9))]);
});

Deno.test("swapAxes: 6 channels swap each sensor alike; non-tri-axial channels are refused", () => {
  const x = testWindow(6, 50);
  const y = swapAxes(x, { channels: 6, order: 4 }, rng(0));
  const xr = rows(x, 6), yr = rows(y, 6);
  for (let k = 0; k < 3; k++) {
    assertEquals([...yr[k]], [...xr[AXIS_ORDERS[4][k]]]);
    assertEquals([...yr[3 + k]], [...xr[3 + AXIS_ORDERS[4][k]]]);
  }
  assertThrows(
    () => swapAxes(testWindow(4, 50), { channels: 4 }, rng(0)),
    ConfigError,
    "multiple of 3",
  );
  assertThrows(() => swapAxes(x, { channels: 6, order: 6 }, rng(0)), ConfigError, "0..5");
});

Deno.test("axisAngleMatrix / applyRotation: transforms3d convention, sample @ R", () => {
  const r = axisAngleMatrix([0, 0, 2], Math.PI / 2);
  const expect = [0, -1, 0, 1, 0, 0, 0, 0, 1];
  r.forEach((v, i) => assertAlmostEquals(v, expect[i], 1e-12));
  // Row vector (1, 0, 0) @ R = first row of R = (0, -1, 0).
  const y = applyRotation(Float32Array.of(1, 0, 0), r);
  assertAlmostEquals(y[0], 0, 1e-7);
  assertAlmostEquals(y[1], -1, 1e-7);
  assertAlmostEquals(y[2], 0, 1e-7);
});

Deno.test("rotate3d: orthonormal matrices with det +1; per-sample norms kept; seeded", () => {
  const x = testWindow();
  for (const mode of ["axis-angle", "euler", "uniform"] as RotationMode[]) {
    const rnd = rng(4);
    for (let k = 0; k < 50; k++) {
      const m = randomRotation(rnd, mode);
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          const dot = m[i] * m[j] + m[3 + i] * m[3 + j] + m[6 + i] * m[6 + j];
          assertAlmostEquals(dot, i === j ? 1 : 0, 1e-12);
        }
      }
      const det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
        m[2] * (m[3] * m[7] - m[4] * m[6]);
      assertAlmostEquals(det, 1, 1e-12);
    }
    const y = rotate3d(x, { mode }, rng(1));
    assertEquals([...y], [...rotate3d(x, { mode }, rng(1))]);
    assertGreater(maxAbsDiff(y, x), 0.1);
    const nx = norms(x), ny = norms(y);
    for (let t = 0; t < L; t++) assertAlmostEquals(ny[t], nx[t], 1e-5 * Math.max(1, nx[t]));
  }
  assertThrows(() => randomRotation(rng(0), "bad" as RotationMode), ConfigError, "mode");
});

Deno.test("randomRotation: 'uniform' is Haar (E[R] = 0, rotated z uniform on [-1, 1])", () => {
  const r = rng(12);
  const n = 4000;
  const mean = new Float64Array(9);
  let zz = 0, zz2 = 0;
  for (let k = 0; k < n; k++) {
    const m = randomRotation(r, "uniform");
    for (let i = 0; i < 9; i++) mean[i] += m[i] / n;
    zz += m[8] / n;
    zz2 += m[8] * m[8] / n;
  }
  for (const v of mean) assert(Math.abs(v) < 0.04, `mean entry ${v}`);
  assertAlmostEquals(zz2 - zz * zz, 1 / 3, 0.03);
  // axis-angle (ssl-wearables) is not Haar: its diagonal mean is E[a_i²]·1 > 0.
  const aa = new Float64Array(9);
  for (let k = 0; k < n; k++) {
    const m = randomRotation(r, "axis-angle");
    for (let i = 0; i < 9; i++) aa[i] += m[i] / n;
  }
  assertGreater(aa[0], 0.2);
  assertNotEquals(Math.round(aa[0] * 10), Math.round(mean[0] * 10));
});
