/** Re-export of the project's seeded PRNG (it lives in `lib/random.ts`, a leaf every layer may use). */
export * from "../random.ts";
