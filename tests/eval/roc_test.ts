/**
 * Expected numbers: scikit-learn 1.9.1 (`roc_auc_score`, `roc_curve`,
 * `f1_score`) run by hand in a scratch venv with python3, cross-checked for
 * the tie case with scipy 1.17 `mannwhitneyu(pos, neg).statistic / (5*5)`
 * and brute-force pair counting (both 0.62).
 */
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { ConfigError } from "../../lib/errors.ts";
import {
  bestF1Threshold,
  f1AtThreshold,
  pooledRocAuc,
  rocAuc,
  rocCurve,
  thresholdedF1,
} from "../../lib/eval/roc.ts";
import { rng } from "../../lib/random.ts";

const close = (a: ArrayLike<number>, b: number[], tol = 1e-12) => {
  assertEquals(a.length, b.length);
  for (let i = 0; i < b.length; i++) {
    if (b[i] === Infinity) assertEquals(a[i], Infinity);
    else assertAlmostEquals(a[i], b[i], tol);
  }
};

Deno.test("rocAuc equals scikit-learn roc_auc_score, ties averaged", () => {
  // roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) = 0.75
  assertAlmostEquals(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75, 1e-12);
  // ties: roc_auc_score = 0.62 (= Mann-Whitney U / (n1 n0), = brute-force pairs with ½ per tie)
  const y = [0, 1, 0, 1, 1, 0, 0, 1, 0, 1];
  const s = [0.2, 0.2, 0.5, 0.5, 0.5, 0.1, 0.9, 0.9, 0.3, 0.3];
  assertAlmostEquals(rocAuc(y, s), 0.62, 1e-12);
  // masked labels (-1) are ignored, whatever their scores
  assertAlmostEquals(rocAuc([...y, -1, -1], [...s, 100, -100]), 0.62, 1e-12);
  // positive label 2 vs negatives 1
  assertAlmostEquals(
    rocAuc([1, 1, 2, 2], [0.1, 0.4, 0.35, 0.8], { positiveLabel: 2 }),
    0.75,
    1e-12,
  );
  // all scores tied → 0.5
  assertAlmostEquals(rocAuc([0, 1, 0, 1], [3, 3, 3, 3]), 0.5, 1e-12);
});

Deno.test("rocAuc equals brute-force pair counting on random data with many ties", () => {
  const r = rng(2);
  const n = 300;
  const y = Array.from({ length: n }, () => (r.next() < 0.3 ? 1 : 0));
  const s = Array.from({ length: n }, (_, i) => r.int(12) + 2 * y[i] * r.next());
  let num = 0, pairs = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (y[i] === 1 && y[j] === 0) {
        pairs++;
        num += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
      }
    }
  }
  assertAlmostEquals(rocAuc(y, s), num / pairs, 1e-12);
  // AUROC = the trapezoid area under the full ROC curve
  const c = rocCurve(y, s, { dropIntermediate: false });
  let area = 0;
  for (let i = 1; i < c.fpr.length; i++) {
    area += (c.fpr[i] - c.fpr[i - 1]) * (c.tpr[i] + c.tpr[i - 1]) / 2;
  }
  assertAlmostEquals(area, num / pairs, 1e-12);
});

Deno.test("rocCurve equals scikit-learn roc_curve (drop_intermediate on and off)", () => {
  // roc_curve([1,1,2,2],[0.1,0.4,0.35,0.8],pos_label=2)
  let c = rocCurve([1, 1, 2, 2], [0.1, 0.4, 0.35, 0.8], { positiveLabel: 2 });
  close(c.fpr, [0, 0, 0.5, 0.5, 1]);
  close(c.tpr, [0, 0.5, 0.5, 1, 1]);
  close(c.thresholds, [Infinity, 0.8, 0.4, 0.35, 0.1]);
  // ties case: default drops the 0.3 point
  const y = [0, 1, 0, 1, 1, 0, 0, 1, 0, 1];
  const s = [0.2, 0.2, 0.5, 0.5, 0.5, 0.1, 0.9, 0.9, 0.3, 0.3];
  c = rocCurve(y, s);
  close(c.fpr, [0, 0.2, 0.4, 0.8, 1]);
  close(c.tpr, [0, 0.2, 0.6, 1, 1]);
  close(c.thresholds, [Infinity, 0.9, 0.5, 0.2, 0.1]);
  c = rocCurve(y, s, { dropIntermediate: false });
  close(c.fpr, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  close(c.tpr, [0, 0.2, 0.6, 0.8, 1, 1]);
  close(c.thresholds, [Infinity, 0.9, 0.5, 0.3, 0.2, 0.1]);
  // roc_curve([1,1,1,0],[4,3,2,1]): the first point is kept, 3 is dropped
  c = rocCurve([1, 1, 1, 0], [4, 3, 2, 1]);
  close(c.fpr, [0, 0, 0, 1]);
  close(c.tpr, [0, 1 / 3, 1, 1], 1e-12);
  close(c.thresholds, [Infinity, 4, 2, 1]);
});

Deno.test("pooledRocAuc pools the samples, not the per-part AUROCs", () => {
  // sklearn: part a 1.0, part b 0.0, pooled roc_auc_score(ya+yb, sa+sb) = 0.5
  const a = { yTrue: [0, 1, 1, 0], scores: [0.1, 0.9, 0.8, 0.2] };
  const b = { yTrue: [0, 1, 0], scores: [5, 2, 3] };
  assertAlmostEquals(rocAuc(a.yTrue, a.scores), 1, 1e-12);
  assertAlmostEquals(rocAuc(b.yTrue, b.scores), 0, 1e-12);
  assertAlmostEquals(pooledRocAuc([a, b]), 0.5, 1e-12);
  assertThrows(() => pooledRocAuc([{ yTrue: [0, 1], scores: [1] }]), ConfigError);
});

Deno.test("rocAuc errors: one class only, non-finite score, length mismatch", () => {
  let e = assertThrows(() => rocAuc([0, 0, -1], [1, 2, 3]), ConfigError);
  assert(/both classes \(0 positive, 2 negative/.test(e.message), e.message);
  e = assertThrows(() => rocAuc([0, 1], [0.5, NaN]), ConfigError);
  assert(/score 1 is NaN/.test(e.message), e.message);
  assertThrows(() => rocAuc([0, 1, 1], [0.5, 1]), ConfigError);
  assertThrows(() => rocCurve([1, 1], [0.5, 1]), ConfigError);
});

Deno.test("bestF1Threshold / f1AtThreshold / thresholdedF1: positive-class F1", () => {
  // by hand: thresholds 0.6 0.5 0.4 0.3 0.2 0.1 give F1 1/2, 2/5, 2/3, 6/7, 3/4, 2/3
  const y = [0, 0, 1, 1, 0, 1], s = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
  const c = bestF1Threshold(y, s);
  assertEquals(c.threshold, 0.3);
  assertAlmostEquals(c.f1, 6 / 7, 1e-12);
  // sklearn f1_score(y, s >= 0.3) = 0.857142857...
  assertAlmostEquals(f1AtThreshold(y, s, 0.3), 0.8571428571428571, 1e-12);
  assertAlmostEquals(f1AtThreshold(y, s, 0.45), 0.4, 1e-12); // 0.5 fp, 0.6 tp, 2 missed: 2/5
  // masked samples do not count
  assertAlmostEquals(f1AtThreshold([...y, -1], [...s, 0.99], 0.3), 6 / 7, 1e-12);
  // nothing predicted positive → 0 (zero_division=0)
  assertEquals(f1AtThreshold(y, s, 1), 0);
  // threshold from train, F1 on test
  const r = thresholdedF1({ yTrue: y, scores: s }, {
    yTrue: [1, 0, 1, 0],
    scores: [0.35, 0.31, 0.1, 0.05],
  });
  assertEquals(r.threshold, 0.3);
  // test: predicted positive 0.35 (tp), 0.31 (fp); 0.1 missed → 2/(2+1+1) = 0.5
  assertAlmostEquals(r.testF1, 0.5, 1e-12);
  assertThrows(() => bestF1Threshold([0, 0], [1, 2]), ConfigError);
});
