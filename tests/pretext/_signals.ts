/** Test helper: deterministic, non-symmetric smooth test windows. */
import { rng } from "../../lib/signal/random.ts";

/** One `[channels, length]` window: a different chirp-plus-ramp per channel (no symmetry). */
export function testWindow(channels = 3, length = 300, seed = 0): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(channels * length);
  for (let c = 0; c < channels; c++) {
    const f = 1 + 3 * r.next(), ph = 6 * r.next(), off = r.next() - 0.5;
    for (let t = 0; t < length; t++) {
      const u = t / length;
      x[c * length + t] = off + Math.sin(2 * Math.PI * f * u * (1 + u) + ph) + 0.3 * u * (c + 1);
    }
  }
  return x;
}

/** Per-channel views of a `[channels, length]` window. */
export function rows(x: Float32Array, channels = 3): Float32Array[] {
  const len = x.length / channels;
  return Array.from({ length: channels }, (_, c) => x.subarray(c * len, (c + 1) * len));
}

/** Per-sample vector norms of each x-y-z triple, `[triples][length]`. */
export function norms(x: Float32Array, channels = 3): Float64Array {
  const len = x.length / channels;
  const out = new Float64Array((channels / 3) * len);
  for (let s = 0; s < channels / 3; s++) {
    for (let t = 0; t < len; t++) {
      const a = x[(3 * s) * len + t], b = x[(3 * s + 1) * len + t], d = x[(3 * s + 2) * len + t];
      out[s * len + t] = Math.hypot(a, b, d);
    }
  }
  return out;
}

/** max |a − b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Sorted copy (numeric). */
export function sorted(a: ArrayLike<number>): number[] {
  return Array.from(a).sort((p, q) => p - q);
}
