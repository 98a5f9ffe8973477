/**
 * `har download <name> [--dir d] [--url u] [--force]`: fetch a registered
 * dataset's official archive, verify its checksum when known, and unpack it
 * into `<dir>/<folder>` (default dir: `$HAR_DATA_DIR` or `./datasets`).
 */
import { ConfigError } from "../lib/errors.ts";
import { DATASETS } from "../lib/data/registry.ts";
import { downloadDataset } from "../lib/data/download.ts";
import { dataDir } from "../lib/data/paths.ts";

/** One-line description for `har --help`. */
export const summary = "download and unpack a dataset: download <name> [--dir d] [--force]";

/** Parse `har download` arguments. */
export function parseDownloadArgs(
  args: string[],
): { names: string[]; dir: string; url?: string; force: boolean } {
  const names: string[] = [];
  let dir = dataDir(), url: string | undefined, force = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      if (v === undefined || v === "") throw new ConfigError(`har download: ${a} needs a value`);
      return v;
    };
    if (a === "--dir" || a.startsWith("--dir=")) dir = value();
    else if (a === "--url" || a.startsWith("--url=")) url = value();
    else if (a === "--force") force = true;
    else if (a.startsWith("-")) throw new ConfigError(`har download: unknown flag ${a}`);
    else names.push(a);
  }
  if (names.length === 0) {
    throw new ConfigError(
      `usage: har download <name>... [--dir d] [--force]; names: ${
        Object.keys(DATASETS).join(", ")
      }`,
    );
  }
  for (const n of names) {
    if (!(n in DATASETS)) {
      throw new ConfigError(`unknown dataset "${n}" (known: ${Object.keys(DATASETS).join(", ")})`);
    }
  }
  if (url && names.length > 1) throw new ConfigError("har download: --url needs exactly one name");
  return { names, dir, url, force };
}

/** Run `har download`. */
export async function run(args: string[]): Promise<void> {
  const { names, dir, url, force } = parseDownloadArgs(args);
  for (const name of names) {
    const r = await downloadDataset(name, dir, { url, force, log: (m) => console.log(m) });
    console.log(`${name}: ready in ${r.root}${r.sha256 ? ` (sha256 ${r.sha256})` : ""}`);
  }
}

if (import.meta.main) await run(Deno.args);
