/**
 * SimCLR (lib/pretext/simclr.ts with lib/models `simclrModel`;
 * ../shared/specs/dont-freeze.md §3.4): two independently rotated views of
 * each window (each one rigid rotation: every sample's norm and every pair of
 * samples' dot product kept), per-epoch vs precomputed views, NT-Xent with τ =
 * 0.1 as Tang's sum over the views (low for matching projections, high for
 * mismatched ones), a short `fit` that lowers it, and the TPN + projection head
 * + NT-Xent gradients on the fast engines against tfjs cpu.
 */
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/mod.ts";
import { ConfigError } from "../../lib/errors.ts";
import { simclrModel } from "../../lib/models/dontfreeze_encoders.ts";
import {
  makeSimclrBatch,
  SIMCLR_DEFAULT_TEMPERATURE,
  simclrLoss,
  simclrSource,
  simclrView,
} from "../../lib/pretext/simclr.ts";
import type { Batch, HostTensor } from "../../lib/train/batches.ts";
import { lossFromSpec } from "../../lib/train/losses.ts";
import { evaluateSource, fit } from "../../lib/train/loop.ts";
import { checkGradientsAgainstCpu, hostBatch, syntheticWindows } from "./_dontfreeze.ts";
import { maxAbsDiff } from "./_signals.ts";

await initBackend({ verbose: false, threads: 1 });

const ctx = (epoch: number, step: number) => ({
  epoch,
  step,
  globalStep: 0,
  seed: 0,
  epochSeed: 0,
});
const pool = syntheticWindows(10, 2);

/** Sample t of row r of a channels-last batch. */
const sample = (x: Float32Array, r: number, t: number) =>
  [0, 1, 2].map((c) => x[(r * 100 + t) * 3 + c]);
const dot = (a: number[], b: number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

Deno.test("views: two different rigid rotations of the same window (norms and sample dot products kept)", () => {
  const b = makeSimclrBatch(pool, [4, 7], { seedOf: (i, v) => 10 * i + v });
  const [va, vb] = b.x as HostTensor[];
  assertEquals(va.shape, [2, 100, 3]);
  assertEquals(b.y, undefined);
  for (let r = 0; r < 2; r++) {
    const i = [4, 7][r];
    const orig = (t: number) => [0, 1, 2].map((c) => pool.x[(i * 3 + c) * 100 + t]);
    for (const v of [va, vb]) {
      for (const [t, s] of [[0, 0], [3, 50], [99, 20], [10, 11]]) {
        assertAlmostEquals(
          dot(sample(v.data as Float32Array, r, t), sample(v.data as Float32Array, r, s)),
          dot(orig(t), orig(s)),
          1e-4,
        );
      }
    }
    assert(
      maxAbsDiff(
        va.data.subarray(r * 300, (r + 1) * 300),
        vb.data.subarray(r * 300, (r + 1) * 300),
      ) > 0.05,
    );
  }
  assertEquals(SIMCLR_DEFAULT_TEMPERATURE, 0.1);
  const w = pool.x.subarray(0, 300);
  assertEquals(Array.from(simclrView(w, ["negated"], {}, 0)), Array.from(w, (v) => -v));
  assertThrows(
    () => makeSimclrBatch(pool, [0], { augmentations: ["flip" as never], seedOf: () => 0 }),
    ConfigError,
    "unknown",
  );
});

Deno.test("source: new views every epoch (default) or one fixed pair (precomputed); seeded; evaluation fixed", () => {
  const viewsOf = (s: ReturnType<typeof simclrSource>, e: number) =>
    Array.from({ length: s.stepsPerEpoch }, (_, k) => {
      const [a, b] = (s.batch!(ctx(e, k)) as Batch).x as HostTensor[];
      return [a.data, b.data];
    });
  /** rows (first 6 values) of an epoch's view a, sorted */
  const rowsOf = (s: ReturnType<typeof simclrSource>, e: number) =>
    viewsOf(s, e).flatMap(([a]) =>
      Array.from(
        { length: a.length / 300 },
        (_, r) => Array.from(a.subarray(r * 300, r * 300 + 6), (v) => v.toFixed(5)).join(),
      )
    ).sort();
  const fresh = simclrSource(pool, { seed: 1, batchSize: 4 });
  assertEquals(fresh.stepsPerEpoch, 3);
  assertEquals(viewsOf(simclrSource(pool, { seed: 1, batchSize: 4 }), 0), viewsOf(fresh, 0));
  const f0 = rowsOf(fresh, 0), f1 = rowsOf(fresh, 1);
  assertEquals(f0.filter((r) => f1.includes(r)).length, 0);
  const fixed = simclrSource(pool, { seed: 1, batchSize: 4, transforms: "precomputed" });
  assertEquals(rowsOf(fixed, 1), rowsOf(fixed, 0));
  const ev = simclrSource(pool, { seed: 1, batchSize: 4, evaluation: true });
  assertEquals(viewsOf(ev, 2), viewsOf(ev, 0));
  assertThrows(
    () => simclrSource(pool, { seed: 0, transforms: "once" as never }),
    ConfigError,
    "transforms",
  );
});

Deno.test("NT-Xent (τ 0.1, sum of the two views): near 0 when the views' projections match, high when mismatched", () => {
  const loss = lossFromSpec(simclrLoss());
  const n = 8;
  const a = tf.eye(n, 16); // orthogonal projections, one per window
  // each anchor: partner logit 1/τ = 10, its 2n − 2 negatives 0
  const lo = loss([], [a, a]).dataSync()[0];
  assertAlmostEquals(lo, 2 * Math.log(1 + (2 * n - 2) * Math.exp(-10)), 1e-5);
  assert(lo < 2e-3, `matching views ${lo}`);
  const shifted = tf.concat([a.slice([1, 0], [n - 1, 16]), a.slice([0, 0], [1, 16])]);
  const hi = loss([], [a, shifted]).dataSync()[0];
  assert(hi > 2 * 9, `mismatched views ${hi}`); // each anchor's partner 10 logits below the best
  // Tang's sum of the two views = 2 × the mean over the 2N anchors
  const rnd = tf.randomNormal([n, 16], 0, 1, "float32", 4),
    rnd2 = tf.randomNormal([n, 16], 0, 1, "float32", 5);
  const sum = loss([], [rnd, rnd2]).dataSync()[0];
  const mean = lossFromSpec(simclrLoss({ reduction: "mean" }))([], [rnd, rnd2]).dataSync()[0];
  assertAlmostEquals(sum, 2 * mean, 1e-5);
  tf.dispose([a, shifted, rnd, rnd2]);
});

Deno.test("a short fit (workers 0) lowers the NT-Xent loss on synthetic windows", async () => {
  const train = syntheticWindows(32, 7);
  // rotation-only views of randomly oriented windows need rotation-invariant features: slow to
  // learn with dropout in 30 steps (it stays near chance, 2·log 31 = 6.87), so dropout 0 here
  const model = simclrModel({ seed: 1, encoder: { dropout: 0 } });
  const val = simclrSource(train, { seed: 2, batchSize: 16, evaluation: true });
  const loss = lossFromSpec(simclrLoss());
  const before = await evaluateSource(model, val, loss);
  await fit(model, simclrSource(train, { seed: 2, batchSize: 16 }), {
    epochs: 15,
    optimizer: { name: "adam", lr: 1e-3 },
    loss: simclrLoss(),
    progress: false,
    workers: 0,
    seed: 3,
  });
  const after = await evaluateSource(model, val, loss);
  assert(after.loss < before.loss - 0.5, `NT-Xent ${before.loss} → ${after.loss}`);
  model.dispose();
});

Deno.test("TPN + projection head + NT-Xent: gradients on the fast engines equal tfjs cpu's (1e-4 relative)", async () => {
  const model = simclrModel({ seed: 3, encoder: { dropout: 0 } });
  const b = makeSimclrBatch(syntheticWindows(6, 8), [0, 1, 2, 3, 4, 5], {
    seedOf: (i, v) => 7 * i + v,
  });
  const checked = await checkGradientsAgainstCpu(
    model,
    lossFromSpec(simclrLoss()),
    hostBatch(b.x as HostTensor[]),
  );
  assert(checked.length >= 1);
  model.dispose();
});
