/**
 * Plausibility checks on recordings after reading and unit conversion, run
 * by `loadDataset` on every recording (each can be switched off with
 * {@link RecordingChecks}):
 *
 * - **units** ({@link checkUnits}): on a still segment an accelerometer
 *   measures gravity, so the median magnitude there must be ≈ 1 g. A WISDM
 *   file already in g (read as m/s² → 0.10 g), a Daphnet file in g (read as
 *   mg → 0.001 g) or a HARTH file in m/s² (9.8 g) is a `DataFormatError`
 *   naming the file and the unit its values look like.
 * - **range** ({@link checkRange}): a value beyond what a body-worn
 *   accelerometer can measure (default ±50 g, or 1.5 × the sensor's
 *   configured range when the file records it, e.g. `.cwa` `meta.rangeG`)
 *   is a glitch (`1e30`), not data: `DataFormatError` naming the file, the
 *   data row, its time, the axis and the value.
 * - **duplicates** ({@link checkDuplicates}): two recordings with identical
 *   samples (a copy of one subject's file saved under another name) would
 *   double windows and leak across subject-wise folds: `DataFormatError`
 *   naming both files.
 *
 * Missing samples (NaN) are ignored by every check; the window quality
 * checks drop the windows holding them.
 *
 * @example
 * checkRecordings(recs);                                  // all checks
 * checkRecordings(recs, { units: false, maxAbsG: 200 });  // impact data, odd units
 */
import { basename } from "node:path";
import { DataFormatError } from "../errors.ts";
import { type Recording, recordingLength } from "./types.ts";

/** Which plausibility checks to run (all default to true). */
export interface RecordingChecks {
  /** Median |a| of still segments must be ≈ 1 g (default true). */
  units?: boolean;
  /** No |value| beyond the physically possible range (default true). */
  range?: boolean;
  /** No two recordings with identical samples (default true). */
  duplicates?: boolean;
  /** The range limit (g); default {@link DEFAULT_MAX_ABS_G}, or 1.5 × `meta.rangeG` when the file records its range. */
  maxAbsG?: number;
}

/** Largest |acceleration| (g) accepted when the sensor's range is not known. */
export const DEFAULT_MAX_ABS_G = 50;

/**
 * Unit each dataset's files store acceleration in (what the reader converts
 * from); used to name the likely actual unit in {@link checkUnits} errors.
 * A recording's `meta.fileUnit` overrides it.
 */
export const FILE_UNITS: Readonly<Record<string, string>> = {
  "wisdm-watch": "m/s²",
  "wisdm-phone": "m/s²",
  "mobifall": "m/s²",
  "daphnet": "mg",
  "harth": "g",
  "har70plus": "g",
  "axivity-sample": "g",
  "axivity": "g",
  "hmp-adl": "HMP codes",
};

/** g per unit, for the units a file's values may be in. */
const G_PER_UNIT: Readonly<Record<string, number>> = {
  "g": 1,
  "mg": 1e-3,
  "m/s²": 1 / 9.80665,
  "cm/s²": 1 / 980.665,
};

/** Median gravity (g) measured on a recording's still segments, per sensor. */
export interface StillMagnitude {
  /** Sensor name: the axes' common prefix (`"ankle"`), or `""` for plain `x,y,z`. */
  sensor: string;
  /** The sensor's axis indices into `rec.axes`. */
  axes: number[];
  /** Median over still blocks of the mean |a| (g); NaN when no still block. */
  medianG: number;
  /** Number of still blocks found. */
  stillBlocks: number;
}

/** Group axes into tri-axial sensors: `<p>_x,<p>_y,<p>_z` by prefix, else consecutive triples. */
export function sensorGroups(axisNames: string[]): { sensor: string; axes: number[] }[] {
  const groups = new Map<string, number[]>();
  for (const [i, a] of axisNames.entries()) {
    const m = /^(?:(.*)_)?[xyz]$/i.exec(a);
    if (!m) {
      // unnamed axes: consecutive triples
      return Array.from({ length: Math.floor(axisNames.length / 3) }, (_, k) => ({
        sensor: `axes ${3 * k}-${3 * k + 2}`,
        axes: [3 * k, 3 * k + 1, 3 * k + 2],
      }));
    }
    const p = m[1] ?? "";
    groups.set(p, [...(groups.get(p) ?? []), i]);
  }
  return [...groups].filter(([, ax]) => ax.length === 3).map(([sensor, axes]) => ({
    sensor,
    axes,
  }));
}

/**
 * Find the still segments of each sensor and their median magnitude: blocks
 * of `blockSec` (default 2 s) in which every axis' standard deviation is
 * below `relStd` (default 0.05) × the block's mean |a|. The criterion is
 * relative, so it finds still segments whatever the unit. Blocks holding
 * NaN, and blocks of a dead sensor (mean |a| = 0), are skipped.
 */
export function stillMagnitudes(
  rec: Recording,
  opts: { blockSec?: number; relStd?: number } = {},
): StillMagnitude[] {
  const n = recordingLength(rec);
  const block = Math.max(8, Math.round((opts.blockSec ?? 2) * rec.rateHz));
  const relStd = opts.relStd ?? 0.05;
  return sensorGroups(rec.axisNames).map(({ sensor, axes }) => {
    const mags: number[] = [];
    const [ax, ay, az] = axes.map((i) => rec.axes[i]);
    for (let s = 0; s + block <= n; s += block) {
      let mag = 0;
      const sum = [0, 0, 0], sum2 = [0, 0, 0];
      let ok = true;
      for (let i = s; i < s + block; i++) {
        const x = ax[i], y = ay[i], z = az[i];
        const m = Math.sqrt(x * x + y * y + z * z);
        if (!Number.isFinite(m)) {
          ok = false;
          break;
        }
        mag += m;
        sum[0] += x, sum[1] += y, sum[2] += z;
        sum2[0] += x * x, sum2[1] += y * y, sum2[2] += z * z;
      }
      if (!ok) continue;
      mag /= block;
      if (!(mag > 0)) continue;
      let still = true;
      for (let c = 0; c < 3; c++) {
        const mean = sum[c] / block;
        const sd = Math.sqrt(Math.max(0, sum2[c] / block - mean * mean));
        if (sd > relStd * mag) still = false;
      }
      if (still) mags.push(mag);
    }
    mags.sort((a, b) => a - b);
    const k = mags.length;
    const medianG = k === 0
      ? NaN
      : k % 2
      ? mags[(k - 1) >> 1]
      : (mags[k / 2 - 1] + mags[k / 2]) / 2;
    return { sensor, axes, medianG, stillBlocks: k };
  });
}

/** Gravity (g) accepted on still segments: [{@link GRAVITY_MIN_G}, {@link GRAVITY_MAX_G}]. */
export const GRAVITY_MIN_G = 0.6;
/** Upper end of the accepted still-segment gravity (g). */
export const GRAVITY_MAX_G = 1.6;

/**
 * The unit a file's values probably are in, given that reading them as
 * `fileUnit` gave gravity `medianG` (g): the unit whose scale explains the
 * ratio within 25 %, or null.
 *
 * @example
 * likelyUnit(0.102, "m/s²"); // "g"   (a WISDM file already in g)
 * likelyUnit(0.001, "mg");   // "g"   (a Daphnet file in g)
 * likelyUnit(9.81, "g");     // "m/s²"
 */
export function likelyUnit(medianG: number, fileUnit: string): string | null {
  const f = G_PER_UNIT[fileUnit];
  if (f === undefined || !(medianG > 0)) return null;
  for (const [u, fu] of Object.entries(G_PER_UNIT)) {
    if (u === fileUnit) continue;
    // values v read as fileUnit give v * f g; they are really v * fu g ≈ 1 g
    if (Math.abs(Math.log((medianG * fu) / f)) < Math.log(1.25)) return u;
  }
  return null;
}

/**
 * Check that each sensor measures ≈ 1 g on its still segments (see the
 * module docs). Recordings without a still 2 s block are not checked.
 *
 * @throws DataFormatError `data_1600_accel_watch.txt: median |a| on 212 still 2 s segments is 0.102 g, expected ≈ 1 g: the values look like g, not m/s² as this format stores them (...)`
 */
export function checkUnits(rec: Recording): void {
  const fileUnit = typeof rec.meta?.fileUnit === "string"
    ? rec.meta.fileUnit
    : FILE_UNITS[rec.dataset];
  for (const s of stillMagnitudes(rec)) {
    if (s.stillBlocks === 0) continue;
    const g = s.medianG;
    if (g >= GRAVITY_MIN_G && g <= GRAVITY_MAX_G) continue;
    const unit = fileUnit ? likelyUnit(g, fileUnit) : null;
    const why = unit
      ? `the values look like ${unit}, not ${fileUnit} as this format stores them`
      : `${g < 1 ? (1 / g).toPrecision(3) + "× too small" : g.toPrecision(3) + "× too large"}${
        fileUnit ? ` for ${fileUnit}` : ""
      } (wrong unit or a miscalibrated sensor?)`;
    throw new DataFormatError(
      basename(rec.source),
      `${s.sensor ? `${s.sensor} sensor: ` : ""}median |a| on ${s.stillBlocks} still 2 s ` +
        `segment(s) is ${g.toPrecision(3)} g, expected ≈ 1 g (gravity): ${why}; ` +
        `pass checks: { units: false } (har windows --no-unit-check) to load it anyway`,
    );
  }
}

/**
 * Reject values beyond the physically possible range (see the module
 * docs), naming the 1-based data row, its time (s), the axis and the value.
 *
 * @param maxAbsG limit (g); default 1.5 × `meta.rangeG` when known, else {@link DEFAULT_MAX_ABS_G}
 * @throws DataFormatError `data_1600_accel_watch.txt: data row 812 (t = 40.550 s) x = 1.02e+29 g is beyond ±50 g ...`
 */
export function checkRange(rec: Recording, maxAbsG?: number): void {
  const range = typeof rec.meta?.rangeG === "number" && rec.meta.rangeG > 0
    ? rec.meta.rangeG
    : undefined;
  const limit = maxAbsG ?? (range !== undefined ? 1.5 * range : DEFAULT_MAX_ABS_G);
  const n = recordingLength(rec);
  for (const [a, ax] of rec.axes.entries()) {
    for (let i = 0; i < n; i++) {
      const v = ax[i];
      if (v > limit || v < -limit || v === Infinity || v === -Infinity) {
        const t = rec.timestampsMs ? rec.timestampsMs[i] / 1000 : i / rec.rateHz;
        throw new DataFormatError(
          basename(rec.source),
          `data row ${i + 1} (t = ${t.toFixed(3)} s) ${rec.axisNames[a]} = ${
            v.toPrecision(3)
          } g is beyond ±${limit} g${
            range !== undefined && maxAbsG === undefined ? ` (1.5 × the sensor's ±${range} g)` : ""
          }, physically impossible for a body-worn accelerometer (a glitch?); ` +
            `pass checks: { range: false } or a larger maxAbsG (har windows --no-range-check) to load it anyway`,
        );
      }
    }
  }
}

/**
 * A content fingerprint of a recording's samples (length, axis count and
 * a 64-bit FNV-1a-style hash of every axis' float32 bits), equal for
 * recordings with identical samples whatever their subject, labels or file name.
 */
export function sampleFingerprint(rec: Recording): string {
  let h1 = 0x811c9dc5 | 0, h2 = 0x01000193 | 0;
  for (const ax of rec.axes) {
    const u = new Uint32Array(ax.buffer, ax.byteOffset, ax.length);
    for (let i = 0; i < u.length; i++) {
      h1 = Math.imul(h1 ^ u[i], 0x01000193);
      h2 = Math.imul(h2 ^ (u[i] >>> 7 | u[i] << 25), 0x5bd1e995) ^ (h1 >>> 13);
    }
  }
  return `${recordingLength(rec)}x${rec.axes.length}:${(h1 >>> 0).toString(16)}${
    (h2 >>> 0).toString(16)
  }`;
}

function sameSamples(a: Recording, b: Recording): boolean {
  if (a.axes.length !== b.axes.length) return false;
  return a.axes.every((ax, i) => {
    const bx = b.axes[i];
    if (ax.length !== bx.length) return false;
    const ua = new Uint32Array(ax.buffer, ax.byteOffset, ax.length);
    const ub = new Uint32Array(bx.buffer, bx.byteOffset, bx.length);
    for (let k = 0; k < ua.length; k++) if (ua[k] !== ub[k]) return false;
    return true;
  });
}

/**
 * True for a duplicate the dataset ships on purpose: HMP ADL's `*_MODEL`
 * folders (`meta.model`) hold the authors' copies of 42 of the subject's own
 * trials, which ssl-wearables' reference ADL windows include (same subject,
 * so no leak across subject-wise folds).
 */
function knownCopy(a: Recording, b: Recording): boolean {
  return a.subject === b.subject && (a.meta?.model === true || b.meta?.model === true);
}

/**
 * Fail when two recordings hold identical samples (ignoring subject, labels
 * and file name), except HMP's `_MODEL` copies of the same subject's trials.
 * Recordings shorter than `minSamples` (default 32) are not compared: short
 * constant trials may coincide by chance.
 *
 * @throws DataFormatError `data_1601_accel_watch.txt: same samples as data_1600_accel_watch.txt (subject 1601 vs 1600, 64311 samples): a copied file? ...`
 */
export function checkDuplicates(recs: Recording[], minSamples = 32): void {
  const seen = new Map<string, Recording[]>();
  for (const r of recs) {
    if (recordingLength(r) < minSamples) continue;
    const key = sampleFingerprint(r);
    const prev = seen.get(key) ?? [];
    const twin = prev.find((p) => sameSamples(p, r));
    if (twin && !knownCopy(r, twin)) {
      throw new DataFormatError(
        r.source,
        `same samples as ${twin.source} (subject ${r.subject} vs ${twin.subject}, ${
          recordingLength(r)
        } samples): a copied file? Duplicates double windows and leak across subject-wise ` +
          `folds; remove one, or pass checks: { duplicates: false } (har windows --allow-duplicates)`,
      );
    }
    prev.push(r);
    seen.set(key, prev);
  }
}

/** Run the checks `checks` enables (default all) on `recs`; see the module docs. */
export function checkRecordings(recs: Recording[], checks: RecordingChecks = {}): void {
  for (const r of recs) {
    if (checks.units !== false) checkUnits(r);
    if (checks.range !== false) checkRange(r, checks.maxAbsG);
  }
  if (checks.duplicates !== false) checkDuplicates(recs);
}
