/**
 * Standard-deviation-weighted window sampling for self-supervised
 * pre-training, after ssl-wearables (Yuan et al. 2024): free-living data is
 * mostly still, and still windows barely change under the pretext
 * transforms, so windows are drawn with probability proportional to their
 * standard deviation (`np.random.choice(n, k, p=std / std.sum())`; windows
 * with std 0 get 1e-6 so that they stay drawable).
 *
 * Which std: the released ssl-wearables loader reads one precomputed std per
 * window (`data_with_std[:, :, -1][:, 0]`); the UK Biobank preparation that
 * computes it is not public. We default to the std of the vector magnitude
 * `|a| = sqrt(x² + y² + z²)` (orientation-invariant, what the paper's
 * "movement" means); `stdOf: "axes"` uses the mean of the per-axis stds.
 *
 * @example
 * for (const batch of weightedSampler(w, { seed: 1, batchSize: 64 })) {
 *   const xb = selectWindows(w, batch); // one epoch of w.n draws, 64 at a time
 * }
 */
import type { Windows } from "../data/types.ts";
import { ConfigError } from "../errors.ts";
import { rng } from "./random.ts";

/** Options for {@link weightedSampler}. */
export interface SamplerOptions {
  /** Seed of the draws. */
  seed: number;
  /** `"std"`: probability ∝ window std (default); `"uniform"`: equal probability. */
  weighting?: "std" | "uniform";
  /** How a window's std is computed (default `"magnitude"`). */
  stdOf?: "magnitude" | "axes";
  /** Indices per yielded batch (default 256; the last batch of an epoch may be shorter). */
  batchSize?: number;
  /** Draws per epoch (default `windows.n`). */
  numSamples?: number;
  /** Draw with replacement (default true); without it `numSamples` ≤ the number of windows. */
  replace?: boolean;
  /** Epochs to generate (default 1; `Infinity` for an endless stream). */
  epochs?: number;
}

/** Per-window standard deviation (population std, g): of the magnitude, or the mean of the per-axis stds. */
export function windowStd(
  windows: Windows,
  stdOf: "magnitude" | "axes" = "magnitude",
): Float64Array {
  const { n, channels: c, length: len, x } = windows;
  const out = new Float64Array(n);
  const mag = new Float64Array(len);
  for (let i = 0; i < n; i++) {
    const base = i * c * len;
    if (stdOf === "magnitude") {
      mag.fill(0);
      for (let ch = 0; ch < c; ch++) {
        const o = base + ch * len;
        for (let t = 0; t < len; t++) mag[t] += x[o + t] * x[o + t];
      }
      let s = 0;
      for (let t = 0; t < len; t++) s += mag[t] = Math.sqrt(mag[t]);
      const mean = s / len;
      let v = 0;
      for (let t = 0; t < len; t++) v += (mag[t] - mean) ** 2;
      out[i] = Math.sqrt(v / len);
    } else {
      let acc = 0;
      for (let ch = 0; ch < c; ch++) {
        const o = base + ch * len;
        let s = 0;
        for (let t = 0; t < len; t++) s += x[o + t];
        const mean = s / len;
        let v = 0;
        for (let t = 0; t < len; t++) v += (x[o + t] - mean) ** 2;
        acc += Math.sqrt(v / len);
      }
      out[i] = acc / c;
    }
  }
  return out;
}

/** Sampling probabilities (sum 1) per window; NaN std counts as 0, 0 as 1e-6 (ssl-wearables). */
export function samplingWeights(
  windows: Windows,
  opts: Pick<SamplerOptions, "weighting" | "stdOf"> = {},
): Float64Array {
  const weighting = opts.weighting ?? "std";
  if (weighting !== "std" && weighting !== "uniform") {
    throw new ConfigError(
      `weightedSampler: weighting must be "std" or "uniform", got "${weighting}"`,
    );
  }
  let w: Float64Array;
  if (weighting === "uniform") w = new Float64Array(windows.n).fill(1);
  else {
    w = windowStd(windows, opts.stdOf ?? "magnitude");
    for (let i = 0; i < w.length; i++) if (!(w[i] > 0)) w[i] = 1e-6;
  }
  const s = w.reduce((a, b) => a + b, 0);
  for (let i = 0; i < w.length; i++) w[i] /= s;
  return w;
}

/**
 * Yield batches of window indices drawn with probability ∝ std (or
 * uniformly), `numSamples` draws per epoch, reproducible from `seed`.
 * Without replacement it uses weighted keys `u^(1/p)` (Efraimidis–Spirakis),
 * the same distribution as numpy's sequential `choice(replace=False)`.
 *
 * @throws ConfigError on empty windows or `numSamples` > n without replacement.
 */
export function* weightedSampler(windows: Windows, opts: SamplerOptions): Generator<Int32Array> {
  if (windows.n === 0) throw new ConfigError("weightedSampler: no windows to sample");
  const p = samplingWeights(windows, opts);
  const r = rng(opts.seed);
  const batchSize = opts.batchSize ?? 256;
  const num = opts.numSamples ?? windows.n;
  const replace = opts.replace ?? true;
  const epochs = opts.epochs ?? 1;
  if (!(batchSize >= 1)) {
    throw new ConfigError(`weightedSampler: batchSize must be >= 1, got ${batchSize}`);
  }
  if (!replace && num > windows.n) {
    throw new ConfigError(
      `weightedSampler: numSamples ${num} > ${windows.n} windows without replacement`,
    );
  }
  const cdf = new Float64Array(p.length);
  let acc = 0;
  for (let i = 0; i < p.length; i++) cdf[i] = acc += p[i];
  for (let e = 0; e < epochs; e++) {
    let draws: Int32Array;
    if (replace) {
      draws = new Int32Array(num);
      for (let k = 0; k < num; k++) {
        const u = r.next() * acc;
        let lo = 0, hi = cdf.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cdf[mid] > u) hi = mid;
          else lo = mid + 1;
        }
        draws[k] = lo;
      }
    } else {
      const keys = Array.from(p, (pi, i) => ({ i, key: Math.log(1 - r.next()) / pi }));
      keys.sort((a, b) => b.key - a.key || a.i - b.i);
      draws = Int32Array.from(keys.slice(0, num), (k) => k.i);
    }
    for (let s = 0; s < num; s += batchSize) yield draws.slice(s, Math.min(num, s + batchSize));
  }
}
