/**
 * Resampling recordings onto a regular grid at a target rate.
 *
 * Three methods:
 * - `"linear"` (default): linear interpolation on the sample times
 *   (`rec.timestampsMs` when present, so irregular MobiFall/WISDM data lands
 *   on a regular grid). This is what ssl-wearables uses (scipy `interp1d`,
 *   kind="linear").
 * - `"antialias"`: when downsampling, a zero-phase windowed-sinc (Hamming)
 *   low-pass FIR at the output Nyquist is applied at the input rate before
 *   the linear interpolation; when upsampling it equals `"linear"`.
 * - `"fourier"`: FFT resampling exactly like `scipy.signal.resample`
 *   (periodic assumption), applied per contiguous segment; irregular
 *   segments are first put on a regular grid at `rec.rateHz` by linear
 *   interpolation.
 *
 * Gaps: samples more than `maxGapSec` apart (default 1 s), or a timestamp
 * going backwards, are never interpolated across. With `gaps: "split"`
 * (default) {@link resample} returns one Recording per contiguous segment
 * (`meta.segment`, `meta.offsetSec` = segment start in seconds on the source
 * time axis); with `gaps: "nan"` it returns a single Recording on one grid
 * whose samples inside gaps are NaN (label -1), the way pandas
 * `resample().nearest(limit=1)` leaves holes in ssl-wearables' WISDM
 * preparation; {@link checkWindows} then drops windows touching them.
 *
 * Labels are carried by nearest sample (ties to the earlier sample).
 *
 * @example
 * const [rec30] = resample(rec32, 30);                   // HMP ADL 32 Hz -> 30 Hz
 * const segs = resample(mobifall, 50, { maxGapSec: 0.5 }); // one per segment
 * const all = recs.flatMap((r) => resample(r, 30, { method: "antialias" }));
 */
import type { Recording, Windows } from "../data/types.ts";
import { recordingLength } from "../data/types.ts";
import { ConfigError } from "../errors.ts";
import { fft } from "./fft.ts";

/** Resampling method; see the module docs. */
export type ResampleMethod = "linear" | "fourier" | "antialias";

/** Options for {@link resample}. */
export interface ResampleOptions {
  /** Interpolation method (default `"linear"`). */
  method?: ResampleMethod;
  /** Largest time step (s) still interpolated across; larger steps are gaps (default 1 s). */
  maxGapSec?: number;
  /** `"split"`: one Recording per contiguous segment (default); `"nan"`: one Recording, NaN in gaps (linear only). */
  gaps?: "split" | "nan";
  /** Segments shorter than this (s) are dropped (default 0: keep every segment with ≥ 1 sample). */
  minSegmentSec?: number;
  /** `"antialias"` only: FIR length in taps (odd; default `16 * ceil(rateHz / targetHz) + 1`). */
  numTaps?: number;
  /** `"antialias"` only: cut-off as a fraction of the output Nyquist frequency (default 1.0). */
  cutoffRatio?: number;
}

/** Sample times (ms) of `rec`: its `timestampsMs`, else `i * 1000 / rateHz`. */
export function sampleTimesMs(rec: Recording): Float64Array {
  const n = recordingLength(rec);
  if (rec.timestampsMs) {
    if (rec.timestampsMs.length !== n) {
      throw new ConfigError(
        `${rec.source}: timestampsMs has ${rec.timestampsMs.length} entries for ${n} samples`,
      );
    }
    return rec.timestampsMs;
  }
  const t = new Float64Array(n);
  const dt = 1000 / rec.rateHz;
  for (let i = 0; i < n; i++) t[i] = i * dt;
  return t;
}

/**
 * Contiguous segments of a timestamp array: `[start, end)` index pairs split
 * where the step exceeds `maxGapMs` or is negative. Duplicate timestamps
 * (step 0) stay in the segment (interpolation keeps the first of them).
 */
export function findSegments(tMs: ArrayLike<number>, maxGapMs: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const n = tMs.length;
  if (n === 0) return out;
  let start = 0;
  for (let i = 1; i < n; i++) {
    const d = tMs[i] - tMs[i - 1];
    if (d > maxGapMs || d < 0 || !Number.isFinite(d)) {
      out.push([start, i]);
      start = i;
    }
  }
  out.push([start, n]);
  return out;
}

/**
 * Linear interpolation of `v(t)` (t non-decreasing) at sorted times `tNew`;
 * values outside `[t[0], t[last]]` are clamped to the end values.
 */
export function interpLinear(
  t: ArrayLike<number>,
  v: ArrayLike<number>,
  tNew: ArrayLike<number>,
  out: Float32Array | Float64Array = new Float32Array(tNew.length),
): Float32Array | Float64Array {
  const n = t.length;
  let j = 0;
  for (let k = 0; k < tNew.length; k++) {
    const tk = tNew[k];
    while (j < n - 2 && t[j + 1] <= tk) j++;
    if (n === 1 || tk <= t[0]) {
      out[k] = v[0];
      continue;
    }
    if (tk >= t[n - 1]) {
      out[k] = v[n - 1];
      continue;
    }
    const t0 = t[j], t1 = t[j + 1];
    const d = t1 - t0;
    out[k] = d > 0 ? v[j] + ((v[j + 1] - v[j]) * (tk - t0)) / d : v[j];
  }
  return out;
}

/** Label of the nearest sample (ties to the earlier one) at each of `tNew`. */
function nearestLabels(t: ArrayLike<number>, lab: Int32Array, tNew: ArrayLike<number>): Int32Array {
  const out = new Int32Array(tNew.length);
  const n = t.length;
  let j = 0;
  for (let k = 0; k < tNew.length; k++) {
    const tk = tNew[k];
    while (j < n - 1 && t[j + 1] <= tk) j++;
    out[k] = j < n - 1 && t[j + 1] - tk < tk - t[j] ? lab[j + 1] : lab[j];
  }
  return out;
}

/**
 * The ssl-wearables `resize`: resample a sequence to `length` points by
 * linear interpolation with both end points kept (`np.linspace(0, 1, n)` →
 * `np.linspace(0, 1, length)`), as used on every 10 s window of ADL and WISDM.
 */
export function resizeLinear(x: ArrayLike<number>, length: number): Float32Array {
  const n = x.length;
  const out = new Float32Array(length);
  if (n === 0) return out;
  if (n === 1 || length === 1) {
    out.fill(x[0]);
    return out;
  }
  for (let k = 0; k < length; k++) {
    // same arithmetic as interp1d on the two linspaces
    const tNew = k / (length - 1);
    const pos = tNew * (n - 1);
    let j = Math.floor(pos);
    if (j >= n - 1) j = n - 2;
    const t0 = j / (n - 1), t1 = (j + 1) / (n - 1);
    const w = (tNew - t0) / (t1 - t0);
    out[k] = x[j] + (x[j + 1] - x[j]) * w;
  }
  return out;
}

/**
 * Resize every window of `w` to `length` samples with {@link resizeLinear}
 * (ssl-wearables `resize`), e.g. 320 samples at 32 Hz → 300 at 30 Hz.
 *
 * @param rateHz the nominal rate of the result (default `w.rateHz * length / w.length`).
 */
export function resizeWindows(w: Windows, length: number, rateHz?: number): Windows {
  if (!(length >= 1) || !Number.isInteger(length)) {
    throw new ConfigError(`resizeWindows: length must be a positive integer, got ${length}`);
  }
  const x = new Float32Array(w.n * w.channels * length);
  for (let i = 0; i < w.n * w.channels; i++) {
    x.set(resizeLinear(w.x.subarray(i * w.length, (i + 1) * w.length), length), i * length);
  }
  return { ...w, x, length, rateHz: rateHz ?? (w.rateHz * length) / w.length };
}

/**
 * FFT resampling of a regularly sampled sequence to `num` points, the same
 * result as `scipy.signal.resample(x, num)` (real input; the Nyquist bin is
 * doubled when downsampling and halved when upsampling an even length).
 */
export function fourierResample(x: ArrayLike<number>, num: number): Float64Array {
  const nx = x.length;
  if (!(num >= 1) || !Number.isInteger(num)) {
    throw new ConfigError(`fourierResample: num must be a positive integer, got ${num}`);
  }
  if (nx === 0) return new Float64Array(num);
  const re = Float64Array.from(x as ArrayLike<number>), im = new Float64Array(nx);
  fft(re, im);
  const yr = new Float64Array(num), yi = new Float64Array(num);
  const n = Math.min(num, nx);
  const nyq = Math.floor(n / 2) + 1;
  const half = Math.floor(num / 2);
  // Y[0..half] as scipy's rfft-domain spectrum
  const hr = new Float64Array(half + 1), hi = new Float64Array(half + 1);
  for (let k = 0; k < Math.min(nyq, half + 1); k++) {
    hr[k] = re[k];
    hi[k] = im[k];
  }
  if (n % 2 === 0) {
    const k = n / 2;
    if (k <= half) {
      const f = num < nx ? 2 : nx < num ? 0.5 : 1;
      hr[k] *= f;
      hi[k] *= f;
    }
  }
  // Hermitian extension as numpy's irfft does (imaginary part of DC and, for
  // even num, of the Nyquist bin is discarded)
  yr[0] = hr[0];
  for (let k = 1; k <= half; k++) {
    if (num % 2 === 0 && k === half) {
      yr[k] = hr[k];
      continue;
    }
    yr[k] = hr[k];
    yi[k] = hi[k];
    yr[num - k] = hr[k];
    yi[num - k] = -hi[k];
  }
  fft(yr, yi, true);
  const scale = num / nx;
  for (let k = 0; k < num; k++) yr[k] *= scale;
  return yr;
}

/**
 * A linear-phase low-pass FIR: windowed sinc (Hamming), unit DC gain.
 *
 * @param cutoffHz cut-off frequency (Hz)
 * @param rateHz sample rate (Hz)
 * @param numTaps odd number of taps
 */
export function lowpassFir(cutoffHz: number, rateHz: number, numTaps: number): Float64Array {
  if (numTaps % 2 !== 1 || numTaps < 1) {
    throw new ConfigError(`lowpassFir: numTaps must be odd and >= 1, got ${numTaps}`);
  }
  const fc = cutoffHz / rateHz;
  const m = (numTaps - 1) / 2;
  const h = new Float64Array(numTaps);
  let sum = 0;
  for (let k = 0; k < numTaps; k++) {
    const u = k - m;
    const sinc = u === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * u) / (Math.PI * u);
    const win = numTaps === 1 ? 1 : 0.54 - 0.46 * Math.cos((2 * Math.PI * k) / (numTaps - 1));
    h[k] = sinc * win;
    sum += h[k];
  }
  for (let k = 0; k < numTaps; k++) h[k] /= sum;
  return h;
}

/** Zero-phase filtering with a symmetric FIR; edges are mirror-padded. */
export function filterZeroPhase(x: ArrayLike<number>, h: Float64Array): Float64Array {
  const n = x.length, m = (h.length - 1) / 2;
  const out = new Float64Array(n);
  const at = (i: number): number => {
    // mirror about the end samples (no repeat), folding as often as needed
    if (n === 1) return x[0];
    const p = 2 * (n - 1);
    let j = ((i % p) + p) % p;
    if (j >= n) j = p - j;
    return x[j];
  };
  for (let i = 0; i < n; i++) {
    let s = 0;
    if (i >= m && i + m < n) {
      for (let k = 0; k < h.length; k++) s += h[k] * x[i - m + k];
    } else {
      for (let k = 0; k < h.length; k++) s += h[k] * at(i - m + k);
    }
    out[i] = s;
  }
  return out;
}

/** Most samples one resampled segment may have (2^28: 1 GB of float32 per axis). */
export const MAX_GRID_SAMPLES = 2 ** 28;

/**
 * Regular grid from `t0` to `t1` (inclusive, within 1e-6 ms) with step `stepMs`.
 * @throws ConfigError when it would exceed {@link MAX_GRID_SAMPLES} (an absurd target rate)
 */
function grid(t0: number, t1: number, stepMs: number): Float64Array {
  const n = Math.floor((t1 - t0) / stepMs + 1e-6) + 1;
  if (n > MAX_GRID_SAMPLES) {
    throw new ConfigError(
      `resample: ${((t1 - t0) / 1000).toFixed(1)} s at ${1000 / stepMs} Hz is ${n} samples, ` +
        `more than ${MAX_GRID_SAMPLES}: is the target rate right?`,
    );
  }
  const g = new Float64Array(Math.max(n, 0));
  for (let k = 0; k < g.length; k++) g[k] = t0 + k * stepMs;
  return g;
}

function baseMeta(rec: Recording): Record<string, string | number | boolean> {
  return { ...(rec.meta ?? {}) };
}

function makeOut(
  rec: Recording,
  targetHz: number,
  axes: Float32Array[],
  labels: Int32Array | undefined,
  t0Ms: number,
  segment: number,
): Recording {
  const prevOffset = typeof rec.meta?.offsetSec === "number" ? rec.meta.offsetSec : 0;
  const out: Recording = {
    dataset: rec.dataset,
    subject: rec.subject,
    placement: rec.placement,
    rateHz: targetHz,
    axes,
    axisNames: [...rec.axisNames],
    source: rec.source,
    meta: { ...baseMeta(rec), segment, offsetSec: prevOffset + t0Ms / 1000 },
  };
  if (rec.device !== undefined) out.device = rec.device;
  if (rec.startMs !== undefined) out.startMs = rec.startMs + t0Ms;
  if (labels) out.labels = labels;
  if (rec.labelNames) out.labelNames = [...rec.labelNames];
  return out;
}

/** Put segment `[a, b)` on a regular grid at `rateHz` by linear interpolation (if irregular). */
function regularise(
  t: Float64Array,
  axes: Float32Array[],
  a: number,
  b: number,
  rateHz: number,
): { t: Float64Array; axes: Float64Array[]; t0: number } {
  const ts = t.subarray(a, b);
  const g = grid(ts[0], ts[ts.length - 1], 1000 / rateHz);
  return {
    t: g,
    t0: ts[0],
    axes: axes.map((ax) => {
      const o = new Float64Array(g.length);
      interpLinear(ts, ax.subarray(a, b), g, o);
      return o;
    }),
  };
}

/**
 * Resample a recording to `targetHz` (see the module docs for methods and
 * gap handling). Returns one Recording per contiguous segment (`gaps:
 * "split"`, default) or a single NaN-holed Recording (`gaps: "nan"`).
 *
 * @throws ConfigError on a non-positive target rate, mismatched axis lengths,
 *   or `gaps: "nan"` with a method other than `"linear"`.
 */
export function resample(
  rec: Recording,
  targetHz: number,
  options: ResampleOptions = {},
): Recording[] {
  const method = options.method ?? "linear";
  const maxGapSec = options.maxGapSec ?? 1;
  const gaps = options.gaps ?? "split";
  if (!(targetHz > 0) || !Number.isFinite(targetHz)) {
    throw new ConfigError(`resample: targetHz must be > 0, got ${targetHz} (${rec.source})`);
  }
  if (!(rec.rateHz > 0) || !Number.isFinite(rec.rateHz)) {
    throw new ConfigError(`${rec.source}: rateHz must be > 0, got ${rec.rateHz}`);
  }
  if (!["linear", "fourier", "antialias"].includes(method)) {
    throw new ConfigError(`resample: unknown method "${method}" (linear | fourier | antialias)`);
  }
  const n = recordingLength(rec);
  for (const ax of rec.axes) {
    if (ax.length !== n) throw new ConfigError(`${rec.source}: axes have different lengths`);
  }
  if (rec.labels && rec.labels.length !== n) {
    throw new ConfigError(`${rec.source}: ${rec.labels.length} labels for ${n} samples`);
  }
  if (n === 0) return [];
  const t = sampleTimesMs(rec);
  const stepMs = 1000 / targetHz;
  const segs = findSegments(t, maxGapSec * 1000);

  if (gaps === "nan") {
    if (method !== "linear") {
      throw new ConfigError(`resample: gaps "nan" supports method "linear" only, got "${method}"`);
    }
    // one grid over the whole span; each grid point is interpolated inside
    // its segment or NaN when it falls in a gap. Segments must be in time order.
    let tEnd = t[0];
    for (const [a, b] of segs) {
      if (t[a] < tEnd && a > 0) {
        throw new ConfigError(
          `${rec.source}: timestamps go backwards at sample ${a}; use gaps "split"`,
        );
      }
      tEnd = t[b - 1];
    }
    const g = grid(t[0], tEnd, stepMs);
    const axes = rec.axes.map(() => new Float32Array(g.length).fill(NaN));
    const labels = rec.labels ? new Int32Array(g.length).fill(-1) : undefined;
    let k = 0;
    for (const [a, b] of segs) {
      while (k < g.length && g[k] < t[a] - 1e-6) k++;
      let e = k;
      while (e < g.length && g[e] <= t[b - 1] + 1e-6) e++;
      const gs = g.subarray(k, e), ts = t.subarray(a, b);
      rec.axes.forEach((ax, c) => interpLinear(ts, ax.subarray(a, b), gs, axes[c].subarray(k, e)));
      if (labels && rec.labels) labels.set(nearestLabels(ts, rec.labels.subarray(a, b), gs), k);
      k = e;
    }
    return [makeOut(rec, targetHz, axes, labels, t[0], 0)];
  }

  const out: Recording[] = [];
  const minMs = (options.minSegmentSec ?? 0) * 1000;
  segs.forEach(([a, b]) => {
    if (t[b - 1] - t[a] < minMs) return;
    const ts = t.subarray(a, b);
    let axes: Float32Array[];
    let tGrid: Float64Array;
    if (method === "fourier") {
      const reg = regularise(t, rec.axes, a, b, rec.rateHz);
      const num = Math.max(1, Math.round((reg.t.length * targetHz) / rec.rateHz));
      axes = reg.axes.map((ax) => Float32Array.from(fourierResample(ax, num)));
      tGrid = grid(ts[0], ts[0] + (num - 1) * stepMs, stepMs);
    } else {
      tGrid = grid(ts[0], ts[ts.length - 1], stepMs);
      if (method === "antialias" && targetHz < rec.rateHz) {
        const reg = regularise(t, rec.axes, a, b, rec.rateHz);
        const taps = options.numTaps ?? 16 * Math.ceil(rec.rateHz / targetHz) + 1;
        const h = lowpassFir((targetHz / 2) * (options.cutoffRatio ?? 1), rec.rateHz, taps);
        axes = reg.axes.map((ax) => {
          const o = new Float32Array(tGrid.length);
          interpLinear(reg.t, filterZeroPhase(ax, h), tGrid, o);
          return o;
        });
      } else {
        axes = rec.axes.map((ax) => {
          const o = new Float32Array(tGrid.length);
          interpLinear(ts, ax.subarray(a, b), tGrid, o);
          return o;
        });
      }
    }
    const labels = rec.labels ? nearestLabels(ts, rec.labels.subarray(a, b), tGrid) : undefined;
    out.push(makeOut(rec, targetHz, axes, labels, ts[0], out.length));
  });
  return out;
}

/** {@link resample} over many recordings, flattened. */
export function resampleAll(
  recs: Recording[],
  targetHz: number,
  options: ResampleOptions = {},
): Recording[] {
  return recs.flatMap((r) => resample(r, targetHz, options));
}
