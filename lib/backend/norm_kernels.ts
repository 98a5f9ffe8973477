/**
 * Batch normalisation over the wasm heap, forward and backward.
 *
 * - `FusedBatchNorm` (wasm): `y = (x − mean)·rsqrt(var + ε)·scale + offset`
 *   for per-channel (last axis) statistics, one loop instead of the stock
 *   kernel's broadcasts.
 * - `HarBatchNormGrad` (wasm, ours): all five gradients of `FusedBatchNorm`
 *   (`dx`, `dmean`, `dvariance`, `dscale`, `doffset`): per channel `Σdy` and
 *   `Σ(x − mean)·dy`, and `dx = dy·rsqrt(var + ε)·scale`.
 * - {@link registerFastBatchNormGradient} replaces tfjs-core's
 *   `FusedBatchNorm` gradient (a chain of Sub/Mul/Tile/Sum over the full
 *   tensor) by that kernel when the active backend has it and the statistics
 *   are per channel; on any other backend or shape it calls the original
 *   gradient, so results elsewhere are unchanged.
 * - {@link BATCH_NORM_TRAIN} / {@link BATCH_NORM_TRAIN_GRAD} (wasm, ours):
 *   training-mode batch norm with batch statistics as one kernel each way
 *   (y, mean, variance; dx, dγ, dβ), which lib/models/batchnorm.ts
 *   `batchNormTrain` runs; on our C kernels (native/har_norm.c) when
 *   `installWasmKernels` is given the native library, else JS loops computing
 *   the same formulas. Sums are accumulated in double.
 *
 * The first three are what `tf.layers.batchNormalization` (training) and
 * `tf.batchNorm` reach, so model code needs no change.
 *
 * @example
 * ```ts
 * installWasmKernels({ blas, native }); // registers the kernels and the gradient
 * const y = tf.batchNorm(x, mean, variance, offset, scale, 1e-3); // fast on wasm
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "./heap_gemm.ts";
import { heapF32, offsetOf } from "./heap_gemm.ts";
import type { NativeKernels } from "./native.ts";

type Info = tf.TensorInfo;
// deno-lint-ignore no-explicit-any
type Attrs = Record<string, any>;

/** Name of our fused batch-norm gradient kernel. */
export const BATCH_NORM_GRAD = "HarBatchNormGrad";
/**
 * Name of the training-mode forward kernel (wasm, lib/models/batchnorm.ts
 * `batchNormTrain`): inputs `x`, `gamma`, `beta`; attr `epsilon`; outputs y,
 * batch mean, biased batch variance.
 */
export const BATCH_NORM_TRAIN = "HarBatchNormTrain";
/**
 * Name of its gradient kernel (wasm): inputs `x`, `dy`, `gamma`, `mean`,
 * `variance`; attr `epsilon`; outputs dx, dgamma, dbeta.
 */
export const BATCH_NORM_TRAIN_GRAD = "HarBatchNormTrainGrad";

/** True when `t` holds one value per channel (rank 1, length `c`). */
function perChannel(t: Info | undefined | null, c: number): boolean {
  return t == null || (t.shape.length === 1 && t.shape[0] === c && t.dtype === "float32");
}

/**
 * Per-channel `r = rsqrt(var + ε)` and `rs = r·scale` into plain arrays,
 * from the float32 variance at `varOff` (`scaleOff` < 0: scale 1).
 */
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

/**
 * `y = x·rs + (offset − mean·rs)` per channel over the `n` values at `xo`
 * (channels last, `c` of them), written at `yo`; in double, rounded once.
 * `offsetOff` < 0: offset 0.
 */
function normalise(
  h: Float32Array,
  xo: number,
  yo: number,
  n: number,
  c: number,
  meanOff: number,
  offsetOff: number,
  rs: Float64Array,
): void {
  const shift = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    shift[j] = (offsetOff < 0 ? 0 : h[offsetOff + j]) - h[meanOff + j] * rs[j];
  }
  for (let p = 0; p < n; p += c) {
    const xb = xo + p, yb = yo + p;
    for (let j = 0; j < c; j++) h[yb + j] = h[xb + j] * rs[j] + shift[j];
  }
}

/**
 * Per-channel `Σdy` and `Σdy·(x − mean)` in double over the `n` values of `x`
 * (at `xo`) and `dy` (at `dyo`), channels last, `c` of them. With `scaled`,
 * also writes `dy·rs` at `scaled.offset`, row by row while the row is in
 * cache (the `FusedBatchNorm` dx).
 */
function channelSums(
  h: Float32Array,
  xo: number,
  dyo: number,
  meanOff: number,
  n: number,
  c: number,
  scaled?: { offset: number; rs: Float64Array },
): { sdy: Float64Array; sxdy: Float64Array } {
  const m = new Float64Array(c), sdy = new Float64Array(c), sxdy = new Float64Array(c);
  for (let j = 0; j < c; j++) m[j] = h[meanOff + j];
  for (let p = 0; p < n; p += c) {
    const xb = xo + p, gb = dyo + p;
    for (let j = 0; j < c; j++) {
      const g = h[gb + j];
      sdy[j] += g;
      sxdy[j] += g * (h[xb + j] - m[j]);
    }
    if (scaled) {
      const db = scaled.offset + p, rs = scaled.rs;
      for (let j = 0; j < c; j++) h[db + j] = h[gb + j] * rs[j];
    }
  }
  return { sdy, sxdy };
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
  const so = scale ? offsetOf(backend, scale.dataId) : -1;
  const oo = offset ? offsetOf(backend, offset.dataId) : -1;
  const { rs } = factors(h, offsetOf(backend, variance.dataId), so, c, eps);
  const [xo, yo, mo] = [x, out, mean].map((t) => offsetOf(backend, t.dataId));
  normalise(h, xo, yo, n, c, mo, oo, rs);
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
  const [xo, dyo, dxo, mo] = [x, dy, dx, mean].map((t) => offsetOf(backend, t.dataId));
  const so = scale ? offsetOf(backend, scale.dataId) : -1;
  const { r, rs } = factors(h, offsetOf(backend, variance.dataId), so, c, eps);
  const { sdy, sxdy } = channelSums(h, xo, dyo, mo, n, c, { offset: dxo, rs });
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

/** Rows (values per channel) and channels (last axis) of `x`. */
function channelsOf(x: Info): { rows: number; ch: number } {
  const ch = x.shape[x.shape.length - 1];
  const n = tf.util.sizeFromShape(x.shape);
  return { rows: ch === 0 ? 0 : n / ch, ch };
}

/** Throws unless `t` is float32 of shape [ch], naming the kernel and input. */
function checkPerChannel(kernel: string, name: string, t: Info, ch: number): void {
  if (t.dtype !== "float32" || t.shape.length !== 1 || t.shape[0] !== ch) {
    throw new Error(
      `${kernel}: ${name} must be float32 of shape [${ch}] (one value per channel), got ` +
        `${t.dtype} [${t.shape}]`,
    );
  }
}

/** Throws unless `x` is float32 of rank ≥ 2 (channels last). */
function checkInput(kernel: string, x: Info): void {
  if (x.dtype !== "float32" || x.shape.length < 2) {
    throw new Error(`${kernel}: x must be float32 of rank >= 2, got ${x.dtype} [${x.shape}]`);
  }
}

/**
 * Training-mode forward in JS on the heap: per-channel sums of `x − s` and
 * `(x − s)²` in double around a shift `s` (the channel's first value, so the
 * one-pass variance does not cancel), the batch mean and biased variance
 * written at `mo`/`vo`, then `y` as {@link heapBatchNorm} computes it.
 */
function trainForwardJs(
  h: Float32Array,
  o: { x: number; gamma: number; beta: number; y: number; mean: number; variance: number },
  rows: number,
  ch: number,
  eps: number,
): void {
  const s1 = new Float64Array(ch), s2 = new Float64Array(ch), shift = new Float64Array(ch);
  if (rows > 0) { for (let j = 0; j < ch; j++) shift[j] = h[o.x + j]; }
  const n = rows * ch;
  for (let p = 0; p < n; p += ch) {
    const base = o.x + p;
    for (let j = 0; j < ch; j++) {
      const d = h[base + j] - shift[j];
      s1[j] += d;
      s2[j] += d * d;
    }
  }
  for (let j = 0; j < ch; j++) {
    const d1 = s1[j] / rows;
    h[o.mean + j] = shift[j] + d1;
    h[o.variance + j] = Math.max(0, s2[j] / rows - d1 * d1);
  }
  const { rs } = factors(h, o.variance, o.gamma, ch, eps);
  normalise(h, o.x, o.y, n, ch, o.mean, o.beta, rs);
}

/**
 * Training-mode gradient in JS on the heap: {@link channelSums}, then
 * `dγ = Σdy·(x − μ)·rstd`, `dβ = Σdy` and
 * `dx = γ·rstd·(dy − Σdy/M − (x − μ)·rstd²·Σdy·(x − μ)/M)`.
 */
function trainBackwardJs(
  h: Float32Array,
  o: {
    x: number;
    dy: number;
    gamma: number;
    mean: number;
    variance: number;
    dx: number;
    dgamma: number;
    dbeta: number;
  },
  rows: number,
  ch: number,
  eps: number,
): void {
  const n = rows * ch;
  const { sdy, sxdy } = channelSums(h, o.x, o.dy, o.mean, n, ch);
  const { r, rs } = factors(h, o.variance, o.gamma, ch, eps);
  const m = new Float64Array(ch), B = new Float64Array(ch), C = new Float64Array(ch);
  for (let j = 0; j < ch; j++) {
    m[j] = h[o.mean + j];
    B[j] = -rs[j] * r[j] * r[j] * sxdy[j] / rows;
    C[j] = -rs[j] * sdy[j] / rows;
    h[o.dgamma + j] = sxdy[j] * r[j];
    h[o.dbeta + j] = sdy[j];
  }
  for (let p = 0; p < n; p += ch) {
    const xb = o.x + p, gb = o.dy + p, db = o.dx + p;
    for (let j = 0; j < ch; j++) {
      h[db + j] = h[gb + j] * rs[j] + (h[xb + j] - m[j]) * B[j] + C[j];
    }
  }
}

/** Kernel funcs of {@link BATCH_NORM_TRAIN} and {@link BATCH_NORM_TRAIN_GRAD}: `native` C or JS loops. */
function trainKernels(
  native: NativeKernels | null,
): { forward: tf.KernelFunc; grad: tf.KernelFunc } {
  const forward: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const b = backend as unknown as BackendWasm;
    const { x, gamma, beta } = inputs as Record<string, Info>;
    const eps = Number((attrs as Attrs).epsilon ?? 1e-3);
    checkInput(BATCH_NORM_TRAIN, x);
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
    if (native) native.bnTrainForward(b.wasm.HEAPU8, xo, go, bo, yo, mo, vo, rows, ch, eps);
    else {
      const o = { x: xo, gamma: go, beta: bo, y: yo, mean: mo, variance: vo };
      trainForwardJs(heapF32(b), o, rows, ch, eps);
    }
    return [y, mean, variance];
  };
  const grad: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const b = backend as unknown as BackendWasm;
    const { x, dy, gamma, mean, variance } = inputs as Record<string, Info>;
    const eps = Number((attrs as Attrs).epsilon ?? 1e-3);
    checkInput(BATCH_NORM_TRAIN_GRAD, x);
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
    if (native) {
      native.bnTrainBackward(b.wasm.HEAPU8, xo, dyo, go, mo, vo, dxo, dgo, dbo, rows, ch, eps);
    } else {
      const o = {
        x: xo,
        dy: dyo,
        gamma: go,
        mean: mo,
        variance: vo,
        dx: dxo,
        dgamma: dgo,
        dbeta: dbo,
      };
      trainBackwardJs(heapF32(b), o, rows, ch, eps);
    }
    return [dx, dgamma, dbeta];
  };
  return { forward, grad };
}

/**
 * Kernel configs for `wasm`: `FusedBatchNorm` (falls back to `original` when
 * the statistics are not per channel), {@link BATCH_NORM_GRAD}, and the
 * training kernels {@link BATCH_NORM_TRAIN} / {@link BATCH_NORM_TRAIN_GRAD}
 * (on `native`'s C kernels when given, else JS loops over the heap).
 *
 * @param original The stock wasm kernel of a name (before our install).
 * @param native Our native kernels, or null for the JS loops.
 * @returns The four kernel configs, for `installWasmKernels` to register.
 *
 * @example
 * ```ts
 * for (const k of normKernels(stockWasmKernel, loadNativeKernels().native)) tf.registerKernel(k);
 * ```
 */
export function normKernels(
  original: (name: string) => tf.KernelConfig | undefined,
  native: NativeKernels | null,
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
  const train = trainKernels(native);
  return [
    { kernelName: "FusedBatchNorm", backendName: "wasm", kernelFunc: forward },
    { kernelName: BATCH_NORM_GRAD, backendName: "wasm", kernelFunc: grad },
    { kernelName: BATCH_NORM_TRAIN, backendName: "wasm", kernelFunc: train.forward },
    { kernelName: BATCH_NORM_TRAIN_GRAD, backendName: "wasm", kernelFunc: train.grad },
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
