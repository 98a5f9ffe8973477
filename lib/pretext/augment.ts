/**
 * Orientation augmentations used during ssl-wearables multi-task
 * pre-training (`augmentation=all`: `RandomSwitchAxisTimeSeries` then
 * `RotationAxisTimeSeries`, `sslearning/data/datautils.py`). They make the
 * learned features less dependent on how the device sits on the wrist. They
 * are not pretext tasks: no label is attached.
 *
 * Windows are `[channels, length]` row-major `Float32Array`s in g. Channels
 * must be a multiple of 3 (tri-axial sensors); with several sensors the same
 * swap / rotation is applied to every x-y-z triple.
 *
 * @example
 * import { rng } from "../signal/random.ts";
 * const rand = rng(3);
 * const swapped = swapAxes(w, {}, rand);   // one of the 6 axis orders
 * const turned = rotate3d(w, {}, rand);    // random axis, angle in [-π, π)
 */
import { ConfigError } from "../errors.ts";
import type { Rng } from "../signal/random.ts";
import { type WindowArgs, windowLength } from "./transforms.ts";

/** The 6 axis orders in ssl-wearables' numbering (choice 1..6 → index 0..5). */
export const AXIS_ORDERS: readonly (readonly [number, number, number])[] = [
  [0, 1, 2], // x y z (unchanged)
  [0, 2, 1], // x z y
  [1, 0, 2], // y x z
  [1, 2, 0], // y z x
  [2, 0, 1], // z x y
  [2, 1, 0], // z y x
];

function triples(x: Float32Array, channels: number, fn: string): number {
  const len = windowLength(x, channels, fn);
  if (channels % 3 !== 0) {
    throw new ConfigError(`${fn}: needs tri-axial channels (a multiple of 3), got ${channels}`);
  }
  return len;
}

/** Arguments of {@link swapAxes}. */
export interface SwapAxesArgs extends WindowArgs {
  /** Use this axis order (index into {@link AXIS_ORDERS}) instead of drawing one. */
  order?: number;
}

/** Draw an axis order as ssl-wearables (`random.randint(1, 6)`: uniform over all 6, identity included). */
export function drawAxisOrder(rand: Rng): number {
  return rand.int(6);
}

/**
 * Random axis swap: output channel k is input channel `AXIS_ORDERS[order][k]`
 * of the same sensor. Per-sample vector norms are unchanged.
 *
 * @example
 * swapAxes(w, { order: 5 }, rand); // z, y, x
 */
export function swapAxes(
  x: Float32Array,
  args: SwapAxesArgs,
  rand: Rng,
): Float32Array {
  const c = args.channels ?? 3;
  const len = triples(x, c, "swapAxes");
  const order = args.order ?? drawAxisOrder(rand);
  const perm = AXIS_ORDERS[order];
  if (!perm) throw new ConfigError(`swapAxes: order must be an integer in 0..5, got ${order}`);
  const out = new Float32Array(x.length);
  for (let s = 0; s < c; s += 3) {
    for (let k = 0; k < 3; k++) {
      out.set(x.subarray((s + perm[k]) * len, (s + perm[k] + 1) * len), (s + k) * len);
    }
  }
  return out;
}

/** How {@link rotate3d} draws its rotation. */
export type RotationMode = "axis-angle" | "euler" | "uniform";

/** Arguments of {@link rotate3d}. */
export interface RotateArgs extends WindowArgs {
  /**
   * - `"axis-angle"` (default, ssl-wearables MTL `RotationAxisTimeSeries`): an
   *   axis uniform in the cube [-1, 1]³ (normalised), an angle uniform in [-π, π) (rad);
   * - `"euler"` (ssl-wearables SimCLR `rotation`): successive rotations about
   *   z, y, x, each by an angle uniform in [-π, π) (rad);
   * - `"uniform"`: uniform (Haar) on SO(3), via a random unit quaternion.
   */
  mode?: RotationMode;
  /** Use this 3×3 row-major matrix instead of drawing one. */
  matrix?: Float64Array;
}

/**
 * Rotation matrix of `angle` (rad) about `axis` (any non-zero length), row-major,
 * as transforms3d's `axangle2mat`.
 */
export function axisAngleMatrix(axis: ArrayLike<number>, angle: number): Float64Array {
  const n = Math.hypot(axis[0], axis[1], axis[2]);
  if (!(n > 0)) throw new ConfigError("axisAngleMatrix: axis must be non-zero");
  const x = axis[0] / n, y = axis[1] / n, z = axis[2] / n;
  const c = Math.cos(angle), s = Math.sin(angle), C = 1 - c;
  return Float64Array.of(
    x * x * C + c,
    x * y * C - z * s,
    x * z * C + y * s,
    x * y * C + z * s,
    y * y * C + c,
    y * z * C - x * s,
    x * z * C - y * s,
    y * z * C + x * s,
    z * z * C + c,
  );
}

function matmul3(a: Float64Array, b: Float64Array): Float64Array {
  const o = new Float64Array(9);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      o[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
    }
  }
  return o;
}

/** Draw a 3×3 rotation matrix (row-major) the way `mode` says. */
export function randomRotation(rand: Rng, mode: RotationMode = "axis-angle"): Float64Array {
  if (mode === "axis-angle") {
    let axis: number[];
    do {
      axis = [rand.uniform(-1, 1), rand.uniform(-1, 1), rand.uniform(-1, 1)];
    } while (Math.hypot(axis[0], axis[1], axis[2]) < 1e-12);
    return axisAngleMatrix(axis, rand.uniform(-Math.PI, Math.PI));
  }
  if (mode === "euler") {
    let r: Float64Array = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
    for (const axis of [[0, 0, 1], [0, 1, 0], [1, 0, 0]]) {
      r = matmul3(r, axisAngleMatrix(axis, rand.uniform(-Math.PI, Math.PI)));
    }
    return r;
  }
  if (mode === "uniform") {
    // Shoemake (1992): uniform unit quaternion from 3 uniforms.
    const u1 = rand.next(), u2 = rand.next(), u3 = rand.next();
    const a = Math.sqrt(1 - u1), b = Math.sqrt(u1);
    const qx = a * Math.sin(2 * Math.PI * u2), qy = a * Math.cos(2 * Math.PI * u2);
    const qz = b * Math.sin(2 * Math.PI * u3), qw = b * Math.cos(2 * Math.PI * u3);
    return Float64Array.of(
      1 - 2 * (qy * qy + qz * qz),
      2 * (qx * qy - qz * qw),
      2 * (qx * qz + qy * qw),
      2 * (qx * qy + qz * qw),
      1 - 2 * (qx * qx + qz * qz),
      2 * (qy * qz - qx * qw),
      2 * (qx * qz - qy * qw),
      2 * (qy * qz + qx * qw),
      1 - 2 * (qx * qx + qy * qy),
    );
  }
  throw new ConfigError(`rotate3d: mode must be "axis-angle", "euler" or "uniform", got ${mode}`);
}

/**
 * Apply a rotation matrix to every sample, as ssl-wearables does with
 * `np.matmul(sample, R)` on `[length, 3]` rows: out_j = Σ_i x_i R[i][j].
 */
export function applyRotation(x: Float32Array, matrix: Float64Array, args: WindowArgs = {}) {
  const c = args.channels ?? 3;
  const len = triples(x, c, "applyRotation");
  if (matrix.length !== 9) {
    throw new ConfigError(`applyRotation: matrix has ${matrix.length} values, expected 9`);
  }
  const out = new Float32Array(x.length);
  for (let s = 0; s < c; s += 3) {
    const ox = s * len, oy = ox + len, oz = oy + len;
    for (let t = 0; t < len; t++) {
      const a = x[ox + t], b = x[oy + t], d = x[oz + t];
      out[ox + t] = a * matrix[0] + b * matrix[3] + d * matrix[6];
      out[oy + t] = a * matrix[1] + b * matrix[4] + d * matrix[7];
      out[oz + t] = a * matrix[2] + b * matrix[5] + d * matrix[8];
    }
  }
  return out;
}

/**
 * Random 3-D rotation of the whole window (every sample by the same matrix).
 * Per-sample vector norms are unchanged.
 *
 * @example
 * rotate3d(w, { mode: "axis-angle" }, rng(1));
 */
export function rotate3d(x: Float32Array, args: RotateArgs, rand: Rng): Float32Array {
  const m = args.matrix ?? randomRotation(rand, args.mode ?? "axis-angle");
  return applyRotation(x, m, { channels: args.channels ?? 3 });
}
