/**
 * The training loop: mini-batch training of any tfjs model (a
 * `tf.LayersModel` or an object with `weights` and `apply`) with our
 * PyTorch-semantics optimisers, learning-rate schedules, class-weighted
 * cross-entropy, early stopping with restore-best, freezing with unfreezing
 * at a fraction of the steps, periodic atomic checkpoints with exact resume,
 * and a progress bar.
 *
 * Determinism: batch order and every random op inside the model (dropout)
 * are drawn from one seeded generator whose state is checkpointed, so on
 * the same backend a run killed and resumed from its last checkpoint ends
 * with exactly the weights and history of an uninterrupted run.
 *
 * @example
 * const res = await fit(model, trainWindows, {
 *   epochs: 20, batchSize: 64, seed: 1,
 *   optimizer: { name: "adamw", lr: 1e-3, weightDecay: 0.01 },
 *   classWeights: "balanced",
 *   validation: valWindows,
 *   earlyStopping: { monitor: "valLoss", patience: 5 },
 *   checkpointDir: "results/run1/ckpt", checkpointEverySteps: 200,
 *   channelsLast: true,
 * });
 * res.history.print();
 *
 * Both cores: `workers: 2` trains a `tf.LayersModel` data-parallel in two Web
 * Workers (lib/train/parallel_fit.ts); everything else works the same.
 */
import * as tf from "@tensorflow/tfjs";
import type * as aq from "arquero";
import { join } from "node:path";
import type { BackendPath } from "../backend/select.ts";
import type { Windows } from "../data/types.ts";
import { CheckpointError, ConfigError } from "../errors.ts";
import { readCheckpoint, type StoredTensor, writeCheckpoint } from "./checkpoint.ts";
import { EarlyStopping, type EarlyStoppingArgs, macroF1 } from "./early_stopping.ts";
import {
  type HasWeights,
  readWeights,
  selectorFn,
  weightEntries,
  type WeightSelector,
  writeWeights,
} from "./freeze.ts";
import { type EpochRecord, historyTable } from "./history.ts";
import { balancedClassWeights, weightedCrossEntropy } from "./losses.ts";
import {
  makeOptimizer,
  type Optimizer,
  type OptimizerSpec,
  type OptimizerState,
  type Param,
} from "./optimisers.ts";
import type { FitWorkers, LossSpec } from "./parallel_fit.ts";
import { ProgressBar, type ProgressMode } from "./progress.ts";
import { rng as makeRng, type RngState, withSeededMathRandom } from "./random.ts";
import { constantLr, type Schedule } from "./schedules.ts";

/** A model the loop can train: its weights and a forward pass. */
export interface TrainableModel extends HasWeights {
  /** Forward pass; `training: true` enables dropout / batch-norm updates. */
  apply(x: tf.Tensor, kwargs?: { training?: boolean }): unknown;
}

/** Plain labelled arrays: `x` row-major with `shape[0]` samples. */
export interface FitData {
  /** Inputs, row-major, `shape[0]` samples. */
  x: Float32Array;
  /** Shape of `x`, e.g. `[n, channels, length]`. */
  shape: number[];
  /**
   * Class per sample (`< 0` = unlabelled, skipped), or `yWidth` labels per
   * sample row-major (multi-task, e.g. the four MTL pretext tasks; a sample
   * is skipped when its first label is `< 0`).
   */
  y: Int32Array;
  /** Labels per sample (default 1); with `> 1` the loss receives labels `[batch, yWidth]`. */
  yWidth?: number;
}

/** Training/validation data: {@link FitData} or the `Windows` type. */
export type FitInput = FitData | Windows;

/**
 * A loss over the model output (a tensor, or an array for multi-output
 * models) and int32 labels `[batch]` (or `[batch, yWidth]`).
 */
export type LossFn = (output: tf.Tensor | tf.Tensor[], labels: tf.Tensor) => tf.Scalar;

/** Options for {@link fit}. */
export interface FitArgs {
  /** Number of passes over the training data. */
  epochs: number;
  /** Samples per optimiser step (default 32); the last batch may be smaller. */
  batchSize?: number;
  /** Optimiser instance or spec (default Adam, lr 1e-3). */
  optimizer?: Optimizer | OptimizerSpec;
  /** Learning-rate schedule over the global step (default: constant at the optimiser's lr). */
  schedule?: Schedule;
  /**
   * Loss (default: class-weighted cross-entropy from logits): a function, or
   * a {@link LossSpec} `{ module, export, args }` whose factory returns it
   * (required with `workers`, which cannot receive functions).
   */
  loss?: LossFn | LossSpec;
  /** Per-class weights for the default loss, or `"balanced"` (sklearn) from the training labels. */
  classWeights?: ArrayLike<number> | "balanced";
  /** Number of classes (default: `classes.length` of Windows, else max label + 1). */
  numClasses?: number;
  /** True when the model outputs probabilities (softmax) rather than logits (default false). */
  outputsProbabilities?: boolean;
  /** Validation data, evaluated after each epoch (loss and macro F1). */
  validation?: FitInput;
  /** Stop when the validation metric stops improving; needs `validation`. */
  earlyStopping?: EarlyStoppingArgs;
  /**
   * Weights to freeze (see {@link WeightSelector}), e.g. `"feature_extractor"` or
   * `firstKBlocks(2)`. Like PyTorch `requires_grad = False`: no gradient step,
   * but batch-norm statistics still update in training mode. Without
   * `unfreezeAtFraction` the weights stay frozen (trainable = false) after `fit`.
   */
  freeze?: WeightSelector;
  /** Unfreeze the frozen weights at this fraction of the total steps (SelfPAB: 0.75). */
  unfreezeAtFraction?: number;
  /** Folder for the checkpoint file `checkpoint.bin`; resumes from it when present. */
  checkpointDir?: string;
  /** Checkpoint every this many optimiser steps (default: only at epoch ends). */
  checkpointEverySteps?: number;
  /** Resume from `checkpointDir` when a checkpoint exists (default true). */
  resume?: boolean;
  /** Seed of batch order and in-model randomness (default 0). */
  seed?: number;
  /** Shuffle the training data each epoch (default true). */
  shuffle?: boolean;
  /** Feed `[n, channels, length]` data as `[n, length, channels]` (tfjs conv1d layout; default false). */
  channelsLast?: boolean;
  /** Batch size for validation forward passes (default 256). */
  evalBatchSize?: number;
  /** Progress bar mode, or false for none (default `"auto"`). */
  progress?: ProgressMode | false;
  /** Called after each epoch with its record. */
  onEpochEnd?: (record: EpochRecord) => void | Promise<void>;
  /** Called after each optimiser step. */
  onStep?: (info: { step: number; epoch: number; loss: number }) => void | Promise<void>;
  /** Called after each checkpoint is written. */
  onCheckpoint?: (info: { path: string; step: number }) => void | Promise<void>;
  /**
   * Data-parallel training in this many Web Workers (e.g. 2 for both cores;
   * default none: train in the calling thread, as does 0). Needs a
   * `tf.LayersModel` (rebuilt in each worker from `model.toJSON()`, custom
   * layers of lib/models registered), an optimiser spec or an optimiser of
   * optimisers.ts, and the default loss or a {@link LossSpec}. Each worker
   * takes a contiguous share of every batch; the gradients are averaged
   * weighted by shard size, or by the shards' summed class weights with the
   * default loss. The step equals the single-thread one up to float rounding
   * when the loss is a mean over samples (the default loss, a per-sample
   * mean custom loss); a loss that is not (e.g. a batch-level contrastive
   * loss) gets the mean of its shard gradients instead. Batch norm uses per-shard
   * statistics (moving averages are averaged), dropout masks differ from a
   * single-thread run. The caller's model receives the weights at each epoch
   * end (before validation), at checkpoints and at the end — not after every
   * step, so `onStep` sees the weights of the last epoch end.
   */
  workers?: number;
  /** Backend paths each worker tries (default `["blas", "wasm", "cpu"]`, see `initBackend`). */
  workerBackend?: BackendPath[];
  /** Extra modules each worker imports before rebuilding the model (e.g. custom layers). */
  workerImports?: string[];
}

/** What {@link fit} returns. */
export interface FitResult {
  /** Per-epoch history: epoch, trainLoss, valLoss, valF1, lr, seconds. */
  history: aq.ColumnTable;
  /** The same history as plain rows. */
  rows: EpochRecord[];
  /** Optimiser steps taken in total (including before a resume). */
  steps: number;
  /** True when early stopping ended the run. */
  stoppedEarly: boolean;
  /** 1-based epoch whose weights the model holds after restore-best, or null. */
  bestEpoch: number | null;
  /** Global step the run resumed from, or null for a fresh run. */
  resumedFromStep: number | null;
}

/** The checkpoint file name inside `checkpointDir`. */
export const CHECKPOINT_FILE = "checkpoint.bin";

interface Prepared {
  x: Float32Array;
  rowShape: number[];
  rowSize: number;
  y: Int32Array;
  yWidth: number;
  idx: Int32Array; // labelled rows
  classes?: number;
}

function prepare(d: FitInput, field: string): Prepared {
  let x: Float32Array, shape: number[];
  let classes: number | undefined;
  if ("shape" in d && Array.isArray((d as FitData).shape)) {
    x = d.x;
    shape = (d as FitData).shape;
  } else {
    const w = d as Windows;
    x = w.x;
    shape = [w.n, w.channels, w.length];
    classes = w.classes?.length;
  }
  const n = shape[0];
  const rowSize = shape.slice(1).reduce((a, b) => a * b, 1);
  if (x.length !== n * rowSize) {
    throw new ConfigError(
      `fit ${field}.x: ${x.length} values, shape [${shape}] needs ${n * rowSize}`,
    );
  }
  const yWidth = (d as FitData).yWidth ?? 1;
  if (!(yWidth >= 1) || d.y.length !== n * yWidth) {
    throw new ConfigError(
      `fit ${field}.y: ${d.y.length} labels for ${n} samples × yWidth ${yWidth}`,
    );
  }
  const keep: number[] = [];
  for (let i = 0; i < n; i++) if (d.y[i * yWidth] >= 0) keep.push(i);
  return {
    x,
    rowShape: shape.slice(1),
    rowSize,
    y: d.y,
    yWidth,
    idx: Int32Array.from(keep),
    classes,
  };
}

function gatherBatch(p: Prepared, rows: ArrayLike<number>, from: number, to: number) {
  const b = to - from;
  const xb = new Float32Array(b * p.rowSize);
  const w = p.yWidth;
  const yb = new Int32Array(b * w);
  for (let i = 0; i < b; i++) {
    const r = rows[from + i];
    xb.set(p.x.subarray(r * p.rowSize, (r + 1) * p.rowSize), i * p.rowSize);
    for (let j = 0; j < w; j++) yb[i * w + j] = p.y[r * w + j];
  }
  const yShape = w === 1 ? [b] : [b, w];
  return { xb, yb, b, yShape };
}

function asOutput(out: unknown): tf.Tensor | tf.Tensor[] {
  if (Array.isArray(out) && out.every((t) => t instanceof tf.Tensor)) return out as tf.Tensor[];
  return firstOutput(out);
}

function firstOutput(out: unknown): tf.Tensor {
  const t = Array.isArray(out) ? out[0] : out;
  if (!(t instanceof tf.Tensor)) throw new ConfigError("fit: model.apply did not return a tensor");
  return t;
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
  data: FitInput,
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
): { loss: number; f1: number; predictions: Int32Array } {
  const p = prepare(data, "validation");
  const bs = args.batchSize ?? 256;
  const outs: Float32Array[] = [];
  let preds: Int32Array | null = p.yWidth === 1 ? new Int32Array(p.idx.length) : null;
  let k = 0, customSum = 0;
  for (let s = 0; s < p.idx.length; s += bs) {
    const { xb, yb, b, yShape } = gatherBatch(p, p.idx, s, Math.min(p.idx.length, s + bs));
    tf.tidy(() => {
      let x = tf.tensor(xb, [b, ...p.rowShape], "float32");
      if (args.channelsLast) x = x.transpose([0, 2, 1]);
      const raw = asOutput(model.apply(x, { training: false }));
      const out = Array.isArray(raw) ? raw[0] : raw;
      if (args.loss) {
        customSum += args.loss(raw, tf.tensor(yb, yShape, "int32")).dataSync()[0] * b;
      } else {
        k = out.shape[1] ?? 1;
        outs.push(out.dataSync().slice() as Float32Array);
      }
      if (preds && out.rank === 2 && !Array.isArray(raw)) {
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
  if (!preds) return { loss, f1: NaN, predictions: new Int32Array(0) };
  const yTrue = Int32Array.from(p.idx, (i) => p.y[i]);
  return { loss, f1: macroF1(yTrue, preds), predictions: preds };
}

interface LoopState {
  step: number; // global optimiser steps done
  epoch: number; // current epoch (0-based)
  stepInEpoch: number;
  perm: Int32Array | null; // current epoch's row order
  lossSum: number;
  lossCount: number;
  epochSeconds: number; // seconds spent in the current epoch before a resume
  rows: EpochRecord[];
  finished: boolean;
  stoppedEarly: boolean;
}

/**
 * Train `model` on `data`. See {@link FitArgs}; returns the per-epoch
 * history. All intermediate tensors are disposed: the tensor count after
 * each epoch is constant.
 */
export async function fit(
  model: TrainableModel,
  data: FitInput,
  args: FitArgs,
): Promise<FitResult> {
  if (!(args.epochs >= 1)) throw new ConfigError(`fit epochs: must be >= 1, got ${args.epochs}`);
  const batchSize = args.batchSize ?? 32;
  if (!(batchSize >= 1)) throw new ConfigError(`fit batchSize: must be >= 1, got ${batchSize}`);
  if (args.earlyStopping && !args.validation) {
    throw new ConfigError("fit earlyStopping: needs validation data");
  }
  if (
    args.unfreezeAtFraction !== undefined &&
    !(args.unfreezeAtFraction >= 0 && args.unfreezeAtFraction <= 1)
  ) {
    throw new ConfigError(
      `fit unfreezeAtFraction: must be in [0, 1], got ${args.unfreezeAtFraction}`,
    );
  }
  const train = prepare(data, "data");
  if (train.idx.length === 0) throw new ConfigError("fit data: no labelled samples");
  const val = args.validation ? prepare(args.validation, "validation") : null;
  let numClasses = args.numClasses ?? train.classes;
  if (numClasses === undefined) {
    let m = -1;
    for (const i of train.idx) m = Math.max(m, train.y[i]);
    if (val) { for (const i of val.idx) m = Math.max(m, val.y[i]); }
    numClasses = m + 1;
  }
  if (train.yWidth > 1 && (!args.loss || args.classWeights === "balanced")) {
    throw new ConfigError(
      `fit data.yWidth ${train.yWidth}: multi-label data needs a custom loss (and explicit weights)`,
    );
  }
  const classWeights = args.classWeights === "balanced"
    ? balancedClassWeights(Int32Array.from(train.idx, (i) => train.y[i]), numClasses)
    : args.classWeights;
  const fromLogits = !args.outputsProbabilities;
  const workers = Math.floor(args.workers ?? 0);
  if (!(workers >= 0)) throw new ConfigError(`fit workers: must be >= 0, got ${args.workers}`);
  if (workers > 0 && typeof args.loss === "function") {
    throw new ConfigError(
      "fit workers: a loss function cannot be sent to workers; give it as " +
        "{ module, export, args } (LossSpec)",
    );
  }
  const customLoss: LossFn | undefined = typeof args.loss === "function"
    ? args.loss
    : args.loss
    ? await (await import("./parallel_fit.ts")).loadLoss(args.loss)
    : undefined;
  const lossFn: LossFn = customLoss ??
    ((out, lab) => weightedCrossEntropy(firstOutput(out), lab, classWeights, fromLogits));

  const ownOptimizer = !(args.optimizer && "applyGradients" in args.optimizer);
  const optimizer: Optimizer = ownOptimizer
    ? makeOptimizer((args.optimizer as OptimizerSpec) ?? { name: "adam", lr: 1e-3 })
    : args.optimizer as Optimizer;
  const schedule = args.schedule ?? constantLr({ lr: optimizer.lr });
  const rng = makeRng(args.seed ?? 0);
  const es = args.earlyStopping ? new EarlyStopping(args.earlyStopping) : null;

  const entries = weightEntries(model);
  const baseTrainable = entries.filter((e) => e.trainable);
  const nSamples = train.idx.length;
  const stepsPerEpoch = Math.ceil(nSamples / batchSize);
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
    lossSum: 0,
    lossCount: 0,
    epochSeconds: 0,
    rows: [],
    finished: false,
    stoppedEarly: false,
  };
  const ckptPath = args.checkpointDir ? join(args.checkpointDir, CHECKPOINT_FILE) : null;
  let resumedFromStep: number | null = null;

  // ---- resume ----
  if (ckptPath && (args.resume ?? true)) {
    const ck = await readCheckpoint(ckptPath);
    if (ck) {
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
      // JSON stores NaN (no validation) as null
      st.rows = (m.rows as Record<string, number | null>[]).map((r) =>
        Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v ?? NaN]))
      ) as unknown as EpochRecord[];
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
  const writeCkpt = async (pullWeights: boolean) => {
    if (!ckptPath) return;
    // with workers, their optimiser state goes to the file directly
    const os = (await pw?.pull({ weights: pullWeights, optimizer: true })) ??
      optimizer.getState();
    const tensors: Record<string, StoredTensor> = {};
    entries.forEach((e, i) => {
      tensors[`w/${i}`] = { shape: e.shape, data: e.variable.dataSync() as Float32Array };
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
      version: 1,
      weightNames: entries.map((e) => e.name),
      totalSteps,
      step: st.step,
      epoch: st.epoch,
      stepInEpoch: st.stepInEpoch,
      lossSum: st.lossSum,
      lossCount: st.lossCount,
      epochSeconds: st.epochSeconds + (performance.now() - epochStart) / 1000,
      rows: st.rows,
      finished: st.finished,
      stoppedEarly: st.stoppedEarly,
      rng: rng.state(),
      earlyStopping: es?.getState() ?? null,
      optimizer: { ...os, params: Object.fromEntries(Object.entries(os.params)) },
      schedule: schedule.name,
      seed: args.seed ?? 0,
    };
    await writeCheckpoint(ckptPath, { meta, tensors });
    await args.onCheckpoint?.({ path: ckptPath, step: st.step });
  };

  const progressMode = args.progress === false ? "none" : (args.progress ?? "auto");
  const bar = new ProgressBar({ total: totalSteps, label: "fit", mode: progressMode });
  let epochStart = performance.now();
  if (workers > 0 && !st.finished) {
    const { FitWorkers } = await import("./parallel_fit.ts");
    pw = await FitWorkers.start(model as tf.LayersModel, entries, {
      workers,
      optimizer,
      loss: args.loss as LossSpec | undefined,
      classWeights,
      fromLogits,
      channelsLast: args.channelsLast ?? false,
      backend: args.workerBackend,
      imports: args.workerImports,
    });
  }
  bar.update(st.step, { epoch: `${Math.min(st.epoch + 1, args.epochs)}/${args.epochs}` });
  try {
    while (!st.finished && st.epoch < args.epochs) {
      epochStart = performance.now();
      if (st.stepInEpoch === 0 || !st.perm) {
        st.perm = (args.shuffle ?? true)
          ? Int32Array.from(rng.permutation(nSamples), (i) => train.idx[i])
          : train.idx.slice();
        st.stepInEpoch = 0;
        st.lossSum = 0;
        st.lossCount = 0;
        st.epochSeconds = 0;
      }
      let lr = optimizer.lr;
      for (let s = st.stepInEpoch; s < stepsPerEpoch; s++) {
        setFreeze(st.step);
        const from = s * batchSize, to = Math.min(nSamples, from + batchSize);
        const { xb, yb, b, yShape } = gatherBatch(train, st.perm, from, to);
        lr = schedule.lrAt(st.step);
        optimizer.lr = lr;
        const stepSeed = rng.uint32();
        const loss = pw
          ? await pw.step(
            { data: xb, shape: [b, ...train.rowShape] },
            { data: yb, shape: yShape },
            {
              lr,
              active: activeMask,
              seed: stepSeed,
              sampleWeights: !customLoss && classWeights
                ? Float32Array.from(yb, (c) => classWeights[c])
                : undefined,
            },
          )
          : withSeededMathRandom(stepSeed, () =>
            tf.tidy(() => {
              let x = tf.tensor(xb, [b, ...train.rowShape], "float32");
              if (args.channelsLast) x = x.transpose([0, 2, 1]);
              const lab = tf.tensor(yb, yShape, "int32");
              const f = () => lossFn(asOutput(model.apply(x, { training: true })), lab);
              if (vars.length === 0) return f().dataSync()[0];
              const { value, grads } = tf.variableGrads(f, vars);
              optimizer.applyGradients(params, vars.map((v) => grads[v.name]));
              return value.dataSync()[0];
            }));
        if (!Number.isFinite(loss)) {
          throw new ConfigError(
            `fit: training loss is ${loss} at step ${st.step} (epoch ${st.epoch + 1})`,
          );
        }
        st.lossSum += loss * b;
        st.lossCount += b;
        st.step++;
        st.stepInEpoch = s + 1;
        bar.update(st.step, {
          epoch: `${st.epoch + 1}/${args.epochs}`,
          loss: st.lossSum / st.lossCount,
        });
        await args.onStep?.({ step: st.step, epoch: st.epoch + 1, loss });
        if (
          args.checkpointEverySteps && st.step % args.checkpointEverySteps === 0 &&
          st.stepInEpoch < stepsPerEpoch
        ) await writeCkpt(true);
      }
      // ---- epoch end ----
      await pw?.pull({ weights: true, optimizer: false });
      let valLoss = NaN, valF1 = NaN;
      if (val) {
        const r = evaluateClassifier(model, args.validation!, {
          loss: customLoss,
          classWeights,
          outputsProbabilities: args.outputsProbabilities,
          channelsLast: args.channelsLast,
          batchSize: args.evalBatchSize,
        });
        valLoss = r.loss;
        valF1 = r.f1;
      }
      const record: EpochRecord = {
        epoch: st.epoch + 1,
        trainLoss: st.lossSum / st.lossCount,
        valLoss,
        valF1,
        lr,
        seconds: st.epochSeconds + (performance.now() - epochStart) / 1000,
      };
      st.rows.push(record);
      if (es) {
        const { improved, stop } = es.update(es.monitor === "valLoss" ? valLoss : valF1, st.epoch);
        if (improved && es.restoreBest) best = readWeights(entries);
        if (stop) st.stoppedEarly = true;
      }
      st.epoch++;
      st.stepInEpoch = 0;
      st.perm = null;
      st.lossSum = 0;
      st.lossCount = 0;
      st.epochSeconds = 0;
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
    await pw?.dispose();
  }
  const last = st.rows[st.rows.length - 1];
  await bar.done({
    epoch: `${st.rows.length}/${args.epochs}`,
    ...(last ? { loss: last.trainLoss } : {}),
    ...(last && !Number.isNaN(last.valLoss) ? { valLoss: last.valLoss, valF1: last.valF1 } : {}),
  });
  if (ownOptimizer) optimizer.dispose();
  return {
    history: historyTable(st.rows),
    rows: st.rows,
    steps: st.step,
    stoppedEarly: st.stoppedEarly,
    bestEpoch: es && es.restoreBest && es.bestEpoch >= 0 ? es.bestEpoch + 1 : null,
    resumedFromStep,
  };
}
