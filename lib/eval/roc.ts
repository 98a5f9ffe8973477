/**
 * Binary ROC analysis: AUROC (Mann–Whitney U with tied scores given the
 * average rank, the same number as scikit-learn's `roc_auc_score`), the ROC
 * curve (scikit-learn's `roc_curve`, including `drop_intermediate`), pooled
 * AUROC over folds, and the positive-class F1 at a threshold chosen on
 * training data.
 *
 * Labels: `positiveLabel` (default 1) is the positive class, any other
 * label ≥ 0 is negative, and labels < 0 (-1 = masked / unlabelled) are
 * ignored. Scores must be finite; higher means "more positive".
 *
 * @example
 * rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);           // 0.75
 * pooledRocAuc([{ yTrue: y1, scores: s1 }, { yTrue: y2, scores: s2 }]);
 * const t = bestF1Threshold(yTrain, sTrain).threshold;   // chosen on training data
 * f1AtThreshold(yTest, sTest, t);                        // freeze-class F1 on the test fold
 */
import { ConfigError } from "../errors.ts";

/** Which label is positive; negatives are the other labels ≥ 0. */
export interface BinaryLabelOptions {
  /** The positive class label. Default 1. */
  positiveLabel?: number;
}

/** Positive flags and scores of the samples that count (label ≥ 0). */
function collect(
  yTrue: ArrayLike<number>,
  scores: ArrayLike<number>,
  opts: BinaryLabelOptions,
  what: string,
): { pos: Uint8Array; s: Float64Array; nPos: number; nNeg: number } {
  if (yTrue.length !== scores.length) {
    throw new ConfigError(`${what}: ${yTrue.length} labels but ${scores.length} scores`);
  }
  const p = opts.positiveLabel ?? 1;
  let m = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] >= 0) m++;
  const pos = new Uint8Array(m), s = new Float64Array(m);
  let k = 0, nPos = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const y = yTrue[i];
    if (!(y >= 0)) continue;
    const v = scores[i];
    if (!Number.isFinite(v)) throw new ConfigError(`${what}: score ${i} is ${v}, not finite`);
    pos[k] = y === p ? 1 : 0;
    nPos += pos[k];
    s[k++] = v;
  }
  return { pos, s, nPos, nNeg: m - nPos };
}

function requireBoth(nPos: number, nNeg: number, what: string): void {
  if (nPos === 0 || nNeg === 0) {
    throw new ConfigError(
      `${what}: needs both classes (${nPos} positive, ${nNeg} negative samples): AUROC is undefined`,
    );
  }
}

/** Indices 0..n-1 sorted by `s` ascending. */
function argsortAsc(s: Float64Array): Uint32Array {
  const idx = new Uint32Array(s.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return idx.sort((a, b) => s[a] - s[b]);
}

/**
 * Area under the ROC curve = P(score of a random positive > a random
 * negative) + ½ P(tie): the Mann–Whitney U of the positives over
 * `nPos · nNeg`, with tied scores sharing their average rank.
 *
 * @throws ConfigError when lengths differ, a score is not finite, or only one class is present
 */
export function rocAuc(
  yTrue: ArrayLike<number>,
  scores: ArrayLike<number>,
  opts: BinaryLabelOptions = {},
): number {
  const { pos, s, nPos, nNeg } = collect(yTrue, scores, opts, "rocAuc");
  requireBoth(nPos, nNeg, "rocAuc");
  const idx = argsortAsc(s);
  let rankSumPos = 0;
  for (let a = 0; a < idx.length;) {
    let b = a + 1;
    while (b < idx.length && s[idx[b]] === s[idx[a]]) b++;
    const avgRank = (a + 1 + b) / 2; // ranks a+1..b
    for (let i = a; i < b; i++) if (pos[idx[i]]) rankSumPos += avgRank;
    a = b;
  }
  const u = rankSumPos - (nPos * (nPos + 1)) / 2;
  return u / (nPos * nNeg);
}

/** One labelled score vector (a fold, a run). */
export interface ScoredPart {
  /** Labels (positive / negative / < 0 ignored). */
  yTrue: ArrayLike<number>;
  /** Scores, same length. */
  scores: ArrayLike<number>;
}

/** AUROC of all parts concatenated (pooled across folds, the spec's §7.1 metric). */
export function pooledRocAuc(parts: ScoredPart[], opts: BinaryLabelOptions = {}): number {
  const { yTrue, scores } = concatParts(parts);
  return rocAuc(yTrue, scores, opts);
}

/** Concatenate parts into one label and one score vector. */
export function concatParts(parts: ScoredPart[]): { yTrue: Float64Array; scores: Float64Array } {
  let n = 0;
  for (const p of parts) {
    if (p.yTrue.length !== p.scores.length) {
      throw new ConfigError(
        `concatParts: a part has ${p.yTrue.length} labels but ${p.scores.length} scores`,
      );
    }
    n += p.yTrue.length;
  }
  const yTrue = new Float64Array(n), scores = new Float64Array(n);
  let k = 0;
  for (const p of parts) {
    for (let i = 0; i < p.yTrue.length; i++, k++) {
      yTrue[k] = p.yTrue[i];
      scores[k] = p.scores[i];
    }
  }
  return { yTrue, scores };
}

/** A ROC curve: predicting positive when score ≥ `thresholds[i]` gives `fpr[i]`, `tpr[i]`. */
export interface RocCurve {
  /** False positive rates, non-decreasing, from 0 to 1. */
  fpr: Float64Array;
  /** True positive rates, non-decreasing, from 0 to 1. */
  tpr: Float64Array;
  /** Thresholds, decreasing; `thresholds[0]` = +Infinity (nothing predicted positive). */
  thresholds: Float64Array;
}

/**
 * The ROC curve as scikit-learn's `roc_curve` (≥ 1.3): one point per
 * distinct score (descending), a first point (0, 0) at +Infinity, and with
 * `dropIntermediate` (default true) the collinear points removed.
 *
 * @example
 * rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
 * // fpr [0, 0, 0.5, 0.5, 1], tpr [0, 0.5, 0.5, 1, 1], thresholds [Inf, 0.8, 0.4, 0.35, 0.1]
 */
export function rocCurve(
  yTrue: ArrayLike<number>,
  scores: ArrayLike<number>,
  opts: BinaryLabelOptions & { dropIntermediate?: boolean } = {},
): RocCurve {
  const { pos, s, nPos, nNeg } = collect(yTrue, scores, opts, "rocCurve");
  requireBoth(nPos, nNeg, "rocCurve");
  const idx = argsortAsc(s).reverse();
  // cumulative counts at each distinct score, highest first (scikit-learn's _binary_clf_curve)
  const tps: number[] = [], fps: number[] = [], thr: number[] = [];
  let tp = 0, fp = 0;
  for (let a = 0; a < idx.length;) {
    let b = a;
    while (b < idx.length && s[idx[b]] === s[idx[a]]) {
      if (pos[idx[b]]) tp++;
      else fp++;
      b++;
    }
    tps.push(tp);
    fps.push(fp);
    thr.push(s[idx[a]]);
    a = b;
  }
  let keep = tps.map((_, i) => i);
  if ((opts.dropIntermediate ?? true) && tps.length > 2) {
    // drop points collinear with their neighbours (before the origin is added, as scikit-learn)
    keep = [0];
    for (let i = 1; i < tps.length - 1; i++) {
      const d2f = fps[i + 1] - 2 * fps[i] + fps[i - 1];
      const d2t = tps[i + 1] - 2 * tps[i] + tps[i - 1];
      if (d2f !== 0 || d2t !== 0) keep.push(i);
    }
    keep.push(tps.length - 1);
  }
  const m = keep.length + 1;
  const fpr = new Float64Array(m), tpr = new Float64Array(m), thresholds = new Float64Array(m);
  thresholds[0] = Infinity;
  keep.forEach((i, j) => {
    fpr[j + 1] = fps[i] / nNeg;
    tpr[j + 1] = tps[i] / nPos;
    thresholds[j + 1] = thr[i];
  });
  return { fpr, tpr, thresholds };
}

/**
 * F1 of the positive class when predicting positive for score ≥ `threshold`
 * (scikit-learn `f1_score(..., zero_division=0)`: 0 when there is no true positive).
 */
export function f1AtThreshold(
  yTrue: ArrayLike<number>,
  scores: ArrayLike<number>,
  threshold: number,
  opts: BinaryLabelOptions = {},
): number {
  const { pos, s } = collect(yTrue, scores, opts, "f1AtThreshold");
  let tp = 0, fp = 0, fn = 0;
  for (let i = 0; i < s.length; i++) {
    const pred = s[i] >= threshold;
    if (pred && pos[i]) tp++;
    else if (pred) fp++;
    else if (pos[i]) fn++;
  }
  // scikit-learn's f1_score with zero_division=0: 0 when tp = fp = fn = 0
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/** The threshold maximising positive-class F1 and that F1. */
export interface ThresholdChoice {
  /** Predict positive when score ≥ threshold. */
  threshold: number;
  /** F1 of the positive class at it (on the data it was chosen on). */
  f1: number;
}

/**
 * Choose the threshold that maximises the positive-class F1 on (training)
 * data: every distinct score is a candidate; on ties the highest threshold
 * (fewest predicted positives) wins.
 *
 * @throws ConfigError when the data hold no positive sample
 */
export function bestF1Threshold(
  yTrue: ArrayLike<number>,
  scores: ArrayLike<number>,
  opts: BinaryLabelOptions = {},
): ThresholdChoice {
  const { pos, s, nPos } = collect(yTrue, scores, opts, "bestF1Threshold");
  if (nPos === 0) {
    throw new ConfigError("bestF1Threshold: no positive sample to choose a threshold on");
  }
  const idx = argsortAsc(s).reverse();
  let tp = 0, fp = 0, best = -1, bestT = Infinity;
  for (let a = 0; a < idx.length;) {
    let b = a;
    while (b < idx.length && s[idx[b]] === s[idx[a]]) {
      if (pos[idx[b]]) tp++;
      else fp++;
      b++;
    }
    const f1 = (2 * tp) / (2 * tp + fp + (nPos - tp));
    if (f1 > best) {
      best = f1;
      bestT = s[idx[a]];
    }
    a = b;
  }
  return { threshold: bestT, f1: best };
}

/**
 * Threshold chosen on `train` ({@link bestF1Threshold}), F1 measured on
 * `test` ({@link f1AtThreshold}): the freeze-class F1 of a score without
 * training of its own (the freeze index) in one LOSO fold.
 */
export function thresholdedF1(
  train: ScoredPart,
  test: ScoredPart,
  opts: BinaryLabelOptions = {},
): { threshold: number; trainF1: number; testF1: number } {
  const c = bestF1Threshold(train.yTrue, train.scores, opts);
  return {
    threshold: c.threshold,
    trainF1: c.f1,
    testF1: f1AtThreshold(test.yTrue, test.scores, c.threshold, opts),
  };
}
