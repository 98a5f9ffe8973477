/**
 * A small seeded PRNG whose whole state can be saved and restored, so a
 * training run resumed from a checkpoint draws exactly the same numbers
 * (batch order, dropout masks) as an uninterrupted run.
 *
 * The generator is xoshiro128** (Blackman & Vigna), seeded by splitmix32.
 * `lib/signal/random.ts` may offer a plain `rng(seed)`; the training loop
 * needs the serialisable state, hence this module.
 *
 * @example
 * const r = new TrainRng(42);
 * const saved = r.state();
 * const a = r.next();
 * r.setState(saved);
 * r.next() === a; // true
 */

/** Serialisable generator state: four unsigned 32-bit words. */
export type RngState = [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Seeded, checkpointable random number generator (xoshiro128**). */
export class TrainRng {
  private s: Uint32Array = new Uint32Array(4);

  /** @param seed Any integer; equal seeds give equal streams. */
  constructor(seed: number) {
    const sm = splitmix32(Math.trunc(seed));
    for (let i = 0; i < 4; i++) this.s[i] = sm();
    if (this.s[0] === 0 && this.s[1] === 0 && this.s[2] === 0 && this.s[3] === 0) this.s[0] = 1;
  }

  /** Next unsigned 32-bit integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** A copy of the current state (JSON-serialisable). */
  state(): RngState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }

  /** Restore a state previously returned by {@link TrainRng.state}. */
  setState(state: RngState): void {
    if (!Array.isArray(state) || state.length !== 4) {
      throw new RangeError(`RngState: expected 4 uint32 words, got ${JSON.stringify(state)}`);
    }
    for (let i = 0; i < 4; i++) this.s[i] = state[i] >>> 0;
  }
}

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
  const r = new TrainRng(seed);
  Math.random = () => r.next();
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}
