/**
 * The quickstart: the shortest path from raw accelerometer files to an
 * evaluated model. Picks its data in this order (see {@link quickstartData}):
 *
 * 1. WISDM 2019 watch accelerometer when its files are in the data folder
 *    (`$HAR_DATA_DIR`, or `./datasets` after `deno task har download wisdm-watch`):
 *    the `wisdm-watch` benchmark, subject-wise 5-fold;
 * 2. else the **real HMP ADL sample shipped with the project**
 *    (`datasets/hmp-adl-sample/`, the trial files of the `adl5` benchmark:
 *    7 subjects, 5 classes, 635 windows): leave one subject out, comparable
 *    with ssl-wearables' published random forest (F1 0.764);
 * 3. the built-in **synthetic** dataset only on request (`source: "synthetic"`,
 *    tests) or when the sample folder is missing, clearly labelled.
 *
 * Windows are 30 Hz, 10 s with 5 s overlap (the benchmark's preparation);
 * the hand-crafted-features + random-forest baseline is trained and scored
 * per test subject; {@link writeQuickstart} writes the table and figures,
 * without run times or dates, so the same data and scale give byte-identical
 * text files.
 *
 * @example
 * const data = await quickstartData({ scale: "smoke" }); // fresh clone: the ADL sample
 * const run = await runQuickstart(data, { scale: "smoke" });
 * console.log(toMarkdown(run.table));
 * await writeQuickstart(run, "out/quickstart");
 */
import { join } from "node:path";
import { loadDataset, locateDataset } from "../data/registry.ts";
import { dataDir, PROJECT_ROOT } from "../data/paths.ts";
import { SYNTHETIC_CLASSES, syntheticRecordings } from "../data/synthetic.ts";
import type { Recording, Windows } from "../data/types.ts";
import {
  type Benchmark,
  BENCHMARKS,
  benchmarkSubjects,
  benchmarkWindows,
} from "../data/benchmarks.ts";
import { makeWindows } from "../signal/windows.ts";
import { f1PerClass } from "../eval/metrics.ts";
import {
  classificationReportMarkdown,
  type Table,
  toMarkdown,
  writeTextAtomic,
} from "../eval/tables.ts";
import type { Figure } from "../plots/plotly.ts";
import { plotConfusion, plotPerClassF1 } from "../plots/figures.ts";
import { ChromiumUnavailableError, exportFigures } from "../plots/export.ts";
import {
  baselineTable,
  baselineWindows,
  type RfBaselineResult,
  type RfBaselineSpec,
  runRfBaseline,
} from "./baseline.ts";

/** How big a quickstart run is. */
export type QuickstartScale = "smoke" | "laptop";

/**
 * The data a quickstart runs on: `"wisdm-watch"` (real, from the data
 * folder), `"hmp-adl-sample"` (real, shipped in `datasets/hmp-adl-sample/`)
 * or `"synthetic"` (built-in, not real HAR).
 */
export type QuickstartSource = "wisdm-watch" | "hmp-adl-sample" | "synthetic";

/** Options of the quickstart (plain data). */
export interface QuickstartArgs {
  /**
   * `"smoke"`: at most 8 subjects, 50 trees, seconds (tests, CI); `"laptop"`:
   * all subjects, 300 trees. The ADL sample has 7 subjects at both scales.
   */
  scale?: QuickstartScale;
  /** Folder searched for WISDM watch; default `dataDir()` (`$HAR_DATA_DIR` or `./datasets`). */
  dataDir?: string;
  /**
   * Which data: `"auto"` (default; WISDM watch when present under `dataDir`,
   * else the shipped ADL sample, else synthetic) or one source by name
   * (`"hmp-adl-sample"` fails with `DatasetUnavailableError` when the sample
   * folder is missing, `"wisdm-watch"` when WISDM is absent).
   */
  source?: "auto" | QuickstartSource;
  /** Force the synthetic dataset (same as `source: "synthetic"`). */
  synthetic?: boolean;
  /** Seed of folds and forest (default 42). */
  seed?: number;
}

/** The data a quickstart runs on. */
export interface QuickstartData {
  /** Which data this is. */
  source: QuickstartSource;
  /**
   * One line saying what the data is (printed by the tool and the notebook,
   * written into `summary.md`); no machine-specific path for the ADL sample
   * and the synthetic data, so their outputs are the same on every machine.
   */
  note: string;
  /** Why this source was chosen when another was looked for first (e.g. no WISDM files under `dir`), or undefined. */
  fallback?: string;
  /** One raw recording, for plotting. */
  example: Recording;
  /** The windows the baseline is trained on (30 Hz, 10 s, 5 s overlap). */
  windows: Windows;
}

/** Scale-dependent settings (`k`: folds of the k-fold protocols; the ADL sample uses LOSO). */
export const QUICKSTART_SCALES: Record<
  QuickstartScale,
  { subjects: number; trees: number; k: number }
> = {
  smoke: { subjects: 8, trees: 50, k: 4 },
  laptop: { subjects: Infinity, trees: 300, k: 5 },
};

/** The benchmark the quickstart runs on when WISDM watch is present. */
const WISDM = BENCHMARKS["wisdm-watch"];

/** The benchmark's windowing, used for the synthetic fallback too. */
const WINDOWING = {
  rateHz: WISDM.rateHz,
  windowSec: WISDM.windowSec,
  overlapSec: WISDM.overlapSec,
};

/**
 * The data folder holding the shipped sample (`<project>/datasets`, whatever
 * `$HAR_DATA_DIR` says): `hmp-adl-sample/` below it.
 */
export const SAMPLE_DATA_DIR: string = join(PROJECT_ROOT, "datasets");

/**
 * The `adl5` benchmark read from the shipped sample: the same definition
 * (subjects, classes, `_MODEL` trials, windowing, LOSO, published numbers)
 * on the registry dataset `"hmp-adl-sample"`, which holds exactly the trial
 * files `adl5` reads, so its windows are `adl5`'s 635.
 *
 * @example
 * const w = await benchmarkWindows(ADL5_SAMPLE, { dataDir: SAMPLE_DATA_DIR }); // 635 windows
 */
export const ADL5_SAMPLE: Benchmark = { ...BENCHMARKS.adl5, datasets: ["hmp-adl-sample"] };

/** The folder holding the WISDM watch accelerometer files, or null. */
async function wisdmWatchFolder(dir: string): Promise<string | null> {
  const root = await locateDataset("wisdm-watch", dir);
  return root ? join(root, "raw", "watch", "accel") : null;
}

/** WISDM watch subject ids present under `dir` (sorted), or [] when absent. */
export async function wisdmWatchSubjects(dir = dataDir()): Promise<string[]> {
  const root = await wisdmWatchFolder(dir);
  if (!root) return [];
  const ids: string[] = [];
  for await (const e of Deno.readDir(root)) {
    const m = /^data_(\d+)_accel_watch\.txt(\.gz)?$/.exec(e.name);
    if (m) ids.push(m[1]);
  }
  return ids.sort();
}

/** The quickstart's baseline spec for the chosen data and scale. */
export function quickstartSpec(
  source: QuickstartSource,
  args: QuickstartArgs = {},
  subjects?: string[],
): RfBaselineSpec {
  const scale = QUICKSTART_SCALES[args.scale ?? "laptop"];
  const rf = {
    nEstimators: scale.trees,
    balanced: true,
    maxFeatures: "sqrt" as const,
    bootstrap: true,
  };
  if (source === "hmp-adl-sample") {
    // adl5 as the paper runs it (leave one subject out), windows passed in from the sample
    return {
      dataset: "hmp-adl",
      ...WINDOWING,
      protocol: "loso",
      seed: args.seed ?? 42,
      subjects,
      classes: [...ADL5_SAMPLE.classes],
      features: "ssl-wearables",
      rf,
      nBoot: 200,
    };
  }
  return {
    dataset: source,
    ...WINDOWING,
    protocol: "kfold",
    k: scale.k,
    seed: args.seed ?? 42,
    subjects,
    excludeSubjects: source === "wisdm-watch" ? [...WISDM.subjects.exclude] : undefined,
    classes: source === "wisdm-watch" ? [...WISDM.classes] : [...SYNTHETIC_CLASSES],
    features: "ssl-wearables",
    rf,
    nBoot: 200,
    dataDir: args.dataDir,
  };
}

/** The shipped ADL sample as quickstart data (the `adl5` windows, a walk trial to plot). */
async function adlSampleData(fallback?: string): Promise<QuickstartData> {
  const windows = await benchmarkWindows(ADL5_SAMPLE, { dataDir: SAMPLE_DATA_DIR });
  const subjects = [...new Set(windows.subject)].sort();
  const walks = await loadDataset("hmp-adl-sample", {
    dir: SAMPLE_DATA_DIR,
    subjects: [subjects[0]],
    classes: ["walk"],
  });
  // the longest walk trial (ties: the first in file order), to plot a few windows of it
  const example = walks.reduce((a, b) => (b.axes[0].length > a.axes[0].length ? b : a));
  return {
    source: "hmp-adl-sample",
    note: `HMP ADL wrist accelerometer (real data, shipped in datasets/hmp-adl-sample): ` +
      `ssl-wearables' ADL-5 benchmark (adl5), ${subjects.length} subjects, ` +
      `${windows.classes.length} classes, ${windows.n} windows, leave one subject out`,
    ...(fallback ? { fallback } : {}),
    example,
    windows,
  };
}

/** True when the shipped sample folder is present. */
async function samplePresent(): Promise<boolean> {
  return (await locateDataset("hmp-adl-sample", SAMPLE_DATA_DIR)) !== null;
}

/**
 * Load the quickstart's data (`args.source`, default `"auto"`): WISDM watch
 * when present under `args.dataDir`, else the shipped ADL sample, else (no
 * sample folder) synthetic.
 *
 * @throws DatasetUnavailableError when a source named in `args.source` is absent
 */
export async function quickstartData(args: QuickstartArgs = {}): Promise<QuickstartData> {
  const scale = QUICKSTART_SCALES[args.scale ?? "laptop"];
  const dir = args.dataDir ?? dataDir();
  const want = args.synthetic ? "synthetic" : (args.source ?? "auto");
  if (want === "hmp-adl-sample") return await adlSampleData();
  const present = want === "auto" || want === "wisdm-watch" ? await wisdmWatchSubjects(dir) : [];
  const usable = benchmarkSubjects(WISDM, present);
  if (want === "wisdm-watch" && usable.length < 2) {
    // let the benchmark reader say what is missing and how to get it
    await benchmarkWindows(WISDM, { dataDir: dir });
  }
  if (usable.length >= 2) {
    const subjects = usable.slice(0, Math.min(usable.length, scale.subjects));
    const spec = quickstartSpec("wisdm-watch", args, subjects);
    const windows = await baselineWindows(spec);
    const { readWisdm } = await import("../data/wisdm.ts");
    const root = (await wisdmWatchFolder(dir))!;
    const file = [".txt.gz", ".txt"].map((e) => join(root, `data_${subjects[0]}_accel_watch${e}`))
      .find((p) => {
        try {
          return Deno.statSync(p).isFile;
        } catch {
          return false;
        }
      })!;
    return {
      source: "wisdm-watch",
      note: `WISDM 2019 watch accelerometer (real data): ${subjects.length} of ${present.length} ` +
        `subjects from ${root}`,
      example: await readWisdm(file),
      windows,
    };
  }
  if (want === "auto" && await samplePresent()) {
    // a fresh clone: no message; a data folder was named but holds no WISDM: say so
    return await adlSampleData(
      dir === SAMPLE_DATA_DIR ? undefined : `no WISDM watch files under ${dir}: ` +
        "running on the shipped ADL sample (datasets/hmp-adl-sample)",
    );
  }
  const recs = syntheticRecordings({
    subjects: Number.isFinite(scale.subjects) ? scale.subjects : 12,
    rateHz: WINDOWING.rateHz,
    seed: args.seed ?? 42,
  });
  return {
    source: "synthetic",
    note: want === "synthetic"
      ? "SYNTHETIC data (requested): numbers below say nothing about real HAR"
      : `SYNTHETIC data (no WISDM watch files found under ${dir} and no sample in ` +
        `${join(SAMPLE_DATA_DIR, "hmp-adl-sample")}): numbers below say nothing about real HAR`,
    example: recs[0],
    windows: makeWindows(recs, {
      ...WINDOWING,
      labelPolicy: "pure",
      classes: [...SYNTHETIC_CLASSES],
    }),
  };
}

/** What {@link runQuickstart} returns. */
export interface QuickstartRun {
  data: QuickstartData;
  result: RfBaselineResult;
  /** Paper-style table (arquero): F1 macro and kappa mean ± sd over test subjects. */
  table: Table;
  /** Per-class F1 of the pooled out-of-fold predictions, in `result.classes` order. */
  perClassF1: number[];
  /** Summed confusion matrix over folds (rows true, columns predicted). */
  confusion: number[][];
  figures: { confusion: Figure; perClassF1: Figure };
}

/** Train and evaluate the baseline on the quickstart data. */
export async function runQuickstart(
  data: QuickstartData,
  args: QuickstartArgs = {},
  log: (msg: string) => void = () => {},
): Promise<QuickstartRun> {
  const subjects = [...new Set(data.windows.subject)].sort();
  const spec = quickstartSpec(data.source, args, subjects);
  const result = await runRfBaseline(spec, { windows: data.windows, log });
  // WISDM's published number is for all subjects and 5 folds: not next to a smoke subset.
  // (The ADL sample is the whole adl5 benchmark at every scale; synthetic has none.)
  if (data.source === "wisdm-watch" && (args.scale ?? "laptop") !== "laptop") {
    result.summary.published = null;
  }
  const k = result.classes.length;
  const confusion = Array.from({ length: k }, () => new Array(k).fill(0));
  for (const f of result.folds) {
    f.confusion.forEach((row, i) => row.forEach((v, j) => (confusion[i][j] += v)));
  }
  const perClassF1 = f1PerClass(result.pooled.yTrue, result.pooled.yPred, {
    labels: result.classes.map((_, i) => i),
  });
  const tag = data.source === "synthetic" ? " (SYNTHETIC data)" : "";
  return {
    data,
    result,
    table: baselineTable([result]),
    perClassF1,
    confusion,
    figures: {
      confusion: plotConfusion(confusion, result.classes, {
        normalize: true,
        title: `Random forest, ${
          spec.protocol === "loso" ? "leave one subject out" : `${spec.k}-fold by subject`
        }: confusion (row-normalised)${tag}`,
      }),
      perClassF1: plotPerClassF1(result.classes, perClassF1, {
        title: `Per-class F1, pooled out-of-fold predictions${tag}`,
      }),
    },
  };
}

/**
 * The run as written to `result.json`: the baseline result without what
 * differs between two runs of the same command (durations, fold training
 * times, the creation date) or is bulky (pooled predictions).
 */
export function quickstartRecord(run: QuickstartRun): Record<string, unknown> {
  const { pooled: _p, durationsSec: _d, createdAt: _c, folds, ...rest } = run.result;
  return {
    source: run.data.source,
    note: run.data.note,
    ...rest,
    folds: folds.map(({ trainSec: _t, ...f }) => f),
  };
}

/**
 * Write the quickstart's outputs to `dir`: `summary.md`, `summary.csv`,
 * `result.json` ({@link quickstartRecord}) and `confusion.{png,html}`,
 * `per_class_f1.{png,html}`. Nothing written depends on the time or the
 * machine's speed: the same data, scale and seed give byte-identical text
 * and HTML files. PNGs need Chromium; without it only the HTML is written
 * (with a warning).
 *
 * @returns the paths written
 */
export async function writeQuickstart(run: QuickstartRun, dir: string): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const md = [
    "# Quickstart: hand-crafted features + random forest",
    "",
    `Data: ${run.data.note}.`,
    "",
    toMarkdown(run.table),
    "## Per class (all out-of-fold predictions)",
    "",
    classificationReportMarkdown(
      run.result.pooled.yTrue,
      run.result.pooled.yPred,
      run.result.classes,
    ),
  ].join("\n");
  const paths = [join(dir, "summary.md"), join(dir, "summary.csv"), join(dir, "result.json")];
  await writeTextAtomic(paths[0], md);
  await writeTextAtomic(paths[1], run.table.toCSV());
  await writeTextAtomic(paths[2], JSON.stringify(quickstartRecord(run)));
  const jobs = [
    { fig: run.figures.confusion, basePath: join(dir, "confusion") },
    { fig: run.figures.perClassF1, basePath: join(dir, "per_class_f1") },
  ];
  let formats: ("html" | "png")[] = ["html", "png"];
  try {
    await exportFigures(jobs, { formats });
  } catch (e) {
    if (!(e instanceof ChromiumUnavailableError)) throw e;
    console.warn(`quickstart: ${e.message}; writing HTML figures only`);
    formats = ["html"];
    await exportFigures(jobs, { formats });
  }
  for (const j of jobs) for (const f of formats) paths.push(`${j.basePath}.${f}`);
  return paths;
}
