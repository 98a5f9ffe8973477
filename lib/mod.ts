/**
 * Public entry point: notebooks import only from here.
 * Each layer re-exports its public API from its own `mod.ts`.
 */
export * from "./errors.ts";
export * from "./random.ts";
export * from "./data/mod.ts";
export * from "./data/synthetic.ts";
export * from "./data/splits.ts";
export * from "./signal/mod.ts";
export * from "./pretext/mod.ts";
export * from "./models/mod.ts";
export * from "./plots/mod.ts";
export * from "./train/mod.ts";
export * from "./backend/mod.ts";
export * from "./features/mod.ts";
export * from "./eval/mod.ts";
export * from "./experiments/scaffold.ts";
export * from "./experiments/evaluator.ts";
export * from "./experiments/baseline.ts";
export * from "./experiments/quickstart.ts";
export * from "./experiments/yuan/mod.ts";
export * from "./experiments/selfpab/mod.ts";
export * from "./experiments/multiresnet/mod.ts";
export * from "./experiments/dontfreeze/mod.ts";
