/**
 * Non-finite values where data and weights enter training: NaN/Inf inputs
 * (arrays and batch sources), a loss that becomes non-finite (single thread
 * and on workers, naming the step, the epoch and the head; the last good
 * checkpoint stays), corrupted resume checkpoints, and weight files
 * (saveWeights/loadWeights, as `yuan --resume` reloads pre-trained weights,
 * and saveModel/loadModel) all fail naming the file, tensor or index.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import { CHECKPOINT_FILE, fit } from "../../lib/train/loop.ts";
import { readCheckpoint, writeCheckpoint } from "../../lib/train/checkpoint.ts";
import { loadModel, loadWeights, saveModel, saveWeights } from "../../lib/train/save.ts";
import { CheckpointError, ConfigError } from "../../lib/errors.ts";
import type { LossFn } from "../../lib/train/losses.ts";
import { tempDir } from "../_helpers.ts";
import { nanFrom } from "./_nonfinite_loss.ts";
import { convModel, flatWeights, toyData, useCpu } from "./_fixtures.ts";

await useCpu();

const base = { epochs: 2, batchSize: 8, channelsLast: true, progress: false as const };

Deno.test("fit: a NaN or Inf input fails naming the window, channel and sample", async () => {
  const m = convModel(1);
  for (const [bad, name] of [[NaN, "NaN"], [Infinity, "Infinity"], [-Infinity, "-Infinity"]]) {
    const d = toyData(16, 1);
    d.x[(5 * 3 + 1) * 16 + 3] = bad as number; // window 5, channel 1, sample 3
    await assertRejects(
      () => fit(m, d, base),
      ConfigError,
      `fit data.x holds ${name} at window 5, channel 1, sample 3 (1 non-finite value)`,
    );
    await assertRejects(
      () => fit(m, toyData(16, 1), { ...base, validation: d }),
      ConfigError,
      `fit validation.x holds ${name} at window 5`,
    );
  }
  // a batch source: the step and the tensor are named
  const d = toyData(16, 2);
  d.x[(1 * 3 + 2) * 16 + 7] = NaN;
  const source = {
    stepsPerEpoch: 2,
    batch: ({ step }: { step: number }) => ({
      x: { data: d.x.slice(step * 8 * 48, (step + 1) * 8 * 48), shape: [8, 3, 16] },
      y: { data: d.y.slice(step * 8, (step + 1) * 8), shape: [8] },
    }),
  };
  await assertRejects(
    () => fit(m, source, base),
    ConfigError,
    "fit step 0 (epoch 1): x[0] holds NaN at window 1, channel 2, sample 7",
  );
  m.dispose();
});

const NAN_LOSS = new URL("./_nonfinite_loss.ts", import.meta.url).href;

Deno.test("fit: a non-finite loss stops naming step, epoch and head; the last good checkpoint stays", async () => {
  const { path, cleanup } = await tempDir();
  try {
    const m = convModel(2);
    // 16 windows / 8 = 2 steps per epoch: epoch 1 is checkpointed, step 3 (epoch 2) goes NaN
    const err = await assertRejects(
      () =>
        fit(m, toyData(16, 2), {
          ...base,
          loss: nanFrom({ from: 3, classes: 3 }),
          checkpointDir: path,
          optimizer: { name: "sgd", lr: 0.05 },
        }),
      ConfigError,
      "fit: training loss is NaN at step 3 (epoch 2) (aot/loss NaN)",
    );
    assert(err.message.includes(`${join(path, CHECKPOINT_FILE)} keeps the last good state`));
    assert(!err.message.includes("scale/loss"), "finite heads are not named");
    const ck = await readCheckpoint(join(path, CHECKPOINT_FILE));
    assertEquals(ck?.meta.step, 2);
    for (const t of Object.values(ck!.tensors)) assert(t.data.every(Number.isFinite));
    m.dispose();
  } finally {
    await cleanup();
  }
});

Deno.test("fit: diverged weights are never checkpointed (a finite last loss, NaN weights)", async () => {
  const { path, cleanup } = await tempDir();
  try {
    const m = convModel(2);
    let calls = 0;
    // the last step of epoch 2 has a finite loss but NaN gradients → NaN weights at epoch end
    const loss: LossFn = ([y], [p]) => {
      const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(y.toInt(), 3), p) as tf.Scalar;
      if (calls++ !== 3) return ce;
      // + sqrt(relu(p - 1e9)): adds 0, but its gradient is Inf · 0 = NaN
      return ce.add(tf.sqrt(tf.relu(p.sub(1e9))).sum()) as tf.Scalar;
    };
    await assertRejects(
      () =>
        fit(m, toyData(16, 2), {
          ...base,
          loss,
          checkpointDir: path,
          optimizer: { name: "sgd", lr: 0.05 },
        }),
      ConfigError,
      "fit: weight 'layer1_conv/kernel' holds NaN at [0, 0, 0] (36 non-finite values) after " +
        "step 4 (end of epoch 2); ",
    );
    const ck = await readCheckpoint(join(path, CHECKPOINT_FILE));
    assertEquals(ck?.meta.step, 2);
    m.dispose();
  } finally {
    await cleanup();
  }
});

Deno.test("fit resume: a NaN in the checkpoint fails naming the file and the tensor", async () => {
  const { path, cleanup } = await tempDir();
  try {
    const args = { ...base, checkpointDir: path, epochs: 1 };
    const m = convModel(3);
    await fit(m, toyData(16, 3), args);
    const file = join(path, CHECKPOINT_FILE);
    const ck = (await readCheckpoint(file))!;
    ck.tensors["w/1"].data[0] = NaN;
    await writeCheckpoint(file, ck);
    await assertRejects(
      () => fit(convModel(3), toyData(16, 3), { ...args, epochs: 1 }),
      CheckpointError,
      `${file}: tensor 'w/1' [`,
    );
    m.dispose();
  } finally {
    await cleanup();
  }
});

Deno.test("loadWeights (yuan --resume pre-trained weights): NaN/Inf weights fail naming file and weight", async () => {
  const { path, cleanup } = await tempDir();
  try {
    const file = join(path, "ssl.weights");
    const m = convModel(4);
    const good = flatWeights(m);
    // all-NaN pre-trained weights, as a diverged pre-training would have saved
    const nan = convModel(5);
    nan.setWeights(nan.getWeights().map((w) => tf.fill(w.shape, NaN)));
    await saveWeights(nan, file, { spec: "toy" });
    await assertRejects(
      () => loadWeights(m, file),
      CheckpointError,
      `${file}: tensor 'weight 0 ("${m.weights[0].originalName}")' [`,
    );
    assertEquals(flatWeights(m), good, "the model keeps its weights");
    // one Inf in the middle of one weight: its index is named
    const one = convModel(6);
    const w = one.weights[2].read();
    const v = w.dataSync().slice();
    v[v.length - 1] = -Infinity;
    one.weights[2].write(tf.tensor(v, w.shape));
    await saveWeights(one, file);
    const err = await assertRejects(() => loadWeights(m, file), CheckpointError, "weight 2");
    assert(err.message.includes("holds -Infinity at ["), err.message);
    assert(err.message.includes("(1 non-finite value)"), err.message);
    // saveModel / loadModel: weights.bin and the weight are named
    const dir = join(path, "model");
    await saveModel(nan, dir);
    await assertRejects(
      () => loadModel(dir),
      CheckpointError,
      `${join(dir, "weights.bin")}: tensor`,
    );
    m.dispose();
    nan.dispose();
    one.dispose();
  } finally {
    await cleanup();
  }
});

Deno.test("fit workers: a non-finite loss on the workers stops naming the step", async () => {
  const m = convModel(7);
  await assertRejects(
    () =>
      fit(m, toyData(16, 7), {
        ...base,
        epochs: 3,
        workers: 2,
        loss: { module: NAN_LOSS, export: "nanFrom", args: { from: 2, classes: 3 } },
        workerBackend: ["cpu"],
      }),
    ConfigError,
    "fit: training loss is NaN at step 2 (epoch 2) (aot/loss NaN)",
  );
  m.dispose();
});
