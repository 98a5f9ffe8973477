import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import type { Windows } from "../../lib/data/types.ts";
import { ConfigError } from "../../lib/errors.ts";
import {
  drawFromGroup,
  drawWithoutReplacement,
  drawWithReplacement,
  groupIndices,
  samplingWeights,
  weightedSampler,
  windowStd,
} from "../../lib/signal/sampling.ts";
import { rng } from "../../lib/signal/random.ts";

/** Window i: x = amp_i * sin, y = z = 0 (+ 1 g on z). */
function ws(amps: number[]): Windows {
  const len = 100, n = amps.length;
  const x = new Float32Array(n * 3 * len);
  amps.forEach((a, i) => {
    for (let t = 0; t < len; t++) {
      x[i * 300 + t] = a * Math.sin((2 * Math.PI * t) / 20);
      x[i * 300 + 200 + t] = 1;
    }
  });
  return {
    x,
    n,
    channels: 3,
    length: len,
    y: new Int32Array(n),
    classes: ["a"],
    subject: amps.map(() => "s"),
    rateHz: 10,
  };
}

Deno.test("windowStd: axes mean of per-axis std; magnitude std; zero for still windows", () => {
  const w = ws([0, 1, 2]);
  const axes = windowStd(w, "axes");
  assertAlmostEquals(axes[0], 0, 1e-9);
  assertAlmostEquals(axes[1], Math.SQRT1_2 / 3, 1e-6); // sin std = 1/sqrt(2), two flat axes
  assertAlmostEquals(axes[2], 2 * axes[1], 1e-6);
  const mag = windowStd(w);
  assertAlmostEquals(mag[0], 0, 1e-7);
  assert(mag[2] > mag[1] && mag[1] > 0);
  const p = samplingWeights(w);
  assertAlmostEquals(p.reduce((a, b) => a + b, 0), 1, 1e-12);
  assert(p[0] > 0 && p[0] < 1e-5); // std 0 -> 1e-6 (ssl-wearables)
});

Deno.test("weightedSampler: draw frequencies follow std; seeded; batches; without replacement", () => {
  const w = ws([0, 1, 3]);
  const counts = [0, 0, 0];
  let batches = 0;
  for (
    const b of weightedSampler(w, {
      seed: 5,
      weighting: "std",
      stdOf: "axes",
      numSamples: 8000,
      batchSize: 1000,
    })
  ) {
    batches++;
    for (const i of b) counts[i]++;
  }
  assertEquals(batches, 8);
  assertAlmostEquals(counts[2] / 8000, 0.75, 0.02);
  assertAlmostEquals(counts[1] / 8000, 0.25, 0.02);
  assert(counts[0] < 5);
  const uni = [0, 0, 0];
  for (const b of weightedSampler(w, { seed: 5, weighting: "uniform", numSamples: 6000 })) {
    for (const i of b) {
      uni[i]++;
    }
  }
  for (const c of uni) assertAlmostEquals(c / 6000, 1 / 3, 0.03);
  const a = [...weightedSampler(w, { seed: 9, numSamples: 50, epochs: 2 })].map((b) =>
    Array.from(b)
  );
  const b = [...weightedSampler(w, { seed: 9, numSamples: 50, epochs: 2 })].map((b) =>
    Array.from(b)
  );
  assertEquals(a, b);
  assertEquals(a.length, 2);
  const noRep =
    [...weightedSampler(ws([1, 2, 3, 4, 5]), { seed: 1, replace: false, numSamples: 5 })][0];
  assertEquals(Array.from(noRep).sort(), [0, 1, 2, 3, 4]);
  assertThrows(
    () => weightedSampler(w, { seed: 1, replace: false, numSamples: 4 }).next(),
    ConfigError,
    "numSamples",
  );
});

Deno.test("drawWithReplacement: frequencies ∝ weights; seeded; a stream is consumed", () => {
  const w = [1, 0, 3, 6];
  const d = drawWithReplacement(w, 20000, 4);
  const c = [0, 0, 0, 0];
  for (const i of d) c[i]++;
  assertEquals(c[1], 0);
  [0.1, 0, 0.3, 0.6].forEach((p, i) => assertAlmostEquals(c[i] / 20000, p, 0.015));
  assertEquals(Array.from(drawWithReplacement(w, 50, 4)), Array.from(d.slice(0, 50)));
  const r = rng(4);
  assertEquals(Array.from(drawWithReplacement(w, 50, r)), Array.from(d.slice(0, 50)));
  assertEquals(Array.from(drawWithReplacement(w, 50, r)), Array.from(d.slice(50, 100)));
});

Deno.test("drawWithoutReplacement: distinct; first draw ∝ weights, then ∝ the rest (numpy's sequential choice)", () => {
  const w = [1, 2, 3, 4];
  const trials = 20000;
  const first = [0, 0, 0, 0];
  let secondIs3GivenFirst0 = 0, first0 = 0;
  for (let t = 0; t < trials; t++) {
    const d = drawWithoutReplacement(w, 3, t);
    assertEquals(new Set(d).size, 3);
    first[d[0]]++;
    if (d[0] === 0) {
      first0++;
      if (d[1] === 3) secondIs3GivenFirst0++;
    }
  }
  w.forEach((wi, i) => assertAlmostEquals(first[i] / trials, wi / 10, 0.015));
  // P(second = 3 | first = 0) = 4 / (2 + 3 + 4)
  assertAlmostEquals(secondIs3GivenFirst0 / first0, 4 / 9, 0.05);
  // all of them: a permutation; zero weights come last
  assertEquals(Array.from(drawWithoutReplacement([5, 1, 2], 3, 1)).sort(), [0, 1, 2]);
  for (let t = 0; t < 50; t++) {
    const d = drawWithoutReplacement([0, 1, 0, 2], 4, t);
    assertEquals(Array.from(d.slice(2)).sort(), [0, 2]);
  }
  assertEquals(
    Array.from(drawWithoutReplacement(w, 2, 9)),
    Array.from(drawWithoutReplacement(w, 2, 9)),
  );
  assertThrows(() => drawWithoutReplacement(w, 5, 1), ConfigError, "without replacement");
  assertThrows(() => drawWithoutReplacement([1, -1], 1, 1), ConfigError, "weight 1 is -1");
  assertThrows(() => drawWithoutReplacement([1, NaN], 1, 1), ConfigError, "finite");
  assertThrows(() => drawWithReplacement([0, 0], 1, 1), ConfigError, "sum to 0");
  assertThrows(() => drawWithReplacement([1], 1.5, 1), ConfigError, "integer");
  assertEquals(drawWithoutReplacement([0, 0], 0, 1).length, 0);
});

Deno.test("groupIndices / drawFromGroup: per-subject draws ∝ weight, with replacement only when short", () => {
  const g = groupIndices(["b", "a", "b", "c", "a", "b"]);
  assertEquals(g.keys, ["b", "a", "c"]);
  assertEquals(g.members.map((m) => Array.from(m)), [[0, 2, 5], [1, 4], [3]]);
  const weights = [1, 100, 1, 5, 1, 98];
  // "b": windows 0, 2, 5; 5 dominates
  let five = 0;
  for (let t = 0; t < 500; t++) {
    const d = drawFromGroup(g.members[0], weights, 2, t);
    assertEquals(new Set(d).size, 2);
    assert(Array.from(d).every((i) => [0, 2, 5].includes(i)));
    if (d.includes(5)) five++;
  }
  // 5 is missed only when both weight-1 windows come first: p = (2/100)·(1/99) ≈ 2e-4 per trial
  assert(five >= 497, `window 5 drawn in ${five} of 500`);
  // "c" has one window: 3 draws of it
  assertEquals(Array.from(drawFromGroup(g.members[2], weights, 3, 1)), [3, 3, 3]);
  assertEquals(
    Array.from(drawFromGroup(g.members[1], weights, 2, 7)),
    Array.from(drawFromGroup(g.members[1], weights, 2, 7)),
  );
  assertThrows(() => drawFromGroup([], weights, 1, 1), ConfigError, "empty group");
});
