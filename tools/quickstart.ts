/**
 * `deno task quickstart`: the main job. Loads WISDM watch data when present
 * (`datasets/` or `$HAR_DATA_DIR`), else a built-in synthetic dataset
 * (labelled as such); windows it (30 Hz, 10 s, 5 s overlap); trains the
 * hand-crafted features + random-forest baseline with subject-wise k-fold;
 * prints the table and writes it with the confusion-matrix and per-class F1
 * figures to results/quickstart/.
 *
 * Flags: --scale smoke|laptop (default laptop), --synthetic, --out DIR.
 */
import { parseArgs } from "node:util";
import {
  quickstartData,
  type QuickstartScale,
  runQuickstart,
  writeQuickstart,
} from "../lib/experiments/quickstart.ts";
import { toMarkdown } from "../lib/eval/tables.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    scale: { type: "string", default: Deno.env.get("HAR_SCALE") ?? "laptop" },
    synthetic: { type: "boolean", default: false },
    out: { type: "string", default: "results/quickstart" },
  },
});
if (values.scale !== "smoke" && values.scale !== "laptop") {
  console.error(`quickstart: --scale must be smoke or laptop, got ${values.scale}`);
  Deno.exit(2);
}
const args = { scale: values.scale as QuickstartScale, synthetic: values.synthetic };
const t0 = performance.now();
const data = await quickstartData(args);
console.log(`data: ${data.note}`);
console.log(
  `windows: ${data.windows.n} (${data.windows.classes.length} classes, ` +
    `${new Set(data.windows.subject).size} subjects, ${data.windows.length} samples at ` +
    `${data.windows.rateHz} Hz)`,
);
const run = await runQuickstart(data, args, (m) => console.log(`  ${m}`));
console.log("\n" + toMarkdown(run.table) + "\n");
const paths = await writeQuickstart(run, values.out!);
console.log(`wrote ${paths.join(", ")}`);
console.log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
