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
import { choiceFlag, cliMain, intFlag, parseFlags } from "../lib/cli.ts";
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

const USAGE = `usage: deno task baseline [--trees N] [--only hmp-adl|wisdm-watch]
       [--features ssl-wearables|extended] [--wisdm-protocol kfold|shuffle] [--out DIR] [--debug]

  --trees <N>            trees per forest (default 3000, the paper's value)
  --only <name>          run one dataset: hmp-adl | wisdm-watch
  --features <set>       ssl-wearables (default) | extended
  --wisdm-protocol <p>   kfold (default, 5 subject-wise folds) | shuffle (5 random 80/20 subject splits)
  --out <dir>            output folder (default results/baseline)`;

function parse(args: string[]): { specs: RfBaselineSpec[]; trees: number; out: string } {
  const { values } = parseFlags("baseline", args, {
    trees: { type: "string" },
    only: { type: "string" },
    features: { type: "string" },
    "wisdm-protocol": { type: "string" },
    out: { type: "string" },
  });
  const v = values as Record<string, string | undefined>;
  const trees = intFlag("trees", v.trees, { default: 3000, min: 1 });
  const wisdmProtocol = choiceFlag("wisdm-protocol", v["wisdm-protocol"], [
    "kfold",
    "shuffle",
  ], "kfold");
  const features = choiceFlag<FeatureSet>("features", v.features, [
    "ssl-wearables",
    "extended",
  ], "ssl-wearables");
  const only = v.only === undefined
    ? undefined
    : choiceFlag("only", v.only, ["hmp-adl", "wisdm-watch"], "hmp-adl");
  const specs: RfBaselineSpec[] = [ADL_RF_SPEC, WISDM_RF_SPEC]
    .filter((s) => !only || s.dataset === only)
    .map((s) => ({
      ...s,
      features,
      protocol: s.dataset === "wisdm-watch" ? wisdmProtocol : s.protocol,
      rf: { ...s.rf, nEstimators: trees },
    }));
  return { specs, trees, out: v.out || "results/baseline" };
}

async function run(a: { specs: RfBaselineSpec[]; trees: number; out: string }): Promise<void> {
  const results: RfBaselineResult[] = [];
  for (const spec of a.specs) {
    console.log(
      `== ${spec.dataset} (${spec.protocol}, ${a.trees} trees, ${spec.features} features)`,
    );
    results.push(await runRfBaseline(spec, { log: (m) => console.log("  " + m) }));
  }
  const paths = await writeBaselineResults(results, a.out);
  console.log("\n" + toMarkdown(baselineTable(results)));
  console.log(`wrote ${paths.join(", ")}`);
}

if (import.meta.main) {
  Deno.exit(await cliMain({ prog: "baseline", usage: USAGE, parse, run }, Deno.args));
}
