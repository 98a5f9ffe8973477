/**
 * The Gjoreski et al. cross-dataset transfer experiment as typed data
 * ("Cross-dataset Deep Transfer Learning for Activity Recognition",
 * UbiComp/ISWC '19 Adjunct; implementation spec
 * `../shared/specs/multiresnet-transfer.md`, cited as §x below).
 *
 * A source Multi-ResNet is trained on each dataset's training part with
 * validation early stopping; for every target and every other source, a
 * target model receives the source's weights but the softmax, freezes
 * residual blocks 1..k and adapts on nested subsets of the target's
 * training part (the adaptation ladder); the baseline is the same network
 * trained on the subset from scratch. Every cell (target, source or
 * baseline, k, n, seed) is scored on the target's test part with micro F1
 * (the paper's metric) and macro F1.
 *
 * Scales: `smoke` (CI, tiny slices, seconds to a minute), `laptop`
 * (committed `results/multiresnet/`, §6.8's laptop row), `paper` (full
 * splits and the paper's ladder, §6.8's paper row).
 *
 * @example
 * ```ts
 * const spec = multiResNetSpec("laptop");
 * spec.transfer.ks; // [1, 2, 3]
 * spec.adaptation.sizes; // [20, 100, 400, 1000, "max"]
 * ```
 * @module
 */
import { ConfigError } from "../../errors.ts";
import type { MultiResNetArgs } from "../../models/multi_resnet.ts";
import { TRANSFER_DATASETS, type TransferDatasetName } from "./data.ts";

/** The experiment sizes. */
export const MULTIRESNET_SCALES = ["smoke", "laptop", "paper"] as const;
/** An experiment size. */
export type MultiResNetScale = typeof MULTIRESNET_SCALES[number];

/** How "transfer k blocks" is read (§1.3). */
export type TransferReading =
  /** Reading A (default): copy every weight but the softmax, freeze blocks 1..k, fine-tune the rest. */
  | "copy-all-freeze-k"
  /** Reading B: copy and freeze blocks 1..k only; everything above is freshly initialised. */
  | "copy-k-only";

/** Data protocol (§1, §6.2–6.3). */
export interface MultiResNetDataSpec {
  /** Datasets, in the order of the grid's rows and columns. */
  datasets: TransferDatasetName[];
  /** Common sample rate after anti-aliased resampling, Hz (20: WISDM's native rate; the paper's 25 Hz would upsample it, §6.3). */
  rateHz: number;
  /** Window length, s (4). */
  windowSec: number;
  /** Overlap of consecutive windows, s (2). */
  overlapSec: number;
  /** Train / validation / test shares of each dataset's duration (0.4 / 0.1 / 0.5). */
  fractions: { train: number; val: number; test: number };
  /** Seed of the subject / trial partition (one partition for every seed of the models). */
  partitionSeed: number;
  /** STFT length of the spectral branch, samples (32 = 1.6 s at 20 Hz). */
  nFft: number;
  /** STFT hop, samples (8 = 0.4 s). */
  hop: number;
}

/** Training of one source model (§2.1: Adam 1e-3, decay 1e-3, batch 256, ≤ 70 epochs). */
export interface MultiResNetSourceSpec {
  /** Maximum epochs. */
  epochs: number;
  /** Windows per step. */
  batchSize: number;
  /** Adam learning rate. */
  lr: number;
  /** Keras' legacy per-step decay (`lr / (1 + decay·step)`). */
  decay: number;
  /** Early-stopping patience on the validation loss, epochs (the best weights are kept). */
  patience: number;
  /** Cap on training windows (seeded stratified subset), or null: all. */
  maxTrainWindows: number | null;
  /** Cap on validation windows, or null. */
  maxValWindows: number | null;
}

/** Adaptation of target models (§1.1, §6.4). */
export interface MultiResNetAdaptationSpec {
  /** Ladder of adaptation-subset sizes in windows; `"max"`: the smallest dataset's training part (the paper's rule). */
  sizes: (number | "max")[];
  /** Fixed number of epochs, final weights kept (the paper states no selection, §7.5). */
  epochs: number;
  /** Windows per step (capped at the subset size). */
  batchSize: number;
  /** Adam learning rate. */
  lr: number;
  /** Keras' legacy per-step decay. */
  decay: number;
}

/** What is transferred (§1.3). */
export interface MultiResNetTransferSpec {
  /** Numbers of leading residual blocks transferred and frozen (0: copy all, freeze none). */
  ks: number[];
  /** Reading of "transfer k blocks". */
  reading: TransferReading;
  /** Batch norm of frozen blocks: inference mode (moving statistics, not updated) or batch statistics. */
  frozenBatchNorm: "inference" | "batch-stats";
}

/** The whole experiment. */
export interface MultiResNetSpec {
  /** Experiment size. */
  scale: MultiResNetScale;
  /** Data protocol. */
  data: MultiResNetDataSpec;
  /** The network (everything but the input length and the classes, which the data give). */
  model: Omit<MultiResNetArgs, "windowLength" | "numClasses" | "seed" | "name">;
  /** Source-model training. */
  source: MultiResNetSourceSpec;
  /** Target adaptation. */
  adaptation: MultiResNetAdaptationSpec;
  /** Transfer settings. */
  transfer: MultiResNetTransferSpec;
  /** Cap on test windows per target (seeded stratified subset), or null: the whole test part. */
  maxTestWindows: number | null;
  /** Seeds: each trains its own source models, subsets and target models. */
  seeds: number[];
  /** Workers of `fit` (`"auto"`: both cores with the native backend). */
  workers: number | "auto";
}

const DATA: MultiResNetDataSpec = {
  datasets: [...TRANSFER_DATASETS],
  rateHz: 20,
  windowSec: 4,
  overlapSec: 2,
  fractions: { train: 0.4, val: 0.1, test: 0.5 },
  partitionSeed: 0,
  nFft: 32,
  hop: 8,
};

const MODEL: MultiResNetSpec["model"] = {
  channels: 3,
  numBlocks: 3,
  filters: 16,
  maxFilters: 64,
  kernelSizes: [8, 5, 3],
  poolSize: 3,
  poolStride: 2,
  spectral: { nFft: 32, hop: 8, filters: 16, kernelSize: 3, mode: "conv1d" },
  dense: [64, 128],
  dropout: 0.25,
  l2: 1e-3,
  // Keras' default 0.99 needs ~500 steps for the moving statistics to forget their
  // initialisation (0.99^500 ≈ 0.7 %); an adaptation on 20 windows makes 70 steps (0.99^70 ≈ 0.5)
  // and HMP-10's source 8 steps per epoch, so inference-mode predictions (and the validation loss
  // early stopping reads) came from statistics still half at mean 0 / variance 1: the HMP-10
  // source stopped at epoch 2 below its majority class. 0.9 (PyTorch's 0.1) forgets in ~50 steps.
  batchNormMomentum: 0.9,
};

/**
 * The spec of a scale (a fresh copy).
 *
 * @throws ConfigError for an unknown scale
 */
export function multiResNetSpec(scale: MultiResNetScale): MultiResNetSpec {
  const base = {
    data: structuredClone(DATA),
    model: structuredClone(MODEL),
    transfer: {
      ks: [1, 2, 3],
      reading: "copy-all-freeze-k" as TransferReading,
      frozenBatchNorm: "inference" as const,
    },
    workers: "auto" as const,
  };
  switch (scale) {
    case "smoke":
      return {
        scale,
        ...base,
        model: { ...base.model, numBlocks: 2 },
        transfer: { ...base.transfer, ks: [1, 2] },
        source: {
          epochs: 2,
          batchSize: 64,
          lr: 1e-3,
          decay: 1e-3,
          patience: 2,
          maxTrainWindows: 256,
          maxValWindows: 128,
        },
        adaptation: { sizes: [20, 100], epochs: 3, batchSize: 64, lr: 1e-3, decay: 1e-3 },
        maxTestWindows: 200,
        seeds: [0],
      };
    case "laptop":
      return {
        scale,
        ...base,
        source: {
          epochs: 20,
          batchSize: 256,
          lr: 1e-3,
          decay: 1e-3,
          patience: 5,
          maxTrainWindows: 10_000,
          maxValWindows: 2_000,
        },
        adaptation: {
          sizes: [20, 100, 400, 1000, "max"],
          epochs: 70,
          batchSize: 256,
          lr: 1e-3,
          decay: 1e-3,
        },
        maxTestWindows: 2_000,
        seeds: [0, 1, 2],
      };
    case "paper":
      return {
        scale,
        ...base,
        transfer: { ...base.transfer, ks: [0, 1, 2, 3] },
        source: {
          epochs: 70,
          batchSize: 256,
          lr: 1e-3,
          decay: 1e-3,
          patience: 15,
          maxTrainWindows: null,
          maxValWindows: null,
        },
        adaptation: {
          sizes: [20, 50, 100, 200, 400, 800, 1600, "max"],
          epochs: 70,
          batchSize: 256,
          lr: 1e-3,
          decay: 1e-3,
        },
        maxTestWindows: null,
        seeds: [0, 1, 2],
      };
    default:
      throw new ConfigError(
        `multiResNetSpec: unknown scale "${scale}" (${MULTIRESNET_SCALES.join(", ")})`,
      );
  }
}

/**
 * The adaptation ladder in windows: `"max"` becomes `maxSize` (the smallest
 * training part), sizes above it are dropped, duplicates removed, ascending.
 *
 * @example
 * resolveLadder([20, 100, 400, 1000, "max"], 890); // [20, 100, 400, 890]
 * @throws ConfigError for a size that is not a positive integer
 */
export function resolveLadder(sizes: (number | "max")[], maxSize: number): number[] {
  const out = new Set<number>();
  for (const s of sizes) {
    const v = s === "max" ? maxSize : s;
    if (!Number.isInteger(v) || v < 1) {
      throw new ConfigError(`multiresnet adaptation.sizes: ${s} is not a positive integer`);
    }
    if (v <= maxSize) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}
