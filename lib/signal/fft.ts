/**
 * A small complex FFT for any length (radix-2 for powers of two, Bluestein's
 * chirp-z algorithm otherwise), enough for Fourier resampling and spectra.
 * In-place on split real/imaginary `Float64Array`s.
 *
 * @example
 * const re = new Float64Array([1, 2, 3]), im = new Float64Array(3);
 * fft(re, im);          // forward DFT, X[k] = Σ x[n] e^{-2πikn/N}
 * fft(re, im, true);    // inverse, including the 1/N factor
 */

function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

function fftPow2(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i];
      re[i] = re[j];
      re[j] = t;
      t = im[i];
      im[i] = im[j];
      im[j] = t;
    }
  }
  const sign = inverse ? 1 : -1;
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (sign * 2 * Math.PI) / len;
    const wr = Math.cos(ang), wi = Math.sin(ang);
    const half = len >> 1;
    for (let i = 0; i < n; i += len) {
      let cr = 1, ci = 0;
      for (let k = 0; k < half; k++) {
        const a = i + k, b = a + half;
        const tr = re[b] * cr - im[b] * ci;
        const ti = re[b] * ci + im[b] * cr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
        const ncr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = ncr;
      }
    }
  }
}

function fftBluestein(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  let m = 1;
  while (m < 2 * n - 1) m <<= 1;
  const sign = inverse ? 1 : -1;
  // chirp w[k] = exp(sign * iπ k²/n); k² mod 2n keeps the angle accurate
  const cr = new Float64Array(n), ci = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const k2 = (k * k) % (2 * n);
    const a = (sign * Math.PI * k2) / n;
    cr[k] = Math.cos(a);
    ci[k] = Math.sin(a);
  }
  const ar = new Float64Array(m), ai = new Float64Array(m);
  for (let k = 0; k < n; k++) {
    ar[k] = re[k] * cr[k] - im[k] * ci[k];
    ai[k] = re[k] * ci[k] + im[k] * cr[k];
  }
  const br = new Float64Array(m), bi = new Float64Array(m);
  br[0] = cr[0];
  bi[0] = -ci[0];
  for (let k = 1; k < n; k++) {
    br[k] = br[m - k] = cr[k];
    bi[k] = bi[m - k] = -ci[k];
  }
  fftPow2(ar, ai, false);
  fftPow2(br, bi, false);
  for (let k = 0; k < m; k++) {
    const r = ar[k] * br[k] - ai[k] * bi[k];
    ai[k] = ar[k] * bi[k] + ai[k] * br[k];
    ar[k] = r;
  }
  fftPow2(ar, ai, true);
  for (let k = 0; k < n; k++) {
    const xr = ar[k] / m, xi = ai[k] / m;
    re[k] = xr * cr[k] - xi * ci[k];
    im[k] = xr * ci[k] + xi * cr[k];
  }
}

/**
 * In-place complex DFT of any length. `inverse` computes the inverse DFT
 * including the 1/N factor (numpy `ifft` convention).
 */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (im.length !== n) throw new RangeError(`fft: re and im lengths differ (${n} vs ${im.length})`);
  if (n <= 1) return;
  if (isPow2(n)) fftPow2(re, im, inverse);
  else fftBluestein(re, im, inverse);
  if (inverse) {
    for (let k = 0; k < n; k++) {
      re[k] /= n;
      im[k] /= n;
    }
  }
}
