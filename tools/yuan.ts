/**
 * `deno task yuan [--scale smoke|laptop|long|paper] [--resume] [--out DIR]
 *  [--stages a,b] [--datasets adl,wisdm] [--weights mtl_best.mdl]`
 *
 * Runs the Yuan et al. multi-task self-supervision experiment end to end
 * (lib/experiments/yuan) and writes its results to `results/yuan/` (long:
 * `results/yuan-long/`, smoke: `.cache/yuan/smoke`). Long stages checkpoint; `--resume` continues a
 * killed run where it stopped.
 *
 * Example (the committed long run, in the background; re-run the same
 * command after an interruption):
 *   nohup deno task yuan --scale long --resume > /tmp/yuan-long.out 2>&1 &  (the run writes results/yuan-long/run.log itself)
 */
import { parseArgs } from "node:util";
import { initBackend } from "../lib/backend/mod.ts";
import {
  runYuan,
  YUAN_SCALES,
  YUAN_STAGES,
  type YuanScale,
  yuanSpec,
  type YuanStage,
} from "../lib/experiments/yuan/mod.ts";
import type { DownstreamDataset } from "../lib/experiments/yuan/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    scale: { type: "string", default: "laptop" },
    resume: { type: "boolean", default: false },
    out: { type: "string" },
    stages: { type: "string" },
    datasets: { type: "string" },
    weights: { type: "string" },
    seed: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    "deno task yuan [--scale smoke|laptop|long|paper] [--resume] [--out DIR] [--stages " +
      YUAN_STAGES.join(",") + "] [--datasets adl,wisdm] [--weights harnet10.mdl] [--seed N]",
  );
  Deno.exit(0);
}
const scale = values.scale as YuanScale;
if (!YUAN_SCALES.includes(scale)) {
  console.error(`--scale: expected ${YUAN_SCALES.join(" | ")}, got "${scale}"`);
  Deno.exit(2);
}
const stages = values.stages?.split(",") as YuanStage[] | undefined;
for (const s of stages ?? []) {
  if (!YUAN_STAGES.includes(s)) {
    console.error(`--stages: unknown "${s}" (${YUAN_STAGES.join(", ")})`);
    Deno.exit(2);
  }
}
const spec = yuanSpec(scale, values.seed ? { seed: Number(values.seed) } : {});
const outDir = values.out ??
  (scale === "smoke"
    ? ".cache/yuan/smoke"
    : scale === "long"
    ? "results/yuan-long"
    : "results/yuan");
const info = await initBackend();
console.log(
  `yuan: scale ${scale}, out ${outDir}, resume ${values.resume}, backend ${info.summary}\n` +
    `command: deno task yuan ${Deno.args.join(" ")}`,
);
const t0 = performance.now();
const res = await runYuan(spec, {
  outDir,
  resume: values.resume,
  stages,
  datasets: values.datasets?.split(",") as DownstreamDataset[] | undefined,
  torchWeights: values.weights,
});
console.log(
  `yuan: done in ${
    ((performance.now() - t0) / 60000).toFixed(1)
  } min; ${res.outcomes.length} fold results; see ${outDir}/summary.md`,
);
