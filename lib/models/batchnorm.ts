/**
 * Training-mode batch normalisation as one op forward and one op backward.
 *
 * In training mode `tf.layers.batchNormalization` runs `tf.moments` (Mean,
 * Sub, Square, Mean) and then `tf.batchNorm`; its gradient is the batch-norm
 * gradient plus the gradient chain of the moments ops over the full
 * activation tensor. Here the same computation is one function,
 * {@link batchNormTrain}, with a closed-form gradient (`tf.customGrad`):
 *
 * ```
 * y      = γ·x̂ + β,   x̂ = (x − μ)·rstd,   rstd = 1/√(σ² + ε)
 * dx     = γ·rstd/M · (M·dy − Σdy − x̂·Σ(dy·x̂))
 * dγ     = Σ(dy·x̂),   dβ = Σdy
 * ```
 *
 * with μ, σ² (biased, as `tf.moments`) and the sums per channel over all axes
 * but the last (M values per channel).
 *
 * - On the `wasm` backend both directions are single kernels working on the
 *   wasm heap: `HarBatchNormTrain` (y, mean, variance) and
 *   `HarBatchNormTrainGrad` (dx, dγ, dβ), backed by our C kernels
 *   (lib/backend/native/har_norm.c) when the native library is installed
 *   with the wasm kernels, else by JS loops over the heap. Sums are
 *   accumulated in double.
 * - On any other backend (cpu, tensorflow) they compose tf ops.
 *
 * {@link FastBatchNormalization} is tfjs-layers' `BatchNormalization` with
 * that path in training mode (per-last-axis statistics, `center` and `scale`
 * on); the moving statistics are updated exactly as tfjs-layers does. It keeps
 * the class name `BatchNormalization`, so saved models are standard, and it is
 * registered for deserialisation: models loaded after importing this module
 * get the fast layer.
 *
 * @example
 * ```ts
 * const x = tf.input({ shape: [300, 64] });
 * const y = batchNormalization({ epsilon: 1e-5, momentum: 0.9 }).apply(x);
 *
 * const { y: out, mean, variance } = batchNormTrain(act, gamma, beta, 1e-3);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendWasm, heapF32, offsetOf } from "../backend/heap_gemm.ts";
import { installedWasmKernels } from "../backend/install.ts";
import type { NativeKernels } from "../backend/native.ts";

type Info = tf.TensorInfo;

/** Name of the forward kernel (wasm): inputs `x`, `gamma`, `beta`; outputs y, mean, variance. */
export const BATCH_NORM_TRAIN = "HarBatchNormTrain";
/** Name of the gradient kernel (wasm): inputs `x`, `dy`, `gamma`, `mean`, `variance`; outputs dx, dgamma, dbeta. */
export const BATCH_NORM_TRAIN_GRAD = "HarBatchNormTrainGrad";

/** What {@link batchNormTrain} returns. */
export interface BatchNormTrainResult {
  /** The normalised, scaled and shifted input (shape of `x`); differentiable w.r.t. x, gamma, beta. */
  y: tf.Tensor;
  /** Per-channel batch mean, shape [channels] (no gradient flows through it). */
  mean: tf.Tensor1D;
  /** Per-channel biased batch variance, shape [channels] (no gradient flows through it). */
  variance: tf.Tensor1D;
}

/** The native library when it is installed with the wasm kernels (else JS loops). */
function activeNative(): NativeKernels | null {
  return installedWasmKernels()?.nativeKernels ?? null;
}

function channelsOf(x: Info): { rows: number; ch: number } {
  const ch = x.shape[x.shape.length - 1];
  const n = tf.util.sizeFromShape(x.shape);
  return { rows: ch === 0 ? 0 : n / ch, ch };
}

function checkPerChannel(kernel: string, name: string, t: Info, ch: number): void {
  if (t.dtype !== "float32" || t.shape.length !== 1 || t.shape[0] !== ch) {
    throw new Error(
      `${kernel}: ${name} must be float32 of shape [${ch}] (one value per channel), got ` +
        `${t.dtype} [${t.shape}]`,
    );
  }
}

/**
 * Which implementation {@link batchNormTrain} uses right now: `"native"` (C
 * kernels on the wasm heap), `"js"` (JS loops on the wasm heap) or `"ops"`
 * (composed tf ops, any non-wasm backend).
 *
 * @example
 * ```ts
 * await initBackend({ prefer: ["blas"], native: false });
 * batchNormTrainEngine(); // "js"
 * ```
 */
export function batchNormTrainEngine(): "native" | "js" | "ops" {
  if (tf.getBackend() !== "wasm") return "ops";
  return activeNative() ? "native" : "js";
}

/** JS forward on the heap: per-channel shifted sums in double, then y. */
function jsForward(
  h: Float32Array,
  xo: number,
  go: number,
  bo: number,
  yo: number,
  mo: number,
  vo: number,
  rows: number,
  ch: number,
  eps: number,
): void {
  const s1 = new Float64Array(ch), s2 = new Float64Array(ch), shift = new Float64Array(ch);
  if (rows > 0) { for (let j = 0; j < ch; j++) shift[j] = h[xo + j]; }
  const n = rows * ch;
  for (let p = 0; p < n; p += ch) {
    const base = xo + p;
    for (let j = 0; j < ch; j++) {
      const d = h[base + j] - shift[j];
      s1[j] += d;
      s2[j] += d * d;
    }
  }
  const mean = new Float64Array(ch), a = new Float64Array(ch), b = new Float64Array(ch);
  for (let j = 0; j < ch; j++) {
    const d1 = s1[j] / rows;
    const v = Math.max(0, s2[j] / rows - d1 * d1);
    mean[j] = Math.fround(shift[j] + d1);
    a[j] = h[go + j] / Math.sqrt(v + eps);
    b[j] = h[bo + j];
    h[mo + j] = mean[j];
    h[vo + j] = v;
  }
  for (let p = 0; p < n; p += ch) {
    const xb = xo + p, yb = yo + p;
    for (let j = 0; j < ch; j++) h[yb + j] = (h[xb + j] - mean[j]) * a[j] + b[j];
  }
}

/** JS backward on the heap: per-channel Σdy and Σdy·(x − μ) in double, then dx. */
function jsBackward(
  h: Float32Array,
  xo: number,
  dyo: number,
  go: number,
  mo: number,
  vo: number,
  dxo: number,
  dgo: number,
  dbo: number,
  rows: number,
  ch: number,
  eps: number,
): void {
  const sdy = new Float64Array(ch), sxdy = new Float64Array(ch), m = new Float64Array(ch);
  for (let j = 0; j < ch; j++) m[j] = h[mo + j];
  const n = rows * ch;
  for (let p = 0; p < n; p += ch) {
    const xb = xo + p, gb = dyo + p;
    for (let j = 0; j < ch; j++) {
      const g = h[gb + j];
      sdy[j] += g;
      sxdy[j] += g * (h[xb + j] - m[j]);
    }
  }
  const A = new Float64Array(ch), B = new Float64Array(ch), C = new Float64Array(ch);
  for (let j = 0; j < ch; j++) {
    const r = 1 / Math.sqrt(h[vo + j] + eps);
    const gr = h[go + j] * r;
    A[j] = gr;
    B[j] = -gr * r * r * sxdy[j] / rows;
    C[j] = -gr * sdy[j] / rows;
    h[dgo + j] = sxdy[j] * r;
    h[dbo + j] = sdy[j];
  }
  for (let p = 0; p < n; p += ch) {
    const xb = xo + p, gb = dyo + p, db = dxo + p;
    for (let j = 0; j < ch; j++) {
      h[db + j] = h[gb + j] * A[j] + (h[xb + j] - m[j]) * B[j] + C[j];
    }
  }
}

const forwardKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as BackendWasm;
  const { x, gamma, beta } = inputs as Record<string, Info>;
  const eps = Number((attrs as { epsilon?: number }).epsilon ?? 1e-3);
  if (x.dtype !== "float32" || x.shape.length < 2) {
    throw new Error(
      `${BATCH_NORM_TRAIN}: x must be float32 of rank >= 2, got ${x.dtype} [${x.shape}]`,
    );
  }
  const { rows, ch } = channelsOf(x);
  checkPerChannel(BATCH_NORM_TRAIN, "gamma", gamma, ch);
  checkPerChannel(BATCH_NORM_TRAIN, "beta", beta, ch);
  const y = b.makeOutput(x.shape, "float32");
  const mean = b.makeOutput([ch], "float32");
  const variance = b.makeOutput([ch], "float32");
  if (ch === 0) return [y, mean, variance];
  const [xo, go, bo, yo, mo, vo] = [x, gamma, beta, y, mean, variance].map((t) =>
    offsetOf(b, t.dataId)
  );
  const native = activeNative();
  if (
    !native || native.bnTrainForward(b.wasm.HEAPU8, xo, go, bo, yo, mo, vo, rows, ch, eps) !== 0
  ) {
    jsForward(heapF32(b), xo, go, bo, yo, mo, vo, rows, ch, eps);
  }
  return [y, mean, variance];
};

const gradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as BackendWasm;
  const { x, dy, gamma, mean, variance } = inputs as Record<string, Info>;
  const eps = Number((attrs as { epsilon?: number }).epsilon ?? 1e-3);
  if (x.dtype !== "float32" || x.shape.length < 2) {
    throw new Error(
      `${BATCH_NORM_TRAIN_GRAD}: x must be float32 of rank >= 2, got ${x.dtype} [${x.shape}]`,
    );
  }
  if (dy.dtype !== "float32" || !tf.util.arraysEqual(dy.shape, x.shape)) {
    throw new Error(
      `${BATCH_NORM_TRAIN_GRAD}: dy must be float32 of x's shape [${x.shape}], got ` +
        `${dy.dtype} [${dy.shape}]`,
    );
  }
  const { rows, ch } = channelsOf(x);
  checkPerChannel(BATCH_NORM_TRAIN_GRAD, "gamma", gamma, ch);
  checkPerChannel(BATCH_NORM_TRAIN_GRAD, "mean", mean, ch);
  checkPerChannel(BATCH_NORM_TRAIN_GRAD, "variance", variance, ch);
  const dx = b.makeOutput(x.shape, "float32");
  const dgamma = b.makeOutput([ch], "float32");
  const dbeta = b.makeOutput([ch], "float32");
  if (ch === 0) return [dx, dgamma, dbeta];
  const [xo, dyo, go, mo, vo, dxo, dgo, dbo] = [x, dy, gamma, mean, variance, dx, dgamma, dbeta]
    .map((t) => offsetOf(b, t.dataId));
  const native = activeNative();
  if (
    !native ||
    native.bnTrainBackward(b.wasm.HEAPU8, xo, dyo, go, mo, vo, dxo, dgo, dbo, rows, ch, eps) !== 0
  ) {
    jsBackward(heapF32(b), xo, dyo, go, mo, vo, dxo, dgo, dbo, rows, ch, eps);
  }
  return [dx, dgamma, dbeta];
};

/**
 * Kernel configs of {@link BATCH_NORM_TRAIN} and {@link BATCH_NORM_TRAIN_GRAD}
 * for the `wasm` backend. They pick the native C kernels at call time when
 * `installWasmKernels` was given the native library, else JS loops.
 */
export function batchNormTrainKernels(): tf.KernelConfig[] {
  return [
    { kernelName: BATCH_NORM_TRAIN, backendName: "wasm", kernelFunc: forwardKernel },
    { kernelName: BATCH_NORM_TRAIN_GRAD, backendName: "wasm", kernelFunc: gradKernel },
  ];
}

/** Register {@link batchNormTrainKernels} on `wasm` unless already there. Idempotent. */
export function registerBatchNormTrainKernels(): void {
  for (const k of batchNormTrainKernels()) {
    if (!tf.getKernel(k.kernelName, "wasm")) tf.registerKernel(k);
  }
}

/** Whether this call runs our wasm kernels (wasm backend, float32). */
function onWasm(x: tf.Tensor): boolean {
  if (tf.getBackend() !== "wasm" || x.dtype !== "float32") return false;
  registerBatchNormTrainKernels();
  return true;
}

/** The closed-form gradient composed of tf ops (non-wasm backends). */
function composedGrad(
  dy: tf.Tensor,
  x: tf.Tensor,
  gamma: tf.Tensor,
  mean: tf.Tensor,
  variance: tf.Tensor,
  epsilon: number,
  axes: number[],
): tf.Tensor[] {
  const m = x.size / x.shape[x.rank - 1];
  const r = tf.rsqrt(tf.add(variance, epsilon));
  const xhat = tf.mul(tf.sub(x, mean), r);
  const sdy = tf.sum(dy, axes);
  const sdyx = tf.sum(tf.mul(dy, xhat), axes);
  const inner = tf.sub(tf.sub(tf.mul(dy, m), sdy), tf.mul(xhat, sdyx));
  const dx = tf.mul(inner, tf.div(tf.mul(gamma, r), m));
  return [dx, sdyx, sdy];
}

/**
 * Batch normalisation in training mode with per-channel (last axis) batch
 * statistics: `y = γ·(x − μ)/√(σ² + ε) + β`, μ and σ² (biased) over all axes
 * but the last. One kernel forward and one backward on wasm (see the module
 * doc); tf ops elsewhere. Gradients flow to `x`, `gamma` and `beta` through
 * `y`; the returned `mean` and `variance` carry no gradient (they are for
 * moving averages).
 *
 * @param x Input, float32, rank ≥ 2, channels last (e.g. [batch, time, ch]).
 * @param gamma Scale, shape [ch].
 * @param beta Offset, shape [ch].
 * @param epsilon Added to the variance before the square root. Default 1e-3 (tfjs-layers').
 * @returns `{ y, mean, variance }`.
 * @throws Error when the shapes or dtypes do not fit.
 *
 * @example
 * ```ts
 * const x = tf.randomNormal([8, 100, 16]);
 * const { y, mean, variance } = batchNormTrain(x, tf.ones([16]), tf.zeros([16]), 1e-5);
 * const dx = tf.grad((z) => batchNormTrain(z, g, b).y.square().sum())(x);
 * ```
 */
export function batchNormTrain(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon = 1e-3,
): BatchNormTrainResult {
  if (x.rank < 2) {
    throw new Error(`batchNormTrain: x must have rank >= 2 (channels last), got [${x.shape}]`);
  }
  const ch = x.shape[x.rank - 1];
  for (const [name, t] of [["gamma", gamma], ["beta", beta]] as const) {
    if (t.rank !== 1 || t.shape[0] !== ch) {
      throw new Error(
        `batchNormTrain: ${name} must have shape [${ch}] (x's channels), got [${t.shape}]`,
      );
    }
  }
  if (!(epsilon >= 0)) throw new Error(`batchNormTrain: epsilon must be >= 0, got ${epsilon}`);
  const axes = [...Array(x.rank - 1).keys()];
  const wasm = onWasm(x);
  let stats: tf.Tensor[] = [];
  const f = tf.customGrad((xx, g, b, save) => {
    const [xt, gt, bt] = [xx, g, b] as tf.Tensor[];
    let y: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor;
    if (wasm) {
      [y, mean, variance] = tf.engine().runKernel(
        BATCH_NORM_TRAIN,
        { x: xt, gamma: gt, beta: bt },
        { epsilon },
      ) as tf.Tensor[];
    } else {
      ({ mean, variance } = tf.moments(xt, axes));
      y = tf.batchNorm(xt, mean, variance, bt, gt, epsilon);
    }
    (save as (ts: tf.Tensor[]) => void)([xt, gt, mean, variance]);
    // customGrad returns one tensor: the statistics leave its scope kept
    stats = [tf.keep(mean), tf.keep(variance)];
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const d = Array.isArray(dy) ? dy[0] : dy;
        const [sx, sg, sm, sv] = saved;
        if (wasm && tf.getBackend() === "wasm") {
          return tf.engine().runKernel(
            BATCH_NORM_TRAIN_GRAD,
            { x: sx, dy: d, gamma: sg, mean: sm, variance: sv },
            { epsilon },
          ) as tf.Tensor[];
        }
        return composedGrad(d, sx, sg, sm, sv, epsilon, axes);
      },
    };
  });
  const y = f(x, gamma, beta);
  const mean = tf.clone(stats[0]) as tf.Tensor1D;
  const variance = tf.clone(stats[1]) as tf.Tensor1D;
  tf.dispose(stats);
  return { y, mean, variance };
}

/** Constructor arguments of {@link FastBatchNormalization} (tfjs-layers' `BatchNormalizationLayerArgs`). */
export type BatchNormalizationArgs = NonNullable<
  Parameters<typeof tf.layers.batchNormalization>[0]
>;

type StockBatchNormalization = ReturnType<typeof tf.layers.batchNormalization>;

/** Its class: constructor plus the static serialisation members. */
type StockBatchNormalizationClass = {
  new (args?: BatchNormalizationArgs): StockBatchNormalization;
  className: string;
  fromConfig: tf.serialization.FromConfigMethod<tf.serialization.Serializable>;
};

/** The fields of tfjs-layers' BatchNormalization we read (private in its typings). */
interface BatchNormalizationFields {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma?: tf.LayerVariable;
  beta?: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

/**
 * tfjs-layers' BatchNormalization class, read from the serialisation registry
 * (no throwaway instance, which would shift the automatic layer names); the
 * `.constructor` of a fresh layer as a fallback.
 */
function stockClass(): StockBatchNormalizationClass {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap["BatchNormalization"];
  // deno-lint-ignore no-explicit-any
  const cls = entry?.[0] as any;
  if (cls && cls.className === "BatchNormalization" && !cls.harFused) return cls;
  return tf.layers.batchNormalization({}).constructor as unknown as StockBatchNormalizationClass;
}

const StockBatchNormalization = stockClass();

/**
 * tfjs-layers' `BatchNormalization` whose training-mode call (statistics per
 * last axis, `center` and `scale` on, float32) runs {@link batchNormTrain}:
 * one op forward, one op backward. The moving mean and variance are updated
 * exactly as tfjs-layers updates them (`v ← v − (v − batch)·(1 − momentum)`,
 * with the biased batch variance). Inference and every other configuration
 * run tfjs-layers' own code. Class name `BatchNormalization`: saved models
 * are standard and load with either class.
 *
 * @example
 * ```ts
 * const bn = new FastBatchNormalization({ epsilon: 1e-5, momentum: 0.9 });
 * const y = bn.apply(x, { training: true }) as tf.Tensor;
 * ```
 */
export class FastBatchNormalization extends StockBatchNormalization {
  /** @nocollapse */
  static override className = "BatchNormalization";
  /** Marks our class in the serialisation registry. */
  static readonly harFused = true;

  // deno-lint-ignore no-explicit-any
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: any): tf.Tensor | tf.Tensor[] {
    const training = kwargs?.["training"] ?? false;
    const input = Array.isArray(inputs) && inputs.length === 1 ? inputs[0] : inputs;
    const me = this as unknown as BatchNormalizationFields;
    if (
      !training || Array.isArray(input) || input.rank < 2 || input.dtype !== "float32" ||
      !me.center || !me.scale || !me.gamma || !me.beta ||
      (me.axis >= 0 ? me.axis : me.axis + input.rank) !== input.rank - 1
    ) {
      return super.call(inputs, kwargs);
    }
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTrain(
        input,
        me.gamma!.read(),
        me.beta!.read(),
        me.epsilon,
      );
      const movingAverage = (variable: tf.LayerVariable, value: tf.Tensor) => {
        tf.tidy(() => {
          const decay = 1 - me.momentum;
          const orig = variable.read();
          const delta = tf.mul(tf.sub(orig, value), decay);
          variable.write(tf.sub(orig, delta));
        });
      };
      movingAverage(me.movingMean, mean);
      movingAverage(me.movingVariance, variance);
      return y;
    });
  }
}
tf.serialization.registerClass(FastBatchNormalization);

/**
 * A {@link FastBatchNormalization} layer; same arguments and defaults as
 * `tf.layers.batchNormalization` (axis −1, momentum 0.99, epsilon 1e-3).
 *
 * @example
 * ```ts
 * const y = batchNormalization({ name: "bn1", epsilon: 1e-5, momentum: 0.9 }).apply(x);
 * ```
 */
export function batchNormalization(args: BatchNormalizationArgs = {}): FastBatchNormalization {
  return new FastBatchNormalization(args);
}
