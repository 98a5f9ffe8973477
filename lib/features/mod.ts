/**
 * Hand-crafted window features (ssl-wearables' random-forest feature set and
 * an extended capture24-style set) and their spectral building blocks.
 *
 * @example
 * import { extractFeatures } from "./mod.ts";
 * const { X, nFeatures, names } = extractFeatures(windows);
 */
export * from "./handcrafted.ts";
export { findPeaks, hann, medianBias, type Spectrum, welch, type WelchArgs } from "./welch.ts";
export { fft, powerSpectrum } from "../signal/fft.ts";
export * from "./freeze_index.ts";
