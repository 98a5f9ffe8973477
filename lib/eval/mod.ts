/**
 * Evaluation layer: scikit-learn-compatible metrics, subject bootstrap
 * confidence intervals, paper-style result tables, and the per-fold
 * `RunResult` record with its summary (mean ± sd over subjects or folds,
 * pooled with bootstrap CIs).
 *
 * @example
 * import { f1Score, cohenKappa, subjectBootstrap, summaryTable, toMarkdown } from "./mod.ts";
 * import { scoreRun, summarizeRuns, summaryMarkdown } from "./mod.ts";
 */
export * from "./metrics.ts";
export * from "./bootstrap.ts";
export * from "./tables.ts";
export * from "./subjects.ts";
export * from "./run_result.ts";
export * from "./roc.ts";
