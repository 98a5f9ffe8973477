/** A loss factory for parallel_fit_test.ts (a LossSpec target, loaded by fit's workers). */
import * as tf from "@tensorflow/tfjs";

/** Mean softmax cross-entropy with label smoothing `args.smoothing`. */
export function smoothedCrossEntropy(args: { smoothing: number; classes: number }) {
  return ([labels]: tf.Tensor[], [logits]: tf.Tensor[]): tf.Scalar => {
    const y = tf.oneHot(labels.toInt().reshape([-1]), args.classes);
    return tf.losses.softmaxCrossEntropy(y, logits, undefined, args.smoothing) as tf.Scalar;
  };
}
