/**
 * SelfPAB's downstream models (Logacjov et al.; reference ntnu-ai-lab/SelfPAB
 * `DownstreamMLP` + `UpstreamModel`, ../shared/specs/selfpab.md §3.1, §4.1)
 * as serialisable `tf.LayersModel`s, sequence to sequence: one logit vector
 * per STFT frame, no pooling.
 *
 * ```
 * x [batch, frames, inputSize]     HUNT4-normalised STFT frames (156 = 6 axes × 26 bins; 78 one sensor)
 * → embed_… block1_… … blockL_…    the SelfPAB transformer encoder (lib/models/transformer.ts)
 * → last block's output            (layerCombination "last": the released configs, default)
 *   or layer_sum = Σ_l a_l·F_l      (layerCombination "weighted-sum": the paper; a_l raw weights
 *                                     initialised to 1/L as the code's LinearWeightedSum, or softmax)
 * → head_hidden Linear(d → hidden) + ReLU   (hidden 1028 at d 1500; no dropout)
 * → head_out    Linear(hidden → K)          logits [batch, frames, K]; softmax only at inference
 * ```
 *
 * Baselines of the paper's Table 1 (spec §4.1): {@link spectrogramMlp}
 * ("Spectr.+MLP", setting 2: the same head on the normalised frames, no
 * encoder) and {@link spectrogramTransformer} ("Spectr.+TE", setting 3: the
 * same transformer trained from scratch, with the upstream model's
 * K-dimensional linear prediction head).
 *
 * Training as the reference does it (spec §3.3), with `fit` of lib/train/loop.ts:
 * - `freeze: selfpabEncoderWeights(), unfreezeAtFraction: 0.75`: the encoder is
 *   frozen for the first 75 % of the steps (0-based step s trains the encoder
 *   iff s ≥ ⌊0.75·total⌋, i.e. the reference's first 1-based step k with
 *   k/total > 0.75), then everything trains at the current learning rate.
 * - Our optimisers create a weight's Adam state at its first gradient, so the
 *   encoder's moments start at 0 and its bias-correction step count at 1 on
 *   unfreezing (torch's lazily created state does the same).
 * - `fit` runs every forward with `training: true`, frozen weights included,
 *   so encoder dropout (0.1) is active in the frozen phase, as in the
 *   reference (Lightning's `model.train()` undoes `freeze()`'s `.eval()`).
 * - Loss {@link selfpabFrameLoss}: frame-level cross-entropy on logits, frames
 *   labelled `< 0` (padding, unlabelled) weigh 0, `Σ mask·CE / Σ mask` over
 *   the whole batch. With workers give `Batch.sampleWeights` =
 *   {@link frameLossWeights} so that shard gradients average exactly.
 *
 * The weighted sum lets gradients reach every encoder layer once unfrozen:
 * the reference's forward hooks store `output.detach()`, which would block
 * them (spec §6.12); we do not reproduce that.
 *
 * @example
 * ```ts
 * const pre = withReconstructionHead(transformerEncoder(SELFPAB_TRANSFORMER.cpu));
 * // … masked-reconstruction pre-training of `pre` …
 * const clf = selfpabClassifierFromPretrained(pre, { encoder: SELFPAB_TRANSFORMER.cpu, numClasses: 12 });
 * await fit(clf, source, { epochs: 15, loss: selfpabFrameLoss(), freeze: selfpabEncoderWeights(),
 *   unfreezeAtFraction: 0.75, optimizer: { name: "adam", lr: 1e-4, beta2: 0.98, eps: 1e-8 } });
 * clf.predict(tf.zeros([1, 599, 156])); // [1, 599, 12] logits
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../errors.ts";
import { type LayerSumNormalisation, WeightedLayerSum } from "./layers.ts";
import {
  resolveTransformerArgs,
  torchDense,
  transformerEncoder,
  type TransformerEncoderArgs,
} from "./transformer.ts";

/** How the encoder's layer outputs feed the head. */
export type SelfpabLayerCombination = "last" | "weighted-sum";

/**
 * The classifier head: `"mlp"` Linear(d → hidden) → ReLU → Linear(hidden →
 * K) (SelfPAB's `get_pred_head(2, 1028)`), or `"linear"` one Linear(d → K)
 * (the upstream model's prediction head re-sized to K: the paper's
 * "Spectr.+TE" setting).
 */
export type SelfpabHeadKind = "mlp" | "linear";

/** Hidden units of SelfPAB's downstream MLP at the full size (d 1500); 1028, not 1024. */
export const SELFPAB_HEAD_HIDDEN_FULL = 1028;

/**
 * Default hidden units of the head for an encoder of width `dModel`: 1028
 * scaled by `dModel / 1500` and rounded (1028 for the full model, 132 for
 * the cpu configuration's d 192).
 *
 * @example
 * selfpabHeadHidden(1500); // 1028
 * selfpabHeadHidden(192);  // 132
 */
export function selfpabHeadHidden(dModel: number): number {
  return Math.max(1, Math.round(SELFPAB_HEAD_HIDDEN_FULL * dModel / 1500));
}

/** Arguments of {@link selfpabClassifier}. */
export interface SelfpabClassifierArgs {
  /**
   * The encoder's sizes (`SELFPAB_TRANSFORMER.full` / `.cpu` of
   * lib/models/transformer.ts or custom; `inputSize` features per frame,
   * `frames` frames per window or null for any length). Its `output` is
   * ignored: {@link layerCombination} decides.
   */
  encoder: TransformerEncoderArgs;
  /** Classes K: logits per frame (HARTH 12, HAR70+ 7). */
  numClasses: number;
  /**
   * `"last"` (default; the released configs' `weighted_sum_layer: null`):
   * the last encoder layer's output; `"weighted-sum"` (the paper): a learned
   * weighted sum of all L encoder layers' outputs (`layer_sum`).
   */
  layerCombination?: SelfpabLayerCombination;
  /**
   * Mixing weights of the weighted sum: `"none"` (default; the code's
   * `LinearWeightedSum`: raw weights initialised to 1/L, no softmax) or
   * `"softmax"` (weights initialised to 0, coefficients softmax(w)).
   */
  layerSumNormalisation?: LayerSumNormalisation;
  /** Head kind (default `"mlp"`), see {@link SelfpabHeadKind}. */
  head?: SelfpabHeadKind;
  /** Hidden units of the `"mlp"` head (default {@link selfpabHeadHidden}`(dModel)`: 1028 at d 1500). */
  headHidden?: number;
  /**
   * Seed of the weight initialisation (default: the encoder's seed, else 0).
   * PyTorch's Linear initialisation U(±1/√fan_in) for the head.
   */
  seed?: number;
  /** Model name (default `"selfpab_classifier"`). */
  name?: string;
}

/** Arguments of {@link spectrogramMlp}. */
export interface SpectrogramMlpArgs {
  /** Features per frame (156 dual sensor, 78 one sensor). */
  inputSize: number;
  /** Frames per window (SelfPAB 599), or null (default) for any length. */
  frames?: number | null;
  /** Classes K. */
  numClasses: number;
  /** Hidden units (default 1028: "the same MLP hyperparameters as in setting (1)"). */
  headHidden?: number;
  /** Initialisation seed (default 0). */
  seed?: number;
  /** Model name (default `"spectrogram_mlp"`). */
  name?: string;
}

function checkCount(where: string, what: string, v: unknown): void {
  if (!Number.isInteger(v) || (v as number) < 1) {
    throw new ConfigError(`${where} ${what}: must be a positive integer, got ${v}`);
  }
}

/** The per-frame head on `[batch, frames, d]`: `head_hidden` (ReLU) → `head_out`, or `head_out` alone. */
function frameHead(
  x: tf.SymbolicTensor,
  d: number,
  kind: SelfpabHeadKind,
  hidden: number,
  numClasses: number,
  seed: number,
): tf.SymbolicTensor {
  if (kind === "linear") {
    return torchDense("head_out", numClasses, d, seed).apply(x) as tf.SymbolicTensor;
  }
  const h = torchDense("head_hidden", hidden, d, seed, "relu").apply(x) as tf.SymbolicTensor;
  return torchDense("head_out", numClasses, hidden, seed).apply(h) as tf.SymbolicTensor;
}

interface ResolvedClassifierArgs {
  combination: SelfpabLayerCombination;
  normalisation: LayerSumNormalisation;
  head: SelfpabHeadKind;
  hidden: number;
  seed: number;
}

function resolveClassifierArgs(args: SelfpabClassifierArgs, where: string): ResolvedClassifierArgs {
  if (!args || typeof args !== "object" || !args.encoder) {
    throw new ConfigError(`${where}: needs { encoder, numClasses } (encoder: transformer sizes)`);
  }
  checkCount(where, "numClasses", args.numClasses);
  const combination = args.layerCombination ?? "last";
  if (combination !== "last" && combination !== "weighted-sum") {
    throw new ConfigError(
      `${where} layerCombination: must be "last" or "weighted-sum", got ${combination}`,
    );
  }
  const normalisation = args.layerSumNormalisation ?? "none";
  if (normalisation !== "none" && normalisation !== "softmax") {
    throw new ConfigError(
      `${where} layerSumNormalisation: must be "none" or "softmax", got ${normalisation}`,
    );
  }
  const head = args.head ?? "mlp";
  if (head !== "mlp" && head !== "linear") {
    throw new ConfigError(`${where} head: must be "mlp" or "linear", got ${head}`);
  }
  const hidden = args.headHidden ?? selfpabHeadHidden(args.encoder.dModel);
  checkCount(where, "headHidden", hidden);
  return { combination, normalisation, head, hidden, seed: args.seed ?? args.encoder.seed ?? 0 };
}

/**
 * SelfPAB's downstream classifier (see the module doc): the transformer
 * encoder, the last layer or the weighted layer sum, and the per-frame MLP
 * head; input `[batch, frames, inputSize]` (named `frames`), output logits
 * `[batch, frames, numClasses]`. Weights are freshly initialised (as the
 * "Spectr.+TE" baseline with `head: "mlp"`); {@link selfpabClassifierFromPretrained}
 * copies a pre-trained encoder in.
 *
 * @example
 * ```ts
 * const clf = selfpabClassifier({ encoder: SELFPAB_TRANSFORMER.cpu, numClasses: 7,
 *   layerCombination: "weighted-sum" });
 * clf.outputs[0].shape; // [null, 599, 7]
 * ```
 * @throws ConfigError naming the bad argument
 */
export function selfpabClassifier(args: SelfpabClassifierArgs): tf.LayersModel {
  const r = resolveClassifierArgs(args, "selfpabClassifier");
  const enc = transformerEncoder({
    ...args.encoder,
    output: r.combination === "last" ? "last" : "layers",
  });
  const d = args.encoder.dModel;
  const features = r.combination === "last"
    ? enc.outputs[0]
    : new WeightedLayerSum({ name: "layer_sum", normalisation: r.normalisation })
      .apply(enc.outputs) as tf.SymbolicTensor;
  const out = frameHead(features, d, r.head, r.hidden, args.numClasses, r.seed);
  return tf.model({ inputs: enc.inputs, outputs: out, name: args.name ?? "selfpab_classifier" });
}

/**
 * The paper's "Spectr.+TE" baseline (setting 3, spec §4.1): the SelfPAB
 * transformer trained purely supervised from scratch with the upstream
 * architecture's prediction head re-sized to K (`head: "linear"` by default;
 * pass `head: "mlp"` for the downstream MLP instead). Train it without
 * `freeze`.
 *
 * @example
 * spectrogramTransformer({ encoder: SELFPAB_TRANSFORMER.cpu, numClasses: 12 }); // [null, 599, 12]
 */
export function spectrogramTransformer(args: SelfpabClassifierArgs): tf.LayersModel {
  return selfpabClassifier({
    ...args,
    head: args.head ?? "linear",
    name: args.name ?? "spectrogram_transformer",
  });
}

/**
 * The paper's "Spectr.+MLP" baseline (setting 2, spec §4.1): the downstream
 * MLP (`head_hidden` Linear(inputSize → hidden) + ReLU → `head_out`
 * Linear(→ K)) applied to every normalised frame, no encoder. Input
 * `[batch, frames, inputSize]`, logits `[batch, frames, K]`.
 *
 * @example
 * spectrogramMlp({ inputSize: 156, frames: 599, numClasses: 12 }).countParams();
 * // 156·1028 + 1028 + 1028·12 + 12 = 173,744
 * @throws ConfigError naming the bad argument
 */
export function spectrogramMlp(args: SpectrogramMlpArgs): tf.LayersModel {
  const where = "spectrogramMlp";
  checkCount(where, "inputSize", args.inputSize);
  checkCount(where, "numClasses", args.numClasses);
  const frames = args.frames ?? null;
  if (frames !== null) checkCount(where, "frames", frames);
  const hidden = args.headHidden ?? SELFPAB_HEAD_HIDDEN_FULL;
  checkCount(where, "headHidden", hidden);
  const input = tf.input({ shape: [frames, args.inputSize], name: "frames" });
  const out = frameHead(input, args.inputSize, "mlp", hidden, args.numClasses, args.seed ?? 0);
  return tf.model({ inputs: input, outputs: out, name: args.name ?? "spectrogram_mlp" });
}

/**
 * Parameters of {@link selfpabClassifier}`(args)` computed from the
 * arguments, without building the model (the full size has 62 M):
 * input projection, learned positional table if any, L blocks (packed
 * attention 4d² + 4d, feed-forward 2·d·FF + FF + d, two norms 4d), final
 * norm if any, L layer-sum weights, head.
 *
 * @example
 * selfpabClassifierParamCount({ encoder: SELFPAB_TRANSFORMER.full, numClasses: 12 });
 * // 61,107,848 − 234,156 + 1500·1028 + 1028 + 1028·12 + 12 = 62,429,068
 */
export function selfpabClassifierParamCount(args: SelfpabClassifierArgs): number {
  const r = resolveClassifierArgs(args, "selfpabClassifierParamCount");
  const e = resolveTransformerArgs(args.encoder);
  const d = e.dModel, ff = e.dimFeedforward, L = e.numLayers, k = args.numClasses;
  let n = e.inputSize * d + d;
  if (e.positionalEncoding === "learned") n += e.maxLen * d;
  n += L * (4 * d * d + 4 * d + 2 * d * ff + ff + d + 4 * d);
  if (e.finalNorm) n += 2 * d;
  if (r.combination === "weighted-sum") n += L;
  n += r.head === "mlp" ? d * r.hidden + r.hidden + r.hidden * k + k : d * k + k;
  return n;
}

/** Options of {@link selfpabEncoderWeights}. */
export interface SelfpabEncoderWeightsOptions {
  /**
   * Count the weighted sum's mixing weights (`layer_sum`) as encoder weights,
   * i.e. freeze them with the encoder (default false). The paper trains
   * "only the weighted-sum layer and downstream MLP" while the encoder is
   * frozen; the reference code would freeze them too (they live in its
   * `UpstreamModel`): pass true for that.
   */
  layerSum?: boolean;
}

/**
 * The encoder's weights in a SelfPAB classifier as a lib/train/freeze.ts
 * selector (a RegExp over weight names: `embed_…`, `block{i}_…`,
 * `final_norm`, and `layer_sum` with `{ layerSum: true }`): what `fit`'s
 * `freeze` (with `unfreezeAtFraction: 0.75`) freezes, exactly the encoder.
 *
 * @example
 * selfpabEncoderWeights().test("block3_ff1/kernel"); // true
 * selfpabEncoderWeights().test("head_hidden/kernel"); // false
 */
export function selfpabEncoderWeights(opts: SelfpabEncoderWeightsOptions = {}): RegExp {
  return opts.layerSum
    ? /^(embed_|block\d+_|final_norm\/|layer_sum\/)/
    : /^(embed_|block\d+_|final_norm\/)/;
}

/** A weight of a layers model: stable name, shape, variable. */
function namedWeights(model: tf.LayersModel): Map<string, tf.LayerVariable> {
  const m = new Map<string, tf.LayerVariable>();
  for (const w of model.weights) m.set(w.originalName, w);
  return m;
}

/**
 * Copy the transformer encoder's weights (`embed_…`, `block{i}_…`,
 * `final_norm`) from a pre-training model (transformerEncoder, optionally
 * withReconstructionHead; its reconstruction head is left out) into a
 * classifier of the same encoder sizes, by weight name. Every encoder weight
 * of each model must have its counterpart of the same shape in the other.
 * Returns the copied weight names.
 *
 * @throws ConfigError naming the first missing, extra or mis-shaped weight
 */
export function copySelfpabEncoder(
  pretrained: tf.LayersModel,
  classifier: tf.LayersModel,
): string[] {
  const sel = selfpabEncoderWeights();
  const src = namedWeights(pretrained), dst = namedWeights(classifier);
  const want = [...dst.keys()].filter((n) => sel.test(n));
  const have = [...src.keys()].filter((n) => sel.test(n));
  if (want.length === 0) {
    throw new ConfigError(`copySelfpabEncoder: ${classifier.name} has no encoder weights`);
  }
  const missing = want.filter((n) => !src.has(n));
  const extra = have.filter((n) => !dst.has(n));
  if (missing.length || extra.length) {
    throw new ConfigError(
      `copySelfpabEncoder: the encoders of ${pretrained.name} and ${classifier.name} differ` +
        (missing.length
          ? `; ${missing.length} weights missing in ${pretrained.name} (${
            missing.slice(0, 3).join(", ")
          })`
          : "") +
        (extra.length
          ? `; ${extra.length} weights not in ${classifier.name} (${extra.slice(0, 3).join(", ")})`
          : "") +
        " (build the classifier with the pre-training encoder's sizes)",
    );
  }
  for (const n of want) {
    const a = src.get(n)!.shape.join(), b = dst.get(n)!.shape.join();
    if (a !== b) {
      throw new ConfigError(
        `copySelfpabEncoder "${n}": shape [${a}] in ${pretrained.name}, [${b}] in ${classifier.name}`,
      );
    }
  }
  tf.tidy(() => {
    for (const n of want) dst.get(n)!.write(src.get(n)!.read());
  });
  return want;
}

/**
 * {@link selfpabClassifier}`(args)` with the encoder copied from a
 * pre-training model (see {@link copySelfpabEncoder}); the head (and the
 * layer-sum weights) are fresh.
 *
 * @example
 * ```ts
 * const pre = withReconstructionHead(transformerEncoder(SELFPAB_TRANSFORMER.cpu));
 * const clf = selfpabClassifierFromPretrained(pre, { encoder: SELFPAB_TRANSFORMER.cpu, numClasses: 12 });
 * ```
 * @throws ConfigError when the encoders differ
 */
export function selfpabClassifierFromPretrained(
  pretrained: tf.LayersModel,
  args: SelfpabClassifierArgs,
): tf.LayersModel {
  const clf = selfpabClassifier(args);
  try {
    copySelfpabEncoder(pretrained, clf);
  } catch (e) {
    clf.dispose();
    throw e;
  }
  return clf;
}

/**
 * The downstream loss as data for `fit` (also in workers): frame-level
 * softmax cross-entropy on logits `[batch, frames, K]` against int labels
 * `[batch, frames]` (lib/train/losses.ts `crossEntropyLoss`, which flattens
 * the frames); labels `< 0` (padding, unlabelled frames) weigh 0, so the
 * value is `Σ mask·CE / Σ mask` over the whole batch, the reference's
 * `(cross_entropy(…, reduction='none')·mask).sum() / mask.sum()`. No class
 * weights. Use {@link maskFrameLabels} to turn a 0/1 mask into such labels.
 *
 * Note: `fit` on plain arrays (`FitData` with `yWidth` = frames) drops a
 * window whose *first* label is `< 0`; feed windows with a batch source, or
 * make sure frame 0 is labelled.
 *
 * @example
 * await fit(clf, source, { epochs: 15, loss: selfpabFrameLoss() });
 */
export function selfpabFrameLoss(): { kind: "cross-entropy"; args: Record<string, never> } {
  return { kind: "cross-entropy", args: {} };
}

/**
 * Frame labels with the masked-out frames set to −1 (weight 0 in
 * {@link selfpabFrameLoss}): `labels[i]` where `mask[i] > 0`, else −1.
 *
 * @example
 * maskFrameLabels([3, 1, 2], [1, 0, 1]); // Int32Array [3, -1, 2]
 * @throws ConfigError when the lengths differ
 */
export function maskFrameLabels(labels: ArrayLike<number>, mask: ArrayLike<number>): Int32Array {
  if (labels.length !== mask.length) {
    throw new ConfigError(
      `maskFrameLabels: ${labels.length} labels but ${mask.length} mask values`,
    );
  }
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = mask[i] > 0 ? labels[i] : -1;
  return out;
}

/**
 * Per window, the frames that count in {@link selfpabFrameLoss} (labels ≥
 * 0): pass as `Batch.sampleWeights` so that `fit`'s workers weight each
 * shard's gradient by its share of Σ mask, which makes the data-parallel
 * step equal the single-thread one.
 *
 * @param labels `[windows, frames]` row-major.
 * @param frames Frames per window.
 * @example
 * frameLossWeights([0, -1, 2, 1, 1, 1], 3); // Float32Array [2, 3]
 * @throws ConfigError when `labels` is not a whole number of windows
 */
export function frameLossWeights(labels: ArrayLike<number>, frames: number): Float32Array {
  checkCount("frameLossWeights", "frames", frames);
  if (labels.length % frames !== 0) {
    throw new ConfigError(
      `frameLossWeights: ${labels.length} labels are not whole windows of ${frames} frames`,
    );
  }
  const n = labels.length / frames;
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let c = 0;
    for (let f = 0; f < frames; f++) if (labels[i * frames + f] >= 0) c++;
    w[i] = c;
  }
  return w;
}
