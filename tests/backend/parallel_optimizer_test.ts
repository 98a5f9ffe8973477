/**
 * The fused FlatOptimizer equals tf.train.* and lib/train/optimisers.ts;
 * frozen variables keep their weights and state; state round-trips.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { initBackend } from "../../lib/backend/select.ts";
import {
  FlatOptimizer,
  type ParallelOptimizerSpec,
  resolveOptimizerSpec,
} from "../../lib/backend/parallel_optimizer.ts";
import { makeOptimizer, type OptimizerSpec } from "../../lib/train/optimisers.ts";
import { rng } from "../../lib/random.ts";
import { relErr as relDiff } from "./_grad_util.ts";

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

Deno.test("FlatOptimizer = tf.train.adam / sgd / momentum (Nesterov) to 1e-6 over 6 steps", async () => {
  await initBackend({ prefer: ["blas", "wasm", "cpu"], threads: 1, verbose: false });
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

Deno.test("FlatOptimizer torch-* = lib/train/optimisers.ts (Adam, AdamW, SGD) to 1e-6", async () => {
  await initBackend({ prefer: ["blas", "wasm", "cpu"], threads: 1, verbose: false });
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
    // AMSGrad: the all-zero gradient of step 3 makes v fall below its maximum
    [
      { kind: "torch-adam", learningRate: 0.05, weightDecay: 0.1, amsgrad: true },
      { name: "adam", lr: 0.05, weightDecay: 0.1, amsgrad: true },
    ],
    [
      { kind: "torch-adamw", learningRate: 0.05, beta2: 0.9, amsgrad: true },
      { name: "adamw", lr: 0.05, beta2: 0.9, amsgrad: true },
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
  // AMSGrad: a third slot, default off, a boolean
  assertEquals(resolveOptimizerSpec({ kind: "torch-adamw", learningRate: 0.1 }), {
    kind: "torch-adamw",
    learningRate: 0.1,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 0.01,
    amsgrad: false,
  });
  const ams = new FlatOptimizer({ kind: "torch-adam", learningRate: 0.1, amsgrad: true }, sizes);
  assertEquals(Object.keys(ams.getState().slots), ["m", "v", "vmax"]);
  const ap = new FlatOptimizer({ kind: "torch-adam", learningRate: 0.1, amsgrad: true }, sizes);
  ap.setState(ams.getState());
  assertThrows(() => ap.setState(st), Error, "slot 'vmax'"); // saved without amsgrad
  assertThrows(
    () =>
      new FlatOptimizer({
        kind: "torch-adam",
        learningRate: 0.1,
        amsgrad: "yes" as unknown as boolean,
      }, sizes),
    Error,
    "amsgrad: must be true or false",
  );
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
