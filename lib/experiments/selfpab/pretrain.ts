/**
 * SelfPAB's masked-reconstruction pre-training stage (spec
 * ../shared/specs/selfpab.md §2, §7; reference ntnu-ai-lab/SelfPAB
 * `upstream.py` + `HUNT4MaskedDataset`), as a library function on
 * HUNT4-normalised spectrogram sequences:
 *
 * - **Data.** Each step draws `batchSize` random crops of `cropFrames`
 *   frames; a crop's sequence is drawn with probability proportional to its
 *   length (frames), its start uniformly. A sequence shorter than the crop
 *   is zero-padded at the end: the padding is never altered and never in the
 *   loss mask ({@link selfpabPretrainBatch}).
 * - **Alteration.** The TERA alteration of lib/pretext/tera.ts (`teraBatch`,
 *   the reference's 80/10/10 time branch and one 3-bin frequency band),
 *   drawn per crop from a per-step seed `mixSeed(seed, tag, step)`; the
 *   crops likewise. A step's batch depends only on (pool, seed, step), so
 *   runs are reproducible and resumable.
 * - **Model.** lib/models/transformer.ts `transformerEncoder` (post-LN,
 *   sinusoidal positions, no final norm; sizes from `spec.model`; any
 *   sequence length) plus `withReconstructionHead` (one Linear d → features).
 * - **Loss.** lib/train/losses.ts `maskedL1Loss` (`{ kind: "masked-l1" }`,
 *   SelfPAB's per-sample normalised masked L1, batch mean), targets
 *   `[clean, mask]`.
 * - **Optimisation.** AdamW (lib/train/optimisers.ts; betas 0.9 / 0.98, eps
 *   1e-8, decoupled decay `spec.pretrain.weightDecay`) with SelfPAB's
 *   `linearWuSchedule` (lrEnd → lr over `warmupFraction` of the steps, then
 *   linearly back to lrEnd at the last step; step 1 at the peak, as the
 *   reference).
 * - **Training.** lib/train/loop.ts `fit` on a batch source, one "epoch" of
 *   `spec.pretrain.steps` steps, data-parallel on both cores with
 *   `workers: "auto"` (as the Yuan pre-training, lib/experiments/yuan/run.ts).
 *   A non-finite loss is fit's ConfigError (the last checkpoint is kept).
 * - **Validation** every `validateEvery` steps and at the end: the masked L1
 *   in inference mode (no dropout) on `valCrops` fixed crops with a fixed
 *   alteration, both drawn from the seed (from `val` when given, else from
 *   the pool: then the crops overlap the training data) and regenerated
 *   identically, chunk by chunk, at each validation
 *   ({@link selfpabValidationChunk}). The trivial anchors
 *   (`trivialMaskedL1`, spec §7.0: predicting 0 and linear interpolation
 *   over time) are computed once on exactly those crops.
 * - **Checkpoints / resume.** With `checkpointDir`, fit writes its atomic
 *   checkpoint (weights, AdamW moments, generator state, the history so far)
 *   at every validation; a killed run called again with the same arguments
 *   continues from the last one and ends with the same history. On the
 *   calling thread (`workers: 0`) and the same backend the resumed run is
 *   bit-identical to an uninterrupted one (weights and every history value
 *   but `seconds`); with workers fit's parallel trainer resumes exactly as
 *   well on the same worker count (same shards, same seeds), but that is not
 *   covered by the tests here.
 *
 * `saveSelfpabPretrained` / `loadSelfpabPretrained` store the result as one
 * atomic folder (tfjs `model.json` + `weights.bin`, `pretrain.json`), and
 * {@link reconstructionExample} gives one altered crop with its
 * reconstruction for plots.
 *
 * @example
 * ```ts
 * const spec = selfpabSpec("smoke");
 * const r = await pretrainSelfpab({ spec, pool: seqs.map((s) => s.frames),
 *   poolNames: seqs.map((s) => s.key), checkpointDir: "results/selfpab/ckpt/pretrain" });
 * r.finalValL1 < r.trivial.interpolate; // the encoder learned something
 * await saveSelfpabPretrained("results/selfpab/pretrained-dual", r);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { CheckpointError, ConfigError, DataFormatError } from "../../errors.ts";
import { writeDirAtomic, writeTextAtomic } from "../../fs.ts";
import { checkFiniteTensor } from "../../models/finite.ts";
import { transformerEncoder, withReconstructionHead } from "../../models/transformer.ts";
import {
  teraAlter,
  type TeraAlteration,
  type TeraBatch,
  teraBatch,
  trivialMaskedL1,
} from "../../pretext/tera.ts";
import { type Rng, rng as makeRng } from "../../random.ts";
import type { SpectrogramFrames } from "../../signal/spectrogram.ts";
import type { Batch, BatchSource } from "../../train/batches.ts";
import { fit } from "../../train/loop.ts";
import { mixSeed } from "../../train/random.ts";
import { fileIOHandler } from "../../train/save.ts";
import { linearWuSchedule } from "../../train/schedules.ts";
import { type SelfpabSpec, validateSelfpabSpec } from "./spec.ts";

/** Shortest crop: TERA's 3-frame spans need `int(0.15·T/3) ≥ 1`, i.e. T ≥ 20 (spec.ts checks the same). */
export const MIN_CROP_FRAMES = 20;

/** AdamW betas and epsilon of the reference upstream (`config_optimizers`; spec §2.4). */
export const SELFPAB_ADAMW = { beta1: 0.9, beta2: 0.98, eps: 1e-8 } as const;

// seed tags: every random draw derives from (seed, tag[, step])
const TAG_CROPS = 0x5c20;
const TAG_TERA = 0x7e7a;
const TAG_VAL_CROPS = 0x7a1c;
const TAG_VAL_TERA = 0x7a17;

// what the validate callback adds to fit's validation records (kept in its checkpoint)
const M_TRAIN = "pretrain/trainL1";
const M_LR = "pretrain/lr";
const M_SECONDS = "pretrain/seconds";

/** Arguments of {@link pretrainSelfpab}. */
export interface SelfpabPretrainArgs {
  /** The experiment spec: `model` (sizes, dropout), `pretrain` (steps, batch, crop, schedule, validation) and `seed`. */
  spec: SelfpabSpec;
  /** HUNT4-normalised frames of the pre-training sequences (all with the same `features`, 156 or 78, and `bins`). */
  pool: SpectrogramFrames[];
  /** Names of the pool sequences for error messages (same length as `pool`; default `pool[i]`). */
  poolNames?: string[];
  /** Held-out sequences for the validation crops (default: fixed seeded crops of the pool). */
  val?: SpectrogramFrames[];
  /** Names of the `val` sequences for error messages (default `val[i]`). */
  valNames?: string[];
  /** Seed of the model initialisation, crops, alterations, dropout and batch order (default `spec.seed`). */
  seed?: number;
  /** fit workers (default `"auto"`: both cores when the native BLAS backend is up; 0 = the calling thread). */
  workers?: number | "auto";
  /** Folder of fit's checkpoint, written atomically at every validation; a run resumes from it when present. */
  checkpointDir?: string;
  /** Progress messages (one per validation and per checkpoint; default none). */
  log?: (msg: string) => void;
}

/** One validation point of the pre-training history. */
export interface SelfpabPretrainHistoryRow {
  /** Optimiser steps done. */
  step: number;
  /** Mean training masked L1 of the steps since the previous row (normalised units). */
  trainL1: number;
  /** Validation masked L1 on the fixed crops, inference mode (normalised units). */
  valL1: number;
  /** Learning rate of the last step before this row. */
  lr: number;
  /** Wall-clock seconds since the previous row (or the start / resume of the run), training and validation. */
  seconds: number;
}

/** What {@link pretrainSelfpab} returns. */
export interface SelfpabPretrainResult {
  /** Encoder + linear reconstruction head, `[B, T, F] → [B, T, F]` (any T). */
  model: tf.LayersModel;
  /** One row per validation (every `validateEvery` steps and at the end). */
  history: SelfpabPretrainHistoryRow[];
  /** Masked L1 of the trivial predictors on the same validation crops (`mean`: predict 0; `interpolate`: linear in time). */
  trivial: { mean: number; interpolate: number };
  /** Validation masked L1 after the last step. */
  finalValL1: number;
  /** Optimiser steps. */
  steps: number;
  /** Features per frame (156 dual, 78 one sensor). */
  features: number;
  /** Frames per pre-training crop. */
  cropFrames: number;
  /** fit workers that trained (0: the calling thread); 0 for a loaded result. */
  workers: number;
}

/** Where each crop of {@link selfpabCrops} came from. */
export interface SelfpabCropInfo {
  /** Index of the sequence. */
  sequence: number;
  /** First frame of the crop in the sequence. */
  start: number;
  /** Frames taken from the sequence (`< cropFrames` for a short, zero-padded sequence). */
  validFrames: number;
}

/** Crops of {@link selfpabCrops}: `[count, cropFrames, features]` windows and their origin. */
export interface SelfpabCrops {
  /** Row-major `[count, cropFrames, features]`, zero after `validFrames` of each crop. */
  data: Float32Array;
  /** `[count, cropFrames, features]`. */
  shape: number[];
  /** Valid frames per crop. */
  validFrames: Int32Array;
  /** Origin of each crop. */
  crops: SelfpabCropInfo[];
}

/** Arguments of {@link selfpabCrops}. */
export interface SelfpabCropsArgs {
  /** Crops to draw. */
  count: number;
  /** Frames per crop. */
  cropFrames: number;
  /** Random stream of the draws. */
  rng: Rng;
}

/**
 * Draw `count` random crops of `cropFrames` frames: the sequence with
 * probability proportional to its frame count, the start uniform in
 * `[0, frames − cropFrames]`; a shorter sequence is taken whole from frame 0
 * and zero-padded at the end. The sequences are not checked here (see
 * {@link checkSelfpabSequences}).
 *
 * @example
 * const c = selfpabCrops(pool, { count: 8, cropFrames: 120, rng: rng(1) });
 * c.shape; // [8, 120, 156]
 * @throws ConfigError when every sequence is empty
 */
export function selfpabCrops(seqs: SpectrogramFrames[], args: SelfpabCropsArgs): SelfpabCrops {
  const { count, cropFrames, rng: r } = args;
  const F = seqs[0]?.features ?? 0;
  const cum = new Float64Array(seqs.length);
  let total = 0;
  seqs.forEach((s, i) => (cum[i] = total += s.frames));
  if (!(total > 0)) throw new ConfigError("selfpab crops: every sequence has 0 frames");
  const data = new Float32Array(count * cropFrames * F);
  const validFrames = new Int32Array(count);
  const crops: SelfpabCropInfo[] = [];
  for (let i = 0; i < count; i++) {
    const u = r.next() * total;
    let lo = 0, hi = seqs.length - 1; // first index with cum > u
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    const s = seqs[lo];
    const start = s.frames > cropFrames ? r.int(s.frames - cropFrames + 1) : 0;
    const valid = Math.min(cropFrames, s.frames);
    data.set(s.data.subarray(start * F, (start + valid) * F), i * cropFrames * F);
    validFrames[i] = valid;
    crops.push({ sequence: lo, start, validFrames: valid });
  }
  return { data, shape: [count, cropFrames, F], validFrames, crops };
}

/**
 * Check pre-training sequences: at least one, the same `features` and
 * `bins` everywhere (features a multiple of bins), data of frames × features
 * values, every value finite.
 *
 * @param what `"pool"` or `"val"`, used in messages.
 * @returns the common `{ features, bins }`
 * @throws ConfigError on an empty list or a names list of the wrong length
 * @throws DataFormatError naming the sequence (and the frame and feature of a NaN/Inf)
 */
export function checkSelfpabSequences(
  seqs: SpectrogramFrames[],
  names: string[] | undefined,
  what: string,
): { features: number; bins: number } {
  if (!Array.isArray(seqs) || seqs.length === 0) {
    throw new ConfigError(`selfpab pretrain ${what}: no sequences`);
  }
  if (names !== undefined && names.length !== seqs.length) {
    throw new ConfigError(
      `selfpab pretrain ${what}Names: ${names.length} names for ${seqs.length} sequences`,
    );
  }
  const name = (i: number) => names?.[i] ?? `${what}[${i}]`;
  const { features, bins } = seqs[0];
  if (!(Number.isInteger(bins) && bins >= 1 && features % bins === 0 && features > 0)) {
    throw new DataFormatError(
      name(0),
      `${features} features per frame is not a positive multiple of ${bins} bins`,
    );
  }
  let frames = 0;
  seqs.forEach((s, i) => {
    if (s.features !== features || s.bins !== bins) {
      throw new DataFormatError(
        name(i),
        `${s.features} features (${s.bins} bins) per frame, but ${
          name(0)
        } has ${features} (${bins} bins); every pre-training sequence needs the same features`,
      );
    }
    if (!Number.isInteger(s.frames) || s.frames < 0 || s.data.length !== s.frames * features) {
      throw new DataFormatError(
        name(i),
        `${s.data.length} values for ${s.frames} frames × ${features} features`,
      );
    }
    for (let j = 0; j < s.data.length; j++) {
      if (!Number.isFinite(s.data[j])) {
        const t = Math.floor(j / features), d = j % features;
        throw new DataFormatError(
          name(i),
          `frame ${t} feature ${d} (channel ${Math.floor(d / bins)}, bin ${d % bins}) is ${
            s.data[j]
          }`,
        );
      }
    }
    frames += s.frames;
  });
  if (frames === 0) throw new ConfigError(`selfpab pretrain ${what}: every sequence has 0 frames`);
  return { features, bins };
}

/** Arguments of {@link selfpabPretrainBatch}. */
export interface SelfpabPretrainBatchArgs {
  /** Crops per batch. */
  batchSize: number;
  /** Frames per crop. */
  cropFrames: number;
  /** Bins per channel of the frames (26). */
  bins: number;
  /** The run's seed. */
  seed: number;
  /** 0-based optimiser step. */
  step: number;
}

/**
 * The training batch of one step: crops ({@link selfpabCrops}, seed
 * `mixSeed(seed, crops, step)`) altered by `teraBatch` (seed
 * `mixSeed(seed, tera, step)`, padding excluded via `validFrames`).
 *
 * @example
 * const b = selfpabPretrainBatch(pool, { batchSize: 8, cropFrames: 120, bins: 26, seed: 1, step: 0 });
 * const batch = { x: b.input, y: [b.target, b.mask] };
 */
export function selfpabPretrainBatch(
  pool: SpectrogramFrames[],
  args: SelfpabPretrainBatchArgs,
): TeraBatch & { crops: SelfpabCropInfo[] } {
  const c = selfpabCrops(pool, {
    count: args.batchSize,
    cropFrames: args.cropFrames,
    rng: makeRng(mixSeed(args.seed, TAG_CROPS, args.step)),
  });
  const b = teraBatch({ data: c.data, shape: c.shape }, {
    seed: mixSeed(args.seed, TAG_TERA, args.step),
    bins: args.bins,
    validFrames: c.validFrames,
  });
  return { ...b, crops: c.crops };
}

/** Validation crops per forward pass (fixed, so the validation set does not depend on the batch size). */
export const VAL_CHUNK_CROPS = 16;

/** Arguments of {@link selfpabValidationChunk}. */
export interface SelfpabValidationArgs {
  /** Validation crops in total (`spec.pretrain.valCrops`). */
  valCrops: number;
  /** Frames per crop. */
  cropFrames: number;
  /** Bins per channel of the frames (26). */
  bins: number;
  /** The run's seed. */
  seed: number;
}

/**
 * Chunk `i` (0-based) of the fixed validation set: crops
 * `i·VAL_CHUNK_CROPS …` (at most {@link VAL_CHUNK_CROPS}) drawn from
 * `mixSeed(seed, val, i)` and altered from `mixSeed(seed, valTera, i)`.
 * The set is regenerated chunk by chunk at every validation instead of held
 * in memory (12,000 paper-scale crops would take ≈ 13 GB); chunk i is the
 * same for every `valCrops` that covers it.
 *
 * @example
 * const b = selfpabValidationChunk(val, { valCrops: 32, cropFrames: 240, bins: 26, seed: 42 }, 1);
 * b.input.shape; // [16, 240, 156]
 */
export function selfpabValidationChunk(
  seqs: SpectrogramFrames[],
  args: SelfpabValidationArgs,
  i: number,
): TeraBatch & { validFrames: Int32Array } {
  const count = Math.min(VAL_CHUNK_CROPS, args.valCrops - i * VAL_CHUNK_CROPS);
  if (!(Number.isInteger(i) && i >= 0 && count > 0)) {
    throw new ConfigError(
      `selfpab validation chunk ${i}: out of range for ${args.valCrops} crops in chunks of ${VAL_CHUNK_CROPS}`,
    );
  }
  const c = selfpabCrops(seqs, {
    count,
    cropFrames: args.cropFrames,
    rng: makeRng(mixSeed(args.seed, TAG_VAL_CROPS, i)),
  });
  const b = teraBatch({ data: c.data, shape: c.shape }, {
    seed: mixSeed(args.seed, TAG_VAL_TERA, i),
    bins: args.bins,
    validFrames: c.validFrames,
  });
  return { ...b, validFrames: c.validFrames };
}

/** `trivialMaskedL1` of both trivial predictors over the whole validation set (crop-weighted mean of the chunks). */
function validationTrivial(
  seqs: SpectrogramFrames[],
  v: SelfpabValidationArgs,
): { mean: number; interpolate: number } {
  let mean = 0, interpolate = 0;
  for (let i = 0; i * VAL_CHUNK_CROPS < v.valCrops; i++) {
    const b = selfpabValidationChunk(seqs, v, i);
    const n = b.input.shape[0], o = { validFrames: b.validFrames };
    mean += trivialMaskedL1(b.target, b.mask, "mean", o) * n;
    interpolate += trivialMaskedL1(b.target, b.mask, "interpolate", o) * n;
  }
  return { mean: mean / v.valCrops, interpolate: interpolate / v.valCrops };
}

/** The validation set as a batch source of its chunks (the same crops at every validation). */
function validationSource(seqs: SpectrogramFrames[], v: SelfpabValidationArgs): BatchSource {
  return {
    stepsPerEpoch: Math.ceil(v.valCrops / VAL_CHUNK_CROPS),
    samplesPerEpoch: v.valCrops,
    batch: ({ step }): Batch => {
      const b = selfpabValidationChunk(seqs, v, step);
      return { x: b.input, y: [b.target, b.mask] };
    },
  };
}

/**
 * Build the pre-training model for `features` inputs: the spec's
 * transformer (any sequence length) with a linear reconstruction head.
 *
 * @example
 * selfpabPretrainModel(selfpabSpec("smoke"), 156, 0).outputs[0].shape; // [null, null, 156]
 */
export function selfpabPretrainModel(
  spec: SelfpabSpec,
  features: number,
  seed: number,
): tf.LayersModel {
  const m = spec.model;
  const encoder = transformerEncoder({
    inputSize: features,
    frames: null,
    dModel: m.dModel,
    numHeads: m.heads,
    dimFeedforward: m.ffUnits,
    numLayers: m.layers,
    dropout: m.dropout,
    seed,
    name: "selfpab_encoder",
  });
  return withReconstructionHead(encoder, { seed: seed + 1 });
}

/**
 * Pre-train SelfPAB's encoder by masked reconstruction (see the module doc).
 *
 * @example
 * ```ts
 * const r = await pretrainSelfpab({ spec: selfpabSpec("smoke"), pool, workers: 0 });
 * r.history.at(-1)!.valL1 === r.finalValL1; // true
 * ```
 * @throws ConfigError on an invalid spec (cropFrames < 20, …), an empty pool, or a diverged loss
 * @throws DataFormatError naming the sequence: differing feature counts, a NaN/Inf frame (with its index)
 * @throws CheckpointError when `checkpointDir` holds a checkpoint of another run
 */
export async function pretrainSelfpab(args: SelfpabPretrainArgs): Promise<SelfpabPretrainResult> {
  const { spec } = args;
  const p = spec.pretrain;
  if (!(p.cropFrames >= MIN_CROP_FRAMES)) {
    throw new ConfigError(
      `selfpab spec pretrain.cropFrames: at least ${MIN_CROP_FRAMES} frames (10 s) for the 3-frame masking spans, got ${p.cropFrames}`,
    );
  }
  validateSelfpabSpec(spec);
  const seed = args.seed ?? spec.seed;
  const { features, bins } = checkSelfpabSequences(args.pool, args.poolNames, "pool");
  if (args.val !== undefined) {
    const v = checkSelfpabSequences(args.val, args.valNames, "val");
    if (v.features !== features || v.bins !== bins) {
      throw new DataFormatError(
        args.valNames?.[0] ?? "val[0]",
        `${v.features} features (${v.bins} bins) per frame, the pool has ${features} (${bins} bins)`,
      );
    }
  }
  const log = args.log ?? (() => {});
  const valSeqs = args.val ?? args.pool;
  const valArgs = { valCrops: p.valCrops, cropFrames: p.cropFrames, bins, seed };
  const trivial = validationTrivial(valSeqs, valArgs);
  const model = selfpabPretrainModel(spec, features, seed);
  const schedule = linearWuSchedule({
    lrPeak: p.lr,
    totalSteps: p.steps,
    warmupFraction: p.warmupFraction,
    lrEnd: p.lrEnd,
  });
  const source: BatchSource = {
    stepsPerEpoch: p.steps,
    samplesPerEpoch: p.steps * p.batchSize,
    batch: (ctx): Batch => {
      const b = selfpabPretrainBatch(args.pool, {
        batchSize: p.batchSize,
        cropFrames: p.cropFrames,
        bins,
        seed,
        step: ctx.globalStep,
      });
      return { x: b.input, y: [b.target, b.mask] };
    },
  };
  // training loss since the previous validation: a checkpoint is written at
  // every validation, so after a resume the window starts empty as well
  let trainSum = 0, trainCount = 0, windowStart = performance.now();
  try {
    const res = await fit(model, source, {
      epochs: 1,
      optimizer: { name: "adamw", lr: p.lr, ...SELFPAB_ADAMW, weightDecay: p.weightDecay },
      schedule,
      loss: { kind: "masked-l1" },
      validation: validationSource(valSeqs, valArgs),
      validateEverySteps: p.validateEvery,
      validate: (_m, info) => {
        const row = {
          [M_TRAIN]: trainCount > 0 ? trainSum / trainCount : NaN,
          [M_LR]: schedule.lrAt(Math.max(0, info.step - 1)),
          [M_SECONDS]: (performance.now() - windowStart) / 1000,
        };
        trainSum = 0;
        trainCount = 0;
        windowStart = performance.now();
        return row;
      },
      onStep: ({ loss }) => {
        trainSum += loss;
        trainCount++;
      },
      onValidate: (r) =>
        log(
          `selfpab pretrain step ${r.step}/${p.steps}: train L1 ${
            r.metrics[M_TRAIN].toFixed(4)
          } val L1 ${r.metrics.valLoss.toFixed(4)} (trivial mean ${
            trivial.mean.toFixed(4)
          }, interpolate ${trivial.interpolate.toFixed(4)}) lr ${
            r.metrics[M_LR].toExponential(2)
          } (${r.metrics[M_SECONDS].toFixed(1)} s)`,
        ),
      onCheckpoint: ({ path, step }) => log(`selfpab pretrain checkpoint at step ${step}: ${path}`),
      checkpointDir: args.checkpointDir,
      checkpointEverySteps: p.validateEvery,
      seed,
      workers: args.workers ?? "auto",
      progress: false,
      label: "selfpab pretrain",
    });
    const history = res.validations.map((v): SelfpabPretrainHistoryRow => ({
      step: v.step,
      trainL1: v.metrics[M_TRAIN],
      valL1: v.metrics.valLoss,
      lr: v.metrics[M_LR],
      seconds: v.metrics[M_SECONDS],
    }));
    return {
      model,
      history,
      trivial,
      finalValL1: history[history.length - 1].valL1,
      steps: res.steps,
      features,
      cropFrames: p.cropFrames,
      workers: res.workers,
    };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

// ------------------------------------------------------------ save / load

/** The non-model part of a saved result, `pretrain.json`. */
const PRETRAIN_JSON = "pretrain.json";
const FORMAT = "selfpab-pretrained/1";
const OWNED = ["model.json", "weights.bin", PRETRAIN_JSON];

/**
 * Save a pre-training result to folder `dir`, atomically (lib/fs.ts
 * `writeDirAtomic`: the tfjs `model.json` + `weights.bin` and
 * `pretrain.json` with the history, trivial anchors and sizes are swapped in
 * together).
 *
 * @example
 * await saveSelfpabPretrained("results/selfpab/pretrained-dual", r);
 */
export async function saveSelfpabPretrained(dir: string, r: SelfpabPretrainResult): Promise<void> {
  const meta = {
    format: FORMAT,
    history: r.history,
    trivial: r.trivial,
    finalValL1: r.finalValL1,
    steps: r.steps,
    features: r.features,
    cropFrames: r.cropFrames,
    savedAt: new Date().toISOString(),
  };
  await writeDirAtomic(dir, async (tmp) => {
    await r.model.save(fileIOHandler(tmp));
    await writeTextAtomic(join(tmp, PRETRAIN_JSON), JSON.stringify(meta, null, 2));
  }, { owns: OWNED });
}

/**
 * Load a result saved by {@link saveSelfpabPretrained}.
 *
 * @example
 * const { model, trivial } = await loadSelfpabPretrained("results/selfpab/pretrained-dual");
 * @throws CheckpointError naming the folder (and file) when it is missing, unreadable, of
 *   another format, or a weight holds NaN/Inf
 */
export async function loadSelfpabPretrained(dir: string): Promise<SelfpabPretrainResult> {
  const metaPath = join(dir, PRETRAIN_JSON);
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(await Deno.readTextFile(metaPath));
  } catch (e) {
    throw new CheckpointError(
      dir,
      `not a saved SelfPAB pre-training (${PRETRAIN_JSON}: ${(e as Error).message})`,
    );
  }
  if (meta.format !== FORMAT) {
    throw new CheckpointError(metaPath, `format "${meta.format}", expected "${FORMAT}"`);
  }
  for (const k of ["history", "trivial", "finalValL1", "steps", "features", "cropFrames"]) {
    if (!(k in meta)) throw new CheckpointError(metaPath, `no "${k}" field`);
  }
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(fileIOHandler(dir));
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(dir, `cannot load the model: ${(e as Error).message}`);
  }
  try {
    for (const w of model.weights) {
      checkFiniteTensor(
        join(dir, "weights.bin"),
        w.originalName,
        w.shape as number[],
        w.read().dataSync(),
      );
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  const nan = (v: unknown) => (v === null ? NaN : v as number);
  return {
    model,
    history: (meta.history as Record<string, unknown>[]).map((h) => ({
      step: h.step as number,
      trainL1: nan(h.trainL1),
      valL1: nan(h.valL1),
      lr: nan(h.lr),
      seconds: nan(h.seconds),
    })),
    trivial: meta.trivial as { mean: number; interpolate: number },
    finalValL1: nan(meta.finalValL1),
    steps: meta.steps as number,
    features: meta.features as number,
    cropFrames: meta.cropFrames as number,
    workers: 0,
  };
}

// ------------------------------------------------------------ example

/** Arguments of {@link reconstructionExample}. */
export interface ReconstructionExampleArgs {
  /** Frames of the crop (shorter sequences are zero-padded; padding is never altered or masked). */
  cropFrames: number;
  /** Seed of the crop start (unless `start` is given) and of the alteration. */
  seed: number;
  /** First frame of the crop (default: uniform from the seed). */
  start?: number;
}

/**
 * One crop of `frames`, TERA-altered, with the model's reconstruction
 * (inference mode), for plots: all arrays `[frames·features]` row-major
 * (`frames` = `cropFrames`).
 *
 * @example
 * const ex = reconstructionExample(r.model, seqs[0].frames, { cropFrames: 120, seed: 1 });
 * ex.reconstruction.length === 120 * 156;
 * @throws ConfigError on a bad start or crop length, or a sequence with no frames
 */
export function reconstructionExample(
  model: tf.LayersModel,
  frames: SpectrogramFrames,
  args: ReconstructionExampleArgs,
): {
  input: Float32Array;
  target: Float32Array;
  mask: Float32Array;
  reconstruction: Float32Array;
  frames: number;
  features: number;
  alteration: TeraAlteration;
} {
  const T = args.cropFrames, F = frames.features;
  if (!(Number.isInteger(T) && T >= MIN_CROP_FRAMES)) {
    throw new ConfigError(
      `reconstructionExample cropFrames: an integer >= ${MIN_CROP_FRAMES}, got ${T}`,
    );
  }
  if (frames.frames < 1) throw new ConfigError("reconstructionExample: the sequence has no frames");
  const r = makeRng(args.seed);
  const maxStart = Math.max(0, frames.frames - T);
  const start = args.start ?? r.int(maxStart + 1);
  if (!(Number.isInteger(start) && start >= 0 && start <= maxStart)) {
    throw new ConfigError(
      `reconstructionExample start: an integer in [0, ${maxStart}], got ${start}`,
    );
  }
  const valid = Math.min(T, frames.frames - start);
  const target = new Float32Array(T * F);
  target.set(frames.data.subarray(start * F, (start + valid) * F));
  const { input, mask, alteration } = teraAlter(target, T, r, { bins: frames.bins }, valid);
  const reconstruction = tf.tidy(() => {
    const out = model.predict(tf.tensor3d(input, [1, T, F])) as tf.Tensor;
    return out.dataSync().slice() as Float32Array;
  });
  return { input, target, mask, reconstruction, frames: T, features: F, alteration };
}
