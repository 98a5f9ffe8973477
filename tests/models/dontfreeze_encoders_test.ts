/**
 * The "Don't freeze" encoders (lib/models/dontfreeze_encoders.ts,
 * ../shared/specs/dont-freeze.md §2): shapes, parameter counts from the
 * spec's layer tables, layer naming for freezing and transfer, serialisation,
 * the custom layers' values and gradients (reflect padding, upsampling,
 * time-step gathers, the PyTorch GRU against its equations and a finite
 * difference), and every encoder's gradients on the fast engines against tfjs
 * cpu. The pretext losses' gradient checks are in tests/pretext/*.
 */
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/mod.ts";
import { ConfigError } from "../../lib/errors.ts";
import {
  autoencoder,
  autoencoderEncoder,
  cpcEncoder,
  cpcModel,
  dontFreezeEncoderWeights,
  LastTimeStep,
  multitask8Model,
  ReflectPad1D,
  REPRESENTATION_LAYER,
  resolveAutoencoderArgs,
  resolveTpnEncoderArgs,
  simclrModel,
  TimePrefix,
  TimeStepGather,
  TorchGRU,
  tpnEncoder,
  UpSampling1D,
  ZeroPadding1D,
} from "../../lib/models/dontfreeze_encoders.ts";
import { selectorFn, transferWeights } from "../../lib/train/freeze.ts";
import { checkGradientsAgainstCpu, syntheticWindows } from "../pretext/_dontfreeze.ts";
import { seeded } from "../backend/_grad_util.ts";

await initBackend({ verbose: false, threads: 1 });

const params = (m: tf.LayersModel) =>
  m.trainableWeights.reduce(
    (a, w) => a + w.shape.reduce((p: number, q) => p * (q as number), 1),
    0,
  );

/** Channels-last `[n, 100, 3]` windows of the synthetic pool. */
function windowsTensor(n: number, seed = 0): tf.Tensor3D {
  const w = syntheticWindows(n, seed);
  return tf.tidy(() => tf.tensor3d(w.x, [n, 3, 100]).transpose([0, 2, 1]) as tf.Tensor3D);
}

Deno.test("tpnEncoder: [n, 100, 3] → 256-d, lengths 100 → 77 → 62 → 55, 109,248 parameters (§2.2)", () => {
  const a = resolveTpnEncoderArgs();
  assertEquals(a.lengths, [100, 77, 62, 55]);
  const enc = tpnEncoder();
  assertEquals(enc.outputs[0].shape, [null, 256]);
  // convs 24·3·32+32 + 16·32·64+64 + 8·64·96+96 = 84,416; added Dense(256) 96·256+256 = 24,832
  assertEquals(params(enc), 84_416 + 24_832);
  assertEquals(enc.getLayer(REPRESENTATION_LAYER).outputShape, [null, 256]);
  const x = windowsTensor(4);
  const y = enc.predict(x) as tf.Tensor;
  assertEquals(y.shape, [4, 256]);
  assert(y.min().dataSync()[0] >= 0, "ReLU representation");
  // without the added layer: the 96-d pooled features are the representation
  const bare = tpnEncoder({ addedDense: false });
  assertEquals(bare.outputs[0].shape, [null, 96]);
  assertEquals(params(bare), 84_416);
  // the L2 1e-4 kernel penalty is a layer regulariser (tfjs' calculateLosses sees it)
  const conv = enc.getLayer("encoder_conv1") as unknown as { kernelRegularizer?: unknown };
  assert(conv.kernelRegularizer, "conv kernels carry the L2 regulariser");
  tf.dispose([x, y]);
  enc.dispose();
  bare.dispose();
});

Deno.test("cpcEncoder: reflect-padded convs (no bias) + 2-layer GRU 256, last step 256-d, 722,208 parameters (§2.1)", () => {
  const enc = cpcEncoder();
  assertEquals(enc.outputs[0].shape, [null, 256]);
  // convs 3·3·32 + 3·32·64 + 3·64·128 = 31,008 (bias=False); GRU 3·(128·256+256²+2·256) + 3·(2·256²+2·256)
  assertEquals(params(enc), 31_008 + 296_448 + 394_752);
  assertEquals(enc.getLayer("encoder_conv3").outputShape, [null, 100, 128]);
  const x = windowsTensor(2, 1);
  assertEquals((enc.predict(x) as tf.Tensor).shape, [2, 256]);
  // tf.layers.gru variant: one bias per layer (3·256 fewer each)
  const alt = cpcEncoder({ recurrent: "tfjs-gru" });
  assertEquals(params(alt), 31_008 + 296_448 + 394_752 - 2 * 768);
  assertEquals((alt.predict(x) as tf.Tensor).shape, [2, 256]);
  x.dispose();
  enc.dispose();
  alt.dispose();
});

Deno.test("autoencoder: 100 → 50 → 25 → 12 → 1536 → 256-d representation, reconstruction [n, 100, 3] (§2.3)", () => {
  const a = resolveAutoencoderArgs();
  assertEquals(a.lengths, [100, 50, 25, 12]);
  assertEquals(a.flatDim, 1536);
  const ae = autoencoder();
  assertEquals(ae.outputs[0].shape, [null, 100, 3]);
  assertEquals(ae.getLayer(REPRESENTATION_LAYER).outputShape, [null, 256]);
  assertEquals(ae.getLayer("decoder_reshape").outputShape, [null, 12, 128]);
  assertEquals(ae.getLayer("decoder_block3_pad").outputShape, [null, 25, 128]);
  assertEquals(ae.getLayer("decoder_block2_up").outputShape, [null, 50, 64]);
  const enc = autoencoderEncoder();
  assertEquals(enc.outputs[0].shape, [null, 256]);
  // conv (no bias) + BN (γ, β) blocks (32, 64, 128) and Dense(1536 → 256)
  const encParams = (3 * 3 * 32 + 64) + (3 * 32 * 64 + 128) + (3 * 64 * 128 + 256) +
    (1536 * 256 + 256);
  assertEquals(params(enc), encParams);
  const decParams = (256 * 1536 + 2 * 1536) + (3 * 128 * 64 + 128) + (3 * 64 * 32 + 64) +
    (3 * 32 * 3 + 3);
  assertEquals(params(ae), encParams + decParams);
  const x = windowsTensor(3, 2);
  const r = ae.predict(x) as tf.Tensor;
  assertEquals(r.shape, [3, 100, 3]);
  // an odd length pads where pooling floored: 90 → 45 → 22 → 11, back 22 → 22(+0) … 44 → 45 (+1) → 90
  const odd = autoencoder({ inputSamples: 90 });
  assertEquals(odd.outputs[0].shape, [null, 90, 3]);
  tf.dispose([x, r]);
  [ae, enc, odd].forEach((m) => m.dispose());
});

Deno.test("pretext models: 8 logit heads, two 50-d SimCLR projections, CPC [n, K, 128] predictions and targets", () => {
  const mtl = multitask8Model();
  assertEquals(mtl.outputs.length, 8);
  mtl.outputs.forEach((o) => assertEquals(o.shape, [null, 1]));
  assertEquals(mtl.outputNames.map((n) => n.split("/")[0]), [
    "mtl_noised",
    "mtl_scaled",
    "mtl_rotated",
    "mtl_negated",
    "mtl_time_flipped",
    "mtl_permuted",
    "mtl_time_warped",
    "mtl_channel_shuffled",
  ]);
  // each head Dense(256, relu) → Dense(1): 256·256+256 + 256+1
  assertEquals(params(mtl), 109_248 + 8 * 66_049);
  const sim = simclrModel();
  assertEquals(sim.inputs.map((i) => i.shape), [[null, 100, 3], [null, 100, 3]]);
  assertEquals(sim.outputs.map((o) => o.shape), [[null, 50], [null, 50]]);
  // shared weights: one encoder + head 256·256+256 + 256·128+128 + 128·50+50
  assertEquals(params(sim), 109_248 + 105_138);
  const cpc = cpcModel({ steps: 12 });
  assertEquals(cpc.inputs.map((i) => i.shape), [[null, 100, 3], [null, 1]]);
  assertEquals(cpc.outputs.map((o) => o.shape), [[null, 12, 128], [null, 12, 128]]);
  // W_k: 12 × Linear(256 → 128)
  assertEquals(params(cpc), 722_208 + 12 * (256 * 128 + 128));
  assertEquals(params(cpcModel()), 722_208 + 28 * (256 * 128 + 128));
  assertThrows(() => cpcModel({ steps: 100 }), ConfigError, "future steps");
  [mtl, sim, cpc].forEach((m) => m.dispose());
});

Deno.test("dontFreezeEncoderWeights selects exactly the encoder, and transfers it from each pretext model", () => {
  const sel = selectorFn(dontFreezeEncoderWeights());
  const x = windowsTensor(3, 3);
  const cases: [tf.LayersModel, tf.LayersModel][] = [
    [multitask8Model({ seed: 1, encoder: { dropout: 0 } }), tpnEncoder({ seed: 9 })],
    [simclrModel({ seed: 2 }), tpnEncoder({ seed: 9 })],
    [cpcModel({ seed: 3, steps: 4 }), cpcEncoder({ seed: 9 })],
    [autoencoder({ seed: 4 }), autoencoderEncoder({ seed: 9 })],
  ];
  for (const [pre, enc] of cases) {
    const encNames = enc.weights.map((w) => w.originalName);
    assert(encNames.every(sel), `${enc.name}: every weight is an encoder weight`);
    const preEnc = pre.weights.map((w) => w.originalName).filter(sel);
    assertEquals(preEnc.sort(), [...encNames].sort(), `${pre.name}: the encoder weights match`);
    assert(
      pre.weights.some((w) => !sel(w.originalName)),
      `${pre.name}: the head is not selected`,
    );
    const copied = transferWeights(pre, enc, { select: dontFreezeEncoderWeights() });
    assertEquals(copied.length, encNames.length);
    // the encoder now computes the pretext model's representation (CPC: the GRU's last step)
    // (CPC: the GRU's output on the prefix up to start 99, i.e. the whole window, at its last step)
    const cpc = pre.name === "cpc";
    const sub = tf.model({
      inputs: pre.inputs,
      outputs: pre.getLayer(cpc ? "encoder_gru2" : REPRESENTATION_LAYER)
        .getOutputAt(0) as tf.SymbolicTensor,
    });
    const last = tf.fill([3, 1], 99, "int32");
    const subOut = sub.predict(cpc ? [x, last] : pre.inputs.length === 2 ? [x, x] : x) as tf.Tensor;
    const a = (cpc ? subOut.slice([0, 99, 0], [-1, 1, -1]) : subOut).dataSync();
    last.dispose();
    const b = (enc.predict(x) as tf.Tensor).dataSync();
    assertEquals(a.length, b.length);
    a.forEach((v, i) => assertAlmostEquals(v, b[i], 1e-5));
    pre.dispose();
    enc.dispose();
  }
  x.dispose();
});

Deno.test("serialisation: toJSON → modelFromJSON rebuilds the custom layers with the same outputs", async () => {
  const x = windowsTensor(2, 4);
  const start = tf.tensor2d([[5], [5]], [2, 1], "int32");
  for (
    const [m, inp] of [[cpcModel({ steps: 6, seed: 5 }), [x, start]], [
      autoencoder({ seed: 6 }),
      x,
    ]] as const
  ) {
    const json = JSON.parse(JSON.stringify(m.toJSON(null, false)));
    const re = await tf.models.modelFromJSON(json);
    re.setWeights(m.getWeights());
    const a = ([] as tf.Tensor[]).concat(m.predict(inp as tf.Tensor) as tf.Tensor);
    const b = ([] as tf.Tensor[]).concat(re.predict(inp as tf.Tensor) as tf.Tensor);
    a.forEach((t, i) => {
      const d = t.sub(b[i]).abs().max().dataSync()[0];
      assert(d <= 1e-6, `${m.name} output ${i}: max diff ${d}`);
    });
    m.dispose();
    re.dispose();
  }
  tf.dispose([x, start]);
});

Deno.test("ReflectPad1D: PyTorch reflect values, and the exact gradient (tf.mirrorPad's drops the reflected copies)", () => {
  const x = tf.tensor3d([[[0], [1], [2], [3]]]);
  const pad = new ReflectPad1D({ padding: 2 });
  assertEquals(Array.from((pad.apply(x) as tf.Tensor).dataSync()), [2, 1, 0, 1, 2, 3, 2, 1]);
  const w = tf.tensor3d([[[1], [10], [100], [1000], [1e4], [1e5], [1e6], [1e7]]]);
  const g = tf.grad((v: tf.Tensor) => (pad.apply(v) as tf.Tensor).mul(w).sum())(x);
  // x0 ← 100; x1 ← 10 + 1000 + 1e7; x2 ← 1 + 1e4 + 1e6; x3 ← 1e5
  assertEquals(Array.from(g.dataSync()), [100, 10 + 1000 + 1e7, 1 + 1e4 + 1e6, 1e5]);
  assertThrows(() => pad.apply(tf.zeros([1, 2, 1])), RangeError, "reflect padding");
  assertEquals(new ReflectPad1D({ padding: 1 }).computeOutputShape([null, 100, 3]), [null, 102, 3]);
  tf.dispose([x, w, g]);
});

Deno.test("UpSampling1D, ZeroPadding1D, LastTimeStep, TimeStepGather, TimePrefix: values and gradients", () => {
  const x = tf.tensor3d([[[1, 10], [2, 20], [3, 30]]]); // [1, 3, 2]
  const up = new UpSampling1D({ size: 2 });
  assertEquals(Array.from((up.apply(x) as tf.Tensor).dataSync()), [
    1,
    10,
    1,
    10,
    2,
    20,
    2,
    20,
    3,
    30,
    3,
    30,
  ]);
  const gu = tf.grad((v: tf.Tensor) =>
    (up.apply(v) as tf.Tensor).mul(tf.range(1, 13).reshape([1, 6, 2])).sum()
  )(x);
  assertEquals(Array.from(gu.dataSync()), [1 + 3, 2 + 4, 5 + 7, 6 + 8, 9 + 11, 10 + 12]);
  const zp = new ZeroPadding1D({ padding: [1, 2] });
  assertEquals((zp.apply(x) as tf.Tensor).shape, [1, 6, 2]);
  assertEquals(Array.from((zp.apply(x) as tf.Tensor).dataSync()), [
    0,
    0,
    1,
    10,
    2,
    20,
    3,
    30,
    0,
    0,
    0,
    0,
  ]);
  assertEquals(Array.from((new LastTimeStep().apply(x) as tf.Tensor).dataSync()), [3, 30]);
  // gather rows start + [0, 2] of two windows with starts 1 and 0
  const seq = tf.tensor3d([[[1], [2], [3], [4]], [[5], [6], [7], [8]]]);
  const start = tf.tensor2d([[1], [0]], [2, 1], "int32");
  const gather = new TimeStepGather({ offsets: [0, 2] });
  assertEquals(Array.from((gather.apply([seq, start]) as tf.Tensor).dataSync()), [2, 4, 5, 7]);
  const gg = tf.grad((s: tf.Tensor) =>
    (gather.apply([s, start]) as tf.Tensor).mul(tf.tensor3d([[[1], [2]], [[3], [4]]])).sum()
  )(seq);
  assertEquals(Array.from(gg.dataSync()), [0, 1, 0, 2, 3, 0, 4, 0]);
  assertThrows(
    () => gather.apply([seq, tf.tensor2d([[2], [0]], [2, 1], "int32")]),
    RangeError,
    "outside 0..3",
  );
  // a one-step sequence (a CPC start of 0 after TimePrefix): every offset 0, gradient through
  const one = tf.tensor3d([[[1, 2]], [[3, 4]]]);
  const zero = tf.tensor2d([[0], [0]], [2, 1], "int32");
  const g0 = new TimeStepGather({ offsets: [0] });
  assertEquals(Array.from((g0.apply([one, zero]) as tf.Tensor).dataSync()), [1, 2, 3, 4]);
  const g1 = tf.grad((s: tf.Tensor) => (g0.apply([s, zero]) as tf.Tensor).mul(2).sum())(one);
  assertEquals(Array.from(g1.dataSync()), [2, 2, 2, 2]);
  // a CPC batch whose start is 0 runs (tf.oneHot refuses depth 1)
  const cpc0 = cpcModel({ steps: 4, seed: 1 });
  const outs = cpc0.apply([tf.randomNormal([3, 100, 3]), tf.zeros([3, 1])]) as tf.Tensor[];
  assertEquals(outs.map((o) => o.shape), [[3, 4, 128], [3, 4, 128]]);
  assert(outs.every((o) => Number.isFinite(o.sum().dataSync()[0])));
  // … and its gradient: the GRU then sees a 1-step prefix (tf.unstack's gradient of one step
  // crashed the CPC laptop pretext in epoch 4; lib/models/gru.ts no longer differentiates it)
  const x0 = tf.randomNormal([3, 100, 3]), s0 = tf.zeros([3, 1], "int32");
  const { value, grads } = tf.variableGrads(
    () =>
      (cpc0.apply([x0, s0]) as tf.Tensor[]).reduce(
        (a, o) => a.add(o.square().sum()),
        tf.scalar(0),
      ) as tf.Scalar,
    cpc0.trainableWeights.map((w) => w.read() as tf.Variable),
  );
  assert(Number.isFinite(value.dataSync()[0]));
  // every weight has one; the recurrent kernels' is zero (h_0 = 0: a 1-step GRU never uses them)
  assertEquals(
    Object.keys(grads).sort(),
    cpc0.trainableWeights.map((w) => (w.read() as tf.Variable).name).sort(),
  );
  for (const [k, g] of Object.entries(grads)) {
    if (k.includes("recurrent_kernel")) assert(g.dataSync().every((v) => v === 0), k);
  }
  assert(Object.values(grads).every((g) => g.dataSync().every(Number.isFinite)));
  // a single-step TorchGRU on its own: gradient w.r.t. its input
  const gru1 = new TorchGRU({ units: 4, returnSequences: true, seed: 2 });
  const gx = tf.grad((v: tf.Tensor) => (gru1.apply(v) as tf.Tensor).sum())(tf.ones([2, 1, 3]));
  assertEquals(gx.shape, [2, 1, 3]);
  assert(gx.dataSync().some((v) => v !== 0));
  tf.dispose([one, zero, g1, ...outs, x0, s0, value, ...Object.values(grads), gx]);
  cpc0.dispose();
  // the prefix up to the latest start: steps 0..1
  const prefix = new TimePrefix().apply([seq, start]) as tf.Tensor;
  assertEquals(prefix.shape, [2, 2, 1]);
  assertEquals(Array.from(prefix.dataSync()), [1, 2, 5, 6]);
  assertEquals(new TimePrefix().computeOutputShape([[null, 4, 1], [null, 1]]), [null, null, 1]);
  tf.dispose([x, gu, seq, start, gg]);
});

/** PyTorch's GRU equations in float64, from h0 = 0: outputs `[n, t, h]`. */
function torchGruReference(
  x: Float32Array,
  [n, t, f]: number[],
  w: Float32Array,
  r: Float32Array,
  b: Float32Array,
  bh: Float32Array,
  h: number,
): Float64Array {
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const out = new Float64Array(n * t * h);
  for (let i = 0; i < n; i++) {
    let hp = new Float64Array(h);
    for (let s = 0; s < t; s++) {
      const xw = new Float64Array(3 * h), hw = new Float64Array(3 * h);
      for (let j = 0; j < 3 * h; j++) {
        let a = b[j], c = bh[j];
        for (let k = 0; k < f; k++) a += x[(i * t + s) * f + k] * w[k * 3 * h + j];
        for (let k = 0; k < h; k++) c += hp[k] * r[k * 3 * h + j];
        xw[j] = a;
        hw[j] = c;
      }
      const hn = new Float64Array(h);
      for (let j = 0; j < h; j++) {
        const rg = sig(xw[j] + hw[j]);
        const zg = sig(xw[h + j] + hw[h + j]);
        const ng = Math.tanh(xw[2 * h + j] + rg * hw[2 * h + j]);
        hn[j] = (1 - zg) * ng + zg * hp[j];
        out[(i * t + s) * h + j] = hn[j];
      }
      hp = hn;
    }
  }
  return out;
}

Deno.test("TorchGRU: PyTorch's equations (reset after the recurrent matmul, two biases) and a finite-difference gradient", async () => {
  await tf.setBackend("cpu");
  try {
    const [n, t, f, h] = [2, 5, 3, 4];
    const gru = new TorchGRU({ units: h, returnSequences: true, seed: 3 });
    const xv = seeded(n * t * f, 11);
    const x = tf.tensor3d(xv, [n, t, f]);
    const y = gru.apply(x) as tf.Tensor;
    assertEquals(y.shape, [n, t, h]);
    const ws = gru.getWeights().map((v) => v.dataSync() as Float32Array);
    assertEquals(gru.weights.map((v) => v.originalName.split("/").pop()), [
      "kernel",
      "recurrent_kernel",
      "bias",
      "recurrent_bias",
    ]);
    // non-zero biases, so both are exercised
    const bias = seeded(3 * h, 5, 0.5), rbias = seeded(3 * h, 6, 0.5);
    gru.setWeights([
      gru.getWeights()[0],
      gru.getWeights()[1],
      tf.tensor1d(bias),
      tf.tensor1d(rbias),
    ]);
    const ref = torchGruReference(xv, [n, t, f], ws[0], ws[1], bias, rbias, h);
    const got = (gru.apply(x) as tf.Tensor).dataSync();
    got.forEach((v, i) => assertAlmostEquals(v, ref[i], 1e-5));
    // last step only
    const last = new TorchGRU({ units: h, seed: 3 });
    last.apply(x);
    last.setWeights(gru.getWeights());
    const lastOut = (last.apply(x) as tf.Tensor).dataSync();
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < h; j++) {
        assertAlmostEquals(lastOut[i * h + j], ref[(i * t + t - 1) * h + j], 1e-5);
      }
    }
    // gradient of Σ y·pattern w.r.t. each weight vs a central difference of the float64 reference
    const pattern = seeded(n * t * h, 13);
    const vars = gru.trainableWeights.map((v) => v.read() as tf.Variable);
    const { grads } = tf.variableGrads(
      () => (gru.apply(x) as tf.Tensor).mul(tf.tensor3d(pattern, [n, t, h])).sum() as tf.Scalar,
      vars,
    );
    const vals = [ws[0], ws[1], bias, rbias].map((a) => Float32Array.from(a));
    const lossAt = (v: Float32Array[]) => {
      const o = torchGruReference(xv, [n, t, f], v[0], v[1], v[2], v[3], h);
      return o.reduce((s, q, i) => s + q * pattern[i], 0);
    };
    vars.forEach((v, k) => {
      const g = grads[v.name].dataSync();
      for (const j of [0, 5, vals[k].length - 1]) {
        const eps = 1e-3;
        const plus = vals.map((a) => Float64Array.from(a)) as unknown as Float32Array[];
        const minus = vals.map((a) => Float64Array.from(a)) as unknown as Float32Array[];
        plus[k][j] += eps;
        minus[k][j] -= eps;
        const fd = (lossAt(plus) - lossAt(minus)) / (2 * eps);
        assertAlmostEquals(g[j], fd, 1e-3 * Math.max(1, Math.abs(fd)), `${v.name}[${j}]`);
      }
    });
    // … and w.r.t. the input (the convolutions below the GRU learn through it)
    const gx = tf.grad((v: tf.Tensor) =>
      (gru.apply(v) as tf.Tensor).mul(tf.tensor3d(pattern, [n, t, h])).sum()
    )(x).dataSync();
    for (const j of [0, 7, xv.length - 1]) {
      const eps = 1e-3;
      const plus = Float64Array.from(xv), minus = Float64Array.from(xv);
      plus[j] += eps;
      minus[j] -= eps;
      const at = (v: Float64Array) =>
        torchGruReference(
          v as unknown as Float32Array,
          [n, t, f],
          vals[0],
          vals[1],
          vals[2],
          vals[3],
          h,
        )
          .reduce((a, q, i) => a + q * pattern[i], 0);
      const fd = (at(plus) - at(minus)) / (2 * eps);
      assertAlmostEquals(gx[j], fd, 1e-3 * Math.max(1, Math.abs(fd)), `dx[${j}]`);
    }
    // the last-step output's gradient (returnSequences false) vs the full one's last step
    const lastPattern = seeded(n * h, 17);
    const { grads: gl } = tf.variableGrads(
      () => (last.apply(x) as tf.Tensor).mul(tf.tensor2d(lastPattern, [n, h])).sum() as tf.Scalar,
      last.trainableWeights.map((v) => v.read() as tf.Variable),
    );
    const full = new Float32Array(n * t * h);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < h; j++) full[(i * t + t - 1) * h + j] = lastPattern[i * h + j];
    }
    const { grads: gf } = tf.variableGrads(
      () => (gru.apply(x) as tf.Tensor).mul(tf.tensor3d(full, [n, t, h])).sum() as tf.Scalar,
      vars,
    );
    const lastVals = Object.values(gl).map((g) => g.dataSync());
    Object.values(gf).forEach((g, k) =>
      g.dataSync().forEach((v, i) => assertAlmostEquals(lastVals[k][i], v, 1e-5))
    );
    // no tensor left behind by a forward + backward pass
    const before = tf.memory().numTensors;
    const { value: lv, grads: g2 } = tf.variableGrads(
      () => (gru.apply(x) as tf.Tensor).sum() as tf.Scalar,
      vars,
    );
    tf.dispose([lv, ...Object.values(g2)]);
    assertEquals(tf.memory().numTensors, before);
    tf.dispose([x, y, ...Object.values(grads), ...Object.values(gl), ...Object.values(gf)]);
  } finally {
    await initBackend({ verbose: false, threads: 1 });
  }
});

Deno.test("every encoder's gradients on the fast engines equal tfjs cpu's (1e-4 relative)", async () => {
  const w = syntheticWindows(4, 7);
  const xc = new Float32Array(4 * 100 * 3);
  for (let i = 0; i < 4; i++) {
    for (let c = 0; c < 3; c++) {
      for (let t = 0; t < 100; t++) xc[(i * 100 + t) * 3 + c] = w.x[(i * 3 + c) * 100 + t];
    }
  }
  const batch = { x: [xc], xShapes: [[4, 100, 3]] };
  const sq = (_y: tf.Tensor[], out: tf.Tensor[]) => out[0].square().mean() as tf.Scalar;
  for (
    const m of [
      tpnEncoder({ dropout: 0, seed: 1 }),
      cpcEncoder({ dropout: 0, gruDropout: 0, seed: 2 }),
      cpcEncoder({ dropout: 0, gruDropout: 0, seed: 3, recurrent: "tfjs-gru", gruUnits: 64 }),
      autoencoderEncoder({ seed: 4 }),
    ]
  ) {
    const checked = await checkGradientsAgainstCpu(m, sq, batch);
    assert(checked.length >= 1, `${m.name}: no fast engine checked`);
    m.dispose();
  }
});

Deno.test("argument checks name the field", () => {
  assertThrows(() => tpnEncoder({ kernelSizes: [24, 16] }), ConfigError, "kernelSizes");
  assertThrows(() => tpnEncoder({ inputSamples: 40 }), ConfigError, "too short");
  assertThrows(() => tpnEncoder({ dropout: 1 }), ConfigError, "dropout");
  assertThrows(() => cpcEncoder({ kernelSize: 4 }), ConfigError, "odd");
  assertThrows(() => cpcEncoder({ recurrent: "lstm" as never }), ConfigError, "recurrent");
  assertThrows(() => autoencoder({ inputSamples: 4 }), ConfigError, "pooled");
  assertThrows(() => multitask8Model({ tasks: ["flipped" as never] }), ConfigError, "unknown task");
  assertThrows(() => simclrModel({ projectionUnits: [] }), ConfigError, "projectionUnits");
});
