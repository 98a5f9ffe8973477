/**
 * Multi-task self-supervised batches (Yuan et al. 2024, ssl-wearables
 * `generate_labels` + `SSL_dataset`): each window gets one binary label per
 * pretext task, drawn independently with probability `positiveRatio` (0.5);
 * label 1 means that task's transform was applied. The transforms compose on
 * the same window in ssl-wearables' order (arrow of time, scale, permute,
 * time warp), then the orientation augmentations (axis swap, rotation) are
 * applied without labels, by default one draw per subject in the batch, as
 * ssl-wearables draws one per subject's group of windows.
 *
 * Which windows go in a batch is the sampler's job (`weightedSampler` in
 * lib/signal, std-weighted or uniform): pass its indices here.
 *
 * @example
 * const batch = makeMultitaskBatch(windows, indices, { seed: 1 });
 * batch.x;              // Float32Array [n, channels, length]
 * batch.labels.aot;     // Int32Array [n], 1 = played backwards
 * batch.labels.permute; // Int32Array [n], 1 = chunks shuffled
 */
import type { Windows } from "../data/types.ts";
import { PRETEXT_TASKS, type PretextTask } from "./tasks.ts";
import { ConfigError } from "../errors.ts";
import {
  applyRotation,
  drawAxisOrder,
  randomRotation,
  type RotationMode,
  swapAxes,
} from "./augment.ts";
import { type Rng, rng } from "../signal/random.ts";
import {
  permute,
  type PermuteArgs,
  reverseTime,
  scale,
  type ScaleArgs,
  timeWarp,
  type TimeWarpArgs,
  windowLength,
} from "./transforms.ts";

export { PRETEXT_TASKS, type PretextTask };

/** Options of the per-window pretext step ({@link multitaskWindow}). */
export interface MultitaskWindowOptions {
  /** Channels per window (default 3). */
  channels?: number;
  /** Tasks to draw labels for (default all four). Disabled tasks keep label 0 and are not applied. */
  tasks?: readonly PretextTask[];
  /**
   * Probability that a task's transform is applied, i.e. its label is 1
   * (default 0.5, ssl-wearables `task.positive_ratio`).
   */
  positiveRatio?: number;
  /** Permutation parameters (default 4 chunks, each > 10 samples). */
  permute?: Omit<PermuteArgs, "channels">;
  /** Time-warp parameters (default sigma 0.2, 4 knots). */
  timeWarp?: Omit<TimeWarpArgs, "channels">;
  /** Scaling parameters (default factors in [0.5, 1.5], at least 0.15 from 1). */
  scale?: Omit<ScaleArgs, "channels">;
}

/** Orientation augmentation of a batch (no labels). */
export interface AugmentOptions {
  /** Random axis swap, uniform over the 6 axis orders (default true). */
  swap?: boolean;
  /** Random 3-D rotation (default true). */
  rotate?: boolean;
  /** How rotations are drawn (default `"axis-angle"`, as ssl-wearables MTL). */
  rotationMode?: RotationMode;
  /**
   * `"subject"` (default, ssl-wearables): one swap and one rotation per
   * subject present in the batch, shared by that subject's windows;
   * `"window"`: a fresh draw for every window.
   */
  scope?: "subject" | "window";
}

/** Options of {@link makeMultitaskBatch}. */
export interface MultitaskOptions extends Omit<MultitaskWindowOptions, "channels"> {
  /**
   * Orientation augmentation after the pretext transforms; `false` for none
   * (default swap + rotate per subject). ssl-wearables augments training
   * batches only: pass `false` for validation batches.
   */
  augment?: AugmentOptions | false;
  /** Seed of every random choice in the batch. */
  seed: number;
}

/** One pretext-transformed window and its labels. */
export interface MultitaskWindow {
  /** The transformed `[channels, length]` window. */
  x: Float32Array;
  /** 1 when the task's transform was applied, else 0 (0 for disabled tasks). */
  labels: Record<PretextTask, 0 | 1>;
}

/** A multi-task self-supervised batch. */
export interface MultitaskBatch {
  /** Transformed windows, row-major `[n, channels, length]`, in g. */
  x: Float32Array;
  /** Windows in the batch. */
  n: number;
  /** Channels per window. */
  channels: number;
  /** Samples per window. */
  length: number;
  /** Per-task binary labels `[n]`; all 0 for tasks not in `tasks`. */
  labels: Record<PretextTask, Int32Array>;
  /** Tasks that were drawn (and should count in the loss), in {@link PRETEXT_TASKS} order. */
  tasks: PretextTask[];
  /** Index into the source `Windows` of each batch row. */
  indices: Int32Array;
}

function checkTasks(tasks: readonly PretextTask[]): PretextTask[] {
  for (const t of tasks) {
    if (!PRETEXT_TASKS.includes(t)) {
      throw new ConfigError(
        `tasks: unknown pretext task "${t}" (known: ${PRETEXT_TASKS.join(", ")})`,
      );
    }
  }
  return PRETEXT_TASKS.filter((t) => tasks.includes(t));
}

/**
 * Draw the labels of one window and apply the chosen transforms, in
 * ssl-wearables order (aot → scale → permute → time_w). For each enabled
 * task a coin with P(1) = `positiveRatio` is flipped, then the transform runs
 * (drawing its own parameters) only if the coin says 1.
 *
 * @example
 * const { x, labels } = multitaskWindow(w, {}, rng(5));
 */
export function multitaskWindow(
  x: Float32Array,
  options: MultitaskWindowOptions,
  rand: Rng,
): MultitaskWindow {
  const channels = options.channels ?? 3;
  windowLength(x, channels, "multitaskWindow");
  const tasks = checkTasks(options.tasks ?? PRETEXT_TASKS);
  const p = options.positiveRatio ?? 0.5;
  if (!(p >= 0 && p <= 1)) throw new ConfigError(`positiveRatio: must be in [0, 1], got ${p}`);
  const labels: Record<PretextTask, 0 | 1> = { aot: 0, scale: 0, permute: 0, time_w: 0 };
  let cur = x;
  for (const task of tasks) {
    if (!(rand.next() < p)) continue;
    labels[task] = 1;
    if (task === "aot") cur = reverseTime(cur, { channels });
    else if (task === "scale") cur = scale(cur, { ...options.scale, channels }, rand);
    else if (task === "permute") cur = permute(cur, { ...options.permute, channels }, rand);
    else cur = timeWarp(cur, { ...options.timeWarp, channels }, rand);
  }
  return { x: cur === x ? x.slice() : cur, labels };
}

/**
 * Build a multi-task batch from `windows` rows `indices` (e.g. from the
 * std-weighted sampler): the pretext transforms and labels of
 * {@link multitaskWindow} for each row, then the orientation augmentation.
 * Deterministic for a given seed and index list.
 *
 * @throws ConfigError for an index out of range, a window shape that does
 *   not match `windows.x`, or augmentation on non-tri-axial channels.
 *
 * @example
 * let step = 0;
 * for (const idx of weightedSampler(windows, { seed: 0, weighting: "std", batchSize: 256 })) {
 *   const b = makeMultitaskBatch(windows, idx, {
 *     tasks: ["aot", "scale", "permute", "time_w"],
 *     augment: { swap: true, rotate: true },
 *     seed: step++,
 *   });
 * }
 */
export function makeMultitaskBatch(
  windows: Windows,
  indices: ArrayLike<number>,
  options: MultitaskOptions,
): MultitaskBatch {
  const { channels, length, n: total } = windows;
  const size = channels * length;
  if (windows.x.length !== total * size) {
    throw new ConfigError(
      `windows.x: ${windows.x.length} values, expected n*channels*length = ${total * size}`,
    );
  }
  if (!Number.isInteger(options.seed)) {
    throw new ConfigError(`seed: must be an integer, got ${options.seed}`);
  }
  const tasks = checkTasks(options.tasks ?? PRETEXT_TASKS);
  const n = indices.length;
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = indices[i];
    if (!Number.isInteger(k) || k < 0 || k >= total) {
      throw new ConfigError(`indices[${i}]: ${k} is not a window index in [0, ${total})`);
    }
    idx[i] = k;
  }
  const aug = options.augment === false ? null : {
    swap: options.augment?.swap ?? true,
    rotate: options.augment?.rotate ?? true,
    rotationMode: options.augment?.rotationMode ?? "axis-angle",
    scope: options.augment?.scope ?? "subject",
  };
  if (aug && (aug.swap || aug.rotate) && channels % 3 !== 0) {
    throw new ConfigError(
      `augment: axis swap / rotation need tri-axial channels (a multiple of 3), windows have ${channels}`,
    );
  }
  if (aug && aug.scope !== "subject" && aug.scope !== "window") {
    throw new ConfigError(`augment.scope: must be "subject" or "window", got ${aug.scope}`);
  }
  if (aug?.scope === "subject" && windows.subject.length !== total) {
    throw new ConfigError(
      `windows.subject: ${windows.subject.length} entries for ${total} windows (needed for augment.scope "subject")`,
    );
  }

  const rand = rng(options.seed);
  const x = new Float32Array(n * size);
  const labels: Record<PretextTask, Int32Array> = {
    aot: new Int32Array(n),
    scale: new Int32Array(n),
    permute: new Int32Array(n),
    time_w: new Int32Array(n),
  };
  const winOpts: MultitaskWindowOptions = {
    channels,
    tasks,
    positiveRatio: options.positiveRatio,
    permute: options.permute,
    timeWarp: options.timeWarp,
    scale: options.scale,
  };
  for (let i = 0; i < n; i++) {
    const src = windows.x.subarray(idx[i] * size, (idx[i] + 1) * size);
    const r = multitaskWindow(src, winOpts, rand);
    x.set(r.x, i * size);
    for (const t of tasks) labels[t][i] = r.labels[t];
  }

  if (aug && (aug.swap || aug.rotate)) {
    // Groups of batch rows sharing one draw, in order of first appearance.
    const groups = new Map<string, number[]>();
    for (let i = 0; i < n; i++) {
      const key = aug.scope === "subject" ? `s:${windows.subject[idx[i]]}` : `w:${i}`;
      const g = groups.get(key);
      if (g) g.push(i);
      else groups.set(key, [i]);
    }
    for (const rows of groups.values()) {
      const order = aug.swap ? drawAxisOrder(rand) : 0;
      const matrix = aug.rotate ? randomRotation(rand, aug.rotationMode) : null;
      for (const i of rows) {
        let w: Float32Array = x.subarray(i * size, (i + 1) * size);
        if (aug.swap) w = swapAxes(w, { channels, order }, rand);
        if (matrix) w = applyRotation(w, matrix, { channels });
        x.set(w, i * size);
      }
    }
  }
  return { x, n, channels, length, labels, tasks, indices: idx };
}
