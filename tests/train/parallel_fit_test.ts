/**
 * fit with `workers`: two Web Workers train a tf.LayersModel like the
 * single-thread loop (same weights to 1e-5 with class weights, unequal
 * shards, freezing/unfreezing and a schedule; a LossSpec loss; AMSGrad),
 * learn, and checkpoint/resume exactly.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertLess, assertRejects } from "@std/assert";
import { join } from "node:path";
import { CHECKPOINT_FILE, fit, type FitArgs } from "../../lib/train/loop.ts";
import { readCheckpoint } from "../../lib/train/checkpoint.ts";
import { ConfigError } from "../../lib/errors.ts";
import { tempDir } from "../_helpers.ts";
import { relErr as relDiff } from "../backend/_grad_util.ts";
import { convModel, flatWeights, toyData, useCpu } from "./_fixtures.ts";

await useCpu();

const BASE: FitArgs = {
  epochs: 3,
  batchSize: 15, // shards of 8 and 7
  seed: 4,
  channelsLast: true,
  progress: false,
  workerBackend: ["cpu"], // the same arithmetic as the single-thread reference
};

async function run(
  args: Partial<FitArgs>,
  seed = 21,
  model: { dropout?: number; batchNorm?: boolean } = {},
) {
  const m = convModel(seed, model);
  const start = flatWeights(m);
  const r = await fit(m, toyData(60, 3), { ...BASE, ...args });
  const w = flatWeights(m);
  m.dispose();
  return { r, w, start };
}

Deno.test("fit workers: 2 = single thread (class weights, freeze/unfreeze, schedule, adamw)", async () => {
  const args: Partial<FitArgs> = {
    optimizer: { name: "adamw", lr: 0.02, weightDecay: 0.05 },
    classWeights: [1, 3, 0.5],
    freeze: "layer1_conv",
    unfreezeAtFraction: 0.5,
    schedule: { name: "decay", lrAt: (s) => 0.02 / (1 + s) },
    validation: toyData(30, 8),
  };
  const seen: number[] = [];
  const local = await run(args);
  const par = await run({ ...args, workers: 2, onStep: ({ loss }) => void seen.push(loss) });
  const d = relDiff(par.w, local.w);
  assert(d <= 1e-5, `weights: relative difference ${d}`);
  assert(relDiff(par.w, par.start) > 1e-2, "training moved the weights");
  par.r.rows.forEach((row, i) => {
    assertLess(Math.abs(row.trainLoss - local.r.rows[i].trainLoss), 1e-5);
    assertLess(Math.abs(row.valLoss - local.r.rows[i].valLoss), 1e-5);
  });
  // it learns
  assertLess(par.r.rows[2].trainLoss, par.r.rows[0].trainLoss);
  assertEquals(seen.length, par.r.steps);
});

Deno.test("fit workers: LossSpec loss, sgd momentum; a loss function is refused", async () => {
  const loss = {
    module: new URL("./_parallel_fit_loss.ts", import.meta.url).href,
    export: "smoothedCrossEntropy",
    args: { smoothing: 0.1, classes: 3 },
  };
  const args: Partial<FitArgs> = {
    epochs: 2,
    loss,
    optimizer: { name: "sgd", lr: 0.1, momentum: 0.9, nesterov: true },
  };
  const local = await run(args, 5);
  const par = await run({ ...args, workers: 2 }, 5);
  const d = relDiff(par.w, local.w);
  assert(d <= 1e-5, `weights: relative difference ${d}`);
  assertLess(par.r.rows[1].trainLoss, par.r.rows[0].trainLoss);
  const m = convModel(1);
  await assertRejects(
    () =>
      fit(m, toyData(8, 1), {
        ...BASE,
        workers: 2,
        loss: ([l], [o]) => tf.losses.softmaxCrossEntropy(tf.oneHot(l, 3), o) as tf.Scalar,
      }),
    ConfigError,
    "cannot be sent to workers",
  );
  m.dispose();
});

Deno.test("fit workers: plain SGD with weight decay = single thread", async () => {
  const args: Partial<FitArgs> = {
    epochs: 1,
    optimizer: { name: "sgd", lr: 0.1, weightDecay: 0.01 },
  };
  const local = await run(args, 7);
  const par = await run({ ...args, workers: 2 }, 7);
  const d = relDiff(par.w, local.w);
  assert(d <= 1e-5, `weights: relative difference ${d}`);
  assert(relDiff(par.w, par.start) > 1e-3, "training moved the weights");
});

Deno.test("fit workers: a run killed mid-epoch resumes from its checkpoint to the same weights", async () => {
  const { path, cleanup } = await tempDir();
  try {
    const args: Partial<FitArgs> = {
      epochs: 2,
      workers: 2,
      optimizer: { name: "adam", lr: 0.02 },
      checkpointEverySteps: 3,
      checkpointDir: path,
    };
    // dropout (seeded per step and worker) and batch norm (averaged state)
    const model = { dropout: 0.3, batchNorm: true };
    const full = await run({ ...args, checkpointDir: join(path, "full") }, 21, model);
    // killed after step 7 (4 steps per epoch): the last checkpoint is mid-epoch, step 6
    await assertRejects(() =>
      run(
        {
          ...args,
          onStep: ({ step }) => {
            if (step === 7) throw new Error("killed");
          },
        },
        21,
        model,
      )
    );
    const ck = await readCheckpoint(join(path, CHECKPOINT_FILE));
    assertEquals(ck?.meta.step, 6);
    assert(ck!.tensors["opt/w0/m"], "the optimiser state is checkpointed");
    // other initial weights: all come from the checkpoint
    const resumed = await run(args, 99, model);
    assertEquals(resumed.r.resumedFromStep, 6);
    const d = relDiff(resumed.w, full.w);
    assert(d <= 1e-6, `resumed vs uninterrupted: relative difference ${d}`);
    assertEquals(resumed.r.rows.map((x) => x.trainLoss), full.r.rows.map((x) => x.trainLoss));
  } finally {
    await cleanup();
  }
});

Deno.test("fit workers: batch norm over the whole batch = single thread; per-shard statistics differ", async () => {
  // SGD, not Adam: the conv bias before a batch norm has an exact-zero
  // gradient, whose float noise Adam would turn into full-size steps
  const args: Partial<FitArgs> = { optimizer: { name: "sgd", lr: 0.05, momentum: 0.9 } };
  const model = { batchNorm: true };
  const local = await run(args, 5, model);
  const synced = await run({ ...args, workers: 2 }, 5, model);
  const perShard = await run({ ...args, workers: 2, syncBatchNorm: false }, 5, model);
  // all weights, the moving mean and variance included
  const d = relDiff(synced.w, local.w);
  assert(d <= 1e-5, `synced vs single thread: relative difference ${d}`);
  synced.r.rows.forEach((row, i) =>
    assertLess(Math.abs(row.trainLoss - local.r.rows[i].trainLoss), 1e-5)
  );
  const dp = relDiff(perShard.w, local.w);
  assert(dp > 1e-3, `per-shard statistics should train differently, relative difference ${dp}`);
});

Deno.test("fit workers: AMSGrad Adam on 2 workers = single thread; killed and resumed = uninterrupted", async () => {
  // no batch norm: every parameter has a real gradient (Adam would turn the
  // float noise of an exact-zero one into full-size steps)
  const optimizer = {
    name: "adam",
    lr: 0.02,
    beta2: 0.9,
    weightDecay: 0.01,
    amsgrad: true,
  } as const;
  const local = await run({ optimizer }, 21);
  const par = await run({ optimizer, workers: 2 }, 21);
  const d = relDiff(par.w, local.w);
  assert(d <= 1e-5, `weights: relative difference ${d}`);
  assert(relDiff(par.w, par.start) > 1e-2, "training moved the weights");
  par.r.rows.forEach((row, i) =>
    assertLess(Math.abs(row.trainLoss - local.r.rows[i].trainLoss), 1e-5)
  );
  // the maximum matters on this run (β2 = 0.9: v falls quickly): plain Adam
  // ends elsewhere (3.6e-2 relative), so workers ignoring amsgrad would fail
  const plain = await run({ optimizer: { ...optimizer, amsgrad: false } }, 21);
  const dp = relDiff(plain.w, local.w);
  assert(dp > 1e-2, `AMSGrad vs plain Adam: relative difference ${dp} only`);

  const { path, cleanup } = await tempDir();
  try {
    for (const workers of [0, 2]) {
      const dir = join(path, `w${workers}`);
      const args: Partial<FitArgs> = {
        epochs: 2,
        workers,
        optimizer,
        checkpointEverySteps: 3,
        checkpointDir: dir,
      };
      const full = await run({ ...args, checkpointDir: join(dir, "full") });
      // killed after step 7 (4 steps per epoch): the last checkpoint is step 6
      await assertRejects(() =>
        run({
          ...args,
          onStep: ({ step }) => {
            if (step === 7) throw new Error("killed");
          },
        })
      );
      const ck = await readCheckpoint(join(dir, CHECKPOINT_FILE));
      assertEquals(ck?.meta.step, 6);
      assert(ck!.tensors["opt/w0/vmax"], `workers ${workers}: vmax is checkpointed`);
      const resumed = await run(args, 99); // other initial weights: all from the checkpoint
      assertEquals(resumed.r.resumedFromStep, 6);
      const dr = relDiff(resumed.w, full.w);
      assert(dr <= 1e-6, `workers ${workers}: resumed vs uninterrupted: relative difference ${dr}`);
      assertEquals(resumed.r.rows.map((x) => x.trainLoss), full.r.rows.map((x) => x.trainLoss));
    }
  } finally {
    await cleanup();
  }
});

Deno.test("fit workers: a model frozen before fit (its frozen weights listed last) trains as in one thread", async () => {
  const { freeze } = await import("../../lib/train/freeze.ts");
  const result = async (workers: number) => {
    const m = convModel(31, { batchNorm: true });
    // layer1_conv's kernel and bias move behind the trainable weights in model.weights,
    // so the order differs from the model the workers rebuild from the topology
    const fresh = m.weights.map((w) => w.originalName);
    freeze(m, "layer1_conv");
    assert(
      m.weights.map((w) => w.originalName).join() !== fresh.join(),
      "freezing reorders model.weights",
    );
    const before = m.weights.map((w) => Array.from(w.read().dataSync()));
    await fit(m, toyData(60, 3), { ...BASE, epochs: 2, workers });
    const names = m.weights.map((w) => w.originalName);
    const after = m.weights.map((w) => Array.from(w.read().dataSync()));
    const w = Object.fromEntries(names.map((n, i) => [n, { before: before[i], after: after[i] }]));
    m.dispose();
    return w;
  };
  const one = await result(0), two = await result(2);
  for (const name of ["layer1_conv/kernel", "layer1_conv/bias"]) {
    assertEquals(two[name].after, two[name].before, `${name} is frozen`);
  }
  for (const name of ["layer2_conv/kernel", "head/kernel", "layer1_bn/gamma"]) {
    assertLess(relDiff(two[name].after, one[name].after), 1e-4, `${name}: workers = one thread`);
    assert(two[name].after.some((v, i) => v !== two[name].before[i]), `${name} trained`);
  }
});
