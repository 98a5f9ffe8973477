/**
 * Sample-rate checks for readers whose files carry per-sample timestamps.
 *
 * @example
 * const measured = checkRate("S01R02.txt", rec.timestampsMs!, 64); // throws if not ~64 Hz
 */
import { basename } from "node:path";
import { DataFormatError } from "../errors.ts";

/**
 * Robust sample rate (Hz) from per-sample timestamps (ms): take the median
 * `m` of the positive successive differences, then average the "regular"
 * differences within [0.5 m, 1.5 m] (1000 / mean). Robust to the occasional
 * gap or backwards jump (WISDM, MobiFall) and unbiased for timestamps
 * quantised to whole ms (Daphnet's 15/16 ms steps at 64 Hz). NaN when fewer
 * than 2 increasing samples.
 */
export function medianRateHz(timestampsMs: ArrayLike<number>): number {
  const n = timestampsMs.length;
  if (n < 2) return NaN;
  // subsample very long series: the median of ~200k differences is plenty
  const step = Math.max(1, Math.floor((n - 1) / 200_000));
  const diffs = new Float64Array(Math.ceil((n - 1) / step));
  let k = 0;
  for (let i = 1; i < n; i += step) {
    const d = timestampsMs[i] - timestampsMs[i - 1];
    if (d > 0 && Number.isFinite(d)) diffs[k++] = d;
  }
  if (k === 0) return NaN;
  const used = diffs.subarray(0, k).sort();
  const med = k % 2 ? used[(k - 1) >> 1] : 0.5 * (used[k / 2 - 1] + used[k / 2]);
  let sum = 0, cnt = 0;
  for (let i = 0; i < k; i++) {
    if (used[i] >= 0.5 * med && used[i] <= 1.5 * med) {
      sum += used[i];
      cnt++;
    }
  }
  return 1000 / (sum / cnt);
}

/** Seconds per timestamp unit, for {@link timestampUnitHint}. */
const SECONDS_PER: Readonly<Record<string, number>> = { s: 1, ms: 1e-3, "µs": 1e-6, ns: 1e-9 };

/**
 * When a measured rate is off from the nominal one by about a power of 1000,
 * the timestamps are in another unit than the format's: returns
 * `"timestamps look like µs, not ms"` (or `""` when no unit explains it or
 * the rate is within a factor 3 of nominal).
 *
 * @param fileUnit the unit the format stores timestamps in (`"ms"`, `"ns"`, ...)
 * @example
 * timestampUnitHint(64000, 64, "ms"); // "timestamps look like s, not ms"
 * timestampUnitHint(2e7, 20, "ns");   // "timestamps look like ms, not ns"
 */
export function timestampUnitHint(measuredHz: number, nominalHz: number, fileUnit: string): string {
  const f = measuredHz / nominalHz;
  const d = SECONDS_PER[fileUnit];
  if (!(f > 0) || !Number.isFinite(f) || d === undefined || (f > 1 / 3 && f < 3)) return "";
  for (const [u, size] of Object.entries(SECONDS_PER)) {
    if (u !== fileUnit && Math.abs(Math.log10((f * d) / size)) < Math.log10(3)) {
      return `timestamps look like ${u}, not ${fileUnit}`;
    }
  }
  return "";
}

/**
 * Check that timestamps agree with a claimed sample rate.
 *
 * @param source file name used in the error
 * @param timestampsMs per-sample times (ms)
 * @param claimedHz the rate the caller / dataset claims (Hz)
 * @param tolerance allowed relative deviation of the measured median rate (0.15 = ±15 %)
 * @param fileUnit the unit the file stores timestamps in, to name a likely
 *   wrong unit in the error (default `"ms"`)
 * @returns the measured median rate (Hz)
 * @throws DataFormatError `<file>: claimed rate 100 Hz but timestamps give 50.00 Hz (median interval 20.00 ms)`,
 *   `<file>: claimed rate 64 Hz but timestamps give 64000.00 Hz (median interval 0.016 ms): timestamps look like s, not ms`
 */
export function checkRate(
  source: string,
  timestampsMs: ArrayLike<number>,
  claimedHz: number,
  tolerance = 0.15,
  fileUnit = "ms",
): number {
  const measured = medianRateHz(timestampsMs);
  if (!Number.isFinite(measured)) return measured;
  if (Math.abs(measured - claimedHz) > tolerance * claimedHz) {
    const hint = timestampUnitHint(measured, claimedHz, fileUnit);
    throw new DataFormatError(
      basename(source),
      `claimed rate ${claimedHz} Hz but timestamps give ${
        measured.toFixed(2)
      } Hz (median interval ${(1000 / measured).toPrecision(4)} ms)${hint ? `: ${hint}` : ""}`,
    );
  }
  return measured;
}

/**
 * The sample rates of some recordings in words: one value, or the range and
 * the median (for reports).
 *
 * @example
 * describeRates([{ rateHz: 84.1 }, { rateHz: 90.7 }, { rateHz: 98 }]); // "84.1–98 Hz (median 90.7)"
 */
export function describeRates(recs: readonly { rateHz: number }[]): string {
  const rates = recs.map((r) => r.rateHz).sort((a, b) => a - b);
  const lo = rates[0], hi = rates[rates.length - 1], med = rates[Math.floor(rates.length / 2)];
  return lo === hi
    ? `${+lo.toFixed(2)} Hz`
    : `${+lo.toFixed(1)}–${+hi.toFixed(1)} Hz (median ${+med.toFixed(1)})`;
}
