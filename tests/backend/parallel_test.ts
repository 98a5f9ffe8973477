/**
 * DataParallelTrainer: N=2 workers train exactly like one process (same
 * init, same data, 3 Adam steps), replicas stay identical, batch-norm state
 * is averaged, no tensors leak, errors are reported and the local fallback
 * works. The fused FlatOptimizer equals tf.train.* and lib/train/optimisers.ts.
 */
import * as tf from "@tensorflow/tfjs";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { initBackend } from "../../lib/backend/select.ts";
import {
  DataParallelTrainer,
  type DataParallelTrainerArgs,
  FlatOptimizer,
  type ParallelOptimizerSpec,
  partitionVariables,
  type ReplicaWeights,
  shardSizes,
} from "../../lib/backend/parallel.ts";
import { makeOptimizer, type OptimizerSpec } from "../../lib/train/optimisers.ts";
import { rng } from "../../lib/random.ts";
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

const SHAPES = [[7, 5], [5], [3, 2, 4]];

/** `steps` seeded random gradients for variables of {@link SHAPES}, flat per step. */
function randomGrads(steps: number, seed: number): Float32Array[][] {
  const r = rng(seed);
  return Array.from(
    { length: steps },
    (_, s) =>
      SHAPES.map((sh) =>
        Float32Array.from(
          { length: sh.reduce((a, b) => a * b, 1) },
          // growing scale, and an all-zero step for one variable
          () => s === 2 ? 0 : (r.next() - 0.5) * (1 + s),
        )
      ),
  );
}

function flat(xs: Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
  let o = 0;
  for (const x of xs) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

/** Run FlatOptimizer and a tensor optimizer (`applyRef`) from the same start on the same gradients. */
function compareOptimizer(
  spec: ParallelOptimizerSpec,
  applyRef: (vars: tf.Variable[], grads: tf.Tensor[]) => void,
  steps = 6,
  lrs?: number[],
  setRefLr?: (lr: number) => void,
): void {
  const r = rng(11);
  const start = SHAPES.map((sh) =>
    Float32Array.from({ length: sh.reduce((a, b) => a * b, 1) }, () => r.next() * 2 - 1)
  );
  const grads = randomGrads(steps, 5);
  const opt = new FlatOptimizer(spec, start.map((a) => a.length));
  const params = flat(start);
  const vars = start.map((a, i) => tf.variable(tf.tensor(a, SHAPES[i])));
  for (let s = 0; s < steps; s++) {
    if (lrs) {
      opt.learningRate = lrs[s];
      setRefLr!(lrs[s]);
    }
    opt.step(params, flat(grads[s]));
    const gt = grads[s].map((g, i) => tf.tensor(g, SHAPES[i]));
    applyRef(vars, gt);
    tf.dispose(gt);
  }
  const ref = flat(vars.map((v) => v.dataSync() as Float32Array));
  const moved = relDiff(flat(start), ref);
  assert(moved > 1e-3, `${spec.kind}: the reference moved by ${moved} only`);
  const d = relDiff(params, ref);
  assert(d <= 1e-6, `${spec.kind}: relative difference ${d} after ${steps} steps`);
  tf.dispose(vars);
}

Deno.test("FlatOptimizer = tf.train.adam / sgd / momentum (Nesterov) to 1e-6 over 6 steps", () => {
  const named = (vars: tf.Variable[], grads: tf.Tensor[]) =>
    vars.map((v, i) => ({ name: v.name, tensor: grads[i] }));
  const cases: [ParallelOptimizerSpec, () => tf.Optimizer][] = [
    [{ kind: "adam", learningRate: 0.05 }, () => tf.train.adam(0.05)],
    [
      { kind: "adam", learningRate: 0.02, beta1: 0.8, beta2: 0.99, epsilon: 1e-4 },
      () => tf.train.adam(0.02, 0.8, 0.99, 1e-4),
    ],
    [{ kind: "sgd", learningRate: 0.3 }, () => tf.train.sgd(0.3)],
    [{ kind: "momentum", learningRate: 0.1, momentum: 0.9 }, () => tf.train.momentum(0.1, 0.9)],
    [
      { kind: "momentum", learningRate: 0.1, momentum: 0.7, useNesterov: true },
      () => tf.train.momentum(0.1, 0.7, true),
    ],
  ];
  for (const [spec, make] of cases) {
    const opt = make();
    compareOptimizer(spec, (v, g) => opt.applyGradients(named(v, g)));
    opt.dispose();
  }
  // a schedule: the learning rate changes every step
  const adam = tf.train.adam(0.1);
  compareOptimizer(
    { kind: "adam", learningRate: 0.1 },
    (v, g) => adam.applyGradients(named(v, g)),
    5,
    [0.1, 0.05, 0.2, 0.01, 0.03],
    (lr) => ((adam as unknown as { learningRate: number }).learningRate = lr),
  );
  adam.dispose();
});

Deno.test("FlatOptimizer torch-* = lib/train/optimisers.ts (Adam, AdamW, SGD) to 1e-6", () => {
  const cases: [ParallelOptimizerSpec, OptimizerSpec][] = [
    [{ kind: "torch-adam", learningRate: 0.05 }, { name: "adam", lr: 0.05 }],
    [
      { kind: "torch-adam", learningRate: 0.05, weightDecay: 0.1, eps: 1e-6 },
      { name: "adam", lr: 0.05, weightDecay: 0.1, eps: 1e-6 },
    ],
    [
      { kind: "torch-adamw", learningRate: 0.05, beta2: 0.99 },
      { name: "adamw", lr: 0.05, beta2: 0.99 },
    ],
    [{ kind: "torch-sgd", learningRate: 0.2 }, { name: "sgd", lr: 0.2 }],
    [
      { kind: "torch-sgd", learningRate: 0.1, weightDecay: 0.01 },
      { name: "sgd", lr: 0.1, weightDecay: 0.01 },
    ],
    [
      { kind: "torch-sgd", learningRate: 0.1, momentum: 0.9, dampening: 0.2, weightDecay: 0.01 },
      { name: "sgd", lr: 0.1, momentum: 0.9, dampening: 0.2, weightDecay: 0.01 },
    ],
    [
      { kind: "torch-sgd", learningRate: 0.1, momentum: 0.8, nesterov: true },
      { name: "sgd", lr: 0.1, momentum: 0.8, nesterov: true },
    ],
  ];
  for (const [spec, ref] of cases) {
    const opt = makeOptimizer(ref);
    compareOptimizer(
      spec,
      (v, g) => opt.applyGradients(v.map((x, i) => ({ key: `w${i}`, variable: x })), g),
    );
    opt.dispose();
  }
});

Deno.test("FlatOptimizer: frozen variables keep weights and state; state round-trips", () => {
  const sizes = [3, 2];
  const opt = new FlatOptimizer({ kind: "torch-adam", learningRate: 0.1 }, sizes);
  const p = new Float32Array([1, 2, 3, 4, 5]);
  opt.step(p, new Float32Array([1, 1, 1, 1, 1]), [true, false]);
  assertEquals(Array.from(p.subarray(3)), [4, 5]);
  assert(p[0] < 1);
  const st = opt.getState();
  assertEquals(st.steps, [1, 0]);
  assertEquals(Array.from(st.slots.m.subarray(3)), [0, 0]);
  // a copy resumed from the state continues identically
  const other = new FlatOptimizer({ kind: "torch-adam", learningRate: 0.5 }, sizes);
  other.setState(st);
  const q = p.slice(), g = new Float32Array([0.5, -1, 2, 1, 1]);
  opt.step(p, g);
  other.step(q, g);
  assertEquals(q, p);
  assertEquals(other.getState().steps, [2, 1]);
  assertThrows(() => other.setState({ ...st, kind: "adam" }), Error, "state of 'adam'");
  assertThrows(
    () => new FlatOptimizer({ kind: "rmsprop" } as unknown as ParallelOptimizerSpec, sizes),
    Error,
    "'rmsprop' is not supported",
  );
  assertThrows(() => opt.step(new Float32Array(4), new Float32Array(4)), Error, "the model has 5");
  // the checks shared with lib/train/optimisers.ts
  assertThrows(
    () => new FlatOptimizer({ kind: "adam", learningRate: 0.1, beta1: 1 }, sizes),
    Error,
    "beta1: must be in [0, 1)",
  );
  assertThrows(
    () => new FlatOptimizer({ kind: "torch-sgd", learningRate: 0.1, nesterov: true }, sizes),
    Error,
    "nesterov",
  );
});
