/**
 * The signal layer: resampling, windowing, window quality, weighted
 * sampling, FFT, and the seeded PRNG everything random uses.
 *
 * @example
 * import { makeWindows, resampleAll } from "./lib/signal/mod.ts";
 * const w = makeWindows(resampleAll(recs, 30), { windowSec: 10, overlapSec: 5, rateHz: 30 });
 */
export * from "./random.ts";
export * from "./fft.ts";
export * from "./resample.ts";
export * from "./windows.ts";
export * from "./quality.ts";
export * from "./sampling.ts";
export * from "./adl.ts";
export * from "./stft.ts";
export * from "./spectrogram.ts";
