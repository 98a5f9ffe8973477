/**
 * The data the SelfPAB stages pass between them (lib/experiments/selfpab):
 * one {@link SelfpabSequence} per prepared recording or activity segment
 * (data.ts `SelfpabSegment` → spectrogram.ts `recordingFeatures`), folds as
 * indices into the sequence list, and the compact, JSON-serialisable
 * outcome of one downstream fold that the scaffold caches as a piece.
 * @module
 */
import type { SpectrogramFrames } from "../../signal/spectrogram.ts";
import type { SelfpabSegment } from "./data.ts";

/** One recording / activity segment, ready for every SelfPAB stage. */
export interface SelfpabSequence {
  /** `"<dataset>:<subject>:<trial>"`, unique within a variant. */
  key: string;
  /** Dataset of the segment (`"daphnet"`, `"mobifall"`, `"wisdm-phone"`, `"daphnet-thigh"`). */
  dataset: string;
  /** Subject key `"<dataset>:<subject>"` (data.ts `subjectKey`): what folds and pre-training exclusion use. */
  subject: string;
  /** Trial / run / segment id. */
  trial: string;
  /** HUNT4-normalised spectrogram frames (training form: no padding). */
  frames: SpectrogramFrames;
  /** Frame labels (majority with the reference tie rule), -1 = ignored; null when unlabelled. */
  frameLabels: Int32Array | null;
  /** The 50 Hz signal in g with per-sample labels (baselines, per-sample metrics, inference re-assembly). */
  segment: SelfpabSegment;
}

/** One downstream fold: indices into the sequence list. */
export interface SelfpabFold {
  /** Fold name in results and piece keys, e.g. `"S01"` or `"fold2"`. */
  name: string;
  /** Training sequences (downstream training; their subjects may pre-train). */
  train: number[];
  /** Test sequences (their subjects never pre-train this fold's encoder). */
  test: number[];
  /** Subject keys of the test sequences. */
  testSubjects: string[];
  /** Dual variant: `"specificity"` for a test subject without freeze events. */
  kind?: "freeze" | "specificity";
}

/**
 * Test predictions of one (setting, fold), compact enough to cache as JSON:
 * per test sequence the true and predicted class of every labelled frame
 * and, for a binary task, the positive-class score per frame and per sample.
 */
export interface SelfpabFoldOutcome {
  /** Setting name (spec.ts `SelfpabSetting`, or e.g. `"selfpab-3h"` on the amount curve). */
  setting: string;
  /** Fold name. */
  fold: string;
  /** Class names. */
  labelNames: string[];
  /** One entry per test sequence, in fold order. */
  sequences: Array<{
    key: string;
    subject: string;
    /** True frame labels (-1 ignored). */
    yTrue: number[];
    /** Predicted frame labels (argmax of the re-assembled per-frame probabilities). */
    yPred: number[];
    /** Binary tasks: positive-class probability per frame (re-assembled). */
    scoreFrames?: number[];
    /** Binary tasks: positive-class score per 50 Hz sample (frame → sample re-assembly), labels alongside. */
    scoreSamples?: number[];
    yTrueSamples?: number[];
  }>;
  /** Wall time of the piece (s). */
  seconds: number;
  /** Training summary (steps, final loss, when the encoder was unfrozen), free-form. */
  training?: Record<string, number | string | null>;
}
