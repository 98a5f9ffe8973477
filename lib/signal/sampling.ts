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
 * Per-subject draws (ssl-wearables' pre-training batches: each subject
 * contributes `num_sample_per_subject` windows drawn without replacement ∝
 * std, `data_loader.py: weighted_epoch_sample`) are {@link groupIndices} +
 * {@link drawFromGroup}; the weighted draws themselves are
 * {@link drawWithoutReplacement} and {@link drawWithReplacement}.
 *
 * @example
 * for (const batch of weightedSampler(w, { seed: 1, batchSize: 64 })) {
 *   const xb = selectWindows(w, batch); // one epoch of w.n draws, 64 at a time
 * }
 * // 16 windows of one subject, ∝ std, without replacement
 * const { keys, members } = groupIndices(w.subject);
 * const idx = drawFromGroup(members[0], samplingWeights(w), 16, 7);
 */
import type { Windows } from "../data/types.ts";
import { ConfigError } from "../errors.ts";
import { type Rng, rng } from "./random.ts";

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

function checkWeights(weights: ArrayLike<number>, k: number, what: string): void {
  if (!(Number.isInteger(k) && k >= 0)) {
    throw new ConfigError(`${what}: k must be an integer >= 0, got ${k}`);
  }
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    if (!(w >= 0) || !Number.isFinite(w)) {
      throw new ConfigError(`${what}: weight ${i} is ${w} (weights must be finite and >= 0)`);
    }
    total += w;
  }
  if (k > 0 && !(total > 0)) throw new ConfigError(`${what}: the weights sum to 0`);
}

const asRng = (seed: number | Rng): Rng => typeof seed === "number" ? rng(seed) : seed;

/**
 * `k` indices into `weights`, drawn independently (with replacement) with
 * probability `weights[i] / sum(weights)` (inverse CDF, one uniform per
 * draw). `seed` is a seed or a stream to consume (then `k` numbers are taken
 * from it).
 *
 * @throws ConfigError for negative or non-finite weights, or weights summing to 0.
 */
export function drawWithReplacement(
  weights: ArrayLike<number>,
  k: number,
  seed: number | Rng,
): Int32Array {
  checkWeights(weights, k, "drawWithReplacement");
  const r = asRng(seed);
  const cdf = new Float64Array(weights.length);
  let acc = 0;
  for (let i = 0; i < weights.length; i++) cdf[i] = acc += weights[i];
  const draws = new Int32Array(k);
  for (let j = 0; j < k; j++) {
    const u = r.next() * acc;
    let lo = 0, hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    draws[j] = lo;
  }
  return draws;
}

/**
 * `k` distinct indices into `weights`, drawn without replacement with
 * probability ∝ weight: the distribution of numpy's
 * `np.random.choice(n, k, replace=False, p=w / w.sum())` (each draw ∝ the
 * weights of the items not yet drawn), computed with Efraimidis–Spirakis
 * keys `log(u) / w` (the k largest; ties by index). Returned in draw order
 * (largest key first). Items of weight 0 come only after every positive one.
 * `seed` is a seed or a stream to consume (`weights.length` numbers).
 *
 * @throws ConfigError when `k` > `weights.length`, for negative or
 *   non-finite weights, or weights summing to 0.
 */
export function drawWithoutReplacement(
  weights: ArrayLike<number>,
  k: number,
  seed: number | Rng,
): Int32Array {
  checkWeights(weights, k, "drawWithoutReplacement");
  if (k > weights.length) {
    throw new ConfigError(
      `drawWithoutReplacement: ${k} draws from ${weights.length} items without replacement`,
    );
  }
  const r = asRng(seed);
  const keys = Array.from(weights, (w, i) => {
    const u = r.next();
    return { i, key: w > 0 ? Math.log(1 - u) / w : -Infinity };
  });
  keys.sort((a, b) => b.key - a.key || a.i - b.i);
  return Int32Array.from(keys.slice(0, k), (x) => x.i);
}

/**
 * The indices of each distinct key (e.g. `windows.subject`), keys in order
 * of first appearance, indices ascending within a key.
 */
export function groupIndices(keys: readonly string[]): { keys: string[]; members: Int32Array[] } {
  const at = new Map<string, number[]>();
  keys.forEach((k, i) => {
    const list = at.get(k);
    if (list) list.push(i);
    else at.set(k, [i]);
  });
  return { keys: [...at.keys()], members: [...at.values()].map((l) => Int32Array.from(l)) };
}

/**
 * `k` items of one group (`members`, indices into `weights`, e.g. one
 * subject's windows with {@link samplingWeights}), drawn ∝ their weights:
 * without replacement ({@link drawWithoutReplacement}) when the group has at
 * least `k` members, otherwise with replacement ({@link drawWithReplacement}),
 * so a group smaller than `k` still yields `k` items (ssl-wearables instead
 * asserts that every subject has at least `num_sample_per_subject` windows).
 * Returns indices into `weights` (members' values).
 *
 * @throws ConfigError for an empty group (with k > 0) or bad weights.
 */
export function drawFromGroup(
  members: ArrayLike<number>,
  weights: ArrayLike<number>,
  k: number,
  seed: number | Rng,
): Int32Array {
  if (members.length === 0 && k > 0) throw new ConfigError("drawFromGroup: empty group");
  const w = Float64Array.from(members, (m) => weights[m]);
  const local = members.length >= k
    ? drawWithoutReplacement(w, k, seed)
    : drawWithReplacement(w, k, seed);
  return local.map((j) => members[j]);
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
  for (let e = 0; e < epochs; e++) {
    const draws = replace ? drawWithReplacement(p, num, r) : drawWithoutReplacement(p, num, r);
    for (let s = 0; s < num; s += batchSize) yield draws.slice(s, Math.min(num, s + batchSize));
  }
}
