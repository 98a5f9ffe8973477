/**
 * Batch normalisation in one pass over the wasm heap, forward and backward.
 *
 * - `FusedBatchNorm` (wasm): `y = (x − mean)·rsqrt(var + ε)·scale + offset`
 *   for per-channel (last axis) statistics, one loop instead of the stock
 *   kernel's broadcasts.
 * - `HarBatchNormGrad` (wasm, ours): all five gradients of `FusedBatchNorm`
 *   (`dx`, `dmean`, `dvariance`, `dscale`, `doffset`) in one pass: per channel
 *   `Σdy` and `Σ(x − mean)·dy`, and `dx = dy·rsqrt(var + ε)·scale`.
 * - {@link registerFastBatchNormGradient} replaces tfjs-core's
 *   `FusedBatchNorm` gradient (a chain of Sub/Mul/Tile/Sum over the full
 *   tensor) by that kernel when the active backend has it and the statistics
 *   are per channel; on any other backend or shape it calls the original
 *   gradient, so results elsewhere are unchanged.
 *
 * This is what `tf.layers.batchNormalization` (training) and `tf.batchNorm`
 * reach, so model code needs no change.
 *
 * @example
 * ```ts
 * installWasmKernels({ blas }); // registers both kernels and the gradient
 * const y = tf.batchNorm(x, mean, variance, offset, scale, 1e-3); // fast on wasm
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "./heap_gemm.ts";
import { heapF32, offsetOf } from "./heap_gemm.ts";

type Info = tf.TensorInfo;
// deno-lint-ignore no-explicit-any
type Attrs = Record<string, any>;

/** Name of our fused batch-norm gradient kernel. */
export const BATCH_NORM_GRAD = "HarBatchNormGrad";

/** True when `t` holds one value per channel (rank 1, length `c`). */
function perChannel(t: Info | undefined | null, c: number): boolean {
  return t == null || (t.shape.length === 1 && t.shape[0] === c && t.dtype === "float32");
}

/** Per-channel `rsqrt(var + ε)·scale` and `rsqrt(var + ε)` into plain arrays. */
function factors(
  h: Float32Array,
  varOff: number,
  scaleOff: number,
  c: number,
  eps: number,
): { r: Float64Array; rs: Float64Array } {
  const r = new Float64Array(c), rs = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    r[j] = 1 / Math.sqrt(h[varOff + j] + eps);
    rs[j] = r[j] * (scaleOff < 0 ? 1 : h[scaleOff + j]);
  }
  return { r, rs };
}

/** Forward batch norm on the heap; null when the statistics are not per channel. */
export function heapBatchNorm(
  backend: BackendWasm,
  x: Info,
  mean: Info,
  variance: Info,
  offset: Info | undefined,
  scale: Info | undefined,
  eps: number,
): Info | null {
  const c = x.shape[x.shape.length - 1] ?? 1;
  if (x.dtype !== "float32" || x.shape.length === 0) return null;
  if (!perChannel(mean, c) || !perChannel(variance, c)) return null;
  if (!perChannel(offset, c) || !perChannel(scale, c)) return null;
  const out = backend.makeOutput(x.shape, "float32");
  const n = tf.util.sizeFromShape(x.shape);
  if (n === 0) return out;
  const h = heapF32(backend);
  const xo = offsetOf(backend, x.dataId), yo = offsetOf(backend, out.dataId);
  const mo = offsetOf(backend, mean.dataId);
  const so = scale ? offsetOf(backend, scale.dataId) : -1;
  const { rs } = factors(h, offsetOf(backend, variance.dataId), so, c, eps);
  const shift = new Float64Array(c);
  const oo = offset ? offsetOf(backend, offset.dataId) : -1;
  for (let j = 0; j < c; j++) shift[j] = (oo < 0 ? 0 : h[oo + j]) - h[mo + j] * rs[j];
  for (let p = 0; p < n; p += c) {
    for (let j = 0; j < c; j++) h[yo + p + j] = h[xo + p + j] * rs[j] + shift[j];
  }
  return out;
}

/**
 * The five gradients of per-channel batch norm given `dy`, as
 * `[dx, dmean, dvariance, dscale, doffset]`; null when not per channel.
 */
export function heapBatchNormGrad(
  backend: BackendWasm,
  x: Info,
  dy: Info,
  mean: Info,
  variance: Info,
  scale: Info | undefined,
  eps: number,
): Info[] | null {
  const c = x.shape[x.shape.length - 1] ?? 1;
  if (x.dtype !== "float32" || dy.dtype !== "float32" || x.shape.length === 0) return null;
  if (!perChannel(mean, c) || !perChannel(variance, c) || !perChannel(scale, c)) return null;
  const dx = backend.makeOutput(x.shape, "float32");
  const outs = [0, 1, 2, 3].map(() => backend.makeOutput([c], "float32"));
  const n = tf.util.sizeFromShape(x.shape);
  const h = heapF32(backend);
  const xo = offsetOf(backend, x.dataId), dyo = offsetOf(backend, dy.dataId);
  const dxo = offsetOf(backend, dx.dataId), mo = offsetOf(backend, mean.dataId);
  const so = scale ? offsetOf(backend, scale.dataId) : -1;
  const { r, rs } = factors(h, offsetOf(backend, variance.dataId), so, c, eps);
  const m = new Float64Array(c);
  for (let j = 0; j < c; j++) m[j] = h[mo + j];
  const sdy = new Float64Array(c), sxdy = new Float64Array(c);
  for (let p = 0; p < n; p += c) {
    for (let j = 0; j < c; j++) {
      const g = h[dyo + p + j];
      h[dxo + p + j] = g * rs[j];
      sdy[j] += g;
      sxdy[j] += (h[xo + p + j] - m[j]) * g;
    }
  }
  const [dm, dv, ds, dof] = outs.map((o) => offsetOf(backend, o.dataId));
  for (let j = 0; j < c; j++) {
    const s = so < 0 ? 1 : h[so + j];
    h[dm + j] = -rs[j] * sdy[j];
    h[dv + j] = -0.5 * r[j] * r[j] * r[j] * s * sxdy[j];
    h[ds + j] = r[j] * sxdy[j];
    h[dof + j] = sdy[j];
  }
  return [dx, ...outs];
}

/** Kernel configs: `FusedBatchNorm` (falls back to `original`) and {@link BATCH_NORM_GRAD}. */
export function normKernels(
  original: (name: string) => tf.KernelConfig | undefined,
): tf.KernelConfig[] {
  const forward: tf.KernelFunc = (args) => {
    const { x, mean, variance, offset, scale } = args.inputs as Record<string, Info>;
    const eps = (args.attrs as Attrs).varianceEpsilon ?? 0.001;
    const out = heapBatchNorm(
      args.backend as unknown as BackendWasm,
      x,
      mean,
      variance,
      offset,
      scale,
      eps,
    );
    return out ?? original("FusedBatchNorm")!.kernelFunc(args);
  };
  const grad: tf.KernelFunc = (args) => {
    const { x, dy, mean, variance, scale } = args.inputs as Record<string, Info>;
    const eps = (args.attrs as Attrs).varianceEpsilon ?? 0.001;
    const outs = heapBatchNormGrad(
      args.backend as unknown as BackendWasm,
      x,
      dy,
      mean,
      variance,
      scale,
      eps,
    );
    if (!outs) throw new Error(`${BATCH_NORM_GRAD}: statistics must be per channel (last axis)`);
    return outs;
  };
  return [
    { kernelName: "FusedBatchNorm", backendName: "wasm", kernelFunc: forward },
    { kernelName: BATCH_NORM_GRAD, backendName: "wasm", kernelFunc: grad },
  ];
}

let originalGrad: tf.GradConfig | undefined;
let registered = false;

/**
 * Route the `FusedBatchNorm` gradient through {@link BATCH_NORM_GRAD} where
 * the active backend registers it and the statistics are per channel; the
 * original tfjs-core gradient everywhere else. Idempotent.
 */
export function registerFastBatchNormGradient(): void {
  if (registered) return;
  originalGrad = tf.getGradient("FusedBatchNorm");
  if (!originalGrad) return;
  const orig = originalGrad;
  registered = true;
  tf.registerGradient({
    kernelName: "FusedBatchNorm",
    inputsToSave: orig.inputsToSave,
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved;
      const d = dy as tf.Tensor;
      const c = x.shape[x.shape.length - 1];
      const fast = tf.getKernel(BATCH_NORM_GRAD, tf.getBackend()) !== undefined &&
        x.dtype === "float32" && x.rank > 0 && perChannel(mean, c) &&
        perChannel(variance, c) && perChannel(scale, c);
      if (!fast) return orig.gradFunc(dy, saved, attrs);
      const inputs: tf.NamedTensorMap = { x, dy: d, mean, variance };
      if (scale) inputs.scale = scale;
      const [dx, dmean, dvar, dscale, doffset] = tf.engine().runKernel(
        BATCH_NORM_GRAD,
        inputs,
        { varianceEpsilon: (attrs as Attrs).varianceEpsilon },
      ) as tf.Tensor[];
      return {
        x: () => dx,
        mean: () => dmean,
        variance: () => dvar,
        scale: () => dscale,
        offset: () => doffset,
      };
    },
  });
}

/** Restore tfjs-core's own `FusedBatchNorm` gradient. */
export function unregisterFastBatchNormGradient(): void {
  if (!registered || !originalGrad) return;
  tf.registerGradient(originalGrad);
  registered = false;
}
