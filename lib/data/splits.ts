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
 * @example
 * const folds = subjectKFold(w.subject, { k: 5, seed: 42 });
 * for (const f of folds) train(selectWindows(w, f.train), selectWindows(w, f.val));
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
    out.push(...r.shuffle(list).slice(0, k));
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
