import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  confusionF1PerClass,
  HARTH_CYCLING_MERGES,
  mergeConfusion,
  nanMean,
  scoreBySubject,
  standardErrorOfMean,
  subjectMacroF1Sem,
  subjectMacroF1SemFromConfusions,
} from "../../lib/eval/subjects.ts";
import { ConfigError } from "../../lib/errors.ts";
import { cohenKappa, f1Score } from "../../lib/eval/metrics.ts";

Deno.test("scoreBySubject: one row per subject, sorted, each scored on its own windows", () => {
  const yTrue = [0, 1, 1, 0, 2, 2, 1];
  const yPred = [0, 1, 0, 0, 2, 1, 1];
  const subj = ["b", "b", "a", "a", "b", "a", "c"];
  const rows = scoreBySubject(yTrue, yPred, subj);
  assertEquals(rows.map((r) => r.subject), ["a", "b", "c"]);
  assertEquals(rows.map((r) => r.n), [3, 3, 1]);
  const a = [2, 3, 5];
  assertAlmostEquals(
    rows[0].f1Macro,
    f1Score(a.map((i) => yTrue[i]), a.map((i) => yPred[i])),
    1e-12,
  );
  assertEquals(rows[1].f1Macro, 1);
  assertEquals(rows[1].kappa, 1);
  assertEquals(rows[2].f1Macro, 1);
  assertEquals(Number.isNaN(rows[2].kappa), Number.isNaN(cohenKappa([1], [1])));
  assertThrows(() => scoreBySubject([0], [0, 1], ["a"]), RangeError);
});

// ---------------------------------------------------------------- SelfPAB per-subject F1

Deno.test("confusionF1PerClass: 2TP/(2TP+FP+FN), NaN for absent classes, 0 when predicted but absent", () => {
  // truth 0 0 0, predicted 0 0 1: class 0 2·2/(3+2), class 1 0/(0+1), class 2 0/0
  const f = confusionF1PerClass([[2, 1, 0], [0, 0, 0], [0, 0, 0]]);
  assertAlmostEquals(f[0], 0.8, 1e-15);
  assertEquals(f[1], 0);
  assert(Number.isNaN(f[2]));
  assertAlmostEquals(nanMean(f), 0.4, 1e-15);
  assert(Number.isNaN(nanMean([NaN, NaN])));
  assertThrows(() => confusionF1PerClass([[1, 0], [0]]), ConfigError, "row 1");
});

Deno.test("standardErrorOfMean: ddof 1 (scipy.stats.sem), NaN for one value", () => {
  // sd of 1..4 with ddof 1 = √(5/3); / √4
  assertAlmostEquals(standardErrorOfMean([1, 2, 3, 4]), Math.sqrt(5 / 3) / 2, 1e-15);
  assertAlmostEquals(standardErrorOfMean([7 / 18, 1]), 11 / 36, 1e-15);
  assert(Number.isNaN(standardErrorOfMean([0.5])));
});

Deno.test("subjectMacroF1Sem: per-subject macro F1 over all K labels, absent classes skipped, mean ± SEM", () => {
  // subject a: truth 0 0 1 1, predicted 0 1 1 2 (K = 4)
  //   class 0: 2·1/(2+1) = 2/3; class 1: 2·1/(2+2) = 1/2; class 2 (predicted, absent): 0; class 3: NaN
  //   → (2/3 + 1/2 + 0)/3 = 7/18
  // subject b: truth 2 2, predicted 2 2 → only class 2 counts: 1
  // mean (7/18 + 1)/2 = 25/36; SEM of two values = |x1 − x2|/2 = 11/36
  const yTrue = [0, 2, 0, 1, 1, 2, -1];
  const yPred = [0, 2, 1, 1, 2, 2, 3];
  const subj = ["a", "b", "a", "a", "a", "b", "b"]; // the last sample is unlabelled: ignored
  const r = subjectMacroF1Sem(yTrue, yPred, subj, { numClasses: 4 });
  assertEquals(r.subjects.map((s) => s.subject), ["a", "b"]);
  assertEquals(r.subjects.map((s) => s.n), [4, 2]);
  assertAlmostEquals(r.subjects[0].f1, 7 / 18, 1e-15);
  assertEquals(r.subjects[1].f1, 1);
  assertEquals(r.subjects[1].f1PerClass.map((v) => Number.isNaN(v)), [true, true, false, true]);
  assertAlmostEquals(r.mean, 25 / 36, 1e-15);
  assertAlmostEquals(r.sem, 11 / 36, 1e-15);
  assertEquals(r.count, 2);
  // not the pooled F1: over both subjects class 2 has F1 2·2/(2+3) = 4/5
  const pooled = (2 / 3 + 1 / 2 + 4 / 5) / 3;
  assert(Math.abs(r.mean - pooled) > 0.03); // 0.694 vs 0.656
  // the same from confusion matrices
  const fromCm = subjectMacroF1SemFromConfusions(
    r.subjects.map((s) => ({ subject: s.subject, matrix: s.confusion.matrix })),
    { numClasses: 4 },
  );
  assertAlmostEquals(fromCm.mean, r.mean, 1e-15);
  assertThrows(() => subjectMacroF1Sem([0], [0, 1], ["a"], { numClasses: 2 }), ConfigError);
  assertThrows(
    () => subjectMacroF1Sem([4], [0], ["a"], { numClasses: 4 }),
    ConfigError,
    "yTrue[0]",
  );
  assertThrows(
    () => subjectMacroF1Sem([0], [-1], ["a"], { numClasses: 4 }),
    ConfigError,
    "yPred[0]",
  );
  assertThrows(
    () => subjectMacroF1SemFromConfusions([{ subject: "a", matrix: [[1]] }], { numClasses: 2 }),
    ConfigError,
    "not 2 × 2",
  );
});

Deno.test("mergeConfusion / HARTH cycling merge: rows and columns summed before F1", () => {
  const m = mergeConfusion(
    { labels: [0, 1, 2], matrix: [[1, 0, 2], [0, 3, 0], [1, 0, 4]] },
    [{ into: 0, classes: [0, 2] }],
  );
  assertEquals(m, { labels: [0, 1], matrix: [[8, 0], [0, 3]] });
  // a new label is appended
  assertEquals(
    mergeConfusion({ labels: [0, 1, 2], matrix: [[1, 0, 2], [0, 3, 0], [1, 0, 4]] }, [
      { into: 9, classes: [1, 2] },
    ]),
    { labels: [0, 9], matrix: [[1, 2], [1, 7]] },
  );
  assertThrows(
    () => mergeConfusion({ labels: [0, 1], matrix: [[1, 0], [0, 1]] }, [{ into: 0, classes: [5] }]),
    ConfigError,
    "label 5",
  );
  // HARTH, 12 classes: "cycling (sit, inactive)" (10) predicted as "cycling (sit)" (8) is an
  // error on 12 classes, correct after the merge
  const yTrue = [8, 10, 10, 9, 11, 0];
  const yPred = [8, 8, 10, 11, 11, 0];
  const subj = Array(6).fill("s");
  const raw = subjectMacroF1Sem(yTrue, yPred, subj, { numClasses: 12 });
  // 12 classes: 0 → 1; 8: 2/(1+2) = 2/3; 10: 2/(2+1) = 2/3; 9: 0/(1+0) = 0; 11: 2/(1+2) = 2/3
  assertAlmostEquals(raw.subjects[0].f1, (1 + 2 / 3 + 2 / 3 + 0 + 2 / 3) / 5, 1e-15);
  const merged = subjectMacroF1Sem(yTrue, yPred, subj, {
    numClasses: 12,
    merges: HARTH_CYCLING_MERGES,
  });
  assertEquals(merged.subjects[0].confusion.labels, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assertEquals(merged.subjects[0].f1, 1); // 0, 8 and 9 all perfect
  assert(Number.isNaN(merged.sem)); // one subject
});

Deno.test("subjectMacroF1Sem matches numpy/scipy (the cmat package's formula, scipy.stats.sem)", () => {
  // Reference numbers from python3 (numpy 2.4, scipy 1.17), computed independently:
  //   K = 12; n = 400; i = np.arange(n); s = (i*5) % 4
  //   t = (i*i + 3*i) % (6 + 2*s); t = np.where(i % 11 == 0, -1, t)
  //   p = (np.maximum(t, 0) + (i % 5 == 0) + 2*(i % 7 == 0)) % K
  //   per subject: c = K×K counts of (t, p) with t >= 0; for each merge (into, classes):
  //     c[into,:] = c[classes,:].sum(0); c[:,into] = c[:,classes].sum(1); drop the others
  //   f1 = np.nanmean(2*np.diag(c) / (c.sum(0) + c.sum(1)))
  //   np.mean(per), scipy.stats.sem(per)
  const n = 400;
  const yTrue: number[] = [], yPred: number[] = [], subj: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = (i * 5) % 4;
    const t = i % 11 === 0 ? -1 : (i * i + 3 * i) % (6 + 2 * s);
    yTrue.push(t);
    yPred.push((Math.max(t, 0) + (i % 5 === 0 ? 1 : 0) + (i % 7 === 0 ? 2 : 0)) % 12);
    subj.push(`s${s}`);
  }
  const plain = subjectMacroF1Sem(yTrue, yPred, subj, { numClasses: 12 });
  const want = [0.2302687411598303, 0.20453778677462886, 0.30711849957374254, 0.20244668697638996];
  plain.subjects.forEach((s, k) => assertAlmostEquals(s.f1, want[k], 1e-12));
  assertAlmostEquals(plain.mean, 0.2360929286211479, 1e-12);
  assertAlmostEquals(plain.sem, 0.024505695668724996, 1e-12);
  const merged = subjectMacroF1Sem(yTrue, yPred, subj, {
    numClasses: 12,
    merges: HARTH_CYCLING_MERGES,
  });
  const wantMerged = [
    0.2302687411598303,
    0.20453778677462886,
    0.36134453781512604,
    0.266025641025641,
  ];
  merged.subjects.forEach((s, k) => assertAlmostEquals(s.f1, wantMerged[k], 1e-12));
  assertAlmostEquals(merged.mean, 0.26554417669380653, 1e-12);
  assertAlmostEquals(merged.sem, 0.034331808576936, 1e-12);
});
