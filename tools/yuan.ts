/**
 * `deno task yuan [--scale smoke|laptop|long|paper] [--resume] [--out DIR]
 *  [--stages a,b] [--datasets adl,wisdm] [--weights mtl_best.mdl]`
 *
 * Runs the Yuan et al. multi-task self-supervision experiment end to end
 * (lib/experiments/yuan) and writes its results to `results/yuan/` (long:
 * `results/yuan-long-v2/`, smoke: `.cache/yuan/smoke`). Long stages checkpoint; `--resume` continues a
 * killed run where it stopped.
 *
 * Example (the committed long run, in the background; re-run the same
 * command after an interruption):
 *   nohup deno task yuan --scale long --resume > /tmp/yuan-long.out 2>&1 &  (the run writes results/yuan-long-v2/run.log itself)
 */
import { cliMain, intFlag, listFlag, parseFlags, UsageError } from "../lib/cli.ts";
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

const DATASETS: readonly DownstreamDataset[] = ["adl", "wisdm"];

const USAGE = `usage: deno task yuan [--scale ${YUAN_SCALES.join("|")}] [--resume] [--out DIR]
       [--stages ${YUAN_STAGES.join(",")}] [--datasets adl,wisdm] [--weights harnet10.mdl]
       [--seed N] [--debug]

  --scale <s>      experiment size (default laptop; long writes results/yuan-long-v2)
  --resume         continue a killed run where it stopped
  --out <dir>      output folder (default by scale: results/yuan, results/yuan-long-v2, .cache/yuan/smoke)
  --stages <list>  run only these stages (comma-separated)
  --datasets <l>   downstream datasets (comma-separated: adl, wisdm)
  --weights <f>    start from a PyTorch harnet10 checkpoint instead of pre-training
  --seed <N>       integer seed (default: the scale's)`;

/** Parsed yuan flags. */
interface YuanFlags {
  scale: YuanScale;
  resume: boolean;
  out?: string;
  stages?: YuanStage[];
  datasets?: DownstreamDataset[];
  weights?: string;
  seed?: number;
}

function parse(args: string[]): YuanFlags {
  const { values } = parseFlags("yuan", args, {
    scale: { type: "string" },
    resume: { type: "boolean" },
    out: { type: "string" },
    stages: { type: "string" },
    datasets: { type: "string" },
    weights: { type: "string" },
    seed: { type: "string" },
  });
  const v = values as Record<string, string | undefined>;
  const scale = (v.scale ?? "laptop") as YuanScale;
  if (!YUAN_SCALES.includes(scale)) {
    throw new UsageError(`--scale: expected ${YUAN_SCALES.join(" | ")}, got "${scale}"`);
  }
  return {
    scale,
    resume: values.resume === true,
    out: v.out,
    stages: listFlag("stages", v.stages, YUAN_STAGES),
    datasets: listFlag("datasets", v.datasets, DATASETS),
    weights: v.weights,
    seed: v.seed === undefined ? undefined : intFlag("seed", v.seed, { min: 0 }),
  };
}

async function run(f: YuanFlags): Promise<void> {
  const spec = yuanSpec(f.scale, f.seed !== undefined ? { seed: f.seed } : {});
  const outDir = f.out ??
    (f.scale === "smoke"
      ? ".cache/yuan/smoke"
      : f.scale === "long"
      ? "results/yuan-long-v2"
      : "results/yuan");
  const info = await initBackend();
  console.log(
    `yuan: scale ${f.scale}, out ${outDir}, resume ${f.resume}, backend ${info.summary}\n` +
      `command: deno task yuan ${Deno.args.join(" ")}`,
  );
  const t0 = performance.now();
  const res = await runYuan(spec, {
    outDir,
    resume: f.resume,
    stages: f.stages,
    datasets: f.datasets,
    torchWeights: f.weights,
  });
  console.log(
    `yuan: done in ${
      ((performance.now() - t0) / 60000).toFixed(1)
    } min; ${res.outcomes.length} fold results; see ${outDir}/summary.md`,
  );
}

if (import.meta.main) {
  Deno.exit(await cliMain({ prog: "yuan", usage: USAGE, parse, run }, Deno.args));
}
