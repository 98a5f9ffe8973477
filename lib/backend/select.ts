/**
 * Pick the fastest tfjs backend available at run time and say which one.
 *
 * Order (default): `tensorflow` (tfjs-node, when the user has it in the
 * import map), `blas` (wasm + our kernels with OpenBLAS through Deno FFI for
 * the heavy ones), `wasm` (wasm + our kernels on the wasm matmul), `cpu`.
 * Model code is written once against `@tensorflow/tfjs` and calls
 * `initBackend()` first.
 *
 * @example
 * ```ts
 * import { initBackend } from "./lib/backend/mod.ts";
 * const info = await initBackend();       // e.g. path "blas"
 * const info2 = await initBackend({ prefer: ["wasm"] }); // force plain wasm
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import "./quiet_tfjs.ts";
import { loadOpenBlas } from "./blas.ts";
import { installWasmKernels, uninstallWasmKernels } from "./install.ts";
import { registerMissingGradients } from "./gradients.ts";
import { loadNativeKernels } from "./native.ts";

// tfjs-backend-cpu's "Hi, looks like you are running TensorFlow.js in Node.js…" banner is
// silenced on import (quiet_tfjs.ts): every entry point, lib/mod.ts, notebook and worker loads it.
export { silenceTfjsNodeBanner } from "./quiet_tfjs.ts";

/** A way to run tfjs: tfjs-node, wasm + BLAS, wasm, or the pure-JS cpu backend. */
export type BackendPath = "tensorflow" | "blas" | "wasm" | "cpu";

/** All paths, fastest first. */
export const BACKEND_PATHS: readonly BackendPath[] = ["tensorflow", "blas", "wasm", "cpu"];

/** Options for {@link initBackend}. */
export interface InitBackendOptions {
  /** Paths to try, in order. Default {@link BACKEND_PATHS}; `$HAR_BACKEND` (comma list) overrides. */
  prefer?: BackendPath[];
  /** Threads (cores) for BLAS calls. Default: all logical CPUs. */
  threads?: number;
  /** Print the chosen backend to stderr. Default true. */
  verbose?: boolean;
  /**
   * Use our native kernels (native.ts: C compiled on this machine, cached) for
   * the convolutions on the `blas` and `wasm` paths when they can be built.
   * Default true; `$HAR_NATIVE=0` also turns them off.
   */
  native?: boolean;
}

/** The backend chosen by {@link initBackend}. */
export interface BackendInfo {
  /** The path taken. */
  path: BackendPath;
  /** `tf.getBackend()` afterwards: `"tensorflow"`, `"wasm"` or `"cpu"`. */
  tfBackend: string;
  /** BLAS details when `path === "blas"`. */
  blas?: { library: string; config: string; coreName: string; threads: number };
  /** Kernels we registered on wasm (empty for tensorflow/cpu). */
  kernels: string[];
  /**
   * Our native kernels on the wasm paths: the library used, or why not
   * (absent for tensorflow/cpu).
   */
  native?: { library: string } | { reason: string };
  /** Paths tried before and why they were not used. */
  skipped: { path: BackendPath; reason: string }[];
  /** One-line description, e.g. `"wasm+blas (OpenBLAS 0.3.21 SkylakeX, 2 threads)"`. */
  summary: string;
}

function envPrefer(): BackendPath[] | undefined {
  try {
    const v = Deno.env.get("HAR_BACKEND");
    if (!v) return undefined;
    const list = v.split(",").map((s) => s.trim()) as BackendPath[];
    for (const p of list) {
      if (!BACKEND_PATHS.includes(p)) {
        throw new Error(
          `HAR_BACKEND: unknown backend '${p}' (expected ${BACKEND_PATHS.join(", ")})`,
        );
      }
    }
    return list;
  } catch (e) {
    if (e instanceof Error && e.message.startsWith("HAR_BACKEND")) throw e;
    return undefined;
  }
}

let current: BackendInfo | null = null;

/** The last result of {@link initBackend}, or null before the first call. */
export function backendInfo(): BackendInfo | null {
  return current;
}

/**
 * Select and initialise the fastest available backend. Never throws for a
 * missing optional backend: it records why in `skipped` and tries the next
 * (the `cpu` backend always works).
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const prefer = options.prefer ?? envPrefer() ?? [...BACKEND_PATHS];
  if (prefer.length === 0) throw new Error("initBackend: prefer is empty");
  const skipped: BackendInfo["skipped"] = [];
  registerMissingGradients();
  let info: BackendInfo | null = null;
  for (const path of prefer) {
    const reason = await tryPath(path, options);
    if (typeof reason === "string") {
      skipped.push({ path, reason });
      continue;
    }
    info = { ...reason, skipped };
    break;
  }
  if (!info) {
    await tf.setBackend("cpu");
    uninstallWasmKernels();
    info = {
      path: "cpu",
      tfBackend: "cpu",
      kernels: [],
      skipped,
      summary: "cpu (fallback: no preferred backend worked)",
    };
  }
  current = info;
  if (options.verbose ?? true) {
    console.error(`tfjs backend: ${info.summary}`);
  }
  return info;
}

async function setWasm(): Promise<string | null> {
  try {
    const ok = await tf.setBackend("wasm");
    await tf.ready();
    return ok ? null : "wasm backend failed to initialise";
  } catch (e) {
    return `wasm backend failed: ${(e as Error).message}`;
  }
}

async function tryPath(
  path: BackendPath,
  options: InitBackendOptions,
): Promise<Omit<BackendInfo, "skipped"> | string> {
  switch (path) {
    case "tensorflow": {
      const spec = "@tensorflow/tfjs-node";
      try {
        await import(spec);
      } catch (e) {
        return `tfjs-node not importable (${(e as Error).message.split("\n")[0]})`;
      }
      try {
        if (!(await tf.setBackend("tensorflow"))) return "tensorflow backend failed to initialise";
      } catch (e) {
        return `tensorflow backend failed: ${(e as Error).message}`;
      }
      return { path, tfBackend: "tensorflow", kernels: [], summary: "tensorflow (tfjs-node)" };
    }
    case "blas": {
      const { blas, reason } = loadOpenBlas({ threads: options.threads });
      if (!blas) return reason ?? "BLAS unavailable";
      const err = await setWasm();
      if (err) return err;
      const nat = nativeKernels(options);
      const k = installWasmKernels({ blas, native: nat.native });
      const core = blas.coreName || "?";
      const version = blas.config.split(" ").slice(0, 2).join(" ");
      return {
        path,
        tfBackend: "wasm",
        kernels: k.kernels,
        blas: {
          library: blas.library,
          config: blas.config,
          coreName: core,
          threads: blas.threads,
        },
        native: nat.info,
        summary: `wasm+blas${nat.native ? "+native" : ""} (${version} ${core}, ${blas.threads} ` +
          `threads; ${k.kernels.length} kernels)`,
      };
    }
    case "wasm": {
      const err = await setWasm();
      if (err) return err;
      const nat = nativeKernels(options);
      const k = installWasmKernels({ blas: null, native: nat.native });
      return {
        path,
        tfBackend: "wasm",
        kernels: k.kernels,
        native: nat.info,
        summary: `wasm${nat.native ? "+native" : ""} (XNNPACK + ${k.kernels.length} kernels of ` +
          `ours, no BLAS)`,
      };
    }
    case "cpu": {
      await tf.setBackend("cpu");
      return { path, tfBackend: "cpu", kernels: [], summary: "cpu (pure JS, slow)" };
    }
  }
}

function nativeKernels(options: InitBackendOptions) {
  if (options.native === false) {
    return { native: null, info: { reason: "turned off (native: false)" } };
  }
  const { native, reason } = loadNativeKernels();
  return {
    native,
    info: native ? { library: native.library } : { reason: reason ?? "unavailable" },
  };
}
