import * as tf from "@tensorflow/tfjs";
import {
  assert,
  assertEquals,
  assertGreater,
  assertLess,
  assertNotEquals,
  assertRejects,
} from "@std/assert";
import { join } from "node:path";
import { CHECKPOINT_FILE, evaluateClassifier, fit, resolveWorkers } from "../../lib/train/loop.ts";
import { readCheckpoint } from "../../lib/train/checkpoint.ts";
import { adam, sgd } from "../../lib/train/optimisers.ts";
import { ConfigError } from "../../lib/errors.ts";
import type { Windows } from "../../lib/data/types.ts";
import { tempDir } from "../_helpers.ts";
import { convModel, flatWeights, toyData, useCpu } from "./_fixtures.ts";

await useCpu();

Deno.test("fit learns a separable toy problem; history table; tensor count flat", async () => {
  const m = convModel(1, { dropout: 0.2, batchNorm: true });
  const counts: number[] = [];
  const res = await fit(m, toyData(96, 1), {
    epochs: 4,
    batchSize: 16,
    seed: 3,
    optimizer: { name: "adam", lr: 0.01 },
    validation: toyData(48, 2),
    channelsLast: true,
    progress: false,
    onEpochEnd: () => {
      counts.push(tf.memory().numTensors);
    },
  });
  assertEquals(res.history.columnNames(), [
    "epoch",
    "trainLoss",
    "valLoss",
    "valF1",
    "lr",
    "seconds",
  ]);
  assertEquals(res.history.numRows(), 4);
  assertEquals(res.steps, 4 * 6);
  const loss = res.history.array("trainLoss") as number[];
  assertLess(loss[3], loss[0] * 0.5);
  assertGreater(res.rows[3].valF1, 0.9);
  assertEquals(new Set(counts).size, 1, `tensor counts per epoch: ${counts}`);
  m.dispose();
});

Deno.test("same seed, same numbers; different seed, different batch order", async () => {
  const run = async (seed: number) => {
    const m = convModel(1, { dropout: 0.3 });
    const r = await fit(m, toyData(64, 5), {
      epochs: 2,
      batchSize: 16,
      seed,
      channelsLast: true,
      progress: false,
    });
    const w = flatWeights(m);
    m.dispose();
    return { w, loss: r.rows.map((x) => x.trainLoss) };
  };
  const a = await run(7), b = await run(7), c = await run(8);
  assertEquals(b, a);
  assertNotEquals(c.w, a.w);
});

Deno.test("Windows input, schedule and optimiser instance drive the lr; unlabelled skipped", async () => {
  const d = toyData(40, 9);
  const y = d.y.slice();
  y[0] = -1;
  const w: Windows = {
    x: d.x,
    n: 40,
    channels: 3,
    length: 16,
    y,
    classes: ["a", "b", "c"],
    subject: Array(40).fill("s1"),
    rateHz: 30,
  };
  const m = convModel(2);
  const opt = sgd({ lr: 0.5, momentum: 0.9 });
  const lrs: number[] = [];
  const res = await fit(m, w, {
    epochs: 2,
    batchSize: 13, // 39 labelled -> 3 steps per epoch
    optimizer: opt,
    schedule: { name: "halving", lrAt: (s) => 0.1 / 2 ** s },
    channelsLast: true,
    progress: false,
    onStep: () => {
      lrs.push(opt.lr);
    },
  });
  assertEquals(res.steps, 6);
  assertEquals(lrs, [0.1, 0.05, 0.025, 0.0125, 0.00625, 0.003125]);
  assertEquals(res.rows[1].lr, 0.003125);
  assert(Number.isNaN(res.rows[0].valLoss));
  assertEquals(opt.getState().params.w0.step, 6); // caller's optimiser keeps its state
  opt.dispose();
  m.dispose();
});

Deno.test("freeze keeps the selected weights fixed until unfreezeAtFraction", async () => {
  const m = convModel(4, { batchNorm: true });
  const conv = () => Array.from(m.getLayer("layer1_conv").getWeights()[0].dataSync());
  const head = () => Array.from(m.getLayer("head").getWeights()[0].dataSync());
  const conv0 = conv(), head0 = head();
  const nTrainable = m.trainableWeights.length;
  const seen: { step: number; convSame: boolean }[] = [];
  await fit(m, toyData(64, 6), {
    epochs: 2,
    batchSize: 16, // 8 steps, unfreeze at step 6
    freeze: "layer1_conv",
    unfreezeAtFraction: 0.75,
    channelsLast: true,
    progress: false,
    onStep: ({ step }) => {
      seen.push({ step, convSame: conv().every((v, i) => v === conv0[i]) });
    },
  });
  assertEquals(seen.map((s) => s.convSame), [true, true, true, true, true, true, false, false]);
  assertNotEquals(head(), head0);
  assertEquals(m.trainableWeights.length, nTrainable); // unfrozen again
  // frozen for the whole run when no unfreeze fraction is given
  const m2 = convModel(4);
  const k0 = Array.from(m2.getLayer("layer1_conv").getWeights()[0].dataSync());
  await fit(m2, toyData(32, 6), {
    epochs: 1,
    freeze: ["layer1_conv", "layer2_conv"],
    channelsLast: true,
    progress: false,
  });
  assertEquals(Array.from(m2.getLayer("layer1_conv").getWeights()[0].dataSync()), k0);
  await assertRejects(
    () =>
      fit(m2, toyData(8, 1), { epochs: 1, freeze: "encoder", channelsLast: true, progress: false }),
    ConfigError,
    "matches no trainable weight",
  );
  m.dispose();
  m2.dispose();
});

Deno.test("early stopping stops after `patience` epochs and restores the best weights", async () => {
  const m = convModel(8);
  // labels unrelated to the inputs: the model memorises the training set and
  // validation loss rises within a few epochs
  const noisy = (n: number, seed: number) => {
    const d = toyData(n, seed);
    const other = toyData(n, seed + 100);
    return { ...d, y: other.y };
  };
  const snaps: number[][] = [];
  const res = await fit(m, noisy(32, 10), {
    epochs: 30,
    batchSize: 8,
    optimizer: { name: "adam", lr: 0.02 },
    validation: noisy(32, 11),
    earlyStopping: { monitor: "valLoss", patience: 2 },
    channelsLast: true,
    progress: false,
    onEpochEnd: () => {
      snaps.push(flatWeights(m));
    },
  });
  assert(res.stoppedEarly, "should stop early");
  const vl = res.rows.map((r) => r.valLoss);
  const best = vl.indexOf(Math.min(...vl));
  assertEquals(res.bestEpoch, best + 1);
  assertEquals(res.rows.length, best + 1 + 2);
  assertEquals(flatWeights(m), snaps[best]);
  // evaluateClassifier() agrees with the recorded validation loss of the restored epoch
  const ev = evaluateClassifier(m, noisy(32, 11), { channelsLast: true });
  assertLess(Math.abs(ev.loss - vl[best]), 1e-5);
  m.dispose();
});

Deno.test("class weights change the loss; monitor valF1", async () => {
  const run = async (classWeights?: number[]) => {
    const m = convModel(12);
    const r = await fit(m, toyData(48, 12), {
      epochs: 2,
      classWeights,
      validation: toyData(24, 13),
      earlyStopping: { monitor: "valF1", patience: 5 },
      channelsLast: true,
      progress: false,
    });
    m.dispose();
    return r.rows[0].trainLoss;
  };
  assertNotEquals(await run([1, 5, 0.2]), await run());
});

Deno.test("a finished run's checkpoint resumes to the same result without training", async () => {
  const { path, cleanup } = await tempDir();
  try {
    const args = {
      epochs: 2,
      batchSize: 16,
      checkpointDir: path,
      channelsLast: true,
      progress: false as const,
    };
    const m = convModel(3);
    const r1 = await fit(m, toyData(32, 3), args);
    const ck = await readCheckpoint(join(path, CHECKPOINT_FILE));
    assertEquals(ck?.meta.finished, true);
    const m2 = convModel(77);
    let steps = 0;
    const r2 = await fit(m2, toyData(32, 3), { ...args, onStep: () => void steps++ });
    assertEquals(steps, 0);
    assertEquals(r2.resumedFromStep, 4);
    assertEquals(flatWeights(m2), flatWeights(m));
    assertEquals(r2.rows, r1.rows);
    // a checkpoint from a different configuration is refused
    await assertRejects(
      () => fit(convModel(3), toyData(48, 3), args),
      Error,
      "total steps",
    );
    m.dispose();
    m2.dispose();
  } finally {
    await cleanup();
  }
});

Deno.test("a run killed (SIGKILL) mid-way resumes from its checkpoint to the identical result", async () => {
  const { path, cleanup } = await tempDir();
  const child = new URL("./_fit_child.ts", import.meta.url).pathname;
  const spawn = (dir: string, out: string, slowMs = 0) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", child, dir, out, String(slowMs)],
      stdout: "null",
      stderr: "piped",
    }).spawn();
  try {
    // 1. uninterrupted reference run
    const refOut = join(path, "ref.json");
    const ref = await spawn(join(path, "ref"), refOut).output();
    assertEquals(ref.code, 0, new TextDecoder().decode(ref.stderr));
    // 2. a slowed run, killed once a mid-run checkpoint exists
    const dir = join(path, "run"), out = join(path, "run.json");
    const p = spawn(dir, out, 60);
    let killedAt = -1;
    for (let i = 0; i < 1500 && killedAt < 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const ck = await readCheckpoint(join(dir, CHECKPOINT_FILE)).catch(() => null);
      // a mid-epoch checkpoint: the resume must rebuild the epoch's batch order
      if (ck && (ck.meta.step as number) >= 8 && (ck.meta.stepInEpoch as number) > 0) {
        p.kill("SIGKILL");
        killedAt = ck.meta.step as number;
      }
    }
    const st = await p.status;
    assertEquals(st.signal, "SIGKILL", "child should have been killed");
    assert(killedAt > 0 && killedAt < 30, `killed after checkpoint at step ${killedAt}`);
    await assertRejects(() => Deno.stat(out)); // never finished
    // 3. resume in a fresh process
    const res = await spawn(dir, out).output();
    assertEquals(res.code, 0, new TextDecoder().decode(res.stderr));
    const a = JSON.parse(await Deno.readTextFile(refOut));
    const b = JSON.parse(await Deno.readTextFile(out));
    assert(b.resumedFromStep >= killedAt, `resumed from ${b.resumedFromStep}`);
    assertEquals(a.resumedFromStep, null);
    assertEquals(b.steps, a.steps);
    assertEquals(b.rows, a.rows);
    assertEquals(b.bestEpoch, a.bestEpoch);
    assertEquals(b.weights, a.weights);
  } finally {
    await cleanup();
  }
});

Deno.test("multi-output model with yWidth labels and a custom loss (MTL pretext style)", async () => {
  const input = tf.input({ shape: [16, 3] });
  const h = tf.layers.flatten().apply(
    tf.layers.conv1d({ filters: 4, kernelSize: 3, activation: "relu" }).apply(input),
  ) as tf.SymbolicTensor;
  const a = tf.layers.dense({ units: 2, name: "task_a" }).apply(h) as tf.SymbolicTensor;
  const b = tf.layers.dense({ units: 3, name: "task_b" }).apply(h) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: [a, b] });
  const d = toyData(40, 31);
  const y = new Int32Array(80);
  for (let i = 0; i < 40; i++) {
    y[2 * i] = d.y[i] === 0 ? 1 : 0;
    y[2 * i + 1] = d.y[i];
  }
  const seenShapes: number[][] = [];
  const loss = ([lab]: tf.Tensor[], [oa, ob]: tf.Tensor[]) => {
    seenShapes.push(lab.shape);
    const [la, lb] = tf.split(lab, 2, 1).map((t) => t.reshape([-1]));
    return tf.add(
      tf.losses.softmaxCrossEntropy(tf.oneHot(la.toInt(), 2), oa),
      tf.losses.softmaxCrossEntropy(tf.oneHot(lb.toInt(), 3), ob),
    ) as tf.Scalar;
  };
  const data = { x: d.x, shape: d.shape, y, yWidth: 2 };
  const res = await fit(m, data, {
    epochs: 3,
    batchSize: 10,
    loss,
    validation: data,
    optimizer: { name: "adam", lr: 0.02 },
    channelsLast: true,
    progress: false,
  });
  assertEquals(seenShapes[0], [10, 2]);
  assert(Number.isNaN(res.rows[0].valF1));
  assertLess(res.rows[2].valLoss, res.rows[0].valLoss);
  await assertRejects(
    () => fit(m, data, { epochs: 1, channelsLast: true, progress: false }),
    ConfigError,
    "custom loss",
  );
  m.dispose();
});

Deno.test("validateEveryEpochs: validation at every k-th epoch and the last; early stopping counts only those", async () => {
  const m = convModel(3);
  let validations = 0;
  const res = await fit(m, toyData(32, 1), {
    epochs: 7,
    batchSize: 16,
    optimizer: { name: "adam", lr: 1e-3 },
    validation: toyData(16, 2),
    validateEveryEpochs: 3,
    onValidate: () => {
      validations++;
    },
    earlyStopping: { monitor: "valF1", mode: "max", patience: 100, restoreBest: true },
    channelsLast: true,
    progress: false,
  });
  // epochs 3, 6 and the last (7)
  assertEquals(res.rows.map((r) => Number.isFinite(r.valLoss)), [
    false,
    false,
    true,
    false,
    false,
    true,
    true,
  ]);
  assertEquals(validations, 3);
  assert([3, 6, 7].includes(res.bestEpoch!), `best epoch ${res.bestEpoch}`);
  await assertRejects(
    () =>
      fit(m, toyData(8, 1), {
        epochs: 1,
        validateEveryEpochs: 0,
        progress: false,
        channelsLast: true,
      }),
    ConfigError,
    "validateEveryEpochs",
  );
});

Deno.test("resolveWorkers: an explicit number shards a batch-level loss too (auto on the native backend: tests/experiments/dontfreeze/run_test.ts)", () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
  const opt = adam({ lr: 1e-3 });
  try {
    assertEquals(resolveWorkers(2, model, { kind: "nt-xent", args: { temperature: 0.5 } }, opt), 2);
    assertEquals(resolveWorkers(undefined, model, { kind: "info-nce" }, opt), 0);
  } finally {
    model.dispose();
  }
});
