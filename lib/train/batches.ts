/**
 * What {@link fit} trains on: a *batch source*, or fixed labelled arrays
 * (turned into one by {@link arraySource}).
 *
 * A batch is `{ x, y }`: `x` one input or a list of inputs (one per model
 * input), `y` any targets — class ids, float targets, masks — or nothing
 * (contrastive objectives). Each is a `tf.Tensor` or a host array
 * `{ data, shape }`, axis 0 the batch axis; tensors handed to `fit` are
 * disposed by it after the step.
 *
 * A source is deterministic given its context: `batch(ctx)` gets the epoch,
 * the step and a seed drawn from fit's checkpointed generator, so a run
 * resumed from a checkpoint sees exactly the batches of an uninterrupted one.
 * A generator source (`epoch(ctx)` yielding the epoch's batches) is resumed
 * by drawing and skipping the batches already done.
 *
 * @example
 * ```ts
 * // masked reconstruction: x = masked input, y = [target, mask]
 * const source: BatchSource = {
 *   stepsPerEpoch: 100,
 *   batch: ({ seed }) => {
 *     const { masked, target, mask } = maskBatch(pool, 64, seed);
 *     return { x: masked, y: [target, mask] };
 *   },
 * };
 * await fit(model, source, { epochs: 10, loss: { kind: "masked-l1" } });
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { HostTensor } from "../backend/parallel.ts";
import type { Windows } from "../data/types.ts";
import { ConfigError } from "../errors.ts";
import { describeNonFinite, WINDOW_AXES } from "../models/finite.ts";

export type { HostTensor };

/** A tensor, or a dense host array with its shape (axis 0: batch). */
export type TensorLike = tf.Tensor | HostTensor;

/** One optimiser step's data. */
export interface Batch {
  /** Model input(s), in the order of the model's inputs. */
  x: TensorLike | TensorLike[];
  /** Targets given to the loss (class ids, float targets, masks…), or none. */
  y?: TensorLike | TensorLike[];
  /**
   * Per-sample weight for splitting the batch across workers (default 1
   * each): shard gradients are averaged weighted by their summed weights,
   * exact when the loss is a weighted mean with these weights.
   */
  sampleWeights?: ArrayLike<number>;
}

/** What a source is told about the step it makes a batch for. */
export interface BatchContext {
  /** Epoch, 0-based. */
  epoch: number;
  /** Step within the epoch, 0-based. */
  step: number;
  /** Optimiser steps done before this one, over all epochs. */
  globalStep: number;
  /** Seed of this step (uint32, from fit's checkpointed generator). */
  seed: number;
  /** Seed of the epoch (uint32, drawn at the epoch's start). */
  epochSeed: number;
}

/** What a generator source is told about the epoch. */
export interface EpochContext {
  /** Epoch, 0-based. */
  epoch: number;
  /** Seed of the epoch (uint32). */
  epochSeed: number;
}

/**
 * A batch source: `stepsPerEpoch` and either `batch(ctx)` (random access)
 * or `epoch(ctx)` (a generator of the epoch's batches; it may end early,
 * which ends the epoch).
 */
export type BatchSource =
  & {
    /** Optimiser steps per epoch. */
    stepsPerEpoch: number;
    /** Samples per epoch, when known (progress and logs only). */
    samplesPerEpoch?: number;
  }
  & (
    | { batch: (ctx: BatchContext) => Batch | Promise<Batch>; epoch?: undefined }
    | {
      epoch: (ctx: EpochContext) => Iterable<Batch> | AsyncIterable<Batch>;
      batch?: undefined;
    }
  );

/** Plain labelled arrays: `x` row-major with `shape[0]` samples. */
export interface FitData {
  /** Inputs, row-major, `shape[0]` samples. */
  x: Float32Array;
  /** Shape of `x`, e.g. `[n, channels, length]`. */
  shape: number[];
  /**
   * Class per sample (`< 0` = unlabelled, skipped), or `yWidth` labels per
   * sample row-major (multi-task); a sample is skipped when its first label
   * is `< 0`.
   */
  y: Int32Array;
  /** Labels per sample (default 1); with `> 1` the loss receives labels `[batch, yWidth]`. */
  yWidth?: number;
}

/** Anything {@link fit} trains on. */
export type FitInput = FitData | Windows | BatchSource;

/** True for a {@link BatchSource} (as opposed to labelled arrays). */
export function isBatchSource(d: unknown): d is BatchSource {
  return typeof d === "object" && d !== null &&
    (typeof (d as BatchSource).batch === "function" ||
      typeof (d as BatchSource).epoch === "function");
}

/** Labelled arrays checked and indexed by {@link prepareArrays}. */
export interface PreparedArrays {
  /** Inputs, row-major. */
  x: Float32Array;
  /** Shape of one sample. */
  rowShape: number[];
  /** Values per sample. */
  rowSize: number;
  /** Labels, `yWidth` per sample. */
  y: Int32Array;
  /** Labels per sample. */
  yWidth: number;
  /** Labelled samples (first label >= 0). */
  idx: Int32Array;
  /** Number of classes when the data says (`Windows.classes`). */
  classes?: number;
}

/**
 * Check labelled arrays (`FitData` or `Windows`) and index their labelled
 * samples.
 *
 * @throws ConfigError naming `field` when sizes disagree, or naming the first
 *   NaN/±Inf input value (window, channel, sample for `[n, c, t]` data)
 */
export function prepareArrays(d: FitData | Windows, field: string): PreparedArrays {
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
  const bad = describeNonFinite(x, shape, shape.length === 3 ? WINDOW_AXES : undefined);
  if (bad !== null) throw new ConfigError(`fit ${field}.x holds ${bad}`);
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

/** Rows `rows[from..to)` of prepared arrays as a host batch `{ x, y: [labels] }`. */
export function gatherRows(
  p: PreparedArrays,
  rows: ArrayLike<number>,
  from: number,
  to: number,
): { x: HostTensor; y: HostTensor; n: number } {
  const b = to - from;
  const xb = new Float32Array(b * p.rowSize);
  const w = p.yWidth;
  const yb = new Int32Array(b * w);
  for (let i = 0; i < b; i++) {
    const r = rows[from + i];
    xb.set(p.x.subarray(r * p.rowSize, (r + 1) * p.rowSize), i * p.rowSize);
    for (let j = 0; j < w; j++) yb[i * w + j] = p.y[r * w + j];
  }
  return {
    x: { data: xb, shape: [b, ...p.rowShape] },
    y: { data: yb, shape: w === 1 ? [b] : [b, w] },
    n: b,
  };
}

/** Options of {@link arraySource}. */
export interface ArraySourceArgs {
  /** Samples per step (the last batch of an epoch may be smaller). */
  batchSize: number;
  /** Reshuffle every epoch from the epoch seed (default true). */
  shuffle?: boolean;
}

/**
 * Labelled arrays as a batch source: each epoch visits every labelled
 * sample once, in an order drawn from the epoch seed. (`fit` uses its own
 * equivalent for arrays, which stores the order in checkpoints; this is for
 * composing arrays with other sources, e.g. in a validation pass.)
 */
export function arraySource(data: FitData | Windows, args: ArraySourceArgs): BatchSource {
  const p = prepareArrays(data, "data");
  const bs = args.batchSize;
  if (!(bs >= 1)) throw new ConfigError(`arraySource batchSize: must be >= 1, got ${bs}`);
  let order: Int32Array = p.idx;
  let orderEpoch = -1;
  return {
    stepsPerEpoch: Math.ceil(p.idx.length / bs),
    samplesPerEpoch: p.idx.length,
    batch: ({ epoch, step, epochSeed }) => {
      if ((args.shuffle ?? true) && orderEpoch !== epoch) {
        order = shuffled(p.idx, epochSeed);
        orderEpoch = epoch;
      }
      const from = step * bs;
      const { x, y } = gatherRows(p, order, from, Math.min(order.length, from + bs));
      return { x, y };
    },
  };
}

function shuffled(idx: Int32Array, seed: number): Int32Array {
  const out = idx.slice();
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const j = s % (i + 1);
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

/** A batch's `x` or `y` as a list (none → empty). */
export function asList(v: TensorLike | TensorLike[] | undefined): TensorLike[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * A host array `{ data, shape }` of a tensor-like (copies a tensor's data).
 *
 * @throws ConfigError naming `what` for a size/shape mismatch or a dtype
 *   other than float32/int32
 */
export function toHostTensor(t: TensorLike, what: string): HostTensor {
  if (t instanceof tf.Tensor) {
    if (t.dtype !== "float32" && t.dtype !== "int32") {
      throw new ConfigError(`fit ${what}: dtype ${t.dtype} (float32 or int32 expected)`);
    }
    return { data: t.dataSync() as Float32Array | Int32Array, shape: t.shape.slice() };
  }
  if (
    !t || !Array.isArray(t.shape) ||
    !(t.data instanceof Float32Array || t.data instanceof Int32Array)
  ) {
    throw new ConfigError(
      `fit ${what}: not a tensor or { data: Float32Array | Int32Array, shape }`,
    );
  }
  if (sizeOf(t.shape) !== t.data.length) {
    throw new ConfigError(`fit ${what}: ${t.data.length} values for shape [${t.shape}]`);
  }
  return t;
}

/** A tensor of a tensor-like (a tensor is returned as is). */
export function toTensor(t: TensorLike, what: string): tf.Tensor {
  if (t instanceof tf.Tensor) return t;
  const h = toHostTensor(t, what);
  return tf.tensor(h.data, h.shape, h.data instanceof Int32Array ? "int32" : "float32");
}

/** Batch size (axis 0) of a tensor-like. */
export function batchSizeOf(t: TensorLike): number {
  return t.shape[0];
}

/**
 * Check a batch: at least one input, every tensor the same batch size > 0,
 * float32 values all finite (the first NaN/±Inf is named: window, channel,
 * sample for `[n, c, t]`), sample weights of that length. Returns the batch size.
 *
 * @throws ConfigError naming the step and the tensor
 */
export function checkBatch(b: Batch, where: string): number {
  if (!b || typeof b !== "object") throw new ConfigError(`fit ${where}: the source gave no batch`);
  const xs = asList(b.x), ys = asList(b.y);
  if (xs.length === 0) throw new ConfigError(`fit ${where}: the batch has no input x`);
  const n = batchSizeOf(xs[0]);
  const all: [string, TensorLike][] = [
    ...xs.map((t, i) => [`x[${i}]`, t] as [string, TensorLike]),
    ...ys.map((t, i) => [`y[${i}]`, t] as [string, TensorLike]),
  ];
  for (const [name, t] of all) {
    if (!t || !Array.isArray(t.shape)) {
      throw new ConfigError(`fit ${where}: ${name} is not a tensor or { data, shape }`);
    }
    if (t.shape[0] !== n) {
      throw new ConfigError(`fit ${where}: ${name} has batch ${t.shape[0]}, x[0] has ${n}`);
    }
    // a NaN/Inf input or target would train on garbage (or give a NaN loss later)
    if (t instanceof tf.Tensor ? t.dtype === "float32" : t.data instanceof Float32Array) {
      const data = t instanceof tf.Tensor ? t.dataSync() : t.data;
      const bad = describeNonFinite(data, t.shape, t.shape.length === 3 ? WINDOW_AXES : undefined);
      if (bad !== null) throw new ConfigError(`fit ${where}: ${name} holds ${bad}`);
    }
  }
  if (!(n > 0)) throw new ConfigError(`fit ${where}: empty batch`);
  if (b.sampleWeights && b.sampleWeights.length !== n) {
    throw new ConfigError(
      `fit ${where}: ${b.sampleWeights.length} sample weights for ${n} samples`,
    );
  }
  const badWeight = b.sampleWeights ? describeNonFinite(b.sampleWeights, [n]) : null;
  if (badWeight !== null) throw new ConfigError(`fit ${where}: sample weights hold ${badWeight}`);
  return n;
}

/** Dispose the tensors (not host arrays) of a batch. */
export function disposeBatch(b: Batch): void {
  for (const t of [...asList(b.x), ...asList(b.y)]) if (t instanceof tf.Tensor) t.dispose();
}
