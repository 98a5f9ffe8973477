/**
 * Uncertainty of a score: subject-level bootstrap confidence intervals and
 * per-fold mean ± sd summaries.
 *
 * The bootstrap resamples *subjects* (not windows) with replacement, pools
 * the predictions of the drawn subjects (a subject drawn twice counts
 * twice), recomputes the metric, and reports the percentile interval: the
 * usual choice when windows of one subject are correlated.
 *
 * @example
 * const ci = subjectBootstrap({ yTrue, yPred, subject }, (t, p) => f1Score(t, p), { seed: 1 });
 * console.log(`${ci.estimate.toFixed(3)} [${ci.low.toFixed(3)}, ${ci.high.toFixed(3)}]`);
 * meanSd([0.71, 0.75, 0.69]); // { mean: 0.7166…, sd: 0.0305…, n: 3 }
 */
import { rng } from "../signal/random.ts";
import { ConfigError } from "../errors.ts";

/** Pooled predictions with the subject of each sample. */
export interface SubjectPredictions {
  /** True class per sample. */
  yTrue: ArrayLike<number>;
  /** Predicted class per sample. */
  yPred: ArrayLike<number>;
  /** Subject id per sample. */
  subject: ArrayLike<string>;
}

/** A metric of (yTrue, yPred), e.g. `(t, p) => f1Score(t, p)`. */
export type MetricFn = (yTrue: Int32Array, yPred: Int32Array) => number;

/** Arguments of {@link subjectBootstrap}. */
export interface SubjectBootstrapArgs {
  /** Bootstrap replicates; default 1000. */
  nBoot?: number;
  /** Two-sided level: the interval is the [α/2, 1−α/2] percentile range; default 0.05 (95 %). */
  alpha?: number;
  /** Seed of the subject draws; default 0. */
  seed?: number;
}

/** A percentile bootstrap confidence interval. */
export interface BootstrapCI {
  /** The metric on all predictions (no resampling). */
  estimate: number;
  /** Lower bound (α/2 percentile of the replicates). */
  low: number;
  /** Upper bound (1 − α/2 percentile). */
  high: number;
  /** The level used. */
  alpha: number;
  /** Replicates drawn. */
  nBoot: number;
  /** Replicates with a finite metric (undefined ones, e.g. NaN kappa, are dropped). */
  nValid: number;
  /** Number of distinct subjects. */
  nSubjects: number;
  /** The finite replicate values, sorted ascending. */
  samples: Float64Array;
}

/**
 * Percentile of sorted values with NumPy's default linear interpolation.
 *
 * @param sorted ascending values
 * @param q in [0, 1]
 */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Subject-level percentile bootstrap of `metric` on pooled predictions.
 *
 * @throws ConfigError when the arrays differ in length or there are no samples.
 */
export function subjectBootstrap(
  preds: SubjectPredictions,
  metric: MetricFn,
  args: SubjectBootstrapArgs = {},
): BootstrapCI {
  const { yTrue, yPred, subject } = preds;
  const n = yTrue.length;
  if (yPred.length !== n || subject.length !== n) {
    throw new ConfigError(
      `subjectBootstrap: yTrue (${n}), yPred (${yPred.length}) and subject (${subject.length}) differ in length`,
    );
  }
  if (n === 0) throw new ConfigError("subjectBootstrap: no predictions");
  const nBoot = args.nBoot ?? 1000, alpha = args.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) {
    throw new ConfigError(`subjectBootstrap: alpha ${alpha} not in (0, 1)`);
  }
  const groups = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const g = groups.get(subject[i]);
    if (g) g.push(i);
    else groups.set(subject[i], [i]);
  }
  const ids = [...groups.keys()].sort();
  const members = ids.map((s) => groups.get(s)!);
  const estimate = metric(Int32Array.from(yTrue), Int32Array.from(yPred));
  const r = rng(args.seed ?? 0);
  const values: number[] = [];
  for (let b = 0; b < nBoot; b++) {
    const idx: number[] = [];
    for (let k = 0; k < ids.length; k++) {
      for (const i of members[r.int(ids.length)]) idx.push(i); // no push(...): large subjects
    }
    const t = Int32Array.from(idx, (i) => yTrue[i]);
    const p = Int32Array.from(idx, (i) => yPred[i]);
    const v = metric(t, p);
    if (Number.isFinite(v)) values.push(v);
  }
  const samples = Float64Array.from(values).sort();
  return {
    estimate,
    low: percentile(samples, alpha / 2),
    high: percentile(samples, 1 - alpha / 2),
    alpha,
    nBoot,
    nValid: samples.length,
    nSubjects: ids.length,
    samples,
  };
}

/** Mean, standard deviation and count of per-fold (or per-subject) scores. */
export interface MeanSd {
  /** Mean of the finite values. */
  mean: number;
  /** Standard deviation (ddof as requested; NaN with fewer than ddof + 1 values). */
  sd: number;
  /** Number of finite values used. */
  n: number;
}

/**
 * Mean ± sd of scores, ignoring NaN (e.g. an undefined kappa on a
 * one-class fold). `ddof` 1 (sample sd, pandas' default) unless given.
 *
 * @example
 * meanSd([1, 2, 3]);            // { mean: 2, sd: 1, n: 3 }
 * meanSd([1, 2, 3], { ddof: 0 }); // sd √(2/3)
 */
export function meanSd(values: ArrayLike<number>, options: { ddof?: number } = {}): MeanSd {
  const v = Array.from(values).filter(Number.isFinite);
  const n = v.length;
  if (n === 0) return { mean: NaN, sd: NaN, n: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const ddof = options.ddof ?? 1;
  const ss = v.reduce((a, b) => a + (b - mean) ** 2, 0);
  return { mean, sd: n - ddof > 0 ? Math.sqrt(ss / (n - ddof)) : NaN, n };
}
