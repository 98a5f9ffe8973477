/**
 * Per-subject scores: the unit ssl-wearables averages over (mean ± sd of the
 * test subjects' macro F1 and kappa), and SelfPAB's reported metric
 * ({@link subjectMacroF1Sem}: per-subject confusion-matrix F1 with absent
 * classes skipped, optional class merges, mean ± SEM over subjects).
 *
 * @example
 * scoreBySubject([0, 1, 1, 0], [0, 1, 0, 0], ["a", "a", "b", "b"]);
 * // [{ subject: "a", n: 2, f1Macro: 1, kappa: 1 }, { subject: "b", n: 2, … }]
 */
import { ConfigError } from "../errors.ts";
import { cohenKappa, f1Score } from "./metrics.ts";

/** Scores of one test subject. */
export interface SubjectScore {
  /** Subject id. */
  subject: string;
  /** Test windows of the subject. */
  n: number;
  /** Macro F1 over the labels in the subject's truth ∪ predictions (zero_division 0). */
  f1Macro: number;
  /** Cohen's kappa (NaN when undefined). */
  kappa: number;
}

/** Macro F1 and kappa per subject (subjects sorted), from parallel label and subject arrays. */
export function scoreBySubject(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  subjects: readonly string[],
): SubjectScore[] {
  if (yTrue.length !== yPred.length || yTrue.length !== subjects.length) {
    throw new RangeError(
      `scoreBySubject: ${yTrue.length} true, ${yPred.length} predicted, ${subjects.length} subjects`,
    );
  }
  const bySubject = new Map<string, number[]>();
  subjects.forEach((s, i) => {
    const idx = bySubject.get(s);
    if (idx) idx.push(i);
    else bySubject.set(s, [i]);
  });
  return [...bySubject.keys()].sort().map((subject) => {
    const idx = bySubject.get(subject)!;
    const t = Int32Array.from(idx, (i) => yTrue[i]), p = Int32Array.from(idx, (i) => yPred[i]);
    return { subject, n: idx.length, f1Macro: f1Score(t, p), kappa: cohenKappa(t, p) };
  });
}

// ------------------------------------------------------- SelfPAB's per-subject F1

/**
 * One class merge applied to a confusion matrix before scoring (SelfPAB's
 * `loso_viz.ipynb` `combined_classes`): the rows and the columns of
 * `classes` are summed into one class labelled `into` (which may be one of
 * `classes`, and then keeps its place; otherwise it is appended).
 */
export interface ConfusionMerge {
  /** Label of the merged class. */
  into: number;
  /** Labels whose rows and columns are summed (at least one). */
  classes: readonly number[];
}

/**
 * HARTH's evaluation-time merge (spec §3.2) in SelfPAB's 12-class index
 * space: cycling (sit) 8 + cycling (sit, inactive) 10 → 8, cycling (stand)
 * 9 + cycling (stand, inactive) 11 → 9, giving the paper's 10 classes.
 */
export const HARTH_CYCLING_MERGES: readonly ConfusionMerge[] = [
  { into: 8, classes: [8, 10] },
  { into: 9, classes: [9, 11] },
];

/** A square confusion matrix with its labels (rows: truth, columns: prediction). */
export interface LabelledConfusion {
  /** Label of each row / column. */
  labels: number[];
  /** `matrix[i][j]`: samples of true `labels[i]` predicted as `labels[j]`. */
  matrix: number[][];
}

/**
 * Apply {@link ConfusionMerge}s in order, as pandas does in the reference:
 * the merged row is the sum of the rows, the merged column the sum of the
 * columns, the other merged labels are dropped.
 *
 * @example
 * mergeConfusion({ labels: [0, 1, 2], matrix: [[1, 0, 2], [0, 3, 0], [1, 0, 4]] },
 *   [{ into: 0, classes: [0, 2] }]);
 * // { labels: [0, 1], matrix: [[8, 0], [0, 3]] }
 * @throws ConfigError for a merge naming a label the matrix lacks
 */
export function mergeConfusion(
  cm: LabelledConfusion,
  merges: readonly ConfusionMerge[],
): LabelledConfusion {
  let labels = cm.labels.slice();
  let m = cm.matrix.map((r) => r.slice());
  for (const [k, g] of merges.entries()) {
    if (!g || !Array.isArray(g.classes) || g.classes.length === 0 || !Number.isInteger(g.into)) {
      throw new ConfigError(
        `mergeConfusion merges[${k}]: expected { into: label, classes: [labels…] }, got ${
          JSON.stringify(g)
        }`,
      );
    }
    const idx = g.classes.map((c) => {
      const i = labels.indexOf(c);
      if (i < 0) {
        throw new ConfigError(
          `mergeConfusion merges[${k}]: label ${c} is not in the confusion matrix (labels ${labels})`,
        );
      }
      return i;
    });
    const inGroup = new Set(idx);
    let target = labels.indexOf(g.into);
    if (target >= 0 && !inGroup.has(target)) {
      throw new ConfigError(
        `mergeConfusion merges[${k}]: into ${g.into} is an existing label outside classes [${g.classes}]`,
      );
    }
    if (target < 0) {
      labels.push(g.into);
      m.forEach((r) => r.push(0));
      m.push(new Array(labels.length).fill(0));
      target = labels.length - 1;
    }
    const n = labels.length;
    const row = new Array(n).fill(0);
    for (const i of idx) for (let j = 0; j < n; j++) row[j] += m[i][j];
    m[target] = row;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (const j of idx) s += m[i][j];
      m[i][target] = s;
    }
    const keep = labels.map((_, i) => i === target || !inGroup.has(i));
    labels = labels.filter((_, i) => keep[i]);
    m = m.filter((_, i) => keep[i]).map((r) => r.filter((_, j) => keep[j]));
  }
  return { labels, matrix: m };
}

/**
 * Per-class F1 of a confusion matrix as SelfPAB's `cmat` package computes it:
 * `2·TP / (2·TP + FP + FN)` = `2·C[k][k] / (row sum + column sum)`; NaN for a
 * class with neither true nor predicted samples (0/0), 0 for a class
 * predicted but absent from the truth (or present but never predicted).
 *
 * @example
 * confusionF1PerClass([[2, 1, 0], [0, 0, 0], [0, 0, 0]]); // [0.8, 0, NaN]
 */
export function confusionF1PerClass(matrix: readonly (readonly number[])[]): number[] {
  const k = matrix.length;
  for (const [i, r] of matrix.entries()) {
    if (r.length !== k) {
      throw new ConfigError(`confusionF1PerClass: row ${i} has ${r.length} entries, not ${k}`);
    }
  }
  return matrix.map((r, c) => {
    let rowSum = 0, colSum = 0;
    for (let j = 0; j < k; j++) {
      rowSum += r[j];
      colSum += matrix[j][c];
    }
    const den = rowSum + colSum;
    return den === 0 ? NaN : (2 * r[c]) / den;
  });
}

/** Mean of the non-NaN values (pandas `Series.mean()`); NaN when there is none. */
export function nanMean(values: ArrayLike<number>): number {
  let s = 0, n = 0;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isNaN(values[i])) {
      s += values[i];
      n++;
    }
  }
  return n === 0 ? NaN : s / n;
}

/**
 * Standard error of the mean with ddof 1, `sd / √n` (`scipy.stats.sem`);
 * NaN for fewer than 2 values.
 *
 * @example
 * standardErrorOfMean([1, 2, 3, 4]); // 0.6455 (sd 1.2910 / 2)
 */
export function standardErrorOfMean(values: ArrayLike<number>): number {
  const n = values.length;
  if (n < 2) return NaN;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  return Math.sqrt(ss / (n - 1)) / Math.sqrt(n);
}

/** One test subject's SelfPAB F1. */
export interface SubjectConfusionF1 {
  /** Subject id. */
  subject: string;
  /** Labelled samples counted (truth in 0…K−1). */
  n: number;
  /** Confusion matrix after the merges, with its labels. */
  confusion: LabelledConfusion;
  /** Per-class F1 in `confusion.labels` order (NaN: class absent from truth and predictions). */
  f1PerClass: number[];
  /** Mean of the non-NaN per-class F1s (the cmat package's `average_f1score`). */
  f1: number;
}

/** The reported number: mean ± SEM over subjects, and each subject's scores. */
export interface SubjectMacroF1Summary {
  /** Mean of the subjects' F1 (subjects with no labelled sample left out). */
  mean: number;
  /** Standard error of that mean, ddof 1 (`scipy.stats.sem`); NaN with one subject. */
  sem: number;
  /** Subjects averaged. */
  count: number;
  /** Per subject, sorted by id. */
  subjects: SubjectConfusionF1[];
}

/** Arguments of {@link subjectMacroF1Sem}. */
export interface SubjectMacroF1Args {
  /**
   * Classes K: every subject's confusion matrix covers labels 0…K−1
   * (`cmat.ConfusionMatrix.create(labels=all K)`), so a class a subject
   * never has nor gets predicted is NaN and skipped.
   */
  numClasses: number;
  /** Merges applied to each subject's confusion matrix before scoring (e.g. {@link HARTH_CYCLING_MERGES}). */
  merges?: readonly ConfusionMerge[];
}

/**
 * Score per-subject confusion matrices (over labels 0…K−1) the SelfPAB way:
 * merges, per-class F1 ({@link confusionF1PerClass}), NaN-skipping mean per
 * subject, then mean ± SEM over subjects. See {@link subjectMacroF1Sem}.
 *
 * @throws ConfigError for a matrix that is not K × K
 */
export function subjectMacroF1SemFromConfusions(
  confusions: readonly { subject: string; matrix: readonly (readonly number[])[] }[],
  args: SubjectMacroF1Args,
): SubjectMacroF1Summary {
  const k = args.numClasses;
  if (!Number.isInteger(k) || k < 1) {
    throw new ConfigError(`subjectMacroF1Sem numClasses: must be a positive integer, got ${k}`);
  }
  const labels = Array.from({ length: k }, (_, i) => i);
  const subjects = confusions.map(({ subject, matrix }) => {
    if (matrix.length !== k || matrix.some((r) => r.length !== k)) {
      throw new ConfigError(
        `subjectMacroF1Sem: subject ${subject}'s confusion matrix is not ${k} × ${k}`,
      );
    }
    let n = 0;
    for (const r of matrix) for (const v of r) n += v;
    const confusion = mergeConfusion(
      { labels: labels.slice(), matrix: matrix.map((r) => Array.from(r)) },
      args.merges ?? [],
    );
    const f1PerClass = confusionF1PerClass(confusion.matrix);
    return { subject, n, confusion, f1PerClass, f1: nanMean(f1PerClass) };
  }).sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
  const scored = subjects.filter((s) => s.n > 0).map((s) => s.f1);
  return {
    mean: scored.length ? scored.reduce((a, b) => a + b, 0) / scored.length : NaN,
    sem: standardErrorOfMean(scored),
    count: scored.length,
    subjects,
  };
}

/**
 * SelfPAB's reported metric (spec §3.4, §6.15): one confusion matrix per
 * test subject over all K labels, optional class merges on it, per-class
 * F1 = 2TP/(2TP+FP+FN) with classes absent from both truth and predictions
 * skipped, the subject's value = mean over the remaining classes; reported
 * = mean over subjects ± SEM (ddof 1). Not a pooled F1. Give per-sample
 * (50 Hz, after overlap-averaging) or per-frame labels.
 *
 * Samples whose truth is `< 0` (unlabelled) are left out.
 *
 * @example
 * const r = subjectMacroF1Sem(yTrue, yPred, subjectOfSample,
 *   { numClasses: 12, merges: HARTH_CYCLING_MERGES });
 * console.log(`${(100 * r.mean).toFixed(1)} ± ${(100 * r.sem).toFixed(1)}`);
 * @throws ConfigError when the lengths differ, or a label is not an integer in 0…K−1
 */
export function subjectMacroF1Sem(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  subjects: readonly string[],
  args: SubjectMacroF1Args,
): SubjectMacroF1Summary {
  if (yTrue.length !== yPred.length || yTrue.length !== subjects.length) {
    throw new ConfigError(
      `subjectMacroF1Sem: ${yTrue.length} true labels, ${yPred.length} predictions, ${subjects.length} subjects`,
    );
  }
  const k = args.numClasses;
  if (!Number.isInteger(k) || k < 1) {
    throw new ConfigError(`subjectMacroF1Sem numClasses: must be a positive integer, got ${k}`);
  }
  const mats = new Map<string, number[][]>();
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i], p = yPred[i];
    if (!Number.isInteger(t) || t >= k) {
      throw new ConfigError(
        `subjectMacroF1Sem yTrue[${i}]: ${t} is not a class in 0…${k - 1} (or < 0 for unlabelled)`,
      );
    }
    if (!Number.isInteger(p) || p < 0 || p >= k) {
      throw new ConfigError(`subjectMacroF1Sem yPred[${i}]: ${p} is not a class in 0…${k - 1}`);
    }
    let m = mats.get(subjects[i]);
    if (!m) {
      m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
      mats.set(subjects[i], m);
    }
    if (t >= 0) m[t][p]++;
  }
  return subjectMacroF1SemFromConfusions(
    [...mats].map(([subject, matrix]) => ({ subject, matrix })),
    args,
  );
}
