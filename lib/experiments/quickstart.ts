/**
 * The quickstart: the shortest path from raw accelerometer files to an
 * evaluated model. Loads WISDM watch data when it is present (in
 * `datasets/` or `$HAR_DATA_DIR`), otherwise a built-in **synthetic** dataset
 * (clearly labelled); windows it (30 Hz, 10 s, 5 s overlap); trains the
 * hand-crafted-features + random-forest baseline with subject-wise k-fold;
 * returns the paper-style table and the figures, and writes them to
 * `results/quickstart/`.
 *
 * @example
 * const data = await quickstartData({ scale: "smoke" });
 * const run = await runQuickstart(data, { scale: "smoke" });
 * console.log(toMarkdown(run.table));
 * await writeQuickstart(run, "results/quickstart");
 */
import { join } from "node:path";
import { locateDataset } from "../data/registry.ts";
import { dataDir } from "../data/paths.ts";
import { SYNTHETIC_CLASSES, syntheticRecordings } from "../data/synthetic.ts";
import type { Recording, Windows } from "../data/types.ts";
import { BENCHMARKS, benchmarkSubjects } from "../data/benchmarks.ts";
import { makeWindows } from "../signal/windows.ts";
import { f1PerClass } from "../eval/metrics.ts";
import { type Table, toMarkdown, writeTextAtomic } from "../eval/tables.ts";
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

/** Options of the quickstart (plain data). */
export interface QuickstartArgs {
  /** `"smoke"`: 8 subjects, 50 trees, seconds (tests, CI); `"laptop"`: all subjects, 300 trees. */
  scale?: QuickstartScale;
  /** Data folder; default `dataDir()` (`$HAR_DATA_DIR` or `./datasets`). */
  dataDir?: string;
  /** Force the synthetic dataset even when WISDM is present. */
  synthetic?: boolean;
  /** Seed of folds and forest (default 42). */
  seed?: number;
}

/** The data a quickstart runs on. */
export interface QuickstartData {
  /** `"wisdm-watch"` (real data) or `"synthetic"` (built-in, not real HAR). */
  source: "wisdm-watch" | "synthetic";
  /** One line saying what the data is (printed by the tool and the notebook). */
  note: string;
  /** One raw recording, for plotting. */
  example: Recording;
  /** The windows the baseline is trained on (30 Hz, 10 s, 5 s overlap). */
  windows: Windows;
}

/** Scale-dependent settings. */
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
  source: QuickstartData["source"],
  args: QuickstartArgs = {},
  subjects?: string[],
): RfBaselineSpec {
  const scale = QUICKSTART_SCALES[args.scale ?? "laptop"];
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
    rf: { nEstimators: scale.trees, balanced: true, maxFeatures: "sqrt", bootstrap: true },
    nBoot: 200,
    dataDir: args.dataDir,
  };
}

/** Load the quickstart's data: WISDM watch when present, else synthetic. */
export async function quickstartData(args: QuickstartArgs = {}): Promise<QuickstartData> {
  const scale = QUICKSTART_SCALES[args.scale ?? "laptop"];
  const dir = args.dataDir ?? dataDir();
  const present = args.synthetic ? [] : await wisdmWatchSubjects(dir);
  const usable = benchmarkSubjects(WISDM, present);
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
  const recs = syntheticRecordings({
    subjects: Number.isFinite(scale.subjects) ? scale.subjects : 12,
    rateHz: WINDOWING.rateHz,
    seed: args.seed ?? 42,
  });
  return {
    source: "synthetic",
    note: `SYNTHETIC data (no WISDM watch files found under ${dir}; set HAR_DATA_DIR or run ` +
      "`deno task har download wisdm-watch`): numbers below say nothing about real HAR",
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
  // The published number is for all subjects and 5 folds: don't print it next to a subset.
  if ((args.scale ?? "laptop") !== "laptop") result.summary.published = null;
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
        title: `Random forest, ${spec.k}-fold by subject: confusion (row-normalised)${tag}`,
      }),
      perClassF1: plotPerClassF1(result.classes, perClassF1, {
        title: `Per-class F1, pooled out-of-fold predictions${tag}`,
      }),
    },
  };
}

/**
 * Write the quickstart's outputs to `dir`: `summary.md`, `summary.csv`,
 * `result.json` and `confusion.{png,html}`, `per_class_f1.{png,html}`.
 * PNGs need Chromium; without it only the HTML is written (with a warning).
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
    "",
  ].join("\n");
  const paths = [join(dir, "summary.md"), join(dir, "summary.csv"), join(dir, "result.json")];
  await writeTextAtomic(paths[0], md);
  await writeTextAtomic(paths[1], run.table.toCSV());
  await writeTextAtomic(
    paths[2],
    JSON.stringify({
      source: run.data.source,
      note: run.data.note,
      ...run.result,
      pooled: undefined,
    }),
  );
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
