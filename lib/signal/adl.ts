/**
 * HMP ADL prepared the way ssl-wearables prepared it (`data_parsing/make_ADL.py`),
 * so our ADL numbers are comparable with theirs:
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
import type { Windows } from "../data/types.ts";
import { readHmpAdl } from "../data/hmp.ts";
import { makeWindows } from "./windows.ts";

/** The 7 subjects ssl-wearables kept for ADL. */
export const ADL_SUBJECTS: readonly string[] = ["f1", "f2", "f3", "m1", "m2", "m3", "m4"];
/** The 5 classes ssl-wearables kept for ADL (sorted). */
export const ADL_CLASSES: readonly string[] = [
  "climb_stairs",
  "drink_glass",
  "getup_bed",
  "pour_water",
  "walk",
];

/** Options for {@link prepareAdl}. */
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
 * Read HMP ADL from `dir` and window it as ssl-wearables did (module docs).
 *
 * @throws DataFormatError (from the reader) when `dir` is not an HMP folder.
 */
export async function prepareAdl(dir: string, opts: PrepareAdlOptions = {}): Promise<Windows> {
  const subjects = new Set(opts.subjects ?? ADL_SUBJECTS);
  const classes = [...(opts.classes ?? ADL_CLASSES)];
  const recs = (await readHmpAdl(dir, { includeModel: opts.includeModel ?? true }))
    .filter((r) => subjects.has(r.subject))
    .filter((r) => classes.includes(String(r.meta?.activity)));
  return makeWindows(recs, {
    windowSec: opts.windowSec ?? 10,
    overlapSec: opts.overlapSec ?? 5,
    rateHz: opts.rateHz ?? 30,
    perWindowResize: true,
    classes,
    labelPolicy: "majority",
  });
}
