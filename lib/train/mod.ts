/**
 * Training layer: optimisers, schedules, losses, early stopping, freezing
 * and weight transfer, checkpoints, progress, history, the `fit` loop and
 * model save/load.
 */
export * from "./random.ts";
export * from "./optimisers.ts";
export * from "./schedules.ts";
export * from "./losses.ts";
export * from "./early_stopping.ts";
export * from "./freeze.ts";
export * from "./checkpoint.ts";
export * from "./progress.ts";
export * from "./history.ts";
export * from "./batches.ts";
export * from "./loop.ts";
export { FitWorkers, loadLoss, type LossSpec, type WorkerLoss } from "./parallel_fit.ts";
export * from "./save.ts";
