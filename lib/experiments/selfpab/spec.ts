/**
 * The typed experiment spec of SelfPAB (Logacjov et al., "Large-Scale
 * Pre-Training for Dual-Accelerometer Human Activity Recognition";
 * reference code ntnu-ai-lab/SelfPAB; implementation spec
 * ../shared/specs/selfpab.md, cited as §x) on the data we have, at three
 * scales:
 *
 * - `smoke`: a couple of minutes on 2 cores (tests, the CI notebook): a tiny
 *   transformer, short crops, a few dozen steps, two folds.
 * - `laptop`: a scaled-down SelfPAB sized by measurement for 2 cores (d 128,
 *   4 layers, 4 heads, FF 256, 60-s crops; the spec's §7 d 192 / FF 512 costs
 *   ~4× more per step); outputs in `results/selfpab/`, about an hour.
 * - `paper`: the released configuration (d 1500, FF 2048, 599-frame
 *   windows, batch 64 pre-training, 15 downstream epochs at batch 100); for
 *   machines with a GPU-class budget.
 *
 * Two variants of the spec's §7:
 * - `dual` (A): Daphnet trunk + thigh as SelfPAB's back + thigh, 156
 *   features, HUNT4 normalisation, freezing-of-gait detection, LOSO over
 *   the subjects with freeze events.
 * - `thigh` (B): one thigh-like sensor (78 features, HUNT4_T
 *   normalisation), pre-trained on ~25 h of pocket/thigh data (WISDM phone,
 *   MobiFall, Daphnet thigh), downstream MobiFall ADL and WISDM phone with
 *   subject-wise folds; the pre-training-amount curve.
 *
 * Where the paper and the released code differ (§8), the field says which
 * value follows which; the code's value is the default for parity.
 *
 * @example
 * const spec = selfpabSpec("smoke", { seed: 3 });
 * spec.model.dModel; // 32
 */
import { ConfigError } from "../../errors.ts";

/** Experiment scale. */
export type SelfpabScale = "smoke" | "laptop" | "paper";

/** All scales. */
export const SELFPAB_SCALES: readonly SelfpabScale[] = ["smoke", "laptop", "paper"];

/** Spec §7 variant: dual sensor (156 features) or thigh only (78). */
export type SelfpabVariant = "dual" | "thigh";

/** All variants. */
export const SELFPAB_VARIANTS: readonly SelfpabVariant[] = ["dual", "thigh"];

/** How the downstream head reads the encoder (§3.1). */
export type LayerMode = "last" | "weighted-sum";

/** Downstream settings, in table order (§7.1 "Compare"). */
export type SelfpabSetting =
  | "selfpab" // pre-trained, frozen, unfrozen at `unfreezeAtFraction`
  | "frozen" // pre-trained, frozen throughout (linear-probe-like)
  | "scratch" // the same transformer + head from random init ("Spectr.+TE")
  | "mlp" // the head on the normalised frames, no encoder ("Spectr.+MLP")
  | "forest" // random forest on hand-crafted features
  | "freeze-index"; // the classic freeze index (dual / Daphnet only)

/** All settings. */
export const SELFPAB_SETTINGS: readonly SelfpabSetting[] = [
  "selfpab",
  "frozen",
  "scratch",
  "mlp",
  "forest",
  "freeze-index",
];

/** The transformer (lib/models/transformer.ts `TransformerEncoderArgs`, SelfPAB sizes). */
export interface SelfpabModelSpec {
  /** Model width d (1500 in SelfPAB). */
  dModel: number;
  /** Encoder layers (4). */
  layers: number;
  /** Attention heads (6; head dim d / heads). */
  heads: number;
  /** Feed-forward width (2048). */
  ffUnits: number;
  /** Dropout in the encoder layers (0.1). */
  dropout: number;
  /** Hidden units of the downstream MLP head (1028 in the released configs). */
  headHidden: number;
}

/** Masked-reconstruction pre-training (§2). */
export interface SelfpabPretrainSpec {
  /** Optimiser steps (the paper keeps the number of steps fixed across data amounts). */
  steps: number;
  /** Windows per step (64 in the released upstream config). */
  batchSize: number;
  /** Frames per pre-training crop (599 = 5 min at hop 0.5 s; shorter crops on a CPU). */
  cropFrames: number;
  /** Peak learning rate of the linear warm-up/decay schedule (1e-4). */
  lr: number;
  /** Fraction of steps in the warm-up (0.07). */
  warmupFraction: number;
  /** Learning rate at the start and the end (lr · 0.01 = 1e-6). */
  lrEnd: number;
  /** AdamW decoupled weight decay (1e-5), betas (0.9, 0.98), eps 1e-8. */
  weightDecay: number;
  /** Validate the masked L1 every this many steps (on held-out crops). */
  validateEvery: number;
  /** Held-out crops for the validation masked L1 (a fixed, seeded alteration). */
  valCrops: number;
}

/** Downstream fine-tuning (§3.3; the released code's schedule by default). */
export interface SelfpabDownstreamSpec {
  /** Epochs over the training windows (15 in the released configs; the paper: 2,000 steps). */
  epochs: number;
  /** Windows per step (100 in the released configs; 32 in the paper). */
  batchSize: number;
  /** Frames per downstream window (599) and the shift between windows (12 = 6 s). */
  windowFrames: number;
  shiftFrames: number;
  /** Adam lr (1e-4), betas (0.9, 0.98); decayed by `decayRate` every `decaySteps` steps (0.8 / 200). */
  lr: number;
  decayRate: number;
  decaySteps: number;
  /**
   * Cap on training windows per fold (a seeded subset, drawn once per fold), or null for all
   * (the released code uses all).
   */
  maxTrainWindows: number | null;
  /** Encoder frozen for this fraction of the steps, then everything trains (0.75). */
  unfreezeAtFraction: number;
  /** Last encoder layer (released configs) or the weighted layer sum (paper). */
  layerMode: LayerMode;
  /** Settings to run. */
  settings: SelfpabSetting[];
  /** Run only the first this many folds (null = all; smoke scale). */
  maxFolds: number | null;
  /** Trees of the random-forest baseline. */
  forestTrees: number;
}

/** The pre-training-amount curve (§7.2; the paper's 10 h–100 k h figure). */
export interface SelfpabAmountSpec {
  /** Hours of pre-training data (nested random subsets, same number of steps); the whole pool is the last point. */
  hours: number[];
  /** Folds of each thigh task the curve is measured on (the first this many). */
  folds: number;
}

/** The whole experiment, plain data (JSON-serialisable, written next to the results). */
export interface SelfpabSpec {
  /** Experiment scale. */
  scale: SelfpabScale;
  /** Variants to run. */
  variants: SelfpabVariant[];
  /** Master seed. */
  seed: number;
  /** Sample rate of every input after resampling (50 Hz; "do not change"). */
  rateHz: number;
  /** STFT length and hop in samples (50 = 1 s, 25 = 0.5 s; periodic Hann, no centring). */
  nFft: number;
  hop: number;
  /** Low-pass every thigh-pool source at this frequency (Hz) before the STFT; null = off. */
  thighLowpassHz: number | null;
  /** The transformer. */
  model: SelfpabModelSpec;
  /** Pre-training. */
  pretrain: SelfpabPretrainSpec;
  /** Downstream evaluation. */
  downstream: SelfpabDownstreamSpec;
  /** Data-amount curve (thigh variant); empty = skipped. */
  amount: SelfpabAmountSpec;
}

const BASE = { seed: 42, rateHz: 50, nFft: 50, hop: 25, thighLowpassHz: 10 };

const ALL_SETTINGS: SelfpabSetting[] = [...SELFPAB_SETTINGS];

/** The scales. */
export const SELFPAB_SPECS: Record<SelfpabScale, SelfpabSpec> = {
  smoke: {
    ...BASE,
    scale: "smoke",
    variants: ["dual", "thigh"],
    model: { dModel: 32, layers: 2, heads: 4, ffUnits: 64, dropout: 0.1, headHidden: 32 },
    pretrain: {
      steps: 30,
      batchSize: 8,
      cropFrames: 120,
      lr: 1e-3,
      warmupFraction: 0.07,
      lrEnd: 1e-5,
      weightDecay: 1e-5,
      validateEvery: 15,
      valCrops: 8,
    },
    downstream: {
      epochs: 1,
      batchSize: 8,
      windowFrames: 120,
      shiftFrames: 60,
      maxTrainWindows: 200,
      lr: 1e-3,
      decayRate: 0.8,
      decaySteps: 200,
      unfreezeAtFraction: 0.75,
      layerMode: "last",
      settings: ALL_SETTINGS,
      maxFolds: 2,
      forestTrees: 20,
    },
    amount: { hours: [0.5, 2], folds: 1 },
  },
  laptop: {
    ...BASE,
    scale: "laptop",
    variants: ["dual", "thigh"],
    // sized by measurement on 2 cores (fast backend, 2 workers): d 128, 4 layers, FF 256,
    // 120-frame (60 s) crops ≈ 0.19 s per pre-training step of 16 crops; the spec's d 192 /
    // 240 frames is ≈ 0.75 s per step, ~4× the budget (13 pre-trainings per run)
    model: { dModel: 128, layers: 4, heads: 4, ffUnits: 256, dropout: 0.1, headHidden: 88 },
    pretrain: {
      steps: 800,
      batchSize: 16,
      cropFrames: 120,
      lr: 5e-4,
      warmupFraction: 0.07,
      lrEnd: 5e-6,
      weightDecay: 1e-5,
      validateEvery: 100,
      valCrops: 32,
    },
    downstream: {
      epochs: 3,
      batchSize: 16,
      windowFrames: 120,
      shiftFrames: 24,
      maxTrainWindows: 1000,
      lr: 5e-4,
      decayRate: 0.8,
      decaySteps: 200,
      unfreezeAtFraction: 0.75,
      layerMode: "last",
      settings: ALL_SETTINGS,
      maxFolds: null,
      forestTrees: 300,
    },
    amount: { hours: [1, 3, 10], folds: 1 },
  },
  paper: {
    ...BASE,
    scale: "paper",
    variants: ["dual", "thigh"],
    model: { dModel: 1500, layers: 4, heads: 6, ffUnits: 2048, dropout: 0.1, headHidden: 1028 },
    pretrain: {
      steps: 937_500,
      batchSize: 64,
      cropFrames: 599,
      lr: 1e-4,
      warmupFraction: 0.07,
      lrEnd: 1e-6,
      weightDecay: 1e-5,
      validateEvery: 4688, // 4× per 18,750-step epoch, as the upstream config
      valCrops: 12_000,
    },
    downstream: {
      epochs: 15,
      batchSize: 100,
      windowFrames: 599,
      shiftFrames: 12,
      maxTrainWindows: null,
      lr: 1e-4,
      decayRate: 0.8,
      decaySteps: 200,
      unfreezeAtFraction: 0.75,
      layerMode: "last",
      settings: ALL_SETTINGS,
      maxFolds: null,
      forestTrees: 1024,
    },
    amount: { hours: [1, 3, 10], folds: 5 },
  },
};

/** Deep partial of a spec, for overrides (one level deep). */
export type SelfpabSpecOverrides = {
  [K in keyof SelfpabSpec]?: SelfpabSpec[K] extends readonly unknown[] ? SelfpabSpec[K]
    : SelfpabSpec[K] extends object ? Partial<SelfpabSpec[K]>
    : SelfpabSpec[K];
};

/**
 * The spec of `scale` with `overrides` merged one level deep (a copy).
 *
 * @throws ConfigError for an unknown scale or an invalid value (the field is named).
 */
export function selfpabSpec(
  scale: SelfpabScale,
  overrides: SelfpabSpecOverrides = {},
): SelfpabSpec {
  const base = SELFPAB_SPECS[scale];
  if (!base) {
    throw new ConfigError(
      `selfpab scale: unknown "${scale}" (expected ${SELFPAB_SCALES.join(", ")})`,
    );
  }
  const s = structuredClone(base) as SelfpabSpec;
  const rec = s as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    if (!(k in s)) throw new ConfigError(`selfpab spec: unknown field "${k}"`);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      rec[k] = { ...(rec[k] as object), ...structuredClone(v) };
    } else rec[k] = structuredClone(v);
  }
  validateSelfpabSpec(s);
  return s;
}

/** Check a spec's values; throws a {@link ConfigError} naming the field. */
export function validateSelfpabSpec(s: SelfpabSpec): void {
  const posInt = (v: number, f: string) => {
    if (!Number.isInteger(v) || v <= 0) {
      throw new ConfigError(`selfpab spec ${f}: must be a positive integer, got ${v}`);
    }
  };
  const pos = (v: number, f: string) => {
    if (!(v > 0) || !Number.isFinite(v)) {
      throw new ConfigError(`selfpab spec ${f}: must be > 0, got ${v}`);
    }
  };
  const frac = (v: number, f: string) => {
    if (!(v >= 0 && v <= 1)) {
      throw new ConfigError(`selfpab spec ${f}: must be in [0, 1], got ${v}`);
    }
  };
  if (s.variants.length === 0) throw new ConfigError("selfpab spec variants: empty");
  for (const v of s.variants) {
    if (!SELFPAB_VARIANTS.includes(v)) {
      throw new ConfigError(
        `selfpab spec variants: unknown "${v}" (known: ${SELFPAB_VARIANTS.join(", ")})`,
      );
    }
  }
  pos(s.rateHz, "rateHz");
  posInt(s.nFft, "nFft");
  posInt(s.hop, "hop");
  if (s.thighLowpassHz !== null && !(s.thighLowpassHz > 0 && s.thighLowpassHz < s.rateHz / 2)) {
    throw new ConfigError(
      `selfpab spec thighLowpassHz: must be in (0, ${
        s.rateHz / 2
      }) Hz or null, got ${s.thighLowpassHz}`,
    );
  }
  const m = s.model;
  for (const f of ["dModel", "layers", "heads", "ffUnits", "headHidden"] as const) {
    posInt(m[f], `model.${f}`);
  }
  if (m.dModel % m.heads !== 0) {
    throw new ConfigError(
      `selfpab spec model.heads: ${m.heads} does not divide dModel ${m.dModel}`,
    );
  }
  if (!(m.dropout >= 0 && m.dropout < 1)) {
    throw new ConfigError(`selfpab spec model.dropout: must be in [0, 1), got ${m.dropout}`);
  }
  const p = s.pretrain;
  posInt(p.steps, "pretrain.steps");
  posInt(p.batchSize, "pretrain.batchSize");
  posInt(p.cropFrames, "pretrain.cropFrames");
  posInt(p.validateEvery, "pretrain.validateEvery");
  posInt(p.valCrops, "pretrain.valCrops");
  pos(p.lr, "pretrain.lr");
  pos(p.lrEnd, "pretrain.lrEnd");
  frac(p.warmupFraction, "pretrain.warmupFraction");
  if (!(p.weightDecay >= 0)) {
    throw new ConfigError(`selfpab spec pretrain.weightDecay: must be ≥ 0, got ${p.weightDecay}`);
  }
  // TERA needs room for its 3-frame spans: int(0.15 · T / 3) ≥ 1
  if (p.cropFrames < 20) {
    throw new ConfigError(
      `selfpab spec pretrain.cropFrames: at least 20 frames (10 s) for the 3-frame masking spans, got ${p.cropFrames}`,
    );
  }
  const d = s.downstream;
  posInt(d.epochs, "downstream.epochs");
  posInt(d.batchSize, "downstream.batchSize");
  posInt(d.windowFrames, "downstream.windowFrames");
  posInt(d.shiftFrames, "downstream.shiftFrames");
  posInt(d.decaySteps, "downstream.decaySteps");
  posInt(d.forestTrees, "downstream.forestTrees");
  pos(d.lr, "downstream.lr");
  if (!(d.decayRate > 0 && d.decayRate <= 1)) {
    throw new ConfigError(
      `selfpab spec downstream.decayRate: must be in (0, 1], got ${d.decayRate}`,
    );
  }
  frac(d.unfreezeAtFraction, "downstream.unfreezeAtFraction");
  if (d.shiftFrames > d.windowFrames) {
    throw new ConfigError(
      `selfpab spec downstream.shiftFrames: ${d.shiftFrames} > windowFrames ${d.windowFrames} would skip frames`,
    );
  }
  if (!["last", "weighted-sum"].includes(d.layerMode)) {
    throw new ConfigError(
      `selfpab spec downstream.layerMode: "last" or "weighted-sum", got ${d.layerMode}`,
    );
  }
  for (const st of d.settings) {
    if (!SELFPAB_SETTINGS.includes(st)) {
      throw new ConfigError(
        `selfpab spec downstream.settings: unknown "${st}" (known: ${SELFPAB_SETTINGS.join(", ")})`,
      );
    }
  }
  if (d.maxFolds !== null) posInt(d.maxFolds, "downstream.maxFolds");
  if (d.maxTrainWindows !== null) posInt(d.maxTrainWindows, "downstream.maxTrainWindows");
  for (const h of s.amount.hours) pos(h, "amount.hours");
  if (s.amount.hours.length > 0) posInt(s.amount.folds, "amount.folds");
}

/** Published average F1 (%, LOSO, mean ± SEM over subjects; SelfPAB Table 1, §4.1). */
export const PUBLISHED_SELFPAB: ReadonlyArray<
  { approach: string; harth: [number, number]; har70: [number, number] }
> = [
  { approach: "SVM (161 features, 5-s windows)", harth: [71.7, 2.0], har70: [64.3, 2.9] },
  { approach: "XGB (161 features, 5-s windows)", harth: [74.2, 1.9], har70: [63.7, 2.4] },
  { approach: "DeepConvLSTM (raw)", harth: [51.2, 6.2], har70: [54.7, 3.3] },
  { approach: "DeepConvLSTM (spectrograms)", harth: [60.2, 2.2], har70: [59.3, 1.9] },
  { approach: "Spectr. + MLP", harth: [60.5, 2.4], har70: [61.9, 2.5] },
  { approach: "Spectr. + TE (scratch)", harth: [66.1, 2.0], har70: [64.5, 2.5] },
  { approach: "SelfPAB (100 k h)", harth: [81.3, 1.3], har70: [78.5, 2.1] },
];
