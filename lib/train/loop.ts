/**
 * The training loop: mini-batch training of any tfjs model (a
 * `tf.LayersModel` or an object with `weights` and `apply`) on fixed
 * labelled arrays or on a *batch source* (lib/train/batches.ts: `{ x, y }`
 * per step, any number of inputs and targets, or none), with a general loss
 * (lib/train/losses.ts: cross-entropy, masked L1/L2, NT-Xent, InfoNCE,
 * multi-head sums with per-head metrics), our PyTorch-semantics optimisers,
 * learning-rate schedules, per-epoch and per-step validation, early stopping
 * with restore-best on any recorded metric, freezing with unfreezing at a
 * fraction of the steps, periodic atomic checkpoints with exact resume, and
 * a progress bar. Both cores: `workers` trains data-parallel in Web Workers
 * (lib/train/parallel_fit.ts), `"auto"` whenever the fast native backend is
 * up.
 *
 * Determinism: batch order, the sources' seeds and every random op inside
 * the model (dropout) are drawn from one seeded generator whose state is
 * checkpointed, so on the same backend and worker count a run killed and
 * resumed from its last checkpoint ends with exactly the weights and
 * history of an uninterrupted run.
 *
 * @example
 * ```ts
 * // classification on arrays
 * const res = await fit(model, trainWindows, {
 *   epochs: 20, batchSize: 64, seed: 1,
 *   optimizer: { name: "adamw", lr: 1e-3, weightDecay: 0.01 },
 *   classWeights: "balanced",
 *   validation: valWindows,
 *   earlyStopping: { monitor: "valLoss", patience: 5 },
 *   checkpointDir: "results/run1/ckpt", checkpointEverySteps: 200,
 *   channelsLast: true, workers: "auto",
 * });
 * res.history.print();
 * // a pretext task from a batch source, with a multi-head loss
 * await fit(mtlModel, { stepsPerEpoch: 128, batch: (ctx) => pretextBatch(ctx) }, {
 *   epochs: 12, loss: { kind: "multi-head", args: { heads } },
 *   validate: (m) => ({ "val/acc": heldOutAccuracy(m) }),
 * });
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type * as aq from "arquero";
import { join } from "node:path";
import { backendInfo, type BackendPath } from "../backend/select.ts";
import type { Windows } from "../data/types.ts";
import { CheckpointError, ConfigError } from "../errors.ts";
import {
  asList,
  type Batch,
  type BatchContext,
  type BatchSource,
  checkBatch,
  disposeBatch,
  type FitData,
  type FitInput,
  gatherRows,
  isBatchSource,
  prepareArrays,
  type PreparedArrays,
  toHostTensor,
  toTensor,
} from "./batches.ts";
import { readCheckpoint, type StoredTensor, writeCheckpoint } from "./checkpoint.ts";
import { checkFiniteTensor, describeNonFinite } from "../models/finite.ts";
import { type FrozenBatchNormMode, setFrozenBatchNormMode } from "../models/batchnorm.ts";
import { EarlyStopping, type EarlyStoppingArgs, macroF1 } from "./early_stopping.ts";
import {
  readWeights,
  selectorFn,
  weightEntries,
  type WeightSelector,
  writeWeights,
} from "./freeze.ts";
import { defaultLoss, forward, type TrainableModel } from "./forward.ts";
import { type EpochRecord, historyTable } from "./history.ts";
import {
  balancedClassWeights,
  isBatchLevelLoss,
  type LossContext,
  type LossFn,
  weightedCrossEntropy,
} from "./losses.ts";
import {
  makeOptimizer,
  type Optimizer,
  type OptimizerSpec,
  type OptimizerState,
  type Param,
  torchSpecOf,
} from "./optimisers.ts";
import type { FitWorkers, LossSpec } from "./parallel_fit.ts";
import { ProgressBar, type ProgressMode } from "./progress.ts";
import { mixSeed, rng as makeRng, type RngState, withSeededMathRandom } from "./random.ts";
import { constantLr, type Schedule } from "./schedules.ts";

export type { Batch, BatchContext, BatchSource, FitData, FitInput, LossContext, LossFn };
export { defaultLoss, forward, type TrainableModel };

/**
 * A loss described as data, `{ kind, args }` (lib/train/losses.ts
 * `lossFromSpec`): sent as is to workers.
 */
export interface LossKindSpec {
  /** Loss kind, e.g. `"cross-entropy"`, `"masked-l1"`, `"nt-xent"`, `"multi-head"`. */
  kind: string;
  /** Its arguments (plain data). */
  args?: unknown;
}

/** Any loss {@link fit} takes. */
export type FitLoss = LossFn | LossSpec | LossKindSpec;

/** What a validation callback is told. */
export interface ValidateInfo {
  /** 1-based epoch (the epoch just finished, or in progress for per-step validation). */
  epoch: number;
  /** Optimiser steps done. */
  step: number;
  /** True at an epoch end, false for a per-step validation. */
  epochEnd: boolean;
}

/** One validation pass's metrics (per-step ones are kept in {@link FitResult.validations}). */
export interface ValidationRecord {
  /** Optimiser steps done when it ran. */
  step: number;
  /** 1-based epoch. */
  epoch: number;
  /** True at an epoch end. */
  epochEnd: boolean;
  /** `valLoss`, `valF1` and `val/<name>` metrics. */
  metrics: Record<string, number>;
}

/** Options for {@link fit}. */
export interface FitArgs {
  /** Number of passes over the training data (or of `stepsPerEpoch` source steps). */
  epochs: number;
  /** Samples per optimiser step for array data (default 32); the last batch may be smaller. */
  batchSize?: number;
  /** Optimiser instance or spec (default Adam, lr 1e-3). */
  optimizer?: Optimizer | OptimizerSpec;
  /** Learning-rate schedule over the global step (default: constant at the optimiser's lr). */
  schedule?: Schedule;
  /**
   * Loss (default: class-weighted cross-entropy of output 0 against integer
   * labels `y[0]`): a {@link LossFn} `(targets, outputs, context) => scalar`,
   * a {@link LossKindSpec} `{ kind, args }` (lib/train/losses.ts) or a
   * {@link LossSpec} `{ module, export, args }` whose factory returns a
   * LossFn. Workers need one of the last two (functions cannot be sent).
   */
  loss?: FitLoss;
  /** Per-class weights for the default loss, or `"balanced"` (sklearn) from the training labels (arrays only). */
  classWeights?: ArrayLike<number> | "balanced";
  /** Number of classes (default: `classes.length` of Windows, else max label + 1). */
  numClasses?: number;
  /** True when the model outputs probabilities (softmax) rather than logits (default false). */
  outputsProbabilities?: boolean;
  /**
   * Validation data evaluated after each epoch: labelled arrays (loss and,
   * for a single-label classifier, macro F1 → `valLoss`, `valF1`) or a
   * batch source (mean loss → `valLoss`, and the loss's reported metrics as
   * `val/<name>`; seeds fixed, the same batches every time).
   */
  validation?: FitInput;
  /**
   * Custom validation after each epoch (and every `validateEverySteps`):
   * its metrics join the epoch record (e.g. `{ "val/aot/acc": 0.8 }`) and
   * can be monitored by early stopping. Runs on the caller's model (with
   * workers, it holds their current weights).
   */
  validate?: (
    model: TrainableModel,
    info: ValidateInfo,
  ) => Record<string, number> | Promise<Record<string, number>>;
  /** Also validate every this many optimiser steps (default only at epoch ends). */
  validateEverySteps?: number;
  /**
   * Validate at the end of every this many epochs, and of the last one
   * (default 1: every epoch). The other epochs' records have `valLoss` and
   * `valF1` NaN, and early stopping only counts validated epochs.
   */
  validateEveryEpochs?: number;
  /** Called after each validation pass (per-step and per-epoch). */
  onValidate?: (record: ValidationRecord) => void | Promise<void>;
  /** Stop when the monitored metric stops improving (`valLoss`, `valF1` or any record key). */
  earlyStopping?: EarlyStoppingArgs;
  /**
   * Weights to freeze (see {@link WeightSelector}), e.g. `"feature_extractor"` or
   * `firstKBlocks(2)`. Like PyTorch `requires_grad = False`: no gradient step,
   * but batch-norm statistics still update in training mode unless
   * `frozenBatchNorm: "inference"`. Without `unfreezeAtFraction` the weights
   * stay frozen (trainable = false) after `fit`.
   */
  freeze?: WeightSelector;
  /** Unfreeze the frozen weights at this fraction of the total steps (SelfPAB: 0.75). */
  unfreezeAtFraction?: number;
  /**
   * What a batch-norm layer does in training steps while all of its
   * trainable weights (γ, β) are frozen (by `freeze`, or already
   * non-trainable; lib/models/batchnorm.ts `FrozenBatchNormMode`):
   *
   * - `"batch-stats"` (default): tfjs-layers' behaviour, and PyTorch's for
   *   `requires_grad = False` in `train()` mode — it normalises with the
   *   batch's statistics and keeps updating its moving mean and variance
   *   (tfjs-layers' `BatchNormalization` only looks at the `training` flag,
   *   not at `trainable`). The Yuan and SelfPAB experiments rely on it.
   * - `"inference"`: Keras' (TF ≥ 2) behaviour for `trainable = False` —
   *   the layer runs as with `training: false`: it normalises with its
   *   moving statistics and does not update them, so frozen blocks (e.g.
   *   transferred Multi-ResNet blocks) keep their weights and statistics
   *   bit-identical. When `unfreezeAtFraction` unfreezes the weights, the
   *   layer trains normally again.
   *
   * Applied to every batch-norm layer of the model for the duration of
   * `fit` (previous modes restored at the end), in one thread and in the
   * workers alike. Checkpoints record it; resuming with another mode is an
   * error.
   */
  frozenBatchNorm?: FrozenBatchNormMode;
  /** Folder for the checkpoint file `checkpoint.bin`; resumes from it when present. */
  checkpointDir?: string;
  /** Checkpoint every this many optimiser steps (default: only at epoch ends). */
  checkpointEverySteps?: number;
  /** Resume from `checkpointDir` when a checkpoint exists (default true). */
  resume?: boolean;
  /** Seed of batch order, source seeds and in-model randomness (default 0). */
  seed?: number;
  /** Shuffle array data each epoch (default true). */
  shuffle?: boolean;
  /**
   * Feed rank-3 `[n, channels, length]` inputs as `[n, length, channels]`
   * (tfjs conv1d layout; default false).
   */
  channelsLast?: boolean;
  /** Batch size for validation forward passes on arrays (default 256). */
  evalBatchSize?: number;
  /** Progress bar mode, or false for none (default `"auto"`). */
  progress?: ProgressMode | false;
  /** Progress bar label (default `"fit"`). */
  label?: string;
  /** Called after each epoch with its record. */
  onEpochEnd?: (record: EpochRecord) => void | Promise<void>;
  /** Called after each optimiser step with the step's loss and reported metrics. */
  onStep?: (
    info: { step: number; epoch: number; loss: number; metrics: Record<string, number> },
  ) => void | Promise<void>;
  /** Called after each checkpoint is written. */
  onCheckpoint?: (info: { path: string; step: number }) => void | Promise<void>;
  /**
   * Data-parallel training in this many Web Workers, or `"auto"`: all cores
   * (`navigator.hardwareConcurrency`, or `$HAR_WORKERS`) when the calling
   * thread runs the native BLAS backend (`initBackend` took the `blas`
   * path), the model is a `tf.LayersModel`, the loss is data and the
   * optimiser one of optimisers.ts; else the calling thread. Default 0 (the
   * calling thread); the experiments pass `"auto"`.
   *
   * Each worker rebuilds the model from `model.toJSON()` (custom layers of
   * lib/models registered) and takes a contiguous share of every batch; the
   * gradients are averaged weighted by shard size (or by the shards' summed
   * sample weights: class weights with the default loss, `Batch.sampleWeights`
   * otherwise). The step equals the single-thread one up to float rounding
   * when the loss is a mean over samples; a batch-level loss (NT-Xent,
   * InfoNCE: losses.ts `isBatchLevelLoss`) sees each shard's samples as its
   * negatives, as PyTorch DDP without a gather, so `"auto"` trains such a
   * loss in the calling thread (its negatives are the whole batch, as the
   * references') and only an explicit number shards it. Batch norm normalises with the whole batch's
   * statistics (exchanged between the workers, `syncBatchNorm`), so it
   * trains as in one thread; dropout masks differ from a single-thread run. The
   * caller's model receives the weights at each epoch end (before
   * validation), at per-step validations, checkpoints and at the end.
   */
  workers?: number | "auto";
  /** Backend paths each worker tries (default `["blas", "wasm", "cpu"]`, see `initBackend`). */
  workerBackend?: BackendPath[];
  /**
   * With `workers`: batch norm over the whole batch (default true; see
   * lib/backend/parallel.ts). False: each shard's own statistics (PyTorch
   * DDP without SyncBatchNorm).
   */
  syncBatchNorm?: boolean;
  /** Extra modules each worker imports before rebuilding the model (e.g. custom layers). */
  workerImports?: string[];
}

/** What {@link fit} returns. */
export interface FitResult {
  /** Per-epoch history: epoch, trainLoss, valLoss, valF1, lr, seconds, then any metrics. */
  history: aq.ColumnTable;
  /** The same history as plain rows. */
  rows: EpochRecord[];
  /** Every validation pass, per-step ones included. */
  validations: ValidationRecord[];
  /** Optimiser steps taken in total (including before a resume). */
  steps: number;
  /** True when early stopping ended the run. */
  stoppedEarly: boolean;
  /** 1-based epoch whose weights the model holds after restore-best, or null. */
  bestEpoch: number | null;
  /** Global step the run resumed from, or null for a fresh run. */
  resumedFromStep: number | null;
  /** Workers that trained (0: the calling thread). */
  workers: number;
}

/** The checkpoint file name inside `checkpointDir`. */
export const CHECKPOINT_FILE = "checkpoint.bin";

/** True for a `{ kind }` loss description. */
export function isLossKindSpec(l: unknown): l is LossKindSpec {
  return typeof l === "object" && l !== null && typeof (l as LossKindSpec).kind === "string";
}

/**
 * The loss function of a {@link FitLoss} (a function is returned as is).
 *
 * @throws ConfigError for an unknown kind or a module that does not give one
 */
export async function resolveLoss(loss: FitLoss): Promise<LossFn> {
  if (typeof loss === "function") return loss;
  if (isLossKindSpec(loss)) {
    const { lossFromSpec } = await import("./losses.ts");
    return lossFromSpec(loss as never);
  }
  return (await import("./parallel_fit.ts")).loadLoss(loss);
}

/** Collects what a loss reports during one step, weighted for epoch means. */
class MetricSums {
  sums: Record<string, number> = {};
  counts: Record<string, number> = {};
  add(metrics: Record<string, number>, weight: number): void {
    for (const [k, v] of Object.entries(metrics)) {
      this.sums[k] = (this.sums[k] ?? 0) + v * weight;
      this.counts[k] = (this.counts[k] ?? 0) + weight;
    }
  }
  means(prefix: string): Record<string, number> {
    return Object.fromEntries(
      Object.keys(this.sums).map((k) => [`${prefix}${k}`, this.sums[k] / this.counts[k]]),
    );
  }
  state(): { sums: Record<string, number>; counts: Record<string, number> } {
    return { sums: { ...this.sums }, counts: { ...this.counts } };
  }
  set(s: { sums: Record<string, number>; counts: Record<string, number> } | undefined): void {
    this.sums = { ...(s?.sums ?? {}) };
    this.counts = { ...(s?.counts ?? {}) };
  }
}

/** A reporter collecting the scalars a loss reports (read synchronously). */
export function metricReporter(): {
  report: (name: string, value: number | tf.Scalar) => void;
  metrics: Record<string, number>;
} {
  const metrics: Record<string, number> = {};
  return {
    metrics,
    report: (name, value) => {
      metrics[name] = typeof value === "number" ? value : value.dataSync()[0];
    },
  };
}

/**
 * Evaluate a model on labelled data in inference mode: the loss (the same
 * loss as training; the default class-weighted cross-entropy is computed
 * over the whole set, a custom loss is averaged over batches weighted by
 * their size) and, for a single `[n, classes]` output with one label per
 * sample, macro F1 and the predicted classes (else `f1` is NaN and
 * `predictions` empty).
 */
export function evaluateClassifier(
  model: TrainableModel,
  data: FitData | Windows,
  args: {
    /** Custom loss (default weighted cross-entropy). */
    loss?: LossFn;
    /** Class weights of the default loss. */
    classWeights?: ArrayLike<number>;
    /** The model outputs probabilities, not logits. */
    outputsProbabilities?: boolean;
    /** Feed `[n, channels, length]` as `[n, length, channels]`. */
    channelsLast?: boolean;
    /** Samples per forward pass (default 256). */
    batchSize?: number;
  } = {},
): { loss: number; f1: number; predictions: Int32Array; metrics: Record<string, number> } {
  const p = prepareArrays(data, "validation");
  const bs = args.batchSize ?? 256;
  const outs: Float32Array[] = [];
  let preds: Int32Array | null = p.yWidth === 1 ? new Int32Array(p.idx.length) : null;
  let k = 0, customSum = 0;
  const sums = new MetricSums();
  for (let s = 0; s < p.idx.length; s += bs) {
    const { x, y, n } = gatherRows(p, p.idx, s, Math.min(p.idx.length, s + bs));
    tf.tidy(() => {
      const outputs = forward(model, [toTensor(x, "x")], {
        training: false,
        channelsLast: args.channelsLast,
      });
      const out = outputs[0];
      if (args.loss) {
        const r = metricReporter();
        customSum += args.loss([toTensor(y, "y")], outputs, { report: r.report }).dataSync()[0] *
          n;
        sums.add(r.metrics, n);
      } else {
        k = out.shape[1] ?? 1;
        outs.push(out.dataSync().slice() as Float32Array);
      }
      if (preds && out.rank === 2 && outputs.length === 1) {
        preds.set(out.argMax(-1).dataSync() as Int32Array, s);
      } else preds = null;
    });
  }
  let loss: number;
  if (args.loss) loss = customSum / Math.max(1, p.idx.length);
  else {
    const all = new Float32Array(outs.reduce((a, o) => a + o.length, 0));
    let off = 0;
    for (const o of outs) {
      all.set(o, off);
      off += o.length;
    }
    const yTrue = Int32Array.from(p.idx, (i) => p.y[i]);
    loss = tf.tidy(() =>
      weightedCrossEntropy(
        tf.tensor(all, [p.idx.length, k]),
        tf.tensor1d(yTrue, "int32"),
        args.classWeights,
        !args.outputsProbabilities,
      ).dataSync()[0]
    );
  }
  const metrics = sums.means("val/");
  if (!preds) return { loss, f1: NaN, predictions: new Int32Array(0), metrics };
  const yTrue = Int32Array.from(p.idx, (i) => p.y[i]);
  return { loss, f1: macroF1(yTrue, preds), predictions: preds, metrics };
}

/**
 * Evaluate a loss over every batch of a source in inference mode (the
 * source's epoch 0 with fixed seeds): the mean loss weighted by batch size
 * and the means of what the loss reported.
 */
export async function evaluateSource(
  model: TrainableModel,
  source: BatchSource,
  loss: LossFn,
  opts: { seed?: number; channelsLast?: boolean } = {},
): Promise<{ loss: number; metrics: Record<string, number> }> {
  const seed = opts.seed ?? 0;
  const sums = new MetricSums();
  let total = 0, count = 0;
  const one = (b: Batch, step: number) => {
    const n = checkBatch(b, `validation batch ${step}`);
    try {
      tf.tidy(() => {
        const outputs = forward(model, asList(b.x).map((t, i) => toTensor(t, `x[${i}]`)), {
          training: false,
          channelsLast: opts.channelsLast,
        });
        const r = metricReporter();
        const targets = asList(b.y).map((t, i) => toTensor(t, `y[${i}]`));
        total += loss(targets, outputs, { report: r.report, seed }).dataSync()[0] * n;
        sums.add(r.metrics, n);
      });
    } finally {
      disposeBatch(b);
    }
    count += n;
  };
  const epochSeed = mixSeed(seed, 0x7a11d);
  if (source.batch) {
    for (let s = 0; s < source.stepsPerEpoch; s++) {
      one(
        await source.batch({
          epoch: 0,
          step: s,
          globalStep: s,
          seed: mixSeed(epochSeed, s),
          epochSeed,
        }),
        s,
      );
    }
  } else {
    let s = 0;
    for await (const b of source.epoch({ epoch: 0, epochSeed })) {
      if (s >= source.stepsPerEpoch) break;
      one(b, s++);
    }
  }
  return { loss: count ? total / count : NaN, metrics: sums.means("val/") };
}

/**
 * Resolve `workers` (see {@link FitArgs.workers}) for this model, loss and
 * optimiser: the number of workers to start (0: the calling thread).
 */
export function resolveWorkers(
  workers: number | "auto" | undefined,
  model: TrainableModel,
  loss: FitLoss | undefined,
  optimizer: Optimizer,
): number {
  if (workers === undefined) return 0;
  if (workers === "auto") {
    const env = (() => {
      try {
        return Deno.env.get("HAR_WORKERS");
      } catch {
        return undefined;
      }
    })();
    // in-batch negatives: sharding would change the loss (see FitArgs.workers)
    if (isBatchLevelLoss(loss)) return 0;
    if (env !== undefined && env !== "") {
      const n = Number(env);
      if (!Number.isInteger(n) || n < 0) {
        throw new ConfigError(`HAR_WORKERS: a whole number >= 0, got "${env}"`);
      }
      if (n === 0) return 0;
      return canUseWorkers(model, loss, optimizer) ? n : 0;
    }
    if (backendInfo()?.path !== "blas") return 0;
    const cores = navigator.hardwareConcurrency ?? 1;
    return cores >= 2 && canUseWorkers(model, loss, optimizer) ? cores : 0;
  }
  const n = Math.floor(workers);
  if (!(n >= 0)) throw new ConfigError(`fit workers: must be >= 0 or "auto", got ${workers}`);
  if (n > 0 && typeof loss === "function") {
    throw new ConfigError(
      "fit workers: a loss function cannot be sent to workers; give it as " +
        "{ kind, args } (LossKindSpec) or { module, export, args } (LossSpec)",
    );
  }
  return n;
}

function canUseWorkers(model: TrainableModel, loss: FitLoss | undefined, opt: Optimizer): boolean {
  return typeof loss !== "function" &&
    typeof (model as { toJSON?: unknown }).toJSON === "function" &&
    torchSpecOf(opt) !== null;
}

interface LoopState {
  step: number; // global optimiser steps done
  epoch: number; // current epoch (0-based)
  stepInEpoch: number;
  perm: Int32Array | null; // current epoch's row order (arrays)
  epochSeed: number | null; // current epoch's seed (sources)
  lossSum: number;
  lossCount: number;
  epochSeconds: number; // seconds spent in the current epoch before a resume
  rows: EpochRecord[];
  validations: ValidationRecord[];
  finished: boolean;
  stoppedEarly: boolean;
}

/** JSON stores NaN as null: back to NaN. */
function nanRows<T>(rows: unknown): T[] {
  return ((rows ?? []) as Record<string, unknown>[]).map((r) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => [
        k,
        v === null ? NaN : typeof v === "object" ? nanRows([v])[0] : v,
      ]),
    )
  ) as T[];
}

/**
 * Train `model` on `data` (labelled arrays or a batch source). See
 * {@link FitArgs}; returns the per-epoch history. All intermediate tensors
 * are disposed: the tensor count after each epoch is constant.
 */
export async function fit(
  model: TrainableModel,
  data: FitInput,
  args: FitArgs,
): Promise<FitResult> {
  if (!(args.epochs >= 1)) throw new ConfigError(`fit epochs: must be >= 1, got ${args.epochs}`);
  const batchSize = args.batchSize ?? 32;
  if (!(batchSize >= 1)) throw new ConfigError(`fit batchSize: must be >= 1, got ${batchSize}`);
  if (args.earlyStopping && !args.validation && !args.validate) {
    throw new ConfigError("fit earlyStopping: needs validation data or a validate callback");
  }
  if (
    args.unfreezeAtFraction !== undefined &&
    !(args.unfreezeAtFraction >= 0 && args.unfreezeAtFraction <= 1)
  ) {
    throw new ConfigError(
      `fit unfreezeAtFraction: must be in [0, 1], got ${args.unfreezeAtFraction}`,
    );
  }
  const bnMode: FrozenBatchNormMode = args.frozenBatchNorm ?? "batch-stats";
  if (bnMode !== "batch-stats" && bnMode !== "inference") {
    throw new ConfigError(
      `fit frozenBatchNorm: must be "inference" or "batch-stats", got ${args.frozenBatchNorm}`,
    );
  }
  const everyEpochs = args.validateEveryEpochs ?? 1;
  if (!(Number.isInteger(everyEpochs) && everyEpochs >= 1)) {
    throw new ConfigError(`fit validateEveryEpochs: a whole number >= 1, got ${everyEpochs}`);
  }
  if (args.validateEverySteps !== undefined && !(args.validateEverySteps >= 1)) {
    throw new ConfigError(`fit validateEverySteps: must be >= 1, got ${args.validateEverySteps}`);
  }
  const source: BatchSource | null = isBatchSource(data) ? data : null;
  if (source && !(Number.isInteger(source.stepsPerEpoch) && source.stepsPerEpoch >= 1)) {
    throw new ConfigError(
      `fit data.stepsPerEpoch: a whole number >= 1, got ${source.stepsPerEpoch}`,
    );
  }
  const train: PreparedArrays | null = source ? null : prepareArrays(data as FitData, "data");
  if (train && train.idx.length === 0) throw new ConfigError("fit data: no labelled samples");
  const valSource = args.validation && isBatchSource(args.validation) ? args.validation : null;
  const valArrays = args.validation && !valSource
    ? prepareArrays(args.validation as FitData, "validation")
    : null;
  let numClasses = args.numClasses ?? train?.classes;
  if (numClasses === undefined && train) {
    let m = -1;
    for (const i of train.idx) m = Math.max(m, train.y[i]);
    if (valArrays) { for (const i of valArrays.idx) m = Math.max(m, valArrays.y[i]); }
    numClasses = m + 1;
  }
  if (train && train.yWidth > 1 && (!args.loss || args.classWeights === "balanced")) {
    throw new ConfigError(
      `fit data.yWidth ${train.yWidth}: multi-label data needs a custom loss (and explicit weights)`,
    );
  }
  if (args.classWeights === "balanced" && !train) {
    throw new ConfigError('fit classWeights: "balanced" needs labelled arrays, not a batch source');
  }
  const classWeights = args.classWeights === "balanced"
    ? balancedClassWeights(Int32Array.from(train!.idx, (i) => train!.y[i]), numClasses!)
    : args.classWeights;
  const fromLogits = !args.outputsProbabilities;
  const customLoss: LossFn | undefined = args.loss ? await resolveLoss(args.loss) : undefined;
  const lossFn: LossFn = customLoss ?? defaultLoss(classWeights, fromLogits);

  const ownOptimizer = !(args.optimizer && "applyGradients" in args.optimizer);
  const optimizer: Optimizer = ownOptimizer
    ? makeOptimizer((args.optimizer as OptimizerSpec) ?? { name: "adam", lr: 1e-3 })
    : args.optimizer as Optimizer;
  const workers = resolveWorkers(args.workers, model, args.loss, optimizer);
  const schedule = args.schedule ?? constantLr({ lr: optimizer.lr });
  const rng = makeRng(args.seed ?? 0);
  const es = args.earlyStopping ? new EarlyStopping(args.earlyStopping) : null;

  const entries = weightEntries(model);
  const baseTrainable = entries.filter((e) => e.trainable);
  const nSamples = train ? train.idx.length : source!.samplesPerEpoch ?? NaN;
  const stepsPerEpoch = train ? Math.ceil(train.idx.length / batchSize) : source!.stepsPerEpoch;
  const totalSteps = stepsPerEpoch * args.epochs;
  const frozenSel = args.freeze ? selectorFn(args.freeze) : null;
  const frozenNames = new Set(
    frozenSel ? baseTrainable.filter((e) => frozenSel(e.name)).map((e) => e.name) : [],
  );
  if (frozenSel && frozenNames.size === 0) {
    throw new ConfigError(
      `fit freeze: selector ${String(args.freeze)} matches no trainable weight`,
    );
  }
  const unfreezeStep = args.unfreezeAtFraction !== undefined
    ? Math.floor(args.unfreezeAtFraction * totalSteps)
    : Infinity;
  let frozenNow: boolean | null = null;
  let params: Param[] = [];
  let vars: tf.Variable[] = [];
  /** Per trainable weight: trained now (null: all), for the workers. */
  let activeMask: boolean[] | null = null;
  const setFreeze = (step: number) => {
    const f = frozenNames.size > 0 && step < unfreezeStep;
    if (f === frozenNow) return;
    frozenNow = f;
    const mask = baseTrainable.map((e) => !(f && frozenNames.has(e.name)));
    baseTrainable.forEach((e, i) => e.setTrainable(mask[i]));
    const active = baseTrainable.filter((_, i) => mask[i]);
    params = active.map((e) => ({ key: `w${e.index}`, variable: e.variable }));
    vars = active.map((e) => e.variable);
    activeMask = f ? mask : null;
  };

  let best: Float32Array[] | null = null;
  const st: LoopState = {
    step: 0,
    epoch: 0,
    stepInEpoch: 0,
    perm: null,
    epochSeed: null,
    lossSum: 0,
    lossCount: 0,
    epochSeconds: 0,
    rows: [],
    validations: [],
    finished: false,
    stoppedEarly: false,
  };
  const trainMetrics = new MetricSums();
  const ckptPath = args.checkpointDir ? join(args.checkpointDir, CHECKPOINT_FILE) : null;
  let resumedFromStep: number | null = null;

  // ---- resume ----
  if (ckptPath && (args.resume ?? true)) {
    const ck = await readCheckpoint(ckptPath);
    if (ck) {
      // weights, optimiser slots, best weights: a NaN/Inf fails naming the tensor
      for (const [key, t] of Object.entries(ck.tensors)) {
        checkFiniteTensor(ckptPath, key, t.shape, t.data);
      }
      const m = ck.meta as Record<string, unknown>;
      const names = m.weightNames as string[];
      if (!Array.isArray(names) || names.length !== entries.length) {
        throw new CheckpointError(
          ckptPath,
          `holds ${names?.length} weights, model has ${entries.length}`,
        );
      }
      const values = entries.map((e, i) => {
        const t = ck.tensors[`w/${i}`];
        if (!t || t.shape.join() !== e.shape.join()) {
          throw new CheckpointError(
            ckptPath,
            `weight ${i} ("${names[i]}"): shape [${t?.shape}] vs model [${e.shape}] ("${e.name}")`,
          );
        }
        return t.data;
      });
      const ckMode = (m.frozenBatchNorm as FrozenBatchNormMode | undefined) ?? "batch-stats";
      if (ckMode !== bnMode) {
        throw new CheckpointError(
          ckptPath,
          `was written with frozenBatchNorm "${ckMode}", this run has "${bnMode}"`,
        );
      }
      if (m.totalSteps !== totalSteps) {
        throw new CheckpointError(
          ckptPath,
          `was written for ${m.totalSteps} total steps, this run has ${totalSteps} (different data/epochs/batch size)`,
        );
      }
      writeWeights(entries, values);
      const os = m.optimizer as OptimizerState;
      for (const [key, p] of Object.entries(os.params)) {
        for (const [slot, s] of Object.entries(p.slots)) {
          const t = ck.tensors[`opt/${key}/${slot}`];
          if (!t) throw new CheckpointError(ckptPath, `missing optimiser slot ${key}/${slot}`);
          s.data = t.data;
        }
      }
      optimizer.setState(os);
      rng.setState(m.rng as RngState);
      st.step = m.step as number;
      st.epoch = m.epoch as number;
      st.stepInEpoch = m.stepInEpoch as number;
      st.lossSum = m.lossSum as number;
      st.lossCount = m.lossCount as number;
      st.epochSeconds = m.epochSeconds as number;
      st.epochSeed = (m.epochSeed as number | null | undefined) ?? null;
      st.rows = nanRows<EpochRecord>(m.rows);
      st.validations = nanRows<ValidationRecord>(m.validations);
      trainMetrics.set(m.trainMetrics as never);
      st.finished = m.finished as boolean;
      st.stoppedEarly = m.stoppedEarly as boolean;
      st.perm = ck.tensors.perm ? Int32Array.from(ck.tensors.perm.data) : null;
      if (es && m.earlyStopping) {
        es.setState(m.earlyStopping as { best: number | null; bestEpoch: number; wait: number });
      }
      if (ck.tensors["best/0"]) best = entries.map((_, i) => ck.tensors[`best/${i}`].data);
      resumedFromStep = st.step;
    }
  }

  let pw: FitWorkers | null = null;
  let epochStart = performance.now();
  const writeCkpt = async (pullWeights: boolean) => {
    if (!ckptPath) return;
    // with workers, their optimiser state goes to the file directly
    const os = (await pw?.pull({ weights: pullWeights, optimizer: true })) ??
      optimizer.getState();
    const tensors: Record<string, StoredTensor> = {};
    entries.forEach((e, i) => {
      const data = e.variable.dataSync() as Float32Array;
      // never overwrite the last good checkpoint with diverged weights
      const bad = describeNonFinite(data, e.shape);
      if (bad !== null) {
        throw new ConfigError(
          `fit: weight '${e.name}' holds ${bad} after step ${st.step} (${
            st.stepInEpoch === 0 ? `end of epoch ${st.epoch}` : `epoch ${st.epoch + 1}`
          }); ` +
            `${ckptPath} keeps the last good state`,
        );
      }
      tensors[`w/${i}`] = { shape: e.shape, data };
    });
    for (const [key, p] of Object.entries(os.params)) {
      for (const [slot, s] of Object.entries(p.slots)) {
        tensors[`opt/${key}/${slot}`] = { shape: s.shape, data: s.data };
        s.data = new Float32Array(0); // stored as a tensor, not in JSON
      }
    }
    if (best) best.forEach((b, i) => (tensors[`best/${i}`] = { shape: entries[i].shape, data: b }));
    if (st.perm) tensors.perm = { shape: [st.perm.length], data: Float32Array.from(st.perm) };
    const meta = {
      version: 2,
      weightNames: entries.map((e) => e.name),
      totalSteps,
      step: st.step,
      epoch: st.epoch,
      stepInEpoch: st.stepInEpoch,
      epochSeed: st.epochSeed,
      lossSum: st.lossSum,
      lossCount: st.lossCount,
      trainMetrics: trainMetrics.state(),
      epochSeconds: st.epochSeconds + (performance.now() - epochStart) / 1000,
      rows: st.rows,
      validations: st.validations,
      finished: st.finished,
      stoppedEarly: st.stoppedEarly,
      rng: rng.state(),
      earlyStopping: es?.getState() ?? null,
      optimizer: { ...os, params: Object.fromEntries(Object.entries(os.params)) },
      schedule: schedule.name,
      seed: args.seed ?? 0,
      workers,
      frozenBatchNorm: bnMode,
    };
    await writeCheckpoint(ckptPath, { meta, tensors });
    await args.onCheckpoint?.({ path: ckptPath, step: st.step });
  };

  const runValidation = async (epochEnd: boolean): Promise<Record<string, number>> => {
    const metrics: Record<string, number> = {};
    if (valArrays) {
      const r = evaluateClassifier(model, args.validation as FitData, {
        loss: customLoss,
        classWeights,
        outputsProbabilities: args.outputsProbabilities,
        channelsLast: args.channelsLast,
        batchSize: args.evalBatchSize,
      });
      Object.assign(metrics, { valLoss: r.loss, valF1: r.f1 }, r.metrics);
    } else if (valSource) {
      const r = await evaluateSource(model, valSource, lossFn, {
        seed: args.seed ?? 0,
        channelsLast: args.channelsLast,
      });
      Object.assign(metrics, { valLoss: r.loss, valF1: NaN }, r.metrics);
    }
    if (args.validate) {
      const extra = await args.validate(model, {
        epoch: st.epoch + 1,
        step: st.step,
        epochEnd,
      });
      for (const [k, v] of Object.entries(extra ?? {})) {
        if (typeof v !== "number") {
          throw new ConfigError(`fit validate: metric "${k}" is ${typeof v}, not a number`);
        }
        metrics[k] = v;
      }
    }
    const rec: ValidationRecord = { step: st.step, epoch: st.epoch + 1, epochEnd, metrics };
    st.validations.push(rec);
    await args.onValidate?.(rec);
    return metrics;
  };
  const hasValidation = !!(valArrays || valSource || args.validate);

  const progressMode = args.progress === false ? "none" : (args.progress ?? "auto");
  const bar = new ProgressBar({
    total: totalSteps,
    label: args.label ?? "fit",
    mode: progressMode,
  });
  if (workers > 0 && !st.finished) {
    const { FitWorkers } = await import("./parallel_fit.ts");
    pw = await FitWorkers.start(model as tf.LayersModel, entries, {
      workers,
      optimizer,
      loss: args.loss as LossSpec | LossKindSpec | undefined,
      classWeights,
      fromLogits,
      channelsLast: args.channelsLast ?? false,
      backend: args.workerBackend,
      imports: args.workerImports,
      syncBatchNorm: args.syncBatchNorm,
      frozenBatchNorm: bnMode,
    });
  }

  /** One optimiser step on a batch; returns its loss and reported metrics. */
  const trainStep = async (
    b: Batch,
    stepSeed: number,
    where: string,
  ): Promise<{ loss: number; metrics: Record<string, number>; n: number }> => {
    const n = checkBatch(b, where);
    const xs = asList(b.x), ys = asList(b.y);
    if (pw) {
      let sampleWeights = b.sampleWeights;
      if (!sampleWeights && !customLoss && classWeights) {
        const y0 = toHostTensor(ys[0], `${where} y[0]`).data;
        sampleWeights = Float32Array.from(y0, (c) => classWeights[c]);
      }
      const r = await pw.step(
        xs.map((t, i) => toHostTensor(t, `${where} x[${i}]`)),
        ys.map((t, i) => toHostTensor(t, `${where} y[${i}]`)),
        {
          lr: optimizer.lr,
          active: activeMask,
          seed: stepSeed,
          sampleWeights: sampleWeights ? Float32Array.from(sampleWeights) : undefined,
        },
      );
      return { ...r, n };
    }
    const r = metricReporter();
    const loss = withSeededMathRandom(stepSeed, () =>
      tf.tidy(() => {
        const xt = xs.map((t, i) => toTensor(t, `${where} x[${i}]`));
        const yt = ys.map((t, i) => toTensor(t, `${where} y[${i}]`));
        const ctx: LossContext = { report: r.report, seed: stepSeed };
        const f = () =>
          lossFn(yt, forward(model, xt, { training: true, channelsLast: args.channelsLast }), ctx);
        if (vars.length === 0) return f().dataSync()[0];
        const { value, grads } = tf.variableGrads(f, vars);
        optimizer.applyGradients(params, vars.map((v) => grads[v.name]));
        return value.dataSync()[0];
      }));
    return { loss, metrics: r.metrics, n };
  };

  bar.update(st.step, { epoch: `${Math.min(st.epoch + 1, args.epochs)}/${args.epochs}` });
  // frozen batch norm (the flags follow setFreeze); batch-stats is tfjs' own behaviour
  const restoreBatchNorm = setFrozenBatchNormMode(model, bnMode);
  try {
    while (!st.finished && st.epoch < args.epochs) {
      epochStart = performance.now();
      if (st.stepInEpoch === 0 || (train ? !st.perm : st.epochSeed === null)) {
        if (train) {
          st.perm = (args.shuffle ?? true)
            ? Int32Array.from(rng.permutation(nSamples), (i) => train.idx[i])
            : train.idx.slice();
        } else st.epochSeed = rng.uint32();
        st.stepInEpoch = 0;
        st.lossSum = 0;
        st.lossCount = 0;
        st.epochSeconds = 0;
        trainMetrics.set(undefined);
      }
      let iter: Iterator<Batch> | AsyncIterator<Batch> | null = null;
      if (source?.epoch) {
        const it = source.epoch({ epoch: st.epoch, epochSeed: st.epochSeed! });
        iter = Symbol.asyncIterator in it
          ? (it as AsyncIterable<Batch>)[Symbol.asyncIterator]()
          : (it as Iterable<Batch>)[Symbol.iterator]();
        // resume: skip the batches done before the checkpoint
        for (let s = 0; s < st.stepInEpoch; s++) {
          const r = await iter.next();
          if (r.done) break;
          disposeBatch(r.value);
        }
      }
      let lr = optimizer.lr;
      for (let s = st.stepInEpoch; s < stepsPerEpoch; s++) {
        setFreeze(st.step);
        lr = schedule.lrAt(st.step);
        optimizer.lr = lr;
        let b: Batch;
        let stepSeed: number;
        const where = `step ${st.step} (epoch ${st.epoch + 1})`;
        if (train) {
          const from = s * batchSize, to = Math.min(nSamples, from + batchSize);
          const g = gatherRows(train, st.perm!, from, to);
          b = { x: g.x, y: g.y };
          stepSeed = rng.uint32();
        } else {
          stepSeed = rng.uint32();
          if (iter) {
            const r = await iter.next();
            if (r.done) break; // the generator ended the epoch
            b = r.value;
          } else {
            b = await source!.batch!({
              epoch: st.epoch,
              step: s,
              globalStep: st.step,
              seed: mixSeed(stepSeed, 0x5eed),
              epochSeed: st.epochSeed!,
            });
          }
        }
        let res: { loss: number; metrics: Record<string, number>; n: number };
        try {
          res = await trainStep(b, stepSeed, where);
        } finally {
          disposeBatch(b);
        }
        if (!Number.isFinite(res.loss)) {
          // name the heads / reported terms that went non-finite; the weights now hold
          // the bad update, so nothing is checkpointed: the last checkpoint is the last good state
          const bad = Object.entries(res.metrics).filter(([, v]) => !Number.isFinite(v));
          throw new ConfigError(
            `fit: training loss is ${res.loss} at ${where}` +
              (bad.length ? ` (${bad.map(([k, v]) => `${k} ${v}`).join(", ")})` : "") +
              (ckptPath ? `; ${ckptPath} keeps the last good state` : "") +
              ` (diverged: lower the learning rate, or check the data for extreme values)`,
          );
        }
        st.lossSum += res.loss * res.n;
        st.lossCount += res.n;
        trainMetrics.add(res.metrics, res.n);
        st.step++;
        st.stepInEpoch = s + 1;
        bar.update(st.step, {
          epoch: `${st.epoch + 1}/${args.epochs}`,
          loss: st.lossSum / st.lossCount,
        });
        await args.onStep?.({
          step: st.step,
          epoch: st.epoch + 1,
          loss: res.loss,
          metrics: res.metrics,
        });
        const midEpoch = st.stepInEpoch < stepsPerEpoch;
        if (args.validateEverySteps && st.step % args.validateEverySteps === 0 && midEpoch) {
          await pw?.pull({ weights: true, optimizer: false });
          await runValidation(false);
        }
        if (args.checkpointEverySteps && st.step % args.checkpointEverySteps === 0 && midEpoch) {
          await writeCkpt(true);
        }
      }
      if (iter?.return) await iter.return();
      // ---- epoch end ----
      await pw?.pull({ weights: true, optimizer: false });
      const validated = hasValidation &&
        ((st.epoch + 1) % everyEpochs === 0 || st.epoch + 1 >= args.epochs);
      const metrics = validated ? await runValidation(true) : {};
      const record: EpochRecord = {
        epoch: st.epoch + 1,
        trainLoss: st.lossSum / st.lossCount,
        valLoss: metrics.valLoss ?? NaN,
        valF1: metrics.valF1 ?? NaN,
        lr,
        seconds: st.epochSeconds + (performance.now() - epochStart) / 1000,
        ...trainMetrics.means("train/"),
        ...Object.fromEntries(
          Object.entries(metrics).filter(([k]) => k !== "valLoss" && k !== "valF1"),
        ),
      };
      st.rows.push(record);
      if (es && validated) { // early stopping always has validation (checked above)
        if (!(es.monitor in record)) {
          throw new ConfigError(
            `fit earlyStopping: monitor "${es.monitor}" is not in the epoch record (${
              Object.keys(record).join(", ")
            })`,
          );
        }
        const { improved, stop } = es.update(record[es.monitor], st.epoch);
        if (improved && es.restoreBest) best = readWeights(entries);
        if (stop) st.stoppedEarly = true;
      }
      st.epoch++;
      st.stepInEpoch = 0;
      st.perm = null;
      st.epochSeed = null;
      st.lossSum = 0;
      st.lossCount = 0;
      st.epochSeconds = 0;
      trainMetrics.set(undefined);
      if (st.stoppedEarly || st.epoch >= args.epochs) {
        st.finished = true;
        if (best && es?.restoreBest) writeWeights(entries, best);
      }
      epochStart = performance.now();
      await writeCkpt(false); // the weights were pulled before validation
      await args.onEpochEnd?.(record);
    }
    // a caller's optimiser instance keeps the state, as in a single-thread run
    const os = !ownOptimizer && await pw?.pull({ weights: false, optimizer: true });
    if (os) optimizer.setState(os);
  } finally {
    restoreBatchNorm();
    await pw?.dispose();
  }
  const last = st.rows[st.rows.length - 1];
  await bar.done({
    epoch: `${st.rows.length}/${args.epochs}`,
    ...(last ? { loss: last.trainLoss } : {}),
    ...(last && !Number.isNaN(last.valLoss) ? { valLoss: last.valLoss } : {}),
    ...(last && !Number.isNaN(last.valF1) ? { valF1: last.valF1 } : {}),
  });
  if (ownOptimizer) optimizer.dispose();
  return {
    history: historyTable(st.rows),
    rows: st.rows,
    validations: st.validations,
    steps: st.step,
    stoppedEarly: st.stoppedEarly,
    bestEpoch: es && es.restoreBest && es.bestEpoch >= 0 ? es.bestEpoch + 1 : null,
    resumedFromStep,
    workers,
  };
}
