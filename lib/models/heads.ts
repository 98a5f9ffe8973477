/**
 * Heads for harnet features, named like ssl-wearables' modules so PyTorch
 * state dicts map onto them: the evaluation classifier `classifier.linear1 →
 * ReLU → classifier.linear2` (`EvaClassifier`, 1024 → 512 → classes, no
 * dropout), the single linear `classifier.linear1` (`Classifier`), and the
 * four multi-task self-supervised heads `aot_h`, `scale_h`, `permute_h`,
 * `time_w_h` (each one `linear1`, features → 2: arrow of time, scale
 * (magnitude warp), permutation, time warp).
 *
 * Initialisation ({@link HarnetInit}; every random tensor is seeded per layer
 * by {@link layerSeed}, so the same seed gives the same weights):
 *
 * - `"kaiming"` (the library default, unchanged from earlier versions):
 *   kernels Kaiming normal, fan-out, ReLU gain (tfjs `varianceScaling`
 *   scale 2 `fanOut` `normal`, which is a normal truncated at 2σ with the
 *   nominal σ = √(2/fan_out)), biases zero.
 * - `"torch"`: PyTorch's default initialisation of a freshly built
 *   `nn.Linear` / `nn.Conv1d` (`reset_parameters`: `kaiming_uniform_(a=√5)`):
 *   kernels U(−1/√fan_in, 1/√fan_in) (tfjs `varianceScaling` scale 1/3,
 *   `fanIn`, `uniform`: limit √(3·(1/3)/fan_in) = 1/√fan_in), biases
 *   U(−1/√fan_in, 1/√fan_in); fan_in = in_features (dense) or
 *   in_channels·kernel (conv).
 * - `"ssl-wearables"`: what ssl-wearables' `Resnet` actually ends up with.
 *   `Resnet.__init__` ends with `weight_init(self)`, and that function (the
 *   one defined in `sslearning/models/accNet.py`, not the unused
 *   `sslearning/models/weight_init.py`) walks `self.modules()` recursively:
 *   every `Conv1d` and `Linear` weight, heads included, is re-drawn with
 *   `kaiming_normal_(mode="fan_out", nonlinearity="relu")` (an untruncated
 *   N(0, 2/fan_out)), every `BatchNorm1d` gets γ = 1, β = 0, and `Linear`
 *   biases are left at PyTorch's default U(−1/√fan_in, 1/√fan_in) (the convs
 *   have no bias). So: kernels N(0, 2/fan_out) untruncated, dense biases as
 *   `"torch"`. `"kaiming"` approximates this (truncated normal, zero biases).
 *
 * Batch norm is γ = 1, β = 0 under every option.
 *
 * @example
 * const enc = harnetEncoder(harnet10({ head: "none" }));
 * const clf = attachHead(enc, "eva", { numClasses: 5, seed: 1 }); // outputs [N, 5] logits
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../errors.ts";
import { PRETEXT_TASKS, type PretextTask } from "../pretext/tasks.ts";
import { singleShape } from "./custom_layer.ts";

/** A tfjs weight initialiser. */
type Initializer = ReturnType<typeof tf.initializers.zeros>;

/** Which head a harnet carries. */
export type HarnetHead = "none" | "linear" | "eva" | "mtl";

/**
 * How harnet's convolution and dense weights are initialised (see the module
 * doc): `"kaiming"` (default) Kaiming normal fan-out (truncated), zero
 * biases; `"torch"` PyTorch's default U(±1/√fan_in) kernels and biases;
 * `"ssl-wearables"` ssl-wearables' `weight_init` (untruncated Kaiming normal
 * fan-out kernels, PyTorch-default biases).
 */
export type HarnetInit = "kaiming" | "torch" | "ssl-wearables";

/** The initialisation options, {@link HarnetInit}. */
export const HARNET_INITS: readonly HarnetInit[] = ["kaiming", "torch", "ssl-wearables"];

/**
 * `init` checked ({@link ConfigError} for an unknown value), `undefined` →
 * `fallback` (default `"kaiming"`).
 */
export function resolveInit(
  init: HarnetInit | undefined,
  fallback: HarnetInit = "kaiming",
): HarnetInit {
  const v = init ?? fallback;
  if (!HARNET_INITS.includes(v)) {
    throw new ConfigError(`unknown init '${v}' (expected ${HARNET_INITS.join(", ")})`);
  }
  return v;
}

/** The multi-task pretext tasks, in ssl-wearables' output order (lib/pretext/tasks.ts). */
export const MTL_TASKS: readonly PretextTask[] = PRETEXT_TASKS;
/** One multi-task pretext task. */
export type MtlTask = PretextTask;

/** Arguments of the head builders. */
export interface HeadArgs {
  /** Output units: classes of the classifier (default 2; the MTL heads are always binary). */
  numClasses?: number;
  /** Hidden units of the evaluation classifier's first layer (default 512). */
  hiddenUnits?: number;
  /** Seed of the weight initialisation (default 0). */
  seed?: number;
  /**
   * Weight initialisation ({@link HarnetInit}). Default `"kaiming"`;
   * {@link attachHead} defaults to the init recorded in the encoder's harnet
   * metadata, `withHead` to the model's.
   */
  init?: HarnetInit;
}

/** A 32-bit seed for one named layer, derived from the model seed (FNV-1a of the name). */
export function layerSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The kernel initialiser of a harnet layer under `init` (see the module doc).
 * `fanOut` (units of a dense layer, filters × kernel of a conv) is only used
 * by `"ssl-wearables"`, whose normal is not truncated.
 */
export function harnetKernelInit(
  init: HarnetInit,
  seed: number,
  name: string,
  fanOut: number,
): Initializer {
  const s = layerSeed(seed, name);
  switch (resolveInit(init)) {
    case "kaiming":
      return tf.initializers.varianceScaling({
        scale: 2,
        mode: "fanOut",
        distribution: "normal",
        seed: s,
      });
    case "torch":
      // limit = sqrt(3 · scale / fan_in) = 1/sqrt(fan_in)
      return tf.initializers.varianceScaling({
        scale: 1 / 3,
        mode: "fanIn",
        distribution: "uniform",
        seed: s,
      });
    case "ssl-wearables":
      return tf.initializers.randomNormal({
        mean: 0,
        stddev: Math.sqrt(2 / Math.max(1, fanOut)),
        seed: s,
      });
  }
}

/**
 * A dense layer of a harnet head, initialised per `init` (default
 * `"kaiming"`: Kaiming normal fan-out kernel, zero bias; `"torch"` and
 * `"ssl-wearables"` draw the bias from U(±1/√fan_in), seeded by
 * `layerSeed(seed, name + ".bias")`, fan_in taken from the input the layer
 * is first applied to). See the module doc for what each option reproduces.
 */
export function harnetDense(
  name: string,
  units: number,
  seed: number,
  relu = false,
  init: HarnetInit = "kaiming",
): tf.layers.Layer {
  const v = resolveInit(init);
  const layer = tf.layers.dense({
    name,
    units,
    activation: relu ? "relu" : "linear",
    kernelInitializer: harnetKernelInit(v, seed, name, units),
    biasInitializer: "zeros",
  });
  if (v !== "kaiming") {
    // The bias limit depends on fan_in, known once the input shape is: set a
    // plain (serialisable) RandomUniform initialiser just before the build.
    const build = layer.build.bind(layer);
    layer.build = (inputShape: tf.Shape | tf.Shape[]) => {
      const shape = singleShape(inputShape);
      const fanIn = Math.max(1, shape[shape.length - 1] ?? 1);
      const limit = 1 / Math.sqrt(fanIn);
      (layer as unknown as { biasInitializer: Initializer }).biasInitializer = tf
        .initializers.randomUniform({
          minval: -limit,
          maxval: limit,
          seed: layerSeed(seed, `${name}.bias`),
        });
      build(inputShape);
    };
  }
  return layer;
}

/** ssl-wearables' `EvaClassifier`: features → `hiddenUnits` → ReLU → `numClasses` logits. */
export function evaClassifier(features: tf.SymbolicTensor, args: HeadArgs = {}): tf.SymbolicTensor {
  const seed = args.seed ?? 0;
  const init = resolveInit(args.init);
  const h = harnetDense("classifier.linear1", args.hiddenUnits ?? 512, seed, true, init).apply(
    features,
  );
  return harnetDense("classifier.linear2", args.numClasses ?? 2, seed, false, init).apply(
    h,
  ) as tf.SymbolicTensor;
}

/** ssl-wearables' `Classifier`: one linear layer, features → `numClasses` logits. */
export function linearClassifier(
  features: tf.SymbolicTensor,
  args: HeadArgs = {},
): tf.SymbolicTensor {
  return harnetDense(
    "classifier.linear1",
    args.numClasses ?? 2,
    args.seed ?? 0,
    false,
    resolveInit(args.init),
  ).apply(features) as tf.SymbolicTensor;
}

/** The four multi-task heads (`<task>_h.linear1`, features → 2 logits each). */
export function mtlHeads(
  features: tf.SymbolicTensor,
  args: HeadArgs = {},
): Record<MtlTask, tf.SymbolicTensor> {
  const out = {} as Record<MtlTask, tf.SymbolicTensor>;
  const init = resolveInit(args.init);
  for (const task of MTL_TASKS) {
    out[task] = harnetDense(`${task}_h.linear1`, 2, args.seed ?? 0, false, init).apply(
      features,
    ) as tf.SymbolicTensor;
  }
  return out;
}

/** The output tensors of `head` on `features` (empty for `"none"`; four for `"mtl"`). */
export function headOutputs(
  features: tf.SymbolicTensor,
  head: HarnetHead,
  args: HeadArgs = {},
): tf.SymbolicTensor[] {
  switch (head) {
    case "none":
      return [];
    case "linear":
      return [linearClassifier(features, args)];
    case "eva":
      return [evaClassifier(features, args)];
    case "mtl": {
      const h = mtlHeads(features, args);
      return MTL_TASKS.map((t) => h[t]);
    }
    default:
      throw new RangeError(`unknown head '${head}' (expected none, linear, eva or mtl)`);
  }
}

/**
 * A new model: `encoder` (whose single output is the feature vector) followed
 * by a fresh `head`. The encoder's layers are shared, not copied, so weights
 * loaded into the encoder are used, and freezing them freezes the new model's
 * encoder. `args.init` defaults to the `init` of the encoder's harnet
 * metadata (`"kaiming"` when it has none).
 */
export function attachHead(
  encoder: tf.LayersModel,
  head: HarnetHead,
  args: HeadArgs = {},
): tf.LayersModel {
  const features = encoder.outputs[0];
  const meta = encoder.getUserDefinedMetadata() as { harnet?: { init?: HarnetInit } } | undefined;
  const init = resolveInit(args.init, meta?.harnet?.init ?? "kaiming");
  const outs = headOutputs(features, head, { ...args, init });
  return tf.model({
    inputs: encoder.inputs,
    outputs: outs.length ? outs : [features],
    name: `${encoder.name}_${head}`,
  });
}
