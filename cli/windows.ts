/**
 * `har windows`: read a registered dataset, resample it, cut sliding windows
 * and write the ssl-wearables triple `X.npy` (float32), `Y.npy` (class
 * names, unicode), `pid.npy` (subjects, unicode), plus `info.json` (the
 * arguments, classes, counts and what was dropped).
 *
 * `--benchmark <name>` writes a labelled benchmark's reference windows
 * instead (`lib/data/benchmarks.ts`: `adl5` gives ssl-wearables' 635 ADL
 * windows); the benchmark fixes dataset, subjects, classes, rate, window,
 * overlap, label policy and trials, so combining it with any of those flags
 * is an error. `info.json` then also holds the benchmark's definition.
 *
 * @example
 * deno task har windows --dataset hmp-adl --rate 30 --window 10 --overlap 5 \
 *   --subjects f1,m1 --classes walk,climb_stairs --out out/adl
 * deno task har windows --benchmark adl5 --out out/adl5
 */
import {
  checkWindowFlags,
  choiceFlag,
  type CliCommand,
  cliMain,
  numberFlag,
  parseFlags,
  UsageError,
} from "../lib/cli.ts";
import { datasetInfo, loadDataset } from "../lib/data/registry.ts";
import { type Benchmark, benchmark, BENCHMARKS, benchmarkWindows } from "../lib/data/benchmarks.ts";
import { windowsToNpy } from "../lib/data/npy.ts";
import type { Recording, Windows } from "../lib/data/types.ts";
import { ConfigError } from "../lib/errors.ts";
import { resample, type ResampleMethod } from "../lib/signal/resample.ts";
import {
  explainNoWindows,
  type LabelPolicy,
  makeWindowsWithReport,
} from "../lib/signal/windows.ts";

/** One-line description for `har --help`. */
export const summary =
  "cut a dataset, or a labelled benchmark (--benchmark adl5), into sliding windows as X/Y/pid .npy";

/** Flags a benchmark fixes (an error next to `--benchmark`). */
const BENCHMARK_FIXES = [
  "dataset",
  "rate",
  "window",
  "overlap",
  "subjects",
  "classes",
  "label-policy",
  "method",
  "max-gap",
  "include-model",
];

const USAGE = `usage: har windows --dataset <name> --out <dir> [flags]
       har windows --benchmark <name> --out <dir> [--layout l] [--data-dir d] [--cache-dir c]

  --dataset <name>         registered dataset (wisdm-watch, wisdm-phone, hmp-adl, mobifall, daphnet, ...)
  --benchmark <name>       a labelled benchmark's reference windows (${
  Object.keys(BENCHMARKS).join(", ")
});
                           it fixes dataset, subjects, classes, rate, window, overlap, label policy
                           and trials: those flags are refused next to it
  --cache-dir <dir>        --benchmark: reuse windows cached here (re-prepared when the data changes)
  --out <dir>              output folder for X.npy, Y.npy, pid.npy, info.json
  --rate <Hz>              output sample rate (default 30)
  --window <s>             window length in seconds (default 10)
  --overlap <s>            overlap between windows in seconds (default 5)
  --subjects a,b           keep only these subjects
  --classes a,b            keep only these classes (y indexes them in this order)
  --label-policy <p>       majority | pure (default majority)
  --method <m>             resampling: linear | antialias | fourier (default linear)
  --max-gap <s>            time steps longer than this are gaps, never windowed across (default 1)
  --include-model          hmp-adl: also read the authors' *_MODEL trials
  --no-unit-check          load recordings whose still segments do not measure ~1 g (wrong unit?)
  --no-range-check         load recordings holding physically impossible values (beyond ±50 g)
  --allow-duplicates       load recordings whose samples are identical to another's (copied files)
  --layout <l>             X.npy layout: ncl = [N, 3, T] (default) | nlc = [N, T, 3]
  --data-dir <dir>         data folder (default $HAR_DATA_DIR or ./datasets)`;

/** Parsed `har windows` arguments. */
export interface WindowsArgs {
  /** Registered dataset name (with `benchmark`: its datasets joined by `+`). */
  dataset: string;
  /** The benchmark whose reference windows are written (the other fields then come from it). */
  benchmark?: Benchmark;
  /** `benchmark`: folder of cached windows. */
  cacheDir?: string;
  /** Output folder. */
  out: string;
  /** Output sample rate (Hz). */
  rateHz: number;
  /** Window length (s). */
  windowSec: number;
  /** Overlap (s). */
  overlapSec: number;
  /** Subjects kept (all when absent). */
  subjects?: string[];
  /** Classes kept (all when absent). */
  classes?: string[];
  /** Label policy. */
  labelPolicy: LabelPolicy;
  /** Resampling method. */
  method: ResampleMethod;
  /** Gap threshold (s). */
  maxGapSec: number;
  /** hmp-adl: read `*_MODEL` trials. */
  includeModel: boolean;
  /** Plausibility checks switched off (`--no-unit-check`, `--no-range-check`, `--allow-duplicates`). */
  checks?: { units?: boolean; range?: boolean; duplicates?: boolean };
  /** X.npy layout. */
  layout: "ncl" | "nlc";
  /** Data folder override. */
  dataDir?: string;
}

function list(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const items = v.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  return items.length ? items : undefined;
}

/** Highest `--rate` accepted (Hz): far above any wearable, below an absurd allocation. */
const MAX_RATE_HZ = 10_000;

/** Parse and validate `har windows` flags. @throws ConfigError naming the flag and fault. */
export function parseWindowsArgs(args: string[]): WindowsArgs {
  const values = parseFlags("har windows", args, {
    dataset: { type: "string" },
    benchmark: { type: "string" },
    "cache-dir": { type: "string" },
    out: { type: "string" },
    rate: { type: "string" },
    window: { type: "string" },
    overlap: { type: "string" },
    subjects: { type: "string" },
    classes: { type: "string" },
    "label-policy": { type: "string" },
    method: { type: "string" },
    "max-gap": { type: "string" },
    "include-model": { type: "boolean" },
    "no-unit-check": { type: "boolean" },
    "no-range-check": { type: "boolean" },
    "allow-duplicates": { type: "boolean" },
    layout: { type: "string" },
    "data-dir": { type: "string" },
  }).values as Record<string, string | boolean | undefined>;
  const s = (k: string) => values[k] as string | undefined;
  if (s("benchmark") !== undefined) return benchmarkArgs(values);
  if (!s("dataset")) {
    throw new UsageError("--dataset is required (or --benchmark <name>)");
  }
  if (!s("out")) throw new UsageError("--out is required");
  if (s("cache-dir") !== undefined) {
    throw new UsageError("--cache-dir: only with --benchmark (a --dataset cut is not cached)");
  }
  const rateHz = numberFlag("rate", s("rate"), {
    default: 30,
    min: 0,
    minExclusive: true,
    max: MAX_RATE_HZ,
  });
  const windowSec = numberFlag("window", s("window"), { default: 10, min: 0, minExclusive: true });
  const overlapSec = numberFlag("overlap", s("overlap"), { default: 5, min: 0 });
  checkWindowFlags(windowSec, overlapSec, rateHz);
  return {
    dataset: s("dataset")!,
    out: s("out")!,
    rateHz,
    windowSec,
    overlapSec,
    subjects: list(s("subjects")),
    classes: list(s("classes")),
    labelPolicy: choiceFlag("label-policy", s("label-policy"), ["majority", "pure"], "majority"),
    method: choiceFlag("method", s("method"), ["linear", "antialias", "fourier"], "linear"),
    maxGapSec: numberFlag("max-gap", s("max-gap"), { default: 1, min: 0, minExclusive: true }),
    includeModel: values["include-model"] === true,
    checks: {
      units: values["no-unit-check"] !== true,
      range: values["no-range-check"] !== true,
      duplicates: values["allow-duplicates"] !== true,
    },
    layout: choiceFlag("layout", s("layout"), ["ncl", "nlc"], "ncl"),
    dataDir: s("data-dir"),
  };
}

/** `--benchmark` arguments: the benchmark's settings; conflicting flags are refused. */
function benchmarkArgs(values: Record<string, string | boolean | undefined>): WindowsArgs {
  const b = benchmark(values.benchmark as string);
  const clash = BENCHMARK_FIXES.filter((f) => values[f] !== undefined).map((f) => `--${f}`);
  if (clash.length) {
    throw new UsageError(
      `--benchmark ${b.name} fixes the dataset, subjects, classes, rate, window, overlap, ` +
        `label policy and trials; drop ${clash.join(", ")} (or use --dataset for a custom cut)`,
    );
  }
  const out = values.out as string | undefined;
  if (!out) throw new UsageError("--out is required");
  return {
    dataset: b.datasets.join("+"),
    benchmark: b,
    cacheDir: values["cache-dir"] as string | undefined,
    out,
    rateHz: b.rateHz,
    windowSec: b.windowSec,
    overlapSec: b.overlapSec,
    subjects: b.subjects.keep ? [...b.subjects.keep] : undefined,
    classes: [...b.classes],
    labelPolicy: b.labels.policy,
    method: "linear",
    maxGapSec: b.cutting.regularGridMaxGapSec ?? 1,
    includeModel: b.trials.includeModel,
    layout: choiceFlag("layout", values.layout as string | undefined, ["ncl", "nlc"], "ncl"),
    dataDir: values["data-dir"] as string | undefined,
  };
}

/** Count windows per class name (`"(unlabelled)"` for y = -1). */
function countPerClass(w: Windows): Record<string, number> {
  const perClass: Record<string, number> = {};
  for (const y of w.y) {
    const k = y >= 0 ? w.classes[y] : "(unlabelled)";
    perClass[k] = (perClass[k] ?? 0) + 1;
  }
  return perClass;
}

function shapeOf(w: Windows, layout: "ncl" | "nlc"): number[] {
  return layout === "ncl" ? [w.n, w.channels, w.length] : [w.n, w.length, w.channels];
}

/**
 * Write X/Y/pid.npy and `info.json` into `a.out` as one atomic folder
 * (whole or absent: a failed or killed run leaves the old output untouched).
 */
async function writeOutput(windows: Windows, a: WindowsArgs, info: object): Promise<void> {
  await windowsToNpy(windows, a.out, {
    layout: a.layout,
    extraFiles: { "info.json": JSON.stringify(info, null, 2) + "\n" },
  });
}

/** `har windows --benchmark`: write the benchmark's reference windows. */
async function runBenchmark(a: WindowsArgs, b: Benchmark): Promise<void> {
  const t0 = performance.now();
  const windows = await benchmarkWindows(b, { dataDir: a.dataDir, cacheDir: a.cacheDir });
  const shape = shapeOf(windows, a.layout);
  const info = {
    benchmark: b.name,
    dataset: a.dataset,
    rateHz: b.rateHz,
    windowSec: b.windowSec,
    overlapSec: b.overlapSec,
    labelPolicy: b.labels.policy,
    layout: a.layout,
    shape,
    classes: windows.classes,
    subjects: [...new Set(windows.subject)].sort(),
    trials: new Set(windows.source).size,
    windowsPerClass: countPerClass(windows),
    definition: b,
    seconds: Number(((performance.now() - t0) / 1000).toFixed(2)),
  };
  await writeOutput(windows, a, info);
  const ref = b.reference.windows === null ? "" : ` (reference: ${b.reference.windows})`;
  console.log(
    `${b.name}: ${windows.n} windows [${shape.join(", ")}]${ref}, ${info.subjects.length} ` +
      `subjects, ${windows.classes.length} classes, ${info.trials} trials -> ${a.out}`,
  );
}

/** `har windows` under the shared CLI convention (lib/cli.ts). */
export const command: CliCommand<WindowsArgs> = {
  prog: "har windows",
  usage: USAGE,
  parse: parseWindowsArgs,
  run: runWindows,
};

/** Run `har windows` with command-line `args` (without the command name); errors are thrown. */
export async function run(args: string[]): Promise<void> {
  await runWindows(parseWindowsArgs(args));
}

/** Run `har windows` with parsed arguments. */
export async function runWindows(a: WindowsArgs): Promise<void> {
  if (a.benchmark) return await runBenchmark(a, a.benchmark);
  const t0 = performance.now();
  const recs = await loadDataset(a.dataset, {
    dir: a.dataDir,
    subjects: a.subjects,
    classes: a.classes,
    includeModel: a.includeModel,
    checks: a.checks,
  });
  if (a.subjects) {
    const found = new Set(recs.map((r) => r.subject));
    const missing = a.subjects.filter((s) => !found.has(s));
    if (missing.length) {
      throw new ConfigError(`--subjects: ${missing.join(", ")} not found in ${a.dataset}`);
    }
  }
  const ready: Recording[] = recs.flatMap((r) =>
    r.rateHz === a.rateHz && !r.timestampsMs
      ? [r]
      : resample(r, a.rateHz, { method: a.method, maxGapSec: a.maxGapSec })
  );
  const result = makeWindowsWithReport(ready, {
    windowSec: a.windowSec,
    overlapSec: a.overlapSec,
    rateHz: a.rateHz,
    labelPolicy: a.labelPolicy,
    classes: a.classes,
    maxGapSec: a.maxGapSec,
  });
  const { windows, report } = result;
  if (windows.n === 0) {
    throw new ConfigError(
      explainNoWindows({
        dataset: a.dataset,
        recordings: recs,
        segments: ready,
        result,
        windowSec: a.windowSec,
        maxGapSec: a.maxGapSec,
        nominalHz: datasetInfo(a.dataset).rateHz,
      }),
    );
  }
  const perClass = countPerClass(windows);
  const shape = shapeOf(windows, a.layout);
  const info = {
    dataset: a.dataset,
    rateHz: a.rateHz,
    windowSec: a.windowSec,
    overlapSec: a.overlapSec,
    labelPolicy: a.labelPolicy,
    method: a.method,
    layout: a.layout,
    shape,
    classes: windows.classes,
    subjects: [...new Set(windows.subject)].sort(),
    recordings: recs.length,
    windowsPerClass: perClass,
    candidates: report.total,
    dropped: report.dropped,
    seconds: Number(((performance.now() - t0) / 1000).toFixed(2)),
  };
  await writeOutput(windows, a, info);
  console.log(
    `${a.dataset}: ${windows.n} windows [${shape.join(", ")}] from ${recs.length} recordings, ` +
      `${info.subjects.length} subjects, ${windows.classes.length} classes -> ${a.out}`,
  );
  const dropped = Object.entries(report.dropped).map(([k, v]) => `${k} ${v}`).join(", ");
  if (dropped) console.log(`dropped: ${dropped}`);
}

if (import.meta.main) Deno.exit(await cliMain(command, Deno.args));
