/**
 * Welch power spectral density and peak finding with SciPy's semantics
 * (`scipy.signal.welch`, `scipy.signal.find_peaks` without conditions), the
 * two spectral building blocks of ssl-wearables' hand-crafted features.
 *
 * @example
 * const { freqsHz, psd } = welch(x, { rateHz: 30, nperseg: 90, noverlap: 60, average: "median" });
 * const peaks = findPeaks(psd); // indices of local maxima
 */
import { fft } from "../signal/fft.ts";

/** Arguments of {@link welch}; defaults follow `scipy.signal.welch`. */
export interface WelchArgs {
  /** Sampling rate (Hz). */
  rateHz: number;
  /** Segment length (samples); default 256, clipped to the signal length like SciPy. */
  nperseg?: number;
  /** Overlap between segments (samples); default `floor(nperseg / 2)`. */
  noverlap?: number;
  /** Per-segment detrending: `"constant"` (subtract the mean, SciPy's default) or `false`. */
  detrend?: "constant" | false;
  /** How segment periodograms are combined: `"mean"` (default) or `"median"` (bias-corrected). */
  average?: "mean" | "median";
}

/** A one-sided power spectral density. */
export interface Spectrum {
  /** Frequencies (Hz), `k * rateHz / nperseg`, k = 0..⌊nperseg/2⌋. */
  freqsHz: Float64Array;
  /** Power spectral density (signal units² / Hz) per frequency. */
  psd: Float64Array;
}

const hannCache = new Map<number, Float64Array>();

/** Periodic Hann window of `n` samples (SciPy `get_window("hann", n)`). */
export function hann(n: number): Float64Array {
  let w = hannCache.get(n);
  if (!w) {
    w = new Float64Array(n);
    for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
    hannCache.set(n, w);
  }
  return w;
}

/** SciPy's `_median_bias(n)`: the median of n χ²₂ periodograms over its mean. */
export function medianBias(n: number): number {
  let b = 1;
  for (let i = 2; i <= n - 1; i += 2) b += 1 / (i + 1) - 1 / i;
  return b;
}

/**
 * Welch's PSD estimate with a periodic Hann window, density scaling and a
 * one-sided spectrum (SciPy `welch(x, fs, nperseg=…, noverlap=…,
 * detrend=…, average=…)`).
 *
 * @throws RangeError on an empty signal or inconsistent segment arguments.
 */
export function welch(x: ArrayLike<number>, args: WelchArgs): Spectrum {
  const n = x.length;
  if (n === 0) throw new RangeError("welch: empty signal");
  let nperseg = args.nperseg ?? 256;
  if (nperseg > n) nperseg = n;
  const noverlap = args.noverlap ?? Math.floor(nperseg / 2);
  if (!(noverlap >= 0 && noverlap < nperseg)) {
    throw new RangeError(`welch: noverlap ${noverlap} must be in [0, nperseg=${nperseg})`);
  }
  const step = nperseg - noverlap;
  const nseg = Math.floor((n - nperseg) / step) + 1;
  const nfreq = Math.floor(nperseg / 2) + 1;
  const win = hann(nperseg);
  let s2 = 0;
  for (let i = 0; i < nperseg; i++) s2 += win[i] * win[i];
  const scale = 1 / (args.rateHz * s2);
  const detrend = args.detrend ?? "constant";
  const seg = new Float64Array(nseg * nfreq);
  const re = new Float64Array(nperseg), im = new Float64Array(nperseg);
  for (let s = 0; s < nseg; s++) {
    const off = s * step;
    let mean = 0;
    if (detrend === "constant") {
      for (let i = 0; i < nperseg; i++) mean += x[off + i];
      mean /= nperseg;
    }
    for (let i = 0; i < nperseg; i++) {
      re[i] = (x[off + i] - mean) * win[i];
      im[i] = 0;
    }
    fft(re, im);
    for (let k = 0; k < nfreq; k++) {
      let p = (re[k] * re[k] + im[k] * im[k]) * scale;
      const nyquist = nperseg % 2 === 0 && k === nfreq - 1;
      if (k !== 0 && !nyquist) p *= 2;
      seg[s * nfreq + k] = p;
    }
  }
  const psd = new Float64Array(nfreq);
  if ((args.average ?? "mean") === "median") {
    const col = new Float64Array(nseg);
    const bias = medianBias(nseg);
    for (let k = 0; k < nfreq; k++) {
      for (let s = 0; s < nseg; s++) col[s] = seg[s * nfreq + k];
      col.sort();
      const med = nseg % 2 ? col[(nseg - 1) / 2] : 0.5 * (col[nseg / 2 - 1] + col[nseg / 2]);
      psd[k] = med / bias;
    }
  } else {
    for (let k = 0; k < nfreq; k++) {
      let sum = 0;
      for (let s = 0; s < nseg; s++) sum += seg[s * nfreq + k];
      psd[k] = sum / nseg;
    }
  }
  const freqsHz = new Float64Array(nfreq);
  for (let k = 0; k < nfreq; k++) freqsHz[k] = (k * args.rateHz) / nperseg;
  return { freqsHz, psd };
}

/**
 * Indices of local maxima (SciPy `find_peaks(x)` with no conditions): a
 * sample higher than its left neighbour and, after any flat plateau, higher
 * than the next different sample; a plateau reports its middle (rounded
 * down). The first and last samples are never peaks.
 *
 * @example
 * findPeaks([0, 2, 1, 3, 3, 3, 0]); // [1, 4]
 */
export function findPeaks(x: ArrayLike<number>): number[] {
  const peaks: number[] = [];
  const iMax = x.length - 1;
  let i = 1;
  while (i < iMax) {
    if (x[i - 1] < x[i]) {
      let ahead = i + 1;
      while (ahead < iMax && x[ahead] === x[i]) ahead++;
      if (x[ahead] < x[i]) {
        peaks.push((i + ahead - 1) >> 1);
        i = ahead;
      }
    }
    i++;
  }
  return peaks;
}
