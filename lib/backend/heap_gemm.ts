/**
 * Matrix multiply on the wasm backend's heap: one interface, two engines.
 *
 * - {@link blasHeapGemm}: OpenBLAS `cblas_sgemm` called through Deno FFI on
 *   Float32Array views of the wasm memory (no copies; every transpose form).
 * - {@link wasmHeapGemm}: the wasm backend's own XNNPACK matmul, which is
 *   fast only for a plain row-major A·B; transposed operands are copied into a
 *   transposed scratch buffer first (memory-bound, cheap next to the multiply).
 *
 * Offsets are in float32 elements from the start of the heap.
 *
 * @example
 * ```ts
 * const g = blas ? blasHeapGemm(backend, blas) : wasmHeapGemm(backend);
 * g.sgemm(false, true, m, n, k, aOff, bOff, cOff, false); // C = A·Bᵀ
 * ```
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { Blas } from "./blas.ts";

/** The parts of the emscripten module behind tfjs-backend-wasm that we use. */
export interface WasmModuleLike {
  /** The whole wasm heap (its buffer changes when the heap grows). */
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  // deno-lint-ignore no-explicit-any
  cwrap(name: string, ret: string | null, args: string[]): (...a: any[]) => any;
  tfjs: {
    registerTensor(id: number, size: number, byteOffset: number): void;
    disposeData(id: number): void;
  };
}

/** The parts of tfjs-backend-wasm's `BackendWasm` that we use (its own typings omit the heap). */
export interface BackendWasm {
  wasm: WasmModuleLike;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** Row-major single-precision GEMM addressed by heap offsets (float32 elements). */
export interface HeapGemm {
  /** `"blas"` or `"wasm"`. */
  readonly engine: "blas" | "wasm";
  /**
   * `C = op(A)·op(B)` (`+= ` when accumulate). A is M×K (K×M when transA), B
   * is K×N (N×K when transB), C is M×N, all contiguous.
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    aOff: number,
    bOff: number,
    cOff: number,
    accumulate: boolean,
  ): void;
}

/** A Float32Array over the whole wasm heap (re-create after any allocation: the heap may grow). */
export function heapF32(backend: BackendWasm): Float32Array {
  return new Float32Array(backend.wasm.HEAPU8.buffer);
}

/** Float32 element offset of a tensor's data on the wasm heap. */
export function offsetOf(backend: BackendWasm, dataId: object): number {
  return backend.dataIdMap.get(dataId)!.memoryOffset >>> 2;
}

/** Allocate `n` float32 on the wasm heap; returns the element offset. Free with {@link heapFree}. */
export function heapAlloc(backend: BackendWasm, n: number): number {
  const bytes = Math.max(4, n * 4);
  const p = backend.wasm._malloc(bytes) >>> 0;
  if (p === 0) throw new RangeError(`wasm heap: cannot allocate ${bytes} bytes`);
  return p >>> 2;
}

/** Free memory from {@link heapAlloc}. */
export function heapFree(backend: BackendWasm, off: number): void {
  backend.wasm._free(off << 2);
}

/** GEMM through OpenBLAS on heap views. */
export function blasHeapGemm(backend: BackendWasm, blas: Blas): HeapGemm {
  return {
    engine: "blas",
    sgemm(transA, transB, m, n, k, aOff, bOff, cOff, accumulate) {
      const buf = backend.wasm.HEAPU8.buffer;
      blas.sgemm(
        transA,
        transB,
        m,
        n,
        k,
        new Float32Array(buf, aOff * 4, m * k),
        new Float32Array(buf, bOff * 4, k * n),
        new Float32Array(buf, cOff * 4, m * n),
        accumulate,
      );
    },
  };
}

/** Transpose a rows×cols block at `src` into `dst` (cols×rows), both on the heap. */
export function heapTranspose(
  backend: BackendWasm,
  src: number,
  dst: number,
  rows: number,
  cols: number,
): void {
  const h = heapF32(backend);
  const B = 32;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) {
        const s = src + r * cols;
        for (let c = c0; c < c1; c++) h[dst + c * rows + r] = h[s + c];
      }
    }
  }
}

type WasmMatMul = (
  aId: number,
  aShape: Uint8Array,
  aRank: number,
  bId: number,
  bShape: Uint8Array,
  bRank: number,
  transA: number,
  transB: number,
  outId: number,
) => void;

const matmulFns = new WeakMap<BackendWasm, WasmMatMul>();

/**
 * GEMM through the wasm backend's XNNPACK matmul, addressed by heap offsets:
 * the operands are registered as temporary tensor views (no copy), transposed
 * operands are copied to scratch first.
 */
export function wasmHeapGemm(backend: BackendWasm): HeapGemm {
  let fn = matmulFns.get(backend);
  if (!fn) {
    fn = backend.wasm.cwrap("BatchMatMul", null, [
      "number",
      "array",
      "number",
      "number",
      "array",
      "number",
      "number",
      "number",
      "number",
    ]) as WasmMatMul;
    matmulFns.set(backend, fn);
  }
  const matmul = fn;
  // deno-lint-ignore no-explicit-any
  const b = backend as any;
  const view = (off: number, size: number): number => {
    const id = b.dataIdNextNumber++;
    backend.wasm.tfjs.registerTensor(id, size, off * 4);
    return id;
  };
  const shapeBytes = (s: number[]) => new Uint8Array(new Int32Array(s).buffer);
  return {
    engine: "wasm",
    sgemm(transA, transB, m, n, k, aOff, bOff, cOff, accumulate) {
      if (m === 0 || n === 0) return;
      if (k === 0) {
        if (!accumulate) heapF32(backend).fill(0, cOff, cOff + m * n);
        return;
      }
      const tmpA = transA ? heapAlloc(backend, m * k) : -1;
      const tmpB = transB ? heapAlloc(backend, k * n) : -1;
      const tmpC = accumulate ? heapAlloc(backend, m * n) : -1;
      if (transA) heapTranspose(backend, aOff, tmpA, k, m);
      if (transB) heapTranspose(backend, bOff, tmpB, n, k);
      const aId = view(transA ? tmpA : aOff, m * k);
      const bId = view(transB ? tmpB : bOff, k * n);
      const cId = view(accumulate ? tmpC : cOff, m * n);
      matmul(aId, shapeBytes([1, m, k]), 3, bId, shapeBytes([1, k, n]), 3, 0, 0, cId);
      // disposing the views drops XNNPACK's cached packed weights keyed by id
      backend.wasm.tfjs.disposeData(aId);
      backend.wasm.tfjs.disposeData(bId);
      backend.wasm.tfjs.disposeData(cId);
      if (accumulate) {
        const h = heapF32(backend);
        for (let i = 0; i < m * n; i++) h[cOff + i] += h[tmpC + i];
        heapFree(backend, tmpC);
      }
      if (transA) heapFree(backend, tmpA);
      if (transB) heapFree(backend, tmpB);
    },
  };
}
