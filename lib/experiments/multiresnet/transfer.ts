/**
 * The models of the Gjoreski et al. transfer experiment: train a source
 * Multi-ResNet, build a target model from it ("the first k residual blocks
 * transferred and frozen"), adapt it on a subset of the target's training
 * windows, and predict a part's classes. Plain functions over
 * {@link TransferPart}s (raw windows + spectrograms, lib/experiments/multiresnet/data.ts)
 * on the one training loop (`fit`, both cores).
 *
 * @example
 * ```ts
 * const src = await trainSourceModel(wisdm, spec, { seed: 0 });
 * const target = transferredModel(src.model, hmp.classes.length, spec, { k: 2, seed: 0 });
 * await adaptModel(target.model, hmp.train, subset, spec, { seed: 0, freeze: target.frozen });
 * const yPred = predictPart(target.model, hmp.test);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../../errors.ts";
import { multiResNet, multiResNetBlockPrefixes } from "../../models/multi_resnet.ts";
import { rng } from "../../random.ts";
import type { BatchSource } from "../../train/batches.ts";
import { forward } from "../../train/forward.ts";
import { transferWeights } from "../../train/freeze.ts";
import type { EpochRecord } from "../../train/history.ts";
import { fit } from "../../train/loop.ts";
import { kerasDecay } from "../../train/schedules.ts";
import type { SpectrogramFrames } from "../../signal/spectrogram.ts";
import type { TransferDataset, TransferDims, TransferPart } from "./data.ts";
import type { MultiResNetSpec } from "./spec.ts";

/** The sizes of one dataset's inputs (samples, axes, spectrogram frames and bins). */
export type PartDims = TransferDims;

/** What a model for a dataset needs to know: its input sizes and classes. */
export type ModelDims = TransferDims & { classes: readonly string[] };

/** The input sizes of a dataset. */
export function partDims(ds: TransferDataset): PartDims {
  return { length: ds.length, channels: ds.channels, frames: ds.frames, bins: ds.bins };
}

/**
 * Window `i` of a part's spectrograms (`[frames, bins, channels]`) as
 * channel-major {@link SpectrogramFrames} for lib/plots/spectrogram.ts.
 */
export function spectrogramFramesOf(
  part: TransferPart,
  dims: PartDims,
  i: number,
): SpectrogramFrames {
  const { frames, bins, channels } = dims;
  const row = frames * bins * channels;
  const src = part.spec.subarray(i * row, (i + 1) * row);
  const data = new Float32Array(row);
  for (let t = 0; t < frames; t++) {
    for (let f = 0; f < bins; f++) {
      for (let c = 0; c < channels; c++) {
        data[t * bins * channels + c * bins + f] = src[(t * bins + f) * channels + c];
      }
    }
  }
  return { data, frames, features: bins * channels, channels, bins };
}

/**
 * Windows `idx` of a part as one batch `{ x: [raw, spectrogram], y }`
 * (host tensors: raw `[b, length, channels]`, spectrogram `[b, frames, bins, channels]`).
 */
export function gatherBatch(
  part: TransferPart,
  dims: PartDims,
  idx: ArrayLike<number>,
): { x: { data: Float32Array; shape: number[] }[]; y: { data: Int32Array; shape: number[] } } {
  const rawRow = dims.length * dims.channels;
  const specRow = dims.frames * dims.bins * dims.channels;
  const b = idx.length;
  const raw = new Float32Array(b * rawRow), spec = new Float32Array(b * specRow);
  const y = new Int32Array(b);
  for (let i = 0; i < b; i++) {
    const r = idx[i];
    raw.set(part.x.subarray(r * rawRow, (r + 1) * rawRow), i * rawRow);
    spec.set(part.spec.subarray(r * specRow, (r + 1) * specRow), i * specRow);
    y[i] = part.y[r];
  }
  return {
    x: [
      { data: raw, shape: [b, dims.length, dims.channels] },
      { data: spec, shape: [b, dims.frames, dims.bins, dims.channels] },
    ],
    y: { data: y, shape: [b] },
  };
}

/**
 * Windows `idx` of a part as a batch source: every window once per epoch,
 * in an order drawn from the epoch seed (`shuffle`), `batchSize` at a time.
 */
export function partSource(
  part: TransferPart,
  dims: PartDims,
  idx: ArrayLike<number>,
  batchSize: number,
  shuffle = true,
): BatchSource {
  const all = Array.from(idx);
  if (all.length === 0) throw new ConfigError("multiresnet partSource: no windows");
  const bs = Math.max(1, Math.min(batchSize, all.length));
  let order = all, orderEpoch = -1;
  return {
    stepsPerEpoch: Math.ceil(all.length / bs),
    samplesPerEpoch: all.length,
    batch: ({ epoch, step, epochSeed }) => {
      if (shuffle && orderEpoch !== epoch) {
        order = rng(epochSeed).shuffle(all.slice());
        orderEpoch = epoch;
      }
      return gatherBatch(part, dims, order.slice(step * bs, Math.min(all.length, (step + 1) * bs)));
    },
  };
}

/** Predicted classes of windows `idx` of a part (all by default), inference mode. */
export function predictPart(
  model: tf.LayersModel,
  part: TransferPart,
  dims: PartDims,
  idx?: ArrayLike<number>,
  batchSize = 256,
): Int32Array {
  const rows = idx ? Array.from(idx) : Array.from({ length: part.n }, (_, i) => i);
  const out = new Int32Array(rows.length);
  for (let s = 0; s < rows.length; s += batchSize) {
    const b = gatherBatch(part, dims, rows.slice(s, s + batchSize));
    tf.tidy(() => {
      const xs = b.x.map((h) => tf.tensor(h.data, h.shape));
      const [logits] = forward(model, xs, { training: false });
      out.set(logits.argMax(-1).dataSync() as Int32Array, s);
    });
  }
  return out;
}

/** A seeded, class-stratified subset of at most `max` of `0..n-1` (ascending), or all. */
export function stratifiedCap(y: Int32Array, max: number | null, seed: number): Int32Array {
  const n = y.length;
  if (max === null || n <= max) return Int32Array.from({ length: n }, (_, i) => i);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const list = byClass.get(y[i]) ?? [];
    list.push(i);
    byClass.set(y[i], list);
  }
  const lists = [...byClass].sort((a, b) => a[0] - b[0]).map(([, l]) => l);
  // largest-remainder quotas summing to exactly `max`, at least one per class
  const exact = lists.map((l) => (l.length * max) / n);
  const take = exact.map((e) => Math.max(1, Math.floor(e)));
  let left = max - take.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((_, i) => i).sort((a, b) =>
    (exact[b] - Math.floor(exact[b])) - (exact[a] - Math.floor(exact[a])) || a - b
  );
  for (let j = 0; left > 0; j = (j + 1) % lists.length) {
    const i = byRemainder[j];
    if (take[i] < lists[i].length) {
      take[i]++;
      left--;
    }
  }
  while (left < 0) {
    const i = take.indexOf(take.reduce((a, b) => Math.max(a, b), -Infinity));
    take[i]--;
    left++;
  }
  const r = rng(seed);
  const keep: number[] = [];
  lists.forEach((list, i) => {
    for (const v of r.shuffle(list.slice()).slice(0, take[i])) keep.push(v);
  });
  return Int32Array.from(keep.sort((a, b) => a - b));
}

/** What {@link trainSourceModel} returns. */
export interface SourceModelResult {
  /** The trained model (best validation epoch). */
  model: tf.LayersModel;
  /** Epoch records (trainLoss, valLoss, lr, seconds). */
  history: EpochRecord[];
  /** 1-based epoch kept, or null. */
  bestEpoch: number | null;
  /** Training windows used. */
  nTrain: number;
  /** Validation windows used. */
  nVal: number;
  /** Wall time of `fit`, s. */
  fitSec: number;
}

/** Options of the training functions. */
export interface TrainOptions {
  /** Seed of the initialisation, caps and batch order. */
  seed: number;
  /** Progress lines. */
  log?: (msg: string) => void;
  /** Resume folder for `fit`'s checkpoint, or none. */
  checkpointDir?: string;
}

/** A fresh Multi-ResNet for a dataset's sizes and classes. */
export function buildMultiResNet(
  ds: ModelDims,
  spec: MultiResNetSpec,
  seed: number,
  name = "multi_resnet",
): tf.LayersModel {
  const model = multiResNet({
    ...spec.model,
    windowLength: ds.length,
    numClasses: ds.classes.length,
    channels: ds.channels,
    spectral: spec.model.spectral === false
      ? false
      : { ...spec.model.spectral, frames: ds.frames, bins: ds.bins },
    seed,
    name,
  });
  return model;
}

/**
 * Train a source model on a dataset's training part (capped, stratified),
 * early-stopped on the validation part's loss, the best epoch's weights
 * kept (the paper: "trained on the training subset of the source dataset
 * and validated on the validation subset").
 */
export async function trainSourceModel(
  ds: TransferDataset,
  spec: MultiResNetSpec,
  opts: TrainOptions,
): Promise<SourceModelResult> {
  const s = spec.source, dims = partDims(ds);
  const trainIdx = stratifiedCap(ds.train.y, s.maxTrainWindows, opts.seed + 11);
  const valIdx = stratifiedCap(ds.val.y, s.maxValWindows, opts.seed + 12);
  const model = buildMultiResNet(ds, spec, opts.seed, `source_${ds.name}`);
  const t0 = performance.now();
  const r = await fit(model, partSource(ds.train, dims, trainIdx, s.batchSize), {
    epochs: s.epochs,
    optimizer: { name: "adam", lr: s.lr },
    schedule: kerasDecay({ lr: s.lr, decay: s.decay }),
    validation: partSource(ds.val, dims, valIdx, 256, false),
    earlyStopping: { monitor: "valLoss", patience: s.patience, restoreBest: true },
    seed: opts.seed,
    workers: spec.workers,
    progress: false,
    checkpointDir: opts.checkpointDir,
    label: `source ${ds.name}`,
    onEpochEnd: (e) =>
      opts.log?.(
        `source ${ds.name} epoch ${e.epoch}: loss ${e.trainLoss.toFixed(4)} val ${
          (e.valLoss ?? NaN).toFixed(4)
        } (${e.seconds.toFixed(0)} s)`,
      ),
  });
  return {
    model,
    history: r.rows,
    bestEpoch: r.bestEpoch,
    nTrain: trainIdx.length,
    nVal: valIdx.length,
    fitSec: (performance.now() - t0) / 1000,
  };
}

/** A target model built from a source model. */
export interface TransferredModel {
  /** The target model (target classes; fresh softmax). */
  model: tf.LayersModel;
  /** Layer-name prefixes frozen during adaptation (blocks 1..k). */
  frozen: string[];
  /** Names of the weights copied from the source. */
  copied: string[];
}

/**
 * The target model for "the first k residual blocks transferred": a fresh
 * Multi-ResNet for the target's classes (seeded), with every weight but
 * the output layer copied from `source` (`copy-all-freeze-k`, the default
 * reading) or only blocks 1..k (`copy-k-only`); blocks 1..k of every axis
 * are to be frozen (`frozen`). k = 0 with copy-all is "copy all, freeze
 * none".
 *
 * @throws ConfigError when k exceeds the model's blocks, or copy-k-only with k = 0
 */
export function transferredModel(
  source: tf.LayersModel,
  target: ModelDims,
  spec: MultiResNetSpec,
  opts: { k: number; seed: number },
): TransferredModel {
  const K = spec.model.numBlocks ?? 3;
  const frozen = multiResNetBlockPrefixes(opts.k, K);
  const reading = spec.transfer.reading;
  if (reading === "copy-k-only" && opts.k === 0) {
    throw new ConfigError("multiresnet transfer: copy-k-only with k = 0 is the baseline");
  }
  const model = buildMultiResNet(target, spec, opts.seed, "target");
  const select = reading === "copy-all-freeze-k"
    ? (name: string) => !name.startsWith("head_logits")
    : (name: string) => frozen.some((p) => name.startsWith(p));
  const copied = transferWeights(source, model, { select });
  return { model, frozen, copied };
}

/** What {@link adaptModel} returns. */
export interface AdaptResult {
  /** Epoch records. */
  history: EpochRecord[];
  /** Wall time of `fit`, s. */
  fitSec: number;
}

/**
 * Adapt (or, without `freeze`, train from scratch) a model on windows
 * `idx` of a training part for the spec's fixed number of epochs; the final
 * weights are kept. Frozen blocks run batch norm as
 * `spec.transfer.frozenBatchNorm` says.
 */
export async function adaptModel(
  model: tf.LayersModel,
  part: TransferPart,
  dims: PartDims,
  idx: ArrayLike<number>,
  spec: MultiResNetSpec,
  opts: TrainOptions & { freeze?: string[] },
): Promise<AdaptResult> {
  const a = spec.adaptation;
  const freeze = opts.freeze && opts.freeze.length > 0 ? opts.freeze : undefined;
  const t0 = performance.now();
  const r = await fit(model, partSource(part, dims, idx, a.batchSize), {
    epochs: a.epochs,
    optimizer: { name: "adam", lr: a.lr },
    schedule: kerasDecay({ lr: a.lr, decay: a.decay }),
    freeze: freeze ? (name: string) => freeze.some((p) => name.startsWith(p)) : undefined,
    frozenBatchNorm: spec.transfer.frozenBatchNorm,
    seed: opts.seed,
    workers: spec.workers,
    progress: false,
    checkpointDir: opts.checkpointDir,
  });
  return { history: r.rows, fitSec: (performance.now() - t0) / 1000 };
}
