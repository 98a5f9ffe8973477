/**
 * The Yuan et al. (2024) / OxWearables ssl-wearables experiment: multi-task
 * self-supervised pre-training of a harnet on the unlabelled wrist/pocket
 * data available here, then RF / scratch / frozen / fine-tuned on ADL and
 * WISDM watch, ablations and UMAP.
 *
 * @example
 * import { runYuan, yuanSpec } from "./lib/experiments/yuan/mod.ts";
 * await runYuan(yuanSpec("smoke"), { outDir: ".cache/yuan/smoke" });
 */
export * from "./spec.ts";
export * from "./pretrain_data.ts";
export * from "./model.ts";
export * from "./results.ts";
export * from "./umap.ts";
export * from "./run.ts";
