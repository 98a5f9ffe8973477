/**
 * `har download <name> [--dir d] [--url u] [--force]`: fetch a registered
 * dataset's official archive, verify its checksum when known, and unpack it
 * into `<dir>/<folder>` (default dir: `$HAR_DATA_DIR` or `./datasets`).
 */
import { type CliCommand, cliMain, parseFlags, progressReporter, UsageError } from "../lib/cli.ts";
import { DATASETS } from "../lib/data/registry.ts";
import { downloadDataset } from "../lib/data/download.ts";
import { dataDir } from "../lib/data/paths.ts";

/** One-line description for `har --help`. */
export const summary = "download and unpack a dataset: download <name> [--dir d] [--force]";

const USAGE = `usage: har download <name>... [--dir d] [--url u] [--force] [--debug]

  <name>        registered dataset(s): ${Object.keys(DATASETS).join(", ")}
  --dir <d>     data folder (default $HAR_DATA_DIR or ./datasets)
  --url <u>     download from this URL instead of the registry's (one name only)
  --force       download again even when the dataset is present

Shows the download's progress (bytes received / total) on stderr.`;

/** Parse `har download` arguments. @throws UsageError naming the fault. */
export function parseDownloadArgs(
  args: string[],
): { names: string[]; dir: string; url?: string; force: boolean } {
  const { values, positionals: names } = parseFlags("har download", args, {
    dir: { type: "string" },
    url: { type: "string" },
    force: { type: "boolean" },
  }, true);
  const dir = (values.dir as string | undefined) ?? dataDir();
  const url = values.url as string | undefined;
  const force = values.force === true;
  if (dir === "") throw new UsageError("--dir needs a value");
  if (url === "") throw new UsageError("--url needs a value");
  if (names.length === 0) {
    throw new UsageError(
      `usage: har download <name>... [--dir d] [--force]; names: ${
        Object.keys(DATASETS).join(", ")
      }`,
    );
  }
  for (const n of names) {
    if (!(n in DATASETS)) {
      throw new UsageError(`unknown dataset "${n}" (known: ${Object.keys(DATASETS).join(", ")})`);
    }
  }
  if (url && names.length > 1) throw new UsageError("--url needs exactly one name");
  return { names, dir, url, force };
}

/** Parsed `har download` arguments. */
export type DownloadArgs = ReturnType<typeof parseDownloadArgs>;

/** Download each named dataset, with progress on stderr. */
async function runDownload({ names, dir, url, force }: DownloadArgs): Promise<void> {
  for (const name of names) {
    const progress = progressReporter(name, { unit: "bytes" });
    const r = await downloadDataset(name, dir, {
      url,
      force,
      log: (m) => console.log(m),
      progress: (received, total) => progress.update(received, total),
    }).finally(() => progress.done());
    console.log(`${name}: ready in ${r.root}${r.sha256 ? ` (sha256 ${r.sha256})` : ""}`);
  }
}

/** `har download` under the shared CLI convention (lib/cli.ts). */
export const command: CliCommand<DownloadArgs> = {
  prog: "har download",
  usage: USAGE,
  parse: parseDownloadArgs,
  run: runDownload,
};

/** Run `har download` with command-line `args`; errors are thrown. */
export async function run(args: string[]): Promise<void> {
  await runDownload(parseDownloadArgs(args));
}

if (import.meta.main) Deno.exit(await cliMain(command, Deno.args));
