/**
 * "Don't freeze: Finetune encoders for better Self-Supervised HAR" (Fortes
 * Rey et al. 2023; issue #15): four pretexts on the unlabelled source, then
 * per target fold the baseline, the frozen and the fine-tuned source encoder
 * (Table 2).
 *
 * @example
 * import { dontFreezeSpec, runDontFreeze } from "./lib/experiments/dontfreeze/mod.ts";
 * await runDontFreeze(dontFreezeSpec("smoke"), { outDir: ".cache/dontfreeze-runs/smoke" });
 */
export * from "./spec.ts";
export * from "./data.ts";
export * from "./results.ts";
export * from "./run.ts";
