/**
 * Benchmark model builders: the papers' model families at a fixed laptop
 * configuration, each with one Adam training step on seeded synthetic data.
 *
 * - `transformer`: SelfPAB-style 2-layer encoder, d_model 128, 8 heads, FFN
 *   512, on 119×156 spectrogram frames, masked-reconstruction MSE, batch 32.
 * - `resnet1d`: harnet-style 1-D ResNet (64→128→256 channels, kernel 5,
 *   batch norm, ~1 M parameters) on 3×300 windows, 6-class CE, batch 64.
 * - `multiresnet`: Gjoreski-style two-branch ResNet: raw 3×100 (1-D convs) +
 *   3-axis spectrograms 33×13 (2-D convs), 6 classes, batch 256.
 * - `lstm`: 1-layer LSTM 128 on 3×100, 6 classes, batch 64.
 *
 * @example
 * ```ts
 * const m = buildBenchModel("resnet1d", { seed: 1 });
 * const loss = m.step(); m.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ParallelModel } from "../lib/backend/parallel.ts";
import { batchNormalization } from "../lib/models/batchnorm.ts";
import { FastLSTM } from "../lib/models/lstm.ts";

/** Names of the benchmark models. */
export type BenchModelName = "transformer" | "resnet1d" | "multiresnet" | "lstm";

/** All benchmark models. */
export const BENCH_MODELS: readonly BenchModelName[] = [
  "transformer",
  "resnet1d",
  "multiresnet",
  "lstm",
];

/** Options for {@link buildBenchModel}. */
export interface BenchModelOptions {
  /** Seed for weights and synthetic data. Default 1. */
  seed?: number;
  /** Batch size (samples per step). Default: the model's laptop config. */
  batch?: number;
  /** Adam learning rate. Default 1e-3. */
  learningRate?: number;
}

/** A model ready to train on a fixed synthetic batch. */
export interface BenchModel {
  name: BenchModelName;
  /** Samples per step. */
  batch: number;
  /** Trainable parameter count. */
  params: number;
  /** One Adam step; returns the loss before the update. */
  step(): number;
  /** Free weights, optimizer state and data. */
  dispose(): void;
}

/** Default batch per model (the laptop configuration). */
export const DEFAULT_BATCH: Record<BenchModelName, number> = {
  transformer: 32,
  resnet1d: 64,
  multiresnet: 256,
  lstm: 64,
};

/** Arguments of {@link benchReplica} (structured-clonable: sent to workers). */
export interface BenchReplicaArgs {
  /** Which model. */
  name: BenchModelName;
  /** Seed of the weight initialisers. Default 1. */
  seed?: number;
}

/**
 * The model's variables and loss, without data or optimizer: the factory
 * `DataParallelTrainer` workers call (lib/backend/parallel.ts), also used by
 * {@link buildBenchModel}. Inputs and targets are those of {@link benchBatch}.
 */
export function benchReplica(args: BenchReplicaArgs): ParallelModel {
  const seed = args.seed ?? 1;
  switch (args.name) {
    case "transformer":
      return transformer(seed);
    case "resnet1d":
      return layersReplica(resnet1d(seed));
    case "multiresnet":
      return layersReplica(multiResNet(seed));
    case "lstm":
      return layersReplica(lstm(seed));
    default:
      throw new Error(`benchReplica: unknown model '${(args as { name: string }).name}'`);
  }
}

/** A seeded synthetic batch of the model's laptop configuration. */
export interface BenchBatch {
  /** Model inputs (transformer: the masked spectrogram). */
  inputs: tf.Tensor[];
  /** Targets (classifiers: one-hot labels; transformer: clean input and frame mask). */
  targets: tf.Tensor[];
}

/** Synthetic data for one model: `batch` samples from `seed`. */
export function benchBatch(name: BenchModelName, batch: number, seed: number): BenchBatch {
  return tf.tidy(() => {
    const labels = () =>
      tf.oneHot(tf.randomUniform([batch], 0, 6, "int32", seed + 200) as tf.Tensor1D, 6).toFloat();
    const rn = (s: number[], i: number) => tf.randomNormal(s, 0, 1, "float32", seed + 100 + i);
    switch (name) {
      case "transformer": {
        const x = tf.randomNormal([batch, 119, 156], 0, 1, "float32", seed + 100);
        // mask 20% of frames (zeroed in the input, reconstructed in the loss)
        const mask = tf.randomUniform([batch, 119, 1], 0, 1, "float32", seed + 101).less(0.2)
          .toFloat();
        return { inputs: [x.mul(tf.scalar(1).sub(mask))], targets: [x, mask] };
      }
      case "resnet1d":
        return { inputs: [rn([batch, 300, 3], 0)], targets: [labels()] };
      case "multiresnet":
        return { inputs: [rn([batch, 100, 3], 0), rn([batch, 33, 13, 3], 1)], targets: [labels()] };
      case "lstm":
        return { inputs: [rn([batch, 100, 3], 0)], targets: [labels()] };
    }
  });
}

/** Build one benchmark model on the current tfjs backend. */
export function buildBenchModel(name: BenchModelName, opts: BenchModelOptions = {}): BenchModel {
  const seed = opts.seed ?? 1;
  const batch = opts.batch ?? DEFAULT_BATCH[name];
  const lr = opts.learningRate ?? 1e-3;
  const replica = benchReplica({ name, seed });
  const data = benchBatch(name, batch, seed);
  const opt = tf.train.adam(lr);
  return {
    name,
    batch,
    params: replica.trainable.reduce((a, v) => a + v.size, 0),
    step() {
      const loss = opt.minimize(
        () => replica.loss(data.inputs, data.targets),
        true,
        replica.trainable,
      )!;
      const v = loss.dataSync()[0];
      loss.dispose();
      return v;
    },
    dispose() {
      opt.dispose();
      replica.dispose?.();
      tf.dispose([...data.inputs, ...data.targets]);
    },
  };
}

const init = (seed: number) => tf.initializers.heNormal({ seed });

function convBn1d(
  x: tf.SymbolicTensor,
  filters: number,
  stride: number,
  seed: number,
  relu: boolean,
): tf.SymbolicTensor {
  let y = tf.layers.conv1d({
    filters,
    kernelSize: 5,
    strides: stride,
    padding: "same",
    useBias: false,
    kernelInitializer: init(seed),
  }).apply(x) as tf.SymbolicTensor;
  y = batchNormalization().apply(y) as tf.SymbolicTensor;
  return relu ? tf.layers.reLU().apply(y) as tf.SymbolicTensor : y;
}

function resBlock1d(x: tf.SymbolicTensor, filters: number, seed: number): tf.SymbolicTensor {
  const y = convBn1d(convBn1d(x, filters, 1, seed, true), filters, 1, seed + 1, false);
  return tf.layers.reLU().apply(tf.layers.add().apply([x, y])) as tf.SymbolicTensor;
}

function resnet1d(seed: number): tf.LayersModel {
  const inp = tf.input({ shape: [300, 3] });
  let x = convBn1d(inp, 64, 1, seed, true);
  x = resBlock1d(x, 64, seed + 10);
  x = convBn1d(x, 128, 2, seed + 20, true);
  x = resBlock1d(x, 128, seed + 30);
  x = convBn1d(x, 256, 2, seed + 40, true);
  x = resBlock1d(x, 256, seed + 50);
  x = tf.layers.globalAveragePooling1d().apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 6, kernelInitializer: init(seed + 60) }).apply(x);
  return tf.model({ inputs: inp, outputs: out as tf.SymbolicTensor });
}

function resBlock2d(x: tf.SymbolicTensor, filters: number, seed: number): tf.SymbolicTensor {
  const conv = (z: tf.SymbolicTensor, s: number) =>
    batchNormalization().apply(
      tf.layers.conv2d({
        filters,
        kernelSize: 3,
        padding: "same",
        useBias: false,
        kernelInitializer: init(s),
      }).apply(z),
    ) as tf.SymbolicTensor;
  const y = conv(tf.layers.reLU().apply(conv(x, seed)) as tf.SymbolicTensor, seed + 1);
  return tf.layers.reLU().apply(tf.layers.add().apply([x, y])) as tf.SymbolicTensor;
}

function multiResNet(seed: number): tf.LayersModel {
  const raw = tf.input({ shape: [100, 3] });
  let a = convBn1d(raw, 32, 1, seed, true);
  a = resBlock1d(a, 32, seed + 10);
  a = convBn1d(a, 64, 2, seed + 20, true);
  a = resBlock1d(a, 64, seed + 30);
  a = tf.layers.globalAveragePooling1d().apply(a) as tf.SymbolicTensor;
  const spec = tf.input({ shape: [33, 13, 3] });
  let b = tf.layers.conv2d({
    filters: 32,
    kernelSize: 3,
    padding: "same",
    kernelInitializer: init(seed + 40),
  }).apply(spec) as tf.SymbolicTensor;
  b = resBlock2d(b, 32, seed + 50);
  b = tf.layers.globalAveragePooling2d({}).apply(b) as tf.SymbolicTensor;
  let x = tf.layers.concatenate().apply([a, b]) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 128, activation: "relu", kernelInitializer: init(seed + 60) })
    .apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 6, kernelInitializer: init(seed + 70) }).apply(x);
  return tf.model({ inputs: [raw, spec], outputs: out as tf.SymbolicTensor });
}

function lstm(seed: number): tf.LayersModel {
  const inp = tf.input({ shape: [100, 3] });
  // fused LSTM (lib/models/lstm.ts): same args, weights and math as tf.layers.lstm
  const h = new FastLSTM({
    units: 128,
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
    recurrentInitializer: tf.initializers.orthogonal({ seed: seed + 1 }),
  }).apply(inp) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 6, kernelInitializer: init(seed + 2) }).apply(h);
  return tf.model({ inputs: inp, outputs: out as tf.SymbolicTensor });
}

function layersReplica(model: tf.LayersModel): ParallelModel {
  return {
    trainable: model.trainableWeights.map((w) => w.read() as tf.Variable),
    state: model.nonTrainableWeights.map((w) => w.read() as tf.Variable),
    loss(xs, [labels]) {
      const logits = model.apply(xs.length === 1 ? xs[0] : xs, { training: true }) as tf.Tensor;
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    },
    dispose: () => model.dispose(),
  };
}

/** SelfPAB-style transformer encoder written with tfjs ops (tfjs-layers has no attention layer). */
function transformer(seed: number): ParallelModel {
  const T = 119, F = 156, D = 128, H = 8, FF = 512, L = 2, dh = D / H;
  let s = seed;
  const w = (shape: number[], fanIn: number) =>
    tf.variable(tf.randomNormal(shape, 0, Math.sqrt(1 / fanIn), "float32", s++));
  const zeros = (n: number) => tf.variable(tf.zeros([n]));
  const ones = (n: number) => tf.variable(tf.ones([n]));
  const inW = w([F, D], F), inB = zeros(D);
  const pos = w([T, D], D);
  const layers = Array.from({ length: L }, () => ({
    qkv: w([D, 3 * D], D),
    qkvB: zeros(3 * D),
    o: w([D, D], D),
    oB: zeros(D),
    g1: ones(D),
    b1: zeros(D),
    f1: w([D, FF], D),
    f1B: zeros(FF),
    f2: w([FF, D], FF),
    f2B: zeros(D),
    g2: ones(D),
    b2: zeros(D),
  }));
  const outW = w([D, F], D), outB = zeros(F);
  const layerNorm = (z: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(z, -1, true);
    return z.sub(mean).div(variance.add(1e-5).sqrt()).mul(g).add(b);
  };
  const dense = (z: tf.Tensor2D, W: tf.Tensor, b: tf.Tensor, act?: "relu") =>
    tf.fused.matMul({ a: z, b: W as tf.Tensor2D, bias: b, activation: act ?? "linear" });
  // inputs: [xIn] masked frames; targets: [x, mask]; loss: masked MSE averaged over all values
  const loss = ([xIn]: tf.Tensor[], [x, mask]: tf.Tensor[]) => {
    const batch = xIn.shape[0];
    let h = dense(xIn.reshape([batch * T, F]), inW, inB).reshape([batch, T, D]).add(pos);
    for (const p of layers) {
      const h2 = h.reshape([batch * T, D]) as tf.Tensor2D;
      const qkv = dense(h2, p.qkv, p.qkvB).reshape([batch, T, 3, H, dh]).transpose([2, 0, 3, 1, 4]);
      const [q, k, v] = tf.unstack(qkv, 0);
      const att = tf.softmax(tf.matMul(q, k, false, true).mul(1 / Math.sqrt(dh)));
      const ctx = tf.matMul(att, v).transpose([0, 2, 1, 3]).reshape([batch * T, D]) as tf.Tensor2D;
      h = layerNorm(h.add(dense(ctx, p.o, p.oB).reshape([batch, T, D])), p.g1, p.b1);
      const f1 = dense(
        h.reshape([batch * T, D]) as tf.Tensor2D,
        p.f1,
        p.f1B,
        "relu",
      ) as tf.Tensor2D;
      const ff = dense(f1, p.f2, p.f2B);
      h = layerNorm(h.add(ff.reshape([batch, T, D])), p.g2, p.b2);
    }
    const rec = dense(h.reshape([batch * T, D]) as tf.Tensor2D, outW, outB).reshape([batch, T, F]);
    return rec.sub(x).square().mul(mask).mean() as tf.Scalar;
  };
  const vars = [inW, inB, pos, ...layers.flatMap((p) => Object.values(p)), outW, outB];
  return { trainable: vars, loss, dispose: () => tf.dispose(vars) };
}
