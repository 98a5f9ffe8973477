/**
 * fit on batch sources with workers: 2 cpu workers train like the calling
 * thread (workers 0) on random-access and generator sources, several inputs
 * and targets or none, every built-in loss kind given as `{ kind, args }`,
 * the multi-task pretext with its per-head metrics, per-step validation and
 * early stopping on a reported metric; a run on workers killed with SIGKILL
 * resumes to the uninterrupted result.
 *
 * Batch-level losses (NT-Xent, InfoNCE) take their negatives from the
 * batch. With workers each worker sees only its shard (`shardSizes(n, 2)`,
 * contiguous rows), so the step is the gradient of the shard-size-weighted
 * mean of the shard losses (PyTorch DDP without an all-gather), not of the
 * full-batch loss: those cases are checked against that shard-level loss
 * computed in the calling thread (`shardedLoss`), and shown to differ from
 * the full-batch one.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertGreater, assertLess } from "@std/assert";
import { join } from "node:path";
import {
  type BatchContext,
  CHECKPOINT_FILE,
  fit,
  type FitArgs,
  type FitInput,
  type FitResult,
  type ValidateInfo,
  type ValidationRecord,
} from "../../lib/train/loop.ts";
import { readCheckpoint } from "../../lib/train/checkpoint.ts";
import { type BuiltinLossSpec, LOSS_KINDS, lossFromSpec } from "../../lib/train/losses.ts";
import type { BatchSource } from "../../lib/train/batches.ts";
import { multitaskLoss, multitaskSource } from "../../lib/pretext/multitask_source.ts";
import { PRETEXT_TASKS } from "../../lib/pretext/tasks.ts";
import { tempDir } from "../_helpers.ts";
import { relErr } from "../backend/_grad_util.ts";
import { convModel, flatWeights, toyData, useCpu } from "./_fixtures.ts";
import {
  cpcModel,
  cpcSource,
  generatorSource,
  mtlModel,
  randomAccessSource,
  reconModel,
  reconSource,
  shardedLoss,
  synthWindows,
  twoInputModel,
  twoInputSource,
  twoViewModel,
  viewSource,
} from "./_source_fixtures.ts";

await useCpu();

const BASE: FitArgs = {
  epochs: 3,
  seed: 7,
  optimizer: { name: "adam", lr: 0.02 },
  channelsLast: true,
  progress: false,
  workerBackend: ["cpu"], // the same arithmetic as the calling thread's cpu backend
};

interface Run {
  r: FitResult;
  /** Final weights. */
  w: number[];
  /** Initial weights. */
  start: number[];
}

/** Train a fresh model; `args` may depend on the model (callbacks reading it). */
async function train(
  build: () => tf.LayersModel,
  data: FitInput,
  args: Partial<FitArgs> | ((m: tf.LayersModel) => Partial<FitArgs>),
): Promise<Run> {
  const m = build();
  const start = flatWeights(m);
  const r = await fit(m, data, { ...BASE, ...(typeof args === "function" ? args(m) : args) });
  const w = flatWeights(m);
  m.dispose();
  return { r, w, start };
}

/** Every column of every row (but `seconds`) within `tol`; the same columns. */
function assertSameRows(
  a: Record<string, number>[],
  b: Record<string, number>[],
  what: string,
  tol = 1e-5,
): void {
  assertEquals(a.length, b.length, `${what}: number of rows`);
  a.forEach((ra, i) => {
    const rb = b[i];
    assertEquals(Object.keys(ra).sort(), Object.keys(rb).sort(), `${what}: columns of row ${i}`);
    for (const k of Object.keys(ra)) {
      if (k === "seconds") continue;
      if (Number.isNaN(rb[k])) assert(Number.isNaN(ra[k]), `${what}: row ${i} ${k} ${ra[k]}, NaN`);
      else {
        assert(
          Math.abs(ra[k] - rb[k]) <= tol,
          `${what}: row ${i} ${k}: ${ra[k]} vs ${rb[k]} (diff ${Math.abs(ra[k] - rb[k])})`,
        );
      }
    }
  });
}

/**
 * Same training: weights within 1e-5 relative, history within 1e-5 (but
 * the `skip` columns, which must still both be there), same steps.
 */
function assertSameRun(a: Run, b: Run, what: string, skip: string[] = []): void {
  const d = relErr(a.w, b.w);
  assert(d <= 1e-5, `${what}: weights differ by ${d} (relative)`);
  const drop = (rows: Record<string, number>[]) =>
    rows.map((r) => {
      for (const k of skip) assert(k in r, `${what}: ${k} in the history`);
      return Object.fromEntries(Object.entries(r).filter(([k]) => !skip.includes(k)));
    });
  assertSameRows(drop(a.r.rows), drop(b.r.rows), what);
  assertEquals(a.r.steps, b.r.steps, `${what}: steps`);
}

/** Training moved the weights (so equal weights are not equal starting points). */
function assertMoved(run: Run, what: string): void {
  const d = relErr(run.w, run.start);
  assert(d > 1e-3, `${what}: weights moved by only ${d}`);
}

Deno.test("batch sources on 2 workers = workers 0: random-access and generator forms", async () => {
  // random access (host arrays): 15 rows → shards 8/7, 9 → 5/4, 1 → 1/0 (one worker idle)
  const sizes = [15, 9, 1];
  const loss = { kind: "cross-entropy" };
  const seen0: BatchContext[] = [], seen2: BatchContext[] = [];
  const a0 = await train(() => convModel(21), randomAccessSource(sizes, { seen: seen0 }), {
    loss,
    workers: 0,
  });
  const before = tf.memory().numTensors;
  const a2 = await train(() => convModel(21), randomAccessSource(sizes, { seen: seen2 }), {
    loss,
    workers: 2,
  });
  assertEquals(tf.memory().numTensors, before, "no tensor left behind");
  assertEquals([a0.r.workers, a2.r.workers], [0, 2]);
  assertSameRun(a2, a0, "random access");
  assertMoved(a2, "random access");
  assertEquals(a2.r.steps, 9);
  // the source is asked for the same steps with the same seeds
  assertEquals(seen2, seen0);
  assertEquals(seen2.map((c) => c.globalStep), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assertEquals(new Set(seen2.map((c) => c.seed)).size, 9);
  assert("train/accuracy" in a2.r.rows[0], "the loss's accuracy is reported from the workers");
  assertLess(a2.r.rows[2].trainLoss, a2.r.rows[0].trainLoss);

  // generator (tf.Tensor batches, default loss): odd epochs end one batch early → 4 + 3 + 4 steps
  const gsizes = [15, 15, 11, 1];
  const g0seen: { epoch: number; epochSeed: number }[] = [];
  const g2seen: { epoch: number; epochSeed: number }[] = [];
  const g0 = await train(() => convModel(22), generatorSource(gsizes, { seen: g0seen }), {
    workers: 0,
  });
  const before2 = tf.memory().numTensors;
  const g2 = await train(() => convModel(22), generatorSource(gsizes, { seen: g2seen }), {
    workers: 2,
  });
  assertEquals(tf.memory().numTensors, before2, "the generator's tensors are disposed");
  assertSameRun(g2, g0, "generator");
  assertMoved(g2, "generator");
  assertEquals(g2.r.steps, 11);
  assertEquals(g2seen, g0seen);
  assertEquals(g2seen.map((e) => e.epoch), [0, 1, 2]);
  assertEquals(new Set(g2seen.map((e) => e.epochSeed)).size, 3);
  assertLess(g2.r.rows[2].trainLoss, g2.r.rows[0].trainLoss);
});

Deno.test("multi-input, multi-target batches on 2 workers: two-input model, multitask pretext", async () => {
  // two inputs, two outputs, three targets (labels, clean window, channel mask)
  const heads = {
    kind: "multi-head",
    args: {
      heads: [
        { name: "cls", loss: { kind: "cross-entropy" }, output: 0, targets: [0] },
        { name: "rec", loss: { kind: "masked-l1" }, weight: 0.5, output: 1, targets: [1, 2] },
      ],
    },
  };
  const sizes = [15, 11, 7];
  const t0 = await train(() => twoInputModel(3), twoInputSource(sizes), {
    loss: heads,
    workers: 0,
  });
  const t2 = await train(() => twoInputModel(3), twoInputSource(sizes), {
    loss: heads,
    workers: 2,
  });
  assertSameRun(t2, t0, "two inputs");
  assertMoved(t2, "two inputs");
  for (const row of t2.r.rows) {
    for (const k of ["train/cls/loss", "train/cls/acc", "train/rec/loss"]) assert(k in row, k);
    // the per-head means recombine into the loss (both are sample-weighted epoch means)
    const sum = row["train/cls/loss"] + 0.5 * row["train/rec/loss"];
    assertLess(Math.abs(row.trainLoss - sum), 1e-5);
  }

  // the multi-task pretext: 4 two-class heads in PRETEXT_TASKS order, 40 windows in
  // batches of 15 (shards 8/7) and 10, validated on evaluation batches of 13
  const pool = synthWindows(40, 1), held = synthWindows(20, 2);
  const mtl = (workers: number) =>
    train(
      () => mtlModel(5),
      multitaskSource(pool, { batchSize: 15, windowsPerEpoch: 40, seed: 3 }),
      {
        workers,
        loss: multitaskLoss(),
        validation: multitaskSource(held, { seed: 3, evaluation: true, batchSize: 13 }),
      },
    );
  const m0 = await mtl(0), m2 = await mtl(2);
  assertSameRun(m2, m0, "multitask");
  assertMoved(m2, "multitask");
  assertEquals(m2.r.steps, 9);
  for (const row of m2.r.rows) {
    let sum = 0;
    for (const t of PRETEXT_TASKS) {
      for (const k of [`train/${t}/acc`, `train/${t}/loss`, `val/${t}/acc`, `val/${t}/loss`]) {
        assert(k in row, `${k} in the epoch record`);
        assert(Number.isFinite(row[k]), `${k} = ${row[k]}`);
      }
      assert(row[`train/${t}/acc`] >= 0 && row[`train/${t}/acc`] <= 1);
      sum += row[`train/${t}/loss`] / PRETEXT_TASKS.length;
    }
    assertLess(Math.abs(row.trainLoss - sum), 1e-5); // the mean of the four heads
  }
  // the heads are distinct tasks: their accuracies are not all the same
  const accs = PRETEXT_TASKS.map((t) => m2.r.rows[2][`train/${t}/acc`]);
  assertGreater(new Set(accs).size, 1, `per-head accuracies ${accs}`);
});

interface LossCase {
  spec: BuiltinLossSpec;
  /**
   * The batches' `sampleWeights` as a function of the targets: the training
   * is exact, but the reported metrics are combined with these weights (the
   * trainer weighs every shard's reports like its loss), so they are checked
   * against the shard-level reference with these weights.
   */
  rowWeights?: (targets: tf.Tensor[]) => Float32Array;
  build: () => tf.LayersModel;
  data: () => BatchSource;
  /** A batch-level loss: the workers compute the shard-level loss. */
  batchLevel?: boolean;
  /** Rank-3 inputs are not `[n, channels, length]` windows. */
  channelsFirst?: boolean;
  /** Reported columns expected in the history. */
  metrics: string[];
}

Deno.test("every built-in loss kind as { kind, args } on 2 workers matches workers 0", async () => {
  const classWeights = [1, 2.5, 0.5];
  const cases: LossCase[] = [
    {
      // PyTorch's weighted mean divides by Σ w[y]: exact on shards when the batch's
      // sampleWeights are w[y] (0 for the unlabelled rows)
      spec: { kind: "cross-entropy", args: { classWeights, labelSmoothing: 0.1 } },
      build: () => convModel(31),
      data: () =>
        randomAccessSource([15, 9, 13], { sampleWeights: classWeights, unlabelledEvery: 4 }),
      rowWeights: ([y]) => Float32Array.from(y.dataSync(), (c) => (c < 0 ? 0 : classWeights[c])),
      metrics: ["train/accuracy"],
    },
    {
      // per-sample mean (SelfPAB), element mask with empty rows
      spec: { kind: "masked-l1" },
      build: () => reconModel(32),
      data: () => reconSource([15, 11, 7], "element"),
      metrics: [],
    },
    {
      // one mean over all masked values: exact with sampleWeights = masked values per sample
      spec: { kind: "masked-l2", args: { reduction: "element" } },
      build: () => reconModel(33),
      data: () => reconSource([15, 11, 7], "channel"),
      metrics: [],
    },
    {
      spec: { kind: "nt-xent", args: { temperature: 0.5 } },
      build: () => twoViewModel(34),
      data: () => viewSource([15, 11]),
      batchLevel: true,
      metrics: ["train/accuracy"],
    },
    {
      spec: { kind: "info-nce", args: { temperature: 0.5 } },
      build: () => cpcModel(35),
      data: () => cpcSource([13, 9]),
      batchLevel: true,
      channelsFirst: true,
      metrics: ["train/accuracy"],
    },
    {
      spec: {
        kind: "multi-head",
        args: {
          heads: [
            {
              name: "cls",
              loss: { kind: "cross-entropy", args: { labelSmoothing: 0.1 } },
              output: 0,
              targets: [0],
            },
            { name: "rec", loss: { kind: "masked-l2" }, weight: 0.3, output: 1, targets: [1, 2] },
          ],
        },
      },
      build: () => twoInputModel(36),
      data: () => twoInputSource([15, 11, 7]),
      metrics: ["train/cls/loss", "train/cls/acc", "train/rec/loss"],
    },
  ];
  assertEquals(cases.map((c) => c.spec.kind).sort(), [...LOSS_KINDS].sort(), "every kind covered");
  for (const c of cases) {
    const kind = c.spec.kind;
    // SGD with momentum, not Adam: Adam divides by √v, so a parameter whose true
    // gradient is zero (InfoNCE's predictor bias cancels in each row's softmax)
    // follows the sign of float noise, which is not the same on shards
    const args = (workers: number, loss: FitArgs["loss"]): Partial<FitArgs> => ({
      epochs: 2,
      optimizer: { name: "sgd", lr: 0.05, momentum: 0.9 },
      workers,
      loss,
      channelsLast: !c.channelsFirst,
    });
    const w2 = await train(c.build, c.data(), args(2, c.spec));
    assertEquals(w2.r.workers, 2);
    assertMoved(w2, kind);
    for (const k of c.metrics) assert(k in w2.r.rows[0], `${kind}: ${k} reported`);
    const full = await train(c.build, c.data(), args(0, c.spec));
    if (!c.batchLevel) {
      // a loss that is a (weighted) mean over samples: the full-batch step exactly
      assertSameRun(w2, full, kind, c.rowWeights ? c.metrics : []);
      if (!c.rowWeights) continue;
      // the accuracy is an unweighted mean over the labelled rows, combined over the
      // shards with the class-weight masses: the shard-level reference's number
      const ref = await train(
        c.build,
        c.data(),
        args(0, shardedLoss(lossFromSpec(c.spec), 2, c.rowWeights)),
      );
      assertSameRun(w2, ref, `${kind} vs the shard-level reference`);
      continue;
    }
    // the shard-level loss, by hand in the calling thread, is what the workers train on
    const ref = await train(c.build, c.data(), args(0, shardedLoss(lossFromSpec(c.spec), 2)));
    assertSameRun(w2, ref, `${kind} vs the shard-level reference`);
    // ... and it is not the full-batch loss (fewer negatives per anchor)
    const gap = Math.abs(full.r.rows[0].trainLoss - w2.r.rows[0].trainLoss);
    assertGreater(gap, 1e-3, `${kind}: shard-level and full-batch losses differ`);
  }
  // the sample weights are what makes the weighted cross-entropy exact on shards
  const ce = cases[0];
  const unweighted = await train(
    ce.build,
    randomAccessSource([15, 9, 13], { unlabelledEvery: 4 }),
    {
      epochs: 2,
      workers: 2,
      loss: ce.spec,
    },
  );
  const weighted = await train(ce.build, ce.data(), { epochs: 2, workers: 0, loss: ce.spec });
  assertGreater(relErr(unweighted.w, weighted.w), 1e-4, "shard-size weighting is not exact here");
});

Deno.test("a batch-source run on workers killed (SIGKILL) mid-epoch resumes to the uninterrupted result", async () => {
  const { path, cleanup } = await tempDir();
  const child = new URL("./_fit_source_child.ts", import.meta.url).pathname;
  const spawn = (dir: string, out: string, form: string, slowMs = 0) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", child, dir, out, form, String(slowMs)],
      stdout: "null",
      stderr: "piped",
    }).spawn();
  const finish = async (p: Deno.ChildProcess) => {
    const o = await p.output();
    assertEquals(o.code, 0, new TextDecoder().decode(o.stderr));
  };
  // one form after the other, each as: reference ‖ slowed run, killed once a
  // mid-epoch checkpoint from epoch 2 on exists; then the resume
  const one = async (form: "batch" | "generator") => {
    const refOut = join(path, `${form}-ref.json`);
    const dir = join(path, form), out = join(path, `${form}.json`);
    const ref = finish(spawn(join(path, `${form}-ref`), refOut, form));
    const p = spawn(dir, out, form, 150);
    let killedAt = -1;
    for (let i = 0; i < 1500 && killedAt < 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const ck = await readCheckpoint(join(dir, CHECKPOINT_FILE)).catch(() => null);
      if (ck && (ck.meta.step as number) >= 6 && (ck.meta.stepInEpoch as number) > 0) {
        p.kill("SIGKILL");
        killedAt = ck.meta.step as number;
      }
    }
    const st = await p.status;
    await p.stderr.cancel();
    assertEquals(st.signal, "SIGKILL", `${form}: the child should have been killed`);
    assert(
      killedAt >= 6 && killedAt < 14,
      `${form}: killed after the checkpoint at step ${killedAt}`,
    );
    let finished = true;
    await Deno.stat(out).catch(() => (finished = false));
    assert(!finished, `${form}: the killed run never finished`);
    await ref;
    await finish(spawn(dir, out, form));
    const a = JSON.parse(await Deno.readTextFile(refOut));
    const b = JSON.parse(await Deno.readTextFile(out));
    assertEquals(a.resumedFromStep, null);
    assert(
      b.resumedFromStep >= killedAt && b.resumedFromStep < b.steps,
      `${form}: resumed from ${b.resumedFromStep}`,
    );
    assertEquals([a.workers, b.workers], [2, 2]);
    assertEquals(b.steps, form === "generator" ? 14 : 15);
    assertEquals(b.steps, a.steps);
    assertEquals(b.rows, a.rows, `${form}: history`);
    assertEquals(b.validations, a.validations, `${form}: validations`);
    assertEquals(a.validations.length, 6); // 3 per-step (steps 4, 8, 12) and 3 epoch ends
    const d = relErr(b.weights, a.weights);
    assert(d <= 1e-6, `${form}: resumed vs uninterrupted weights, relative difference ${d}`);
  };
  try {
    await one("batch");
    await one("generator");
  } finally {
    await cleanup();
  }
});

/** Accuracy of a toy classifier on `[n, 3, 16]` arrays. */
function accuracy(m: tf.LayersModel, d: ReturnType<typeof toyData>): number {
  return tf.tidy(() => {
    const x = tf.tensor3d(d.x, d.shape as [number, number, number]).transpose([0, 2, 1]);
    const pred = (m.predict(x) as tf.Tensor).argMax(-1).dataSync();
    let hits = 0;
    for (let i = 0; i < d.y.length; i++) if (pred[i] === d.y[i]) hits++;
    return hits / d.y.length;
  });
}

Deno.test("per-step validation on workers: the callback sees the workers' current weights", async () => {
  const held = toyData(30, 12);
  const run = async (workers: number) => {
    const records: ValidationRecord[] = [], infos: ValidateInfo[] = [], snaps: number[][] = [];
    const res = await train(() => convModel(41), randomAccessSource([15, 9, 13, 11]), {
      workers,
      loss: { kind: "cross-entropy" },
      validation: randomAccessSource([20, 20], { poolSeed: 8 }),
      validateEverySteps: 3,
      validate: (model, info) => {
        const m = model as tf.LayersModel;
        infos.push(info);
        snaps.push(flatWeights(m));
        return { "val/heldAcc": accuracy(m, held) };
      },
      onValidate: (rec) => void records.push(rec),
    });
    return { ...res, records, infos, snaps };
  };
  const v0 = await run(0), v2 = await run(2);
  assertSameRun(v2, v0, "per-step validation");
  // 4 steps per epoch: every 3rd step mid-epoch (3, 6, 9) and every epoch end (4, 8, 12)
  assertEquals(v2.records, v2.r.validations, "onValidate saw every validation");
  assertEquals(
    v2.records.map((r) => [r.step, r.epoch, r.epochEnd]),
    [[3, 1, false], [4, 1, true], [6, 2, false], [8, 2, true], [9, 3, false], [12, 3, true]],
  );
  assertEquals(
    v2.infos,
    v2.records.map(({ step, epoch, epochEnd }) => ({ step, epoch, epochEnd })),
  );
  assertSameRows(
    v2.records.map((r) => r.metrics),
    v0.records.map((r) => r.metrics),
    "validation metrics",
  );
  assertEquals(Object.keys(v2.records[0].metrics).sort(), [
    "val/accuracy",
    "val/heldAcc",
    "valF1",
    "valLoss",
  ]);
  // the caller's model held the workers' weights at each validation: the same as the
  // single-thread weights at that step, and different from one validation to the next
  v2.snaps.forEach((s, i) => {
    const d = relErr(s, v0.snaps[i]);
    assert(d <= 1e-5, `weights at validation ${i}: relative difference ${d}`);
    assertGreater(relErr(s, i === 0 ? v2.start : v2.snaps[i - 1]), 1e-4, `moved before ${i}`);
  });
  assertEquals(v2.snaps[5], v2.w);
});

Deno.test("early stopping on a reported metric (mode max) with restore-best on workers", async () => {
  const run = async (workers: number, mode: "min" | "max" = "max") => {
    // each epoch's weights, as validation sees them (pulled from the workers; the
    // last epoch's onEpochEnd already sees the restored ones)
    const snaps: number[][] = [];
    const res = await train(
      () => convModel(43),
      randomAccessSource([12, 12], { poolSeed: 5 }),
      {
        epochs: 12,
        workers,
        optimizer: { name: "adam", lr: 0.005 },
        loss: { kind: "cross-entropy" },
        // the validation source's loss reports accuracy → "val/accuracy" in the record
        validation: randomAccessSource([30], { poolSeed: 9 }),
        validate: (m) => {
          snaps.push(flatWeights(m as tf.LayersModel));
          return {};
        },
        earlyStopping: { monitor: "val/accuracy", mode, patience: 1 },
      },
    );
    return { ...res, snaps };
  };
  const e0 = await run(0), e2 = await run(2);
  assertSameRows(e2.r.rows, e0.r.rows, "early stopping");
  assertEquals(e2.r.bestEpoch, e0.r.bestEpoch);
  assert(e2.r.stoppedEarly, "stopped early");
  const acc = e2.r.rows.map((r) => r["val/accuracy"]);
  const best = e2.r.bestEpoch!;
  // patience 1, mode max: every epoch up to the best raised the accuracy, the next did not
  assertGreater(best, 1, `accuracy ${acc}: needs at least one improvement to test the mode`);
  assertEquals(e2.r.rows.length, best + 1);
  for (let i = 1; i < best; i++) assertGreater(acc[i], acc[i - 1], `accuracy ${acc}`);
  assert(acc[best] <= acc[best - 1], `accuracy ${acc}`);
  // restore-best: the weights of the best epoch, not the last
  assertEquals(e2.w, e2.snaps[best - 1]);
  assertGreater(relErr(e2.w, e2.snaps[best]), 1e-4);
  const d = relErr(e2.w, e0.w);
  assert(d <= 1e-5, `restored weights: relative difference ${d}`);
  // the mode is honoured ("max" is also the default for this name): with "min" the
  // rising accuracy of epoch 2 is no improvement, so the run stops there with epoch 1
  const low = await run(2, "min");
  assertEquals([low.r.bestEpoch, low.r.rows.length], [1, 2]);
  assertEquals(low.w, low.snaps[0]);
});
