/**
 * `deno task dontfreeze [--scale smoke|laptop|paper] [--resume] [--out DIR]
 *  [--targets a,b] [--only table2,labels,stopping]`
 *
 * Runs the "Don't freeze" experiment (Fortes Rey et al. 2023; issue #15;
 * lib/experiments/dontfreeze) and writes its pieces, `table2.json`,
 * `labels.json`, `stopping.json` and `summary.md` to `results/dontfreeze/`
 * (paper: `results/dontfreeze-paper/`, smoke: `.cache/dontfreeze/smoke`).
 * Every pretext model and every cell is a piece: `--resume` continues a
 * killed run where it stopped.
 *
 * Example (the committed laptop run, in the background):
 *   nohup deno task dontfreeze --scale laptop --resume > /tmp/dontfreeze.out 2>&1 &
 */
import { cliMain, listFlag, parseFlags, UsageError } from "../lib/cli.ts";
import { initBackend } from "../lib/backend/mod.ts";
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

interface Flags {
  scale: DontFreezeScale;
  resume: boolean;
  out?: string;
  targets?: DontFreezeTargetName[];
}

function parse(args: string[]): Flags {
  const { values } = parseFlags("dontfreeze", args, {
    scale: { type: "string" },
    resume: { type: "boolean" },
    out: { type: "string" },
    targets: { type: "string" },
  });
  const v = values as Record<string, string | undefined>;
  const scale = (v.scale ?? "laptop") as DontFreezeScale;
  if (!DONT_FREEZE_SCALES.includes(scale)) {
    throw new UsageError(`--scale: expected ${DONT_FREEZE_SCALES.join(" | ")}, got "${scale}"`);
  }
  return {
    scale,
    resume: values.resume === true,
    out: v.out,
    targets: listFlag("targets", v.targets, DONT_FREEZE_TARGETS),
  };
}

async function run(f: Flags): Promise<void> {
  const spec = dontFreezeSpec(f.scale);
  if (f.targets) spec.data.targets = f.targets;
  const outDir = f.out ??
    (f.scale === "smoke"
      ? ".cache/dontfreeze/smoke"
      : f.scale === "paper"
      ? "results/dontfreeze-paper"
      : "results/dontfreeze");
  const info = await initBackend();
  console.log(
    `dontfreeze: scale ${f.scale}, out ${outDir}, resume ${f.resume}, backend ${info.summary}\n` +
      `command: deno task dontfreeze ${Deno.args.join(" ")}`,
  );
  const t0 = performance.now();
  const res = await runDontFreeze(spec, { outDir, resume: f.resume });
  console.log(
    `dontfreeze: done in ${
      ((performance.now() - t0) / 60000).toFixed(1)
    } min; ${res.cells.length} cells; see ${outDir}/summary.md`,
  );
}

if (import.meta.main) {
  Deno.exit(await cliMain({ prog: "dontfreeze", usage: USAGE, parse, run }, Deno.args));
}
