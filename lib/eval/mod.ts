/**
 * Evaluation layer: scikit-learn-compatible metrics, subject bootstrap
 * confidence intervals and paper-style result tables.
 *
 * @example
 * import { f1Score, cohenKappa, subjectBootstrap, summaryTable, toMarkdown } from "./mod.ts";
 */
export * from "./metrics.ts";
export * from "./bootstrap.ts";
export * from "./tables.ts";
export * from "./subjects.ts";
