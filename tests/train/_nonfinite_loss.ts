/** A loss factory for nonfinite_test.ts (a LossSpec target, loaded by fit's workers). */
import * as tf from "@tensorflow/tfjs";
import type { LossContext } from "../../lib/train/losses.ts";

/**
 * Softmax cross-entropy that turns NaN from call `args.from` on (each worker
 * computes it once per step), reported as head "aot" beside a finite "scale".
 */
export function nanFrom(args: { from: number; classes: number }) {
  let calls = 0;
  return ([y]: tf.Tensor[], [p]: tf.Tensor[], ctx?: LossContext): tf.Scalar => {
    const oneHot = tf.oneHot(y.toInt().reshape([-1]), args.classes);
    const ce = tf.losses.softmaxCrossEntropy(oneHot, p) as tf.Scalar;
    const l = calls++ >= args.from ? ce.mul(NaN) as tf.Scalar : ce;
    ctx?.report?.("aot/loss", l);
    ctx?.report?.("scale/loss", ce);
    return l;
  };
}
