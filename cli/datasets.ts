/**
 * `har datasets [--dir d] [--json]`: list the dataset registry and which
 * datasets are present in the data folder.
 */
import { ConfigError } from "../lib/errors.ts";
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
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) =>
    r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join("  ");
  return [`data folder: ${dir}`, fmt(head), ...rows.map(fmt)].join("\n");
}

/** Run `har datasets`. */
export async function run(args: string[]): Promise<void> {
  let dir = dataDir(), json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--dir") {
      dir = args[++i];
      if (!dir) throw new ConfigError("har datasets: --dir needs a value");
    } else if (a.startsWith("--dir=")) dir = a.slice(6);
    else if (a === "--json") json = true;
    else throw new ConfigError(`har datasets: unknown argument ${a}`);
  }
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

if (import.meta.main) await run(Deno.args);
