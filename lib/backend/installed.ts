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
import type { HeapGemm } from "./heap_gemm.ts";
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
