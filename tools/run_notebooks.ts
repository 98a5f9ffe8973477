/**
 * `deno task notebooks [notebook.ipynb ...] [options]`: execute notebooks
 * headlessly on the Deno Jupyter kernel, save them with their outputs, and
 * export their figures to `results/<notebook>/<figure>.{png,html}`.
 *
 * Options:
 *   --scale smoke|laptop|paper  passed to notebooks as $HAR_SCALE (default: $HAR_SCALE or smoke)
 *   --timeout SEC               per-cell timeout (default 1800)
 *   --quiet SEC                 iopub quiet period after each cell (default 0.5)
 *   --out PATH                  output folder (or .ipynb file for one notebook);
 *                               default: overwrite each notebook in place
 *   --results DIR               figure export root (default <project>/results)
 *   --no-figures                skip figure export
 *   --formats html,png          figure formats (default both)
 *   --keep-going                run the remaining notebooks after a failure
 *
 * Exit status: 0 when every notebook ran, 1 after a failing cell (the partial
 * notebook is saved and the cell index, error and traceback are printed),
 * 2 on bad arguments.
 *
 * @example
 * deno task notebooks --scale smoke notebooks/00_quickstart.ipynb --out /tmp/nb
 */
import { basename, join, resolve } from "node:path";
import { cliMain, numberFlag, UsageError } from "../lib/cli.ts";
import type { FigureFormat } from "../lib/plots/export.ts";
import {
  formatFailure,
  listNotebooks,
  type NotebookRunResult,
  runNotebook,
  type Scale,
  SCALES,
} from "./notebook_runner.ts";

/** Parsed command line. */
export interface RunNotebooksArgs {
  notebooks: string[];
  scale: Scale;
  timeoutSec: number;
  quietSec: number;
  out?: string;
  resultsDir?: string;
  figures: boolean;
  formats: FigureFormat[];
  keepGoing: boolean;
}

/** Parse the command line; throws an Error naming the bad flag. */
export function parseArgs(argv: string[]): RunNotebooksArgs {
  const envScale = Deno.env.get("HAR_SCALE");
  const a: RunNotebooksArgs = {
    notebooks: [],
    scale:
      (envScale && (SCALES as readonly string[]).includes(envScale) ? envScale : "smoke") as Scale,
    timeoutSec: 1800,
    quietSec: 0.5,
    figures: true,
    formats: ["html", "png"],
    keepGoing: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const [name, inline] = flag.startsWith("--") && flag.includes("=")
      ? [flag.slice(0, flag.indexOf("=")), flag.slice(flag.indexOf("=") + 1)]
      : [flag, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${name} needs a value`);
      return v;
    };
    const num = (): number => numberFlag(name.slice(2), value(), { min: 0, minExclusive: true });
    switch (name) {
      case "--scale": {
        const v = value();
        if (!(SCALES as readonly string[]).includes(v)) {
          throw new Error(`--scale must be one of ${SCALES.join("|")}, got "${v}"`);
        }
        a.scale = v as Scale;
        break;
      }
      case "--timeout":
        a.timeoutSec = num();
        break;
      case "--quiet":
        a.quietSec = num();
        break;
      case "--out":
        a.out = value();
        break;
      case "--results":
        a.resultsDir = value();
        break;
      case "--no-figures":
        a.figures = false;
        break;
      case "--formats": {
        const f = value().split(",").map((s) => s.trim()).filter(Boolean);
        for (const x of f) {
          if (x !== "html" && x !== "png") {
            throw new Error(`--formats takes html and/or png, got "${x}"`);
          }
        }
        a.formats = f as FigureFormat[];
        break;
      }
      case "--keep-going":
        a.keepGoing = true;
        break;
      default:
        if (name.startsWith("--")) throw new Error(`unknown option ${name}`);
        a.notebooks.push(flag);
    }
  }
  return a;
}

/** Where notebook `nb` is written given `--out` (folder, or file for a single notebook). */
export function outPath(nb: string, out: string | undefined, count: number): string {
  if (!out) return nb;
  if (out.endsWith(".ipynb")) {
    if (count > 1) throw new Error(`--out ${out} is a file but ${count} notebooks were given`);
    return out;
  }
  return join(out, basename(nb));
}

const USAGE = `usage: deno task notebooks [notebook.ipynb ...] [--scale ${SCALES.join("|")}]
       [--timeout SEC] [--quiet SEC] [--out PATH] [--results DIR] [--no-figures]
       [--formats html,png] [--keep-going] [--debug]

  --scale <s>      passed to notebooks as $HAR_SCALE (default: $HAR_SCALE or smoke)
  --timeout <s>    per-cell timeout (default 1800)
  --quiet <s>      iopub quiet period after each cell (default 0.5)
  --out <path>     output folder (or .ipynb file for one notebook); default: in place
  --results <dir>  figure export root (default <project>/results)
  --no-figures     skip figure export
  --formats <l>    figure formats (default html,png)
  --keep-going     run the remaining notebooks after a failure

Exit status: 0 when every notebook ran, 1 after a failing cell, 2 on bad arguments.`;

/** {@link parseArgs} with its errors as usage errors (exit 2). */
function parseUsage(argv: string[]): RunNotebooksArgs {
  try {
    return parseArgs(argv);
  } catch (e) {
    throw e instanceof UsageError ? e : new UsageError((e as Error).message);
  }
}

async function main(args: RunNotebooksArgs): Promise<number> {
  const notebooks = args.notebooks.length
    ? args.notebooks.map((p) => resolve(p))
    : await listNotebooks();
  if (notebooks.length === 0) {
    console.error("run_notebooks: no notebooks found");
    return 2;
  }
  let outs: string[];
  try {
    outs = notebooks.map((nb) => outPath(nb, args.out, notebooks.length));
  } catch (e) {
    console.error(`run_notebooks: ${(e as Error).message}`);
    return 2;
  }
  const results: NotebookRunResult[] = [];
  for (const [i, nb] of notebooks.entries()) {
    console.error(`[notebooks] ${nb} (scale ${args.scale})`);
    const r = await runNotebook(nb, {
      scale: args.scale,
      timeoutSec: args.timeoutSec,
      quietSec: args.quietSec,
      out: outs[i],
      resultsDir: args.resultsDir,
      exportFigures: args.figures,
      exportOptions: { formats: args.formats },
    });
    results.push(r);
    if (r.ok) {
      console.error(
        `[notebooks] ok ${basename(nb)}: ${r.cells} code cells, ${r.figures.length} figures, ` +
          `${r.seconds.toFixed(1)} s -> ${r.out}`,
      );
      for (const f of r.figures) console.error(`  ${f.png ?? ""} ${f.html ?? ""}`.trimEnd());
    } else {
      console.error(formatFailure(r));
      if (!args.keepGoing) break;
    }
  }
  const failed = results.filter((r) => !r.ok);
  if (failed.length) {
    console.error(`[notebooks] ${failed.length} of ${notebooks.length} notebook(s) failed`);
    return 1;
  }
  return 0;
}

if (import.meta.main) {
  Deno.exit(
    await cliMain({ prog: "notebooks", usage: USAGE, parse: parseUsage, run: main }, Deno.args),
  );
}
