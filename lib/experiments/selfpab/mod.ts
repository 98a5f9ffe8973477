/**
 * SelfPAB (Logacjov et al.): STFT spectrograms, TERA masked-reconstruction
 * pre-training of a transformer encoder, frame-level downstream with the
 * encoder unfrozen at 75 %, on the dual- and thigh-sensor data we have.
 *
 * @example
 * import { runSelfpab, selfpabSpec } from "./lib/experiments/selfpab/mod.ts";
 * await runSelfpab(selfpabSpec("smoke"), { outDir: ".cache/selfpab/smoke" });
 */
export * from "./spec.ts";
export * from "./types.ts";
export * from "./data.ts";
export * from "./sequences.ts";
export * from "./pretrain.ts";
export * from "./downstream.ts";
export * from "./results.ts";
export * from "./run.ts";
