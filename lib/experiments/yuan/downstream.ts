/**
 * The four downstream settings of Yuan et al. (2024) on the same splits:
 *
 * - `rf`: random forest on hand-crafted features (`runRfBaseline`);
 * - `scratch`: the harnet + classifier trained from random initialisation;
 * - `frozen`: the pre-trained encoder frozen, a classifier (features →
 *   hidden → classes) trained on its features (computed once per dataset,
 *   encoder in inference mode);
 * - `finetune`: the pre-trained encoder + a fresh classifier, all trained.
 *
 * Protocols as the paper: ADL (HMP, 7 subjects, 5 classes) leave one
 * subject out, validation = the first remaining subject (ssl-wearables);
 * WISDM watch (subjects 1616, 1618, 1637, 1639, 1642 removed) subject-wise
 * 5-fold with 7:1:2 train/val/test subjects. Deep settings: Adam,
 * class-weighted cross-entropy (sklearn "balanced"), early stopping on the
 * validation loss with patience 5, best weights restored.
 *
 * Scores follow ssl-wearables: macro F1 (zero_division 0, over the labels in
 * the subject's truth ∪ predictions) and Cohen's kappa per *test subject*,
 * reported as mean ± sd over subjects; the pooled per-fold scores are kept
 * too.
 *
 * @example
 * const w = await downstreamWindows(spec, "adl");
 * const folds = downstreamFolds(spec, "adl", w);
 * const out = await runDeepFold({ spec, dataset: "adl", windows: w, fold: folds[0], foldIndex: 0, setting: "scratch" });
 */
import * as tf from "@tensorflow/tfjs";
import type { Windows } from "../../data/types.ts";
import { type Fold, leaveOneSubjectOut, subjectKFold } from "../../data/splits.ts";
import { dataDir } from "../../data/paths.ts";
import { ConfigError } from "../../errors.ts";
import { rng } from "../../random.ts";
import { selectWindows } from "../../signal/quality.ts";
import { ADL_CLASSES, ADL_SUBJECTS } from "../../signal/adl.ts";
import { harnetEncoder, predictArrays } from "../../models/harnet.ts";
import { harnetDense } from "../../models/heads.ts";
import { fit, type FitData } from "../../train/loop.ts";
import type { EpochRecord } from "../../train/history.ts";
import { cohenKappa, confusionMatrix, f1Score } from "../../eval/metrics.ts";
import { scoreBySubject, type SubjectScore } from "../../eval/subjects.ts";
import {
  ADL_RF_SPEC,
  baselineWindows,
  PAPER_RF_ARGS,
  type RfBaselineResult,
  runRfBaseline,
  WISDM_RF_SPEC,
} from "../baseline.ts";
import { buildYuanModel, copyEncoderWeights } from "./pretrain.ts";
import type { DownstreamDataset, DownstreamSetting, YuanSpec } from "./spec.ts";

/**
 * The labelled windows of `dataset` as ssl-wearables prepares them (30 Hz,
 * 10-s windows, 5-s overlap, cut at the device rate then resized): ADL via
 * `prepareAdl`, WISDM watch via `baselineWindows` (the same windows as the
 * RF baseline). The smoke scale keeps a subject subset.
 */
export async function downstreamWindows(
  spec: YuanSpec,
  dataset: DownstreamDataset,
  dir = dataDir(),
): Promise<Windows> {
  const common = { rateHz: spec.rateHz, windowSec: spec.windowSec, overlapSec: spec.overlapSec };
  if (dataset === "adl") {
    return await baselineWindows({
      ...ADL_RF_SPEC,
      ...common,
      dataDir: dir,
      subjects: spec.downstream.adlSubjects ?? [...ADL_SUBJECTS],
      classes: [...ADL_CLASSES],
    });
  }
  if (dataset === "wisdm") {
    const w = await baselineWindows({ ...WISDM_RF_SPEC, ...common, dataDir: dir });
    const keep = spec.downstream.wisdmSubjects;
    if (keep === null) return w;
    const subs = [...new Set(w.subject)].sort();
    const chosen = new Set(rng(spec.seed).shuffle(subs).slice(0, keep));
    const idx: number[] = [];
    for (let i = 0; i < w.n; i++) if (chosen.has(w.subject[i])) idx.push(i);
    return selectWindows(w, idx);
  }
  throw new ConfigError(`downstream dataset: "adl" or "wisdm", got "${dataset}"`);
}

/**
 * The folds: ADL leave one subject out (validation: first remaining
 * subject); WISDM subject-wise k-fold with 12.5 % of the training subjects
 * as validation (7:1:2). Truncated to `maxFolds` at the smoke scale.
 */
export function downstreamFolds(spec: YuanSpec, dataset: DownstreamDataset, w: Windows): Fold[] {
  const folds = dataset === "adl"
    ? leaveOneSubjectOut(w.subject, { valSubjects: 1 })
    : subjectKFold(w.subject, {
      k: spec.downstream.wisdmFolds,
      seed: spec.seed,
      valFraction: 0.125,
    });
  return spec.downstream.maxFolds === null ? folds : folds.slice(0, spec.downstream.maxFolds);
}

/** Protocol label used in tables. */
export function protocolOf(spec: YuanSpec, dataset: DownstreamDataset): string {
  return dataset === "adl" ? "loso" : `kfold${spec.downstream.wisdmFolds}`;
}

/** A seeded subset of at most `max` of `idx` (ascending), or `idx` itself. */
export function capIndices(idx: Int32Array, max: number | null, seed: number): Int32Array {
  if (max === null || idx.length <= max) return idx;
  const order = rng(seed).shuffle(Array.from(idx));
  return Int32Array.from(order.slice(0, max)).sort();
}

/** One fold of one setting. */
export interface FoldOutcome {
  /** Dataset. */
  dataset: DownstreamDataset;
  /** Setting. */
  setting: DownstreamSetting | string;
  /** 0-based fold. */
  fold: number;
  /** Subjects in each part. */
  trainSubjects: string[];
  valSubjects: string[];
  testSubjects: string[];
  /** Windows in each part (train after capping). */
  nTrain: number;
  nVal: number;
  nTest: number;
  /** Pooled fold scores. */
  f1Macro: number;
  kappa: number;
  /** Per test subject. */
  perSubject: SubjectScore[];
  /** Confusion matrix over all classes (rows true). */
  confusion: number[][];
  /** Training curve (deep settings). */
  history: EpochRecord[];
  /** Epoch whose weights were kept (early stopping), or null. */
  bestEpoch: number | null;
  /** Seconds. */
  seconds: number;
}

/** Score predictions per test subject and pooled. */
export function scoreFold(
  yTrue: Int32Array,
  yPred: Int32Array,
  subjects: readonly string[],
  numClasses: number,
): { f1Macro: number; kappa: number; perSubject: SubjectScore[]; confusion: number[][] } {
  const perSubject = scoreBySubject(yTrue, yPred, subjects);
  const labels = Array.from({ length: numClasses }, (_, i) => i);
  return {
    f1Macro: f1Score(yTrue, yPred),
    kappa: cohenKappa(yTrue, yPred),
    perSubject,
    confusion: confusionMatrix(yTrue, yPred, { labels }).matrix,
  };
}

function argmaxRows(data: Float32Array, k: number): Int32Array {
  const n = data.length / k;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (data[i * k + j] > data[i * k + best]) best = j;
    out[i] = best;
  }
  return out;
}

/** Arguments of {@link runDeepFold}. */
export interface DeepFoldArgs {
  /** The experiment spec (model, downstream hyper-parameters). */
  spec: YuanSpec;
  /** Dataset name (for the record). */
  dataset: DownstreamDataset;
  /** All labelled windows of the dataset. */
  windows: Windows;
  /** The fold. */
  fold: Fold;
  /** 0-based fold index (seeds). */
  foldIndex: number;
  /** `"scratch"` or `"finetune"` (then `pretrained` is required). */
  setting: "scratch" | "finetune";
  /** The pre-trained model whose encoder initialises a fine-tuned model. */
  pretrained?: tf.LayersModel;
  /** Training indices to use instead of `fold.train` (ablations). */
  trainIndices?: Int32Array;
  /** Folder for the training checkpoint (resume mid-fold). */
  checkpointDir?: string;
  /** Setting name written in the outcome (default `setting`). */
  label?: string;
}

/**
 * Train and test one fold of the scratch or fine-tuned setting.
 *
 * @throws ConfigError when `finetune` has no `pretrained` model.
 */
export async function runDeepFold(args: DeepFoldArgs): Promise<FoldOutcome> {
  const { spec, windows: w, fold, foldIndex } = args;
  const d = spec.downstream;
  const t0 = performance.now();
  const k = w.classes.length;
  const seed = spec.seed * 1000 + foldIndex;
  const trainIdx = capIndices(args.trainIndices ?? fold.train, d.maxTrainWindows, seed);
  const train = selectWindows(w, trainIdx);
  const val = selectWindows(w, fold.val);
  const test = selectWindows(w, fold.test);
  const model = buildYuanModel(spec, "eva", { numClasses: k, seed });
  if (args.setting === "finetune") {
    if (!args.pretrained) throw new ConfigError("runDeepFold finetune: needs a pretrained model");
    copyEncoderWeights(args.pretrained, model);
  }
  const res = await fit(model, train, {
    epochs: d.epochs,
    batchSize: d.batchSize,
    optimizer: { name: "adam", lr: d.lr },
    classWeights: "balanced",
    numClasses: k,
    validation: val.n > 0 ? val : undefined,
    earlyStopping: val.n > 0 ? { monitor: "valLoss", patience: d.patience } : undefined,
    checkpointDir: args.checkpointDir,
    seed,
    progress: false,
  });
  const [out] = predictArrays(model, test.x, [test.n, test.channels, test.length], {
    batchSize: 128,
  });
  const pred = argmaxRows(out.data, k);
  model.dispose();
  const s = scoreFold(test.y, pred, test.subject, k);
  return {
    dataset: args.dataset,
    setting: args.label ?? args.setting,
    fold: foldIndex,
    trainSubjects: [...new Set(train.subject)].sort(),
    valSubjects: fold.valSubjects,
    testSubjects: fold.testSubjects,
    nTrain: train.n,
    nVal: val.n,
    nTest: test.n,
    ...s,
    history: res.rows,
    bestEpoch: res.bestEpoch,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * Encoder features `[n, F]` of all windows (inference mode, batch-norm
 * running statistics), for the frozen setting and the UMAP.
 */
export function encoderFeatures(
  model: tf.LayersModel,
  w: Windows,
): { x: Float32Array; dim: number } {
  const enc = harnetEncoder(model);
  const [out] = predictArrays(enc, w.x, [w.n, w.channels, w.length], { batchSize: 128 });
  return { x: out.data, dim: out.shape[out.shape.length - 1] };
}

/** Arguments of {@link runFrozenFold}. */
export interface FrozenFoldArgs {
  /** The spec (classifier width, epochs, lr, patience). */
  spec: YuanSpec;
  /** Dataset name. */
  dataset: DownstreamDataset;
  /** The labelled windows (labels, subjects). */
  windows: Windows;
  /** Frozen-encoder features of every window, `[n, dim]`. */
  features: { x: Float32Array; dim: number };
  /** The fold. */
  fold: Fold;
  /** 0-based fold index. */
  foldIndex: number;
  /** Setting name written in the outcome (default `"frozen"`). */
  label?: string;
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

function featureRows(
  f: { x: Float32Array; dim: number },
  w: Windows,
  idx: Int32Array,
  stats: { mean: Float64Array; sd: Float64Array },
): FitData {
  const { dim } = f;
  const x = new Float32Array(idx.length * dim);
  for (let i = 0; i < idx.length; i++) {
    for (let j = 0; j < dim; j++) {
      const s = stats.sd[j];
      x[i * dim + j] = s > 1e-8 ? (f.x[idx[i] * dim + j] - stats.mean[j]) / s : 0;
    }
  }
  return { x, shape: [idx.length, dim], y: Int32Array.from(idx, (i) => w.y[i]) };
}

/**
 * The frozen setting on one fold: a classifier `dim → hidden (ReLU) →
 * classes` (ssl-wearables' EvaClassifier) trained on the frozen encoder's
 * features, class-weighted, early stopping on the validation loss.
 *
 * The features are standardised with the training fold's per-feature mean
 * and sd (constant features → 0) — a linear-probe convention, not in
 * ssl-wearables: after a short CPU pre-training the encoder's outputs are
 * tiny (median sd ≈ 0.003, many dead ReLUs) and the classifier otherwise
 * collapses to one class. Test and validation use the training statistics.
 */
export async function runFrozenFold(args: FrozenFoldArgs): Promise<FoldOutcome> {
  const { spec, windows: w, fold, foldIndex, features } = args;
  const d = spec.downstream;
  const t0 = performance.now();
  const k = w.classes.length;
  const seed = spec.seed * 1000 + foldIndex;
  const trainIdx = capIndices(fold.train, d.maxTrainWindows, seed);
  const input = tf.input({ shape: [features.dim] });
  const h = harnetDense("classifier.linear1", spec.model.hiddenUnits, seed, true).apply(input);
  const out = harnetDense("classifier.linear2", k, seed).apply(h) as tf.SymbolicTensor;
  const head = tf.model({ inputs: input, outputs: out });
  const stats = featureStats(features, trainIdx);
  const train = featureRows(features, w, trainIdx, stats);
  const val = featureRows(features, w, fold.val, stats);
  const test = featureRows(features, w, fold.test, stats);
  const res = await fit(head, train, {
    epochs: d.frozenEpochs,
    batchSize: d.batchSize,
    optimizer: { name: "adam", lr: d.lr },
    classWeights: "balanced",
    numClasses: k,
    validation: val.y.length > 0 ? val : undefined,
    earlyStopping: val.y.length > 0 ? { monitor: "valLoss", patience: d.patience } : undefined,
    seed,
    progress: false,
  });
  const logits = tf.tidy(() =>
    (head.predict(tf.tensor2d(test.x, [test.y.length, features.dim])) as tf.Tensor)
      .dataSync() as Float32Array
  );
  head.dispose();
  const pred = argmaxRows(logits, k);
  const subjects = Array.from(fold.test, (i) => w.subject[i]);
  const s = scoreFold(test.y, pred, subjects, k);
  return {
    dataset: args.dataset,
    setting: args.label ?? "frozen",
    fold: foldIndex,
    trainSubjects: fold.trainSubjects,
    valSubjects: fold.valSubjects,
    testSubjects: fold.testSubjects,
    nTrain: trainIdx.length,
    nVal: fold.val.length,
    nTest: fold.test.length,
    ...s,
    history: res.rows,
    bestEpoch: res.bestEpoch,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * The RF setting on the same test subjects: `runRfBaseline` (hand-crafted
 * features, balanced random forest, trained on train + validation
 * subjects) with the protocol and seed that reproduce
 * {@link downstreamFolds}' test sets, converted to {@link FoldOutcome}s.
 *
 * @throws ConfigError when the forest's test subjects differ from `folds`.
 */
export async function runRfFolds(
  spec: YuanSpec,
  dataset: DownstreamDataset,
  w: Windows,
  folds: Fold[],
): Promise<FoldOutcome[]> {
  const base = dataset === "adl" ? ADL_RF_SPEC : WISDM_RF_SPEC;
  const t0 = performance.now();
  const res: RfBaselineResult = await runRfBaseline({
    ...base,
    protocol: dataset === "adl" ? "loso" : "kfold",
    k: spec.downstream.wisdmFolds,
    seed: spec.seed,
    rf: { ...PAPER_RF_ARGS, nEstimators: spec.downstream.rfTrees },
    nBoot: 0,
  }, { windows: w });
  const sec = (performance.now() - t0) / 1000;
  return folds.map((f, i) => {
    const rf = res.folds[i];
    if (!rf || rf.testSubjects.join() !== f.testSubjects.join()) {
      throw new ConfigError(
        `runRfFolds ${dataset} fold ${i}: forest tested ${rf?.testSubjects}, deep settings ${f.testSubjects}`,
      );
    }
    return {
      dataset,
      setting: "rf",
      fold: i,
      trainSubjects: [...f.trainSubjects, ...f.valSubjects].sort(),
      valSubjects: [],
      testSubjects: f.testSubjects,
      nTrain: rf.nTrain,
      nVal: 0,
      nTest: rf.nTest,
      f1Macro: rf.f1Macro,
      kappa: rf.kappa,
      perSubject: res.perSubject.filter((s) => s.fold === i).map((s) => ({
        subject: s.subject,
        n: s.n,
        f1Macro: s.f1Macro,
        kappa: s.kappa,
      })),
      confusion: rf.confusion,
      history: [],
      bestEpoch: null,
      seconds: sec / res.folds.length,
    };
  });
}
