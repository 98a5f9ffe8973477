/**
 * The Gjoreski et al. (2019) cross-dataset transfer experiment: a
 * spectro-temporal Multi-ResNet trained on one dataset, its first k
 * residual blocks transferred and frozen into a model for another dataset,
 * adapted on 20 … max windows, against the same network from scratch; all
 * 12 source → target pairs of WISDM watch / phone, HMP-10 and MobiFall-8.
 *
 * @example
 * import { multiResNetSpec, runMultiResNet } from "./lib/experiments/multiresnet/mod.ts";
 * await runMultiResNet(multiResNetSpec("smoke"), { outDir: ".cache/multiresnet/smoke" });
 */
export * from "./spec.ts";
export * from "./data.ts";
export * from "./transfer.ts";
export * from "./results.ts";
export * from "./run.ts";
