import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { join } from "node:path";
import { oracle } from "../_helpers.ts";
import {
  accuracy,
  balancedAccuracy,
  classificationScores,
  cohenKappa,
  confusionMatrix,
  f1PerClass,
  f1Score,
  precisionRecallFscoreSupport,
  precisionScore,
  recallScore,
} from "../../lib/eval/metrics.ts";
import { ConfigError } from "../../lib/errors.ts";

interface OracleCase {
  labels: number[];
  y_true: number[];
  y_pred: number[];
  f1_macro: number;
  f1_micro: number;
  f1_weighted: number;
  f1_per_class: number[];
  confusion: number[][];
  kappa: number;
  balanced_accuracy: number;
  kappa_linear?: number;
  kappa_quadratic?: number;
}

Deno.test("metrics equal scikit-learn on every oracle case (1e-9)", async () => {
  const dir = oracle("metrics");
  if (!dir) return;
  const cases: OracleCase[] = JSON.parse(await Deno.readTextFile(join(dir, "cases.json")));
  assertEquals(cases.length > 0, true);
  for (const [i, c] of cases.entries()) {
    const o = { labels: c.labels };
    const msg = (m: string) => `case ${i}: ${m}`;
    assertEquals(confusionMatrix(c.y_true, c.y_pred, o).matrix, c.confusion, msg("confusion"));
    assertAlmostEquals(f1Score(c.y_true, c.y_pred, o), c.f1_macro, 1e-9, msg("f1 macro"));
    assertAlmostEquals(
      f1Score(c.y_true, c.y_pred, { ...o, average: "micro" }),
      c.f1_micro,
      1e-9,
      msg("f1 micro"),
    );
    assertAlmostEquals(
      f1Score(c.y_true, c.y_pred, { ...o, average: "weighted" }),
      c.f1_weighted,
      1e-9,
      msg("f1 weighted"),
    );
    const pc = f1PerClass(c.y_true, c.y_pred, o);
    assertEquals(pc.length, c.f1_per_class.length);
    pc.forEach((v, k) => assertAlmostEquals(v, c.f1_per_class[k], 1e-9, msg(`f1[${k}]`)));
    assertAlmostEquals(cohenKappa(c.y_true, c.y_pred, o), c.kappa, 1e-9, msg("kappa"));
    if (c.kappa_linear !== undefined) {
      assertAlmostEquals(
        cohenKappa(c.y_true, c.y_pred, { ...o, weights: "linear" }),
        c.kappa_linear,
        1e-9,
      );
    }
    if (c.kappa_quadratic !== undefined) {
      assertAlmostEquals(
        cohenKappa(c.y_true, c.y_pred, { ...o, weights: "quadratic" }),
        c.kappa_quadratic,
        1e-9,
      );
    }
    assertAlmostEquals(
      balancedAccuracy(c.y_true, c.y_pred),
      c.balanced_accuracy,
      1e-9,
      msg("balanced accuracy"),
    );
    const s = classificationScores(c.y_true, c.y_pred, o);
    assertAlmostEquals(s.f1Macro, c.f1_macro, 1e-9);
    assertAlmostEquals(s.kappa, c.kappa, 1e-9);
  }
});

// Hand-computed values (checked against scikit-learn 1.5 semantics).
Deno.test("f1/precision/recall: zero_division and classes absent from y_true or y_pred", () => {
  const yTrue = [0, 1, 2, 2];
  const yPred = [0, 2, 2, 2];
  // class 1 never predicted: precision 0/0 -> zero_division; F1 0 (fn=1).
  assertEquals(f1PerClass(yTrue, yPred), [1, 0, 0.8]);
  assertAlmostEquals(f1Score(yTrue, yPred), 0.6, 1e-12);
  assertAlmostEquals(f1Score(yTrue, yPred, { average: "micro" }), 0.75, 1e-12);
  assertAlmostEquals(f1Score(yTrue, yPred, { average: "weighted" }), (1 + 0 + 1.6) / 4, 1e-12);
  assertAlmostEquals(precisionScore(yTrue, yPred), (1 + 0 + 2 / 3) / 3, 1e-12);
  assertAlmostEquals(precisionScore(yTrue, yPred, { zeroDivision: 1 }), (1 + 1 + 2 / 3) / 3, 1e-12);
  assertAlmostEquals(recallScore(yTrue, yPred), (1 + 0 + 1) / 3, 1e-12);
  // NaN zero_division: class left out of the macro mean.
  assertAlmostEquals(
    precisionScore(yTrue, yPred, { zeroDivision: NaN }),
    (1 + 2 / 3) / 2,
    1e-12,
  );
  // label 3 absent everywhere: tp=fp=fn=0 -> zero_division in the macro mean.
  assertAlmostEquals(f1Score(yTrue, yPred, { labels: [0, 1, 2, 3] }), 1.8 / 4, 1e-12);
  assertAlmostEquals(
    f1Score(yTrue, yPred, { labels: [0, 1, 2, 3], zeroDivision: 1 }),
    2.8 / 4,
    1e-12,
  );
  // subset of labels: micro counts only those labels' tp/fp/fn.
  // labels [0,1]: tp=1 (class 0), pred of 0/1 = 1, true of 0/1 = 2 -> P=1, R=0.5, F=2/3.
  assertAlmostEquals(f1Score(yTrue, yPred, { labels: [0, 1], average: "micro" }), 2 / 3, 1e-12);
  const prf = precisionRecallFscoreSupport(yTrue, yPred);
  assertEquals(prf.support, [1, 1, 2]);
});

Deno.test("confusionMatrix: labels order, extra labels, ignored samples", () => {
  const cm = confusionMatrix([2, 0, 2, 2, 0, 1], [0, 0, 2, 2, 0, 2]);
  assertEquals(cm.labels, [0, 1, 2]);
  assertEquals(cm.matrix, [[2, 0, 0], [0, 0, 1], [1, 0, 2]]);
  const cm2 = confusionMatrix([2, 0, 2, 2, 0, 1], [0, 0, 2, 2, 0, 2], { labels: [2, 0, 5] });
  assertEquals(cm2.matrix, [[2, 1, 0], [0, 2, 0], [0, 0, 0]]);
  assertThrows(() => confusionMatrix([0, 1], [0]), ConfigError, "yPred has 1");
});

Deno.test("accuracy, balanced accuracy and kappa edge cases", () => {
  assertAlmostEquals(accuracy([0, 1, 1, 1], [0, 1, 0, 1]), 0.75, 1e-12);
  // class 3 only predicted: ignored by balanced accuracy (mean recall over true classes).
  assertAlmostEquals(balancedAccuracy([0, 0, 1, 1], [0, 3, 1, 1]), 0.75, 1e-12);
  assertAlmostEquals(balancedAccuracy([0, 0, 1, 1], [0, 3, 1, 1], { adjusted: true }), 0.5, 1e-12);
  // kappa: p_o = 0.75, p_e = (2*3 + 2*1)/16 = 0.5 -> 0.5
  assertAlmostEquals(cohenKappa([0, 0, 1, 1], [0, 1, 1, 1]), 0.5, 1e-12);
  // one class only on both sides: undefined.
  assertEquals(Number.isNaN(cohenKappa([1, 1], [1, 1])), true);
  // weighted kappa on ordinal labels: a 0↔2 confusion costs more than 0↔1.
  const t = [0, 1, 2, 0, 1, 2];
  const near = [1, 1, 2, 0, 1, 2], far = [2, 1, 2, 0, 1, 2];
  assertAlmostEquals(cohenKappa(t, near), cohenKappa(t, far), 1e-12);
  const kl = cohenKappa(t, near, { weights: "linear" });
  const kf = cohenKappa(t, far, { weights: "linear" });
  assertEquals(kl > kf, true);
  // quadratic, computed by hand: C = [[1,1,0],[0,2,0],[0,0,2]]... for `near`:
  // rows [2,2,2], cols [1,3,2]; observed = 1*1 = 1; expected = sum w_ij r_i c_j / 6.
  const w = (i: number, j: number) => (i - j) ** 2;
  const rows = [2, 2, 2], cols = [1, 3, 2];
  let exp = 0;
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) exp += w(i, j) * rows[i] * cols[j] / 6;
  assertAlmostEquals(cohenKappa(t, near, { weights: "quadratic" }), 1 - 1 / exp, 1e-12);
});
