/**
 * The wasm heap kernels of the fused LSTM (lib/models/lstm.ts
 * `lstmSequence`): the whole forward time loop ({@link LSTM_FORWARD}) and
 * back-propagation through time ({@link LSTM_BACKWARD}), each one kernel over
 * the wasm heap, registered on the `wasm` backend by
 * {@link registerWasmLstmKernels}.
 *
 * - Forward: per step one GEMM `[h_{t-1} | x_t | 1]·[R; W; b]`
 *   (`[batch, units + features + 1]` by `[units + features + 1, 4·units]`:
 *   input projection and bias folded in) on heap offsets, with the
 *   {@link HeapGemm} lib/backend installed (OpenBLAS on the BLAS path) or
 *   else the wasm backend's own matmul, then the gate arithmetic in plain JS
 *   loops, keeping the activated gates, `c_t`, `tanh(c_t)` and each step's
 *   GEMM input for the backward pass.
 * - Backward: per step the gate derivatives `dz_t`, then one GEMM
 *   `dh_{t-1} = dz_t·Rᵀ`. The weight gradients (`hxᵀ·dz`) and `dx` are
 *   left to the caller, as one matmul over all steps each.
 *
 * The math and gate order are tfjs-layers' (`i, f, c, o` blocks of the
 * kernel columns): `i = σ(z_i)`, `f = σ(z_f)`, `g = tanh(z_c)`,
 * `o = σ(z_o)`, `c' = f·c + i·g`, `h' = o·tanh(c')`, σ `hardSigmoid`
 * (`clip(0.2·z + 0.5, 0, 1)`) or `sigmoid`; tanh and the sigmoid are
 * {@link fastTanh} / {@link fastSigmoid}. States start at zero.
 *
 * @example
 * ```ts
 * registerWasmLstmKernels(); // with the wasm backend active
 * const [y, gates, cells, tanhCells, hx] = tf.engine().runKernel(
 *   LSTM_FORWARD,
 *   { x, weights: tf.concat([recurrentKernel, kernel, bias.reshape([1, -1])], 0) },
 *   { returnSequences: false, hardSigmoid: true },
 * ) as tf.Tensor[];
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendWasm, heapAlloc, heapF32, heapFree, offsetOf } from "./heap_gemm.ts";
// not install.ts: it loads the wasm backend, which would become tfjs' default backend
import { installedHeapGemm, registerMissingWasmKernels } from "./installed.ts";

/**
 * Name of the forward kernel (wasm). Inputs: `x` `[batch, time, features]`,
 * `weights` `[R; W]` or `[R; W; b]` stacked by rows (`[units + features (+ 1),
 * 4·units]`). Attrs: `returnSequences`, `hardSigmoid` (booleans). Outputs,
 * all float32: `y` (`[batch, units]`, or `[batch, time, units]` with
 * `returnSequences`), the activated gates `[time, batch, 4·units]`, `c_t`
 * and `tanh(c_t)` `[time, batch, units]`, and every step's GEMM input
 * `[h_{t-1} | x_t | 1]` `[time, batch, units + features (+ 1)]`.
 */
export const LSTM_FORWARD = "HarLstmForward";

/**
 * Name of the backward kernel (wasm). Inputs: `dy` (shaped like the forward
 * `y`), `gates`, `cells`, `tanhCells` (forward outputs) and
 * `recurrentKernelT` `[4·units, units]` (Rᵀ, so each step's GEMM is a plain
 * A·B). Attrs as {@link LSTM_FORWARD}. Output: `dL/dz` `[time, batch,
 * 4·units]`, the pre-activation gradients of every step.
 */
export const LSTM_BACKWARD = "HarLstmBackward";

type Info = tf.TensorInfo;

/**
 * tanh to 2.1e-8 relative error (float64), ~4x faster than `Math.tanh` in V8:
 * `x·P(x²)/Q(x²)` with degree-4 polynomials fitted (Lawson-weighted least
 * squares, relative error on [0, 9]) for this module; Q > 0 for all x, and
 * |x| > 9 is clamped (tanh(9) = 1 − 3e-8, 1 in float32). NaN stays NaN.
 *
 * @example
 * ```ts
 * fastTanh(0.5); // 0.46211715…, |error| < 1e-8
 * ```
 */
export function fastTanh(z: number): number {
  const x = z < -9 ? -9 : z > 9 ? 9 : z;
  const t = x * x;
  const p = (((1.3355283036760997e-08 * t + 2.0609514120032224e-05) * t + 0.003495613078895269) *
          t + 0.13381046038987907) * t + 0.9999999792249973;
  const q = (((7.776808701831425e-07 * t + 0.0003285676640658128) * t + 0.025877075348606567) *
          t + 0.4671436157967755) * t + 1;
  return x * p / q;
}

/**
 * Logistic sigmoid as `(1 + tanh(x/2)) / 2` with {@link fastTanh} (absolute error ≤ 1.1e-8).
 *
 * @example
 * ```ts
 * fastSigmoid(0); // 0.5
 * ```
 */
export function fastSigmoid(x: number): number {
  return 0.5 + 0.5 * fastTanh(0.5 * x);
}

/** Sizes, flags and heap offsets (float32 elements) of one forward kernel call. */
interface ForwardLayout {
  batch: number;
  time: number;
  units: number;
  hard: boolean;
  seq: boolean;
  y: number;
  /** `[time, batch, 4·units]`: step t's GEMM writes `z_t`, {@link forwardStep} activates it. */
  gates: number;
  cells: number;
  tanhCells: number;
  /** Every step's GEMM input `[h_{t-1} | x_t | 1]`, `[time, batch, k]`. */
  hx: number;
  /** Row length of `hx`: units + features (+ 1 with a bias). */
  k: number;
}

/**
 * Fill the constant parts of every step's GEMM input before the time loop:
 * `h_{-1} = 0` at t = 0, `x_t` and (with a bias) the column of 1s; the
 * forward steps write `h_t` into step t + 1's first `units` columns.
 */
function fillStepInputs(
  h: Float32Array,
  L: ForwardLayout,
  x: number,
  features: number,
  hasBias: boolean,
): void {
  const { batch, time, units, k } = L;
  for (let t = 0; t < time; t++) {
    for (let b = 0; b < batch; b++) {
      const row = L.hx + (t * batch + b) * k;
      if (t === 0) h.fill(0, row, row + units);
      const src = x + (b * time + t) * features, dst = row + units;
      for (let f = 0; f < features; f++) h[dst + f] = h[src + f];
      if (hasBias) h[dst + features] = 1;
    }
  }
}

/**
 * The gate arithmetic of step `t` over the heap `h` (a separate function so
 * V8 optimises it as a whole rather than on-stack-replacing the loop): turns
 * the pre-activations `z_t` in the step's slice of `gates` into the activated
 * gates, writes `c_t`, `tanh(c_t)`, `y` and `h_t` (into the next step's GEMM
 * input).
 */
function forwardStep(h: Float32Array, L: ForwardLayout, t: number): void {
  const { batch, time, units, hard, seq, k } = L;
  const g = 4 * units, bu = batch * units;
  const u2 = 2 * units, u3 = 3 * units;
  const writeY = seq || t === time - 1, writeH = t < time - 1;
  for (let b = 0; b < batch; b++) {
    const go = L.gates + (t * batch + b) * g;
    const so = (t * batch + b) * units; // state offset inside [time, batch, units]
    const co = L.cells + so, tco = L.tanhCells + so;
    const po = co - bu; // c_{t-1}
    const ho = L.hx + ((t + 1) * batch + b) * k; // h_t: first columns of step t + 1's GEMM input
    const yo = seq ? L.y + (b * time + t) * units : L.y + b * units;
    for (let u = 0; u < units; u++) {
      const zi = h[go + u], zf = h[go + units + u];
      const zg = h[go + u2 + u], zz = h[go + u3 + u];
      let i = 0, f = 0, o = 0;
      if (hard) {
        i = zi * 0.2 + 0.5;
        i = i < 0 ? 0 : i > 1 ? 1 : i;
        f = zf * 0.2 + 0.5;
        f = f < 0 ? 0 : f > 1 ? 1 : f;
        o = zz * 0.2 + 0.5;
        o = o < 0 ? 0 : o > 1 ? 1 : o;
      } else {
        i = fastSigmoid(zi);
        f = fastSigmoid(zf);
        o = fastSigmoid(zz);
      }
      const gg = fastTanh(zg);
      const c = (t > 0 ? f * h[po + u] : 0) + i * gg;
      const tc = fastTanh(c);
      const hv = o * tc;
      h[go + u] = i;
      h[go + units + u] = f;
      h[go + u2 + u] = gg;
      h[go + u3 + u] = o;
      h[co + u] = c;
      h[tco + u] = tc;
      if (writeH) h[ho + u] = hv;
      if (writeY) h[yo + u] = hv;
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
  const x = inputs.x!, weights = inputs.weights!;
  const [batch, time, features] = x.shape;
  const [k, g] = weights.shape;
  const units = g / 4;
  const seq = attrs!.returnSequences as boolean, hard = attrs!.hardSigmoid as boolean;
  const y = be.makeOutput(seq ? [batch, time, units] : [batch, units], "float32");
  const gates = be.makeOutput([time, batch, g], "float32");
  const cells = be.makeOutput([time, batch, units], "float32");
  const tanhCells = be.makeOutput([time, batch, units], "float32");
  const hx = be.makeOutput([time, batch, k], "float32");
  const L: ForwardLayout = {
    batch,
    time,
    units,
    hard,
    seq,
    y: offsetOf(be, y.dataId),
    gates: offsetOf(be, gates.dataId),
    cells: offsetOf(be, cells.dataId),
    tanhCells: offsetOf(be, tanhCells.dataId),
    hx: offsetOf(be, hx.dataId),
    k,
  };
  const w = offsetOf(be, weights.dataId);
  const gemm = installedHeapGemm(be);
  fillStepInputs(heapF32(be), L, offsetOf(be, x.dataId), features, k === units + features + 1);
  for (let t = 0; t < time; t++) {
    // z_t = [h_{t-1} | x_t | 1] · [R; W; b], into the step's slice of gates
    gemm.sgemm(false, false, batch, g, k, L.hx + t * batch * k, w, L.gates + t * batch * g, false);
    // a fresh view: the wasm engine's GEMM allocates inside wasm, which may grow (detach) the heap
    forwardStep(heapF32(be), L, t);
  }
  return [y, gates, cells, tanhCells, hx];
}

/** Sizes, flags and heap offsets (float32 elements) of one backward kernel call. */
interface BackwardLayout {
  batch: number;
  time: number;
  units: number;
  hard: boolean;
  seq: boolean;
  dy: number;
  gates: number;
  cells: number;
  tanhCells: number;
  /** `dL/dz`, `[time, batch, 4·units]` (the kernel's output). */
  dz: number;
}

/**
 * Back-propagate step `t`: `dh = dy_t + dhNext` (`dhNext` at heap offset
 * `dhn`, -1 for none), `dc` carried in `dcNext`; writes `dz_t`.
 */
function backwardStep(
  h: Float32Array,
  L: BackwardLayout,
  t: number,
  dhn: number,
  dcNext: Float64Array,
): void {
  const { batch, time, units, hard, seq } = L;
  const g = 4 * units, bu = batch * units;
  const u2 = 2 * units, u3 = 3 * units;
  const hasDy = seq || t === time - 1;
  for (let b = 0; b < batch; b++) {
    const go = L.gates + (t * batch + b) * g;
    const dgo = L.dz + (t * batch + b) * g;
    const so = (t * batch + b) * units;
    const tco = L.tanhCells + so;
    const po = L.cells + so - bu; // c_{t-1}
    const dyo = seq ? L.dy + (b * time + t) * units : L.dy + b * units;
    const dho = dhn + b * units;
    const dco = b * units;
    for (let u = 0; u < units; u++) {
      let dh = hasDy ? h[dyo + u] : 0;
      if (dhn >= 0) dh += h[dho + u];
      const i = h[go + u], f = h[go + units + u];
      const gg = h[go + u2 + u], o = h[go + u3 + u];
      const tc = h[tco + u];
      const cPrev = t > 0 ? h[po + u] : 0;
      const dc = dcNext[dco + u] + dh * o * (1 - tc * tc);
      let di = 0, df = 0, dO = 0;
      if (hard) {
        // d clip(0.2z + 0.5, 0, 1)/dz, from the clipped output
        di = i > 0 && i < 1 ? 0.2 : 0;
        df = f > 0 && f < 1 ? 0.2 : 0;
        dO = o > 0 && o < 1 ? 0.2 : 0;
      } else {
        di = i * (1 - i);
        df = f * (1 - f);
        dO = o * (1 - o);
      }
      h[dgo + u] = dc * gg * di;
      h[dgo + units + u] = dc * cPrev * df;
      h[dgo + u2 + u] = dc * i * (1 - gg * gg);
      h[dgo + u3 + u] = dh * tc * dO;
      dcNext[dco + u] = dc * f;
    }
  }
}

function backwardKernel(
  { inputs, backend, attrs }: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  },
): Info {
  const be = backend as BackendWasm;
  const { dy, gates, cells, tanhCells, recurrentKernelT: rT } = inputs as Record<string, Info>;
  const [time, batch, g] = gates.shape;
  const units = g / 4;
  const dz = be.makeOutput([time, batch, g], "float32");
  const L: BackwardLayout = {
    batch,
    time,
    units,
    hard: attrs!.hardSigmoid as boolean,
    seq: attrs!.returnSequences as boolean,
    dy: offsetOf(be, dy.dataId),
    gates: offsetOf(be, gates.dataId),
    cells: offsetOf(be, cells.dataId),
    tanhCells: offsetOf(be, tanhCells.dataId),
    dz: offsetOf(be, dz.dataId),
  };
  const rTOff = offsetOf(be, rT.dataId);
  const gemm = installedHeapGemm(be);
  const dcNext = new Float64Array(batch * units);
  const dhNext = heapAlloc(be, batch * units); // dh_{t-1} = dz_t · Rᵀ, [batch, units]
  try {
    for (let t = time - 1; t >= 0; t--) {
      // a fresh view (the wasm engine's GEMM may grow the heap, detaching the old one)
      backwardStep(heapF32(be), L, t, t < time - 1 ? dhNext : -1, dcNext);
      if (t > 0) {
        gemm.sgemm(false, false, batch, units, g, L.dz + t * batch * g, rTOff, dhNext, false);
      }
    }
  } finally {
    heapFree(be, dhNext);
  }
  return dz;
}

/**
 * Register {@link LSTM_FORWARD} and {@link LSTM_BACKWARD} for the wasm
 * backend (idempotent; a kernel already registered under the name is kept).
 *
 * @example
 * ```ts
 * if (tf.getBackend() === "wasm") registerWasmLstmKernels();
 * ```
 */
export function registerWasmLstmKernels(): void {
  registerMissingWasmKernels([
    [LSTM_FORWARD, forwardKernel as unknown as tf.KernelFunc],
    [LSTM_BACKWARD, backwardKernel as unknown as tf.KernelFunc],
  ]);
}
