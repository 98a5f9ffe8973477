/**
 * The library's one short-time Fourier transform: framed, windowed, one-sided
 * DFT magnitudes (or powers) of a single channel, equal to
 * `torch.stft(x, n_fft, hop_length, win_length=n_fft, window, center=False,
 * onesided=True, normalized=False).abs()`. SelfPAB's spectrogram features
 * (`spectrogram.ts`: n_fft 50, hop 25, periodic Hann) and the Multi-ResNet
 * spectral branch (n_fft 32, hop 8) both call it.
 *
 * - Frames start every `hop` samples; frame `t` holds samples
 *   `t·hop … t·hop + nFft − 1`. No padding (`center: false`): an incomplete
 *   tail is dropped, so `T = 1 + ⌊(S − nFft)/hop⌋` frames (0 when S < nFft).
 * - `nFft/2 + 1` bins (⌊nFft/2⌋ + 1 for odd nFft); bin `f` is at `f·rate/nFft` Hz.
 * - Magnitude `sqrt(re² + im²)` (`power: 1`, default) or `re² + im²` (`power: 2`);
 *   no log, no scaling.
 * - Arithmetic in float64, output float32. Small `nFft` (≤ 64) uses a direct
 *   DFT against fixed cos/sin bases with the window folded in (exact, about
 *   2.6 k multiply-adds per 50-sample frame); larger ones use `fft.ts`.
 *
 * @example
 * const x = new Float32Array(15000).fill(1);            // 5 min of a constant 1 g at 50 Hz
 * const s = stft(x, { nFft: 50, hop: 25 });             // periodic Hann by default
 * s.frames; // 599
 * s.bins;   // 26
 * s.data[0]; // 25 (bin 0 of frame 0); s.data[1] = 12.5; s.data[2..25] = 0
 */
import { ConfigError } from "../errors.ts";
import { fft } from "./fft.ts";

/** Analysis window: the periodic Hann `0.5 − 0.5·cos(2πn/N)` (torch.hann_window) or explicit weights. */
export type StftWindow = "hann-periodic" | "rectangular" | Float64Array;

/** Arguments of {@link stft}. All lengths are in samples. */
export interface StftArgs {
  /** Frame (and DFT) length in samples, ≥ 2 (SelfPAB: 50 = 1 s at 50 Hz). */
  nFft: number;
  /** Frame advance in samples, ≥ 1 (SelfPAB: 25 = 0.5 s at 50 Hz). */
  hop: number;
  /** Window applied to each frame (default `"hann-periodic"`); an array must have `nFft` weights. */
  window?: StftWindow;
  /** Only `false` (no padding, tail dropped) is implemented; torch's default `center=True` is not. */
  center?: false;
  /** 1: magnitude |X| (default); 2: power |X|². */
  power?: 1 | 2;
  /** `"dft"` (fixed bases), `"fft"` (fft.ts) or `"auto"` (default: dft for nFft ≤ 64). Same numbers either way. */
  method?: "auto" | "dft" | "fft";
}

/** An STFT result: row-major `[frames][bins]` float32. */
export interface Spectrogram {
  /** Values, `data[t * bins + f]`. */
  data: Float32Array;
  /** Number of frames T. */
  frames: number;
  /** Number of one-sided bins, ⌊nFft/2⌋ + 1. */
  bins: number;
}

/**
 * Frames of a `center: false` STFT: `1 + ⌊(samples − nFft)/hop⌋`, or 0 when
 * `samples < nFft`.
 *
 * @example
 * stftFrameCount(15000, 50, 25); // 599
 * stftFrameCount(49, 50, 25);    // 0
 */
export function stftFrameCount(samples: number, nFft: number, hop: number): number {
  return samples < nFft ? 0 : 1 + Math.floor((samples - nFft) / hop);
}

/** Number of one-sided bins of an `nFft`-point DFT: ⌊nFft/2⌋ + 1. */
export function stftBins(nFft: number): number {
  return Math.floor(nFft / 2) + 1;
}

/**
 * The periodic Hann window of length n, `w[k] = 0.5 − 0.5·cos(2πk/n)`
 * (= `torch.hann_window(n)`; = `tf.signal.hannWindow(n)` for even n).
 */
export function hannPeriodic(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let k = 0; k < n; k++) w[k] = 0.5 - 0.5 * Math.cos((2 * Math.PI * k) / n);
  return w;
}

interface DftPlan {
  /** `[bins][nFft]` window × cos. */
  cos: Float64Array;
  /** `[bins][nFft]` window × sin. */
  sin: Float64Array;
}

/** Checked window weights for `args`. */
function windowOf(args: StftArgs): Float64Array {
  const w = args.window ?? "hann-periodic";
  if (w === "hann-periodic") return hannPeriodic(args.nFft);
  if (w === "rectangular") return new Float64Array(args.nFft).fill(1);
  if (!(w instanceof Float64Array)) {
    throw new ConfigError(
      `stft: window must be "hann-periodic", "rectangular" or a Float64Array, got ${String(w)}`,
    );
  }
  if (w.length !== args.nFft) {
    throw new ConfigError(`stft: window has ${w.length} weights, nFft is ${args.nFft}`);
  }
  for (let i = 0; i < w.length; i++) {
    if (!Number.isFinite(w[i])) throw new ConfigError(`stft: window[${i}] is ${w[i]}`);
  }
  return w;
}

const dftPlans = new Map<string, DftPlan>();

function dftPlan(nFft: number, win: Float64Array, key: string | null): DftPlan {
  const cached = key === null ? undefined : dftPlans.get(key);
  if (cached) return cached;
  const bins = stftBins(nFft);
  const cos = new Float64Array(bins * nFft), sin = new Float64Array(bins * nFft);
  for (let f = 0; f < bins; f++) {
    for (let n = 0; n < nFft; n++) {
      // (f·n) mod nFft keeps the angle exact for large products
      const ang = (2 * Math.PI * ((f * n) % nFft)) / nFft;
      cos[f * nFft + n] = win[n] * Math.cos(ang);
      sin[f * nFft + n] = win[n] * Math.sin(ang);
    }
  }
  const plan = { cos, sin };
  if (key !== null) dftPlans.set(key, plan);
  return plan;
}

/** Validate `args`; returns the window weights. */
function checkArgs(args: StftArgs): Float64Array {
  const { nFft, hop } = args;
  if (!Number.isSafeInteger(nFft) || nFft < 2) {
    throw new ConfigError(`stft: nFft must be an integer >= 2 (samples), got ${nFft}`);
  }
  if (!Number.isSafeInteger(hop) || hop < 1) {
    throw new ConfigError(`stft: hop must be an integer >= 1 (samples), got ${hop}`);
  }
  if (args.center !== undefined && args.center !== false) {
    throw new ConfigError(
      "stft: only center: false is implemented (no padding; pad the signal yourself)",
    );
  }
  if (args.power !== undefined && args.power !== 1 && args.power !== 2) {
    throw new ConfigError(`stft: power must be 1 (magnitude) or 2 (power), got ${args.power}`);
  }
  const m = args.method ?? "auto";
  if (m !== "auto" && m !== "dft" && m !== "fft") {
    throw new ConfigError(`stft: method must be "auto", "dft" or "fft", got "${m}"`);
  }
  return windowOf(args);
}

/**
 * {@link stft} written into a caller's buffer: frame `t`, bin `f` goes to
 * `out[offset + t·rowStride + f]`. `spectrogram.ts` uses it to lay several
 * channels side by side (channel-major features) without copies.
 *
 * @returns the number of frames written
 * @throws ConfigError on bad arguments or a buffer too small
 */
export function stftInto(
  x: ArrayLike<number>,
  args: StftArgs,
  out: Float32Array,
  rowStride: number,
  offset = 0,
): number {
  const win = checkArgs(args);
  const { nFft, hop } = args;
  const bins = stftBins(nFft);
  const T = stftFrameCount(x.length, nFft, hop);
  if (T === 0) return 0;
  if (rowStride < bins || offset < 0 || offset + (T - 1) * rowStride + bins > out.length) {
    throw new ConfigError(
      `stftInto: buffer of ${out.length} values too small for ${T} frames × ${bins} bins ` +
        `(row stride ${rowStride}, offset ${offset})`,
    );
  }
  const power = args.power ?? 1;
  const method = args.method ?? "auto";
  const useDft = method === "dft" || (method === "auto" && nFft <= 64);
  if (useDft) {
    const key = typeof args.window === "string" || args.window === undefined
      ? `${nFft}:${args.window ?? "hann-periodic"}`
      : null;
    const { cos, sin } = dftPlan(nFft, win, key);
    const frame = new Float64Array(nFft);
    for (let t = 0; t < T; t++) {
      const s0 = t * hop;
      for (let n = 0; n < nFft; n++) frame[n] = x[s0 + n];
      const o = offset + t * rowStride;
      for (let f = 0; f < bins; f++) {
        let re = 0, im = 0;
        const b = f * nFft;
        for (let n = 0; n < nFft; n++) {
          const v = frame[n];
          re += v * cos[b + n];
          im += v * sin[b + n];
        }
        const p = re * re + im * im;
        out[o + f] = power === 2 ? p : Math.sqrt(p);
      }
    }
  } else {
    const re = new Float64Array(nFft), im = new Float64Array(nFft);
    for (let t = 0; t < T; t++) {
      const s0 = t * hop;
      for (let n = 0; n < nFft; n++) re[n] = x[s0 + n] * win[n];
      im.fill(0);
      fft(re, im);
      const o = offset + t * rowStride;
      for (let f = 0; f < bins; f++) {
        const p = re[f] * re[f] + im[f] * im[f];
        out[o + f] = power === 2 ? p : Math.sqrt(p);
      }
    }
  }
  return T;
}

/**
 * Short-time Fourier transform magnitudes (or powers) of one channel, as
 * `torch.stft(..., center=False).abs()` (see the module docs).
 *
 * @param x one channel's samples
 * @param args frame length, hop, window, power
 * @returns `[frames][bins]` float32, frames = {@link stftFrameCount}
 * @throws ConfigError on bad arguments (nFft < 2, hop < 1, window length ≠ nFft, center: true)
 *
 * @example
 * const t = Float64Array.from({ length: 100 }, (_, i) => Math.cos(2 * Math.PI * 5 * i / 50));
 * const s = stft(t, { nFft: 50, hop: 25 }); // 3 frames; bin 5 = 12.5, bins 4 and 6 = 6.25
 */
export function stft(
  x: Float32Array | Float64Array | ArrayLike<number>,
  args: StftArgs,
): Spectrogram {
  checkArgs(args);
  const bins = stftBins(args.nFft);
  const frames = stftFrameCount(x.length, args.nFft, args.hop);
  const data = new Float32Array(frames * bins);
  stftInto(x, args, data, bins, 0);
  return { data, frames, bins };
}
