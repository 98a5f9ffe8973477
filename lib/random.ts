/**
 * A small seeded pseudo-random number generator. Every random choice in the
 * project goes through {@link rng} so that the same seed gives the same
 * numbers on every machine (no `Math.random`).
 *
 * The generator is mulberry32 (32-bit state, period 2^32) seeded through one
 * splitmix32 step so that nearby seeds (0, 1, 2, …) give unrelated streams.
 *
 * @example
 * const r = rng(42);
 * r.next();          // 0.…, uniform in [0, 1)
 * r.int(10);         // 0..9
 * r.normal();        // standard normal
 * r.shuffle([1, 2, 3]); // shuffled in place (Fisher–Yates) and returned
 * const child = r.fork(); // an independent stream derived from this one
 */

/** A seeded random stream. */
export interface Rng {
  /** The seed this stream was created with. */
  readonly seed: number;
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n) (`n` ≥ 1). */
  int(n: number): number;
  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Standard normal N(0, 1) (Box–Muller). */
  normal(): number;
  /** Shuffle `arr` in place (Fisher–Yates) and return it. */
  shuffle<T>(arr: T[]): T[];
  /** Pick one element uniformly. */
  choice<T>(arr: readonly T[]): T;
  /** A new independent stream whose seed is drawn from this one. */
  fork(): Rng;
  /** Uniform unsigned 32-bit integer. */
  uint32(): number;
  /** A random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array;
  /** The whole generator state (JSON-serialisable), for checkpoints. */
  state(): RngState;
  /** Restore a state returned by {@link Rng.state}: the stream continues identically. */
  setState(state: RngState): void;
}

/** Serialisable generator state: `[state, hasSpareNormal (0|1), spareNormal]`. */
export type RngState = [number, number, number];

function splitmix32(a: number): number {
  a = (a + 0x9e3779b9) | 0;
  let z = a;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Create a seeded random stream.
 *
 * @param seed any finite number; non-integers are truncated, negatives wrap (uint32).
 * @throws RangeError when `seed` is not finite.
 */
export function rng(seed: number): Rng {
  if (!Number.isFinite(seed)) {
    throw new RangeError(`rng: seed must be a finite number, got ${seed}`);
  }
  let state = splitmix32(Math.trunc(seed) >>> 0);
  let spare: number | null = null;
  const uint32 = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = (): number => uint32() / 4294967296;
  const self: Rng = {
    seed,
    next,
    int(n: number): number {
      if (!(n >= 1) || !Number.isFinite(n)) {
        throw new RangeError(`rng.int: n must be >= 1, got ${n}`);
      }
      return Math.floor(next() * Math.floor(n));
    },
    uniform(lo: number, hi: number): number {
      return lo + (hi - lo) * next();
    },
    normal(): number {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      let u = 0;
      while (u <= 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    shuffle<T>(arr: T[]): T[] {
      for (let i = arr.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const t = arr[i];
        arr[i] = arr[j];
        arr[j] = t;
      }
      return arr;
    },
    choice<T>(arr: readonly T[]): T {
      if (arr.length === 0) throw new RangeError("rng.choice: empty array");
      return arr[Math.floor(next() * arr.length)];
    },
    fork(): Rng {
      return rng(Math.floor(next() * 4294967296));
    },
    uint32,
    permutation(n: number): Int32Array {
      const p = new Int32Array(n);
      for (let i = 0; i < n; i++) p[i] = i;
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const t = p[i];
        p[i] = p[j];
        p[j] = t;
      }
      return p;
    },
    state(): RngState {
      return [state | 0, spare === null ? 0 : 1, spare ?? 0];
    },
    setState(s: RngState): void {
      if (!Array.isArray(s) || s.length !== 3 || !s.every(Number.isFinite)) {
        throw new RangeError(
          `rng.setState: expected [state, hasSpare, spare], got ${JSON.stringify(s)}`,
        );
      }
      state = s[0] | 0;
      spare = s[1] ? s[2] : null;
    },
  };
  return self;
}
