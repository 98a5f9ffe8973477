/**
 * `BatchMatMul` and `_FusedMatMul` for the wasm backend over a
 * {@link HeapGemm}: every transpose form and batch broadcast (one operand
 * with batch 1) runs as GEMM calls on the heap, with no copies.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm, HeapGemm } from "./heap_gemm.ts";
import { heapF32, offsetOf } from "./heap_gemm.ts";

type Info = tf.TensorInfo;
// deno-lint-ignore no-explicit-any
type Attrs = Record<string, any>;

/** Run another registered wasm kernel (ours or the stock one) on tensor infos. */
export function callWasmKernel(
  name: string,
  inputs: Record<string, Info>,
  backend: BackendWasm,
  attrs: Attrs = {},
): Info {
  const k = tf.getKernel(name, "wasm");
  if (!k) throw new Error(`wasm kernel ${name} is not registered`);
  return k.kernelFunc({ inputs, backend, attrs }) as Info;
}

/**
 * Batched matmul of `a` and `b` with the given gemm. Returns null when the
 * batch shapes need a general broadcast (the caller then falls back).
 */
export function heapBatchMatMul(
  backend: BackendWasm,
  gemm: HeapGemm,
  a: Info,
  b: Info,
  transA: boolean,
  transB: boolean,
): Info | null {
  if (a.dtype !== "float32" || b.dtype !== "float32") return null;
  const ar = a.shape.length, br = b.shape.length;
  const m = transA ? a.shape[ar - 1] : a.shape[ar - 2];
  const kA = transA ? a.shape[ar - 2] : a.shape[ar - 1];
  const kB = transB ? b.shape[br - 1] : b.shape[br - 2];
  const n = transB ? b.shape[br - 2] : b.shape[br - 1];
  if (kA !== kB) {
    throw new Error(
      `matMul: inner shapes ${kA} and ${kB} of tensors with shapes ${a.shape} and ${b.shape} ` +
        `(transposeA=${transA}, transposeB=${transB}) must match`,
    );
  }
  const k = kA;
  const outer = tf.backend_util.assertAndGetBroadcastShape(
    a.shape.slice(0, -2),
    b.shape.slice(0, -2),
  );
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const batch = tf.util.sizeFromShape(outer);
  if (!(batchA === batch || batchA === 1) || !(batchB === batch || batchB === 1)) return null;
  const out = backend.makeOutput([...outer, m, n], "float32");
  const aOff = offsetOf(backend, a.dataId);
  const bOff = offsetOf(backend, b.dataId);
  const cOff = offsetOf(backend, out.dataId);
  if (batch === 0 || m === 0 || n === 0) return out;
  if (k === 0) {
    heapF32(backend).fill(0, cOff, cOff + batch * m * n);
    return out;
  }
  if (batchB === 1 && !transA && batchA === batch) {
    // fold the batch into M: one large gemm (dense layers on [B, T, D])
    gemm.sgemm(false, transB, batch * m, n, k, aOff, bOff, cOff, false);
    return out;
  }
  for (let i = 0; i < batch; i++) {
    gemm.sgemm(
      transA,
      transB,
      m,
      n,
      k,
      aOff + (batchA === 1 ? 0 : i * m * k),
      bOff + (batchB === 1 ? 0 : i * k * n),
      cOff + i * m * n,
      false,
    );
  }
  return out;
}

/** Apply a bias add and a fused activation (tfjs `fused` semantics) to `x`, disposing `x`. */
export function applyBiasActivation(
  backend: BackendWasm,
  x: Info,
  bias: Info | undefined,
  activation: string | undefined,
  preluWeights: Info | undefined,
  leakyreluAlpha: number | undefined,
): Info {
  let y = x;
  const step = (next: Info) => {
    backend.disposeData(y.dataId);
    y = next;
  };
  if (bias) step(callWasmKernel("Add", { a: y, b: bias }, backend));
  switch (activation ?? "linear") {
    case "linear":
      break;
    case "relu":
      step(callWasmKernel("Relu", { x: y }, backend));
      break;
    case "relu6":
      step(callWasmKernel("Relu6", { x: y }, backend));
      break;
    case "elu":
      step(callWasmKernel("Elu", { x: y }, backend));
      break;
    case "sigmoid":
      step(callWasmKernel("Sigmoid", { x: y }, backend));
      break;
    case "leakyrelu":
      step(callWasmKernel("LeakyRelu", { x: y }, backend, { alpha: leakyreluAlpha ?? 0.2 }));
      break;
    case "prelu":
      if (!preluWeights) throw new Error("fused prelu activation needs preluActivationWeights");
      step(callWasmKernel("Prelu", { x: y, alpha: preluWeights }, backend));
      break;
    default:
      throw new Error(`fused activation '${activation}' is not supported`);
  }
  return y;
}

/** Kernel configs for BatchMatMul and _FusedMatMul over `gemm`; `original` handles the rest. */
export function matmulKernels(
  gemm: HeapGemm,
  original: (name: string) => tf.KernelConfig | undefined,
): tf.KernelConfig[] {
  const batchMatMul: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { a, b } = inputs as { a: Info; b: Info };
    const { transposeA, transposeB } = attrs as Attrs;
    const out = heapBatchMatMul(
      backend as unknown as BackendWasm,
      gemm,
      a,
      b,
      !!transposeA,
      !!transposeB,
    );
    if (out) return out;
    return original("BatchMatMul")!.kernelFunc({ inputs, backend, attrs });
  };
  const fusedMatMul: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { a, b, bias, preluActivationWeights } = inputs as Record<string, Info>;
    const { transposeA, transposeB, activation, leakyreluAlpha } = attrs as Attrs;
    const be = backend as unknown as BackendWasm;
    const out = heapBatchMatMul(be, gemm, a, b, !!transposeA, !!transposeB);
    if (!out) return original("_FusedMatMul")!.kernelFunc({ inputs, backend, attrs });
    return applyBiasActivation(be, out, bias, activation, preluActivationWeights, leakyreluAlpha);
  };
  return [
    { kernelName: "BatchMatMul", backendName: "wasm", kernelFunc: batchMatMul },
    { kernelName: "_FusedMatMul", backendName: "wasm", kernelFunc: fusedMatMul },
  ];
}
