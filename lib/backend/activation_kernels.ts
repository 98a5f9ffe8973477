/**
 * ReLU's gradient in one pass on the wasm heap.
 *
 * tfjs-core's `Relu` gradient is `dy · step(x)`: two kernels and a temporary
 * the size of the activation. `HarReluGrad` (wasm, ours) computes
 * `dx = x > 0 ? dy : 0` (NaN where x is NaN, as `step` gives) in one loop,
 * and {@link registerFastReluGradient} makes the `Relu` gradient use it when
 * the active backend has it; elsewhere the original gradient runs unchanged.
 *
 * @example
 * ```ts
 * installWasmKernels({ blas }); // registers the kernel and the gradient
 * tf.grad((x) => tf.relu(x).sum())(x); // one HarReluGrad on wasm
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "./heap_gemm.ts";
import { heapF32, offsetOf } from "./heap_gemm.ts";
import type { NativeKernels } from "./native.ts";

type Info = tf.TensorInfo;

/** Name of our fused ReLU gradient kernel. */
export const RELU_GRAD = "HarReluGrad";

/**
 * `dx` of ReLU from `dy` and the ReLU's input `x` on the heap: a vectorised
 * C loop when `native` is given, else JS.
 */
export function heapReluGrad(
  backend: BackendWasm,
  dy: Info,
  x: Info,
  native: NativeKernels | null = null,
): Info {
  const out = backend.makeOutput(x.shape, "float32");
  const n = tf.util.sizeFromShape(x.shape);
  const xo = offsetOf(backend, x.dataId), go = offsetOf(backend, dy.dataId);
  const oo = offsetOf(backend, out.dataId);
  if (native) {
    native.reluGrad(backend.wasm.HEAPU8, go, xo, oo, n);
    return out;
  }
  const h = heapF32(backend);
  for (let i = 0; i < n; i++) {
    const v = h[xo + i];
    h[oo + i] = v > 0 ? h[go + i] : v === v ? 0 : NaN;
  }
  return out;
}

/** The kernel config for the wasm backend (`native`: use our C loop). */
export function activationKernels(native: NativeKernels | null = null): tf.KernelConfig[] {
  return [{
    kernelName: RELU_GRAD,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend }) => {
      const { dy, x } = inputs as Record<string, Info>;
      return heapReluGrad(backend as unknown as BackendWasm, dy, x, native);
    },
  }];
}

let originalGrad: tf.GradConfig | undefined;
let registered = false;

/**
 * Make the `Relu` gradient one `HarReluGrad` kernel where the active backend
 * has it (float32, same shapes); otherwise call tfjs-core's own gradient.
 */
export function registerFastReluGradient(): void {
  if (registered) return;
  originalGrad = tf.getGradient("Relu");
  if (!originalGrad) return;
  const orig = originalGrad;
  registered = true;
  tf.registerGradient({
    kernelName: "Relu",
    inputsToSave: orig.inputsToSave,
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const d = dy as tf.Tensor;
      const fast = tf.getKernel(RELU_GRAD, tf.getBackend()) !== undefined &&
        x.dtype === "float32" && d.dtype === "float32" &&
        tf.util.arraysEqual(x.shape, d.shape);
      if (!fast) return orig.gradFunc(dy, saved, attrs);
      return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: d, x }) as tf.Tensor };
    },
  });
}

/** Restore tfjs-core's own `Relu` gradient. */
export function unregisterFastReluGradient(): void {
  if (!registered || !originalGrad) return;
  tf.registerGradient(originalGrad);
  registered = false;
}
