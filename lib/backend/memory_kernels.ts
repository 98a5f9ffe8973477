/**
 * Data-movement and reduction kernels for the wasm backend, written in JS
 * over the wasm heap: the stock ones copy or transpose the whole input per
 * call (`Slice`, `StridedSlice`, `SplitV`, `Unpack`), are slow for rank-5
 * permutations (`Transpose`), for the broadcasts of the batch-norm gradient
 * (`Tile`) or for reductions over leading axes (`Sum`, `Mean`: they transpose
 * first). Only float32/int32 are handled; anything else goes to the stock
 * kernel.
 *
 * All copies are exact bit copies (an Int32Array view), so int32 values and
 * NaN payloads survive. `Identity` shares the input's buffer (reference
 * counted, as the cpu backend does) instead of copying it. With a BLAS,
 * `Sum`/`Mean` over leading or trailing axes run as one `sgemv` against a
 * vector of ones.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Blas } from "./blas.ts";
import type { BackendWasm } from "./heap_gemm.ts";
import { heapF32, offsetOf } from "./heap_gemm.ts";

type Info = tf.TensorInfo;
// deno-lint-ignore no-explicit-any
type Attrs = Record<string, any>;

function heapI32(backend: BackendWasm): Int32Array {
  return new Int32Array(backend.wasm.HEAPU8.buffer);
}

/** Row-major strides of `shape` (elements). */
function stridesOf(shape: number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** Merge adjacent dims whose source strides are contiguous with each other. */
function mergeDims(shape: number[], strides: number[]): { shape: number[]; strides: number[] } {
  const sh: number[] = [], st: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const k = sh.length - 1;
    if (k >= 0 && st[k] === strides[i] * shape[i]) {
      sh[k] *= shape[i];
      st[k] = strides[i];
    } else {
      sh.push(shape[i]);
      st.push(strides[i]);
    }
  }
  if (sh.length === 0) return { shape: [1], strides: [1] };
  return { shape: sh, strides: st };
}

/**
 * Copy the strided source block (`shape`, element `strides`, starting at
 * `src`) to the contiguous destination `dst` (heap element offsets).
 */
export function copyStrided(
  h: Int32Array,
  src: number,
  shapeIn: number[],
  stridesIn: number[],
  dst: number,
): void {
  const { shape, strides } = mergeDims(shapeIn, stridesIn);
  const r = shape.length;
  const n = shape[r - 1], sLast = strides[r - 1];
  const outer = shape.slice(0, r - 1).reduce((a, b) => a * b, 1);
  const idx = new Array(Math.max(0, r - 1)).fill(0);
  let s = src, d = dst;
  for (let o = 0; o < outer; o++) {
    if (sLast === 1) {
      if (n >= 64) h.copyWithin(d, s, s + n);
      else for (let i = 0; i < n; i++) h[d + i] = h[s + i];
    } else {
      for (let i = 0, p = s; i < n; i++, p += sLast) h[d + i] = h[p];
    }
    d += n;
    // odometer over the outer dims
    for (let a = r - 2; a >= 0; a--) {
      s += strides[a];
      if (++idx[a] < shape[a]) break;
      s -= strides[a] * shape[a];
      idx[a] = 0;
    }
  }
}

const ok = (x: Info) => x.dtype === "float32" || x.dtype === "int32";

function transpose(backend: BackendWasm, x: Info, perm: number[]): Info {
  const outShape = perm.map((p) => x.shape[p]);
  const out = backend.makeOutput(outShape, x.dtype);
  if (tf.util.sizeFromShape(outShape) === 0) return out;
  const xs = stridesOf(x.shape);
  copyStrided(
    heapI32(backend),
    offsetOf(backend, x.dataId),
    outShape,
    perm.map((p) => xs[p]),
    offsetOf(backend, out.dataId),
  );
  return out;
}

function slice(backend: BackendWasm, x: Info, begin: number[], size: number[]): Info {
  const out = backend.makeOutput(size, x.dtype);
  if (tf.util.sizeFromShape(size) === 0) return out;
  const xs = stridesOf(x.shape);
  const src = offsetOf(backend, x.dataId) + begin.reduce((a, b, i) => a + b * xs[i], 0);
  copyStrided(heapI32(backend), src, size, xs, offsetOf(backend, out.dataId));
  return out;
}

function tile(backend: BackendWasm, x: Info, reps: number[]): Info {
  const r = x.shape.length;
  const outShape = x.shape.map((d, i) => d * reps[i]);
  const out = backend.makeOutput(outShape, x.dtype);
  if (tf.util.sizeFromShape(outShape) === 0) return out;
  const h = heapI32(backend);
  const xs = stridesOf(x.shape), os = stridesOf(outShape);
  const xOff = offsetOf(backend, x.dataId), oOff = offsetOf(backend, out.dataId);
  // fill(dim): write x's sub-block at dim into out, then replicate it reps[dim] times
  const fill = (dim: number, xb: number, ob: number) => {
    const blk = x.shape[dim] * (dim === r - 1 ? 1 : os[dim]);
    if (dim === r - 1) {
      const n = x.shape[dim];
      if (n >= 16) h.copyWithin(ob, xb, xb + n);
      else for (let i = 0; i < n; i++) h[ob + i] = h[xb + i];
    } else {
      for (let j = 0; j < x.shape[dim]; j++) fill(dim + 1, xb + j * xs[dim], ob + j * os[dim]);
    }
    let have = 1;
    const want = reps[dim];
    while (have < want) {
      const c = Math.min(have, want - have);
      h.copyWithin(ob + have * blk, ob, ob + c * blk);
      have += c;
    }
  };
  fill(0, xOff, oOff);
  return out;
}

/**
 * Sum of a float32 tensor over axes that are all leading (column sums) or all
 * trailing (row sums) after dropping size-1 dims; null otherwise.
 */
let onesBuf = new Float32Array(0);
function ones(n: number): Float32Array {
  if (onesBuf.length < n) onesBuf = new Float32Array(Math.max(n, 2 * onesBuf.length)).fill(1);
  return onesBuf;
}

function sumLeadingOrTrailing(
  backend: BackendWasm,
  x: Info,
  axes: number[],
  blas: Blas | null,
  scale: boolean,
): Info | null {
  const r = x.shape.length;
  const set = new Set(axes.map((a) => (a < 0 ? a + r : a)));
  const kept = x.shape.map((d, i) => (set.has(i) ? -1 : d));
  // classify ignoring size-1 dims
  const dims = x.shape.map((d, i) => ({ d, red: set.has(i) })).filter((e) => e.d !== 1);
  const firstKept = dims.findIndex((e) => !e.red);
  const lastRed = dims.map((e) => e.red).lastIndexOf(true);
  const firstRed = dims.findIndex((e) => e.red);
  const lastKept = dims.map((e) => !e.red).lastIndexOf(true);
  const leading = firstKept === -1 || lastRed === -1 || lastRed < firstKept;
  const trailing = firstRed === -1 || lastKept === -1 || lastKept < firstRed;
  if (!leading && !trailing) return null;
  const outShape = kept.filter((d) => d !== -1);
  const out = backend.makeOutput(outShape, "float32");
  const nOut = tf.util.sizeFromShape(outShape);
  const nRed = tf.util.sizeFromShape(x.shape) / Math.max(1, nOut);
  const h = heapF32(backend);
  const xo = offsetOf(backend, x.dataId), oo = offsetOf(backend, out.dataId);
  if (nOut === 0) return out;
  const alpha = scale ? 1 / Math.max(1, nRed) : 1;
  if (blas && nRed > 0) {
    const buf = backend.wasm.HEAPU8.buffer;
    const a = new Float32Array(buf, xo * 4, nRed * nOut);
    const y = new Float32Array(buf, oo * 4, nOut);
    if (leading) blas.sgemv(true, nRed, nOut, alpha, a, ones(nRed), y, false);
    else blas.sgemv(false, nOut, nRed, alpha, a, ones(nRed), y, false);
    return out;
  }
  if (leading) {
    // out[c] = sum_r x[r, c]
    const acc = new Float64Array(nOut);
    for (let row = 0, p = xo; row < nRed; row++, p += nOut) {
      for (let c = 0; c < nOut; c++) acc[c] += h[p + c];
    }
    for (let c = 0; c < nOut; c++) h[oo + c] = acc[c] * alpha;
  } else {
    for (let c = 0, p = xo; c < nOut; c++) {
      let s = 0;
      for (let i = 0; i < nRed; i++) s += h[p++];
      h[oo + c] = s * alpha;
    }
  }
  return out;
}

/**
 * Kernel configs replacing slow stock wasm data-movement/reduction kernels;
 * `blas` (optional) runs the reductions.
 */
export function memoryKernels(
  original: (name: string) => tf.KernelConfig | undefined,
  blas: Blas | null = null,
): tf.KernelConfig[] {
  const be = (b: unknown) => b as BackendWasm;
  const fallback = (name: string, args: Parameters<tf.KernelFunc>[0]) =>
    original(name)!.kernelFunc(args);
  const configs: tf.KernelConfig[] = [];
  const add = (kernelName: string, kernelFunc: tf.KernelFunc) =>
    configs.push({ kernelName, backendName: "wasm", kernelFunc });

  add("Identity", (args) => {
    const x = args.inputs.x as Info;
    if (x.dtype === "string") return fallback("Identity", args);
    (args.backend as unknown as { incRef(id: object): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  });
  add("Cast", (args) => {
    const x = args.inputs.x as Info;
    if (x.dtype === "string" || (args.attrs as Attrs).dtype !== x.dtype) {
      return fallback("Cast", args);
    }
    (args.backend as unknown as { incRef(id: object): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  });
  add("Transpose", (args) => {
    const x = args.inputs.x as Info;
    if (!ok(x)) return fallback("Transpose", args);
    return transpose(be(args.backend), x, (args.attrs as Attrs).perm);
  });
  add("Tile", (args) => {
    const x = args.inputs.x as Info;
    if (!ok(x)) return fallback("Tile", args);
    return tile(be(args.backend), x, (args.attrs as Attrs).reps);
  });
  add("Slice", (args) => {
    const x = args.inputs.x as Info;
    if (!ok(x)) return fallback("Slice", args);
    const a = args.attrs as Attrs;
    const [begin, size] = tf.slice_util.parseSliceParams(x, a.begin, a.size);
    tf.slice_util.assertParamsValid(x, begin, size);
    return slice(be(args.backend), x, begin, size);
  });
  add("StridedSlice", (args) => {
    const x = args.inputs.x as Info;
    if (!ok(x)) return fallback("StridedSlice", args);
    const a = args.attrs as Attrs;
    const info = tf.slice_util.sliceInfo(
      x.shape,
      a.begin,
      a.end,
      a.strides,
      a.beginMask,
      a.endMask,
      a.ellipsisMask,
      a.newAxisMask,
      a.shrinkAxisMask,
    );
    const b = be(args.backend);
    const out = b.makeOutput(info.finalShape, x.dtype);
    const size = info.finalShapeSparse;
    if (tf.util.sizeFromShape(size) === 0) return out;
    const xs = stridesOf(x.shape);
    const src = offsetOf(b, x.dataId) + info.begin.reduce((s, v, i) => s + v * xs[i], 0);
    copyStrided(
      heapI32(b),
      src,
      size,
      xs.map((s, i) => s * info.strides[i]),
      offsetOf(b, out.dataId),
    );
    return out;
  });
  add("Unpack", (args) => {
    const x = args.inputs.value as Info;
    if (!ok(x)) return fallback("Unpack", args);
    const r = x.shape.length;
    const axis = ((args.attrs as Attrs).axis + r) % r;
    const b = be(args.backend);
    const outShape = x.shape.filter((_, i) => i !== axis);
    const begin = new Array(r).fill(0), size = [...x.shape];
    size[axis] = 1;
    const outs: Info[] = [];
    for (let i = 0; i < x.shape[axis]; i++) {
      begin[axis] = i;
      const o = slice(b, x, begin, size);
      o.shape = outShape;
      outs.push(o);
    }
    return outs;
  });
  add("SplitV", (args) => {
    const x = args.inputs.x as Info;
    if (!ok(x)) return fallback("SplitV", args);
    const a = args.attrs as Attrs;
    const axis = tf.util.parseAxisParam(a.axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, a.numOrSizeSplits, axis);
    const b = be(args.backend);
    const begin = new Array(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[axis] = s;
      const o = slice(b, x, [...begin], size);
      begin[axis] += s;
      return o;
    });
  });
  for (const name of ["Sum", "Mean"]) {
    add(name, (args) => {
      const x = args.inputs.x as Info;
      const a = args.attrs as Attrs;
      if (x.dtype !== "float32") return fallback(name, args);
      const axes = tf.util.parseAxisParam(a.axis, x.shape);
      const b = be(args.backend);
      const out = sumLeadingOrTrailing(b, x, axes, blas, name === "Mean");
      if (!out) return fallback(name, args);
      if (a.keepDims) out.shape = tf.backend_util.expandShapeToKeepDim(out.shape, axes);
      return out;
    });
  }
  return configs;
}
