/**
 * One window under every pretext transform and augmentation, for figures
 * (the notebook plots raw vs. transformed signals side by side).
 *
 * @example
 * const g = transformGallery(windows.x.subarray(0, 900), { seed: 3 });
 * g.raw; g.aot; g.scale; g.permute; g.time_w; g.swap; g.rotate; // [3, 300] each
 * g.permutation.bounds; // chunk boundaries used for `permute`
 */
import { rng } from "../signal/random.ts";
import {
  applyRotation,
  drawAxisOrder,
  randomRotation,
  type RotationMode,
  swapAxes,
} from "./augment.ts";
import {
  applyPermutation,
  type PermutationPlan,
  permutationPlan,
  type PermuteArgs,
  reverseTime,
  scale,
  type ScaleArgs,
  type TimeWarpArgs,
  timeWarpTimes,
  warpChannel,
  windowLength,
} from "./transforms.ts";

/** Options of {@link transformGallery}. */
export interface GalleryOptions {
  /** Channels per window (default 3). */
  channels?: number;
  /** Seed of every random choice. */
  seed: number;
  /** Permutation parameters (default 4 chunks, each > 10 samples). */
  permute?: Omit<PermuteArgs, "channels">;
  /** Time-warp parameters (default sigma 0.2, 4 knots). */
  timeWarp?: Omit<TimeWarpArgs, "channels">;
  /** Scaling parameters (default factors in [0.5, 1.5], at least 0.15 from 1). */
  scale?: Omit<ScaleArgs, "channels">;
  /** Rotation mode (default `"axis-angle"`). */
  rotationMode?: RotationMode;
}

/** Every transform of one window, each `[channels, length]`. */
export interface TransformGallery {
  /** The input window (a copy). */
  raw: Float32Array;
  /** Arrow of time (reversed). */
  aot: Float32Array;
  /** Per-channel scaling. */
  scale: Float32Array;
  /** Chunk permutation. */
  permute: Float32Array;
  /** Time warping. */
  time_w: Float32Array;
  /** Random axis swap (never the identity order here, so the figure shows a change). */
  swap: Float32Array;
  /** Random 3-D rotation. */
  rotate: Float32Array;
  /** The permutation drawn for `permute`. */
  permutation: PermutationPlan;
  /** The warped sample times (in samples) per channel used for `time_w`. */
  warpTimes: Float64Array[];
  /** The axis order (index into `AXIS_ORDERS`) used for `swap`. */
  axisOrder: number;
  /** The 3×3 rotation matrix (row-major) used for `rotate`. */
  rotation: Float64Array;
}

/** Apply each pretext transform and augmentation to `x` once (seeded). */
export function transformGallery(x: Float32Array, options: GalleryOptions): TransformGallery {
  const channels = options.channels ?? 3;
  const len = windowLength(x, channels, "transformGallery");
  const r = rng(options.seed);
  const permutation = permutationPlan(len, { allowIdentity: false, ...options.permute }, r);
  const twArgs = { ...options.timeWarp, channels };
  const warpTimes = timeWarpTimes(len, twArgs, r);
  let axisOrder = drawAxisOrder(r);
  while (axisOrder === 0) axisOrder = drawAxisOrder(r);
  const rotation = randomRotation(r, options.rotationMode ?? "axis-angle");
  const triaxial = channels % 3 === 0;
  return {
    raw: x.slice(),
    aot: reverseTime(x, { channels }),
    scale: scale(x, { ...options.scale, channels }, r),
    permute: applyPermutation(x, permutation, { channels }),
    time_w: warpWindow(x, warpTimes, channels, len),
    swap: triaxial ? swapAxes(x, { channels, order: axisOrder }, r) : x.slice(),
    rotate: triaxial ? applyRotation(x, rotation, { channels }) : x.slice(),
    permutation,
    warpTimes,
    axisOrder,
    rotation,
  };
}

function warpWindow(x: Float32Array, times: Float64Array[], channels: number, len: number) {
  const out = new Float32Array(x.length);
  for (let c = 0; c < channels; c++) {
    warpChannel(x.subarray(c * len, (c + 1) * len), times[c], out.subarray(c * len, (c + 1) * len));
  }
  return out;
}
