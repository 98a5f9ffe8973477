/**
 * The four pretext transforms of Yuan et al. (2024) multi-task
 * self-supervision, as OxWearables ssl-wearables implements them
 * (`sslearning/data/data_transformation.py`):
 *
 * | task       | function          | ssl-wearables                                   |
 * |------------|-------------------|-------------------------------------------------|
 * | `aot`      | {@link reverseTime} | `flip`: reverse the time axis                  |
 * | `scale`    | {@link scale}     | `scale` → `scaling_uniform(range 0.5, min diff 0.15)` |
 * | `permute`  | {@link permute}   | `permute` → `DA_Permutation(nPerm 4, minSegLength 10)` |
 * | `timewarp` | {@link timeWarp}  | `time_warp` → `DA_TimeWarp(sigma 0.2, knot 4)`  |
 *
 * A window is one `[channels, length]` row-major `Float32Array` (a slice of
 * `Windows.x`), in g. Every function is pure (returns a new array) and every
 * random choice comes from the seeded `Rng` passed in (`rng(seed)` from
 * lib/signal/random.ts), so the same seed gives the same output.
 *
 * @example
 * import { rng } from "../signal/random.ts";
 * const rand = rng(7);
 * const w = windows.x.subarray(0, 3 * 300);          // first window, 3 × 300
 * const back = reverseTime(w);                        // arrow of time
 * const shuffled = permute(w, { chunks: 4 }, rand);   // 4 chunks, shuffled
 * const warped = timeWarp(w, { sigma: 0.2 }, rand);   // smooth speed change
 * const scaled = scale(w, { scaleRange: 0.5 }, rand); // per-axis gain
 */
import { ConfigError } from "../errors.ts";
import type { Rng } from "../signal/random.ts";
import { cubicSpline } from "./spline.ts";

/** Shape of one window (shared by every transform's args). */
export interface WindowArgs {
  /** Channels (axes) in the window, rows of the `[channels, length]` layout (default 3). */
  channels?: number;
}

/** Samples per channel of a `[channels, length]` window; throws when it does not divide. */
export function windowLength(x: Float32Array, channels = 3, fn = "window"): number {
  if (!Number.isInteger(channels) || channels < 1) {
    throw new ConfigError(`${fn}: channels must be a positive integer, got ${channels}`);
  }
  if (x.length === 0 || x.length % channels !== 0) {
    throw new ConfigError(
      `${fn}: window of ${x.length} values is not a whole number of ${channels}-channel samples`,
    );
  }
  return x.length / channels;
}

// ---------------------------------------------------------------- arrow of time

/** Arguments of {@link reverseTime}. */
export type ReverseTimeArgs = WindowArgs;

/**
 * Arrow of time: the window played backwards (`np.flip(sample, 1)`).
 *
 * @example
 * reverseTime(Float32Array.of(1, 2, 3, 4, 5, 6), { channels: 2 }); // [3,2,1, 6,5,4]
 */
export function reverseTime(x: Float32Array, args: ReverseTimeArgs = {}): Float32Array {
  const c = args.channels ?? 3;
  const len = windowLength(x, c, "reverseTime");
  const out = new Float32Array(x.length);
  for (let ch = 0; ch < c; ch++) {
    const o = ch * len;
    for (let t = 0; t < len; t++) out[o + t] = x[o + len - 1 - t];
  }
  return out;
}

// ---------------------------------------------------------------- permutation

/** Arguments of {@link permute}. */
export interface PermuteArgs extends WindowArgs {
  /** Number of chunks the window is cut into (ssl-wearables `nPerm`, default 4). */
  chunks?: number;
  /**
   * Every chunk is strictly longer than this many samples (ssl-wearables
   * `minSegLength`, default 10, so chunks have at least 11 samples).
   */
  minChunkSamples?: number;
  /**
   * Whether the drawn chunk order may be the identity (default `true`, as
   * ssl-wearables, where 1 in 24 "permuted" windows is unchanged). Set
   * `false` to redraw identity orders so a permuted window always differs.
   */
  allowIdentity?: boolean;
}

/** A drawn permutation: where each chunk starts and the order they are glued back in. */
export interface PermutationPlan {
  /** Chunk boundaries, `chunks + 1` sample indices from 0 to `length` (increasing). */
  bounds: Int32Array;
  /** `order[k]` is the original chunk placed k-th in the output. */
  order: Int32Array;
}

/**
 * Draw a permutation plan for a window of `length` samples, exactly as
 * ssl-wearables' `DA_Permutation`: a random chunk order first, then
 * `chunks − 1` sorted cut points from `randint(min, length − min)`, redrawn
 * until every chunk is longer than `minChunkSamples`.
 */
export function permutationPlan(
  length: number,
  args: PermuteArgs,
  rand: Rng,
): PermutationPlan {
  const { chunks = 4, minChunkSamples = 10, allowIdentity = true } = args;
  if (!Number.isInteger(chunks) || chunks < 1) {
    throw new ConfigError(`permute: chunks must be a positive integer, got ${chunks}`);
  }
  if (!Number.isInteger(minChunkSamples) || minChunkSamples < 0) {
    throw new ConfigError(
      `permute: minChunkSamples must be an integer >= 0, got ${minChunkSamples}`,
    );
  }
  if (chunks * (minChunkSamples + 1) > length) {
    throw new ConfigError(
      `permute: ${chunks} chunks of more than ${minChunkSamples} samples do not fit in ${length} samples`,
    );
  }
  const draw = () => Int32Array.from(rand.shuffle(Array.from({ length: chunks }, (_, i) => i)));
  let order = draw();
  if (!allowIdentity && chunks > 1) {
    while (order.every((v, i) => v === i)) order = draw();
  }
  const bounds = new Int32Array(chunks + 1);
  bounds[chunks] = length;
  if (chunks > 1) {
    const cuts = new Int32Array(chunks - 1);
    for (let attempt = 0;; attempt++) {
      if (attempt > 1_000_000) {
        throw new ConfigError(
          `permute: could not draw ${chunks} chunks > ${minChunkSamples} samples in ${length}`,
        );
      }
      for (let k = 0; k < chunks - 1; k++) {
        cuts[k] = minChunkSamples + rand.int(length - 2 * minChunkSamples);
      }
      cuts.sort();
      bounds.set(cuts, 1);
      let ok = true;
      for (let k = 0; k < chunks; k++) {
        if (bounds[k + 1] - bounds[k] <= minChunkSamples) {
          ok = false;
          break;
        }
      }
      if (ok) break;
    }
  }
  return { bounds, order };
}

/** Apply a {@link PermutationPlan} to a `[channels, length]` window (same plan on every channel). */
export function applyPermutation(
  x: Float32Array,
  plan: PermutationPlan,
  args: WindowArgs = {},
): Float32Array {
  const c = args.channels ?? 3;
  const len = windowLength(x, c, "applyPermutation");
  const { bounds, order } = plan;
  if (bounds[bounds.length - 1] !== len) {
    throw new ConfigError(
      `applyPermutation: plan is for ${bounds[bounds.length - 1]} samples, window has ${len}`,
    );
  }
  const out = new Float32Array(x.length);
  for (let ch = 0; ch < c; ch++) {
    const o = ch * len;
    let p = 0;
    for (let k = 0; k < order.length; k++) {
      const s = bounds[order[k]], e = bounds[order[k] + 1];
      out.set(x.subarray(o + s, o + e), o + p);
      p += e - s;
    }
  }
  return out;
}

/**
 * Permutation: cut the window into `chunks` pieces (each longer than
 * `minChunkSamples`) at random points and glue them back in a random order.
 * The same cuts and order apply to every channel.
 *
 * @example
 * const y = permute(w, { chunks: 4, minChunkSamples: 10 }, rng(1));
 */
export function permute(x: Float32Array, args: PermuteArgs, rand: Rng): Float32Array {
  const c = args.channels ?? 3;
  const len = windowLength(x, c, "permute");
  return applyPermutation(x, permutationPlan(len, args, rand), { channels: c });
}

// ---------------------------------------------------------------- time warp

/** Arguments of {@link timeWarp}. */
export interface TimeWarpArgs extends WindowArgs {
  /** Standard deviation of the random speed at each knot around 1 (unitless, default 0.2). */
  sigma?: number;
  /** Interior knots of the speed curve (default 4, so 6 knots from first to last sample). */
  knots?: number;
  /**
   * Use these knot speeds (one array of `knots + 2` values per channel,
   * unitless, ~1) instead of drawing them from N(1, sigma²): for figures and
   * for checking against ssl-wearables with known knot values.
   */
  knotSpeeds?: ArrayLike<number>[];
}

/**
 * Draw the warped sample times of a window, per channel, as ssl-wearables'
 * `DistortTimesteps`: a random speed curve (cubic spline through
 * `knots + 2` equally spaced knots with values ~ N(1, sigma)), its cumulative
 * sum rescaled so the last sample lands at `length − 1`. Each channel gets its
 * own curve. Speeds are floored at 1e-6 so the times stay increasing (only
 * matters when `sigma` is large enough for the spline to dip below 0).
 *
 * @returns one `Float64Array(length)` of warped times (in samples) per channel.
 */
export function timeWarpTimes(
  length: number,
  args: TimeWarpArgs,
  rand: Rng,
): Float64Array[] {
  const { channels = 3, sigma = 0.2, knots = 4 } = args;
  if (!(sigma >= 0) || !Number.isFinite(sigma)) {
    throw new ConfigError(`timeWarp: sigma must be a finite number >= 0, got ${sigma}`);
  }
  if (!Number.isInteger(knots) || knots < 0) {
    throw new ConfigError(`timeWarp: knots must be an integer >= 0, got ${knots}`);
  }
  if (length < knots + 2) {
    throw new ConfigError(`timeWarp: ${length} samples is too short for ${knots + 2} knots`);
  }
  const nk = knots + 2;
  const kx = new Float64Array(nk);
  for (let i = 0; i < nk; i++) kx[i] = (i * (length - 1)) / (knots + 1);
  // numpy draws the knot values row-major [knot, channel].
  let ky: Float64Array[];
  if (args.knotSpeeds) {
    if (args.knotSpeeds.length !== channels || args.knotSpeeds.some((k) => k.length !== nk)) {
      throw new ConfigError(
        `timeWarp: knotSpeeds must be ${channels} arrays of ${nk} values (knots + 2)`,
      );
    }
    ky = args.knotSpeeds.map((k) => Float64Array.from(k));
  } else {
    ky = Array.from({ length: channels }, () => new Float64Array(nk));
    for (let i = 0; i < nk; i++) {
      for (let ch = 0; ch < channels; ch++) ky[ch][i] = 1 + sigma * rand.normal();
    }
  }
  const grid = Float64Array.from({ length }, (_, i) => i);
  return ky.map((vals) => {
    const speed = cubicSpline(kx, vals).evaluate(grid);
    const tt = new Float64Array(length);
    let acc = 0;
    for (let i = 0; i < length; i++) {
      acc += Math.max(speed[i], 1e-6);
      tt[i] = acc;
    }
    const s = (length - 1) / acc;
    for (let i = 0; i < length; i++) tt[i] *= s;
    return tt;
  });
}

/**
 * Resample one channel: sample `i` of `src` is moved to time `times[i]` and
 * the result read at integer times `0..length−1` by linear interpolation
 * (`np.interp(arange(L), times, src)`, clamping outside the range).
 */
export function warpChannel(src: ArrayLike<number>, times: ArrayLike<number>, out: Float32Array) {
  const n = src.length;
  let j = 0;
  for (let t = 0; t < out.length; t++) {
    if (t <= times[0]) {
      out[t] = src[0];
      continue;
    }
    if (t >= times[n - 1]) {
      out[t] = src[n - 1];
      continue;
    }
    while (j < n - 2 && times[j + 1] <= t) j++;
    const t0 = times[j], t1 = times[j + 1];
    const f = t1 > t0 ? (t - t0) / (t1 - t0) : 0;
    out[t] = src[j] + f * (src[j + 1] - src[j]);
  }
}

/**
 * Time warping: a smooth random speed-up / slow-down of each channel
 * (ssl-wearables `DA_TimeWarp`, cubic-spline speed curve, sigma 0.2, 4 knots).
 * Length and both end samples are kept.
 *
 * @example
 * const y = timeWarp(w, { sigma: 0.2, knots: 4 }, rng(1));
 */
export function timeWarp(x: Float32Array, args: TimeWarpArgs, rand: Rng): Float32Array {
  const c = args.channels ?? 3;
  const len = windowLength(x, c, "timeWarp");
  const times = timeWarpTimes(len, { ...args, channels: c }, rand);
  const out = new Float32Array(x.length);
  for (let ch = 0; ch < c; ch++) {
    warpChannel(
      x.subarray(ch * len, (ch + 1) * len),
      times[ch],
      out.subarray(ch * len, (ch + 1) * len),
    );
  }
  return out;
}

// ---------------------------------------------------------------- scaling

/** Arguments of {@link scale}. */
export interface ScaleArgs extends WindowArgs {
  /** Factors are drawn uniformly from `[1 − scaleRange, 1 + scaleRange]` (unitless, default 0.5). */
  scaleRange?: number;
  /** Every factor differs from 1 by at least this much; otherwise all are redrawn (default 0.15). */
  minScaleDiff?: number;
}

/**
 * Draw one gain per channel as ssl-wearables' `scaling_uniform`: uniform in
 * `[1 − scaleRange, 1 + scaleRange]`, all redrawn while any is within
 * `minScaleDiff` of 1.
 */
export function scaleFactors(
  channels: number,
  args: ScaleArgs,
  rand: Rng,
): Float64Array {
  const { scaleRange = 0.5, minScaleDiff = 0.15 } = args;
  if (!(scaleRange > 0) || !Number.isFinite(scaleRange)) {
    throw new ConfigError(`scale: scaleRange must be a finite number > 0, got ${scaleRange}`);
  }
  if (!(minScaleDiff >= 0) || minScaleDiff >= scaleRange) {
    throw new ConfigError(
      `scale: minScaleDiff must be in [0, scaleRange=${scaleRange}), got ${minScaleDiff}`,
    );
  }
  const f = new Float64Array(channels);
  for (;;) {
    for (let ch = 0; ch < channels; ch++) f[ch] = rand.uniform(1 - scaleRange, 1 + scaleRange);
    if (f.every((v) => Math.abs(v - 1) >= minScaleDiff)) return f;
  }
}

/**
 * Scaling: multiply each channel by its own random gain
 * (ssl-wearables `scale`: uniform in [0.5, 1.5], at least 0.15 away from 1).
 *
 * @example
 * const y = scale(w, { scaleRange: 0.5, minScaleDiff: 0.15 }, rng(1));
 */
export function scale(x: Float32Array, args: ScaleArgs, rand: Rng): Float32Array {
  const c = args.channels ?? 3;
  const len = windowLength(x, c, "scale");
  const f = scaleFactors(c, args, rand);
  const out = new Float32Array(x.length);
  for (let ch = 0; ch < c; ch++) {
    const o = ch * len;
    for (let t = 0; t < len; t++) out[o + t] = x[o + t] * f[ch];
  }
  return out;
}
