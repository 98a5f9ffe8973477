/**
 * Classification losses and class weights.
 *
 * @example
 * const w = balancedClassWeights(yTrain, 5);           // sklearn "balanced"
 * const loss = weightedCrossEntropy(logits, labels, w); // PyTorch CrossEntropyLoss(weight=w)
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../errors.ts";

/**
 * Class-weighted cross-entropy from logits, with PyTorch
 * `CrossEntropyLoss(weight=w, reduction="mean")` semantics: the weighted
 * mean divides by the sum of the weights of the targets,
 * `Σ w[yᵢ]·(−log softmax(zᵢ)[yᵢ]) / Σ w[yᵢ]`. Targets `< 0` (unlabelled) are
 * ignored (weight 0); if no target counts the loss is 0.
 *
 * @param logits `[n, classes]` unnormalised scores.
 * @param labels `[n]` int32 class indices.
 * @param weights Per-class weights (length `classes`); omitted = all 1.
 * @param fromLogits False when `logits` are already probabilities (softmax output).
 */
export function weightedCrossEntropy(
  logits: tf.Tensor,
  labels: tf.Tensor,
  weights?: ArrayLike<number>,
  fromLogits = true,
): tf.Scalar {
  return tf.tidy(() => {
    if (logits.rank !== 2) {
      throw new ConfigError(`weightedCrossEntropy logits: expected rank 2, got [${logits.shape}]`);
    }
    const k = logits.shape[1] as number;
    if (weights && weights.length !== k) {
      throw new ConfigError(
        `weightedCrossEntropy weights: ${weights.length} weights for ${k} classes`,
      );
    }
    const lab = labels.toInt().reshape([-1]);
    const valid = lab.greaterEqual(0);
    const safe = tf.where(valid, lab, tf.zerosLike(lab));
    const logp = fromLogits ? tf.logSoftmax(logits) : tf.log(tf.clipByValue(logits, 1e-12, 1));
    const picked = logp.mul(tf.oneHot(safe, k)).sum(1); // [n]
    let w = valid.toFloat();
    if (weights) w = w.mul(tf.gather(tf.tensor1d(Array.from(weights), "float32"), safe));
    const den = w.sum();
    return picked.mul(w).sum().neg().div(tf.maximum(den, 1e-12)) as tf.Scalar;
  });
}

/**
 * sklearn `compute_class_weight("balanced")`: `n / (c · count[k])` where `n`
 * counts the labelled samples and `c` the classes present. Classes absent
 * from `y` get weight 0 (sklearn raises instead); labels `< 0` are ignored.
 *
 * @param y Class index per sample.
 * @param numClasses Number of classes (length of the result).
 */
export function balancedClassWeights(y: ArrayLike<number>, numClasses: number): Float32Array {
  const counts = new Float64Array(numClasses);
  let n = 0;
  for (let i = 0; i < y.length; i++) {
    const c = y[i];
    if (c < 0) continue;
    if (c >= numClasses) {
      throw new ConfigError(`balancedClassWeights y[${i}]: class ${c} >= numClasses ${numClasses}`);
    }
    counts[c]++;
    n++;
  }
  const present = counts.filter((c) => c > 0).length;
  const w = new Float32Array(numClasses);
  for (let k = 0; k < numClasses; k++) w[k] = counts[k] > 0 ? n / (present * counts[k]) : 0;
  return w;
}
