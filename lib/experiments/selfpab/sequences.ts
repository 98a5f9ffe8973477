/**
 * Prepared segments (data.ts) → {@link SelfpabSequence}s (normalised
 * spectrogram frames + frame labels), and the folds of each downstream task
 * as indices into them: Daphnet LOSO (dual and thigh-only freeze detection)
 * and subject-wise k-fold (MobiFall ADL, WISDM phone).
 *
 * @example
 * const dual = await loadDaphnetDual({ dataDir });
 * const seqs = sequencesOf(dual.runs, { axes: DAPHNET_HUNT4_CHANNELS, norm: await readNormParams(hunt4NormDir("HUNT4")) });
 * const folds = losoFolds(seqs); // one per subject; kind "specificity" without freeze events
 * @module
 */
import { makeFolds } from "../../data/splits.ts";
import { ConfigError } from "../../errors.ts";
import { type NormParams, recordingFeatures } from "../../signal/spectrogram.ts";
import { type SelfpabSegment, subjectKey } from "./data.ts";
import type { SelfpabFold, SelfpabSequence } from "./types.ts";

/** Options of {@link sequencesOf}. */
export interface SequencesArgs {
  /** Axis names of the segments in SelfPAB channel order (6 for dual, 3 for one sensor). */
  axes: readonly string[];
  /** HUNT4 statistics (156 or 78 values = 26 · axes). */
  norm: NormParams;
  /** STFT length / hop in samples (default 50 / 25). */
  nFft?: number;
  hop?: number;
  /** Drop segments shorter than one STFT frame instead of failing (default true; counted in the log). */
  dropShort?: boolean;
  /** Log sink. */
  log?: (msg: string) => void;
}

/**
 * One sequence per segment: the named axes → STFT magnitudes → HUNT4
 * normalisation, frame labels by majority (spec §1, §3.2).
 *
 * @throws ConfigError when the statistics do not match the axes
 * @throws DataFormatError naming the segment's file (missing axis, dead channel, non-finite sample)
 */
export function sequencesOf(segments: SelfpabSegment[], args: SequencesArgs): SelfpabSequence[] {
  const nFft = args.nFft ?? 50, hop = args.hop ?? 25;
  const bins = Math.floor(nFft / 2) + 1;
  if (args.norm.mean.length !== bins * args.axes.length) {
    throw new ConfigError(
      `sequencesOf: ${args.norm.mean.length} normalisation values (${args.norm.dir}) for ` +
        `${args.axes.length} axes × ${bins} bins = ${bins * args.axes.length}`,
    );
  }
  const out: SelfpabSequence[] = [];
  let short = 0;
  for (const seg of segments) {
    const n = seg.axes[0]?.length ?? 0;
    if (n < nFft && (args.dropShort ?? true)) {
      short++;
      continue;
    }
    const f = recordingFeatures(seg, { axes: args.axes, norm: args.norm, nFft, hop });
    const key = `${subjectKey(seg)}:${seg.trial}`;
    out.push({
      key,
      dataset: seg.dataset,
      subject: subjectKey(seg),
      trial: seg.trial,
      frames: f.frames,
      frameLabels: f.labels ? f.labels.labels : null,
      segment: seg,
    });
  }
  if (short > 0) {
    (args.log ?? console.log)(
      `sequences: dropped ${short} segments shorter than one ${nFft}-sample frame`,
    );
  }
  const seen = new Set<string>();
  for (const s of out) {
    if (seen.has(s.key)) throw new ConfigError(`sequencesOf: duplicate sequence key ${s.key}`);
    seen.add(s.key);
  }
  return out;
}

/** Indices of `seqs` whose dataset is in `datasets`. */
export function sequencesOfDatasets(
  seqs: SelfpabSequence[],
  datasets: readonly string[],
): number[] {
  const out: number[] = [];
  seqs.forEach((s, i) => {
    if (datasets.includes(s.dataset)) out.push(i);
  });
  return out;
}

/**
 * Leave one subject out over `seqs` (or the subset `idx`): one fold per
 * subject, sorted; `kind: "specificity"` when the subject has no frame of
 * `positiveLabel` (Daphnet: freeze = 1), else `"freeze"`.
 */
export function losoFolds(
  seqs: SelfpabSequence[],
  idx: number[] = seqs.map((_, i) => i),
  positiveLabel = 1,
): SelfpabFold[] {
  const subjects = [...new Set(idx.map((i) => seqs[i].subject))].sort();
  return subjects.map((s) => {
    const test = idx.filter((i) => seqs[i].subject === s);
    const train = idx.filter((i) => seqs[i].subject !== s);
    const hasPositive = test.some((i) => seqs[i].frameLabels?.includes(positiveLabel));
    return {
      name: s.slice(s.indexOf(":") + 1),
      train,
      test,
      testSubjects: [s],
      kind: hasPositive ? "freeze" : "specificity",
    };
  });
}

/**
 * Subject-wise k-fold over the subset `idx` of `seqs` (lib/data/splits.ts
 * `makeFolds` "subject-kfold" with `seed`; its validation subjects are
 * folded back into training: SelfPAB trains a fixed number of epochs).
 *
 * @throws ConfigError with fewer subjects than folds
 */
export function subjectFolds(
  seqs: SelfpabSequence[],
  idx: number[],
  k: number,
  seed: number,
): SelfpabFold[] {
  const plans = makeFolds({ kind: "subject-kfold", k }, {
    subject: idx.map((i) => seqs[i].subject),
  }, seed);
  return plans.map((p, f) => ({
    name: `fold${f + 1}`,
    train: [...Array.from(p.train), ...Array.from(p.val)].sort((a, b) => a - b).map((j) => idx[j]),
    test: Array.from(p.test).map((j) => idx[j]),
    testSubjects: [...p.testSubjects],
  }));
}

/** Labelled frames (label ≥ 0) per class over `idx` of `seqs`. */
export function classFrameCounts(
  seqs: SelfpabSequence[],
  idx: number[],
  numClasses: number,
): number[] {
  const c = new Array(numClasses).fill(0);
  for (const i of idx) {
    const l = seqs[i].frameLabels;
    if (!l) continue;
    for (const v of l) if (v >= 0 && v < numClasses) c[v]++;
  }
  return c;
}
