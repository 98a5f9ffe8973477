/**
 * Which training kernels {@link installWasmKernels} put on the `wasm` backend,
 * readable without importing install.ts.
 *
 * install.ts imports `@tensorflow/tfjs-backend-wasm`, whose registration makes
 * `wasm` tfjs' default backend in any program that loads it. Modules outside
 * lib/backend that only need to know what is installed (the fused layers in
 * lib/models) read it here, so importing them leaves the default backend alone.
 *
 * @example
 * ```ts
 * const gemm = installedWasmKernels()?.gemm ?? wasmHeapGemm(backend);
 * gemm.sgemm(false, false, m, n, k, aOff, bOff, cOff, false);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendWasm, type HeapGemm, wasmHeapGemm } from "./heap_gemm.ts";
import type { NativeKernels } from "./native.ts";

/** What was installed. */
export interface InstalledKernels {
  /** `"blas"` or `"wasm"`: the GEMM engine behind the kernels. */
  engine: "blas" | "wasm";
  /** The GEMM behind the matmul and conv kernels, for other heap kernels to call directly. */
  gemm: HeapGemm;
  /** Names of the kernels now overridden or added on `wasm`. */
  kernels: string[];
  /** The native kernels behind the convolutions, training batch norm and ReLU gradient (null: none). */
  nativeKernels: NativeKernels | null;
}

let installed: InstalledKernels | null = null;

/**
 * The currently installed kernels, or null (none installed: the stock wasm kernels run).
 *
 * @example
 * ```ts
 * const native = installedWasmKernels()?.nativeKernels ?? null;
 * ```
 */
export function installedWasmKernels(): InstalledKernels | null {
  return installed;
}

/**
 * Record what is installed (null: nothing). Only install.ts calls this.
 *
 * @example
 * ```ts
 * setInstalledWasmKernels({ engine: "wasm", gemm, kernels: [], nativeKernels: null });
 * ```
 */
export function setInstalledWasmKernels(kernels: InstalledKernels | null): void {
  installed = kernels;
}

/**
 * The GEMM lib/backend installed (OpenBLAS on the BLAS path), else the wasm
 * backend's own matmul (stock kernels): what the fused heap kernels call.
 *
 * @example
 * ```ts
 * installedHeapGemm(backend).sgemm(false, false, m, n, k, aOff, bOff, cOff, false);
 * ```
 */
export function installedHeapGemm(backend: BackendWasm): HeapGemm {
  return installed?.gemm ?? wasmHeapGemm(backend);
}

/**
 * Register kernels on the wasm backend under names not registered yet
 * (idempotent: a kernel already registered under a name is kept).
 *
 * @example
 * ```ts
 * registerMissingWasmKernels([["HarGruForward", forwardKernel]]);
 * ```
 */
export function registerMissingWasmKernels(
  kernels: readonly (readonly [string, tf.KernelFunc])[],
): void {
  for (const [kernelName, kernelFunc] of kernels) {
    if (!tf.getKernel(kernelName, "wasm")) {
      tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc });
    }
  }
}
