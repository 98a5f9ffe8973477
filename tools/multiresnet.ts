/**
 * `deno task multiresnet [--scale smoke|laptop|paper] [--resume] [--out DIR]
 *  [--targets a,b] [--seeds 0,1]`
 *
 * Runs the Gjoreski et al. cross-dataset transfer experiment
 * (lib/experiments/multiresnet) and writes its pieces, `grid.json` and
 * `summary.md` to `results/multiresnet/` (paper: `results/multiresnet-paper/`,
 * smoke: `.cache/multiresnet/smoke`). Every source model and every cell is a
 * piece: `--resume` continues a killed run where it stopped.
 *
 * Example (the committed laptop run, in the background):
 *   nohup deno task multiresnet --scale laptop --resume > /tmp/multiresnet.out 2>&1 &
 */
import { cliMain, intFlag, listFlag } from "../lib/cli.ts";
import {
  type ExperimentFlags,
  parseExperimentFlags,
  runExperimentCommand,
} from "../lib/experiments/cli.ts";
import {
  MULTIRESNET_SCALES,
  type MultiResNetScale,
  multiResNetSpec,
  runMultiResNet,
  TRANSFER_DATASETS,
  type TransferDatasetName,
} from "../lib/experiments/multiresnet/mod.ts";

const USAGE = `usage: deno task multiresnet [--scale ${MULTIRESNET_SCALES.join("|")}] [--resume]
       [--out DIR] [--targets ${TRANSFER_DATASETS.join(",")}] [--seeds 0,1,2]

  --scale <s>      experiment size (default laptop)
  --resume         continue a killed run where it stopped
  --out <dir>      output folder (default results/multiresnet, results/multiresnet-paper,
                   .cache/multiresnet/smoke)
  --targets <l>    only these targets (comma-separated; default all four)
  --seeds <l>      only these seeds (comma-separated; default the scale's)`;

interface Flags extends ExperimentFlags<MultiResNetScale> {
  targets?: TransferDatasetName[];
  seeds?: number[];
}

function parse(args: string[]): Flags {
  const f = parseExperimentFlags("multiresnet", args, MULTIRESNET_SCALES, {
    targets: { type: "string" },
    seeds: { type: "string" },
  });
  const seeds = f.values.seeds as string | undefined;
  return {
    ...f,
    targets: listFlag("targets", f.values.targets as string | undefined, TRANSFER_DATASETS),
    seeds: seeds === undefined
      ? undefined
      : seeds.split(",").map((s) => intFlag("seeds", s.trim(), { min: 0 })),
  };
}

function run(f: Flags): Promise<void> {
  return runExperimentCommand("multiresnet", f, async (outDir) => {
    const res = await runMultiResNet(multiResNetSpec(f.scale), {
      outDir,
      resume: f.resume,
      targets: f.targets,
      seeds: f.seeds,
    });
    return `${res.cells.length} cells`;
  });
}

if (import.meta.main) {
  Deno.exit(await cliMain({ prog: "multiresnet", usage: USAGE, parse, run }, Deno.args));
}
