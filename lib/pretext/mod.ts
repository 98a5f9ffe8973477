/**
 * Pretext layer: self-supervised transforms and multi-task batches
 * (Yuan et al. 2024 / OxWearables ssl-wearables).
 *
 * @example
 * import { makeMultitaskBatch, PRETEXT_TASKS } from "./lib/pretext/mod.ts";
 * const batch = makeMultitaskBatch(windows, indices, { seed: 0 });
 */
export * from "./spline.ts";
export * from "./transforms.ts";
export * from "./augment.ts";
export * from "./multitask.ts";
export * from "./gallery.ts";
export * from "./multitask_source.ts";
export * from "./tasks.ts";
export * from "./tera.ts";
export * from "./dontfreeze.ts";
