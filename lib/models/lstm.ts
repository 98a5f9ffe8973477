/**
 * A fused LSTM for training: {@link lstmSequence} runs a whole sequence as one
 * op with its own gradient (`tf.customGrad`), and {@link FastLSTM} is a drop-in
 * `tf.layers.lstm` built on it.
 *
 * tfjs-layers' LSTM runs every time step as a dozen small ops forward and
 * again backward, so op and engine overhead dominate a training step. Here,
 * on the `wasm` backend (kernels in lib/backend/lstm_kernels.ts):
 *
 * - the forward time loop is one kernel over the wasm heap: per step one
 *   GEMM `[h_{t-1} | x_t | 1]·[R; W; b]` (`[batch, units + features + 1]` by
 *   `[units + features + 1, 4·units]`: input projection and bias folded in)
 *   on heap offsets, with the `HeapGemm` lib/backend installed (OpenBLAS
 *   on the BLAS path) or else the wasm backend's own matmul, then the gate
 *   arithmetic in plain JS loops, keeping the activated gates, `c_t`,
 *   `tanh(c_t)` and each step's GEMM input for the backward pass;
 * - back-propagation through time is a second kernel of the same form (per
 *   step `dh_{t-1} = dz_t·Rᵀ`);
 * - the weight gradients are one matmul over all steps at once,
 *   `[dR; dW; db] = hxᵀ·dz`, and `dx = dz·Wᵀ`.
 *
 * Elsewhere (cpu, webgl, tensorflow) the same algorithm runs as tf ops. The
 * math and gate order are tfjs-layers' (`i, f, c, o` blocks of the kernel
 * columns): `z = x·W + h·R + b`, `i = σ(z_i)`, `f = σ(z_f)`, `g = tanh(z_c)`,
 * `o = σ(z_o)`, `c' = f·c + i·g`, `h' = o·tanh(c')`, with σ the recurrent
 * activation (`hardSigmoid`, tfjs-layers' default, or `sigmoid`).
 *
 * @example
 * ```ts
 * const x = tf.randomNormal([64, 100, 3]) as tf.Tensor3D;
 * const h = lstmSequence(x, kernel, recurrentKernel, bias); // [64, units]
 *
 * const layer = new FastLSTM({ units: 128 }); // same args/config/weights as tf.layers.lstm
 * const out = layer.apply(tf.input({ shape: [100, 3] }));
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
// the heap kernels, not install.ts: it loads the wasm backend, which would become tfjs' default
import { LSTM_BACKWARD, LSTM_FORWARD, registerWasmLstmKernels } from "../backend/lstm_kernels.ts";

/** Gate (recurrent) activations {@link lstmSequence} supports. */
export type LstmRecurrentActivation = "hardSigmoid" | "sigmoid";

/** Implementations of {@link lstmSequence}. */
export type LstmImpl = "auto" | "wasm" | "ops";

/** Options of {@link lstmSequence}. */
export interface LstmSequenceOptions {
  /**
   * Return `h` of every step, `[batch, time, units]`, instead of the last
   * step's `[batch, units]`. Default false.
   */
  returnSequences?: boolean;
  /** Gate activation. Default `"hardSigmoid"` (tfjs-layers' default). */
  recurrentActivation?: LstmRecurrentActivation;
  /** Cell activation; only `"tanh"` (the default) is supported. */
  activation?: "tanh";
  /**
   * `"wasm"`: the heap kernels (the current backend must be `wasm`); `"ops"`:
   * tf ops on any backend; `"auto"` (default): `"wasm"` when the backend is
   * `wasm`, else `"ops"`.
   */
  impl?: LstmImpl;
}

/**
 * The whole LSTM recurrence over a sequence with a fused gradient, from zero
 * initial states.
 *
 * @param x inputs `[batch, time, features]` (float32).
 * @param kernel input weights `[features, 4·units]`, gate blocks `i, f, c, o`.
 * @param recurrentKernel recurrent weights `[units, 4·units]`.
 * @param bias `[4·units]`, or null for no bias.
 * @returns `h` of the last step `[batch, units]`, or of every step
 *   `[batch, time, units]` with `returnSequences`.
 *
 * @example
 * ```ts
 * const y = lstmSequence(x, kernel, recurrentKernel, bias, { returnSequences: true });
 * const [dx, dW] = tf.grads((x, w) => lstmSequence(x, w, r, b).sum())([x, kernel]);
 * ```
 */
export function lstmSequence(
  x: tf.Tensor3D,
  kernel: tf.Tensor2D,
  recurrentKernel: tf.Tensor2D,
  bias: tf.Tensor1D | null,
  opts: LstmSequenceOptions = {},
): tf.Tensor {
  const returnSequences = opts.returnSequences ?? false;
  const ra = opts.recurrentActivation ?? "hardSigmoid";
  if (ra !== "hardSigmoid" && ra !== "sigmoid") {
    throw new Error(
      `lstmSequence: recurrentActivation '${ra}' is not supported (use 'hardSigmoid' or 'sigmoid')`,
    );
  }
  if ((opts.activation ?? "tanh") !== "tanh") {
    throw new Error(`lstmSequence: activation '${opts.activation}' is not supported (use 'tanh')`);
  }
  checkShapes(x, kernel, recurrentKernel, bias);
  const impl = opts.impl ?? "auto";
  const useWasm = impl === "wasm" || (impl === "auto" && tf.getBackend() === "wasm");
  if (useWasm) {
    if (tf.getBackend() !== "wasm") {
      throw new Error(
        `lstmSequence: impl 'wasm' needs the wasm backend (now '${tf.getBackend()}')`,
      );
    }
    registerWasmLstmKernels();
  }
  const cfg: StepConfig = { returnSequences, hard: ra === "hardSigmoid", wasm: useWasm };
  const inputs: tf.Tensor[] = bias
    ? [x, kernel, recurrentKernel, bias]
    : [x, kernel, recurrentKernel];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[inputs.length] as tf.GradSaveFunc;
    const [xs, w, r] = args as [tf.Tensor3D, tf.Tensor2D, tf.Tensor2D];
    const b = bias ? args[3] as tf.Tensor1D : null;
    const fwd = cfg.wasm
      ? forwardWasm(xs, w, r, b, cfg)
      : forwardOps(inputProjection(xs, w, b), r, cfg);
    save([xs, w, r, fwd.gates, fwd.cells, fwd.tanhCells, fwd.hx]);
    return {
      value: fwd.y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const g = (cfg.wasm ? gradientsWasm : gradientsOps)(dy, saved as SavedTensors, cfg);
        return b ? [g.dx, g.dKernel, g.dRecurrent, g.dBias!] : [g.dx, g.dKernel, g.dRecurrent];
      },
    };
  });
  return op(...inputs);
}

/** Gradients of the op's inputs. */
interface LstmGradients {
  dx: tf.Tensor;
  dKernel: tf.Tensor;
  dRecurrent: tf.Tensor;
  /** Null without a bias. */
  dBias: tf.Tensor | null;
}

function checkShapes(
  x: tf.Tensor,
  kernel: tf.Tensor,
  recurrentKernel: tf.Tensor,
  bias: tf.Tensor | null,
): void {
  const name = "lstmSequence";
  if (x.rank !== 3) {
    throw new Error(`${name}: x must be [batch, time, features], got shape [${x.shape}]`);
  }
  const [, t, f] = x.shape;
  if (t < 1) throw new Error(`${name}: x has no time steps (shape [${x.shape}])`);
  if (kernel.rank !== 2 || kernel.shape[0] !== f || kernel.shape[1]! % 4 !== 0) {
    throw new Error(
      `${name}: kernel must be [features=${f}, 4·units], got shape [${kernel.shape}]`,
    );
  }
  const g = kernel.shape[1]!, u = g / 4;
  if (
    recurrentKernel.rank !== 2 || recurrentKernel.shape[0] !== u || recurrentKernel.shape[1] !== g
  ) {
    throw new Error(
      `${name}: recurrentKernel must be [units=${u}, ${g}], got shape [${recurrentKernel.shape}]`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== g)) {
    throw new Error(`${name}: bias must be [${g}], got shape [${bias.shape}]`);
  }
  for (
    const [n, v] of [["x", x], ["kernel", kernel], ["recurrentKernel", recurrentKernel], [
      "bias",
      bias,
    ]] as const
  ) {
    if (v && v.dtype !== "float32") {
      throw new Error(`${name}: ${n} must be float32, got ${v.dtype}`);
    }
  }
}

interface StepConfig {
  returnSequences: boolean;
  /** hardSigmoid (true) or sigmoid gates. */
  hard: boolean;
  /** Heap kernels on wasm (true) or tf ops. */
  wasm: boolean;
}

/**
 * What the forward pass (either path) returns: the output and, all
 * time-major, what the backward pass needs.
 */
interface ForwardResult {
  /** The op's output. */
  y: tf.Tensor;
  /** Activated gates `i, f, g, o`, `[time, batch, 4·units]`. */
  gates: tf.Tensor;
  /** Cell states `c_t`, `[time, batch, units]`. */
  cells: tf.Tensor;
  /** `tanh(c_t)`, `[time, batch, units]`. */
  tanhCells: tf.Tensor;
  /**
   * Each step's recurrent matmul input, `h_{t-1}` (zeros at t = 0) in the
   * first `units` columns: `[time, batch, units]` on the tf-ops path,
   * `[h_{t-1} | x_t | 1]` (`[time, batch, units + features (+ 1 with a bias)]`)
   * on the wasm path.
   */
  hx: tf.Tensor;
}

/** The tensors the op saves for its gradient (`hx` as in {@link ForwardResult}). */
type SavedTensors = [
  x: tf.Tensor,
  kernel: tf.Tensor,
  recurrentKernel: tf.Tensor,
  gates: tf.Tensor,
  cells: tf.Tensor,
  tanhCells: tf.Tensor,
  hx: tf.Tensor,
];

/** `x·W + b` for every step at once: `[batch, time, 4·units]`. */
function inputProjection(
  x: tf.Tensor3D,
  kernel: tf.Tensor2D,
  bias: tf.Tensor1D | null,
): tf.Tensor3D {
  const [batch, time, features] = x.shape;
  const g = kernel.shape[1];
  const a = x.reshape([batch * time, features]) as tf.Tensor2D;
  const xw = bias ? tf.fused.matMul({ a, b: kernel, bias }) : tf.matMul(a, kernel);
  return xw.reshape([batch, time, g]);
}

/** `dx` (`[batch, time, features]`) from `dz` (`[time·batch, 4·units]`): `dz·Wᵀ`, batch-major. */
function inputGradient(dz2: tf.Tensor2D, kernel: tf.Tensor2D, time: number, batch: number) {
  return tf.matMul(dz2, kernel, false, true).reshape([time, batch, kernel.shape[0]]).transpose([
    1,
    0,
    2,
  ]);
}

// ---------------------------------------------------------------- tf ops path

function gateAct(z: tf.Tensor, hard: boolean): tf.Tensor {
  return hard ? tf.clipByValue(z.mul(0.2).add(0.5), 0, 1) : tf.sigmoid(z);
}

/** Derivative of the gate activation in terms of its output `a`. */
function gateActGrad(a: tf.Tensor, hard: boolean): tf.Tensor {
  return hard
    ? tf.logicalAnd(a.greater(0), a.less(1)).toFloat().mul(0.2)
    : a.mul(tf.scalar(1).sub(a));
}

function forwardOps(xw: tf.Tensor3D, r: tf.Tensor2D, cfg: StepConfig): ForwardResult {
  const [batch, time, g] = xw.shape;
  const units = g / 4;
  const steps = tf.unstack(xw, 1);
  let h: tf.Tensor = tf.zeros([batch, units]);
  let c: tf.Tensor = tf.zeros([batch, units]);
  const gates: tf.Tensor[] = [], cells: tf.Tensor[] = [], tanhCells: tf.Tensor[] = [];
  const hPrev: tf.Tensor[] = [], hs: tf.Tensor[] = [];
  for (let t = 0; t < time; t++) {
    hPrev.push(h);
    const z = t === 0 ? steps[t] : steps[t].add(tf.matMul(h as tf.Tensor2D, r));
    const [zi, zf, zg, zo] = tf.split(z, 4, 1);
    const i = gateAct(zi, cfg.hard), f = gateAct(zf, cfg.hard), o = gateAct(zo, cfg.hard);
    const gg = tf.tanh(zg);
    c = f.mul(c).add(i.mul(gg));
    const tc = tf.tanh(c);
    h = o.mul(tc);
    gates.push(tf.concat([i, f, gg, o], 1));
    cells.push(c);
    tanhCells.push(tc);
    hs.push(h);
  }
  return {
    y: cfg.returnSequences ? tf.stack(hs, 1) : h,
    gates: tf.stack(gates),
    cells: tf.stack(cells),
    tanhCells: tf.stack(tanhCells),
    hx: tf.stack(hPrev),
  };
}

function backwardOps(
  dy: tf.Tensor,
  gates: tf.Tensor,
  cells: tf.Tensor,
  tanhCells: tf.Tensor,
  r: tf.Tensor2D,
  cfg: StepConfig,
): tf.Tensor {
  const [time, batch, g] = gates.shape;
  const units = g / 4;
  const dys = cfg.returnSequences ? tf.unstack(dy, 1) : null;
  const gs = tf.unstack(gates), cs = tf.unstack(cells), tcs = tf.unstack(tanhCells);
  let dhNext: tf.Tensor | null = null;
  let dcNext: tf.Tensor = tf.zeros([batch, units]);
  const dzs: tf.Tensor[] = new Array(time);
  for (let t = time - 1; t >= 0; t--) {
    // the last step has dy and no dhNext; earlier steps have dhNext, plus dy_t with sequences
    const dh: tf.Tensor = dhNext === null ? (dys ? dys[t] : dy) : dys ? dys[t].add(dhNext) : dhNext;
    const [i, f, gg, o] = tf.split(gs[t], 4, 1);
    const tc = tcs[t];
    const cPrev = t > 0 ? cs[t - 1] : tf.zeros([batch, units]);
    const dc = dcNext.add(dh.mul(o).mul(tf.scalar(1).sub(tc.square())));
    const dzi = dc.mul(gg).mul(gateActGrad(i, cfg.hard));
    const dzf = dc.mul(cPrev).mul(gateActGrad(f, cfg.hard));
    const dzg = dc.mul(i).mul(tf.scalar(1).sub(gg.square()));
    const dzo = dh.mul(tc).mul(gateActGrad(o, cfg.hard));
    dzs[t] = tf.concat([dzi, dzf, dzg, dzo], 1);
    dcNext = dc.mul(f);
    dhNext = t > 0 ? tf.matMul(dzs[t] as tf.Tensor2D, r, false, true) : null;
  }
  return tf.stack(dzs);
}

/** Gradients on the tf-ops path (`hx` is `h_{t-1}`, `[time, batch, units]`). */
function gradientsOps(dy: tf.Tensor, saved: SavedTensors, cfg: StepConfig): LstmGradients {
  const [x, kernel, r, gates, cells, tanhCells, hPrev] = saved;
  const dz = backwardOps(dy, gates, cells, tanhCells, r as tf.Tensor2D, cfg);
  const [time, batch, g] = dz.shape;
  const [features, units] = [x.shape[2]!, g / 4];
  const dz2 = dz.reshape([time * batch, g]) as tf.Tensor2D;
  const xT = x.transpose([1, 0, 2]).reshape([time * batch, features]) as tf.Tensor2D;
  return {
    dx: inputGradient(dz2, kernel as tf.Tensor2D, time, batch),
    dKernel: tf.matMul(xT, dz2, true, false),
    dRecurrent: tf.matMul(hPrev.reshape([time * batch, units]) as tf.Tensor2D, dz2, true),
    dBias: dz2.sum(0),
  };
}

// ------------------------------------- wasm path (kernels: lib/backend/lstm_kernels.ts)

/**
 * Forward on the heap. Each step is one GEMM `[h_{t-1} | x_t | 1]·[R; W; b]`
 * (input projection and bias folded into the recurrent matmul), then the gate
 * arithmetic.
 */
function forwardWasm(
  x: tf.Tensor3D,
  kernel: tf.Tensor2D,
  r: tf.Tensor2D,
  bias: tf.Tensor1D | null,
  cfg: StepConfig,
): ForwardResult {
  const g = kernel.shape[1];
  const stacked = tf.concat(bias ? [r, kernel, bias.reshape([1, g])] : [r, kernel], 0);
  const [y, gates, cells, tanhCells, hx] = tf.engine().runKernel(
    LSTM_FORWARD,
    { x, weights: stacked },
    { returnSequences: cfg.returnSequences, hardSigmoid: cfg.hard },
  ) as tf.Tensor[];
  return { y, gates, cells, tanhCells, hx };
}

/**
 * Gradients on the heap path (`hx` is `[h_{t-1} | x_t | 1]`): BPTT in one
 * kernel, then `[dR; dW; db] = hxᵀ·dz` as one matmul over all steps and
 * `dx = dz·Wᵀ`.
 */
function gradientsWasm(dy: tf.Tensor, saved: SavedTensors, cfg: StepConfig): LstmGradients {
  const [x, kernel, r, gates, cells, tanhCells, hx] = saved;
  const dz = backwardWasm(dy, gates, cells, tanhCells, r, cfg);
  const [time, batch, g] = dz.shape;
  const units = g / 4, features = x.shape[2]!, k = hx.shape[2]!;
  const dz2 = dz.reshape([time * batch, g]) as tf.Tensor2D;
  const all = tf.matMul(hx.reshape([time * batch, k]) as tf.Tensor2D, dz2, true, false);
  return {
    dx: inputGradient(dz2, kernel as tf.Tensor2D, time, batch),
    dRecurrent: all.slice([0, 0], [units, g]),
    dKernel: all.slice([units, 0], [features, g]),
    // hx has a column of 1s (the bias row of the stacked weights) only with a bias
    dBias: k === units + features + 1
      ? all.slice([units + features, 0], [1, g]).reshape([g])
      : null,
  };
}

function backwardWasm(
  dy: tf.Tensor,
  gates: tf.Tensor,
  cells: tf.Tensor,
  tanhCells: tf.Tensor,
  r: tf.Tensor,
  cfg: StepConfig,
): tf.Tensor {
  // R^T once, so every per-step GEMM is a plain A·B (the wasm engine would transpose each step)
  const recurrentKernelT = r.transpose();
  return tf.engine().runKernel(
    LSTM_BACKWARD,
    { dy, gates, cells, tanhCells, recurrentKernelT },
    { returnSequences: cfg.returnSequences, hardSigmoid: cfg.hard },
  ) as tf.Tensor;
}

// ------------------------------------------------------------------ the layer

/** The tfjs-layers LSTM cell fields {@link FastLSTM} reads. */
interface LstmCellFields {
  units: number;
  activation: { getClassName(): string };
  recurrentActivation: { getClassName(): string };
  useBias: boolean;
  dropout: number;
  recurrentDropout: number;
  kernel: { read(): tf.Tensor };
  recurrentKernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
}

/**
 * tfjs-layers' `LSTM` class (tfjs does not export it by name), from the
 * serialization registry: constructing a throw-away `tf.layers.lstm` instead
 * would shift the auto-generated names of the user's later LSTM layers.
 */
const LSTMBase = (tf.serialization.SerializationMap.getMap().classNameMap["LSTM"]?.[0] ??
  tf.layers.lstm({ units: 1 }).constructor) as unknown as typeof tf.RNN;

/**
 * `tf.layers.lstm` with the fused {@link lstmSequence}: the same arguments,
 * config fields, weights (`kernel [features, 4·units]`, `recurrent_kernel
 * [units, 4·units]`, `bias [4·units]`, in that order) and results, so weights
 * copy to and from a `tf.layers.lstm` with `getWeights`/`setWeights`, and a
 * saved model loads back (class name `FastLSTM`, registered with
 * `tf.serialization`).
 *
 * The fused path is taken for `activation: "tanh"`, `recurrentActivation`
 * `"hardSigmoid"` (default) or `"sigmoid"`, no dropout, no mask, no initial
 * state, `returnState`, `goBackwards` and `stateful` off; anything else runs
 * tfjs-layers' own LSTM code.
 *
 * @example
 * ```ts
 * const inp = tf.input({ shape: [100, 3] });
 * const h = new FastLSTM({ units: 128 }).apply(inp) as tf.SymbolicTensor; // [null, 128]
 * ```
 */
export class FastLSTM extends LSTMBase {
  /** @nocollapse */
  static override className = "FastLSTM";

  constructor(args: tf.LSTMLayerArgs) {
    // tfjs-layers' LSTM builds its cell from the args
    super(args as unknown as tf.RNNLayerArgs);
  }

  /** The {@link lstmSequence} options for this call, or null when it needs tfjs-layers' path. */
  private fusedOptions(
    inputs: tf.Tensor | tf.Tensor[],
    kwargs: Record<string, unknown>,
  ): LstmSequenceOptions | null {
    const cell = this.cell as unknown as LstmCellFields;
    const ra = cell.recurrentActivation.getClassName();
    const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : null) : inputs;
    if (
      !x || x.rank !== 3 || x.dtype !== "float32" || x.shape[1]! < 1 ||
      cell.activation.getClassName() !== "tanh" ||
      (ra !== "hardSigmoid" && ra !== "sigmoid") ||
      cell.dropout > 0 || cell.recurrentDropout > 0 ||
      kwargs?.mask != null || kwargs?.initialState != null ||
      this.returnState || this.goBackwards || this.stateful
    ) return null;
    return { returnSequences: this.returnSequences, recurrentActivation: ra };
  }

  // deno-lint-ignore no-explicit-any
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: any): tf.Tensor | tf.Tensor[] {
    const opts = this.fusedOptions(inputs, kwargs ?? {});
    if (!opts) return super.call(inputs, kwargs);
    const cell = this.cell as unknown as LstmCellFields;
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
    return lstmSequence(
      x,
      cell.kernel.read() as tf.Tensor2D,
      cell.recurrentKernel.read() as tf.Tensor2D,
      cell.useBias && cell.bias ? cell.bias.read() as tf.Tensor1D : null,
      opts,
    );
  }
}
tf.serialization.registerClass(FastLSTM);
