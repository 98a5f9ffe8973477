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
import { cliMain, intFlag, listFlag, parseFlags, UsageError } from "../lib/cli.ts";
import { initBackend } from "../lib/backend/mod.ts";
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

interface SelfpabFlags {
  scale: SelfpabScale;
  resume: boolean;
  out?: string;
  stages?: SelfpabStage[];
  seed?: number;
}

function parse(args: string[]): SelfpabFlags {
  const { values } = parseFlags("selfpab", args, {
    scale: { type: "string" },
    resume: { type: "boolean" },
    out: { type: "string" },
    stages: { type: "string" },
    seed: { type: "string" },
  });
  const v = values as Record<string, string | undefined>;
  const scale = (v.scale ?? "laptop") as SelfpabScale;
  if (!SELFPAB_SCALES.includes(scale)) {
    throw new UsageError(`--scale: expected ${SELFPAB_SCALES.join(" | ")}, got "${scale}"`);
  }
  return {
    scale,
    resume: values.resume === true,
    out: v.out,
    stages: listFlag("stages", v.stages, SELFPAB_STAGES),
    seed: v.seed === undefined ? undefined : intFlag("seed", v.seed, { min: 0 }),
  };
}

async function run(f: SelfpabFlags): Promise<void> {
  const spec = selfpabSpec(f.scale, f.seed !== undefined ? { seed: f.seed } : {});
  const outDir = f.out ??
    (f.scale === "smoke"
      ? ".cache/selfpab/smoke"
      : f.scale === "paper"
      ? "results/selfpab-paper"
      : "results/selfpab");
  const info = await initBackend();
  console.log(
    `selfpab: scale ${f.scale}, out ${outDir}, resume ${f.resume}, backend ${info.summary}\n` +
      `command: deno task selfpab ${Deno.args.join(" ")}`,
  );
  const t0 = performance.now();
  const res = await runSelfpab(spec, { outDir, resume: f.resume, stages: f.stages });
  console.log(
    `selfpab: done in ${
      ((performance.now() - t0) / 60000).toFixed(1)
    } min; ${res.outcomes.length} fold outcomes; see ${outDir}/summary.md`,
  );
}

if (import.meta.main) {
  Deno.exit(await cliMain({ prog: "selfpab", usage: USAGE, parse, run }, Deno.args));
}
