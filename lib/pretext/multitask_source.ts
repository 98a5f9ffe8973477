/**
 * The multi-task pretext (Yuan et al. 2024 / ssl-wearables `mtl.py`) as
 * data for the one training loop: a batch source of transformed windows
 * with one binary label per task, and the loss (the equal-weight mean of
 * the task heads' cross-entropies, per-head loss and accuracy reported).
 *
 * Two ways to form training batches (`sampling`):
 *
 * - `"pool"` (default): windows drawn from the whole pool ∝ std (or
 *   uniformly), `windowsPerEpoch` draws per epoch, with replacement
 *   (`replace`, default true). ssl-wearables draws a subject's 1,500 windows
 *   of tens of thousands without replacement: a few per cent of the pool,
 *   where that is practically drawing with replacement and the std weighting
 *   acts in full. On a small pool an epoch of 70 % of the windows drawn
 *   without replacement nearly undoes the weighting (on the Yuan pool: 6.7 %
 *   nearly still windows drawn against 1.0 % with replacement and 26 %
 *   uniformly), and arrow of time stalled at chance; `replace: false` keeps
 *   that behaviour (with replacement only when the draws exceed the pool).
 * - `"subjects"`: ssl-wearables' batches (`mtl.py`'s `DataLoader` over
 *   `SSL_dataset`, `batch_size = batch_subject_num`, `shuffle=True`,
 *   `collate_fn=subject_collate`). Each epoch the subjects are shuffled and
 *   taken `subjectsPerBatch` at a time; each contributes `batchSize /
 *   subjectsPerBatch` windows drawn ∝ std without replacement within the
 *   subject (`weighted_epoch_sample`; uniformly with `weighting:
 *   "uniform"`), and the subjects' windows are concatenated in order. A
 *   subject with fewer windows than that is drawn with replacement
 *   (ssl-wearables asserts instead). An epoch is one pass over the subjects,
 *   `floor(subjects / subjectsPerBatch)` steps: the leftover subjects of a
 *   pass are skipped (the `DataLoader`, `drop_last=False`, would give them a
 *   smaller last batch; here every batch has `batchSize` windows and the
 *   reshuffle makes every subject equally likely to be skipped). With
 *   `windowsPerEpoch`, an epoch is `ceil(windowsPerEpoch / batchSize)` full
 *   batches, cycling through as many subject orders as needed (each pass
 *   reshuffled).
 *
 * Every random choice of epoch `e`, step `s` derives from `(seed, e, s)`:
 * the pool's std-weighted sampler is seeded by `mixSeed(seed, e, 1)`; with
 * `"subjects"` the subject order of pass `q` by `mixSeed(seed, e, q, 3)` and
 * the draws of the batch's `j`-th subject by `mixSeed(seed, e, s, 4, j)`; the
 * transforms and augmentation of step `s` by `mixSeed(seed, e, s, 2)`. So a
 * resumed run sees the batches of an uninterrupted one, and any step can be
 * computed on its own.
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
 * // ssl-wearables' batches: 4 subjects × 16 windows each
 * multitaskSource(pool, { batchSize: 64, sampling: "subjects", subjectsPerBatch: 4, seed: 1 });
 * ```
 * @module
 */
import type { Windows } from "../data/types.ts";
import { ConfigError } from "../errors.ts";
import {
  drawFromGroup,
  groupIndices,
  samplingWeights,
  weightedSampler,
} from "../signal/sampling.ts";
import { rng } from "../random.ts";
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
  /**
   * Draws per epoch (default: the number of windows with `"pool"`; one pass
   * over the subjects with `"subjects"`, where a given value is rounded up
   * to whole batches).
   */
  windowsPerEpoch?: number | null;
  /**
   * How training batches are formed (see the module doc): `"pool"` (default,
   * draws from the whole pool) or `"subjects"` (ssl-wearables: each batch
   * `subjectsPerBatch` subjects × `batchSize / subjectsPerBatch` windows).
   * Ignored with `evaluation`.
   */
  sampling?: "pool" | "subjects";
  /**
   * Subjects per batch with `sampling: "subjects"` (required there;
   * ssl-wearables' `batch_subject_num`); must divide `batchSize` and be at
   * most the number of subjects.
   */
  subjectsPerBatch?: number;
  /** `"std"` (default) draws windows ∝ their std; `"uniform"` draws uniformly. */
  weighting?: "std" | "uniform";
  /**
   * `sampling: "pool"` only: draw with replacement (default true, see the
   * module doc); false draws an epoch without replacement unless
   * `windowsPerEpoch` exceeds the pool.
   */
  replace?: boolean;
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
  const sampling = args.sampling ?? "pool";
  if (sampling !== "pool" && sampling !== "subjects") {
    throw new ConfigError(
      `multitaskSource: sampling must be "pool" or "subjects", got "${sampling}"`,
    );
  }
  if (sampling === "subjects") {
    if (args.replace !== undefined) {
      throw new ConfigError(
        'multitaskSource: replace applies to sampling: "pool" (subjects draw without replacement within a subject)',
      );
    }
    return subjectSource(windows, args, tasks);
  }
  if (args.subjectsPerBatch !== undefined) {
    throw new ConfigError('multitaskSource: subjectsPerBatch needs sampling: "subjects"');
  }
  const replace = args.replace ?? true;
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
            replace: replace || perEpoch > windows.n,
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

/** The windows of `sampling: "subjects"` batches, step by step (see {@link subjectBatchPlan}). */
export interface SubjectBatchPlan {
  /** Steps per epoch (`floor(subjects / subjectsPerBatch)`, or from `windowsPerEpoch`). */
  stepsPerEpoch: number;
  /** Subjects per batch. */
  subjectsPerBatch: number;
  /** Windows each subject contributes (`batchSize / subjectsPerBatch`). */
  windowsPerSubject: number;
  /** The distinct subjects, in order of first appearance in `windows.subject`. */
  subjects: string[];
  /**
   * Window indices of step `step` of epoch `epoch` (`batchSize` of them,
   * subject after subject), a pure function of `(seed, epoch, step)`.
   */
  indices(epoch: number, step: number): Int32Array;
}

/**
 * The window indices behind {@link multitaskSource}'s `sampling: "subjects"`
 * batches (before transforms and augmentation): `args.batchSize` (default
 * 64), `args.subjectsPerBatch`, `args.windowsPerEpoch`, `args.weighting` and
 * `args.seed` as there. Useful to inspect or reuse ssl-wearables' subject
 * batches for another pretext.
 *
 * @throws ConfigError without `subjectsPerBatch`, when it is not an integer
 *   in 1..subjects or does not divide `batchSize`, or for a bad `windowsPerEpoch`.
 */
export function subjectBatchPlan(windows: Windows, args: MultitaskSourceArgs): SubjectBatchPlan {
  const batchSize = args.batchSize ?? 64;
  const spb = args.subjectsPerBatch;
  if (windows.subject.length !== windows.n) {
    throw new ConfigError(
      `multitaskSource: windows.subject has ${windows.subject.length} entries for ${windows.n} windows`,
    );
  }
  const groups = groupIndices(windows.subject);
  const nSubjects = groups.keys.length;
  if (spb === undefined) {
    throw new ConfigError('multitaskSource: sampling "subjects" needs subjectsPerBatch');
  }
  if (!Number.isInteger(spb) || spb < 1 || spb > nSubjects) {
    throw new ConfigError(
      `multitaskSource: subjectsPerBatch must be an integer in 1..${nSubjects} (the subjects), got ${spb}`,
    );
  }
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize % spb !== 0) {
    throw new ConfigError(
      `multitaskSource: batchSize ${batchSize} must be a positive multiple of subjectsPerBatch ${spb}`,
    );
  }
  const perSubject = batchSize / spb;
  const groupsPerPass = Math.floor(nSubjects / spb);
  const wpe = args.windowsPerEpoch;
  if (wpe != null && !(wpe >= 1)) {
    throw new ConfigError(`multitaskSource: windowsPerEpoch ${wpe} must be >= 1`);
  }
  const weights = samplingWeights(windows, { weighting: args.weighting ?? "std" });
  let order: ArrayLike<number> = [];
  let orderKey = "";
  return {
    stepsPerEpoch: wpe == null ? groupsPerPass : Math.ceil(wpe / batchSize),
    subjectsPerBatch: spb,
    windowsPerSubject: perSubject,
    subjects: groups.keys,
    indices: (epoch, step) => {
      const pass = Math.floor(step / groupsPerPass);
      const key = `${epoch}:${pass}`;
      if (key !== orderKey) {
        order = rng(mixSeed(args.seed, epoch, pass, 3)).permutation(nSubjects);
        orderKey = key;
      }
      const first = (step % groupsPerPass) * spb;
      const idx = new Int32Array(batchSize);
      for (let j = 0; j < spb; j++) {
        const draw = drawFromGroup(
          groups.members[order[first + j]],
          weights,
          perSubject,
          mixSeed(args.seed, epoch, step, 4, j),
        );
        idx.set(draw, j * perSubject);
      }
      return idx;
    },
  };
}

/** `sampling: "subjects"` (see the module doc). */
function subjectSource(
  windows: Windows,
  args: MultitaskSourceArgs,
  tasks: PretextTask[],
): BatchSource {
  const plan = subjectBatchPlan(windows, args);
  const batchSize = plan.subjectsPerBatch * plan.windowsPerSubject;
  return {
    stepsPerEpoch: plan.stepsPerEpoch,
    samplesPerEpoch: plan.stepsPerEpoch * batchSize,
    batch: ({ epoch, step }) => {
      const b = makeMultitaskBatch(windows, plan.indices(epoch, step), {
        tasks,
        augment: args.augment,
        seed: mixSeed(args.seed, epoch, step, 2),
      });
      return {
        x: { data: b.x, shape: [b.n, windows.channels, windows.length] },
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
