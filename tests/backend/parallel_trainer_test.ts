/**
 * DataParallelTrainer: N=2 workers train exactly like one process (same
 * init, same data, 3 Adam steps), replicas stay identical, batch-norm state
 * is averaged, no tensors leak, errors are reported and the local fallback
 * works; metrics the loss reports are the shard-weighted means, in local
 * mode and with 2 workers.
 */
import * as tf from "@tensorflow/tfjs";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { initBackend } from "../../lib/backend/select.ts";
import {
  DataParallelTrainer,
  type DataParallelTrainerArgs,
  partitionVariables,
  shardSizes,
  weightedMetrics,
} from "../../lib/backend/parallel_trainer.ts";
import type { ReplicaWeights } from "../../lib/backend/parallel_replica.ts";
import { relErr as relDiff } from "./_grad_util.ts";
import { build, tinyBatch } from "./_parallel_model.ts";

const MODULE = new URL("./_parallel_model.ts", import.meta.url).href;
const LR = 0.01;

function args(over: Partial<DataParallelTrainerArgs> = {}, bn = false): DataParallelTrainerArgs {
  return {
    model: { module: MODULE, export: "build", args: { seed: 3, batchNorm: bn } },
    optimizer: { kind: "adam", learningRate: LR },
    workers: 2,
    backend: ["blas", "wasm", "cpu"],
    ...over,
  };
}

/** Single-process reference: the same factory, full batch, tf.train.adam minimize. */
function reference(steps: number, batch: number, bn: boolean, start: ReplicaWeights) {
  const m = build({ seed: 3, batchNorm: bn });
  m.trainable.forEach((v, i) => v.assign(tf.tensor(start.trainable[i], v.shape)));
  (m.state ?? []).forEach((v, i) => v.assign(tf.tensor(start.state[i], v.shape)));
  const { x, y } = tinyBatch(batch, 5);
  const opt = tf.train.adam(LR);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const l = opt.minimize(() => m.loss([x], [y]), true, m.trainable)!;
    losses.push(l.dataSync()[0]);
    l.dispose();
  }
  const out = {
    losses,
    trainable: m.trainable.map((v) => (v.dataSync() as Float32Array).slice()),
    state: (m.state ?? []).map((v) => (v.dataSync() as Float32Array).slice()),
  };
  opt.dispose();
  m.dispose?.();
  tf.dispose([x, y]);
  return out;
}

Deno.test("shardSizes splits evenly, larger shards first", () => {
  assertEquals(shardSizes(15, 2), [8, 7]);
  assertEquals(shardSizes(64, 2), [32, 32]);
  assertEquals(shardSizes(2, 3), [1, 1, 0]);
  // variables split by size for the sharded update
  assertEquals(partitionVariables([10, 1, 1, 8], 2), [[0, 1], [1, 4]]);
  assertEquals(partitionVariables([4, 4, 4, 4], 2), [[0, 2], [2, 4]]);
  assertEquals(partitionVariables([5], 3), [[0, 0], [0, 1], [1, 1]]);
  assertEquals(partitionVariables([1, 1, 1], 1), [[0, 3]]);
});

Deno.test("2 workers = single process: weights after 3 Adam steps equal to 1e-5 (unequal shards)", async () => {
  await initBackend({ prefer: ["blas", "wasm", "cpu"], threads: 1, verbose: false });
  const trainer = await DataParallelTrainer.create(args());
  try {
    assertEquals(trainer.mode, "workers", trainer.fallbackReason);
    assertEquals(trainer.numWorkers, 2);
    const start = await trainer.getWeights();
    const batch = 15; // shards of 8 and 7: the average must be weighted
    const { x, y } = tinyBatch(batch, 5);
    const losses: number[] = [];
    const counts: number[][] = [];
    for (let s = 0; s < 3; s++) {
      const r = await trainer.step([x], [y]);
      assertEquals(r.shards, [8, 7]);
      losses.push(r.loss);
      counts.push(r.numTensors);
    }
    tf.dispose([x, y]);
    const ref = reference(3, batch, false, start);
    for (let s = 0; s < 3; s++) {
      assert(Math.abs(losses[s] - ref.losses[s]) <= 1e-5 * Math.abs(ref.losses[s]), `loss ${s}`);
    }
    assert(ref.losses[2] < ref.losses[0], "the reference trains");
    const after = await trainer.getWeights(1);
    ref.trainable.forEach((w, i) => {
      const d = relDiff(after.trainable[i], w);
      assert(d <= 1e-5, `variable ${i}: relative difference ${d}`);
    });
    // the update moved the weights by much more than the tolerance
    assert(relDiff(after.trainable[0], start.trainable[0]) > 1e-3);
    assertEquals(await trainer.maxReplicaDifference(), 0);
    // no tensor leak in either worker
    assertEquals(counts[1], counts[0]);
    assertEquals(counts[2], counts[0]);
    assertEquals(await trainer.numTensors(), counts[0]);
  } finally {
    await trainer.dispose();
  }
});

Deno.test("batch norm: moving stats averaged, replicas identical, tensors flat", async () => {
  await initBackend({ prefer: ["blas", "wasm", "cpu"], threads: 1, verbose: false });
  const trainer = await DataParallelTrainer.create(args({}, true));
  try {
    const start = await trainer.getWeights();
    assertEquals(start.state.length, 2); // moving mean, moving variance
    const { x, y } = tinyBatch(16, 5);
    const first = await trainer.step([x], [y]);
    const w = await trainer.getWeights(1);
    // equal shards: the mean of the shard means is the batch mean
    const ref = reference(1, 16, true, start);
    const d = relDiff(w.state[0], ref.state[0]);
    assert(d <= 1e-5, `moving mean: relative difference ${d}`);
    assert(relDiff(w.state[0], start.state[0]) > 1e-3, "the moving mean moved");
    for (let s = 0; s < 3; s++) {
      const r = await trainer.step([x], [y]);
      assertEquals(r.numTensors, first.numTensors);
    }
    tf.dispose([x, y]);
    assertEquals(await trainer.maxReplicaDifference(), 0);
  } finally {
    await trainer.dispose();
  }
  await assertRejects(() => trainer.step([], []), Error, "after dispose");
});

Deno.test("local mode (workers: 0) and no-Worker fallback train like the workers", async () => {
  await initBackend({ prefer: ["blas", "wasm", "cpu"], threads: 1, verbose: false });
  const { x, y } = tinyBatch(12, 5);
  const run = async (t: DataParallelTrainer) => {
    const start = await t.getWeights();
    for (let s = 0; s < 3; s++) await t.step([x], [y]);
    const w = await t.getWeights();
    await t.dispose();
    return { start, w };
  };
  const local = await run(await DataParallelTrainer.create(args({ workers: 0 })));
  // a learning rate of 0 freezes the weights (Adam's moments still update)
  const frozen = await DataParallelTrainer.create(args({ workers: 2 }));
  await frozen.setLearningRate(0);
  const still = await run(frozen);
  still.start.trainable.forEach((a, i) => assertEquals(still.w.trainable[i], a));
  const g = globalThis as { Worker?: unknown };
  const saved = g.Worker;
  let noWorker;
  try {
    delete g.Worker;
    const t = await DataParallelTrainer.create(args());
    assertEquals(t.mode, "local");
    assertStringIncludes(t.fallbackReason ?? "", "not available");
    noWorker = await run(t);
  } finally {
    g.Worker = saved;
  }
  const workers = await run(await DataParallelTrainer.create(args()));
  tf.dispose([x, y]);
  workers.w.trainable.forEach((a, i) => {
    assert(relDiff(a, local.w.trainable[i]) <= 1e-5, `workers vs local, variable ${i}`);
    assertEquals(noWorker.w.trainable[i], local.w.trainable[i]);
  });
});

Deno.test("workers = local: per-step lr and frozen mask; optimizer state gathered and restored", async () => {
  await initBackend({ prefer: ["blas", "wasm", "cpu"], threads: 1, verbose: false });
  const { x, y } = tinyBatch(12, 5);
  const torch = args({ optimizer: { kind: "torch-adam", learningRate: 0.01 } });
  const run = async (t: DataParallelTrainer) => {
    await t.step([x], [y]);
    const first = await t.getWeights();
    // the dense layer (variables 2, 3: worker 1's share) frozen from step 2 on
    await t.step([x], [y], { learningRate: 0.02, active: [true, true, false, false] });
    await t.step([x], [y]); // lr and mask persist
    return { first, w: await t.getWeights(), state: await t.getOptimizerState() };
  };
  const workers = await DataParallelTrainer.create(torch);
  const local = await DataParallelTrainer.create({ ...torch, workers: 0 });
  try {
    assertEquals(workers.mode, "workers", workers.fallbackReason);
    const a = await run(workers), b = await run(local);
    assertEquals(a.state.steps, [3, 3, 1, 1]);
    assertEquals(b.state.steps, a.state.steps);
    assertEquals(a.state.learningRate, 0.02);
    for (const name of ["m", "v"]) {
      const d = relDiff(a.state.slots[name], b.state.slots[name]);
      assert(d <= 1e-5, `slot ${name}: workers vs local ${d}`);
    }
    a.w.trainable.forEach((w, i) => {
      assert(relDiff(w, b.w.trainable[i]) <= 1e-5, `variable ${i}: workers vs local`);
      if (i >= 2) assertEquals(w, a.first.trainable[i], `frozen variable ${i} moved`);
      else assert(relDiff(w, a.first.trainable[i]) > 1e-4, `variable ${i} did not move`);
    });
    assertEquals(await workers.maxReplicaDifference(), 0);
    // a fresh trainer given the weights and gathered state continues identically
    const fresh = await DataParallelTrainer.create(torch);
    try {
      await fresh.setWeights(a.w);
      await fresh.setOptimizerState(a.state);
      await fresh.setActive([true, true, false, false]);
      await fresh.step([x], [y]);
      await workers.step([x], [y]);
      assertEquals(await fresh.getWeights(1), await workers.getWeights(1));
      assertEquals((await fresh.getOptimizerState()).steps, [4, 4, 1, 1]);
    } finally {
      await fresh.dispose();
    }
  } finally {
    await workers.dispose();
    await local.dispose();
    tf.dispose([x, y]);
  }
});

Deno.test("errors: worker start failure falls back or rethrows; bad factory and batch named", async () => {
  // an empty backend list makes initBackend throw inside each worker
  await assertRejects(
    () => DataParallelTrainer.create(args({ backend: [], fallback: false })),
    Error,
    "prefer is empty",
  );
  const fb = await DataParallelTrainer.create(args({ backend: [] }));
  assertEquals(fb.mode, "local");
  assertStringIncludes(fb.fallbackReason ?? "", "prefer is empty");
  await fb.dispose();
  // workers that do not answer in time (1 ms cannot start one): named, then local
  await assertRejects(
    () => DataParallelTrainer.create(args({ replyTimeoutMs: 1, fallback: false })),
    Error,
    'no reply to "init" within 0.001 s',
  );
  const slow = await DataParallelTrainer.create(args({ replyTimeoutMs: 1 }));
  assertEquals(slow.mode, "local");
  assertStringIncludes(slow.fallbackReason ?? "", 'no reply to "init"');
  await slow.dispose();
  await assertRejects(
    () => DataParallelTrainer.create(args({ model: { module: MODULE, export: "nope", args: {} } })),
    Error,
    "_parallel_model.ts: export 'nope' is not a function",
  );
  const t = await DataParallelTrainer.create(args({ workers: 1 }));
  try {
    await assertRejects(
      () =>
        t.step([{ data: new Float32Array(4 * 72), shape: [4, 24, 3] }], [{
          data: new Float32Array(12),
          shape: [3, 4],
        }]),
      RangeError,
      "tensor 1 has batch 3",
    );
  } finally {
    await t.dispose();
  }
});

const REPORT_MODULE = new URL("./_parallel_report_model.ts", import.meta.url).href;

/** Mean of `y[from:to, 0]` (the `class0` metric of one shard). */
function class0(y: Float32Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += y[i * 4];
  return s / (to - from);
}

Deno.test("metrics reported by the loss: shard-weighted means, local and 2 workers", async () => {
  await initBackend({ prefer: ["blas", "wasm", "cpu"], threads: 1, verbose: false });
  const batch = 15; // shards of 8 and 7
  const { x, y } = tinyBatch(batch, 5);
  const yv = y.dataSync() as Float32Array;
  const model = { module: REPORT_MODULE, export: "buildReporting", args: { seed: 3 } };
  const local = await DataParallelTrainer.create(args({ model, workers: 0 }));
  const workers = await DataParallelTrainer.create(args({ model }));
  try {
    assertEquals(workers.mode, "workers", workers.fallbackReason);
    const a = await local.step([x], [y]);
    assertEquals(Object.keys(a.metrics).sort(), ["ce", "class0", "worker"]);
    assertEquals(a.metrics.ce, a.loss);
    assertAlmostEquals(a.metrics.class0, class0(yv, 0, batch), 1e-6);
    assertEquals(a.metrics.worker, 0);

    const b = await workers.step([x], [y]);
    assertEquals(b.shards, [8, 7]);
    const w = [8 / 15, 7 / 15];
    assertEquals(Object.keys(b.metrics).sort(), ["ce", "class0", "only1", "worker"]);
    // the same start (seeded factory) and batch: the same loss as local mode
    assertAlmostEquals(b.metrics.ce, b.loss, 1e-6);
    assertAlmostEquals(b.metrics.ce, a.loss, 1e-5);
    assertAlmostEquals(b.metrics.class0, class0(yv, 0, batch), 1e-6);
    assertAlmostEquals(b.metrics.worker, w[1], 1e-12);
    assertEquals(b.metrics.only1, 5); // renormalised over the shards that reported it

    // sample weights: shard 1's samples weigh 3 each, the shard weights follow
    const sw = Array.from({ length: batch }, (_, i) => (i < 8 ? 1 : 3));
    const c = await workers.step([x], [y], { sampleWeights: sw });
    const [w0, w1] = [8 / 29, 21 / 29];
    assertAlmostEquals(c.metrics.worker, w1, 1e-12);
    assertAlmostEquals(
      c.metrics.class0,
      w0 * class0(yv, 0, 8) + w1 * class0(yv, 8, batch),
      1e-6,
    );
    assertAlmostEquals(c.metrics.ce, c.loss, 1e-6);
  } finally {
    await local.dispose();
    await workers.dispose();
    tf.dispose([x, y]);
  }
});

Deno.test("weightedMetrics: weighted mean per name over the shards that reported it", () => {
  assertEquals(weightedMetrics([{ a: 1, b: 2 }, { a: 3 }], [0.25, 0.75]), { a: 2.5, b: 2 });
  // a zero-weight (empty) shard does not count
  assertEquals(weightedMetrics([{ a: 1 }, { a: 100, c: 7 }], [1, 0]), { a: 1 });
  assertEquals(weightedMetrics([{}, {}], [0.5, 0.5]), {});
});
