/**
 * The multi-task pretext tasks (Yuan et al. 2024 / ssl-wearables), defined
 * once: their names and order are the label order of the pretext batches
 * (lib/pretext/multitask.ts), the head order of harnet's `"mtl"` head
 * (lib/models/heads.ts) and the head order of the multi-task loss.
 *
 * @example
 * PRETEXT_TASKS.indexOf("permute"); // 2: the third head
 */

/** A pretext task: arrow of time, scaling, permutation, time warping. */
export type PretextTask = "aot" | "scale" | "permute" | "time_w";

/**
 * All tasks, in ssl-wearables' label / head order (`TIME_REVERSAL_POS = 0`,
 * `SCALE_POS = 1`, `PERMUTATION_POS = 2`, `TIME_WARPED_POS = 3`), which is
 * also the order the transforms are applied in; head `<task>_h` of harnet's
 * multi-task head predicts `batch.labels[task]`.
 */
export const PRETEXT_TASKS: readonly PretextTask[] = ["aot", "scale", "permute", "time_w"];
