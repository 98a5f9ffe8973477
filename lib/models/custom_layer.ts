/**
 * What every one-input custom tfjs layer (lib/models/layers.ts,
 * lib/models/transformer.ts) does around its maths: take the one shape or
 * tensor tfjs may hand over wrapped in a list, check a `[batch, frames, d]`
 * input, and check integer arguments with a `RangeError` naming the layer.
 *
 * @example
 * override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
 *   return singleShape(inputShape);
 * }
 */
import * as tf from "@tensorflow/tfjs";

/** The input shape of a one-input layer (the first, when tfjs passes a list). */
export function singleShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
  return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
}

/** The input tensor of a one-input layer's `call` (the first, when tfjs passes a list). */
export function singleInput<T extends tf.Tensor = tf.Tensor>(inputs: tf.Tensor | tf.Tensor[]): T {
  return (Array.isArray(inputs) ? inputs[0] : inputs) as T;
}

/**
 * The shape of a `[batch, frames, d]` input and its known `d`.
 *
 * @throws RangeError naming `layer` for another rank or an unknown `d`
 */
export function frameSequenceShape(
  layer: string,
  inputShape: tf.Shape | tf.Shape[],
): { shape: tf.Shape; d: number } {
  const s = singleShape(inputShape);
  const d = s[s.length - 1];
  if (s.length !== 3 || d == null) {
    throw new RangeError(`${layer}: expects [batch, frames, d] input, got [${s}]`);
  }
  return { shape: s, d };
}

/**
 * Check a layer's integer argument: `min` 0 for a non-negative, 1 for a
 * positive integer.
 *
 * @throws RangeError `<layer>: <name> must be a positive integer, got <v>` (or non-negative)
 */
export function checkLayerInt(layer: string, name: string, v: number, min: 0 | 1): void {
  if (!Number.isInteger(v) || v < min) {
    const kind = min === 0 ? "non-negative" : "positive";
    throw new RangeError(`${layer}: ${name} must be a ${kind} integer, got ${v}`);
  }
}
