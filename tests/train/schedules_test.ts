import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import {
  constantLr,
  exponentialDecay,
  exponentialTfDecay,
  kerasDecay,
  linearWarmupDecay,
  linearWuSchedule,
} from "../../lib/train/schedules.ts";
import { adamW } from "../../lib/train/optimisers.ts";
import { ConfigError } from "../../lib/errors.ts";
import { useCpu } from "./_fixtures.ts";

await useCpu();

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

// SelfPAB's schedules, reference values from /work/shared/specs/selfpab_reference.py, by hand:
//   [R.lr_upstream(k, T) for k in (1, 2, 3, int(0.07*T), int(0.07*T)+1, int(0.07*T)+2, T//2, T-1, T, T+5)]
//   T = 100:    1e-4, 2.9285310209854147e-05, 4.342796531478122e-05, 1e-4, 9.893548387096775e-05,
//               9.787096774193549e-05, 5.4225806451612904e-05, 2.0645161290322574e-06, 1e-06, 1e-06
//   T = 937500: 1e-4, 1.0030170997557178e-06, 1.0045256496335769e-06, 1e-4, 9.999988645161291e-05,
//               9.99997729032258e-05, 5.4225806451612904e-05, 1.000113548387087e-06, 1e-06, 1e-06
//   [R.lr_downstream(k) for k in (1, 2, 201, 401, 1000)]
//               1e-4, 9.988849044250707e-05, 8e-05, 6.400000000000001e-05, 3.280458024226558e-05
// (step k is 1-based there; lrAt takes the 0-based step k - 1)
Deno.test("linearWuSchedule is SelfPAB's LinearWUSchedule as applied (step 1 = peak, step 2 ≈ 1e-6)", () => {
  const cases: [number, number[]][] = [
    [100, [
      1e-4,
      2.9285310209854147e-05,
      4.342796531478122e-05,
      1e-4,
      9.893548387096775e-05,
      9.787096774193549e-05,
      5.4225806451612904e-05,
      2.0645161290322574e-06,
      1e-06,
      1e-06,
    ]],
    [937500, [
      1e-4,
      1.0030170997557178e-06,
      1.0045256496335769e-06,
      1e-4,
      9.999988645161291e-05,
      9.99997729032258e-05,
      5.4225806451612904e-05,
      1.000113548387087e-06,
      1e-06,
      1e-06,
    ]],
  ];
  for (const [T, want] of cases) {
    const s = linearWuSchedule({ lrPeak: 1e-4, totalSteps: T });
    const w = Math.trunc(0.07 * T);
    const ks = [1, 2, 3, w, w + 1, w + 2, Math.floor(T / 2), T - 1, T, T + 5];
    ks.forEach((k, i) =>
      assertAlmostEquals(s.lrAt(k - 1), want[i], 1e-15, `T ${T} step ${k}: ${s.lrAt(k - 1)}`)
    );
  }
  // without the quirk, step 1 follows the warm-up line (≈ lrEnd)
  const plain = linearWuSchedule({ lrPeak: 1e-4, totalSteps: 937500, firstStepPeak: false });
  assertAlmostEquals(plain.lrAt(0), 1.0015085498778589e-06, 1e-15);
  // the paper-scale run: the peak is reached at 7 % (65 625 steps) and nowhere above it
  const s = linearWuSchedule({ lrPeak: 1e-4, totalSteps: 937500 });
  assertEquals(s.lrAt(65625 - 1), 1e-4);
  assert(s.lrAt(65625 - 2) < 1e-4 && s.lrAt(65625) < 1e-4);
  assertThrows(() => linearWuSchedule({ lrPeak: 1e-4, totalSteps: 0 }), ConfigError, "totalSteps");
  assertThrows(
    () => linearWuSchedule({ lrPeak: 1e-4, totalSteps: 10, warmupFraction: 1 }),
    ConfigError,
    "warmupFraction",
  );
});

Deno.test("exponentialTfDecay is SelfPAB's ExponentialTFDecay: 1e-4·0.8^((k−1)/200), continuous", () => {
  const s = exponentialTfDecay({ lr: 1e-4 });
  const want = [1e-4, 9.988849044250707e-05, 8e-05, 6.400000000000001e-05, 3.280458024226558e-05];
  [1, 2, 201, 401, 1000].forEach((k, i) => assertAlmostEquals(s.lrAt(k - 1), want[i], 1e-15));
  // the paper's variant: factor 0.1 per 200 steps
  assertAlmostEquals(
    exponentialTfDecay({ lr: 1, decayRate: 0.1 }).lrAt(100),
    Math.sqrt(0.1),
    1e-12,
  );
  assertThrows(() => exponentialTfDecay({ lr: 1, decaySteps: 0 }), ConfigError, "decaySteps");
  assertThrows(() => exponentialTfDecay({ lr: 1, decayRate: -1 }), ConfigError, "decayRate");
});

// torch.optim.AdamW with SelfPAB's settings (betas (0.9, 0.98), eps 1e-8, weight_decay 1e-5), the
// lr of each step set by linearWuSchedule (total 40 steps). torch is not installable here, so the
// reference is a numpy float32 re-statement of torch's `_single_tensor_adamw` (torch 1.13–2.x):
//   p *= 1 - lr*wd; m += (g - m)*(1 - b1); v = v*b2 + g*g*(1 - b2)
//   p -= (lr/(1 - b1**k)) * m / (sqrt(v)/sqrt(1 - b2**k) + eps)
// with lr = selfpab_reference.lr_upstream(k, 40), p0 = [0.5, -1.25, 2, 0.75] and the gradients G
// below (one coordinate ~1e-7, so eps matters), run by hand; p after each step:
const ADAMW_G = [
  [0.3, -0.2, 1e-7, 0.05],
  [-0.1, -0.25, -2e-7, 0.04],
  [0.2, 0.1, 1e-7, -0.5],
  [0.05, -0.3, 3e-7, 0.2],
  [-0.4, 0.05, -1e-7, 0.1],
];
const ADAMW_P = [
  [0.4999000132083893, -1.249899983406067, 1.9999090433120728, 0.7498999834060669],
  [0.4998711943626404, -1.2498283386230469, 1.9999337196350098, 0.7498290538787842],
  [0.49981099367141724, -1.2497737407684326, 1.9999334812164307, 0.7498819231987],
  [0.49975571036338806, -1.249704122543335, 1.9998921155929565, 0.7499006390571594],
  [0.4997621476650238, -1.249652624130249, 1.9998713731765747, 0.7499064803123474],
];

Deno.test("SelfPAB upstream optimiser: adamW(0.9, 0.98, 1e-8, wd 1e-5) under linearWuSchedule = torch AdamW", () => {
  const run = (beta2: number, eps: number) => {
    const opt = adamW({ lr: 1e-4, beta1: 0.9, beta2, eps, weightDecay: 1e-5 });
    const sched = linearWuSchedule({ lrPeak: 1e-4, totalSteps: 40 });
    const v = tf.variable(tf.tensor1d([0.5, -1.25, 2, 0.75]));
    const out: number[][] = [];
    ADAMW_G.forEach((g, step) => {
      opt.lr = sched.lrAt(step);
      const gt = tf.tensor1d(g);
      opt.applyGradients([{ key: "p", variable: v }], [gt]);
      gt.dispose();
      out.push(Array.from(v.dataSync()));
    });
    v.dispose();
    opt.dispose();
    return out;
  };
  const maxDiff = (got: number[][]) =>
    Math.max(...got.flatMap((row, i) => row.map((x, j) => Math.abs(x - ADAMW_P[i][j]))));
  const d = maxDiff(run(0.98, 1e-8));
  assert(d < 2e-7, `max |ours - torch AdamW| = ${d}`); // 1 float32 ulp at 1–2
  // the settings matter at this tolerance: tfjs' defaults (β2 0.999, eps 1e-7) do not match
  assert(maxDiff(run(0.999, 1e-8)) > 5e-7, "β2 0.999 should differ");
  assert(maxDiff(run(0.98, 1e-7)) > 1e-6, "eps 1e-7 should differ");
});

Deno.test("kerasDecay is Keras' legacy decay: lr / (1 + decay·step)", () => {
  const s = kerasDecay({ lr: 1e-3, decay: 1e-3 });
  assertEquals(s.lrAt(0), 1e-3);
  assertAlmostEquals(s.lrAt(1000), 5e-4, 1e-15);
  assertAlmostEquals(s.lrAt(3000), 2.5e-4, 1e-15);
  assertEquals(kerasDecay({ lr: 2e-3, decay: 0 }).lrAt(1e6), 2e-3);
  assertThrows(() => kerasDecay({ lr: 1e-3, decay: -1 }), ConfigError, "decay");
});
