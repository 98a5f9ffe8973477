/**
 * Install (and remove) our training kernels on the tfjs `wasm` backend.
 *
 * Kernel registration is global in tfjs-core: after {@link installWasmKernels}
 * every `wasm` op of these names runs our code, on any wasm backend instance.
 * The stock kernels are kept and restored by {@link uninstallWasmKernels}.
 *
 * @example
 * ```ts
 * await tf.setBackend("wasm");
 * installWasmKernels({ blas }); // blas from loadOpenBlas(), or null for plain wasm
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import type { Blas } from "./blas.ts";
import { type BackendWasm, blasHeapGemm, type HeapGemm, wasmHeapGemm } from "./heap_gemm.ts";
import { matmulKernels } from "./matmul_kernels.ts";
import { convKernels } from "./conv_kernels.ts";
import { memoryKernels } from "./memory_kernels.ts";
import {
  normKernels,
  registerFastBatchNormGradient,
  unregisterFastBatchNormGradient,
} from "./norm_kernels.ts";
import { registerMissingGradients } from "./gradients.ts";
import {
  activationKernels,
  registerFastReluGradient,
  unregisterFastReluGradient,
} from "./activation_kernels.ts";
import type { NativeKernels } from "./native.ts";
import { nanGuardKernels } from "./nan_guard.ts";
import { type InstalledKernels, setInstalledWasmKernels } from "./installed.ts";

// what is installed lives in installed.ts (importable without the wasm backend)
export { type InstalledKernels, installedWasmKernels } from "./installed.ts";

/** Options for {@link installWasmKernels}. */
export interface InstallWasmKernelsOptions {
  /**
   * BLAS for the heavy kernels (MatMul/BatchMatMul in every form,
   * _FusedMatMul, Conv2D, FusedConv2D and both conv gradients). Null/absent:
   * the conv gradients and transposed/batched matmuls use the wasm backend's
   * own matmul instead, and the forward kernels stay stock.
   */
  blas?: Blas | null;
  /**
   * Our native kernels (native.ts `loadNativeKernels`) for the convolutions,
   * the training batch norm and the ReLU gradient.
   * Null/absent: im2col + GEMM.
   */
  native?: NativeKernels | null;
}

const originals = new Map<string, tf.KernelConfig | undefined>();

/** The stock wasm kernel of that name (before our install), if any. */
export function stockWasmKernel(name: string): tf.KernelConfig | undefined {
  return originals.has(name) ? originals.get(name) : tf.getKernel(name, "wasm");
}

function register(config: tf.KernelConfig): void {
  const name = config.kernelName;
  if (!originals.has(name)) originals.set(name, tf.getKernel(name, "wasm"));
  if (tf.getKernel(name, "wasm")) tf.unregisterKernel(name, "wasm");
  tf.registerKernel(config);
}

/**
 * Register our kernels for the `wasm` backend (replacing any earlier
 * install). The wasm backend must be initialised (`await tf.setBackend("wasm")`
 * or `tf.findBackend("wasm")` non-null) — the GEMM engine binds to it.
 */
export function installWasmKernels(options: InstallWasmKernelsOptions = {}): InstalledKernels {
  const backend = tf.findBackend("wasm") as unknown as BackendWasm | null;
  if (!backend) throw new Error("installWasmKernels: the wasm backend is not initialised");
  uninstallWasmKernels();
  const gemm: HeapGemm = options.blas ? blasHeapGemm(backend, options.blas) : wasmHeapGemm(backend);
  const stock = (name: string) => stockWasmKernel(name);
  const configs = [
    ...matmulKernels(gemm, stock),
    ...convKernels(gemm, stock, gemm.engine === "blas" || !!options.native, options.native ?? null),
    ...memoryKernels(stock, options.blas ?? null),
    ...normKernels(stock, options.native ?? null),
    ...activationKernels(options.native ?? null),
  ];
  for (const c of configs) register(c);
  // NaN/Inf propagate as on cpu: wrap the kernels (stock or ours) whose stock code loses them
  const guards = nanGuardKernels((name) => tf.getKernel(name, "wasm"));
  for (const c of guards) register(c);
  registerMissingGradients();
  registerFastBatchNormGradient();
  registerFastReluGradient();
  const installed: InstalledKernels = {
    engine: gemm.engine,
    gemm,
    kernels: [...new Set([...configs, ...guards].map((c) => c.kernelName))],
    nativeKernels: options.native ?? null,
  };
  setInstalledWasmKernels(installed);
  return installed;
}

/**
 * Restore the stock wasm kernels (a kernel that did not exist is
 * unregistered) and tfjs-core's own batch-norm and ReLU gradients.
 */
export function uninstallWasmKernels(): void {
  for (const [name, config] of originals) {
    if (tf.getKernel(name, "wasm")) tf.unregisterKernel(name, "wasm");
    if (config) tf.registerKernel(config);
  }
  originals.clear();
  unregisterFastBatchNormGradient();
  unregisterFastReluGradient();
  setInstalledWasmKernels(null);
}
