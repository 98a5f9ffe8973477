import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { constantLr, exponentialDecay, linearWarmupDecay } from "../../lib/train/schedules.ts";
import { ConfigError } from "../../lib/errors.ts";

Deno.test("linear warm-up then linear decay (get_linear_schedule_with_warmup)", () => {
  const s = linearWarmupDecay({ lrPeak: 1e-3, warmupSteps: 10, totalSteps: 110 });
  assertEquals(s.lrAt(0), 0);
  assertAlmostEquals(s.lrAt(5), 5e-4, 1e-12);
  assertAlmostEquals(s.lrAt(10), 1e-3, 1e-12);
  assertAlmostEquals(s.lrAt(60), 5e-4, 1e-12);
  assertAlmostEquals(s.lrAt(109), 1e-5, 1e-12);
  assertEquals(s.lrAt(110), 0);
  assertEquals(s.lrAt(500), 0);
  const noWarm = linearWarmupDecay({ lrPeak: 1, warmupSteps: 0, totalSteps: 4 });
  assertEquals([0, 1, 2, 3, 4].map((i) => noWarm.lrAt(i)), [1, 0.75, 0.5, 0.25, 0]);
});

Deno.test("exponential decay per step or per period; constant", () => {
  const e = exponentialDecay({ lr: 0.1, gamma: 0.5 });
  assertAlmostEquals(e.lrAt(3), 0.0125, 1e-15);
  const ep = exponentialDecay({ lr: 0.1, gamma: 0.9, stepsPerDecay: 10 });
  assertEquals(ep.lrAt(9), 0.1);
  assertAlmostEquals(ep.lrAt(10), 0.09, 1e-15);
  assertAlmostEquals(ep.lrAt(25), 0.081, 1e-15);
  assertEquals(constantLr({ lr: 3e-4 }).lrAt(12345), 3e-4);
});

Deno.test("schedule arguments are validated", () => {
  assertThrows(
    () => linearWarmupDecay({ lrPeak: 1, warmupSteps: 20, totalSteps: 10 }),
    ConfigError,
    "warmupSteps",
  );
  assertThrows(() => exponentialDecay({ lr: 1, gamma: 0 }), ConfigError, "gamma");
  assertThrows(() => constantLr({ lr: NaN }), ConfigError, "lr");
});
