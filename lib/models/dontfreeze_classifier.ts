/**
 * The downstream classifier of "Don't freeze" (Fortes Rey et al. 2023;
 * ../shared/specs/dont-freeze.md §5) on the 256-d representation of the
 * encoders in dontfreeze_encoders.ts, and the three regimes' models:
 *
 * | regime | builder | encoder |
 * |---|---|---|
 * | Baseline | {@link dontFreezeClassifier} | the pretext's architecture, randomly initialised, trained |
 * | Tuning (not frozen) | {@link dontFreezeClassifierFromPretext} `regime: "tuned"` | the pretext's weights, trained with the head |
 * | Frozen | {@link dontFreezeClassifierFromPretext} `regime: "frozen"`, or {@link dontFreezeHead} on cached embeddings (§5 [D], §10) | the pretext's weights, not trained |
 *
 * The head ({@link DontFreezeHeadArgs}, §5 [P] "3 layers of size [256, 128,
 * 128], each followed by batch norm, a relu activation and 0.2 dropout",
 * literal reading [D]):
 *
 * ```
 * representation [256] → classifier_dense1 (256) → classifier_bn1 → classifier_relu1 → classifier_dropout1 (0.2)
 *                      → classifier_dense2 (128) → … → classifier_dense3 (128) → … → classifier_logits (C)
 * ```
 *
 * outputting **logits** (softmax cross-entropy from logits in lib/train). The
 * [4] reference classifier (`Linear 256→256 → BN → ReLU → Drop 0.2 → Linear
 * 256→128 → … → Linear 128→C`) is `units: CPC_REFERENCE_CLASSIFIER_UNITS`.
 * Initialisation as PyTorch's `nn.Linear` (U(±1/√fan_in), the [4]
 * reference) by default, or Glorot-uniform (Keras); batch norm PyTorch's
 * (momentum 0.1 = tfjs 0.9, ε 1e-5); the dense layers before batch norm
 * have no bias (the normalisation cancels it; `denseBias: true` adds it, as
 * the reference's `nn.Linear`). At the defaults the head holds 116,736 +
 * 129·C values (C = 14: 118,542), 1,024 of them batch-norm moving
 * statistics, so 115,712 + 129·C trainable.
 *
 * Weight names: the encoder's start with `"encoder_"`
 * ({@link dontFreezeEncoderWeights}, what freezing and transfer select), the
 * head's with {@link CLASSIFIER_PREFIX} (`"classifier_"`,
 * {@link dontFreezeHeadWeights}). The frozen regime builds the encoder with
 * its dropout rates at 0 and marks its weights non-trainable: `encoder.eval()`
 * + `requires_grad = False` of the [4] reference (§5); train it with `fit`'s
 * `frozenBatchNorm: "inference"` so the autoencoder's batch norm uses its
 * running statistics too.
 *
 * @example
 * ```ts
 * const baseline = dontFreezeClassifier({ numClasses: 14, encoder: { kind: "cpc" }, seed: 3 });
 * const pre = cpcModel({ steps: 12, seed: 1 });                  // … pre-trained on the source
 * const tuned = dontFreezeClassifierFromPretext(pre, { numClasses: 14, encoder: { kind: "cpc" } });
 * const frozen = dontFreezeClassifierFromPretext(pre, { numClasses: 14, encoder: { kind: "cpc" }, regime: "frozen" });
 * await fit(frozen, data, { ..., channelsLast: true, frozenBatchNorm: "inference" });
 * const head = dontFreezeHead({ numClasses: 14 });               // on cached [n, 256] embeddings
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "../backend/quiet_tfjs.ts";
import { ConfigError } from "../errors.ts";
import { batchNormalization } from "./batchnorm.ts";
import {
  type AutoencoderArgs,
  autoencoderEncoder,
  cpcEncoder,
  type CpcEncoderArgs,
  DONT_FREEZE_REPRESENTATION_UNITS,
  ENCODER_PREFIX,
  tpnEncoder,
  type TpnEncoderArgs,
} from "./dontfreeze_encoders.ts";
import { harnetDense, harnetKernelInit, layerSeed } from "./heads.ts";

type Sym = tf.SymbolicTensor;

/** Prefix of every head layer name. */
export const CLASSIFIER_PREFIX = "classifier_";
/** Hidden units of the paper's head, §5 [P]. */
export const DONT_FREEZE_CLASSIFIER_UNITS: readonly number[] = [256, 128, 128];
/** Hidden units of the [4] reference `Classifier` (CPC for HAR, model.py), §5 [C]. */
export const CPC_REFERENCE_CLASSIFIER_UNITS: readonly number[] = [256, 128];

/** The head's weights (prefix {@link CLASSIFIER_PREFIX}), a `WeightSelector` for lib/train/freeze.ts. */
export function dontFreezeHeadWeights(): string {
  return CLASSIFIER_PREFIX;
}

/** Initialisation of the head's dense layers. */
export type DontFreezeHeadInit = "torch" | "glorot";

/** Arguments of {@link dontFreezeHead} (§5). */
export interface DontFreezeHeadArgs {
  /** Number of classes C (logits out). */
  numClasses: number;
  /** Size of the representation in (default 256, §2 [P]; {@link dontFreezeClassifier} takes the encoder's). */
  inputUnits?: number;
  /** Hidden layer sizes (default [256, 128, 128], §5 [P]; [256, 128]: the [4] reference). */
  units?: readonly number[];
  /** Dropout after each hidden layer's ReLU (default 0.2, §5 [P]). */
  dropout?: number;
  /** Batch-norm momentum of the moving statistics, tfjs convention (default 0.9 = PyTorch 0.1). */
  batchNormMomentum?: number;
  /** Batch-norm epsilon (default 1e-5, PyTorch's). */
  batchNormEpsilon?: number;
  /** `"torch"` (default: `nn.Linear`'s U(±1/√fan_in), the [4] reference) or `"glorot"` (Keras). */
  init?: DontFreezeHeadInit;
  /** Bias in the hidden dense layers (default false: batch norm follows and cancels it). */
  denseBias?: boolean;
  /** Seed of the head's weights (default 0). */
  seed?: number;
  /** Model name of {@link dontFreezeHead} (default `"dontfreeze_head"`). */
  name?: string;
}

/** {@link DontFreezeHeadArgs} with every default filled in. */
export interface ResolvedDontFreezeHeadArgs extends Required<Omit<DontFreezeHeadArgs, "units">> {
  /** Hidden layer sizes. */
  units: number[];
}

function posInt(where: string, what: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) {
    throw new ConfigError(`${where} ${what}: must be a positive integer, got ${v}`);
  }
  return v as number;
}

/** Validate {@link DontFreezeHeadArgs} and fill in the defaults (ConfigError naming the field). */
export function resolveDontFreezeHeadArgs(args: DontFreezeHeadArgs): ResolvedDontFreezeHeadArgs {
  const w = "dontFreezeHead";
  const numClasses = posInt(w, "numClasses", args?.numClasses);
  if (numClasses < 2) throw new ConfigError(`${w} numClasses: need at least 2, got ${numClasses}`);
  const units = args.units ?? DONT_FREEZE_CLASSIFIER_UNITS;
  if (!Array.isArray(units)) {
    throw new ConfigError(`${w} units: expected a list of positive integers, got ${units}`);
  }
  const dropout = args.dropout ?? 0.2;
  if (!(dropout >= 0 && dropout < 1)) {
    throw new ConfigError(`${w} dropout: must be in [0, 1), got ${dropout}`);
  }
  const momentum = args.batchNormMomentum ?? 0.9;
  if (!(momentum >= 0 && momentum <= 1)) {
    throw new ConfigError(`${w} batchNormMomentum: must be in [0, 1], got ${momentum}`);
  }
  const eps = args.batchNormEpsilon ?? 1e-5;
  if (!(eps > 0)) throw new ConfigError(`${w} batchNormEpsilon: must be > 0, got ${eps}`);
  const init = args.init ?? "torch";
  if (init !== "torch" && init !== "glorot") {
    throw new ConfigError(`${w} init: must be "torch" or "glorot", got "${init}"`);
  }
  return {
    numClasses,
    inputUnits: posInt(w, "inputUnits", args.inputUnits ?? DONT_FREEZE_REPRESENTATION_UNITS),
    units: units.map((u, i) => posInt(w, `units[${i}]`, u)),
    dropout,
    batchNormMomentum: momentum,
    batchNormEpsilon: eps,
    init,
    denseBias: args.denseBias ?? false,
    seed: args.seed ?? 0,
    name: args.name ?? "dontfreeze_head",
  };
}

/** The head's layers applied to a representation `rep` → logits. */
function applyHead(rep: Sym, a: ResolvedDontFreezeHeadArgs): Sym {
  const kernel = (name: string, units: number) =>
    a.init === "torch"
      ? harnetKernelInit("torch", a.seed, name, units)
      : tf.initializers.glorotUniform({ seed: layerSeed(a.seed, name) });
  let h = rep;
  a.units.forEach((u, i) => {
    const p = `${CLASSIFIER_PREFIX}`, k = i + 1;
    const name = `${p}dense${k}`;
    const dense = a.denseBias && a.init === "torch"
      ? harnetDense(name, u, a.seed, false, "torch")
      : tf.layers.dense({
        name,
        units: u,
        useBias: a.denseBias,
        kernelInitializer: kernel(name, u),
      });
    h = dense.apply(h) as Sym;
    h = batchNormalization({
      name: `${p}bn${k}`,
      momentum: a.batchNormMomentum,
      epsilon: a.batchNormEpsilon,
    }).apply(h) as Sym;
    h = tf.layers.reLU({ name: `${p}relu${k}` }).apply(h) as Sym;
    if (a.dropout > 0) {
      h = tf.layers.dropout({ name: `${p}dropout${k}`, rate: a.dropout }).apply(h) as Sym;
    }
  });
  const out = `${CLASSIFIER_PREFIX}logits`;
  const logits = a.init === "torch"
    ? harnetDense(out, a.numClasses, a.seed, false, "torch")
    : tf.layers.dense({
      name: out,
      units: a.numClasses,
      kernelInitializer: kernel(out, a.numClasses),
    });
  return logits.apply(h) as Sym;
}

/**
 * The head alone, on representations `[batch, inputUnits]` → logits `[batch,
 * C]`: the frozen regime trained on embeddings computed once (§5 [D], §10).
 *
 * @example
 * const head = dontFreezeHead({ numClasses: 2, seed: 1 });
 * head.outputs[0].shape; // [null, 2]
 */
export function dontFreezeHead(args: DontFreezeHeadArgs): tf.LayersModel {
  const a = resolveDontFreezeHeadArgs(args);
  const x = tf.input({ shape: [a.inputUnits], name: "representation" });
  return tf.model({ inputs: x, outputs: applyHead(x, a), name: a.name });
}

/** Which encoder architecture, with its arguments (lib/models/dontfreeze_encoders.ts). */
export type DontFreezeEncoderSpec =
  | { kind: "tpn"; args?: TpnEncoderArgs }
  | { kind: "cpc"; args?: CpcEncoderArgs }
  | { kind: "autoencoder"; args?: AutoencoderArgs };

/** The encoder kinds of {@link DontFreezeEncoderSpec}. */
export const DONT_FREEZE_ENCODER_KINDS = ["tpn", "cpc", "autoencoder"] as const;

/**
 * The encoder of `spec`, randomly initialised (its seed: `spec.args.seed`,
 * else `seed`). `evalMode`: dropout rates 0 (the frozen regime's
 * `encoder.eval()`; dropout layers carry no weights, so the weights are the same).
 *
 * @throws ConfigError for an unknown kind (or the builder's, for bad arguments)
 */
export function dontFreezeEncoder(
  spec: DontFreezeEncoderSpec,
  seed = 0,
  evalMode = false,
): tf.LayersModel {
  switch (spec?.kind) {
    case "tpn":
      return tpnEncoder({ seed, ...spec.args, ...(evalMode ? { dropout: 0 } : {}) });
    case "cpc":
      return cpcEncoder({
        seed,
        ...spec.args,
        ...(evalMode ? { dropout: 0, gruDropout: 0 } : {}),
      });
    case "autoencoder":
      return autoencoderEncoder({ seed, ...spec.args });
    default:
      throw new ConfigError(
        `dontFreeze encoder kind: must be one of ${DONT_FREEZE_ENCODER_KINDS.join(", ")}, got ${
          JSON.stringify((spec as { kind?: unknown })?.kind)
        }`,
      );
  }
}

/** Arguments of {@link dontFreezeClassifier}: the head's (its input is the encoder's output) and the encoder. */
export interface DontFreezeClassifierArgs extends Omit<DontFreezeHeadArgs, "inputUnits" | "name"> {
  /** The encoder architecture (default `{ kind: "tpn" }`): the pretext's, for every regime. */
  encoder?: DontFreezeEncoderSpec;
  /** Seed of the head and of a fresh encoder (default 0; the encoder's own `args.seed` wins). */
  seed?: number;
  /** Model name (default `"dontfreeze_<kind>_classifier"`). */
  name?: string;
}

function build(args: DontFreezeClassifierArgs, evalMode: boolean): tf.LayersModel {
  const spec = args.encoder ?? { kind: "tpn" };
  const seed = args.seed ?? 0;
  const enc = dontFreezeEncoder(spec, seed, evalMode);
  const rep = enc.outputs[0];
  const dim = rep.shape[rep.shape.length - 1];
  if (rep.shape.length !== 2 || typeof dim !== "number") {
    throw new ConfigError(
      `dontFreezeClassifier: the ${spec.kind} encoder outputs [${rep.shape}], expected [batch, units]`,
    );
  }
  const a = resolveDontFreezeHeadArgs({ ...args, seed, inputUnits: dim });
  return tf.model({
    inputs: enc.inputs,
    outputs: applyHead(rep, a),
    name: args.name ?? `dontfreeze_${spec.kind}_classifier`,
  });
}

/**
 * The baseline (§2 [P], §5): the encoder architecture randomly initialised
 * plus the head, trained end to end; input `[batch, 100, 3]` (channels-last),
 * output logits `[batch, C]`. One flat functional model: encoder layers
 * `encoder_…`, head layers `classifier_…`.
 *
 * @example
 * const m = dontFreezeClassifier({ numClasses: 18, encoder: { kind: "autoencoder" }, seed: 2 });
 */
export function dontFreezeClassifier(args: DontFreezeClassifierArgs): tf.LayersModel {
  return build(args, false);
}

/** The regimes that start from a pretext model (§5). */
export type DontFreezePretextRegime = "tuned" | "frozen";

/** Arguments of {@link dontFreezeClassifierFromPretext}. */
export interface DontFreezeFromPretextArgs extends DontFreezeClassifierArgs {
  /** `"tuned"` (default, the paper's "not frozen") or `"frozen"`. */
  regime?: DontFreezePretextRegime;
  /**
   * `"frozen"`: mark the encoder's weights non-trainable here (default
   * true). Pass false and give `fit` `freeze: dontFreezeEncoderWeights()`
   * instead when training with workers: they rebuild the model from its
   * JSON and copy the weights in `model.weights` order, which lists
   * non-trainable weights last, so a model frozen before `fit` does not
   * match its rebuilt copy.
   */
  freeze?: boolean;
}

/**
 * Mark the encoder's weights (`encoder_…`) non-trainable, as lib/train's
 * `freeze(model, dontFreezeEncoderWeights())`; returns their names.
 *
 * @throws ConfigError when the model has no encoder weight
 */
export function freezeDontFreezeEncoder(model: tf.LayersModel): string[] {
  const hit = model.weights.filter((w) => w.originalName.startsWith(ENCODER_PREFIX));
  if (!hit.length) {
    throw new ConfigError(
      `freezeDontFreezeEncoder: "${model.name}" has no ${ENCODER_PREFIX}… weight`,
    );
  }
  const out: string[] = [];
  for (const w of hit) {
    if (w.trainable) {
      w.trainable = false;
      out.push(w.originalName);
    }
  }
  return out;
}

/**
 * Copy the encoder weights (`encoder_…`, batch-norm statistics included) of
 * `pretext` into `model` by name; returns the names copied.
 *
 * @throws ConfigError when the two encoders differ: a weight of one missing
 *   in the other, or a shape mismatch (naming the weights)
 */
export function copyDontFreezeEncoder(pretext: tf.LayersModel, model: tf.LayersModel): string[] {
  const isEnc = (n: string) => n.startsWith(ENCODER_PREFIX);
  const src = new Map(
    pretext.weights.filter((w) => isEnc(w.originalName)).map((w) => [w.originalName, w]),
  );
  const dst = model.weights.filter((w) => isEnc(w.originalName));
  const missing = dst.filter((w) => !src.has(w.originalName)).map((w) => w.originalName);
  const extra = [...src.keys()].filter((n) => !dst.some((w) => w.originalName === n));
  if (missing.length || extra.length || dst.length === 0) {
    throw new ConfigError(
      `copyDontFreezeEncoder: the encoders of "${pretext.name}" and "${model.name}" differ (` +
        [
          missing.length ? `not in the pretext: ${missing.slice(0, 4).join(", ")}` : "",
          extra.length ? `not in the classifier: ${extra.slice(0, 4).join(", ")}` : "",
          dst.length === 0 ? "no encoder weight" : "",
        ].filter(Boolean).join("; ") +
        `); build the classifier with the pretext's encoder kind and arguments`,
    );
  }
  for (const w of dst) {
    const s = src.get(w.originalName)!;
    if (s.shape.join() !== w.shape.join()) {
      throw new ConfigError(
        `copyDontFreezeEncoder "${w.originalName}": shape [${s.shape}] in the pretext, ` +
          `[${w.shape}] in the classifier`,
      );
    }
  }
  tf.tidy(() => {
    for (const w of dst) w.write(src.get(w.originalName)!.read());
  });
  return dst.map((w) => w.originalName);
}

/**
 * The Tuning or Frozen regime (§5): the classifier of `args.encoder` with the
 * pretext model's encoder weights copied in by name (any pretext model of
 * dontfreeze_encoders.ts built with the same encoder arguments:
 * `multitask8Model`, `simclrModel` → `"tpn"`, `cpcModel` → `"cpc"`,
 * `autoencoder` → `"autoencoder"`) and a fresh head. `"frozen"`: the encoder
 * is built in eval mode (dropout 0) and its weights are non-trainable (see
 * {@link DontFreezeFromPretextArgs.freeze} for `fit`'s workers); train with
 * `fit(…, { frozenBatchNorm: "inference" })`.
 *
 * @throws ConfigError for an unknown regime or a pretext whose encoder differs
 */
export function dontFreezeClassifierFromPretext(
  pretext: tf.LayersModel,
  args: DontFreezeFromPretextArgs,
): tf.LayersModel {
  const regime = args.regime ?? "tuned";
  if (regime !== "tuned" && regime !== "frozen") {
    throw new ConfigError(
      `dontFreezeClassifierFromPretext regime: must be "tuned" or "frozen", got "${regime}"`,
    );
  }
  const model = build(args, regime === "frozen");
  try {
    copyDontFreezeEncoder(pretext, model);
  } catch (e) {
    model.dispose();
    throw e;
  }
  if (regime === "frozen" && (args.freeze ?? true)) freezeDontFreezeEncoder(model);
  return model;
}
