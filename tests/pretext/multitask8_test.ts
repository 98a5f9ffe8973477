/**
 * Saeed's eight-task transformation recognition (lib/pretext/multitask8.ts,
 * ../shared/specs/dont-freeze.md §3.1): each transformation's defining
 * property, seeded determinism, the 9-version batches and their labels,
 * precomputed vs per-epoch transformations, the summed binary cross-entropy
 * (low when right, high when wrong, as data through `fit`'s resolver), a short
 * `fit` that lowers it, and the TPN + heads + loss gradients on the fast
 * engines against tfjs cpu.
 */
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/mod.ts";
import { ConfigError } from "../../lib/errors.ts";
import { multitask8Model } from "../../lib/models/dontfreeze_encoders.ts";
import {
  addGaussianNoise,
  makeMultitask8Batch,
  MULTITASK8_TASKS,
  multitask8Loss,
  multitask8LossFn,
  multitask8Source,
  multitask8Transform,
  negateWindow,
  scaleChannelsNormal,
  segmentPermutation,
  segmentPermutationPlan,
  shuffleChannels,
} from "../../lib/pretext/multitask8.ts";
import { rng } from "../../lib/signal/random.ts";
import type { Batch, HostTensor } from "../../lib/train/batches.ts";
import { evaluateSource, fit, resolveLoss } from "../../lib/train/loop.ts";
import { maxAbsDiff, norms, rows, sorted, testWindow } from "./_signals.ts";
import { checkGradientsAgainstCpu, hostBatch, syntheticWindows } from "./_dontfreeze.ts";

await initBackend({ verbose: false, threads: 1 });

const T = 100;
const w = testWindow(3, T, 1);

Deno.test("noised: x + N(0, 0.05²) elementwise; scaled: one N(1, 0.1²) factor per channel", () => {
  const y = addGaussianNoise(w, {}, rng(1));
  const d = Array.from(y, (v, i) => v - w[i]);
  const mean = d.reduce((a, b) => a + b, 0) / d.length;
  const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / d.length);
  assert(Math.abs(mean) < 0.01, `noise mean ${mean}`);
  assert(Math.abs(sd - 0.05) < 0.008, `noise sd ${sd}`);
  const factors: number[] = [];
  for (let s = 0; s < 200; s++) {
    const z = scaleChannelsNormal(w, {}, rng(s));
    rows(z).forEach((r, c) => {
      const f = r[10] / rows(w)[c][10];
      r.forEach((v, t) => assertAlmostEquals(v, rows(w)[c][t] * f, 1e-5));
      factors.push(f);
    });
  }
  const m = factors.reduce((a, b) => a + b, 0) / factors.length;
  const sd2 = Math.sqrt(factors.reduce((a, b) => a + (b - m) ** 2, 0) / factors.length);
  assert(
    Math.abs(m - 1) < 0.02 && Math.abs(sd2 - 0.1) < 0.015,
    `scale factors mean ${m} sd ${sd2}`,
  );
});

Deno.test("rotated keeps every sample's norm; negated is −x; time_flipped reverses time", () => {
  const r = multitask8Transform("rotated", w, {}, rng(2));
  assert(maxAbsDiff(norms(r), norms(w)) < 1e-5, "rotation changed a norm");
  assert(maxAbsDiff(r, w) > 0.1, "rotation changed the window");
  assertEquals(Array.from(multitask8Transform("negated", w, {}, rng(0))), Array.from(w, (v) => -v));
  assertEquals(Array.from(negateWindow(Float32Array.of(1, -2))), [-1, 2]);
  const f = multitask8Transform("time_flipped", w, {}, rng(0));
  rows(f).forEach((row, c) => row.forEach((v, t) => assertEquals(v, rows(w)[c][T - 1 - t])));
});

Deno.test("permuted: 4 cuts → 5 segments shuffled, the same on every channel; the multiset of segments is kept", () => {
  for (let s = 0; s < 50; s++) {
    const plan = segmentPermutationPlan(T, 4, rng(s));
    assertEquals(plan.bounds.length, 6);
    assertEquals([plan.bounds[0], plan.bounds[5]], [0, T]);
    assertEquals(sorted(plan.order), [0, 1, 2, 3, 4]);
    const y = segmentPermutation(w, {}, rng(s));
    // same samples per channel, and the same x-y-z triples (one permutation for all channels)
    rows(y).forEach((row, c) => assertEquals(sorted(row), sorted(rows(w)[c])));
    const triples = (x: Float32Array) =>
      Array.from({ length: T }, (_, t) => `${x[t]},${x[T + t]},${x[2 * T + t]}`).sort();
    assertEquals(triples(y), triples(w));
    // the output is the segments of the plan glued in its order
    const expect: number[] = [];
    for (const k of plan.order) {
      for (let t = plan.bounds[k]; t < plan.bounds[k + 1]; t++) expect.push(w[t]);
    }
    assertEquals(Array.from(rows(y)[0]), expect);
  }
});

Deno.test("time_warped keeps the length and both end samples and stays within each channel's range", () => {
  const y = multitask8Transform("time_warped", w, {}, rng(4));
  assertEquals(y.length, w.length);
  assert(maxAbsDiff(y, w) > 1e-3, "time warp changed the window");
  rows(y).forEach((row, c) => {
    const src = rows(w)[c];
    assertAlmostEquals(row[0], src[0], 1e-6);
    assertAlmostEquals(row[T - 1], src[T - 1], 1e-6);
    const lo = Math.min(...src), hi = Math.max(...src);
    row.forEach((v) => assert(v >= lo - 1e-6 && v <= hi + 1e-6));
  });
});

Deno.test("channel_shuffled: a non-identity axis permutation, all 5 of them drawn", () => {
  const seen = new Set<string>();
  for (let s = 0; s < 200; s++) {
    const y = shuffleChannels(w, {}, rng(s));
    const perm = rows(y).map((row) => rows(w).findIndex((src) => maxAbsDiff(src, row) === 0));
    assertEquals(sorted(perm), [0, 1, 2]);
    assertNotEquals(perm, [0, 1, 2]);
    seen.add(perm.join(""));
  }
  assertEquals(seen.size, 5);
  assertThrows(() => shuffleChannels(w, { order: [0, 0, 1] }, rng(0)), ConfigError, "permutation");
});

Deno.test("every transformation is seeded: same seed, same output; another seed, another output", () => {
  for (const task of MULTITASK8_TASKS) {
    const a = multitask8Transform(task, w, {}, rng(7));
    assertEquals(Array.from(multitask8Transform(task, w, {}, rng(7))), Array.from(a), task);
    if (task !== "negated" && task !== "time_flipped") {
      assert(maxAbsDiff(multitask8Transform(task, w, {}, rng(8)), a) > 0, `${task}: seed ignored`);
    }
  }
  assertThrows(
    () => multitask8Transform("mirrored" as never, w, {}, rng(0)),
    ConfigError,
    "unknown task",
  );
});

const pool = syntheticWindows(20, 3);

/** A row of a channels-last batch as a `[channels, length]` window. */
function rowWindow(x: Float32Array, r: number, c = 3, len = T): Float32Array {
  const out = new Float32Array(c * len);
  for (let t = 0; t < len; t++) {
    for (let ch = 0; ch < c; ch++) out[ch * len + t] = x[(r * len + t) * c + ch];
  }
  return out;
}

Deno.test("batches: version 0 the original (labels 0), version v the v-th task's copy with label 1 on head v only", () => {
  const wi = [2, 2, 2, 2, 2, 2, 2, 2, 2];
  const vs = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const b = makeMultitask8Batch(pool, wi, vs, { seedOf: (i, v) => 100 * i + v });
  assertEquals(b.n, 9);
  assertEquals(b.labels.length, 8);
  const orig = pool.x.subarray(2 * 300, 3 * 300);
  assertEquals(Array.from(rowWindow(b.x, 0)), Array.from(orig));
  for (let r = 0; r < 9; r++) {
    b.labels.forEach((l, h) => assertEquals(l[r], r === h + 1 ? 1 : 0, `row ${r} head ${h}`));
  }
  assertEquals(Array.from(rowWindow(b.x, 4)), Array.from(orig, (v) => -v)); // negated
  const flipped = rowWindow(b.x, 5);
  rows(flipped).forEach((row, c) =>
    row.forEach((v, t) => assertEquals(v, orig[c * T + T - 1 - t]))
  );
  assertEquals(
    Array.from(rowWindow(b.x, 1)),
    Array.from(multitask8Transform("noised", orig, {}, rng(201))),
  );
  assertThrows(
    () => makeMultitask8Batch(pool, [0], [9], { seedOf: () => 0 }),
    ConfigError,
    "version 9",
  );
});

function collect(source: ReturnType<typeof multitask8Source>, epoch: number): Batch[] {
  return Array.from(
    { length: source.stepsPerEpoch },
    (_, step) => source.batch!({ epoch, step, globalStep: 0, seed: 0, epochSeed: 0 }) as Batch,
  );
}

/** `window:version` keys of a batch (the version from the labels; windows by matching the original or its negation). */
function versionsOf(b: Batch): number[] {
  const ys = b.y as HostTensor[];
  const n = (b.x as HostTensor).shape[0];
  return Array.from({ length: n }, (_, r) => {
    const h = ys.findIndex((y) => y.data[r] === 1);
    return h + 1;
  });
}

Deno.test("source: every epoch window appears with its 9 versions once; precomputed copies repeat across epochs, per-epoch ones do not; seeded", () => {
  const src = multitask8Source(pool, { seed: 5, batchSize: 32 });
  assertEquals(src.stepsPerEpoch, Math.ceil(20 * 9 / 32));
  assertEquals(src.samplesPerEpoch, 180);
  const e0 = collect(src, 0);
  const counts = new Array(9).fill(0);
  e0.forEach((b) => versionsOf(b).forEach((v) => counts[v]++));
  assertEquals(counts, new Array(9).fill(20));
  const x0 = e0.map((b) => (b.x as HostTensor).data);
  assertEquals((e0[0].x as HostTensor).shape, [32, T, 3]);
  // determinism
  const again = collect(multitask8Source(pool, { seed: 5, batchSize: 32 }), 0);
  again.forEach((b, i) => assertEquals(Array.from((b.x as HostTensor).data), Array.from(x0[i])));
  /** the multiset of rows of an epoch (as strings, rounded) */
  const rowSet = (bs: Batch[]) => {
    const out: string[] = [];
    for (const b of bs) {
      const x = (b.x as HostTensor).data;
      for (let r = 0; r < (b.x as HostTensor).shape[0]; r++) {
        out.push(Array.from(x.subarray(r * 300, r * 300 + 6), (v) => v.toFixed(5)).join());
      }
    }
    return out.sort();
  };
  // precomputed: epoch 1 holds exactly epoch 0's rows (reshuffled)
  const e1 = collect(src, 1);
  assertEquals(rowSet(e1), rowSet(e0));
  assertNotEquals(Array.from((e1[0].x as HostTensor).data), Array.from(x0[0]));
  // per-epoch: new random transformations (only the deterministic ones — original, negated, flipped — repeat)
  const fresh = multitask8Source(pool, { seed: 5, batchSize: 32, transforms: "per-epoch" });
  const f0 = rowSet(collect(fresh, 0)), f1 = rowSet(collect(fresh, 1));
  const common = f0.filter((r) => f1.includes(r)).length;
  assert(
    common >= 60 && common < 100,
    `per-epoch: ${common} of 180 rows repeat (expected the 60 deterministic ones)`,
  );
  // evaluation: every window's 9 versions in order, the same every time
  const ev = multitask8Source(pool, { seed: 5, batchSize: 18, evaluation: true });
  assertEquals(ev.stepsPerEpoch, 10);
  assertEquals(versionsOf(collect(ev, 0)[0]), [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
  ]);
  assertEquals(
    Array.from((collect(ev, 3)[2].x as HostTensor).data),
    Array.from((collect(ev, 0)[2].x as HostTensor).data),
  );
  assertThrows(
    () => multitask8Source(pool, { seed: 0, transforms: "fresh" as never }),
    ConfigError,
    "transforms",
  );
});

Deno.test("source: fraction 0.1 of the windows per epoch, variance-weighted (§1.4)", () => {
  const big = syntheticWindows(100, 9);
  const src = multitask8Source(big, { seed: 1, fraction: 0.1, batchSize: 90 });
  assertEquals(src.samplesPerEpoch, 90);
  assertEquals(src.stepsPerEpoch, 1);
});

Deno.test("loss: the sum of 8 binary cross-entropies, near 0 for right logits, large for wrong ones; per-head metrics", async () => {
  const n = 6;
  const labels = MULTITASK8_TASKS.map((_, h) =>
    tf.tensor1d(Array.from({ length: n }, (_, i) => (i + h) % 2))
  );
  const right = labels.map((y) => y.mul(2).sub(1).mul(20).reshape([n, 1]));
  const wrong = right.map((z) => z.neg());
  const loss = multitask8LossFn();
  const metrics: Record<string, number> = {};
  const lo = loss(labels, right, {
    report: (k, v) => (metrics[k] = typeof v === "number" ? v : v.dataSync()[0]),
  }).dataSync()[0];
  const hi = loss(labels, wrong).dataSync()[0];
  assert(lo < 1e-6, `right logits: ${lo}`);
  assertAlmostEquals(hi, 8 * 20, 1e-3); // −log σ(−20) ≈ 20 per head
  assertEquals(metrics["permuted/acc"], 1);
  assert(metrics["noised/loss"] < 1e-6);
  // against the plain formula at random logits; and the spec route fit (and its workers) use
  const z = MULTITASK8_TASKS.map((_, h) =>
    tf.tensor2d(Array.from({ length: n }, (_, i) => Math.sin(i + 3 * h)), [n, 1])
  );
  let expect = 0;
  z.forEach((zt, h) => {
    const zv = zt.dataSync(), yv = labels[h].dataSync();
    let s = 0;
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + Math.exp(-zv[i]));
      s -= yv[i] * Math.log(p) + (1 - yv[i]) * Math.log(1 - p);
    }
    expect += s / n;
  });
  assertAlmostEquals(loss(labels, z).dataSync()[0], expect, 1e-5);
  const viaSpec = await resolveLoss(JSON.parse(JSON.stringify(multitask8Loss())));
  assertAlmostEquals(viaSpec(labels, z).dataSync()[0], expect, 1e-5);
  const twoHeads = multitask8LossFn({ tasks: ["noised", "scaled"], weights: [1, 0.5] });
  assert(Number.isFinite(twoHeads(labels.slice(0, 2), z.slice(0, 2)).dataSync()[0]));
  assertThrows(() => loss(labels.slice(0, 3), z), ConfigError, "8 heads");
  tf.dispose([...labels, ...right, ...wrong, ...z]);
});

Deno.test("a short fit (workers 0) lowers the multi-task loss on synthetic windows", async () => {
  const train = syntheticWindows(40, 11);
  const model = multitask8Model({ seed: 2 });
  const loss = multitask8LossFn();
  const val = multitask8Source(train, { seed: 3, evaluation: true, batchSize: 120 });
  const before = await evaluateSource(model, val, loss);
  const res = await fit(model, multitask8Source(train, { seed: 3, batchSize: 60 }), {
    epochs: 4,
    optimizer: { name: "adam", lr: 1e-3 },
    loss: multitask8Loss(),
    progress: false,
    workers: 0,
    seed: 1,
  });
  const after = await evaluateSource(model, val, loss);
  assertEquals(res.steps, 4 * 6);
  assert(after.loss < 0.8 * before.loss, `loss ${before.loss} → ${after.loss}`);
  assert(
    after.metrics["val/negated/acc"] > 0.6,
    `negation accuracy ${after.metrics["val/negated/acc"]}`,
  );
  model.dispose();
});

Deno.test("TPN + 8 heads + summed BCE: gradients on the fast engines equal tfjs cpu's (1e-4 relative)", async () => {
  // (seed 4 puts one head pre-activation at 3e-8, where cpu and BLAS round to opposite sides of
  // the ReLU kink: a legitimate 6 % difference in that unit's gradient; typical errors are 1e-6)
  const model = multitask8Model({ seed: 1, encoder: { dropout: 0 } });
  const b = multitask8Source(pool, { seed: 2, evaluation: true, batchSize: 18 }).batch!({
    epoch: 0,
    step: 0,
    globalStep: 0,
    seed: 0,
    epochSeed: 0,
  }) as Batch;
  const checked = await checkGradientsAgainstCpu(
    model,
    multitask8LossFn(),
    hostBatch([b.x as HostTensor], b.y as HostTensor[]),
  );
  assert(checked.length >= 1);
  model.dispose();
});
