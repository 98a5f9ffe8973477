/**
 * Test helpers for the "Don't freeze" encoders and pretexts: synthetic
 * accelerometer-like windows (50 Hz, 2 s, 3 axes, in g), and the gradient
 * check of a model + loss on the fast engines against the cpu backend (the
 * pattern of tests/models/transformer_test.ts, on tests/backend/_grad_util.ts).
 */
import { assert } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/mod.ts";
import type { Windows } from "../../lib/data/types.ts";
import { rng } from "../../lib/signal/random.ts";
import type { LossFn } from "../../lib/train/losses.ts";
import { engines, relErr, useEngine } from "../backend/_grad_util.ts";

/**
 * `n` windows `[3, length]`: gravity on a random axis direction plus 1–4
 * sinusoids per axis (0.5–5 Hz at 50 Hz, amplitudes up to 0.5 g) and a little
 * noise; a few nearly still windows (every 5th) so the variance weighting
 * has something to prefer.
 */
export function syntheticWindows(n: number, seed = 0, length = 100): Windows {
  const r = rng(seed);
  const c = 3;
  const x = new Float32Array(n * c * length);
  for (let i = 0; i < n; i++) {
    const g = [r.normal(), r.normal(), r.normal()];
    const gn = Math.hypot(g[0], g[1], g[2]) || 1;
    const still = i % 5 === 4;
    for (let ch = 0; ch < c; ch++) {
      const parts = Array.from({ length: 1 + r.int(4) }, () => ({
        f: 0.5 + 4.5 * r.next(),
        a: still ? 0.002 : 0.5 * r.next(),
        ph: 2 * Math.PI * r.next(),
      }));
      for (let t = 0; t < length; t++) {
        let v = g[ch] / gn;
        for (const p of parts) v += p.a * Math.sin(2 * Math.PI * p.f * t / 50 + p.ph);
        x[(i * c + ch) * length + t] = v + 0.01 * r.normal();
      }
    }
  }
  return {
    x,
    n,
    channels: c,
    length,
    y: new Int32Array(n).fill(-1),
    classes: [],
    subject: Array.from({ length: n }, (_, i) => `s${i % 4}`),
    rateHz: 50,
  };
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Value and gradients of `loss(targets, model(inputs))` w.r.t. every trainable weight. */
function lossAndGrads(
  model: tf.LayersModel,
  loss: LossFn,
  xs: tf.Tensor[],
  ys: tf.Tensor[],
): { value: number; grads: Float32Array[]; names: string[] } {
  return tf.tidy(() => {
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => {
      const out = model.apply(xs.length === 1 ? xs[0] : xs, { training: true });
      return loss(ys, Array.isArray(out) ? out as tf.Tensor[] : [out as tf.Tensor]);
    }, vars);
    return {
      value: value.dataSync()[0],
      grads: vars.map((v) => grads[v.name].dataSync() as Float32Array),
      names: model.trainableWeights.map((w) => w.originalName),
    };
  });
}

/**
 * Gradient check: the loss and every weight's gradient of `model` + `loss`
 * on one batch (same weights, same tensors), on each fast engine (wasm, BLAS,
 * native; tests/backend/_grad_util.ts) against tfjs' cpu backend. With G the
 * largest |gradient| of the model on cpu: every tensor holding at least
 * `0.1·G` must agree to `tol` relative to its own largest value (norm-relative,
 * max|a − b| / max|b|, as the other backend tests), and every tensor to `tol·G`
 * in absolute terms. The second form is for tensors whose gradient is nearly or
 * exactly zero by construction — e.g. CPC's `W_k` bias (a per-row constant
 * the log-softmax cancels) or GRU biases summed over batch × time — where a
 * relative error only compares rounding noise. The model must be
 * deterministic (dropout 0). Restores the library backend afterwards.
 *
 * @returns the engines checked
 */
export async function checkGradientsAgainstCpu(
  model: tf.LayersModel,
  loss: LossFn,
  batch: {
    x: (Float32Array | Int32Array)[];
    xShapes: number[][];
    y?: Float32Array[];
    yShapes?: number[][];
  },
  tol = 1e-4,
): Promise<string[]> {
  const make = () => ({
    xs: batch.x.map((d, i) =>
      tf.tensor(d, batch.xShapes[i], d instanceof Int32Array ? "int32" : "float32")
    ),
    ys: (batch.y ?? []).map((d, i) => tf.tensor(d, batch.yShapes![i])),
  });
  const checked: string[] = [];
  try {
    await useEngine("cpu");
    let t = make();
    const ref = lossAndGrads(model, loss, t.xs, t.ys);
    tf.dispose([...t.xs, ...t.ys]);
    assert(Number.isFinite(ref.value), `cpu loss ${ref.value}`);
    const scale = Math.max(...ref.grads.map(maxAbs));
    assert(scale > 0, "cpu: all gradients are zero");
    for (const e of engines()) {
      await useEngine(e);
      t = make();
      const got = lossAndGrads(model, loss, t.xs, t.ys);
      tf.dispose([...t.xs, ...t.ys]);
      const dv = Math.abs(got.value - ref.value) / Math.max(1e-6, Math.abs(ref.value));
      assert(dv <= tol, `${e}: loss ${got.value} vs cpu ${ref.value} (rel ${dv})`);
      got.grads.forEach((g, i) => {
        const own = maxAbs(ref.grads[i]);
        if (own >= 0.1 * scale) {
          const err = relErr(g, ref.grads[i]);
          assert(err <= tol, `${e}: gradient of ${ref.names[i]} rel err ${err} > ${tol}`);
        }
        const abs = relErr(g, ref.grads[i]) * (own || 1);
        assert(
          abs <= tol * scale,
          `${e}: gradient of ${
            ref.names[i]
          } off by ${abs} > ${tol} × the model's largest gradient ${scale}`,
        );
      });
      checked.push(e);
    }
  } finally {
    await initBackend({ verbose: false, threads: 1 });
  }
  return checked;
}

/** A host batch's tensors (for the gradient check) from `{ data, shape }` lists. */
export function hostBatch(
  x: { data: Float32Array | Int32Array; shape: number[] }[],
  y: { data: Float32Array | Int32Array; shape: number[] }[] = [],
) {
  return {
    x: x.map((t) => t.data),
    xShapes: x.map((t) => t.shape),
    y: y.map((t) => Float32Array.from(t.data)),
    yShapes: y.map((t) => t.shape),
  };
}
