/**
 * The wasm heap kernels of the fused GRU (lib/models/gru.ts
 * `torchGruSequence`): the whole forward time loop ({@link GRU_FORWARD}) and
 * back-propagation through time ({@link GRU_BACKWARD}), each one kernel over
 * the wasm heap, registered on the `wasm` backend by
 * {@link registerWasmGruKernels}.
 *
 * PyTorch's equations (`torch.nn.GRU`, gate blocks `r, z, n`):
 * `r = σ(x·W_r + b_r + h·R_r + b_hr)`, `z = σ(x·W_z + b_z + h·R_z + b_hz)`,
 * `n = tanh(x·W_n + b_n + r ⊙ (h·R_n + b_hn))`, `h' = n + z ⊙ (h − n)`,
 * `h_0 = 0`. The input projections `x_t·W + b` of all steps come in as one
 * tensor (one matmul, the caller's).
 *
 * - Forward: per step one GEMM `h_{t-1}·R` on heap offsets (OpenBLAS on the
 *   BLAS path, else the wasm backend's matmul), then the gate arithmetic:
 *   lib/backend/native/har_gru.c when the native kernels are installed, else
 *   JS loops ({@link fastTanh}, {@link fastSigmoid}). Keeps the activated
 *   gates, `h_{t-1}·R_n + b_hn` and every `h_t`.
 * - Backward: per step the pre-activation gradients, then one GEMM
 *   `dh_{t-1} += dgh_t·Rᵀ`. The weight gradients and `dx` are the caller's,
 *   one matmul over all steps each.
 *
 * Each step of tfjs ops costs a dozen kernel launches and temporaries;
 * bench/models.ts `cpc` measures the CPC encoder's training step.
 *
 * @example
 * ```ts
 * registerWasmGruKernels(); // with the wasm backend active
 * const [hs, gates, hn] = tf.engine().runKernel(
 *   GRU_FORWARD, { xw, recurrentKernel, recurrentBias }, {},
 * ) as tf.Tensor[]; // hs [time + 1, batch, units]: h_{-1} = 0, then every h_t
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendWasm, heapAlloc, heapF32, heapFree, offsetOf } from "./heap_gemm.ts";
import { fastSigmoid, fastTanh } from "./lstm_kernels.ts";
// not install.ts: it loads the wasm backend, which would become tfjs' default backend
import {
  installedHeapGemm,
  installedWasmKernels,
  registerMissingWasmKernels,
} from "./installed.ts";
import type { NativeKernels } from "./native.ts";

/**
 * Name of the forward kernel (wasm). Inputs: `xw` `[time, batch, 3·units]`
 * (time-major `x_t·W + b`), `recurrentKernel` `[units, 3·units]`,
 * `recurrentBias` `[3·units]`. Attr `js` (boolean, default false): JS gate
 * loops even where the native kernels are installed (tests). Outputs, all
 * float32: `hs` `[time + 1, batch, units]` (`hs[0] = 0`, `hs[t + 1] = h_t`),
 * `gates` `[time, batch, 3·units]` (activated `r | z | n`) and `hn`
 * `[time, batch, units]` (`h_{t-1}·R_n + b_hn`).
 */
export const GRU_FORWARD = "HarGruForward";

/**
 * Name of the backward kernel (wasm). Inputs: `dhs` `[time, batch, units]`
 * (dL/dh_t of every step's output, time-major), or `[1, batch, units]` for
 * the last step's only (a layer that returns only its last state); `hs`,
 * `gates`, `hn` (forward outputs) and `recurrentKernelT`
 * `[3·units, units]` (Rᵀ, so each step's GEMM is a plain A·B). Attr `js` as
 * {@link GRU_FORWARD}. Outputs: `dgx` and `dgh` `[time, batch, 3·units]`,
 * the gradients of `x_t·W + b` and of `h_{t-1}·R + b_h`.
 */
export const GRU_BACKWARD = "HarGruBackward";

type Info = tf.TensorInfo;

/** The native gate arithmetic, unless `js` asks for the JS loops. */
function nativeOf(js: unknown): NativeKernels | null {
  return js === true ? null : installedWasmKernels()?.nativeKernels ?? null;
}

/** JS version of har_gru.c `har_gru_forward_step` (same arguments, heap `h`). */
function forwardStepJs(
  h: Float32Array,
  xw: number,
  gh: number,
  bh: number,
  hp: number,
  gates: number,
  hn: number,
  ho: number,
  batch: number,
  units: number,
): void {
  const u3 = 3 * units, u2 = 2 * units;
  for (let b = 0; b < batch; b++) {
    const x = xw + b * u3, g = gh + b * u3, p = hp + b * units;
    const s = gates + b * u3, n = hn + b * units, o = ho + b * units;
    for (let u = 0; u < units; u++) {
      const r = fastSigmoid(h[x + u] + h[g + u] + h[bh + u]);
      const z = fastSigmoid(h[x + units + u] + h[g + units + u] + h[bh + units + u]);
      const hnv = h[g + u2 + u] + h[bh + u2 + u];
      const nn = fastTanh(h[x + u2 + u] + r * hnv);
      h[s + u] = r;
      h[s + units + u] = z;
      h[s + u2 + u] = nn;
      h[n + u] = hnv;
      h[o + u] = nn + z * (h[p + u] - nn);
    }
  }
}

/** JS version of har_gru.c `har_gru_backward_step` (same arguments, heap `h`). */
function backwardStepJs(
  h: Float32Array,
  dy: number,
  dh: number,
  hp: number,
  gates: number,
  hn: number,
  dgx: number,
  dgh: number,
  batch: number,
  units: number,
): void {
  const u3 = 3 * units, u2 = 2 * units;
  if (dy >= 0) { for (let i = 0; i < batch * units; i++) h[dh + i] += h[dy + i]; }
  for (let b = 0; b < batch; b++) {
    const d = dh + b * units, p = hp + b * units, n = hn + b * units;
    const s = gates + b * u3, gx = dgx + b * u3, gh = dgh + b * u3;
    for (let u = 0; u < units; u++) {
      const g = h[d + u], r = h[s + u], z = h[s + units + u], nn = h[s + u2 + u];
      const dn = g * (1 - z) * (1 - nn * nn);
      const dz = g * (h[p + u] - nn) * z * (1 - z);
      const dr = dn * h[n + u] * r * (1 - r);
      h[gx + u] = dr;
      h[gx + units + u] = dz;
      h[gx + u2 + u] = dn;
      h[gh + u] = dr;
      h[gh + units + u] = dz;
      h[gh + u2 + u] = dn * r;
      h[d + u] = g * z;
    }
  }
}

function forwardKernel(
  { inputs, backend, attrs }: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  },
): Info[] {
  const be = backend as BackendWasm;
  const { xw, recurrentKernel: r, recurrentBias: bh } = inputs as Record<string, Info>;
  const [time, batch, g] = xw.shape;
  const units = g / 3, bu = batch * units, bg = batch * g;
  const hs = be.makeOutput([time + 1, batch, units], "float32");
  const gates = be.makeOutput([time, batch, g], "float32");
  const hn = be.makeOutput([time, batch, units], "float32");
  const native = nativeOf(attrs?.js);
  const gemm = installedHeapGemm(be);
  const hsO = offsetOf(be, hs.dataId), gO = offsetOf(be, gates.dataId);
  const hnO = offsetOf(be, hn.dataId), xO = offsetOf(be, xw.dataId);
  const rO = offsetOf(be, r.dataId), bO = offsetOf(be, bh.dataId);
  const gh = heapAlloc(be, bg); // h_{t-1}·R, [batch, 3·units]
  try {
    heapF32(be).fill(0, hsO, hsO + bu); // h_{-1} = 0
    for (let t = 0; t < time; t++) {
      const hp = hsO + t * bu;
      if (t === 0) heapF32(be).fill(0, gh, gh + bg);
      else gemm.sgemm(false, false, batch, g, units, hp, rO, gh, false);
      const x = xO + t * bg, s = gO + t * bg, n = hnO + t * bu, ho = hp + bu;
      // a fresh view each step: the wasm engine's GEMM may grow (detach) the heap
      if (native) native.gruForwardStep(be.wasm.HEAPU8, x, gh, bO, hp, s, n, ho, batch, units);
      else forwardStepJs(heapF32(be), x, gh, bO, hp, s, n, ho, batch, units);
    }
  } finally {
    heapFree(be, gh);
  }
  return [hs, gates, hn];
}

function backwardKernel(
  { inputs, backend, attrs }: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  },
): Info[] {
  const be = backend as BackendWasm;
  const { dhs, hs, gates, hn, recurrentKernelT: rT } = inputs as Record<string, Info>;
  const [time, batch, g] = gates.shape;
  const units = g / 3, bu = batch * units, bg = batch * g;
  const dgx = be.makeOutput([time, batch, g], "float32");
  const dgh = be.makeOutput([time, batch, g], "float32");
  const native = nativeOf(attrs?.js);
  const gemm = installedHeapGemm(be);
  const dyO = offsetOf(be, dhs.dataId), hsO = offsetOf(be, hs.dataId);
  const gO = offsetOf(be, gates.dataId), hnO = offsetOf(be, hn.dataId);
  const dgxO = offsetOf(be, dgx.dataId), dghO = offsetOf(be, dgh.dataId);
  const rTO = offsetOf(be, rT.dataId);
  // dhs of the last step only: the other steps' outputs get no gradient (dy < 0)
  const lastOnly = dhs.shape[0] !== time;
  if (lastOnly && dhs.shape[0] !== 1) {
    throw new Error(`${GRU_BACKWARD}: dhs has ${dhs.shape[0]} steps, expected ${time} or 1`);
  }
  const dh = heapAlloc(be, bu); // dL/dh_t, carried back through the steps
  try {
    heapF32(be).fill(0, dh, dh + bu);
    for (let t = time - 1; t >= 0; t--) {
      const dy = lastOnly ? (t === time - 1 ? dyO : -1) : dyO + t * bu;
      const hp = hsO + t * bu, s = gO + t * bg, n = hnO + t * bu;
      const gx = dgxO + t * bg, gh = dghO + t * bg;
      if (native) native.gruBackwardStep(be.wasm.HEAPU8, dy, dh, hp, s, n, gx, gh, batch, units);
      else backwardStepJs(heapF32(be), dy, dh, hp, s, n, gx, gh, batch, units);
      // dh_{t-1} = dh_t ⊙ z + dgh_t · Rᵀ
      if (t > 0) gemm.sgemm(false, false, batch, units, g, dghO + t * bg, rTO, dh, true);
    }
  } finally {
    heapFree(be, dh);
  }
  return [dgx, dgh];
}

/**
 * Register {@link GRU_FORWARD} and {@link GRU_BACKWARD} for the wasm backend
 * (idempotent; a kernel already registered under the name is kept).
 *
 * @example
 * ```ts
 * if (tf.getBackend() === "wasm") registerWasmGruKernels();
 * ```
 */
export function registerWasmGruKernels(): void {
  registerMissingWasmKernels([
    [GRU_FORWARD, forwardKernel as unknown as tf.KernelFunc],
    [GRU_BACKWARD, backwardKernel as unknown as tf.KernelFunc],
  ]);
}
