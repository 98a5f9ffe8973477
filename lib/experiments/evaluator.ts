/**
 * The downstream evaluator: any encoder, any benchmark's windows, any
 * protocol's folds, any setting — one {@link RunResult} per fold and seed.
 *
 * Settings ({@link SettingSpec}):
 * - `scratch`: the classifier trained from random initialisation;
 * - `frozen`: the pre-trained encoder's features computed once (inference
 *   mode), a head trained on them;
 * - `finetune`: the pre-trained encoder + a fresh head, all trained;
 * - `frozen-unfrozen`: as finetune, the encoder frozen until
 *   `unfreezeAtFraction` of the steps (SelfPAB: 0.75);
 * - `transfer`: the first `blocks` blocks transferred (frozen unless
 *   `freezeTransferred: false`), the rest trained from scratch (Gjoreski);
 * - `rf`: hand-crafted features + random forest, trained on the training
 *   and validation windows (ssl-wearables' baseline).
 * Each deep setting can ask for a learned weighted sum of the encoder's
 * layer outputs (`layerSum`, SelfPAB) when the model recipe supports it.
 *
 * A paper provides a {@link DownstreamModel} recipe (how to build its
 * classifier, which weights are the encoder, how to get features); the
 * evaluator does the rest: training with early stopping on the validation
 * subjects, class-balanced cross-entropy, scoring per test subject, caching
 * finished folds through an `Experiment` piece function, both cores.
 *
 * @example
 * ```ts
 * const runs = await evaluateDownstream({
 *   benchmark: "adl5", windows, folds: makeFolds({ kind: "loso", valSubjects: 1 }, windows, 42),
 *   settings: [{ kind: "scratch" }, { kind: "frozen" }, { kind: "finetune" }],
 *   model: myRecipe, pretrained: ssl, training: { epochs: 20, batchSize: 64, lr: 1e-4, patience: 5 },
 *   seed: 42,
 * });
 * summarizeRuns(runs).print();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Fold, FoldPlan } from "../data/splits.ts";
import type { Windows } from "../data/types.ts";
import { ConfigError } from "../errors.ts";
import { reviveRunResult, type RunResult, scoreRun } from "../eval/run_result.ts";
import {
  extractFeatures,
  type ExtractFeaturesOptions,
  type FeatureMatrix,
} from "../features/handcrafted.ts";
import { RandomForest, type RandomForestArgs } from "../models/forest.ts";
import { rng } from "../random.ts";
import type { FitData } from "../train/batches.ts";
import { forward, type TrainableModel } from "../train/forward.ts";
import { transferWeights, type WeightSelector } from "../train/freeze.ts";
import { fit, type FitResult } from "../train/loop.ts";
import type { OptimizerSpec } from "../train/optimisers.ts";

/** The kinds of downstream setting (see the module docs). */
export const SETTING_KINDS = [
  "scratch",
  "frozen",
  "finetune",
  "frozen-unfrozen",
  "transfer",
  "rf",
] as const;

/** The kinds of downstream setting. */
export type SettingKind = typeof SETTING_KINDS[number];

/** One downstream setting. */
export interface SettingSpec {
  /** What is trained (see the module docs). */
  kind: SettingKind;
  /**
   * Name in results and piece keys (default `kind`, `"transfer-k2"` for
   * transfer of 2 blocks, with `-layersum` appended when `layerSum`); unique
   * among the settings of one call.
   */
  name?: string;
  /** `frozen-unfrozen`: unfreeze at this fraction of the steps (default 0.75). */
  unfreezeAtFraction?: number;
  /** `transfer`: number of leading encoder blocks transferred. */
  blocks?: number;
  /** `transfer`: freeze the transferred blocks (default true). */
  freezeTransferred?: boolean;
  /** Classify a learned weighted sum of the encoder's layer outputs (recipe must support it). */
  layerSum?: boolean;
}

/** Training hyper-parameters of the deep settings. */
export interface DownstreamTrainingArgs {
  /** Maximum epochs (early stopping usually ends sooner). */
  epochs: number;
  /** Maximum epochs of the frozen setting's head (default `epochs`). */
  frozenEpochs?: number;
  /** Windows per step. */
  batchSize: number;
  /** Learning rate of the default Adam. */
  lr: number;
  /** Optimiser (default `{ name: "adam", lr }`). */
  optimizer?: OptimizerSpec;
  /** Early-stopping patience on the validation loss, in epochs (no validation: no early stopping). */
  patience: number;
  /** Class weights of the cross-entropy: `"balanced"` (default) or none. */
  classWeights?: "balanced" | null;
  /** Cap on training windows per fold (seeded subset), or null (default). */
  maxTrainWindows?: number | null;
  /** Standardise frozen features with the training fold's mean/sd (default false). */
  standardizeFeatures?: boolean;
  /** Workers of `fit` (default `"auto"`: both cores when the native backend is up). */
  workers?: number | "auto";
  /** Windows per inference batch (default 128). */
  evalBatchSize?: number;
}

/** What a recipe's classifier builder is told. */
export interface ClassifierArgs {
  /** Number of classes. */
  numClasses: number;
  /** Seed of the fresh weights. */
  seed: number;
  /** The setting being run (e.g. to add a layer-sum head). */
  setting: SettingSpec;
}

/** How a paper's model is evaluated downstream. */
export interface DownstreamModel {
  /** Encoder + fresh classification head. */
  classifier(args: ClassifierArgs): tf.LayersModel;
  /** The encoder's weights in the classifier (freeze, transfer), e.g. `"feature_extractor"`. */
  encoderWeights: WeightSelector;
  /** The weights of the first `k` encoder blocks (the `transfer` setting). */
  blockWeights?(k: number): WeightSelector;
  /**
   * Copy the encoder from the pre-trained model into a classifier (default:
   * `transferWeights` of the `select` weights, by name).
   */
  transfer?(pretrained: tf.LayersModel, classifier: tf.LayersModel, select: WeightSelector): void;
  /** Frozen features `[n, dim]` of windows under the pre-trained encoder (required for `frozen`). */
  features?(pretrained: tf.LayersModel, windows: Windows): { x: Float32Array; dim: number };
  /** Head trained on frozen features (default one dense layer to the classes). */
  head?(dim: number, numClasses: number, seed: number): tf.LayersModel;
  /** Model inputs of windows (default the windows `[n, channels, length]` themselves). */
  inputs?(windows: Windows): FitData;
  /** The model takes `[n, length, channels]` (tfjs conv1d layout). */
  channelsLast?: boolean;
}

/**
 * A fold, optionally with its plan (lib/data/splits.ts `makeFolds` gives
 * `FoldPlan`s: name, index, repeat and seeds).
 */
export type NamedFold =
  & Fold
  & Partial<Pick<FoldPlan, "name" | "index" | "repeat" | "seed" | "repeatSeed">>;

/** Arguments of {@link evaluateDownstream}. */
export interface EvaluateArgs {
  /** Benchmark name in the results, e.g. `"adl5"`. */
  benchmark: string;
  /** Protocol name in the results, e.g. `"loso"`. */
  protocol: string;
  /** The benchmark's labelled windows. */
  windows: Windows;
  /** The folds (indices into `windows`). */
  folds: NamedFold[];
  /** Settings to run, in order. */
  settings: SettingSpec[];
  /** The model recipe (not needed for `rf` alone). */
  model?: DownstreamModel;
  /** The pre-trained model (for frozen / finetune / frozen-unfrozen / transfer). */
  pretrained?: tf.LayersModel;
  /** Deep training hyper-parameters. */
  training?: DownstreamTrainingArgs;
  /** Random forest of the `rf` setting (default 100 trees, balanced, as ssl-wearables). */
  rf?: RandomForestArgs;
  /**
   * Hand-crafted features of the `rf` setting: options of `extractFeatures`
   * (default the ssl-wearables set) or the features already extracted.
   */
  rfFeatures?: ExtractFeaturesOptions | FeatureMatrix;
  /**
   * Base seed. A fold trains with its plan's `seed` (`repeatSeed·1000 +
   * index`), else `seed·1000 + k`; the forest uses `repeatSeed + index`.
   */
  seed: number;
  /** Experiment name in the results. */
  experiment?: string;
  /**
   * Cache of finished pieces (e.g. `Experiment.piece` of the scaffold):
   * called with a key `<benchmark>/<setting>/<fold name, "/" → "-">`.
   */
  piece?: (key: string, compute: () => Promise<RunResult>) => Promise<RunResult>;
  /** Checkpoint folder per piece key (resume mid-fold), or none. */
  checkpointDir?: (key: string) => string;
  /** Progress messages. */
  log?: (msg: string) => void;
}

/** A seeded subset of at most `max` of `idx` (ascending), or `idx` itself. */
export function capIndices(
  idx: Int32Array,
  max: number | null | undefined,
  seed: number,
): Int32Array {
  if (max === null || max === undefined || idx.length <= max) return idx;
  const order = rng(seed).shuffle(Array.from(idx));
  return Int32Array.from(order.slice(0, max)).sort();
}

/**
 * Per-feature mean and standard deviation over the rows `idx` of `[n, dim]`
 * features (population sd; 0 for constant features).
 */
export function featureStats(
  f: { x: Float32Array; dim: number },
  idx: ArrayLike<number>,
): { mean: Float64Array; sd: Float64Array } {
  const { dim } = f;
  const mean = new Float64Array(dim), sd = new Float64Array(dim);
  for (let k = 0; k < idx.length; k++) {
    for (let j = 0; j < dim; j++) mean[j] += f.x[idx[k] * dim + j] / idx.length;
  }
  for (let k = 0; k < idx.length; k++) {
    for (let j = 0; j < dim; j++) sd[j] += (f.x[idx[k] * dim + j] - mean[j]) ** 2 / idx.length;
  }
  for (let j = 0; j < dim; j++) sd[j] = Math.sqrt(sd[j]);
  return { mean, sd };
}

/** Rows `idx` of features as labelled arrays, optionally standardised with `stats`. */
function featureRows(
  f: { x: Float32Array; dim: number },
  y: Int32Array,
  idx: Int32Array,
  stats: { mean: Float64Array; sd: Float64Array } | null,
): FitData {
  const { dim } = f;
  const x = new Float32Array(idx.length * dim);
  for (let i = 0; i < idx.length; i++) {
    for (let j = 0; j < dim; j++) {
      const v = f.x[idx[i] * dim + j];
      if (!stats) x[i * dim + j] = v;
      else {
        const s = stats.sd[j];
        x[i * dim + j] = s > 1e-8 ? (v - stats.mean[j]) / s : 0;
      }
    }
  }
  return { x, shape: [idx.length, dim], y: Int32Array.from(idx, (i) => y[i]) };
}

function selectRows(d: FitData, idx: Int32Array): FitData {
  const row = d.shape.slice(1).reduce((a, b) => a * b, 1);
  const x = new Float32Array(idx.length * row);
  idx.forEach((r, i) => x.set(d.x.subarray(r * row, (r + 1) * row), i * row));
  return { x, shape: [idx.length, ...d.shape.slice(1)], y: Int32Array.from(idx, (i) => d.y[i]) };
}

/**
 * Predicted classes (argmax of output 0) of labelled arrays, in inference
 * mode, `batchSize` rows at a time.
 */
export function predictClasses(
  model: TrainableModel,
  data: FitData,
  opts: { batchSize?: number; channelsLast?: boolean } = {},
): Int32Array {
  const n = data.shape[0];
  const row = data.shape.slice(1).reduce((a, b) => a * b, 1);
  const bs = Math.max(1, opts.batchSize ?? 128);
  const out = new Int32Array(n);
  for (let s = 0; s < n; s += bs) {
    const m = Math.min(bs, n - s);
    tf.tidy(() => {
      const x = tf.tensor(data.x.subarray(s * row, (s + m) * row), [m, ...data.shape.slice(1)]);
      const [logits] = forward(model, [x], { training: false, channelsLast: opts.channelsLast });
      out.set(logits.argMax(-1).dataSync() as Int32Array, s);
    });
  }
  return out;
}

function settingName(s: SettingSpec): string {
  if (s.name) return s.name;
  const base = s.kind === "transfer" ? `transfer-k${s.blocks}` : s.kind;
  return s.layerSum ? `${base}-layersum` : base;
}

function windowsInputs(w: Windows): FitData {
  return { x: w.x, shape: [w.n, w.channels, w.length], y: w.y };
}

function defaultHead(dim: number, numClasses: number, seed: number): tf.LayersModel {
  const input = tf.input({ shape: [dim] });
  const out = tf.layers.dense({
    units: numClasses,
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
    name: "head",
  }).apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/**
 * Run every setting on every fold (and repeat). See the module docs.
 *
 * @throws ConfigError when a setting needs what was not given (a recipe, a
 *   pre-trained model, features, block weights, training arguments)
 */
export async function evaluateDownstream(args: EvaluateArgs): Promise<RunResult[]> {
  const w = args.windows;
  const log = args.log ?? (() => {});
  const piece = args.piece ?? ((_k: string, f: () => Promise<RunResult>) => f());
  const results: RunResult[] = [];
  const needsPretrained = new Set<SettingKind>([
    "frozen",
    "finetune",
    "frozen-unfrozen",
    "transfer",
  ]);
  const names = new Set<string>();
  for (const s of args.settings) {
    if (!SETTING_KINDS.includes(s.kind)) {
      throw new ConfigError(
        `evaluateDownstream: unknown setting kind "${s.kind}" (${SETTING_KINDS.join(", ")})`,
      );
    }
    const name = settingName(s);
    if (names.has(name)) {
      throw new ConfigError(
        `evaluateDownstream: two settings named "${name}" would share result pieces; give one a name`,
      );
    }
    names.add(name);
    if (s.kind !== "rf" && (!args.model || !args.training)) {
      throw new ConfigError(
        `evaluateDownstream ${settingName(s)}: needs a model recipe and training args`,
      );
    }
    if (needsPretrained.has(s.kind) && !args.pretrained) {
      throw new ConfigError(`evaluateDownstream ${settingName(s)}: needs a pre-trained model`);
    }
    if (s.kind === "frozen" && !args.model?.features) {
      throw new ConfigError("evaluateDownstream frozen: the model recipe has no features()");
    }
    if (s.kind === "transfer" && (!(s.blocks! >= 1) || !args.model?.blockWeights)) {
      throw new ConfigError(
        "evaluateDownstream transfer: needs blocks >= 1 and a recipe with blockWeights()",
      );
    }
  }
  let frozenFeatures: { x: Float32Array; dim: number } | null = null;
  let rfFeatures: FeatureMatrix | null = args.rfFeatures && "X" in args.rfFeatures
    ? args.rfFeatures
    : null;
  let inputs: FitData | null = null;
  for (const setting of args.settings) {
    const name = settingName(setting);
    for (const [k, fold] of args.folds.entries()) {
      {
        const foldName = fold.name ?? `fold${k}`;
        const key = `${args.benchmark}/${name}/${foldName.replaceAll("/", "-")}`;
        const index = fold.index ?? k, r = fold.repeat ?? 0;
        const seed = fold.seed ?? args.seed * 1000 + index;
        const res = reviveRunResult(
          await piece(key, async () => {
            const t0 = performance.now();
            let pred: Int32Array, history: FitResult["rows"] = [], bestEpoch: number | null = null;
            let nTrain: number, fitSec = 0;
            let importances: Record<string, number> | undefined;
            const test = fold.test;
            if (setting.kind === "rf") {
              rfFeatures ??= extractFeatures(
                w,
                (args.rfFeatures as ExtractFeaturesOptions) ?? { set: "ssl-wearables" },
              );
              const { X, nFeatures, names } = rfFeatures;
              const train = Int32Array.from([...fold.train, ...fold.val]).sort();
              nTrain = train.length;
              const forest = new RandomForest({
                seed: (fold.repeatSeed ?? args.seed) + index,
                ...args.rf,
              });
              const tf0 = performance.now();
              forest.fit(
                rowsOf(X, nFeatures, train),
                nFeatures,
                Int32Array.from(train, (i) => w.y[i]),
              );
              fitSec = (performance.now() - tf0) / 1000;
              pred = forest.predict(rowsOf(X, nFeatures, test));
              importances = Object.fromEntries(
                names.map((n, j) => [n, forest.featureImportances[j]]),
              );
            } else {
              const m = args.model!, tr = args.training!;
              const trainIdx = capIndices(fold.train, tr.maxTrainWindows, seed);
              nTrain = trainIdx.length;
              const nc = w.classes.length;
              const fitCommon = {
                batchSize: tr.batchSize,
                optimizer: tr.optimizer ?? { name: "adam" as const, lr: tr.lr },
                classWeights: tr.classWeights === null ? undefined : "balanced" as const,
                numClasses: nc,
                seed,
                progress: false as const,
                workers: tr.workers ?? "auto",
                checkpointDir: args.checkpointDir?.(key),
              };
              const es = fold.val.length > 0
                ? { monitor: "valLoss", patience: tr.patience }
                : undefined;
              let model: tf.LayersModel;
              let data: { train: FitData; val: FitData; test: FitData };
              if (setting.kind === "frozen") {
                frozenFeatures ??= m.features!(args.pretrained!, w);
                const stats = tr.standardizeFeatures
                  ? featureStats(frozenFeatures, trainIdx)
                  : null;
                data = {
                  train: featureRows(frozenFeatures, w.y, trainIdx, stats),
                  val: featureRows(frozenFeatures, w.y, fold.val, stats),
                  test: featureRows(frozenFeatures, w.y, test, stats),
                };
                model = (m.head ?? defaultHead)(frozenFeatures.dim, nc, seed);
              } else {
                inputs ??= (m.inputs ?? windowsInputs)(w);
                data = {
                  train: selectRows(inputs, trainIdx),
                  val: selectRows(inputs, fold.val),
                  test: selectRows(inputs, test),
                };
                model = m.classifier({ numClasses: nc, seed, setting });
                const copy = (sel: WeightSelector) =>
                  m.transfer
                    ? m.transfer(args.pretrained!, model, sel)
                    : transferWeights(args.pretrained!, model, { select: sel, strict: false });
                if (setting.kind === "finetune" || setting.kind === "frozen-unfrozen") {
                  copy(m.encoderWeights);
                } else if (setting.kind === "transfer") copy(m.blockWeights!(setting.blocks!));
              }
              const freeze = setting.kind === "frozen-unfrozen"
                ? m.encoderWeights
                : setting.kind === "transfer" && (setting.freezeTransferred ?? true)
                ? m.blockWeights!(setting.blocks!)
                : undefined;
              const tf0 = performance.now();
              const res = await fit(model, data.train, {
                ...fitCommon,
                epochs: setting.kind === "frozen" ? tr.frozenEpochs ?? tr.epochs : tr.epochs,
                validation: data.val.y.length > 0 ? data.val : undefined,
                earlyStopping: es,
                freeze,
                unfreezeAtFraction: setting.kind === "frozen-unfrozen"
                  ? setting.unfreezeAtFraction ?? 0.75
                  : undefined,
                channelsLast: setting.kind === "frozen" ? false : m.channelsLast,
              });
              fitSec = (performance.now() - tf0) / 1000;
              history = res.rows;
              bestEpoch = res.bestEpoch;
              pred = predictClasses(model, data.test, {
                batchSize: tr.evalBatchSize,
                channelsLast: setting.kind === "frozen" ? false : m.channelsLast,
              });
              model.dispose();
            }
            const tp = performance.now();
            const trainSubjects = [
              ...new Set(
                setting.kind === "rf"
                  ? [...fold.trainSubjects, ...fold.valSubjects]
                  : fold.trainSubjects,
              ),
            ].sort();
            const scored = scoreRun({
              experiment: args.experiment,
              benchmark: args.benchmark,
              setting: name,
              protocol: args.protocol,
              fold: foldName,
              seed,
              repeat: r,
              trainSubjects,
              valSubjects: setting.kind === "rf" ? [] : fold.valSubjects,
              testSubjects: fold.testSubjects,
              classes: w.classes,
              yTrue: Int32Array.from(test, (i) => w.y[i]),
              yPred: pred,
              subject: Array.from(test, (i) => w.subject[i]),
              history: history as unknown as Record<string, number>[],
              bestEpoch,
              nTrain,
              nVal: setting.kind === "rf" ? 0 : fold.val.length,
              timings: {
                fitSec,
                predictSec: (tp - t0) / 1000 - fitSec,
                totalSec: (performance.now() - t0) / 1000,
              },
            });
            return importances ? { ...scored, featureImportances: importances } : scored;
          }),
          key,
        );
        results.push(res);
        log(
          `${args.benchmark} ${name} ${foldName} (test ${res.testSubjects.join(",")}): F1 ${
            res.metrics.f1Macro.toFixed(3)
          } kappa ${res.metrics.kappa.toFixed(3)}`,
        );
      }
    }
  }
  return results;
}

function rowsOf(X: Float32Array, d: number, idx: Int32Array): Float32Array {
  const out = new Float32Array(idx.length * d);
  idx.forEach((r, i) => out.set(X.subarray(r * d, (r + 1) * d), i * d));
  return out;
}
