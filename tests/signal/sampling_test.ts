import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import type { Windows } from "../../lib/data/types.ts";
import { ConfigError } from "../../lib/errors.ts";
import { samplingWeights, weightedSampler, windowStd } from "../../lib/signal/sampling.ts";

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
