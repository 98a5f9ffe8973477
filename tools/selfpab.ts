/**
 * `deno task selfpab [--scale smoke|laptop|paper] [--resume] [--out DIR]
 *  [--stages dual,thigh,amount] [--seed N]`
 *
 * Runs the SelfPAB experiment (lib/experiments/selfpab) on the data we have:
 * dual-sensor Daphnet freeze detection, thigh-only MobiFall ADL and WISDM
 * phone, the pre-training-amount curve. Writes `results/selfpab/` (laptop;
 * paper: `results/selfpab-paper/`; smoke: `.cache/selfpab/smoke`). Every
 * pre-training and every (setting, fold) is a piece: `--resume` continues
 * a killed run where it stopped.
 *
 * Example (the committed laptop run, in the background; re-run the same
 * command after an interruption):
 *   nohup deno task selfpab --scale laptop --resume > /tmp/selfpab.out 2>&1 &
 *   (the run writes results/selfpab/run.log itself)
 */
import { cliMain, intFlag, listFlag } from "../lib/cli.ts";
import {
  type ExperimentFlags,
  parseExperimentFlags,
  runExperimentCommand,
} from "../lib/experiments/cli.ts";
import {
  runSelfpab,
  SELFPAB_SCALES,
  SELFPAB_STAGES,
  type SelfpabScale,
  selfpabSpec,
  type SelfpabStage,
} from "../lib/experiments/selfpab/mod.ts";

const USAGE = `usage: deno task selfpab [--scale ${SELFPAB_SCALES.join("|")}] [--resume] [--out DIR]
       [--stages ${SELFPAB_STAGES.join(",")}] [--seed N] [--debug]

  --scale <s>      experiment size (default laptop)
  --resume         continue a killed run where it stopped
  --out <dir>      output folder (default by scale: results/selfpab, results/selfpab-paper, .cache/selfpab/smoke)
  --stages <list>  run only these stages (comma-separated)
  --seed <N>       integer seed (default: the scale's)`;

interface SelfpabFlags extends ExperimentFlags<SelfpabScale> {
  stages?: SelfpabStage[];
  seed?: number;
}

function parse(args: string[]): SelfpabFlags {
  const f = parseExperimentFlags("selfpab", args, SELFPAB_SCALES, {
    stages: { type: "string" },
    seed: { type: "string" },
  });
  const seed = f.values.seed as string | undefined;
  return {
    ...f,
    stages: listFlag("stages", f.values.stages as string | undefined, SELFPAB_STAGES),
    seed: seed === undefined ? undefined : intFlag("seed", seed, { min: 0 }),
  };
}

function run(f: SelfpabFlags): Promise<void> {
  return runExperimentCommand("selfpab", f, async (outDir) => {
    const spec = selfpabSpec(f.scale, f.seed !== undefined ? { seed: f.seed } : {});
    const res = await runSelfpab(spec, { outDir, resume: f.resume, stages: f.stages });
    return `${res.outcomes.length} fold outcomes`;
  });
}

if (import.meta.main) {
  Deno.exit(await cliMain({ prog: "selfpab", usage: USAGE, parse, run }, Deno.args));
}
