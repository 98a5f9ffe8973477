/**
 * The SelfPAB downstream stage (spec §3, §7.1, §7.2): frame-level activity
 * recognition / freezing-of-gait detection on one fold, for every setting
 * of spec.ts `SelfpabSetting`, and the scores of the cached outcomes.
 *
 * - Deep settings (`selfpab`, `frozen`, `scratch`, `mlp`): training windows
 *   of `windowFrames` frames every `shiftFrames` (spectrogram.ts
 *   `cutWindows`, train mode; a sequence shorter than a window is one
 *   window zero-padded with label −1), frame-level cross-entropy with −1
 *   frames ignored (models/selfpab.ts `selfpabFrameLoss`, fed by a batch
 *   source with `frameLossWeights` so workers weight shards exactly), Adam
 *   (0.9, 0.98) with `exponentialTfDecay`. `selfpab` copies the encoder
 *   from the pre-trained model and freezes it (fit's `freeze` +
 *   `unfreezeAtFraction`, the mechanism of lib/experiments/evaluator.ts
 *   `frozen-unfrozen`); `frozen` never unfreezes; `scratch` is the same
 *   classifier from random init; `mlp` the head on the normalised frames.
 * - Inference per test sequence (§3.4): the frames extended to the padded
 *   length ⌈S/hop⌉ (the extra frames are 0 = the HUNT4 mean, see the note
 *   at {@link runSelfpabDownstream}), inference windows, softmax,
 *   overlap-average → per-frame probabilities (cut to the sequence's T
 *   frames) and → per-sample probabilities (`reassemble`).
 * - `forest`: hand-crafted features of 5-s windows (2.5-s step) of the 50 Hz
 *   signal, class-balanced random forest.
 * - `freeze-index`: the classic Moore/Bächlin freeze index on the thigh
 *   sensor's vector magnitude, threshold chosen on the training sequences.
 *
 * @example
 * ```ts
 * const o = await runSelfpabDownstream({ spec, sequences, fold, setting: "scratch",
 *   labelNames: ["no freeze", "freeze"], positiveClass: 1, seed: 1 });
 * scoreFreezeDetection([o]).aurocFrames;
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError, DataFormatError } from "../../errors.ts";
import { bestF1Threshold, pooledRocAuc, rocAuc } from "../../eval/roc.ts";
import { confusionF1PerClass, nanMean, subjectMacroF1Sem } from "../../eval/subjects.ts";
import { freezeIndexPerSample, vectorMagnitude } from "../../features/freeze_index.ts";
import { extractFeatures } from "../../features/handcrafted.ts";
import { RandomForest } from "../../models/forest.ts";
import {
  frameLossWeights,
  selfpabClassifier,
  selfpabClassifierFromPretrained,
  selfpabEncoderWeights,
  selfpabFrameLoss,
  spectrogramMlp,
} from "../../models/selfpab.ts";
import { rng } from "../../random.ts";
import {
  cutWindows,
  overlapMean,
  reassemble,
  type SpectrogramFrames,
} from "../../signal/spectrogram.ts";
import { type BatchSource, fit } from "../../train/loop.ts";
import { exponentialTfDecay } from "../../train/schedules.ts";
import type { SelfpabSetting, SelfpabSpec } from "./spec.ts";
import type { SelfpabFold, SelfpabFoldOutcome, SelfpabSequence } from "./types.ts";

/** Arguments of {@link runSelfpabDownstream}. */
export interface SelfpabDownstreamArgs {
  /** The experiment spec (model sizes, `downstream` schedule, STFT nFft/hop). */
  spec: SelfpabSpec;
  /** All sequences of the task; `fold.train` / `fold.test` index into it. */
  sequences: SelfpabSequence[];
  /** The fold. */
  fold: SelfpabFold;
  /** Setting; a name like `"selfpab-3h"` runs the `selfpab` setting under that name. */
  setting: SelfpabSetting | string;
  /** Class names (K = length). */
  labelNames: string[];
  /** Encoder + reconstruction head from pre-training (required for `selfpab` / `frozen`). */
  pretrained?: tf.LayersModel;
  /** Binary tasks (freeze = 1): fill `scoreFrames` / `scoreSamples`. */
  positiveClass?: number;
  /** Seed of initialisation, window order and forest. */
  seed: number;
  /** `fit` workers (default `"auto"`). */
  workers?: number | "auto";
  /** Log sink (default none). */
  log?: (msg: string) => void;
  /** Called after every optimiser step of a deep setting, with the model being trained (tests, probes). */
  onStep?: (info: { step: number; loss: number; model: tf.LayersModel }) => void;
}

const DEEP = new Set(["selfpab", "frozen", "scratch", "mlp"]);
const ALL = new Set(["selfpab", "frozen", "scratch", "mlp", "forest", "freeze-index"]);

/** Base setting of a name: `"selfpab-3h"` → `"selfpab"`. */
function baseSetting(setting: string): string {
  if (ALL.has(setting)) return setting;
  const b = setting.replace(/-[^-]+$/, "");
  if (ALL.has(b)) return b;
  throw new ConfigError(
    `selfpab downstream setting: unknown "${setting}" (expected ${[...ALL].join(", ")})`,
  );
}

type TestSeq = SelfpabFoldOutcome["sequences"][number];

/**
 * Train and test one (setting, fold) of a SelfPAB downstream task.
 *
 * Note on inference: the reference re-computes the spectrogram of the
 * zero-padded signal (⌈S/hop⌉ frames). A sequence holds only its normalised
 * training-form frames (no norm statistics), so the last 1–2 padded frames
 * are filled with 0 (the normalised mean) instead; frames inside the
 * signal are identical.
 *
 * @throws ConfigError on an unknown setting, a missing / mismatched `pretrained`, freeze-index on a
 *   non-binary task, a fold without labelled training frames
 * @throws DataFormatError naming the sequence whose feature count differs
 */
export async function runSelfpabDownstream(
  args: SelfpabDownstreamArgs,
): Promise<SelfpabFoldOutcome> {
  const t0 = performance.now();
  const base = baseSetting(args.setting);
  const { fold, labelNames } = args;
  const K = labelNames.length;
  if (K < 2) throw new ConfigError(`selfpab downstream: ${K} class names, need ≥ 2`);
  const pick = (idx: number[], what: string) =>
    idx.map((i) => {
      const s = args.sequences[i];
      if (!s) {
        throw new ConfigError(
          `selfpab downstream fold ${fold.name}: ${what} index ${i} out of range`,
        );
      }
      return s;
    });
  const train = pick(fold.train, "train"), test = pick(fold.test, "test");
  const all = [...train, ...test];
  if (all.length === 0) throw new ConfigError(`selfpab downstream fold ${fold.name}: no sequences`);
  const F = all[0].frames.features;
  for (const s of all) {
    if (s.frames.features !== F) {
      throw new DataFormatError(
        s.segment.source ?? s.key,
        `sequence ${s.key} has ${s.frames.features} features per frame, ${all[0].key} has ${F}`,
      );
    }
  }
  if (base === "freeze-index" && (K !== 2 || args.positiveClass === undefined)) {
    throw new ConfigError(
      `selfpab downstream freeze-index: binary tasks only (got ${K} classes, positiveClass ${args.positiveClass})`,
    );
  }
  let labelled = 0;
  for (const s of train) {
    if (s.frameLabels) { for (const v of s.frameLabels) if (v >= 0) labelled++; }
  }
  if (labelled === 0) {
    throw new ConfigError(
      `selfpab downstream fold ${fold.name}: no labelled training frame in ${train.length} sequences`,
    );
  }
  const log = args.log ?? (() => {});
  let result: { sequences: TestSeq[]; training: Record<string, number | string | null> };
  if (DEEP.has(base)) result = await runDeep(args, base, train, test, F, K, log);
  else if (base === "forest") result = runForest(args, train, test, K);
  else result = runFreezeIndex(args, train, test);
  return {
    setting: args.setting,
    fold: fold.name,
    labelNames: labelNames.slice(),
    sequences: result.sequences,
    seconds: (performance.now() - t0) / 1000,
    training: result.training,
  };
}

// ------------------------------------------------------------------ deep

function buildModel(
  args: SelfpabDownstreamArgs,
  base: string,
  F: number,
  K: number,
): tf.LayersModel {
  const m = args.spec.model;
  const encoder = {
    inputSize: F,
    frames: null,
    dModel: m.dModel,
    numHeads: m.heads,
    dimFeedforward: m.ffUnits,
    numLayers: m.layers,
    dropout: m.dropout,
    seed: args.seed,
    name: "selfpab_encoder",
  };
  const clf = {
    encoder,
    numClasses: K,
    layerCombination: args.spec.downstream.layerMode,
    head: "mlp" as const,
    headHidden: m.headHidden,
    seed: args.seed + 1,
  };
  if (base === "mlp") {
    return spectrogramMlp({
      inputSize: F,
      frames: null,
      numClasses: K,
      headHidden: m.headHidden,
      seed: args.seed + 1,
    });
  }
  if (base === "scratch") return selfpabClassifier(clf);
  const pre = args.pretrained;
  if (!pre) {
    throw new ConfigError(
      `selfpab downstream setting "${args.setting}" needs the pre-trained model (pretrained)`,
    );
  }
  const preF = pre.inputs[0].shape[pre.inputs[0].shape.length - 1];
  if (preF !== F) {
    throw new ConfigError(
      `selfpab downstream "${args.setting}": pre-trained ${pre.name} takes ${preF} features per frame, ` +
        `the sequences have ${F}`,
    );
  }
  return selfpabClassifierFromPretrained(pre, clf);
}

interface TrainWindows {
  x: Float32Array;
  y: Int32Array;
  n: number;
}

function trainingWindows(
  seqs: SelfpabSequence[],
  W: number,
  shift: number,
  F: number,
  cap: number | null,
  seed: number,
): TrainWindows {
  const xs: Float32Array[] = [], ys: Int32Array[] = [];
  for (const s of seqs) {
    if (!s.frameLabels || s.frames.frames === 0) continue;
    const w = cutWindows(s.frames, {
      mode: "train",
      windowFrames: W,
      shiftFrames: shift,
      labels: {
        labels: s.frameLabels,
        mask: Uint8Array.from(s.frameLabels, (v) => (v >= 0 ? 1 : 0)),
        frames: s.frames.frames,
      },
    });
    for (let i = 0; i < w.n; i++) {
      const y = w.y!.subarray(i * W, (i + 1) * W);
      if (!y.some((v) => v >= 0)) continue; // nothing to learn from
      xs.push(w.x.subarray(i * W * F, (i + 1) * W * F));
      ys.push(y);
    }
  }
  let order = xs.map((_, i) => i);
  if (cap !== null && order.length > cap) {
    order = rng(seed).shuffle(order).slice(0, cap).sort((a, b) => a - b);
  }
  const n = order.length;
  const x = new Float32Array(n * W * F), y = new Int32Array(n * W);
  order.forEach((j, i) => {
    x.set(xs[j], i * W * F);
    y.set(ys[j], i * W);
  });
  return { x, y, n };
}

async function runDeep(
  args: SelfpabDownstreamArgs,
  base: string,
  train: SelfpabSequence[],
  test: SelfpabSequence[],
  F: number,
  K: number,
  log: (msg: string) => void,
): Promise<{ sequences: TestSeq[]; training: Record<string, number | string | null> }> {
  const d = args.spec.downstream;
  const W = d.windowFrames, shift = d.shiftFrames;
  const win = trainingWindows(train, W, shift, F, d.maxTrainWindows, args.seed);
  for (let i = 0; i < win.y.length; i++) {
    if (win.y[i] >= K) {
      throw new ConfigError(
        `selfpab downstream fold ${args.fold.name}: frame label ${win.y[i]} ≥ ${K} classes`,
      );
    }
  }
  const model = buildModel(args, base, F, K);
  try {
    const B = Math.min(d.batchSize, win.n);
    const stepsPerEpoch = Math.ceil(win.n / B);
    const total = stepsPerEpoch * d.epochs;
    let perm: number[] = [], permEpoch = -1;
    const source: BatchSource = {
      stepsPerEpoch,
      samplesPerEpoch: win.n,
      batch: (ctx) => {
        if (ctx.epoch !== permEpoch) {
          perm = rng(ctx.epochSeed).shuffle(Array.from({ length: win.n }, (_, i) => i));
          permEpoch = ctx.epoch;
        }
        const idx = perm.slice(ctx.step * B, Math.min(win.n, (ctx.step + 1) * B));
        const x = new Float32Array(idx.length * W * F), y = new Int32Array(idx.length * W);
        idx.forEach((j, i) => {
          x.set(win.x.subarray(j * W * F, (j + 1) * W * F), i * W * F);
          y.set(win.y.subarray(j * W, (j + 1) * W), i * W);
        });
        return {
          x: tf.tensor3d(x, [idx.length, W, F]),
          y: tf.tensor2d(y, [idx.length, W], "int32"),
          sampleWeights: frameLossWeights(y, W),
        };
      },
    };
    const encoderSel = selfpabEncoderWeights();
    const freeze = base === "selfpab" || base === "frozen" ? encoderSel : undefined;
    const unfreezeAt = base === "selfpab" ? d.unfreezeAtFraction : undefined;
    let lastLoss = NaN;
    log(
      `selfpab downstream ${args.setting} ${args.fold.name}: ${win.n} windows × ${W} frames, ${total} steps`,
    );
    const r = await fit(model, source, {
      epochs: d.epochs,
      optimizer: { name: "adam", lr: d.lr, beta1: 0.9, beta2: 0.98, eps: 1e-8 },
      schedule: exponentialTfDecay({ lr: d.lr, decayRate: d.decayRate, decaySteps: d.decaySteps }),
      loss: selfpabFrameLoss(),
      numClasses: K,
      freeze,
      unfreezeAtFraction: unfreezeAt,
      seed: args.seed,
      workers: args.workers ?? "auto",
      progress: false,
      label: `selfpab ${args.setting} ${args.fold.name}`,
      onStep: (info) => {
        lastLoss = info.loss;
        args.onStep?.({ step: info.step, loss: info.loss, model });
      },
    });
    if (!Number.isFinite(lastLoss)) {
      throw new ConfigError(
        `selfpab downstream ${args.setting} ${args.fold.name}: the loss diverged (${lastLoss})`,
      );
    }
    const sequences = test.map((s) => inferDeep(model, s, args, K));
    return {
      sequences,
      training: {
        windows: win.n,
        steps: r.steps,
        finalLoss: lastLoss,
        unfreezeStep: unfreezeAt === undefined ? null : Math.floor(unfreezeAt * total),
        workers: r.workers,
      },
    };
  } finally {
    model.dispose();
  }
}

/** Frames extended with zero frames to `frames` rows. */
function padFrames(f: SpectrogramFrames, frames: number): SpectrogramFrames {
  if (frames <= f.frames) return f;
  const data = new Float32Array(frames * f.features);
  data.set(f.data);
  return { ...f, data, frames };
}

/** The test-time pass of one sequence (see {@link runSelfpabDownstream}). */
function inferDeep(
  model: tf.LayersModel,
  s: SelfpabSequence,
  args: SelfpabDownstreamArgs,
  K: number,
): TestSeq {
  const d = args.spec.downstream, nFft = args.spec.nFft, hop = args.spec.hop;
  const W = d.windowFrames, shift = d.shiftFrames;
  const S = s.segment.axes[0]?.length ?? 0;
  const T = s.frames.frames;
  const Tpad = Math.max(T, Math.ceil(S / hop));
  const padded = padFrames(s.frames, Tpad);
  const w = cutWindows(padded, { mode: "inference", windowFrames: W, shiftFrames: shift });
  const probs = new Float32Array(w.n * W * K);
  const chunk = 16;
  for (let a = 0; a < w.n; a += chunk) {
    const b = Math.min(w.n, a + chunk);
    const p = tf.tidy(() => {
      const x = tf.tensor3d(w.x.subarray(a * W * w.features, b * W * w.features), [
        b - a,
        W,
        w.features,
      ]);
      return tf.softmax(model.predict(x) as tf.Tensor, -1);
    });
    probs.set(p.dataSync() as Float32Array, a * W * K);
    p.dispose();
  }
  const frameProbs = overlapMean(probs, w.n, W, shift, K, Tpad);
  const sampleProbs = reassemble(probs, w.n, {
    windowFrames: W,
    shiftFrames: shift,
    classes: K,
    frames: Tpad,
    samples: S,
    nFft,
    hop,
  });
  return outcomeOf(s, frameProbs.subarray(0, T * K), sampleProbs, K, args.positiveClass);
}

/** One test sequence's outcome from per-frame and per-sample probabilities. */
function outcomeOf(
  s: SelfpabSequence,
  frameProbs: ArrayLike<number>,
  sampleProbs: ArrayLike<number>,
  K: number,
  positive: number | undefined,
): TestSeq {
  const T = s.frames.frames;
  const yPred: number[] = new Array(T);
  for (let t = 0; t < T; t++) {
    let best = 0;
    for (let j = 1; j < K; j++) if (frameProbs[t * K + j] > frameProbs[t * K + best]) best = j;
    yPred[t] = best;
  }
  const yTrue = s.frameLabels ? Array.from(s.frameLabels) : new Array(T).fill(-1);
  const out: TestSeq = { key: s.key, subject: s.subject, yTrue, yPred };
  if (positive !== undefined) {
    const S = sampleProbs.length / K;
    // probabilities, clamped against float rounding (forest leaf means can be −4e-17)
    // Probabilities kept to 1e-6 (ample for AUROC; full float64 digits triple the outcome files).
    const p01 = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 1e6) / 1e6;
    out.scoreFrames = Array.from({ length: T }, (_, t) => p01(frameProbs[t * K + positive]));
    out.scoreSamples = Array.from({ length: S }, (_, i) => p01(sampleProbs[i * K + positive]));
    out.yTrueSamples = Array.from(s.segment.labels);
  }
  return out;
}

// ---------------------------------------------------------------- forest

const FOREST_WINDOW_SEC = 5, FOREST_STEP_SEC = 2.5;

/** 5-s windows (2.5-s step) of a segment; a segment shorter than a window is one zero-padded window. */
function forestWindows(seg: SelfpabSequence["segment"], rateHz: number) {
  const L = Math.round(FOREST_WINDOW_SEC * rateHz), step = Math.round(FOREST_STEP_SEC * rateHz);
  const S = seg.axes[0]?.length ?? 0;
  const C = seg.axes.length - (seg.axes.length % 3);
  const n = S <= L ? 1 : 1 + Math.floor((S - L) / step);
  const x = new Float32Array(n * C * L);
  const starts: number[] = [];
  for (let w = 0; w < n; w++) {
    const s0 = w * step;
    starts.push(s0);
    const len = Math.min(L, S - s0);
    for (let c = 0; c < C; c++) {
      x.set(seg.axes[c].subarray(s0, s0 + len), (w * C + c) * L);
    }
  }
  return { x, n, C, L, starts, S };
}

function runForest(
  args: SelfpabDownstreamArgs,
  train: SelfpabSequence[],
  test: SelfpabSequence[],
  K: number,
): { sequences: TestSeq[]; training: Record<string, number | string | null> } {
  const rate = args.spec.rateHz;
  const feats = (seg: SelfpabSequence["segment"]) => {
    const w = forestWindows(seg, rate);
    if (w.C === 0) {
      throw new DataFormatError(
        seg.source,
        `forest: ${seg.axes.length} axes, need tri-axial sensors`,
      );
    }
    const m = extractFeatures({
      x: w.x,
      n: w.n,
      channels: w.C,
      length: w.L,
      y: new Int32Array(w.n).fill(-1),
      classes: args.labelNames,
      subject: new Array(w.n).fill(seg.subject),
      rateHz: rate,
    });
    for (let i = 0; i < m.X.length; i++) if (!Number.isFinite(m.X[i])) m.X[i] = 0;
    return { ...w, X: m.X, nFeatures: m.nFeatures };
  };
  const rows: Float32Array[] = [], ys: number[] = [];
  let nf = 0;
  for (const s of train) {
    const f = feats(s.segment);
    nf = f.nFeatures;
    const lab = s.segment.labels;
    for (let w = 0; w < f.n; w++) {
      const counts = new Array(K).fill(0);
      let c = 0;
      for (let i = f.starts[w]; i < Math.min(f.S, f.starts[w] + f.L); i++) {
        if (lab[i] >= 0 && lab[i] < K) {
          counts[lab[i]]++;
          c++;
        }
      }
      if (c * 2 < Math.min(f.L, f.S)) continue; // mostly unlabelled
      let best = 0;
      for (let j = 1; j < K; j++) if (counts[j] > counts[best]) best = j;
      rows.push(f.X.subarray(w * nf, (w + 1) * nf));
      ys.push(best);
    }
  }
  if (rows.length === 0) {
    throw new ConfigError(
      `selfpab downstream forest ${args.fold.name}: no labelled training window`,
    );
  }
  const X = new Float32Array(rows.length * nf);
  rows.forEach((r, i) => X.set(r, i * nf));
  const rf = new RandomForest({
    nEstimators: args.spec.downstream.forestTrees,
    classWeight: "balanced",
    seed: args.seed,
  }).fit(X, nf, ys);
  const sequences = test.map((s) => {
    const f = feats(s.segment);
    const p = rf.predictProba(f.X);
    const nC = rf.classes.length;
    // window probabilities over all K classes
    const wp = new Float32Array(f.n * K);
    for (let w = 0; w < f.n; w++) {
      for (let c = 0; c < nC; c++) wp[w * K + rf.classes[c]] = p[w * nC + c];
    }
    // per sample: mean of the windows covering it (nearest window past the last one)
    const S = f.S;
    const sum = new Float64Array(S * K), cnt = new Float64Array(S);
    for (let w = 0; w < f.n; w++) {
      for (let i = f.starts[w]; i < Math.min(S, f.starts[w] + f.L); i++) {
        cnt[i]++;
        for (let j = 0; j < K; j++) sum[i * K + j] += wp[w * K + j];
      }
    }
    const sp = new Float32Array(S * K);
    for (let i = 0; i < S; i++) {
      if (cnt[i] > 0) { for (let j = 0; j < K; j++) sp[i * K + j] = sum[i * K + j] / cnt[i]; }
      else for (let j = 0; j < K; j++) sp[i * K + j] = wp[(f.n - 1) * K + j];
    }
    const fp = frameFromSamples(sp, s.frames.frames, K, args.spec.nFft, args.spec.hop);
    return outcomeOf(s, fp, sp, K, args.positiveClass);
  });
  return {
    sequences,
    training: { windows: rows.length, trees: args.spec.downstream.forestTrees, steps: 0 },
  };
}

/** Per-frame values = the per-sample values at each frame's centre sample (t·hop + nFft/2, clamped). */
function frameFromSamples(
  sp: ArrayLike<number>,
  T: number,
  K: number,
  nFft: number,
  hop: number,
): Float32Array {
  const S = sp.length / K;
  const out = new Float32Array(T * K);
  for (let t = 0; t < T; t++) {
    const c = Math.min(S - 1, t * hop + Math.floor(nFft / 2));
    for (let j = 0; j < K; j++) out[t * K + j] = sp[c * K + j];
  }
  return out;
}

// ---------------------------------------------------------- freeze index

/**
 * The signal the freeze index reads: the vector magnitude of the thigh
 * sensor (axes whose name contains "thigh"; else the first three axes).
 * The magnitude is orientation-free, so it is the same for Daphnet's
 * thigh sensor and the thigh-like phone variants whose vertical axis is
 * only estimated; Bächlin's vertical axis would need the sensor's mounting.
 */
function freezeSignal(seg: SelfpabSequence["segment"]): Float64Array {
  const idx = seg.axisNames.map((n, i) => (/thigh/i.test(n) ? i : -1)).filter((i) => i >= 0);
  const use = idx.length >= 1 ? idx : [0, 1, 2].filter((i) => i < seg.axes.length);
  return vectorMagnitude(use.map((i) => seg.axes[i]));
}

function runFreezeIndex(
  args: SelfpabDownstreamArgs,
  train: SelfpabSequence[],
  test: SelfpabSequence[],
): { sequences: TestSeq[]; training: Record<string, number | string | null> } {
  const pos = args.positiveClass!;
  const fiArgs = {
    rateHz: args.spec.rateHz,
    windowSec: 4,
    freezeBandHz: [3, 8] as [number, number],
    locomotorBandHz: [0.5, 3] as [number, number],
  };
  const perSample = (s: SelfpabSequence) => freezeIndexPerSample(freezeSignal(s.segment), fiArgs);
  let n = 0;
  for (const s of train) n += s.segment.labels.length;
  const ty = new Int32Array(n), ts = new Float64Array(n);
  let o = 0;
  for (const s of train) {
    const fi = perSample(s);
    for (let i = 0; i < fi.length; i++) {
      const l = s.segment.labels[i];
      ty[o] = l < 0 ? -1 : l === pos ? 1 : 0;
      ts[o++] = fi[i];
    }
  }
  const { threshold, f1 } = bestF1Threshold(ty.subarray(0, o), ts.subarray(0, o));
  // calibrated so that score ≥ 0.5 ⇔ index ≥ threshold (monotone: AUROC unchanged)
  const squash = (v: number) => 1 / (1 + Math.exp(-(v - threshold)));
  const K = args.labelNames.length;
  const sequences = test.map((s) => {
    const fi = perSample(s);
    const sp = new Float32Array(fi.length * K);
    for (let i = 0; i < fi.length; i++) {
      const p = squash(fi[i]);
      sp[i * K + pos] = p;
      sp[i * K + (pos === 0 ? 1 : 0)] = 1 - p;
    }
    const fp = frameFromSamples(sp, s.frames.frames, K, args.spec.nFft, args.spec.hop);
    return outcomeOf(s, fp, sp, K, pos);
  });
  return { sequences, training: { threshold, trainF1: f1, steps: 0, signal: "thigh |a|" } };
}

// ---------------------------------------------------------------- scores

/** Pooled freezing-of-gait scores over the folds (spec §7.1). */
export interface FreezeDetectionScore {
  /** AUROC of the per-frame freeze scores, pooled over the freeze folds. */
  aurocFrames: number;
  /** AUROC of the per-sample (50 Hz) scores, pooled. */
  aurocSamples: number;
  /** Freeze-class F1 of the per-frame predictions (`yPred`), pooled. */
  f1Frames: number;
  /** Freeze-class F1 per sample (score ≥ 0.5), pooled. */
  f1Samples: number;
  /** Per freeze fold: its own frame AUROC (NaN with one class), F1, freeze frames. */
  perFold: Array<{ fold: string; aurocFrames: number; f1Frames: number; freezeFrames: number }>;
  /** Folds without any freeze frame: the fraction of labelled frames predicted freeze. */
  specificity?: { fold: string; falseAlarmRate: number }[];
}

function positiveF1(pairs: Array<[number, number]>): number {
  let tp = 0, fp = 0, fn = 0;
  for (const [t, p] of pairs) {
    if (p === 1 && t === 1) tp++;
    else if (p === 1) fp++;
    else if (t === 1) fn++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/**
 * Score freeze-detection outcomes (positive class 1): AUROC and freeze F1,
 * per frame and per sample, pooled over the folds whose test sequences hold
 * freeze frames; the other folds ("specificity") only report false alarms.
 *
 * @example
 * scoreFreezeDetection(outcomes).aurocFrames; // e.g. 0.91
 * @throws ConfigError when an outcome has no scores (not a binary task) or none has a freeze frame
 */
export function scoreFreezeDetection(outcomes: SelfpabFoldOutcome[]): FreezeDetectionScore {
  const perFold: FreezeDetectionScore["perFold"] = [];
  const specificity: { fold: string; falseAlarmRate: number }[] = [];
  const frameParts: { yTrue: number[]; scores: number[] }[] = [];
  const sampleParts: { yTrue: number[]; scores: number[] }[] = [];
  const framePairs: Array<[number, number]> = [], samplePairs: Array<[number, number]> = [];
  for (const o of outcomes) {
    let freeze = 0;
    for (const s of o.sequences) {
      if (!s.scoreFrames || !s.scoreSamples || !s.yTrueSamples) {
        throw new ConfigError(
          `scoreFreezeDetection: ${o.setting} ${o.fold} ${s.key} has no scores (not a binary task?)`,
        );
      }
      for (const v of s.yTrue) if (v === 1) freeze++;
    }
    if (freeze === 0) {
      let n = 0, fa = 0;
      for (const s of o.sequences) {
        s.yTrue.forEach((t, i) => {
          if (t >= 0) {
            n++;
            if (s.yPred[i] === 1) fa++;
          }
        });
      }
      specificity.push({ fold: o.fold, falseAlarmRate: n ? fa / n : NaN });
      continue;
    }
    const fy: number[] = [], fs: number[] = [], pairs: Array<[number, number]> = [];
    for (const s of o.sequences) {
      s.yTrue.forEach((t, i) => {
        if (t < 0) return;
        fy.push(t);
        fs.push(s.scoreFrames![i]);
        pairs.push([t, s.yPred[i]]);
        framePairs.push([t, s.yPred[i]]);
      });
      const sy: number[] = [], ss: number[] = [];
      s.yTrueSamples!.forEach((t, i) => {
        if (t < 0) return;
        sy.push(t);
        ss.push(s.scoreSamples![i]);
        samplePairs.push([t, s.scoreSamples![i] >= 0.5 ? 1 : 0]);
      });
      sampleParts.push({ yTrue: sy, scores: ss });
    }
    frameParts.push({ yTrue: fy, scores: fs });
    const hasNeg = fy.some((v) => v !== 1);
    perFold.push({
      fold: o.fold,
      aurocFrames: hasNeg ? rocAuc(fy, fs) : NaN,
      f1Frames: positiveF1(pairs),
      freezeFrames: freeze,
    });
  }
  if (frameParts.length === 0) {
    throw new ConfigError("scoreFreezeDetection: no fold with freeze frames");
  }
  return {
    aurocFrames: pooledRocAuc(frameParts),
    aurocSamples: pooledRocAuc(sampleParts),
    f1Frames: positiveF1(framePairs),
    f1Samples: positiveF1(samplePairs),
    perFold,
    ...(specificity.length ? { specificity } : {}),
  };
}

/** Activity-recognition scores of the folds (spec §7.2). */
export interface ActivityScore {
  /** Mean over test subjects of the per-subject macro F1 (classes absent from truth and prediction skipped). */
  subjectF1Mean: number;
  /** Its standard error (ddof 1; NaN with one subject). */
  subjectF1Sem: number;
  /** Macro F1 of the pooled confusion matrix (NaN classes skipped). */
  pooledF1: number;
  /** Per-class F1 of the pooled confusion matrix. */
  perClassF1: number[];
  /** Pooled confusion matrix, rows true, columns predicted. */
  confusion: number[][];
  /** Test subjects scored. */
  subjects: number;
  /** Class names. */
  labelNames: string[];
}

/**
 * Score activity outcomes per frame: per-subject macro F1 mean ± SEM as the
 * reference computes it (eval/subjects.ts `subjectMacroF1Sem`), and the
 * pooled confusion matrix with its per-class and macro F1. Frames with
 * truth −1 are left out.
 *
 * @example
 * const s = scoreActivities(outcomes); // s.subjectF1Mean ± s.subjectF1Sem
 * @throws ConfigError when there is no outcome or the outcomes' class names differ
 */
export function scoreActivities(outcomes: SelfpabFoldOutcome[]): ActivityScore {
  if (outcomes.length === 0) throw new ConfigError("scoreActivities: no outcomes");
  const names = outcomes[0].labelNames;
  const K = names.length;
  const yt: number[] = [], yp: number[] = [], subj: string[] = [];
  const confusion = Array.from({ length: K }, () => new Array(K).fill(0));
  for (const o of outcomes) {
    if (o.labelNames.join("\u0000") !== names.join("\u0000")) {
      throw new ConfigError(
        `scoreActivities: ${o.setting} ${o.fold} has classes ${o.labelNames.join(", ")}, expected ${
          names.join(", ")
        }`,
      );
    }
    for (const s of o.sequences) {
      s.yTrue.forEach((t, i) => {
        if (t < 0) return;
        yt.push(t);
        yp.push(s.yPred[i]);
        subj.push(s.subject);
        confusion[t][s.yPred[i]]++;
      });
    }
  }
  const r = subjectMacroF1Sem(yt, yp, subj, { numClasses: K });
  const perClassF1 = confusionF1PerClass(confusion);
  return {
    subjectF1Mean: r.mean,
    subjectF1Sem: r.sem,
    pooledF1: nanMean(perClassF1),
    perClassF1,
    confusion,
    subjects: r.count,
    labelNames: names.slice(),
  };
}
