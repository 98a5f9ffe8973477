/**
 * SimCLR for HAR (Tang et al. [15], as "Don't freeze" runs it;
 * ../shared/specs/dont-freeze.md §3.4): two augmented views of every window
 * and the NT-Xent loss. The model (TPN encoder + projection head 256 → 128 →
 * 50 on both views) is lib/models/dontfreeze_encoders.ts `simclrModel`.
 *
 * - Augmentation: "augmentations were done using only rotation" [P] — each
 *   view independently rotated by a random 3-D rotation (axis U(−1, 1)³
 *   normalised, angle U(−π, π); Tang's `rotation_transform_vectorized`, the
 *   notebook default). `augmentations` takes any list of the multi-task
 *   transformations (lib/pretext/multitask8.ts), applied in order.
 * - `transforms: "per-epoch"` (default, Tang's code draws new views every
 *   epoch) uses `mixSeed(seed, 42, epoch, window, view)`; `"precomputed"` one
 *   fixed pair per window for the whole run (`mixSeed(seed, 41, window,
 *   view)`): the paper tried both and does not say which won (§3.4).
 * - Loss: NT-Xent with temperature τ (default 0.1, Tang's notebook; §4
 *   searches {0.05, 0.1, 0.5, 1}), Tang's reduction: the **sum** of the two
 *   views' mean cross-entropies (lib/train/losses.ts `ntXentLoss`,
 *   `reduction: "sum-of-views"`).
 *
 * Tang's defaults (§3.4): batch 512, SGD + cosine decay from 0.1; the paper
 * uses §4's search instead.
 *
 * @example
 * ```ts
 * const model = simclrModel({ seed: 1 });                        // lib/models
 * await fit(model, simclrSource(pool, { seed: 1, batchSize: 256 }), {
 *   epochs: 50, optimizer: { name: "adam", lr: 1e-3 }, loss: simclrLoss({ temperature: 0.1 }),
 *   validation: simclrSource(held, { seed: 1, evaluation: true }),
 * });
 * ```
 * @module
 */
import type { Windows } from "../data/types.ts";
import { ConfigError } from "../errors.ts";
import { rng } from "../signal/random.ts";
import type { Batch, BatchSource } from "../train/batches.ts";
import type { BuiltinLossSpec } from "../train/losses.ts";
import { mixSeed } from "../train/random.ts";
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
  MULTITASK8_TASKS,
  type Multitask8Task,
  multitask8Transform,
  type Multitask8TransformArgs,
} from "./multitask8.ts";

/** SimCLR's default temperature τ (Tang's notebook, §3.4). */
export const SIMCLR_DEFAULT_TEMPERATURE = 0.1;

/** The temperatures §4's search draws from ([D]). */
export const SIMCLR_TEMPERATURE_GRID: readonly number[] = [0.05, 0.1, 0.5, 1.0];

/** Options of {@link simclrSource}. */
export interface SimclrSourceArgs extends PretextEpochArgs, PretextEvaluationArgs {
  /** Windows per step (default 512, Tang's notebook). Each contributes two views. */
  batchSize?: number;
  /** The augmentations of each view, applied in order (default `["rotated"]`, §3.4 [P]). */
  augmentations?: readonly Multitask8Task[];
  /** Their parameters (defaults of lib/pretext/multitask8.ts). */
  transform?: Multitask8TransformArgs;
  /** `"per-epoch"` (default): new views every epoch; `"precomputed"`: one fixed pair per window. */
  transforms?: "per-epoch" | "precomputed";
  /** Seed of the epoch sampling and the augmentations. */
  seed: number;
}

/** Options of {@link makeSimclrBatch}. */
export interface SimclrBatchOptions {
  /** The augmentations, applied in order (default `["rotated"]`). */
  augmentations?: readonly Multitask8Task[];
  /** Their parameters. */
  transform?: Multitask8TransformArgs;
  /** Seed of view `view` (0 = a, 1 = b) of window `window`. */
  seedOf: (window: number, view: number) => number;
}

/** One augmented view of a `[channels, length]` window. */
export function simclrView(
  x: Float32Array,
  augmentations: readonly Multitask8Task[],
  args: Multitask8TransformArgs,
  seed: number,
): Float32Array {
  const r = rng(seed);
  return augmentations.reduce((v, a) => multitask8Transform(a, v, args, r), x);
}

/**
 * A SimCLR batch of the windows `idx`: `x = [view a, view b]`, each
 * `[n, length, channels]` (channels-last), row i of both the same window
 * under independent augmentations; no `y`.
 */
export function makeSimclrBatch(
  windows: Windows,
  idx: ArrayLike<number>,
  opts: SimclrBatchOptions,
): Batch {
  const augs = [...(opts.augmentations ?? ["rotated"])];
  for (const a of augs) {
    if (!MULTITASK8_TASKS.includes(a)) {
      throw new ConfigError(
        `simclr augmentations: unknown "${a}" (known: ${MULTITASK8_TASKS.join(", ")})`,
      );
    }
  }
  const n = idx.length, c = windows.channels, len = windows.length;
  const targs = { ...opts.transform, channels: c };
  const views = [new Float32Array(n * c * len), new Float32Array(n * c * len)];
  for (let r = 0; r < n; r++) {
    const w = windowView(windows, idx[r]);
    for (let v = 0; v < 2; v++) {
      putChannelsLast(simclrView(w, augs, targs, opts.seedOf(idx[r], v)), c, views[v], r);
    }
  }
  return { x: views.map((data) => ({ data, shape: [n, len, c] })) };
}

/**
 * The SimCLR batch source for `fit`: the plan's windows per epoch
 * (lib/pretext/dontfreeze_sampling.ts), `batchSize` per step, two views each
 * (the inputs `view_a`, `view_b` of `simclrModel`). With `evaluation`: every
 * window once in order, fixed views (`mixSeed(seed, 43, window, view)`).
 *
 * @throws ConfigError for an empty pool or bad arguments
 */
export function simclrSource(windows: Windows, args: SimclrSourceArgs): BatchSource {
  const where = "simclrSource";
  if (!(windows.n >= 1)) throw new ConfigError(`${where} windows: empty`);
  const batchSize = checkBatchSize(where, args.batchSize ?? 512);
  const mode = args.transforms ?? "per-epoch";
  if (mode !== "per-epoch" && mode !== "precomputed") {
    throw new ConfigError(
      `${where} transforms: must be "per-epoch" or "precomputed", got "${mode}"`,
    );
  }
  const opts = (seedOf: SimclrBatchOptions["seedOf"]): SimclrBatchOptions => ({
    augmentations: args.augmentations,
    transform: args.transform,
    seedOf,
  });
  if (args.evaluation) {
    return {
      stepsPerEpoch: Math.ceil(windows.n / batchSize),
      samplesPerEpoch: windows.n,
      batch: ({ step }) =>
        makeSimclrBatch(
          windows,
          evaluationIndices(windows.n, batchSize, step),
          opts((i, v) => mixSeed(args.seed, 43, i, v)),
        ),
    };
  }
  const plan = epochWindowPlan(windows, args);
  const total = plan.windowsPerEpoch;
  return {
    stepsPerEpoch: Math.ceil(total / batchSize),
    samplesPerEpoch: total,
    batch: ({ epoch, step }) => {
      const s = step * batchSize;
      const idx = plan.indices(epoch).subarray(s, Math.min(total, s + batchSize));
      const seedOf = mode === "precomputed"
        ? (i: number, v: number) => mixSeed(args.seed, 41, i, v)
        : (i: number, v: number) => mixSeed(args.seed, 42, epoch, i, v);
      return makeSimclrBatch(windows, idx, opts(seedOf));
    },
  };
}

/** Arguments of {@link simclrLoss}. */
export interface SimclrLossArgs {
  /** Temperature τ > 0 (default 0.1, §3.4). */
  temperature?: number;
  /**
   * `"sum-of-views"` (default, Tang's `NT_Xent_loss`, §3.4): the sum of the
   * two views' mean cross-entropies; `"mean"`: their mean (SimCLR's paper).
   */
  reduction?: "sum-of-views" | "mean";
}

/**
 * The SimCLR loss as data: NT-Xent over the model's two outputs (view a,
 * view b projections), lib/train/losses.ts `ntXentLoss`.
 */
export function simclrLoss(args: SimclrLossArgs = {}): BuiltinLossSpec {
  return {
    kind: "nt-xent",
    args: {
      temperature: args.temperature ?? SIMCLR_DEFAULT_TEMPERATURE,
      outputs: [0, 1],
      reduction: args.reduction ?? "sum-of-views",
    },
  };
}
