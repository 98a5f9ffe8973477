/**
 * The "Don't freeze" epoch sampling (lib/pretext/dontfreeze_sampling.ts;
 * ../shared/specs/dont-freeze.md §1.4, §4.3): the variance weight, every
 * window once per epoch by default, 10 % per epoch drawn ∝ variance (still
 * windows rarely), redrawn or fixed, seeded; and the channels-last layout.
 */
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "@std/assert";
import { ConfigError } from "../../lib/errors.ts";
import {
  DONT_FREEZE_SOURCE_SAMPLING,
  epochWindowPlan,
  putChannelsLast,
  windowVarianceSum,
} from "../../lib/pretext/dontfreeze_sampling.ts";
import { syntheticWindows } from "./_dontfreeze.ts";

const pool = syntheticWindows(100, 1);

Deno.test("windowVarianceSum: the sum of the per-axis population variances", () => {
  const v = windowVarianceSum(pool);
  for (const i of [0, 4, 57]) {
    let s = 0;
    for (let c = 0; c < 3; c++) {
      const row = Array.from(pool.x.subarray((i * 3 + c) * 100, (i * 3 + c + 1) * 100));
      const m = row.reduce((a, b) => a + b, 0) / 100;
      s += row.reduce((a, b) => a + (b - m) ** 2, 0) / 100;
    }
    assertAlmostEquals(v[i], s, 1e-6);
  }
  assert(v[4] < 1e-3 && v[0] > 1e-3, "every 5th synthetic window is nearly still");
});

Deno.test("default plan: every window once per epoch, reshuffled per epoch, seeded", () => {
  const plan = epochWindowPlan(pool, { seed: 3 });
  assertEquals(plan.windowsPerEpoch, 100);
  const e0 = Array.from(plan.indices(0));
  assertEquals([...e0].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
  assertNotEquals(Array.from(plan.indices(1)), e0);
  assertEquals(Array.from(epochWindowPlan(pool, { seed: 3 }).indices(0)), e0);
  assertNotEquals(Array.from(epochWindowPlan(pool, { seed: 4 }).indices(0)), e0);
});

Deno.test("10 % per epoch ∝ variance (§1.4): distinct windows, still ones rarely; redrawn or fixed (§4.3)", () => {
  assertEquals(DONT_FREEZE_SOURCE_SAMPLING.fraction, 0.1);
  const plan = epochWindowPlan(pool, { ...DONT_FREEZE_SOURCE_SAMPLING, seed: 1 });
  assertEquals(plan.windowsPerEpoch, 10);
  let still = 0, moving = 0;
  const sets = new Set<string>();
  for (let e = 0; e < 200; e++) {
    const idx = Array.from(plan.indices(e));
    assertEquals(new Set(idx).size, 10);
    sets.add([...idx].sort((a, b) => a - b).join());
    for (const i of idx) i % 5 === 4 ? still++ : moving++;
  }
  assert(sets.size > 150, "redrawn every epoch");
  assert(
    still < 0.01 * (still + moving),
    `still windows drawn ${still} of ${still + moving} times`,
  );
  const uniform = epochWindowPlan(pool, { fraction: 0.1, weighting: "uniform", seed: 1 });
  let u = 0;
  for (let e = 0; e < 200; e++) for (const i of uniform.indices(e)) if (i % 5 === 4) u++;
  assert(u > 0.12 * 2000 && u < 0.28 * 2000, `uniform: still windows ${u} of 2000 draws`);
  const fixed = epochWindowPlan(pool, { fraction: 0.1, redraw: false, seed: 1 });
  const f0 = [...fixed.indices(0)].sort((a, b) => a - b);
  for (const e of [1, 5, 9]) assertEquals([...fixed.indices(e)].sort((a, b) => a - b), f0);
  assertThrows(() => epochWindowPlan(pool, { fraction: 0, seed: 0 }), ConfigError, "fraction");
  assertThrows(
    () => epochWindowPlan(pool, { weighting: "std" as never, seed: 0 }),
    ConfigError,
    "weighting",
  );
});

Deno.test("putChannelsLast: [channels, length] → row of [length, channels]", () => {
  const out = new Float32Array(2 * 6);
  putChannelsLast(Float32Array.of(1, 2, 3, 4, 5, 6), 2, out, 1); // 2 channels × 3 samples
  assertEquals(Array.from(out.subarray(6)), [1, 4, 2, 5, 3, 6]);
});
