/**
 * SelfPAB data preparation on the datasets we have (spec
 * `../shared/specs/selfpab.md` §1.1, §3.6, §7): every output is at 50 Hz,
 * in g, as typed {@link SelfpabSegment}s (a {@link Recording} with a
 * trial id, per-sample labels where -1 = unlabelled/masked, and channel names).
 *
 * - **Variant A, dual sensor** (§7.1), {@link prepareDaphnetDual} /
 *   {@link loadDaphnetDual}: Daphnet trunk + thigh mapped to the HUNT4 order
 *   `[trunk_vert, trunk_lat, trunk_fwd, thigh_vert, thigh_lat, thigh_fwd]`
 *   (Daphnet's columns are forward, vertical, lateral = file x, y, z; the
 *   per-channel mean DC confirms y is vertical: ≈ 0.6-0.9 g on every run),
 *   FFT-resampled 64 → 50 Hz over each whole run like `scipy.signal.resample`
 *   (output length `round(n·50/64)`, labels by nearest index
 *   `round(i·n_in/n_out)`, both rounding half to even as numpy/Python do),
 *   labels no-freeze 0 / freeze 1 / outside the experiment -1. Runs with a
 *   dead sensor channel ({@link findDeadChannels}; S03R03's thigh is flat for
 *   48 % of the run) are excluded with the reason recorded, or are an error
 *   (`onDeadSensor`). {@link daphnetLosoFolds} derives the LOSO folds from
 *   the data: a test fold for each subject with at least one freeze sample,
 *   a specificity-only fold for each subject without.
 * - **Variant B, thigh-only pool** (§7.2), {@link loadThighPool}: WISDM 2019
 *   phone (each activity segment kept whole), MobiFall v2 (interpolated to a
 *   uniform grid, then FFT-resampled; the 9 ADL codes by default), Daphnet
 *   thigh (whole runs). Optional reorientation as MonoSelfPAB's
 *   `get_down_axis` (`src/datasets.py:L2043-2070`: the axis whose |mean| is
 *   closest to 1 g is swapped into x, computed over the whole file), optional
 *   10 Hz low-pass for every source, hours per source,
 *   {@link excludeSubjects} (a fold's test subjects never in pre-training) and
 *   {@link nestedSubsets} (seeded ~1 / 3 / 10 / 25 h, smaller ⊂ larger).
 *
 * Bad input is a `DataFormatError` naming the file and the fault:
 * non-finite samples, timestamps that go backwards or repeat, too few samples
 * to resample, a missing placement; a dead channel with `onDeadSensor: "error"`.
 *
 * @example
 * const dual = await loadDaphnetDual();            // $HAR_DATA_DIR/daphnet-fog
 * dual.runs[0].axisNames;                          // ["trunk_vert", ..., "thigh_fwd"]
 * dual.excluded[0];                                // { trial: "S03R03", reason: "dead channel thigh_vert ..." }
 * daphnetLosoFolds(dual.runs).map((f) => f.testSubject); // ["S01", "S02", "S03", "S06", "S07"]
 *
 * const pool = await loadThighPool({ lowpassHz: 10 });
 * pool.hoursBySource;                              // { "wisdm-phone": 19.9, mobifall: 2.5, "daphnet-thigh": 1.5 }
 * const train = excludeSubjects(pool.segments, ["mobifall:sub3", "mobifall:sub5"]);
 * const [h1, h3, h10, h25] = nestedSubsets(train, [1, 3, 10, 25], 7);
 */
import { basename } from "node:path";
import { DAPHNET_CLASSES, selectPlacement } from "../../data/daphnet.ts";
import { MOBIFALL_CODES } from "../../data/mobifall.ts";
import { loadDataset } from "../../data/registry.ts";
import type { RecordingChecks } from "../../data/checks.ts";
import { type Recording, recordingLength } from "../../data/types.ts";
import { ConfigError, DataFormatError } from "../../errors.ts";
import { rng } from "../../random.ts";
import { fft } from "../../signal/fft.ts";
import { fourierResample, interpLinear } from "../../signal/resample.ts";
import { SELFPAB_RATE_HZ } from "../../signal/spectrogram.ts";

/** The 9 MobiFall ADL codes (spec §7.2 B1). */
export const MOBIFALL_ADL_CODES: readonly string[] = MOBIFALL_CODES.slice(0, 9);

/** HUNT4 channel order of the dual-sensor variant, as Daphnet channels. */
export const DAPHNET_HUNT4_CHANNELS: readonly string[] = [
  "trunk_vert",
  "trunk_lat",
  "trunk_fwd",
  "thigh_vert",
  "thigh_lat",
  "thigh_fwd",
]; // deno-fmt-ignore

/**
 * Daphnet file axes in {@link DAPHNET_HUNT4_CHANNELS} order: the files'
 * x, y, z are forward, vertical, lateral, so HUNT4's (x-down, y-lateral,
 * z-forward) is (y, z, x) for each sensor. Sign does not matter (the STFT
 * features are magnitudes).
 */
export const DAPHNET_HUNT4_SOURCE_AXES: readonly string[] = [
  "trunk_y", "trunk_z", "trunk_x", "thigh_y", "thigh_z", "thigh_x",
]; // deno-fmt-ignore

/**
 * One prepared stretch of signal: a {@link Recording} at 50 Hz in g with
 * per-sample labels (-1 = unlabelled / masked) and a trial id.
 */
export interface SelfpabSegment extends Recording {
  /** Run / trial / activity-segment id, unique within its dataset and subject (`"S01R02"`, `"WAL_1"`, `"A#0"`). */
  trial: string;
  /** Per-sample label index into `labelNames`; -1 = unlabelled / masked. */
  labels: Int32Array;
  /** Class names indexed by `labels`. */
  labelNames: string[];
}

// ---------------------------------------------------------------- helpers

/** Round half to even, as Python's `round` and `np.round` do. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Output length of `scipy`-style FFT resampling from `fromHz` to `toHz` as
 * the SelfPAB resampler computes it: `round(n * (toHz / fromHz))`, half to even.
 */
export function resampledLength(n: number, fromHz: number, toHz: number): number {
  return roundHalfEven(n * (toHz / fromHz));
}

/**
 * Nearest-index label resampling (SelfPAB `resample_discrete`): output
 * sample i takes input sample `round(i * n_in / n_out)` (half to even,
 * clipped to the last sample).
 */
export function resampleLabelsNearest(labels: ArrayLike<number>, nOut: number): Int32Array {
  const nIn = labels.length;
  const out = new Int32Array(nOut);
  const step = nIn / nOut;
  for (let i = 0; i < nOut; i++) {
    out[i] = labels[Math.min(nIn - 1, roundHalfEven(step * i))];
  }
  return out;
}

/**
 * Throw a `DataFormatError` naming the file, channel and sample when any
 * value is NaN or ±Infinity (FFT resampling would spread it over the whole run).
 */
export function checkFiniteAxes(
  axes: ArrayLike<number>[],
  names: readonly string[],
  source: string,
  offset = 0,
): void {
  axes.forEach((ax, c) => {
    for (let i = 0; i < ax.length; i++) {
      if (!Number.isFinite(ax[i])) {
        throw new DataFormatError(
          basename(source),
          `channel ${names[c] ?? c}: non-finite value ${ax[i]} at sample ${offset + i} (data row ${
            offset + i + 1
          }); FFT resampling needs finite samples: drop or repair it`,
        );
      }
    }
  });
}

/**
 * Throw a `DataFormatError` naming the file and row when timestamps (ms)
 * are not finite and strictly increasing (a repeat or a backward step
 * cannot be put on a time grid).
 */
export function checkIncreasing(tMs: ArrayLike<number>, source: string, offset = 0): void {
  for (let i = 0; i < tMs.length; i++) {
    if (!Number.isFinite(tMs[i])) {
      throw new DataFormatError(
        basename(source),
        `data row ${offset + i + 1}: timestamp ${tMs[i]} is not finite`,
      );
    }
    if (i > 0 && !(tMs[i] > tMs[i - 1])) {
      const kind = tMs[i] === tMs[i - 1] ? "repeats" : "goes backwards from";
      throw new DataFormatError(
        basename(source),
        `data row ${offset + i + 1}: timestamp ${tMs[i].toFixed(3)} ms ${kind} the previous ${
          tMs[i - 1].toFixed(3)
        } ms; the rate cannot be resampled over non-monotonic or duplicated timestamps`,
      );
    }
  }
}

/**
 * FFT-resample equally spaced channels from `fromHz` to `toHz` over the
 * whole stretch (`scipy.signal.resample`, length {@link resampledLength})
 * and carry labels by nearest index ({@link resampleLabelsNearest}).
 *
 * @throws DataFormatError naming `source` when fewer than 2 samples go in
 *   or would come out (SelfPAB's resampler refuses those too).
 */
export function fourierResampleChannels(
  axes: ArrayLike<number>[],
  labels: ArrayLike<number> | undefined,
  fromHz: number,
  toHz: number,
  source: string,
): { axes: Float32Array[]; labels: Int32Array | undefined } {
  if (!(fromHz > 0) || !(toHz > 0) || !Number.isFinite(fromHz) || !Number.isFinite(toHz)) {
    throw new ConfigError(`${basename(source)}: cannot resample ${fromHz} Hz → ${toHz} Hz`);
  }
  const n = axes.length ? axes[0].length : 0;
  const nOut = resampledLength(n, fromHz, toHz);
  if (n < 2 || nOut < 2) {
    throw new DataFormatError(
      basename(source),
      `${n} sample(s) at ${fromHz} Hz give ${nOut} at ${toHz} Hz: too few samples to resample (need ≥ 2 in and out)`,
    );
  }
  return {
    axes: axes.map((a) => {
      if (a.length !== n) {
        throw new DataFormatError(basename(source), "channels have different lengths");
      }
      return Float32Array.from(fourierResample(a, nOut));
    }),
    labels: labels ? resampleLabelsNearest(labels, nOut) : undefined,
  };
}

/**
 * Zero-phase brick-wall low-pass over the whole stretch: the DFT bins above
 * `cutoffHz` are set to 0 (the same spectrum shape FFT-resampling 20 Hz
 * WISDM data to 50 Hz gives: nothing above 10 Hz).
 */
export function fftLowpass(x: ArrayLike<number>, rateHz: number, cutoffHz: number): Float32Array {
  const n = x.length;
  const re = Float64Array.from(x), im = new Float64Array(n);
  fft(re, im);
  for (let k = 0; k < n; k++) {
    const f = (Math.min(k, n - k) * rateHz) / n;
    if (f > cutoffHz) re[k] = im[k] = 0;
  }
  fft(re, im, true);
  return Float32Array.from(re);
}

// ------------------------------------------------------------ dead sensor

/** Options of the dead-channel detector {@link findDeadChannels}. */
export interface DeadSensorArgs {
  /** A stretch of identical values at least this long (s) counts as dead signal. Default 10 s (healthy Daphnet channels hold a value at most 6.3 s, during packet loss). */
  minConstantSec?: number;
  /** A channel is dead when such stretches cover at least this fraction of it (0-1). Default 0.1. A channel constant over the whole stretch is always dead. */
  maxDeadFraction?: number;
}

/** One dead channel found by {@link findDeadChannels}. */
export interface DeadChannel {
  /** Channel name. */
  channel: string;
  /** Index into the axes given. */
  index: number;
  /** Fraction of samples in constant stretches ≥ `minConstantSec` (0-1). */
  deadFraction: number;
  /** Longest constant stretch (s). */
  longestConstantSec: number;
  /** The value held longest (g), e.g. 0 for a disconnected sensor. */
  heldValue: number;
}

/**
 * Channels that are dead over the run or a large part of it: constant
 * everywhere, or holding one exact value for ≥ `minConstantSec` over ≥
 * `maxDeadFraction` of the samples (see {@link DeadSensorArgs}).
 *
 * @example
 * findDeadChannels(rec.axes, rec.axisNames, 64); // S03R03: thigh_x/y/z, deadFraction 0.48
 */
export function findDeadChannels(
  axes: ArrayLike<number>[],
  names: readonly string[],
  rateHz: number,
  args: DeadSensorArgs = {},
): DeadChannel[] {
  const minSec = args.minConstantSec ?? 10;
  const maxFrac = args.maxDeadFraction ?? 0.1;
  if (!(minSec > 0) || !(maxFrac > 0 && maxFrac <= 1)) {
    throw new ConfigError(
      `findDeadChannels: minConstantSec must be > 0 and maxDeadFraction in (0, 1], got ${minSec}, ${maxFrac}`,
    );
  }
  const minRun = Math.max(2, Math.round(minSec * rateHz));
  const out: DeadChannel[] = [];
  axes.forEach((ax, c) => {
    const n = ax.length;
    if (n < 2) return;
    let deadSamples = 0, longest = 0, held = ax[0], start = 0;
    for (let i = 1; i <= n; i++) {
      if (i === n || ax[i] !== ax[start]) {
        const len = i - start;
        if (len >= minRun) deadSamples += len;
        if (len > longest) {
          longest = len;
          held = ax[start];
        }
        start = i;
      }
    }
    const frac = deadSamples / n;
    if (longest === n || frac >= maxFrac) {
      out.push({
        channel: names[c] ?? String(c),
        index: c,
        deadFraction: longest === n ? 1 : frac,
        longestConstantSec: longest / rateHz,
        heldValue: held,
      });
    }
  });
  return out;
}

/** What to do with a recording that has a dead channel. */
export type OnDeadSensor = "exclude" | "error";

/** A recording left out, and why. */
export interface ExcludedRecording {
  /** Dataset (`"daphnet"`). */
  dataset: string;
  /** Subject. */
  subject: string;
  /** Trial / run id. */
  trial: string;
  /** File. */
  source: string;
  /** The dead channels. */
  channels: string[];
  /** Human-readable reason. */
  reason: string;
}

function describeDead(d: DeadChannel[]): string {
  return d.map((c) =>
    `${c.channel} (${(100 * c.deadFraction).toFixed(0)} % of the run constant at ${
      c.heldValue.toPrecision(3)
    } g, longest ${c.longestConstantSec.toFixed(0)} s)`
  ).join(", ");
}

/**
 * Check `rec`'s channels `idx` for dead signal; returns the exclusion
 * record (after logging it) or null; throws with `onDead: "error"`.
 */
function deadCheck(
  rec: Recording,
  idx: number[],
  trial: string,
  onDead: OnDeadSensor,
  deadArgs: DeadSensorArgs | undefined,
  log: (m: string) => void,
): ExcludedRecording | null {
  const dead = findDeadChannels(
    idx.map((i) => rec.axes[i]),
    idx.map((i) => rec.axisNames[i]),
    rec.rateHz,
    deadArgs,
  );
  if (dead.length === 0) return null;
  const what = `dead sensor channel(s) ${describeDead(dead)}`;
  if (onDead === "error") {
    throw new DataFormatError(
      basename(rec.source),
      `${what}; pass onDeadSensor: "exclude" to leave the recording out`,
    );
  }
  if (onDead !== "exclude") {
    throw new ConfigError(`onDeadSensor must be "exclude" or "error", got "${onDead}"`);
  }
  const reason = `${what}: excluded`;
  log(`selfpab data: ${basename(rec.source)}: ${reason}`);
  return {
    dataset: rec.dataset,
    subject: rec.subject,
    trial,
    source: rec.source,
    channels: dead.map((d) => d.channel),
    reason,
  };
}

/** Indices of `want` in `rec.axisNames`, or a DataFormatError naming the file and what is missing. */
function axisIndices(rec: Recording, want: readonly string[], what: string): number[] {
  const missing = want.filter((a) => !rec.axisNames.includes(a));
  if (missing.length) {
    throw new DataFormatError(
      basename(rec.source),
      `missing ${what} channel(s) ${missing.join(", ")} (the recording has ${
        rec.axisNames.join(", ") || "no channels"
      })`,
    );
  }
  return want.map((a) => rec.axisNames.indexOf(a));
}

function daphnetTrial(rec: Recording): string {
  const m = /^(S\d+R\d+)/i.exec(basename(rec.source));
  if (m) return m[1].toUpperCase();
  return `${rec.subject}R${String(rec.meta?.run ?? 0).padStart(2, "0")}`;
}

function segmentSeconds(s: Recording): number {
  return recordingLength(s) / s.rateHz;
}

// ------------------------------------------------------- variant A (dual)

/** Options of {@link prepareDaphnetDual} / {@link loadDaphnetDual}. */
export interface DaphnetDualArgs {
  /** Output rate (Hz); default {@link SELFPAB_RATE_HZ} (50). */
  targetHz?: number;
  /** A run with a dead channel: `"exclude"` it (default; a log line and an {@link ExcludedRecording}) or throw (`"error"`). */
  onDeadSensor?: OnDeadSensor;
  /** Dead-channel detector settings. */
  deadSensor?: DeadSensorArgs;
  /** Log sink; default `console.log`. */
  log?: (msg: string) => void;
}

/** Per-run facts of the dual-sensor preparation. */
export interface DaphnetRunReport {
  /** Run id (`"S01R02"`). */
  trial: string;
  /** Subject (`"S01"`). */
  subject: string;
  /** File. */
  source: string;
  /** Input samples (64 Hz). */
  samplesIn: number;
  /** Output samples (50 Hz); 0 when excluded. */
  samplesOut: number;
  /** Mean (g) of each {@link DAPHNET_HUNT4_CHANNELS} channel over the run (the DC check of the axis mapping). */
  channelMeanG: number[];
  /** Output samples labelled freeze (1), no-freeze (0) and masked (-1). */
  freezeSamples: number;
  /** Output samples labelled no-freeze. */
  noFreezeSamples: number;
  /** Output samples masked (Daphnet label 0, outside the experiment). */
  maskedSamples: number;
  /** Why the run was left out, when it was. */
  excluded?: string;
}

/** The prepared dual-sensor variant. */
export interface DaphnetDual {
  /** Usable runs, 6 channels {@link DAPHNET_HUNT4_CHANNELS}, 50 Hz, g; labels 0 no-freeze, 1 freeze, -1 masked. */
  runs: SelfpabSegment[];
  /** Runs left out (dead sensor), with the reason. */
  excluded: ExcludedRecording[];
  /** One line per input run. */
  report: DaphnetRunReport[];
}

/**
 * Variant A from Daphnet recordings as {@link readDaphnet} returns them
 * (9 axes, 64 Hz, labels no_freeze/freeze/-1): pick and order the trunk and
 * thigh axes as HUNT4 back + thigh, FFT-resample each whole run to 50 Hz,
 * detect dead channels (before resampling, on the raw values).
 *
 * @throws DataFormatError naming the file: missing trunk/thigh channels,
 *   non-finite values, non-increasing timestamps, too few samples, a dead
 *   channel with `onDeadSensor: "error"`.
 */
export function prepareDaphnetDual(recs: Recording[], args: DaphnetDualArgs = {}): DaphnetDual {
  const toHz = args.targetHz ?? SELFPAB_RATE_HZ;
  const log = args.log ?? ((m: string) => console.log(m));
  const onDead = args.onDeadSensor ?? "exclude";
  const runs: SelfpabSegment[] = [], excluded: ExcludedRecording[] = [];
  const report: DaphnetRunReport[] = [];
  for (const rec of recs) {
    const trial = daphnetTrial(rec);
    const idx = axisIndices(rec, DAPHNET_HUNT4_SOURCE_AXES, "trunk/thigh");
    const axes = idx.map((i) => rec.axes[i]);
    checkFiniteAxes(axes, DAPHNET_HUNT4_SOURCE_AXES, rec.source);
    if (rec.timestampsMs) checkIncreasing(rec.timestampsMs, rec.source);
    const n = recordingLength(rec);
    const channelMeanG = axes.map((a) => {
      let s = 0;
      for (let i = 0; i < a.length; i++) s += a[i];
      return n ? s / n : NaN;
    });
    const ex = deadCheck(rec, idx, trial, onDead, args.deadSensor, log);
    const line: DaphnetRunReport = {
      trial,
      subject: rec.subject,
      source: rec.source,
      samplesIn: n,
      samplesOut: 0,
      channelMeanG,
      freezeSamples: 0,
      noFreezeSamples: 0,
      maskedSamples: 0,
    };
    report.push(line);
    if (ex) {
      excluded.push(ex);
      line.excluded = ex.reason;
      continue;
    }
    const labelsIn = rec.labels ?? new Int32Array(n).fill(-1);
    const r = fourierResampleChannels(axes, labelsIn, rec.rateHz, toHz, rec.source);
    const labels = r.labels!;
    for (const l of labels) {
      if (l === 1) line.freezeSamples++;
      else if (l === 0) line.noFreezeSamples++;
      else line.maskedSamples++;
    }
    line.samplesOut = labels.length;
    runs.push({
      dataset: "daphnet",
      subject: rec.subject,
      placement: "trunk+thigh",
      device: rec.device,
      rateHz: toHz,
      axes: r.axes,
      axisNames: [...DAPHNET_HUNT4_CHANNELS],
      labels,
      labelNames: [...DAPHNET_CLASSES],
      source: rec.source,
      trial,
      meta: { run: Number(rec.meta?.run ?? 0), sourceRateHz: rec.rateHz, variant: "dual" },
    });
  }
  return { runs, excluded, report };
}

/** Options of the loaders that read from the data folder. */
export interface DataFolderArgs {
  /** Data folder; default `$HAR_DATA_DIR` or `./datasets`. */
  dataDir?: string;
  /** Keep only these subjects (as each dataset spells them). */
  subjects?: string[];
  /** Plausibility checks on reading (lib/data/checks.ts); default all. */
  checks?: RecordingChecks;
}

/** Read Daphnet from the data folder and {@link prepareDaphnetDual} it. */
export async function loadDaphnetDual(
  args: DaphnetDualArgs & DataFolderArgs = {},
): Promise<DaphnetDual> {
  const recs = await loadDataset("daphnet", {
    dir: args.dataDir,
    subjects: args.subjects,
    checks: args.checks,
  });
  return prepareDaphnetDual(recs, args);
}

/** One LOSO fold of the Daphnet freeze-detection protocol. */
export interface DaphnetFold {
  /** The held-out subject. */
  testSubject: string;
  /** `"freeze"`: the subject has freeze samples (AUROC and F1 computed); `"specificity"`: none (false-alarm rate only). */
  kind: "freeze" | "specificity";
  /** Trial ids of the test subject's runs. */
  testTrials: string[];
  /** Every other subject (pre-training and downstream training data). */
  trainSubjects: string[];
  /** Their trial ids. */
  trainTrials: string[];
  /** Freeze samples of the test subject. */
  freezeSamples: number;
}

/**
 * LOSO folds from the prepared runs (not a hard-coded list): one per
 * subject, `kind: "freeze"` when the subject has at least one freeze sample
 * (label 1), else `"specificity"`. Sorted by subject.
 */
export function daphnetLosoFolds(runs: SelfpabSegment[]): DaphnetFold[] {
  const subjects = [...new Set(runs.map((r) => r.subject))].sort();
  return subjects.map((s) => {
    const test = runs.filter((r) => r.subject === s);
    const train = runs.filter((r) => r.subject !== s);
    let freeze = 0;
    for (const r of test) for (const l of r.labels) if (l === 1) freeze++;
    return {
      testSubject: s,
      kind: freeze > 0 ? "freeze" : "specificity",
      testTrials: test.map((r) => r.trial),
      trainSubjects: [...new Set(train.map((r) => r.subject))].sort(),
      trainTrials: train.map((r) => r.trial),
      freezeSamples: freeze,
    };
  });
}

// ------------------------------------------------------ variant B (thigh)

/** A thigh-only pool source. */
export type ThighSource = "wisdm-phone" | "mobifall" | "daphnet-thigh";

/** All pool sources, in report order. */
export const THIGH_SOURCES: readonly ThighSource[] = ["wisdm-phone", "mobifall", "daphnet-thigh"];

/** Options of the thigh-only pool (every `prepare*` function and {@link loadThighPool}). */
export interface ThighPoolArgs {
  /** Output rate (Hz); default 50. */
  targetHz?: number;
  /**
   * Swap the gravity axis into x as MonoSelfPAB's `get_down_axis` +
   * `swap_sensor_axes` (the axis whose |mean| over the whole file is closest
   * to 1 g). Default true. Only the permutation is applied: the reference's
   * sign flip indexes a time row, not the axis (`signals[down_ax] *= -1`),
   * and signs do not change the STFT magnitudes anyway.
   */
  reorient?: boolean;
  /** Where the down axis is measured: over the whole file as the reference does (`"recording"`, default) or per activity segment (`"segment"`). */
  reorientScope?: "recording" | "segment";
  /** Low-pass every segment at this frequency (Hz) after resampling (FFT brick wall); null = none (default). 10 makes every source look like 20 Hz WISDM (§7.2). */
  lowpassHz?: number | null;
  /** MobiFall codes kept (default the 9 ADL, {@link MOBIFALL_ADL_CODES}); add `"FOL","FKL","BSC","SDL"` for falls (3.3 h instead of 2.5 h). */
  mobifallCodes?: readonly string[];
  /** Rate (Hz) of the uniform grid MobiFall's irregular samples are interpolated to before FFT resampling; `"median"` (default) = each file's median rate. */
  mobifallGridHz?: number | "median";
  /** Timestamp steps longer than this (s) split a segment (WISDM, MobiFall); default 1 s. */
  maxGapSec?: number;
  /** Segments shorter than this (s, at the input) are dropped and counted; default 1 s (one 50-sample STFT frame). */
  minSegmentSec?: number;
  /** A recording with a dead channel: `"exclude"` (default, logged) or `"error"`. */
  onDeadSensor?: OnDeadSensor;
  /** Dead-channel detector settings. */
  deadSensor?: DeadSensorArgs;
  /** Log sink; default `console.log`. */
  log?: (msg: string) => void;
}

/** What one source contributed. */
export interface ThighSourceReport {
  /** Files / runs read. */
  recordings: number;
  /** Segments kept. */
  segments: number;
  /** Hours kept (at 50 Hz). */
  hours: number;
  /** Segments dropped as shorter than `minSegmentSec`. */
  droppedShort: number;
  /** Segments split at a timestamp gap > `maxGapSec`. */
  gapSplits: number;
  /** Recordings excluded (dead channel). */
  excluded: ExcludedRecording[];
}

/** The prepared pool of one or more sources. */
export interface ThighPool {
  /** Segments, 3 channels `x,y,z` (x = down after reorientation), 50 Hz, g. */
  segments: SelfpabSegment[];
  /** Hours per source. */
  hoursBySource: Record<string, number>;
  /** Everything per source. */
  bySource: Record<string, ThighSourceReport>;
}

/**
 * The down axis of MonoSelfPAB's `get_down_axis` for data in g: the index
 * whose |mean| is closest to 1 g (first on ties), and whether that mean is negative.
 */
export function downAxis(axes: ArrayLike<number>[]): { index: number; negative: boolean } {
  let best = 0, bestD = Infinity, negative = false;
  axes.forEach((a, c) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i];
    const m = a.length ? s / a.length : NaN;
    const d = Math.abs(Math.abs(m) - 1);
    if (d < bestD) {
      bestD = d;
      best = c;
      negative = m < 0;
    }
  });
  return { index: best, negative };
}

/** Swap channel `down` into position 0 (MonoSelfPAB `swap_sensor_axes`, permutation only). */
export function swapDownAxis<T>(axes: T[], down: number): T[] {
  const out = [...axes];
  if (down !== 0) [out[0], out[down]] = [out[down], out[0]];
  return out;
}

interface PoolCtx {
  toHz: number;
  reorient: boolean;
  scope: "recording" | "segment";
  lowpassHz: number | null;
  maxGapMs: number;
  minSec: number;
  onDead: OnDeadSensor;
  deadArgs?: DeadSensorArgs;
  log: (m: string) => void;
}

function poolCtx(args: ThighPoolArgs): PoolCtx {
  const lp = args.lowpassHz ?? null;
  const toHz = args.targetHz ?? SELFPAB_RATE_HZ;
  if (lp !== null && !(lp > 0 && lp < toHz / 2)) {
    throw new ConfigError(`lowpassHz must be in (0, ${toHz / 2}) Hz or null, got ${lp}`);
  }
  const scope = args.reorientScope ?? "recording";
  if (scope !== "recording" && scope !== "segment") {
    throw new ConfigError(`reorientScope must be "recording" or "segment", got "${scope}"`);
  }
  return {
    toHz,
    reorient: args.reorient ?? true,
    scope,
    lowpassHz: lp,
    maxGapMs: (args.maxGapSec ?? 1) * 1000,
    minSec: args.minSegmentSec ?? 1,
    onDead: args.onDeadSensor ?? "exclude",
    deadArgs: args.deadSensor,
    log: args.log ?? ((m: string) => console.log(m)),
  };
}

function emptyReport(): ThighSourceReport {
  return { recordings: 0, segments: 0, hours: 0, droppedShort: 0, gapSplits: 0, excluded: [] };
}

/** Resampled (50 Hz) axes → reoriented, low-passed segment. */
function finishSegment(
  ctx: PoolCtx,
  rec: Recording,
  axes: Float32Array[],
  labels: Int32Array,
  trial: string,
  dataset: string,
  recDown: { index: number; negative: boolean } | null,
  extra: Record<string, string | number | boolean>,
): SelfpabSegment {
  let out = axes;
  const meta: Record<string, string | number | boolean> = { ...extra, sourceRateHz: rec.rateHz };
  if (ctx.reorient) {
    const d = ctx.scope === "segment" || !recDown ? downAxis(out) : recDown;
    out = swapDownAxis(out, d.index);
    meta.downAxis = ["x", "y", "z"][d.index] ?? d.index;
    meta.downAxisNegative = d.negative;
  }
  if (ctx.lowpassHz !== null) {
    const lp = ctx.lowpassHz;
    out = out.map((a) => fftLowpass(a, ctx.toHz, lp));
    meta.lowpassHz = lp;
  }
  return {
    dataset,
    subject: rec.subject,
    placement: rec.placement,
    device: rec.device,
    rateHz: ctx.toHz,
    axes: out,
    axisNames: ["x", "y", "z"],
    labels,
    labelNames: [...(rec.labelNames ?? [])],
    source: rec.source,
    trial,
    meta,
  };
}

/** Split `[a, b)` of `t` at steps > `maxGapMs`; errors on non-increasing times. */
function splitAtGaps(
  t: Float64Array,
  a: number,
  b: number,
  maxGapMs: number,
  source: string,
): Array<[number, number]> {
  checkIncreasing(t.subarray(a, b), source, a);
  const out: Array<[number, number]> = [];
  let s = a;
  for (let i = a + 1; i < b; i++) {
    if (t[i] - t[i - 1] > maxGapMs) {
      out.push([s, i]);
      s = i;
    }
  }
  out.push([s, b]);
  return out;
}

/**
 * WISDM 2019 phone recordings ({@link readWisdm}, m/s² already converted
 * to g) → one segment per contiguous activity run (the 3-min segments
 * kept whole; split only at a timestamp gap > `maxGapSec`), FFT-resampled
 * from the file's rate (`rec.rateHz`: 20 Hz, or the measured ~25 Hz of the
 * one faster phone) to 50 Hz. Trial ids `"<code index>#<k>"`, labels the 18 activities.
 */
export function prepareWisdmPhone(
  recs: Recording[],
  args: ThighPoolArgs = {},
): { segments: SelfpabSegment[]; report: ThighSourceReport } {
  const ctx = poolCtx(args);
  const report = emptyReport();
  const segments: SelfpabSegment[] = [];
  for (const rec of recs) {
    const xyz = axisIndices(rec, ["x", "y", "z"], "accelerometer");
    const axes = xyz.map((i) => rec.axes[i]);
    const n = recordingLength(rec);
    checkFiniteAxes(axes, ["x", "y", "z"], rec.source);
    if (!rec.labels) throw new DataFormatError(basename(rec.source), "no activity labels");
    report.recordings++;
    const ex = deadCheck(rec, xyz, rec.subject, ctx.onDead, ctx.deadArgs, ctx.log);
    if (ex) {
      report.excluded.push(ex);
      continue;
    }
    const t = rec.timestampsMs ??
      Float64Array.from({ length: n }, (_, i) => (i * 1000) / rec.rateHz);
    const recDown = ctx.reorient ? downAxis(axes) : null;
    const seen = new Map<number, number>();
    let a = 0;
    for (let i = 1; i <= n; i++) {
      if (i < n && rec.labels[i] === rec.labels[a]) continue;
      const lab = rec.labels[a];
      const parts = splitAtGaps(t, a, i, ctx.maxGapMs, rec.source);
      report.gapSplits += parts.length - 1;
      for (const [s, e] of parts) {
        if ((e - s) / rec.rateHz < ctx.minSec) {
          report.droppedShort++;
          continue;
        }
        const k = seen.get(lab) ?? 0;
        seen.set(lab, k + 1);
        const r = fourierResampleChannels(
          axes.map((ax) => ax.subarray(s, e)),
          rec.labels.subarray(s, e),
          rec.rateHz,
          ctx.toHz,
          rec.source,
        );
        segments.push(
          finishSegment(ctx, rec, r.axes, r.labels!, `${lab}#${k}`, rec.dataset, recDown, {
            startRow: s + 1,
          }),
        );
      }
      a = i;
    }
  }
  report.segments = segments.length;
  report.hours = hoursOf(segments);
  return { segments, report };
}

/**
 * MobiFall v2 recordings ({@link readMobiFallFile}, one constant-label
 * trial per file, irregular ~87 Hz, g) → one segment per trial (split at a
 * gap > `maxGapSec`) with the codes `mobifallCodes` (default the 9 ADL):
 * linear interpolation onto a uniform grid at the file's median rate (or
 * `mobifallGridHz`), then FFT resampling to 50 Hz. Labels index into the
 * kept codes; trial ids `"<CODE>_<trial>"`.
 */
export function prepareMobiFall(
  recs: Recording[],
  args: ThighPoolArgs = {},
): { segments: SelfpabSegment[]; report: ThighSourceReport } {
  const ctx = poolCtx(args);
  const codes = [...(args.mobifallCodes ?? MOBIFALL_ADL_CODES)];
  const unknown = codes.filter((c) => !MOBIFALL_CODES.includes(c));
  if (unknown.length) {
    throw new ConfigError(
      `mobifallCodes: unknown code(s) ${unknown.join(", ")} (MobiFall: ${
        MOBIFALL_CODES.join(", ")
      })`,
    );
  }
  const report = emptyReport();
  const segments: SelfpabSegment[] = [];
  for (const rec of recs) {
    const n = recordingLength(rec);
    const names = rec.labelNames ?? [...MOBIFALL_CODES];
    const code = typeof rec.meta?.code === "string"
      ? rec.meta.code
      : rec.labels && n
      ? names[rec.labels[0]]
      : undefined;
    if (code === undefined) {
      throw new DataFormatError(basename(rec.source), "no activity code (meta.code or labels)");
    }
    const li = codes.indexOf(code);
    if (li < 0) continue;
    const xyz = axisIndices(rec, ["x", "y", "z"], "accelerometer");
    const axes = xyz.map((i) => rec.axes[i]);
    checkFiniteAxes(axes, ["x", "y", "z"], rec.source);
    if (!rec.timestampsMs) {
      throw new DataFormatError(
        basename(rec.source),
        "no timestamps: MobiFall is sampled irregularly",
      );
    }
    report.recordings++;
    const trialNo = rec.meta?.trial ?? 0;
    const ex = deadCheck(rec, xyz, `${code}_${trialNo}`, ctx.onDead, ctx.deadArgs, ctx.log);
    if (ex) {
      report.excluded.push(ex);
      continue;
    }
    const gridHz = args.mobifallGridHz === undefined || args.mobifallGridHz === "median"
      ? rec.rateHz
      : args.mobifallGridHz;
    if (!(gridHz > 0) || !Number.isFinite(gridHz)) {
      throw new DataFormatError(
        basename(rec.source),
        `cannot resample: grid rate ${gridHz} Hz (median rate of the timestamps) is not a positive number`,
      );
    }
    const recDown = ctx.reorient ? downAxis(axes) : null;
    const t = rec.timestampsMs;
    const parts = splitAtGaps(t, 0, n, ctx.maxGapMs, rec.source);
    report.gapSplits += parts.length - 1;
    parts.forEach(([s, e], p) => {
      const ts = t.subarray(s, e);
      if ((ts[ts.length - 1] - ts[0]) / 1000 < ctx.minSec) {
        report.droppedShort++;
        return;
      }
      const step = 1000 / gridHz;
      const m = Math.floor((ts[ts.length - 1] - ts[0]) / step + 1e-9) + 1;
      const g = new Float64Array(m);
      for (let k = 0; k < m; k++) g[k] = ts[0] + k * step;
      const uni = axes.map((ax) => interpLinear(ts, ax.subarray(s, e), g, new Float64Array(m)));
      const r = fourierResampleChannels(uni, undefined, gridHz, ctx.toHz, rec.source);
      const labels = new Int32Array(r.axes[0].length).fill(li);
      const trial = `${code}_${trialNo}${parts.length > 1 ? `.${p}` : ""}`;
      const seg = finishSegment(ctx, rec, r.axes, labels, trial, "mobifall", recDown, {
        code,
        gridHz,
      });
      seg.labelNames = [...codes];
      segments.push(seg);
    });
  }
  report.segments = segments.length;
  report.hours = hoursOf(segments);
  return { segments, report };
}

/**
 * Daphnet recordings → the thigh sensor of each whole run (label-0 parts
 * kept as context, labels as in variant A), FFT-resampled to 50 Hz;
 * dataset `"daphnet-thigh"`, trial = run id. Runs whose thigh is dead are
 * excluded (or an error).
 */
export function prepareDaphnetThigh(
  recs: Recording[],
  args: ThighPoolArgs = {},
): { segments: SelfpabSegment[]; report: ThighSourceReport } {
  const ctx = poolCtx(args);
  const report = emptyReport();
  const segments: SelfpabSegment[] = [];
  for (const rec0 of recs) {
    let rec: Recording;
    try {
      rec = selectPlacement(rec0, "thigh");
    } catch (e) {
      if (e instanceof DataFormatError) {
        throw new DataFormatError(
          basename(rec0.source),
          `missing placement "thigh" (axes: ${rec0.axisNames.join(", ")})`,
        );
      }
      throw e;
    }
    const xyz = axisIndices(rec, ["x", "y", "z"], "thigh");
    const axes = xyz.map((i) => rec.axes[i]);
    checkFiniteAxes(axes, ["thigh_x", "thigh_y", "thigh_z"], rec.source);
    if (rec.timestampsMs) checkIncreasing(rec.timestampsMs, rec.source);
    report.recordings++;
    const trial = daphnetTrial(rec0);
    const ex = deadCheck(
      { ...rec, axisNames: rec.axisNames.map((a) => `thigh_${a}`) },
      xyz,
      trial,
      ctx.onDead,
      ctx.deadArgs,
      ctx.log,
    );
    if (ex) {
      report.excluded.push(ex);
      continue;
    }
    const n = recordingLength(rec);
    const r = fourierResampleChannels(
      axes,
      rec.labels ?? new Int32Array(n).fill(-1),
      rec.rateHz,
      ctx.toHz,
      rec.source,
    );
    const seg = finishSegment(ctx, rec, r.axes, r.labels!, trial, "daphnet-thigh", null, {
      run: Number(rec0.meta?.run ?? 0),
    });
    seg.labelNames = [...DAPHNET_CLASSES];
    segments.push(seg);
  }
  report.segments = segments.length;
  report.hours = hoursOf(segments);
  return { segments, report };
}

/** Hours of signal in `segments` (samples / rate / 3600). */
export function hoursOf(segments: Recording[]): number {
  let s = 0;
  for (const g of segments) s += segmentSeconds(g);
  return s / 3600;
}

/**
 * Read and prepare the thigh-only pool (§7.2) from the data folder: the
 * `sources` (default all of {@link THIGH_SOURCES}) with the options of
 * {@link ThighPoolArgs}. A missing dataset is an error
 * (`DatasetUnavailableError`); pass `sources` to leave one out.
 *
 * Measured here with the defaults: WISDM phone 19.9 h (393 segments),
 * MobiFall ADL 2.5 h (3.3 h with the falls), Daphnet thigh 1.5 h (S03R03 excluded:
 * its thigh is flat for 48 % of the run; the spec's 1.8 h counts it).
 */
export async function loadThighPool(
  args: ThighPoolArgs & DataFolderArgs & { sources?: readonly ThighSource[] } = {},
): Promise<ThighPool> {
  const sources = args.sources ?? THIGH_SOURCES;
  const bad = sources.filter((s) => !THIGH_SOURCES.includes(s));
  if (bad.length) {
    throw new ConfigError(`unknown pool source(s) ${bad.join(", ")} (${THIGH_SOURCES.join(", ")})`);
  }
  const segments: SelfpabSegment[] = [];
  const bySource: Record<string, ThighSourceReport> = {};
  const hoursBySource: Record<string, number> = {};
  const opts = { dir: args.dataDir, subjects: args.subjects, checks: args.checks };
  for (const src of sources) {
    const name = src === "daphnet-thigh" ? "daphnet" : src;
    const recs = await loadDataset(name, opts);
    const r = src === "wisdm-phone"
      ? prepareWisdmPhone(recs, args)
      : src === "mobifall"
      ? prepareMobiFall(recs, args)
      : prepareDaphnetThigh(recs, args);
    for (const seg of r.segments) segments.push(seg);
    bySource[src] = r.report;
    hoursBySource[src] = r.report.hours;
  }
  return { segments, hoursBySource, bySource };
}

// ------------------------------------------------ subjects and subsets

/** The pool-wide subject key `"<dataset>:<subject>"` (`"mobifall:sub3"`, `"wisdm-phone:1600"`). */
export function subjectKey(seg: Recording): string {
  return `${seg.dataset}:${seg.subject}`;
}

/**
 * Drop every segment of the given subjects, so a fold's test subjects are
 * never in pre-training. Keys are `"<dataset>:<subject>"` ({@link subjectKey});
 * `"daphnet:S01"` also removes `"daphnet-thigh:S01"` (the same person).
 *
 * @throws ConfigError for a key without `dataset:` (a bare `"3"` would silently match nothing)
 */
export function excludeSubjects<T extends Recording>(segments: T[], keys: Iterable<string>): T[] {
  const drop = new Set<string>();
  for (const k of keys) {
    const i = k.indexOf(":");
    if (i <= 0 || i === k.length - 1) {
      throw new ConfigError(
        `excludeSubjects: "${k}" is not "<dataset>:<subject>" (e.g. "mobifall:sub3", "wisdm-phone:1600")`,
      );
    }
    const ds = k.slice(0, i), s = k.slice(i + 1);
    drop.add(`${ds}:${s}`);
    if (ds === "daphnet") drop.add(`daphnet-thigh:${s}`);
    if (ds === "daphnet-thigh") drop.add(`daphnet:${s}`);
  }
  return segments.filter((g) => !drop.has(subjectKey(g)));
}

/** One nested pre-training subset. */
export interface PoolSubset<T extends Recording = SelfpabSegment> {
  /** Hours asked for. */
  targetHours: number;
  /** Hours drawn (≥ target, by at most one segment; the whole pool when it is smaller). */
  hours: number;
  /** The segments. */
  segments: T[];
  /** Hours per dataset. */
  hoursBySource: Record<string, number>;
  /** True when the pool held less than `targetHours`. */
  short: boolean;
}

/**
 * Nested random subsets of ≈ `hours` each (e.g. `[1, 3, 10, 25]`): one
 * seeded permutation of the segments, each subset its shortest prefix
 * reaching the target, so every smaller subset is contained in every larger
 * one. A target beyond the pool gives the whole pool (`short: true`, logged).
 * Apply {@link excludeSubjects} first, then draw per fold with the same seed.
 *
 * @throws ConfigError for non-positive or non-increasing targets, an empty pool
 */
export function nestedSubsets<T extends Recording>(
  segments: T[],
  hours: readonly number[],
  seed: number,
  log: (msg: string) => void = (m) => console.log(m),
): PoolSubset<T>[] {
  if (segments.length === 0) throw new ConfigError("nestedSubsets: the pool is empty");
  hours.forEach((h, i) => {
    if (!(h > 0) || !Number.isFinite(h) || (i > 0 && !(h > hours[i - 1]))) {
      throw new ConfigError(
        `nestedSubsets: hours must be positive and increasing, got [${hours.join(", ")}]`,
      );
    }
  });
  const perm = rng(seed).permutation(segments.length);
  const cum = new Float64Array(segments.length);
  let acc = 0;
  for (let i = 0; i < perm.length; i++) {
    acc += segmentSeconds(segments[perm[i]]) / 3600;
    cum[i] = acc;
  }
  return hours.map((h) => {
    let k = 0;
    while (k < cum.length && cum[k] < h) k++;
    const short = k >= cum.length;
    const take = short ? cum.length : k + 1;
    if (short) {
      log(`nestedSubsets: the pool holds ${acc.toFixed(2)} h < ${h} h: using all of it`);
    }
    const segs = Array.from(perm.subarray(0, take), (i) => segments[i]);
    const by: Record<string, number> = {};
    for (const g of segs) by[g.dataset] = (by[g.dataset] ?? 0) + segmentSeconds(g) / 3600;
    return { targetHours: h, hours: cum[take - 1], segments: segs, hoursBySource: by, short };
  });
}
