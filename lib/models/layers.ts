/**
 * Custom tfjs layers our models need that tfjs-layers lacks:
 * circular (wrap-around) padding for 1-D convolutions, as PyTorch's
 * `padding_mode="circular"`, and the anti-aliased downsampling of
 * ssl-wearables (`Downsample`: a box filter convolved `order` times, applied
 * per channel with stride `factor`), both for the harnet family; the
 * selection of one channel ({@link ChannelSlice}, for per-axis branches such
 * as the Multi-ResNet's) and a learned weighted sum of layer outputs
 * ({@link WeightedLayerSum}, SelfPAB's downstream).
 *
 * The padding and downsampling layers work on channels-last sequences
 * `[batch, time, channels]`. All are registered with `tf.serialization` so
 * models using them save and load (`model.toJSON()` → `tf.models.modelFromJSON`).
 *
 * @example
 * const x = tf.input({ shape: [300, 64] });
 * const padded = new CircularPad1D({ padding: 2 }).apply(x); // [null, 304, 64]
 * const down = new AntiAliasDownsample1D({ factor: 2, order: 2 }).apply(x); // [null, 150, 64]
 */
import * as tf from "@tensorflow/tfjs";
import { checkLayerInt, singleInput, singleShape } from "./custom_layer.ts";

/** Arguments of {@link CircularPad1D}. */
export interface CircularPad1DArgs {
  /** Samples added at each end of the time axis (wrapped from the other end). */
  padding: number;
  /** Layer name. */
  name?: string;
  /** Whether the layer's weights are trainable (it has none; kept for the layer API). */
  trainable?: boolean;
}

/**
 * Circular padding of the time axis of `[batch, time, channels]`: the last
 * `padding` samples are prepended and the first `padding` appended, exactly
 * as PyTorch's `Conv1d(..., padding=p, padding_mode="circular")` pads.
 */
export class CircularPad1D extends tf.layers.Layer {
  /** @nocollapse */
  static className = "CircularPad1D";
  /** Samples added at each end. */
  readonly padding: number;

  constructor(args: CircularPad1DArgs) {
    super({ name: args.name, trainable: args.trainable });
    checkLayerInt("CircularPad1D", "padding", args.padding, 0);
    this.padding = args.padding;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = singleShape(inputShape);
    const t = s[1];
    return [s[0], t == null ? null : t + 2 * this.padding, s[2]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput<tf.Tensor3D>(inputs);
      const p = this.padding;
      if (p === 0) return x.clone();
      const t = x.shape[1];
      if (p > t) {
        throw new RangeError(
          `${this.name}: circular padding ${p} exceeds the sequence length ${t}`,
        );
      }
      const head = x.slice([0, t - p, 0], [-1, p, -1]);
      const tail = x.slice([0, 0, 0], [-1, p, -1]);
      return tf.concat([head, x, tail], 1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), padding: this.padding };
  }
}

/** Arguments of {@link AntiAliasDownsample1D}. */
export interface AntiAliasDownsample1DArgs {
  /** Downsampling factor (stride), an integer > 1. */
  factor: number;
  /**
   * Filter order: 0 = box filter (average pooling), 1 = triangle, 2 = cubic,
   * …; `order * (factor - 1)` must be even (ssl-wearables' constraint).
   */
  order: number;
  /** Layer name. */
  name?: string;
  /** Whether the layer's weights are trainable (it has none; kept for the layer API). */
  trainable?: boolean;
}

/**
 * The normalised anti-aliasing kernel of ssl-wearables' `Downsample`: a box
 * of `factor` ones convolved with itself `order` times, divided by its sum.
 * Length `factor + order * (factor - 1)`.
 *
 * @example
 * downsampleKernel(2, 2); // [0.125, 0.375, 0.375, 0.125]
 */
export function downsampleKernel(factor: number, order: number): Float64Array {
  let k: number[] = new Array(factor).fill(1);
  for (let o = 0; o < order; o++) {
    const next: number[] = new Array(k.length + factor - 1).fill(0);
    for (let i = 0; i < k.length; i++) for (let j = 0; j < factor; j++) next[i + j] += k[i];
    k = next;
  }
  const sum = k.reduce((a, b) => a + b, 0);
  return Float64Array.from(k, (v) => v / sum);
}

/** Zero padding (samples at each end) that ssl-wearables' `Downsample` applies. */
export function downsamplePadding(factor: number, order: number): number {
  return (order * (factor - 1)) / 2;
}

/** Output length of {@link AntiAliasDownsample1D} for an input of `length` samples. */
export function downsampleLength(length: number, factor: number, order: number): number {
  const k = factor + order * (factor - 1);
  return Math.floor((length + 2 * downsamplePadding(factor, order) - k) / factor) + 1;
}

/**
 * Anti-aliased downsampling of `[batch, time, channels]` (ssl-wearables'
 * `Downsample`): zero-pad `order * (factor - 1) / 2` samples at each end,
 * filter every channel with {@link downsampleKernel}, keep every `factor`-th
 * sample. Implemented as `order` stride-1 box averages followed by a
 * stride-`factor` box average (identical to one convolution with the
 * composite kernel), so it only needs average pooling and its gradient.
 * The kernel is fixed: the layer has no weights.
 */
export class AntiAliasDownsample1D extends tf.layers.Layer {
  /** @nocollapse */
  static className = "AntiAliasDownsample1D";
  /** Downsampling factor (stride). */
  readonly factor: number;
  /** Filter order. */
  readonly order: number;

  constructor(args: AntiAliasDownsample1DArgs) {
    super({ name: args.name, trainable: args.trainable });
    const { factor, order } = args;
    if (!Number.isInteger(factor) || factor < 2) {
      throw new RangeError(`AntiAliasDownsample1D: factor must be an integer > 1, got ${factor}`);
    }
    checkLayerInt("AntiAliasDownsample1D", "order", order, 0);
    if ((order * (factor - 1)) % 2 !== 0) {
      throw new RangeError(
        `AntiAliasDownsample1D: order * (factor - 1) must be even (factor ${factor}, order ${order})`,
      );
    }
    this.factor = factor;
    this.order = order;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = singleShape(inputShape);
    const t = s[1];
    return [s[0], t == null ? null : downsampleLength(t, this.factor, this.order), s[2]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput<tf.Tensor3D>(inputs);
      const [n, t, c] = x.shape;
      const f = this.factor;
      const p = downsamplePadding(f, this.order);
      let y: tf.Tensor4D = x.reshape([n, t, 1, c]);
      if (p > 0) y = tf.pad(y, [[0, 0], [p, p], [0, 0], [0, 0]]);
      for (let o = 0; o < this.order; o++) y = tf.avgPool(y, [f, 1], [1, 1], "valid");
      y = tf.avgPool(y, [f, 1], [f, 1], "valid");
      return y.reshape([n, y.shape[1], c]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), factor: this.factor, order: this.order };
  }
}

/** Arguments of {@link ChannelSlice}. */
export interface ChannelSliceArgs {
  /** 0-based index on the last (channel) axis to select, e.g. 0 = x axis of `[batch, time, 3]`. */
  channel: number;
  /**
   * Keep the channel axis (with size 1): `[batch, time, 3]` → `[batch, time, 1]`
   * (true, default) or drop it: `[batch, frames, bins, 3]` → `[batch, frames, bins]`.
   */
  keepDims?: boolean;
  /** Layer name. */
  name?: string;
  /** Whether the layer's weights are trainable (it has none; kept for the layer API). */
  trainable?: boolean;
}

/**
 * One channel of the last axis of a tensor of rank ≥ 2, as a serialisable
 * layer (tfjs-layers has no serialisable `Lambda`): per-channel branches
 * such as the Multi-ResNet's (lib/models/multi_resnet.ts) split a
 * `[batch, time, axes]` window with one `ChannelSlice` per axis.
 *
 * @example
 * const x = tf.input({ shape: [80, 3] });
 * new ChannelSlice({ channel: 2 }).apply(x); // [null, 80, 1]: the z axis
 */
export class ChannelSlice extends tf.layers.Layer {
  /** @nocollapse */
  static className = "ChannelSlice";
  /** Selected channel. */
  readonly channel: number;
  /** Whether the (size-1) channel axis is kept. */
  readonly keepDims: boolean;

  constructor(args: ChannelSliceArgs) {
    super({ name: args.name, trainable: args.trainable });
    checkLayerInt("ChannelSlice", "channel", args.channel, 0);
    this.channel = args.channel;
    this.keepDims = args.keepDims ?? true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = singleShape(inputShape);
    const c = s[s.length - 1];
    if (c != null && this.channel >= c) {
      throw new RangeError(
        `${this.name}: channel ${this.channel} out of range for an input with ${c} channels`,
      );
    }
    return this.keepDims ? [...s.slice(0, -1), 1] : s.slice(0, -1);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(inputs);
      const c = x.shape[x.rank - 1];
      if (this.channel >= c) {
        throw new RangeError(
          `${this.name}: channel ${this.channel} out of range for a tensor of shape [${x.shape}]`,
        );
      }
      const begin = x.shape.map((_, i) => (i === x.rank - 1 ? this.channel : 0));
      const size = x.shape.map((_, i) => (i === x.rank - 1 ? 1 : -1));
      const y = tf.slice(x, begin, size);
      return this.keepDims ? y : tf.squeeze(y, [x.rank - 1]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), channel: this.channel, keepDims: this.keepDims };
  }
}

/** How {@link WeightedLayerSum} turns its raw weights into mixing coefficients. */
export type LayerSumNormalisation = "softmax" | "none";

/** Arguments of {@link WeightedLayerSum}. */
export interface WeightedLayerSumArgs {
  /**
   * `"softmax"` (default): coefficients `softmax(w)`, raw weights
   * initialised to 0 (equal coefficients 1/L), as S3PRL/TERA's featurizer and
   * the SelfPAB paper's "learned weighted sum". `"none"`: the raw weights are
   * the coefficients, initialised to 1/L, as SelfPAB's released
   * `LinearWeightedSum` (src/models.py) does.
   */
  normalisation?: LayerSumNormalisation;
  /** Layer name. */
  name?: string;
  /** Whether the mixing weights train (default true). */
  trainable?: boolean;
}

/**
 * A learned weighted sum of L same-shape inputs (e.g. the L encoder layer
 * outputs `[batch, frames, d_model]` of lib/models/transformer.ts with
 * `output: "layers"`): `y = Σ_l a_l · x_l` with one scalar weight per input
 * (`layer_weights`, shape [L]) and `a = softmax(w)` (or `a = w`, see
 * {@link WeightedLayerSumArgs.normalisation}). Gradients flow to the
 * weights and to every input.
 *
 * @example
 * const enc = transformerEncoder({ ...SELFPAB_TRANSFORMER.cpu, output: "layers" });
 * const mixed = new WeightedLayerSum({ name: "layer_sum" }).apply(enc.outputs); // [null, 599, 192]
 */
export class WeightedLayerSum extends tf.layers.Layer {
  /** @nocollapse */
  static className = "WeightedLayerSum";
  /** Softmax-normalised or raw coefficients. */
  readonly normalisation: LayerSumNormalisation;
  private layerWeights: tf.LayerVariable | null = null;

  constructor(args: WeightedLayerSumArgs = {}) {
    super({ name: args.name, trainable: args.trainable });
    const n = args.normalisation ?? "softmax";
    if (n !== "softmax" && n !== "none") {
      throw new RangeError(`WeightedLayerSum: normalisation must be "softmax" or "none", got ${n}`);
    }
    this.normalisation = n;
  }

  private static shapes(inputShape: tf.Shape | tf.Shape[], name: string): tf.Shape[] {
    if (!Array.isArray(inputShape[0])) {
      throw new RangeError(`${name}: expects a list of inputs (one per layer), got one tensor`);
    }
    const shapes = inputShape as tf.Shape[];
    const first = JSON.stringify(shapes[0]);
    const bad = shapes.findIndex((s) => JSON.stringify(s) !== first);
    if (bad >= 0) {
      throw new RangeError(
        `${name}: all inputs must have one shape; input 0 is [${shapes[0]}], input ${bad} [${
          shapes[bad]
        }]`,
      );
    }
    return shapes;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const L = WeightedLayerSum.shapes(inputShape, this.name).length;
    this.layerWeights = this.addWeight(
      "layer_weights",
      [L],
      "float32",
      tf.initializers.constant({ value: this.normalisation === "softmax" ? 0 : 1 / L }),
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return WeightedLayerSum.shapes(inputShape, this.name)[0];
  }

  /** The current mixing coefficients a_l (softmax of the weights, or the raw weights). */
  coefficients(): Float32Array {
    if (!this.layerWeights) throw new Error(`${this.name}: not built yet`);
    return tf.tidy(() => this.mix().dataSync() as Float32Array);
  }

  private mix(): tf.Tensor1D {
    const w = this.layerWeights!.read() as tf.Tensor1D;
    return this.normalisation === "softmax" ? tf.softmax(w) : w;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const xs = Array.isArray(inputs) ? inputs : [inputs];
      const L = this.layerWeights!.shape[0] as number;
      if (xs.length !== L) {
        throw new RangeError(`${this.name}: built for ${L} inputs, called with ${xs.length}`);
      }
      const a = this.mix();
      return tf.addN(xs.map((x, l) => x.mul(a.slice([l], [1]))));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), normalisation: this.normalisation };
  }
}

tf.serialization.registerClass(CircularPad1D);
tf.serialization.registerClass(AntiAliasDownsample1D);
tf.serialization.registerClass(ChannelSlice);
tf.serialization.registerClass(WeightedLayerSum);
