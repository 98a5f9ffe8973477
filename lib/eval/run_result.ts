/**
 * One evaluated fold as a plain, JSON-serialisable record
 * ({@link RunResult}: metrics, per-subject scores, confusion matrix,
 * training history, timings, predictions), how to make one from
 * predictions ({@link scoreRun}), and the summary table over many of them
 * ({@link summarizeRuns}: mean ± sd over test subjects or folds, pooled
 * scores over all test windows with subject-bootstrap confidence intervals,
 * published numbers alongside).
 *
 * Scores follow scikit-learn (lib/eval/metrics.ts): the macro averages use
 * the labels present in truth ∪ predictions, as ssl-wearables'
 * `f1_score(average="macro")`; per-class F1 and the confusion matrix cover
 * every class of the benchmark.
 *
 * @example
 * const plans = makeFolds({ kind: "loso", valChoice: "first" }, w, 42);
 * const results = plans.map((plan) => {
 *   const yPred = trainAndPredict(plan); // the evaluator
 *   return scoreRun({ yTrue: pick(w.y, plan.test), yPred, subject: pick(w.subject, plan.test),
 *     classes: w.classes, benchmark: "adl5", setting: "scratch", plan,
 *     timings: { fitSec: 12.5, predictSec: 0.3 } });
 * });
 * await Deno.writeTextFile("fold.json", runResultToJson(results[0]));
 * const t = summarizeRuns(results, { over: "subject", published: [{ method: "scratch", f1Macro: 0.64 }] });
 * console.log(summaryMarkdown(t));
 * // | benchmark | setting | folds | subjects | n | f1Macro | f1Macro_ci | kappa | kappa_ci | published | delta |
 */
import * as aq from "arquero";
import { ConfigError, DataFormatError } from "../errors.ts";
import type { FoldPlan } from "../data/splits.ts";
import {
  accuracy,
  balancedAccuracy,
  cohenKappa,
  confusionMatrix,
  f1PerClass,
  f1Score,
  precisionScore,
  recallScore,
} from "./metrics.ts";
import { scoreBySubject } from "./subjects.ts";
import { meanSd, type MetricFn, subjectBootstrap } from "./bootstrap.ts";
import {
  findPublished,
  formatMeanSd,
  type PublishedNumber,
  type Table,
  toMarkdown,
} from "./tables.ts";

/** Pooled scores of one fold's test windows. */
export interface RunMetrics {
  /** Test windows scored. */
  n: number;
  /** Macro F1 over the labels in truth ∪ predictions (zero_division 0), in [0, 1]. */
  f1Macro: number;
  /** Unweighted Cohen's kappa (NaN when undefined, e.g. one class only). */
  kappa: number;
  /** Fraction of windows predicted correctly, in [0, 1]. */
  accuracy: number;
  /** Mean recall over the classes present in the truth, in [0, 1]. */
  balancedAccuracy: number;
  /** Support-weighted F1. */
  f1Weighted: number;
  /** Macro precision (labels in truth ∪ predictions). */
  precisionMacro: number;
  /** Macro recall (labels in truth ∪ predictions). */
  recallMacro: number;
  /** F1 per class in `classes` order (0 for a class neither true nor predicted). */
  f1PerClass: number[];
}

/** Scores of one test subject within a fold. */
export interface RunSubjectScore {
  /** Subject id. */
  subject: string;
  /** Test windows of the subject. */
  n: number;
  /** Macro F1 over the labels in the subject's truth ∪ predictions. */
  f1Macro: number;
  /** Cohen's kappa (NaN when undefined). */
  kappa: number;
  /** Accuracy. */
  accuracy: number;
}

/** Wall-clock durations of a fold, in seconds (NaN when not measured). */
export interface RunTimings {
  /** Training (fit) time. */
  fitSec: number;
  /** Prediction time on the test windows. */
  predictSec: number;
  /** Whole fold, including data preparation and feature extraction. */
  totalSec: number;
  /** Further phases, e.g. `featuresSec`. */
  [phase: string]: number;
}

/** The test predictions behind a result (parallel arrays over test windows). */
export interface RunPredictions {
  /** True class index per test window. */
  yTrue: number[];
  /** Predicted class index per test window. */
  yPred: number[];
  /** Subject per test window. */
  subject: string[];
}

/**
 * The result of one fold (and one repeat/seed) of one setting on one
 * benchmark. Plain data: cached per fold on disk with
 * {@link runResultToJson} / {@link runResultFromJson}.
 */
export interface RunResult {
  /** Experiment name, e.g. `"yuan"`; optional. */
  experiment?: string;
  /** Benchmark name, e.g. `"adl5"`, `"wisdm-watch"`. */
  benchmark: string;
  /** Setting: `"scratch"`, `"frozen"`, `"finetune"`, `"rf"`, … (free string). */
  setting: string;
  /** Protocol name (`FoldPlan.protocol`), e.g. `"loso"`, `"kfold5+10perclass"`. */
  protocol: string;
  /** Fold name (`FoldPlan.name`), e.g. `"loso/f1"`, `"kfold5/2/r1"`. */
  fold: string;
  /** Seed of the fold (`FoldPlan.seed`: model initialisation, draws). */
  seed: number;
  /** 0-based repeat (`FoldPlan.repeat`). */
  repeat: number;
  /** Subjects whose windows trained the model (after label budgets), sorted. */
  trainSubjects: string[];
  /** Validation subjects, sorted. */
  valSubjects: string[];
  /** Test subjects, sorted. */
  testSubjects: string[];
  /** Class names; class index `i` is `classes[i]`. */
  classes: string[];
  /** Training windows used (after budgets and caps), when known. */
  nTrain?: number;
  /** Validation windows, when known. */
  nVal?: number;
  /** Pooled scores over the fold's test windows. */
  metrics: RunMetrics;
  /** Scores per test subject (sorted by subject). */
  perSubject: RunSubjectScore[];
  /** Confusion matrix over all classes, rows true, columns predicted (counts). */
  confusion: number[][];
  /** Training curve, one row per epoch (`EpochRecord`s of lib/train/history.ts). */
  history?: Record<string, number>[];
  /** 1-based epoch whose weights were kept (early stopping), or null. */
  bestEpoch?: number | null;
  /** Durations in seconds. */
  timings: RunTimings;
  /** Test predictions (needed for the pooled scores and bootstrap of {@link summarizeRuns}). */
  predictions?: RunPredictions;
  /** Feature importances of a feature-based model (the `rf` setting: mean decrease in impurity, summing to 1). */
  featureImportances?: Record<string, number>;
}

/** The fold description {@link scoreRun} takes from a `FoldPlan` (or anything shaped like one). */
export type RunFold = Pick<
  FoldPlan,
  "name" | "protocol" | "seed" | "repeat" | "trainSubjects" | "valSubjects" | "testSubjects"
>;

/** Arguments of {@link scoreRun}. */
export interface ScoreRunArgs {
  /** True class index per test window (integers in [0, classes.length)). */
  yTrue: ArrayLike<number>;
  /** Predicted class index per test window. */
  yPred: ArrayLike<number>;
  /** Subject per test window. */
  subject: readonly string[];
  /** Class names of the benchmark. */
  classes: string[];
  /** Benchmark name. */
  benchmark: string;
  /** Setting name. */
  setting: string;
  /** Experiment name; optional. */
  experiment?: string;
  /** The fold: protocol, name, seed, repeat and subjects are taken from it unless given below. */
  plan?: RunFold;
  /** Protocol name (default `plan.protocol`; required without a plan). */
  protocol?: string;
  /** Fold name (default `plan.name`; required without a plan). */
  fold?: string;
  /** Fold seed (default `plan.seed`; required without a plan). */
  seed?: number;
  /** Repeat (default `plan.repeat`, else 0). */
  repeat?: number;
  /** Training subjects (default `plan.trainSubjects`, else []). */
  trainSubjects?: string[];
  /** Validation subjects (default `plan.valSubjects`, else []). */
  valSubjects?: string[];
  /** Test subjects (default `plan.testSubjects`, else those in `subject`). */
  testSubjects?: string[];
  /** Training windows used. */
  nTrain?: number;
  /** Validation windows. */
  nVal?: number;
  /** Epoch rows of the training run. */
  history?: Record<string, number>[];
  /** Epoch kept by early stopping, or null. */
  bestEpoch?: number | null;
  /** Durations in seconds; missing ones are NaN (`totalSec` defaults to fitSec + predictSec). */
  timings?: Partial<RunTimings>;
  /** Store the test predictions in the result (default true; the pooled summary needs them). */
  keepPredictions?: boolean;
}

/**
 * Score one fold's test predictions: pooled metrics, per-subject scores,
 * confusion matrix over all classes, plus the fold's metadata.
 *
 * @example
 * scoreRun({ yTrue: [0, 1, 1], yPred: [0, 1, 0], subject: ["a", "a", "b"], classes: ["sit", "walk"],
 *   benchmark: "toy", setting: "rf", protocol: "loso", fold: "loso/a", seed: 0 }).metrics.accuracy; // 2/3
 * @throws ConfigError when the arrays differ in length, are empty, hold
 *   labels outside `[0, classes.length)`, or the fold metadata is missing.
 */
export function scoreRun(args: ScoreRunArgs): RunResult {
  const { yTrue, yPred, subject, classes, plan } = args;
  const n = yTrue.length;
  if (yPred.length !== n || subject.length !== n) {
    throw new ConfigError(
      `scoreRun: yTrue (${n}), yPred (${yPred.length}) and subject (${subject.length}) differ in length`,
    );
  }
  if (n === 0) throw new ConfigError("scoreRun: no test predictions");
  if (!Array.isArray(classes) || classes.length === 0) {
    throw new ConfigError("scoreRun: classes must be a non-empty list of class names");
  }
  const k = classes.length;
  for (const [name, v] of [["yTrue", yTrue], ["yPred", yPred]] as const) {
    for (let i = 0; i < n; i++) {
      if (!Number.isInteger(v[i]) || v[i] < 0 || v[i] >= k) {
        throw new ConfigError(
          `scoreRun: ${name}[${i}] = ${v[i]} is not a class index in [0, ${k}) (${k} classes)`,
        );
      }
    }
  }
  const protocol = args.protocol ?? plan?.protocol;
  const fold = args.fold ?? plan?.name;
  const seed = args.seed ?? plan?.seed;
  if (protocol === undefined || fold === undefined || seed === undefined) {
    throw new ConfigError(
      "scoreRun: give the fold (plan) or protocol, fold and seed (missing: " +
        [["protocol", protocol], ["fold", fold], ["seed", seed]]
          .filter(([, v]) => v === undefined).map(([f]) => f).join(", ") +
        ")",
    );
  }
  const labels = Array.from({ length: k }, (_, i) => i);
  const t = Array.from(yTrue), p = Array.from(yPred), s = [...subject];
  const perSubject = scoreBySubject(t, p, s).map((ss) => {
    let ok = 0;
    for (let i = 0; i < n; i++) if (s[i] === ss.subject && t[i] === p[i]) ok++;
    return {
      subject: ss.subject,
      n: ss.n,
      f1Macro: ss.f1Macro,
      kappa: ss.kappa,
      accuracy: ok / ss.n,
    };
  });
  const tm = args.timings ?? {};
  const fitSec = tm.fitSec ?? NaN, predictSec = tm.predictSec ?? NaN;
  const result: RunResult = {
    ...(args.experiment !== undefined ? { experiment: args.experiment } : {}),
    benchmark: args.benchmark,
    setting: args.setting,
    protocol,
    fold,
    seed,
    repeat: args.repeat ?? plan?.repeat ?? 0,
    trainSubjects: [...(args.trainSubjects ?? plan?.trainSubjects ?? [])],
    valSubjects: [...(args.valSubjects ?? plan?.valSubjects ?? [])],
    testSubjects: [...(args.testSubjects ?? plan?.testSubjects ?? [...new Set(s)].sort())],
    classes: [...classes],
    metrics: {
      n,
      f1Macro: f1Score(t, p),
      kappa: cohenKappa(t, p),
      accuracy: accuracy(t, p),
      balancedAccuracy: balancedAccuracy(t, p),
      f1Weighted: f1Score(t, p, { average: "weighted" }),
      precisionMacro: precisionScore(t, p),
      recallMacro: recallScore(t, p),
      f1PerClass: f1PerClass(t, p, { labels }),
    },
    perSubject,
    confusion: confusionMatrix(t, p, { labels }).matrix,
    timings: { ...tm, fitSec, predictSec, totalSec: tm.totalSec ?? fitSec + predictSec },
  };
  if (args.nTrain !== undefined) result.nTrain = args.nTrain;
  if (args.nVal !== undefined) result.nVal = args.nVal;
  if (args.history !== undefined) result.history = args.history.map((r) => ({ ...r }));
  if (args.bestEpoch !== undefined) result.bestEpoch = args.bestEpoch;
  if (args.keepPredictions ?? true) result.predictions = { yTrue: t, yPred: p, subject: s };
  return result;
}

// ---------------------------------------------------------------------------
// JSON

/**
 * JSON text of a result; non-finite numbers (an undefined kappa, an
 * unmeasured timing) are written as `null` and restored as NaN by
 * {@link runResultFromJson}.
 */
export function runResultToJson(result: RunResult, indent?: number): string {
  return JSON.stringify(
    result,
    (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v),
    indent,
  );
}

const nanIfNull = (v: unknown): number => (v === null ? NaN : (v as number));

/**
 * Parse a result written by {@link runResultToJson} (or `JSON.stringify`),
 * turning `null` scores, timings and history values back into NaN.
 *
 * @param text JSON text
 * @param file name of the file it came from, for error messages
 * @throws DataFormatError when it is not JSON or a required field is missing.
 */
export function runResultFromJson(text: string, file = "RunResult JSON"): RunResult {
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch (e) {
    throw new DataFormatError(file, `not JSON (${(e as Error).message})`);
  }
  return reviveRunResult(r, file);
}

/**
 * Check a parsed result (e.g. what a JSON piece cache gives back) and turn
 * its `null` scores, timings and history values back into NaN, in place.
 * A result that never went through JSON is returned unchanged.
 *
 * @example
 * const r = reviveRunResult(JSON.parse(await Deno.readTextFile(f)), f);
 * @param value parsed JSON (or a RunResult)
 * @param file name of the file it came from, for error messages
 * @throws DataFormatError when a required field is missing.
 */
export function reviveRunResult(value: unknown, file = "RunResult JSON"): RunResult {
  const r = value as RunResult;
  if (r === null || typeof r !== "object") {
    throw new DataFormatError(file, "not a RunResult object");
  }
  const required: [keyof RunResult, string][] = [
    ["benchmark", "string"],
    ["setting", "string"],
    ["protocol", "string"],
    ["fold", "string"],
    ["seed", "number"],
    ["repeat", "number"],
    ["metrics", "object"],
    ["perSubject", "object"],
    ["confusion", "object"],
    ["classes", "object"],
    ["timings", "object"],
  ];
  for (const [f, type] of required) {
    if (typeof r[f] !== type || r[f] === null) {
      throw new DataFormatError(file, `RunResult field "${f}" missing or not a ${type}`);
    }
  }
  const m = r.metrics as unknown as Record<string, unknown>;
  for (const key of Object.keys(m)) {
    m[key] = Array.isArray(m[key]) ? (m[key] as unknown[]).map(nanIfNull) : nanIfNull(m[key]);
  }
  for (const ps of r.perSubject) {
    ps.f1Macro = nanIfNull(ps.f1Macro), ps.kappa = nanIfNull(ps.kappa);
    ps.accuracy = nanIfNull(ps.accuracy);
  }
  for (const key of Object.keys(r.timings)) r.timings[key] = nanIfNull(r.timings[key]);
  if (r.history) {
    for (const row of r.history) for (const key of Object.keys(row)) row[key] = nanIfNull(row[key]);
  }
  return r;
}

// ---------------------------------------------------------------------------
// Summary

/** Pooled metric functions by {@link RunMetrics} name (labels as in {@link scoreRun}). */
const POOLED: Record<string, MetricFn> = {
  f1Macro: (t, p) => f1Score(t, p),
  kappa: (t, p) => cohenKappa(t, p),
  accuracy: (t, p) => accuracy(t, p),
  balancedAccuracy: (t, p) => balancedAccuracy(t, p),
  f1Weighted: (t, p) => f1Score(t, p, { average: "weighted" }),
  precisionMacro: (t, p) => precisionScore(t, p),
  recallMacro: (t, p) => recallScore(t, p),
};

/** Metrics {@link RunSubjectScore} holds (usable with `over: "subject"`). */
const PER_SUBJECT = ["f1Macro", "kappa", "accuracy"];

/** Bootstrap settings of {@link summarizeRuns}. */
export interface SummaryBootstrap {
  /** Replicates (default 1000). */
  replicates?: number;
  /** Seed of the subject draws (default 0). */
  seed?: number;
  /** Two-sided level: a (1 − alpha) interval (default 0.05, 95 %). */
  alpha?: number;
}

/** Options of {@link summarizeRuns}. */
export interface SummarizeRunsOptions {
  /** RunResult fields whose values define a row (default `["benchmark", "setting"]`). */
  by?: string[];
  /**
   * Unit of the mean ± sd: `"subject"` (every per-subject score of every
   * fold, ssl-wearables' and Yuan's table; the default) or `"fold"` (the
   * pooled score of each fold).
   */
  over?: "subject" | "fold";
  /** Metrics to summarise (RunMetrics names; default `["f1Macro", "kappa"]`). */
  metrics?: string[];
  /** Subject-bootstrap CI of the pooled scores (default 1000 replicates, seed 0, 95 %); false to skip. */
  bootstrap?: SummaryBootstrap | false;
  /**
   * Published macro F1s shown in a `published` column with `delta` = our
   * mean F1 − published; matched on `method` = setting, `dataset` =
   * benchmark and `protocol` (each when both sides have one).
   */
  published?: PublishedNumber[];
  /** Decimals of the formatted columns (default 3). */
  digits?: number;
  /** Standard-deviation ddof (default 1, pandas / Yuan's table). */
  ddof?: number;
}

/** The value all results of a group share for `field`, else undefined. */
function common(g: RunResult[], field: string): unknown {
  const v = (g[0] as unknown as Record<string, unknown>)[field];
  return g.every((r) => (r as unknown as Record<string, unknown>)[field] === v) ? v : undefined;
}

/**
 * The summary table: one row per group of results (first-appearance
 * order) with columns
 *
 * - the `by` fields;
 * - `folds` (results in the group), `subjects` (distinct test subjects),
 *   `n` (units behind the mean ± sd: subject scores or folds);
 * - per metric `m`: `m` ("mean ± sd" over subjects or folds), `m_mean`,
 *   `m_sd`; `m_pooled` (the metric on all test windows of the group
 *   concatenated), `m_low` / `m_high` (subject-bootstrap percentile CI of
 *   the pooled score) and `m_ci` ("pooled [low, high]"). Pooled values are
 *   NaN when a result has no stored predictions;
 * - `published` and `delta` when `published` is given.
 *
 * NaN scores (an undefined kappa) are left out of means, as in
 * {@link meanSd}.
 *
 * @throws ConfigError for an unknown metric, or a metric not scored per
 *   subject with `over: "subject"`.
 */
export function summarizeRuns(results: RunResult[], opts: SummarizeRunsOptions = {}): Table {
  const by = opts.by ?? ["benchmark", "setting"];
  const over = opts.over ?? "subject";
  const metrics = opts.metrics ?? ["f1Macro", "kappa"];
  const digits = opts.digits ?? 3;
  if (over !== "subject" && over !== "fold") {
    throw new ConfigError(`summarizeRuns: over must be "subject" or "fold", got ${over}`);
  }
  for (const m of metrics) {
    if (!(m in POOLED)) {
      throw new ConfigError(
        `summarizeRuns: unknown metric ${m} (one of ${Object.keys(POOLED).join(", ")})`,
      );
    }
    if (over === "subject" && !PER_SUBJECT.includes(m)) {
      throw new ConfigError(
        `summarizeRuns: ${m} is not scored per subject (${
          PER_SUBJECT.join(", ")
        }); use over: "fold"`,
      );
    }
  }
  const boot = opts.bootstrap === false ? null : {
    nBoot: opts.bootstrap?.replicates ?? 1000,
    seed: opts.bootstrap?.seed ?? 0,
    alpha: opts.bootstrap?.alpha ?? 0.05,
  };
  const groups = new Map<string, RunResult[]>();
  for (const r of results) {
    const key = JSON.stringify(by.map((f) => (r as unknown as Record<string, unknown>)[f] ?? null));
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const rows: Record<string, string | number>[] = [];
  for (const g of groups.values()) {
    const row: Record<string, string | number> = {};
    for (const f of by) {
      const v = (g[0] as unknown as Record<string, unknown>)[f];
      row[f] = typeof v === "number" ? v : v === undefined || v === null ? "" : String(v);
    }
    const subj = g.flatMap((r) => r.perSubject);
    row.folds = g.length;
    row.subjects = new Set(subj.map((s) => s.subject)).size;
    row.n = over === "subject" ? subj.length : g.length;
    const pooled = g.every((r) => r.predictions)
      ? {
        yTrue: Int32Array.from(g.flatMap((r) => r.predictions!.yTrue)),
        yPred: Int32Array.from(g.flatMap((r) => r.predictions!.yPred)),
        subject: g.flatMap((r) => r.predictions!.subject),
      }
      : null;
    const unitMean = (m: string) =>
      meanSd(
        over === "subject"
          ? subj.map((s) => (s as unknown as Record<string, number>)[m])
          : g.map((r) => (r.metrics as unknown as Record<string, number>)[m]),
        { ddof: opts.ddof },
      );
    for (const m of metrics) {
      const s = unitMean(m);
      row[m] = formatMeanSd(s.mean, s.sd, digits);
      row[`${m}_mean`] = s.mean;
      row[`${m}_sd`] = s.sd;
      let est = NaN, low = NaN, high = NaN;
      if (pooled) {
        if (boot) {
          const ci = subjectBootstrap(pooled, POOLED[m], boot);
          est = ci.estimate, low = ci.low, high = ci.high;
        } else est = POOLED[m](pooled.yTrue, pooled.yPred);
      }
      row[`${m}_pooled`] = est;
      row[`${m}_low`] = low;
      row[`${m}_high`] = high;
      row[`${m}_ci`] = !Number.isFinite(est)
        ? "—"
        : Number.isFinite(low)
        ? `${est.toFixed(digits)} [${low.toFixed(digits)}, ${high.toFixed(digits)}]`
        : est.toFixed(digits);
    }
    if (opts.published) {
      const p = findPublished(opts.published, {
        method: common(g, "setting"),
        dataset: common(g, "benchmark"),
        protocol: common(g, "protocol"),
      });
      row.published = p ? p.f1Macro : NaN;
      row.delta = p ? unitMean("f1Macro").mean - p.f1Macro : NaN;
    }
    rows.push(row);
  }
  return aq.from(rows);
}

/** Options of {@link summaryMarkdown}. */
export interface SummaryMarkdownOptions {
  /** Columns to show, in order; default all but the numeric `_mean`/`_sd`/`_pooled`/`_low`/`_high` helpers. */
  columns?: string[];
  /** Decimals of numeric cells (published, delta); default 3. */
  digits?: number;
}

/**
 * GitHub Markdown of a {@link summarizeRuns} table: the group columns,
 * counts, "mean ± sd" and "pooled [CI]" per metric, published and delta.
 */
export function summaryMarkdown(table: Table, opts: SummaryMarkdownOptions = {}): string {
  const columns = opts.columns ??
    table.columnNames().filter((c: string) => !/_(mean|sd|pooled|low|high)$/.test(c));
  return toMarkdown(table, { columns, digits: opts.digits });
}
