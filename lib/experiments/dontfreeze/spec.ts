/**
 * The "Don't freeze" experiment (Fortes Rey et al. 2023, "Don't freeze:
 * Finetune encoders for better Self-Supervised HAR"; issue #15; spec
 * `../shared/specs/dont-freeze.md`, cited as §x below) as typed data.
 *
 * Four pretexts (multi-task, CPC, reconstruction, SimCLR) are trained on the
 * unlabelled source (the Capture-24 role, lib/experiments/dontfreeze/data.ts)
 * with validation-loss early stopping (§4: ≤ 50 epochs, patience 5, 10 % of
 * the windows per epoch ∝ variance, §1.4). Each target's 5 rotated user-group
 * folds (§1.3) then train a classifier (§5: head 256/128/128) per setting:
 *
 * | setting | encoder | trained? | spec |
 * |---|---|---|---|
 * | `baseline` | the pretext's architecture, random | yes | §2 [P], §5 |
 * | `frozen-source` | the source pretext's weights | no | §5 "Frozen Capture24" |
 * | `frozen-target` | the pretext trained on the fold's training users | no | §4.5, §5 |
 * | `finetune-source` | the source pretext's weights | yes | §5 "Tuning Capture24" |
 * | `finetune-target` | the fold's pretext | yes | §4.5, §5 |
 *
 * plus the labels-per-class ablation (§6, Figure 2), the stopping point (§7,
 * Table 1) and the pretext search (§4.1). Scales: see {@link dontFreezeSpec}.
 *
 * @example
 * ```ts
 * const spec = dontFreezeSpec("laptop");
 * spec.pretext.epochs;      // 20 (no early stopping: Table 1's last epoch)
 * spec.downstream.minSteps;  // 150 (at least 150 optimiser steps per cell)
 * ```
 * @module
 */
import { ConfigError } from "../../errors.ts";
import type { DontFreezeEncoderSpec } from "../../models/dontfreeze_classifier.ts";
import { rng } from "../../random.ts";
import { mixSeed } from "../../train/random.ts";
import type { DontFreezeTargetName } from "./data.ts";

/** The experiment sizes. */
export const DONT_FREEZE_SCALES = ["smoke", "laptop", "paper"] as const;
/** An experiment size. */
export type DontFreezeScale = typeof DONT_FREEZE_SCALES[number];

/** The pretexts of Table 2 (§3). */
export const DONT_FREEZE_PRETEXTS = ["multitask", "cpc", "reconstruction", "simclr"] as const;
/** A pretext. */
export type DontFreezePretextName = typeof DONT_FREEZE_PRETEXTS[number];

/** Every setting of Table 2 (§5), in its column order. */
export const DONT_FREEZE_ALL_SETTINGS = [
  "baseline",
  "frozen-source",
  "frozen-target",
  "finetune-source",
  "finetune-target",
] as const;
/** A setting of Table 2 (a column). */
export type DontFreezeSettingName = typeof DONT_FREEZE_ALL_SETTINGS[number];
/** The settings {@link runDontFreeze} implements: all five. */
export const DONT_FREEZE_SETTINGS = DONT_FREEZE_ALL_SETTINGS;
/** A setting {@link runDontFreeze} implements. */
export type DontFreezeSetting = DontFreezeSettingName;

/** The checkpoints of the stopping-point experiment (§7, Table 1 columns). */
export const STOPPING_POINTS = ["before", "best", "last"] as const;
/** A stopping point. */
export type StoppingPoint = typeof STOPPING_POINTS[number];

/** The encoder kind of each pretext (§2): multi-task and SimCLR share the TPN. */
export const PRETEXT_ENCODER: Readonly<
  Record<DontFreezePretextName, DontFreezeEncoderSpec["kind"]>
> = {
  multitask: "tpn",
  cpc: "cpc",
  reconstruction: "autoencoder",
  simclr: "tpn",
};

/** Data protocol (§1, §9.2). */
export interface DontFreezeDataSpec {
  /** Target datasets, in the order of the table's rows. */
  targets: DontFreezeTargetName[];
  /** Seed of the source's user split (§1.2). */
  sourceSeed: number;
  /** Seed of each target's user groups (§1.3: one per dataset, the same for every method). */
  groupSeed: number;
  /** Bandwidth-harmonisation low-pass, Hz, or null: off (§9.2 step 3; default 10). */
  bandLimitHz: number | null;
  /** Cap on the source's training windows (seeded random subset), or null: all. */
  maxSourceTrainWindows: number | null;
  /** Cap on the source's validation windows, or null. */
  maxSourceValWindows: number | null;
  /** Folds (test groups, 0..4) run per repeat. */
  folds: number[];
  /** Cap on a fold's training windows (seeded, class-stratified), or null: all. */
  maxTrainWindows: number | null;
  /** Cap on a fold's validation windows, or null. */
  maxValWindows: number | null;
  /** Cap on a fold's test windows, or null. */
  maxTestWindows: number | null;
}

/** One pretext configuration (a point of the §4 [D] grid). */
export interface PretextConfig {
  /** Adam learning rate (grid {1e-3, 5e-4, 1e-4}). */
  lr: number;
  /** Adam L2 weight decay (PyTorch `Adam(weight_decay)`; grid {0, 1e-5, 1e-4}). */
  weightDecay: number;
  /** Windows per step (grid {64, 128, 256, 512}; multi-task: windows × 9 versions rows). */
  batchSize: number;
  /** CPC future steps K (grid 4…28 by 4); ignored by the others. */
  cpcSteps: number;
  /** SimCLR temperature τ (grid {0.05, 0.1, 0.5, 1}); ignored by the others. */
  temperature: number;
}

/** The §4 [D] search grid. */
export const PRETEXT_GRID = {
  lr: [1e-3, 5e-4, 1e-4],
  weightDecay: [0, 1e-5, 1e-4],
  batchSize: [64, 128, 256, 512],
  cpcSteps: [4, 8, 12, 16, 20, 24, 28],
  temperature: [0.05, 0.1, 0.5, 1.0],
} as const;

/** The pretext hyperparameter search on the source (§4.1, §4.4). */
export interface DontFreezeSearchSpec {
  /**
   * Configurations per pretext: the reference default
   * ({@link DontFreezePretextSpec.defaults}) then `configs − 1` drawn from
   * {@link PRETEXT_GRID} without repeats (§4 [P]: 20). 1: no search.
   */
  configs: number;
  /** Maximum epochs of a search run (the selected configuration is then trained in full). */
  epochs: number;
  /** Early-stopping patience of a search run, epochs. */
  patience: number;
  /** Cap on the source training windows of a search run (seeded subset), or null: all. */
  maxTrainWindows: number | null;
  /** Seed of the draws. */
  seed: number;
}

/** Pretext training on the source (§4) and on each fold's training users (§4.5). */
export interface DontFreezePretextSpec {
  /** Maximum epochs (§4 [P]: 50). */
  epochs: number;
  /**
   * Early-stopping patience on the validation loss, epochs (§4 [P]: 5), or
   * null: run every epoch (§7 [D]: then the last epoch is Table 1's "last").
   * The best-validation weights are kept either way.
   */
  patience: number | null;
  /** Share of the training windows drawn per epoch ∝ variance (§1.4 [P]: 0.1). */
  epochFraction: number;
  /** The reference configuration of each pretext (the search's first candidate). */
  defaults: Record<DontFreezePretextName, PretextConfig>;
  /** The search (§4.1). */
  search: DontFreezeSearchSpec;
}

/** The pretexts trained on a fold's own training users ("Target" columns, §4.5). */
export interface DontFreezeTargetPretextSpec {
  /** Maximum epochs. */
  epochs: number;
  /** Early-stopping patience on the fold's validation loss. */
  patience: number;
  /**
   * Windows drawn per epoch (uniformly, §4.5 [D]: all of the fold's training
   * windows), or null: all.
   */
  windowsPerEpoch: number | null;
}

/** One downstream configuration (§5 [D] grid). */
export interface DownstreamConfig {
  /** Optimiser: Adam or plain SGD (no momentum, no schedule). */
  optimizer: "adam" | "sgd";
  /** Learning rate. */
  lr: number;
  /** L2 weight decay. */
  weightDecay: number;
}

/** Downstream classifier training (§5). */
export interface DontFreezeDownstreamSpec {
  /** Epochs (§5 [D]: 50), raised for a small training set to reach `minSteps`. */
  epochs: number;
  /**
   * Early-stopping patience on the validation macro F1, epochs (§5 [D]: 5),
   * or null: every epoch runs and the best validation-F1 epoch is restored
   * (the [4] reference, `compute_best_metrics(classifier=True)`). The best
   * epoch is restored either way.
   */
  patience: number | null;
  /**
   * At least this many optimiser steps per cell: the epochs are raised to
   * `ceil(minSteps / steps per epoch)` ([D]). Batch norm's running
   * statistics start at mean 0, variance 1 and move 10 % per step, while the
   * head's features vary by ~0.03 across windows; after the 6–30 steps of a
   * small training set (2 labels per class is one step per epoch) the
   * inference-mode variance is still ~100× the features' and the classifier
   * predicts one class. The [4] reference runs 150 epochs of at least one
   * step. 0: no floor.
   */
  minSteps: number;
  /** Windows per step (§5 [D]: min(256, training windows)). */
  batchSize: number;
  /**
   * Configurations tried per cell (§5 [P] search); per target, setting,
   * pretext and repeat the one with the best mean validation macro F1 over
   * the folds is reported (§5 model selection).
   */
  configs: DownstreamConfig[];
}

/** The labels-per-class ablation (§6, Figure 2). */
export interface DontFreezeLabelsSpec {
  /** Labelled training windows per class (§6 [P]: 2, 5, 10, 50, 100); empty: skip. */
  perClass: number[];
  /** Folds run (a subset of `data.folds`). */
  folds: number[];
  /** Repeats run (`≤ repeats`). */
  repeats: number;
  /** Targets run (a subset of `data.targets`), or null: all. */
  targets: DontFreezeTargetName[] | null;
}

/** The stopping-point experiment (§7, Table 1). */
export interface DontFreezeStoppingSpec {
  /** Run it. */
  enabled: boolean;
  /**
   * True: a separate, re-initialised (seed + 1) source pretext run of
   * `pretext.epochs` without early stopping (§7 [P]); false: the main source
   * run's checkpoints (needs `pretext.patience: null`), its best-validation
   * cell being Table 2's "finetune-source".
   */
  separateRun: boolean;
  /** Folds run (a subset of `data.folds`). */
  folds: number[];
  /** Repeats run (`≤ repeats`). */
  repeats: number;
  /** Targets run (a subset of `data.targets`), or null: all. */
  targets: DontFreezeTargetName[] | null;
}

/** The whole experiment. */
export interface DontFreezeSpec {
  /** Experiment size. */
  scale: DontFreezeScale;
  /** Data protocol. */
  data: DontFreezeDataSpec;
  /** Pretexts (Table 2 rows per target). */
  pretexts: DontFreezePretextName[];
  /** Settings (Table 2 columns). */
  settings: DontFreezeSetting[];
  /** Pretext training. */
  pretext: DontFreezePretextSpec;
  /** Target pretexts (the `-target` settings). */
  targetPretext: DontFreezeTargetPretextSpec;
  /** Downstream training. */
  downstream: DontFreezeDownstreamSpec;
  /** Labels-per-class ablation. */
  labels: DontFreezeLabelsSpec;
  /** Stopping-point experiment. */
  stopping: DontFreezeStoppingSpec;
  /** Repeats of every fold (§1.3 [P]: 5 seeds; the user groups stay fixed). */
  repeats: number;
  /** Seed of the pretext models' initialisation and sampling. */
  pretextSeed: number;
  /**
   * Workers of `fit` (`"auto"`: both cores with the native backend; 0: this
   * thread). With `"auto"` the contrastive pretexts (CPC's InfoNCE, SimCLR's
   * NT-Xent) train in this thread, so their in-batch negatives are the whole
   * batch as in the references (lib/train `resolveWorkers` keeps batch-level
   * losses in one thread); a number shards them too (negatives per shard).
   */
  workers: number | "auto";
}

/** The references' configurations (§3, §4): batch per pretext, Adam 5e-4, K 28, τ 0.1. */
export const PRETEXT_DEFAULTS: Readonly<Record<DontFreezePretextName, PretextConfig>> = {
  // SelfHAR's config: 300 rows = windows × 9 versions
  multitask: { lr: 5e-4, weightDecay: 0, batchSize: 300, cpcSteps: 28, temperature: 0.1 },
  cpc: { lr: 5e-4, weightDecay: 0, batchSize: 64, cpcSteps: 28, temperature: 0.1 }, // [4]
  reconstruction: { lr: 5e-4, weightDecay: 0, batchSize: 128, cpcSteps: 28, temperature: 0.1 }, // [3]
  simclr: { lr: 5e-4, weightDecay: 0, batchSize: 512, cpcSteps: 28, temperature: 0.1 }, // Tang
};

/** The §5 [D] downstream grid: lr × weight decay × {Adam, SGD} (12 configurations). */
export const DOWNSTREAM_GRID: readonly DownstreamConfig[] = ["adam", "sgd"].flatMap((o) =>
  [1e-3, 5e-4, 1e-4].flatMap((lr) =>
    [0, 1e-4].map((weightDecay) => ({ optimizer: o as "adam" | "sgd", lr, weightDecay }))
  )
);

/** The [4] reference downstream configuration: Adam 5e-4, no weight decay. */
export const DOWNSTREAM_DEFAULT: Readonly<DownstreamConfig> = {
  optimizer: "adam",
  lr: 5e-4,
  weightDecay: 0,
};

/**
 * The spec of a scale (a fresh copy).
 *
 * - `smoke`: two targets, one fold, tiny caps, 1–2 epochs, a 2-configuration
 *   search, one label count, the stopping point on the main run (CI, a few minutes).
 * - `laptop`: every target, folds 0 and 1 of the 5 rotated folds, one
 *   repeat, folds capped at 1,000 / 500 / 1,500 windows, 30 downstream
 *   epochs and at least 150 steps, the best validation-F1 epoch kept (the CPC encoder's 2-layer GRU over 100 steps makes its cells the
 *   slowest by far); the source pretexts 20 epochs of 5 % of the source
 *   without early stopping (their best and last checkpoints feed Table 2 and
 *   Table 1); a 3-configuration search of 2 epochs on 10,000 source windows;
 *   target pretexts ≤ 8 epochs of ≤ 1,000 windows, patience 3; labels per
 *   class and the stopping point on fold 0.
 * - `paper`: nothing capped, 5 repeats, pretexts 50 epochs with patience
 *   5, downstream 50 epochs and at least 150 steps (best validation-F1 epoch), a
 *   20-configuration search, the 12-configuration downstream grid, the
 *   stopping point as a separate run.
 *
 * @throws ConfigError for an unknown scale
 */
export function dontFreezeSpec(scale: DontFreezeScale): DontFreezeSpec {
  const base = {
    pretexts: [...DONT_FREEZE_PRETEXTS],
    settings: [...DONT_FREEZE_SETTINGS],
    pretextSeed: 0,
  };
  const data = (o: Partial<DontFreezeDataSpec>): DontFreezeDataSpec => ({
    targets: ["hmp-adl", "mobifall", "wisdm-phone", "daphnet"],
    sourceSeed: 0,
    groupSeed: 0,
    bandLimitHz: 10,
    maxSourceTrainWindows: null,
    maxSourceValWindows: null,
    folds: [0, 1, 2, 3, 4],
    maxTrainWindows: null,
    maxValWindows: null,
    maxTestWindows: null,
    ...o,
  });
  const defaults = (o: Partial<PretextConfig> = {}) =>
    Object.fromEntries(
      DONT_FREEZE_PRETEXTS.map((p) => [p, { ...PRETEXT_DEFAULTS[p], ...o }]),
    ) as Record<DontFreezePretextName, PretextConfig>;
  const downstream = (o: Partial<DontFreezeDownstreamSpec> = {}): DontFreezeDownstreamSpec => ({
    epochs: 50,
    patience: null,
    minSteps: 150,
    batchSize: 256,
    configs: [{ ...DOWNSTREAM_DEFAULT }],
    ...o,
  });
  switch (scale) {
    case "smoke":
      return {
        scale,
        ...base,
        data: data({
          targets: ["hmp-adl", "mobifall"],
          maxSourceTrainWindows: 400,
          maxSourceValWindows: 128,
          folds: [0],
          maxTrainWindows: 128,
          maxValWindows: 64,
          maxTestWindows: 128,
        }),
        // 10 % of 600 windows would be 60: draw them all
        pretext: {
          epochs: 2,
          patience: null,
          epochFraction: 1,
          defaults: {
            multitask: { ...PRETEXT_DEFAULTS.multitask, batchSize: 270 },
            cpc: { ...PRETEXT_DEFAULTS.cpc, cpcSteps: 12 },
            reconstruction: { ...PRETEXT_DEFAULTS.reconstruction, batchSize: 64 },
            simclr: { ...PRETEXT_DEFAULTS.simclr, batchSize: 128 },
          },
          search: { configs: 2, epochs: 1, patience: 1, maxTrainWindows: 200, seed: 0 },
        },
        targetPretext: { epochs: 1, patience: 1, windowsPerEpoch: 200 },
        downstream: downstream({ epochs: 2, patience: 1, minSteps: 0, batchSize: 64 }),
        labels: { perClass: [5], folds: [0], repeats: 1, targets: ["mobifall"] },
        stopping: {
          enabled: true,
          separateRun: false,
          folds: [0],
          repeats: 1,
          targets: ["hmp-adl"],
        },
        repeats: 1,
        workers: 0,
      };
    case "laptop":
      return {
        scale,
        ...base,
        data: data({
          folds: [0, 1],
          maxTrainWindows: 1_000,
          maxValWindows: 500,
          maxTestWindows: 1_500,
        }),
        pretext: {
          epochs: 20,
          patience: null,
          epochFraction: 0.05,
          defaults: defaults(),
          search: { configs: 3, epochs: 2, patience: 2, maxTrainWindows: 10_000, seed: 0 },
        },
        targetPretext: { epochs: 8, patience: 3, windowsPerEpoch: 1_000 },
        downstream: downstream({ epochs: 30 }),
        labels: { perClass: [2, 5, 10, 50, 100], folds: [0], repeats: 1, targets: null },
        stopping: { enabled: true, separateRun: false, folds: [0], repeats: 1, targets: null },
        repeats: 1,
        workers: "auto",
      };
    case "paper":
      return {
        scale,
        ...base,
        data: data({}),
        pretext: {
          epochs: 50,
          patience: 5,
          epochFraction: 0.1,
          defaults: defaults(),
          search: { configs: 20, epochs: 50, patience: 5, maxTrainWindows: null, seed: 0 },
        },
        targetPretext: { epochs: 50, patience: 5, windowsPerEpoch: null },
        downstream: downstream({ configs: DOWNSTREAM_GRID.map((c) => ({ ...c })) }),
        labels: {
          perClass: [2, 5, 10, 50, 100],
          folds: [0, 1, 2, 3, 4],
          repeats: 5,
          targets: null,
        },
        stopping: {
          enabled: true,
          separateRun: true,
          folds: [0, 1, 2, 3, 4],
          repeats: 5,
          targets: null,
        },
        repeats: 5,
        workers: "auto",
      };
    default:
      throw new ConfigError(
        `dontFreezeSpec: unknown scale "${scale}" (${DONT_FREEZE_SCALES.join(", ")})`,
      );
  }
}

/**
 * The search candidates of pretext `p` (§4.1 [D]): the default first, then
 * distinct draws from {@link PRETEXT_GRID} (K only for CPC, τ only for
 * SimCLR; multi-task batches are windows × 9 rows).
 *
 * @example
 * pretextCandidates(spec, "cpc").length; // spec.pretext.search.configs
 */
export function pretextCandidates(spec: DontFreezeSpec, p: DontFreezePretextName): PretextConfig[] {
  const def = spec.pretext.defaults[p];
  const n = Math.max(1, spec.pretext.search.configs);
  const out: PretextConfig[] = [{ ...def }];
  const key = (c: PretextConfig) => JSON.stringify(c);
  const seen = new Set([key(def)]);
  const r = rng(mixSeed(spec.pretext.search.seed, DONT_FREEZE_PRETEXTS.indexOf(p), 41));
  const pick = <T>(v: readonly T[]): T => v[Math.floor(r.next() * v.length)];
  for (let tries = 0; out.length < n && tries < 10_000; tries++) {
    const batch = pick(PRETEXT_GRID.batchSize);
    const c: PretextConfig = {
      lr: pick(PRETEXT_GRID.lr),
      weightDecay: pick(PRETEXT_GRID.weightDecay),
      batchSize: p === "multitask" ? batch * 9 : batch,
      cpcSteps: p === "cpc" ? pick(PRETEXT_GRID.cpcSteps) : def.cpcSteps,
      temperature: p === "simclr" ? pick(PRETEXT_GRID.temperature) : def.temperature,
    };
    if (!seen.has(key(c))) {
      seen.add(key(c));
      out.push(c);
    }
  }
  return out;
}

/** Check the spec's internal consistency; returns it. */
export function checkDontFreezeSpec(spec: DontFreezeSpec): DontFreezeSpec {
  const bad = (m: string) => {
    throw new ConfigError(`dontfreeze spec: ${m}`);
  };
  if (!spec.pretexts.length || !spec.settings.length || !spec.data.targets.length) {
    bad("needs pretexts, settings and targets");
  }
  for (const s of spec.settings) {
    if (!(DONT_FREEZE_ALL_SETTINGS as readonly string[]).includes(s)) bad(`unknown setting "${s}"`);
  }
  for (
    const [what, f] of [["labels", spec.labels.folds], ["stopping", spec.stopping.folds]] as const
  ) {
    for (const i of f) {
      if (!spec.data.folds.includes(i)) bad(`${what}.folds: ${i} is not in data.folds`);
    }
  }
  if (spec.labels.repeats > spec.repeats || spec.stopping.repeats > spec.repeats) {
    bad("labels.repeats and stopping.repeats must be ≤ repeats");
  }
  if (
    spec.stopping.enabled && !spec.stopping.separateRun &&
    !spec.settings.includes("finetune-source")
  ) {
    bad(
      'stopping on the main run needs the "finetune-source" setting (its cells are Table 1\'s "best")',
    );
  }
  if (spec.stopping.enabled && !spec.stopping.separateRun && spec.pretext.patience !== null) {
    bad("stopping on the main run needs pretext.patience: null (its last epoch is Table 1's)");
  }
  if (!spec.downstream.configs.length) bad("downstream.configs is empty");
  const dsp = spec.downstream;
  if (dsp.patience !== null && !(Number.isInteger(dsp.patience) && dsp.patience >= 1)) {
    bad(`downstream.patience: a whole number >= 1 or null, got ${dsp.patience}`);
  }
  if (!(Number.isInteger(dsp.minSteps) && dsp.minSteps >= 0)) {
    bad(`downstream.minSteps: a whole number >= 0, got ${dsp.minSteps}`);
  }
  for (const c of spec.labels.perClass) {
    if (!(Number.isInteger(c) && c >= 1)) bad(`labels.perClass: ${c}`);
  }
  for (
    const [what, ts] of [["labels", spec.labels.targets], [
      "stopping",
      spec.stopping.targets,
    ]] as const
  ) {
    for (const t of ts ?? []) {
      if (!spec.data.targets.includes(t)) bad(`${what}.targets: ${t} is not in data.targets`);
    }
  }
  return spec;
}

// ---------------------------------------------------------------- the paper's Table 2

/** A Table 2 cell of the paper: macro F1 (%) mean ± std over 25 runs (§8.1, verbatim). */
export interface PaperF1 {
  /** Mean macro F1, %. */
  mean: number;
  /** Standard deviation, %. */
  sd: number;
}

/** The paper's datasets of Table 2. */
export type PaperDataset = "myogym" | "pamap2" | "motionsense" | "mhealth";

/**
 * §8.1 Table 2 (macro F1 %, mean ± std): per paper dataset and pretext, the
 * columns in {@link DONT_FREEZE_ALL_SETTINGS} order (baseline, frozen
 * Capture-24, frozen target, tuning Capture-24, tuning target).
 */
export const PAPER_TABLE2: Readonly<
  Record<PaperDataset, Record<DontFreezePretextName, Record<DontFreezeSettingName, PaperF1>>>
> = (() => {
  const row = (...v: number[]): Record<DontFreezeSettingName, PaperF1> =>
    Object.fromEntries(
      DONT_FREEZE_ALL_SETTINGS.map((s, i) => [s, { mean: v[2 * i], sd: v[2 * i + 1] }]),
    ) as Record<DontFreezeSettingName, PaperF1>;
  return {
    myogym: {
      cpc: row(39.37, 5.30, 41.10, 5.46, 29.44, 4.20, 50.19, 6.57, 44.41, 5.54),
      simclr: row(46.15, 7.31, 4.42, 0.88, 16.96, 7.76, 42.86, 6.48, 47.47, 7.09),
      reconstruction: row(45.76, 5.85, 42.04, 4.97, 43.52, 7.02, 47.74, 5.13, 46.66, 6.26),
      multitask: row(45.03, 6.67, 37.81, 4.19, 43.77, 4.66, 52.03, 5.40, 49.46, 6.12),
    },
    pamap2: {
      cpc: row(54.36, 7.74, 46.18, 7.22, 51.88, 8.90, 57.53, 7.29, 56.50, 8.03),
      simclr: row(49.68, 6.87, 22.50, 6.19, 45.16, 8.36, 47.10, 8.02, 52.62, 7.10),
      reconstruction: row(51.75, 6.34, 51.07, 6.80, 44.69, 8.51, 56.53, 6.82, 53.79, 7.04),
      multitask: row(50.47, 8.05, 35.38, 5.97, 49.09, 7.03, 52.13, 7.27, 51.82, 8.77),
    },
    motionsense: {
      cpc: row(86.96, 6.00, 85.13, 4.16, 82.91, 5.97, 91.05, 4.57, 87.88, 6.20),
      simclr: row(87.67, 4.37, 75.84, 6.51, 73.72, 6.60, 85.53, 4.40, 87.86, 4.45),
      reconstruction: row(85.59, 6.11, 85.05, 4.72, 86.56, 4.46, 88.07, 4.69, 86.93, 5.03),
      multitask: row(86.97, 5.58, 78.63, 3.60, 77.30, 16.65, 89.75, 3.51, 88.57, 5.65),
    },
    mhealth: {
      cpc: row(46.76, 7.60, 39.03, 3.09, 50.98, 2.51, 54.23, 5.87, 55.66, 6.65),
      simclr: row(52.95, 5.91, 14.93, 4.05, 31.71, 5.53, 53.16, 6.40, 54.55, 6.02),
      reconstruction: row(48.24, 5.22, 51.22, 4.59, 49.61, 5.57, 53.07, 4.52, 49.47, 5.40),
      multitask: row(53.38, 6.76, 30.61, 6.08, 45.89, 6.12, 54.56, 5.12, 53.83, 5.97),
    },
  };
})();

/**
 * The paper's datasets each local target stands in for (§9.2 table): HMP ADL
 * plays MyoGym / mHealth (wrist), MobiFall MotionSense (pocket), WISDM phone
 * PAMAP2 (18 classes); Daphnet has no analogue.
 */
export const PAPER_ANALOGUES: Readonly<Record<DontFreezeTargetName, PaperDataset[]>> = {
  "hmp-adl": ["myogym", "mhealth"],
  "mobifall": ["motionsense"],
  "wisdm-phone": ["pamap2"],
  "daphnet": [],
};

/**
 * §8.2 Table 1 (macro F1 %, mean ± std): the encoder not frozen, pre-trained
 * on Capture-24 and stopped before the pretext, at its best validation epoch
 * and at its last epoch, per paper dataset and pretext (verbatim).
 */
export const PAPER_TABLE1: Readonly<
  Record<PaperDataset, Record<DontFreezePretextName, Record<StoppingPoint, PaperF1>>>
> = (() => {
  const row = (...v: number[]): Record<StoppingPoint, PaperF1> =>
    Object.fromEntries(
      STOPPING_POINTS.map((s, i) => [s, { mean: v[2 * i], sd: v[2 * i + 1] }]),
    ) as Record<StoppingPoint, PaperF1>;
  return {
    motionsense: {
      cpc: row(87.78, 0.83, 91.3, 1.88, 89.14, 1.0),
      simclr: row(85.17, 2.24, 85.22, 2.65, 84.53, 2.04),
      reconstruction: row(87.14, 0.71, 88.04, 0.7, 88.11, 0.8),
      multitask: row(86.54, 1.94, 89.85, 0.92, 89.87, 1.05),
    },
    pamap2: {
      cpc: row(53.87, 1.14, 57.39, 4.82, 53.56, 1.67),
      simclr: row(48.48, 1.54, 46.13, 2.22, 45.48, 1.94),
      reconstruction: row(52.01, 1.54, 52.65, 1.99, 52.37, 1.88),
      multitask: row(48.82, 1.95, 50.16, 1.41, 50.16, 1.81),
    },
    mhealth: {
      cpc: row(48.73, 2.02, 56.14, 5.42, 52.88, 2.19),
      simclr: row(49.58, 1.77, 48.27, 2.6, 48.07, 1.35),
      reconstruction: row(46.54, 1.62, 48.72, 1.95, 48.45, 1.44),
      multitask: row(48.63, 2.27, 50.52, 1.74, 50.49, 1.77),
    },
    myogym: {
      cpc: row(44.32, 4.74, 55.43, 5.89, 48.54, 2.15),
      simclr: row(44.52, 1.06, 44.26, 1.63, 44.2, 2.07),
      reconstruction: row(45.78, 1.52, 47.92, 0.95, 48.01, 1.31),
      multitask: row(44.7, 1.28, 51.54, 1.39, 51.72, 0.81),
    },
  };
})();
