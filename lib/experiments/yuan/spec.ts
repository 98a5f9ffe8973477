/**
 * The typed experiment spec of the Yuan et al. (2024) / OxWearables
 * ssl-wearables multi-task self-supervision experiment, at three scales:
 *
 * - `smoke`: seconds to a couple of minutes on 2 cores (tests, CI notebook):
 *   a tiny custom harnet, a few hundred windows, 1–2 epochs, few folds.
 * - `laptop`: about half an hour on 2 cores: the `laptop10` harnet (a
 *   quarter of harnet10's widths), 1,536 pre-training steps (only the
 *   scaling head learns in that time), training windows per fold capped.
 *   Outputs in `results/yuan/`.
 * - `long`: the `laptop10` harnet pre-trained for 30,720 steps (long enough
 *   for all four pretext heads to leave chance: a PyTorch re-implementation
 *   needs ~10 k steps for permutation, and our 15,360-step run,
 *   `results/yuan-long-v2/`, had it at only 0.56), following ssl-wearables'
 *   options (Adam with amsgrad, its initialisation incl. PyTorch's default
 *   head biases), held-out accuracy on uniform and std-drawn windows,
 *   downstream on all training windows. About 5 hours on 2 cores (estimated
 *   from v2's epoch times: ~70 min per pre-training, three with the amount
 *   ablation), resumable piece by
 *   piece; outputs in `results/yuan-long-v3/`.
 * - `paper`: the exact harnet10 (1024-d features, 1024 → 512 → classes
 *   classifier) and ssl-wearables' downstream hyper-parameters (Adam lr 1e-4,
 *   batch 64 … early stopping patience 5); for bigger machines.
 *
 * Every random choice (window subsets, folds, transforms, initialisation)
 * derives from `seed`.
 *
 * @example
 * const spec = yuanSpec("smoke", { seed: 3 });
 * spec.pretrain.epochs; // 1
 */
import { ConfigError } from "../../errors.ts";
import type { HarnetStage, HarnetVariant } from "../../models/harnet.ts";
import { HARNET_INITS, type HarnetInit } from "../../models/heads.ts";

/** Experiment scale. */
export type YuanScale = "smoke" | "laptop" | "long" | "paper";

/** All scales. */
export const YUAN_SCALES: readonly YuanScale[] = ["smoke", "laptop", "long", "paper"];

/** An unlabelled pre-training source (a registry dataset name). */
export type PretrainSource =
  | "wisdm-watch"
  | "wisdm-phone"
  | "hmp-adl"
  | "mobifall"
  | "axivity-sample"
  | "daphnet";

/** All pre-training sources of the issue, in load order. */
export const PRETRAIN_SOURCES: readonly PretrainSource[] = [
  "wisdm-watch",
  "wisdm-phone",
  "hmp-adl",
  "mobifall",
  "axivity-sample",
  "daphnet",
];

/** The network: a named harnet variant or custom stages. */
export interface YuanModelSpec {
  /** Named harnet variant (`"laptop10"`, `"harnet10"`); ignored when `stages` is given. */
  variant: HarnetVariant;
  /** Custom stages (the smoke scale's tiny net); `inputSamples` is `windowSec * rateHz`. */
  stages?: HarnetStage[];
  /** Hidden units of the evaluation classifier (features → hidden → classes); 512 in the paper. */
  hiddenUnits: number;
  /**
   * Weight initialisation (lib/models/harnet.ts): `"ssl-wearables"` = what
   * the reference's `Resnet.__init__` does (its `weight_init` walks every
   * module: conv and linear weights, heads included, untruncated Kaiming
   * normal fan-out; linear biases keep PyTorch's default U(±1/√fan_in));
   * `"kaiming"` = truncated Kaiming normal fan-out and zero biases (our first
   * runs); `"torch"` = PyTorch's defaults for every layer.
   */
  init: HarnetInit;
}

/** Multi-task self-supervised pre-training. */
export interface YuanPretrainSpec {
  /** Sources of unlabelled windows. */
  sources: PretrainSource[];
  /** Step between pre-training windows (s); 10 = no overlap. */
  stepSec: number;
  /** Keep at most this many windows per source (seeded subset), null for all. */
  maxWindowsPerSource: number | null;
  /** Fraction of the unlabelled pool used (1 = all; the data-amount ablation varies it). */
  fraction: number;
  /** Passes of `windowsPerEpoch` draws. */
  epochs: number;
  /** Windows drawn per epoch (null: the pool size), with probability ∝ window std. */
  windowsPerEpoch: number | null;
  /** Windows per optimiser step. */
  batchSize: number;
  /** Adam learning rate. */
  lr: number;
  /** Adam with amsgrad (ssl-wearables' `optim.Adam(..., amsgrad=True)`). */
  amsgrad: boolean;
  /** Window sampling: `"std"` (ssl-wearables) or `"uniform"`. */
  weighting: "std" | "uniform";
  /**
   * How a batch is drawn: `"pool"` = `batchSize` windows from the whole pool
   * (∝ std); `"subjects"` = ssl-wearables' loader: `subjectsPerBatch`
   * subjects per batch, each contributing `batchSize / subjectsPerBatch`
   * windows drawn ∝ std without replacement.
   */
  sampling: "pool" | "subjects";
  /**
   * With `sampling: "pool"`: draw with replacement (true, the reference's
   * effect: ssl-wearables draws a few per cent of each subject's windows,
   * where drawing without replacement is practically the same) or an epoch
   * without replacement (false; on our small pool that undoes most of the
   * std weighting, see `multitaskSource`). Ignored with `"subjects"`.
   */
  replace: boolean;
  /** Subjects per batch when `sampling` is `"subjects"` (ssl-wearables: 14 × 1500 windows). */
  subjectsPerBatch: number;
  /**
   * Windows held out of the pool (a uniform random subset): the validation
   * loss and the per-task accuracy on uniformly drawn windows (`val/<task>/acc`).
   */
  valWindows: number;
  /**
   * Windows drawn ∝ std without replacement from the held-out windows, as
   * ssl-wearables' test loader draws them: the per-task accuracy
   * `valstd/<task>/acc` (0 = not measured). Still windows (where no pretext
   * task can be seen) are rare in it.
   */
  valStdWindows: number;
}

/** Downstream (labelled) evaluation. */
export interface YuanDownstreamSpec {
  /** Maximum epochs of the deep settings (early stopping usually ends sooner). */
  epochs: number;
  /** Maximum epochs of the frozen-encoder classifier (trained on cached features: cheap). */
  frozenEpochs: number;
  /** Windows per optimiser step. */
  batchSize: number;
  /** Adam learning rate (scratch, frozen and fine-tuned alike). */
  lr: number;
  /** Early-stopping patience (epochs without a lower validation loss). */
  patience: number;
  /** Cap on training windows per fold (seeded subset of the training subjects' windows), null = all. */
  maxTrainWindows: number | null;
  /** WISDM folds (subject-wise 5-fold, 7:1:2 train/val/test). */
  wisdmFolds: number;
  /** Run only the first this many folds of each protocol (null = all; smoke scale). */
  maxFolds: number | null;
  /** Keep only these ADL subjects (null: the paper's 7). */
  adlSubjects: string[] | null;
  /** Keep only this many WISDM subjects (seeded; null: all present minus the paper's exclusions). */
  wisdmSubjects: number | null;
  /** Trees of the random forest baseline (3000 in the paper). */
  rfTrees: number;
}

/** The ablations. */
export interface YuanAblationSpec {
  /** Labelled training-subject counts for scratch vs fine-tuned on WISDM (`0` = all). */
  labelledSubjects: number[];
  /** WISDM fold the labelled-subject ablation runs on. */
  fold: number;
  /** Fractions of the unlabelled pool to pre-train on (same number of steps each). */
  fractions: number[];
}

/** UMAP of raw, random-init and SSL features. */
export interface YuanUmapSpec {
  /** At most this many test windows per dataset (seeded subset). */
  maxWindows: number;
  /** UMAP neighbours. */
  nNeighbors: number;
  /** UMAP minimum distance. */
  minDist: number;
  /** UMAP optimisation epochs (null: umap-js default). */
  nEpochs: number | null;
}

/** The whole experiment, plain data (JSON-serialisable, written next to the results). */
export interface YuanSpec {
  /** Experiment scale. */
  scale: YuanScale;
  /** Master seed. */
  seed: number;
  /** Window rate (Hz); 30 in ssl-wearables. */
  rateHz: number;
  /** Window length (s); 10. */
  windowSec: number;
  /** Downstream window overlap (s); 5. */
  overlapSec: number;
  /** The network. */
  model: YuanModelSpec;
  /** Pre-training. */
  pretrain: YuanPretrainSpec;
  /** Downstream evaluation. */
  downstream: YuanDownstreamSpec;
  /** Ablations. */
  ablations: YuanAblationSpec;
  /** Representation analysis. */
  umap: YuanUmapSpec;
}

/** The smoke scale's tiny network (same structure as harnet10, widths 4–16, no residual blocks after stage 2). */
export const SMOKE_STAGES: HarnetStage[] = [
  { channels: 4, kernelSize: 5, resBlocks: 1, resKernelSize: 5, downFactor: 2, downOrder: 2 },
  { channels: 8, kernelSize: 5, resBlocks: 0, resKernelSize: 5, downFactor: 2, downOrder: 2 },
  { channels: 8, kernelSize: 5, resBlocks: 0, resKernelSize: 5, downFactor: 5, downOrder: 1 },
  { channels: 16, kernelSize: 5, resBlocks: 0, resKernelSize: 5, downFactor: 5, downOrder: 1 },
  { channels: 16, kernelSize: 5, resBlocks: 0, resKernelSize: 5, downFactor: 3, downOrder: 1 },
];

const BASE = { seed: 42, rateHz: 30, windowSec: 10, overlapSec: 5 };

/** The laptop scale (the long scale shares its downstream protocol). */
const LAPTOP: YuanSpec = {
  ...BASE,
  scale: "laptop",
  // the first laptop run's choices (before the reference's options existed)
  model: { variant: "laptop10", hiddenUnits: 128, init: "kaiming" },
  pretrain: {
    sources: [...PRETRAIN_SOURCES],
    stepSec: 10,
    maxWindowsPerSource: null,
    fraction: 1,
    epochs: 12,
    windowsPerEpoch: 8192,
    batchSize: 64,
    lr: 1e-3,
    amsgrad: false,
    weighting: "std",
    sampling: "pool",
    replace: false,
    subjectsPerBatch: 4,
    valWindows: 512,
    valStdWindows: 0,
  },
  downstream: {
    epochs: 15,
    frozenEpochs: 100,
    batchSize: 64,
    lr: 1e-3,
    patience: 5,
    maxTrainWindows: 2000,
    wisdmFolds: 5,
    maxFolds: null,
    adlSubjects: null,
    wisdmSubjects: null,
    rfTrees: 300,
  },
  ablations: { labelledSubjects: [1, 2, 4, 8, 0], fold: 0, fractions: [0.1, 0.3, 1] },
  umap: { maxWindows: 1500, nNeighbors: 15, minDist: 0.1, nEpochs: 200 },
};

/** The scales. */
export const YUAN_SPECS: Record<YuanScale, YuanSpec> = {
  smoke: {
    ...BASE,
    scale: "smoke",
    model: { variant: "laptop10", stages: SMOKE_STAGES, hiddenUnits: 16, init: "ssl-wearables" },
    pretrain: {
      sources: ["hmp-adl", "daphnet"],
      stepSec: 10,
      maxWindowsPerSource: 200,
      fraction: 1,
      epochs: 1,
      windowsPerEpoch: 128,
      batchSize: 32,
      lr: 1e-3,
      amsgrad: true,
      weighting: "std",
      sampling: "pool",
      replace: true,
      subjectsPerBatch: 4,
      valWindows: 32,
      valStdWindows: 16,
    },
    downstream: {
      epochs: 1,
      frozenEpochs: 2,
      batchSize: 32,
      lr: 1e-3,
      patience: 5,
      maxTrainWindows: 96,
      wisdmFolds: 5,
      maxFolds: 2,
      adlSubjects: ["f1", "f2", "m1", "m2"],
      wisdmSubjects: 6,
      rfTrees: 10,
    },
    ablations: { labelledSubjects: [1, 2], fold: 0, fractions: [0.5, 1] },
    umap: { maxWindows: 60, nNeighbors: 8, minDist: 0.1, nEpochs: 50 },
  },
  laptop: LAPTOP,
  long: {
    ...BASE,
    scale: "long",
    model: { variant: "laptop10", hiddenUnits: 128, init: "ssl-wearables" },
    pretrain: {
      sources: [...PRETRAIN_SOURCES],
      stepSec: 10,
      maxWindowsPerSource: null,
      fraction: 1,
      epochs: 120,
      windowsPerEpoch: 16384, // 256 steps per epoch, 30,720 in all (v2 ran 60 epochs)
      batchSize: 64,
      lr: 1e-3,
      amsgrad: true,
      weighting: "std",
      // batches from the whole pool with replacement ∝ std, as the PyTorch
      // re-implementation of the issue that learned all four heads (and
      // results/yuan-long/torch-reference); "subjects" is ssl-wearables' loader
      sampling: "pool",
      replace: true,
      subjectsPerBatch: 4,
      valWindows: 2048,
      valStdWindows: 512,
    },
    // the laptop scale's downstream, ablations and UMAP, on all training windows
    downstream: { ...LAPTOP.downstream, maxTrainWindows: null },
    ablations: structuredClone(LAPTOP.ablations),
    umap: { ...LAPTOP.umap },
  },
  paper: {
    ...BASE,
    scale: "paper",
    model: { variant: "harnet10", hiddenUnits: 512, init: "ssl-wearables" },
    pretrain: {
      sources: [...PRETRAIN_SOURCES],
      stepSec: 10,
      maxWindowsPerSource: null,
      fraction: 1,
      epochs: 20,
      windowsPerEpoch: null,
      batchSize: 64,
      lr: 1e-4,
      amsgrad: true,
      weighting: "std",
      sampling: "subjects",
      replace: true,
      subjectsPerBatch: 4,
      valWindows: 2048,
      valStdWindows: 2048,
    },
    downstream: {
      epochs: 200,
      frozenEpochs: 200,
      batchSize: 64,
      lr: 1e-4,
      patience: 5,
      maxTrainWindows: null,
      wisdmFolds: 5,
      maxFolds: null,
      adlSubjects: null,
      wisdmSubjects: null,
      rfTrees: 3000,
    },
    ablations: { labelledSubjects: [1, 2, 4, 8, 0], fold: 0, fractions: [0.1, 0.3, 1] },
    umap: { maxWindows: 5000, nNeighbors: 15, minDist: 0.1, nEpochs: null },
  },
};

/** Deep partial of a spec, for overrides. */
export type YuanSpecOverrides = {
  [K in keyof YuanSpec]?: YuanSpec[K] extends object ? Partial<YuanSpec[K]> : YuanSpec[K];
};

/**
 * The spec of `scale` with `overrides` merged one level deep (a copy).
 *
 * @throws ConfigError for an unknown scale or an invalid value.
 */
export function yuanSpec(scale: YuanScale, overrides: YuanSpecOverrides = {}): YuanSpec {
  const base = YUAN_SPECS[scale];
  if (!base) {
    throw new ConfigError(`yuan scale: unknown "${scale}" (expected ${YUAN_SCALES.join(", ")})`);
  }
  const s = structuredClone(base) as YuanSpec;
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    const key = k as keyof YuanSpec;
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      (s as unknown as Record<string, unknown>)[key] = {
        ...(s[key] as object),
        ...structuredClone(v),
      };
    } else (s as unknown as Record<string, unknown>)[key] = v;
  }
  validateYuanSpec(s);
  return s;
}

/** Check a spec's values; throws a {@link ConfigError} naming the field. */
export function validateYuanSpec(s: YuanSpec): void {
  const pos = (v: number, f: string) => {
    if (!(v > 0) || !Number.isFinite(v)) {
      throw new ConfigError(`yuan spec ${f}: must be > 0, got ${v}`);
    }
  };
  pos(s.rateHz, "rateHz");
  pos(s.windowSec, "windowSec");
  if (!(s.overlapSec >= 0 && s.overlapSec < s.windowSec)) {
    throw new ConfigError(`yuan spec overlapSec: must be in [0, windowSec), got ${s.overlapSec}`);
  }
  pos(s.pretrain.epochs, "pretrain.epochs");
  pos(s.pretrain.batchSize, "pretrain.batchSize");
  pos(s.pretrain.lr, "pretrain.lr");
  pos(s.pretrain.stepSec, "pretrain.stepSec");
  if (!(s.pretrain.fraction > 0 && s.pretrain.fraction <= 1)) {
    throw new ConfigError(
      `yuan spec pretrain.fraction: must be in (0, 1], got ${s.pretrain.fraction}`,
    );
  }
  for (const f of s.ablations.fractions) {
    if (!(f > 0 && f <= 1)) {
      throw new ConfigError(`yuan spec ablations.fractions: ${f} not in (0, 1]`);
    }
  }
  for (const src of s.pretrain.sources) {
    if (!PRETRAIN_SOURCES.includes(src)) {
      throw new ConfigError(
        `yuan spec pretrain.sources: unknown "${src}" (known: ${PRETRAIN_SOURCES.join(", ")})`,
      );
    }
  }
  pos(s.downstream.epochs, "downstream.epochs");
  pos(s.downstream.batchSize, "downstream.batchSize");
  pos(s.downstream.lr, "downstream.lr");
  pos(s.downstream.patience, "downstream.patience");
  if (!["pool", "subjects"].includes(s.pretrain.sampling)) {
    throw new ConfigError(
      `yuan spec pretrain.sampling: "pool" or "subjects", got ${s.pretrain.sampling}`,
    );
  }
  if (typeof s.pretrain.replace !== "boolean") {
    throw new ConfigError(`yuan spec pretrain.replace: true or false, got ${s.pretrain.replace}`);
  }
  if (s.pretrain.sampling === "subjects") {
    pos(s.pretrain.subjectsPerBatch, "pretrain.subjectsPerBatch");
    if (s.pretrain.batchSize % s.pretrain.subjectsPerBatch !== 0) {
      throw new ConfigError(
        `yuan spec pretrain.subjectsPerBatch: ${s.pretrain.subjectsPerBatch} does not divide batchSize ${s.pretrain.batchSize}`,
      );
    }
  }
  if (!(s.pretrain.valStdWindows >= 0) || s.pretrain.valStdWindows > s.pretrain.valWindows) {
    throw new ConfigError(
      `yuan spec pretrain.valStdWindows: must be in [0, valWindows = ${s.pretrain.valWindows}], got ${s.pretrain.valStdWindows}`,
    );
  }
  if (!HARNET_INITS.includes(s.model.init)) {
    throw new ConfigError(
      `yuan spec model.init: one of ${HARNET_INITS.join(", ")}, got ${s.model.init}`,
    );
  }
  if (!["std", "uniform"].includes(s.pretrain.weighting)) {
    throw new ConfigError(
      `yuan spec pretrain.weighting: "std" or "uniform", got ${s.pretrain.weighting}`,
    );
  }
}

/** Downstream settings, in table order. */
export type DownstreamSetting = "rf" | "scratch" | "frozen" | "finetune";

/** All downstream settings. */
export const DOWNSTREAM_SETTINGS: readonly DownstreamSetting[] = [
  "rf",
  "scratch",
  "frozen",
  "finetune",
];

/** Downstream datasets: ADL (HMP, LOSO) and WISDM watch (5-fold). */
export type DownstreamDataset = "adl" | "wisdm";

/** The benchmark (lib/data/benchmarks.ts) of each downstream dataset. */
export const YUAN_BENCHMARKS: Record<DownstreamDataset, string> = {
  adl: "adl5",
  wisdm: "wisdm-watch",
};

/**
 * Published F1 macro (Yuan et al. 2024, ssl-wearables README; UK Biobank
 * pre-training for the SSL columns).
 */
export const PUBLISHED_F1: Record<DownstreamDataset, Record<DownstreamSetting, number>> = {
  adl: { rf: 0.764, scratch: 0.414, frozen: 0.645, finetune: 0.829 },
  wisdm: { rf: 0.711, scratch: 0.684, frozen: 0.759, finetune: 0.810 },
};
