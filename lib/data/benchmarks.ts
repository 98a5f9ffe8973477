/**
 * Labelled benchmarks, each defined once: which registered dataset(s),
 * placement, subjects kept and removed, classes (and merges), rate, window,
 * overlap, label policy, which trials, the default evaluation protocol and
 * the published reference numbers with their source. {@link benchmarkWindows}
 * turns a definition into exactly the reference windows.
 *
 * The first two are the downstream benchmarks of OxWearables ssl-wearables
 * (Yuan et al. 2024):
 *
 * - `"adl5"`: HMP ADL as `data_parsing/make_ADL.py` prepares it: 7 subjects,
 *   5 classes, every trial **including the `*_MODEL` trials**, 10-s windows
 *   with 5-s overlap cut on the raw 32 Hz samples, each resized to 300
 *   samples (30 Hz), majority label: 635 windows, the count of the authors'
 *   own `Y.npy` (`ssl-wearables-adl-reference`).
 * - `"wisdm-watch"`: WISDM 2019 watch accelerometer as `make_wisdm.py`:
 *   subjects 1616, 1618, 1637, 1639, 1642 removed, 18 classes, a regular
 *   20 Hz grid per activity (no interpolation across gaps > 1 s), 200-sample
 *   windows every 100 samples, each resized to 300, pure windows only.
 *
 * A benchmark is plain data (JSON-serialisable): print it, store it next to
 * results, derive variants with {@link deriveBenchmark}.
 *
 * @example
 * const adl = benchmark("adl5");
 * const w = await benchmarkWindows(adl); // 635 windows [635, 3, 300] at 30 Hz
 * const folds = benchmarkFolds(adl, w, { seed: 42 }); // 7 LOSO folds
 * adl.published.find((p) => p.method === "ssl-finetune")?.value; // 0.829
 *
 * const small = deriveBenchmark("wisdm-watch", { subjects: ["1600", "1601", "1602"] });
 * const ws = await benchmarkWindows(small, { cacheDir: ".cache/benchmarks" });
 */
import { join, relative } from "node:path";
import { ConfigError, DataFormatError } from "../errors.ts";
import { resample } from "../signal/resample.ts";
import { type LabelPolicy, makeWindows } from "../signal/windows.ts";
import { sha256Hex } from "./download.ts";
import { dataDir } from "./paths.ts";
import { datasetInfo, loadDataset, locateDataset, unavailable } from "./registry.ts";
import { type FoldPlan, makeFolds, type ProtocolSpec } from "./splits.ts";
import type { Recording, Windows } from "./types.ts";
import { readWindowsCache, writeWindowsCache } from "./windows_cache.ts";
import { WISDM_ACTIVITIES } from "./wisdm.ts";

/** Which subjects a benchmark uses. */
export interface BenchmarkSubjects {
  /** Subjects kept, as the dataset spells them (`"f1"`, `"1600"`); null: every subject present. */
  keep: readonly string[] | null;
  /** Subjects removed (applied after `keep`). */
  exclude: readonly string[];
  /** Why (the paper's reason), for reports. */
  note: string;
}

/**
 * How recordings become windows.
 *
 * ssl-wearables cuts at the device rate and resizes every window
 * (`atDeviceRate: true`); the alternative resamples whole recordings to
 * `rateHz` first and cuts there.
 */
export interface BenchmarkCutting {
  /**
   * Cut windows of `windowSec` at each recording's own rate, then resize each
   * window to `windowSec × rateHz` samples by linear interpolation with both
   * end points kept (ssl-wearables' `resize`); false: resample recordings to
   * `rateHz` first.
   */
  atDeviceRate: boolean;
  /**
   * Put timestamped recordings on a regular grid first (at the device rate
   * when `atDeviceRate`, else at `rateHz`), splitting where successive samples
   * are more than this many seconds apart, so no window spans a gap; null:
   * use the samples as recorded (regular data such as HMP).
   */
  regularGridMaxGapSec: number | null;
  /** Split recordings where the label changes, so windows start at each activity's start. */
  splitAtLabelChange: boolean;
}

/** How a window gets its label. */
export interface BenchmarkLabels {
  /** `"majority"`: most frequent sample label; `"pure"`: only windows whose samples all carry one label. */
  policy: LabelPolicy;
  /** `"majority"`: least fraction (0..1) of samples carrying the winning label; 0 = any. */
  minFraction: number;
  /** Windows whose label is unlabelled (-1 samples win): `"drop"` or `"keep"` (y = -1). */
  unlabelled: "drop" | "keep";
}

/** Which trials (recording files) are read. */
export interface BenchmarkTrials {
  /** HMP ADL: also read the authors' `*_MODEL` trials. */
  includeModel: boolean;
  /** What is included, in words. */
  note: string;
}

/** A default evaluation protocol, as data (see `lib/data/splits.ts`). */
export type BenchmarkProtocol =
  | {
    /** Leave one subject out: one fold per subject (sorted), that subject as test. */
    kind: "loso";
    /** Validation subjects per fold, from the training subjects. */
    valSubjects: number;
    /** `"first"`: the first remaining subjects in sorted order (ssl-wearables); `"random"`: seeded draw. */
    valChoice: "first" | "random";
    /** The protocol in words, with its source. */
    note: string;
  }
  | {
    /** Subject-wise k-fold: subjects shuffled (seeded) and dealt into k folds; each tested once. */
    kind: "subject-kfold";
    /** Number of folds. */
    k: number;
    /** Fraction of each fold's training subjects moved to validation, rounded up (0.125 → 7:1:2 for k = 5). */
    valFraction: number;
    /** The protocol in words, with its source. */
    note: string;
  };

/** One published reference number. */
export interface PublishedResult {
  /**
   * Method: `"rf-handcrafted"` (random forest on hand-crafted features),
   * `"resnet-scratch"` (the same network trained from scratch), `"ssl-frozen"`
   * (pre-trained encoder frozen, head trained), `"ssl-finetune"` (all layers
   * fine-tuned), or another paper's name for its method.
   */
  method: string;
  /** Metric: `"f1-macro"`, `"kappa"`, `"accuracy"`, ... */
  metric: string;
  /** The number as published (0..1 for F1). */
  value: number;
  /** How it aggregates, e.g. `"mean over test subjects"`. */
  aggregate: string;
  /** Where it is published (paper, table). */
  source: string;
  /** Anything needed to read it (pre-training data, weights). */
  note?: string;
}

/** The authors' own prepared windows, when available, to check ours against. */
export interface BenchmarkReference {
  /** Registry dataset holding them (`"ssl-wearables-adl"`), or null. */
  dataset: string | null;
  /** Number of windows of the reference preparation, or null when not known. */
  windows: number | null;
  /** What matches and how it was checked. */
  note: string;
}

/** One labelled benchmark (plain data). */
export interface Benchmark {
  /** Short name used everywhere (`"adl5"`, `"wisdm-watch"`); the key in {@link BENCHMARKS}. */
  name: string;
  /** Human-readable title. */
  title: string;
  /** Registry dataset(s) read (`DATASETS` keys); recordings of several are pooled. */
  datasets: readonly string[];
  /** Body placement every recording must have (`Recording.placement`, e.g. `"wrist"`). */
  placement: string;
  /** Subjects kept and removed. */
  subjects: BenchmarkSubjects;
  /** Class names, in the order `Windows.y` indexes them. */
  classes: readonly string[];
  /**
   * Merges and renames: source class name (as the dataset names it) →
   * benchmark class (one of `classes`). Classes not named here keep their
   * name; source classes mapping to nothing in `classes` are dropped.
   */
  classMap: Readonly<Record<string, string>>;
  /** Window sample rate (Hz). */
  rateHz: number;
  /** Window length (s). */
  windowSec: number;
  /** Overlap of consecutive windows (s). */
  overlapSec: number;
  /** How recordings are cut into windows. */
  cutting: BenchmarkCutting;
  /** How windows are labelled. */
  labels: BenchmarkLabels;
  /** Which trials are read. */
  trials: BenchmarkTrials;
  /** The default evaluation protocol. */
  protocol: BenchmarkProtocol;
  /** The authors' reference windows, to check against. */
  reference: BenchmarkReference;
  /** Published numbers on exactly this benchmark. */
  published: readonly PublishedResult[];
}

const YUAN = "Yuan et al. 2024, npj Digit. Med. 7:91, Table 2 (ssl-wearables README)";
const UKB = "encoder pre-trained on 100k UK Biobank participants (weights not used here)";

/** The four ssl-wearables settings on one benchmark (macro F1, mean over folds' test subjects). */
function yuanPublished(
  rf: number,
  scratch: number,
  frozen: number,
  finetune: number,
): PublishedResult[] {
  const aggregate = "mean over test subjects (per-subject macro F1)";
  const f1 = (method: string, value: number, note?: string): PublishedResult => ({
    method,
    metric: "f1-macro",
    value,
    aggregate,
    source: YUAN,
    ...(note ? { note } : {}),
  });
  return [
    f1("rf-handcrafted", rf, "balanced random forest, 3000 trees, ssl-wearables' features"),
    f1("resnet-scratch", scratch, "ResNet-V2 (harnet10) trained from random initialisation"),
    f1("ssl-frozen", frozen, `${UKB}; encoder frozen`),
    f1("ssl-finetune", finetune, `${UKB}; all layers fine-tuned`),
  ];
}

const ADL5: Benchmark = {
  name: "adl5",
  title: "HMP ADL, 7 subjects, 5 classes (ssl-wearables ADL-5)",
  datasets: ["hmp-adl"],
  placement: "wrist",
  subjects: {
    keep: ["f1", "f2", "f3", "m1", "m2", "m3", "m4"],
    exclude: [],
    note:
      "the 7 subjects who performed all 5 kept classes (ssl-wearables data_parsing README: ADL | 7 | 5)",
  },
  classes: ["climb_stairs", "drink_glass", "getup_bed", "pour_water", "walk"],
  classMap: {},
  rateHz: 30,
  windowSec: 10,
  overlapSec: 5,
  cutting: { atDeviceRate: true, regularGridMaxGapSec: null, splitAtLabelChange: false },
  labels: { policy: "majority", minFraction: 0, unlabelled: "drop" },
  trials: {
    includeModel: true,
    note: "every trial file of the activity folders and of the *_MODEL folders " +
      "(make_ADL.py also walks folders ending in MODEL); of the kept classes only the " +
      "364-sample Pour_water_MODEL trials give a window, one each: f1 5, f2 3, m1 4, m3 5 = 17",
  },
  protocol: {
    kind: "loso",
    valSubjects: 1,
    valChoice: "first",
    note: "leave one subject out (< 10 subjects); validation: the first remaining subject " +
      "in sorted order (ssl-wearables downstream_task_evaluation.py)",
  },
  reference: {
    dataset: "ssl-wearables-adl",
    windows: 635,
    note: "identical window counts per (subject, class) to ssl-wearables' own Y.npy / pid.npy",
  },
  published: yuanPublished(0.764, 0.414, 0.645, 0.829),
};

const WISDM_WATCH: Benchmark = {
  name: "wisdm-watch",
  title: "WISDM 2019 watch accelerometer, 18 classes (ssl-wearables WISDM)",
  datasets: ["wisdm-watch"],
  placement: "wrist",
  subjects: {
    keep: null,
    exclude: ["1616", "1618", "1637", "1639", "1642"],
    note: "all subjects but 1616, 1618, 1637, 1639, 1642 (ssl-wearables data_parsing README); " +
      "46 of the 51 in the full archive",
  },
  classes: [...WISDM_ACTIVITIES],
  classMap: {},
  rateHz: 30,
  windowSec: 10,
  overlapSec: 5,
  cutting: { atDeviceRate: true, regularGridMaxGapSec: 1, splitAtLabelChange: true },
  labels: { policy: "pure", minFraction: 0, unlabelled: "drop" },
  trials: {
    includeModel: false,
    note: "every raw/watch/accel file; each activity run (subject × activity, split at clock " +
      "gaps > 1 s) is cut separately (make_wisdm.py)",
  },
  protocol: {
    kind: "subject-kfold",
    k: 5,
    valFraction: 0.125,
    note: "five subject-wise folds, every subject tested once, 12.5 % of the training " +
      "subjects (rounded up) as validation: 7:1:2 (Yuan et al. 2024, Methods)",
  },
  reference: {
    dataset: null,
    windows: null,
    note: "no public copy of ssl-wearables' WISDM windows",
  },
  published: yuanPublished(0.711, 0.684, 0.759, 0.810),
};

/** The benchmarks, by name. */
export const BENCHMARKS: Readonly<Record<string, Benchmark>> = {
  adl5: ADL5,
  "wisdm-watch": WISDM_WATCH,
};

/**
 * Look up a benchmark by name.
 *
 * @throws ConfigError naming the unknown benchmark and listing the known ones.
 */
export function benchmark(name: string): Benchmark {
  const b = Object.hasOwn(BENCHMARKS, name) ? BENCHMARKS[name] : undefined;
  if (!b) {
    throw new ConfigError(
      `unknown benchmark "${name}" (known: ${Object.keys(BENCHMARKS).join(", ")})`,
    );
  }
  return b;
}

function resolve(b: Benchmark | string): Benchmark {
  return typeof b === "string" ? benchmark(b) : b;
}

/** The published number of `method` and `metric` (default `"f1-macro"`) on `b`, or null. */
export function publishedResult(
  b: Benchmark | string,
  method: string,
  metric = "f1-macro",
): PublishedResult | null {
  return resolve(b).published.find((p) => p.method === method && p.metric === metric) ?? null;
}

/** Changes {@link deriveBenchmark} accepts; every field optional. */
export interface BenchmarkOverrides {
  /** New name (default `<name>*`, marking a variant). */
  name?: string;
  /** Subjects kept (replaces `subjects.keep`; the exclusions still apply). */
  subjects?: readonly string[] | null;
  /** Subjects removed (replaces `subjects.exclude`). */
  excludeSubjects?: readonly string[];
  /** Classes, in label order. */
  classes?: readonly string[];
  /** Window rate (Hz). */
  rateHz?: number;
  /** Window length (s). */
  windowSec?: number;
  /** Overlap (s). */
  overlapSec?: number;
}

/**
 * A variant of a benchmark (a subject subset, other classes or windowing).
 * Its `published` numbers are dropped, since they were measured on the
 * original; unchanged fields are shared.
 *
 * @example
 * const four = deriveBenchmark("adl5", { subjects: ["f1", "f2", "m1", "m2"] });
 */
export function deriveBenchmark(b: Benchmark | string, o: BenchmarkOverrides): Benchmark {
  const base = resolve(b);
  const same = (o.subjects === undefined || sameList(o.subjects, base.subjects.keep)) &&
    (o.excludeSubjects === undefined || sameList(o.excludeSubjects, base.subjects.exclude)) &&
    (o.classes === undefined || sameList(o.classes, base.classes)) &&
    (o.rateHz === undefined || o.rateHz === base.rateHz) &&
    (o.windowSec === undefined || o.windowSec === base.windowSec) &&
    (o.overlapSec === undefined || o.overlapSec === base.overlapSec);
  if (same) return o.name === undefined ? base : { ...base, name: o.name };
  return {
    ...base,
    name: o.name ?? `${base.name}*`,
    subjects: {
      keep: o.subjects === undefined ? base.subjects.keep : o.subjects,
      exclude: o.excludeSubjects ?? base.subjects.exclude,
      note: `variant of ${base.name}`,
    },
    classes: o.classes ?? base.classes,
    rateHz: o.rateHz ?? base.rateHz,
    windowSec: o.windowSec ?? base.windowSec,
    overlapSec: o.overlapSec ?? base.overlapSec,
    reference: { dataset: null, windows: null, note: `variant of ${base.name}` },
    published: [],
  };
}

function sameList(a: readonly string[] | null, b: readonly string[] | null): boolean {
  return a === b || (a !== null && b !== null && a.join("\u0000") === b.join("\u0000"));
}

/** The subjects of `present` that `b` uses (kept, not excluded), in the order given. */
export function benchmarkSubjects(b: Benchmark | string, present: readonly string[]): string[] {
  const { keep, exclude } = resolve(b).subjects;
  const k = keep ? new Set(keep) : null;
  const x = new Set(exclude);
  return present.filter((s) => (!k || k.has(s)) && !x.has(s));
}

/** Source class names that feed each benchmark class (merges via `classMap`). */
function sourceClasses(b: Benchmark, datasetClasses: readonly string[]): string[] {
  const target = new Set(b.classes);
  return datasetClasses.filter((c) => target.has(b.classMap[c] ?? c));
}

/** Check a definition; @throws ConfigError naming the benchmark and the fault. */
function validate(b: Benchmark): void {
  const bad = (msg: string): never => {
    throw new ConfigError(`benchmark "${b.name}": ${msg}`);
  };
  if (b.datasets.length === 0) bad("no datasets");
  for (const d of b.datasets) datasetInfo(d);
  if (!(b.rateHz > 0)) bad(`rateHz must be > 0, got ${b.rateHz}`);
  if (!(b.windowSec > 0)) bad(`windowSec must be > 0, got ${b.windowSec}`);
  if (!(b.overlapSec >= 0 && b.overlapSec < b.windowSec)) {
    bad(`overlapSec must be in [0, windowSec = ${b.windowSec}), got ${b.overlapSec}`);
  }
  if (new Set(b.classes).size !== b.classes.length) bad(`duplicate classes: ${b.classes}`);
  for (const [from, to] of Object.entries(b.classMap)) {
    if (!b.classes.includes(to)) bad(`classMap "${from}" → "${to}": "${to}" is not a class`);
  }
  for (const c of b.classes) {
    const fed = b.datasets.some((d) =>
      datasetInfo(d).classes.some((s) => (b.classMap[s] ?? s) === c)
    );
    if (!fed) bad(`class "${c}" is in none of ${b.datasets.join(", ")} (nor merged into it)`);
  }
}

/**
 * Split a recording where its label changes; unlabelled runs are dropped.
 * Each part keeps `source` and carries its start in `meta.offsetSec` (s from
 * the recording's first sample) and its class in `meta.labelRun`.
 */
function splitAtLabelChanges(rec: Recording): Recording[] {
  const n = rec.axes.length ? rec.axes[0].length : 0;
  if (!rec.labels || n === 0) return [rec];
  const offset = typeof rec.meta?.offsetSec === "number" ? rec.meta.offsetSec : 0;
  const out: Recording[] = [];
  let start = 0;
  for (let i = 1; i <= n; i++) {
    if (i === n || rec.labels[i] !== rec.labels[start]) {
      const l = rec.labels[start];
      if (l >= 0) {
        out.push({
          ...rec,
          axes: rec.axes.map((a) => a.subarray(start, i)),
          labels: rec.labels.subarray(start, i),
          timestampsMs: undefined,
          meta: {
            ...rec.meta,
            labelRunStart: start,
            labelRun: rec.labelNames?.[l] ?? String(l),
            offsetSec: offset + start / rec.rateHz,
          },
        });
      }
      start = i;
    }
  }
  return out;
}

/**
 * Window recordings as benchmark `b` prescribes (subjects, classes, cutting,
 * labels). `recs` are the raw recordings of `b.datasets` (all trials the
 * benchmark reads; other subjects and classes are filtered out here).
 * `Windows.source` is each recording's `source` as given, plus
 * `#<class>` when recordings are split at label changes (one id per trial /
 * activity run); `startSec` is the window start in s from the recording's
 * first sample.
 *
 * @throws DataFormatError when a recording's placement differs from `b.placement`.
 */
export function windowBenchmarkRecordings(b: Benchmark | string, recs: Recording[]): Windows {
  const bm = resolve(b);
  validate(bm);
  const subjects = new Set(benchmarkSubjects(bm, [...new Set(recs.map((r) => r.subject))]));
  const target = new Set(bm.classes);
  let ready: Recording[] = recs.filter((r) => subjects.has(r.subject)).flatMap((r) => {
    if (r.placement !== bm.placement) {
      throw new DataFormatError(
        r.source,
        `placement "${r.placement}", benchmark "${bm.name}" expects "${bm.placement}"`,
      );
    }
    if (!r.labels || !r.labelNames) return [];
    const labelNames = r.labelNames.map((n) => bm.classMap[n] ?? n);
    // a recording with no sample of a kept class gives no window (HMP: one class per trial)
    let any = false;
    const keep = labelNames.map((n) => target.has(n));
    for (let i = 0; i < r.labels.length && !any; i++) any = r.labels[i] >= 0 && keep[r.labels[i]];
    return any ? [{ ...r, labelNames }] : [];
  });
  const { atDeviceRate, regularGridMaxGapSec: gap, splitAtLabelChange } = bm.cutting;
  if (gap !== null) {
    ready = ready.flatMap((r) =>
      resample(r, atDeviceRate ? r.rateHz : bm.rateHz, { maxGapSec: gap })
    );
  } else if (!atDeviceRate) {
    ready = ready.flatMap((r) =>
      Math.abs(r.rateHz - bm.rateHz) <= 1e-6 * bm.rateHz ? [r] : resample(r, bm.rateHz)
    );
  }
  if (splitAtLabelChange) {
    ready = ready.flatMap(splitAtLabelChanges).map((r) => ({
      ...r,
      source: `${r.source}#${r.meta?.labelRun}`,
    }));
  }
  return makeWindows(ready, {
    windowSec: bm.windowSec,
    overlapSec: bm.overlapSec,
    rateHz: bm.rateHz,
    perWindowResize: atDeviceRate,
    labelPolicy: bm.labels.policy,
    minLabelFraction: bm.labels.minFraction,
    dropUnlabelled: bm.labels.unlabelled === "drop",
    classes: [...bm.classes],
    maxGapSec: gap ?? undefined,
  });
}

/** Options of {@link benchmarkWindows}. */
export interface BenchmarkWindowsOptions {
  /** Data folder; default {@link dataDir} (`$HAR_DATA_DIR` or `./datasets`). */
  dataDir?: string;
  /**
   * Folder for cached windows (`<name>-<key>.f32` + `.json`); the key hashes
   * the definition and the data files' names, sizes and modification times,
   * so a changed definition or dataset is re-prepared. Default: no cache.
   */
  cacheDir?: string;
}

/**
 * Every file below `root` (relative path, size, mtime), sorted, one per
 * line: the data's fingerprint, for cache keys.
 */
export async function datasetFingerprint(root: string): Promise<string> {
  const rows: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.isFile) {
        const s = await Deno.stat(p);
        rows.push(`${relative(root, p)}\t${s.size}\t${s.mtime?.getTime() ?? 0}`);
      }
    }
  };
  await walk(root);
  return rows.sort().join("\n");
}

const CACHE_FORMAT = 1;

/** The cached windows at `base` (lib/data/windows_cache.ts, raw float32), or null when absent. */
async function readCache(base: string): Promise<Windows | null> {
  try {
    return (await readWindowsCache(base, "f32"))?.windows ?? null;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/**
 * The windows of benchmark `b`, exactly as its reference preparation gives
 * them (see the module docs): `x` `[n, 3, windowSec × rateHz]` in g, `y`
 * indexing `b.classes`, `subject`, `source` (the trial file relative to the
 * dataset root, plus `#<class>` for activity runs: one id per trial, for
 * by-trial splits) and `startSec` (s from the trial's first sample, on the
 * recording's clock: WISDM's device clock can jump backwards, so a later
 * activity run may start at a negative time).
 *
 * @throws DatasetUnavailableError naming the folder and the download command when a dataset is absent
 * @throws ConfigError for an unknown benchmark name or an inconsistent definition
 */
export async function benchmarkWindows(
  b: Benchmark | string,
  opts: BenchmarkWindowsOptions = {},
): Promise<Windows> {
  const bm = resolve(b);
  validate(bm);
  const dir = opts.dataDir ?? dataDir();
  const roots: string[] = [];
  for (const d of bm.datasets) {
    const root = await locateDataset(d, dir);
    if (!root) throw unavailable(d, dir);
    roots.push(root);
  }
  let base: string | null = null;
  if (opts.cacheDir) {
    const prints = await Promise.all(roots.map(datasetFingerprint));
    const key = await sha256Hex(JSON.stringify([CACHE_FORMAT, bm, roots, prints]));
    base = join(opts.cacheDir, `${bm.name.replace(/[^A-Za-z0-9._-]/g, "_")}-${key.slice(0, 16)}`);
    const hit = await readCache(base);
    if (hit) return hit;
  }
  const recs: Recording[] = [];
  for (const [i, d] of bm.datasets.entries()) {
    const info = datasetInfo(d);
    const keep = bm.subjects.keep ? [...bm.subjects.keep] : undefined;
    const part = await loadDataset(d, {
      dir,
      subjects: keep,
      classes: sourceClasses(bm, info.classes),
      includeModel: bm.trials.includeModel,
    });
    const prefix = bm.datasets.length > 1 ? `${d}:` : "";
    for (const r of part) recs.push({ ...r, source: prefix + relative(roots[i], r.source) });
  }
  const w = windowBenchmarkRecordings(bm, recs);
  if (base) await writeWindowsCache(base, w, "f32", () => ({ benchmark: bm }));
  return w;
}

/** Options of {@link benchmarkFolds}. */
export interface BenchmarkFoldsOptions {
  /** Seed of the subject shuffle (k-fold) or of the validation draw (`valChoice: "random"`). */
  seed: number;
}

/** `b`'s default protocol as a `makeFolds` spec (lib/data/splits.ts), named by its kind. */
export function benchmarkProtocol(b: Benchmark | string): ProtocolSpec {
  const { note: _note, ...p } = resolve(b).protocol;
  return { ...p, name: p.kind === "loso" ? "loso" : `kfold${p.k}` };
}

/**
 * The folds of `b`'s default protocol over windows `w` (`w.subject`):
 * {@link makeFolds} of {@link benchmarkProtocol}.
 *
 * @throws ConfigError when there are too few subjects for the protocol.
 */
export function benchmarkFolds(
  b: Benchmark | string,
  w: Pick<Windows, "subject">,
  opts: BenchmarkFoldsOptions,
): FoldPlan[] {
  return makeFolds(benchmarkProtocol(b), w, opts.seed);
}
