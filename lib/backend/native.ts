/**
 * Our own native kernels (C in `lib/backend/native/*.c`), compiled on the
 * user's machine with the system C compiler (`cc -O3 -march=native`) the
 * first time they are needed, cached, and called through Deno FFI on the
 * wasm heap (no copies), like OpenBLAS in blas.ts.
 *
 * What they give: direct convolutions (forward and both gradients) without
 * an im2col matrix, register-blocked for the narrow channel counts of the
 * papers' models (16–256), where OpenBLAS's GEMM runs at half speed; 1-D
 * stride-1 convolutions (kernel 3–5) by Winograd F(m, r) with 8 points, 2.5x
 * fewer multiplies (errors ~1e-6 relative); a fused batch norm for training;
 * the ReLU gradient.
 *
 * Optional, with a clean fallback: {@link loadNativeKernels} returns
 * `native: null` and the reason (not Deno, no FFI/run/write permission, no C
 * compiler, compile error, `HAR_NATIVE=0`), and the backend keeps its
 * im2col + BLAS/wasm kernels.
 *
 * Cache: `$HAR_NATIVE_DIR`, else `.cache/native/` in the project checkout
 * (else `~/.cache/har-ssl/native`); the file name carries a hash of the
 * sources, the flags, the compiler version and the CPU, so an edit or another
 * machine rebuilds. Concurrent builds (parallel tests, Web Workers) are safe:
 * each compiles to a temporary name and renames atomically.
 *
 * @example
 * ```ts
 * const { native, reason } = loadNativeKernels();
 * if (native) native.convForward(heap, xOff, wOff, yOff, -1, geometry, 0);
 * else console.error(`native kernels off: ${reason}`);
 * ```
 * @module
 */

/** Options for {@link loadNativeKernels}. */
export interface NativeKernelsOptions {
  /** Compile when no cached library matches. Default true. */
  build?: boolean;
  /** C compiler. Default `$CC`, else `cc`. */
  compiler?: string;
  /** Cache directory. Default: see the module doc. */
  cacheDir?: string;
}

/**
 * Convolution geometry, int32 × 15: N, H, W, Cin (input x), OH, OW, Cout
 * (output y), FH, FW (filter), strideH, strideW, dilationH, dilationW,
 * padTop, padLeft.
 */
export type ConvGeometry = Int32Array;

/** The loaded library. Offsets are float32 element offsets into `heap`. */
export interface NativeKernels {
  /** Path of the shared library. */
  readonly library: string;
  /** Whether this call compiled it (false: found in the cache). */
  readonly built: boolean;
  /** `y = conv(x, w)` NHWC, filter [FH, FW, Cin, Cout]; `bias < 0`: none; `flags & 1`: ReLU. */
  convForward(
    heap: Uint8Array,
    x: number,
    w: number,
    y: number,
    bias: number,
    g: ConvGeometry,
    flags: number,
  ): void;
  /** `dx` of `y = conv(x, w)` from `dy`. */
  convBackpropInput(heap: Uint8Array, dy: number, w: number, dx: number, g: ConvGeometry): void;
  /** `dw` of `y = conv(x, w)` from `x` and `dy`. */
  convBackpropFilter(heap: Uint8Array, x: number, dy: number, dw: number, g: ConvGeometry): void;
  /**
   * Turn the Winograd F(m, r) path of 1-D stride-1 convolutions (kernel 3–5,
   * ≥ 16 channels in and out; 2.5x fewer multiplies) on or off for this
   * process (on by default); returns the previous setting.
   */
  setWinograd(on: boolean): boolean;
  /** ReLU gradient `dx = x > 0 ? dy : 0` (NaN where x is NaN) over `n` values. */
  reluGrad(heap: Uint8Array, dy: number, x: number, dx: number, n: number): void;
  /**
   * One GRU step's gate arithmetic (har_gru.c, PyTorch equations): from
   * `xw` (`x_t·W + b`, batch × 3u), `gh` (`h_{t-1}·R`, batch × 3u), `bh`
   * (3u) and `hp` (`h_{t-1}`, batch × u) writes `gates` (r | z | n),
   * `hn` (`h_{t-1}·R_n + b_hn`) and `ho` (`h_t`).
   */
  gruForwardStep(
    heap: Uint8Array,
    xw: number,
    gh: number,
    bh: number,
    hp: number,
    gates: number,
    hn: number,
    ho: number,
    batch: number,
    units: number,
  ): void;
  /**
   * Its backward step: adds `dy` (−1: none) into `dh` (`dL/dh_t`), writes
   * the pre-activation gradients `dgx` and `dgh` (batch × 3u) and leaves
   * `dh ⊙ z` in `dh` (the caller adds `dgh·Rᵀ`).
   */
  gruBackwardStep(
    heap: Uint8Array,
    dy: number,
    dh: number,
    hp: number,
    gates: number,
    hn: number,
    dgx: number,
    dgh: number,
    batch: number,
    units: number,
  ): void;
  /**
   * Training-mode batch norm over the last axis of `x` viewed as rows × ch
   * (har_norm.c): writes `y`, the batch `mean` and biased `variance` (ch
   * each) from `gamma` and `beta` (ch each). Offsets in float32 elements.
   */
  bnTrainForward(
    heap: Uint8Array,
    x: number,
    gamma: number,
    beta: number,
    y: number,
    mean: number,
    variance: number,
    rows: number,
    ch: number,
    epsilon: number,
  ): void;
  /**
   * Its gradient from `dy`, the saved batch `mean`/`variance` and `gamma`:
   * writes `dx` (rows × ch), `dgamma` and `dbeta` (ch each).
   */
  bnTrainBackward(
    heap: Uint8Array,
    x: number,
    dy: number,
    gamma: number,
    mean: number,
    variance: number,
    dx: number,
    dgamma: number,
    dbeta: number,
    rows: number,
    ch: number,
    epsilon: number,
  ): void;
}

/** What {@link loadNativeKernels} found. */
export interface NativeLoadResult {
  /** The kernels, or null when they cannot be used here. */
  native: NativeKernels | null;
  /** Why `native` is null. */
  reason?: string;
}

/** C sources compiled into the library (relative to this module). */
export const NATIVE_SOURCES = [
  "native/har_conv.c",
  "native/har_norm.c",
  "native/har_act.c",
  "native/har_gru.c",
] as const;

/** Compiler flags. */
export const NATIVE_FLAGS = [
  "-O3",
  "-march=native",
  "-std=gnu11",
  "-fPIC",
  "-shared",
  "-fno-math-errno",
];

const ABI_VERSION = 1;

const SYMBOLS = {
  har_native_version: { parameters: [], result: "i32" },
  har_conv_forward: {
    parameters: ["buffer", "i32", "i32", "i32", "i32", "buffer", "i32"],
    result: "void",
  },
  har_conv_backprop_input: {
    parameters: ["buffer", "i32", "i32", "i32", "buffer"],
    result: "void",
  },
  har_conv_backprop_filter: {
    parameters: ["buffer", "i32", "i32", "i32", "buffer"],
    result: "void",
  },
  har_set_winograd: { parameters: ["i32"], result: "i32" },
  har_relu_grad: { parameters: ["buffer", "i32", "i32", "i32", "i32"], result: "void" },
  har_gru_forward_step: {
    parameters: ["buffer", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"],
    result: "void",
  },
  har_gru_backward_step: {
    parameters: ["buffer", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"],
    result: "void",
  },
  har_bn_train_forward: {
    parameters: ["buffer", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "f64"],
    result: "void",
  },
  har_bn_train_backward: {
    parameters: [
      "buffer",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f64",
    ],
    result: "void",
  },
} as const;

let cached: { key: string; result: NativeLoadResult } | null = null;

/** Open (building if needed) the native kernels; cached per options. */
export function loadNativeKernels(options: NativeKernelsOptions = {}): NativeLoadResult {
  const key = JSON.stringify(options);
  if (cached && cached.key === key) return cached.result;
  let result: NativeLoadResult;
  try {
    result = open(options);
  } catch (e) {
    result = { native: null, reason: (e as Error).message };
  }
  cached = { key, result };
  return result;
}

function granted(name: "ffi" | "run" | "read" | "write" | "env"): boolean {
  try {
    return Deno.permissions.querySync({ name }).state === "granted";
  } catch {
    return false;
  }
}

function env(name: string): string | undefined {
  return granted("env") ? Deno.env.get(name) : undefined;
}

function defaultCacheDir(): string {
  const fromEnv = env("HAR_NATIVE_DIR");
  if (fromEnv) return fromEnv;
  const here = new URL(import.meta.url);
  if (here.protocol === "file:") return new URL("../../.cache/native/", here).pathname;
  const home = env("HOME");
  if (!home) throw new Error("no cache directory (set HAR_NATIVE_DIR)");
  return `${home}/.cache/har-ssl/native`;
}

/** FNV-1a 64-bit hash, hex. */
function fnv(text: string): string {
  let h = 0xcbf29ce484222325n;
  const bytes = new TextEncoder().encode(text);
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, "0");
}

function cpuKey(): string {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    return (info.match(/^model name.*$/m)?.[0] ?? "") + (info.match(/^flags.*$/m)?.[0] ?? "");
  } catch {
    return Deno.build.target;
  }
}

function compilerVersion(cc: string): string {
  const out = new Deno.Command(cc, { args: ["--version"], stdout: "piped", stderr: "piped" })
    .outputSync();
  if (!out.success) throw new Error(`${cc} --version failed`);
  return new TextDecoder().decode(out.stdout).split("\n")[0];
}

function open(options: NativeKernelsOptions): NativeLoadResult {
  // deno-lint-ignore no-explicit-any
  const D = (globalThis as any).Deno;
  if (D === undefined || typeof D.dlopen !== "function") {
    return { native: null, reason: "not running in Deno (no FFI)" };
  }
  if (env("HAR_NATIVE") === "0") return { native: null, reason: "disabled by HAR_NATIVE=0" };
  if (!granted("ffi")) return { native: null, reason: "FFI permission not granted" };
  if (!granted("read")) return { native: null, reason: "read permission not granted" };
  if (Deno.build.os === "windows") return { native: null, reason: "not built on Windows" };
  const sources = NATIVE_SOURCES.map((s) => {
    const url = new URL(s, import.meta.url);
    if (url.protocol !== "file:") throw new Error(`native source ${url} is not a local file`);
    return { path: url.pathname, text: Deno.readTextFileSync(url) };
  });
  const cc = options.compiler ?? env("CC") ?? "cc";
  const dir = options.cacheDir ?? defaultCacheDir();
  const build = options.build ?? true;
  let version = "";
  if (build && granted("run")) {
    try {
      version = compilerVersion(cc);
    } catch (e) {
      return { native: null, reason: `no C compiler '${cc}' (${(e as Error).message})` };
    }
  }
  const ext = Deno.build.os === "darwin" ? "dylib" : "so";
  const hash = fnv(
    [ABI_VERSION, ...sources.map((s) => s.text), NATIVE_FLAGS.join(" "), version, cpuKey()].join(
      "\0",
    ),
  );
  const lib = `${dir.replace(/\/$/, "")}/har_kernels-${hash}.${ext}`;
  let built = false;
  if (!exists(lib)) {
    if (!build) return { native: null, reason: `no cached library ${lib} (build disabled)` };
    if (!granted("run")) return { native: null, reason: "run permission not granted (to compile)" };
    if (!granted("write")) {
      return { native: null, reason: "write permission not granted (to cache)" };
    }
    Deno.mkdirSync(dir, { recursive: true });
    const tmp = `${lib}.${Deno.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const out = new Deno.Command(cc, {
      args: [...NATIVE_FLAGS, "-o", tmp, ...sources.map((s) => s.path), "-lm"],
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    if (!out.success) {
      try {
        Deno.removeSync(tmp);
      } catch { /* nothing written */ }
      const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(0, 5).join(" | ");
      return { native: null, reason: `compiling ${sources.map((s) => s.path)} failed: ${err}` };
    }
    Deno.renameSync(tmp, lib);
    built = true;
    pruneOtherBuilds(dir, lib);
  }
  let dl: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    dl = Deno.dlopen(lib, SYMBOLS);
  } catch (e) {
    return { native: null, reason: `${lib}: ${(e as Error).message.split("\n")[0]}` };
  }
  const s = dl.symbols;
  if (s.har_native_version() !== ABI_VERSION) {
    dl.close();
    return { native: null, reason: `${lib}: ABI version mismatch` };
  }
  return {
    native: {
      library: lib,
      built,
      convForward: (heap, x, w, y, bias, g, flags) =>
        s.har_conv_forward(heap, x, w, y, bias, g, flags),
      convBackpropInput: (heap, dy, w, dx, g) => s.har_conv_backprop_input(heap, dy, w, dx, g),
      convBackpropFilter: (heap, x, dy, dw, g) => s.har_conv_backprop_filter(heap, x, dy, dw, g),
      reluGrad: (heap, dy, x, dx, n) => s.har_relu_grad(heap, dy, x, dx, n),
      gruForwardStep: (heap, xw, gh, bh, hp, gates, hn, ho, batch, units) =>
        s.har_gru_forward_step(heap, xw, gh, bh, hp, gates, hn, ho, batch, units),
      gruBackwardStep: (heap, dy, dh, hp, gates, hn, dgx, dgh, batch, units) =>
        s.har_gru_backward_step(heap, dy, dh, hp, gates, hn, dgx, dgh, batch, units),
      setWinograd: (on) => s.har_set_winograd(on ? 1 : 0) !== 0,
      bnTrainForward: (heap, x, gamma, beta, y, mean, variance, rows, ch, epsilon) =>
        s.har_bn_train_forward(heap, x, gamma, beta, y, mean, variance, rows, ch, epsilon),
      bnTrainBackward: (heap, x, dy, gamma, mean, variance, dx, dgamma, dbeta, rows, ch, epsilon) =>
        s.har_bn_train_backward(
          heap,
          x,
          dy,
          gamma,
          mean,
          variance,
          dx,
          dgamma,
          dbeta,
          rows,
          ch,
          epsilon,
        ),
    },
  };
}

/** Remove stale builds (other hashes) from the cache; best effort. */
function pruneOtherBuilds(dir: string, keep: string): void {
  try {
    for (const e of Deno.readDirSync(dir)) {
      const path = `${dir.replace(/\/$/, "")}/${e.name}`;
      if (e.isFile && /^har_kernels-[0-9a-f]{16}\.(so|dylib)$/.test(e.name) && path !== keep) {
        Deno.removeSync(path);
      }
    }
  } catch {
    // another process pruned first, or no permission: harmless
  }
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
