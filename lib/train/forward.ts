/**
 * A model's forward pass on a batch's inputs, and fit's default loss;
 * shared by the training loop and its worker replicas.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../errors.ts";
import type { HasWeights } from "./freeze.ts";
import { type LossFn, weightedCrossEntropy } from "./losses.ts";

/** A model the loop can train: its weights and a forward pass. */
export interface TrainableModel extends HasWeights {
  /** Forward pass; `training: true` enables dropout / batch-norm updates. */
  apply(x: tf.Tensor | tf.Tensor[], kwargs?: { training?: boolean }): unknown;
}

/** Put rank-3 inputs channels-last when asked. */
function layout(x: tf.Tensor, channelsLast: boolean): tf.Tensor {
  return channelsLast && x.rank === 3 ? x.transpose([0, 2, 1]) : x;
}

/**
 * Forward pass on a list of inputs: the model's outputs as a list.
 *
 * @throws ConfigError when the model returns something else than tensors
 */
export function forward(
  model: TrainableModel,
  xs: tf.Tensor[],
  opts: { training: boolean; channelsLast?: boolean },
): tf.Tensor[] {
  const ins = xs.map((x) => layout(x, opts.channelsLast ?? false));
  const out = model.apply(ins.length === 1 ? ins[0] : ins, { training: opts.training });
  const list = Array.isArray(out) ? out : [out];
  if (list.length === 0 || !list.every((t) => t instanceof tf.Tensor)) {
    throw new ConfigError("fit: model.apply did not return a tensor or a list of tensors");
  }
  return list as tf.Tensor[];
}

/** The default loss: class-weighted cross-entropy of output 0 vs integer labels `y[0]`. */
export function defaultLoss(classWeights?: ArrayLike<number>, fromLogits = true): LossFn {
  return (targets, outputs) => {
    if (!targets[0]) throw new ConfigError("fit: the default cross-entropy loss needs labels y");
    return weightedCrossEntropy(outputs[0], targets[0], classWeights, fromLogits);
  };
}
