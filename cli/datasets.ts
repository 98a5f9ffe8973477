/**
 * `har datasets [--dir d] [--json]`: list the dataset registry and which
 * datasets are present in the data folder.
 */
import { type CliCommand, cliMain, parseFlags, UsageError } from "../lib/cli.ts";
import { DATASETS, datasetStatus } from "../lib/data/registry.ts";
import { dataDir } from "../lib/data/paths.ts";

/** One-line description for `har --help`. */
export const summary =
  "list registered datasets and which are present: datasets [--dir d] [--json]";

/** The table `har datasets` prints. */
export async function datasetsTable(dir: string): Promise<string> {
  const status = await datasetStatus(dir);
  const rows = Object.values(DATASETS).map((d) => [
    d.name,
    status[d.name] !== null ? `yes (${status[d.name]})` : "no",
    `${d.rateHz} Hz`,
    d.placement,
    d.classes.length ? String(d.classes.length) : "-",
    d.urls.length ? "download" : "manual",
    d.title,
  ]);
  const head = ["name", "present", "rate", "placement", "classes", "get", "title"];
  const w = head.map((h, i) => rows.reduce((m, r) => Math.max(m, r[i].length), h.length));
  const fmt = (r: string[]) =>
    r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join("  ");
  return [`data folder: ${dir}`, fmt(head), ...rows.map(fmt)].join("\n");
}

const USAGE = `usage: har datasets [--dir d] [--json] [--debug]

  --dir <d>   data folder (default $HAR_DATA_DIR or ./datasets)
  --json      the registry and presence as JSON`;

/** Parsed `har datasets` arguments. */
export interface DatasetsArgs {
  /** Data folder. */
  dir: string;
  /** Print JSON instead of the table. */
  json: boolean;
}

/** Parse `har datasets` arguments. @throws UsageError naming the fault. */
export function parseDatasetsArgs(args: string[]): DatasetsArgs {
  const { values } = parseFlags("har datasets", args, {
    dir: { type: "string" },
    json: { type: "boolean" },
  });
  const dir = (values.dir as string | undefined) ?? dataDir();
  if (dir === "") throw new UsageError("--dir needs a value");
  return { dir, json: values.json === true };
}

/** `har datasets` under the shared CLI convention (lib/cli.ts). */
export const command: CliCommand<DatasetsArgs> = {
  prog: "har datasets",
  usage: USAGE,
  parse: parseDatasetsArgs,
  run: listDatasets,
};

/** Run `har datasets` with command-line `args`; errors are thrown. */
export async function run(args: string[]): Promise<void> {
  await listDatasets(parseDatasetsArgs(args));
}

/** Print the registry table (or JSON) for `dir`. */
async function listDatasets({ dir, json }: DatasetsArgs): Promise<void> {
  if (json) {
    const status = await datasetStatus(dir);
    const out = Object.values(DATASETS).map((d) => ({
      name: d.name,
      present: status[d.name] !== null,
      root: status[d.name],
      folder: d.folder,
      rateHz: d.rateHz,
      placement: d.placement,
      classes: d.classes,
      urls: d.urls,
      sha256: d.sha256,
      licence: d.licence,
      citation: d.citation,
    }));
    console.log(JSON.stringify({ dir, datasets: out }, null, 2));
  } else console.log(await datasetsTable(dir));
}

if (import.meta.main) Deno.exit(await cliMain(command, Deno.args));
