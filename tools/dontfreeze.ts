/**
 * `deno task dontfreeze [--scale smoke|laptop|paper] [--resume] [--out DIR]
 *  [--targets a,b]`
 *
 * Runs the "Don't freeze" experiment (Fortes Rey et al. 2023; issue #15;
 * lib/experiments/dontfreeze) and writes its pieces, `table2.json`,
 * `labels.json`, `table1.json`, `expectations.json` and `summary.md` to
 * `results/dontfreeze/` (paper: `results/dontfreeze-paper/`, smoke:
 * `.cache/dontfreeze/smoke`). Every pretext model and every cell is a piece:
 * `--resume` continues a killed run where it stopped.
 *
 * Example (the committed laptop run, in the background):
 *   nohup deno task dontfreeze --scale laptop --resume > /tmp/dontfreeze.out 2>&1 &
 */
import { cliMain, listFlag } from "../lib/cli.ts";
import {
  type ExperimentFlags,
  parseExperimentFlags,
  runExperimentCommand,
} from "../lib/experiments/cli.ts";
import {
  DONT_FREEZE_SCALES,
  DONT_FREEZE_TARGETS,
  type DontFreezeScale,
  dontFreezeSpec,
  type DontFreezeTargetName,
  runDontFreeze,
} from "../lib/experiments/dontfreeze/mod.ts";

const USAGE = `usage: deno task dontfreeze [--scale ${DONT_FREEZE_SCALES.join("|")}] [--resume]
       [--out DIR] [--targets ${DONT_FREEZE_TARGETS.join(",")}]

  --scale <s>      experiment size (default laptop)
  --resume         continue a killed run where it stopped
  --out <dir>      output folder (default results/dontfreeze, results/dontfreeze-paper,
                   .cache/dontfreeze/smoke)
  --targets <l>    only these targets (comma-separated; default the scale's)`;

interface Flags extends ExperimentFlags<DontFreezeScale> {
  targets?: DontFreezeTargetName[];
}

function parse(args: string[]): Flags {
  const f = parseExperimentFlags("dontfreeze", args, DONT_FREEZE_SCALES, {
    targets: { type: "string" },
  });
  return {
    ...f,
    targets: listFlag("targets", f.values.targets as string | undefined, DONT_FREEZE_TARGETS),
  };
}

function run(f: Flags): Promise<void> {
  return runExperimentCommand("dontfreeze", f, async (outDir) => {
    const spec = dontFreezeSpec(f.scale);
    if (f.targets) spec.data.targets = f.targets;
    const res = await runDontFreeze(spec, { outDir, resume: f.resume });
    return `${res.cells.length} cells`;
  });
}

if (import.meta.main) {
  Deno.exit(await cliMain({ prog: "dontfreeze", usage: USAGE, parse, run }, Deno.args));
}
