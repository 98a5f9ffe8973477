import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { ConfigError, DataFormatError } from "../../lib/errors.ts";
import {
  type RunResult,
  runResultFromJson,
  runResultToJson,
  scoreRun,
  summarizeRuns,
  summaryMarkdown,
} from "../../lib/eval/run_result.ts";
import { cohenKappa, f1Score } from "../../lib/eval/metrics.ts";
import { meanSd } from "../../lib/eval/bootstrap.ts";
import { makeFolds } from "../../lib/data/splits.ts";
import { rng } from "../../lib/random.ts";

const CLASSES = ["sit", "stand", "walk", "run"];

Deno.test("scoreRun: metrics, confusion over all classes and per-subject scores on a known case", () => {
  const r = scoreRun({
    yTrue: [0, 1, 2, 2],
    yPred: [0, 2, 2, 2],
    subject: ["a", "a", "b", "b"],
    classes: CLASSES,
    benchmark: "toy",
    setting: "rf",
    protocol: "loso",
    fold: "loso/a",
    seed: 3,
    timings: { fitSec: 2, predictSec: 0.5 },
  });
  // scikit-learn: f1_score(macro) 0.6 over labels {0,1,2}; kappa (0.75 − 7/16) / (1 − 7/16) = 5/9;
  // balanced accuracy (1 + 0 + 1) / 3
  assertAlmostEquals(r.metrics.f1Macro, 0.6, 1e-12);
  assertAlmostEquals(r.metrics.kappa, 5 / 9, 1e-12);
  assertEquals(r.metrics.accuracy, 0.75);
  assertAlmostEquals(r.metrics.balancedAccuracy, 2 / 3, 1e-12);
  assertEquals(r.metrics.n, 4);
  assertEquals(r.metrics.f1PerClass.map((v) => Number(v.toFixed(6))), [1, 0, 0.8, 0]);
  assertEquals(r.confusion, [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 2, 0], [0, 0, 0, 0]]);
  assertEquals(r.perSubject.map((s) => s.subject), ["a", "b"]);
  assertAlmostEquals(r.perSubject[0].f1Macro, 1 / 3, 1e-12); // labels {0,1,2}: 1, 0, 0
  assertEquals([r.perSubject[0].accuracy, r.perSubject[0].n], [0.5, 2]);
  assertEquals([r.perSubject[1].f1Macro, r.perSubject[1].accuracy], [1, 1]);
  assert(Number.isNaN(r.perSubject[1].kappa)); // one class only: undefined
  assertEquals(r.testSubjects, ["a", "b"]);
  assertEquals(r.timings, { fitSec: 2, predictSec: 0.5, totalSec: 2.5 });
  assertEquals(r.predictions, {
    yTrue: [0, 1, 2, 2],
    yPred: [0, 2, 2, 2],
    subject: ["a", "a", "b", "b"],
  });
  assertEquals(r.repeat, 0);
});

Deno.test("scoreRun: metadata from a FoldPlan; clear errors", () => {
  const subject = ["a", "a", "b", "b", "c", "c", "d"];
  const [plan] = makeFolds({ kind: "loso", valChoice: "first" }, { subject }, 7);
  const t = Array.from(plan.test, () => 1);
  const r = scoreRun({
    yTrue: t,
    yPred: t,
    subject: Array.from(plan.test, (i) => subject[i]),
    classes: CLASSES,
    benchmark: "toy",
    setting: "scratch",
    plan,
    keepPredictions: false,
  });
  assertEquals([r.protocol, r.fold, r.seed, r.repeat], ["loso", "loso/a", 7000, 0]);
  assertEquals([r.trainSubjects, r.valSubjects, r.testSubjects], [["c", "d"], ["b"], ["a"]]);
  assertEquals(r.predictions, undefined);
  const base = {
    classes: CLASSES,
    benchmark: "toy",
    setting: "rf",
    protocol: "p",
    fold: "f",
    seed: 0,
  };
  assertThrows(
    () => scoreRun({ ...base, yTrue: [0, 4], yPred: [0, 1], subject: ["a", "a"] }),
    ConfigError,
    "yTrue[1] = 4 is not a class index in [0, 4)",
  );
  assertThrows(
    () => scoreRun({ ...base, yTrue: [0, 1], yPred: [0], subject: ["a", "a"] }),
    ConfigError,
    "differ in length",
  );
  assertThrows(
    () =>
      scoreRun({
        classes: CLASSES,
        benchmark: "toy",
        setting: "rf",
        yTrue: [0],
        yPred: [0],
        subject: ["a"],
      }),
    ConfigError,
    "missing: protocol, fold, seed",
  );
});

/** Random predictions of `folds` folds, each with 2–4 test subjects of 20–60 windows, ~70 % correct. */
function synthetic(folds: number, seed: number, setting = "frozen"): RunResult[] {
  const r = rng(seed);
  const out: RunResult[] = [];
  let s = 0;
  for (let f = 0; f < folds; f++) {
    const yTrue: number[] = [], yPred: number[] = [], subject: string[] = [];
    const nSub = 2 + r.int(3);
    for (let j = 0; j < nSub; j++, s++) {
      const n = 20 + r.int(41), skill = 0.5 + 0.4 * r.next();
      for (let i = 0; i < n; i++) {
        const y = r.int(4);
        yTrue.push(y);
        yPred.push(r.next() < skill ? y : r.int(4));
        subject.push(`s${s}`);
      }
    }
    out.push(scoreRun({
      yTrue,
      yPred,
      subject,
      classes: CLASSES,
      benchmark: "toy",
      setting,
      protocol: "kfold5",
      fold: `kfold5/${f}`,
      seed: seed * 1000 + f,
    }));
  }
  return out;
}

Deno.test("summarizeRuns: mean ± sd over subjects (Yuan's table) vs over folds; pooled on the concatenation", () => {
  const runs = synthetic(5, 1);
  const bySubject = summarizeRuns(runs, { bootstrap: false }).objects()[0] as Record<
    string,
    unknown
  >;
  const byFold = summarizeRuns(runs, { over: "fold", bootstrap: false }).objects()[0] as Record<
    string,
    unknown
  >;
  // Yuan's yuanRows: meanSd over every fold's per-subject scores; kappa over the finite ones
  const subj = runs.flatMap((r) => r.perSubject);
  const f1s = meanSd(subj.map((s) => s.f1Macro));
  const kap = meanSd(subj.map((s) => s.kappa).filter(Number.isFinite));
  assertEquals([bySubject.benchmark, bySubject.setting, bySubject.folds], ["toy", "frozen", 5]);
  assertEquals([bySubject.subjects, bySubject.n], [subj.length, subj.length]);
  assertAlmostEquals(bySubject.f1Macro_mean as number, f1s.mean, 1e-12);
  assertAlmostEquals(bySubject.f1Macro_sd as number, f1s.sd, 1e-12);
  assertAlmostEquals(bySubject.kappa_mean as number, kap.mean, 1e-12);
  assertAlmostEquals(bySubject.kappa_sd as number, kap.sd, 1e-12);
  assertEquals(bySubject.f1Macro, `${f1s.mean.toFixed(3)} ± ${f1s.sd.toFixed(3)}`);
  // per-subject scores recomputed independently
  for (const r of runs) {
    for (const ps of r.perSubject) {
      const idx = r.predictions!.subject.flatMap((s, i) => (s === ps.subject ? [i] : []));
      assertAlmostEquals(
        ps.f1Macro,
        f1Score(idx.map((i) => r.predictions!.yTrue[i]), idx.map((i) => r.predictions!.yPred[i])),
        1e-12,
      );
    }
  }
  // over folds: the pooled score of each fold (Yuan's f1FoldMean)
  const foldF1 = runs.map((r) => f1Score(r.predictions!.yTrue, r.predictions!.yPred));
  assertEquals(byFold.n, 5);
  assertAlmostEquals(byFold.f1Macro_mean as number, meanSd(foldF1).mean, 1e-12);
  assertAlmostEquals(byFold.f1Macro_sd as number, meanSd(foldF1).sd, 1e-12);
  assertNotEquals(byFold.f1Macro_sd, bySubject.f1Macro_sd);
  // pooled = the metric on all test windows concatenated, the same for both units
  const t = runs.flatMap((r) => r.predictions!.yTrue),
    p = runs.flatMap((r) => r.predictions!.yPred);
  assertAlmostEquals(bySubject.f1Macro_pooled as number, f1Score(t, p), 1e-12);
  assertAlmostEquals(bySubject.kappa_pooled as number, cohenKappa(t, p), 1e-12);
  assertEquals(byFold.f1Macro_pooled, bySubject.f1Macro_pooled);
  assert(Number.isNaN(bySubject.f1Macro_low as number)); // no bootstrap asked
  // over folds takes any RunMetrics metric; over subjects only the per-subject ones
  const ba = summarizeRuns(runs, { over: "fold", metrics: ["balancedAccuracy"], bootstrap: false });
  assertAlmostEquals(
    (ba.objects()[0] as Record<string, number>).balancedAccuracy_mean,
    meanSd(runs.map((r) => r.metrics.balancedAccuracy)).mean,
    1e-12,
  );
  assertThrows(
    () => summarizeRuns(runs, { metrics: ["balancedAccuracy"] }),
    ConfigError,
    "not scored per subject",
  );
  assertThrows(() => summarizeRuns(runs, { metrics: ["auc"] }), ConfigError, "unknown metric auc");
});

Deno.test("summarizeRuns: subject-bootstrap CI contains the pooled value and is seeded", () => {
  const runs = synthetic(4, 2);
  const boot = { replicates: 300, seed: 5, alpha: 0.05 };
  const row = summarizeRuns(runs, { bootstrap: boot }).objects()[0] as Record<string, number>;
  for (const m of ["f1Macro", "kappa"]) {
    assert(row[`${m}_low`] < row[`${m}_pooled`] && row[`${m}_pooled`] < row[`${m}_high`], m);
    assert(row[`${m}_high`] - row[`${m}_low`] < 0.3, `${m} CI unreasonably wide`);
  }
  const again = summarizeRuns(runs, { bootstrap: boot }).objects()[0] as Record<string, number>;
  assertEquals(again, row);
  const other = summarizeRuns(runs, { bootstrap: { ...boot, seed: 6 } }).objects()[0] as Record<
    string,
    number
  >;
  assertNotEquals(other.f1Macro_low, row.f1Macro_low);
  assertEquals(other.f1Macro_pooled, row.f1Macro_pooled);
  const narrow = summarizeRuns(runs, { bootstrap: { ...boot, alpha: 0.5 } }).objects()[0] as Record<
    string,
    number
  >;
  assert(narrow.f1Macro_high - narrow.f1Macro_low < row.f1Macro_high - row.f1Macro_low);
  assertEquals(
    row.f1Macro_ci as unknown,
    `${row.f1Macro_pooled.toFixed(3)} [${row.f1Macro_low.toFixed(3)}, ${
      row.f1Macro_high.toFixed(3)
    }]`,
  );
});

Deno.test("summarizeRuns: groups, published numbers and Markdown", () => {
  const runs = [...synthetic(3, 3, "frozen"), ...synthetic(2, 4, "finetune")];
  const t = summarizeRuns(runs, {
    bootstrap: { replicates: 50, seed: 0 },
    published: [{ method: "finetune", dataset: "toy", f1Macro: 0.7 }],
  });
  const rows = t.objects() as Record<string, unknown>[];
  assertEquals(rows.map((r) => [r.setting, r.folds]), [["frozen", 3], ["finetune", 2]]);
  assert(Number.isNaN(rows[0].published as number));
  assertEquals(rows[1].published, 0.7);
  assertAlmostEquals(rows[1].delta as number, (rows[1].f1Macro_mean as number) - 0.7, 1e-12);
  const md = summaryMarkdown(t);
  const header = md.split("\n")[0];
  assertEquals(
    header,
    "| benchmark | setting | folds | test subjects | n (scores averaged) | F1 macro | pooled F1 [95 % CI] | " +
      "Cohen's kappa | pooled kappa [95 % CI] | published F1 | Δ F1 vs published |",
  );
  assertStringIncludes(md, `| toy | finetune | 2 |`);
  assertStringIncludes(md, rows[1].f1Macro_ci as string);
  assertStringIncludes(md.split("\n")[2], "| — |"); // unmatched published
  // grouping by other fields; results without predictions give NaN pooled scores
  const noPred = runs.map((r) => ({ ...r, predictions: undefined }));
  const byProto = summarizeRuns(noPred, { by: ["protocol"] }).objects() as Record<
    string,
    unknown
  >[];
  assertEquals(byProto.length, 1);
  assertEquals([byProto[0].protocol, byProto[0].folds], ["kfold5", 5]);
  assert(Number.isNaN(byProto[0].f1Macro_pooled as number));
  assertEquals(byProto[0].f1Macro_ci, "—");
});

Deno.test("RunResult: JSON round trip keeps NaN, history and predictions", () => {
  const r = scoreRun({
    yTrue: [2, 2, 0, 1],
    yPred: [2, 2, 0, 0],
    subject: ["x", "x", "y", "y"],
    classes: CLASSES,
    experiment: "demo",
    benchmark: "toy",
    setting: "finetune",
    protocol: "loso",
    fold: "loso/x",
    seed: 1,
    trainSubjects: ["z"],
    valSubjects: ["w"],
    nTrain: 10,
    nVal: 3,
    history: [{ epoch: 1, trainLoss: 1.2, valLoss: NaN, valF1: NaN, lr: 1e-3, seconds: 0.4 }],
    bestEpoch: null,
    timings: { fitSec: 1, predictSec: 0.1, totalSec: 1.5, featuresSec: 0.2 },
  });
  assert(Number.isNaN(r.perSubject[0].kappa));
  const text = runResultToJson(r, 1);
  assertStringIncludes(text, '"kappa": null');
  const back = runResultFromJson(text);
  assertEquals(back, r); // NaN restored (deepStrictEqual: NaN equals NaN)
  assert(Number.isNaN(back.history![0].valLoss));
  assertEquals(
    runResultFromJson(runResultToJson({ ...r, timings: { ...r.timings, fitSec: NaN } })).timings
      .fitSec,
    NaN,
  );
  assertThrows(
    () => runResultFromJson("{", "folds/a.json"),
    DataFormatError,
    "folds/a.json: not JSON",
  );
  assertThrows(
    () => runResultFromJson(JSON.stringify({ ...r, fold: undefined }), "folds/a.json"),
    DataFormatError,
    'field "fold" missing',
  );
});
