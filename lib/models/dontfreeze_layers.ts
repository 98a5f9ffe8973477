/**
 * Custom tfjs layers the "Don't freeze" encoders (lib/models/dontfreeze_encoders.ts;
 * ../shared/specs/dont-freeze.md §2, §10) need that tfjs-layers lacks or gets wrong,
 * all on channels-last sequences `[batch, time, channels]` and registered with
 * `tf.serialization` (so `model.toJSON()` → `tf.models.modelFromJSON` and fit's
 * workers rebuild them):
 *
 * - {@link ReflectPad1D}: PyTorch's `padding_mode="reflect"` (the CPC encoder, §2.1).
 *   Built from slices, reversals and a concat, **not** `tf.mirrorPad`: tfjs 4.22's
 *   MirrorPad gradient only slices the interior out of `dy` and drops the
 *   gradient of the reflected copies (for `[x0, x1, x2, x3]` padded by 1, `dx1`
 *   misses the left copy's contribution), so a conv behind it would get wrong
 *   gradients in every layer before it.
 * - {@link UpSampling1D}, {@link ZeroPadding1D}: the autoencoder's decoder (§2.3;
 *   tfjs has neither).
 * - {@link LastTimeStep}: `h[:, -1, :]`, the CPC representation (§2.1).
 * - {@link TimeStepGather}: rows `seq[b, start_b + offset]` of a sequence for a
 *   per-window start index given as a second input (CPC's `c_t` and
 *   `z_{t+1..t+K}`), as a one-hot matrix product, so its gradient is a plain
 *   matmul on every backend; {@link TimePrefix}: the steps up to the latest
 *   start (CPC's GRU runs on `z[:, :t+1]`, as the reference).
 * - {@link TorchGRU}: a GRU with PyTorch's equations (reset gate applied after
 *   the recurrent matmul, separate input and recurrent biases, sigmoid gates,
 *   gate order r, z, n), as the CPC reference's `nn.GRU`; tfjs-layers' GRU is
 *   Keras' `reset_after=False` variant with one bias and `hardSigmoid` gates.
 *
 * @example
 * const x = tf.input({ shape: [100, 3] });
 * const p = new ReflectPad1D({ padding: 1 }).apply(x);        // [null, 102, 3]
 * const h = new TorchGRU({ units: 256, returnSequences: true }).apply(x); // [null, 100, 256]
 * const last = new LastTimeStep().apply(h);                     // [null, 256]
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkLayerInt, singleInput, singleShape } from "./custom_layer.ts";
import { torchGruSequence } from "./gru.ts";
import { layerSeed } from "./heads.ts";

/** Common arguments of the layers here. */
export interface DontFreezeLayerArgs {
  /** Layer name. */
  name?: string;
  /** Whether the layer's weights are trainable (default true; most have none). */
  trainable?: boolean;
}

function rank3(layer: string, s: tf.Shape): void {
  if (s.length !== 3) throw new RangeError(`${layer}: expects [batch, time, channels], got [${s}]`);
}

// ---------------------------------------------------------------- reflect padding

/** Arguments of {@link ReflectPad1D}. */
export interface ReflectPad1DArgs extends DontFreezeLayerArgs {
  /** Samples added at each end of the time axis (reflected, edge sample not repeated); < length. */
  padding: number;
}

/**
 * Reflect padding of the time axis (PyTorch `padding_mode="reflect"`,
 * numpy `mode="reflect"`): `[x0, x1, x2, x3]` padded by 1 is
 * `[x1, x0, x1, x2, x3, x2]`. Exact gradient (the reflected copies' gradients
 * are added back onto the samples they copy).
 */
export class ReflectPad1D extends tf.layers.Layer {
  /** @nocollapse */
  static className = "ReflectPad1D";
  /** Samples added at each end. */
  readonly padding: number;

  constructor(args: ReflectPad1DArgs) {
    super({ name: args.name, trainable: args.trainable });
    checkLayerInt("ReflectPad1D", "padding", args.padding, 0);
    this.padding = args.padding;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = singleShape(inputShape);
    rank3(this.name, s);
    return [s[0], s[1] == null ? null : s[1] + 2 * this.padding, s[2]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput<tf.Tensor3D>(inputs);
      const p = this.padding, t = x.shape[1];
      if (p === 0) return x.clone();
      if (p >= t) {
        throw new RangeError(
          `${this.name}: reflect padding ${p} needs more than ${p} samples, got ${t}`,
        );
      }
      const left = tf.reverse(x.slice([0, 1, 0], [-1, p, -1]), 1);
      const right = tf.reverse(x.slice([0, t - 1 - p, 0], [-1, p, -1]), 1);
      return tf.concat([left, x, right], 1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), padding: this.padding };
  }
}

// ---------------------------------------------------------------- upsampling / zero padding

/** Arguments of {@link UpSampling1D}. */
export interface UpSampling1DArgs extends DontFreezeLayerArgs {
  /** Repeats of every time step (default 2): length T → size·T. */
  size?: number;
}

/**
 * Nearest-neighbour upsampling of the time axis (Keras `UpSampling1D`, PyTorch
 * `Upsample(scale_factor=size, mode="nearest")`): every sample repeated `size`
 * times. `[x0, x1]` → `[x0, x0, x1, x1]`.
 */
export class UpSampling1D extends tf.layers.Layer {
  /** @nocollapse */
  static className = "UpSampling1D";
  /** Repeats per time step. */
  readonly size: number;

  constructor(args: UpSampling1DArgs = {}) {
    super({ name: args.name, trainable: args.trainable });
    const size = args.size ?? 2;
    checkLayerInt("UpSampling1D", "size", size, 1);
    this.size = size;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = singleShape(inputShape);
    rank3(this.name, s);
    return [s[0], s[1] == null ? null : s[1] * this.size, s[2]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput<tf.Tensor3D>(inputs);
      const [n, t, c] = x.shape;
      if (this.size === 1) return x.clone();
      return x.expandDims(2).tile([1, 1, this.size, 1]).reshape([n, t * this.size, c]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), size: this.size };
  }
}

/** Arguments of {@link ZeroPadding1D}. */
export interface ZeroPadding1DArgs extends DontFreezeLayerArgs {
  /** Zero samples added `[before, after]` the time axis. */
  padding: [number, number];
}

/** Zero padding of the time axis (Keras `ZeroPadding1D`). */
export class ZeroPadding1D extends tf.layers.Layer {
  /** @nocollapse */
  static className = "ZeroPadding1D";
  /** Samples added before and after. */
  readonly padding: [number, number];

  constructor(args: ZeroPadding1DArgs) {
    super({ name: args.name, trainable: args.trainable });
    const p = args.padding;
    if (!Array.isArray(p) || p.length !== 2) {
      throw new RangeError(`ZeroPadding1D: padding must be [before, after], got ${p}`);
    }
    checkLayerInt("ZeroPadding1D", "padding[0]", p[0], 0);
    checkLayerInt("ZeroPadding1D", "padding[1]", p[1], 0);
    this.padding = [p[0], p[1]];
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = singleShape(inputShape);
    rank3(this.name, s);
    return [s[0], s[1] == null ? null : s[1] + this.padding[0] + this.padding[1], s[2]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput<tf.Tensor3D>(inputs);
      if (this.padding[0] === 0 && this.padding[1] === 0) return x.clone();
      return tf.pad(x, [[0, 0], this.padding, [0, 0]]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), padding: this.padding };
  }
}

// ---------------------------------------------------------------- time-step selection

/** The last time step of `[batch, time, d]`: `[batch, d]` (PyTorch `h[:, -1, :]`). */
export class LastTimeStep extends tf.layers.Layer {
  /** @nocollapse */
  static className = "LastTimeStep";

  constructor(args: DontFreezeLayerArgs = {}) {
    super({ name: args.name, trainable: args.trainable });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = singleShape(inputShape);
    rank3(this.name, s);
    return [s[0], s[2]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput<tf.Tensor3D>(inputs);
      const [n, t, d] = x.shape;
      return x.slice([0, t - 1, 0], [-1, 1, -1]).reshape([n, d]);
    });
  }
}

/** Arguments of {@link TimeStepGather}. */
export interface TimeStepGatherArgs extends DontFreezeLayerArgs {
  /**
   * Offsets (time steps, integers ≥ 0) from the start index: output row k is
   * `seq[b, start_b + offsets[k]]`. CPC: `[0]` for `c_t`, `[1, …, K]` for `z_{t+k}`.
   */
  offsets: number[];
}

/**
 * Gather time steps at a per-window start index: inputs `[seq, start]` with
 * `seq` `[batch, time, d]` and `start` `[batch, 1]` (int32 or float, whole
 * numbers), output `[batch, offsets.length, d]` with row k
 * `seq[b, start_b + offsets[k]]`. Computed as `oneHot(start + offsets, time)
 * · seq` (a batched matmul), so the gradient w.r.t. `seq` is exact on every
 * backend; `start` gets no gradient.
 *
 * @throws RangeError (in `call`) when `start + offset` leaves `[0, time)`
 */
export class TimeStepGather extends tf.layers.Layer {
  /** @nocollapse */
  static className = "TimeStepGather";
  /** Offsets from the start index. */
  readonly offsets: number[];

  constructor(args: TimeStepGatherArgs) {
    super({ name: args.name, trainable: args.trainable });
    if (!Array.isArray(args.offsets) || args.offsets.length === 0) {
      throw new RangeError(`TimeStepGather: offsets must be a non-empty list, got ${args.offsets}`);
    }
    args.offsets.forEach((o, i) => checkLayerInt("TimeStepGather", `offsets[${i}]`, o, 0));
    this.offsets = [...args.offsets];
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    if (!Array.isArray(inputShape[0]) || (inputShape as tf.Shape[]).length !== 2) {
      throw new RangeError(`${this.name}: expects two inputs [sequence, start]`);
    }
    const s = (inputShape as tf.Shape[])[0];
    rank3(this.name, s);
    return [s[0], this.offsets.length, s[2]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      if (!Array.isArray(inputs) || inputs.length !== 2) {
        throw new RangeError(`${this.name}: expects two inputs [sequence, start]`);
      }
      const seq = inputs[0] as tf.Tensor3D;
      const [n, t] = seq.shape;
      const start = inputs[1].reshape([n, 1]).toInt();
      const idx = start.add(tf.tensor2d(this.offsets, [1, this.offsets.length], "int32"));
      const lo = idx.min().dataSync()[0], hi = idx.max().dataSync()[0];
      if (lo < 0 || hi >= t) {
        throw new RangeError(
          `${this.name}: start + offsets reach time steps ${lo}..${hi}, outside 0..${t - 1}`,
        );
      }
      // one time step (a CPC start of 0 gives a 1-step prefix): every offset is 0, and
      // tf.oneHot refuses depth 1
      if (t === 1) return tf.tile(seq, [1, this.offsets.length, 1]);
      const sel = tf.oneHot(idx as tf.Tensor2D, t).toFloat(); // [n, K, t]
      return tf.matMul(sel, seq);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), offsets: this.offsets };
  }
}

/**
 * The leading time steps a causal model needs for per-window start indices:
 * inputs `[seq, start]` (`seq` `[batch, time, d]`, `start` `[batch, 1]`
 * whole numbers), output `seq[:, 0 .. max(start)]`, `[batch, max(start) + 1,
 * d]` (the time length is only known at run time). CPC runs its GRU on this
 * prefix, as the reference runs it on `z[:, :t+1]`: a causal recurrence gives
 * the same `c_t` on the whole window, at `T / (t + 1)` times the cost.
 *
 * @throws RangeError (in `call`) when a start leaves `[0, time)`
 */
export class TimePrefix extends tf.layers.Layer {
  /** @nocollapse */
  static className = "TimePrefix";

  constructor(args: DontFreezeLayerArgs = {}) {
    super({ name: args.name, trainable: args.trainable });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    if (!Array.isArray(inputShape[0]) || (inputShape as tf.Shape[]).length !== 2) {
      throw new RangeError(`${this.name}: expects two inputs [sequence, start]`);
    }
    const s = (inputShape as tf.Shape[])[0];
    rank3(this.name, s);
    return [s[0], null, s[2]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      if (!Array.isArray(inputs) || inputs.length !== 2) {
        throw new RangeError(`${this.name}: expects two inputs [sequence, start]`);
      }
      const seq = inputs[0] as tf.Tensor3D;
      const t = seq.shape[1];
      const st = inputs[1].toInt();
      const lo = st.min().dataSync()[0], hi = st.max().dataSync()[0];
      if (lo < 0 || hi >= t) {
        throw new RangeError(`${this.name}: starts ${lo}..${hi} outside 0..${t - 1}`);
      }
      return hi === t - 1 ? seq.clone() : seq.slice([0, 0, 0], [-1, hi + 1, -1]);
    });
  }
}

// ---------------------------------------------------------------- PyTorch GRU

/** Arguments of {@link TorchGRU}. */
export interface TorchGRUArgs extends DontFreezeLayerArgs {
  /** Hidden units H (the output size). */
  units: number;
  /** Output every step `[batch, time, H]` (true) or the last `[batch, H]` (default false). */
  returnSequences?: boolean;
  /**
   * Seed of the initialisation: every weight and bias U(−1/√H, 1/√H), as
   * PyTorch's `nn.GRU.reset_parameters` (default 0).
   */
  seed?: number;
}

/**
 * A single-layer GRU with PyTorch's `nn.GRU` equations, from a zero initial state:
 *
 * ```
 * r = σ(x·W_r + b_ir + h·R_r + b_hr)
 * z = σ(x·W_z + b_iz + h·R_z + b_hz)
 * n = tanh(x·W_n + b_in + r ⊙ (h·R_n + b_hn))
 * h' = (1 − z) ⊙ n + z ⊙ h
 * ```
 *
 * Weights (in this order): `kernel` `[features, 3H]` (= PyTorch `weight_ih_l{k}`ᵀ,
 * column blocks r, z, n), `recurrent_kernel` `[H, 3H]` (= `weight_hh_l{k}`ᵀ),
 * `bias` `[3H]` (= `bias_ih_l{k}`), `recurrent_bias` `[3H]` (= `bias_hh_l{k}`):
 * `3·(features·H + H² + 2H)` parameters, as PyTorch. The sequence is one op
 * with its own back-propagation through time (lib/models/gru.ts
 * `torchGruSequence`: the input projection of all steps is one matmul, five
 * `[batch, H]` tensors kept per step).
 */
export class TorchGRU extends tf.layers.Layer {
  /** @nocollapse */
  static className = "TorchGRU";
  /** Hidden units. */
  readonly units: number;
  /** Whether every step is returned. */
  readonly returnSequences: boolean;
  /** Initialisation seed. */
  readonly seed: number;
  private kernel: tf.LayerVariable | null = null;
  private recurrentKernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;
  private recurrentBias: tf.LayerVariable | null = null;

  constructor(args: TorchGRUArgs) {
    super({ name: args.name, trainable: args.trainable });
    checkLayerInt("TorchGRU", "units", args.units, 1);
    this.units = args.units;
    this.returnSequences = args.returnSequences ?? false;
    this.seed = args.seed ?? 0;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = singleShape(inputShape);
    rank3(this.name, s);
    const f = s[2];
    if (f == null) throw new RangeError(`${this.name}: the feature size must be known`);
    const h = this.units, lim = 1 / Math.sqrt(h);
    const init = (k: string) =>
      tf.initializers.randomUniform({ minval: -lim, maxval: lim, seed: layerSeed(this.seed, k) });
    this.kernel = this.addWeight("kernel", [f, 3 * h], "float32", init("kernel"));
    this.recurrentKernel = this.addWeight(
      "recurrent_kernel",
      [h, 3 * h],
      "float32",
      init("recurrent_kernel"),
    );
    this.bias = this.addWeight("bias", [3 * h], "float32", init("bias"));
    this.recurrentBias = this.addWeight(
      "recurrent_bias",
      [3 * h],
      "float32",
      init("recurrent_bias"),
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = singleShape(inputShape);
    rank3(this.name, s);
    return this.returnSequences ? [s[0], s[1], this.units] : [s[0], this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() =>
      torchGruSequence(
        singleInput<tf.Tensor3D>(inputs),
        this.kernel!.read() as tf.Tensor2D,
        this.recurrentKernel!.read() as tf.Tensor2D,
        this.bias!.read() as tf.Tensor1D,
        this.recurrentBias!.read() as tf.Tensor1D,
        { returnSequences: this.returnSequences },
      )
    );
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      returnSequences: this.returnSequences,
      seed: this.seed,
    };
  }
}

tf.serialization.registerClass(ReflectPad1D);
tf.serialization.registerClass(UpSampling1D);
tf.serialization.registerClass(ZeroPadding1D);
tf.serialization.registerClass(LastTimeStep);
tf.serialization.registerClass(TimeStepGather);
tf.serialization.registerClass(TimePrefix);
tf.serialization.registerClass(TorchGRU);
