/**
 * The fused LSTM (lib/models/lstm.ts) against tfjs-layers' own LSTM: outputs
 * and gradients w.r.t. x, kernel, recurrent kernel and bias to 1e-4 relative
 * (batch 3, 7 steps, 5 features, 4 units), both recurrent activations, last
 * step and full sequence, on the cpu backend (tf-ops path) and on wasm (+BLAS
 * when it loads, and with the stock wasm kernels: the heap kernels of
 * lib/backend/lstm_kernels.ts, tested alone in tests/backend/lstm_kernels_test.ts);
 * weight copying and a save/load round trip.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { FastLSTM, type LstmImpl, lstmSequence } from "../../lib/models/lstm.ts";
import { initBackend } from "../../lib/backend/select.ts";
import { LSTM_BACKWARD, LSTM_FORWARD } from "../../lib/backend/lstm_kernels.ts";
import { installedWasmKernels, uninstallWasmKernels } from "../../lib/backend/install.ts";
import { relErr, seeded } from "../backend/_grad_util.ts";

const TOL = 1e-4;
const B = 3, T = 7, F = 5, U = 4;

interface Case {
  returnSequences: boolean;
  recurrentActivation: "hardSigmoid" | "sigmoid";
  useBias: boolean;
}

/** Inputs and weights of one case: large enough that hard sigmoids saturate somewhere. */
function data(seed: number) {
  return {
    x: seeded(B * T * F, seed, 2),
    kernel: seeded(F * 4 * U, seed + 1, 1.5),
    recurrent: seeded(U * 4 * U, seed + 2, 1.5),
    bias: seeded(4 * U, seed + 3, 0.5),
  };
}

interface Run {
  y: Float32Array;
  shape: number[];
  /** d(loss)/d x, kernel, recurrent kernel, bias (bias only with useBias). */
  grads: Float32Array[];
}

/**
 * Output and gradients of `loss = Σ y·w` (w a fixed pattern) for a layer made
 * by `make`, with the case's weights.
 */
function runLayer(make: (c: Case) => tf.layers.Layer, c: Case, seed: number): Run {
  return tf.tidy(() => {
    const d = data(seed);
    const layer = make(c);
    const x = tf.variable(tf.tensor3d(d.x, [B, T, F]));
    layer.apply(x); // build
    const w: tf.Tensor[] = [
      tf.tensor2d(d.kernel, [F, 4 * U]),
      tf.tensor2d(d.recurrent, [U, 4 * U]),
    ];
    if (c.useBias) w.push(tf.tensor1d(d.bias));
    layer.setWeights(w);
    const vars = [x, ...layer.trainableWeights.map((v) => v.read() as tf.Variable)];
    const y = layer.apply(x) as tf.Tensor;
    const pattern = tf.tensor(seeded(y.size, seed + 9), y.shape);
    const { grads } = tf.variableGrads(
      () => (layer.apply(x) as tf.Tensor).mul(pattern).sum() as tf.Scalar,
      vars,
    );
    const out = {
      y: y.dataSync() as Float32Array,
      shape: y.shape,
      grads: vars.map((v) => grads[v.name].dataSync() as Float32Array),
    };
    x.dispose();
    layer.dispose();
    return out;
  });
}

const stock = (c: Case) => tf.layers.lstm({ units: U, ...c });
const fast = (c: Case) => new FastLSTM({ units: U, ...c });

const CASES: Case[] = [
  { returnSequences: false, recurrentActivation: "hardSigmoid", useBias: true },
  { returnSequences: true, recurrentActivation: "hardSigmoid", useBias: true },
  { returnSequences: false, recurrentActivation: "sigmoid", useBias: true },
  { returnSequences: true, recurrentActivation: "sigmoid", useBias: false },
];

const label = (c: Case) =>
  `returnSequences=${c.returnSequences} ${c.recurrentActivation}${c.useBias ? "" : " no bias"}`;

function compare(got: Run, ref: Run, what: string): void {
  assertEquals(got.shape, ref.shape, `${what}: output shape`);
  const e = relErr(got.y, ref.y);
  assert(e <= TOL, `${what}: output rel err ${e}`);
  assertEquals(got.grads.length, ref.grads.length, `${what}: gradient count`);
  const names = ["x", "kernel", "recurrentKernel", "bias"];
  got.grads.forEach((g, i) => {
    const err = relErr(g, ref.grads[i]);
    assert(err <= TOL, `${what}: gradient of ${names[i]} rel err ${err}`);
  });
}

/** Reference results from tf.layers.lstm on the cpu backend, one per case. */
async function references(): Promise<Run[]> {
  await tf.setBackend("cpu");
  return CASES.map((c, i) => runLayer(stock, c, 10 * i + 1));
}

Deno.test("FastLSTM equals tf.layers.lstm on cpu (tf-ops path): outputs and gradients", async () => {
  const refs = await references();
  CASES.forEach((c, i) => compare(runLayer(fast, c, 10 * i + 1), refs[i], `cpu ${label(c)}`));
  // the check can fail: a different recurrent activation gives other numbers
  const wrong = runLayer(fast, { ...CASES[0], recurrentActivation: "sigmoid" }, 1);
  assert(relErr(wrong.y, refs[0].y) > 10 * TOL, "sigmoid vs hardSigmoid should differ");
});

Deno.test("FastLSTM equals tf.layers.lstm on wasm+BLAS and plain wasm: heap kernels, tf-ops path", async () => {
  const refs = await references();
  const seen = new Set<string>();
  try {
    for (const prefer of [["blas", "wasm"], ["wasm"]] as const) {
      const info = await initBackend({ prefer: [...prefer], verbose: false });
      if (seen.has(info.path)) continue; // no BLAS here: "blas" fell back to "wasm"
      seen.add(info.path);
      assertEquals(tf.getBackend(), "wasm");
      CASES.forEach((c, i) =>
        compare(runLayer(fast, c, 10 * i + 1), refs[i], `${info.path} ${label(c)}`)
      );
      // the heap kernels ran (not a silent fallback to tf ops)
      const prof = await tf.profile(() => {
        runLayer(fast, CASES[0], 1);
      });
      const names = new Set(prof.kernels.map((k) => k.name));
      assert(
        names.has(LSTM_FORWARD) && names.has(LSTM_BACKWARD),
        `${info.path}: kernels ${[...names]}`,
      );
      // the tf-ops path on wasm
      const viaOps = (c: Case) => lstmLayerWithImpl(c, "ops");
      compare(runLayer(viaOps, CASES[1], 11), refs[1], `${info.path} ops ${label(CASES[1])}`);
    }
    // stock wasm kernels (nothing installed): the heap kernels use the wasm backend's own matmul
    uninstallWasmKernels();
    assertEquals(installedWasmKernels(), null);
    CASES.forEach((c, i) =>
      compare(runLayer(fast, c, 10 * i + 1), refs[i], `stock wasm ${label(c)}`)
    );
  } finally {
    await tf.setBackend("cpu");
  }
});

/** A minimal layer calling lstmSequence with a forced implementation (for the tf-ops path on wasm). */
function lstmLayerWithImpl(c: Case, impl: LstmImpl): tf.layers.Layer {
  class Probe extends FastLSTM {
    // deno-lint-ignore no-explicit-any
    override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: any): tf.Tensor {
      // deno-lint-ignore no-explicit-any
      const cell = this.cell as any;
      return lstmSequence(
        (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D,
        cell.kernel.read(),
        cell.recurrentKernel.read(),
        c.useBias ? cell.bias.read() : null,
        { returnSequences: c.returnSequences, recurrentActivation: c.recurrentActivation, impl },
      );
    }
  }
  return new Probe({ units: U, ...c });
}

Deno.test("lstmSequence: heap kernels leak no tensors, train a step, reject bad shapes", async () => {
  await initBackend({ prefer: ["blas", "wasm"], verbose: false });
  try {
    const d = data(5);
    const x = tf.tensor3d(d.x, [B, T, F]);
    const k = tf.variable(tf.tensor2d(d.kernel, [F, 4 * U]));
    const r = tf.variable(tf.tensor2d(d.recurrent, [U, 4 * U]));
    const b = tf.variable(tf.tensor1d(d.bias));
    const opt = tf.train.adam(1e-2);
    const loss = () =>
      lstmSequence(x, k, r, b, { returnSequences: true }).square().mean() as tf.Scalar;
    const first = opt.minimize(loss, true)!;
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) opt.minimize(loss, true)!.dispose();
    assertEquals(tf.memory().numTensors, before, "tensor count after training steps");
    const last = loss();
    assert(last.dataSync()[0] < first.dataSync()[0], "loss falls");
    tf.dispose([first, last, x, k, r, b]);
    opt.dispose();
    const bad = tf.zeros([B, T, F + 1]) as tf.Tensor3D;
    assertThrows(
      () => lstmSequence(bad, k, r, b),
      Error,
      "kernel must be [features=6, 4·units]",
    );
    assertThrows(
      () =>
        lstmSequence(tf.zeros([B, T, F]) as tf.Tensor3D, k, r, b, { activation: "relu" as "tanh" }),
      Error,
      "activation 'relu' is not supported",
    );
  } finally {
    await tf.setBackend("cpu");
  }
});

Deno.test("FastLSTM: same config and weights as tf.layers.lstm; save/load round trip", async () => {
  await tf.setBackend("cpu");
  const args = { units: U, returnSequences: true, recurrentActivation: "sigmoid" as const };
  const inp = tf.input({ shape: [T, F] });
  const model = tf.model({
    inputs: inp,
    outputs: tf.layers.dense({ units: 2 }).apply(
      new FastLSTM({ ...args, name: "rnn", unitForgetBias: true }).apply(inp),
    ) as tf.SymbolicTensor,
  });
  const layer = model.getLayer("rnn");
  const ref = tf.layers.lstm({ ...args, name: "ref", unitForgetBias: true });
  ref.apply(tf.input({ shape: [T, F] }));
  // config: same fields as tf.layers.lstm, class name FastLSTM
  const strip = (c: tf.serialization.ConfigDict) => {
    const { name: _n, ...rest } = c;
    return JSON.parse(JSON.stringify(rest));
  };
  assertEquals(strip(layer.getConfig()), strip(ref.getConfig()));
  assertEquals(layer.getClassName(), "FastLSTM");
  assertEquals(
    layer.weights.map((w) => [w.name.split("/").pop(), w.shape]),
    ref.weights.map((w) => [w.name.split("/").pop(), w.shape]),
  );
  // unitForgetBias initialises the forget block of the bias to ones, like tfjs
  const bias = layer.getWeights()[2].dataSync();
  assertEquals(Array.from(bias.slice(U, 2 * U)), [1, 1, 1, 1]);
  // weights copy both ways
  ref.setWeights(layer.getWeights());
  const x = tf.tensor3d(seeded(B * T * F, 3), [B, T, F]);
  const a = (layer.apply(x) as tf.Tensor).dataSync();
  const b = (ref.apply(x) as tf.Tensor).dataSync();
  assert(relErr(a, b) <= TOL, "FastLSTM with copied weights equals tf.layers.lstm");
  // save and load
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(tf.io.withSaveHandler((art) => {
    saved = art;
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  assert(JSON.stringify(saved!.modelTopology).includes('"FastLSTM"'), "topology names FastLSTM");
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
  assert(loaded.getLayer("rnn") instanceof FastLSTM, "loaded layer is a FastLSTM");
  const y0 = (model.predict(x) as tf.Tensor).dataSync();
  const y1 = (loaded.predict(x) as tf.Tensor).dataSync();
  assertEquals(Array.from(y1), Array.from(y0));
  model.dispose();
  loaded.dispose();
  ref.dispose();
  x.dispose();
});
