/**
 * Sliding windows over recordings → {@link Windows}, the ssl-wearables
 * `X/Y/pid` layout `[n, channels, length]`.
 *
 * Windows start at sample 0 and every `step` samples; a window is kept only
 * when it fits entirely in its recording (ssl-wearables: `range(0, len, step)`
 * plus a length check), so no window spans a recording boundary. Resampled
 * segments (see `resample`) are separate recordings, so no window spans a gap;
 * on timestamped recordings each window is also checked with `checkSpan`
 * (no step > `maxGapSec`, duration within tolerance).
 *
 * Labels: `"majority"` takes the most frequent per-sample label (ties → the
 * smaller class index; unlabelled samples count as their own label, so a
 * mostly unlabelled window is unlabelled), optionally requiring
 * `minLabelFraction`; `"pure"` keeps only windows whose samples all carry one
 * label. `y` indexes `classes` (as given, else the sorted names that occur).
 *
 * A window must hold at least {@link MIN_WINDOW_SAMPLES} samples (`--rate
 * 1e-9` or `--window 0.00001` is a `ConfigError`, not `[694, 3, 0]`). When a
 * cut gives nothing, {@link explainNoWindows} says why, cause by cause.
 *
 * @example
 * const w = makeWindows(recs30, { windowSec: 10, overlapSec: 5, rateHz: 30 });
 * w.x.length === w.n * 3 * 300;
 * // ssl-wearables style: window at the device rate, then resize each window
 * const adl = makeWindows(recs32, { windowSec: 10, overlapSec: 5, rateHz: 30, perWindowResize: true });
 */
import { basename } from "node:path";
import { medianRateHz, timestampUnitHint } from "../data/rate.ts";
import type { Recording, Windows } from "../data/types.ts";
import { recordingLength } from "../data/types.ts";
import { ConfigError } from "../errors.ts";
import { checkSpan, type DropReason, type QualityReport } from "./quality.ts";
import { resizeLinear } from "./resample.ts";

/** How a window's label is decided. */
export type LabelPolicy = "majority" | "pure";

/** Options for {@link makeWindows}. */
export interface WindowOptions {
  /** Window length (s), e.g. 10. */
  windowSec: number;
  /** Overlap between consecutive windows (s), e.g. 5 (default 0). Ignored when `stepSec` is given. */
  overlapSec?: number;
  /** Step between window starts (s) (default `windowSec - overlapSec`). */
  stepSec?: number;
  /** Sample rate of the output windows (Hz). Recordings must have this rate unless `perWindowResize`. */
  rateHz: number;
  /** Label policy (default `"majority"`). */
  labelPolicy?: LabelPolicy;
  /** `"majority"`: least fraction (0..1) of the window's samples carrying the winning label (default 0). */
  minLabelFraction?: number;
  /** Drop windows without a label (default: true when any recording has labels, else false). */
  dropUnlabelled?: boolean;
  /** Class list `y` indexes, in this order; windows of other classes are dropped (default: sorted occurring names). */
  classes?: string[];
  /** Window each recording at its own rate, then resize every window to `windowSec * rateHz` samples by linear interpolation (ssl-wearables `resize`) (default false). */
  perWindowResize?: boolean;
  /** Timestamped recordings: largest allowed step inside a window (s) (default 1). */
  maxGapSec?: number;
  /** Timestamped recordings: allowed |duration − expected| (s) (default 1 % of the window). */
  lengthToleranceSec?: number;
  /** Drop windows holding NaN/Inf samples (default true). */
  dropNonFinite?: boolean;
}

/** {@link Windows} plus what was dropped and why. */
export interface WindowsWithReport {
  /** The windows kept. */
  windows: Windows;
  /** Candidate windows examined, kept, dropped per reason with an example file each (`keptIndex` is empty here). */
  report: QualityReport;
  /** Recordings (segments) shorter than one window, which give no candidate at all. */
  short: {
    /** How many. */
    recordings: number;
    /** The longest of them (s). */
    longestSec: number;
    /** The source file of the longest. */
    example?: string;
  };
}

/** Fewest samples a window may have: below 2 there is no signal to learn from. */
export const MIN_WINDOW_SAMPLES = 2;

function positive(name: string, v: number | undefined): number {
  if (v === undefined || !(v > 0) || !Number.isFinite(v)) {
    throw new ConfigError(`makeWindows: ${name} must be a positive number, got ${v}`);
  }
  return v;
}

/**
 * Slide windows over `recs` (see the module docs).
 *
 * @throws ConfigError on bad options, a recording whose rate differs from
 *   `rateHz` (without `perWindowResize`) or whose axis count differs.
 */
export function makeWindows(recs: Recording[], opts: WindowOptions): Windows {
  return makeWindowsWithReport(recs, opts).windows;
}

/** {@link makeWindows}, also returning the counts of dropped windows per reason. */
export function makeWindowsWithReport(recs: Recording[], opts: WindowOptions): WindowsWithReport {
  const windowSec = positive("windowSec", opts.windowSec);
  const rateHz = positive("rateHz", opts.rateHz);
  const overlapSec = opts.overlapSec ?? 0;
  const stepSec = opts.stepSec ?? windowSec - overlapSec;
  if (!(stepSec > 0)) {
    throw new ConfigError(
      `makeWindows: step must be > 0 (windowSec ${windowSec}, overlapSec ${overlapSec}, stepSec ${opts.stepSec})`,
    );
  }
  const policy = opts.labelPolicy ?? "majority";
  if (policy !== "majority" && policy !== "pure") {
    throw new ConfigError(`makeWindows: labelPolicy must be "majority" or "pure", got "${policy}"`);
  }
  const minFrac = opts.minLabelFraction ?? 0;
  if (!(minFrac >= 0 && minFrac <= 1)) {
    throw new ConfigError(`makeWindows: minLabelFraction must be in [0, 1], got ${minFrac}`);
  }
  const outLen = Math.round(windowSec * rateHz);
  if (outLen < MIN_WINDOW_SAMPLES) {
    throw new ConfigError(
      `makeWindows: a ${windowSec} s window at ${rateHz} Hz holds ${outLen} sample(s); ` +
        `need at least ${MIN_WINDOW_SAMPLES} (raise the window length or the rate)`,
    );
  }
  const anyLabels = recs.some((r) => r.labels !== undefined);
  const dropUnlabelled = opts.dropUnlabelled ?? anyLabels;
  const dropNonFinite = opts.dropNonFinite ?? true;
  const channels = recs.length ? recs[0].axes.length : 3;

  // classes: as given, else the sorted names that occur in the labels
  let classes: string[];
  if (opts.classes) {
    classes = [...opts.classes];
    if (new Set(classes).size !== classes.length) {
      throw new ConfigError(`makeWindows: classes has duplicates: ${classes.join(",")}`);
    }
  } else {
    const names = new Set<string>();
    for (const r of recs) {
      if (!r.labels) continue;
      const seen = new Uint8Array(r.labelNames?.length ?? 0);
      for (let i = 0; i < r.labels.length; i++) {
        const l = r.labels[i];
        if (l >= 0 && l < seen.length) seen[l] = 1;
      }
      seen.forEach((s, l) => s && names.add(r.labelNames![l]));
    }
    classes = [...names].sort();
  }
  const classIndex = new Map(classes.map((c, i) => [c, i]));

  // plan: per recording, window length/step at its rate and candidate count
  const plans = recs.map((r) => {
    if (r.axes.length !== channels) {
      throw new ConfigError(
        `${r.source}: ${r.axes.length} axes, expected ${channels} like the first recording`,
      );
    }
    const recRate = r.rateHz;
    if (!(recRate > 0) || !Number.isFinite(recRate)) {
      throw new ConfigError(`${r.source}: rateHz must be a positive number, got ${recRate}`);
    }
    if (!opts.perWindowResize && Math.abs(recRate - rateHz) > 1e-6 * rateHz) {
      throw new ConfigError(
        `${r.source}: rateHz ${recRate} differs from the window rate ${rateHz}; resample first or set perWindowResize`,
      );
    }
    const len = opts.perWindowResize ? Math.round(windowSec * recRate) : outLen;
    if (len < MIN_WINDOW_SAMPLES) {
      throw new ConfigError(
        `${r.source}: a ${windowSec} s window at its ${recRate} Hz holds ${len} sample(s); ` +
          `need at least ${MIN_WINDOW_SAMPLES}`,
      );
    }
    const step = Math.max(1, Math.round(stepSec * recRate));
    const n = recordingLength(r);
    const count = n >= len ? Math.floor((n - len) / step) + 1 : 0;
    return { len, step, count };
  });
  const maxN = plans.reduce((a, p) => a + p.count, 0);
  const per = channels * outLen;
  let x = new Float32Array(maxN * per);
  const y: number[] = [];
  const subject: string[] = [];
  const source: string[] = [];
  const startSec: number[] = [];
  const dropped: Partial<Record<DropReason, number>> = {};
  const examples: Partial<Record<DropReason, string>> = {};
  let current = "";
  const bump = (r: DropReason) => {
    dropped[r] = (dropped[r] ?? 0) + 1;
    examples[r] ??= current;
  };
  let total = 0;
  const short: WindowsWithReport["short"] = { recordings: 0, longestSec: 0 };

  recs.forEach((r, ri) => {
    const { len, step, count } = plans[ri];
    current = r.source;
    if (count === 0) {
      const sec = recordingLength(r) / r.rateHz;
      short.recordings++;
      if (short.example === undefined || sec > short.longestSec) {
        short.longestSec = sec;
        short.example = r.source;
      }
    }
    // local label → class index; -1 unlabelled; -2 a class not in `classes`
    // per-sample slot: 0 = a class not in `classes`, 1 = unlabelled, 2 + class index
    const map = (r.labelNames ?? []).map((nm) => (classIndex.get(nm) ?? -2) + 2);
    let slots: Int32Array | null = null;
    if (r.labels) {
      const lab = r.labels;
      slots = new Int32Array(lab.length);
      for (let i = 0; i < lab.length; i++) {
        const l = lab[i];
        slots[i] = l < 0 || l >= map.length ? 1 : map[l];
      }
    }
    const counts = new Int32Array(classes.length + 2);
    const offset = typeof r.meta?.offsetSec === "number" ? r.meta.offsetSec : 0;
    total += count;
    for (let w = 0; w < count; w++) {
      const s = w * step, e = s + len;
      if (r.timestampsMs) {
        const why = checkSpan(r.timestampsMs, s, e, {
          expectedLength: len,
          expectedDurationSec: (len - 1) / r.rateHz,
          lengthToleranceSec: opts.lengthToleranceSec ?? 0.01 * windowSec,
          maxGapSec: opts.maxGapSec ?? 1,
        });
        if (why) {
          bump(why);
          continue;
        }
      }
      // label
      let label = -1;
      if (slots) {
        counts.fill(0);
        for (let i = s; i < e; i++) counts[slots[i]]++;
        // ties: the smaller class index, then unlabelled, then other classes
        let best = -1, bestCount = -1, distinct = 0;
        for (let c = 2; c < counts.length; c++) {
          if (counts[c] > 0) distinct++;
          if (counts[c] > bestCount) (best = c - 2, bestCount = counts[c]);
        }
        for (const c of [1, 0]) {
          if (counts[c] > 0) distinct++;
          if (counts[c] > bestCount) (best = c - 2, bestCount = counts[c]);
        }
        if (policy === "pure" && distinct > 1) {
          bump("impure");
          continue;
        }
        if (best === -2) {
          bump("class");
          continue;
        }
        if (best >= 0 && bestCount / len < minFrac) {
          bump("minority");
          continue;
        }
        label = best;
      }
      if (label < 0 && dropUnlabelled) {
        bump("unlabelled");
        continue;
      }
      // samples
      const k = y.length;
      let finite = true;
      for (let ch = 0; ch < channels; ch++) {
        const src = r.axes[ch].subarray(s, e);
        const dst = k * per + ch * outLen;
        if (len === outLen) x.set(src, dst);
        else x.set(resizeLinear(src, outLen), dst);
        if (dropNonFinite) {
          for (let t = dst; t < dst + outLen; t++) {
            if (!Number.isFinite(x[t])) {
              finite = false;
              break;
            }
          }
        }
      }
      if (!finite) {
        bump("nan");
        continue;
      }
      y.push(label);
      subject.push(r.subject);
      source.push(r.source);
      startSec.push(offset + (r.timestampsMs ? r.timestampsMs[s] / 1000 : s / r.rateHz));
    }
  });
  if (y.length < maxN) x = x.slice(0, y.length * per);
  const windows: Windows = {
    x,
    n: y.length,
    channels,
    length: outLen,
    y: Int32Array.from(y),
    classes,
    subject,
    rateHz,
    startSec: Float64Array.from(startSec),
    source,
  };
  return {
    windows,
    report: { total, kept: y.length, dropped, keptIndex: new Int32Array(0), examples },
    short,
  };
}

/** What {@link explainNoWindows} needs to know about the cut. */
export interface NoWindowsContext {
  /** Dataset name, for the message. */
  dataset: string;
  /** The recordings as read (before resampling). */
  recordings: Recording[];
  /** The recordings (segments) given to {@link makeWindowsWithReport}. */
  segments: Recording[];
  /** Its result. */
  result: WindowsWithReport;
  /** Window length (s). */
  windowSec: number;
  /** Largest step (s) not counted as a gap (default 1). */
  maxGapSec?: number;
  /** The dataset's nominal rate (Hz), to recognise timestamps in a wrong unit (default each recording's `rateHz`). */
  nominalHz?: number;
  /** The unit the format stores timestamps in (default `"ms"`), for the unit hint. */
  timestampUnit?: string;
}

const DROP_WHY: Record<DropReason, string> = {
  length: "window(s) with the wrong number of samples",
  duration: "window(s) whose timestamps span the wrong duration",
  gap: "window(s) across a time step longer than the gap limit or going backwards",
  nan: "window(s) holding NaN/Inf samples",
  range: "window(s) out of range",
  flat: "flat window(s)",
  unlabelled: "unlabelled window(s) (no label, or label 0/outside the experiment)",
  impure: "window(s) mixing labels (label policy pure)",
  minority: "window(s) whose majority label is below the minimum fraction",
  class: "window(s) of classes not asked for",
};

/**
 * Say why a cut gave no windows, cause by cause with counts and an example
 * file each, instead of one opaque "dropped {}":
 *
 * - no recordings at all (subject/class filters, or no file read);
 * - recordings whose timestamps are all equal, go backwards, are in another
 *   unit than the format's (median interval vs the nominal rate), or whose
 *   every step exceeds the gap limit;
 * - recordings (segments after cutting at gaps) shorter than one window;
 * - candidate windows dropped per reason (gaps, NaN, unlabelled, classes, ...).
 *
 * @example
 * if (w.windows.n === 0) throw new ConfigError(explainNoWindows({ dataset, recordings, segments, result: w, windowSec: 10 }));
 * // "no windows from daphnet (1 recording, 1 segment): 1 recording(s) shorter than one 10 s window (longest 3.0 s, e.g. S01R02.txt)"
 */
export function explainNoWindows(c: NoWindowsContext): string {
  const { recordings, segments, result } = c;
  const name = (p?: string) => (p ? basename(p) : "?");
  const head = `no windows from ${c.dataset} (${recordings.length} recording(s), ` +
    `${segments.length} segment(s) after resampling and cutting at gaps)`;
  if (recordings.length === 0) {
    return `${head}: no recording was read (do the --subjects/--classes filters leave any, ` +
      `and do the files match the dataset's layout?)`;
  }
  const causes: string[] = [];
  const maxGapMs = (c.maxGapSec ?? 1) * 1000;
  const tally = new Map<string, { n: number; example: string }>();
  const add = (why: string, file: string) => {
    const t = tally.get(why);
    if (t) t.n++;
    else tally.set(why, { n: 1, example: name(file) });
  };
  for (const r of recordings) {
    const t = r.timestampsMs;
    if (!t || t.length < 2) continue;
    let back = 0, equal = 0, gaps = 0;
    for (let i = 1; i < t.length; i++) {
      const d = t[i] - t[i - 1];
      if (d < 0) back++;
      else if (d === 0) equal++;
      else if (d > maxGapMs) gaps++;
    }
    const steps = t.length - 1;
    if (equal === steps) add("recording(s) whose timestamps are all equal", r.source);
    else if (back > 0.1 * steps) {
      add(
        "recording(s) whose timestamps are not increasing (> 10 % of steps go backwards)",
        r.source,
      );
    } else {
      const hint = timestampUnitHint(
        medianRateHz(t),
        c.nominalHz ?? r.rateHz,
        c.timestampUnit ?? "ms",
      );
      if (hint) add(`recording(s) whose ${hint}`, r.source);
      else if (gaps > 0.5 * steps) {
        add(
          `recording(s) where most time steps exceed the ${maxGapMs / 1000} s gap limit`,
          r.source,
        );
      }
    }
  }
  for (const [why, t] of tally) causes.push(`${t.n} ${why} (e.g. ${t.example})`);
  if (result.short.recordings) {
    causes.push(
      `${result.short.recordings} recording(s)/segment(s) shorter than one ${c.windowSec} s window ` +
        `(longest ${result.short.longestSec.toFixed(2)} s, e.g. ${name(result.short.example)})`,
    );
  }
  for (const [k, v] of Object.entries(result.report.dropped) as [DropReason, number][]) {
    if (v) causes.push(`${v} ${DROP_WHY[k]} (e.g. ${name(result.report.examples?.[k])})`);
  }
  return `${head}: ${causes.length ? causes.join("; ") : "no candidate window"}`;
}

/**
 * Concatenate window sets with the same channels/length/rate; classes are
 * merged (first set's order, then new names) and `y` remapped.
 */
export function concatWindows(parts: Windows[]): Windows {
  if (parts.length === 0) throw new ConfigError("concatWindows: nothing to concatenate");
  const { channels, length, rateHz } = parts[0];
  const classes: string[] = [];
  const idx = new Map<string, number>();
  for (const p of parts) {
    if (p.channels !== channels || p.length !== length || p.rateHz !== rateHz) {
      throw new ConfigError(
        `concatWindows: shape/rate mismatch ([${p.channels},${p.length}] @ ${p.rateHz} Hz vs [${channels},${length}] @ ${rateHz} Hz)`,
      );
    }
    for (const c of p.classes) if (!idx.has(c)) idx.set(c, classes.push(c) - 1);
  }
  const n = parts.reduce((a, p) => a + p.n, 0);
  const x = new Float32Array(n * channels * length);
  const y = new Int32Array(n);
  const subject: string[] = [], source: string[] = [];
  const startSec = new Float64Array(n);
  let k = 0;
  for (const p of parts) {
    x.set(p.x.subarray(0, p.n * channels * length), k * channels * length);
    for (let i = 0; i < p.n; i++) {
      y[k + i] = p.y[i] < 0 ? -1 : idx.get(p.classes[p.y[i]])!;
      subject.push(p.subject[i]);
      source.push(p.source?.[i] ?? "");
      startSec[k + i] = p.startSec?.[i] ?? NaN;
    }
    k += p.n;
  }
  return { x, n, channels, length, y, classes, subject, rateHz, startSec, source };
}
