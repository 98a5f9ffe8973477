/** Helpers for the backend gradient checks: run a function's gradients on a given backend. */
import * as tf from "@tensorflow/tfjs";
import { installWasmKernels } from "../../lib/backend/install.ts";
import { loadOpenBlas } from "../../lib/backend/blas.ts";
import { loadNativeKernels } from "../../lib/backend/native.ts";

/** A kernel set checked against cpu. */
export type Engine = "wasm" | "blas" | "native";

/**
 * Engines to check against cpu: plain wasm kernels, plus BLAS when it loads,
 * plus BLAS with our native kernels when they build.
 */
export function engines(): Engine[] {
  const out: Engine[] = ["wasm"];
  if (loadOpenBlas().blas) out.push("blas");
  if (loadNativeKernels().native) out.push("native");
  return out;
}

/**
 * Switch tfjs to `engine` ("cpu", "wasm" = our kernels on the wasm matmul,
 * "blas", "native" = BLAS (when present) plus our native kernels).
 */
export async function useEngine(engine: "cpu" | Engine): Promise<void> {
  if (engine === "cpu") {
    await tf.setBackend("cpu");
    return;
  }
  await tf.setBackend("wasm");
  await tf.ready();
  installWasmKernels({
    blas: engine === "wasm" ? null : loadOpenBlas().blas,
    native: engine === "native" ? loadNativeKernels().native : null,
  });
}

/** Value and gradients of `f` w.r.t. all `inputs`, as plain arrays. */
export function valueAndGrads(
  f: (...xs: tf.Tensor[]) => tf.Scalar,
  inputs: { shape: number[]; values: Float32Array }[],
): { value: number; grads: Float32Array[] } {
  return tf.tidy(() => {
    const xs = inputs.map((i) => tf.tensor(i.values, i.shape));
    const { value, grads } = tf.valueAndGrads(f)(xs);
    return {
      value: value.dataSync()[0],
      grads: grads.map((g) => g.dataSync() as Float32Array),
    };
  });
}

/**
 * Deterministic pseudo-random values in [offset - scale, offset + scale) (a
 * small LCG, seeded; [-1, 1) by default).
 *
 * @example
 * ```ts
 * const w = seeded(16, 3, 0.5); // 16 values in [-0.5, 0.5)
 * ```
 */
export function seeded(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 31 - 1) * scale + offset;
  }
  return out;
}

/** max|a-b| / max|b| (norm-relative error; 0 when both are all zero). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return m === 0 ? d : d / m;
}
