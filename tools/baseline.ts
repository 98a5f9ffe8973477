/**
 * `deno task baseline`: hand-crafted features + random forest on ADL (leave
 * one subject out) and WISDM watch (5-fold subject-wise), as ssl-wearables
 * evaluates it; writes results/baseline/{hmp-adl,wisdm-watch}.json,
 * summary.md and summary.csv (atomically) and prints the table.
 *
 * Flags:
 *   --trees N       trees per forest (default 3000, the paper's value)
 *   --only NAME     run one dataset: hmp-adl | wisdm-watch
 *   --features SET  ssl-wearables (default) | extended
 *   --wisdm-protocol P  kfold (default, 5 subject-wise folds) | shuffle (5 random
 *                   80/20 subject splits: what ssl-wearables' RF code actually ran)
 *   --out DIR       output folder (default results/baseline)
 *
 * @example
 * HAR_DATA_DIR=../shared/datasets deno task baseline --trees 500
 */
import { parseArgs } from "node:util";
import {
  ADL_RF_SPEC,
  baselineTable,
  type RfBaselineResult,
  type RfBaselineSpec,
  runRfBaseline,
  WISDM_RF_SPEC,
  writeBaselineResults,
} from "../lib/experiments/baseline.ts";
import { toMarkdown } from "../lib/eval/tables.ts";
import type { FeatureSet } from "../lib/features/handcrafted.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    trees: { type: "string", default: "3000" },
    only: { type: "string" },
    features: { type: "string", default: "ssl-wearables" },
    "wisdm-protocol": { type: "string", default: "kfold" },
    out: { type: "string", default: "results/baseline" },
  },
});
const trees = Number(values.trees);
if (!(Number.isInteger(trees) && trees >= 1)) {
  console.error(`--trees must be a positive integer, got ${values.trees}`);
  Deno.exit(2);
}
const wisdmProtocol = values["wisdm-protocol"];
if (wisdmProtocol !== "kfold" && wisdmProtocol !== "shuffle") {
  console.error(`--wisdm-protocol must be kfold or shuffle, got ${wisdmProtocol}`);
  Deno.exit(2);
}
if (!["ssl-wearables", "extended"].includes(values.features!)) {
  console.error(`--features must be ssl-wearables or extended, got ${values.features}`);
  Deno.exit(2);
}
const specs: RfBaselineSpec[] = [ADL_RF_SPEC, WISDM_RF_SPEC]
  .filter((s) => !values.only || s.dataset === values.only)
  .map((s) => ({
    ...s,
    features: values.features as FeatureSet,
    protocol: s.dataset === "wisdm-watch" ? wisdmProtocol : s.protocol,
    rf: { ...s.rf, nEstimators: trees },
  }));
if (!specs.length) {
  console.error(`--only must be hmp-adl or wisdm-watch, got ${values.only}`);
  Deno.exit(2);
}
const results: RfBaselineResult[] = [];
for (const spec of specs) {
  console.log(`== ${spec.dataset} (${spec.protocol}, ${trees} trees, ${spec.features} features)`);
  results.push(await runRfBaseline(spec, { log: (m) => console.log("  " + m) }));
}
const paths = await writeBaselineResults(results, values.out);
console.log("\n" + toMarkdown(baselineTable(results)));
console.log(`wrote ${paths.join(", ")}`);
