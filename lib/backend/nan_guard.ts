/**
 * Non-finite inputs on the wasm backend: run the kernels whose stock
 * (XNNPACK) code loses NaN on the cpu backend instead, so a NaN or ±Inf
 * propagates exactly as on tfjs's cpu backend (and PyTorch).
 *
 * Why: XNNPACK clamps outputs with SIMD min/max, which return the other
 * operand when one is NaN. On tfjs-backend-wasm 4.22 that turns a NaN into a
 * finite number or -Inf in `Relu6`, `ClipByValue`, `Maximum`/`Minimum`
 * (NaN on one side), `AvgPool`, `MaxPool` (-Inf) and the convolutions with a
 * fused ReLU (`FusedConv2D`, `FusedDepthwiseConv2D`); a -Inf then becomes 0
 * after a ReLU, so one NaN sample gave finite features. The guard scans the
 * float32 inputs (one pass, cheap next to the kernel); all finite: the
 * kernel it wraps runs unchanged; any NaN/±Inf: the cpu backend's kernel of
 * the same name runs on copies of the inputs and its result is written back
 * to the wasm heap.
 *
 * @example
 * ```ts
 * for (const c of nanGuardKernels((n) => tf.getKernel(n, "wasm"))) tf.registerKernel(c);
 * tf.relu6(tf.tensor([NaN, 7])).dataSync(); // [NaN, 6] on wasm, as on cpu
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import "./quiet_tfjs.ts";
import type { BackendWasm } from "./heap_gemm.ts";
import { heapF32, offsetOf } from "./heap_gemm.ts";

type Info = tf.TensorInfo;

/**
 * Stock wasm kernels that turn NaN/±Inf into other values (checked against
 * cpu in tests/backend/nan_test.ts); the convolutions and matmuls are
 * included because their XNNPACK output clamp is the same min/max.
 */
export const NAN_GUARDED_KERNELS: readonly string[] = [
  "Relu6",
  "ClipByValue",
  "Maximum",
  "Minimum",
  "AvgPool",
  "MaxPool",
  "Conv2D",
  "FusedConv2D",
  "DepthwiseConv2dNative",
  "FusedDepthwiseConv2D",
  "BatchMatMul",
  "_FusedMatMul",
];

/** Whether any float32 input of a wasm kernel holds a NaN or ±Inf. */
export function hasNonFinite(backend: BackendWasm, inputs: Record<string, Info>): boolean {
  const h = heapF32(backend);
  for (const info of Object.values(inputs)) {
    if (!info || info.dtype !== "float32") continue;
    const o = offsetOf(backend, info.dataId);
    const n = tf.util.sizeFromShape(info.shape);
    for (let i = o, end = o + n; i < end; i++) {
      const v = h[i];
      if (v - v !== 0) return true; // NaN - NaN and Inf - Inf are NaN
    }
  }
  return false;
}

interface CpuLike {
  write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): object;
  readSync(dataId: object): tf.backend_util.BackendValues;
  disposeData(dataId: object, force?: boolean): boolean;
}

/**
 * Run kernel `name` on the cpu backend with copies of the wasm `inputs`;
 * the outputs are new wasm tensors.
 */
export function runOnCpu(
  name: string,
  wasm: BackendWasm,
  inputs: Record<string, Info>,
  attrs: tf.NamedAttrMap,
): Info | Info[] {
  const kernel = tf.getKernel(name, "cpu");
  const cpu = tf.findBackend("cpu") as unknown as CpuLike | null;
  if (!kernel || !cpu) throw new Error(`no cpu kernel ${name} for a non-finite input`);
  const w = wasm as unknown as CpuLike;
  const cpuInputs: Record<string, Info> = {};
  for (const [k, info] of Object.entries(inputs)) {
    if (!info) continue;
    const dataId = cpu.write(w.readSync(info.dataId), info.shape.slice(), info.dtype);
    cpuInputs[k] = { dataId, shape: info.shape, dtype: info.dtype };
  }
  try {
    const res = kernel.kernelFunc({ inputs: cpuInputs, backend: cpu as never, attrs });
    const outs = Array.isArray(res) ? res : [res];
    const back = outs.map((o) => {
      const values = cpu.readSync(o.dataId);
      cpu.disposeData(o.dataId, true);
      const out = wasm.makeOutput(o.shape, o.dtype);
      const off = wasm.dataIdMap.get(out.dataId)!.memoryOffset;
      const n = tf.util.sizeFromShape(o.shape);
      const bytes = new Uint8Array(
        (values as ArrayBufferView).buffer,
        (values as ArrayBufferView).byteOffset,
        n * 4,
      );
      wasm.wasm.HEAPU8.set(bytes, off);
      return out;
    });
    return Array.isArray(res) ? back : back[0];
  } finally {
    for (const info of Object.values(cpuInputs)) cpu.disposeData(info.dataId, true);
  }
}

/**
 * Guarded configs for the kernels of {@link NAN_GUARDED_KERNELS} that
 * `current` has (the kernel registered now: stock or ours), for `wasm`.
 */
export function nanGuardKernels(
  current: (name: string) => tf.KernelConfig | undefined,
): tf.KernelConfig[] {
  const out: tf.KernelConfig[] = [];
  for (const name of NAN_GUARDED_KERNELS) {
    const inner = current(name);
    if (!inner) continue;
    out.push({
      kernelName: name,
      backendName: "wasm",
      setupFunc: inner.setupFunc,
      disposeFunc: inner.disposeFunc,
      kernelFunc: (args) => {
        const be = args.backend as unknown as BackendWasm;
        const inputs = args.inputs as Record<string, Info>;
        if (hasNonFinite(be, inputs)) return runOnCpu(name, be, inputs, args.attrs ?? {});
        return inner.kernelFunc(args);
      },
    });
  }
  return out;
}
