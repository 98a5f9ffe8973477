/**
 * Hand-crafted window features for the random-forest baseline.
 *
 * Two feature sets:
 *
 * - `"ssl-wearables"` (22 features, the default): exactly the set of
 *   OxWearables ssl-wearables' `handcraft_features` (downstream_task_evaluation.py),
 *   which feeds their random-forest baseline (ADL 0.764 / WISDM 0.711 F1).
 * - `"extended"` (67 features): the above plus the capture24-style families:
 *   per-axis order statistics/shape, vector-magnitude quantiles, gravity
 *   angles, autocorrelation and Welch band powers.
 *
 * Features are computed per tri-axial sensor; windows with 6 channels
 * (two sensors) get each feature twice, prefixed `s0_`, `s1_`.
 *
 * | name | unit | definition |
 * |---|---|---|
 * | xMean yMean zMean | g | per-axis mean |
 * | xStd yStd zStd | g | per-axis standard deviation (ddof 0) |
 * | xRange yRange zRange | g | per-axis max − min |
 * | xyCorr yzCorr zxCorr | 1 | Pearson correlation between axes (0 if undefined) |
 * | mean std range | g | of the vector magnitude m = √(x²+y²+z²) |
 * | mad | g | median absolute deviation of m (unscaled) |
 * | skew kurt | 1 | biased skewness, Fisher kurtosis of m (0 when std(m) ≤ 0.01 g) |
 * | enmomean | g | mean \|m − 1\| (Euclidean norm minus one) |
 * | pentropy | nats | Shannon entropy of the normalised Welch PSD of m (no detrend) |
 * | f1 f2 | Hz | frequencies of the two highest PSD peaks of m (mean-detrended) |
 *
 * Extended set only:
 *
 * | name | unit | definition |
 * |---|---|---|
 * | {x,y,z}{Min,Q25,Median,Q75,Max} | g | per-axis order statistics (linear-interpolated quantiles) |
 * | {x,y,z}{Skew,Kurt} | 1 | per-axis shape (0 when the axis std ≤ 0.01 g) |
 * | {x,y,z}Mad | g | per-axis median absolute deviation |
 * | min q25 median q75 max | g | order statistics of m |
 * | acf1s | 1 | autocorrelation of m at a 1 s lag |
 * | acfPeak acfPeakLagSec | 1, s | highest autocorrelation of m for lags 0.25–3 s, and its lag |
 * | p1 p2 | g²/Hz | PSD at the f1, f2 peaks |
 * | power | g² | total power of m (detrended PSD integrated over all frequencies) |
 * | bp0_1 bp1_2 bp2_3 bp3_5 bp5_8 bp8_ | g² | PSD of m integrated over [lo, hi) Hz bands (last: up to Nyquist) |
 * | rollMean rollStd pitchMean pitchStd | degrees | gravity angles atan2(y, z), atan2(−x, √(y²+z²)) |
 *
 * Welch's method uses 3 s Hann segments with 2 s overlap and median
 * averaging, as ssl-wearables does.
 *
 * @example
 * const { X, nFeatures, names } = extractFeatures(windows);            // 22 features
 * const ext = extractFeatures(windows, { set: "extended" });             // 67 features
 * const f = handcraftFeatures(x, y, z, 30);                              // one window
 */
import type { Windows } from "../data/types.ts";
import { ConfigError } from "../errors.ts";
import { findPeaks, welch } from "./welch.ts";

/** Which feature set to compute. */
export type FeatureSet = "ssl-wearables" | "extended";

/** Options of {@link extractFeatures}. */
export interface ExtractFeaturesOptions {
  /** Feature set; default `"ssl-wearables"` (22 features per sensor). */
  set?: FeatureSet;
  /** Welch segment length (s); default 3 (ssl-wearables). */
  segmentSec?: number;
  /** Welch segment overlap (s); default 2 (ssl-wearables). */
  segmentOverlapSec?: number;
}

/** A feature matrix, row-major `[n, nFeatures]`. */
export interface FeatureMatrix {
  /** Features, row-major `[n, nFeatures]` (float32). */
  X: Float32Array;
  /** Number of rows (windows). */
  n: number;
  /** Number of columns. */
  nFeatures: number;
  /** Column names (see the module table for units). */
  names: string[];
}

const SSL_NAMES = [
  "xMean",
  "yMean",
  "zMean",
  "xStd",
  "yStd",
  "zStd",
  "xRange",
  "yRange",
  "zRange",
  "xyCorr",
  "yzCorr",
  "zxCorr",
  "mean",
  "std",
  "range",
  "mad",
  "skew",
  "kurt",
  "enmomean",
  "pentropy",
  "f1",
  "f2",
];

/** Band edges (Hz) of the extended set's band powers; the last band runs to Nyquist. */
export const BANDS_HZ: readonly [number, number][] = [
  [0, 1],
  [1, 2],
  [2, 3],
  [3, 5],
  [5, 8],
  [8, Infinity],
];

function extendedNames(): string[] {
  const out: string[] = [];
  for (const a of ["x", "y", "z"]) {
    for (const s of ["Min", "Q25", "Median", "Q75", "Max", "Skew", "Kurt", "Mad"]) out.push(a + s);
  }
  out.push("min", "q25", "median", "q75", "max", "acf1s", "acfPeak", "acfPeakLagSec", "p1", "p2");
  out.push("power");
  for (const [lo, hi] of BANDS_HZ) out.push(`bp${lo}_${Number.isFinite(hi) ? hi : ""}`);
  out.push("rollMean", "rollStd", "pitchMean", "pitchStd");
  return out;
}

/**
 * Feature names of one tri-axial sensor for a set.
 *
 * @example
 * featureNames("ssl-wearables").length; // 22
 * featureNames("extended").length;      // 67
 */
export function featureNames(set: FeatureSet = "ssl-wearables"): string[] {
  return set === "extended" ? [...SSL_NAMES, ...extendedNames()] : [...SSL_NAMES];
}

// ---------------------------------------------------------------- statistics

function mean(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

function std(a: Float64Array, mu: number): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - mu) ** 2;
  return Math.sqrt(s / a.length);
}

function range(a: Float64Array): number {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    if (a[i] < lo) lo = a[i];
    if (a[i] > hi) hi = a[i];
  }
  return hi - lo;
}

/** Pearson correlation (NumPy `corrcoef`), 0 when undefined (`nan_to_num`). */
function corr(a: Float64Array, b: Float64Array): number {
  const ma = mean(a), mb = mean(b);
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < a.length; i++) {
    const da = a[i] - ma, db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  const r = sab / Math.sqrt(saa * sbb);
  if (!Number.isFinite(r)) return 0;
  return Math.max(-1, Math.min(1, r));
}

/** Quantile with NumPy's default linear interpolation, on a sorted array. */
function quantileSorted(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function medianOf(a: Float64Array): number {
  return quantileSorted(Float64Array.from(a).sort(), 0.5);
}

/** Unscaled median absolute deviation (SciPy `median_abs_deviation`). */
function mad(a: Float64Array): number {
  const med = medianOf(a);
  const dev = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) dev[i] = Math.abs(a[i] - med);
  return medianOf(dev);
}

/** Biased skewness and Fisher kurtosis (SciPy defaults); 0 when std ≤ 0.01. */
function shape(a: Float64Array, mu: number, sd: number): [number, number] {
  if (!(sd > 0.01)) return [0, 0];
  let m2 = 0, m3 = 0, m4 = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - mu, d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  m2 /= a.length;
  m3 /= a.length;
  m4 /= a.length;
  const skew = m3 / m2 ** 1.5, kurt = m4 / (m2 * m2) - 3;
  return [Number.isFinite(skew) ? skew : 0, Number.isFinite(kurt) ? kurt : 0];
}

/** Shannon entropy (nats) of `p + 1e-16`, normalised (SciPy `stats.entropy`). */
function entropy(p: Float64Array): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += p[i] + 1e-16;
  let h = 0;
  for (let i = 0; i < p.length; i++) {
    const q = (p[i] + 1e-16) / s;
    if (q > 0) h -= q * Math.log(q);
  }
  return Number.isFinite(h) ? h : 0;
}

/** Autocorrelation of `a` at `lag` samples (mean-removed, normalised by lag-0). */
function autocorr(a: Float64Array, mu: number, lag: number): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - mu;
    den += d * d;
    if (i + lag < a.length) num += d * (a[i + lag] - mu);
  }
  return den > 0 ? num / den : 0;
}

// ---------------------------------------------------------------- features

/**
 * Features of one tri-axial window (axes in g) at `rateHz`, in
 * {@link featureNames} order.
 *
 * @throws ConfigError when the axes differ in length or are empty.
 */
export function handcraftFeatures(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  z: ArrayLike<number>,
  rateHz: number,
  options: ExtractFeaturesOptions = {},
): Float64Array {
  const n = x.length;
  if (n === 0 || y.length !== n || z.length !== n) {
    throw new ConfigError(
      `handcraftFeatures: axes must be non-empty and equal length (${n}, ${y.length}, ${z.length})`,
    );
  }
  const set = options.set ?? "ssl-wearables";
  const ax = [Float64Array.from(x), Float64Array.from(y), Float64Array.from(z)];
  const out: number[] = [];
  const mus = ax.map(mean);
  const sds = ax.map((a, i) => std(a, mus[i]));
  for (const v of [...mus, ...sds, ...ax.map(range)]) out.push(v);
  out.push(corr(ax[0], ax[1]), corr(ax[1], ax[2]), corr(ax[2], ax[0]));

  const m = new Float64Array(n);
  for (let i = 0; i < n; i++) m[i] = Math.sqrt(ax[0][i] ** 2 + ax[1][i] ** 2 + ax[2][i] ** 2);
  const mMu = mean(m), mSd = std(m, mMu);
  const [mSkew, mKurt] = shape(m, mMu, mSd);
  let enmo = 0;
  for (let i = 0; i < n; i++) enmo += Math.abs(m[i] - 1);
  out.push(mMu, mSd, range(m), mad(m), mSkew, mKurt, enmo / n);

  const nperseg = Math.round((options.segmentSec ?? 3) * rateHz);
  const noverlap = Math.min(
    Math.round((options.segmentOverlapSec ?? 2) * rateHz),
    Math.min(nperseg, n) - 1,
  );
  const raw = welch(m, { rateHz, nperseg, noverlap, detrend: false, average: "median" });
  out.push(entropy(raw.psd));
  const { freqsHz, psd } = welch(m, {
    rateHz,
    nperseg,
    noverlap,
    detrend: "constant",
    average: "median",
  });
  const peaks = findPeaks(psd);
  // descending power; ties: later index first (NumPy argsort(...)[::-1]).
  const ranked = peaks.map((p, i) => ({ p, i })).sort((a, b) => psd[b.p] - psd[a.p] || b.i - a.i);
  const pk1 = ranked.length ? ranked[0].p : -1;
  const pk2 = ranked.length >= 2 ? ranked[1].p : pk1;
  out.push(pk1 >= 0 ? freqsHz[pk1] : 0, pk2 >= 0 ? freqsHz[pk2] : 0);
  if (set === "ssl-wearables") return Float64Array.from(out);

  // ---- extended
  for (let a = 0; a < 3; a++) {
    const sorted = Float64Array.from(ax[a]).sort();
    const [sk, ku] = shape(ax[a], mus[a], sds[a]);
    out.push(
      sorted[0],
      quantileSorted(sorted, 0.25),
      quantileSorted(sorted, 0.5),
      quantileSorted(sorted, 0.75),
      sorted[n - 1],
      sk,
      ku,
      mad(ax[a]),
    );
  }
  const ms = Float64Array.from(m).sort();
  out.push(
    ms[0],
    quantileSorted(ms, 0.25),
    quantileSorted(ms, 0.5),
    quantileSorted(ms, 0.75),
    ms[n - 1],
  );
  const lag1s = Math.round(rateHz);
  out.push(lag1s < n ? autocorr(m, mMu, lag1s) : 0);
  let best = -Infinity, bestLag = 0;
  const lo = Math.max(1, Math.round(0.25 * rateHz)), hi = Math.min(n - 1, Math.round(3 * rateHz));
  for (let lag = lo; lag <= hi; lag++) {
    const r = autocorr(m, mMu, lag);
    if (r > best) {
      best = r;
      bestLag = lag;
    }
  }
  out.push(Number.isFinite(best) ? best : 0, bestLag / rateHz);
  out.push(pk1 >= 0 ? psd[pk1] : 0, pk2 >= 0 ? psd[pk2] : 0);
  const df = freqsHz.length > 1 ? freqsHz[1] - freqsHz[0] : rateHz;
  let total = 0;
  for (let k = 0; k < psd.length; k++) total += psd[k] * df;
  out.push(total);
  for (const [blo, bhi] of BANDS_HZ) {
    let p = 0;
    for (let k = 0; k < psd.length; k++) {
      if (freqsHz[k] >= blo && freqsHz[k] < bhi) p += psd[k] * df;
    }
    out.push(p);
  }
  const roll = new Float64Array(n), pitch = new Float64Array(n);
  const deg = 180 / Math.PI;
  for (let i = 0; i < n; i++) {
    roll[i] = Math.atan2(ax[1][i], ax[2][i]) * deg;
    pitch[i] = Math.atan2(-ax[0][i], Math.hypot(ax[1][i], ax[2][i])) * deg;
  }
  const rMu = mean(roll), pMu = mean(pitch);
  out.push(rMu, std(roll, rMu), pMu, std(pitch, pMu));
  return Float64Array.from(out);
}

/**
 * Features of every window: a row-major `[n, nFeatures]` float32 matrix.
 * Channels are taken three at a time as tri-axial sensors (x, y, z).
 *
 * @throws ConfigError when `channels` is not a positive multiple of 3.
 */
export function extractFeatures(
  windows: Windows,
  options: ExtractFeaturesOptions = {},
): FeatureMatrix {
  const { n, channels, length, rateHz } = windows;
  if (channels <= 0 || channels % 3 !== 0) {
    throw new ConfigError(
      `extractFeatures: windows.channels = ${channels}, expected a multiple of 3`,
    );
  }
  const sensors = channels / 3;
  const base = featureNames(options.set);
  const names = sensors === 1
    ? base
    : Array.from({ length: sensors }, (_, s) => base.map((b) => `s${s}_${b}`)).flat();
  const nFeatures = names.length;
  const X = new Float32Array(n * nFeatures);
  for (let w = 0; w < n; w++) {
    for (let s = 0; s < sensors; s++) {
      const off = (w * channels + 3 * s) * length;
      const f = handcraftFeatures(
        windows.x.subarray(off, off + length),
        windows.x.subarray(off + length, off + 2 * length),
        windows.x.subarray(off + 2 * length, off + 3 * length),
        rateHz,
        options,
      );
      X.set(f, w * nFeatures + s * base.length);
    }
  }
  return { X, n, nFeatures, names };
}
