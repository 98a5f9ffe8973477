/**
 * The data protocol of "Don't freeze: Finetune encoders for better
 * Self-Supervised HAR" (Fortes Rey et al. 2023; issue #15; spec
 * `../shared/specs/dont-freeze.md` §1 and §9) on the datasets we have.
 *
 * - **Signals** (§1.1, §9.2): accelerometer x, y, z of one sensor, in g,
 *   every recording resampled on its own (by timestamp, split at gaps >
 *   `maxGapSec` and backward clock steps) onto a 50 Hz grid
 *   ({@link prepareDontFreezeRecordings}): down-sampled data (MobiFall
 *   ~87 Hz, Daphnet 64 Hz, the AX3 `.cwa` at 100 Hz) through
 *   `resample(method "antialias")` with its zero-phase windowed-sinc
 *   low-pass at {@link DontFreezeSignalOptions.antiAliasHz} (20 Hz, §1.1
 *   [D] "cut-off ≤ 20 Hz"); up-sampled data (WISDM 20 Hz, one WISDM phone
 *   at 25 Hz, HMP 32 Hz) by linear interpolation (§1.1 [D]; `upsampling:
 *   "fourier"` for `scipy.signal.resample`-style FFT interpolation); then,
 *   by default, the bandwidth-harmonisation low-pass at 10 Hz on every
 *   dataset, source included (§9.2 step 3 [D]: WISDM has nothing above its
 *   10 Hz Nyquist; `bandLimitHz: null` turns it off), a zero-phase
 *   Hamming windowed-sinc FIR at 50 Hz (`bandLimitTaps`, default 51).
 *   Then 2 s windows (100 samples) every 1 s (50 samples); no window
 *   crosses a recording, a gap or a subject.
 * - **Source** ({@link loadDontFreezeSource}, §1.2, §9.2 "Capture-24
 *   role"): WISDM 2019 watch (wrist) with its labels discarded plus the
 *   Axivity AX3 `.cwa` recording, unlabelled. Users are split once, seeded:
 *   `round(16/151 · users)` WISDM users validate (the paper's 16 of
 *   Capture-24's 151; 5 of 46, or 3 of the 28 left when WISDM phone is a
 *   target), the rest and the `.cwa` recording train (§9.2: "keep the
 *   `.cwa` recording in training"). Subjects of a target that are the same
 *   people as source users are removed first (§9.2 [D]): by default every
 *   subject of the WISDM phone target (18 of its 22 are also in the watch
 *   data), see {@link DontFreezeSourceArgs.excludeTargets}. The per-epoch
 *   10 % variance-weighted draw is lib/pretext/dontfreeze_sampling.ts.
 * - **Targets** ({@link loadDontFreezeTarget}, §9.2 table): `hmp-adl`
 *   (wrist, 16 users, 14 ADL; plays MyoGym / mHealth), `mobifall` (pocket,
 *   24 users, the 9 ADL and 4 fall codes; MotionSense), `wisdm-phone`
 *   (pocket, 22 users, 18 activities; PAMAP2), `daphnet` (the ankle sensor,
 *   5 users, no freeze / freeze; the spec's off-placement stress test).
 *   Window labels are the mode of the sample labels (§1.1 [D];
 *   `labelPolicy: "pure"` keeps only single-label windows); windows whose
 *   mode is unlabelled (Daphnet 0) are dropped. HMP and MobiFall trials are
 *   single-label files, so their windows carry the trial's label, and
 *   trials under 2 s give none (§9.2 step 4).
 * - **Folds** ({@link userGroupFolds}, §1.3): the users are dealt into 5
 *   groups once per dataset (seeded, the same for every method); fold i
 *   tests group i, validates on group (i + 1) mod 5 and trains on the other
 *   three, so every group is tested once and validates once; every fold is
 *   repeated with 5 seeds (`repeats`), which change initialisation and
 *   draws but not the users. The default dealing is `"stratified"` [D]:
 *   users holding rare classes are spread over different groups first
 *   (HMP's f1 / m1 / m2, MobiFall's 9 ADL users over all 5 groups), which
 *   the paper's plain shuffle ({@link UserGroupingKind} `"random"`) does not
 *   guarantee. A class absent from some fold's training part (HMP's
 *   eat_meat and eat_soup: one user) is a warning naming the class, folds
 *   and users, or an error with `onMissingClass: "error"`. A group holding a
 *   single class is an error (as a test or validation group its macro F1 is
 *   degenerate: 100 % for a classifier that never predicts the other
 *   class), so Daphnet, whose 5 users include one without freezes (S06),
 *   is dealt into 4 groups (4 folds) instead of 5.
 *
 * Windows at the defaults: HMP 12 680, MobiFall 10 742, WISDM phone 69 973,
 * Daphnet 3 223 (263 freeze); source 99 659 (train 90 402 from 25 WISDM
 * users + the `.cwa`, 25.4 h; validation 9 257 from 3 users, 2.6 h) with
 * WISDM phone's subjects removed, 157 159 (44.1 h; 5 of 46 users validate)
 * without.
 *
 * Windows before any split are cached (lib/data/windows_cache.ts, raw
 * float32) under `cacheDir` (default `.cache/dontfreeze`), one entry per
 * dataset keyed by the definition, the signal options and the data files'
 * names, sizes and modification times.
 *
 * @example
 * const src = await loadDontFreezeSource({ seed: 0 });
 * src.train.n; src.val.n;           // windows [n, 3, 100] at 50 Hz, unlabelled
 * src.report.users.val;             // the 3 held-out WISDM users
 * const hmp = await loadDontFreezeTarget("hmp-adl", { seed: 0 });
 * hmp.folds.length;                 // 25: 5 folds × 5 seeds
 * hmp.folds[0].testGroup;           // 0; valGroup 1, trainGroups [2, 3, 4]
 * hmp.report.warnings;              // eat_meat / eat_soup not in every training part
 * @module
 */
import { join, relative } from "node:path";
import { datasetFingerprint } from "../../data/benchmarks.ts";
import { DAPHNET_CLASSES, selectPlacement } from "../../data/daphnet.ts";
import { sha256Hex } from "../../data/download.ts";
import { HMP_ACTIVITIES } from "../../data/hmp.ts";
import { MOBIFALL_CODES } from "../../data/mobifall.ts";
import { dataDir } from "../../data/paths.ts";
import { describeRates } from "../../data/rate.ts";
import {
  datasetInfo,
  loadDataset,
  locateDataset,
  restrictClasses,
  unavailable,
} from "../../data/registry.ts";
import { type FoldPlan, uniqueSubjects } from "../../data/splits.ts";
import { type Recording, recordingLength, type Windows } from "../../data/types.ts";
import { readWindowsCache, writeWindowsCache } from "../../data/windows_cache.ts";
import { WISDM_ACTIVITIES } from "../../data/wisdm.ts";
import { ConfigError, DataFormatError, DatasetUnavailableError } from "../../errors.ts";
import { rng } from "../../random.ts";
import { selectWindows } from "../../signal/quality.ts";
import { filterZeroPhase, lowpassFir, resample } from "../../signal/resample.ts";
import { concatWindows, type LabelPolicy, makeWindowsWithReport } from "../../signal/windows.ts";

// ---------------------------------------------------------------------------
// Signal

/** The window rate (Hz), §1.1 [P]. */
export const DONT_FREEZE_RATE_HZ = 50;
/** Window length (s): 100 samples at 50 Hz, §1.1 [P]. */
export const DONT_FREEZE_WINDOW_SEC = 2;
/** Step between windows (s): 50 samples at 50 Hz, §1.1 [P]. */
export const DONT_FREEZE_STEP_SEC = 1;
/** Share of the source users that validate: the paper's 16 of Capture-24's 151 (§1.2, §9.2). */
export const DONT_FREEZE_SOURCE_VAL_FRACTION = 16 / 151;

/** How data below 50 Hz is brought up to it. */
export type UpsamplingMethod = "linear" | "fourier";

/** Resampling and filtering of every recording (the spec's defaults in brackets). */
export interface DontFreezeSignalOptions {
  /** Window rate (Hz) [50, §1.1]. */
  rateHz?: number;
  /** Window length (s) [2, §1.1]. */
  windowSec?: number;
  /** Step between window starts (s) [1, §1.1]. */
  stepSec?: number;
  /**
   * Up-sampling (WISDM 20 Hz, HMP 32 Hz): `"linear"` interpolation on the
   * timestamps [§1.1 [D]], or `"fourier"` (`scipy.signal.resample` per
   * contiguous segment, periodic assumption).
   */
  upsampling?: UpsamplingMethod;
  /** Anti-alias low-pass cut-off (Hz) when down-sampling [20, §1.1 [D] "≤ 20 Hz"]. */
  antiAliasHz?: number;
  /**
   * Bandwidth harmonisation: a zero-phase low-pass at this frequency (Hz) on
   * every dataset after resampling [10, §9.2 step 3 [D], on by default];
   * null: off (§9.2: "also report with it off").
   */
  bandLimitHz?: number | null;
  /** Taps (odd) of the band-limit FIR at the window rate [51: ~1 s, ~3 Hz transition]. */
  bandLimitTaps?: number;
  /** Largest time step (s) still interpolated across; larger ones split the recording [1]. */
  maxGapSec?: number;
}

/** {@link DontFreezeSignalOptions} with every default filled in. */
export interface ResolvedDontFreezeSignal extends Required<DontFreezeSignalOptions> {
  /** Samples per window. */
  length: number;
  /** Samples between window starts. */
  step: number;
}

/** The spec's signal defaults (§1.1, §9.2). */
export const DONT_FREEZE_SIGNAL: Readonly<ResolvedDontFreezeSignal> = {
  rateHz: DONT_FREEZE_RATE_HZ,
  windowSec: DONT_FREEZE_WINDOW_SEC,
  stepSec: DONT_FREEZE_STEP_SEC,
  upsampling: "linear",
  antiAliasHz: 20,
  bandLimitHz: 10,
  bandLimitTaps: 51,
  maxGapSec: 1,
  length: 100,
  step: 50,
};

function posNum(where: string, what: string, v: unknown): number {
  if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) {
    throw new ConfigError(`${where}: ${what} must be a positive number, got ${v}`);
  }
  return v;
}

/**
 * Validate {@link DontFreezeSignalOptions} and fill in the defaults.
 *
 * @throws ConfigError naming the field (a cut-off at or above the Nyquist
 *   frequency, even taps, a step longer than the window, …)
 */
export function resolveDontFreezeSignal(
  o: DontFreezeSignalOptions = {},
  where = "dontFreeze signal",
): ResolvedDontFreezeSignal {
  const d = DONT_FREEZE_SIGNAL;
  const rateHz = posNum(where, "rateHz", o.rateHz ?? d.rateHz);
  const windowSec = posNum(where, "windowSec", o.windowSec ?? d.windowSec);
  const stepSec = posNum(where, "stepSec", o.stepSec ?? d.stepSec);
  const length = Math.round(windowSec * rateHz), step = Math.round(stepSec * rateHz);
  if (length < 2 || step < 1 || step > length) {
    throw new ConfigError(
      `${where}: ${windowSec} s windows every ${stepSec} s at ${rateHz} Hz give ${length}-sample ` +
        `windows every ${step} samples; need length >= 2 and 1 <= step <= length`,
    );
  }
  const upsampling = o.upsampling ?? d.upsampling;
  if (upsampling !== "linear" && upsampling !== "fourier") {
    throw new ConfigError(
      `${where}: upsampling must be "linear" or "fourier", got "${upsampling}"`,
    );
  }
  const nyq = rateHz / 2;
  const antiAliasHz = posNum(where, "antiAliasHz", o.antiAliasHz ?? d.antiAliasHz);
  if (antiAliasHz > nyq) {
    throw new ConfigError(
      `${where}: antiAliasHz ${antiAliasHz} is above the ${nyq} Hz Nyquist frequency of ${rateHz} Hz`,
    );
  }
  const bandLimitHz = o.bandLimitHz === undefined ? d.bandLimitHz : o.bandLimitHz;
  if (bandLimitHz !== null) {
    posNum(where, "bandLimitHz", bandLimitHz);
    if (bandLimitHz >= nyq) {
      throw new ConfigError(
        `${where}: bandLimitHz ${bandLimitHz} must be below the ${nyq} Hz Nyquist frequency ` +
          `(null turns the band limit off)`,
      );
    }
  }
  const bandLimitTaps = o.bandLimitTaps ?? d.bandLimitTaps;
  if (!Number.isInteger(bandLimitTaps) || bandLimitTaps < 3 || bandLimitTaps % 2 !== 1) {
    throw new ConfigError(
      `${where}: bandLimitTaps must be an odd integer >= 3, got ${bandLimitTaps}`,
    );
  }
  return {
    rateHz,
    windowSec,
    stepSec,
    upsampling,
    antiAliasHz,
    bandLimitHz,
    bandLimitTaps,
    maxGapSec: posNum(where, "maxGapSec", o.maxGapSec ?? d.maxGapSec),
    length,
    step,
  };
}

/**
 * Recordings resampled to the window rate as the protocol prescribes (see the
 * module docs): one Recording per contiguous segment (no `timestampsMs`),
 * labels carried by nearest sample, band-limited when
 * `bandLimitHz` is set.
 */
export function prepareDontFreezeRecordings(
  recs: readonly Recording[],
  signal: ResolvedDontFreezeSignal,
): Recording[] {
  const s = signal;
  const fir = s.bandLimitHz === null ? null : lowpassFir(s.bandLimitHz, s.rateHz, s.bandLimitTaps);
  return recs.flatMap((r) => {
    const down = s.rateHz < r.rateHz;
    const segs = resample(r, s.rateHz, {
      method: down ? "antialias" : s.upsampling === "fourier" ? "fourier" : "linear",
      cutoffRatio: s.antiAliasHz / (s.rateHz / 2),
      maxGapSec: s.maxGapSec,
    });
    if (!fir) return segs;
    return segs.map((g) => ({
      ...g,
      axes: g.axes.map((a) => Float32Array.from(filterZeroPhase(a, fir))),
    }));
  });
}

/** One line on how `recs` of `dataset` became windows under `signal`. */
export function describeDontFreezeSignal(
  dataset: string,
  recs: readonly Recording[],
  signal: ResolvedDontFreezeSignal,
): string {
  const s = signal;
  const down = recs.filter((r) => s.rateHz < r.rateHz);
  const up = recs.filter((r) => !(s.rateHz < r.rateHz));
  const n = (rs: readonly Recording[]) => `${rs.length} recording${rs.length === 1 ? "" : "s"}`;
  const how: string[] = [];
  if (up.length) {
    how.push(
      `${n(up)} at ${describeRates(up)} up-sampled by ${
        s.upsampling === "linear" ? "linear interpolation" : "FFT (periodic) interpolation"
      }`,
    );
  }
  if (down.length) {
    how.push(
      `${n(down)} at ${describeRates(down)} down-sampled: zero-phase Hamming windowed-sinc ` +
        `low-pass at ${s.antiAliasHz} Hz, then linear interpolation`,
    );
  }
  const band = s.bandLimitHz === null
    ? "no band limit"
    : `band-limited at ${s.bandLimitHz} Hz (zero-phase ${s.bandLimitTaps}-tap FIR at ${s.rateHz} Hz)`;
  return `${dataset} (${recs.some((r) => r.timestampsMs) ? "timestamped" : "regular"}) → ` +
    `${s.rateHz} Hz: ${how.join("; ")}; split at gaps > ${s.maxGapSec} s; ${band}; ` +
    `${s.length}-sample windows every ${s.step}`;
}

// ---------------------------------------------------------------------------
// Dataset windows (cached)

/** What one dataset's windows were made from, kept in the cache sidecar. */
interface PreparedMeta {
  /** One line on the resampling. */
  signal: string;
  /** Candidate windows dropped, per reason. */
  dropped: Record<string, number>;
  /** Hours of resampled signal per subject (every segment, also those shorter than a window). */
  hoursBySubject: Record<string, number>;
  /** Recordings read. */
  recordings: number;
}

interface Prepared extends PreparedMeta {
  windows: Windows;
  fromCache: boolean;
}

const CACHE_FORMAT = 1;

/** The files a cache key fingerprints: WISDM's device folder (its root holds both devices), else the root. */
function fingerprintRoot(dataset: string, root: string): string {
  return dataset.startsWith("wisdm-") ? join(root, "raw", dataset.slice(6), "accel") : root;
}

/** Resolve a dataset's root or throw the registry's error, prefixed with who needs it. */
async function rootOf(dataset: string, dir: string, role: string): Promise<string> {
  const root = await locateDataset(dataset, dir);
  if (!root) throw new DatasetUnavailableError(`${role}: ${unavailable(dataset, dir).message}`);
  return root;
}

/**
 * The windows of one dataset before any split: from the cache, or loaded,
 * resampled and windowed (and cached).
 */
async function prepareDataset(o: {
  key: unknown;
  name: string;
  dataset: string;
  role: string;
  dir: string;
  cacheDir: string | null;
  log: (msg: string) => void;
  signal: ResolvedDontFreezeSignal;
  /** Recordings → the 3-axis, labelled or unlabelled recordings to window. */
  select: (recs: Recording[]) => Recording[];
  labelPolicy: LabelPolicy;
  minLabelFraction: number;
  classes: readonly string[] | null;
}): Promise<Prepared> {
  const root = await rootOf(o.dataset, o.dir, o.role);
  let base: string | null = null;
  if (o.cacheDir) {
    const print = await datasetFingerprint(fingerprintRoot(o.dataset, root));
    const key = await sha256Hex(
      new TextEncoder().encode(JSON.stringify([CACHE_FORMAT, o.key, o.signal, root, print])),
    );
    base = join(o.cacheDir, `${o.name}-${key.slice(0, 16)}`);
    try {
      const hit = await readWindowsCache<PreparedMeta>(base, "f32");
      if (hit) {
        o.log(`${o.name}: ${hit.windows.n} windows from cache ${base}.f32`);
        const { signal, dropped, hoursBySubject, recordings } = hit.sidecar;
        return {
          windows: hit.windows,
          signal,
          dropped,
          hoursBySubject,
          recordings,
          fromCache: true,
        };
      }
    } catch (e) {
      o.log(`${o.name}: cache ${base} unreadable (${(e as Error).message}); rebuilding`);
    }
  }
  const t0 = performance.now();
  let recs: Recording[];
  try {
    recs = o.select(await loadDataset(o.dataset, { dir: o.dir }));
  } catch (e) {
    if (e instanceof DatasetUnavailableError) {
      throw new DatasetUnavailableError(`${o.role}: ${e.message}`);
    }
    throw e;
  }
  if (recs.length === 0) {
    throw new DataFormatError(root, `${o.role}: no recording of "${o.dataset}" left to window`);
  }
  const segs = prepareDontFreezeRecordings(recs, o.signal).map((r) => ({
    ...r,
    source: relative(root, r.source),
  }));
  const hoursBySubject: Record<string, number> = {};
  for (const g of segs) {
    hoursBySubject[g.subject] = (hoursBySubject[g.subject] ?? 0) +
      recordingLength(g) / o.signal.rateHz / 3600;
  }
  const { windows, report } = makeWindowsWithReport(segs, {
    windowSec: o.signal.windowSec,
    stepSec: o.signal.stepSec,
    rateHz: o.signal.rateHz,
    labelPolicy: o.labelPolicy,
    minLabelFraction: o.minLabelFraction,
    classes: o.classes ? [...o.classes] : undefined,
    dropUnlabelled: o.classes !== null,
  });
  const dropped = report.dropped as Record<string, number>;
  if (windows.n === 0) {
    throw new DataFormatError(
      root,
      `${o.role}: "${o.dataset}" gave no ${o.signal.windowSec} s window (${recs.length} recordings, ` +
        `${segs.length} segments; dropped ${JSON.stringify(dropped)})`,
    );
  }
  const meta: PreparedMeta = {
    signal: describeDontFreezeSignal(o.dataset, recs, o.signal),
    dropped,
    hoursBySubject,
    recordings: recs.length,
  };
  o.log(
    `${o.name}: ${windows.n} windows from ${recs.length} recordings (${segs.length} segments) in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
  if (base) await writeWindowsCache(base, windows, "f32", () => meta);
  return { windows, ...meta, fromCache: false };
}

/** The recording's three accelerometer axes, checked (placement, 3 axes). */
function threeAxes(rec: Recording, what: string, placement: string | null): Recording {
  if (placement !== null && rec.placement !== placement) {
    throw new DataFormatError(
      rec.source,
      `placement "${rec.placement}", ${what} expects "${placement}"`,
    );
  }
  if (rec.axes.length !== 3) {
    throw new DataFormatError(rec.source, `${rec.axes.length} axes, ${what} expects 3`);
  }
  return rec;
}

function sum(v: Iterable<number>): number {
  let s = 0;
  for (const x of v) s += x;
  return s;
}

const byName = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true });

// ---------------------------------------------------------------------------
// Targets

/** The four targets (§9.2 table). */
export const DONT_FREEZE_TARGETS = ["hmp-adl", "mobifall", "wisdm-phone", "daphnet"] as const;

/** One of {@link DONT_FREEZE_TARGETS}. */
export type DontFreezeTargetName = typeof DONT_FREEZE_TARGETS[number];

/** One target dataset, as plain data. */
export interface DontFreezeTargetDefinition {
  /** Name in {@link DONT_FREEZE_TARGETS}. */
  name: DontFreezeTargetName;
  /** Human-readable title. */
  title: string;
  /** Registry dataset read. */
  dataset: string;
  /** The sensor kept (`selectPlacement` prefix) of a multi-sensor recording, or null. */
  sensor: string | null;
  /** Placement of the windows. */
  placement: string;
  /** Class names (registry names after `classMap`), in label order. */
  classes: readonly string[];
  /** Merges: registry class → class (none by default). */
  classMap: Readonly<Record<string, string>>;
  /** The paper's dataset it stands in for (§9.2). */
  plays: string;
  /** Source datasets recorded from the same people (subject ids shared): removed from the source. */
  sameSubjectsAs: readonly string[];
  /** What is kept, in words. */
  note: string;
  /**
   * User groups (§1.3: 5). Fewer where 5 groups would leave a test or
   * validation group with a single class (its macro F1 is then degenerate):
   * Daphnet's 5 users, one of whom (S06) has no freeze, make 4 groups.
   */
  groups: number;
}

/** The four target definitions (§9.2: datasets, roles, class sets). */
export const DONT_FREEZE_TARGET_DEFINITIONS: Readonly<
  Record<DontFreezeTargetName, DontFreezeTargetDefinition>
> = {
  "hmp-adl": {
    name: "hmp-adl",
    title: "HMP ADL (right wrist), 14 ADL",
    dataset: "hmp-adl",
    sensor: null,
    placement: "wrist",
    classes: [...HMP_ACTIVITIES],
    classMap: {},
    plays: "MyoGym / mHealth (same placement as the source, fine-grained arm activities)",
    sameSubjectsAs: [],
    note: "all 14 activity folders, no *_MODEL trials; 32 → 50 Hz; eat_meat and eat_soup have " +
      "one user (f1), so they cannot be in every training part",
    groups: 5,
  },
  "mobifall": {
    name: "mobifall",
    title: "MobiFall v2 (trouser pocket), 9 ADL + 4 falls",
    dataset: "mobifall",
    sensor: null,
    placement: "pocket",
    classes: [...MOBIFALL_CODES],
    classMap: {},
    plays: "MotionSense (pocket phone, 24 users)",
    sameSubjectsAs: [],
    note: "every code as its own class (STD, WAL, JOG, JUM, STU, STN, SCH, CSI, CSO; FOL, FKL, " +
      "BSC, SDL); 9 of the 24 users have ADL trials, the other 15 falls only; ~87 → 50 Hz",
    groups: 5,
  },
  "wisdm-phone": {
    name: "wisdm-phone",
    title: "WISDM 2019 phone (trouser pocket), 18 activities",
    dataset: "wisdm-phone",
    sensor: null,
    placement: "pocket",
    classes: [...WISDM_ACTIVITIES],
    classMap: {},
    plays: "PAMAP2 (18 classes, locomotion and hand activities)",
    sameSubjectsAs: ["wisdm-watch"],
    note: "all 18 codes; 20 Hz (one user 25 Hz) → 50 Hz; recorded with the source's watch " +
      "data by the same people, whose watch data is removed from the source",
    groups: 5,
  },
  "daphnet": {
    name: "daphnet",
    title: "Daphnet FoG (ankle), no freeze / freeze",
    dataset: "daphnet",
    sensor: "ankle",
    placement: "ankle",
    classes: [...DAPHNET_CLASSES],
    classMap: {},
    plays: "no analogue: the off-placement stress test (§9.2, the weakest substitute)",
    sameSubjectsAs: [],
    note: "the ankle (shank) sensor of the 7 runs here; label 0 (outside the experiment) " +
      "dropped; 64 → 50 Hz; 5 users in 4 groups: S06 has no freeze, so it shares a group " +
      "and every test and validation group holds freezes",
    groups: 4,
  },
};

/** How users are dealt into groups. */
export type UserGroupingKind = "stratified" | "random";

/** Options of {@link userGroups}. */
export interface UserGroupOptions {
  /** Number of groups (default 5, §1.3 [P]). */
  groups?: number;
  /** Seed of the assignment (one per dataset, the same for every method, §1.3). */
  seed: number;
  /**
   * `"stratified"` (default, [D]): a seeded shuffle, users holding rarer
   * classes first, dealt round by round (group sizes differ by at most
   * one), each to the group of the round that has the fewest of its classes
   * (weighted by rarity, ties in a seeded group order). `"random"`: the
   * seeded shuffle cut into consecutive near-equal groups (§1.3's literal
   * "shuffle the users … split them into 5 groups").
   */
  grouping?: UserGroupingKind;
  /** Class per window (-1 unlabelled), parallel to the subjects: needed by `"stratified"`. */
  y?: ArrayLike<number>;
}

/**
 * Users dealt into groups (see {@link UserGroupOptions}); each group sorted.
 *
 * @param subjects subject per window (or one entry per user)
 * @throws ConfigError for fewer users than groups, fewer than 3 groups, or
 *   `"stratified"` without `y`
 */
export function userGroups(subjects: readonly string[], opts: UserGroupOptions): string[][] {
  const g = opts.groups ?? 5;
  if (!Number.isInteger(g) || g < 3) {
    throw new ConfigError(
      `userGroups: groups must be an integer >= 3 (train, validation, test), got ${g}`,
    );
  }
  if (!Number.isFinite(opts.seed)) {
    throw new ConfigError(`userGroups: seed must be a finite number, got ${opts.seed}`);
  }
  const users = uniqueSubjects(subjects);
  if (users.length < g) {
    throw new ConfigError(`userGroups: ${users.length} users for ${g} groups`);
  }
  const grouping = opts.grouping ?? "stratified";
  const r = rng(opts.seed);
  const order = r.shuffle([...users]);
  const out: string[][] = Array.from({ length: g }, () => []);
  if (grouping === "random") {
    for (let f = 0; f < g; f++) {
      const a = Math.floor((f * users.length) / g), b = Math.floor(((f + 1) * users.length) / g);
      out[f] = order.slice(a, b);
    }
  } else if (grouping === "stratified") {
    const y = opts.y;
    if (!y || y.length !== subjects.length) {
      throw new ConfigError(
        `userGroups: "stratified" needs y, one class per entry of subjects (${subjects.length}), got ${
          y ? y.length : "none"
        }`,
      );
    }
    const classesOf = new Map<string, Set<number>>(users.map((u) => [u, new Set()]));
    for (let i = 0; i < subjects.length; i++) if (y[i] >= 0) classesOf.get(subjects[i])!.add(y[i]);
    const holders = new Map<number, number>();
    for (const cs of classesOf.values()) {
      for (const c of cs) holders.set(c, (holders.get(c) ?? 0) + 1);
    }
    const rarity = (u: string) =>
      [...classesOf.get(u)!].reduce((m, c) => Math.min(m, holders.get(c)!), Infinity);
    const ranked = order.map((u, k) => ({ u, k, rare: rarity(u) }))
      .sort((a, b) => a.rare - b.rare || a.k - b.k).map((e) => e.u);
    const groupRank = new Int32Array(g);
    r.shuffle(Array.from({ length: g }, (_, i) => i)).forEach((gi, k) => groupRank[gi] = k);
    const have = Array.from({ length: g }, () => new Map<number, number>());
    for (const u of ranked) {
      const least = out.reduce((m, grp) => Math.min(m, grp.length), Infinity);
      let best = -1, bestScore = Infinity;
      for (let gi = 0; gi < g; gi++) {
        if (out[gi].length !== least) continue;
        let score = 0;
        for (const c of classesOf.get(u)!) score += (have[gi].get(c) ?? 0) / holders.get(c)!;
        if (
          score < bestScore - 1e-12 ||
          (Math.abs(score - bestScore) <= 1e-12 && groupRank[gi] < groupRank[best])
        ) {
          best = gi;
          bestScore = score;
        }
      }
      out[best].push(u);
      for (const c of classesOf.get(u)!) have[best].set(c, (have[best].get(c) ?? 0) + 1);
    }
  } else {
    throw new ConfigError(
      `userGroups: grouping must be "stratified" or "random", got "${grouping}"`,
    );
  }
  return out.map((grp) => [...grp].sort(byName));
}

/** A fold of the 5-group protocol: a `FoldPlan` with its groups. */
export interface UserGroupFold extends FoldPlan {
  /** The test group (= the fold index). */
  testGroup: number;
  /** The validation group, `(testGroup + 1) mod groups`. */
  valGroup: number;
  /** The training groups, ascending. */
  trainGroups: number[];
}

/** Options of {@link userGroupFolds} and {@link foldsFromGroups}. */
export interface UserGroupFoldOptions {
  /** Repeats of every fold (default 5, §1.3 [P]), seeds `seed, seed + 1, …`. */
  repeats?: number;
  /** Explicit repeat seeds, one repeat each; overrides `repeats`. */
  seeds?: readonly number[];
  /** Protocol name (default `"groups<k>"`); folds are `<name>/<fold>[/r<repeat>]`. */
  name?: string;
}

/**
 * The rotated folds over fixed user groups (§1.3 [P]/[D]): fold i tests
 * group i, validates on group (i + 1) mod k, trains on the others; all k
 * folds for every repeat seed (repeat-major, as `makeFolds`). The users do
 * not change between repeats; `seed` (= `repeatSeed · 1000 + index`) is
 * the fold's seed for initialisation and draws.
 *
 * @param subjects subject per window
 * @param groups users per group (from {@link userGroups}); every subject must be in exactly one
 * @param baseSeed the first repeat seed (default 0)
 * @throws ConfigError for a user in no or several groups, an empty group, or bad repeats
 */
export function foldsFromGroups(
  subjects: readonly string[],
  groups: readonly (readonly string[])[],
  opts: UserGroupFoldOptions & { baseSeed?: number } = {},
): UserGroupFold[] {
  const k = groups.length;
  if (k < 3) throw new ConfigError(`foldsFromGroups: need at least 3 groups, got ${k}`);
  const groupOf = new Map<string, number>();
  groups.forEach((grp, gi) => {
    if (grp.length === 0) throw new ConfigError(`foldsFromGroups: group ${gi} is empty`);
    for (const u of grp) {
      if (groupOf.has(u)) {
        throw new ConfigError(
          `foldsFromGroups: user ${u} is in groups ${groupOf.get(u)} and ${gi}`,
        );
      }
      groupOf.set(u, gi);
    }
  });
  const byGroup: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < subjects.length; i++) {
    const gi = groupOf.get(subjects[i]);
    if (gi === undefined) {
      throw new ConfigError(`foldsFromGroups: user ${subjects[i]} (window ${i}) is in no group`);
    }
    byGroup[gi].push(i);
  }
  let seeds: number[];
  if (opts.seeds !== undefined) {
    if (opts.seeds.length === 0 || !opts.seeds.every(Number.isFinite)) {
      throw new ConfigError(
        `foldsFromGroups: seeds must be a non-empty list of numbers, got ${
          JSON.stringify(opts.seeds)
        }`,
      );
    }
    seeds = [...opts.seeds];
  } else {
    const n = opts.repeats ?? 5;
    if (!Number.isInteger(n) || n < 1) {
      throw new ConfigError(`foldsFromGroups: repeats must be an integer >= 1, got ${n}`);
    }
    const s0 = opts.baseSeed ?? 0;
    seeds = Array.from({ length: n }, (_, r) => s0 + r);
  }
  const protocol = opts.name ?? `groups${k}`;
  if (protocol.includes("/")) {
    throw new ConfigError(`foldsFromGroups: name must not contain "/", got ${protocol}`);
  }
  const idx = (gs: number[]) =>
    Int32Array.from(gs.flatMap((gi) => byGroup[gi]).sort((a, b) => a - b));
  const users = (gs: number[]) => gs.flatMap((gi) => groups[gi]).sort();
  const out: UserGroupFold[] = [];
  seeds.forEach((repeatSeed, repeat) => {
    for (let f = 0; f < k; f++) {
      const valGroup = (f + 1) % k;
      const trainGroups = Array.from({ length: k }, (_, gi) => gi).filter((gi) =>
        gi !== f && gi !== valGroup
      );
      const train = idx(trainGroups);
      out.push({
        train,
        val: idx([valGroup]),
        test: idx([f]),
        trainSubjects: users(trainGroups),
        valSubjects: users([valGroup]),
        testSubjects: users([f]),
        name: `${protocol}/${f}` + (seeds.length > 1 ? `/r${repeat}` : ""),
        index: f,
        seed: repeatSeed * 1000 + f,
        repeat,
        repeatSeed,
        protocol,
        trainPool: train,
        testGroup: f,
        valGroup,
        trainGroups,
      });
    }
  });
  return out;
}

/**
 * {@link userGroups} then {@link foldsFromGroups}: the §1.3 protocol in one
 * call (repeat seeds `seed, seed + 1, …` unless `seeds` is given).
 *
 * @example
 * const folds = userGroupFolds(w.subject, { groups: 5, seed: 0, y: w.y });
 * folds.length;                     // 25 (5 folds × 5 repeats)
 * folds[3].testGroup, folds[3].valGroup; // 3, 4
 */
export function userGroupFolds(
  subjects: readonly string[],
  opts: UserGroupOptions & UserGroupFoldOptions,
): UserGroupFold[] {
  const groups = userGroups(subjects, opts);
  return foldsFromGroups(subjects, groups, { ...opts, baseSeed: opts.seed });
}

/** Arguments of {@link loadDontFreezeTarget}; every field optional. */
export interface DontFreezeTargetArgs extends DontFreezeSignalOptions {
  /** User groups (default: the definition's, 5 as §1.3 but Daphnet 4). */
  groups?: number;
  /** Seed of the user groups (default 0) and first repeat seed. */
  seed?: number;
  /** Repeats of every fold (default 5, §1.3). */
  repeats?: number;
  /** Explicit repeat seeds (overrides `repeats`). */
  seeds?: readonly number[];
  /** How users are dealt into groups (default `"stratified"`, see {@link UserGroupOptions}). */
  grouping?: UserGroupingKind;
  /** Window labels: `"majority"` (default: the mode, §1.1 [D]) or `"pure"` (single-label windows only). */
  labelPolicy?: LabelPolicy;
  /** `"majority"`: least share of the window carrying the mode (default 0). */
  minLabelFraction?: number;
  /** Classes kept, registry names after `classMap` (default the definition's). */
  classes?: readonly string[];
  /** Merges, registry class → class (default the definition's: none). */
  classMap?: Readonly<Record<string, string>>;
  /**
   * A class absent from some fold's training part: `"warn"` (default; listed
   * in `report.warnings` and logged) or `"error"` (ConfigError).
   */
  onMissingClass?: "warn" | "error";
  /** Data folder; default `dataDir()` (`$HAR_DATA_DIR` or `./datasets`). */
  dataDir?: string;
  /** Windows cache folder; default `.cache/dontfreeze`; null: no cache. */
  cacheDir?: string | null;
  /** Progress and report lines (default silent). */
  log?: (msg: string) => void;
}

/** Counts of one fold (the same for every repeat). */
export interface DontFreezeFoldReport {
  /** Fold index = test group. */
  fold: number;
  /** Validation group. */
  valGroup: number;
  /** Training groups. */
  trainGroups: number[];
  /** Windows per part. */
  windows: { train: number; val: number; test: number };
  /** Classes without a window in each part. */
  missing: { train: string[]; val: string[]; test: string[] };
}

/** What the protocol gave on one target. */
export interface DontFreezeTargetReport {
  /** Windows. */
  windows: number;
  /** Hours of resampled signal read (unlabelled stretches, e.g. Daphnet's label 0, included). */
  hours: number;
  /** Windows per class, in `classes` order. */
  perClass: number[];
  /** Users (sorted). */
  users: string[];
  /** Users of each group. */
  groupUsers: string[][];
  /** Windows of each group. */
  groupWindows: number[];
  /** Windows per class (in `classes` order) of each group. */
  groupPerClass: number[][];
  /** Per base fold (repeats share them): windows and missing classes per part. */
  folds: DontFreezeFoldReport[];
  /** Classes missing from some fold's training part, one line per class naming folds and users. */
  warnings: string[];
  /**
   * Classes missing from some fold's validation or test part (expected with
   * one-user classes; macro-F1 then averages over fewer classes), one line per part.
   */
  absentFromEval: string[];
  /** Recordings read. */
  recordings: number;
  /** One line on the resampling. */
  signal: string;
  /** One line on the grouping. */
  grouping: string;
  /** Candidate windows dropped by the windowing, per reason. */
  dropped: Record<string, number>;
  /** True when the windows came from the cache. */
  fromCache: boolean;
}

/** One target, ready for the downstream runs. */
export interface DontFreezeTarget {
  /** Name in {@link DONT_FREEZE_TARGETS}. */
  name: DontFreezeTargetName;
  /** Human-readable title. */
  title: string;
  /** Placement of the windows. */
  placement: string;
  /** Class names; `windows.y` indexes them. */
  classes: string[];
  /** Labelled windows `[n, 3, length]` in g at `rateHz` (`source`: trial file relative to the dataset root). */
  windows: Windows;
  /** Users of each group. */
  groups: string[][];
  /** Every (repeat, fold): indices into `windows`, repeat-major. */
  folds: UserGroupFold[];
  /** Counts, groups, warnings. */
  report: DontFreezeTargetReport;
}

function checkName<T extends string>(where: string, v: string, known: readonly T[]): T {
  if (!(known as readonly string[]).includes(v)) {
    throw new ConfigError(`${where}: unknown name "${v}" (known: ${known.join(", ")})`);
  }
  return v as T;
}

/** `rec` relabelled onto `classes` through `classMap` (other samples -1); null when nothing is left. */
function toClasses(
  rec: Recording,
  classes: readonly string[],
  classMap: Readonly<Record<string, string>>,
): Recording | null {
  if (!rec.labelNames) return null;
  const merged = { ...rec, labelNames: rec.labelNames.map((nm) => classMap[nm] ?? nm) };
  return restrictClasses(merged, [...classes]);
}

/**
 * Load one target (see the module docs): windows at 50 Hz in g labelled
 * with the definition's classes, the user groups and the rotated folds,
 * and a report.
 *
 * @throws ConfigError for an unknown target or class, bad arguments, a class
 *   with no window, or (`onMissingClass: "error"`) a class absent from some
 *   training part (naming the class, the fold and the users holding it)
 * @throws DatasetUnavailableError naming the folder looked in and how to get the data
 * @throws DataFormatError for a bad file, a recording failing the registry's
 *   checks, a wrong placement or axis count, or no window at all
 */
export async function loadDontFreezeTarget(
  name: DontFreezeTargetName,
  args: DontFreezeTargetArgs = {},
): Promise<DontFreezeTarget> {
  const where = `loadDontFreezeTarget(${name})`;
  checkName(where, name, DONT_FREEZE_TARGETS);
  const def = DONT_FREEZE_TARGET_DEFINITIONS[name];
  const signal = resolveDontFreezeSignal(args, where);
  const classes = [...(args.classes ?? def.classes)];
  const classMap = { ...(args.classMap ?? def.classMap) };
  if (classes.length < 2 || new Set(classes).size !== classes.length) {
    throw new ConfigError(`${where}: classes must be at least 2 distinct names, got [${classes}]`);
  }
  const registry = datasetInfo(def.dataset).classes;
  for (const c of classes) {
    if (!registry.some((s) => (classMap[s] ?? s) === c)) {
      throw new ConfigError(
        `${where}: class "${c}" is not a class of "${def.dataset}" nor merged into one ` +
          `(classes: ${registry.join(", ")})`,
      );
    }
  }
  const labelPolicy = args.labelPolicy ?? "majority";
  const minLabelFraction = args.minLabelFraction ?? 0;
  const seed = args.seed ?? 0;
  if (!Number.isFinite(seed)) throw new ConfigError(`${where}: seed must be finite, got ${seed}`);
  const onMissing = args.onMissingClass ?? "warn";
  if (onMissing !== "warn" && onMissing !== "error") {
    throw new ConfigError(`${where}: onMissingClass must be "warn" or "error", got "${onMissing}"`);
  }
  const dir = args.dataDir ?? dataDir();
  const cacheDir = args.cacheDir === undefined ? ".cache/dontfreeze" : args.cacheDir;
  const log = args.log ?? (() => {});
  const what = `Don't-freeze target "${name}"`;
  const prep = await prepareDataset({
    key: [
      "target",
      def.name,
      def.dataset,
      def.sensor,
      classes,
      classMap,
      labelPolicy,
      minLabelFraction,
    ],
    name,
    dataset: def.dataset,
    role: what,
    dir,
    cacheDir,
    log,
    signal,
    labelPolicy,
    minLabelFraction,
    classes,
    select: (recs) =>
      recs.map((r) => toClasses(def.sensor ? selectPlacement(r, def.sensor) : r, classes, classMap))
        .filter((r): r is Recording => r !== null)
        .map((r) => threeAxes(r, what, def.placement)),
  });
  const w = prep.windows;
  const C = classes.length;
  const perClass = new Array(C).fill(0);
  for (let i = 0; i < w.n; i++) perClass[w.y[i]]++;
  const empty = classes.filter((_, c) => perClass[c] === 0);
  if (empty.length) {
    throw new ConfigError(
      `${where}: class(es) ${
        empty.map((c) => `"${c}"`).join(", ")
      } have no ${signal.windowSec} s ` +
        `window (labelPolicy "${labelPolicy}"); drop them with the classes option`,
    );
  }
  const groups = userGroups(w.subject, {
    groups: args.groups ?? def.groups,
    seed,
    grouping: args.grouping,
    y: w.y,
  });
  const folds = foldsFromGroups(w.subject, groups, {
    repeats: args.repeats,
    seeds: args.seeds,
    baseSeed: seed,
  });
  const k = groups.length;
  const groupOf = new Map<string, number>();
  groups.forEach((grp, gi) => grp.forEach((u) => groupOf.set(u, gi)));
  const groupPerClass = groups.map(() => new Array(C).fill(0));
  for (let i = 0; i < w.n; i++) groupPerClass[groupOf.get(w.subject[i])!][w.y[i]]++;
  const holders = (c: number) =>
    groups.map((grp, gi) => ({ gi, users: grp })).filter(({ gi }) => groupPerClass[gi][c] > 0)
      .map(({ gi }) => {
        const us = uniqueSubjects(
          Array.from({ length: w.n }, (_, i) => i).filter((i) =>
            w.y[i] === c && groupOf.get(w.subject[i]) === gi
          ).map((i) => w.subject[i]),
        );
        return `group ${gi} (${us.join(", ")})`;
      }).join(", ");
  const foldReports: DontFreezeFoldReport[] = [];
  const warnings: string[] = [];
  const missingTrain = new Map<number, number[]>();
  for (const f of folds.filter((f) => f.repeat === 0)) {
    const count = (gs: number[]) => sum(gs.map((gi) => sum(groupPerClass[gi])));
    const missing = (gs: number[]) =>
      classes.filter((_, c) => gs.every((gi) => groupPerClass[gi][c] === 0));
    const m = {
      train: missing(f.trainGroups),
      val: missing([f.valGroup]),
      test: missing([f.testGroup]),
    };
    foldReports.push({
      fold: f.index,
      valGroup: f.valGroup,
      trainGroups: f.trainGroups,
      windows: {
        train: count(f.trainGroups),
        val: count([f.valGroup]),
        test: count([f.testGroup]),
      },
      missing: m,
    });
    for (const c of m.train) {
      const ci = classes.indexOf(c);
      missingTrain.set(ci, [...(missingTrain.get(ci) ?? []), f.index]);
    }
  }
  for (const [c, fs] of missingTrain) {
    warnings.push(
      `${name}: class "${classes[c]}" has no training window in fold(s) ${fs.join(", ")} of ${k} ` +
        `(its windows are in ${holders(c)})`,
    );
  }
  const absent: string[] = [];
  for (const part of ["val", "test"] as const) {
    const byClass = new Map<string, number[]>();
    for (const f of foldReports) {
      for (const c of f.missing[part]) byClass.set(c, [...(byClass.get(c) ?? []), f.fold]);
    }
    if (byClass.size) {
      absent.push(
        `no ${part === "val" ? "validation" : "test"} window of ${
          [...byClass].map(([c, fs]) => `${c} (fold${fs.length > 1 ? "s" : ""} ${fs.join(", ")})`)
            .join(", ")
        }`,
      );
    }
  }
  // a test or validation group of one class makes macro F1 degenerate (a
  // classifier that never predicts the absent class scores 100 %)
  const single: string[] = [];
  groupPerClass.forEach((per, gi) => {
    const held = classes.filter((_, c) => per[c] > 0);
    if (held.length < 2) {
      single.push(`group ${gi} (${groups[gi].join(", ")}) holds only class "${held[0]}"`);
    }
  });
  if (single.length) {
    throw new ConfigError(
      `${where}: ${single.join("; ")}, and every group is a test and a validation group ` +
        `once: its macro F1 would be degenerate; use fewer groups (groups option, now ${k}) ` +
        `so that every group holds at least two classes`,
    );
  }
  if (missingTrain.size && onMissing === "error") {
    throw new ConfigError(
      `${where}: ${
        warnings.filter((s) => s.includes("training")).join("; ")
      }; drop the class(es) ` +
        `with the classes option, or pass onMissingClass: "warn"`,
    );
  }
  for (const s of warnings) log(`WARNING ${s}`);
  for (const s of absent) log(`${name}: ${s}`);
  const grouping = args.grouping ?? "stratified";
  const report: DontFreezeTargetReport = {
    windows: w.n,
    hours: sum(Object.values(prep.hoursBySubject)),
    perClass,
    users: uniqueSubjects(w.subject).sort(byName),
    groupUsers: groups,
    groupWindows: groupPerClass.map((v) => sum(v)),
    groupPerClass,
    folds: foldReports,
    warnings,
    absentFromEval: absent,
    recordings: prep.recordings,
    signal: prep.signal,
    grouping: `${k} user groups (${groups.map((g) => g.length).join("/")} users), ` +
      `${grouping}, seed ${seed}; fold i: test group i, validation group (i + 1) mod ${k}; ` +
      `${folds.length / k} repeat seed(s) [${[...new Set(folds.map((f) => f.repeatSeed))]}]`,
    dropped: prep.dropped,
    fromCache: prep.fromCache,
  };
  const out: DontFreezeTarget = {
    name,
    title: def.title,
    placement: def.placement,
    classes,
    windows: w,
    groups,
    folds,
    report,
  };
  log(formatDontFreezeTargetReport(out));
  return out;
}

/** A target's report as text: windows, hours, per-class counts, groups, folds, warnings. */
export function formatDontFreezeTargetReport(t: DontFreezeTarget): string {
  const r = t.report;
  return [
    `${t.name}: ${r.windows} windows (${
      r.hours.toFixed(2)
    } h of signal, ${r.recordings} recordings), ` +
    `${t.classes.length} classes, ${r.users.length} users, ${t.windows.rateHz} Hz × ${t.windows.length}`,
    `  per class: ${t.classes.map((c, k) => `${c} ${r.perClass[k]}`).join(", ")}`,
    ...r.groupUsers.map((g, gi) =>
      `  group ${gi}: ${g.length} users (${g.join(", ")}), ${r.groupWindows[gi]} windows`
    ),
    ...r.folds.map((f) =>
      `  fold ${f.fold}: train groups [${f.trainGroups}] ${f.windows.train}, val group ${f.valGroup} ` +
      `${f.windows.val}, test group ${f.fold} ${f.windows.test} windows`
    ),
    `  signal: ${r.signal}`,
    `  grouping: ${r.grouping}`,
    ...r.warnings.map((s) => `  warning: ${s}`),
    ...r.absentFromEval.map((s) => `  note: ${s}`),
  ].join("\n");
}

// ---------------------------------------------------------------------------
// Source

/** The datasets of the unlabelled source (§9.2, the Capture-24 role). */
export const DONT_FREEZE_SOURCE_DATASETS = ["wisdm-watch", "axivity-sample"] as const;

/** One of {@link DONT_FREEZE_SOURCE_DATASETS}. */
export type DontFreezeSourceDataset = typeof DONT_FREEZE_SOURCE_DATASETS[number];

/** Expected placement of each source dataset's recordings (the AX3 file does not record one). */
const SOURCE_PLACEMENT: Readonly<Record<DontFreezeSourceDataset, string | null>> = {
  "wisdm-watch": "wrist",
  "axivity-sample": null,
};

/** Arguments of {@link loadDontFreezeSource}; every field optional. */
export interface DontFreezeSourceArgs extends DontFreezeSignalOptions {
  /** Source datasets (default both, {@link DONT_FREEZE_SOURCE_DATASETS}). */
  datasets?: readonly DontFreezeSourceDataset[];
  /**
   * Datasets whose users always train (default `["axivity-sample"]`, §9.2:
   * "keep the `.cwa` recording in training"); the others' users are split.
   */
  alwaysTrain?: readonly DontFreezeSourceDataset[];
  /**
   * Share of the split users that validate, rounded, at least 1 (default
   * 16/151, §1.2 / §9.2: 5 of 46 WISDM users, 3 of 28).
   */
  valFraction?: number;
  /** Or exactly this many validation users (overrides `valFraction`). */
  valUsers?: number;
  /** Seed of the user split (default 0). */
  seed?: number;
  /**
   * Targets whose subjects are the same people as source users (their
   * definition's `sameSubjectsAs`): all their subjects are removed from the
   * source (§9.2 [D]). Default every target, i.e. WISDM phone's subjects;
   * `[]` keeps all 46 WISDM users (then drop WISDM phone as a target).
   */
  excludeTargets?: readonly DontFreezeTargetName[];
  /** More subjects removed from the source (as the source spells them: `"1600"`). */
  excludeSubjects?: readonly string[];
  /** Data folder; default `dataDir()`. */
  dataDir?: string;
  /** Windows cache folder; default `.cache/dontfreeze`; null: no cache. */
  cacheDir?: string | null;
  /** Progress and report lines (default silent). */
  log?: (msg: string) => void;
}

/** Counts of one part of the source. */
export interface DontFreezeSourcePartReport {
  /** Windows. */
  windows: number;
  /** Hours of resampled signal of its users. */
  hours: number;
  /** Users (sorted). */
  users: string[];
}

/** What the protocol gave on the source. */
export interface DontFreezeSourceReport {
  /** Windows per part and in total. */
  windows: { train: number; val: number; total: number };
  /** Hours of resampled signal per part and in total. */
  hours: { train: number; val: number; total: number };
  /** Users per part (sorted). */
  users: { train: string[]; val: string[] };
  /** Per source dataset: its parts, native rates, recordings, resampling line, cache hit. */
  perSource: Record<string, {
    train: DontFreezeSourcePartReport;
    val: DontFreezeSourcePartReport;
    recordings: number;
    signal: string;
    dropped: Record<string, number>;
    fromCache: boolean;
  }>;
  /** Subjects removed (present in the source), sorted. */
  excluded: string[];
  /** Subjects asked to be removed that the source does not have, sorted. */
  excludedAbsent: string[];
  /** Why subjects were removed, in words. */
  exclusion: string;
  /** One line on the user split. */
  split: string;
}

/** The unlabelled source, split by user. */
export interface DontFreezeSource {
  /** Pretext training windows `[n, 3, length]` in g (`y` all -1, `classes` empty). */
  train: Windows;
  /** Pretext validation windows (held-out users). */
  val: Windows;
  /** Counts, users, hours, exclusions. */
  report: DontFreezeSourceReport;
}

/**
 * Subjects of `targets` recorded from the same people as the source datasets
 * (definitions' `sameSubjectsAs`): for the defaults, the 22 WISDM phone
 * subjects. Reads only the targets that share subjects with one of `datasets`.
 */
export async function dontFreezeSourceOverlap(
  targets: readonly DontFreezeTargetName[],
  datasets: readonly string[],
  dir = dataDir(),
): Promise<{ subjects: string[]; because: string[] }> {
  const subjects = new Set<string>(), because: string[] = [];
  for (const t of targets) {
    const def =
      DONT_FREEZE_TARGET_DEFINITIONS[checkName("dontFreezeSourceOverlap", t, DONT_FREEZE_TARGETS)];
    const shared = def.sameSubjectsAs.filter((d) => datasets.includes(d));
    if (!shared.length) continue;
    let subs: string[];
    try {
      subs = uniqueSubjects((await loadDataset(def.dataset, { dir })).map((r) => r.subject));
    } catch (e) {
      if (e instanceof DatasetUnavailableError) {
        throw new DatasetUnavailableError(
          `source exclusion of target "${t}" (same people as ${
            shared.join(", ")
          }): ${e.message}; ` +
            `pass excludeTargets without it to skip`,
        );
      }
      throw e;
    }
    subs.forEach((s) => subjects.add(s));
    because.push(`${t}: ${subs.length} subjects (same people as ${shared.join(", ")})`);
  }
  return { subjects: [...subjects].sort(byName), because };
}

/**
 * Load the unlabelled source (see the module docs): every source dataset
 * windowed at 50 Hz, the targets' subjects removed, the users split into
 * pretext training and validation.
 *
 * @throws ConfigError for bad arguments, too few users to split, or two
 *   source datasets with the same subject id
 * @throws DatasetUnavailableError naming the dataset, the folder looked in and how to get it
 * @throws DataFormatError for a bad file or a recording failing the registry's checks
 */
export async function loadDontFreezeSource(
  args: DontFreezeSourceArgs = {},
): Promise<DontFreezeSource> {
  const where = "loadDontFreezeSource";
  const signal = resolveDontFreezeSignal(args, where);
  const datasets = [...new Set(args.datasets ?? DONT_FREEZE_SOURCE_DATASETS)];
  if (datasets.length === 0) throw new ConfigError(`${where}: no source datasets`);
  datasets.forEach((d) => checkName(where, d, DONT_FREEZE_SOURCE_DATASETS));
  const alwaysTrain = new Set(args.alwaysTrain ?? ["axivity-sample"]);
  const seed = args.seed ?? 0;
  if (!Number.isFinite(seed)) throw new ConfigError(`${where}: seed must be finite, got ${seed}`);
  const valFraction = args.valFraction ?? DONT_FREEZE_SOURCE_VAL_FRACTION;
  if (!(valFraction > 0 && valFraction < 1)) {
    throw new ConfigError(`${where}: valFraction must be in (0, 1), got ${valFraction}`);
  }
  if (args.valUsers !== undefined && !(Number.isInteger(args.valUsers) && args.valUsers >= 1)) {
    throw new ConfigError(`${where}: valUsers must be an integer >= 1, got ${args.valUsers}`);
  }
  const dir = args.dataDir ?? dataDir();
  const cacheDir = args.cacheDir === undefined ? ".cache/dontfreeze" : args.cacheDir;
  const log = args.log ?? (() => {});

  const overlap = await dontFreezeSourceOverlap(
    args.excludeTargets ?? DONT_FREEZE_TARGETS,
    datasets,
    dir,
  );
  const exclude = new Set([...overlap.subjects, ...(args.excludeSubjects ?? [])]);

  const prepared = new Map<DontFreezeSourceDataset, Prepared>();
  const owner = new Map<string, DontFreezeSourceDataset>();
  for (const d of datasets) {
    const p = await prepareDataset({
      key: ["source", d],
      name: `source-${d}`,
      dataset: d,
      role: `Don't-freeze source "${d}"`,
      dir,
      cacheDir,
      log,
      signal,
      labelPolicy: "majority",
      minLabelFraction: 0,
      classes: null,
      select: (recs) =>
        recs.map((r) => {
          threeAxes(r, `source "${d}"`, SOURCE_PLACEMENT[d]);
          return { ...r, labels: undefined, labelNames: undefined };
        }),
    });
    for (const s of new Set(p.windows.subject)) {
      const o = owner.get(s);
      if (o) {
        throw new ConfigError(
          `${where}: subject "${s}" is in both "${o}" and "${d}"; source users must be distinct`,
        );
      }
      owner.set(s, d);
    }
    prepared.set(d, p);
  }
  const present = new Set(owner.keys());
  const excluded = [...exclude].filter((s) => present.has(s)).sort(byName);
  const excludedAbsent = [...exclude].filter((s) => !present.has(s)).sort(byName);
  const kept = [...present].filter((s) => !exclude.has(s));
  const splitUsers = kept.filter((s) => !alwaysTrain.has(owner.get(s)!)).sort(byName);
  const nVal = args.valUsers ?? Math.max(1, Math.round(valFraction * splitUsers.length));
  if (splitUsers.length < nVal + 1) {
    throw new ConfigError(
      `${where}: ${splitUsers.length} users to split (after removing ${excluded.length}) for ` +
        `${nVal} validation users; need at least one training user more`,
    );
  }
  const val = new Set(rng(seed).shuffle([...splitUsers]).slice(0, nVal));

  const parts: Record<"train" | "val", Windows[]> = { train: [], val: [] };
  const perSource: DontFreezeSourceReport["perSource"] = {};
  for (const [d, p] of prepared) {
    const w = p.windows;
    const idx: Record<"train" | "val", number[]> = { train: [], val: [] };
    for (let i = 0; i < w.n; i++) {
      const s = w.subject[i];
      if (!exclude.has(s)) idx[val.has(s) ? "val" : "train"].push(i);
    }
    const part = (which: "train" | "val"): DontFreezeSourcePartReport => {
      const users = uniqueSubjects(idx[which].map((i) => w.subject[i])).sort(byName);
      return {
        windows: idx[which].length,
        hours: sum(users.map((u) => p.hoursBySubject[u] ?? 0)),
        users,
      };
    };
    perSource[d] = {
      train: part("train"),
      val: part("val"),
      recordings: p.recordings,
      signal: p.signal,
      dropped: p.dropped,
      fromCache: p.fromCache,
    };
    for (const which of ["train", "val"] as const) {
      if (idx[which].length) {
        parts[which].push(
          idx[which].length === w.n ? w : selectWindows(w, Int32Array.from(idx[which])),
        );
      }
    }
    prepared.delete(d); // release the full windows early
  }
  const join2 = (ws: Windows[]) => (ws.length === 1 ? ws[0] : concatWindows(ws));
  if (!parts.train.length || !parts.val.length) {
    throw new ConfigError(`${where}: a part of the split is empty`);
  }
  const train = join2(parts.train), val2 = join2(parts.val);
  const sumParts = (which: "train" | "val", f: (p: DontFreezeSourcePartReport) => number) =>
    sum(Object.values(perSource).map((s) => f(s[which])));
  const hoursTrain = sumParts("train", (p) => p.hours), hoursVal = sumParts("val", (p) => p.hours);
  const report: DontFreezeSourceReport = {
    windows: { train: train.n, val: val2.n, total: train.n + val2.n },
    hours: { train: hoursTrain, val: hoursVal, total: hoursTrain + hoursVal },
    users: {
      train: uniqueSubjects(train.subject).sort(byName),
      val: uniqueSubjects(val2.subject).sort(byName),
    },
    perSource,
    excluded,
    excludedAbsent,
    exclusion: [
      ...overlap.because,
      ...(args.excludeSubjects?.length ? [`${args.excludeSubjects.length} subjects given`] : []),
    ].join("; ") || "none",
    split:
      `${nVal} of ${splitUsers.length} users of ${
        datasets.filter((d) => !alwaysTrain.has(d)).join(", ")
      } validate (${
        args.valUsers !== undefined
          ? "valUsers"
          : `round(${+valFraction.toFixed(4)} · ${splitUsers.length})`
      }, seed ${seed}); ` +
      `${
        [...alwaysTrain].filter((d) => datasets.includes(d as DontFreezeSourceDataset)).join(
          ", ",
        ) || "no dataset"
      } always train`,
  };
  const out: DontFreezeSource = { train, val: val2, report };
  log(formatDontFreezeSourceReport(out));
  return out;
}

/** The source's report as text: windows, hours and users per part and per dataset, exclusions. */
export function formatDontFreezeSourceReport(src: DontFreezeSource): string {
  const r = src.report;
  const part = (p: DontFreezeSourcePartReport) =>
    `${p.windows} windows, ${p.hours.toFixed(2)} h, ${p.users.length} users`;
  return [
    `source: ${r.windows.total} windows (${
      r.hours.total.toFixed(2)
    } h): train ${r.windows.train} ` +
    `(${r.hours.train.toFixed(2)} h, ${r.users.train.length} users), val ${r.windows.val} ` +
    `(${r.hours.val.toFixed(2)} h, users ${r.users.val.join(", ")})`,
    ...Object.entries(r.perSource).map(([d, s]) =>
      `  ${d}: train ${part(s.train)}; val ${
        part(s.val)
      }; ${s.recordings} recordings\n    ${s.signal}`
    ),
    `  removed: ${r.excluded.length} subjects (${r.exclusion})` +
    (r.excludedAbsent.length ? `; not in the source: ${r.excludedAbsent.join(", ")}` : ""),
    `  split: ${r.split}`,
  ].join("\n");
}
