/** Shared test helpers: where the shared data and oracle fixtures are. */
import { join } from "node:path";
import { dataDir, exists, oracleDir } from "../lib/data/paths.ts";

/** The shared datasets folder, or null (tests then skip with a message). */
export function sharedData(sub = ""): string | null {
  const d = join(dataDir(), sub);
  if (exists(d)) return d;
  console.warn(`SKIP: dataset folder ${d} not found (set HAR_DATA_DIR to ../shared/datasets)`);
  return null;
}

/** The oracle fixtures folder, or null. */
export function oracle(sub = ""): string | null {
  const d = join(oracleDir(), sub);
  if (exists(d)) return d;
  console.warn(`SKIP: oracle fixtures ${d} not found (set HAR_FIXTURES_DIR)`);
  return null;
}

/** A fresh temporary folder, removed by the returned function. */
export async function tempDir(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix: "har-test-" });
  return { path, cleanup: () => Deno.remove(path, { recursive: true }) };
}

/** True when /usr/bin/python3 has jupyter_client + nbformat (the notebook runner's needs); else prints SKIP. */
export async function haveJupyter(): Promise<boolean> {
  const r = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", "import jupyter_client, nbformat"],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => null);
  if (r?.success) return true;
  console.warn("SKIP: /usr/bin/python3 with jupyter_client + nbformat not available");
  return false;
}

/**
 * Run `code` with `deno eval` in a child process whose environment adds
 * `env`, and return its stdout (the assertion names stderr on failure). For
 * tests of environment variables: the parallel suite's test modules share one
 * process and its environment, so setting one here would reach them too.
 */
export async function evalWithEnv(code: string, env: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`child process failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}
