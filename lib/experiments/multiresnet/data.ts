/**
 * The data protocol of the Gjoreski et al. 2019 cross-dataset transfer
 * experiment on the datasets we have (issue #14; spec
 * `../shared/specs/multiresnet-transfer.md` §1 and §6.1–6.4): four
 * datasets, each resampled to one rate, cut into 4 s windows with 2 s
 * overlap, split 40/10/50 train/val/test, with raw windows for the
 * temporal branch and per-axis log-power spectrograms for the spectral
 * branch of `lib/models/multi_resnet.ts`.
 *
 * - **Datasets** ({@link TRANSFER_DEFINITIONS}, §6.1): `wisdm-watch-18`
 *   (wrist) and `wisdm-phone-18` (trouser pocket), the 18 WISDM 2019
 *   activities; `hmp-10`, HMP ADL with Climb_stairs ∪ Descend_stairs as
 *   `stairs` and Eat_meat, Eat_soup, Liedown_bed dropped; `mobifall-8`,
 *   MobiFall v2 with SCH ∪ CSI ∪ CSO as `SIT` and the four falls as `FALL`.
 *   Axes are in g (the readers convert; `loadDataset`'s plausibility checks
 *   run on every recording).
 * - **Windows** ({@link windowTransferRecordings}): every recording is cut
 *   into label runs, each run resampled on its own with
 *   `resample(run, rateHz, TRANSFER_RESAMPLE)` (§6.3): the anti-aliased
 *   method (zero-phase Hamming windowed-sinc low-pass at 0.8 × the output
 *   Nyquist, 8 Hz at 20 Hz, then linear interpolation) when downsampling
 *   (HMP 32 Hz, MobiFall ~90 Hz irregular, one WISDM phone at 25 Hz), plain
 *   linear interpolation onto an exact grid otherwise (WISDM's jittered
 *   20 Hz); split at gaps > 1 s and backward clock jumps; then cut by
 *   `makeWindowsWithReport` with the `"pure"` label policy. So no window
 *   crosses a label change, a gap or a trial boundary. `source` is the trial
 *   file relative to the dataset root, plus `#<class>` for WISDM's activity
 *   runs. Window counts at 20 Hz: WISDM watch 72 572, phone 34 611, HMP-10
 *   5 005, MobiFall-8 4 861 (the spec's 4 727 were counted at the native
 *   ~90 Hz: 4 s at 20 Hz is 80 samples spanning 3.95 s, so the many MobiFall
 *   trials lasting just under 6 s or 10 s give one more window here).
 * - **Splits** (§6.2), target 40/10/50 of the windows (= duration, every
 *   window holds 4 s; {@link TransferDataArgs.fractions}), seeded:
 *   WISDM watch and phone share **one** subject partition, balanced over
 *   both devices at once ({@link sharedSubjectPartition}), so a subject is
 *   in the same part for both; HMP-10 is split **by trial** (recording
 *   file), per class (`subjectPartition` over the class's trials), so every
 *   class is in every part and no trial straddles parts; MobiFall-8
 *   partitions its 9 ADL subjects and its 15 fall-only subjects separately
 *   (`subjectPartition` each: 4 / 1 / 4 and 6 / 2 / 7 at seed 0). A class
 *   missing from train or test is a `ConfigError` naming the dataset.
 * - **Report** ({@link TransferDataReport}): per-class counts per part, the
 *   realised fractions, the subjects or trials of each part, the majority
 *   baseline's micro and macro F1 on test (the paper's figure titles), one
 *   line on the resampling.
 *
 * Windows before the split are cached (lib/data/windows_cache.ts, raw
 * float32) under `cacheDir` (default `.cache/multiresnet`), keyed by the
 * definition, the rate and windowing, the resampler options and the data
 * files' names, sizes and modification times.
 *
 * @example
 * const data = await loadTransferDatasets(["hmp-10", "mobifall-8"], { seed: 0 });
 * const hmp = data["hmp-10"];
 * hmp.length; // 80 (4 s at 20 Hz)
 * [hmp.frames, hmp.bins]; // [7, 17] (nFft 32, hop 8)
 * hmp.train.x; // [n, 80, 3] channels-last, g
 * hmp.report.fractions; // { train: 0.40, val: 0.10, test: 0.50 } (realised)
 * hmp.report.majorityF1Micro; // test share of the train-majority class
 * const ladder = nestedAdaptationSubsets(hmp.train.y, hmp.classes.length, [20, 100, 400], 0);
 * const adapt = subsetPart(hmp.train, ladder[1], hmp); // 100 stratified windows
 */
import { join, relative } from "node:path";
import { datasetFingerprint } from "../../data/benchmarks.ts";
import { sha256Hex } from "../../data/download.ts";
import { dataDir } from "../../data/paths.ts";
import { describeRates } from "../../data/rate.ts";
import { datasetInfo, loadDataset, locateDataset, unavailable } from "../../data/registry.ts";
import { type PartitionFractions, subjectPartition } from "../../data/splits.ts";
import { type Recording, recordingLength, type Windows } from "../../data/types.ts";
import { readWindowsCache, writeWindowsCache } from "../../data/windows_cache.ts";
import { WISDM_ACTIVITIES } from "../../data/wisdm.ts";
import { ConfigError, DataFormatError } from "../../errors.ts";
import { rng } from "../../random.ts";
import { resample, type ResampleOptions } from "../../signal/resample.ts";
import { stftBins, stftFrameCount, stftInto } from "../../signal/stft.ts";
import { makeWindowsWithReport, type WindowsWithReport } from "../../signal/windows.ts";

/** The four datasets of the substitute experiment (spec §6.1). */
export const TRANSFER_DATASETS = [
  "wisdm-watch-18",
  "wisdm-phone-18",
  "hmp-10",
  "mobifall-8",
] as const;

/** One of {@link TRANSFER_DATASETS}. */
export type TransferDatasetName = typeof TRANSFER_DATASETS[number];

/** The three parts of a split. */
export type TransferPartName = "train" | "val" | "test";

const PARTS: readonly TransferPartName[] = ["train", "val", "test"];

/** How a dataset is split (spec §6.2). */
export type TransferSplit =
  /** One subject partition shared by all WISDM devices ({@link sharedSubjectPartition}). */
  | "wisdm-shared-subjects"
  /** By trial (recording file), per class. */
  | "by-trial"
  /** Subjects, two groups partitioned separately: those with any ADL window, the fall-only ones. */
  | "subject-groups";

/** One dataset of the experiment, as plain data. */
export interface TransferDefinition {
  /** Name in {@link TRANSFER_DATASETS}. */
  name: TransferDatasetName;
  /** Human-readable title. */
  title: string;
  /** Registry dataset read (lib/data/registry.ts). */
  dataset: string;
  /** Body placement. */
  placement: "wrist" | "pocket";
  /** Class names, in label order. */
  classes: readonly string[];
  /** Merges: source class (as the registry names it) → class; other kept classes keep their name. */
  classMap: Readonly<Record<string, string>>;
  /** How it is split. */
  split: TransferSplit;
  /** `"subject-groups"`: the classes that make a subject an "ADL subject"; the others are in the second group. */
  adlClasses?: readonly string[];
  /** Windows at 4 s / 2 s counted by the spec (§6, at the native rates), for checks. */
  specWindows: number;
  /** Per-class windows of the spec, when it gives them (MobiFall-8), in `classes` order. */
  specPerClass?: readonly number[];
  /** What is kept and dropped, in words. */
  note: string;
}

const HMP10_CLASSES = [
  "brush_teeth",
  "comb_hair",
  "drink_glass",
  "pour_water",
  "use_telephone",
  "stairs",
  "walk",
  "getup_bed",
  "sitdown_chair",
  "standup_chair",
];

const MOBIFALL8_CLASSES = ["STD", "WAL", "JOG", "JUM", "STU", "STN", "SIT", "FALL"];

/** The four dataset definitions (spec §6.1 class subsets). */
export const TRANSFER_DEFINITIONS: Readonly<Record<TransferDatasetName, TransferDefinition>> = {
  "wisdm-watch-18": {
    name: "wisdm-watch-18",
    title: "WISDM 2019 watch (wrist), 18 activities",
    dataset: "wisdm-watch",
    placement: "wrist",
    classes: [...WISDM_ACTIVITIES],
    classMap: {},
    split: "wisdm-shared-subjects",
    specWindows: 72521,
    note: "every subject present (46 here) and all 18 codes A–S without N",
  },
  "wisdm-phone-18": {
    name: "wisdm-phone-18",
    title: "WISDM 2019 phone (trouser pocket), 18 activities",
    dataset: "wisdm-phone",
    placement: "pocket",
    classes: [...WISDM_ACTIVITIES],
    classMap: {},
    split: "wisdm-shared-subjects",
    specWindows: 34601,
    note: "every subject present (22 here, 18 also in the watch data) and all 18 codes",
  },
  "hmp-10": {
    name: "hmp-10",
    title: "HMP ADL (wrist), 10 classes",
    dataset: "hmp-adl",
    placement: "wrist",
    classes: HMP10_CLASSES,
    classMap: { climb_stairs: "stairs", descend_stairs: "stairs" },
    split: "by-trial",
    specWindows: 5005,
    note: "stairs = climb_stairs ∪ descend_stairs; eat_meat, eat_soup (one subject, ≤ 5 " +
      "trials) and liedown_bed (smallest class) dropped; no *_MODEL trials",
  },
  "mobifall-8": {
    name: "mobifall-8",
    title: "MobiFall v2 (trouser pocket), 8 classes",
    dataset: "mobifall",
    placement: "pocket",
    classes: MOBIFALL8_CLASSES,
    classMap: {
      SCH: "SIT",
      CSI: "SIT",
      CSO: "SIT",
      FOL: "FALL",
      FKL: "FALL",
      BSC: "FALL",
      SDL: "FALL",
    },
    split: "subject-groups",
    adlClasses: ["STD", "WAL", "JOG", "JUM", "STU", "STN", "SIT"],
    specWindows: 4727,
    specPerClass: [1334, 1332, 352, 351, 161, 163, 164, 870],
    note: "SIT = SCH ∪ CSI ∪ CSO (sit-down transitions), FALL = FOL ∪ FKL ∪ BSC ∪ SDL",
  },
};

/** The five WISDM subjects ssl-wearables removes (1637 and 1639 are absent here anyway). */
export const SSL_WEARABLES_WISDM_EXCLUDED: readonly string[] = [
  "1616",
  "1618",
  "1637",
  "1639",
  "1642",
];

/** The resampler options every dataset goes through (spec §6.3). */
export const TRANSFER_RESAMPLE: Readonly<ResampleOptions> = {
  method: "antialias",
  maxGapSec: 1,
  cutoffRatio: 0.8,
};

/** Arguments of {@link loadTransferDatasets}; every field optional. */
export interface TransferDataArgs {
  /** Window rate (Hz), default 20 (spec §6.3: not the paper's 25, which would upsample WISDM). */
  rateHz?: number;
  /** Window length (s), default 4. */
  windowSec?: number;
  /** Overlap of consecutive windows (s), default 2. */
  overlapSec?: number;
  /** Target shares of the windows (= duration), default 0.4 / 0.1 / 0.5. */
  fractions?: PartitionFractions;
  /** Seed of every partition (default 0). */
  seed?: number;
  /** Data folder; default `dataDir()` (`$HAR_DATA_DIR` or `./datasets`). */
  dataDir?: string;
  /** Spectrogram STFT length (samples), default 32. */
  nFft?: number;
  /** Spectrogram STFT hop (samples), default 8. */
  hop?: number;
  /** WISDM subjects removed from both devices before the partition (default none; see {@link SSL_WEARABLES_WISDM_EXCLUDED}). */
  wisdmExcludeSubjects?: readonly string[];
  /** Folder of the windows cache; default `.cache/multiresnet`; null: no cache. */
  cacheDir?: string | null;
  /** Progress and report lines (default silent). */
  log?: (msg: string) => void;
}

/** One part of a split: windows, spectrograms, labels. */
export interface TransferPart {
  /** Raw windows, row-major `[n, length, channels]` (channels-last), in g. */
  x: Float32Array;
  /** Per-axis log-power spectrograms `[n, frames, bins, channels]`, `10·log10(|X|² + 1e-10)` dB. */
  spec: Float32Array;
  /** Class index per window. */
  y: Int32Array;
  /** Subject per window. */
  subject: string[];
  /** Trial (or activity run) per window: file relative to the dataset root, `#<class>` for WISDM runs. */
  source: string[];
  /** Number of windows. */
  n: number;
}

/** What the protocol gave on one dataset. */
export interface TransferDataReport {
  /** Windows in all three parts. */
  windows: number;
  /** Windows per class (in `classes` order) per part. */
  perClass: Record<TransferPartName, number[]>;
  /** Realised share of the windows (= duration) per part. */
  fractions: Record<TransferPartName, number>;
  /** Subjects (or trials, for `"by-trial"`) per part, sorted. */
  units: Record<TransferPartName, string[]>;
  /** `"subjects"` or `"trials"`: what {@link units} lists. */
  unitKind: "subjects" | "trials";
  /** Micro F1 of predicting the train-majority class on test (= its test share). */
  majorityF1Micro: number;
  /** Macro F1 of the same (its F1 `2p/(1+p)` over the number of classes; the others score 0). */
  majorityF1Macro: number;
  /** The train-majority class. */
  majorityClass: string;
  /** One line describing the resampling. */
  resampled: string;
  /** One line describing the split. */
  split: string;
  /** The spec's window count (§6, native rates), to compare with {@link windows}. */
  specWindows: number;
  /** Candidate windows dropped by the windowing, per reason (pure policy: should be none). */
  dropped: Record<string, number>;
  /** WISDM subjects removed before the partition. */
  excludedSubjects: string[];
  /** True when the windows came from the cache. */
  fromCache: boolean;
}

/** One dataset ready for the experiment. */
export interface TransferDataset {
  /** Name in {@link TRANSFER_DATASETS}. */
  name: TransferDatasetName;
  /** Human-readable title. */
  title: string;
  /** Body placement. */
  placement: "wrist" | "pocket";
  /** Class names, `y` indexes them. */
  classes: string[];
  /** Window rate (Hz). */
  rateHz: number;
  /** Samples per window (`windowSec × rateHz`). */
  length: number;
  /** Axes per window. */
  channels: 3;
  /** Spectrogram frames per window. */
  frames: number;
  /** Spectrogram bins per frame. */
  bins: number;
  /** STFT length (samples) of the spectrograms. */
  nFft: number;
  /** STFT hop (samples). */
  hop: number;
  /** Training part (the adaptation subsets are drawn from it). */
  train: TransferPart;
  /** Validation part. */
  val: TransferPart;
  /** Test part. */
  test: TransferPart;
  /** Counts, fractions, units, majority baseline. */
  report: TransferDataReport;
}

/** Sizes {@link subsetPart} needs (a {@link TransferDataset} fits). */
export interface TransferDims {
  /** Samples per window. */
  length: number;
  /** Axes. */
  channels: number;
  /** Spectrogram frames. */
  frames: number;
  /** Spectrogram bins. */
  bins: number;
}

// ---------------------------------------------------------------------------
// Spectrograms, subsets, adaptation ladders

/**
 * Per-axis log-power spectrograms of channels-last windows: for window i
 * and axis c, a periodic-Hann, no-padding STFT of the `length` samples
 * (`stftInto`, power 2), stored as `10·log10(power + 1e-10)` at
 * `[i, frame, bin, c]`.
 *
 * @param x `[n, length, channels]` row-major
 * @returns `[n, frames, bins, channels]`, frames = `stftFrameCount(length, nFft, hop)`
 * @throws ConfigError when `x` is too short or a window is shorter than `nFft`
 */
export function spectrogramWindows(
  x: Float32Array,
  n: number,
  length: number,
  channels: number,
  args: { nFft: number; hop: number },
): Float32Array {
  const { nFft, hop } = args;
  if (x.length < n * length * channels) {
    throw new ConfigError(
      `spectrogramWindows: ${x.length} values for ${n} windows × ${length} × ${channels}`,
    );
  }
  const frames = stftFrameCount(length, nFft, hop);
  if (frames === 0) {
    throw new ConfigError(
      `spectrogramWindows: a window of ${length} samples is shorter than nFft ${nFft}`,
    );
  }
  const bins = stftBins(nFft);
  const per = frames * bins;
  const out = new Float32Array(n * per * channels);
  const sig = new Float64Array(length);
  const pow = new Float32Array(per);
  const stftArgs = { nFft, hop, power: 2 as const };
  for (let i = 0; i < n; i++) {
    const xi = i * length * channels, oi = i * per * channels;
    for (let c = 0; c < channels; c++) {
      for (let t = 0; t < length; t++) sig[t] = x[xi + t * channels + c];
      stftInto(sig, stftArgs, pow, bins, 0);
      for (let k = 0; k < per; k++) out[oi + k * channels + c] = 10 * Math.log10(pow[k] + 1e-10);
    }
  }
  return out;
}

/**
 * The windows `idx` of a part (in the order given), as a new part.
 *
 * @throws ConfigError for an index outside the part
 */
export function subsetPart(
  p: TransferPart,
  idx: ArrayLike<number>,
  dims: TransferDims,
): TransferPart {
  const xPer = dims.length * dims.channels;
  const sPer = dims.frames * dims.bins * dims.channels;
  const m = idx.length;
  const x = new Float32Array(m * xPer), spec = new Float32Array(m * sPer);
  const y = new Int32Array(m);
  const subject: string[] = new Array(m), source: string[] = new Array(m);
  for (let j = 0; j < m; j++) {
    const i = idx[j];
    if (!Number.isInteger(i) || i < 0 || i >= p.n) {
      throw new ConfigError(`subsetPart: index ${i} outside the part's ${p.n} windows`);
    }
    x.set(p.x.subarray(i * xPer, (i + 1) * xPer), j * xPer);
    spec.set(p.spec.subarray(i * sPer, (i + 1) * sPer), j * sPer);
    y[j] = p.y[i];
    subject[j] = p.subject[i];
    source[j] = p.source[i];
  }
  return { x, spec, y, subject, source, n: m };
}

/**
 * Nested, stratified, seeded adaptation subsets of a training part (spec
 * §1.2 [C]): window indices (ascending) for each of `sizes`, each smaller
 * subset inside every larger one. All come from one seeded ordering of the
 * windows: first one window of every class present (in a seeded class
 * order), then repeatedly a window of the class furthest below its share
 * `s · n_c / n` (ties in a seeded class order), each class's windows in a
 * seeded random order. So a subset of size s ≥ the number of classes holds
 * every class, and each class's count is within about one window of its
 * proportional share (small classes are held at one until their share
 * catches up).
 *
 * @param y class per window of the part
 * @param numClasses number of classes (labels must be in `[0, numClasses)`)
 * @param sizes subset sizes (any order, duplicates allowed), each in `[1, y.length]`
 * @param seed seed of the ordering
 * @returns one ascending index array per entry of `sizes`, in the order given
 * @throws ConfigError for a size outside `[1, y.length]` or a label outside `[0, numClasses)`
 */
export function nestedAdaptationSubsets(
  y: Int32Array,
  numClasses: number,
  sizes: readonly number[],
  seed: number,
): Int32Array[] {
  const n = y.length;
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new ConfigError(
      `nestedAdaptationSubsets: numClasses must be an integer >= 1, got ${numClasses}`,
    );
  }
  for (const s of sizes) {
    if (!Number.isInteger(s) || s < 1) {
      throw new ConfigError(`nestedAdaptationSubsets: sizes must be integers >= 1, got ${s}`);
    }
    if (s > n) {
      throw new ConfigError(
        `nestedAdaptationSubsets: size ${s} is larger than the part (${n} windows); ` +
          `the largest rung must not exceed the smallest training part`,
      );
    }
  }
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < n; i++) {
    const c = y[i];
    if (!(c >= 0 && c < numClasses)) {
      throw new ConfigError(
        `nestedAdaptationSubsets: label ${c} at window ${i} outside [0, ${numClasses})`,
      );
    }
    byClass[c].push(i);
  }
  const need = sizes.reduce((a, b) => Math.max(a, b), 0);
  const r = rng(seed);
  for (const list of byClass) r.shuffle(list);
  const present = byClass.map((l, c) => (l.length ? c : -1)).filter((c) => c >= 0);
  // a seeded class order: the first-window phase and tie breaks
  const rank = new Int32Array(numClasses);
  r.shuffle([...present]).forEach((c, k) => rank[c] = k);
  const order = new Int32Array(need);
  const taken = new Int32Array(numClasses);
  let s = 0;
  for (const c of [...present].sort((a, b) => rank[a] - rank[b])) {
    if (s >= need) break;
    order[s++] = byClass[c][taken[c]++];
  }
  while (s < need) {
    let best = -1, bestDef = -Infinity;
    for (const c of present) {
      if (taken[c] >= byClass[c].length) continue;
      const def = ((s + 1) * byClass[c].length) / n - taken[c];
      if (def > bestDef + 1e-12 || (Math.abs(def - bestDef) <= 1e-12 && rank[c] < rank[best])) {
        best = c;
        bestDef = def;
      }
    }
    order[s++] = byClass[best][taken[best]++];
  }
  return sizes.map((k) => order.slice(0, k).sort());
}

// ---------------------------------------------------------------------------
// Partitions

/**
 * One train/val/test subject partition shared by several datasets with the
 * same subjects (WISDM watch and phone): every subject of the union gets one
 * part, chosen so that in **each** dataset the parts' shares of its total
 * duration are close to `fractions`. The cost is Σ_datasets Σ_parts
 * |share − target|; subjects are assigned greedily in a seeded order
 * (each to the part that lowers the cost most), then single moves and
 * pairwise swaps are applied while they lower it. Every part with a positive
 * fraction keeps at least one subject of every dataset.
 *
 * @param durations per dataset, seconds (or windows) per subject; subjects absent from a dataset count 0 there
 * @returns subject → part
 * @throws ConfigError for bad fractions, or a dataset with fewer subjects than non-empty parts
 *
 * @example
 * const part = sharedSubjectPartition([watchWindows, phoneWindows], { fractions: { train: 0.4, val: 0.1, test: 0.5 }, seed: 0 });
 * part["1600"]; // "test"
 */
export function sharedSubjectPartition(
  durations: readonly Readonly<Record<string, number>>[],
  opts: { fractions: PartitionFractions; seed: number },
): Record<string, TransferPartName> {
  const where = "sharedSubjectPartition";
  const fr = PARTS.map((p) => opts.fractions?.[p]);
  if (fr.some((v) => typeof v !== "number" || !(v >= 0 && v <= 1))) {
    throw new ConfigError(
      `${where}: fractions must be numbers in [0, 1], got ${JSON.stringify(opts.fractions)}`,
    );
  }
  if (Math.abs(fr[0] + fr[1] + fr[2] - 1) > 1e-6 || fr[0] === 0 || fr[2] === 0) {
    throw new ConfigError(
      `${where}: fractions must sum to 1 with train and test > 0, got ${
        JSON.stringify(opts.fractions)
      }`,
    );
  }
  if (durations.length === 0) throw new ConfigError(`${where}: no datasets`);
  const subs = [...new Set(durations.flatMap((d) => Object.keys(d)))].sort();
  const D = durations.length, n = subs.length;
  const active = [0, 1, 2].filter((p) => fr[p] > 0);
  // w[d * n + i]: subject i's share of dataset d
  const w = new Float64Array(D * n);
  durations.forEach((dur, d) => {
    let total = 0;
    for (const [s, v] of Object.entries(dur)) {
      if (!(v >= 0) || !Number.isFinite(v)) {
        throw new ConfigError(`${where}: duration of subject ${s} in dataset ${d} is ${v}`);
      }
      total += v;
    }
    const have = Object.values(dur).filter((v) => v > 0).length;
    if (have < active.length) {
      throw new ConfigError(
        `${where}: dataset ${d} has ${have} subjects with data for ${active.length} parts`,
      );
    }
    subs.forEach((s, i) => w[d * n + i] = (dur[s] ?? 0) / total);
  });
  const load = new Float64Array(D * 3), count = new Int32Array(D * 3);
  const part = new Int32Array(n).fill(-1);
  const put = (i: number, p: number, sign: 1 | -1) => {
    for (let d = 0; d < D; d++) {
      load[d * 3 + p] += sign * w[d * n + i];
      if (w[d * n + i] > 0) count[d * 3 + p] += sign;
    }
  };
  /** Cost change of adding (sign 1) or removing (-1) subject i to or from part p. */
  const delta = (i: number, p: number, sign: 1 | -1) => {
    let s = 0;
    for (let d = 0; d < D; d++) {
      const l = load[d * 3 + p];
      s += Math.abs(l + sign * w[d * n + i] - fr[p]) - Math.abs(l - fr[p]);
    }
    return s;
  };
  const order = rng(opts.seed).shuffle(Array.from({ length: n }, (_, i) => i));
  // first one subject with data per (dataset, part), largest share first
  const bySize = [...active].sort((a, b) => fr[b] - fr[a] || a - b);
  for (let d = 0; d < D; d++) {
    for (const p of bySize) {
      if (count[d * 3 + p] > 0) continue;
      const i = order.find((j) => part[j] < 0 && w[d * n + j] > 0);
      if (i === undefined) continue;
      part[i] = p;
      put(i, p, 1);
    }
  }
  for (const i of order) {
    if (part[i] >= 0) continue;
    let best = active[0], bestDelta = Infinity;
    for (const p of active) {
      const dl = delta(i, p, 1);
      if (dl < bestDelta - 1e-12) (best = p, bestDelta = dl);
    }
    part[i] = best;
    put(i, best, 1);
  }
  // a subject may leave part a unless it is a's last one with data in some dataset
  const canLeave = (i: number, a: number) => {
    for (let d = 0; d < D; d++) {
      if (w[d * n + i] > 0 && count[d * 3 + a] <= 1) return false;
    }
    return true;
  };
  const has = (d: number, i: number) => (w[d * n + i] > 0 ? 1 : 0);
  const eps = 1e-12;
  for (let pass = 0; pass < 1000; pass++) {
    let improved = false;
    for (let i = 0; i < n; i++) {
      const a = part[i];
      if (!canLeave(i, a)) continue;
      for (const b of active) {
        if (b === a) continue;
        const dl = delta(i, a, -1);
        put(i, a, -1);
        const total = dl + delta(i, b, 1);
        if (total < -eps) {
          put(i, b, 1);
          part[i] = b;
          improved = true;
          break;
        }
        put(i, a, 1);
      }
    }
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const a = part[i], b = part[j];
        if (a === b) continue;
        let ok = true;
        for (let d = 0; d < D && ok; d++) {
          const ca = count[d * 3 + a] - has(d, i) + has(d, j);
          const cb = count[d * 3 + b] - has(d, j) + has(d, i);
          if (ca < 1 || cb < 1) ok = false;
        }
        if (!ok) continue;
        const before = cost(load, fr, D);
        put(i, a, -1), put(j, b, -1), put(i, b, 1), put(j, a, 1);
        if (cost(load, fr, D) < before - eps) {
          part[i] = b, part[j] = a;
          improved = true;
        } else put(i, b, -1), put(j, a, -1), put(i, a, 1), put(j, b, 1);
      }
    }
    if (!improved) break;
  }
  return Object.fromEntries(subs.map((s, i) => [s, PARTS[part[i]]]));
}

function cost(load: Float64Array, fr: number[], D: number): number {
  let c = 0;
  for (let d = 0; d < D; d++) for (let p = 0; p < 3; p++) c += Math.abs(load[d * 3 + p] - fr[p]);
  return c;
}

/** Window counts per key. */
function countBy(keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

/** Part of each key by `subjectPartition` over the keys of `idx` (window counts as durations). */
function partitionKeys(
  keys: readonly string[],
  idx: readonly number[],
  fractions: PartitionFractions,
  seed: number,
): Record<string, TransferPartName> {
  const sub = idx.map((i) => keys[i]);
  const f = subjectPartition(sub, { fractions, seed });
  const out: Record<string, TransferPartName> = {};
  for (const s of f.trainSubjects) out[s] = "train";
  for (const s of f.valSubjects) out[s] = "val";
  for (const s of f.testSubjects) out[s] = "test";
  return out;
}

// ---------------------------------------------------------------------------
// Windows

interface PreparedWindows {
  windows: Windows;
  resampled: string;
  dropped: Record<string, number>;
  fromCache: boolean;
}

const CACHE_FORMAT = 1;

/** Source classes (registry names) feeding the definition's classes. */
function sourceClasses(def: TransferDefinition): string[] {
  const target = new Set(def.classes);
  return datasetInfo(def.dataset).classes.filter((c) => target.has(def.classMap[c] ?? c));
}

/** Labels re-mapped to the definition's classes (merges applied; others -1). */
function toTargetLabels(def: TransferDefinition, r: Recording): Recording {
  const names = r.labelNames ?? [];
  const map = names.map((nm) => def.classes.indexOf(def.classMap[nm] ?? nm));
  const lab = r.labels!;
  const labels = new Int32Array(lab.length);
  for (let i = 0; i < lab.length; i++) labels[i] = lab[i] >= 0 ? map[lab[i]] : -1;
  return { ...r, labels, labelNames: [...def.classes] };
}

/** One line on how `recs` were resampled to `rateHz` with {@link TRANSFER_RESAMPLE}. */
function describeResampling(def: TransferDefinition, recs: Recording[], rateHz: number): string {
  const irregular = recs.some((r) => r.timestampsMs);
  const down = recs.filter((r) => rateHz < r.rateHz);
  const same = recs.filter((r) => !(rateHz < r.rateHz));
  const cut = (rateHz / 2) * (TRANSFER_RESAMPLE.cutoffRatio ?? 1);
  const n = (rs: Recording[]) => `${rs.length} recording${rs.length === 1 ? "" : "s"}`;
  const how: string[] = [];
  if (same.length) {
    how.push(
      `${n(same)} at ${
        describeRates(same)
      }: linear interpolation onto an exact ${rateHz} Hz grid, ` +
        `no filtering (not a downsampling)`,
    );
  }
  if (down.length) {
    how.push(
      `${n(down)} at ${describeRates(down)}: anti-aliased, ${
        irregular ? "linear interpolation onto a regular grid at the recording's rate, " : ""
      }zero-phase Hamming windowed-sinc FIR low-pass at ${+cut.toFixed(2)} Hz ` +
        `(${TRANSFER_RESAMPLE.cutoffRatio} × the ${rateHz / 2} Hz output Nyquist, ` +
        `16·⌈rate/${rateHz}⌉ + 1 taps), then linear interpolation to ${rateHz} Hz`,
    );
  }
  return `${def.dataset} (${irregular ? "timestamped" : "regular"}) → ${rateHz} Hz by ` +
    `resample(method "${TRANSFER_RESAMPLE.method}"): ${how.join("; ")}; split at gaps > ` +
    `${TRANSFER_RESAMPLE.maxGapSec} s${irregular ? " and backward time steps" : ""}`;
}

/**
 * A recording cut into its label runs (runs of one label; unlabelled runs
 * dropped), keeping `timestampsMs` so that each run is resampled on its
 * own: no filter or interpolation mixes two activities. `meta.labelRun` is
 * the run's class; regular recordings carry their start in `meta.offsetSec`
 * (timestamped ones keep their clock).
 */
function labelRuns(rec: Recording): Recording[] {
  const lab = rec.labels;
  const n = recordingLength(rec);
  if (!lab || n === 0) return [];
  const offset = typeof rec.meta?.offsetSec === "number" ? rec.meta.offsetSec : 0;
  const t = rec.timestampsMs;
  const out: Recording[] = [];
  let start = 0;
  for (let i = 1; i <= n; i++) {
    if (i < n && lab[i] === lab[start]) continue;
    const l = lab[start];
    if (l >= 0) {
      out.push({
        ...rec,
        axes: rec.axes.map((a) => a.subarray(start, i)),
        labels: lab.subarray(start, i),
        timestampsMs: t ? t.subarray(start, i) : undefined,
        meta: {
          ...rec.meta,
          labelRun: rec.labelNames?.[l] ?? String(l),
          offsetSec: t ? offset : offset + start / rec.rateHz,
        },
      });
    }
    start = i;
  }
  return out;
}

/** Options of {@link windowTransferRecordings}. */
export interface TransferWindowOptions {
  /** Window rate (Hz). */
  rateHz: number;
  /** Window length (s). */
  windowSec: number;
  /** Overlap (s). */
  overlapSec: number;
  /** Class names the recordings' `labelNames` are matched against; `y` indexes them. */
  classes: readonly string[];
  /** The `source` of a label run's windows (default the recording's `source`). */
  source?: (run: Recording) => string;
}

/**
 * The windowing of {@link loadTransferDatasets} on any labelled recordings:
 * each recording is cut into label runs, each run resampled to `rateHz`
 * with {@link TRANSFER_RESAMPLE} (split at gaps > 1 s), and each piece cut
 * into windows with the `"pure"` label policy, so every window lies inside
 * one label run, one gap-free segment and one recording, and the first
 * window of a run starts at the run's first sample.
 *
 * @returns the windows (`[n, channels, length]`), the windowing report and the number of label runs
 */
export function windowTransferRecordings(
  recs: Recording[],
  o: TransferWindowOptions,
): WindowsWithReport & { runs: number } {
  const runs = recs.flatMap(labelRuns);
  const pieces = runs.flatMap((r) => {
    const src = o.source ? o.source(r) : r.source;
    return resample(r, o.rateHz, TRANSFER_RESAMPLE).map((p) => ({ ...p, source: src }));
  });
  const res = makeWindowsWithReport(pieces, {
    windowSec: o.windowSec,
    overlapSec: o.overlapSec,
    rateHz: o.rateHz,
    labelPolicy: "pure",
    classes: [...o.classes],
    dropUnlabelled: true,
  });
  return { ...res, runs: runs.length };
}

/** The windows of one dataset before the split, from the cache or built (and cached). */
async function prepareWindows(
  def: TransferDefinition,
  o: { rateHz: number; windowSec: number; overlapSec: number },
  dir: string,
  cacheDir: string | null,
  log: (msg: string) => void,
): Promise<PreparedWindows> {
  const root = await locateDataset(def.dataset, dir);
  if (!root) throw unavailable(def.dataset, dir);
  let base: string | null = null;
  if (cacheDir) {
    const device = def.dataset.startsWith("wisdm-") ? def.dataset.slice(6) : null;
    const print = await datasetFingerprint(device ? join(root, "raw", device, "accel") : root);
    const key = await sha256Hex(
      JSON.stringify([CACHE_FORMAT, def, o, TRANSFER_RESAMPLE, root, print]),
    );
    base = join(cacheDir, `${def.name}-${key.slice(0, 16)}`);
    try {
      const hit = await readWindowsCache<{ resampled: string; dropped: Record<string, number> }>(
        base,
        "f32",
      );
      if (hit) {
        log(`${def.name}: ${hit.windows.n} windows from cache ${base}.f32`);
        return {
          windows: hit.windows,
          resampled: hit.sidecar.resampled,
          dropped: hit.sidecar.dropped,
          fromCache: true,
        };
      }
    } catch (e) {
      log(`${def.name}: cache ${base} unreadable (${(e as Error).message}); rebuilding`);
    }
  }
  const t0 = performance.now();
  const recs = (await loadDataset(def.dataset, { dir, classes: sourceClasses(def) }))
    .map((r) => toTargetLabels(def, r));
  for (const r of recs) {
    if (r.placement !== def.placement) {
      throw new DataFormatError(
        r.source,
        `placement "${r.placement}", ${def.name} expects "${def.placement}"`,
      );
    }
    if (r.axes.length !== 3) {
      throw new DataFormatError(r.source, `${r.axes.length} axes, ${def.name} expects 3`);
    }
  }
  const runSuffix = def.split === "wisdm-shared-subjects";
  const { windows, report, runs } = windowTransferRecordings(recs, {
    ...o,
    classes: def.classes,
    source: (r) => relative(root, r.source) + (runSuffix ? `#${r.meta?.labelRun}` : ""),
  });
  const resampled = describeResampling(def, recs, o.rateHz);
  const dropped = report.dropped as Record<string, number>;
  log(
    `${def.name}: ${windows.n} windows from ${recs.length} recordings (${runs} label runs) in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
  if (base) await writeWindowsCache(base, windows, "f32", () => ({ resampled, dropped }));
  return { windows, resampled, dropped, fromCache: false };
}

/** Windows `keep` of `w` (ascending), as new arrays. */
function selectWindows(w: Windows, keep: readonly number[]): Windows {
  const per = w.channels * w.length;
  const x = new Float32Array(keep.length * per);
  keep.forEach((i, j) => x.set(w.x.subarray(i * per, (i + 1) * per), j * per));
  return {
    ...w,
    x,
    n: keep.length,
    y: Int32Array.from(keep, (i) => w.y[i]),
    subject: keep.map((i) => w.subject[i]),
    source: keep.map((i) => w.source![i]),
    startSec: w.startSec ? Float64Array.from(keep, (i) => w.startSec![i]) : undefined,
  };
}

/** A part from windows `idx` of `w` (`[n, channels, length]`): transposed to channels-last, spectrograms added. */
function makePart(
  w: Windows,
  idx: readonly number[],
  stft: { nFft: number; hop: number },
): TransferPart {
  const { channels: C, length: L } = w;
  const x = new Float32Array(idx.length * L * C);
  idx.forEach((i, j) => {
    const src = i * C * L, dst = j * L * C;
    for (let c = 0; c < C; c++) {
      for (let t = 0; t < L; t++) x[dst + t * C + c] = w.x[src + c * L + t];
    }
  });
  return {
    x,
    spec: spectrogramWindows(x, idx.length, L, C, stft),
    y: Int32Array.from(idx, (i) => w.y[i]),
    subject: idx.map((i) => w.subject[i]),
    source: idx.map((i) => w.source![i]),
    n: idx.length,
  };
}

/** Train-majority baseline on test: micro F1 = its test share; macro = its F1 over the class count. */
function majorityBaseline(
  train: number[],
  test: number[],
): { c: number; micro: number; macro: number } {
  let c = 0;
  for (let k = 1; k < train.length; k++) if (train[k] > train[c]) c = k;
  const total = test.reduce((a, b) => a + b, 0);
  const p = total ? test[c] / total : 0;
  return { c, micro: p, macro: p > 0 ? (2 * p) / (1 + p) / train.length : 0 };
}

function checkPositive(what: string, v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) {
    throw new ConfigError(`loadTransferDatasets: ${what} must be a positive number, got ${v}`);
  }
  return v;
}

/**
 * Load, resample, window and split the named datasets (see the module
 * docs). Asking for either WISDM device prepares both (their partition is
 * computed over both). Every class must be in train and test.
 *
 * @returns name → dataset, in the order asked
 * @throws ConfigError for an unknown name, bad arguments (an STFT longer
 *   than the window, fractions not summing to 1), or a class missing from
 *   train or test (naming the dataset, the part and the class)
 * @throws DatasetUnavailableError (the registry's, naming the folder and how
 *   to get the data) when a dataset is absent
 * @throws DataFormatError for a bad file or a recording failing the registry's checks
 */
export async function loadTransferDatasets(
  names: readonly TransferDatasetName[],
  args: TransferDataArgs = {},
): Promise<Record<string, TransferDataset>> {
  for (const nm of names) {
    if (!(TRANSFER_DATASETS as readonly string[]).includes(nm)) {
      throw new ConfigError(
        `unknown transfer dataset "${nm}" (known: ${TRANSFER_DATASETS.join(", ")})`,
      );
    }
  }
  const rateHz = checkPositive("rateHz", args.rateHz ?? 20);
  const windowSec = checkPositive("windowSec", args.windowSec ?? 4);
  const overlapSec = args.overlapSec ?? 2;
  if (!(overlapSec >= 0 && overlapSec < windowSec)) {
    throw new ConfigError(
      `loadTransferDatasets: overlapSec must be in [0, windowSec = ${windowSec}), got ${overlapSec}`,
    );
  }
  const fractions = args.fractions ?? { train: 0.4, val: 0.1, test: 0.5 };
  const seed = args.seed ?? 0;
  if (!Number.isFinite(seed)) {
    throw new ConfigError(`loadTransferDatasets: seed must be a finite number, got ${seed}`);
  }
  const nFft = args.nFft ?? 32, hop = args.hop ?? 8;
  const length = Math.round(windowSec * rateHz);
  const frames = stftFrameCount(length, nFft, hop);
  if (!Number.isInteger(nFft) || nFft < 2 || !Number.isInteger(hop) || hop < 1) {
    throw new ConfigError(
      `loadTransferDatasets: nFft must be an integer >= 2 and hop >= 1, got ${nFft}, ${hop}`,
    );
  }
  if (frames === 0) {
    throw new ConfigError(
      `loadTransferDatasets: nFft ${nFft} is longer than the ${length}-sample window`,
    );
  }
  const bins = stftBins(nFft);
  const dir = args.dataDir ?? dataDir();
  const cacheDir = args.cacheDir === undefined ? ".cache/multiresnet" : args.cacheDir;
  const log = args.log ?? (() => {});
  const exclude = new Set(args.wisdmExcludeSubjects ?? []);
  const o = { rateHz, windowSec, overlapSec };

  const wanted = [...new Set(names)];
  const toPrepare = new Set<TransferDatasetName>(wanted);
  if (wanted.some((nm) => TRANSFER_DEFINITIONS[nm].split === "wisdm-shared-subjects")) {
    toPrepare.add("wisdm-watch-18").add("wisdm-phone-18");
  }
  const prepared = new Map<TransferDatasetName, PreparedWindows>();
  for (const nm of TRANSFER_DATASETS) {
    if (!toPrepare.has(nm)) continue;
    const def = TRANSFER_DEFINITIONS[nm];
    const p = await prepareWindows(def, o, dir, cacheDir, log);
    if (def.split === "wisdm-shared-subjects" && exclude.size) {
      const keep: number[] = [];
      p.windows.subject.forEach((s, i) => !exclude.has(s) && keep.push(i));
      p.windows = selectWindows(p.windows, keep);
    }
    if (p.windows.n === 0) {
      throw new DataFormatError(dir, `${nm}: no windows (${JSON.stringify(p.dropped)} dropped)`);
    }
    prepared.set(nm, p);
  }

  // the one WISDM partition, over both devices
  let wisdmPart: Record<string, TransferPartName> | null = null;
  if (prepared.has("wisdm-watch-18")) {
    wisdmPart = sharedSubjectPartition(
      [
        countBy(prepared.get("wisdm-watch-18")!.windows.subject),
        countBy(prepared.get("wisdm-phone-18")!.windows.subject),
      ],
      { fractions, seed },
    );
  }

  const out: Record<string, TransferDataset> = {};
  for (const nm of wanted) {
    const def = TRANSFER_DEFINITIONS[nm];
    const { windows: w, resampled, dropped, fromCache } = prepared.get(nm)!;
    const all = Array.from({ length: w.n }, (_, i) => i);
    const source = w.source!;
    let partOf: (i: number) => TransferPartName;
    let unitOf: (i: number) => string;
    let split: string;
    const pct = (f: PartitionFractions) =>
      PARTS.map((p) => String(Math.round(f[p] * 100))).join("/");
    if (def.split === "wisdm-shared-subjects") {
      partOf = (i) => wisdmPart![w.subject[i]];
      unitOf = (i) => w.subject[i];
      split = `subjects, one ${
        pct(fractions)
      } partition shared by WISDM watch and phone (balanced over both devices' windows), seed ${seed}`;
    } else if (def.split === "by-trial") {
      const parts: Record<string, TransferPartName> = {};
      def.classes.forEach((_, c) => {
        const idx = all.filter((i) => w.y[i] === c);
        const trials = new Set(idx.map((i) => source[i]));
        if (trials.size < 3) {
          throw new ConfigError(
            `${nm}: class "${def.classes[c]}" has ${trials.size} trial(s) with windows, ` +
              `need 3 to split it by trial into train/val/test`,
          );
        }
        Object.assign(parts, partitionKeys(source, idx, fractions, seed * 1000 + c));
      });
      partOf = (i) => parts[source[i]];
      unitOf = (i) => source[i];
      split = `trials (recording files), ${
        pct(fractions)
      } of each class's windows by trial, seeds ${seed}·1000 + class`;
    } else {
      const adl = new Set(def.adlClasses!.map((c) => def.classes.indexOf(c)));
      const adlSubjects = new Set(all.filter((i) => adl.has(w.y[i])).map((i) => w.subject[i]));
      const g1 = all.filter((i) => adlSubjects.has(w.subject[i]));
      const g2 = all.filter((i) => !adlSubjects.has(w.subject[i]));
      const parts = {
        ...partitionKeys(w.subject, g1, fractions, seed),
        ...(g2.length ? partitionKeys(w.subject, g2, fractions, seed + 1) : {}),
      };
      partOf = (i) => parts[w.subject[i]];
      unitOf = (i) => w.subject[i];
      const count = (g: number[]) => {
        const subs = new Set(g.map((i) => w.subject[i]));
        return PARTS.map((p) => [...subs].filter((s) => parts[s] === p).length).join("/");
      };
      split = `subjects, ${pct(fractions)} by windows within each group: ${adlSubjects.size} ` +
        `ADL subjects ${count(g1)}, ${new Set(g2.map((i) => w.subject[i])).size} ` +
        `fall-only subjects ${count(g2)} (train/val/test), seeds ${seed}, ${seed + 1}`;
    }
    const idx: Record<TransferPartName, number[]> = { train: [], val: [], test: [] };
    for (const i of all) idx[partOf(i)].push(i);
    const perClass = {} as Record<TransferPartName, number[]>;
    const units = {} as Record<TransferPartName, string[]>;
    const realised = {} as Record<TransferPartName, number>;
    for (const p of PARTS) {
      const counts = new Array(def.classes.length).fill(0);
      for (const i of idx[p]) counts[w.y[i]]++;
      perClass[p] = counts;
      units[p] = [...new Set(idx[p].map(unitOf))].sort((a, b) =>
        a.localeCompare(b, "en", { numeric: true })
      );
      realised[p] = idx[p].length / w.n;
    }
    for (const p of ["train", "test"] as const) {
      const missing = def.classes.filter((_, c) => perClass[p][c] === 0);
      if (missing.length) {
        throw new ConfigError(
          `${nm}: class(es) ${missing.map((m) => `"${m}"`).join(", ")} missing from ${p} ` +
            `(${units[p].length} ${
              def.split === "by-trial" ? "trials" : "subjects"
            }, seed ${seed}); ` +
            `every class must be in train and test: try another seed or other fractions`,
        );
      }
    }
    const maj = majorityBaseline(perClass.train, perClass.test);
    const report: TransferDataReport = {
      windows: w.n,
      perClass,
      fractions: realised,
      units,
      unitKind: def.split === "by-trial" ? "trials" : "subjects",
      majorityF1Micro: maj.micro,
      majorityF1Macro: maj.macro,
      majorityClass: def.classes[maj.c],
      resampled,
      split,
      specWindows: def.specWindows,
      dropped,
      excludedSubjects: def.split === "wisdm-shared-subjects" ? [...exclude].sort() : [],
      fromCache,
    };
    const stft = { nFft, hop };
    out[nm] = {
      name: nm,
      title: def.title,
      placement: def.placement,
      classes: [...def.classes],
      rateHz,
      length,
      channels: 3,
      frames,
      bins,
      nFft,
      hop,
      train: makePart(w, idx.train, stft),
      val: makePart(w, idx.val, stft),
      test: makePart(w, idx.test, stft),
      report,
    };
    log(formatTransferReport(out[nm]));
  }
  return out;
}

/**
 * The report of one dataset as text: windows (vs the spec), realised
 * fractions and units per part, per-class counts, majority F1, resampling
 * and split lines.
 */
export function formatTransferReport(ds: TransferDataset): string {
  const r = ds.report;
  const lines = [
    `${ds.name}: ${r.windows} windows (spec ${r.specWindows}), ${ds.classes.length} classes, ` +
    `${ds.rateHz} Hz × ${ds.length} samples, spectrogram ${ds.frames} × ${ds.bins}`,
    ...PARTS.map((p) =>
      `  ${p.padEnd(5)} ${ds[p].n} windows (${(r.fractions[p] * 100).toFixed(1)} %), ` +
      `${r.units[p].length} ${r.unitKind}`
    ),
    `  per class (train/val/test): ${
      ds.classes.map((c, k) =>
        `${c} ${r.perClass.train[k]}/${r.perClass.val[k]}/${r.perClass.test[k]}`
      ).join(", ")
    }`,
    `  majority (${r.majorityClass}) on test: F1 micro ${(r.majorityF1Micro * 100).toFixed(1)}, ` +
    `macro ${(r.majorityF1Macro * 100).toFixed(1)}`,
    `  resampling: ${r.resampled}`,
    `  split: ${r.split}`,
  ];
  return lines.join("\n");
}
