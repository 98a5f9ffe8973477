/**
 * Non-finite values (NaN, ±Inf) where data or weights enter a model: find
 * the first one and say where it is, so a bad input file or checkpoint fails
 * with its name instead of turning into plausible numbers.
 *
 * @example
 * ```ts
 * firstNonFinite(new Float32Array([1, NaN])); // 1
 * unravelIndex(7, [2, 3, 2]); // [1, 0, 1]
 * checkFiniteTensor("ckpt.mdl", "conv1.weight", [2, 2], new Float32Array([0, 1, Infinity, 2]));
 * // throws CheckpointError: ckpt.mdl: tensor 'conv1.weight' [2, 2] holds Infinity at [1, 0] (1 non-finite value)
 * ```
 * @module
 */
import { CheckpointError } from "../errors.ts";

/** Names of the axes of `[N, channels, samples]` windows, for {@link describeNonFinite}. */
export const WINDOW_AXES: readonly string[] = ["window", "channel", "sample"];

/** Index of the first NaN or ±Inf in `values`, or -1 when all are finite. */
export function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v !== 0) return i; // NaN - NaN and Inf - Inf are NaN; finite - itself is 0
  }
  return -1;
}

/** How many values of `values` are NaN or ±Inf. */
export function countNonFinite(values: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] - values[i] !== 0) n++;
  return n;
}

/** The row-major multi-index of flat index `i` in `shape`. */
export function unravelIndex(i: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length).fill(0);
  let r = i;
  for (let d = shape.length - 1; d >= 0; d--) {
    const s = Math.max(1, shape[d]);
    out[d] = r % s;
    r = Math.floor(r / s);
  }
  return out;
}

/**
 * `null` when `values` are all finite, else a phrase such as
 * `"NaN at [0, 2, 17] (3 non-finite values)"`; `axes` names the indices
 * (`["window", "channel", "sample"]` → `"NaN at window 0, channel 2, sample 17"`).
 */
export function describeNonFinite(
  values: ArrayLike<number>,
  shape: readonly number[],
  axes?: readonly string[],
): string | null {
  const i = firstNonFinite(values);
  if (i < 0) return null;
  const idx = unravelIndex(i, shape);
  const where = axes && axes.length === idx.length
    ? idx.map((v, d) => `${axes[d]} ${v}`).join(", ")
    : `[${idx.join(", ")}]`;
  const n = countNonFinite(values);
  return `${values[i]} at ${where} (${n} non-finite value${n === 1 ? "" : "s"})`;
}

/**
 * Throw a {@link CheckpointError} naming `file` and the tensor when `data`
 * holds a NaN or ±Inf (a corrupted or diverged checkpoint).
 */
export function checkFiniteTensor(
  file: string,
  name: string,
  shape: readonly number[],
  data: ArrayLike<number>,
): void {
  const bad = describeNonFinite(data, shape);
  if (bad === null) return;
  throw new CheckpointError(file, `tensor '${name}' [${shape.join(", ")}] holds ${bad}`);
}
