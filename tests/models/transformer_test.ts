import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/mod.ts";
import { join } from "node:path";
import { readNpy } from "../../lib/data/npy.ts";
import { CheckpointError, ConfigError } from "../../lib/errors.ts";
import { WeightedLayerSum } from "../../lib/models/layers.ts";
import { loadTorchStateDict } from "../../lib/models/pytorch.ts";
import {
  isSelfpabBufferKey,
  loadSelfpabCheckpoint,
  loadSelfpabStateDict,
  loadTransformerStateDict,
  SELFPAB_CHECKPOINT_KEYS,
  SELFPAB_TRANSFORMER,
  sinusoidalEncoding,
  transformerBlockPrefixes,
  transformerEncoder,
  type TransformerEncoderArgs,
  withReconstructionHead,
} from "../../lib/models/transformer.ts";
import { firstKBlocks, selectWeights } from "../../lib/train/freeze.ts";
import { oracle, tempDir } from "../_helpers.ts";
import { engines, relErr, useEngine } from "../backend/_grad_util.ts";
import { maskedL1Loss } from "../../lib/train/losses.ts";
import { type FixtureTensor, le, OP, Pickle, stateDictPickle, torchZip } from "./_torch_fixture.ts";

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

// ------------------------------------------------ SelfPAB's released checkpoint

type Sd = Map<string, { shape: number[]; dtype: "float32"; data: Float32Array }>;

/** FixtureTensor entries (and their storages) for float32 tensors, storage keys `<prefix><i>`. */
function fixtureTensors(
  sd: Sd,
  prefix: string,
  storages: Record<string, Uint8Array>,
): FixtureTensor[] {
  const out: FixtureTensor[] = [];
  let i = 0;
  for (const [name, t] of sd) {
    const key = `${prefix}${i++}`;
    const stride = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    out.push({
      name,
      storage: key,
      storageType: "FloatStorage",
      storageNumel: t.data.length,
      offset: 0,
      shape: t.shape,
      stride,
    });
    storages[key] = le(t.data);
  }
  return out;
}

/** Append an OrderedDict of tensors (the body of {@link stateDictPickle}) to `p`. */
function pushTensorDict(p: Pickle, tensors: FixtureTensor[]): void {
  const inner = stateDictPickle(tensors); // PROTO 2 … STOP: keep the OrderedDict expression
  for (let j = 2; j < inner.length - 1; j++) p.b.push(inner[j]);
}

const f32 = (shape: number[], v: number[]) => ({
  shape,
  dtype: "float32" as const,
  data: Float32Array.from(v),
});

/**
 * A PyTorch-Lightning 1.6-style checkpoint (torch zip) with the layout of SelfPAB's
 * `upstream_model.ckpt` (spec §5): `epoch`, `global_step`, `pytorch-lightning_version`,
 * `state_dict` (OrderedDict), `hyper_parameters` (`dict(model.hparams)`: `{args: {...}}`),
 * `optimizer_states` (an AdamW state dict: moment tensors, param groups with a betas tuple,
 * booleans, None), `lr_schedulers` (LinearWUSchedule's `__dict__`) and `callbacks`
 * (ModelCheckpoint state with a scalar tensor).
 */
function lightningCheckpoint(sd: Sd): Uint8Array {
  const storages: Record<string, Uint8Array> = {};
  const NONE = 0x4e, NEWTRUE = 0x88, TUPLE2 = 0x86, EMPTY_LIST = 0x5d, APPENDS = 0x65;
  const p = new Pickle().op(OP.PROTO, 2, OP.EMPTY_DICT, OP.MARK);
  p.str("epoch").int(49).str("global_step").int(937500);
  p.str("pytorch-lightning_version").str("1.6.4").str("state_dict");
  pushTensorDict(p, fixtureTensors(sd, "", storages));
  p.str("hyper_parameters").op(OP.EMPTY_DICT, OP.MARK).str("args").op(OP.EMPTY_DICT, OP.MARK);
  p.str("d_model").int(8).str("nhead").int(2).str("optimizer").str("AdamW").str("lr").int(1e-4);
  p.op(OP.SETITEMS, OP.SETITEMS);
  // optimizer_states: [{state: {exp_avg, exp_avg_sq}, param_groups: [{lr, betas, eps, …}]}]
  p.str("optimizer_states").op(EMPTY_LIST, OP.MARK, OP.EMPTY_DICT, OP.MARK).str("state");
  const moments: Sd = new Map([["exp_avg", f32([2], [0.1, -0.2])], [
    "exp_avg_sq",
    f32([2], [1e-3, 2e-3]),
  ]]);
  pushTensorDict(p, fixtureTensors(moments, "opt", storages));
  p.str("param_groups").op(EMPTY_LIST, OP.MARK, OP.EMPTY_DICT, OP.MARK);
  p.str("lr").int(1.0000000000000002e-06).str("betas").int(0.9).int(0.98).op(TUPLE2);
  p.str("eps").int(1e-8).str("weight_decay").int(1e-5).str("amsgrad").op(OP.NEWFALSE);
  p.str("maximize").op(OP.NEWFALSE).str("foreach").op(NONE).str("capturable").op(OP.NEWFALSE);
  p.str("params").op(EMPTY_LIST, OP.MARK).int(0).int(1).op(APPENDS);
  p.op(OP.SETITEMS, APPENDS, OP.SETITEMS, APPENDS);
  // lr_schedulers: [LinearWUSchedule.__dict__ without the optimizer]
  p.str("lr_schedulers").op(EMPTY_LIST, OP.MARK, OP.EMPTY_DICT, OP.MARK);
  p.str("initial_learning_rate").int(1e-4).str("decay_steps").int(937500);
  p.str("end_learning_rate").int(1.0000000000000002e-06).str("warmup").int(0.07);
  p.str("n_steps").int(937501).op(OP.SETITEMS, APPENDS);
  // callbacks: {"ModelCheckpoint{…}": {best_model_score: tensor(0.31), save_last: True}}
  p.str("callbacks").op(OP.EMPTY_DICT, OP.MARK).str("ModelCheckpoint{'monitor': 'val_loss'}");
  pushTensorDict(
    p,
    fixtureTensors(new Map([["best_model_score", f32([], [0.31])]]), "cb", storages),
  );
  p.op(OP.SETITEMS);
  p.str("loops").op(OP.EMPTY_DICT, OP.MARK).str("fit_loop").op(OP.EMPTY_DICT);
  p.op(OP.SETITEMS).str("hparams_name").str("kwargs").str("native_amp").op(NEWTRUE);
  return torchZip(p.op(OP.SETITEMS, OP.STOP).bytes(), storages, "upstream_model");
}

const SP_LAYER = (i: number) => `${SELFPAB_CHECKPOINT_KEYS.layers}.${i}`;

/** torch-layout weights of a TINY-sized SelfPAB network, under SelfPAB's key names. */
function selfpabStateDict(a: TransformerEncoderArgs, seed = 1): Sd {
  const sd: Sd = new Map();
  let s = seed;
  const put = (k: string, shape: number[], scale = 0.4, offset = 0) => {
    const n = shape.reduce((x, y) => x * y, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      data[i] = (s / 2 ** 31 - 1) * scale + offset;
    }
    sd.set(k, { shape, dtype: "float32", data });
  };
  const d = a.dModel, ff = a.dimFeedforward;
  put("emb.lin_proj_layer.weight", [d, a.inputSize]);
  put("emb.lin_proj_layer.bias", [d]);
  put("emb.pos_encoder.pe", [1, 50, d]); // a buffer: ignored, recomputed
  for (let l = 0; l < a.numLayers; l++) {
    const L = SP_LAYER(l);
    put(`${L}.self_attn.in_proj_weight`, [3 * d, d], 0.6);
    put(`${L}.self_attn.in_proj_bias`, [3 * d], 0.1);
    put(`${L}.self_attn.out_proj.weight`, [d, d]);
    put(`${L}.self_attn.out_proj.bias`, [d], 0.1);
    put(`${L}.linear1.weight`, [ff, d]);
    put(`${L}.linear1.bias`, [ff], 0.1);
    put(`${L}.linear2.weight`, [d, ff]);
    put(`${L}.linear2.bias`, [d], 0.1);
    for (const n of ["norm1", "norm2"]) {
      put(`${L}.${n}.weight`, [d], 0.2, 1);
      put(`${L}.${n}.bias`, [d], 0.1);
    }
  }
  put("prediction_head.mlp.out_layer.weight", [a.inputSize, d]);
  put("prediction_head.mlp.out_layer.bias", [a.inputSize], 0.1);
  return sd;
}

/**
 * An independent float64 forward of SelfPAB's `TransformerEncoderNetwork` (eval mode) straight
 * from the torch-layout state dict: `x·Wᵀ + b + pe`, then per layer torch's post-LN
 * `nn.TransformerEncoderLayer` (packed in_proj rows q | k | v, heads as contiguous column blocks,
 * scores / √(d/H), ReLU, LayerNorm eps 1e-5), then the linear head. x: [frames, inputSize].
 */
function torchStyleForward(sd: Sd, x: number[][], heads: number): number[][] {
  const W = (k: string) => {
    const t = sd.get(k)!;
    return { v: t.data, r: t.shape[0], c: t.shape[1] ?? 1 };
  };
  const linear = (h: number[][], k: string) => {
    const w = W(`${k}.weight`), b = W(`${k}.bias`).v;
    return h.map((row) =>
      Array.from({ length: w.r }, (_, o) => {
        let acc = b[o];
        for (let i = 0; i < w.c; i++) acc += w.v[o * w.c + i] * row[i];
        return acc;
      })
    );
  };
  const norm = (h: number[][], k: string) => {
    const g = W(`${k}.weight`).v, b = W(`${k}.bias`).v;
    return h.map((row) => {
      const m = row.reduce((a, v) => a + v, 0) / row.length;
      const va = row.reduce((a, v) => a + (v - m) ** 2, 0) / row.length;
      return row.map((v, i) => ((v - m) / Math.sqrt(va + 1e-5)) * g[i] + b[i]);
    });
  };
  const add = (a: number[][], b: number[][]) => a.map((r, i) => r.map((v, j) => v + b[i][j]));
  let h = linear(x, "emb.lin_proj_layer");
  const d = h[0].length, dh = d / heads;
  h = h.map((row, p) =>
    row.map((v, j) => {
      const w = Math.exp(-(j - (j % 2)) * Math.log(10000) / d);
      return v + (j % 2 === 0 ? Math.sin(p * w) : Math.cos(p * w));
    })
  );
  for (let l = 0; sd.has(`${SP_LAYER(l)}.linear1.weight`); l++) {
    const L = SP_LAYER(l);
    const w = W(`${L}.self_attn.in_proj_weight`), b = W(`${L}.self_attn.in_proj_bias`).v;
    const qkv = h.map((row) =>
      Array.from({ length: 3 * d }, (_, o) => {
        let acc = b[o];
        for (let i = 0; i < d; i++) acc += w.v[o * d + i] * row[i];
        return acc;
      })
    );
    const ctx = h.map(() => new Array(d).fill(0));
    for (let hh = 0; hh < heads; hh++) {
      const off = hh * dh;
      for (let t = 0; t < h.length; t++) {
        const sc = h.map((_, u) => {
          let acc = 0;
          for (let j = 0; j < dh; j++) acc += qkv[t][off + j] * qkv[u][d + off + j];
          return acc / Math.sqrt(dh);
        });
        const mx = sc.reduce((a, v) => Math.max(a, v), -Infinity);
        const e = sc.map((v) => Math.exp(v - mx));
        const z = e.reduce((a, v) => a + v, 0);
        for (let u = 0; u < h.length; u++) {
          for (let j = 0; j < dh; j++) ctx[t][off + j] += (e[u] / z) * qkv[u][2 * d + off + j];
        }
      }
    }
    h = norm(add(h, linear(ctx, `${L}.self_attn.out_proj`)), `${L}.norm1`);
    const f = linear(
      linear(h, `${L}.linear1`).map((r) => r.map((v) => Math.max(0, v))),
      `${L}.linear2`,
    );
    h = norm(add(h, f), `${L}.norm2`);
  }
  return linear(h, "prediction_head.mlp.out_layer");
}

Deno.test("SelfPAB released checkpoint: Lightning key names load and reproduce a torch-style forward", async () => {
  const args: TransformerEncoderArgs = { ...TINY, frames: null, seed: 2 };
  const sd = selfpabStateDict(args);
  const tmp = await tempDir();
  try {
    const path = join(tmp.path, "upstream_model.ckpt");
    Deno.writeFileSync(path, lightningCheckpoint(sd));
    const model = withReconstructionHead(transformerEncoder(args));
    const res = await loadSelfpabCheckpoint(model, path);
    assertEquals(res.ignored, ["emb.pos_encoder.pe"]);
    assertEquals(res.missing, []);
    assertEquals(res.unexpected, []);
    assertEquals(res.loaded.length, sd.size - 1);
    // x [1, 7, 12]; eval mode (predict: no dropout), as torch's model.eval()
    const x = Array.from(
      { length: 7 },
      (_, t) => Array.from({ length: 12 }, (_, i) => Math.sin(t + 0.3 * i)),
    );
    const want = torchStyleForward(sd, x, TINY.numHeads);
    const got = tf.tidy(() =>
      (model.predict(tf.tensor3d([x])) as tf.Tensor).arraySync() as number[][][]
    );
    const d = maxAbsDiff(got[0].flat(), want.flat());
    assert(d < 1e-4, `max |tfjs - torch-style forward| = ${d}`);
    // and it is not trivially close: a fresh model is far off
    const fresh = withReconstructionHead(transformerEncoder({ ...args, seed: 3 }));
    const f = tf.tidy(() =>
      (fresh.predict(tf.tensor3d([x])) as tf.Tensor).arraySync() as number[][][]
    );
    assert(maxAbsDiff(f[0].flat(), want.flat()) > 0.1);
    // the encoder alone (downstream use) loads strictly; the head's keys are skipped
    const enc = transformerEncoder({ ...args, output: "layers" });
    const r2 = await loadSelfpabCheckpoint(enc, path);
    assertEquals(r2.ignored.sort(), [
      "emb.pos_encoder.pe",
      "prediction_head.mlp.out_layer.bias",
      "prediction_head.mlp.out_layer.weight",
    ]);
    assertEquals(r2.missing, []);
    [model, fresh, enc].forEach((m) => m.dispose());
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("SelfPAB checkpoint: unknown, missing and mis-shaped keys are errors naming the key and file", async () => {
  const args: TransformerEncoderArgs = { ...TINY, numLayers: 1 };
  const tmp = await tempDir();
  try {
    const path = join(tmp.path, "upstream_model.ckpt");
    const model = withReconstructionHead(transformerEncoder(args));
    const write = (sd: Sd) => Deno.writeFileSync(path, lightningCheckpoint(sd));
    // unknown key (e.g. a second layer the model lacks)
    let sd = selfpabStateDict({ ...args, numLayers: 2 });
    write(sd);
    await assertRejects(
      () => loadSelfpabCheckpoint(model, path),
      CheckpointError,
      `${path}: state dict does not match`,
    );
    await assertRejects(
      () => loadSelfpabCheckpoint(model, path),
      CheckpointError,
      "unexpected keys: transformer_encoder.layers.1.self_attn.in_proj_weight",
    );
    // missing key
    sd = selfpabStateDict(args);
    sd.delete("prediction_head.mlp.out_layer.bias");
    write(sd);
    await assertRejects(
      () => loadSelfpabCheckpoint(model, path),
      CheckpointError,
      "missing keys: prediction_head.mlp.out_layer.bias",
    );
    // mis-shaped key: a checkpoint of another width
    sd = selfpabStateDict(args);
    sd.set("transformer_encoder.layers.0.linear1.weight", {
      shape: [17, 8],
      dtype: "float32",
      data: new Float32Array(17 * 8),
    });
    write(sd);
    await assertRejects(
      () => loadSelfpabCheckpoint(model, path),
      CheckpointError,
      "size mismatch for 'transformer_encoder.layers.0.linear1.weight': checkpoint [17,8]",
    );
    // nothing was written by the failed loads: a state dict in memory loads, strict: false too
    const ok = selfpabStateDict(args);
    const res = loadSelfpabStateDict(model, new Map([["state_dict", ok]]), { file: "x.ckpt" });
    assertEquals(res.missing, []);
    ok.delete("emb.lin_proj_layer.bias");
    assertEquals(
      loadSelfpabStateDict(model, ok, { strict: false }).missing,
      ["emb.lin_proj_layer.bias"],
    );
    assertThrows(
      () => loadSelfpabStateDict(model, new Map([["epoch", 3]]), { file: "empty.ckpt" }),
      CheckpointError,
      "empty.ckpt: no state dict",
    );
    await assertRejects(
      () => loadSelfpabCheckpoint(model, join(tmp.path, "absent.ckpt")),
      CheckpointError,
      "file not found",
    );
    assert(isSelfpabBufferKey("emb.pos_encoder.pe"));
    assert(isSelfpabBufferKey("emb.pos_encoder.pos_encoders.0.pe"));
    assert(!isSelfpabBufferKey("emb.lin_proj_layer.weight"));
    model.dispose();
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("oracle: the oracle's weights under SelfPAB's checkpoint names reproduce the torch outputs", async () => {
  const dir = oracle("selfpab");
  if (!dir) return;
  const cfg = JSON.parse(Deno.readTextFileSync(join(dir, "config.json")));
  const src = await loadTorchStateDict(join(dir, "state_dict.pt"));
  const rename = (k: string) =>
    k.replace(/^input_proj\./, "emb.lin_proj_layer.")
      .replace(/^encoder\.layers\./, "transformer_encoder.layers.")
      .replace(/^head\./, "prediction_head.mlp.out_layer.");
  const sd: Sd = new Map();
  for (const [k, t] of src) {
    sd.set(rename(k), { shape: t.shape, dtype: "float32", data: t.data as Float32Array });
  }
  sd.set("emb.pos_encoder.pe", {
    shape: [1, 200, cfg.d_model],
    dtype: "float32",
    data: sinusoidalEncoding(200, cfg.d_model),
  });
  const tmp = await tempDir();
  try {
    const path = join(tmp.path, "upstream_model.ckpt");
    Deno.writeFileSync(path, lightningCheckpoint(sd));
    const enc = transformerEncoder({ ...cfgArgs(cfg), output: "hidden" });
    const model = withReconstructionHead(enc);
    const res = await loadSelfpabCheckpoint(model, path);
    assertEquals(res.loaded.length, src.size);
    const x = await readNpy(join(dir, "x.npy"));
    const recon = await readNpy(join(dir, "recon.npy"));
    const hidden = await readNpy(join(dir, "hidden.npy"));
    const xt = tf.tensor(x.data as Float32Array, x.shape);
    const r = model.predict(xt) as tf.Tensor;
    const d = maxAbsDiff(r.dataSync(), recon.data as Float32Array);
    assert(d <= 1e-4, `reconstruction: max |tfjs - torch| = ${d}`);
    const hs = enc.predict(xt) as tf.Tensor[];
    const per = hs[0].size, last = hs.length - 1;
    const dl = maxAbsDiff(
      hs[last].dataSync(),
      (hidden.data as Float32Array).subarray(last * per, (last + 1) * per),
    );
    assert(dl <= 1e-4, `last hidden state: max |tfjs - torch| = ${dl}`);
    tf.dispose([xt, r, ...hs]);
    model.dispose();
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("attention trains on the fast backends: a block's gradients equal tfjs cpu's (1e-4 relative)", async () => {
  // post-LN SelfPAB blocks + reconstruction head, SelfPAB's masked L1; dropout 0 (deterministic)
  const model = withReconstructionHead(
    transformerEncoder({ ...TINY, numLayers: 2, dropout: 0, seed: 7 }),
  );
  const x = tf.randomNormal([3, 10, 12], 0, 1, "float32", 8);
  const mask = tf.randomUniform([3, 10, 12], 0, 1, "float32", 9).less(0.3).toFloat();
  const loss = maskedL1Loss();
  const run = () =>
    tf.tidy(() => {
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(
        () =>
          loss([x, mask], [
            model.apply(x.mul(tf.scalar(1).sub(mask)), { training: true }) as tf.Tensor,
          ]),
        vars,
      );
      return {
        value: value.dataSync()[0],
        grads: vars.map((v) => grads[v.name].dataSync() as Float32Array),
        names: vars.map((v) => v.name),
      };
    });
  const fast = tf.getBackend();
  try {
    await useEngine("cpu");
    const ref = run();
    for (const e of engines()) {
      await useEngine(e);
      const got = run();
      assert(Math.abs(got.value - ref.value) <= 1e-5 * Math.abs(ref.value), `${e}: loss`);
      got.grads.forEach((g, i) => {
        const err = relErr(g, ref.grads[i]);
        assert(err <= 1e-4, `${e}: gradient of ${ref.names[i]} rel err ${err}`);
      });
    }
  } finally {
    await initBackend({ verbose: false, threads: 1 });
  }
  assertEquals(tf.getBackend(), fast);
  tf.dispose([x, mask]);
  model.dispose();
});
