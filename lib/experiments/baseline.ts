/**
 * The first baseline: hand-crafted features + random forest, evaluated the
 * way OxWearables ssl-wearables (Yuan et al. 2024) evaluates it.
 *
 * - Windows: 10 s at 30 Hz with 5 s overlap, cut at the device rate and
 *   resized per window (ssl-wearables' `make_ADL.py` / `make_wisdm.py`).
 * - Features: ssl-wearables' `handcraft_features` (22, see lib/features).
 * - Model: their `BalancedRandomForestClassifier(n_estimators=3000,
 *   replacement=True, sampling_strategy="not minority")` ≙ our forest with
 *   `balanced: true, bootstrap: true`.
 * - Protocols: ADL leave-one-subject-out; WISDM watch 5-fold subject-wise.
 *   The forest trains on all non-test subjects (no validation split).
 * - Scores: ssl-wearables scores every *test subject* separately (macro F1
 *   with `zero_division=0` over the labels that subject has, Cohen's kappa)
 *   and reports the mean over subjects: `f1MacroSubjectMean` is that number.
 *   We also report per-fold scores on the pooled fold predictions and a
 *   subject-bootstrap 95 % CI of the pooled macro F1.
 *
 * @example
 * const res = await runRfBaseline({ ...ADL_RF_SPEC, rf: { ...ADL_RF_SPEC.rf, nEstimators: 100 } });
 * console.log(res.summary.f1MacroSubjectMean); // ≈ 0.76 published
 * await writeBaselineResults([res], "results/baseline");
 */
import * as aq from "arquero";
import { join } from "node:path";
import type { Windows } from "../data/types.ts";
import {
  type Benchmark,
  benchmark,
  BENCHMARKS,
  benchmarkWindows,
  deriveBenchmark,
  publishedResult,
} from "../data/benchmarks.ts";
import { leaveOneSubjectOut, subjectKFold, subjectShuffleSplit } from "../data/splits.ts";
import { dataDir } from "../data/paths.ts";
import { ConfigError } from "../errors.ts";
import { extractFeatures, type FeatureSet } from "../features/handcrafted.ts";
import { evaluateDownstream } from "./evaluator.ts";
import type { RandomForestArgs } from "../models/forest.ts";
import { f1Score } from "../eval/metrics.ts";
import { meanSd, subjectBootstrap } from "../eval/bootstrap.ts";
import type { SubjectScore } from "../eval/subjects.ts";
import {
  classificationReportMarkdown,
  type FoldResult,
  type PublishedNumber,
  summaryTable,
  type Table,
  toMarkdown,
  writeTextAtomic,
} from "../eval/tables.ts";

/** Plain-data description of one baseline run. */
export interface RfBaselineSpec {
  /**
   * Registry dataset: `"hmp-adl"` or `"wisdm-watch"` (read from disk), or
   * `"synthetic"` (windows passed in through `RunOptions.windows`).
   */
  dataset: "hmp-adl" | "wisdm-watch" | "synthetic";
  /**
   * Benchmark whose windows are read (`BENCHMARKS` key); default the
   * benchmark of `dataset` (`"hmp-adl"` → `"adl5"`, `"wisdm-watch"` →
   * `"wisdm-watch"`). The fields below override its definition.
   */
  benchmark?: string;
  /** Window rate (Hz); 30 in ssl-wearables. */
  rateHz: number;
  /** Window length (s); 10. */
  windowSec: number;
  /** Window overlap (s); 5. */
  overlapSec: number;
  /**
   * `"loso"`: leave one subject out; `"kfold"`: `k` subject-wise folds (each
   * subject tested once); `"shuffle"`: `k` random 80/20 subject splits
   * (scikit-learn `GroupShuffleSplit`, what ssl-wearables' RF code runs for WISDM).
   */
  protocol: "loso" | "kfold" | "shuffle";
  /** Folds (`"kfold"`) or splits (`"shuffle"`); default 5. */
  k?: number;
  /** Seed of the fold assignment and of the forest. */
  seed: number;
  /** Subjects kept (default: the benchmark's: ADL the paper's 7, WISDM all present). */
  subjects?: string[];
  /** Subjects removed (default: the benchmark's; WISDM: 1616, 1618, 1637, 1639, 1642 as ssl-wearables). */
  excludeSubjects?: string[];
  /** Classes kept, in label order (default: the benchmark's, the paper's selection). */
  classes?: string[];
  /** Feature set; default `"ssl-wearables"`. */
  features?: FeatureSet;
  /** Random-forest hyper-parameters (`seed` defaults to `spec.seed`). */
  rf: RandomForestArgs;
  /** Bootstrap replicates for the pooled-F1 CI; default 1000 (0 = none). */
  nBoot?: number;
  /** Data folder; default `dataDir()`. */
  dataDir?: string;
}

/** The benchmark each readable dataset defaults to. */
const DATASET_BENCHMARK: Partial<Record<RfBaselineSpec["dataset"], string>> = {
  "hmp-adl": "adl5",
  "wisdm-watch": "wisdm-watch",
};

function rfPublished(name: string): number {
  const p = publishedResult(name, "rf-handcrafted");
  if (!p) throw new ConfigError(`benchmark "${name}" has no published rf-handcrafted F1`);
  return p.value;
}

/**
 * The published macro F1 of the RF baseline (the benchmarks' `published`
 * `rf-handcrafted` entries: Yuan et al. 2024, Table 2 / README).
 */
export const PUBLISHED_RF_F1: Partial<Record<RfBaselineSpec["dataset"], number>> = {
  "hmp-adl": rfPublished("adl5"),
  "wisdm-watch": rfPublished("wisdm-watch"),
};

/** Subjects ssl-wearables removed from WISDM watch (the `"wisdm-watch"` benchmark's exclusions). */
export const WISDM_EXCLUDED_SUBJECTS: readonly string[] =
  BENCHMARKS["wisdm-watch"].subjects.exclude;

/** ssl-wearables' balanced random forest (imbalanced-learn < 0.13 defaults). */
export const PAPER_RF_ARGS: RandomForestArgs = {
  nEstimators: 3000,
  balanced: true,
  bootstrap: true,
  maxFeatures: "sqrt",
  minSamplesLeaf: 1,
};

/**
 * The paper's RF baseline spec for a benchmark: its dataset, windowing,
 * subjects, classes and default protocol (`"loso"`, or `"kfold"` with its
 * `k`), seed 42, ssl-wearables' features and {@link PAPER_RF_ARGS}.
 *
 * @throws ConfigError when the benchmark's dataset has no RF reader here.
 */
export function rfBaselineSpec(b: Benchmark | string): RfBaselineSpec {
  const bm = typeof b === "string" ? benchmark(b) : b;
  const dataset = bm.datasets[0] as RfBaselineSpec["dataset"];
  if (bm.datasets.length !== 1 || !(dataset in DATASET_BENCHMARK)) {
    throw new ConfigError(
      `rfBaselineSpec: benchmark "${bm.name}" reads ${bm.datasets.join(", ")}; ` +
        `the baseline reads ${Object.keys(DATASET_BENCHMARK).join(", ")}`,
    );
  }
  const p = bm.protocol;
  return {
    dataset,
    ...(DATASET_BENCHMARK[dataset] === bm.name ? {} : { benchmark: bm.name }),
    rateHz: bm.rateHz,
    windowSec: bm.windowSec,
    overlapSec: bm.overlapSec,
    ...(p.kind === "loso" ? { protocol: "loso" as const } : { protocol: "kfold" as const, k: p.k }),
    seed: 42,
    ...(bm.subjects.keep ? { subjects: [...bm.subjects.keep] } : {}),
    ...(bm.subjects.exclude.length ? { excludeSubjects: [...bm.subjects.exclude] } : {}),
    classes: [...bm.classes],
    features: "ssl-wearables",
    rf: PAPER_RF_ARGS,
  };
}

/** ADL (HMP, 7 subjects, 5 classes), leave one subject out, paper hyper-parameters (benchmark `"adl5"`). */
export const ADL_RF_SPEC: RfBaselineSpec = rfBaselineSpec("adl5");

/** WISDM watch (18 classes), 5-fold subject-wise, paper hyper-parameters (benchmark `"wisdm-watch"`). */
export const WISDM_RF_SPEC: RfBaselineSpec = rfBaselineSpec("wisdm-watch");

/** Scores of one test subject (the unit ssl-wearables averages over), with its fold. */
export interface FoldSubjectScore extends SubjectScore {
  fold: number;
}

/** Scores of one fold on its pooled test predictions. */
export interface FoldScore {
  fold: number;
  testSubjects: string[];
  nTrain: number;
  nTest: number;
  f1Macro: number;
  kappa: number;
  accuracy: number;
  balancedAccuracy: number;
  /** Confusion matrix over all classes (rows true, columns predicted, `classes` order). */
  confusion: number[][];
  /** Forest training time (s). */
  trainSec: number;
}

/** Everything a baseline run produces (JSON-serialisable). */
export interface RfBaselineResult {
  experiment: "rf-baseline";
  spec: RfBaselineSpec;
  classes: string[];
  nWindows: number;
  windowsPerClass: Record<string, number>;
  subjects: string[];
  featureNames: string[];
  folds: FoldScore[];
  perSubject: FoldSubjectScore[];
  /** Pooled out-of-fold predictions (loso/kfold: every window once; shuffle: as drawn). */
  pooled: { yTrue: number[]; yPred: number[]; subject: string[] };
  summary: {
    /** ssl-wearables' number: mean macro F1 over test subjects. */
    f1MacroSubjectMean: number;
    f1MacroSubjectSd: number;
    kappaSubjectMean: number;
    kappaSubjectSd: number;
    /** Mean ± sd over folds of the pooled fold scores. */
    f1MacroFoldMean: number;
    f1MacroFoldSd: number;
    kappaFoldMean: number;
    kappaFoldSd: number;
    /** Macro F1 of all out-of-fold predictions, with a subject-bootstrap 95 % CI. */
    f1MacroPooled: number;
    f1MacroPooledCi: [number, number] | null;
    /** Published macro F1 for this dataset and protocol, or null (e.g. synthetic data). */
    published: number | null;
  };
  /** Mean forest feature importance per feature name (over folds). */
  featureImportances: Record<string, number>;
  durationsSec: { data: number; features: number; train: number; total: number };
  createdAt: string;
}

/**
 * The windows of a baseline spec: its benchmark (`spec.benchmark`, else the
 * one of `spec.dataset`) with the spec's subjects, exclusions, classes and
 * windowing, via `benchmarkWindows`.
 *
 * @throws DatasetUnavailableError when the dataset is absent; ConfigError for
 *   a dataset without a reader here (`"synthetic"`: pass `RunOptions.windows`).
 */
export async function baselineWindows(spec: RfBaselineSpec): Promise<Windows> {
  const name = spec.benchmark ?? DATASET_BENCHMARK[spec.dataset];
  if (!name) {
    throw new ConfigError(
      `runRfBaseline: dataset "${spec.dataset}" has no reader here; pass its windows in RunOptions.windows`,
    );
  }
  const b = deriveBenchmark(name, {
    subjects: spec.subjects,
    excludeSubjects: spec.excludeSubjects,
    classes: spec.classes,
    rateHz: spec.rateHz,
    windowSec: spec.windowSec,
    overlapSec: spec.overlapSec,
  });
  return await benchmarkWindows(b, { dataDir: spec.dataDir ?? dataDir() });
}

/** Options of {@link runRfBaseline}. */
export interface RunOptions {
  /** Progress messages (default: none). */
  log?: (message: string) => void;
  /** Use these windows instead of reading the dataset (tests, notebooks). */
  windows?: Windows;
}

/**
 * Run the hand-crafted-features + random-forest baseline of `spec`.
 *
 * @throws DatasetUnavailableError when the data is absent; ConfigError on a bad spec.
 */
export async function runRfBaseline(
  spec: RfBaselineSpec,
  options: RunOptions = {},
): Promise<RfBaselineResult> {
  const log = options.log ?? (() => {});
  const t0 = performance.now();
  const w = options.windows ?? await baselineWindows(spec);
  const tData = performance.now();
  if (w.n === 0) throw new ConfigError(`runRfBaseline: no windows for ${spec.dataset}`);
  log(
    `${spec.dataset}: ${w.n} windows, ${
      new Set(w.subject).size
    } subjects, ${w.classes.length} classes`,
  );
  const feats = extractFeatures(w, { set: spec.features ?? "ssl-wearables" });
  const tFeat = performance.now();
  log(`features: ${feats.nFeatures} per window (${((tFeat - tData) / 1000).toFixed(1)} s)`);

  const folds = spec.protocol === "loso"
    ? leaveOneSubjectOut(w.subject, { valSubjects: 0 })
    : spec.protocol === "kfold"
    ? subjectKFold(w.subject, { k: spec.k ?? 5, seed: spec.seed, valFraction: 0 })
    : spec.protocol === "shuffle"
    ? subjectShuffleSplit(w.subject, {
      nSplits: spec.k ?? 5,
      seed: spec.seed,
      testFraction: 0.2,
      valFraction: 0,
    })
    : (() => {
      throw new ConfigError(
        `runRfBaseline: protocol must be "loso", "kfold" or "shuffle", got "${spec.protocol}"`,
      );
    })();

  // the forest of each fold: the evaluator's rf setting (trained on train + val)
  const runs = await evaluateDownstream({
    experiment: "rf-baseline",
    benchmark: spec.benchmark ?? spec.dataset,
    protocol: protocolLabel(spec),
    windows: w,
    folds,
    settings: [{ kind: "rf" }],
    rf: spec.rf,
    rfFeatures: feats,
    seed: spec.seed,
  });
  const foldScores: FoldScore[] = [];
  const perSubject: FoldSubjectScore[] = [];
  const pooled = { yTrue: [] as number[], yPred: [] as number[], subject: [] as string[] };
  const importance = new Float64Array(feats.nFeatures);
  let trainTotal = 0;
  for (const [fi, r] of runs.entries()) {
    trainTotal += r.timings.fitSec;
    feats.names.forEach((
      n,
      j,
    ) => (importance[j] += (r.featureImportances?.[n] ?? 0) / runs.length));
    foldScores.push({
      fold: fi,
      testSubjects: r.testSubjects,
      nTrain: r.nTrain ?? NaN,
      nTest: r.predictions!.yTrue.length,
      f1Macro: r.metrics.f1Macro,
      kappa: r.metrics.kappa,
      accuracy: r.metrics.accuracy,
      balancedAccuracy: r.metrics.balancedAccuracy,
      confusion: r.confusion,
      trainSec: r.timings.fitSec,
    });
    for (const sc of r.perSubject) {
      perSubject.push({
        subject: sc.subject,
        n: sc.n,
        f1Macro: sc.f1Macro,
        kappa: sc.kappa,
        fold: fi,
      });
    }
    // loops, not push(...): a fold of > ~120 k windows would overflow the call stack
    for (const v of r.predictions!.yTrue) pooled.yTrue.push(v);
    for (const v of r.predictions!.yPred) pooled.yPred.push(v);
    for (const v of r.predictions!.subject) pooled.subject.push(v);
    log(
      `fold ${fi + 1}/${folds.length} test ${r.testSubjects.join(",")}: F1 ${
        r.metrics.f1Macro.toFixed(3)
      } kappa ${r.metrics.kappa.toFixed(3)} (train ${r.nTrain}, ${r.timings.fitSec.toFixed(1)} s)`,
    );
  }
  const subjF1 = meanSd(perSubject.map((s) => s.f1Macro));
  const subjK = meanSd(perSubject.map((s) => s.kappa));
  const foldF1 = meanSd(foldScores.map((s) => s.f1Macro));
  const foldK = meanSd(foldScores.map((s) => s.kappa));
  const nBoot = spec.nBoot ?? 1000;
  const ci = nBoot > 0
    ? subjectBootstrap(pooled, (t, p) => f1Score(t, p), { nBoot, seed: spec.seed })
    : null;
  const windowsPerClass: Record<string, number> = {};
  w.classes.forEach((c) => (windowsPerClass[c] = 0));
  for (let i = 0; i < w.n; i++) if (w.y[i] >= 0) windowsPerClass[w.classes[w.y[i]]]++;
  const tEnd = performance.now();
  return {
    experiment: "rf-baseline",
    spec,
    classes: w.classes,
    nWindows: w.n,
    windowsPerClass,
    subjects: [...new Set(w.subject)].sort(),
    featureNames: feats.names,
    folds: foldScores,
    perSubject,
    pooled,
    summary: {
      f1MacroSubjectMean: subjF1.mean,
      f1MacroSubjectSd: subjF1.sd,
      kappaSubjectMean: subjK.mean,
      kappaSubjectSd: subjK.sd,
      f1MacroFoldMean: foldF1.mean,
      f1MacroFoldSd: foldF1.sd,
      kappaFoldMean: foldK.mean,
      kappaFoldSd: foldK.sd,
      f1MacroPooled: f1Score(pooled.yTrue, pooled.yPred),
      f1MacroPooledCi: ci ? [ci.low, ci.high] : null,
      published: PUBLISHED_RF_F1[spec.dataset] ?? null,
    },
    featureImportances: Object.fromEntries(feats.names.map((n, j) => [n, importance[j]])),
    durationsSec: {
      data: (tData - t0) / 1000,
      features: (tFeat - tData) / 1000,
      train: trainTotal,
      total: (tEnd - t0) / 1000,
    },
    createdAt: new Date().toISOString(),
  };
}

/** Protocol label used in tables: `"loso"` or `"kfold5"`. */
function protocolLabel(spec: RfBaselineSpec): string {
  return spec.protocol === "loso" ? "loso" : `${spec.protocol}${spec.k ?? 5}`;
}

/**
 * Paper-style table of baseline results: per dataset, macro F1 and kappa as
 * "mean ± sd" over test subjects (ssl-wearables' unit) next to the
 * published F1, plus the fold-level mean and the pooled F1 with its CI.
 */
export function baselineTable(results: RfBaselineResult[]): Table {
  const rows: FoldResult[] = results.flatMap((r) =>
    r.perSubject.map((s) => ({
      dataset: r.spec.dataset,
      protocol: protocolLabel(r.spec),
      method: "rf-handcrafted",
      fold: s.subject,
      f1Macro: s.f1Macro,
      kappa: s.kappa,
    }))
  );
  const published: PublishedNumber[] = results.flatMap((r) =>
    r.summary.published === null ? [] : [{
      dataset: r.spec.dataset,
      method: "rf-handcrafted",
      f1Macro: r.summary.published,
      source: "Yuan et al. 2024 (ssl-wearables)",
    }]
  );
  const t = summaryTable(rows, { published, unit: "subject" });
  const extra = results.map((r) => ({
    folds: r.folds.length,
    f1FoldMean: r.summary.f1MacroFoldMean,
    f1Pooled: r.summary.f1MacroPooled,
    f1PooledCi95: r.summary.f1MacroPooledCi
      ? `[${r.summary.f1MacroPooledCi[0].toFixed(3)}, ${r.summary.f1MacroPooledCi[1].toFixed(3)}]`
      : "",
    windows: r.nWindows,
    trees: r.spec.rf.nEstimators ?? 100,
  }));
  // folds next to the test subjects (one row per subject behind the mean ± sd)
  const all = t.assign(aq.from(extra));
  const cols = all.columnNames() as string[];
  const at = cols.indexOf("subjects");
  return all.select([
    ...cols.slice(0, at).filter((c) => c !== "folds"),
    "folds",
    ...cols.slice(at).filter((c) => c !== "folds"),
  ]);
}

/**
 * Per-class precision / recall / F1 / support of each result's pooled
 * out-of-fold predictions (scikit-learn's classification_report), as
 * Markdown sections for under the summary table.
 */
export function baselineReports(results: RfBaselineResult[]): string {
  return results.map((r) =>
    [
      `### ${r.spec.dataset}: per class (all out-of-fold predictions)`,
      "",
      classificationReportMarkdown(r.pooled.yTrue, r.pooled.yPred, r.classes),
    ].join("\n")
  ).join("\n");
}

/**
 * Write results atomically to `dir`: `<dataset>.json` per result and
 * `summary.md` / `summary.csv` with the paper-style table.
 *
 * @returns the paths written
 */
export async function writeBaselineResults(
  results: RfBaselineResult[],
  dir = "results/baseline",
): Promise<string[]> {
  const paths: string[] = [];
  for (const r of results) {
    const p = join(dir, `${r.spec.dataset}.json`);
    await writeTextAtomic(p, JSON.stringify(r, null, 1));
    paths.push(p);
  }
  const table = baselineTable(results);
  const md = [
    "# Random forest on hand-crafted features (ssl-wearables baseline)",
    "",
    "F1 macro and Cohen's kappa: mean ± sd over test subjects (ssl-wearables' unit);",
    "published F1: Yuan et al. 2024 / ssl-wearables README. F1 mean over folds: mean of the",
    "per-fold pooled F1; pooled F1: all out-of-fold predictions, with a subject-bootstrap 95 % CI.",
    "",
    toMarkdown(table),
    baselineReports(results),
  ].join("\n");
  const mdPath = join(dir, "summary.md");
  await writeTextAtomic(mdPath, md);
  const csvPath = join(dir, "summary.csv");
  await writeTextAtomic(csvPath, table.toCSV());
  paths.push(mdPath, csvPath);
  return paths;
}
