/**
 * `deno task yuan [--scale smoke|laptop|long|paper] [--resume] [--out DIR]
 *  [--stages a,b] [--datasets adl,wisdm] [--weights mtl_best.mdl]`
 *
 * Runs the Yuan et al. multi-task self-supervision experiment end to end
 * (lib/experiments/yuan) and writes its results to `results/yuan/` (long:
 * `results/yuan-long-v3/`, smoke: `.cache/yuan/smoke`). Long stages checkpoint; `--resume` continues a
 * killed run where it stopped.
 *
 * Example (the committed long run, in the background; re-run the same
 * command after an interruption):
 *   nohup deno task yuan --scale long --resume > /tmp/yuan-long.out 2>&1 &  (the run writes results/yuan-long-v3/run.log itself)
 */
import { cliMain, intFlag, listFlag } from "../lib/cli.ts";
import {
  type ExperimentFlags,
  parseExperimentFlags,
  runExperimentCommand,
} from "../lib/experiments/cli.ts";
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

  --scale <s>      experiment size (default laptop; long writes results/yuan-long-v3)
  --resume         continue a killed run where it stopped
  --out <dir>      output folder (default by scale: results/yuan, results/yuan-long-v3, .cache/yuan/smoke)
  --stages <list>  run only these stages (comma-separated)
  --datasets <l>   downstream datasets (comma-separated: adl, wisdm)
  --weights <f>    start from a PyTorch harnet10 checkpoint instead of pre-training
  --seed <N>       integer seed (default: the scale's)`;

/** Parsed yuan flags. */
interface YuanFlags extends ExperimentFlags<YuanScale> {
  stages?: YuanStage[];
  datasets?: DownstreamDataset[];
  weights?: string;
  seed?: number;
}

/** Where each scale's committed run lives (laptop and paper share results/yuan; long is v3: v2 is the 60-epoch run). */
const YUAN_OUT: Partial<Record<YuanScale, string>> = {
  long: "results/yuan-long-v3",
  paper: "results/yuan",
};

function parse(args: string[]): YuanFlags {
  const f = parseExperimentFlags("yuan", args, YUAN_SCALES, {
    stages: { type: "string" },
    datasets: { type: "string" },
    weights: { type: "string" },
    seed: { type: "string" },
  });
  const v = f.values as Record<string, string | undefined>;
  return {
    ...f,
    out: f.out ?? YUAN_OUT[f.scale],
    stages: listFlag("stages", v.stages, YUAN_STAGES),
    datasets: listFlag("datasets", v.datasets, DATASETS),
    weights: v.weights,
    seed: v.seed === undefined ? undefined : intFlag("seed", v.seed, { min: 0 }),
  };
}

function run(f: YuanFlags): Promise<void> {
  return runExperimentCommand("yuan", f, async (outDir) => {
    const spec = yuanSpec(f.scale, f.seed !== undefined ? { seed: f.seed } : {});
    const res = await runYuan(spec, {
      outDir,
      resume: f.resume,
      stages: f.stages,
      datasets: f.datasets,
      torchWeights: f.weights,
    });
    return `${res.outcomes.length} fold results`;
  });
}

if (import.meta.main) {
  Deno.exit(await cliMain({ prog: "yuan", usage: USAGE, parse, run }, Deno.args));
}
