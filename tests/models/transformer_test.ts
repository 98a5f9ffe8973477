import { assert, assertEquals, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/mod.ts";
import { join } from "node:path";
import { readNpy } from "../../lib/data/npy.ts";
import { CheckpointError, ConfigError } from "../../lib/errors.ts";
import { WeightedLayerSum } from "../../lib/models/layers.ts";
import { loadTorchStateDict } from "../../lib/models/pytorch.ts";
import {
  loadTransformerStateDict,
  SELFPAB_TRANSFORMER,
  sinusoidalEncoding,
  transformerBlockPrefixes,
  transformerEncoder,
  type TransformerEncoderArgs,
  withReconstructionHead,
} from "../../lib/models/transformer.ts";
import { firstKBlocks, selectWeights } from "../../lib/train/freeze.ts";
import { oracle } from "../_helpers.ts";

// the library's training backend (blas/wasm with our kernels: conv1d and attention gradients)
await initBackend({ verbose: false, threads: 1 });

const count = (ws: { shape: (number | null)[] }[]) =>
  ws.reduce((a, w) => a + w.shape.reduce((x: number, y) => x * (y as number), 1), 0);

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

const TINY: TransformerEncoderArgs = {
  inputSize: 12,
  frames: 10,
  dModel: 8,
  numHeads: 2,
  dimFeedforward: 16,
  numLayers: 3,
  dropout: 0.1,
  seed: 5,
};

Deno.test("oracle: the PyTorch state dict reproduces every hidden state and the reconstruction to 1e-4", async () => {
  const dir = oracle("selfpab");
  if (!dir) return;
  const cfg = JSON.parse(Deno.readTextFileSync(join(dir, "config.json")));
  const enc = transformerEncoder({
    inputSize: cfg.n_features,
    dModel: cfg.d_model,
    numHeads: cfg.nhead,
    dimFeedforward: cfg.dim_feedforward,
    numLayers: cfg.num_layers,
    output: "hidden",
  });
  const model = withReconstructionHead(enc);
  const sd = await loadTorchStateDict(join(dir, "state_dict.pt"));
  const res = loadTransformerStateDict(model, sd, { file: "state_dict.pt" });
  assertEquals(res.missing, []);
  assertEquals(res.unexpected, []);
  assertEquals(res.loaded.length, sd.size);
  const x = await readNpy(join(dir, "x.npy"));
  const hidden = await readNpy(join(dir, "hidden.npy"));
  const recon = await readNpy(join(dir, "recon.npy"));
  assertEquals(hidden.shape, [cfg.num_layers + 1, 2, 120, cfg.d_model]);
  const xt = tf.tensor(x.data as Float32Array, x.shape);
  const hs = enc.predict(xt) as tf.Tensor[];
  assertEquals(hs.length, cfg.num_layers + 1);
  const per = 2 * 120 * cfg.d_model;
  const want = hidden.data as Float32Array;
  for (let l = 0; l < hs.length; l++) {
    const got = hs[l].dataSync();
    const ref = want.subarray(l * per, (l + 1) * per);
    const d = maxAbsDiff(got, ref);
    assert(d <= 1e-4, `hidden state ${l}: max |tfjs - torch| = ${d}`);
  }
  const r = model.predict(xt) as tf.Tensor;
  assertEquals(r.shape, recon.shape);
  const d = maxAbsDiff(r.dataSync(), recon.data as Float32Array);
  assert(d <= 1e-4, `reconstruction: max |tfjs - torch| = ${d}`);
  // Not trivially equal: a randomly initialised model is far from the oracle.
  const fresh = withReconstructionHead(transformerEncoder(cfgArgs(cfg)));
  const rf = fresh.predict(xt) as tf.Tensor;
  assert(maxAbsDiff(rf.dataSync(), recon.data as Float32Array) > 0.1);
  tf.dispose([xt, ...hs, r, rf]);
  model.dispose();
  fresh.dispose();
});

function cfgArgs(cfg: Record<string, number>): TransformerEncoderArgs {
  return {
    inputSize: cfg.n_features,
    dModel: cfg.d_model,
    numHeads: cfg.nhead,
    dimFeedforward: cfg.dim_feedforward,
    numLayers: cfg.num_layers,
    seed: 9,
  };
}

Deno.test("state dict: a missing key, a wrong shape and other key names are clear errors", () => {
  const model = withReconstructionHead(transformerEncoder({ ...TINY, numLayers: 1 }));
  const sd = new Map<string, { shape: number[]; dtype: "float32"; data: Float32Array }>();
  const put = (k: string, shape: number[]) =>
    sd.set(k, { shape, dtype: "float32", data: new Float32Array(shape.reduce((a, b) => a * b)) });
  put("emb.weight", [8, 12]);
  put("emb.bias", [8]);
  const L = "enc.layers.0";
  put(`${L}.self_attn.in_proj_weight`, [24, 8]);
  put(`${L}.self_attn.in_proj_bias`, [24]);
  put(`${L}.self_attn.out_proj.weight`, [8, 8]);
  put(`${L}.self_attn.out_proj.bias`, [8]);
  put(`${L}.linear1.weight`, [16, 8]);
  put(`${L}.linear1.bias`, [16]);
  put(`${L}.linear2.weight`, [8, 16]);
  put(`${L}.linear2.bias`, [8]);
  for (const n of ["norm1", "norm2"]) {
    put(`${L}.${n}.weight`, [8]);
    put(`${L}.${n}.bias`, [8]);
  }
  put("pred.weight", [12, 8]);
  put("pred.bias", [12]);
  put("emb.pe", [1, 100, 8]);
  const keys = { inputProj: "emb", layers: "enc.layers", head: "pred" };
  // default names do not fit: every key unexpected
  assertThrows(() => loadTransformerStateDict(model, sd), CheckpointError, "unexpected keys");
  const res = loadTransformerStateDict(model, sd, { keys, ignore: (k) => k.endsWith(".pe") });
  assertEquals(res.missing, []);
  assertEquals(res.ignored, ["emb.pe"]);
  assertEquals(res.loaded.length, 16);
  // zeros everywhere: the layer norms' β = 0 now
  assertEquals(
    Array.from(model.getLayer("block1_norm1").getWeights()[1].dataSync()),
    Array(8).fill(0),
  );
  sd.delete("pred.bias");
  assertThrows(
    () => loadTransformerStateDict(model, sd, { keys, ignore: (k) => k.endsWith(".pe") }),
    CheckpointError,
    "missing keys: pred.bias",
  );
  put("pred.bias", [13]);
  assertThrows(
    () => loadTransformerStateDict(model, sd, { keys, ignore: (k) => k.endsWith(".pe") }),
    CheckpointError,
    "size mismatch for 'pred.bias'",
  );
  model.dispose();
});

Deno.test("SelfPAB full configuration: 61,107,848 parameters, split as the spec computes", () => {
  const enc = transformerEncoder(SELFPAB_TRANSFORMER.full);
  const model = withReconstructionHead(enc);
  assertEquals(model.countParams(), 61_107_848);
  assertEquals(count(model.getLayer("embed_proj").weights), 235_500);
  const block1 = selectWeights(model, "block1_").map((e) => ({ shape: e.shape }));
  assertEquals(count(block1), 15_159_548);
  assertEquals(count(model.getLayer("recon_head").weights), 234_156);
  assertEquals(model.outputs[0].shape, [null, 599, 156]);
  assertEquals(enc.outputs[0].shape, [null, 599, 1500]);
  model.dispose();
});

Deno.test("output modes: last, every layer, hidden states; final norm; any frame count", () => {
  const last = transformerEncoder({ ...TINY, frames: null });
  assertEquals(last.outputs.map((o) => o.shape), [[null, null, 8]]);
  const y = last.predict(tf.randomNormal([2, 7, 12], 0, 1, "float32", 1)) as tf.Tensor;
  assertEquals(y.shape, [2, 7, 8]);
  const layers = transformerEncoder({ ...TINY, output: "layers" });
  assertEquals(layers.outputs.length, 3);
  assert(layers.outputs.every((o) => o.shape.join() === [null, 10, 8].join()));
  const hidden = transformerEncoder({ ...TINY, output: "hidden", finalNorm: true });
  assertEquals(hidden.outputs.length, 4);
  // the last hidden state is the final-normed one: zero mean, unit variance per frame
  const hs = hidden.predict(tf.randomNormal([2, 10, 12], 0, 1, "float32", 2)) as tf.Tensor[];
  const { mean, variance } = tf.moments(hs[3], -1);
  assert(mean.abs().max().dataSync()[0] < 1e-5);
  assert(variance.sub(1).abs().max().dataSync()[0] < 1e-3);
  // the embedding is projection + positional encoding (the input is 0 → bias + pe)
  const h0 = (hidden.predict(tf.zeros([1, 10, 12])) as tf.Tensor[])[0];
  const bias = hidden.getLayer("embed_proj").getWeights()[1];
  const pe = tf.tensor2d(sinusoidalEncoding(10, 8), [10, 8]);
  assert(maxAbsDiff(h0.dataSync(), pe.add(bias).dataSync()) < 1e-6);
  tf.dispose([y, ...hs, mean, variance, h0, pe]);
  [last, layers, hidden].forEach((m) => m.dispose());
});

Deno.test("sinusoidal encoding is SelfPAB's interleaved sin/cos", () => {
  const pe = sinusoidalEncoding(3, 4);
  const w1 = Math.exp(-2 * Math.log(10000) / 4);
  const want = [0, 1, 0, 1, Math.sin(1), Math.cos(1), Math.sin(w1), Math.cos(w1)];
  want.forEach((v, i) => assert(Math.abs(pe[i] - v) < 1e-6, `pe[${i}] ${pe[i]} vs ${v}`));
  assert(Math.abs(pe[8] - Math.sin(2)) < 1e-6);
});

Deno.test("serialisation: toJSON → modelFromJSON rebuilds every variant with identical outputs", async () => {
  const variants: TransformerEncoderArgs[] = [
    { ...TINY },
    {
      ...TINY,
      positionalEncoding: "learned",
      activation: "gelu",
      normFirst: true,
      finalNorm: true,
      output: "layers",
    },
  ];
  const x = tf.randomNormal([2, 10, 12], 0, 1, "float32", 3);
  for (const args of variants) {
    const enc = transformerEncoder(args);
    // weighted sum of layer outputs (or the last output) + a reconstruction head
    const feats = enc.outputs.length > 1
      ? new WeightedLayerSum({ name: "layer_sum" }).apply(enc.outputs) as tf.SymbolicTensor
      : enc.outputs[0];
    const head = tf.layers.dense({ units: 3, name: "cls" }).apply(feats) as tf.SymbolicTensor;
    const model = tf.model({ inputs: enc.inputs, outputs: head });
    const json = JSON.parse(JSON.stringify(model.toJSON(null, false)));
    const copy = await tf.models.modelFromJSON(json);
    copy.setWeights(model.getWeights());
    assertEquals(copy.layers.map((l) => l.name), model.layers.map((l) => l.name));
    const a = model.predict(x) as tf.Tensor, b = copy.predict(x) as tf.Tensor;
    assertEquals(Array.from(b.dataSync()), Array.from(a.dataSync()));
    // the rebuilt custom layers keep their configuration
    assertEquals(copy.getLayer("block1_attn").getConfig().numHeads, 2);
    assertEquals(copy.getLayer("block2_norm1").getConfig().epsilon, 1e-5);
    tf.dispose([a, b]);
    model.dispose();
    copy.dispose();
  }
  x.dispose();
});

Deno.test("first-k-block prefixes select the embedding and exactly blocks 1..k", () => {
  const model = withReconstructionHead(transformerEncoder(TINY));
  const names = (k: number) => selectWeights(model, transformerBlockPrefixes(k)).map((e) => e.name);
  assertEquals(transformerBlockPrefixes(0), []);
  assertEquals(transformerBlockPrefixes(2), ["embed_", "block1_", "block2_"]);
  assertEquals(transformerBlockPrefixes(2, { embedding: false }), ["block1_", "block2_"]);
  const perBlock = 4 + 2 * 2 + 2 * 2; // attn qkv/out kernels+biases, ff1/ff2, norm1/norm2 γ β
  assertEquals(names(1).length, 2 + perBlock);
  assertEquals(names(2).length, 2 + 2 * perBlock);
  assert(names(2).every((n) => /^(embed_|block[12]_)/.test(n)), names(2).join());
  assert(names(3).length === model.weights.length - 2); // all but the reconstruction head
  // lib/train/freeze.ts' firstKBlocks reads the same block numbers
  const fk = selectWeights(model, firstKBlocks(2)).map((e) => e.name);
  assertEquals(fk, names(2).filter((n) => n.startsWith("block")));
  assertThrows(() => transformerBlockPrefixes(4, { numLayers: 3 }), ConfigError, "exceeds");
  model.dispose();
});

Deno.test("gradients reach every weight; dropout is active only in training", () => {
  const model = withReconstructionHead(transformerEncoder(TINY));
  const x = tf.randomNormal([3, 10, 12], 0, 1, "float32", 4);
  const mask = tf.randomUniform([3, 10, 12], 0, 1, "float32", 5).less(0.3).toFloat();
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { grads } = tf.variableGrads(() => {
    const y = model.apply(x.mul(tf.scalar(1).sub(mask)), { training: true }) as tf.Tensor;
    return y.sub(x).abs().mul(mask).sum().div(mask.sum()) as tf.Scalar;
  }, vars);
  for (const v of vars) {
    const g = grads[v.name];
    assert(g && g.abs().sum().dataSync()[0] > 0, `no gradient for ${v.name}`);
  }
  const t1 = model.apply(x, { training: true }) as tf.Tensor;
  const t2 = model.apply(x, { training: true }) as tf.Tensor;
  assert(maxAbsDiff(t1.dataSync(), t2.dataSync()) > 1e-4, "dropout should differ between calls");
  const p1 = model.predict(x) as tf.Tensor, p2 = model.predict(x) as tf.Tensor;
  assertEquals(Array.from(p1.dataSync()), Array.from(p2.dataSync()));
  tf.dispose([x, mask, t1, t2, p1, p2, ...Object.values(grads)]);
  model.dispose();
});

Deno.test("WeightedLayerSum: softmax weights start uniform, raw weights at 1/L; both train", () => {
  const xs = [1, 2, 3].map((s) => tf.randomNormal([2, 4, 5], 0, 1, "float32", s));
  const mean = tf.addN(xs).div(3);
  for (const normalisation of ["softmax", "none"] as const) {
    const ins = xs.map(() => tf.input({ shape: [4, 5] }));
    const sum = new WeightedLayerSum({ normalisation, name: `sum_${normalisation}` });
    const model = tf.model({ inputs: ins, outputs: sum.apply(ins) as tf.SymbolicTensor });
    Array.from(sum.coefficients()).forEach((c) => assert(Math.abs(c - 1 / 3) < 1e-6));
    const y = model.predict(xs) as tf.Tensor;
    assert(maxAbsDiff(y.dataSync(), mean.dataSync()) < 1e-6);
    const w = model.trainableWeights[0].read() as tf.Variable;
    const { grads } = tf.variableGrads(
      () => (model.apply(xs) as tf.Tensor).mul(xs[2]).sum() as tf.Scalar,
      [w],
    );
    assert(grads[w.name].abs().sum().dataSync()[0] > 0);
    tf.dispose([y, ...Object.values(grads)]);
    model.dispose();
  }
  // softmax: after setting the weights the coefficients are their softmax
  const ins = xs.map(() => tf.input({ shape: [4, 5] }));
  const sum = new WeightedLayerSum();
  tf.model({ inputs: ins, outputs: sum.apply(ins) as tf.SymbolicTensor });
  sum.setWeights([tf.tensor1d([0, Math.log(2), Math.log(5)])]);
  const c = sum.coefficients();
  [1 / 8, 2 / 8, 5 / 8].forEach((v, i) => assert(Math.abs(c[i] - v) < 1e-6));
  assertThrows(
    () => new WeightedLayerSum().apply([tf.input({ shape: [4, 5] }), tf.input({ shape: [4, 6] })]),
    RangeError,
    "one shape",
  );
  tf.dispose([...xs, mean]);
});

Deno.test("bad sizes are ConfigErrors naming the field", () => {
  assertThrows(() => transformerEncoder({ ...TINY, numHeads: 3 }), ConfigError, "divisible");
  assertThrows(
    () => transformerEncoder({ ...TINY, frames: 20, maxLen: 16 }),
    ConfigError,
    "maxLen",
  );
  assertThrows(() => transformerEncoder({ ...TINY, dropout: 1 }), ConfigError, "dropout");
  assertThrows(
    () => transformerEncoder({ ...TINY, frames: null, positionalEncoding: "learned" }),
    ConfigError,
    "learned",
  );
  const m = transformerEncoder({ ...TINY, frames: null, maxLen: 8 });
  assertThrows(() => m.predict(tf.zeros([1, 9, 12])), RangeError, "exceed maxLen 8");
  m.dispose();
});
