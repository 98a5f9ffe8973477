/**
 * The SelfPAB transformer encoder (Logacjov et al., "Large-Scale Pre-Training
 * for Dual-Accelerometer HAR"; reference code ntnu-ai-lab/SelfPAB
 * `TransformerEncoderNetwork`, see ../shared/specs/selfpab.md §2.3) as a
 * serialisable `tf.LayersModel`:
 *
 * ```
 * x [batch, frames, inputSize]            STFT frames, e.g. 156 = 6 axes × 26 bins
 * → embed_proj   Linear(inputSize → d)
 * → embed_pos    + positional encoding    (sinusoidal interleaved, no √d scaling)
 * → block1 … blockL                       torch nn.TransformerEncoderLayer:
 *     post-LN: h = LN1(h + Drop(SelfAttn(h)));  h = LN2(h + Drop(W2·Drop(act(W1·h))))
 *     pre-LN (option): h = h + Drop(SelfAttn(LN1(h)));  h = h + Drop(W2·Drop(act(W1·LN2(h))))
 * → (final_norm, off by default: SelfPAB has none)
 * ```
 *
 * Every layer of encoder block i (1-based) is named `block{i}_…`
 * (`block2_attn`, `block2_norm1`, `block2_ff1`, …); the input projection and
 * positional encoding are `embed_…`. So the "first k blocks" of a
 * pre-trained encoder are the weights whose names start with
 * {@link transformerBlockPrefixes}`(k)` (lib/train/freeze.ts selects and
 * copies weights by such prefixes, or with `firstKBlocks(k)`).
 *
 * The model can return the last block's output, every block's output
 * (`output: "layers"`, the input of SelfPAB's weighted layer sum,
 * `WeightedLayerSum` in lib/models/layers.ts) or, in addition, the embedding
 * (`output: "hidden"`, as PyTorch's hidden states).
 * {@link withReconstructionHead} adds TERA's linear reconstruction head for
 * masked-reconstruction pre-training, and {@link loadTransformerStateDict}
 * copies a PyTorch state dict with `nn.TransformerEncoder` key names (packed
 * `in_proj_weight`, transposed Linear weights) into the model;
 * {@link loadSelfpabCheckpoint} reads SelfPAB's released Lightning checkpoint
 * (its key names: {@link SELFPAB_CHECKPOINT_KEYS}).
 *
 * The custom layers ({@link MultiHeadSelfAttention}, {@link PositionalEncoding},
 * {@link LayerNorm}) are registered with `tf.serialization`, so
 * `tf.models.modelFromJSON(model.toJSON(null, false))` rebuilds the model
 * (the training workers do that).
 *
 * @example
 * ```ts
 * const enc = transformerEncoder({ ...SELFPAB_TRANSFORMER.cpu, output: "layers" });
 * enc.outputs.length;                  // 4, each [null, 599, 192]
 * const pre = withReconstructionHead(transformerEncoder(SELFPAB_TRANSFORMER.cpu));
 * pre.outputs[0].shape;                // [null, 599, 156]
 * loadTransformerStateDict(pre, await loadTorchStateDict("state_dict.pt"));
 * transformerBlockPrefixes(2);         // ["embed_", "block1_", "block2_"]
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { CheckpointError, ConfigError } from "../errors.ts";
import { checkLayerInt, frameSequenceShape, singleInput, singleShape } from "./custom_layer.ts";
import { layerSeed } from "./heads.ts";
import { findStateDict, loadTorchCheckpoint, type StateDict, type TorchTensor } from "./pytorch.ts";
import { stripModulePrefix } from "./weights.ts";
import { checkFiniteTensor } from "./finite.ts";

/** Positional encoding added to the projected frames. */
export type PositionalEncodingKind = "sinusoidal" | "learned" | "none";

/** Feed-forward activation (torch `TransformerEncoderLayer(activation=…)`; gelu is the exact erf form). */
export type TransformerActivation = "relu" | "gelu";

/**
 * What the encoder returns: `"last"`: the last block's output
 * `[batch, frames, dModel]`; `"layers"`: one such tensor per block (L
 * outputs, block 1 first; the input of a weighted layer sum); `"hidden"`: the
 * embedding (projection + positional encoding) followed by the L block
 * outputs (L + 1 outputs). With `finalNorm` the last block's output is the
 * normalised one in every mode.
 */
export type TransformerOutput = "last" | "layers" | "hidden";

/** Arguments of {@link transformerEncoder}. Sizes are counts, not bytes. */
export interface TransformerEncoderArgs {
  /**
   * Features per input frame: spectrogram bins × sensor axes, channel-major
   * (SelfPAB: 26 STFT bins × 6 axes = 156; one sensor: 78).
   */
  inputSize: number;
  /**
   * Sequence length in frames (SelfPAB: 599 frames = 5 min at a 0.5 s hop),
   * or null (default) for any length up to {@link maxLen}.
   */
  frames?: number | null;
  /** Model width d_model: features per frame inside the encoder (SelfPAB full: 1500). */
  dModel: number;
  /** Attention heads; must divide `dModel` (head size dModel / numHeads; SelfPAB: 6). */
  numHeads: number;
  /** Hidden units of each block's feed-forward network (torch `dim_feedforward`; SelfPAB: 2048). */
  dimFeedforward: number;
  /** Encoder blocks (SelfPAB: 4). */
  numLayers: number;
  /**
   * Dropout probability (0–1) after self-attention, inside and after the
   * feed-forward network, as torch's `dropout` (default 0.1; SelfPAB: 0.1).
   * Active only in training (`model.apply(x, { training: true })`).
   */
  dropout?: number;
  /** Dropout probability on the attention probabilities (default: `dropout`, as torch). */
  attentionDropout?: number;
  /**
   * Positional encoding added (not concatenated, no √d scaling) to the
   * projected frames: `"sinusoidal"` (default; SelfPAB's interleaved
   * `pe[p, 2i] = sin(p·10000^(−2i/d))`, `pe[p, 2i+1] = cos(…)`), `"learned"`
   * (a trainable `[maxLen, dModel]` table) or `"none"`.
   */
  positionalEncoding?: PositionalEncodingKind;
  /**
   * Longest sequence in frames the positional encoding covers (default:
   * 10000 for sinusoidal, SelfPAB's `max_len`; `frames` for learned, which
   * then must be given).
   */
  maxLen?: number;
  /** Feed-forward activation (default `"relu"`, SelfPAB's). */
  activation?: TransformerActivation;
  /** Epsilon added to the variance in every layer norm (default 1e-5, torch's; tfjs' default is 1e-3). */
  layerNormEps?: number;
  /** Pre-LN blocks (torch `norm_first=True`) instead of post-LN (default false, SelfPAB's). */
  normFirst?: boolean;
  /** A layer norm after the last block (torch `TransformerEncoder(norm=…)`; default false, SelfPAB has none). */
  finalNorm?: boolean;
  /** Which outputs the model returns (default `"last"`); see {@link TransformerOutput}. */
  output?: TransformerOutput;
  /**
   * Seed of the weight initialisation (default 0). Initialisation follows
   * PyTorch: Linear weights and biases U(±1/√fan_in); attention `in_proj`
   * Xavier-uniform with zero biases; layer norms γ = 1, β = 0; learned
   * positional table N(0, 1/d).
   */
  seed?: number;
  /** Model name (default `"transformer_encoder"`). */
  name?: string;
}

/**
 * Sizes of the SelfPAB encoder: `full` is the released configuration (156
 * features, d 1500, 6 heads, FF 2048, 4 blocks, dropout 0.1: 61,107,848
 * parameters with the reconstruction head), `cpu` the scaled-down
 * configuration for 2-core work (d 192, FF 512; ≈ 1.45 M parameters). Both
 * on 599-frame windows.
 */
export const SELFPAB_TRANSFORMER: Readonly<Record<"full" | "cpu", TransformerEncoderArgs>> = {
  full: {
    inputSize: 156,
    frames: 599,
    dModel: 1500,
    numHeads: 6,
    dimFeedforward: 2048,
    numLayers: 4,
    dropout: 0.1,
  },
  cpu: {
    inputSize: 156,
    frames: 599,
    dModel: 192,
    numHeads: 6,
    dimFeedforward: 512,
    numLayers: 4,
    dropout: 0.1,
  },
};

/** Default `maxLen` of the sinusoidal encoding (SelfPAB's `AbsolutePositionalEncoding(max_len=10000)`). */
export const SINUSOIDAL_MAX_LEN = 10000;

// ------------------------------------------------------------------ layers

/** Arguments of {@link MultiHeadSelfAttention}. */
export interface MultiHeadSelfAttentionArgs {
  /** Attention heads; must divide the input's last dimension. */
  numHeads: number;
  /** Dropout probability on the attention probabilities in training (default 0). */
  dropout?: number;
  /** Initialisation seed (default 0). */
  seed?: number;
  /** Layer name. */
  name?: string;
  /** Whether the weights train (default true). */
  trainable?: boolean;
}

/**
 * Multi-head self-attention over `[batch, frames, d]`, as torch's
 * `nn.MultiheadAttention(d, numHeads, batch_first=True)` called with
 * `(x, x, x)` and no mask: packed projections `qkv = x·W_qkv + b_qkv`
 * (`qkv_kernel` [d, 3d] = torch `in_proj_weight` transposed; columns q, k, v,
 * each split into heads), `softmax(q·kᵀ/√(d/H))·v` per head, then
 * `out_kernel` [d, d] (= `out_proj.weight` transposed) and `out_bias`.
 */
export class MultiHeadSelfAttention extends tf.layers.Layer {
  /** @nocollapse */
  static className = "MultiHeadSelfAttention";
  /** Heads. */
  readonly numHeads: number;
  /** Attention-probability dropout. */
  readonly dropout: number;
  /** Initialisation seed. */
  readonly seed: number;
  private qkvKernel!: tf.LayerVariable;
  private qkvBias!: tf.LayerVariable;
  private outKernel!: tf.LayerVariable;
  private outBias!: tf.LayerVariable;

  constructor(args: MultiHeadSelfAttentionArgs) {
    super({ name: args.name, trainable: args.trainable });
    checkLayerInt("MultiHeadSelfAttention", "numHeads", args.numHeads, 1);
    checkProbability("MultiHeadSelfAttention dropout", args.dropout ?? 0);
    this.numHeads = args.numHeads;
    this.dropout = args.dropout ?? 0;
    this.seed = args.seed ?? 0;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const { d } = frameSequenceShape(this.name, inputShape);
    if (d % this.numHeads !== 0) {
      throw new RangeError(`${this.name}: d ${d} is not divisible by numHeads ${this.numHeads}`);
    }
    const bound = 1 / Math.sqrt(d);
    this.qkvKernel = this.addWeight(
      "qkv_kernel",
      [d, 3 * d],
      "float32",
      tf.initializers.glorotUniform({ seed: this.seed }),
    );
    this.qkvBias = this.addWeight("qkv_bias", [3 * d], "float32", tf.initializers.zeros());
    this.outKernel = this.addWeight(
      "out_kernel",
      [d, d],
      "float32",
      tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: this.seed + 1 }),
    );
    this.outBias = this.addWeight("out_bias", [d], "float32", tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return singleShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput<tf.Tensor3D>(inputs);
      const [n, t, d] = x.shape;
      const h = this.numHeads, dh = d / h;
      const qkv = tf.fused.matMul({
        a: x.reshape([n * t, d]),
        b: this.qkvKernel.read() as tf.Tensor2D,
        bias: this.qkvBias.read(),
      }).reshape([n, t, 3, h, dh]).transpose([2, 0, 3, 1, 4]);
      const [q, k, v] = tf.unstack(qkv, 0);
      let att = tf.softmax(tf.matMul(q.mul(1 / Math.sqrt(dh)), k, false, true));
      if (kwargs?.training && this.dropout > 0) att = tf.dropout(att, this.dropout);
      const ctx = tf.matMul(att, v).transpose([0, 2, 1, 3]).reshape([n * t, d]) as tf.Tensor2D;
      return tf.fused.matMul({
        a: ctx,
        b: this.outKernel.read() as tf.Tensor2D,
        bias: this.outBias.read(),
      }).reshape([n, t, d]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      numHeads: this.numHeads,
      dropout: this.dropout,
      seed: this.seed,
    };
  }
}

/** Arguments of {@link PositionalEncoding}. */
export interface PositionalEncodingArgs {
  /** `"sinusoidal"` (fixed, no weights) or `"learned"` (a trainable table `embedding` [maxLen, d]). */
  kind: "sinusoidal" | "learned";
  /** Longest sequence in frames. */
  maxLen: number;
  /** Initialisation seed of the learned table (default 0). */
  seed?: number;
  /** Layer name. */
  name?: string;
  /** Whether the learned table trains (default true). */
  trainable?: boolean;
}

const sinusoidCache = new Map<string, Float32Array>();

/**
 * SelfPAB's interleaved sinusoidal encoding for `frames` positions of width
 * `d`, `[frames·d]` row-major: `pe[p, 2i] = sin(p·e^(−2i·ln 10000 / d))`,
 * `pe[p, 2i+1] = cos(…)`, with the argument rounded to float32 as PyTorch
 * computes it. Cached per (frames, d).
 *
 * @example
 * sinusoidalEncoding(2, 4); // [0, 1, 0, 1, sin 1, cos 1, sin 0.01, cos 0.01]
 */
export function sinusoidalEncoding(frames: number, d: number): Float32Array {
  const key = `${frames}x${d}`;
  const hit = sinusoidCache.get(key);
  if (hit) return hit;
  const f = Math.fround;
  const scale = f(-Math.log(10000) / d);
  const div = Array.from({ length: Math.ceil(d / 2) }, (_, i) => f(Math.exp(f(2 * i * scale))));
  const pe = new Float32Array(frames * d);
  for (let p = 0; p < frames; p++) {
    for (let j = 0; j < d; j++) {
      const a = f(p * div[j >> 1]);
      pe[p * d + j] = j % 2 === 0 ? Math.sin(a) : Math.cos(a);
    }
  }
  sinusoidCache.set(key, pe);
  return pe;
}

/**
 * Adds a positional encoding to `[batch, frames, d]`: the fixed
 * {@link sinusoidalEncoding} or a learned table (its first `frames` rows).
 * Sequences longer than `maxLen` are an error naming the layer.
 */
export class PositionalEncoding extends tf.layers.Layer {
  /** @nocollapse */
  static className = "PositionalEncoding";
  /** Sinusoidal or learned. */
  readonly kind: "sinusoidal" | "learned";
  /** Longest sequence. */
  readonly maxLen: number;
  /** Seed of the learned table. */
  readonly seed: number;
  private table: tf.LayerVariable | null = null;

  constructor(args: PositionalEncodingArgs) {
    super({ name: args.name, trainable: args.trainable });
    if (args.kind !== "sinusoidal" && args.kind !== "learned") {
      throw new RangeError(
        `PositionalEncoding: kind must be "sinusoidal" or "learned", got ${args.kind}`,
      );
    }
    checkLayerInt("PositionalEncoding", "maxLen", args.maxLen, 1);
    this.kind = args.kind;
    this.maxLen = args.maxLen;
    this.seed = args.seed ?? 0;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const { shape: s, d } = frameSequenceShape(this.name, inputShape);
    if (s[1] != null && s[1] > this.maxLen) {
      throw new RangeError(`${this.name}: ${s[1]} frames exceed maxLen ${this.maxLen}`);
    }
    if (this.kind === "learned") {
      this.table = this.addWeight(
        "embedding",
        [this.maxLen, d],
        "float32",
        tf.initializers.randomNormal({ mean: 0, stddev: 1 / Math.sqrt(d), seed: this.seed }),
      );
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return singleShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput<tf.Tensor3D>(inputs);
      const [, t, d] = x.shape;
      if (t > this.maxLen) {
        throw new RangeError(`${this.name}: ${t} frames exceed maxLen ${this.maxLen}`);
      }
      const pe = this.table
        ? this.table.read().slice([0, 0], [t, d])
        : tf.tensor2d(sinusoidalEncoding(t, d), [t, d]);
      return x.add(pe);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), kind: this.kind, maxLen: this.maxLen, seed: this.seed };
  }
}

/** Arguments of {@link LayerNorm}. */
export interface LayerNormArgs {
  /** Added to the variance (torch default 1e-5). */
  epsilon?: number;
  /** Layer name. */
  name?: string;
  /** Whether γ and β train (default true). */
  trainable?: boolean;
}

/**
 * Layer normalisation over the last axis, `γ·(x − μ)/√(σ² + ε) + β` with the
 * biased variance, as torch's `nn.LayerNorm(d, eps)` (weights `gamma` =
 * torch `weight`, `beta` = `bias`). Unlike `tf.layers.layerNormalization` it
 * does not tile γ and β to the input's shape.
 */
export class LayerNorm extends tf.layers.Layer {
  /** @nocollapse */
  static className = "LayerNorm";
  /** Variance epsilon. */
  readonly epsilon: number;
  private gamma!: tf.LayerVariable;
  private beta!: tf.LayerVariable;

  constructor(args: LayerNormArgs = {}) {
    super({ name: args.name, trainable: args.trainable });
    const eps = args.epsilon ?? 1e-5;
    if (!(eps > 0)) throw new RangeError(`LayerNorm: epsilon must be > 0, got ${eps}`);
    this.epsilon = eps;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = singleShape(inputShape);
    const d = s[s.length - 1];
    if (d == null) throw new RangeError(`${this.name}: the last axis of [${s}] must be known`);
    this.gamma = this.addWeight("gamma", [d], "float32", tf.initializers.ones());
    this.beta = this.addWeight("beta", [d], "float32", tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return singleShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(inputs);
      const { mean, variance } = tf.moments(x, -1, true);
      return x.sub(mean).mul(tf.rsqrt(variance.add(this.epsilon)))
        .mul(this.gamma.read()).add(this.beta.read());
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}

tf.serialization.registerClass(MultiHeadSelfAttention);
tf.serialization.registerClass(PositionalEncoding);
tf.serialization.registerClass(LayerNorm);

// ------------------------------------------------------------------ builder

function checkProbability(what: string, p: number): void {
  if (!(p >= 0 && p < 1)) throw new ConfigError(`${what}: must be in [0, 1), got ${p}`);
}

function checkCount(what: string, v: unknown): void {
  if (!Number.isInteger(v) || (v as number) < 1) {
    throw new ConfigError(`transformerEncoder ${what}: must be a positive integer, got ${v}`);
  }
}

/** {@link TransformerEncoderArgs} with every default filled in. */
export type ResolvedTransformerArgs = Required<Omit<TransformerEncoderArgs, "frames">> & {
  frames: number | null;
};

/** Validate `args` and fill in the defaults; throws a ConfigError naming the bad field. */
export function resolveTransformerArgs(args: TransformerEncoderArgs): ResolvedTransformerArgs {
  for (const k of ["inputSize", "dModel", "numHeads", "dimFeedforward", "numLayers"] as const) {
    checkCount(k, args[k]);
  }
  if (args.dModel % args.numHeads !== 0) {
    throw new ConfigError(
      `transformerEncoder: dModel ${args.dModel} is not divisible by numHeads ${args.numHeads}`,
    );
  }
  const frames = args.frames ?? null;
  if (frames !== null) checkCount("frames", frames);
  const pe = args.positionalEncoding ?? "sinusoidal";
  if (!["sinusoidal", "learned", "none"].includes(pe)) {
    throw new ConfigError(`transformerEncoder positionalEncoding: unknown kind '${pe}'`);
  }
  if (pe === "learned" && args.maxLen === undefined && frames === null) {
    throw new ConfigError(
      "transformerEncoder: a learned positional encoding needs frames or maxLen",
    );
  }
  const maxLen = args.maxLen ?? (pe === "learned" ? frames! : SINUSOIDAL_MAX_LEN);
  checkCount("maxLen", maxLen);
  if (frames !== null && frames > maxLen) {
    throw new ConfigError(`transformerEncoder: frames ${frames} exceed maxLen ${maxLen}`);
  }
  const dropout = args.dropout ?? 0.1;
  checkProbability("transformerEncoder dropout", dropout);
  const attentionDropout = args.attentionDropout ?? dropout;
  checkProbability("transformerEncoder attentionDropout", attentionDropout);
  const activation = args.activation ?? "relu";
  if (activation !== "relu" && activation !== "gelu") {
    throw new ConfigError(`transformerEncoder activation: must be relu or gelu, got ${activation}`);
  }
  const output = args.output ?? "last";
  if (!["last", "layers", "hidden"].includes(output)) {
    throw new ConfigError(`transformerEncoder output: unknown mode '${output}'`);
  }
  const layerNormEps = args.layerNormEps ?? 1e-5;
  if (!(layerNormEps > 0)) {
    throw new ConfigError(`transformerEncoder layerNormEps: must be > 0, got ${layerNormEps}`);
  }
  return {
    inputSize: args.inputSize,
    frames,
    dModel: args.dModel,
    numHeads: args.numHeads,
    dimFeedforward: args.dimFeedforward,
    numLayers: args.numLayers,
    dropout,
    attentionDropout,
    positionalEncoding: pe,
    maxLen,
    activation,
    layerNormEps,
    normFirst: args.normFirst ?? false,
    finalNorm: args.finalNorm ?? false,
    output,
    seed: args.seed ?? 0,
    name: args.name ?? "transformer_encoder",
  };
}

/**
 * A Linear layer with PyTorch's default initialisation U(±1/√fan_in) for
 * weights and bias, seeded per layer name.
 *
 * @example
 * torchDense("head_out", 12, 1500, 42).apply(x);
 */
export function torchDense(
  name: string,
  units: number,
  fanIn: number,
  seed: number,
  activation: "linear" | TransformerActivation = "linear",
): tf.layers.Layer {
  const bound = 1 / Math.sqrt(fanIn);
  const s = layerSeed(seed, name);
  return tf.layers.dense({
    name,
    units,
    activation,
    kernelInitializer: tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: s }),
    biasInitializer: tf.initializers.randomUniform({
      minval: -bound,
      maxval: bound,
      seed: (s + 1) >>> 0,
    }),
  });
}

function dropoutLayer(x: tf.SymbolicTensor, rate: number, name: string): tf.SymbolicTensor {
  return rate > 0 ? tf.layers.dropout({ rate, name }).apply(x) as tf.SymbolicTensor : x;
}

/** One encoder block `block{i}_…` (i 1-based). */
function encoderBlock(
  x: tf.SymbolicTensor,
  i: number,
  a: ResolvedTransformerArgs,
): tf.SymbolicTensor {
  const p = `block${i}_`;
  const d = a.dModel;
  const apply = (l: tf.layers.Layer, z: tf.SymbolicTensor | tf.SymbolicTensor[]) =>
    l.apply(z) as tf.SymbolicTensor;
  const norm1 = new LayerNorm({ name: `${p}norm1`, epsilon: a.layerNormEps });
  const norm2 = new LayerNorm({ name: `${p}norm2`, epsilon: a.layerNormEps });
  const attn = new MultiHeadSelfAttention({
    name: `${p}attn`,
    numHeads: a.numHeads,
    dropout: a.attentionDropout,
    seed: layerSeed(a.seed, `${p}attn`),
  });
  const ff = (z: tf.SymbolicTensor) => {
    let f = apply(torchDense(`${p}ff1`, a.dimFeedforward, d, a.seed, a.activation), z);
    f = dropoutLayer(f, a.dropout, `${p}ff_dropout`);
    f = apply(torchDense(`${p}ff2`, d, a.dimFeedforward, a.seed), f);
    return dropoutLayer(f, a.dropout, `${p}ff2_dropout`);
  };
  const sa = (z: tf.SymbolicTensor) => dropoutLayer(apply(attn, z), a.dropout, `${p}attn_dropout`);
  if (a.normFirst) {
    const h = apply(tf.layers.add({ name: `${p}attn_add` }), [x, sa(apply(norm1, x))]);
    return apply(tf.layers.add({ name: `${p}ff_add` }), [h, ff(apply(norm2, h))]);
  }
  const h = apply(norm1, apply(tf.layers.add({ name: `${p}attn_add` }), [x, sa(x)]));
  return apply(norm2, apply(tf.layers.add({ name: `${p}ff_add` }), [h, ff(h)]));
}

/**
 * Build the transformer encoder (see the module doc) as a functional
 * `tf.LayersModel` with one input `[batch, frames, inputSize]` (named
 * `frames`) and the outputs chosen by `args.output`.
 *
 * @example
 * ```ts
 * const enc = transformerEncoder({ inputSize: 78, frames: 599, dModel: 192, numHeads: 6,
 *   dimFeedforward: 512, numLayers: 4 });
 * enc.predict(tf.zeros([2, 599, 78])); // [2, 599, 192]
 * ```
 */
export function transformerEncoder(args: TransformerEncoderArgs): tf.LayersModel {
  const a = resolveTransformerArgs(args);
  const input = tf.input({ shape: [a.frames, a.inputSize], name: "frames" });
  let h = torchDense("embed_proj", a.dModel, a.inputSize, a.seed).apply(input) as tf.SymbolicTensor;
  if (a.positionalEncoding !== "none") {
    h = new PositionalEncoding({
      name: "embed_pos",
      kind: a.positionalEncoding,
      maxLen: a.maxLen,
      seed: layerSeed(a.seed, "embed_pos"),
    }).apply(h) as tf.SymbolicTensor;
  }
  const hidden = [h];
  for (let i = 1; i <= a.numLayers; i++) {
    h = encoderBlock(h, i, a);
    hidden.push(h);
  }
  if (a.finalNorm) {
    hidden[a.numLayers] = new LayerNorm({ name: "final_norm", epsilon: a.layerNormEps })
      .apply(h) as tf.SymbolicTensor;
  }
  const outputs = a.output === "last"
    ? [hidden[a.numLayers]]
    : a.output === "layers"
    ? hidden.slice(1)
    : hidden;
  return tf.model({ inputs: input, outputs, name: a.name });
}

/**
 * Layer-name prefixes of the embedding (input projection and positional
 * encoding, `"embed_"`, unless `embedding` is false) and the first `k`
 * encoder blocks (`"block1_"` … `"block{k}_"`): what "the first k blocks
 * transferred" copies. Use as a lib/train/freeze.ts selector. k = 0 gives []
 * (nothing transferred).
 *
 * @example
 * transformerBlockPrefixes(2);                        // ["embed_", "block1_", "block2_"]
 * transformerBlockPrefixes(1, { embedding: false });  // ["block1_"]
 */
export function transformerBlockPrefixes(
  k: number,
  opts: { embedding?: boolean; numLayers?: number } = {},
): string[] {
  if (!Number.isInteger(k) || k < 0) {
    throw new ConfigError(`transformerBlockPrefixes k: must be a non-negative integer, got ${k}`);
  }
  if (opts.numLayers !== undefined && k > opts.numLayers) {
    throw new ConfigError(
      `transformerBlockPrefixes: k ${k} exceeds the encoder's ${opts.numLayers} blocks`,
    );
  }
  if (k === 0) return [];
  const blocks = Array.from({ length: k }, (_, i) => `block${i + 1}_`);
  return (opts.embedding ?? true) ? ["embed_", ...blocks] : blocks;
}

/** Arguments of {@link withReconstructionHead}. */
export interface ReconstructionHeadArgs {
  /** Features reconstructed per frame (default: the encoder's input size, e.g. 156). */
  outputSize?: number;
  /** Layer name (default `"recon_head"`). */
  name?: string;
  /** Initialisation seed (default 0; PyTorch Linear initialisation). */
  seed?: number;
  /** Model name (default `"<encoder name>_recon"`). */
  modelName?: string;
}

/**
 * TERA/SelfPAB's reconstruction head for masked-reconstruction pre-training:
 * a linear projection of the encoder's last output `[batch, frames, d]` back
 * to `[batch, frames, outputSize]` (no activation; SelfPAB's
 * `n_prediction_head_layers: 1`). Returns a new model sharing the encoder's
 * layers (and weights) with the reconstruction as its only output.
 *
 * @example
 * ```ts
 * const pre = withReconstructionHead(transformerEncoder(SELFPAB_TRANSFORMER.cpu));
 * // train pre on masked inputs with a masked L1; then reuse the encoder's weights
 * ```
 */
export function withReconstructionHead(
  encoder: tf.LayersModel,
  args: ReconstructionHeadArgs = {},
): tf.LayersModel {
  const last = encoder.outputs[encoder.outputs.length - 1];
  const d = last.shape[last.shape.length - 1];
  const inputSize = encoder.inputs[0].shape[encoder.inputs[0].shape.length - 1];
  const outputSize = args.outputSize ?? inputSize;
  if (d == null || outputSize == null) {
    throw new ConfigError(
      `withReconstructionHead: ${encoder.name} has unknown feature sizes (output [${last.shape}])`,
    );
  }
  checkCount("outputSize", outputSize);
  const name = args.name ?? "recon_head";
  const out = torchDense(name, outputSize, d, args.seed ?? 0).apply(last) as tf.SymbolicTensor;
  return tf.model({
    inputs: encoder.inputs,
    outputs: out,
    name: args.modelName ?? `${encoder.name}_recon`,
  });
}

// --------------------------------------------------------- PyTorch weights

/**
 * State-dict key prefixes of a PyTorch transformer encoder. Defaults are the
 * oracle's (`../shared/fixtures/oracle/selfpab`): `input_proj`,
 * `encoder.layers`, `head`; the per-layer names below the layer prefix are
 * always torch's `nn.TransformerEncoderLayer` ones (`self_attn.in_proj_weight`,
 * `linear1`, `norm1`, …).
 */
export interface TorchTransformerKeys {
  /** Prefix of the input Linear (`<p>.weight`, `<p>.bias`). Default `"input_proj"`. */
  inputProj?: string;
  /** Prefix of the layer list: layer i (0-based) is `<p>.<i>.…`. Default `"encoder.layers"`. */
  layers?: string;
  /** Key of a learned positional table `[maxLen, d]` (or `[1, maxLen, d]`), if the model has one. */
  positional?: string;
  /** Prefix of the final LayerNorm, if the model has one. Default `"encoder.norm"`. */
  finalNorm?: string;
  /** Prefix of the reconstruction Linear, if the model has one. Default `"head"`. */
  head?: string;
  /** Name of the reconstruction-head layer in our model (default `"recon_head"`). */
  headLayer?: string;
}

/** Options of {@link loadTransformerStateDict}. */
export interface LoadTransformerOptions {
  /** Key prefixes (default: the oracle's, see {@link TorchTransformerKeys}). */
  keys?: TorchTransformerKeys;
  /**
   * Throw a CheckpointError when a model weight has no key or a key has no
   * weight (default true, as torch `load_state_dict`). Shape mismatches always throw.
   */
  strict?: boolean;
  /** Keys to skip silently, e.g. a stored sinusoidal `pe` buffer (default none). */
  ignore?: (key: string) => boolean;
  /** Checkpoint name used in errors (default `"<state dict>"`). */
  file?: string;
}

/** What {@link loadTransformerStateDict} did. */
export interface LoadTransformerResult {
  /** State-dict keys (`module.` stripped) copied into the model. */
  loaded: string[];
  /** Keys the model expects but the state dict lacks (weights unchanged). */
  missing: string[];
  /** Keys with no place in the model. */
  unexpected: string[];
  /** Keys skipped by `ignore`. */
  ignored: string[];
}

interface TorchSlot {
  variable: tf.LayerVariable;
  /** A torch Linear weight [out, in]: transposed to [in, out]. */
  transpose: boolean;
}

function weightOf(model: tf.LayersModel, layer: string, w: string): tf.LayerVariable | null {
  const l = model.layers.find((x) => x.name === layer);
  return l?.weights.find((v) => v.originalName === `${layer}/${w}`) ?? null;
}

/** torch key → our variable, for every weight our model has. */
function torchSlots(model: tf.LayersModel, keys: TorchTransformerKeys): Map<string, TorchSlot> {
  const slots = new Map<string, TorchSlot>();
  const put = (key: string, layer: string, w: string, transpose: boolean) => {
    const v = weightOf(model, layer, w);
    if (v) slots.set(key, { variable: v, transpose });
  };
  const linear = (prefix: string, layer: string) => {
    put(`${prefix}.weight`, layer, "kernel", true);
    put(`${prefix}.bias`, layer, "bias", false);
  };
  const norm = (prefix: string, layer: string) => {
    put(`${prefix}.weight`, layer, "gamma", false);
    put(`${prefix}.bias`, layer, "beta", false);
  };
  linear(keys.inputProj ?? "input_proj", "embed_proj");
  if (keys.positional) put(keys.positional, "embed_pos", "embedding", false);
  const lp = keys.layers ?? "encoder.layers";
  for (let i = 1; model.layers.some((l) => l.name === `block${i}_attn`); i++) {
    const k = `${lp}.${i - 1}`, b = `block${i}_`;
    put(`${k}.self_attn.in_proj_weight`, `${b}attn`, "qkv_kernel", true);
    put(`${k}.self_attn.in_proj_bias`, `${b}attn`, "qkv_bias", false);
    put(`${k}.self_attn.out_proj.weight`, `${b}attn`, "out_kernel", true);
    put(`${k}.self_attn.out_proj.bias`, `${b}attn`, "out_bias", false);
    linear(`${k}.linear1`, `${b}ff1`);
    linear(`${k}.linear2`, `${b}ff2`);
    norm(`${k}.norm1`, `${b}norm1`);
    norm(`${k}.norm2`, `${b}norm2`);
  }
  norm(keys.finalNorm ?? "encoder.norm", "final_norm");
  linear(keys.head ?? "head", keys.headLayer ?? "recon_head");
  return slots;
}

function torchValues(
  t: TorchTensor,
  transpose: boolean,
): { values: Float32Array; shape: number[] } {
  const src = Float32Array.from(t.data as ArrayLike<number>);
  let shape = t.shape.length === 3 && t.shape[0] === 1 ? t.shape.slice(1) : t.shape.slice();
  if (!transpose) return { values: src, shape };
  if (shape.length !== 2) return { values: src, shape }; // the shape check reports it
  const [o, i] = shape;
  const out = new Float32Array(o * i);
  for (let r = 0; r < o; r++) for (let c = 0; c < i; c++) out[c * o + r] = src[r * i + c];
  shape = [i, o];
  return { values: out, shape };
}

/**
 * Copy a PyTorch state dict with `nn.TransformerEncoder` key names (see
 * {@link TorchTransformerKeys}) into a model built by
 * {@link transformerEncoder} (optionally with {@link withReconstructionHead}).
 * Linear and packed attention weights are transposed ([out, in] → [in, out]);
 * `module.` prefixes are stripped. Nothing is written unless every shape
 * matches (and, with `strict`, every key and weight pair up).
 *
 * @example
 * ```ts
 * const model = withReconstructionHead(transformerEncoder({ inputSize: 156, dModel: 60,
 *   numHeads: 6, dimFeedforward: 128, numLayers: 2 }));
 * loadTransformerStateDict(model, await loadTorchStateDict("state_dict.pt"));
 * ```
 */
export function loadTransformerStateDict(
  model: tf.LayersModel,
  stateDict: StateDict,
  opts: LoadTransformerOptions = {},
): LoadTransformerResult {
  const file = opts.file ?? "<state dict>";
  const slots = torchSlots(model, opts.keys ?? {});
  const res: LoadTransformerResult = { loaded: [], missing: [], unexpected: [], ignored: [] };
  const assign: [tf.LayerVariable, Float32Array, number[]][] = [];
  for (const [raw, t] of stateDict) {
    const key = stripModulePrefix(raw);
    if (opts.ignore?.(key)) {
      res.ignored.push(key);
      continue;
    }
    const slot = slots.get(key);
    if (!slot) {
      res.unexpected.push(raw);
      continue;
    }
    // a NaN/Inf weight fails naming the file and the key (int64 cannot be non-finite)
    if (!(t.data instanceof BigInt64Array || t.data instanceof BigUint64Array)) {
      checkFiniteTensor(file, raw, t.shape, t.data);
    }
    const { values, shape } = torchValues(t, slot.transpose);
    const want = slot.variable.shape as number[];
    if (shape.join() !== want.join()) {
      throw new CheckpointError(
        file,
        `size mismatch for '${raw}': checkpoint [${t.shape}] (tfjs [${shape}]), model ${model.name} expects [${want}]`,
      );
    }
    assign.push([slot.variable, values, shape]);
    res.loaded.push(key);
  }
  const loaded = new Set(res.loaded);
  for (const k of slots.keys()) if (!loaded.has(k)) res.missing.push(k);
  const covered = new Set([...slots.values()].map((s) => s.variable));
  for (const w of model.weights) {
    if (!covered.has(w)) res.missing.push(`(no key maps to ${w.originalName})`);
  }
  if ((opts.strict ?? true) && (res.missing.length || res.unexpected.length)) {
    const show = (l: string[]) =>
      l.slice(0, 5).join(", ") + (l.length > 5 ? `, … (${l.length})` : "");
    throw new CheckpointError(
      file,
      `state dict does not match ${model.name}` +
        (res.missing.length ? `; missing keys: ${show(res.missing)}` : "") +
        (res.unexpected.length ? `; unexpected keys: ${show(res.unexpected)}` : "") +
        " (pass { strict: false } to load the matching part, or keys: {…} for other names)",
    );
  }
  for (const [v, values, shape] of assign) {
    const t = tf.tensor(values, shape, "float32");
    v.write(t);
    t.dispose();
  }
  return res;
}

// ------------------------------------------- SelfPAB's released checkpoint

/**
 * Key prefixes of SelfPAB's released PyTorch-Lightning checkpoint
 * (`params/selfPAB_upstream/upstream_model.ckpt`, the 100 k-hour model;
 * ntnu-ai-lab/SelfPAB src/models.py `TransformerEncoderNetwork`): `emb` =
 * `InputEmbeddingPosEncoding` (`lin_proj_layer` Linear, `pos_encoder`
 * sinusoidal buffer `pe`), `transformer_encoder` = torch's
 * `nn.TransformerEncoder` subclass (per-layer names as torch's, no final
 * norm), `prediction_head` = `_MLP` with one `out_layer` Linear. Pass as
 * `keys` to {@link loadTransformerStateDict}, or use
 * {@link loadSelfpabCheckpoint}.
 */
export const SELFPAB_CHECKPOINT_KEYS: Readonly<TorchTransformerKeys> = {
  inputProj: "emb.lin_proj_layer",
  layers: "transformer_encoder.layers",
  finalNorm: "transformer_encoder.norm",
  head: "prediction_head.mlp.out_layer",
};

/**
 * True for SelfPAB checkpoint keys that hold no weight: the stored
 * sinusoidal positional encoding `emb.pos_encoder.pe` `[1, 10000, d]` (a
 * buffer; recomputed by {@link PositionalEncoding}), also in the
 * `PositionalEncodings` list form `emb.pos_encoder.pos_encoders.<i>.pe`.
 */
export function isSelfpabBufferKey(key: string): boolean {
  return key === "emb.pos_encoder.pe" || /^emb\.pos_encoder\.pos_encoders\.\d+\.pe$/.test(key);
}

/** Options of {@link loadSelfpabCheckpoint} / {@link loadSelfpabStateDict}. */
export interface LoadSelfpabOptions {
  /**
   * Throw on missing or unexpected keys (default true). The reconstruction
   * head's keys are skipped (listed in `ignored`) when the model has no
   * `headLayer` layer, so an encoder alone loads strictly too.
   */
  strict?: boolean;
  /** Name of the reconstruction-head layer in our model (default `"recon_head"`). */
  headLayer?: string;
  /** Checkpoint name used in errors (default: the path, or `"<checkpoint>"`). */
  file?: string;
}

/**
 * Copy SelfPAB's released weights (a decoded checkpoint: the Lightning
 * dictionary with its nested `state_dict`, or a state dict itself) into a
 * model built by {@link transformerEncoder} with the checkpoint's sizes
 * (full release: `SELFPAB_TRANSFORMER.full`), optionally with
 * {@link withReconstructionHead}. Key names are {@link SELFPAB_CHECKPOINT_KEYS};
 * the stored positional encoding is skipped ({@link isSelfpabBufferKey}).
 * Unknown, missing or mis-shaped keys are {@link CheckpointError}s naming the
 * file and the keys.
 *
 * @example
 * ```ts
 * const model = withReconstructionHead(transformerEncoder(SELFPAB_TRANSFORMER.full));
 * loadSelfpabStateDict(model, await loadTorchCheckpoint("upstream_model.ckpt"));
 * ```
 */
export function loadSelfpabStateDict(
  model: tf.LayersModel,
  checkpoint: unknown,
  opts: LoadSelfpabOptions = {},
): LoadTransformerResult {
  const file = opts.file ?? "<checkpoint>";
  const sd = findStateDict(checkpoint, file);
  const headLayer = opts.headLayer ?? "recon_head";
  const hasHead = model.layers.some((l) => l.name === headLayer);
  const head = `${SELFPAB_CHECKPOINT_KEYS.head}.`;
  return loadTransformerStateDict(model, sd, {
    keys: { ...SELFPAB_CHECKPOINT_KEYS, headLayer },
    strict: opts.strict ?? true,
    file,
    ignore: (k) => isSelfpabBufferKey(k) || (!hasHead && k.startsWith(head)),
  });
}

/**
 * Read SelfPAB's released checkpoint file (a PyTorch-Lightning `.ckpt`, read
 * with the safe loader of lib/models/pytorch.ts) and copy its weights into
 * `model` (see {@link loadSelfpabStateDict}). The optimiser state in the file
 * is not used.
 *
 * @example
 * ```ts
 * const enc = transformerEncoder({ ...SELFPAB_TRANSFORMER.full, output: "layers" });
 * const res = await loadSelfpabCheckpoint(enc, "params/selfPAB_upstream/upstream_model.ckpt");
 * res.ignored; // ["emb.pos_encoder.pe", "prediction_head.mlp.out_layer.weight", …]
 * ```
 * @throws CheckpointError naming the file: not found, unsafe or malformed, or keys that do not fit
 */
export async function loadSelfpabCheckpoint(
  model: tf.LayersModel,
  path: string,
  opts: LoadSelfpabOptions = {},
): Promise<LoadTransformerResult> {
  const checkpoint = await loadTorchCheckpoint(path);
  return loadSelfpabStateDict(model, checkpoint, { ...opts, file: opts.file ?? path });
}
