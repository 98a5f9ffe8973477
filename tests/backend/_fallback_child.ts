/**
 * Child process for select_test.ts: initBackend() with whatever permissions
 * the parent granted, train a tiny conv1d model 5 Adam steps, print JSON.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/select.ts";

const info = await initBackend({ prefer: ["blas", "wasm", "cpu"], verbose: false });
const w = tf.variable(tf.randomNormal([5, 3, 4], 0, 0.3, "float32", 1)) as tf.Variable<tf.Rank.R3>;
const x = tf.randomNormal([2, 12, 3], 0, 1, "float32", 2) as tf.Tensor3D;
const opt = tf.train.adam(0.05);
const losses: number[] = [];
for (let i = 0; i < 5; i++) {
  const l = opt.minimize(() => tf.conv1d(x, w, 2, "same").square().mean() as tf.Scalar, true)!;
  losses.push(l.dataSync()[0]);
  l.dispose();
}
console.log(
  JSON.stringify({ path: info.path, tfBackend: tf.getBackend(), skipped: info.skipped, losses }),
);
