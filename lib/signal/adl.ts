/**
 * HMP ADL prepared the way ssl-wearables prepared it (`data_parsing/make_ADL.py`),
 * so our ADL numbers are comparable with theirs. The definition lives in
 * the `"adl5"` benchmark (`lib/data/benchmarks.ts`); this module reads an
 * HMP folder directly and lets callers vary it:
 *
 * - every trial file of the activity folders **and the `*_MODEL` folders**
 *   (their loop takes `folder.endswith("MODEL")` too; of the kept classes
 *   only the 364-sample `Pour_water_MODEL` trials are long enough to give a
 *   window, one each: f1 5, f2 3, m1 4, m3 5 → 17 of the 635 windows);
 * - codes → g by `code / 63 * 3 - 1.5`;
 * - windows on the raw 32 Hz samples: 320 samples (10 s), step 160 (5 s
 *   overlap), starting at 0, kept only when complete (no partial windows);
 * - each window resized 320 → 300 samples (30 Hz) by linear interpolation
 *   with both end points kept (their `resize`, scipy `interp1d`);
 * - the evaluation keeps 7 subjects (f1, f2, f3, m1, m2, m3, m4) and 5 classes
 *   (climb_stairs, drink_glass, pour_water, walk, getup_bed), the classes all
 *   of them performed (README of ssl-wearables' data_parsing: "ADL | 7 | 5").
 *
 * The result matches `ssl-wearables-adl-reference` (`Y.npy`, `pid.npy`):
 * 635 windows, identical counts per (subject, class).
 *
 * @example
 * const w = await prepareAdl("datasets/hmp-adl");
 * w.n; // 635, shape [635, 3, 300]
 */
import { relative } from "node:path";
import type { Windows } from "../data/types.ts";
import { readHmpAdl } from "../data/hmp.ts";
import { BENCHMARKS, deriveBenchmark, windowBenchmarkRecordings } from "../data/benchmarks.ts";

/** The 7 subjects ssl-wearables kept for ADL (the `"adl5"` benchmark's subjects). */
export const ADL_SUBJECTS: readonly string[] = BENCHMARKS.adl5.subjects.keep!;
/** The 5 classes ssl-wearables kept for ADL (sorted; the `"adl5"` benchmark's classes). */
export const ADL_CLASSES: readonly string[] = BENCHMARKS.adl5.classes;

/** Options for {@link prepareAdl}; each default is the `"adl5"` benchmark's. */
export interface PrepareAdlOptions {
  /** Subjects kept (default {@link ADL_SUBJECTS}). */
  subjects?: readonly string[];
  /** Classes kept, in the order `y` indexes them (default {@link ADL_CLASSES}). */
  classes?: readonly string[];
  /** Include the authors' `*_MODEL` trials (default true, as ssl-wearables did). */
  includeModel?: boolean;
  /** Output rate (Hz) (default 30). */
  rateHz?: number;
  /** Window length (s) (default 10). */
  windowSec?: number;
  /** Overlap (s) (default 5). */
  overlapSec?: number;
}

/**
 * Read HMP ADL from `dir` (the HMP root holding `Brush_teeth/`, ...) and
 * window it as ssl-wearables did (module docs). `source` per window is the
 * trial file relative to `dir`.
 *
 * @throws DataFormatError (from the reader) when `dir` is not an HMP folder.
 */
export async function prepareAdl(dir: string, opts: PrepareAdlOptions = {}): Promise<Windows> {
  const base = BENCHMARKS.adl5;
  const b = deriveBenchmark(base, {
    subjects: opts.subjects,
    classes: opts.classes,
    rateHz: opts.rateHz,
    windowSec: opts.windowSec,
    overlapSec: opts.overlapSec,
  });
  const includeModel = opts.includeModel ?? base.trials.includeModel;
  const recs = (await readHmpAdl(dir, { includeModel })).map((r) => ({
    ...r,
    source: relative(dir, r.source),
  }));
  return windowBenchmarkRecordings({ ...b, trials: { ...b.trials, includeModel } }, recs);
}
