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
import { cliMain, intFlag, listFlag, parseFlags, UsageError } from "../lib/cli.ts";
import { initBackend } from "../lib/backend/mod.ts";
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

interface Flags {
  scale: MultiResNetScale;
  resume: boolean;
  out?: string;
  targets?: TransferDatasetName[];
  seeds?: number[];
}

function parse(args: string[]): Flags {
  const { values } = parseFlags("multiresnet", args, {
    scale: { type: "string" },
    resume: { type: "boolean" },
    out: { type: "string" },
    targets: { type: "string" },
    seeds: { type: "string" },
  });
  const v = values as Record<string, string | undefined>;
  const scale = (v.scale ?? "laptop") as MultiResNetScale;
  if (!MULTIRESNET_SCALES.includes(scale)) {
    throw new UsageError(`--scale: expected ${MULTIRESNET_SCALES.join(" | ")}, got "${scale}"`);
  }
  return {
    scale,
    resume: values.resume === true,
    out: v.out,
    targets: listFlag("targets", v.targets, TRANSFER_DATASETS),
    seeds: v.seeds === undefined
      ? undefined
      : v.seeds.split(",").map((s) => intFlag("seeds", s.trim(), { min: 0 })),
  };
}

async function run(f: Flags): Promise<void> {
  const spec = multiResNetSpec(f.scale);
  const outDir = f.out ??
    (f.scale === "smoke"
      ? ".cache/multiresnet/smoke"
      : f.scale === "paper"
      ? "results/multiresnet-paper"
      : "results/multiresnet");
  const info = await initBackend();
  console.log(
    `multiresnet: scale ${f.scale}, out ${outDir}, resume ${f.resume}, backend ${info.summary}\n` +
      `command: deno task multiresnet ${Deno.args.join(" ")}`,
  );
  const t0 = performance.now();
  const res = await runMultiResNet(spec, {
    outDir,
    resume: f.resume,
    targets: f.targets,
    seeds: f.seeds,
  });
  console.log(
    `multiresnet: done in ${
      ((performance.now() - t0) / 60000).toFixed(1)
    } min; ${res.cells.length} cells; see ${outDir}/summary.md`,
  );
}

if (import.meta.main) {
  Deno.exit(await cliMain({ prog: "multiresnet", usage: USAGE, parse, run }, Deno.args));
}
