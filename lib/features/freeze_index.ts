/**
 * The classic freeze index for freezing-of-gait detection (Moore et al.
 * 2008; Bächlin et al. 2010 on Daphnet): the power in the "freeze" band
 * (3-8 Hz) over the power in the "locomotor" band (0.5-3 Hz) of a sliding
 * window of one acceleration channel or the vector magnitude. During a
 * freeze the leg trembles at 3-8 Hz while the 0.5-3 Hz stepping rhythm
 * fades, so the ratio rises.
 *
 * Choices made here (all configurable in {@link FreezeIndexArgs}):
 * - windows of `windowSec` = 4 s (Bächlin: 256 samples at 64 Hz), one every
 *   `stepSec` = 0.5 s, starting at sample 0; a window holds
 *   `round(windowSec * rateHz)` samples;
 * - each window's mean is removed (`detrend: "mean"`; the mean only lands in
 *   bin 0, so this matters only for a band reaching 0 Hz), no taper
 *   (`taper: "none"`), DFT of the window length (no zero padding), power
 *   `|X_k|²` of the one-sided bins `f_k = k * rateHz / n`;
 * - a band `[lo, hi]` sums the bins with `lo ≤ f_k ≤ hi`, so with 0.25 Hz
 *   bins the 3 Hz bin counts in both bands;
 * - score `ln((P_freeze + ε) / (P_loco + ε))` (`log: true`), ε = 1e-12 g²;
 * - per-sample scores: each sample takes the score of the window whose
 *   centre is nearest (ties to the earlier window).
 *
 * @example
 * const fi = freezeIndex(thighVertical, { rateHz: 50 });        // per window
 * fi.scores.length;                                             // windows
 * const perSample = freezeIndexPerSample(vectorMagnitude(rec.axes), { rateHz: 50 });
 */
import { ConfigError } from "../errors.ts";
import { fft } from "../signal/fft.ts";

/** Options of {@link freezeIndex}. */
export interface FreezeIndexArgs {
  /** Sample rate of the input (Hz). Required. */
  rateHz: number;
  /** Window length (s). Default 4 (Bächlin et al.: 256 samples at 64 Hz). */
  windowSec?: number;
  /** Step between window starts (s). Default 0.5. */
  stepSec?: number;
  /** Freeze band [lo, hi] (Hz), inclusive. Default [3, 8]. */
  freezeBandHz?: [number, number];
  /** Locomotor band [lo, hi] (Hz), inclusive. Default [0.5, 3]. */
  locomotorBandHz?: [number, number];
  /** `"mean"`: subtract each window's mean before the DFT (default); `"none"`. */
  detrend?: "mean" | "none";
  /** `"none"` (default, rectangular) or `"hann"` (periodic Hann taper). */
  taper?: "none" | "hann";
  /** Natural-log ratio (default true); false gives the plain ratio. */
  log?: boolean;
  /** Power floor ε (g²) added to both band powers. Default 1e-12. */
  epsilon?: number;
}

/** Per-window freeze index. */
export interface FreezeIndexResult {
  /** Score per window (log ratio by default). */
  scores: Float64Array;
  /** Start sample of each window. */
  starts: Int32Array;
  /** Window length (samples). */
  windowLength: number;
  /** Step (samples). */
  step: number;
  /** Freeze-band power per window (g², unscaled DFT power). */
  freezePower: Float64Array;
  /** Locomotor-band power per window (g²). */
  locomotorPower: Float64Array;
}

function resolve(args: FreezeIndexArgs) {
  const rate = args.rateHz;
  if (!(rate > 0) || !Number.isFinite(rate)) {
    throw new ConfigError(`freezeIndex: rateHz must be > 0, got ${rate}`);
  }
  const w = Math.round((args.windowSec ?? 4) * rate);
  const step = Math.round((args.stepSec ?? 0.5) * rate);
  if (!(w >= 4)) throw new ConfigError(`freezeIndex: windowSec gives ${w} samples, need ≥ 4`);
  if (!(step >= 1)) throw new ConfigError(`freezeIndex: stepSec gives ${step} samples, need ≥ 1`);
  const fb = args.freezeBandHz ?? [3, 8];
  const lb = args.locomotorBandHz ?? [0.5, 3];
  for (const [name, b] of [["freezeBandHz", fb], ["locomotorBandHz", lb]] as const) {
    if (!(b[0] >= 0 && b[1] > b[0] && b[1] <= rate / 2)) {
      throw new ConfigError(
        `freezeIndex: ${name} must be 0 ≤ lo < hi ≤ Nyquist (${rate / 2} Hz), got [${
          b.join(", ")
        }]`,
      );
    }
  }
  const detrend = args.detrend ?? "mean", taper = args.taper ?? "none";
  if (detrend !== "mean" && detrend !== "none") {
    throw new ConfigError(`freezeIndex: detrend must be "mean" or "none", got "${detrend}"`);
  }
  if (taper !== "none" && taper !== "hann") {
    throw new ConfigError(`freezeIndex: taper must be "none" or "hann", got "${taper}"`);
  }
  return {
    rate,
    w,
    step,
    fb,
    lb,
    detrend,
    taper,
    log: args.log ?? true,
    eps: args.epsilon ?? 1e-12,
  };
}

/**
 * Freeze index of every window of `x` (one channel, or {@link vectorMagnitude}).
 *
 * @throws ConfigError on bad options, fewer samples than one window, or a non-finite sample
 */
export function freezeIndex(x: ArrayLike<number>, args: FreezeIndexArgs): FreezeIndexResult {
  const o = resolve(args);
  const n = x.length;
  if (n < o.w) {
    throw new ConfigError(
      `freezeIndex: ${n} samples is shorter than one ${o.w}-sample window (${o.w / o.rate} s)`,
    );
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(x[i])) {
      throw new ConfigError(`freezeIndex: sample ${i} is ${x[i]}, not finite`);
    }
  }
  const nw = Math.floor((n - o.w) / o.step) + 1;
  const bins = (b: readonly [number, number]): [number, number] => {
    // k with lo ≤ k·rate/w ≤ hi (small slack for rounding)
    const a = Math.ceil((b[0] * o.w) / o.rate - 1e-9);
    const e = Math.floor((b[1] * o.w) / o.rate + 1e-9);
    return [Math.max(0, a), Math.min(Math.floor(o.w / 2), e)];
  };
  const [fa, fe] = bins(o.fb), [la, le] = bins(o.lb);
  const win = new Float64Array(o.w).fill(1);
  if (o.taper === "hann") {
    for (let i = 0; i < o.w; i++) win[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / o.w);
  }
  const scores = new Float64Array(nw), starts = new Int32Array(nw);
  const fp = new Float64Array(nw), lp = new Float64Array(nw);
  const re = new Float64Array(o.w), im = new Float64Array(o.w);
  for (let j = 0; j < nw; j++) {
    const s = j * o.step;
    starts[j] = s;
    let mean = 0;
    if (o.detrend === "mean") {
      for (let i = 0; i < o.w; i++) mean += x[s + i];
      mean /= o.w;
    }
    for (let i = 0; i < o.w; i++) {
      re[i] = (x[s + i] - mean) * win[i];
      im[i] = 0;
    }
    fft(re, im);
    let pf = 0, pl = 0;
    for (let k = fa; k <= fe; k++) pf += re[k] * re[k] + im[k] * im[k];
    for (let k = la; k <= le; k++) pl += re[k] * re[k] + im[k] * im[k];
    fp[j] = pf;
    lp[j] = pl;
    const r = (pf + o.eps) / (pl + o.eps);
    scores[j] = o.log ? Math.log(r) : r;
  }
  return { scores, starts, windowLength: o.w, step: o.step, freezePower: fp, locomotorPower: lp };
}

/**
 * Per-window scores spread to `n` samples: sample i takes the window whose
 * centre `start + w/2` is nearest (ties to the earlier window).
 */
export function windowScoresToSamples(fi: FreezeIndexResult, n: number): Float64Array {
  const out = new Float64Array(n);
  const nw = fi.scores.length;
  for (let i = 0; i < n; i++) {
    // centre_j = j*step + w/2; nearest j, ties down
    const pos = (i - fi.windowLength / 2) / fi.step;
    let j = Math.ceil(pos - 0.5);
    if (j < 0) j = 0;
    if (j > nw - 1) j = nw - 1;
    out[i] = fi.scores[j];
  }
  return out;
}

/** {@link freezeIndex} then {@link windowScoresToSamples}: one score per input sample. */
export function freezeIndexPerSample(x: ArrayLike<number>, args: FreezeIndexArgs): Float64Array {
  return windowScoresToSamples(freezeIndex(x, args), x.length);
}

/** Euclidean norm per sample of several equally long channels (g). */
export function vectorMagnitude(axes: ArrayLike<number>[]): Float64Array {
  const n = axes.length ? axes[0].length : 0;
  const out = new Float64Array(n);
  for (const a of axes) {
    if (a.length !== n) throw new ConfigError("vectorMagnitude: channels have different lengths");
    for (let i = 0; i < n; i++) out[i] += a[i] * a[i];
  }
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(out[i]);
  return out;
}
