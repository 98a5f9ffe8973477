/**
 * Randomness for the training loop. The generator is the project's seeded
 * {@link rng} (lib/random.ts), whose whole state can be saved and restored,
 * so a run resumed from a checkpoint draws exactly the same numbers (batch
 * order, dropout masks) as an uninterrupted run.
 *
 * @example
 * const r = rng(42);
 * const saved = r.state();
 * const a = r.next();
 * r.setState(saved);
 * r.next() === a; // true
 */
import { rng } from "../random.ts";
export { type Rng, rng, type RngState } from "../random.ts";

/**
 * Run `fn` with `Math.random` replaced by a generator seeded from `seed`.
 *
 * tfjs seeds unseeded random ops (dropout, random initialisers) from
 * `Math.random()`, so this makes them reproducible and resumable. The
 * original `Math.random` is restored afterwards, even on error. `fn` must be
 * synchronous.
 */
export function withSeededMathRandom<T>(seed: number, fn: () => T): T {
  const original = Math.random;
  const r = rng(seed);
  Math.random = () => r.next();
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}

/**
 * Mix a seed with more integers into one 31-bit seed (e.g. `(seed, epoch,
 * step)`): deterministic, well spread, order-sensitive.
 *
 * @example
 * const s = mixSeed(42, epoch, step, 2);
 */
export function mixSeed(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  return h & 0x7fffffff;
}
