/**
 * The pretext tasks of "Don't freeze" (Fortes Rey et al. 2023;
 * ../shared/specs/dont-freeze.md §3): Saeed's eight-task transformation
 * recognition (multitask8.ts), CPC (cpc.ts), reconstruction
 * (reconstruction.ts) and SimCLR (simclr.ts), each a batch source for `fit`
 * and its loss as data, with the shared epoch sampling (dontfreeze_sampling.ts,
 * §1.4). Their models are lib/models/dontfreeze_encoders.ts.
 *
 * @example
 * import { multitask8Loss, multitask8Source } from "./lib/pretext/mod.ts";
 * const source = multitask8Source(pool, { seed: 1, fraction: 0.1 });
 */
export * from "./dontfreeze_sampling.ts";
export * from "./multitask8.ts";
export * from "./cpc.ts";
export * from "./reconstruction.ts";
export * from "./simclr.ts";
