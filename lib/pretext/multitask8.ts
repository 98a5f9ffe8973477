/**
 * Saeed et al.'s multi-task transformation recognition, as SelfHAR [14]
 * re-implements it and "Don't freeze" uses it (../shared/specs/dont-freeze.md
 * §3.1): eight transformations (Um et al. 2017), a batch source of original
 * and transformed windows with eight binary labels, and the loss (the sum of
 * the eight heads' binary cross-entropies).
 *
 * | # | task (head) | operation on a window `X[T, 3]` | defaults (SelfHAR `transformations.py`) |
 * |---|---|---|---|
 * | 1 | `noised` | `X + N(0, σ²)` elementwise | σ = 0.05 g |
 * | 2 | `scaled` | each channel × a factor ~ N(1, σ²), constant in time | σ = 0.1 |
 * | 3 | `rotated` | `X·R`, R: axis U(−1, 1)³ normalised, angle U(−π, π) (Rodrigues) | – |
 * | 4 | `negated` | `−X` | – |
 * | 5 | `time_flipped` | `X[::-1]` | – |
 * | 6 | `permuted` | 4 cut points U{0..T−1} (with replacement, sorted) → 5 segments, shuffled | 4 cuts |
 * | 7 | `time_warped` | per channel: not-a-knot cubic spline through 6 equally spaced knots ~ N(1, σ²), cumulative sum → warped times, linear re-interpolation | σ = 0.2, 4 interior knots |
 * | 8 | `channel_shuffled` | a random non-identity permutation of the axes (one of 5) | – |
 *
 * Rotation, time flip and time warp reuse lib/pretext's `rotate3d`
 * (`"axis-angle"`: SelfHAR's `rotation_transform_vectorized`),
 * `reverseTime` and `timeWarp` (the same `DistortTimesteps` algorithm and
 * scipy's not-a-knot spline); the others are here.
 *
 * Dataset (SelfHAR `create_individual_transform_dataset`, §3.1): every window
 * of an epoch contributes its **original** (all labels 0) and one copy per
 * task (label 1 on that task's head only): 9 versions, shuffled together.
 * `transforms: "precomputed"` (default; "Multi-task has better results with
 * the precomputed transformations" [P]) gives each (window, task) one fixed
 * transformation for the whole run — drawn from `mixSeed(seed, 21, window,
 * version)`, so it is computed on demand instead of cached, identical every
 * epoch and on resume; `"per-epoch"` draws new ones every epoch
 * (`mixSeed(seed, 22, epoch, window, version)`). Which windows an epoch uses
 * is lib/pretext/dontfreeze_sampling.ts (all by default; §1.4's 10 %
 * variance sample with `fraction: 0.1`).
 *
 * Batches are channels-last `[batch, T, channels]` (the TPN's layout, lib/models
 * `multitask8Model`), labels one float32 `[batch]` vector per task in task order.
 *
 * @example
 * ```ts
 * const model = multitask8Model({ seed: 1 });             // lib/models/dontfreeze_encoders.ts
 * await fit(model, multitask8Source(pool, { seed: 1, fraction: 0.1 }), {
 *   epochs: 30, optimizer: { name: "adam", lr: 3e-4 },
 *   loss: multitask8Loss(),                                 // works on workers
 *   validation: multitask8Source(held, { seed: 1, evaluation: true }),
 * });
 * const y = multitask8Transform("permuted", window, {}, rng(3)); // one transformation
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Windows } from "../data/types.ts";
import { ConfigError } from "../errors.ts";
import { type Rng, rng } from "../signal/random.ts";
import type { BatchSource } from "../train/batches.ts";
import type { LossFn } from "../train/losses.ts";
import type { LossSpec } from "../train/parallel_fit.ts";
import { mixSeed } from "../train/random.ts";
import { rotate3d } from "./augment.ts";
import {
  checkBatchSize,
  epochWindowPlan,
  evaluationIndices,
  type PretextEpochArgs,
  type PretextEvaluationArgs,
  putChannelsLast,
  windowView,
} from "./dontfreeze_sampling.ts";
import {
  applyPermutation,
  type PermutationPlan,
  reverseTime,
  timeWarp,
  windowLength,
} from "./transforms.ts";

/** The eight tasks (heads), in SelfHAR's order (§3.1). */
export const MULTITASK8_TASKS = [
  "noised",
  "scaled",
  "rotated",
  "negated",
  "time_flipped",
  "permuted",
  "time_warped",
  "channel_shuffled",
] as const;

/** One of the eight transformation-recognition tasks. */
export type Multitask8Task = (typeof MULTITASK8_TASKS)[number];

/** Parameters of the eight transformations (defaults: SelfHAR's, §3.1). */
export interface Multitask8TransformArgs {
  /** Channels per `[channels, length]` window (default 3; rotation needs a multiple of 3). */
  channels?: number;
  /** σ of the additive Gaussian noise (g, default 0.05). */
  noiseSigma?: number;
  /** σ of the per-channel scale factors around 1 (unitless, default 0.1). */
  scaleSigma?: number;
  /** Cut points of the segment permutation (default 4: 5 segments; SelfHAR `num_segments`). */
  permutationCuts?: number;
  /** σ of the time-warp speed knots around 1 (unitless, default 0.2). */
  timeWarpSigma?: number;
  /** Interior knots of the time-warp speed curve (default 4: 6 knots in all). */
  timeWarpKnots?: number;
}

// ---------------------------------------------------------------- transformations

/**
 * Additive Gaussian noise (SelfHAR `noise_transform_vectorized`): every value
 * plus an independent N(0, σ²) draw (σ in g, default 0.05).
 */
export function addGaussianNoise(
  x: Float32Array,
  args: { sigma?: number },
  rand: Rng,
): Float32Array {
  const sigma = args.sigma ?? 0.05;
  if (!(sigma >= 0) || !Number.isFinite(sigma)) {
    throw new ConfigError(`addGaussianNoise sigma: must be a finite number >= 0, got ${sigma}`);
  }
  return Float32Array.from(x, (v) => v + sigma * rand.normal());
}

/**
 * Per-channel scaling (SelfHAR `scaling_transform_vectorized`): channel c
 * times a factor ~ N(1, σ²) (default σ 0.1), the same for every sample.
 */
export function scaleChannelsNormal(
  x: Float32Array,
  args: { channels?: number; sigma?: number },
  rand: Rng,
): Float32Array {
  const c = args.channels ?? 3;
  const len = windowLength(x, c, "scaleChannelsNormal");
  const sigma = args.sigma ?? 0.1;
  if (!(sigma >= 0) || !Number.isFinite(sigma)) {
    throw new ConfigError(`scaleChannelsNormal sigma: must be a finite number >= 0, got ${sigma}`);
  }
  const out = new Float32Array(x.length);
  for (let ch = 0; ch < c; ch++) {
    const f = 1 + sigma * rand.normal();
    for (let t = 0; t < len; t++) out[ch * len + t] = x[ch * len + t] * f;
  }
  return out;
}

/** Negation (SelfHAR `negate_transform_vectorized`): `−X`. */
export function negateWindow(x: Float32Array): Float32Array {
  return Float32Array.from(x, (v) => -v);
}

/**
 * Draw SelfHAR's segment permutation (`time_segment_permutation_transform_improved`)
 * for `length` samples: `cuts` points uniform in `0..length−1` with
 * replacement, sorted, giving `cuts + 1` segments (possibly empty), in a
 * uniformly shuffled order (the identity included, as the reference).
 */
export function segmentPermutationPlan(length: number, cuts: number, rand: Rng): PermutationPlan {
  if (!Number.isInteger(cuts) || cuts < 0) {
    throw new ConfigError(`segmentPermutation cuts: must be an integer >= 0, got ${cuts}`);
  }
  const points = Int32Array.from({ length: cuts }, () => rand.int(length)).sort();
  const bounds = new Int32Array(cuts + 2);
  bounds.set(points, 1);
  bounds[cuts + 1] = length;
  const order = Int32Array.from(rand.shuffle(Array.from({ length: cuts + 1 }, (_, i) => i)));
  return { bounds, order };
}

/**
 * Segment permutation: the window cut at `cuts` random points (default 4) and
 * its segments glued back in a random order, the same on every channel. The
 * multiset of segments (and so of samples per channel) is kept.
 */
export function segmentPermutation(
  x: Float32Array,
  args: { channels?: number; cuts?: number },
  rand: Rng,
): Float32Array {
  const c = args.channels ?? 3;
  const len = windowLength(x, c, "segmentPermutation");
  return applyPermutation(x, segmentPermutationPlan(len, args.cuts ?? 4, rand), { channels: c });
}

/**
 * Channel shuffle (SelfHAR `channel_shuffle_transform_vectorized`): output
 * channel k is input channel `order[k]`, `order` a uniformly drawn
 * non-identity permutation (one of the 5 for 3 axes), unless given.
 */
export function shuffleChannels(
  x: Float32Array,
  args: { channels?: number; order?: ArrayLike<number> },
  rand: Rng,
): Float32Array {
  const c = args.channels ?? 3;
  const len = windowLength(x, c, "shuffleChannels");
  let order: ArrayLike<number>;
  if (args.order) {
    order = args.order;
    const ok = order.length === c && new Set(Array.from(order)).size === c &&
      Array.from(order).every((v) => Number.isInteger(v) && v >= 0 && v < c);
    if (!ok) throw new ConfigError(`shuffleChannels order: not a permutation of 0..${c - 1}`);
  } else {
    if (c < 2) throw new ConfigError("shuffleChannels: needs at least 2 channels");
    let p: Int32Array;
    do p = rand.permutation(c); while (p.every((v, i) => v === i));
    order = p;
  }
  const out = new Float32Array(x.length);
  for (let k = 0; k < c; k++) out.set(x.subarray(order[k] * len, (order[k] + 1) * len), k * len);
  return out;
}

/**
 * Apply one of the eight transformations to a `[channels, length]` window
 * (row-major, in g), drawing its randomness from `rand`.
 *
 * @example
 * multitask8Transform("negated", w, {}, rng(0)); // −w
 */
export function multitask8Transform(
  task: Multitask8Task,
  x: Float32Array,
  args: Multitask8TransformArgs,
  rand: Rng,
): Float32Array {
  const channels = args.channels ?? 3;
  switch (task) {
    case "noised":
      windowLength(x, channels, "multitask8Transform");
      return addGaussianNoise(x, { sigma: args.noiseSigma ?? 0.05 }, rand);
    case "scaled":
      return scaleChannelsNormal(x, { channels, sigma: args.scaleSigma ?? 0.1 }, rand);
    case "rotated":
      return rotate3d(x, { channels, mode: "axis-angle" }, rand);
    case "negated":
      windowLength(x, channels, "multitask8Transform");
      return negateWindow(x);
    case "time_flipped":
      return reverseTime(x, { channels });
    case "permuted":
      return segmentPermutation(x, { channels, cuts: args.permutationCuts ?? 4 }, rand);
    case "time_warped":
      return timeWarp(
        x,
        { channels, sigma: args.timeWarpSigma ?? 0.2, knots: args.timeWarpKnots ?? 4 },
        rand,
      );
    case "channel_shuffled":
      return shuffleChannels(x, { channels }, rand);
    default:
      throw new ConfigError(
        `multitask8Transform: unknown task "${task}" (known: ${MULTITASK8_TASKS.join(", ")})`,
      );
  }
}

function checkTasks(where: string, tasks: readonly string[]): Multitask8Task[] {
  if (!Array.isArray(tasks) || tasks.length === 0) {
    throw new ConfigError(`${where} tasks: expected a non-empty list`);
  }
  for (const t of tasks) {
    if (!(MULTITASK8_TASKS as readonly string[]).includes(t)) {
      throw new ConfigError(
        `${where} tasks: unknown task "${t}" (known: ${MULTITASK8_TASKS.join(", ")})`,
      );
    }
  }
  if (new Set(tasks).size !== tasks.length) {
    throw new ConfigError(`${where} tasks: duplicates in [${tasks}]`);
  }
  return [...tasks] as Multitask8Task[];
}

// ---------------------------------------------------------------- batches

/** A multi-task batch: channels-last windows and one label vector per task. */
export interface Multitask8Batch {
  /** Windows `[n, length, channels]` row-major (channels-last), in g. */
  x: Float32Array;
  /** Rows. */
  n: number;
  /** Per task (in `tasks` order): 1 where the row is that task's transformed copy, else 0. */
  labels: Float32Array[];
}

/** Options of {@link makeMultitask8Batch}. */
export interface Multitask8BatchOptions {
  /** Tasks, in label order (default all eight). Version v ≥ 1 is task `tasks[v − 1]`. */
  tasks?: readonly Multitask8Task[];
  /** Transformation parameters (defaults: §3.1). */
  transform?: Multitask8TransformArgs;
  /** Seed of the transformation of (window, version). */
  seedOf: (window: number, version: number) => number;
}

/**
 * Build a batch from (window, version) pairs: version 0 is the original
 * window (all labels 0), version v ≥ 1 the window under task `tasks[v − 1]`
 * (label 1 on that task only), drawn with `rng(seedOf(window, v))`.
 *
 * @throws ConfigError for a bad version or mismatched lists
 */
export function makeMultitask8Batch(
  windows: Windows,
  windowIdx: ArrayLike<number>,
  versions: ArrayLike<number>,
  opts: Multitask8BatchOptions,
): Multitask8Batch {
  const tasks = checkTasks("makeMultitask8Batch", opts.tasks ?? MULTITASK8_TASKS);
  const n = windowIdx.length;
  if (versions.length !== n) {
    throw new ConfigError(`makeMultitask8Batch: ${versions.length} versions for ${n} windows`);
  }
  const c = windows.channels, len = windows.length;
  const targs = { ...opts.transform, channels: c };
  const x = new Float32Array(n * c * len);
  const labels = tasks.map(() => new Float32Array(n));
  for (let r = 0; r < n; r++) {
    const i = windowIdx[r], v = versions[r];
    if (!Number.isInteger(v) || v < 0 || v > tasks.length) {
      throw new ConfigError(`makeMultitask8Batch: version ${v} outside 0..${tasks.length}`);
    }
    const w = windowView(windows, i);
    const y = v === 0 ? w : multitask8Transform(tasks[v - 1], w, targs, rng(opts.seedOf(i, v)));
    putChannelsLast(y, c, x, r);
    if (v > 0) labels[v - 1][r] = 1;
  }
  return { x, n, labels };
}

/** How the transformed copies are drawn across epochs. */
export type Multitask8Transforms = "precomputed" | "per-epoch";

/** Options of {@link multitask8Source}. */
export interface Multitask8SourceArgs extends PretextEpochArgs, PretextEvaluationArgs {
  /** Rows (original or transformed windows) per step (default 300, SelfHAR's config). */
  batchSize?: number;
  /**
   * `"precomputed"` (default, §3.1 [P]: better for multi-task): one fixed
   * transformation per (window, task) for the whole run; `"per-epoch"`: new
   * transformations every epoch.
   */
  transforms?: Multitask8Transforms;
  /** Tasks (default all eight), in the model's output order. */
  tasks?: readonly Multitask8Task[];
  /** Transformation parameters (defaults: §3.1). */
  transform?: Multitask8TransformArgs;
  /** Seed of the epoch sampling, the shuffling and the transformations. */
  seed: number;
}

/**
 * The multi-task batch source for `fit`: per epoch, the plan's windows
 * (lib/pretext/dontfreeze_sampling.ts) × their 1 + tasks versions, shuffled
 * (`mixSeed(seed, epoch, 13)`), `batchSize` rows per step (the last step may
 * be smaller). `x` `[batch, length, channels]`, `y` one float32 `[batch]`
 * label vector per task. With `evaluation`: every window's versions in
 * order, fixed transformations (`mixSeed(seed, 23, window, version)`).
 *
 * @throws ConfigError for an empty pool or bad arguments
 */
export function multitask8Source(windows: Windows, args: Multitask8SourceArgs): BatchSource {
  const where = "multitask8Source";
  if (!(windows.n >= 1)) throw new ConfigError(`${where} windows: empty`);
  const tasks = checkTasks(where, args.tasks ?? MULTITASK8_TASKS);
  const versions = tasks.length + 1;
  const batchSize = checkBatchSize(where, args.batchSize ?? 300);
  const mode = args.transforms ?? "precomputed";
  if (mode !== "precomputed" && mode !== "per-epoch") {
    throw new ConfigError(
      `${where} transforms: must be "precomputed" or "per-epoch", got "${mode}"`,
    );
  }
  const shape = (n: number) => [n, windows.length, windows.channels];
  const toBatch = (
    wi: ArrayLike<number>,
    vs: ArrayLike<number>,
    seedOf: Multitask8BatchOptions["seedOf"],
  ) => {
    const b = makeMultitask8Batch(windows, wi, vs, { tasks, transform: args.transform, seedOf });
    return {
      x: { data: b.x, shape: shape(b.n) },
      y: b.labels.map((l) => ({ data: l, shape: [b.n] })),
    };
  };
  if (args.evaluation) {
    const total = windows.n * versions;
    return {
      stepsPerEpoch: Math.ceil(total / batchSize),
      samplesPerEpoch: total,
      batch: ({ step }) => {
        const items = evaluationIndices(total, batchSize, step);
        const wi = items.map((k) => Math.floor(k / versions));
        const vs = items.map((k) => k % versions);
        return toBatch(wi, vs, (i, v) => mixSeed(args.seed, 23, i, v));
      },
    };
  }
  const plan = epochWindowPlan(windows, args);
  const total = plan.windowsPerEpoch * versions;
  let cachedEpoch = -1;
  let order = new Int32Array(0);
  return {
    stepsPerEpoch: Math.ceil(total / batchSize),
    samplesPerEpoch: total,
    batch: ({ epoch, step }) => {
      if (epoch !== cachedEpoch) {
        const perm = rng(mixSeed(args.seed, epoch, 13)).permutation(total);
        const idx = plan.indices(epoch);
        // item k of the epoch = window idx[floor(k / versions)], version k % versions
        order = perm.map((k) => idx[Math.floor(k / versions)] * versions + (k % versions));
        cachedEpoch = epoch;
      }
      const s = step * batchSize;
      const items = order.subarray(s, Math.min(total, s + batchSize));
      const wi = items.map((k) => Math.floor(k / versions));
      const vs = items.map((k) => k % versions);
      const seedOf = mode === "precomputed"
        ? (i: number, v: number) => mixSeed(args.seed, 21, i, v)
        : (i: number, v: number) => mixSeed(args.seed, 22, epoch, i, v);
      return toBatch(wi, vs, seedOf);
    },
  };
}

// ---------------------------------------------------------------- loss

/** Arguments of {@link multitask8LossFn} (plain data). */
export interface Multitask8LossArgs {
  /** Head names, one per model output and target, in order (default all eight). */
  tasks?: readonly string[];
  /** Weight of each head in the sum (default 1 each: SelfHAR's Keras multi-output sum, §3.1). */
  weights?: readonly number[];
}

/**
 * The multi-task loss (§3.1): `Σ_h w_h · BCE_h`, with `BCE_h` the mean over
 * the batch of the sigmoid cross-entropy of head h's logit (output h,
 * `[batch, 1]` or `[batch]`) against its 0/1 label (target h, `[batch]`):
 * `max(z, 0) − z·y + log(1 + e^{−|z|})` (= Keras `BinaryCrossentropy` on
 * `sigmoid(z)`, without its 1e-7 clipping). Reports `<task>/loss` and
 * `<task>/acc` (threshold at logit 0) when the context has a reporter. A
 * mean over samples: it decomposes over fit's worker shards.
 *
 * This is the factory a {@link multitask8Loss} spec names; call it directly
 * for a loss function in one process.
 *
 * @throws ConfigError on bad arguments or mismatched outputs / targets
 */
export function multitask8LossFn(args: Multitask8LossArgs = {}): LossFn {
  const where = "multitask8Loss";
  const tasks = args.tasks ? [...args.tasks] : [...MULTITASK8_TASKS];
  if (tasks.length === 0) throw new ConfigError(`${where} tasks: empty`);
  const weights = args.weights ? [...args.weights] : tasks.map(() => 1);
  if (weights.length !== tasks.length || !weights.every((w) => Number.isFinite(w) && w >= 0)) {
    throw new ConfigError(
      `${where} weights: expected ${tasks.length} finite weights >= 0, got [${weights}]`,
    );
  }
  return (targets, outputs, context) =>
    tf.tidy(() => {
      if (outputs.length < tasks.length || targets.length < tasks.length) {
        throw new ConfigError(
          `${where}: ${tasks.length} heads need as many outputs and targets, got ${outputs.length} outputs and ${targets.length} targets`,
        );
      }
      let total: tf.Scalar = tf.scalar(0);
      tasks.forEach((t, h) => {
        const z = outputs[h].reshape([-1]);
        const y = targets[h].toFloat().reshape([-1]);
        if (z.shape[0] !== y.shape[0]) {
          throw new ConfigError(
            `${where} head "${t}": output [${outputs[h].shape}] and target [${
              targets[h].shape
            }] differ in size`,
          );
        }
        const bce = tf.relu(z).sub(z.mul(y)).add(tf.log1p(tf.exp(z.abs().neg())))
          .mean() as tf.Scalar;
        if (context?.report) {
          context.report(`${t}/loss`, bce);
          const hit = z.greater(0).toFloat().equal(y).toFloat().mean() as tf.Scalar;
          context.report(`${t}/acc`, hit);
        }
        total = total.add(bce.mul(weights[h]));
      });
      return total;
    });
}

/**
 * The multi-task loss as data for `fit` (and its workers): a `{ module,
 * export, args }` spec of {@link multitask8LossFn}.
 *
 * @example
 * await fit(model, source, { epochs: 1, loss: multitask8Loss(), workers: "auto" });
 */
export function multitask8Loss(args: Multitask8LossArgs = {}): LossSpec {
  return {
    module: import.meta.url,
    export: "multitask8LossFn",
    args: {
      tasks: [...(args.tasks ?? MULTITASK8_TASKS)],
      ...(args.weights ? { weights: [...args.weights] } : {}),
    },
  };
}
