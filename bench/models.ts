/**
 * Benchmark model builders: the papers' model families at a fixed laptop
 * configuration, each with one Adam training step on seeded synthetic data.
 *
 * - `transformer`: the SelfPAB transformer encoder of lib/models/transformer.ts
 *   ({@link BENCH_TRANSFORMER}: 2 post-LN layers, d_model 128, 8 heads, FFN
 *   512, learned positions, no dropout) with its reconstruction head, on
 *   119×156 spectrogram frames, masked-reconstruction MSE, batch 32.
 * - `selfpab`: the SelfPAB CPU configuration ({@link BENCH_SELFPAB} =
 *   `SELFPAB_TRANSFORMER.cpu`: 4 post-LN layers, d_model 192, 6 heads, FFN
 *   512, sinusoidal positions, dropout 0.1, ≈ 1.45 M parameters) with its
 *   reconstruction head on full 599 × 156 windows altered by the TERA
 *   pretext (lib/pretext/tera.ts), SelfPAB's per-sample masked L1, batch 8:
 *   the attention cost of the real pre-training step.
 * - `resnet1d`: harnet-style 1-D ResNet (64→128→256 channels, kernel 5,
 *   batch norm, ~1 M parameters) on 3×300 windows, 6-class CE, batch 64.
 * - `multiresnet`: Gjoreski et al.'s Multi-ResNet of lib/models/multi_resnet.ts
 *   with its defaults ({@link BENCH_MULTIRESNET}: 20 Hz × 4 s = 80 raw
 *   samples per axis through 3 temporal residual blocks of 16/32/64 filters,
 *   plus a Conv1D over a 7×17 spectrogram per axis, dense 64/128), 3 axes,
 *   18 classes, batch 256. bench/torch_reference.py's `MultiResNet` has the
 *   same layers and trainable parameter count (348,008). The earlier 2-D-conv
 *   guess at this architecture is only on the PyTorch side, as
 *   `multiresnet2d-guess` (the `multiresnet` rows of PyTorch results measured
 *   before were that guess and are relabelled).
 * - `lstm`: 1-layer LSTM 128 on 3×100, 6 classes, batch 64.
 * - `cpc`: the "Don't freeze" CPC encoder of lib/models/dontfreeze_encoders.ts
 *   (`cpcEncoder()` with its defaults: 3 × [reflect pad 1 → Conv1D k3 no bias
 *   → ReLU → Dropout 0.2] of 32/64/128 filters → 2-layer PyTorch-convention
 *   GRU 256 with inter-layer dropout 0.2 → last step, 722,208 parameters)
 *   plus a Dense(6) softmax head, on 3 × 100 windows (channels-last
 *   `[batch, 100, 3]`), 6-class CE, batch 256 (the paper's laptop downstream
 *   batch). Its GRU is lib/models/gru.ts `torchGruSequence` (the heap kernels
 *   on the wasm backend). bench/torch_reference.py's `Cpc` has the same layers
 *   (`nn.Conv1d(bias=False, padding_mode="reflect")`, `nn.GRU(128, 256,
 *   num_layers=2, dropout=0.2)`) and trainable parameter count (723,750).
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
import { cpcEncoder } from "../lib/models/dontfreeze_encoders.ts";
import { harnetDense } from "../lib/models/heads.ts";
import { FastLSTM } from "../lib/models/lstm.ts";
import {
  multiResNet,
  type MultiResNetArgs,
  resolveMultiResNetArgs,
} from "../lib/models/multi_resnet.ts";
import {
  SELFPAB_TRANSFORMER,
  transformerEncoder,
  type TransformerEncoderArgs,
  withReconstructionHead,
} from "../lib/models/transformer.ts";
import { teraBatch } from "../lib/pretext/tera.ts";
import { maskedL1Loss } from "../lib/train/losses.ts";

/** Names of the benchmark models. */
export type BenchModelName =
  | "transformer"
  | "selfpab"
  | "resnet1d"
  | "multiresnet"
  | "lstm"
  | "cpc";

/** All benchmark models. */
export const BENCH_MODELS: readonly BenchModelName[] = [
  "transformer",
  "selfpab",
  "resnet1d",
  "multiresnet",
  "lstm",
  "cpc",
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

/** What each benchmark model is, for the benchmark's output. */
export const BENCH_MODEL_LABELS: Record<BenchModelName, string> = {
  transformer: "SelfPAB-style transformer, 2 layers d=128, 119×156 frames",
  selfpab: "SelfPAB transformer, CPU size (4 layers d=192), 599×156 frames, TERA masked L1",
  resnet1d: "harnet-style 1-D ResNet, 1 M params, 3×300",
  multiresnet:
    "Gjoreski et al.'s Multi-ResNet (lib/models/multi_resnet.ts defaults: 3 axes × 80 samples " +
    "+ 7×17 spectrograms, 3 blocks, 18 classes); PyTorch: the same layers",
  lstm: "LSTM 128, 3×100",
  cpc: "Don't-freeze CPC encoder (lib/models/dontfreeze_encoders.ts cpcEncoder defaults: 3 " +
    "reflect-padded convs 32/64/128 → 2-layer GRU 256, dropout 0.2) + Dense(6), 3×100; " +
    "PyTorch: the same layers",
};

/** Output classes of the classifiers (one-hot labels of {@link benchBatch}). */
export const BENCH_CLASSES: Partial<Record<BenchModelName, number>> = {
  resnet1d: 6,
  multiresnet: 18,
  lstm: 6,
  cpc: 6,
};

/** Default batch per model (the laptop configuration). */
export const DEFAULT_BATCH: Record<BenchModelName, number> = {
  transformer: 32,
  selfpab: 8,
  resnet1d: 64,
  multiresnet: 256,
  lstm: 64,
  cpc: 256,
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
    case "selfpab":
      return selfpab(seed);
    case "resnet1d":
      return layersReplica(resnet1d(seed));
    case "multiresnet":
      return layersReplica(multiResNet({ ...BENCH_MULTIRESNET, seed }));
    case "lstm":
      return layersReplica(lstm(seed));
    case "cpc":
      return layersReplica(cpc(seed));
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
    const k = BENCH_CLASSES[name] ?? 6;
    const labels = () =>
      tf.oneHot(tf.randomUniform([batch], 0, k, "int32", seed + 200) as tf.Tensor1D, k).toFloat();
    const rn = (s: number[], i: number) => tf.randomNormal(s, 0, 1, "float32", seed + 100 + i);
    switch (name) {
      case "transformer": {
        const { frames, inputSize } = BENCH_TRANSFORMER;
        const x = tf.randomNormal([batch, frames!, inputSize], 0, 1, "float32", seed + 100);
        // mask 20% of frames (zeroed in the input, reconstructed in the loss)
        const mask = tf.randomUniform([batch, frames!, 1], 0, 1, "float32", seed + 101).less(0.2)
          .toFloat();
        return { inputs: [x.mul(tf.scalar(1).sub(mask))], targets: [x, mask] };
      }
      case "selfpab": {
        // normalised-spectrogram-like frames, altered as SelfPAB pre-training does
        const { frames, inputSize } = BENCH_SELFPAB;
        const x = tf.randomNormal([batch, frames!, inputSize], 0, 1, "float32", seed + 100);
        const b = teraBatch({ data: x.dataSync() as Float32Array, shape: x.shape }, { seed });
        return {
          inputs: [tf.tensor(b.input.data, b.input.shape)],
          targets: [tf.tensor(b.target.data, b.target.shape), tf.tensor(b.mask.data, b.mask.shape)],
        };
      }
      case "resnet1d":
        return { inputs: [rn([batch, 300, 3], 0)], targets: [labels()] };
      case "multiresnet": {
        const a = resolveMultiResNetArgs(BENCH_MULTIRESNET);
        const s = a.spectral!;
        return {
          inputs: [
            rn([batch, a.windowLength, a.channels], 0),
            rn([batch, s.frames, s.bins, a.channels], 1),
          ],
          targets: [labels()],
        };
      }
      case "lstm":
      case "cpc":
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

/**
 * The CPC benchmark classifier: lib/models/dontfreeze_encoders.ts
 * `cpcEncoder` with its defaults (`[batch, 100, 3]` → `[batch, 256]`, training
 * mode: its dropouts active) and a Dense(6) logit layer (PyTorch `nn.Linear`
 * init), one flat functional model.
 */
function cpc(seed: number): tf.LayersModel {
  const enc = cpcEncoder({ seed });
  const out = harnetDense("classifier_logits", BENCH_CLASSES.cpc!, seed + 1, false, "torch")
    .apply(enc.outputs[0]) as tf.SymbolicTensor;
  return tf.model({ inputs: enc.inputs, outputs: out, name: "bench_cpc" });
}

/** Softmax cross-entropy of logits against one-hot labels. */
const crossEntropy = (logits: tf.Tensor, [labels]: tf.Tensor[]) =>
  tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;

/** Masked MSE averaged over all values: targets [clean input, frame mask]. */
const maskedMse = (rec: tf.Tensor, [x, mask]: tf.Tensor[]) =>
  rec.sub(x).square().mul(mask).mean() as tf.Scalar;

function layersReplica(
  model: tf.LayersModel,
  loss: (out: tf.Tensor, targets: tf.Tensor[]) => tf.Scalar = crossEntropy,
): ParallelModel {
  return {
    trainable: model.trainableWeights.map((w) => w.read() as tf.Variable),
    state: model.nonTrainableWeights.map((w) => w.read() as tf.Variable),
    loss(xs, targets) {
      const out = model.apply(xs.length === 1 ? xs[0] : xs, { training: true }) as tf.Tensor;
      return loss(out, targets);
    },
    dispose: () => model.dispose(),
  };
}

/**
 * The transformer benchmark configuration: lib/models/transformer.ts with
 * the shapes of bench/torch_reference.py's `Transformer` (learned positional
 * table, no dropout, torch's post-LN layers) on 119 × 156 frames.
 */
export const BENCH_TRANSFORMER: TransformerEncoderArgs = {
  inputSize: 156,
  frames: 119,
  dModel: 128,
  numHeads: 8,
  dimFeedforward: 512,
  numLayers: 2,
  dropout: 0,
  positionalEncoding: "learned",
};

/**
 * The Multi-ResNet benchmark configuration: lib/models/multi_resnet.ts with
 * its defaults at the experiment's 20 Hz (4 s = 80 samples, 3 axes, 3
 * blocks, spectrograms of 7 frames × 17 bins per axis), 18 classes (as
 * bench/torch_reference.py's `MultiResNet`).
 */
export const BENCH_MULTIRESNET: MultiResNetArgs = { windowLength: 80, numClasses: 18 };

function transformer(seed: number): ParallelModel {
  const model = withReconstructionHead(transformerEncoder({ ...BENCH_TRANSFORMER, seed }), {
    seed: seed + 1,
  });
  return layersReplica(model, maskedMse);
}

/**
 * The SelfPAB benchmark configuration: the spec's CPU model (§7,
 * `SELFPAB_TRANSFORMER.cpu`: d_model 192, 4 layers, 6 heads, FFN 512,
 * dropout 0.1, sinusoidal positions) on 599 × 156 frames, as
 * bench/torch_reference.py's `SelfPAB`.
 */
export const BENCH_SELFPAB: TransformerEncoderArgs = { ...SELFPAB_TRANSFORMER.cpu };

/** SelfPAB's masked L1 (per-sample normalised, batch mean): targets [clean input, loss mask]. */
const selfpabL1 = maskedL1Loss();

function selfpab(seed: number): ParallelModel {
  const model = withReconstructionHead(transformerEncoder({ ...BENCH_SELFPAB, seed }), {
    seed: seed + 1,
  });
  return layersReplica(model, (rec, targets) => selfpabL1(targets, [rec]));
}
