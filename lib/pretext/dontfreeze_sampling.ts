/**
 * Which windows a "Don't freeze" pretext epoch trains on, and the
 * channels-last batch layout its models take (../shared/specs/dont-freeze.md
 * §1.4, §4.3, §4.5). Shared by the four pretext batch sources
 * (multitask8.ts, cpc.ts, reconstruction.ts, simclr.ts).
 *
 * - Variance-proportional sampling (§1.4 [P]): window i is drawn with
 *   probability ∝ `var_x + var_y + var_z` (population variances, g²), without
 *   replacement (Efraimidis–Spirakis keys, lib/signal/sampling.ts
 *   `drawWithoutReplacement`), `round(fraction · n)` windows per epoch; the
 *   paper draws 10 % of Capture-24 each epoch ({@link DONT_FREEZE_SOURCE_SAMPLING}).
 * - Redrawn every epoch (default) or drawn once and kept (`redraw: false`,
 *   the "fixed training set" of §4.3 [D]).
 * - The defaults (`fraction` 1: every window each epoch, uniformly shuffled)
 *   are the target-dataset pretext (§4.5 [D]).
 *
 * The draw of epoch e is seeded by `mixSeed(seed, e, 11)` (`mixSeed(seed, 0,
 * 11)` without redraw) and its order by `mixSeed(seed, e, 12)`, so any epoch
 * can be computed on its own (resumed runs see the same windows).
 *
 * @example
 * const plan = epochWindowPlan(pool, { ...DONT_FREEZE_SOURCE_SAMPLING, seed: 1 });
 * plan.windowsPerEpoch;   // round(0.1 · pool.n)
 * plan.indices(3);        // the windows of epoch 3, in training order
 * @module
 */
import type { Windows } from "../data/types.ts";
import { ConfigError } from "../errors.ts";
import { rng } from "../signal/random.ts";
import { drawWithoutReplacement } from "../signal/sampling.ts";
import { mixSeed } from "../train/random.ts";

/** How the windows of a partial epoch are drawn. */
export type PretextWeighting = "variance" | "uniform";

/** Which windows an epoch uses (every field optional; defaults: all windows, reshuffled). */
export interface PretextEpochArgs {
  /**
   * Fraction of the windows drawn per epoch, in (0, 1] (default 1: all).
   * §1.4 [P]: 0.1 for the pretext on Capture-24.
   */
  fraction?: number;
  /**
   * `"variance"` (default, §1.4 [P]): ∝ the sum of the per-axis variances;
   * `"uniform"`: equal probability. Only matters when `fraction` < 1.
   */
  weighting?: PretextWeighting;
  /**
   * Redraw the windows every epoch (default true, §1.4 [D]); false: draw once
   * (epoch 0's draw) and keep them, reshuffled every epoch (§4.3's fixed
   * training set).
   */
  redraw?: boolean;
}

/** The sampling of the paper's pretext on the source dataset: 10 % per epoch ∝ variance (§1.4). */
export const DONT_FREEZE_SOURCE_SAMPLING: Readonly<PretextEpochArgs> = {
  fraction: 0.1,
  weighting: "variance",
  redraw: true,
};

/** Per-window sum of the per-channel population variances (g²), §1.4's sampling weight. */
export function windowVarianceSum(windows: Windows): Float64Array {
  const { n, channels: c, length: len, x } = windows;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let ch = 0; ch < c; ch++) {
      const o = (i * c + ch) * len;
      let m = 0;
      for (let t = 0; t < len; t++) m += x[o + t];
      m /= len;
      let v = 0;
      for (let t = 0; t < len; t++) v += (x[o + t] - m) ** 2;
      s += v / len;
    }
    out[i] = Number.isFinite(s) ? s : 0;
  }
  return out;
}

/** The windows of every epoch (see the module doc). */
export interface EpochWindowPlan {
  /** Windows per epoch (`max(1, round(fraction · n))`). */
  windowsPerEpoch: number;
  /** Window indices of epoch `epoch` (0-based), in training order; a pure function of (seed, epoch). */
  indices(epoch: number): Int32Array;
}

/**
 * The windows each epoch trains on: `round(fraction · n)` of them drawn per
 * `weighting` (all when `fraction` is 1), redrawn per epoch or kept, shuffled
 * per epoch.
 *
 * @throws ConfigError for no windows or a `fraction` outside (0, 1]
 */
export function epochWindowPlan(
  windows: Windows,
  args: PretextEpochArgs & { seed: number },
): EpochWindowPlan {
  const n = windows.n;
  if (!(n >= 1)) throw new ConfigError("epochWindowPlan: no windows");
  const fraction = args.fraction ?? 1;
  if (!(fraction > 0 && fraction <= 1)) {
    throw new ConfigError(`epochWindowPlan fraction: must be in (0, 1], got ${fraction}`);
  }
  const weighting = args.weighting ?? "variance";
  if (weighting !== "variance" && weighting !== "uniform") {
    throw new ConfigError(
      `epochWindowPlan weighting: must be "variance" or "uniform", got "${weighting}"`,
    );
  }
  const redraw = args.redraw ?? true;
  const k = Math.max(1, Math.min(n, Math.round(fraction * n)));
  let weights: Float64Array | null = null;
  const draw = (epoch: number): Int32Array => {
    if (k === n) return Int32Array.from({ length: n }, (_, i) => i);
    weights ??= weighting === "variance" ? windowVarianceSum(windows) : new Float64Array(n).fill(1);
    // all-still data (every variance 0): fall back to uniform rather than failing
    const w = weights.some((v) => v > 0) ? weights : new Float64Array(n).fill(1);
    return drawWithoutReplacement(w, k, mixSeed(args.seed, redraw ? epoch : 0, 11));
  };
  let cachedEpoch = -1;
  let cached = new Int32Array(0);
  return {
    windowsPerEpoch: k,
    indices(epoch: number): Int32Array {
      if (epoch !== cachedEpoch) {
        const set = Array.from(draw(epoch));
        cached = Int32Array.from(rng(mixSeed(args.seed, epoch, 12)).shuffle(set));
        cachedEpoch = epoch;
      }
      return cached;
    },
  };
}

/**
 * Copy the `[channels, length]` window `src` (a slice of `Windows.x` or a
 * transformed copy) into row `row` of `out`, in the channels-last layout
 * `[length, channels]` the "Don't freeze" models take.
 */
export function putChannelsLast(
  src: Float32Array,
  channels: number,
  out: Float32Array,
  row: number,
): void {
  const len = src.length / channels;
  const o = row * len * channels;
  for (let c = 0; c < channels; c++) {
    const s = c * len;
    for (let t = 0; t < len; t++) out[o + t * channels + c] = src[s + t];
  }
}

/** Window `i` of `windows` as a `[channels, length]` view (no copy). */
export function windowView(windows: Windows, i: number): Float32Array {
  const size = windows.channels * windows.length;
  return windows.x.subarray(i * size, (i + 1) * size);
}

/** Arguments of the evaluation (validation) variant of the sources. */
export interface PretextEvaluationArgs {
  /**
   * Evaluation batches: every window once, in order, with fixed seeds (no
   * epoch sampling), for `fit`'s `validation` (§1.4: "validation windows are
   * all used"). Default false.
   */
  evaluation?: boolean;
}

/** Window indices of evaluation step `step` (every window once, in order, `batchSize` per step). */
export function evaluationIndices(n: number, batchSize: number, step: number): Int32Array {
  const s = step * batchSize;
  return Int32Array.from({ length: Math.max(0, Math.min(batchSize, n - s)) }, (_, i) => s + i);
}

/** Check a batch size argument. */
export function checkBatchSize(where: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new ConfigError(`${where} batchSize: must be a positive integer, got ${v}`);
  }
  return v;
}
