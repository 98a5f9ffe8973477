import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { balancedClassWeights, weightedCrossEntropy } from "../../lib/train/losses.ts";
import { ConfigError } from "../../lib/errors.ts";
import { useCpu } from "./_fixtures.ts";

await useCpu();

const LOGITS = [[2, 0, -1], [0.5, 1.5, 0], [0, 0, 3], [1, 1, 1]];
const Y = [0, 1, 2, 1];

function nll(row: number[], y: number): number {
  const mx = Math.max(...row);
  const lse = mx + Math.log(row.reduce((a, z) => a + Math.exp(z - mx), 0));
  return lse - row[y];
}

function ce(logits: number[][], y: number[], w?: number[], fromLogits = true): number {
  return tf.tidy(() =>
    weightedCrossEntropy(tf.tensor2d(logits), tf.tensor1d(y, "int32"), w, fromLogits).dataSync()[0]
  );
}

Deno.test("unweighted cross-entropy is the mean NLL", () => {
  const want = LOGITS.reduce((a, r, i) => a + nll(r, Y[i]), 0) / 4;
  assertAlmostEquals(ce(LOGITS, Y), want, 1e-6);
});

Deno.test("weighted cross-entropy divides by the sum of target weights (PyTorch)", () => {
  const w = [1, 2, 0.5];
  const num = LOGITS.reduce((a, r, i) => a + w[Y[i]] * nll(r, Y[i]), 0);
  const den = Y.reduce((a, y) => a + w[y], 0); // 1 + 2 + 0.5 + 2
  assertAlmostEquals(ce(LOGITS, Y, w), num / den, 1e-6);
  // not the plain mean of weighted terms
  const plainMean = num / 4;
  assertEquals(Math.abs(ce(LOGITS, Y, w) - plainMean) > 1e-3, true);
});

Deno.test("targets < 0 are ignored; probabilities input supported", () => {
  const want = (nll(LOGITS[0], 0) + nll(LOGITS[2], 2)) / 2;
  assertAlmostEquals(ce(LOGITS, [0, -1, 2, -1]), want, 1e-6);
  const probs = LOGITS.map((r) => {
    const e = r.map(Math.exp), s = e.reduce((a, b) => a + b);
    return e.map((v) => v / s);
  });
  assertAlmostEquals(ce(probs, Y, undefined, false), ce(LOGITS, Y), 1e-5);
  assertThrows(() => ce(LOGITS, Y, [1, 2]), ConfigError, "3 classes");
});

Deno.test("balanced class weights follow sklearn compute_class_weight", () => {
  // sklearn: compute_class_weight('balanced', classes=[0,1,2], y=[0,0,0,0,1,1,2,2]) -> [0.6667, 1.3333, 1.3333]
  const w = balancedClassWeights([0, 0, 0, 0, 1, 1, 2, 2], 3);
  assertAlmostEquals(w[0], 8 / 12, 1e-6);
  assertAlmostEquals(w[1], 8 / 6, 1e-6);
  assertAlmostEquals(w[2], 8 / 6, 1e-6);
  // absent class -> 0, unlabelled ignored, n_classes = classes present
  const w2 = balancedClassWeights([0, 0, 2, -1], 3);
  assertEquals(Array.from(w2), [3 / 4, 0, 3 / 2]);
  assertThrows(() => balancedClassWeights([5], 3), ConfigError, "numClasses");
});
