/**
 * Heads for harnet features, named like ssl-wearables' modules so PyTorch
 * state dicts map onto them: the evaluation classifier `classifier.linear1 →
 * ReLU → classifier.linear2` (`EvaClassifier`, 1024 → 512 → classes, no
 * dropout), the single linear `classifier.linear1` (`Classifier`), and the
 * four multi-task self-supervised heads `aot_h`, `scale_h`, `permute_h`,
 * `time_w_h` (each one `linear1`, features → 2: arrow of time, scale
 * (magnitude warp), permutation, time warp).
 *
 * @example
 * const enc = harnetEncoder(harnet10({ head: "none" }));
 * const clf = attachHead(enc, "eva", { numClasses: 5, seed: 1 }); // outputs [N, 5] logits
 */
import * as tf from "@tensorflow/tfjs";
import { PRETEXT_TASKS, type PretextTask } from "../pretext/tasks.ts";

/** Which head a harnet carries. */
export type HarnetHead = "none" | "linear" | "eva" | "mtl";

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
 * A dense layer initialised as ssl-wearables' `weight_init` does (Kaiming
 * normal, fan-out, ReLU gain; bias zero).
 */
export function harnetDense(
  name: string,
  units: number,
  seed: number,
  relu = false,
): tf.layers.Layer {
  return tf.layers.dense({
    name,
    units,
    activation: relu ? "relu" : "linear",
    kernelInitializer: tf.initializers.varianceScaling({
      scale: 2,
      mode: "fanOut",
      distribution: "normal",
      seed: layerSeed(seed, name),
    }),
    biasInitializer: "zeros",
  });
}

/** ssl-wearables' `EvaClassifier`: features → `hiddenUnits` → ReLU → `numClasses` logits. */
export function evaClassifier(features: tf.SymbolicTensor, args: HeadArgs = {}): tf.SymbolicTensor {
  const seed = args.seed ?? 0;
  const h = harnetDense("classifier.linear1", args.hiddenUnits ?? 512, seed, true).apply(features);
  return harnetDense("classifier.linear2", args.numClasses ?? 2, seed).apply(
    h,
  ) as tf.SymbolicTensor;
}

/** ssl-wearables' `Classifier`: one linear layer, features → `numClasses` logits. */
export function linearClassifier(
  features: tf.SymbolicTensor,
  args: HeadArgs = {},
): tf.SymbolicTensor {
  return harnetDense("classifier.linear1", args.numClasses ?? 2, args.seed ?? 0).apply(
    features,
  ) as tf.SymbolicTensor;
}

/** The four multi-task heads (`<task>_h.linear1`, features → 2 logits each). */
export function mtlHeads(
  features: tf.SymbolicTensor,
  args: HeadArgs = {},
): Record<MtlTask, tf.SymbolicTensor> {
  const out = {} as Record<MtlTask, tf.SymbolicTensor>;
  for (const task of MTL_TASKS) {
    out[task] = harnetDense(`${task}_h.linear1`, 2, args.seed ?? 0).apply(
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
 * encoder.
 */
export function attachHead(
  encoder: tf.LayersModel,
  head: HarnetHead,
  args: HeadArgs = {},
): tf.LayersModel {
  const features = encoder.outputs[0];
  const outs = headOutputs(features, head, args);
  return tf.model({
    inputs: encoder.inputs,
    outputs: outs.length ? outs : [features],
    name: `${encoder.name}_${head}`,
  });
}
