/**
 * Where datasets live: `$HAR_DATA_DIR` when set, else `./datasets` in the
 * project. Layout below it follows the official archives (see
 * `datasets/README.md`).
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The project root (the folder holding deno.json). */
export const PROJECT_ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The data folder: `$HAR_DATA_DIR` or `<project>/datasets`. */
export function dataDir(): string {
  return Deno.env.get("HAR_DATA_DIR") ?? join(PROJECT_ROOT, "datasets");
}

/** The folder of reference fixtures: `$HAR_FIXTURES_DIR` or `<data>/../fixtures/oracle`. */
export function oracleDir(): string {
  return Deno.env.get("HAR_FIXTURES_DIR") ?? join(dataDir(), "..", "fixtures", "oracle");
}

/** True when `path` exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
