/**
 * Public entry point: notebooks import only from here.
 * Each layer re-exports its public API from its own `mod.ts`.
 */
export * from "./errors.ts";
export * from "./data/types.ts";
export * from "./data/paths.ts";
