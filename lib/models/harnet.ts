/**
 * The harnet ResNet-V2 family of ssl-wearables (Yuan et al. 2024,
 * `sslearning/models/accNet.py: Resnet`, `hubconf.py: harnet5/10/30`), as
 * tfjs `LayersModel`s whose layer names are the PyTorch module paths, so
 * `module.feature_extractor.layer3.1.conv2.weight` lands on the layer
 * `feature_extractor.layer3.1.conv2` (see `weights.ts`).
 *
 * Each stage is `conv(circular pad) → [ResBlock]^m → BN → ReLU → Downsample`,
 * a ResBlock is `bn-relu-conv-bn-relu-conv (+ identity)` with circular
 * padding and no bias, and Downsample is the anti-aliased box-filter
 * downsampling. Batch norm: eps 1e-5, PyTorch momentum 0.1 (tfjs 0.9).
 *
 * The API boundary is PyTorch's layout: input `[N, 3, T]` (channels first, in
 * g, 30 Hz); the model transposes to channels-last internally. Outputs:
 * `head: "none"` → features `[N, F]`; `"eva"`/`"linear"` → logits
 * `[N, classes]`; `"mtl"` → four `[N, 2]` logits (aot, scale, permute, time_w).
 *
 * Layer naming (for freezing by prefix): `feature_extractor.layer{s}.0` is a
 * stage's first conv, `feature_extractor.layer{s}.{j}` (j = 1..m) its
 * residual blocks, then its BN / ReLU / Downsample; heads are `classifier.*`
 * or `<task>_h.linear1`.
 *
 * Initialisation (`init`, see `heads.ts` for the facts): `"kaiming"`
 * (default; Kaiming normal fan-out, truncated, zero head biases), `"torch"`
 * (PyTorch's default U(±1/√fan_in) kernels and head biases) or
 * `"ssl-wearables"` (what ssl-wearables' `Resnet` gets from its
 * `weight_init`: untruncated Kaiming normal fan-out on every conv and linear
 * weight, linear biases left at PyTorch's default). Batch norm γ = 1, β = 0.
 *
 * @example
 * const model = harnet10({ head: "eva", numClasses: 5, seed: 1 });
 * const logits = model.predict(tf.zeros([8, 3, 300])) as tf.Tensor; // [8, 5]
 * const enc = harnetEncoder(model); // [N, 3, 300] → [N, 1024]
 */
import * as tf from "@tensorflow/tfjs";
import "../backend/quiet_tfjs.ts";
import { ConfigError, DataFormatError } from "../errors.ts";
import { describeNonFinite, WINDOW_AXES } from "./finite.ts";
import { AntiAliasDownsample1D, CircularPad1D, downsampleLength } from "./layers.ts";
import { batchNormalization } from "./batchnorm.ts";
import {
  type HarnetHead,
  type HarnetInit,
  harnetKernelInit,
  type HeadArgs,
  headOutputs,
  resolveInit,
} from "./heads.ts";

/** One stage `conv → [ResBlock]^resBlocks → BN → ReLU → Downsample` (ssl-wearables' cfg tuple). */
export interface HarnetStage {
  /** Output channels (convolution filters). */
  channels: number;
  /** Kernel size (samples, odd) of the stage's first convolution. */
  kernelSize: number;
  /** Number of residual blocks. */
  resBlocks: number;
  /** Kernel size (samples, odd) of the residual blocks' convolutions. */
  resKernelSize: number;
  /** Downsampling factor (stride). */
  downFactor: number;
  /** Downsampling filter order (0 box, 1 triangle, 2 cubic). */
  downOrder: number;
}

/** Named architectures. */
export type HarnetVariant = "harnet5" | "harnet10" | "harnet30" | "laptop10" | "small30";

/** A complete, serialisable harnet description (stored in the model's user metadata). */
export interface HarnetConfig {
  /** Variant name, or `"custom"`. */
  variant: HarnetVariant | "custom";
  /** Samples per input window (`windowSec * rateHz`). */
  inputSamples: number;
  /** Input channels (3 for x, y, z). */
  inChannels: number;
  /** Sample rate the model expects (Hz). */
  rateHz: number;
  /** The stages. */
  stages: HarnetStage[];
  /** The head. */
  head: HarnetHead;
  /** Classes of an `eva`/`linear` head. */
  numClasses: number;
  /** Hidden units of the `eva` head. */
  hiddenUnits: number;
  /** Feature dimension (last stage channels × final length). */
  featureDim: number;
  /**
   * Weight initialisation the model was built with (metadata written before
   * the option existed reads as `"kaiming"`, what those models used).
   */
  init: HarnetInit;
  /** Initialisation of a head attached by {@link withHead}, when it differs from `init`. */
  headInit?: HarnetInit;
}

const st = (
  channels: number,
  kernelSize: number,
  resBlocks: number,
  resKernelSize: number,
  downFactor: number,
  downOrder: number,
): HarnetStage => ({ channels, kernelSize, resBlocks, resKernelSize, downFactor, downOrder });

/**
 * The architectures: harnet5/10/30 exactly as ssl-wearables' `Resnet`
 * (`resnet_version=1`, `epoch_len` 5/10/30); `small30` is its
 * `resnet_version=2` "smaller resnet" (30 s); `laptop10` is our CPU-scale
 * 10-s model (same structure, a quarter of harnet10's widths, one residual
 * block per stage; 256-d features).
 */
export const HARNET_VARIANTS: Record<
  HarnetVariant,
  { inputSamples: number; stages: HarnetStage[] }
> = {
  harnet5: {
    inputSamples: 150,
    stages: [
      st(64, 5, 2, 5, 2, 2),
      st(128, 5, 2, 5, 2, 2),
      st(256, 5, 2, 5, 3, 1),
      st(256, 5, 2, 5, 3, 1),
      st(512, 5, 0, 5, 3, 1),
    ],
  },
  harnet10: {
    inputSamples: 300,
    stages: [
      st(64, 5, 2, 5, 2, 2),
      st(128, 5, 2, 5, 2, 2),
      st(256, 5, 2, 5, 5, 1),
      st(512, 5, 2, 5, 5, 1),
      st(1024, 5, 0, 5, 3, 1),
    ],
  },
  harnet30: {
    inputSamples: 900,
    stages: [
      st(64, 5, 2, 5, 3, 1),
      st(128, 5, 2, 5, 3, 1),
      st(256, 5, 2, 5, 5, 1),
      st(512, 5, 2, 5, 5, 1),
      st(1024, 5, 0, 5, 4, 0),
    ],
  },
  small30: {
    inputSamples: 900,
    stages: [
      st(64, 5, 2, 5, 3, 1),
      st(64, 5, 2, 5, 3, 1),
      st(128, 5, 2, 5, 5, 1),
      st(128, 5, 2, 5, 5, 1),
      st(256, 5, 2, 5, 4, 0),
    ],
  },
  laptop10: {
    inputSamples: 300,
    stages: [
      st(16, 5, 1, 5, 2, 2),
      st(32, 5, 1, 5, 2, 2),
      st(64, 5, 1, 5, 5, 1),
      st(128, 5, 1, 5, 5, 1),
      st(256, 5, 0, 5, 3, 1),
    ],
  },
};

/** Arguments of {@link harnet}. */
export interface HarnetArgs {
  /** Architecture (default `"harnet10"`). Ignored for the stages when `stages` is given. */
  variant?: HarnetVariant;
  /** Custom stages (then `inputSamples` is required). */
  stages?: HarnetStage[];
  /** Samples per input window (default: the variant's, 150/300/900 for 5/10/30 s at 30 Hz). */
  inputSamples?: number;
  /** Input channels (default 3). */
  inChannels?: number;
  /** Sample rate of the input (Hz, default 30; informational, stored in the config). */
  rateHz?: number;
  /** Head (default `"none"`: the model outputs features). */
  head?: HarnetHead;
  /** Classes of an `eva`/`linear` head (default 2). */
  numClasses?: number;
  /** Hidden units of the `eva` head (default 512). */
  hiddenUnits?: number;
  /** Seed of the weight initialisation (default 0); same seed → same weights. */
  seed?: number;
  /**
   * Weight initialisation of the convolutions and the head (default
   * `"kaiming"`, for backward compatibility; `"torch"`, `"ssl-wearables"`):
   * see the module doc and {@link HarnetInit}.
   */
  init?: HarnetInit;
  /** Model name (default: the variant). */
  name?: string;
}

function conv(
  x: tf.SymbolicTensor,
  name: string,
  filters: number,
  kernelSize: number,
  seed: number,
  init: HarnetInit,
): tf.SymbolicTensor {
  if (kernelSize % 2 !== 1) {
    throw new ConfigError(`${name}: only odd kernel sizes are supported, got ${kernelSize}`);
  }
  const padded = new CircularPad1D({ name: `${name}.pad`, padding: (kernelSize - 1) / 2 }).apply(
    x,
  ) as tf.SymbolicTensor;
  return tf.layers.conv1d({
    name,
    filters,
    kernelSize,
    padding: "valid",
    useBias: false,
    kernelInitializer: harnetKernelInit(init, seed, name, filters * kernelSize),
  }).apply(padded) as tf.SymbolicTensor;
}

function bn(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return batchNormalization({ name, axis: -1, epsilon: 1e-5, momentum: 0.9 }).apply(
    x,
  ) as tf.SymbolicTensor;
}

function relu(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return tf.layers.reLU({ name }).apply(x) as tf.SymbolicTensor;
}

/** Resolve {@link HarnetArgs} into a full {@link HarnetConfig} (validating it). */
export function harnetConfig(args: HarnetArgs = {}): HarnetConfig {
  const variant = args.variant ?? "harnet10";
  const preset = HARNET_VARIANTS[variant];
  if (!preset) {
    throw new ConfigError(
      `unknown harnet variant '${variant}' (expected ${Object.keys(HARNET_VARIANTS).join(", ")})`,
    );
  }
  if (args.stages && args.inputSamples === undefined) {
    throw new ConfigError("harnet: custom stages need inputSamples");
  }
  const stages = args.stages ?? preset.stages;
  const inputSamples = args.inputSamples ?? preset.inputSamples;
  let len = inputSamples;
  for (const [i, s] of stages.entries()) {
    if (s.kernelSize % 2 !== 1 || s.resKernelSize % 2 !== 1) {
      throw new ConfigError(`harnet stage ${i + 1}: kernel sizes must be odd`);
    }
    len = downsampleLength(len, s.downFactor, s.downOrder);
    if (len < 1) {
      throw new ConfigError(
        `harnet: input of ${inputSamples} samples is too short for stage ${i + 1}`,
      );
    }
  }
  const head = args.head ?? "none";
  return {
    variant: args.stages ? "custom" : variant,
    inputSamples,
    inChannels: args.inChannels ?? 3,
    rateHz: args.rateHz ?? 30,
    stages,
    head,
    numClasses: head === "mtl" ? 2 : args.numClasses ?? 2,
    hiddenUnits: args.hiddenUnits ?? 512,
    featureDim: stages[stages.length - 1].channels * len,
    init: resolveInit(args.init),
  };
}

/**
 * Build a harnet. Input `[N, inChannels, inputSamples]`; outputs per `head`
 * (see the module doc). The resolved {@link HarnetConfig} is stored as the
 * model's user-defined metadata (`{ harnet: config }`), kept by `model.save`.
 */
export function harnet(args: HarnetArgs = {}): tf.LayersModel {
  const cfg = harnetConfig(args);
  const seed = args.seed ?? 0;
  const input = tf.input({ shape: [cfg.inChannels, cfg.inputSamples], name: "input" });
  let x = tf.layers.permute({ dims: [2, 1], name: "to_channels_last" }).apply(
    input,
  ) as tf.SymbolicTensor;
  for (const [si, s] of cfg.stages.entries()) {
    const p = `feature_extractor.layer${si + 1}`;
    x = conv(x, `${p}.0`, s.channels, s.kernelSize, seed, cfg.init);
    for (let j = 1; j <= s.resBlocks; j++) {
      const b = `${p}.${j}`;
      const identity = x;
      let y = relu(bn(x, `${b}.bn1`), `${b}.relu1`);
      y = conv(y, `${b}.conv1`, s.channels, s.resKernelSize, seed, cfg.init);
      y = relu(bn(y, `${b}.bn2`), `${b}.relu2`);
      y = conv(y, `${b}.conv2`, s.channels, s.resKernelSize, seed, cfg.init);
      x = tf.layers.add({ name: `${b}.add` }).apply([y, identity]) as tf.SymbolicTensor;
    }
    const m = s.resBlocks;
    x = bn(x, `${p}.${m + 1}`);
    x = relu(x, `${p}.${m + 2}`);
    x = new AntiAliasDownsample1D({
      name: `${p}.${m + 3}`,
      factor: s.downFactor,
      order: s.downOrder,
    }).apply(x) as tf.SymbolicTensor;
  }
  // PyTorch flattens [N, C, L] channel-major: transpose back before flattening.
  x = tf.layers.permute({ dims: [2, 1], name: "feature_extractor.to_channels_first" }).apply(
    x,
  ) as tf.SymbolicTensor;
  const features = tf.layers.flatten({ name: "feature_extractor.flatten" }).apply(
    x,
  ) as tf.SymbolicTensor;
  const outs = headOutputs(features, cfg.head, {
    numClasses: cfg.numClasses,
    hiddenUnits: cfg.hiddenUnits,
    seed,
    init: cfg.init,
  });
  const model = tf.model({
    inputs: input,
    outputs: outs.length ? outs : features,
    name: args.name ?? cfg.variant,
  });
  model.setUserDefinedMetadata({ harnet: cfg });
  return model;
}

/** harnet5: 5-s windows at 30 Hz (`[N, 3, 150]`), 512-d features. */
export function harnet5(args: Omit<HarnetArgs, "variant" | "stages"> = {}): tf.LayersModel {
  return harnet({ ...args, variant: "harnet5" });
}

/** harnet10: 10-s windows at 30 Hz (`[N, 3, 300]`), 1024-d features. */
export function harnet10(args: Omit<HarnetArgs, "variant" | "stages"> = {}): tf.LayersModel {
  return harnet({ ...args, variant: "harnet10" });
}

/** harnet30: 30-s windows at 30 Hz (`[N, 3, 900]`), 1024-d features. */
export function harnet30(args: Omit<HarnetArgs, "variant" | "stages"> = {}): tf.LayersModel {
  return harnet({ ...args, variant: "harnet30" });
}

/**
 * The {@link HarnetConfig} a model was built with, or null for other models.
 * Metadata without `init` (written before the option) reads as `"kaiming"`.
 */
export function getHarnetConfig(model: tf.LayersModel): HarnetConfig | null {
  const meta = model.getUserDefinedMetadata() as
    | { harnet?: Omit<HarnetConfig, "init"> & { init?: HarnetInit } }
    | undefined;
  const cfg = meta?.harnet;
  return cfg ? { ...cfg, init: cfg.init ?? "kaiming" } : null;
}

/** The feature extractor of a harnet: same input, output `[N, featureDim]`, layers shared. */
export function harnetEncoder(model: tf.LayersModel): tf.LayersModel {
  const features = model.getLayer("feature_extractor.flatten").output as tf.SymbolicTensor;
  const enc = tf.model({ inputs: model.inputs, outputs: features, name: `${model.name}_encoder` });
  const cfg = getHarnetConfig(model);
  if (cfg) {
    const { headInit: _head, ...base } = cfg;
    enc.setUserDefinedMetadata({ harnet: { ...base, head: "none" } });
  }
  return enc;
}

/**
 * A harnet with a new head on `model`'s feature extractor (layers shared).
 * E.g. load the MTL checkpoint into `harnet10({ head: "mtl" })`, then
 * `withHead(model, "eva", { numClasses: 6 })` to fine-tune a classifier.
 * `args.init` defaults to the model's recorded `init` (`"kaiming"` without
 * harnet metadata); a different one is recorded as `headInit`.
 */
export function withHead(
  model: tf.LayersModel,
  head: HarnetHead,
  args: HeadArgs = {},
): tf.LayersModel {
  const features = model.getLayer("feature_extractor.flatten").output as tf.SymbolicTensor;
  const cfg = getHarnetConfig(model);
  const init = resolveInit(args.init, cfg?.init ?? "kaiming");
  const outs = headOutputs(features, head, { ...args, init });
  const out = tf.model({
    inputs: model.inputs,
    outputs: outs.length ? outs : features,
    name: `${model.name}_${head}`,
  });
  if (cfg) {
    const { headInit: _old, ...base } = cfg;
    const next: HarnetConfig = {
      ...base,
      head,
      numClasses: head === "mtl" ? 2 : args.numClasses ?? 2,
      hiddenUnits: args.hiddenUnits ?? 512,
    };
    if (init !== cfg.init) next.headInit = init;
    out.setUserDefinedMetadata({ harnet: next });
  }
  return out;
}

/**
 * Check that `shape` (`[N, channels, samples]`) fits a harnet's input (a
 * model, or a config from {@link harnetConfig}); throws a
 * {@link ConfigError} such as `harnet10 expects 300 samples (10 s at 30 Hz), got 150`.
 */
export function checkHarnetInput(
  modelOrConfig: tf.LayersModel | HarnetConfig,
  shape: readonly number[],
): void {
  let c: number, t: number, rate: number, name: string;
  if (modelOrConfig instanceof tf.LayersModel) {
    [, c, t] = modelOrConfig.inputs[0].shape as number[];
    const cfg = getHarnetConfig(modelOrConfig);
    rate = cfg?.rateHz ?? 30;
    name = cfg?.variant ?? modelOrConfig.name;
  } else {
    c = modelOrConfig.inChannels;
    t = modelOrConfig.inputSamples;
    rate = modelOrConfig.rateHz;
    name = modelOrConfig.variant;
  }
  if (shape.length !== 3) {
    throw new ConfigError(`${name} expects input [N, ${c}, ${t}], got [${shape.join(", ")}]`);
  }
  if (shape[1] !== c) {
    throw new ConfigError(`${name} expects ${c} channels (x, y, z) on axis 1, got ${shape[1]}`);
  }
  if (shape[2] !== t) {
    throw new ConfigError(
      `${name} expects ${t} samples (${t / rate} s at ${rate} Hz), got ${shape[2]}`,
    );
  }
}

/**
 * Check that windows `x` (row-major `[N, channels, samples]`) hold no NaN or
 * ±Inf: a model turns one into NaN (or, on some kernels, plausible) outputs.
 * Throws a {@link DataFormatError} naming `file` when given, else a
 * {@link ConfigError}, with the first bad value's window, channel and sample.
 *
 * @example
 * ```ts
 * checkFiniteInput(new Float32Array([0, NaN, 0]), [1, 3, 1], "x.npy");
 * // DataFormatError: x.npy: NaN at window 0, channel 1, sample 0 (1 non-finite value)
 * ```
 */
export function checkFiniteInput(
  x: ArrayLike<number>,
  shape: readonly number[],
  file?: string,
): void {
  const bad = describeNonFinite(x, shape, shape.length === 3 ? WINDOW_AXES : undefined);
  if (bad === null) return;
  if (file !== undefined) throw new DataFormatError(file, bad);
  throw new ConfigError(`input holds ${bad}`);
}

/** Options of {@link predictArrays}. */
export interface PredictArraysOptions {
  /** Windows per forward pass (default 64). */
  batchSize?: number;
  /** File the windows came from, named when they hold a NaN/±Inf. */
  file?: string;
}

/**
 * Run `model` in inference mode on row-major `[n, channels, samples]` data in
 * batches; returns one flat `Float32Array` per model output (row-major
 * `[n, ...outputShape]`) and their shapes. Tensor memory stays flat.
 *
 * @throws ConfigError for a shape that does not fit the model, or a
 *   NaN/±Inf in `x` ({@link checkFiniteInput}: a DataFormatError with `file`)
 */
export function predictArrays(
  model: tf.LayersModel,
  x: Float32Array,
  shape: readonly [number, number, number],
  opts: PredictArraysOptions = {},
): { data: Float32Array; shape: number[] }[] {
  checkHarnetInput(model, shape);
  const [n, c, t] = shape;
  if (x.length !== n * c * t) {
    throw new ConfigError(`input has ${x.length} values, expected ${n}×${c}×${t}`);
  }
  checkFiniteInput(x, shape, opts.file);
  const bs = Math.max(1, opts.batchSize ?? 64);
  const outShapes = model.outputs.map((o) => (o.shape as number[]).slice(1));
  const sizes = outShapes.map((s) => s.reduce((a, b) => a * b, 1));
  const results = sizes.map((s) => new Float32Array(n * s));
  for (let start = 0; start < n; start += bs) {
    const m = Math.min(bs, n - start);
    const outs = tf.tidy(() => {
      const xb = tf.tensor3d(x.subarray(start * c * t, (start + m) * c * t), [m, c, t]);
      const y = model.predict(xb);
      return Array.isArray(y) ? y : [y];
    });
    outs.forEach((o, i) => {
      results[i].set(o.dataSync() as Float32Array, start * sizes[i]);
      o.dispose();
    });
  }
  return results.map((data, i) => ({ data, shape: [n, ...outShapes[i]] }));
}
