/**
 * Model factory for parallel_test.ts (loaded by the trainer's workers): a
 * small seeded conv1d → (batch norm) → dense classifier on [batch, 24, 3].
 */
import * as tf from "@tensorflow/tfjs";
import type { ParallelModel } from "../../lib/backend/parallel.ts";

/** Arguments of {@link build}. */
export interface TinyModelArgs {
  /** Seed of the weight initialisers. */
  seed: number;
  /** Insert a batch-norm layer after the convolution. */
  batchNorm?: boolean;
}

/** Build the replica: softmax cross-entropy of one-hot float targets. */
export function build(args: TinyModelArgs): ParallelModel {
  const inp = tf.input({ shape: [24, 3] });
  let x = tf.layers.conv1d({
    filters: 8,
    kernelSize: 5,
    strides: 2,
    padding: "same",
    kernelInitializer: tf.initializers.heNormal({ seed: args.seed }),
  }).apply(inp) as tf.SymbolicTensor;
  if (args.batchNorm) x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({
    units: 4,
    kernelInitializer: tf.initializers.glorotUniform({ seed: args.seed + 1 }),
  }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: inp, outputs: out });
  return {
    trainable: model.trainableWeights.map((w) => w.read() as tf.Variable),
    state: model.nonTrainableWeights.map((w) => w.read() as tf.Variable),
    loss: ([xb], [yb]) =>
      tf.losses.softmaxCrossEntropy(
        yb,
        model.apply(xb, { training: true }) as tf.Tensor,
      ) as tf.Scalar,
    dispose: () => model.dispose(),
  };
}

/** A deterministic batch: inputs [n, 24, 3] and one-hot targets [n, 4]. */
export function tinyBatch(n: number, seed: number): { x: tf.Tensor; y: tf.Tensor } {
  return tf.tidy(() => ({
    x: tf.randomNormal([n, 24, 3], 0, 1, "float32", seed),
    y: tf.oneHot(tf.randomUniform([n], 0, 4, "int32", seed + 1) as tf.Tensor1D, 4).toFloat(),
  }));
}
