/**
 * The multi-task pretext (Yuan et al. 2024 / ssl-wearables `mtl.py`) as
 * data for the one training loop: a batch source of transformed windows
 * with one binary label per task, and the loss (the equal-weight mean of
 * the task heads' cross-entropies, per-head loss and accuracy reported).
 *
 * Every random choice of epoch `e`, step `s` derives from `(seed, e, s)`:
 * the std-weighted sampler is seeded by `mixSeed(seed, e, 1)`, the
 * transforms and augmentation of step `s` by `mixSeed(seed, e, s, 2)`, so a
 * resumed run sees the batches of an uninterrupted one.
 *
 * @example
 * ```ts
 * const model = harnet({ variant: "harnet10", head: "mtl" });
 * await fit(model, multitaskSource(pool, { batchSize: 64, seed: 1 }), {
 *   epochs: 10,
 *   optimizer: { name: "adam", lr: 1e-4 },
 *   loss: multitaskLoss(),
 *   validation: multitaskSource(held, { seed: 1, evaluation: true }),
 * });
 * ```
 * @module
 */
import type { Windows } from "../data/types.ts";
import { ConfigError } from "../errors.ts";
import { weightedSampler } from "../signal/sampling.ts";
import type { BatchSource } from "../train/batches.ts";
import { mixSeed } from "../train/random.ts";
import {
  type AugmentOptions,
  makeMultitaskBatch,
  PRETEXT_TASKS,
  type PretextTask,
} from "./multitask.ts";

/** Options of {@link multitaskSource}. */
export interface MultitaskSourceArgs {
  /** Windows per optimiser step (default 64, ssl-wearables). */
  batchSize?: number;
  /** Draws per epoch (default: the number of windows). */
  windowsPerEpoch?: number | null;
  /** `"std"` (default) draws windows ∝ their std; `"uniform"` draws uniformly. */
  weighting?: "std" | "uniform";
  /** Pretext tasks (default all four, {@link PRETEXT_TASKS}). */
  tasks?: readonly PretextTask[];
  /** Seed of sampling, transforms and augmentation. */
  seed: number;
  /**
   * Evaluation batches: every window once in order (batches of
   * `batchSize`, default 128), transforms seeded per batch by
   * `mixSeed(seed, 7)`, no orientation augmentation.
   */
  evaluation?: boolean;
  /** Orientation augmentation of training batches (default on: axis swap + rotation per subject). */
  augment?: AugmentOptions | false;
}

/**
 * A batch source of multi-task pretext batches from unlabelled `windows`:
 * `x` the transformed windows `[batch, channels, length]`, `y` one int32
 * label vector `[batch]` per task (1 = transformed), in task order.
 *
 * @throws ConfigError for an empty pool or bad sizes
 */
export function multitaskSource(windows: Windows, args: MultitaskSourceArgs): BatchSource {
  if (windows.n < 1) throw new ConfigError("multitaskSource windows: empty");
  const tasks = [...(args.tasks ?? PRETEXT_TASKS)];
  const shape = (n: number) => [n, windows.channels, windows.length];
  if (args.evaluation) {
    const bs = args.batchSize ?? 128;
    const seed = mixSeed(args.seed, 7);
    return {
      stepsPerEpoch: Math.ceil(windows.n / bs),
      samplesPerEpoch: windows.n,
      batch: ({ step }) => {
        const s = step * bs;
        const idx = Array.from({ length: Math.min(bs, windows.n - s) }, (_, i) => s + i);
        const b = makeMultitaskBatch(windows, idx, {
          tasks,
          augment: false,
          seed: mixSeed(seed, s),
        });
        return {
          x: { data: b.x, shape: shape(b.n) },
          y: tasks.map((t) => ({ data: b.labels[t], shape: [b.n] })),
        };
      },
    };
  }
  const batchSize = args.batchSize ?? 64;
  const perEpoch = args.windowsPerEpoch ?? windows.n;
  if (!(batchSize >= 1) || !(perEpoch >= 1)) {
    throw new ConfigError(
      `multitaskSource: batchSize ${batchSize} and windowsPerEpoch ${perEpoch} must be >= 1`,
    );
  }
  let epochBatches: Int32Array[] = [];
  let cached = -1;
  return {
    stepsPerEpoch: Math.ceil(perEpoch / batchSize),
    samplesPerEpoch: perEpoch,
    batch: ({ epoch, step }) => {
      if (cached !== epoch) {
        epochBatches = [
          ...weightedSampler(windows, {
            seed: mixSeed(args.seed, epoch, 1),
            weighting: args.weighting ?? "std",
            batchSize,
            numSamples: perEpoch,
            replace: perEpoch > windows.n,
          }),
        ];
        cached = epoch;
      }
      const b = makeMultitaskBatch(windows, epochBatches[step], {
        tasks,
        augment: args.augment,
        seed: mixSeed(args.seed, epoch, step, 2),
      });
      return {
        x: { data: b.x, shape: shape(b.n) },
        y: tasks.map((t) => ({ data: b.labels[t], shape: [b.n] })),
      };
    },
  };
}

/**
 * The multi-task loss as data (works on workers): the mean over `tasks` of
 * the softmax cross-entropy of the head of each task (the model's outputs
 * in {@link PRETEXT_TASKS} order, as harnet's `"mtl"` head) against the
 * task's labels (targets in task order, as {@link multitaskSource}); reports
 * `<task>/loss` and `<task>/acc`.
 */
export function multitaskLoss(tasks: readonly PretextTask[] = PRETEXT_TASKS) {
  const list = PRETEXT_TASKS.filter((t) => tasks.includes(t));
  return {
    kind: "multi-head",
    args: {
      heads: list.map((t, k) => ({
        name: t,
        loss: { kind: "cross-entropy" },
        weight: 1 / list.length,
        output: PRETEXT_TASKS.indexOf(t),
        targets: [k],
      })),
    },
  } as const;
}
