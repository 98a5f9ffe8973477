/** Shared small models and data for the training-loop tests (not a test file). */
import * as tf from "@tensorflow/tfjs";
import { rng } from "../../lib/random.ts";
import type { FitData } from "../../lib/train/loop.ts";

/** Use the deterministic cpu backend (wasm lacks some conv gradients). */
export async function useCpu(): Promise<void> {
  if (tf.getBackend() !== "cpu") await tf.setBackend("cpu");
  await tf.ready();
}

/**
 * A separable 3-class problem: `[n, 3, length]` windows whose class sets
 * the mean of one channel and the frequency of a sine, plus noise.
 */
export function toyData(n: number, seed: number, length = 16, classes = 3): FitData {
  const r = rng(seed);
  const x = new Float32Array(n * 3 * length);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = r.int(classes);
    y[i] = c;
    for (let ch = 0; ch < 3; ch++) {
      for (let t = 0; t < length; t++) {
        const base = ch === c % 3 ? 1 : 0;
        x[(i * 3 + ch) * length + t] = base + 0.5 * Math.sin((c + 1) * t * 0.4) +
          0.3 * (r.next() - 0.5);
      }
    }
  }
  return { x, shape: [n, 3, length], y };
}

/**
 * conv1d + dense classifier on `[length, 3]` inputs (feed with
 * `channelsLast: true`), deterministic weights from `seed`.
 */
export function convModel(
  seed: number,
  opts: { length?: number; classes?: number; dropout?: number; batchNorm?: boolean } = {},
): tf.LayersModel {
  const length = opts.length ?? 16, classes = opts.classes ?? 3;
  const m = tf.sequential({ name: "toy" });
  m.add(tf.layers.conv1d({
    inputShape: [length, 3],
    filters: 4,
    kernelSize: 3,
    name: "layer1_conv",
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
  }));
  if (opts.batchNorm) m.add(tf.layers.batchNormalization({ name: "layer1_bn" }));
  m.add(tf.layers.activation({ activation: "relu", name: "layer1_relu" }));
  m.add(tf.layers.conv1d({
    filters: 4,
    kernelSize: 3,
    name: "layer2_conv",
    kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
  }));
  m.add(tf.layers.flatten({ name: "flat" }));
  if (opts.dropout) m.add(tf.layers.dropout({ rate: opts.dropout, name: "drop" }));
  m.add(tf.layers.dense({
    units: classes,
    name: "head",
    kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
  }));
  return m;
}

/** All weights as one flat array (for equality checks). */
export function flatWeights(m: { weights: { read(): tf.Tensor }[] }): number[] {
  return m.weights.flatMap((w) => Array.from(w.read().dataSync()));
}
