/**
 * Window quality checks, after ssl-wearables' `is_good_quality`: a window is
 * dropped when it holds NaN/Inf samples, spans a gap in the sample times, or
 * has the wrong length/duration. Every check returns the reason, and the
 * reports count drops per reason so a notebook can say what was lost.
 *
 * Two levels:
 * - {@link checkSpan}: a candidate window on a timestamped recording (used by
 *   `makeWindows`): length, duration within tolerance, no step > `maxGapSec`.
 * - {@link checkWindows} / {@link filterWindows}: finished {@link Windows}:
 *   wrong length, gaps (runs of missing = NaN samples longer than
 *   `maxGapSec`, as left by `resample(..., {gaps: "nan"})`), other NaN/Inf,
 *   optional range and flat-line checks.
 *
 * @example
 * const { windows: clean, report } = filterWindows(w, { expectedLength: 300, maxGapSec: 1 });
 * console.log(report.dropped); // { gap: 3, nan: 0, length: 0, ... }
 */
import type { Windows } from "../data/types.ts";

/** Why a window was dropped. */
export type DropReason =
  | "length"
  | "duration"
  | "gap"
  | "nan"
  | "range"
  | "flat"
  | "unlabelled"
  | "impure"
  | "minority"
  | "class";

/** What a check kept and dropped. */
export interface QualityReport {
  /** Windows examined. */
  total: number;
  /** Windows kept. */
  kept: number;
  /** Dropped windows per reason (first failing check wins). */
  dropped: Partial<Record<DropReason, number>>;
  /** Indices (into the examined windows) that were kept, ascending. */
  keptIndex: Int32Array;
  /** The first source file (`Recording.source`) dropping a window per reason, when known. */
  examples?: Partial<Record<DropReason, string>>;
}

/** Options for {@link checkSpan}. */
export interface SpanCheckOptions {
  /** Samples the window must have. */
  expectedLength: number;
  /** Expected duration first→last sample (s), e.g. `(length - 1) / rateHz`. */
  expectedDurationSec: number;
  /** Allowed |duration − expected| (s); ssl-wearables uses 1 % of the window (default 0.01 × expected). */
  lengthToleranceSec?: number;
  /** Largest allowed step between consecutive samples (s) (default 1 s). */
  maxGapSec?: number;
}

/**
 * Check a candidate window `[start, end)` of sample times `tMs` (ms).
 * Returns the drop reason, or null when the window is good.
 */
export function checkSpan(
  tMs: ArrayLike<number>,
  start: number,
  end: number,
  opts: SpanCheckOptions,
): DropReason | null {
  if (end - start !== opts.expectedLength || end > tMs.length) return "length";
  const maxGapMs = (opts.maxGapSec ?? 1) * 1000;
  for (let i = start + 1; i < end; i++) {
    const d = tMs[i] - tMs[i - 1];
    if (d > maxGapMs || d < 0 || !Number.isFinite(d)) return "gap";
  }
  const dur = (tMs[end - 1] - tMs[start]) / 1000;
  const tol = opts.lengthToleranceSec ?? 0.01 * opts.expectedDurationSec;
  if (Math.abs(dur - opts.expectedDurationSec) > tol + 1e-9) return "duration";
  return null;
}

/** Options for {@link checkWindows}. */
export interface CheckWindowsOptions {
  /** Samples per window expected (default: `windows.length`, i.e. no length check). */
  expectedLength?: number;
  /** Allowed |length − expected| expressed in seconds at `windows.rateHz` (default 0). */
  lengthToleranceSec?: number;
  /** A run of missing (non-finite) samples longer than this (s) counts as a `"gap"`; shorter runs as `"nan"` (default 0: every run is a gap). */
  maxGapSec?: number;
  /** Drop windows with any |sample| above this (g) (default: no range check). */
  maxAbsG?: number;
  /** Drop windows whose every channel has a standard deviation below this (g) (default: no flat check). */
  minStdG?: number;
}

/**
 * Check finished windows. Reasons, in order: `"length"`, `"gap"`, `"nan"`,
 * `"range"`, `"flat"`.
 *
 * @example
 * const r = checkWindows(w, { expectedLength: 300 });
 * r.kept === w.n - Object.values(r.dropped).reduce((a, b) => a + b, 0);
 */
export function checkWindows(windows: Windows, opts: CheckWindowsOptions = {}): QualityReport {
  const { n, channels: c, length: len, x } = windows;
  const dropped: Partial<Record<DropReason, number>> = {};
  const keep: number[] = [];
  const bump = (r: DropReason) => (dropped[r] = (dropped[r] ?? 0) + 1);
  const expected = opts.expectedLength ?? len;
  const tolSamples = (opts.lengthToleranceSec ?? 0) * windows.rateHz;
  const lengthBad = Math.abs(len - expected) > tolSamples + 1e-9;
  const gapSamples = (opts.maxGapSec ?? 0) * windows.rateHz;
  for (let i = 0; i < n; i++) {
    if (lengthBad) {
      bump("length");
      continue;
    }
    const base = i * c * len;
    // longest run of time steps where any channel is non-finite
    let run = 0, longest = 0, anyBad = false;
    for (let t = 0; t < len; t++) {
      let bad = false;
      for (let ch = 0; ch < c; ch++) {
        if (!Number.isFinite(x[base + ch * len + t])) {
          bad = true;
          break;
        }
      }
      if (bad) {
        anyBad = true;
        run++;
        if (run > longest) longest = run;
      } else run = 0;
    }
    if (anyBad) {
      bump(longest > gapSamples ? "gap" : "nan");
      continue;
    }
    if (opts.maxAbsG !== undefined) {
      let over = false;
      for (let k = base; k < base + c * len; k++) {
        if (Math.abs(x[k]) > opts.maxAbsG) {
          over = true;
          break;
        }
      }
      if (over) {
        bump("range");
        continue;
      }
    }
    if (opts.minStdG !== undefined) {
      let flat = true;
      for (let ch = 0; ch < c && flat; ch++) {
        const o = base + ch * len;
        let s = 0, s2 = 0;
        for (let t = 0; t < len; t++) s += x[o + t];
        const mean = s / len;
        for (let t = 0; t < len; t++) s2 += (x[o + t] - mean) ** 2;
        if (Math.sqrt(s2 / len) >= opts.minStdG) flat = false;
      }
      if (flat) {
        bump("flat");
        continue;
      }
    }
    keep.push(i);
  }
  return { total: n, kept: keep.length, dropped, keptIndex: Int32Array.from(keep) };
}

/** The windows at `index` (in that order), with every per-window field subset. */
export function selectWindows(windows: Windows, index: ArrayLike<number>): Windows {
  const per = windows.channels * windows.length;
  const x = new Float32Array(index.length * per);
  const y = new Int32Array(index.length);
  const subject: string[] = new Array(index.length);
  for (let k = 0; k < index.length; k++) {
    const i = index[k];
    if (!(i >= 0 && i < windows.n)) {
      throw new RangeError(`selectWindows: index ${i} out of range [0, ${windows.n})`);
    }
    x.set(windows.x.subarray(i * per, (i + 1) * per), k * per);
    y[k] = windows.y[i];
    subject[k] = windows.subject[i];
  }
  const out: Windows = {
    x,
    n: index.length,
    channels: windows.channels,
    length: windows.length,
    y,
    classes: [...windows.classes],
    subject,
    rateHz: windows.rateHz,
  };
  if (windows.startSec) out.startSec = Float64Array.from(index, (i) => windows.startSec![i]);
  if (windows.source) out.source = Array.from(index, (i) => windows.source![i]);
  return out;
}

/** {@link checkWindows}, then keep only the good windows. */
export function filterWindows(
  windows: Windows,
  opts: CheckWindowsOptions = {},
): { windows: Windows; report: QualityReport } {
  const report = checkWindows(windows, opts);
  return { windows: selectWindows(windows, report.keptIndex), report };
}
