/**
 * Gjoreski et al.'s spectro-temporal Multi-ResNet ("Cross-dataset Deep
 * Transfer Learning for Activity Recognition", UbiComp/ISWC '19 Adjunct;
 * sizes from ../shared/specs/multiresnet-transfer.md §2.3, since the paper
 * gives none) as a serialisable `tf.LayersModel`.
 *
 * One branch pair per sensor axis c, with its own (unshared) weights:
 *
 * ```
 * temporal (raw [T] of axis c):
 *   block 1: BN(input) → [Conv1D(16, k=8, same) → BN → ReLU → Conv1D(16, 5) → BN → ReLU
 *            → Conv1D(16, 3) → BN] + [Conv1D(16, 1) → BN] → add → ReLU → MaxPool1D(3, 2, valid)
 *   block b: the same without the input BN, filters min(16·2^(b−1), 64)
 *   → flatten
 * spectral (spectrogram [frames, bins] of axis c, computed outside the model):
 *   Conv1D(16, k=3, same) over frames with the bins as channels → BN → ReLU → flatten
 *   (or Conv2D(16, (3, 1)) over [frames, bins, 1])
 * head: concat over axes of [temporal_c, spectral_c] → Dropout(0.25) → Dense(64, ReLU, L2 1e-3)
 *   → Dropout → Dense(128, ReLU, L2 1e-3) → Dropout → Dense(numClasses)
 * ```
 *
 * Layers of temporal residual block b (1-based, nearest the input first) of
 * axis c are named `block{b}_ch{c}_…` (`block1_ch0_input_bn`,
 * `block2_ch1_conv3`, `block3_ch2_short_bn`, …): "the first k blocks"
 * are the weights whose names start with {@link multiResNetBlockPrefixes}`(k)`
 * (block 1 includes the input batch norm), a selector for
 * lib/train/freeze.ts (`freeze`, `transferWeights`; `firstKBlocks(k)` reads
 * the same numbers). The spectral branch is `spec_ch{c}_…`, the head
 * `head_…`, the output layer `head_logits`.
 *
 * Inputs: `raw` `[batch, windowLength, channels]` (channels-last) and, unless
 * `spectral: false`, `spectrogram` `[batch, frames, bins, channels]`.
 * Initialisation is Keras' (Glorot-uniform kernels, zero biases), seeded per
 * layer; batch norm momentum 0.99, ε 1e-3 (Keras/tfjs defaults). The L2
 * penalty is a tfjs kernel regulariser on the dense layers:
 * `model.calculateLosses()` returns it (tfjs' `model.fit` adds it; a custom
 * loop must add it itself).
 *
 * @example
 * ```ts
 * const model = multiResNet({ windowLength: 80, numClasses: 18 }); // 20 Hz × 4 s, 3 axes
 * model.inputs.map((i) => i.shape); // [[null, 80, 3], [null, 7, 17, 3]]
 * freeze(model, multiResNetBlockPrefixes(2)); // blocks 1–2 of every axis
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../errors.ts";
import { batchNormalization } from "./batchnorm.ts";
import { layerSeed } from "./heads.ts";
import { ChannelSlice } from "./layers.ts";

/** The spectral branch's convolution: Conv1D over frames (bins as channels) or Conv2D (k × 1). */
export type SpectralConvMode = "conv1d" | "conv2d";

/** Arguments of the spectral branch ({@link MultiResNetArgs.spectral}). */
export interface MultiResNetSpectralArgs {
  /**
   * STFT length in samples the spectrogram was computed with (default 32:
   * 1.6 s at 20 Hz, periodic Hann, no padding). Only used to derive
   * `frames` and `bins`.
   */
  nFft?: number;
  /** STFT hop in samples (default 8). Only used to derive `frames`. */
  hop?: number;
  /** Spectrogram frames per window (default `1 + floor((windowLength − nFft) / hop)`: 7 at T = 80). */
  frames?: number;
  /** Frequency bins per frame (default `nFft / 2 + 1` = 17). */
  bins?: number;
  /** Filters of the spectral convolution (default 16). */
  filters?: number;
  /** Kernel size along frames (default 3). */
  kernelSize?: number;
  /** Convolution layout (default `"conv1d"`, the paper's "1D convolutional layer"). */
  mode?: SpectralConvMode;
}

/** Arguments of {@link multiResNet}. */
export interface MultiResNetArgs {
  /** Samples per window and axis (4 s at 20 Hz = 80; the paper's 25 Hz = 100). */
  windowLength: number;
  /** Output classes. */
  numClasses: number;
  /** Sensor axes, one branch pair each (default 3: x, y, z). */
  channels?: number;
  /** Temporal residual blocks per axis, K (default 3). */
  numBlocks?: number;
  /** Filters of every convolution in block 1 (default 16); doubled per block up to {@link maxFilters}. */
  filters?: number;
  /** Cap of the per-block filter count (default 64). */
  maxFilters?: number;
  /** Kernel sizes (samples) of the convolutions of a block, in order; their count is the convolutions per block (default [8, 5, 3]). */
  kernelSizes?: number[];
  /** Max-pooling window in samples after every block (default 3). */
  poolSize?: number;
  /** Max-pooling stride in samples (default 2). */
  poolStride?: number;
  /** Batch norm on the raw input at the start of block 1 (default true). */
  inputBatchNorm?: boolean;
  /** The spectral branch (default: on, with the defaults of {@link MultiResNetSpectralArgs}); false: raw input only. */
  spectral?: MultiResNetSpectralArgs | false;
  /** Units of the dense layers of the head, in order (default [64, 128]). */
  dense?: number[];
  /** Dropout probability before each dense layer and the output (default 0.25). */
  dropout?: number;
  /** L2 factor λ on the dense kernels, `λ·Σw²` (default 1e-3; 0: none). */
  l2?: number;
  /** Batch norm after each hidden dense layer (default false: the paper does not mention it). */
  denseBatchNorm?: boolean;
  /** Output activation (default `"linear"`: logits, for fit's cross-entropy; `"softmax"`: the paper's output). */
  outputActivation?: "linear" | "softmax";
  /** Batch-norm momentum of the moving statistics (default 0.99, Keras'). */
  batchNormMomentum?: number;
  /** Batch-norm variance epsilon (default 1e-3, Keras'). */
  batchNormEpsilon?: number;
  /** Seed of the weight initialisation (default 0). */
  seed?: number;
  /** Model name (default `"multi_resnet"`). */
  name?: string;
}

/** {@link MultiResNetArgs} with the defaults filled in and the derived sizes. */
export interface ResolvedMultiResNetArgs extends Required<Omit<MultiResNetArgs, "spectral">> {
  /** The spectral branch with every size, or null when disabled. */
  spectral: Required<MultiResNetSpectralArgs> | null;
  /** Filters of blocks 1..K. */
  blockFilters: number[];
  /** Temporal length after each block (index 0 = input length): 80 → 39 → 19 → 9. */
  blockLengths: number[];
}

function positiveInt(what: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) {
    throw new ConfigError(`multiResNet ${what}: must be a positive integer, got ${v}`);
  }
  return v as number;
}

/** Validate `args`, fill in defaults and derive block sizes; throws a ConfigError naming the field. */
export function resolveMultiResNetArgs(args: MultiResNetArgs): ResolvedMultiResNetArgs {
  const windowLength = positiveInt("windowLength", args.windowLength);
  const numClasses = positiveInt("numClasses", args.numClasses);
  const channels = positiveInt("channels", args.channels ?? 3);
  const numBlocks = positiveInt("numBlocks", args.numBlocks ?? 3);
  const filters = positiveInt("filters", args.filters ?? 16);
  const maxFilters = positiveInt("maxFilters", args.maxFilters ?? 64);
  const kernelSizes = args.kernelSizes ?? [8, 5, 3];
  if (kernelSizes.length === 0) throw new ConfigError("multiResNet kernelSizes: empty");
  kernelSizes.forEach((k, i) => positiveInt(`kernelSizes[${i}]`, k));
  const poolSize = positiveInt("poolSize", args.poolSize ?? 3);
  const poolStride = positiveInt("poolStride", args.poolStride ?? 2);
  const blockLengths = [windowLength];
  for (let b = 1; b <= numBlocks; b++) {
    const len = Math.floor((blockLengths[b - 1] - poolSize) / poolStride) + 1;
    if (len < 1) {
      throw new ConfigError(
        `multiResNet: block ${b} pools ${
          blockLengths[b - 1]
        } samples with a window of ${poolSize} ` +
          `to nothing (windowLength ${windowLength} supports fewer than ${numBlocks} blocks)`,
      );
    }
    blockLengths.push(len);
  }
  const blockFilters = Array.from(
    { length: numBlocks },
    (_, b) => Math.min(filters * 2 ** b, maxFilters),
  );
  let spectral: Required<MultiResNetSpectralArgs> | null = null;
  if (args.spectral !== false) {
    const s = args.spectral ?? {};
    const nFft = positiveInt("spectral.nFft", s.nFft ?? 32);
    const hop = positiveInt("spectral.hop", s.hop ?? 8);
    if (s.frames === undefined && windowLength < nFft) {
      throw new ConfigError(
        `multiResNet spectral: windowLength ${windowLength} is shorter than nFft ${nFft}`,
      );
    }
    const mode = s.mode ?? "conv1d";
    if (mode !== "conv1d" && mode !== "conv2d") {
      throw new ConfigError(`multiResNet spectral.mode: must be conv1d or conv2d, got ${mode}`);
    }
    spectral = {
      nFft,
      hop,
      frames: positiveInt(
        "spectral.frames",
        s.frames ?? 1 + Math.floor((windowLength - nFft) / hop),
      ),
      bins: positiveInt("spectral.bins", s.bins ?? Math.floor(nFft / 2) + 1),
      filters: positiveInt("spectral.filters", s.filters ?? 16),
      kernelSize: positiveInt("spectral.kernelSize", s.kernelSize ?? 3),
      mode,
    };
  }
  const dense = args.dense ?? [64, 128];
  dense.forEach((u, i) => positiveInt(`dense[${i}]`, u));
  const dropout = args.dropout ?? 0.25;
  if (!(dropout >= 0 && dropout < 1)) {
    throw new ConfigError(`multiResNet dropout: must be in [0, 1), got ${dropout}`);
  }
  const l2 = args.l2 ?? 1e-3;
  if (!(l2 >= 0)) throw new ConfigError(`multiResNet l2: must be >= 0, got ${l2}`);
  const outputActivation = args.outputActivation ?? "linear";
  if (outputActivation !== "linear" && outputActivation !== "softmax") {
    throw new ConfigError(
      `multiResNet outputActivation: must be linear or softmax, got ${outputActivation}`,
    );
  }
  return {
    windowLength,
    numClasses,
    channels,
    numBlocks,
    filters,
    maxFilters,
    kernelSizes,
    poolSize,
    poolStride,
    inputBatchNorm: args.inputBatchNorm ?? true,
    spectral,
    dense,
    dropout,
    l2,
    denseBatchNorm: args.denseBatchNorm ?? false,
    outputActivation,
    batchNormMomentum: args.batchNormMomentum ?? 0.99,
    batchNormEpsilon: args.batchNormEpsilon ?? 1e-3,
    seed: args.seed ?? 0,
    name: args.name ?? "multi_resnet",
    blockFilters,
    blockLengths,
  };
}

type Sym = tf.SymbolicTensor;

/** Build the Multi-ResNet (see the module doc). */
export function multiResNet(args: MultiResNetArgs): tf.LayersModel {
  const a = resolveMultiResNetArgs(args);
  const glorot = (name: string) => tf.initializers.glorotUniform({ seed: layerSeed(a.seed, name) });
  const bn = (x: Sym, name: string) =>
    batchNormalization({ name, momentum: a.batchNormMomentum, epsilon: a.batchNormEpsilon })
      .apply(x) as Sym;
  const relu = (x: Sym, name: string) => tf.layers.reLU({ name }).apply(x) as Sym;
  const conv1d = (x: Sym, name: string, filters: number, kernelSize: number) =>
    tf.layers.conv1d({
      name,
      filters,
      kernelSize,
      padding: "same",
      kernelInitializer: glorot(name),
    })
      .apply(x) as Sym;

  const raw = tf.input({ shape: [a.windowLength, a.channels], name: "raw" });
  const spec = a.spectral
    ? tf.input({ shape: [a.spectral.frames, a.spectral.bins, a.channels], name: "spectrogram" })
    : null;
  const features: Sym[] = [];
  for (let c = 0; c < a.channels; c++) {
    let x = new ChannelSlice({ channel: c, name: `raw_ch${c}` }).apply(raw) as Sym;
    for (let b = 1; b <= a.numBlocks; b++) {
      const p = `block${b}_ch${c}_`;
      const f = a.blockFilters[b - 1];
      if (b === 1 && a.inputBatchNorm) x = bn(x, `${p}input_bn`);
      let y = x;
      a.kernelSizes.forEach((k, j) => {
        y = bn(conv1d(y, `${p}conv${j + 1}`, f, k), `${p}bn${j + 1}`);
        if (j < a.kernelSizes.length - 1) y = relu(y, `${p}relu${j + 1}`);
      });
      const short = bn(conv1d(x, `${p}short_conv`, f, 1), `${p}short_bn`);
      x = relu(tf.layers.add({ name: `${p}add` }).apply([y, short]) as Sym, `${p}out_relu`);
      x = tf.layers.maxPooling1d({
        name: `${p}pool`,
        poolSize: a.poolSize,
        strides: a.poolStride,
        padding: "valid",
      }).apply(x) as Sym;
    }
    features.push(tf.layers.flatten({ name: `temporal_ch${c}_flatten` }).apply(x) as Sym);
    if (spec && a.spectral) {
      const s = a.spectral, p = `spec_ch${c}_`;
      const conv2d = s.mode === "conv2d";
      let z = new ChannelSlice({ channel: c, keepDims: conv2d, name: `${p}select` })
        .apply(spec) as Sym;
      z = conv2d
        ? tf.layers.conv2d({
          name: `${p}conv`,
          filters: s.filters,
          kernelSize: [s.kernelSize, 1],
          padding: "same",
          kernelInitializer: glorot(`${p}conv`),
        }).apply(z) as Sym
        : conv1d(z, `${p}conv`, s.filters, s.kernelSize);
      z = relu(bn(z, `${p}bn`), `${p}relu`);
      features.push(tf.layers.flatten({ name: `${p}flatten` }).apply(z) as Sym);
    }
  }
  let h = features.length > 1
    ? tf.layers.concatenate({ name: "head_concat" }).apply(features) as Sym
    : features[0];
  const drop = (x: Sym, i: number) =>
    a.dropout > 0
      ? tf.layers.dropout({ rate: a.dropout, name: `head_dropout${i}` }).apply(x) as Sym
      : x;
  h = drop(h, 0);
  a.dense.forEach((units, i) => {
    const name = `head_dense${i + 1}`;
    h = tf.layers.dense({
      name,
      units,
      activation: "relu",
      kernelInitializer: glorot(name),
      kernelRegularizer: a.l2 > 0 ? tf.regularizers.l2({ l2: a.l2 }) : undefined,
    }).apply(h) as Sym;
    if (a.denseBatchNorm) h = bn(h, `head_bn${i + 1}`);
    h = drop(h, i + 1);
  });
  const out = tf.layers.dense({
    name: "head_logits",
    units: a.numClasses,
    activation: a.outputActivation,
    kernelInitializer: glorot("head_logits"),
  }).apply(h) as Sym;
  return tf.model({ inputs: spec ? [raw, spec] : [raw], outputs: out, name: a.name });
}

/**
 * Layer-name prefixes of the first `k` temporal residual blocks of every
 * axis, `["block1_", …, "block{k}_"]` (block 1 includes the input batch
 * norm): the weights "the first k blocks transferred" copies and freezes.
 * k = 0 gives []. With `numBlocks`, k above it is an error.
 *
 * @example
 * freeze(target, multiResNetBlockPrefixes(2, 3)); // ["block1_", "block2_"]
 */
export function multiResNetBlockPrefixes(k: number, numBlocks?: number): string[] {
  if (!Number.isInteger(k) || k < 0) {
    throw new ConfigError(`multiResNetBlockPrefixes k: must be a non-negative integer, got ${k}`);
  }
  if (numBlocks !== undefined && k > numBlocks) {
    throw new ConfigError(
      `multiResNetBlockPrefixes: k ${k} exceeds the model's ${numBlocks} blocks`,
    );
  }
  return Array.from({ length: k }, (_, i) => `block${i + 1}_`);
}
