/**
 * OpenBLAS through Deno FFI: `cblas_sgemm` on Float32Array views of any
 * buffer (including the wasm backend's heap, so no copies are made).
 *
 * The library is optional. {@link loadOpenBlas} returns `null` (with the
 * reason in `BlasLoadResult.reason`) when FFI is not permitted, the library is
 * absent, or the code runs outside Deno; callers then stay on plain wasm.
 *
 * Debian/Ubuntu package: `libopenblas0-pthread` (provides `libopenblas.so.0`).
 *
 * @example
 * ```ts
 * const { blas } = loadOpenBlas({ threads: 2 });
 * if (blas) blas.sgemm(false, false, 2, 2, 2, a, b, c, false); // c = a·b
 * ```
 * @module
 */

/** Options for {@link loadOpenBlas}. */
export interface OpenBlasOptions {
  /**
   * Library names/paths tried in order with `Deno.dlopen`.
   * Default `["libopenblas.so.0", "libopenblas.so", "libopenblas.dylib"]`.
   */
  libraries?: string[];
  /** OpenBLAS threads (count of cores used by one sgemm). Default: all logical CPUs. */
  threads?: number;
  /**
   * OpenBLAS kernel family (`OPENBLAS_CORETYPE`). Default: the user's
   * `$OPENBLAS_CORETYPE`, else `"SkylakeX"` when the CPU reports AVX-512
   * (F, BW, DQ, VL) — OpenBLAS 0.3.21 does not recognise Zen 5 and would
   * otherwise pick slower kernels — else OpenBLAS's own detection.
   */
  coreType?: string;
}

/** A loaded BLAS: row-major single-precision GEMM on Float32Array views. */
export interface Blas {
  /** The library that was opened, e.g. `"libopenblas.so.0"`. */
  readonly library: string;
  /** `openblas_get_config()`, e.g. `"OpenBLAS 0.3.21 DYNAMIC_ARCH ... SkylakeX"`. */
  readonly config: string;
  /** `openblas_get_corename()`, the kernel family in use. */
  readonly coreName: string;
  /** Threads OpenBLAS uses per call. */
  readonly threads: number;
  /**
   * Row-major `C = op(A)·op(B) (+ C when accumulate)`, op = transpose when
   * the flag is set. `A` is M×K (K×M when transA), `B` is K×N (N×K when
   * transB), `C` is M×N; all contiguous, starting at element 0 of each view.
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    accumulate: boolean,
  ): void;
  /**
   * Row-major `y = alpha·op(A)·x (+ y when accumulate)`: A is M×N, op = transpose
   * when the flag is set (then `x` has M entries and `y` N, else `x` N and
   * `y` M). All contiguous with unit stride.
   */
  sgemv(
    transA: boolean,
    m: number,
    n: number,
    alpha: number,
    a: Float32Array,
    x: Float32Array,
    y: Float32Array,
    accumulate: boolean,
  ): void;
  /** Change the thread count used by later calls. */
  setThreads(threads: number): void;
  /** Close the library. Later sgemm calls throw. */
  close(): void;
}

/** What {@link loadOpenBlas} found. */
export interface BlasLoadResult {
  /** The library, or null when it could not be used. */
  blas: Blas | null;
  /** Why `blas` is null (permission, missing library, not Deno). */
  reason?: string;
}

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32", // order
      "i32", // transA
      "i32", // transB
      "i32", // M
      "i32", // N
      "i32", // K
      "f32", // alpha
      "buffer", // A
      "i32", // lda
      "buffer", // B
      "i32", // ldb
      "f32", // beta
      "buffer", // C
      "i32", // ldc
    ],
    result: "void",
  },
  cblas_sgemv: {
    parameters: [
      "i32", // order
      "i32", // trans
      "i32", // M
      "i32", // N
      "f32", // alpha
      "buffer", // A
      "i32", // lda
      "buffer", // x
      "i32", // incx
      "f32", // beta
      "buffer", // y
      "i32", // incy
    ],
    result: "void",
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void" },
  openblas_get_num_threads: { parameters: [], result: "i32" },
  openblas_get_config: { parameters: [], result: "pointer" },
  openblas_get_corename: { parameters: [], result: "pointer" },
} as const;

const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

let cached: { key: string; result: BlasLoadResult } | null = null;

/** True when the CPU reports the AVX-512 subsets OpenBLAS's SkylakeX kernels need. */
export function cpuHasAvx512(): boolean {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    const flags = info.match(/^flags\s*:(.*)$/m)?.[1].split(/\s+/) ?? [];
    return ["avx512f", "avx512bw", "avx512dq", "avx512vl"].every((f) => flags.includes(f));
  } catch {
    return false;
  }
}

/**
 * Open OpenBLAS with Deno FFI. Sets `OPENBLAS_CORETYPE` and
 * `OPENBLAS_NUM_THREADS` before the first `dlopen` (OpenBLAS reads them when
 * the library is loaded). Returns the same library on repeated calls with the
 * same options, re-applying `threads` (OpenBLAS's thread count is one setting
 * per process, shared with any Web Worker that loaded the library too).
 */
export function loadOpenBlas(options: OpenBlasOptions = {}): BlasLoadResult {
  const key = JSON.stringify(options);
  if (cached && cached.key === key) {
    // the thread count is process-wide (shared with Web Workers): re-apply ours
    const threads = Math.floor(options.threads ?? navigator.hardwareConcurrency ?? 1);
    cached.result.blas?.setThreads(threads);
    return cached.result;
  }
  const result = open(options);
  cached = { key, result };
  return result;
}

function open(options: OpenBlasOptions): BlasLoadResult {
  // deno-lint-ignore no-explicit-any
  const D = (globalThis as any).Deno;
  if (D === undefined || typeof D.dlopen !== "function") {
    return { blas: null, reason: "not running in Deno (no FFI)" };
  }
  try {
    const st = D.permissions.querySync({ name: "ffi" });
    if (st.state !== "granted") return { blas: null, reason: "FFI permission not granted" };
  } catch (e) {
    return { blas: null, reason: `FFI permission query failed: ${(e as Error).message}` };
  }
  const threads = Math.max(1, Math.floor(options.threads ?? navigator.hardwareConcurrency ?? 1));
  try {
    if (options.coreType) D.env.set("OPENBLAS_CORETYPE", options.coreType);
    else if (!D.env.get("OPENBLAS_CORETYPE") && cpuHasAvx512()) {
      D.env.set("OPENBLAS_CORETYPE", "SkylakeX");
    }
    D.env.set("OPENBLAS_NUM_THREADS", String(threads));
  } catch {
    // no env permission: OpenBLAS uses its own detection and defaults
  }
  const libraries = options.libraries ??
    ["libopenblas.so.0", "libopenblas.so", "libopenblas.dylib"];
  const errors: string[] = [];
  for (const library of libraries) {
    let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
    try {
      lib = Deno.dlopen(library, SYMBOLS);
    } catch (e) {
      errors.push(`${library}: ${(e as Error).message.split("\n")[0]}`);
      continue;
    }
    return { blas: makeBlas(library, lib, threads) };
  }
  return { blas: null, reason: `no BLAS library could be opened (${errors.join("; ")})` };
}

function cString(p: Deno.PointerValue): string {
  return p === null ? "" : new Deno.UnsafePointerView(p).getCString();
}

function makeBlas(
  library: string,
  lib: Deno.DynamicLibrary<typeof SYMBOLS>,
  threads: number,
): Blas {
  const s = lib.symbols;
  s.openblas_set_num_threads(threads);
  let closed = false;
  const blas: Blas = {
    library,
    config: cString(s.openblas_get_config()),
    coreName: cString(s.openblas_get_corename()),
    get threads() {
      return s.openblas_get_num_threads();
    },
    sgemm(transA, transB, m, n, k, a, b, c, accumulate) {
      if (closed) throw new Error(`${library}: sgemm called after close()`);
      if (m === 0 || n === 0) return;
      if (k === 0) {
        if (!accumulate) c.fill(0, 0, m * n);
        return;
      }
      const lda = transA ? m : k, ldb = transB ? k : n;
      if (a.length < m * k || b.length < k * n || c.length < m * n) {
        throw new RangeError(
          `sgemm: buffer too small for M=${m} N=${n} K=${k} (A ${a.length}, B ${b.length}, C ${c.length})`,
        );
      }
      s.cblas_sgemm(
        ROW_MAJOR,
        transA ? TRANS : NO_TRANS,
        transB ? TRANS : NO_TRANS,
        m,
        n,
        k,
        1,
        a,
        lda,
        b,
        ldb,
        accumulate ? 1 : 0,
        c,
        n,
      );
    },
    sgemv(transA, m, n, alpha, a, x, y, accumulate) {
      if (closed) throw new Error(`${library}: sgemv called after close()`);
      const nx = transA ? m : n, ny = transA ? n : m;
      if (ny === 0) return;
      if (nx === 0) {
        if (!accumulate) y.fill(0, 0, ny);
        return;
      }
      if (a.length < m * n || x.length < nx || y.length < ny) {
        throw new RangeError(
          `sgemv: buffer too small for M=${m} N=${n} (A ${a.length}, x ${x.length}, y ${y.length})`,
        );
      }
      s.cblas_sgemv(
        ROW_MAJOR,
        transA ? TRANS : NO_TRANS,
        m,
        n,
        alpha,
        a,
        n,
        x,
        1,
        accumulate ? 1 : 0,
        y,
        1,
      );
    },
    setThreads(t: number) {
      s.openblas_set_num_threads(Math.max(1, Math.floor(t)));
    },
    close() {
      if (closed) return;
      closed = true;
      lib.close();
      cached = null;
    },
  };
  return blas;
}
