/**
 * The command line every scaled experiment shares (`deno task multiresnet`,
 * `deno task dontfreeze`): `--scale`, `--resume`, `--out`, the default
 * output folder of each scale, and the header / footer lines around the
 * run. Each tool adds its own flags and calls its runner.
 *
 * @example
 * ```ts
 * const parse = (args: string[]) => parseExperimentFlags("toy", args, ["smoke", "laptop"], {
 *   seeds: { type: "string" },
 * });
 * const run = (f: ExperimentFlags<"smoke" | "laptop">) =>
 *   runExperimentCommand("toy", f, async (outDir) => {
 *     const r = await runToy(toySpec(f.scale), { outDir, resume: f.resume });
 *     return `${r.cells.length} cells`;
 *   });
 * ```
 * @module
 */
import { initBackend } from "../backend/mod.ts";
import { type FlagOptions, parseFlags, UsageError } from "../cli.ts";

/** The parsed common flags, plus the tool's own raw values. */
export interface ExperimentFlags<Scale extends string> {
  /** `--scale` (default `"laptop"`). */
  scale: Scale;
  /** `--resume`: continue a killed run where it stopped. */
  resume: boolean;
  /** `--out`, or undefined for the scale's default ({@link experimentOutDir}). */
  out?: string;
  /** Every flag's raw value (the tool's own flags included). */
  values: Record<string, string | boolean | undefined>;
}

/**
 * Parse `--scale`, `--resume`, `--out` and the tool's `extra` flags.
 *
 * @throws UsageError for an unknown flag or scale
 */
export function parseExperimentFlags<Scale extends string>(
  prog: string,
  args: string[],
  scales: readonly Scale[],
  extra: FlagOptions = {},
): ExperimentFlags<Scale> {
  const { values } = parseFlags(prog, args, {
    scale: { type: "string" },
    resume: { type: "boolean" },
    out: { type: "string" },
    ...extra,
  });
  const v = values as Record<string, string | boolean | undefined>;
  const scale = (v.scale ?? "laptop") as Scale;
  if (!scales.includes(scale)) {
    throw new UsageError(`--scale: expected ${scales.join(" | ")}, got "${scale}"`);
  }
  return {
    scale,
    resume: v.resume === true,
    out: typeof v.out === "string" ? v.out : undefined,
    values: v,
  };
}

/**
 * The output folder of experiment `name` at `scale`: `out` when given, else
 * `results/<name>` (laptop: the committed run), `results/<name>-paper`, or
 * `.cache/<name>/smoke` (not committed).
 *
 * @example
 * experimentOutDir("dontfreeze", "paper"); // "results/dontfreeze-paper"
 */
export function experimentOutDir(name: string, scale: string, out?: string): string {
  if (out !== undefined) return out;
  if (scale === "smoke") return `.cache/${name}/smoke`;
  return scale === "laptop" ? `results/${name}` : `results/${name}-${scale}`;
}

/**
 * Start the backend, print what runs (scale, folder, resume, backend and the
 * command line to repeat it), run `body` on the output folder and print its
 * duration and `body`'s one-line result.
 */
export async function runExperimentCommand(
  prog: string,
  f: ExperimentFlags<string>,
  body: (outDir: string) => Promise<string>,
): Promise<void> {
  const outDir = experimentOutDir(prog, f.scale, f.out);
  const info = await initBackend();
  console.log(
    `${prog}: scale ${f.scale}, out ${outDir}, resume ${f.resume}, backend ${info.summary}\n` +
      `command: deno task ${prog} ${Deno.args.join(" ")}`,
  );
  const t0 = performance.now();
  const what = await body(outDir);
  console.log(
    `${prog}: done in ${((performance.now() - t0) / 60000).toFixed(1)} min; ${what}; ` +
      `see ${outDir}/summary.md`,
  );
}
