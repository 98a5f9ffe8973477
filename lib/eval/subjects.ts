/**
 * Per-subject scores: the unit ssl-wearables averages over (mean ± sd of the
 * test subjects' macro F1 and kappa).
 *
 * @example
 * scoreBySubject([0, 1, 1, 0], [0, 1, 0, 0], ["a", "a", "b", "b"]);
 * // [{ subject: "a", n: 2, f1Macro: 1, kappa: 1 }, { subject: "b", n: 2, … }]
 */
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
