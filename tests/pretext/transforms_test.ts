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
import { rng } from "../../lib/signal/random.ts";
import {
  applyPermutation,
  permutationPlan,
  permute,
  reverseTime,
  scale,
  scaleFactors,
  timeWarp,
  timeWarpTimes,
} from "../../lib/pretext/transforms.ts";
import { maxAbsDiff, rows, sorted, testWindow } from "./_signals.ts";

const L = 300;

Deno.test("reverseTime: reverses each channel; twice is the identity", () => {
  assertEquals(
    [...reverseTime(Float32Array.of(1, 2, 3, 4, 5, 6), { channels: 2 })],
    [3, 2, 1, 6, 5, 4],
  );
  const x = testWindow();
  const r = reverseTime(x);
  assertNotEquals([...r], [...x]);
  assertEquals([...reverseTime(r)], [...x]);
  assertEquals(r[0], x[L - 1]);
  assertEquals(r[L], x[2 * L - 1]);
  assertThrows(() => reverseTime(new Float32Array(10)), ConfigError, "3-channel");
});

Deno.test("permute: deterministic for a seed, same cuts on every channel, multiset kept", () => {
  const x = testWindow();
  const a = permute(x, {}, rng(5));
  assertEquals([...a], [...permute(x, {}, rng(5))]);
  assertEquals([...a], [...applyPermutation(x, permutationPlan(L, {}, rng(5)))]);
  let differs = 0;
  for (let s = 0; s < 50; s++) {
    const y = permute(x, { chunks: 4, minChunkSamples: 10 }, rng(s));
    rows(y).forEach((row, c) => assertEquals(sorted(row), sorted(rows(x)[c])));
    if (maxAbsDiff(x, y) > 0) differs++;
  }
  assertGreater(differs, 40);
});

Deno.test("permute: chunks longer than minChunkSamples, cuts in ssl-wearables' range, orders uniform", () => {
  const r = rng(11);
  let identity = 0;
  const firstChunk = new Array(4).fill(0);
  for (let k = 0; k < 960; k++) {
    const { bounds, order } = permutationPlan(L, { chunks: 4, minChunkSamples: 10 }, r);
    assertEquals(bounds.length, 5);
    assertEquals(bounds[0], 0);
    assertEquals(bounds[4], L);
    for (let i = 0; i < 4; i++) assertGreater(bounds[i + 1] - bounds[i], 10);
    for (let i = 1; i < 4; i++) assert(bounds[i] >= 10 && bounds[i] < L - 10);
    assertEquals(sorted(order), [0, 1, 2, 3]);
    if (order.every((v, i) => v === i)) identity++;
    firstChunk[order[0]]++;
  }
  // ssl-wearables draws any of the 24 orders, the identity included (expected 40 of 960).
  assert(identity > 15 && identity < 70, `identity orders ${identity}`);
  for (const c of firstChunk) assert(c > 190 && c < 290, `first chunk counts ${firstChunk}`);
  // Tight fit: 4 chunks of >= 3 samples in 12.
  const t = permutationPlan(12, { chunks: 4, minChunkSamples: 2 }, r);
  assertEquals([...t.bounds], [0, 3, 6, 9, 12]);
  assertThrows(
    () => permutationPlan(43, { chunks: 4, minChunkSamples: 10 }, r),
    ConfigError,
    "do not fit",
  );
});

Deno.test("permute: allowIdentity=false always changes the window", () => {
  const x = testWindow();
  for (let s = 0; s < 200; s++) {
    assertGreater(maxAbsDiff(x, permute(x, { allowIdentity: false }, rng(s))), 0);
  }
});

Deno.test("timeWarp: deterministic, keeps length and both end samples, changes the middle", () => {
  const x = testWindow();
  const a = timeWarp(x, {}, rng(3));
  assertEquals([...a], [...timeWarp(x, {}, rng(3))]);
  assertNotEquals([...a], [...timeWarp(x, {}, rng(4))]);
  assertEquals(a.length, x.length);
  for (let s = 0; s < 30; s++) {
    const y = timeWarp(x, { sigma: 0.2, knots: 4 }, rng(s));
    rows(y).forEach((row, c) => {
      assertAlmostEquals(row[0], rows(x)[c][0], 1e-6);
      assertAlmostEquals(row[L - 1], rows(x)[c][L - 1], 1e-6);
    });
    assertGreater(maxAbsDiff(x, y), 0.05);
  }
});

Deno.test("timeWarp: a smooth monotone re-timing, its own curve per channel", () => {
  // Input ramp x(t) = t: the output is the inverse warp, increasing from 0 to L-1.
  const ramp = new Float32Array(3 * L);
  for (let c = 0; c < 3; c++) for (let t = 0; t < L; t++) ramp[c * L + t] = t;
  let maxShift = 0;
  for (let s = 0; s < 20; s++) {
    const y = timeWarp(ramp, {}, rng(s));
    const rs = rows(y);
    for (const row of rs) {
      for (let t = 1; t < L; t++) assert(row[t] >= row[t - 1], "warped ramp must not decrease");
      for (let t = 0; t < L; t++) maxShift = Math.max(maxShift, Math.abs(row[t] - t));
    }
    assertGreater(maxAbsDiff(rs[0], rs[1]), 0.5);
    const times = timeWarpTimes(L, {}, rng(s));
    assertEquals(times.length, 3);
    for (const tt of times) {
      assertAlmostEquals(tt[L - 1], L - 1, 1e-9);
      // Smooth: the speed (first difference, ~1 sample/sample) changes slowly
      // from sample to sample (white-noise speeds with sd 0.2 would jump ~0.3).
      for (let t = 2; t < L; t++) {
        assertLess(Math.abs(tt[t] - 2 * tt[t - 1] + tt[t - 2]), 0.1);
      }
    }
  }
  assertGreater(maxShift, 3); // sigma 0.2 moves samples by several samples
  // sigma -> 0: identity up to ssl-wearables' cumulative-sum offset (< 1 sample).
  const still = timeWarp(ramp, { sigma: 0 }, rng(0));
  assertLess(maxAbsDiff(still, ramp), 1 + 1e-4);
  const smooth = testWindow(3, L, 9);
  // ... so a smooth signal moves by at most its largest one-sample step.
  let step = 0;
  for (const row of rows(smooth)) {
    for (let t = 1; t < L; t++) step = Math.max(step, Math.abs(row[t] - row[t - 1]));
  }
  assertLess(maxAbsDiff(timeWarp(smooth, { sigma: 1e-4 }, rng(1)), smooth), step * 1.01);
  assertGreater(maxAbsDiff(timeWarp(smooth, { sigma: 0.2 }, rng(1)), smooth), 3 * step);
  assertThrows(() => timeWarp(smooth, { sigma: -1 }, rng(1)), ConfigError, "sigma");
});

Deno.test("scale: multiplies each channel by one factor in [0.5, 1.5], >= 0.15 from 1", () => {
  const x = testWindow();
  const a = scale(x, {}, rng(8));
  assertEquals([...a], [...scale(x, {}, rng(8))]);
  let below = 0, above = 0;
  for (let s = 0; s < 100; s++) {
    const y = scale(x, {}, rng(s));
    const f = scaleFactors(3, {}, rng(s));
    rows(y).forEach((row, c) => {
      const xr = rows(x)[c];
      for (let t = 0; t < L; t += 7) assertAlmostEquals(row[t], Math.fround(xr[t] * f[c]), 1e-6);
      assert(f[c] >= 0.5 && f[c] < 1.5 && Math.abs(f[c] - 1) >= 0.15, `factor ${f[c]}`);
      if (f[c] < 1) below++;
      else above++;
    });
  }
  assert(below > 100 && above > 100, `factors below/above 1: ${below}/${above}`);
  assertThrows(() => scale(x, { scaleRange: 0.1, minScaleDiff: 0.2 }, rng(0)), ConfigError);
});

Deno.test("timeWarp: matches ssl-wearables DA_TimeWarp (numpy/scipy) for given knot speeds", () => {
  // Oracle: numpy 2.4 / scipy 1.17 running DistortTimesteps + np.interp with these knot values
  // (yy[:, c]) on X[:, 0] = sin(2π·3t/L) + 0.2t/L, X[:, 1] = cos(2π·5t/L·(1 + t/L)), X[:, 2] = (t/L)².
  const x = new Float32Array(3 * L);
  for (let t = 0; t < L; t++) {
    x[t] = Math.sin(2 * Math.PI * 3 * t / L) + 0.2 * t / L;
    x[L + t] = Math.cos(2 * Math.PI * 5 * t / L * (1 + t / L));
    x[2 * L + t] = (t / L) ** 2;
  }
  const knotSpeeds = [
    [1.21, 0.92, 1.1, 0.8, 1.05, 0.97],
    [0.83, 1.3, 0.75, 1.12, 0.9, 1.18],
    [1.05, 0.97, 1.02, 1.2, 0.85, 1.0],
  ];
  const y = rows(timeWarp(x, { knotSpeeds }, rng(0)));
  const at = [0, 7, 50, 123, 200, 298, 299];
  const numpy = [
    [
      0,
      0.3082333754036278,
      0.03356609537167943,
      1.044935735923269,
      0.4610933565106539,
      0.07202377314496851,
      0.13654281380401959,
    ],
    [
      1,
      0.7501057081956541,
      0.14790666505525324,
      -0.9298638598860733,
      -0.251177686265016,
      0.8276197075997105,
      0.9511643256312134,
    ],
    [
      0,
      0.00036166371286492055,
      0.025672104813617175,
      0.16790271543534366,
      0.4008061238230613,
      0.9867078726219047,
      0.9933444444444445,
    ],
  ];
  for (let c = 0; c < 3; c++) at.forEach((t, i) => assertAlmostEquals(y[c][t], numpy[c][i], 2e-6));
  assertThrows(() => timeWarp(x, { knotSpeeds: [[1, 1]] }, rng(0)), ConfigError, "knotSpeeds");
});
