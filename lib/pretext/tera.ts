/**
 * TERA-style alteration for SelfPAB's masked-reconstruction pre-training,
 * exactly as the reference does it (ntnu-ai-lab/SelfPAB
 * `HUNT4MaskedDataset.__getitem__`, `liu_et_al_mask_swap`,
 * `randomly_mask_tensor`, `randomly_swap_tensor`; spec
 * `../shared/specs/selfpab.md` §2.1, numpy re-statement `alter` in
 * `selfpab_reference.py`).
 *
 * A window is one normalised spectrogram `[T frames, C·F features]`,
 * channel-major (feature `c·F + f`: channel c, frequency bin f; SelfPAB: 6
 * axes × 26 bins = 156). Per window:
 *
 * 1. **Time**, one draw `v ~ U(0, 1)`:
 *    - `v < 0.8` (zero): `n = int(0.15·T/3)` starts (29 for T = 599) drawn
 *      without replacement from `[0, T − 3 − 1]` (Python
 *      `random.sample(range(T − width), n)`); frames `start … start + 2` are
 *      set to 0 (normalised units, i.e. the normalisation mean). Overlaps are
 *      allowed, so at most 3n frames change; the last frame never does.
 *    - `0.8 ≤ v < 0.9` (copy, the reference's "swap"): n source and n
 *      destination starts, each without replacement from the same range; the
 *      destination frames are overwritten with copies of the source frames of
 *      the unaltered window (last write wins on overlapping destinations).
 *      Only destination frames enter the loss mask.
 *    - `v ≥ 0.9` (untouched): no time alteration and **no** time entries in
 *      the loss mask.
 * 2. **Frequency**, with probability 0.9: `int(0.2·F/3)` band starts (1 for
 *    F = 26) from `[0, F − 3 − 1]`; bins `start … start + 2` are zeroed in
 *    every channel and frame (after step 1).
 * 3. **Loss mask** `1 − keepTime ⊗ keepFreq` (broadcast over channels): 1 on
 *    every time-altered or frequency-masked element.
 *
 * Python's `random.sample` cannot be reproduced bit for bit: the draws here
 * come from the project's seeded generator (lib/random.ts), and the tests
 * check the statistics (span counts and ranges, branch rates, band rate, mean
 * altered fraction ≈ 0.215) against the reference.
 *
 * **Padded windows** (a recording shorter than the window, zero-padded at the
 * end): only the first `validFrames` frames are altered, with `T` replaced by
 * `validFrames` in the counts and ranges above (what the reference does to a
 * shorter sequence), and padding frames never enter the loss mask.
 *
 * {@link trivialMaskedL1} gives the masked-L1 of the two trivial predictors
 * a trained model must beat (spec §7.0): predicting 0 (the normalisation
 * mean) and per-feature linear interpolation over the time-altered frames.
 *
 * @example
 * ```ts
 * // windows: [n, 599, 156] normalised spectrogram frames
 * const b = teraBatch({ data, shape: [n, 599, 156] }, { seed: 7 });
 * // a fit batch: input to the model, [clean target, loss mask] to maskedL1Loss()
 * const batch = { x: b.input, y: [b.target, b.mask] };
 * b.alterations[0]; // { branch: "zero", timeStarts: [...29], sourceStarts: [], freqStarts: [12] }
 * ```
 * @module
 */
import { ConfigError } from "../errors.ts";
import { type Rng, rng as makeRng } from "../random.ts";

/** Arguments of the TERA alteration; every default is the SelfPAB reference's value. */
export interface TeraAlterationArgs {
  /** Fraction of the frames (0–1) whose count sets the number of time spans: `int(fraction·T/width)` (default 0.15). */
  timeAlterFraction?: number;
  /** Frames per time span (default 3 = 1.5 s at a 0.5 s hop). */
  timeAlterWidthFrames?: number;
  /** Fraction of the bins (0–1) whose count sets the number of frequency bands: `int(fraction·F/width)` (default 0.2 → 1 band for F = 26). */
  freqAlterFraction?: number;
  /** Bins per frequency band (default 3 = 3 Hz with 1 Hz bins). */
  freqAlterWidthBins?: number;
  /** Probability (0–1) that a window gets the frequency mask (default 0.9). */
  freqAlterProbability?: number;
  /** Probability (0–1) of the zero-mask time branch (default 0.8). */
  zeroProbability?: number;
  /** Probability (0–1) of the copy ("swap") time branch (default 0.1). */
  copyProbability?: number;
  /** Probability (0–1) of no time alteration (default 0.1); the three must sum to 1. */
  untouchedProbability?: number;
  /** Frequency bins per channel F (default 26: the 1 Hz bins of a 50-sample STFT); features = channels × bins. */
  bins?: number;
}

/** The reference's values (SelfPAB upstream config and `liu_et_al_mask_swap`). */
export const TERA_DEFAULTS: Readonly<Required<TeraAlterationArgs>> = {
  timeAlterFraction: 0.15,
  timeAlterWidthFrames: 3,
  freqAlterFraction: 0.2,
  freqAlterWidthBins: 3,
  freqAlterProbability: 0.9,
  zeroProbability: 0.8,
  copyProbability: 0.1,
  untouchedProbability: 0.1,
  bins: 26,
};

/** Which time alteration a window got. */
export type TeraTimeBranch = "zero" | "copy" | "untouched";

/** What was done to one window (for tests, plots and the notebook). */
export interface TeraAlteration {
  /** Time branch drawn for the window. */
  branch: TeraTimeBranch;
  /** Span starts (frames): zeroed spans (zero branch) or destination spans (copy branch); empty when untouched. */
  timeStarts: number[];
  /** Copy branch: source span starts (frames), paired with `timeStarts`; else empty. */
  sourceStarts: number[];
  /** Start bins of the zeroed frequency bands; empty when the frequency mask did not fire. */
  freqStarts: number[];
  /** Frames that were altered (valid frames only). */
  validFrames: number;
}

/** A batch of frame windows: `data` row-major `[n, frames, features]` (a HostTensor). */
export interface TeraWindows {
  /** Row-major values `[n, frames, features]`, features channel-major (`c·bins + f`). */
  data: Float32Array;
  /** `[n, frames, features]`. */
  shape: number[];
}

/** Result of {@link teraBatch}: HostTensors `[n, frames, features]` (usable as a fit batch). */
export interface TeraBatch {
  /** Altered windows: the model's input. */
  input: TeraWindows;
  /** Clean windows (a copy of the input windows): the reconstruction target. */
  target: TeraWindows;
  /** Loss mask, 1 on altered elements, 0 elsewhere (and on padding frames). */
  mask: TeraWindows;
  /** What was done to each window. */
  alterations: TeraAlteration[];
}

/** Arguments of {@link teraBatch}. */
export interface TeraBatchArgs extends TeraAlterationArgs {
  /** Seed of the draws (default 0); ignored when `rng` is given. */
  seed?: number;
  /** A random stream to draw from (continues across calls); default `rng(seed)`. */
  rng?: Rng;
  /**
   * Valid (non-padding) frames per window, `n` values in `[0, frames]`
   * (default: every frame valid). Frames at and after it are padding: never
   * altered, never in the mask.
   */
  validFrames?: ArrayLike<number>;
}

type Resolved = Required<TeraAlterationArgs>;

function checkFraction(name: string, v: number): void {
  if (typeof v !== "number" || !(v >= 0 && v <= 1)) {
    throw new ConfigError(`tera ${name}: must be a number in [0, 1], got ${v}`);
  }
}

function checkCount(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) {
    throw new ConfigError(`tera ${name}: must be an integer >= 1, got ${v}`);
  }
}

/**
 * The alteration arguments with the reference's defaults filled in, checked.
 *
 * @throws ConfigError naming the field on a bad value, or when the branch probabilities do not sum to 1
 */
export function resolveTeraArgs(args: TeraAlterationArgs = {}): Resolved {
  const known = Object.keys(TERA_DEFAULTS);
  for (const k of Object.keys(args)) {
    if (!known.includes(k) && !["seed", "rng", "validFrames"].includes(k)) {
      throw new ConfigError(`tera: unknown argument "${k}" (known: ${known.join(", ")})`);
    }
  }
  const a: Resolved = { ...TERA_DEFAULTS };
  for (const k of known as (keyof Resolved)[]) {
    const v = args[k];
    if (v !== undefined) a[k] = v;
  }
  for (
    const k of [
      "timeAlterFraction",
      "freqAlterFraction",
      "freqAlterProbability",
      "zeroProbability",
      "copyProbability",
      "untouchedProbability",
    ] as const
  ) checkFraction(k, a[k]);
  checkCount("timeAlterWidthFrames", a.timeAlterWidthFrames);
  checkCount("freqAlterWidthBins", a.freqAlterWidthBins);
  checkCount("bins", a.bins);
  const sum = a.zeroProbability + a.copyProbability + a.untouchedProbability;
  if (Math.abs(sum - 1) > 1e-9) {
    throw new ConfigError(
      `tera zeroProbability + copyProbability + untouchedProbability: must sum to 1, got ${a.zeroProbability} + ${a.copyProbability} + ${a.untouchedProbability} = ${sum}`,
    );
  }
  return a;
}

/**
 * `k` distinct integers from `[0, n)` in random order (Python
 * `random.sample(range(n), k)`; a partial Fisher–Yates shuffle).
 */
function sampleWithoutReplacement(n: number, k: number, r: Rng, what: string): number[] {
  if (k > n) {
    throw new ConfigError(
      `tera: cannot draw ${k} ${what} starts without replacement from ${n} positions (sequence too short for the fraction and width)`,
    );
  }
  if (k <= 0) return [];
  const pool = new Int32Array(n);
  for (let i = 0; i < n; i++) pool[i] = i;
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    const j = i + r.int(n - i);
    const t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
    out.push(pool[i]);
  }
  return out;
}

/** Starts count `int(fraction·(length/width))`, as the reference computes it. */
function spanCount(fraction: number, length: number, width: number): number {
  return Math.trunc(fraction * (length / width));
}

/**
 * Alter one window in place-free fashion: writes the altered window to
 * `input` and the loss mask to `mask` (both `[frames·features]`, the
 * window's own slots), reading the clean window from `x`.
 */
function alterInto(
  x: Float32Array,
  input: Float32Array,
  mask: Float32Array,
  frames: number,
  features: number,
  valid: number,
  a: Resolved,
  r: Rng,
): TeraAlteration {
  const F = a.bins, C = features / F;
  input.set(x);
  mask.fill(0);
  const keepT = new Uint8Array(frames).fill(1);
  const keepF = new Uint8Array(F).fill(1);
  const wt = a.timeAlterWidthFrames, wf = a.freqAlterWidthBins;
  const info: TeraAlteration = {
    branch: "untouched",
    timeStarts: [],
    sourceStarts: [],
    freqStarts: [],
    validFrames: valid,
  };
  const v = r.next();
  const nT = spanCount(a.timeAlterFraction, valid, wt);
  const rangeT = Math.max(0, valid - wt);
  if (v < a.zeroProbability) {
    info.branch = "zero";
    info.timeStarts = sampleWithoutReplacement(rangeT, nT, r, "time");
    for (const s of info.timeStarts) for (let t = s; t < s + wt; t++) keepT[t] = 0;
    for (let t = 0; t < valid; t++) {
      if (!keepT[t]) input.fill(0, t * features, (t + 1) * features);
    }
  } else if (v < a.zeroProbability + a.copyProbability) {
    info.branch = "copy";
    info.sourceStarts = sampleWithoutReplacement(rangeT, nT, r, "time");
    info.timeStarts = sampleWithoutReplacement(rangeT, nT, r, "time");
    // x[idx_dst] = x[idx_src]: sources read from the clean window, later writes win
    for (let i = 0; i < nT; i++) {
      for (let j = 0; j < wt; j++) {
        const src = info.sourceStarts[i] + j, dst = info.timeStarts[i] + j;
        input.set(x.subarray(src * features, (src + 1) * features), dst * features);
        keepT[dst] = 0;
      }
    }
  }
  if (valid > 0 && r.next() < a.freqAlterProbability) {
    const nF = spanCount(a.freqAlterFraction, F, wf);
    info.freqStarts = sampleWithoutReplacement(Math.max(0, F - wf), nF, r, "frequency");
    for (const s of info.freqStarts) for (let f = s; f < s + wf; f++) keepF[f] = 0;
    for (let t = 0; t < valid; t++) {
      const row = t * features;
      for (let c = 0; c < C; c++) {
        for (let f = 0; f < F; f++) if (!keepF[f]) input[row + c * F + f] = 0;
      }
    }
  }
  for (let t = 0; t < valid; t++) {
    const row = t * features;
    for (let c = 0; c < C; c++) {
      for (let f = 0; f < F; f++) mask[row + c * F + f] = keepT[t] && keepF[f] ? 0 : 1;
    }
  }
  return info;
}

function checkWindows(where: string, w: TeraWindows, bins: number): [number, number, number] {
  if (!w || !(w.data instanceof Float32Array) || !Array.isArray(w.shape) || w.shape.length !== 3) {
    throw new ConfigError(
      `${where} windows: expected { data: Float32Array, shape: [n, frames, features] }`,
    );
  }
  const [n, frames, features] = w.shape;
  if (![n, frames, features].every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ConfigError(`${where} windows: bad shape [${w.shape}]`);
  }
  if (w.data.length !== n * frames * features) {
    throw new ConfigError(
      `${where} windows: ${w.data.length} values for shape [${w.shape}] (${
        n * frames * features
      } expected)`,
    );
  }
  if (features % bins !== 0) {
    throw new ConfigError(
      `${where} windows: ${features} features per frame is not a multiple of bins ${bins} (channel-major channels × bins)`,
    );
  }
  return [n, frames, features];
}

function validOf(where: string, n: number, frames: number, validFrames?: ArrayLike<number>) {
  if (validFrames === undefined) return () => frames;
  if (validFrames.length !== n) {
    throw new ConfigError(
      `${where} validFrames: ${validFrames.length} values for ${n} windows`,
    );
  }
  for (let i = 0; i < n; i++) {
    const v = validFrames[i];
    if (!Number.isInteger(v) || v < 0 || v > frames) {
      throw new ConfigError(
        `${where} validFrames[${i}]: must be an integer in [0, ${frames}], got ${v}`,
      );
    }
  }
  return (i: number) => validFrames[i];
}

/**
 * Alter one window `[frames, features]` (row-major, channel-major features):
 * the altered copy, the loss mask and what was drawn. `x` is not changed.
 *
 * @param x Clean normalised window, `frames·features` values.
 * @param frames Frames T of the window.
 * @param r Random stream (one `v`, the span starts, the band draw, in the reference's order).
 * @param args Alteration arguments (defaults: the reference's).
 * @param validFrames Non-padding frames (default `frames`).
 * @example
 * ```ts
 * const { input, mask, alteration } = teraAlter(window, 599, rng(1));
 * ```
 * @throws ConfigError on bad arguments or a window whose size is not frames × (channels · bins)
 */
export function teraAlter(
  x: Float32Array,
  frames: number,
  r: Rng,
  args: TeraAlterationArgs = {},
  validFrames = frames,
): { input: Float32Array; mask: Float32Array; alteration: TeraAlteration } {
  const a = resolveTeraArgs(args);
  if (!Number.isInteger(frames) || frames < 0 || x.length % Math.max(frames, 1) !== 0) {
    throw new ConfigError(
      `teraAlter: ${x.length} values are not frames ${frames} × features`,
    );
  }
  const features = frames === 0 ? 0 : x.length / frames;
  checkWindows("teraAlter", { data: x, shape: [1, frames, features] }, a.bins);
  const valid = validOf("teraAlter", 1, frames, [validFrames])(0);
  const input = new Float32Array(x.length), mask = new Float32Array(x.length);
  const alteration = alterInto(x, input, mask, frames, features, valid, a, r);
  return { input, mask, alteration };
}

/**
 * Alter a batch of windows `[n, frames, features]` (see the module doc):
 * `{ input, target, mask }` as HostTensors of the same shape, plus what was
 * done to each window. Windows are altered independently, in order, from one
 * random stream.
 *
 * @example
 * ```ts
 * const b = teraBatch({ data, shape: [64, 599, 156] }, { seed: 3 });
 * maskedL1Loss()([tf.tensor(b.target.data, b.target.shape), tf.tensor(b.mask.data, b.mask.shape)],
 *   [model.apply(tf.tensor(b.input.data, b.input.shape))]);
 * ```
 * @throws ConfigError on bad arguments, a bad shape or bad `validFrames`
 */
export function teraBatch(windows: TeraWindows, args: TeraBatchArgs = {}): TeraBatch {
  const a = resolveTeraArgs(args);
  const [n, frames, features] = checkWindows("teraBatch", windows, a.bins);
  const valid = validOf("teraBatch", n, frames, args.validFrames);
  const r = args.rng ?? makeRng(args.seed ?? 0);
  const size = frames * features;
  const target = windows.data.slice();
  const input = new Float32Array(target.length), mask = new Float32Array(target.length);
  const alterations: TeraAlteration[] = [];
  for (let i = 0; i < n; i++) {
    const o = i * size;
    alterations.push(
      alterInto(
        target.subarray(o, o + size),
        input.subarray(o, o + size),
        mask.subarray(o, o + size),
        frames,
        features,
        valid(i),
        a,
        r,
      ),
    );
  }
  const shape = [n, frames, features];
  return {
    input: { data: input, shape: shape.slice() },
    target: { data: target, shape: shape.slice() },
    mask: { data: mask, shape: shape.slice() },
    alterations,
  };
}

/** The trivial predictors of {@link trivialMaskedL1}. */
export type TrivialPredictor = "mean" | "interpolate";

/** Options of {@link trivialMaskedL1}. */
export interface TrivialMaskedL1Args {
  /** Valid (non-padding) frames per window (default: all); padding frames are never interpolation anchors. */
  validFrames?: ArrayLike<number>;
}

/**
 * The prediction of a trivial predictor for one window, `[frames·features]`:
 * `"mean"` predicts 0 everywhere (the normalisation mean); `"interpolate"`
 * keeps the input on frames that were not time-altered (frequency-masked
 * bins there are the input's 0) and fills each time-altered frame (a frame
 * whose mask is 1 on every feature) per feature by linear interpolation in
 * time between the nearest unaltered frames before and after it (the
 * nearest one's value at the window edges; 0 when no frame is unaltered).
 */
function trivialPrediction(
  target: Float32Array,
  mask: Float32Array,
  frames: number,
  features: number,
  valid: number,
  mode: TrivialPredictor,
): Float32Array {
  const pred = new Float32Array(frames * features);
  if (mode === "mean") return pred;
  const timeAltered = new Uint8Array(frames);
  for (let t = 0; t < valid; t++) {
    let all = features > 0;
    for (let d = 0; d < features && all; d++) all = mask[t * features + d] === 1;
    timeAltered[t] = all ? 1 : 0;
  }
  // the input on unaltered frames: the target except frequency-masked elements (0)
  for (let t = 0; t < valid; t++) {
    if (timeAltered[t]) continue;
    for (let d = 0; d < features; d++) {
      const i = t * features + d;
      pred[i] = mask[i] === 1 ? 0 : target[i];
    }
  }
  let prev = -1;
  for (let t = 0; t < valid; t++) {
    if (!timeAltered[t]) {
      prev = t;
      continue;
    }
    let next = t + 1;
    while (next < valid && timeAltered[next]) next++;
    if (next >= valid) next = -1;
    for (let u = t; u < (next < 0 ? valid : next); u++) {
      for (let d = 0; d < features; d++) {
        const a = prev >= 0 ? pred[prev * features + d] : NaN;
        const b = next >= 0 ? pred[next * features + d] : NaN;
        let v: number;
        if (prev >= 0 && next >= 0) v = a + (b - a) * (u - prev) / (next - prev);
        else if (prev >= 0) v = a;
        else if (next >= 0) v = b;
        else v = 0;
        pred[u * features + d] = v;
      }
    }
    t = (next < 0 ? valid : next) - 1;
  }
  return pred;
}

/**
 * Masked L1 (SelfPAB's `maskedL1`: per window `Σ M·|ŷ − y| / max(Σ M, 1)`,
 * then the mean over windows) of a trivial predictor (spec §7.0): `"mean"`
 * predicts 0 (the normalisation mean: on Daphnet windows, HUNT4-normalised,
 * 1.48); `"interpolate"` linearly interpolates each feature over the
 * time-altered frames from the unaltered neighbours, frequency-masked bins
 * left at 0 (1.26 on Daphnet). A trained model must beat both.
 *
 * @param windows Clean targets `[n, frames, features]` (e.g. {@link TeraBatch}.target).
 * @param masks Loss masks of the same shape ({@link TeraBatch}.mask).
 * @param mode Which trivial predictor.
 * @example
 * ```ts
 * const b = teraBatch(windows, { seed: 0 });
 * trivialMaskedL1(b.target, b.mask, "interpolate"); // ≈ 1.26 on Daphnet
 * ```
 * @throws ConfigError on mismatched shapes or an unknown mode
 */
export function trivialMaskedL1(
  windows: TeraWindows,
  masks: TeraWindows,
  mode: TrivialPredictor,
  args: TrivialMaskedL1Args = {},
): number {
  if (mode !== "mean" && mode !== "interpolate") {
    throw new ConfigError(`trivialMaskedL1 mode: expected "mean" or "interpolate", got "${mode}"`);
  }
  const [n, frames, features] = checkWindows("trivialMaskedL1", windows, 1);
  if (
    !masks || masks.shape?.join() !== windows.shape.join() ||
    masks.data?.length !== windows.data.length
  ) {
    throw new ConfigError(
      `trivialMaskedL1 masks: shape [${masks?.shape}] does not match the windows [${windows.shape}]`,
    );
  }
  const valid = validOf("trivialMaskedL1", n, frames, args.validFrames);
  const size = frames * features;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const y = windows.data.subarray(i * size, (i + 1) * size);
    const m = masks.data.subarray(i * size, (i + 1) * size);
    const p = trivialPrediction(y, m, frames, features, valid(i), mode);
    let num = 0, den = 0;
    for (let j = 0; j < size; j++) {
      if (m[j] !== 0) {
        num += m[j] * Math.abs(p[j] - y[j]);
        den += m[j];
      }
    }
    total += num / (den === 0 ? 1 : den);
  }
  return n === 0 ? 0 : total / n;
}
