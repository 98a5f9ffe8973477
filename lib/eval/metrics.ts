/**
 * Classification metrics with scikit-learn's semantics (`sklearn.metrics`):
 * confusion matrix, per-class precision/recall/F1, macro/micro/weighted
 * averages, accuracy, Cohen's kappa (unweighted, linear, quadratic) and
 * balanced accuracy.
 *
 * Labels are class indices (integers). As in scikit-learn, when `labels` is
 * not given the label set is the sorted union of the values in `yTrue` and
 * `yPred`; when it is given, samples whose true or predicted label is not in
 * it are ignored by the confusion matrix (and by everything built on it),
 * and labels absent from both vectors still get a row/column.
 *
 * @example
 * const yTrue = [0, 1, 2, 2], yPred = [0, 2, 2, 2];
 * f1Score(yTrue, yPred, { average: "macro" }); // 0.6
 * cohenKappa(yTrue, yPred);                   // 0.6
 * confusionMatrix(yTrue, yPred).matrix;       // [[1,0,0],[0,0,1],[0,0,2]]
 */
import { ConfigError } from "../errors.ts";

/** A vector of integer class labels. */
export type LabelVector = ArrayLike<number>;

/** Options shared by the label-set-aware metrics. */
export interface LabelOptions {
  /**
   * Label set and order (class indices). Default: sorted union of the labels
   * in `yTrue` and `yPred`.
   */
  labels?: ArrayLike<number>;
}

/**
 * What a ratio with a zero denominator becomes (scikit-learn's
 * `zero_division`): `0` (the default, like "warn"), `1`, or `NaN` (then the
 * class is left out of macro/weighted averages).
 */
export type ZeroDivision = 0 | 1 | number;

/** Options of {@link precisionRecallFscoreSupport} and the F1/precision/recall helpers. */
export interface PrfOptions extends LabelOptions {
  /** Value for 0/0 ratios; default 0. */
  zeroDivision?: ZeroDivision;
  /** β of the F-score (1 = F1). Default 1. */
  beta?: number;
}

/** Averaging mode of the scalar metrics: scikit-learn's `average` argument. */
export type Average = "macro" | "micro" | "weighted";

/** A confusion matrix with its label order. */
export interface ConfusionMatrix {
  /** Label (class index) of each row/column. */
  labels: number[];
  /** `matrix[i][j]`: number of samples with true label `labels[i]` predicted as `labels[j]`. */
  matrix: number[][];
}

/** Per-class precision, recall, F-score and support, in `labels` order. */
export interface PrfSupport {
  /** Label order of the arrays below. */
  labels: number[];
  /** Precision per class: tp / (tp + fp). */
  precision: number[];
  /** Recall per class: tp / (tp + fn). */
  recall: number[];
  /** F-score per class. */
  fscore: number[];
  /** Number of true samples per class. */
  support: number[];
}

function checkPair(yTrue: LabelVector, yPred: LabelVector): void {
  if (yTrue.length !== yPred.length) {
    throw new ConfigError(
      `metrics: yTrue has ${yTrue.length} samples but yPred has ${yPred.length}`,
    );
  }
}

/** The sorted union of the labels in the given vectors (scikit-learn's `unique_labels`). */
export function uniqueLabels(...ys: LabelVector[]): number[] {
  const s = new Set<number>();
  for (const y of ys) for (let i = 0; i < y.length; i++) s.add(y[i]);
  return [...s].sort((a, b) => a - b);
}

function resolveLabels(yTrue: LabelVector, yPred: LabelVector, labels?: ArrayLike<number>) {
  if (labels === undefined) return uniqueLabels(yTrue, yPred);
  const out = Array.from(labels);
  if (out.length === 0) {
    throw new ConfigError("metrics: 'labels' should contain at least one label");
  }
  return out;
}

/**
 * Confusion matrix `C[i][j]` = samples of true class `labels[i]` predicted as
 * `labels[j]` (scikit-learn `confusion_matrix`).
 *
 * @example
 * confusionMatrix([0, 1, 1], [0, 0, 1]).matrix; // [[1, 0], [1, 1]]
 */
export function confusionMatrix(
  yTrue: LabelVector,
  yPred: LabelVector,
  options: LabelOptions = {},
): ConfusionMatrix {
  checkPair(yTrue, yPred);
  const labels = resolveLabels(yTrue, yPred, options.labels);
  const index = new Map<number, number>();
  labels.forEach((l, i) => index.set(l, i));
  const k = labels.length;
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let s = 0; s < yTrue.length; s++) {
    const i = index.get(yTrue[s]);
    const j = index.get(yPred[s]);
    if (i === undefined || j === undefined) continue;
    matrix[i][j]++;
  }
  return { labels, matrix };
}

function ratio(num: number, den: number, zeroDivision: number): number {
  return den === 0 ? zeroDivision : num / den;
}

/**
 * Per-class precision, recall, F-beta and support (scikit-learn
 * `precision_recall_fscore_support(average=None)`), in `labels` order.
 * F-beta is computed as (1+β²)·tp / ((1+β²)·tp + β²·fn + fp), and is
 * `zeroDivision` only when tp = fp = fn = 0 (scikit-learn ≥ 1.3).
 */
export function precisionRecallFscoreSupport(
  yTrue: LabelVector,
  yPred: LabelVector,
  options: PrfOptions = {},
): PrfSupport {
  const zd = options.zeroDivision ?? 0;
  const beta2 = (options.beta ?? 1) ** 2;
  checkPair(yTrue, yPred);
  const labels = resolveLabels(yTrue, yPred, options.labels);
  // Counted per label like scikit-learn's multilabel_confusion_matrix: a sample whose
  // true label is outside `labels` still counts as a false positive of its prediction.
  const { tp, predSum, trueSum } = perClassCounts(yTrue, yPred, labels);
  const precision: number[] = [], recall: number[] = [], fscore: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const fp = predSum[i] - tp[i], fn = trueSum[i] - tp[i];
    precision.push(ratio(tp[i], predSum[i], zd));
    recall.push(ratio(tp[i], trueSum[i], zd));
    const den = (1 + beta2) * tp[i] + beta2 * fn + fp;
    fscore.push(ratio((1 + beta2) * tp[i], den, zd));
  }
  return { labels, precision, recall, fscore, support: trueSum };
}

function perClassCounts(yTrue: LabelVector, yPred: LabelVector, labels: number[]) {
  const index = new Map<number, number>();
  labels.forEach((l, i) => index.set(l, i));
  const k = labels.length;
  const tp = new Array<number>(k).fill(0);
  const predSum = new Array<number>(k).fill(0);
  const trueSum = new Array<number>(k).fill(0);
  for (let s = 0; s < yTrue.length; s++) {
    const i = index.get(yTrue[s]);
    const j = index.get(yPred[s]);
    if (i !== undefined) trueSum[i]++;
    if (j !== undefined) predSum[j]++;
    if (i !== undefined && yTrue[s] === yPred[s]) tp[i]++;
  }
  return { tp, predSum, trueSum };
}

type PrfKind = "precision" | "recall" | "fscore";

function averaged(
  yTrue: LabelVector,
  yPred: LabelVector,
  kind: PrfKind,
  average: Average,
  options: PrfOptions,
): number {
  checkPair(yTrue, yPred);
  const zd = options.zeroDivision ?? 0;
  const beta2 = (options.beta ?? 1) ** 2;
  if (average === "micro") {
    const labels = resolveLabels(yTrue, yPred, options.labels);
    const { tp, predSum, trueSum } = perClassCounts(yTrue, yPred, labels);
    const TP = sum(tp), P = sum(predSum), T = sum(trueSum);
    if (kind === "precision") return ratio(TP, P, zd);
    if (kind === "recall") return ratio(TP, T, zd);
    return ratio((1 + beta2) * TP, (1 + beta2) * TP + beta2 * (T - TP) + (P - TP), zd);
  }
  const prf = precisionRecallFscoreSupport(yTrue, yPred, options);
  const values = prf[kind];
  if (average === "macro") return nanMean(values);
  // weighted by support; NaN values are dropped with their weights.
  let num = 0, den = 0;
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) continue;
    num += values[i] * prf.support[i];
    den += prf.support[i];
  }
  if (den === 0) return zd;
  return num / den;
}

function sum(a: number[]): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

function nanMean(a: number[]): number {
  let s = 0, n = 0;
  for (const v of a) {
    if (Number.isNaN(v)) continue;
    s += v;
    n++;
  }
  return n === 0 ? NaN : s / n;
}

/** Options of the averaged metrics. */
export interface AveragedOptions extends PrfOptions {
  /** "macro" (unweighted mean over labels, the default), "micro" (global counts) or "weighted" (by support). */
  average?: Average;
}

/**
 * F1 score (scikit-learn `f1_score`), macro-averaged by default.
 *
 * @example
 * f1Score([0, 1, 2, 2], [0, 2, 2, 2]);                      // 0.6 (macro)
 * f1Score([0, 1, 2, 2], [0, 2, 2, 2], { average: "micro" }); // 0.75
 */
export function f1Score(
  yTrue: LabelVector,
  yPred: LabelVector,
  options: AveragedOptions = {},
): number {
  return averaged(yTrue, yPred, "fscore", options.average ?? "macro", options);
}

/** Precision (scikit-learn `precision_score`), macro-averaged by default. */
export function precisionScore(
  yTrue: LabelVector,
  yPred: LabelVector,
  options: AveragedOptions = {},
): number {
  return averaged(yTrue, yPred, "precision", options.average ?? "macro", options);
}

/** Recall (scikit-learn `recall_score`), macro-averaged by default. */
export function recallScore(
  yTrue: LabelVector,
  yPred: LabelVector,
  options: AveragedOptions = {},
): number {
  return averaged(yTrue, yPred, "recall", options.average ?? "macro", options);
}

/** Per-class F1 in `labels` order (scikit-learn `f1_score(average=None)`). */
export function f1PerClass(
  yTrue: LabelVector,
  yPred: LabelVector,
  options: PrfOptions = {},
): number[] {
  return precisionRecallFscoreSupport(yTrue, yPred, options).fscore;
}

/** Fraction of exact matches (scikit-learn `accuracy_score`); NaN for empty input. */
export function accuracy(yTrue: LabelVector, yPred: LabelVector): number {
  checkPair(yTrue, yPred);
  let ok = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) ok++;
  return yTrue.length ? ok / yTrue.length : NaN;
}

/** Options of {@link cohenKappa}. */
export interface KappaOptions extends LabelOptions {
  /** Disagreement weights: none (unweighted, default), "linear" |i-j| or "quadratic" (i-j)². */
  weights?: "linear" | "quadratic" | null;
}

/**
 * Cohen's kappa (scikit-learn `cohen_kappa_score`): agreement corrected for
 * chance; NaN when undefined (expected disagreement 0, e.g. one class only).
 * Weighted variants use label positions in `labels` as ordinal values.
 */
export function cohenKappa(
  yTrue: LabelVector,
  yPred: LabelVector,
  options: KappaOptions = {},
): number {
  const { matrix } = confusionMatrix(yTrue, yPred, options);
  const k = matrix.length;
  const rowSum = new Array<number>(k).fill(0), colSum = new Array<number>(k).fill(0);
  let total = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      rowSum[i] += matrix[i][j];
      colSum[j] += matrix[i][j];
      total += matrix[i][j];
    }
  }
  let observed = 0, expected = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const w = options.weights === "linear"
        ? Math.abs(i - j)
        : options.weights === "quadratic"
        ? (i - j) ** 2
        : (i === j ? 0 : 1);
      observed += w * matrix[i][j];
      expected += w * rowSum[i] * colSum[j] / total;
    }
  }
  if (!(expected !== 0) || total === 0) return NaN;
  return 1 - observed / expected;
}

/** Options of {@link balancedAccuracy}. */
export interface BalancedAccuracyOptions {
  /** Rescale so chance is 0 and perfect is 1 (scikit-learn `adjusted=True`). Default false. */
  adjusted?: boolean;
}

/**
 * Balanced accuracy (scikit-learn `balanced_accuracy_score`): mean recall
 * over the classes present in `yTrue` (classes only predicted are ignored).
 */
export function balancedAccuracy(
  yTrue: LabelVector,
  yPred: LabelVector,
  options: BalancedAccuracyOptions = {},
): number {
  const { matrix } = confusionMatrix(yTrue, yPred);
  const recalls: number[] = [];
  for (let i = 0; i < matrix.length; i++) {
    const row = sum(matrix[i]);
    if (row > 0) recalls.push(matrix[i][i] / row);
  }
  let score = nanMean(recalls);
  if (options.adjusted) {
    const chance = 1 / recalls.length;
    score = (score - chance) / (1 - chance);
  }
  return score;
}

/** The summary every experiment reports for one set of predictions. */
export interface ClassificationScores {
  /** Number of samples scored. */
  n: number;
  /** Accuracy in [0, 1]. */
  accuracy: number;
  /** Macro F1 (zero_division 0). */
  f1Macro: number;
  /** Micro F1. */
  f1Micro: number;
  /** Support-weighted F1. */
  f1Weighted: number;
  /** Macro precision. */
  precisionMacro: number;
  /** Macro recall. */
  recallMacro: number;
  /** Unweighted Cohen's kappa (NaN when undefined). */
  kappa: number;
  /** Balanced accuracy. */
  balancedAccuracy: number;
  /** Per-class F1 in `labels` order. */
  f1PerClass: number[];
  /** Label order of `f1PerClass` and `confusion`. */
  labels: number[];
  /** Confusion matrix (rows true, columns predicted). */
  confusion: number[][];
}

/**
 * Every headline metric at once (what ssl-wearables' `classification_scores`
 * reports, plus extras).
 *
 * @example
 * const s = classificationScores(yTrue, yPred, { labels: [0, 1, 2, 3, 4] });
 * console.log(s.f1Macro, s.kappa);
 */
export function classificationScores(
  yTrue: LabelVector,
  yPred: LabelVector,
  options: PrfOptions = {},
): ClassificationScores {
  const prf = precisionRecallFscoreSupport(yTrue, yPred, options);
  const cm = confusionMatrix(yTrue, yPred, options);
  return {
    n: yTrue.length,
    accuracy: accuracy(yTrue, yPred),
    f1Macro: f1Score(yTrue, yPred, { ...options, average: "macro" }),
    f1Micro: f1Score(yTrue, yPred, { ...options, average: "micro" }),
    f1Weighted: f1Score(yTrue, yPred, { ...options, average: "weighted" }),
    precisionMacro: precisionScore(yTrue, yPred, { ...options, average: "macro" }),
    recallMacro: recallScore(yTrue, yPred, { ...options, average: "macro" }),
    kappa: cohenKappa(yTrue, yPred, { labels: options.labels }),
    balancedAccuracy: balancedAccuracy(yTrue, yPred),
    f1PerClass: prf.fscore,
    labels: cm.labels,
    confusion: cm.matrix,
  };
}
