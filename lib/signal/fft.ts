/**
 * A small, dependency-free FFT for any length: iterative radix-2 for powers
 * of two, Bluestein's chirp-z algorithm otherwise (so a 90-sample Welch
 * segment or a 300-sample window costs O(n log n), not O(n²)). Plans
 * (twiddles, chirps) are cached per length. Used by Fourier resampling and
 * the spectral features. The inverse follows numpy's `ifft` (includes 1/N).
 *
 * @example
 * const re = Float64Array.from([1, 0, -1, 0]), im = new Float64Array(4);
 * fft(re, im); // in place: re = [0, 2, 0, 2], im = [0, 0, 0, 0]
 * fft(re, im, true); // back to [1, 0, -1, 0]
 * powerSpectrum(Float64Array.from([0, 1, 0, -1])); // |X_k|² for k = 0..n/2: [0, 4, 0]
 */

interface Radix2Plan {
  n: number;
  cos: Float64Array;
  sin: Float64Array;
  rev: Uint32Array;
}

interface BluesteinPlan {
  n: number;
  m: number;
  /** exp(-iπk²/n), k < n. */
  wRe: Float64Array;
  wIm: Float64Array;
  /** FFT of the conjugate chirp, length m. */
  bRe: Float64Array;
  bIm: Float64Array;
  aRe: Float64Array;
  aIm: Float64Array;
}

const radix2Plans = new Map<number, Radix2Plan>();
const bluesteinPlans = new Map<number, BluesteinPlan>();

function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

function radix2Plan(n: number): Radix2Plan {
  let p = radix2Plans.get(n);
  if (p) return p;
  const cos = new Float64Array(n / 2), sin = new Float64Array(n / 2);
  for (let k = 0; k < n / 2; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n);
    sin[k] = -Math.sin((2 * Math.PI * k) / n);
  }
  const rev = new Uint32Array(n);
  const bits = Math.log2(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >>> b) & 1) << (bits - 1 - b);
    rev[i] = r >>> 0;
  }
  p = { n, cos, sin, rev };
  radix2Plans.set(n, p);
  return p;
}

function fftRadix2(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  if (n <= 1) return;
  const { cos, sin, rev } = radix2Plan(n);
  for (let i = 0; i < n; i++) {
    const j = rev[i];
    if (j > i) {
      let t = re[i];
      re[i] = re[j];
      re[j] = t;
      t = im[i];
      im[i] = im[j];
      im[j] = t;
    }
  }
  const sgn = inverse ? -1 : 1;
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >>> 1, step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * step], wi = sgn * sin[k * step];
        const a = start + k, b = a + half;
        const tr = re[b] * wr - im[b] * wi;
        const ti = re[b] * wi + im[b] * wr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
      }
    }
  }
}

function bluesteinPlan(n: number): BluesteinPlan {
  let p = bluesteinPlans.get(n);
  if (p) return p;
  let m = 1;
  while (m < 2 * n - 1) m <<= 1;
  const wRe = new Float64Array(n), wIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    // k² mod 2n keeps the angle small and exact for large k.
    const k2 = (k * k) % (2 * n);
    const ang = (Math.PI * k2) / n;
    wRe[k] = Math.cos(ang);
    wIm[k] = -Math.sin(ang);
  }
  const bRe = new Float64Array(m), bIm = new Float64Array(m);
  bRe[0] = wRe[0];
  bIm[0] = -wIm[0];
  for (let k = 1; k < n; k++) {
    bRe[k] = bRe[m - k] = wRe[k];
    bIm[k] = bIm[m - k] = -wIm[k];
  }
  fftRadix2(bRe, bIm, false);
  p = { n, m, wRe, wIm, bRe, bIm, aRe: new Float64Array(m), aIm: new Float64Array(m) };
  bluesteinPlans.set(n, p);
  return p;
}

function fftBluestein(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  const { m, wRe, wIm, bRe, bIm, aRe, aIm } = bluesteinPlan(n);
  if (inverse) { for (let k = 0; k < n; k++) im[k] = -im[k]; }
  aRe.fill(0);
  aIm.fill(0);
  for (let k = 0; k < n; k++) {
    aRe[k] = re[k] * wRe[k] - im[k] * wIm[k];
    aIm[k] = re[k] * wIm[k] + im[k] * wRe[k];
  }
  fftRadix2(aRe, aIm, false);
  for (let k = 0; k < m; k++) {
    const r = aRe[k] * bRe[k] - aIm[k] * bIm[k];
    const i = aRe[k] * bIm[k] + aIm[k] * bRe[k];
    aRe[k] = r;
    aIm[k] = i;
  }
  fftRadix2(aRe, aIm, true);
  for (let k = 0; k < n; k++) {
    const cr = aRe[k] / m, ci = aIm[k] / m;
    re[k] = cr * wRe[k] - ci * wIm[k];
    im[k] = cr * wIm[k] + ci * wRe[k];
  }
  if (inverse) { for (let k = 0; k < n; k++) im[k] = -im[k]; }
}

/**
 * In-place discrete Fourier transform X_k = Σ x_j e^{-2πijk/n} of any length
 * (`inverse`: (1/n) Σ X_k e^{+2πijk/n}, numpy's `ifft`).
 *
 * @param re real parts (overwritten with the result)
 * @param im imaginary parts, same length (overwritten)
 */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  if (re.length !== im.length) {
    throw new RangeError(`fft: re has ${re.length} values but im has ${im.length}`);
  }
  if (re.length <= 1) return;
  const n = re.length;
  if (isPow2(n)) fftRadix2(re, im, inverse);
  else fftBluestein(re, im, inverse);
  if (inverse) {
    for (let k = 0; k < n; k++) {
      re[k] /= n;
      im[k] /= n;
    }
  }
}

/**
 * One-sided power |X_k|² (unscaled) of a real signal, k = 0..⌊n/2⌋.
 *
 * @example
 * powerSpectrum(Float64Array.from([1, 1, 1, 1])); // [16, 0, 0]
 */
export function powerSpectrum(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const re = Float64Array.from(x), im = new Float64Array(n);
  fft(re, im);
  const out = new Float64Array(Math.floor(n / 2) + 1);
  for (let k = 0; k < out.length; k++) out[k] = re[k] * re[k] + im[k] * im[k];
  return out;
}
