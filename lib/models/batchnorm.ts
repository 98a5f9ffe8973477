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
 * - On the `wasm` backend with our kernels installed (lib/backend/install.ts
 *   `installWasmKernels`) both directions are single kernels working on the
 *   wasm heap: `HarBatchNormTrain` (y, mean, variance) and
 *   `HarBatchNormTrainGrad` (dx, dγ, dβ), defined in
 *   lib/backend/norm_kernels.ts: our C kernels (lib/backend/native/har_norm.c)
 *   when the native library is installed with the wasm kernels, else JS loops
 *   over the heap. Sums are accumulated in double.
 * - Otherwise (cpu, tensorflow, or wasm without our kernels) they compose tf
 *   ops.
 *
 * {@link FastBatchNormalization} is tfjs-layers' `BatchNormalization` with
 * that path in training mode (per-last-axis statistics, `center` and `scale`
 * on); the moving statistics are updated exactly as tfjs-layers does. It keeps
 * the class name `BatchNormalization`, so saved models are standard, and it is
 * registered for deserialisation: models loaded after importing this module
 * get the fast layer.
 *
 * Frozen layers: tfjs-layers keeps normalising with batch statistics and
 * updating the moving ones in a training-mode call even when γ and β are
 * not trainable (PyTorch's `requires_grad = False` behaviour).
 * {@link setFrozenBatchNormMode}`(model, "inference")` makes frozen layers
 * run as in inference instead (Keras' `trainable = False`); `fit`'s
 * `frozenBatchNorm` option sets it. See {@link FrozenBatchNormMode}.
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
// not install.ts: it loads the wasm backend, which would become tfjs' default backend
import { installedWasmKernels } from "../backend/installed.ts";
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from "../backend/norm_kernels.ts";
import { activeReplicaSync, type SyncStep } from "../backend/replica_sync.ts";

export { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD };

/** What {@link batchNormTrain} returns. */
export interface BatchNormTrainResult {
  /** The normalised, scaled and shifted input (shape of `x`); differentiable w.r.t. x, gamma, beta. */
  y: tf.Tensor;
  /** Per-channel batch mean, shape [channels] (no gradient flows through it). */
  mean: tf.Tensor1D;
  /** Per-channel biased batch variance, shape [channels] (no gradient flows through it). */
  variance: tf.Tensor1D;
}

/** Whether the active backend is `wasm` with our kernel `name` registered (installWasmKernels). */
function wasmKernel(name: string): boolean {
  return tf.getBackend() === "wasm" && tf.getKernel(name, "wasm") !== undefined;
}

/**
 * Which implementation {@link batchNormTrain} uses right now: `"native"` (C
 * kernels on the wasm heap), `"js"` (JS loops on the wasm heap) or `"ops"`
 * (composed tf ops: a non-wasm backend, or wasm without our kernels
 * installed).
 *
 * @example
 * ```ts
 * await initBackend({ prefer: ["blas"], native: false });
 * batchNormTrainEngine(); // "js"
 * ```
 */
export function batchNormTrainEngine(): "native" | "js" | "ops" {
  if (!wasmKernel(BATCH_NORM_TRAIN)) return "ops";
  return installedWasmKernels()?.nativeKernels ? "native" : "js";
}

/** Whether this call runs our wasm kernels (wasm backend with them installed, float32). */
function onWasm(x: tf.Tensor): boolean {
  return x.dtype === "float32" && wasmKernel(BATCH_NORM_TRAIN);
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
  const sync = activeReplicaSync();
  if (sync) return syncedBatchNormTrain(x, gamma, beta, epsilon, axes, sync);
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
        if (wasm && wasmKernel(BATCH_NORM_TRAIN_GRAD)) {
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

/**
 * {@link batchNormTrain} inside a data-parallel step (lib/backend/replica_sync.ts):
 * the statistics of the whole batch over all participating workers, and
 * the gradient of the whole batch's loss. Worker s holds `n_s` of the `N`
 * rows per channel and its loss has weight `w_s` in the batch loss `Σ w_s·L_s`;
 * the trainer sums `w_s·∂L_s/∂θ`, so the gradient this worker passes down is
 * `(∂L/∂x_s)/w_s`:
 *
 * ```
 * μ = Σ n_s·μ_s / N,   σ² = Σ n_s·(σ_s² + (μ_s − μ)²) / N
 * A = Σ_t w_t·Σdy_t,   B = Σ_t w_t·Σ(dy_t·x̂_t)
 * dx_s = γ·rstd/N · (N·dy_s − (A + x̂_s·B)/w_s)
 * ```
 *
 * (`dγ`, `dβ` stay this shard's sums: γ and β do not enter the statistics).
 * With one worker of weight 1 this is the single-thread formula. Reductions
 * are combined in float64 in participant order, the same in every worker.
 */
function syncedBatchNormTrain(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
  axes: number[],
  sync: SyncStep,
): BatchNormTrainResult {
  const ch = x.shape[x.rank - 1];
  const wasm = onWasm(x);
  let stats: tf.Tensor[] = [];
  let total = 0;
  const f = tf.customGrad((xx, g, b, save) => {
    const [xt, gt, bt] = [xx, g, b] as tf.Tensor[];
    const rows = xt.size / ch;
    // this shard's statistics (double sums in our wasm kernel; its y is not used)
    const local = tf.tidy(() => {
      const [, m, v] = wasm
        ? tf.engine().runKernel(BATCH_NORM_TRAIN, { x: xt, gamma: gt, beta: bt }, {
          epsilon,
        }) as tf.Tensor[]
        : (({ mean, variance }) => [null, mean, variance])(tf.moments(xt, axes));
      return [m!.dataSync(), v!.dataSync()];
    });
    const mine = new Float64Array(1 + 2 * ch);
    mine[0] = rows;
    mine.set(local[0], 1);
    mine.set(local[1], 1 + ch);
    const parts = sync.allGather(mine);
    total = parts.reduce((a, p) => a + p[0], 0);
    const mu = new Float64Array(ch), v = new Float64Array(ch);
    for (const p of parts) for (let c = 0; c < ch; c++) mu[c] += p[0] * p[1 + c];
    for (let c = 0; c < ch; c++) mu[c] /= total;
    for (const p of parts) {
      for (let c = 0; c < ch; c++) {
        const d = p[1 + c] - mu[c];
        v[c] += p[0] * (p[1 + ch + c] + d * d);
      }
    }
    for (let c = 0; c < ch; c++) v[c] /= total;
    const mean = tf.tensor1d(Float32Array.from(mu));
    const variance = tf.tensor1d(Float32Array.from(v));
    const y = tf.batchNorm(xt, mean, variance, bt, gt, epsilon);
    (save as (ts: tf.Tensor[]) => void)([xt, gt, mean, variance]);
    stats = [tf.keep(mean), tf.keep(variance)];
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const d = Array.isArray(dy) ? dy[0] : dy;
        const [sx, sg, sm, sv] = saved;
        const w = sync.weight;
        const r = tf.rsqrt(tf.add(sv, epsilon));
        const xhat = tf.mul(tf.sub(sx, sm), r);
        // this shard's Σdy, Σdy·x̂ (the kernel's dγ, dβ: double sums; its dx is local-only)
        const [sdyx, sdy] = wasm && wasmKernel(BATCH_NORM_TRAIN_GRAD)
          ? (tf.engine().runKernel(
            BATCH_NORM_TRAIN_GRAD,
            { x: sx, dy: d, gamma: sg, mean: sm, variance: sv },
            { epsilon },
          ) as tf.Tensor[]).slice(1)
          : [tf.sum(tf.mul(d, xhat), axes), tf.sum(d, axes)];
        const sums = new Float64Array(2 * ch);
        const [a, bb] = [sdy.dataSync(), sdyx.dataSync()];
        for (let c = 0; c < ch; c++) {
          sums[c] = w * a[c];
          sums[ch + c] = w * bb[c];
        }
        const got = sync.allGather(sums);
        const A = new Float64Array(ch), B = new Float64Array(ch);
        for (const p of got) {
          for (let c = 0; c < ch; c++) {
            A[c] += p[c];
            B[c] += p[ch + c];
          }
        }
        // a shard of weight 0 adds nothing to the batch loss: nothing flows down it
        if (!(w > 0)) return [tf.zerosLike(sx), sdyx, sdy];
        const aw = tf.tensor1d(Float32Array.from(A, (q) => q / w));
        const bw = tf.tensor1d(Float32Array.from(B, (q) => q / w));
        const inner = tf.sub(tf.sub(tf.mul(d, total), aw), tf.mul(xhat, bw));
        const dx = tf.mul(inner, tf.div(tf.mul(sg, r), total));
        return [dx, sdyx, sdy];
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
    kwargs = frozenBatchNormKwargs(this, kwargs);
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
 * How a *frozen* batch-norm layer behaves in a training-mode call
 * (`apply(x, { training: true })`). A layer is frozen when `layer.trainable`
 * is false, or when it has γ or β and all of them are non-trainable
 * (`LayerVariable.trainable = false`, what lib/train/freeze.ts `freeze` and
 * `fit`'s `freeze` set).
 *
 * - `"batch-stats"` (default): tfjs-layers' behaviour, which is also PyTorch's
 *   for `requires_grad = False` on a module left in `train()` mode: the layer
 *   normalises with the batch's statistics and keeps updating its moving
 *   mean and variance; only γ and β are not stepped. tfjs-layers (4.x)
 *   ignores `trainable` in `BatchNormalization.call`: only the `training`
 *   flag decides.
 * - `"inference"`: Keras' (TF ≥ 2) behaviour for `layer.trainable = False`:
 *   the layer runs as with `training: false` — it normalises with its moving
 *   statistics and does not update them — so a frozen block is a fixed
 *   function and its weights *and* statistics stay bit-identical. In PyTorch
 *   terms: `requires_grad = False` plus `.eval()` on the frozen modules.
 *
 * Unfrozen layers train normally in both modes, and the decision is made at
 * every call, so unfreezing a layer puts it back in training mode.
 */
export type FrozenBatchNormMode = "inference" | "batch-stats";

/** Per batch-norm layer instance: its {@link FrozenBatchNormMode} when not the default. */
const frozenModes = new WeakMap<object, FrozenBatchNormMode>();

/** Marks a stock tfjs BatchNormalization instance whose `call` honours the mode. */
const PATCHED = Symbol("harFrozenBatchNorm");

/** A layer-like object (a layer, a model, a nested model). */
interface LayerLike {
  readonly name?: string;
  trainable?: boolean;
  layers?: unknown[];
  getClassName?(): string;
  // deno-lint-ignore no-explicit-any
  call?: (inputs: tf.Tensor | tf.Tensor[], kwargs: any) => tf.Tensor | tf.Tensor[];
}

function isBatchNormLayer(l: unknown): l is LayerLike {
  return l instanceof FastBatchNormalization ||
    (l instanceof tf.layers.Layer && l.getClassName() === "BatchNormalization");
}

/**
 * Whether a batch-norm layer counts as frozen for {@link FrozenBatchNormMode}:
 * `layer.trainable` is false, or it has γ or β and none of them is trainable.
 */
export function isFrozenBatchNorm(layer: tf.layers.Layer): boolean {
  if (!layer.trainable) return true;
  const me = layer as unknown as BatchNormalizationFields;
  const w = [me.gamma, me.beta].filter((v): v is tf.LayerVariable => !!v);
  return w.length > 0 && w.every((v) => !v.trainable);
}

/** The layer's {@link FrozenBatchNormMode} (`"batch-stats"` unless set). */
export function frozenBatchNormMode(layer: tf.layers.Layer): FrozenBatchNormMode {
  return frozenModes.get(layer) ?? "batch-stats";
}

/**
 * The call arguments a batch-norm layer should run with: `training: false`
 * when the call is in training mode, the layer's mode is `"inference"` and
 * it is frozen ({@link isFrozenBatchNorm}); else `kwargs` unchanged.
 */
// deno-lint-ignore no-explicit-any
export function frozenBatchNormKwargs(layer: tf.layers.Layer, kwargs: any): any {
  if (!kwargs?.["training"] || frozenModes.get(layer) !== "inference") return kwargs;
  return isFrozenBatchNorm(layer) ? { ...kwargs, training: false } : kwargs;
}

/** Every batch-norm layer of a model, nested models included. */
export function batchNormLayers(model: unknown): tf.layers.Layer[] {
  const out: tf.layers.Layer[] = [];
  const seen = new Set<unknown>();
  const walk = (l: unknown) => {
    if (!l || typeof l !== "object" || seen.has(l)) return;
    seen.add(l);
    if (isBatchNormLayer(l)) out.push(l as unknown as tf.layers.Layer);
    const sub = (l as LayerLike).layers;
    if (Array.isArray(sub)) sub.forEach(walk);
  };
  walk(model);
  return out;
}

/**
 * Set the {@link FrozenBatchNormMode} of every batch-norm layer of `model`
 * (nested models included; stock `tf.layers.batchNormalization` layers as
 * well as {@link FastBatchNormalization}). The mode is not part of the
 * layer's config: saved models are unchanged and load in the default mode.
 * Returns a function restoring the previous modes.
 *
 * `fit` does this for its duration from its `frozenBatchNorm` option (and
 * in its workers); a custom training loop calls it itself.
 *
 * @example
 * ```ts
 * freeze(model, multiResNetBlockPrefixes(2));
 * const restore = setFrozenBatchNormMode(model, "inference");
 * try {
 *   // training-mode steps: blocks 1–2 normalise with their moving statistics
 * } finally {
 *   restore();
 * }
 * ```
 */
export function setFrozenBatchNormMode(model: unknown, mode: FrozenBatchNormMode): () => void {
  if (mode !== "inference" && mode !== "batch-stats") {
    throw new Error(
      `setFrozenBatchNormMode: mode must be "inference" or "batch-stats", got ${mode}`,
    );
  }
  const layers = batchNormLayers(model);
  const before = layers.map((l) => frozenModes.get(l));
  for (const l of layers) {
    if (!(l instanceof FastBatchNormalization)) patchStock(l as unknown as LayerLike);
    if (mode === "batch-stats") frozenModes.delete(l);
    else frozenModes.set(l, mode);
  }
  return () => {
    layers.forEach((l, i) => {
      const m = before[i];
      if (m === undefined) frozenModes.delete(l);
      else frozenModes.set(l, m);
    });
  };
}

/** Make a stock tfjs BatchNormalization instance's `call` honour its mode (once). */
function patchStock(layer: LayerLike): void {
  const marked = layer as { [PATCHED]?: boolean };
  if (marked[PATCHED] || typeof layer.call !== "function") return;
  const call = layer.call;
  // deno-lint-ignore no-explicit-any
  layer.call = function (this: tf.layers.Layer, inputs: tf.Tensor | tf.Tensor[], kwargs: any) {
    return call.call(this, inputs, frozenBatchNormKwargs(this, kwargs));
  };
  marked[PATCHED] = true;
}

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
