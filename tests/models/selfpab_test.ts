import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/mod.ts";
import { ConfigError } from "../../lib/errors.ts";
import { WeightedLayerSum } from "../../lib/models/layers.ts";
import {
  copySelfpabEncoder,
  frameLossWeights,
  maskFrameLabels,
  SELFPAB_HEAD_HIDDEN_FULL,
  selfpabClassifier,
  selfpabClassifierFromPretrained,
  selfpabClassifierParamCount,
  selfpabEncoderWeights,
  selfpabFrameLoss,
  selfpabHeadHidden,
  spectrogramMlp,
  spectrogramTransformer,
} from "../../lib/models/selfpab.ts";
import {
  SELFPAB_TRANSFORMER,
  transformerEncoder,
  type TransformerEncoderArgs,
  withReconstructionHead,
} from "../../lib/models/transformer.ts";
import type { BatchSource } from "../../lib/train/batches.ts";
import { forward } from "../../lib/train/forward.ts";
import { selectWeights } from "../../lib/train/freeze.ts";
import { lossFromSpec } from "../../lib/train/losses.ts";
import { fit } from "../../lib/train/loop.ts";
import { adam } from "../../lib/train/optimisers.ts";

// the library's training backend (blas/wasm with our kernels: attention gradients)
await initBackend({ verbose: false, threads: 1 });

const TINY: TransformerEncoderArgs = {
  inputSize: 12,
  frames: 10,
  dModel: 8,
  numHeads: 2,
  dimFeedforward: 16,
  numLayers: 3,
  dropout: 0.1,
  seed: 3,
};

const values = (model: tf.LayersModel, name: string) =>
  Float32Array.from(model.weights.find((w) => w.originalName === name)!.read().dataSync());

const names = (model: tf.LayersModel) => model.weights.map((w) => w.originalName);

Deno.test("full configuration: parameters = encoder 61,107,848 − recon head 234,156 + the 1500→1028→12 head", () => {
  // computed from the arguments: building it would allocate 62 M floats
  const full = { encoder: SELFPAB_TRANSFORMER.full, numClasses: 12 };
  assertEquals(selfpabHeadHidden(1500), SELFPAB_HEAD_HIDDEN_FULL);
  assertEquals(SELFPAB_HEAD_HIDDEN_FULL, 1028);
  assertEquals(
    selfpabClassifierParamCount(full),
    61_107_848 - 234_156 + 1500 * 1028 + 1028 + 1028 * 12 + 12,
  );
  // the weighted sum adds one scalar per encoder layer (4)
  assertEquals(
    selfpabClassifierParamCount({ ...full, layerCombination: "weighted-sum" }),
    selfpabClassifierParamCount(full) + 4,
  );
});

Deno.test("selfpabClassifierParamCount equals countParams of the built models (every option)", () => {
  const cases = [
    { encoder: SELFPAB_TRANSFORMER.cpu, numClasses: 12 },
    { encoder: TINY, numClasses: 5, layerCombination: "weighted-sum" as const },
    {
      encoder: TINY,
      numClasses: 5,
      layerCombination: "weighted-sum" as const,
      head: "linear" as const,
    },
    {
      encoder: { ...TINY, positionalEncoding: "learned" as const, finalNorm: true },
      numClasses: 3,
      headHidden: 7,
    },
  ];
  for (const c of cases) {
    const m = selfpabClassifier(c);
    assertEquals(m.countParams(), selfpabClassifierParamCount(c), JSON.stringify(c));
    m.dispose();
  }
  assertEquals(selfpabHeadHidden(SELFPAB_TRANSFORMER.cpu.dModel), 132);
});

Deno.test("cpu size: forward and backward on [2, 599, 156] give frame logits [2, 599, K] and finite gradients", () => {
  const K = 12;
  const clf = selfpabClassifier({ encoder: SELFPAB_TRANSFORMER.cpu, numClasses: K });
  assertEquals(clf.outputs[0].shape, [null, 599, K]);
  // the head: Linear(192 → 132) + ReLU → Linear(132 → K), no dropout, no softmax
  const headLayers = clf.layers.filter((l) => l.name.startsWith("head_"));
  assertEquals(headLayers.map((l) => l.name), ["head_hidden", "head_out"]);
  const cfg = headLayers.map((l) => l.getConfig());
  assertEquals(cfg.map((c) => [c.units, c.activation]), [[132, "relu"], [K, "linear"]]);
  assert(!clf.layers.some((l) => l.getClassName() === "Dropout" && l.name.startsWith("head")));
  const x = tf.randomNormal([2, 599, 156], 0, 1, "float32", 7);
  const y = tf.tidy(() => tf.randomUniform([2, 599], 0, K, "int32", 8));
  const loss = lossFromSpec(selfpabFrameLoss());
  const vars = clf.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(
    () => loss([y], [clf.apply(x, { training: true }) as tf.Tensor]),
    vars,
  );
  const v = value.dataSync()[0];
  // an untrained head gives about log K
  assert(Math.abs(v - Math.log(K)) < 1, `loss ${v}`);
  for (const [name, g] of Object.entries(grads)) {
    const d = g.dataSync();
    assert(d.every(Number.isFinite), `${name} gradient not finite`);
  }
  const norm = (n: string) =>
    tf.tidy(() => grads[vars[names(clf).indexOf(n)].name].norm().dataSync()[0]);
  assert(norm("embed_proj/kernel") > 0);
  assert(norm("block4_ff2/kernel") > 0);
  assert(norm("head_hidden/kernel") > 0);
  const logits = tf.tidy(() => clf.predict(x) as tf.Tensor);
  assertEquals(logits.shape, [2, 599, K]);
  tf.dispose([x, y, value, logits, ...Object.values(grads)]);
  clf.dispose();
});

Deno.test("weighted layer sum: raw weights 1/L (or softmax), and the gradient reaches every encoder layer", () => {
  const clf = selfpabClassifier({ encoder: TINY, numClasses: 4, layerCombination: "weighted-sum" });
  const sum = clf.getLayer("layer_sum") as WeightedLayerSum;
  assertEquals(sum.normalisation, "none");
  assertEquals(Array.from(sum.coefficients()), Array(3).fill(Math.fround(1 / 3)));
  const soft = selfpabClassifier({
    encoder: TINY,
    numClasses: 4,
    layerCombination: "weighted-sum",
    layerSumNormalisation: "softmax",
  });
  assertEquals(Array.from(values(soft, "layer_sum/layer_weights")), [0, 0, 0]);
  soft.dispose();
  // the sum mixes the L block outputs: its inputs are block1…block3's last layer (norm2)
  const inbound = (clf.getLayer("layer_sum") as unknown as {
    inboundNodes: { inboundLayers: tf.layers.Layer[] }[];
  }).inboundNodes[0].inboundLayers.map((l) => l.name);
  assertEquals(inbound, ["block1_norm2", "block2_norm2", "block3_norm2"]);
  // no detach (spec §6.12): gradients reach the embedding and every block through the sum
  const x = tf.randomNormal([2, 10, 12], 0, 1, "float32", 1);
  const y = tf.tensor2d(
    [[0, 1, 2, 3, 0, 1, 2, 3, 0, 1], [3, 3, 2, 2, 1, 1, 0, 0, -1, -1]],
    undefined,
    "int32",
  );
  const loss = lossFromSpec(selfpabFrameLoss());
  const pick = [
    "embed_proj/kernel",
    "block1_ff1/kernel",
    "block2_attn/qkv_kernel",
    "block3_norm2/gamma",
    "layer_sum/layer_weights",
  ];
  const vars = pick.map((n) =>
    clf.weights.find((w) => w.originalName === n)!.read() as tf.Variable
  );
  const { value, grads } = tf.variableGrads(
    () => loss([y], [clf.apply(x, { training: false }) as tf.Tensor]),
    vars,
  );
  for (const [i, n] of pick.entries()) {
    const g = tf.tidy(() => grads[vars[i].name].abs().max().dataSync()[0]);
    assert(g > 0, `no gradient reaches ${n}`);
  }
  tf.dispose([x, y, value, ...Object.values(grads)]);
  clf.dispose();
});

Deno.test("encoder selector: exactly the encoder's weights (layer sum optional)", () => {
  const clf = selfpabClassifier({ encoder: TINY, numClasses: 4, layerCombination: "weighted-sum" });
  const enc = selectWeights(clf, selfpabEncoderWeights()).map((e) => e.name);
  const rest = names(clf).filter((n) => !enc.includes(n));
  assertEquals(rest.sort(), [
    "head_hidden/bias",
    "head_hidden/kernel",
    "head_out/bias",
    "head_out/kernel",
    "layer_sum/layer_weights",
  ]);
  // every weight of a plain encoder is selected
  const bare = transformerEncoder({ ...TINY, finalNorm: true });
  assertEquals(selectWeights(bare, selfpabEncoderWeights()).length, bare.weights.length);
  const withSum = selectWeights(clf, selfpabEncoderWeights({ layerSum: true })).map((e) => e.name);
  assertEquals(withSum.length, enc.length + 1);
  assert(withSum.includes("layer_sum/layer_weights"));
  bare.dispose();
  clf.dispose();
});

Deno.test("from a pre-trained model: encoder weights copied, reconstruction head left out, mismatches named", () => {
  const pre = withReconstructionHead(transformerEncoder({ ...TINY, seed: 11 }));
  for (const combination of ["last", "weighted-sum"] as const) {
    const clf = selfpabClassifierFromPretrained(pre, {
      encoder: TINY, // seed 3: different fresh weights, overwritten
      numClasses: 5,
      layerCombination: combination,
    });
    const encNames = names(clf).filter((n) => selfpabEncoderWeights().test(n));
    assertEquals(encNames.length, pre.weights.length - 2); // all but recon_head kernel + bias
    for (const n of encNames) assertEquals(values(clf, n), values(pre, n), n);
    // the same encoder output: the pre-trained encoder's last layer drives both heads
    if (combination === "last") {
      const x = tf.randomNormal([1, 10, 12], 0, 1, "float32", 4);
      const feat = (m: tf.LayersModel) =>
        tf.tidy(() =>
          tf.model({
            inputs: m.inputs,
            outputs: m.getLayer("block3_norm2").output as tf.SymbolicTensor,
          })
            .predict(x) as tf.Tensor
        );
      const a = feat(pre), b = feat(clf);
      assertEquals(a.dataSync(), b.dataSync());
      tf.dispose([x, a, b]);
    }
    clf.dispose();
  }
  const fewer = selfpabClassifier({ encoder: { ...TINY, numLayers: 2 }, numClasses: 5 });
  assertThrows(() => copySelfpabEncoder(pre, fewer), ConfigError, "not in selfpab_classifier");
  const wider = selfpabClassifier({ encoder: { ...TINY, dimFeedforward: 32 }, numClasses: 5 });
  assertThrows(() => copySelfpabEncoder(pre, wider), ConfigError, "block1_ff1/kernel");
  fewer.dispose();
  wider.dispose();
  pre.dispose();
});

Deno.test("fit: encoder frozen for 75 % of the steps, then trained with fresh Adam moments; dropout on while frozen", async () => {
  const clf = selfpabClassifier({ encoder: TINY, numClasses: 4, layerCombination: "weighted-sum" });
  const enc0 = values(clf, "block2_ff1/kernel");
  const head0 = values(clf, "head_out/kernel");
  const sum0 = values(clf, "layer_sum/layer_weights");
  const source: BatchSource = {
    stepsPerEpoch: 4,
    batch: ({ seed }) => {
      const y = tf.tidy(() => tf.randomUniform([4, 10], -1, 4, "int32", seed));
      return { x: tf.randomNormal([4, 10, 12], 0, 1, "float32", seed), y };
    },
  };
  const opt = adam({ lr: 1e-2, beta2: 0.98, eps: 1e-8 });
  const seen: { step: number; enc: boolean; head: boolean; sum: boolean }[] = [];
  const same = (a: Float32Array, b: Float32Array) => a.every((v, i) => v === b[i]);
  await fit(clf, source, {
    epochs: 1,
    loss: selfpabFrameLoss(),
    optimizer: opt,
    freeze: selfpabEncoderWeights(),
    unfreezeAtFraction: 0.75,
    progress: false,
    onStep: ({ step }) => {
      seen.push({
        step,
        enc: same(values(clf, "block2_ff1/kernel"), enc0),
        head: same(values(clf, "head_out/kernel"), head0),
        sum: same(values(clf, "layer_sum/layer_weights"), sum0),
      });
    },
  });
  // ⌊0.75·4⌋ = 3 frozen steps (the reference: first 1-based step k with k/4 > 0.75 is step 4)
  assertEquals(seen.map((s) => s.enc), [true, true, true, false]);
  assertEquals(seen.map((s) => s.head), [false, false, false, false]);
  assertEquals(seen.map((s) => s.sum), [false, false, false, false]); // paper: the sum trains
  // the weights are trainable again after fit
  assert(clf.weights.every((w) => w.trainable));
  // Adam state: created at a weight's first gradient, so the encoder's has 1 step, zero-started
  const st = opt.getState().params;
  const key = (n: string) => `w${names(clf).indexOf(n)}`;
  assertEquals(st[key("block2_ff1/kernel")].step, 1);
  assertEquals(st[key("embed_proj/kernel")].step, 1);
  assertEquals(st[key("head_out/kernel")].step, 4);
  // one step from zero moments: m = (1−β1)·g, v = (1−β2)·g², so m²/v = 0.1²/0.02 = 0.5
  const { m, v } = st[key("block2_ff1/kernel")].slots;
  let checked = 0;
  for (let i = 0; i < m.data.length; i++) {
    if (v.data[i] > 1e-20) {
      assertAlmostEquals((m.data[i] * m.data[i]) / v.data[i], 0.5, 1e-3);
      checked++;
    }
  }
  assert(checked > 0);
  const mHead = st[key("head_out/kernel")].slots.m.data,
    vHead = st[key("head_out/kernel")].slots.v.data;
  assert(mHead.some((mm, i) => vHead[i] > 1e-20 && Math.abs(mm * mm / vHead[i] - 0.5) > 0.01));
  // what fit does in the frozen phase: frozen weights (trainable false) still run the forward in
  // training mode, so the encoder's dropout is active, as in the reference
  for (const w of clf.weights) {
    if (selfpabEncoderWeights().test(w.originalName)) w.trainable = false;
  }
  const x = tf.randomNormal([1, 10, 12], 0, 1, "float32", 9);
  const [a] = forward(clf, [x], { training: true }), [b] = forward(clf, [x], { training: true });
  const [c] = forward(clf, [x], { training: false }), [d] = forward(clf, [x], { training: false });
  assert(tf.tidy(() => a.sub(b).abs().max().dataSync()[0]) > 0);
  assertEquals(c.dataSync(), d.dataSync());
  tf.dispose([x, a, b, c, d]);
  opt.dispose();
  clf.dispose();
});

Deno.test("selfpabFrameLoss: Σ mask·CE / Σ mask over the batch; helpers for masks and shard weights", () => {
  const K = 3;
  const logits = [
    [[2, 0, -1], [0, 1, 0], [0.5, 0.5, 3]],
    [[1, 1, 1], [-2, 0, 2], [0, 0, 0]],
  ];
  const labels = [[0, -1, 2], [1, 2, -1]];
  // by hand: −log softmax(z)[y] over the labelled frames, divided by their count (4)
  let s = 0, n = 0;
  logits.forEach((w, i) =>
    w.forEach((z, f) => {
      const y = labels[i][f];
      if (y < 0) return;
      const lse = Math.log(z.reduce((a, v) => a + Math.exp(v), 0));
      s += lse - z[y];
      n++;
    })
  );
  const loss = lossFromSpec(selfpabFrameLoss());
  const lt = tf.tensor3d(logits), yt = tf.tensor2d(labels, undefined, "int32");
  const v = tf.tidy(() => loss([yt], [lt]).dataSync()[0]);
  assertAlmostEquals(v, s / n, 1e-6);
  // shards weighted by their labelled frames average to the full-batch value (what workers do)
  const part = (i: number) =>
    tf.tidy(() => loss([yt.slice([i, 0], [1, 3])], [lt.slice([i, 0, 0], [1, 3, K])]).dataSync()[0]);
  const w = frameLossWeights(labels.flat(), 3);
  assertEquals(Array.from(w), [2, 2]);
  assertAlmostEquals((w[0] * part(0) + w[1] * part(1)) / (w[0] + w[1]), v, 1e-6);
  tf.dispose([lt, yt]);
  assertEquals(Array.from(maskFrameLabels([3, 1, 2, 0], [1, 0, 1, 0])), [3, -1, 2, -1]);
  assertThrows(() => maskFrameLabels([1, 2], [1]), ConfigError, "2 labels but 1 mask");
  assertThrows(() => frameLossWeights([0, 1, 2], 2), ConfigError, "whole windows");
});

Deno.test("baselines: Spectr.+MLP is the head on the frames (per frame), Spectr.+TE the transformer with a K-dim head", () => {
  const mlp = spectrogramMlp({ inputSize: 156, frames: 599, numClasses: 12 });
  assertEquals(mlp.countParams(), 156 * 1028 + 1028 + 1028 * 12 + 12);
  assertEquals(mlp.outputs[0].shape, [null, 599, 12]);
  assertEquals(names(mlp).filter((n) => selfpabEncoderWeights().test(n)), []);
  // frame-wise: changing frame 5 changes only frame 5's logits
  const small = spectrogramMlp({ inputSize: 78, numClasses: 4, headHidden: 16 });
  assertEquals(small.outputs[0].shape, [null, null, 4]);
  const x = tf.randomNormal([1, 9, 78], 0, 1, "float32", 2);
  const bump = tf.tidy(() => x.add(tf.oneHot(tf.tensor1d([5], "int32"), 9).reshape([1, 9, 1])));
  const diff = tf.tidy(() =>
    (small.predict(bump) as tf.Tensor).sub(small.predict(x) as tf.Tensor).abs().max(2)
  );
  const changed = Array.from(diff.dataSync(), (d) => d > 0);
  assertEquals(changed, [false, false, false, false, false, true, false, false, false]);
  tf.dispose([x, bump, diff]);
  const te = spectrogramTransformer({ encoder: TINY, numClasses: 5 });
  assertEquals(te.layers.filter((l) => l.name.startsWith("head_")).map((l) => l.name), [
    "head_out",
  ]);
  assertEquals(
    te.countParams(),
    selfpabClassifierParamCount({ encoder: TINY, numClasses: 5, head: "linear" }),
  );
  assertEquals(te.outputs[0].shape, [null, 10, 5]);
  for (const m of [mlp, small, te]) m.dispose();
});

Deno.test("serialisable: toJSON → modelFromJSON rebuilds the classifier (workers do that)", async () => {
  const clf = selfpabClassifier({ encoder: TINY, numClasses: 4, layerCombination: "weighted-sum" });
  const json = clf.toJSON(null, false) as unknown as tf.io.ModelJSON["modelTopology"];
  const copy = await tf.models.modelFromJSON({ modelTopology: json } as tf.io.ModelJSON);
  copy.setWeights(clf.getWeights());
  const x = tf.randomNormal([2, 10, 12], 0, 1, "float32", 5);
  const a = clf.predict(x) as tf.Tensor, b = copy.predict(x) as tf.Tensor;
  assertEquals(a.dataSync(), b.dataSync());
  tf.dispose([x, a, b]);
  copy.dispose();
  clf.dispose();
});

Deno.test("bad arguments: clear ConfigErrors naming the field", () => {
  assertThrows(
    () => selfpabClassifier({ encoder: TINY, numClasses: 0 }),
    ConfigError,
    "numClasses",
  );
  assertThrows(
    () => selfpabClassifier({ encoder: TINY, numClasses: 3, layerCombination: "mean" as never }),
    ConfigError,
    "layerCombination",
  );
  assertThrows(
    () => selfpabClassifier({ encoder: TINY, numClasses: 3, head: "conv" as never }),
    ConfigError,
    "head",
  );
  assertThrows(
    () => selfpabClassifier({ encoder: TINY, numClasses: 3, layerSumNormalisation: "l1" as never }),
    ConfigError,
    "layerSumNormalisation",
  );
  assertThrows(
    () => selfpabClassifier({ encoder: TINY, numClasses: 3, headHidden: 1.5 }),
    ConfigError,
    "headHidden",
  );
  assertThrows(() => spectrogramMlp({ inputSize: 0, numClasses: 3 }), ConfigError, "inputSize");
  assertThrows(() => selfpabClassifier({ numClasses: 3 } as never), ConfigError, "encoder");
});
