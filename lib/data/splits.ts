/**
 * Subject-wise evaluation splits over windows: every fold is `{train, val,
 * test}` arrays of window indices, and a subject is only ever in one of them
 * (validation is carved from the training subjects, never the test subject).
 *
 * Protocols as in ssl-wearables' `downstream_task_evaluation.py`:
 * - fewer than 10 subjects: leave one subject out ({@link leaveOneSubjectOut});
 *   the validation subject is the first of the remaining subjects in sorted
 *   order (their `LeaveOneGroupOut` on the training groups, first fold), or a
 *   seeded random one.
 * - 10 or more: five subject-wise folds with 7:1:2 train/val/test. Their code
 *   draws 5 random 80/20 group splits (`GroupShuffleSplit(5, test_size=0.2,
 *   random_state=42)`, test subjects = ceil(0.2·S)), then 12.5 % of the
 *   training subjects (ceil) as validation: {@link subjectShuffleSplit}. A
 *   proper k-fold where every subject is tested exactly once is
 *   {@link subjectKFold} (the same 7:1:2 proportions for k = 5).
 *
 * Plus label-budget helpers: {@link labelsPerClass} (k labelled windows per
 * class) and {@link nSubjects} (the windows of n subjects). All seeded.
 *
 * The declarative entry point is {@link makeFolds}: a serialisable
 * {@link ProtocolSpec} (LOSO, subject k-fold, a fixed subject partition
 * balanced by duration, by-trial folds for single-subject data; label
 * budgets; repeated seeds) gives named {@link FoldPlan}s.
 *
 * @example
 * const folds = subjectKFold(w.subject, { k: 5, seed: 42 });
 * for (const f of folds) train(selectWindows(w, f.train), selectWindows(w, f.val));
 *
 * const plans = makeFolds({ kind: "loso", valChoice: "first", labelsPerClass: 10, repeats: 3 }, w, 42);
 * plans[0].name; // "loso+10perclass/f1/r0"
 */
import { ConfigError } from "../errors.ts";
import { rng } from "../random.ts";

/** One evaluation fold: window indices (ascending) and the subjects behind them. */
export interface Fold {
  /** Training window indices. */
  train: Int32Array;
  /** Validation window indices (from training subjects only). */
  val: Int32Array;
  /** Test window indices. */
  test: Int32Array;
  /** Subjects in each part (sorted). */
  trainSubjects: string[];
  valSubjects: string[];
  testSubjects: string[];
}

/** Sorted unique subjects. */
export function uniqueSubjects(subjects: readonly string[]): string[] {
  return [...new Set(subjects)].sort();
}

function indicesOf(subjects: readonly string[], set: Set<string>): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < subjects.length; i++) if (set.has(subjects[i])) out.push(i);
  return Int32Array.from(out);
}

function fold(subjects: readonly string[], train: string[], val: string[], test: string[]): Fold {
  return {
    train: indicesOf(subjects, new Set(train)),
    val: indicesOf(subjects, new Set(val)),
    test: indicesOf(subjects, new Set(test)),
    trainSubjects: [...train].sort(),
    valSubjects: [...val].sort(),
    testSubjects: [...test].sort(),
  };
}

/** Options for {@link leaveOneSubjectOut}. */
export interface LosoOptions {
  /** Validation subjects per fold, taken from the training subjects (default 1; 0 for none). */
  valSubjects?: number;
  /** When given, validation subjects are drawn at random with this seed; otherwise the first in sorted order (ssl-wearables). */
  seed?: number;
}

/**
 * Leave one subject out: one fold per subject (sorted), that subject as test.
 *
 * @param subjects subject per window (`Windows.subject`)
 * @throws ConfigError with fewer than `2 + valSubjects` subjects.
 */
export function leaveOneSubjectOut(subjects: readonly string[], opts: LosoOptions = {}): Fold[] {
  const subs = uniqueSubjects(subjects);
  const nVal = opts.valSubjects ?? 1;
  if (!(nVal >= 0) || !Number.isInteger(nVal)) {
    throw new ConfigError(`leaveOneSubjectOut: valSubjects must be an integer >= 0, got ${nVal}`);
  }
  if (subs.length < 2 + nVal) {
    throw new ConfigError(
      `leaveOneSubjectOut: need at least ${
        2 + nVal
      } subjects (test + ${nVal} val + train), got ${subs.length}`,
    );
  }
  const r = opts.seed === undefined ? null : rng(opts.seed);
  return subs.map((test) => {
    const rest = subs.filter((s) => s !== test);
    const order = r ? r.shuffle([...rest]) : rest;
    const val = order.slice(0, nVal);
    const train = rest.filter((s) => !val.includes(s));
    return fold(subjects, train, val, [test]);
  });
}

/** Options for {@link subjectKFold}. */
export interface KFoldOptions {
  /** Number of folds (default 5). */
  k?: number;
  /** Seed of the subject shuffle. */
  seed: number;
  /** Fraction of each fold's training subjects moved to validation, rounded up (default 0.125 → 7:1:2 for k = 5). */
  valFraction?: number;
}

/**
 * Subject-wise k-fold: subjects are shuffled (seeded) and dealt into k folds of
 * near-equal size; each subject is tested exactly once. Validation subjects
 * are `ceil(valFraction × training subjects)` drawn from the training subjects.
 *
 * @throws ConfigError when k < 2 or there are fewer subjects than folds.
 */
export function subjectKFold(subjects: readonly string[], opts: KFoldOptions): Fold[] {
  const k = opts.k ?? 5;
  const valFraction = opts.valFraction ?? 0.125;
  const subs = uniqueSubjects(subjects);
  if (!(k >= 2) || !Number.isInteger(k)) {
    throw new ConfigError(`subjectKFold: k must be an integer >= 2, got ${k}`);
  }
  if (subs.length < k) {
    throw new ConfigError(`subjectKFold: ${subs.length} subjects for ${k} folds`);
  }
  if (!(valFraction >= 0 && valFraction < 1)) {
    throw new ConfigError(`subjectKFold: valFraction must be in [0, 1), got ${valFraction}`);
  }
  const r = rng(opts.seed);
  const order = r.shuffle([...subs]);
  const folds: Fold[] = [];
  for (let f = 0; f < k; f++) {
    const a = Math.floor((f * order.length) / k), b = Math.floor(((f + 1) * order.length) / k);
    const test = order.slice(a, b);
    const rest = r.shuffle(order.filter((_, i) => i < a || i >= b));
    const nVal = Math.min(rest.length - 1, Math.ceil(valFraction * rest.length - 1e-9));
    folds.push(fold(subjects, rest.slice(nVal), rest.slice(0, nVal), test));
  }
  return folds;
}

/** Options for {@link subjectShuffleSplit}. */
export interface ShuffleSplitOptions {
  /** Number of random splits (default 5). */
  nSplits?: number;
  /** Fraction of subjects in test, rounded up like scikit-learn (default 0.2). */
  testFraction?: number;
  /** Fraction of the remaining subjects in validation, rounded up (default 0.125). */
  valFraction?: number;
  /** Seed. */
  seed: number;
}

/**
 * Independent random subject splits (scikit-learn `GroupShuffleSplit`
 * semantics: test = ceil(testFraction × S) subjects), as ssl-wearables
 * evaluates datasets with ≥ 10 subjects. Test sets of different splits may
 * overlap. Not numerically identical to numpy's permutation stream.
 */
export function subjectShuffleSplit(
  subjects: readonly string[],
  opts: ShuffleSplitOptions,
): Fold[] {
  const subs = uniqueSubjects(subjects);
  const nSplits = opts.nSplits ?? 5;
  const nTest = Math.ceil((opts.testFraction ?? 0.2) * subs.length - 1e-9);
  if (nTest < 1 || nTest >= subs.length - 1) {
    throw new ConfigError(
      `subjectShuffleSplit: ${nTest} test subjects of ${subs.length} leaves no training`,
    );
  }
  const r = rng(opts.seed);
  const out: Fold[] = [];
  for (let s = 0; s < nSplits; s++) {
    const perm = r.shuffle([...subs]);
    const test = perm.slice(0, nTest);
    const rest = perm.slice(nTest);
    const nVal = Math.min(
      rest.length - 1,
      Math.ceil((opts.valFraction ?? 0.125) * rest.length - 1e-9),
    );
    out.push(fold(subjects, rest.slice(nVal), rest.slice(0, nVal), test));
  }
  return out;
}

/** Options for the label-budget helpers. */
export interface BudgetOptions {
  /** Seed of the selection. */
  seed: number;
  /** Candidate window indices (e.g. a fold's `train`); default all. */
  indices?: ArrayLike<number>;
}

/**
 * Pick `k` windows per class (classes with fewer windows give all of theirs;
 * unlabelled windows, y < 0, are never picked). Returns ascending indices.
 *
 * @example
 * const few = labelsPerClass(w.y, 10, { seed: 0, indices: fold.train });
 */
export function labelsPerClass(y: ArrayLike<number>, k: number, opts: BudgetOptions): Int32Array {
  if (!(k >= 1) || !Number.isInteger(k)) {
    throw new ConfigError(`labelsPerClass: k must be an integer >= 1, got ${k}`);
  }
  const cand = opts.indices ?? Array.from({ length: y.length }, (_, i) => i);
  const byClass = new Map<number, number[]>();
  for (let j = 0; j < cand.length; j++) {
    const i = cand[j];
    if (y[i] < 0) continue;
    if (!byClass.has(y[i])) byClass.set(y[i], []);
    byClass.get(y[i])!.push(i);
  }
  const r = rng(opts.seed);
  const out: number[] = [];
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const list = byClass.get(c)!.sort((a, b) => a - b);
    for (const i of r.shuffle(list).slice(0, k)) out.push(i); // no push(...): k may be large
  }
  return Int32Array.from(out.sort((a, b) => a - b));
}

/**
 * The windows of `n` subjects drawn at random (seeded) from those present in
 * the candidates. Returns ascending indices.
 *
 * @throws ConfigError when fewer than `n` subjects are available.
 */
export function nSubjects(subjects: readonly string[], n: number, opts: BudgetOptions): Int32Array {
  const cand = opts.indices ?? Array.from({ length: subjects.length }, (_, i) => i);
  const present = new Set<string>();
  for (let j = 0; j < cand.length; j++) present.add(subjects[cand[j]]);
  const subs = [...present].sort();
  if (!(n >= 1) || !Number.isInteger(n) || n > subs.length) {
    throw new ConfigError(`nSubjects: n must be an integer in [1, ${subs.length}], got ${n}`);
  }
  const chosen = new Set(rng(opts.seed).shuffle(subs).slice(0, n));
  const out: number[] = [];
  for (let j = 0; j < cand.length; j++) if (chosen.has(subjects[cand[j]])) out.push(cand[j]);
  return Int32Array.from(out.sort((a, b) => a - b));
}

// ---------------------------------------------------------------------------
// Fixed subject partitions balanced by duration

/** Fractions of a fixed train/val/test partition (each in [0, 1], summing to 1). */
export interface PartitionFractions {
  /** Share of the total duration in training (> 0). */
  train: number;
  /** Share in validation (may be 0: no validation subjects). */
  val: number;
  /** Share in test (> 0). */
  test: number;
}

/** Options for {@link subjectPartition}. */
export interface PartitionOptions {
  /** Target shares of the total duration, e.g. `{ train: 0.4, val: 0.1, test: 0.5 }`. */
  fractions: PartitionFractions;
  /** Seed of the subject order the assignment starts from. */
  seed: number;
  /**
   * Duration behind each window, in seconds (parallel to `subjects`), or
   * per subject (`{ [subject]: seconds }`). Default: every window counts 1,
   * i.e. subjects are balanced by window count (the same as duration when
   * all windows have one length).
   */
  durationSec?: ArrayLike<number> | Readonly<Record<string, number>>;
}

const PARTS = ["train", "val", "test"] as const;

function checkFractions(where: string, f: PartitionFractions): number[] {
  const fr = PARTS.map((p) => f?.[p]);
  if (fr.some((v) => typeof v !== "number" || !(v >= 0 && v <= 1))) {
    throw new ConfigError(
      `${where}: fractions train/val/test must be numbers in [0, 1], got ${JSON.stringify(f)}`,
    );
  }
  const sum = fr[0] + fr[1] + fr[2];
  if (Math.abs(sum - 1) > 1e-6) {
    throw new ConfigError(
      `${where}: fractions must sum to 1, got ${sum} (train ${fr[0]} + val ${fr[1]} + test ${
        fr[2]
      })`,
    );
  }
  if (fr[0] === 0 || fr[2] === 0) {
    throw new ConfigError(
      `${where}: train and test fractions must be > 0, got ${JSON.stringify(f)}`,
    );
  }
  return fr;
}

/** Total duration per sorted subject (see {@link PartitionOptions.durationSec}). */
function subjectDurations(
  where: string,
  subjects: readonly string[],
  subs: string[],
  durationSec: PartitionOptions["durationSec"],
): number[] {
  const total = new Map<string, number>(subs.map((s) => [s, 0]));
  if (durationSec === undefined || Array.isArray(durationSec) || ArrayBuffer.isView(durationSec)) {
    const d = durationSec as ArrayLike<number> | undefined;
    if (d && d.length !== subjects.length) {
      throw new ConfigError(
        `${where}: durationSec has ${d.length} entries for ${subjects.length} windows`,
      );
    }
    for (let i = 0; i < subjects.length; i++) {
      total.set(subjects[i], total.get(subjects[i])! + (d ? d[i] : 1));
    }
  } else {
    const rec = durationSec as Readonly<Record<string, number>>;
    for (const s of subs) {
      if (!(s in rec)) throw new ConfigError(`${where}: durationSec has no entry for subject ${s}`);
      total.set(s, rec[s]);
    }
  }
  const out = subs.map((s) => total.get(s)!);
  const bad = out.findIndex((v) => !(v >= 0) || !Number.isFinite(v));
  if (bad >= 0) {
    throw new ConfigError(`${where}: duration of subject ${subs[bad]} is ${out[bad]} (need >= 0)`);
  }
  if (!(out.reduce((a, b) => a + b, 0) > 0)) {
    throw new ConfigError(`${where}: total duration is 0`);
  }
  return out;
}

/**
 * Assign items of duration `dur` to parts with target shares `fr` so that
 * Σ_p |load_p − fr_p·total| is locally minimal: a greedy pass in seeded
 * order (each item to the part furthest below its target), then single
 * moves and pairwise swaps while they lower the cost. Every part with a
 * positive share keeps at least one item.
 */
function balancedAssign(dur: number[], fr: number[], seed: number): Int32Array {
  const n = dur.length;
  const total = dur.reduce((a, b) => a + b, 0);
  const target = fr.map((f) => f * total);
  const active = [0, 1, 2].filter((p) => fr[p] > 0);
  const part = new Int32Array(n).fill(-1);
  const load = [0, 0, 0], count = [0, 0, 0];
  const put = (i: number, p: number) => {
    part[i] = p;
    load[p] += dur[i];
    count[p]++;
  };
  const order = rng(seed).shuffle(Array.from({ length: n }, (_, i) => i));
  // one item per active part first (largest share first), then greedy by deficit
  const bySize = [...active].sort((a, b) => fr[b] - fr[a] || a - b);
  order.slice(0, bySize.length).forEach((i, j) => put(i, bySize[j]));
  for (const i of order.slice(bySize.length)) {
    let best = active[0];
    for (const p of active) if (target[p] - load[p] > target[best] - load[best]) best = p;
    put(i, best);
  }
  const eps = 1e-12 * total;
  const dev = (p: number, l: number) => Math.abs(l - target[p]);
  for (let pass = 0; pass < 1000; pass++) {
    let improved = false;
    for (let i = 0; i < n; i++) {
      const a = part[i];
      if (count[a] <= 1) continue;
      for (const b of active) {
        if (b === a) continue;
        const delta = dev(a, load[a] - dur[i]) + dev(b, load[b] + dur[i]) - dev(a, load[a]) -
          dev(b, load[b]);
        if (delta < -eps) {
          load[a] -= dur[i], count[a]--;
          put(i, b);
          improved = true;
          break;
        }
      }
    }
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const a = part[i], b = part[j];
        if (a === b) continue;
        const d = dur[j] - dur[i];
        const delta = dev(a, load[a] + d) + dev(b, load[b] - d) - dev(a, load[a]) - dev(b, load[b]);
        if (delta < -eps) {
          load[a] += d, load[b] -= d;
          part[i] = b, part[j] = a;
          improved = true;
        }
      }
    }
    if (!improved) break;
  }
  return part;
}

/**
 * A fixed train/val/test subject partition whose total durations are as
 * close as possible to the given fractions (e.g. 40/10/50 by recording
 * time): subjects are assigned greedily in a seeded order and the
 * assignment is then improved by moves and swaps until no single move or
 * swap brings any part's duration closer to its target. Each part with a
 * positive fraction gets at least one subject.
 *
 * @example
 * const f = subjectPartition(w.subject, { fractions: { train: 0.4, val: 0.1, test: 0.5 }, seed: 1 });
 * @throws ConfigError when the fractions do not sum to 1, train or test is 0,
 *   or there are fewer subjects than non-empty parts.
 */
export function subjectPartition(subjects: readonly string[], opts: PartitionOptions): Fold {
  const where = "subjectPartition";
  const fr = checkFractions(where, opts.fractions);
  const subs = uniqueSubjects(subjects);
  const needed = fr.filter((f) => f > 0).length;
  if (subs.length < needed) {
    throw new ConfigError(`${where}: ${subs.length} subjects for ${needed} non-empty parts`);
  }
  const dur = subjectDurations(where, subjects, subs, opts.durationSec);
  const part = balancedAssign(dur, fr, opts.seed);
  const of = (p: number) => subs.filter((_, i) => part[i] === p);
  return fold(subjects, of(0), of(1), of(2));
}

// ---------------------------------------------------------------------------
// Declarative protocols

/**
 * How validation groups are taken from a fold's training groups: `"random"`
 * (seeded by the fold's seed, the default) or `"first"` (the first in
 * sorted order, as ssl-wearables' LOSO does; identical in every repeat).
 */
export type ValChoice = "random" | "first";

/** Fields every {@link ProtocolSpec} accepts: label budgets, repeats, naming. */
export interface ProtocolCommon {
  /**
   * Label budget: keep `k` labelled windows per class of each fold's
   * training part (seeded per fold and repeat, {@link labelsPerClass}).
   */
  labelsPerClass?: number;
  /**
   * With `labelsPerClass`: a class with fewer than `k` training windows
   * gives all of its windows instead of raising a ConfigError (default false).
   */
  allowFewerLabels?: boolean;
  /**
   * Label budget: keep only the training windows of `n` training subjects
   * (seeded, {@link nSubjects}); applied before `labelsPerClass`.
   */
  labelledSubjects?: number;
  /** Repeat every fold with the seeds `seed, seed + 1, …` (default 1 repeat). */
  repeats?: number;
  /** Explicit repeat seeds, one repeat each; overrides `repeats`. */
  seeds?: number[];
  /** Keep only the first `maxFolds` folds of each repeat (smoke runs); default all. */
  maxFolds?: number;
  /**
   * Protocol name in {@link FoldPlan.protocol} and the fold names; default
   * derived from the spec, e.g. `"loso"`, `"kfold5+10perclass"`.
   */
  name?: string;
}

/** Leave one subject out; validation subjects from the training subjects. */
export interface LosoSpec extends ProtocolCommon {
  kind: "loso";
  /** Validation subjects per fold (count; default 1 unless `valFraction` is given; 0 for none). */
  valSubjects?: number;
  /** Or: this fraction of the training subjects, rounded up (in [0, 1)). */
  valFraction?: number;
  /** Which training subjects validate (default `"random"`). */
  valChoice?: ValChoice;
}

/** Subject-wise k-fold ({@link subjectKFold}); validation from the training subjects. */
export interface SubjectKFoldSpec extends ProtocolCommon {
  kind: "subject-kfold";
  /** Number of folds (default 5). */
  k?: number;
  /** Validation subjects per fold (count), instead of `valFraction`. */
  valSubjects?: number;
  /** Fraction of the training subjects in validation, rounded up (default 0.125: 7:1:2 for k = 5). */
  valFraction?: number;
  /** Which training subjects validate (default `"random"`, the draw of {@link subjectKFold}). */
  valChoice?: ValChoice;
}

/**
 * One fixed train/val/test subject partition: either `fractions` of the
 * total duration ({@link subjectPartition}, seeded) or explicit `subjects`
 * lists (subjects in the data but in no list are left out).
 */
export interface SubjectPartitionSpec extends ProtocolCommon {
  kind: "subject-partition";
  /** Target duration shares, e.g. `{ train: 0.4, val: 0.1, test: 0.5 }`. */
  fractions?: PartitionFractions;
  /** Explicit subject lists (`val` optional). */
  subjects?: { train: string[]; val?: string[]; test: string[] };
}

/**
 * Folds over trials (recordings: distinct `(subject, source)` pairs of
 * `Windows.source`) instead of subjects, for single- or few-subject data.
 * Trials are disjoint between train, val and test; subjects are not.
 */
export interface ByTrialSpec extends ProtocolCommon {
  kind: "by-trial";
  /** k-fold over trials; omitted: leave one trial out. */
  k?: number;
  /** Validation trials per fold (count; default 1 for leave-one-out, else `valFraction`). */
  valTrials?: number;
  /** Fraction of the training trials in validation, rounded up (default 0.125 for k-fold). */
  valFraction?: number;
  /** Which training trials validate (default `"random"`). */
  valChoice?: ValChoice;
}

/** A serialisable evaluation protocol for {@link makeFolds}. */
export type ProtocolSpec = LosoSpec | SubjectKFoldSpec | SubjectPartitionSpec | ByTrialSpec;

/** The per-window information {@link makeFolds} needs (a `Windows` fits). */
export interface FoldData {
  /** Subject per window. */
  subject: readonly string[];
  /** Class per window (-1 unlabelled); needed by `labelsPerClass`. */
  y?: ArrayLike<number>;
  /** Recording per window (`Windows.source`); needed by `"by-trial"`. */
  source?: readonly string[];
  /**
   * Seconds behind each window (parallel to `subject`) or per subject, for
   * `"subject-partition"` fractions; default one unit per window.
   */
  durationSec?: ArrayLike<number> | Readonly<Record<string, number>>;
}

/** One planned fold of a protocol: a {@link Fold} with its name and seeds. */
export interface FoldPlan extends Fold {
  /** Unique name, `<protocol>/<fold>[/r<repeat>]`, e.g. `"loso/f1"`, `"kfold5/2"`, `"kfold5/2/r1"` (the fold is the test subject for LOSO, else its index). */
  name: string;
  /** 0-based fold index within its repeat. */
  index: number;
  /** The fold's own seed, `repeatSeed × 1000 + index` (for model initialisation and draws; Yuan's downstream convention). */
  seed: number;
  /** 0-based repeat. */
  repeat: number;
  /** Seed of the repeat (`seed + repeat`, or `seeds[repeat]`). */
  repeatSeed: number;
  /** Protocol name (see {@link ProtocolCommon.name}). */
  protocol: string;
  /** Training windows before the label budget (equal to `train` without one): the unlabelled pool. */
  trainPool: Int32Array;
  /** By-trial folds: trial ids in each part (sorted; `source`, or `subject/source` when sources repeat across subjects). */
  trainTrials?: string[];
  valTrials?: string[];
  testTrials?: string[];
}

/** A fold over groups (subjects or trials) before windows and budgets. */
interface GroupFold {
  /** Label in the fold name. */
  label: string;
  /** Test groups. */
  test: string[];
  /** Training + validation groups, sorted. */
  rest: string[];
  /** Seeded order of `rest` of the base seed (subject k-fold: reproduces {@link subjectKFold}). */
  order?: string[];
  /** Fixed validation groups (partitions). */
  fixedVal?: string[];
}

function checkInt(where: string, what: string, v: unknown, min: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new ConfigError(`${where}: ${what} must be an integer >= ${min}, got ${v}`);
  }
  return v;
}

function defaultName(spec: ProtocolSpec): string {
  let base: string;
  switch (spec.kind) {
    case "loso":
      base = "loso";
      break;
    case "subject-kfold":
      base = `kfold${spec.k ?? 5}`;
      break;
    case "subject-partition":
      base = spec.fractions
        ? "partition" +
          PARTS.map((p) => String(Math.round(spec.fractions![p] * 100))).join("-")
        : "partition";
      break;
    case "by-trial":
      base = spec.k === undefined ? "trial-loo" : `trial-kfold${spec.k}`;
      break;
  }
  if (spec.labelledSubjects !== undefined) base += `+${spec.labelledSubjects}subjects`;
  if (spec.labelsPerClass !== undefined) base += `+${spec.labelsPerClass}perclass`;
  return base;
}

/**
 * How a fold's validation groups are drawn from the groups left after the
 * test ones (see {@link valCount}).
 */
interface ValRule {
  /** Groups to draw (`valSubjects` / `valTrials`). */
  count?: number;
  /** Or a fraction of them (`valFraction`). */
  fraction?: number;
  /** The protocol's default when neither is given. */
  dflt: { count?: number; fraction?: number };
  /** Which groups. */
  choice: ValChoice;
}

/**
 * The {@link ValRule} of a protocol spec: its count (`valSubjects` or
 * `valTrials`), `valFraction` and `valChoice` (default random).
 */
function valRule(
  spec: { valFraction?: number; valChoice?: ValChoice },
  count: number | undefined,
  dflt: { count?: number; fraction?: number },
): ValRule {
  return { count, fraction: spec.valFraction, dflt, choice: spec.valChoice ?? "random" };
}

/** Number of validation groups out of `nRest` training groups. */
function valCount(
  where: string,
  count: number | undefined,
  fraction: number | undefined,
  dflt: { count?: number; fraction?: number },
  nRest: number,
  unit: string,
): number {
  if (count !== undefined && fraction !== undefined) {
    throw new ConfigError(`${where}: give val${unit} (count) or valFraction, not both`);
  }
  if (fraction !== undefined && !(fraction >= 0 && fraction < 1)) {
    throw new ConfigError(`${where}: valFraction must be in [0, 1), got ${fraction}`);
  }
  if (count !== undefined) {
    checkInt(where, `val${unit}`, count, 0);
    if (count > nRest - 1) {
      throw new ConfigError(
        `${where}: val${unit} ${count} leaves no training ${unit.toLowerCase()} (${nRest} besides the test ones)`,
      );
    }
    return count;
  }
  const f = fraction ?? dflt.fraction;
  if (f !== undefined) return Math.min(nRest - 1, Math.ceil(f * nRest - 1e-9));
  return valCount(where, dflt.count ?? 0, undefined, {}, nRest, unit);
}

/** Leave-one-out or k-fold over sorted groups (k-fold as {@link subjectKFold}). */
function groupFolds(
  where: string,
  groups: string[],
  k: number | undefined,
  seed: number,
  useIndex: boolean,
): GroupFold[] {
  if (k === undefined) {
    if (groups.length < 2) {
      throw new ConfigError(
        `${where}: need at least 2 groups to leave one out, got ${groups.length}`,
      );
    }
    return groups.map((g, i) => ({
      label: useIndex ? String(i) : g,
      test: [g],
      rest: groups.filter((h) => h !== g),
    }));
  }
  checkInt(where, "k", k, 2);
  if (groups.length < k) throw new ConfigError(`${where}: ${groups.length} groups for ${k} folds`);
  const r = rng(seed);
  const order = r.shuffle([...groups]);
  const out: GroupFold[] = [];
  for (let f = 0; f < k; f++) {
    const a = Math.floor((f * order.length) / k), b = Math.floor(((f + 1) * order.length) / k);
    const shuffled = r.shuffle(order.filter((_, i) => i < a || i >= b));
    out.push({
      label: String(f),
      test: order.slice(a, b),
      rest: [...shuffled].sort(),
      order: shuffled,
    });
  }
  return out;
}

function keysOf(
  where: string,
  data: FoldData,
  byTrial: boolean,
): { keys: string[]; ids: string[] } {
  if (!byTrial) return { keys: [...data.subject], ids: uniqueSubjects(data.subject) };
  const src = data.source;
  if (!src) {
    throw new ConfigError(
      `${where}: by-trial folds need data.source (the recording of each window, Windows.source)`,
    );
  }
  if (src.length !== data.subject.length) {
    throw new ConfigError(
      `${where}: source has ${src.length} entries for ${data.subject.length} windows`,
    );
  }
  const owners = new Map<string, Set<string>>();
  for (let i = 0; i < src.length; i++) {
    if (!owners.has(src[i])) owners.set(src[i], new Set());
    owners.get(src[i])!.add(data.subject[i]);
  }
  const shared = [...owners.values()].some((s) => s.size > 1);
  const keys = src.map((s, i) => (shared ? `${data.subject[i]}/${s}` : s));
  return { keys, ids: uniqueSubjects(keys) };
}

function partIndices(keys: string[], set: Set<string>): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < keys.length; i++) if (set.has(keys[i])) out.push(i);
  return Int32Array.from(out);
}

function subjectsAt(subject: readonly string[], idx: Int32Array): string[] {
  return uniqueSubjects(Array.from(idx, (i) => subject[i]));
}

/**
 * The folds of a protocol, in order (repeat-major: all folds of repeat 0,
 * then of repeat 1, …), deterministic for a given `seed`.
 *
 * - The test groups of every fold (subjects, or trials for `"by-trial"`)
 *   depend on `seed` only, so repeats share them; validation groups
 *   (`"random"`) and label budgets are drawn per fold from the repeat's
 *   seed. At the base seed, `"subject-kfold"` gives exactly the folds of
 *   {@link subjectKFold} and `"loso"` with `valChoice: "first"` those of
 *   {@link leaveOneSubjectOut} without a seed.
 * - Budgets cut the training part only (`trainPool` keeps the full one);
 *   `trainSubjects` are the subjects left after the budget.
 * - No test window is in train or val; validation subjects are never test
 *   subjects (for subject protocols).
 *
 * @example
 * const plans = makeFolds({ kind: "subject-kfold", k: 5 }, w, 42);
 * const few = makeFolds({ kind: "loso", labelsPerClass: 10, repeats: 3 }, w, 0);
 * const part = makeFolds({ kind: "subject-partition", fractions: { train: 0.4, val: 0.1, test: 0.5 } }, w, 1);
 * const trials = makeFolds({ kind: "by-trial", k: 4 }, w, 1); // needs w.source
 * @throws ConfigError for impossible specs: unknown kind, k > groups,
 *   fractions not summing to 1, budgets larger than a fold's training part,
 *   missing `source` (by-trial) or `y` (labelsPerClass), mismatched lengths.
 */
export function makeFolds(spec: ProtocolSpec, data: FoldData, seed: number): FoldPlan[] {
  const kind = (spec as { kind?: unknown })?.kind;
  const where = `makeFolds(${typeof kind === "string" ? kind : "?"})`;
  if (!["loso", "subject-kfold", "subject-partition", "by-trial"].includes(kind as string)) {
    throw new ConfigError(
      `makeFolds: unknown protocol kind ${
        JSON.stringify(kind)
      } (expected "loso", "subject-kfold", "subject-partition" or "by-trial")`,
    );
  }
  if (!Number.isFinite(seed)) {
    throw new ConfigError(`${where}: seed must be a finite number, got ${seed}`);
  }
  const subject = data.subject;
  if (!subject || subject.length === 0) {
    throw new ConfigError(`${where}: no windows (empty subject)`);
  }
  if (data.y && data.y.length !== subject.length) {
    throw new ConfigError(`${where}: y has ${data.y.length} entries for ${subject.length} windows`);
  }
  if (spec.labelsPerClass !== undefined) {
    checkInt(where, "labelsPerClass", spec.labelsPerClass, 1);
    if (!data.y) {
      throw new ConfigError(`${where}: labelsPerClass needs data.y (the class per window)`);
    }
  }
  if (spec.labelledSubjects !== undefined) {
    checkInt(where, "labelledSubjects", spec.labelledSubjects, 1);
  }
  if (spec.maxFolds !== undefined) checkInt(where, "maxFolds", spec.maxFolds, 1);
  let seeds: number[];
  if (spec.seeds !== undefined) {
    if (
      !Array.isArray(spec.seeds) || spec.seeds.length === 0 || !spec.seeds.every(Number.isFinite)
    ) {
      throw new ConfigError(
        `${where}: seeds must be a non-empty list of numbers, got ${JSON.stringify(spec.seeds)}`,
      );
    }
    if (spec.repeats !== undefined && spec.repeats !== spec.seeds.length) {
      throw new ConfigError(`${where}: repeats ${spec.repeats} but ${spec.seeds.length} seeds`);
    }
    seeds = spec.seeds;
  } else {
    const n = checkInt(where, "repeats", spec.repeats ?? 1, 1);
    seeds = Array.from({ length: n }, (_, r) => seed + r);
  }
  const protocol = spec.name ?? defaultName(spec);
  if (protocol.includes("/")) {
    throw new ConfigError(`${where}: name must not contain "/", got ${protocol}`);
  }

  const byTrial = spec.kind === "by-trial";
  const { keys, ids } = keysOf(where, data, byTrial);
  const unit = byTrial ? "Trials" : "Subjects";
  let base: GroupFold[];
  let val: ValRule | null = null;
  switch (spec.kind) {
    case "loso":
      base = groupFolds(where, ids, undefined, seed, false);
      val = valRule(spec, spec.valSubjects, { count: 1 });
      break;
    case "subject-kfold":
      base = groupFolds(where, ids, spec.k ?? 5, seed, true);
      val = valRule(spec, spec.valSubjects, { fraction: 0.125 });
      break;
    case "by-trial":
      base = groupFolds(where, ids, spec.k, seed, true);
      val = valRule(
        spec,
        spec.valTrials,
        spec.k === undefined ? { count: 1 } : { fraction: 0.125 },
      );
      break;
    case "subject-partition": {
      if ((spec.fractions === undefined) === (spec.subjects === undefined)) {
        throw new ConfigError(`${where}: give either fractions or subjects lists`);
      }
      let parts: string[][];
      if (spec.fractions) {
        const f = subjectPartition(subject, {
          fractions: spec.fractions,
          seed,
          durationSec: data.durationSec,
        });
        parts = [f.trainSubjects, f.valSubjects, f.testSubjects];
      } else {
        const l = spec.subjects!;
        parts = [l.train ?? [], l.val ?? [], l.test ?? []];
        if (parts[0].length === 0 || parts[2].length === 0) {
          throw new ConfigError(`${where}: subjects.train and subjects.test must be non-empty`);
        }
        const present = new Set(ids), seen = new Set<string>();
        for (const s of parts.flat()) {
          if (!present.has(s)) throw new ConfigError(`${where}: subject ${s} has no windows`);
          if (seen.has(s)) throw new ConfigError(`${where}: subject ${s} is in more than one part`);
          seen.add(s);
        }
      }
      base = [{
        label: "0",
        test: parts[2],
        rest: [...parts[0], ...parts[1]].sort(),
        fixedVal: parts[1],
      }];
      break;
    }
  }
  if (spec.maxFolds !== undefined) base = base.slice(0, spec.maxFolds);

  const out: FoldPlan[] = [];
  seeds.forEach((repeatSeed, repeat) => {
    base.forEach((g, index) => {
      const foldSeed = repeatSeed * 1000 + index;
      const name = `${protocol}/${g.label}` + (seeds.length > 1 ? `/r${repeat}` : "");
      const r = rng(foldSeed);
      const subjectsSeed = r.uint32(), labelsSeed = r.uint32();
      let valG: string[];
      if (g.fixedVal) valG = g.fixedVal;
      else {
        const n = valCount(
          `${where} ${name}`,
          val!.count,
          val!.fraction,
          val!.dflt,
          g.rest.length,
          unit,
        );
        if (val!.choice === "first") valG = g.rest.slice(0, n);
        else if (val!.choice === "random") {
          const order = g.order && repeatSeed === seed ? g.order : r.shuffle([...g.rest]);
          valG = order.slice(0, n);
        } else {
          throw new ConfigError(
            `${where}: valChoice must be "random" or "first", got ${val!.choice}`,
          );
        }
      }
      const valSet = new Set(valG);
      const trainG = g.rest.filter((s) => !valSet.has(s));
      const trainPool = partIndices(keys, new Set(trainG));
      let train = trainPool;
      if (spec.labelledSubjects !== undefined) {
        const have = subjectsAt(subject, train).length;
        if (spec.labelledSubjects > have) {
          throw new ConfigError(
            `${where}: labelledSubjects ${spec.labelledSubjects} > ${have} training subjects in fold ${name}`,
          );
        }
        train = nSubjects(subject, spec.labelledSubjects, { seed: subjectsSeed, indices: train });
      }
      if (spec.labelsPerClass !== undefined) {
        const k = spec.labelsPerClass, y = data.y!;
        if (!spec.allowFewerLabels) {
          const counts = new Map<number, number>();
          for (const i of train) if (y[i] >= 0) counts.set(y[i], (counts.get(y[i]) ?? 0) + 1);
          if (counts.size === 0) {
            throw new ConfigError(`${where}: no labelled training windows in fold ${name}`);
          }
          for (const [c, n] of [...counts].sort((a, b) => a[0] - b[0])) {
            if (n < k) {
              throw new ConfigError(
                `${where}: labelsPerClass ${k} but class ${c} has only ${n} training windows in fold ${name} (set allowFewerLabels to take all)`,
              );
            }
          }
        }
        train = labelsPerClass(y, k, { seed: labelsSeed, indices: train });
      }
      const valIdx = partIndices(keys, valSet), testIdx = partIndices(keys, new Set(g.test));
      const plan: FoldPlan = {
        train,
        val: valIdx,
        test: testIdx,
        trainSubjects: subjectsAt(subject, train),
        valSubjects: subjectsAt(subject, valIdx),
        testSubjects: subjectsAt(subject, testIdx),
        name,
        index,
        seed: foldSeed,
        repeat,
        repeatSeed,
        protocol,
        trainPool,
      };
      if (byTrial) {
        plan.trainTrials = [...trainG].sort();
        plan.valTrials = [...valG].sort();
        plan.testTrials = [...g.test].sort();
      }
      out.push(plan);
    });
  });
  return out;
}
