/**
 * Fused training-mode batch norm (lib/models/batchnorm.ts) against
 * tf.layers.batchNormalization on the cpu backend, to 1e-5 (norm-relative):
 * outputs, gradients w.r.t. x/gamma/beta and moving statistics after a few
 * training calls, on rank-3 and rank-4 inputs; on cpu (composed ops) and on
 * wasm(+blas) with the native C kernels and with the JS kernels; more
 * channels than one block of the C kernels; the tf-ops path on wasm after
 * uninstallWasmKernels; frozen layers in inference mode
 * (setFrozenBatchNormMode) for the fast and the stock layer.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { initBackend } from "../../lib/backend/select.ts";
import { loadNativeKernels } from "../../lib/backend/native.ts";
import { uninstallWasmKernels } from "../../lib/backend/install.ts";
import { relErr } from "../backend/_grad_util.ts";
import {
  BATCH_NORM_TRAIN,
  BATCH_NORM_TRAIN_GRAD,
  batchNormalization,
  batchNormLayers,
  batchNormTrain,
  batchNormTrainEngine,
  FastBatchNormalization,
  frozenBatchNormMode,
  isFrozenBatchNorm,
  setFrozenBatchNormMode,
} from "../../lib/models/batchnorm.ts";

const TOL = 1e-5;

/** Deterministic values in [offset − scale, offset + scale). */
function seeded(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = offset + scale * (s / 2 ** 31 - 1);
  }
  return out;
}

type Setup = "cpu" | "native" | "js";

/** Switch backends; false (with a SKIP message) when the setup is not available here. */
async function use(setup: Setup): Promise<boolean> {
  if (setup === "cpu") {
    await initBackend({ prefer: ["cpu"], verbose: false });
    return true;
  }
  if (setup === "native" && !loadNativeKernels().native) {
    console.warn(`SKIP native: ${loadNativeKernels().reason}`);
    return false;
  }
  const info = await initBackend({
    prefer: ["blas", "wasm"],
    native: setup === "native",
    verbose: false,
  });
  if (info.tfBackend !== "wasm") {
    console.warn(`SKIP ${setup}: wasm backend unavailable (${info.summary})`);
    return false;
  }
  assertEquals(batchNormTrainEngine(), setup, "engine batchNormTrain uses");
  return true;
}

interface Outcome {
  y: Float32Array;
  grads: Float32Array[]; // x, gamma, beta
  weights: Float32Array[]; // gamma, beta, moving mean, moving variance
  inference: Float32Array;
}

/**
 * Three training calls on different inputs (moving statistics evolve), then
 * the output and gradients of a weighted sum of the last call, and an
 * inference call.
 */
function runLayer(fast: boolean, shape: number[], momentum = 0.9): Outcome {
  const ch = shape[shape.length - 1];
  const n = shape.reduce((a, b) => a * b, 1);
  const args = {
    momentum,
    epsilon: 1e-5,
    gammaInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: 2 }),
    betaInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 3 }),
  };
  const bn = fast ? batchNormalization(args) : tf.layers.batchNormalization(args);
  const out = tf.tidy(() => {
    for (let i = 0; i < 3; i++) {
      // per-channel offsets so means are far from 0 and differ per channel
      const x = tf.add(tf.tensor(seeded(n, 10 + i, 2), shape), tf.range(0, ch).mul(0.7 - i));
      bn.apply(x, { training: true });
    }
    const x = tf.variable(tf.tensor(seeded(n, 20, 3, 1.5), shape));
    const w = tf.tensor(seeded(n, 21), shape);
    const vars = [x, ...bn.trainableWeights.map((v) => v.read() as tf.Variable)];
    let y: tf.Tensor | null = null;
    const { grads } = tf.variableGrads(() => {
      y = tf.keep(bn.apply(x, { training: true }) as tf.Tensor);
      return tf.sum(tf.mul(y, w)) as tf.Scalar;
    }, vars);
    const res = {
      y: y!.dataSync() as Float32Array,
      grads: vars.map((v) => grads[v.name].dataSync() as Float32Array),
      weights: bn.getWeights().map((t) => t.dataSync() as Float32Array),
      inference: (bn.apply(x, { training: false }) as tf.Tensor).dataSync() as Float32Array,
    };
    tf.dispose([x, y!]);
    return res;
  });
  bn.dispose();
  return out;
}

function compare(label: string, got: Outcome, ref: Outcome): void {
  const check = (what: string, a: Float32Array, b: Float32Array) => {
    const e = relErr(a, b);
    assert(e <= TOL, `${label}: ${what} rel err ${e} > ${TOL}`);
  };
  check("output", got.y, ref.y);
  ["dx", "dgamma", "dbeta"].forEach((g, i) => check(g, got.grads[i], ref.grads[i]));
  ["gamma", "beta", "moving mean", "moving variance"].forEach((w, i) =>
    check(w, got.weights[i], ref.weights[i])
  );
  check("inference output", got.inference, ref.inference);
}

const SHAPES = [[4, 9, 6], [3, 5, 4, 7]];

Deno.test("FastBatchNormalization equals tf.layers.batchNormalization (cpu reference)", async () => {
  await use("cpu");
  const refs = SHAPES.map((s) => runLayer(false, s));
  for (const setup of ["cpu", "js", "native"] as const) {
    if (!(await use(setup))) continue;
    SHAPES.forEach((s, i) => compare(`${setup} [${s}]`, runLayer(true, s), refs[i]));
  }
  // a momentum of 0.99 (the default) too, on one setup
  await use("cpu");
  const ref = runLayer(false, SHAPES[0], 0.99);
  compare("cpu momentum 0.99", runLayer(true, SHAPES[0], 0.99), ref);
});

Deno.test("on wasm one kernel runs forward and one backward; no tensors leak", async () => {
  for (const setup of ["js", "native"] as const) {
    if (!(await use(setup))) continue;
    const x = tf.tensor(seeded(2 * 8 * 5, 4, 1, 0.5), [2, 8, 5]);
    const g = tf.tensor1d([0.5, 1, 2, 1.5, 0.7]), b = tf.tensor1d([0, 1, -1, 0.2, 0.3]);
    const f = (z: tf.Tensor) => tf.sum(tf.square(batchNormTrain(z, g, b, 1e-3).y)) as tf.Scalar;
    f(x).dispose(); // warm up
    const before = tf.memory().numTensors;
    const info = await tf.profile(() => {
      tf.grad(f)(x).dispose();
    });
    assertEquals(tf.memory().numTensors, before, `[${setup}] tensors leaked`);
    const names = info.kernels.map((k) => k.name);
    assert(names.includes(BATCH_NORM_TRAIN), `[${setup}] ${BATCH_NORM_TRAIN} did not run`);
    assert(
      names.includes(BATCH_NORM_TRAIN_GRAD),
      `[${setup}] ${BATCH_NORM_TRAIN_GRAD} did not run`,
    );
    for (const stock of ["Mean", "FusedBatchNorm", "HarBatchNormGrad", "SquaredDifference"]) {
      assert(!names.includes(stock), `[${setup}] ${stock} ran: the op is not fused`);
    }
    tf.dispose([x, g, b]);
  }
});

Deno.test("batchNormTrain: statistics equal tf.moments; bad shapes are named", async () => {
  for (const setup of ["cpu", "js", "native"] as const) {
    if (!(await use(setup))) continue;
    tf.tidy(() => {
      const x = tf.tensor(seeded(6 * 4 * 3 * 8, 5, 2, 3), [6, 4, 3, 8]);
      const { y, mean, variance } = batchNormTrain(x, tf.ones([8]), tf.zeros([8]), 1e-3);
      const m = tf.moments(x, [0, 1, 2]);
      assertEquals(mean.shape, [8]);
      assert(relErr(mean.dataSync(), m.mean.dataSync()) <= TOL, `${setup}: mean`);
      assert(relErr(variance.dataSync(), m.variance.dataSync()) <= TOL, `${setup}: variance`);
      const ref = tf.batchNorm(x, m.mean, m.variance, undefined, undefined, 1e-3);
      assert(relErr(y.dataSync(), ref.dataSync()) <= TOL, `${setup}: y`);
    });
  }
  await use("cpu");
  const x = tf.zeros([2, 3, 4]);
  assertThrows(
    () => batchNormTrain(x, tf.ones([3]), tf.zeros([4])),
    Error,
    "gamma must have shape [4]",
  );
  assertThrows(
    () => batchNormTrain(tf.zeros([4]), tf.ones([4]), tf.zeros([4])),
    Error,
    "rank >= 2",
  );
});

/** y, mean, variance and the gradients w.r.t. x, gamma, beta of Σ(y·w), flattened. */
function trainOutputs(
  fused: boolean,
  x: tf.Tensor,
  g: tf.Tensor1D,
  b: tf.Tensor1D,
  w: tf.Tensor,
): Float32Array[] {
  return tf.tidy(() => {
    const axes = [...Array(x.rank - 1).keys()];
    const forward = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
      if (fused) return batchNormTrain(xx, gg, bb, 1e-3);
      const { mean, variance } = tf.moments(xx, axes);
      return { y: tf.batchNorm(xx, mean, variance, bb, gg, 1e-3), mean, variance };
    };
    const { y, mean, variance } = forward(x, g, b);
    const grads = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.mul(forward(xx, gg, bb).y, w))
    )([x, g, b]);
    return [y, mean, variance, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

Deno.test("wasm training kernels: > 1024 channels; uninstalled, the ops path runs", async () => {
  const shape = [3, 2, 1100]; // more channels than one block of the C kernels
  const ch = shape[2], n = shape.reduce((a, b) => a * b, 1);
  const make = () => ({
    x: tf.add(tf.tensor(seeded(n, 31, 2), shape), tf.range(0, ch).mul(0.01)),
    g: tf.tensor1d(seeded(ch, 32, 0.5, 1)),
    b: tf.tensor1d(seeded(ch, 33)),
    w: tf.tensor(seeded(n, 34), shape),
  });
  const names = ["y", "mean", "variance", "dx", "dgamma", "dbeta"];
  await use("cpu");
  let t = make();
  const ref = trainOutputs(false, t.x, t.g, t.b, t.w);
  tf.dispose(Object.values(t));
  for (const setup of ["js", "native"] as const) {
    if (!(await use(setup))) continue;
    t = make();
    const got = trainOutputs(true, t.x, t.g, t.b, t.w);
    got.forEach((a, i) => {
      const e = relErr(a, ref[i]);
      assert(e <= TOL, `${setup}: ${names[i]} rel err ${e} > ${TOL}`);
    });
    uninstallWasmKernels();
    assertEquals(tf.getBackend(), "wasm");
    assertEquals(tf.getKernel(BATCH_NORM_TRAIN, "wasm"), undefined, "uninstall removes it");
    assertEquals(tf.getKernel(BATCH_NORM_TRAIN_GRAD, "wasm"), undefined, "uninstall removes it");
    assertEquals(batchNormTrainEngine(), "ops");
    const ops = trainOutputs(true, t.x, t.g, t.b, t.w);
    ops.forEach((a, i) => {
      const e = relErr(a, ref[i]);
      assert(e <= TOL, `${setup} uninstalled: ${names[i]} rel err ${e} > ${TOL}`);
    });
    tf.dispose(Object.values(t));
  }
});

Deno.test("FastBatchNormalization: other axes and inference go to tfjs-layers' code", async () => {
  await use("cpu");
  const run = (fast: boolean) => {
    const args = { axis: 1, betaInitializer: tf.initializers.constant({ value: 0.3 }) };
    const bn = fast ? batchNormalization(args) : tf.layers.batchNormalization(args);
    const out = tf.tidy(() => {
      const x = tf.tensor(seeded(3 * 5 * 4, 8, 2, 1), [3, 5, 4]);
      return (bn.apply(x, { training: true }) as tf.Tensor).dataSync();
    });
    const w = bn.getWeights().map((t) => t.dataSync());
    bn.dispose();
    return [out, ...w];
  };
  const ref = run(false), got = run(true);
  got.forEach((g, i) => assert(relErr(g, ref[i]) <= TOL, `axis 1: tensor ${i}`));
});

Deno.test("a model with the layer saves as standard BatchNormalization and loads back", async () => {
  await use("cpu");
  const inp = tf.input({ shape: [10, 4] });
  const bn = batchNormalization({ name: "bn", momentum: 0.8 });
  const out = tf.layers.dense({ units: 2, kernelInitializer: "ones" }).apply(
    bn.apply(inp),
  ) as tf.SymbolicTensor;
  const model = tf.model({ inputs: inp, outputs: out });
  const x = tf.tensor(seeded(3 * 10 * 4, 9, 1, 2), [3, 10, 4]);
  bn.apply(x, { training: true }); // move the statistics off their initial values
  // deno-lint-ignore no-explicit-any
  let artifacts: any = null;
  await model.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  const topology = artifacts.modelTopology.model_config ?? artifacts.modelTopology;
  const layers = topology.config.layers;
  // deno-lint-ignore no-explicit-any
  const saved = layers.find((l: any) => l.name === "bn");
  assertEquals(saved.class_name, "BatchNormalization");
  assertEquals(saved.config.momentum, 0.8);
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  assert(loaded.getLayer("bn") instanceof FastBatchNormalization, "loads as the fast layer");
  const a = (model.predict(x) as tf.Tensor).dataSync();
  const b = (loaded.predict(x) as tf.Tensor).dataSync();
  assertEquals(Array.from(b), Array.from(a));
  tf.dispose([x]);
  model.dispose();
  loaded.dispose();
});

Deno.test('setFrozenBatchNormMode "inference": frozen layers (fast and stock) run as inference, config unchanged', async () => {
  await use("cpu");
  for (const fast of [true, false]) {
    const what = fast ? "FastBatchNormalization" : "stock BatchNormalization";
    const inp = tf.input({ shape: [6, 4] });
    const bn = fast
      ? batchNormalization({ name: "bn" })
      : tf.layers.batchNormalization({ name: "bn" });
    const model = tf.model({ inputs: inp, outputs: bn.apply(inp) as tf.SymbolicTensor });
    const x = tf.tensor(seeded(5 * 6 * 4, 11, 2, 1.5), [5, 6, 4]);
    const stats = () => bn.getWeights().slice(2).map((t) => Array.from(t.dataSync()));
    const json = JSON.stringify(model.toJSON(null, false));
    assertEquals(batchNormLayers(model), [bn]);
    assertEquals(frozenBatchNormMode(bn), "batch-stats");
    const restore = setFrozenBatchNormMode(model, "inference");
    assertEquals(frozenBatchNormMode(bn), "inference");
    assertEquals(JSON.stringify(model.toJSON(null, false)), json, `${what}: config unchanged`);
    // trainable: training mode as usual (the statistics move)
    const s0 = stats();
    tf.tidy(() => void model.apply(x, { training: true }));
    const s1 = stats();
    assert(s1[0].some((v, i) => v !== s0[0][i]), `${what}: trainable layer updates its statistics`);
    // γ and β frozen: the inference output, statistics untouched
    for (const w of bn.trainableWeights) w.trainable = false;
    assert(isFrozenBatchNorm(bn), what);
    const [train, infer] = tf.tidy(() =>
      [model.apply(x, { training: true }), model.apply(x, { training: false })].map((t) =>
        Array.from((t as tf.Tensor).dataSync())
      )
    );
    assertEquals(train, infer, `${what}: frozen layer normalises with its moving statistics`);
    assertEquals(stats(), s1, `${what}: frozen layer keeps its statistics`);
    // restored: tfjs-layers' behaviour again (batch statistics, moving ones updated)
    restore();
    assertEquals(frozenBatchNormMode(bn), "batch-stats");
    tf.tidy(() => void model.apply(x, { training: true }));
    assert(stats()[0].some((v, i) => v !== s1[0][i]), `${what}: batch-stats updates`);
    // a frozen layer (layer.trainable = false) counts as frozen too
    for (const w of bn.weights.slice(0, 2)) w.trainable = true;
    assert(!isFrozenBatchNorm(bn));
    bn.trainable = false;
    assert(isFrozenBatchNorm(bn));
    tf.dispose(x);
    model.dispose();
  }
  assertThrows(
    // deno-lint-ignore no-explicit-any
    () => setFrozenBatchNormMode(tf.sequential(), "eval" as any),
    Error,
    "inference",
  );
});
