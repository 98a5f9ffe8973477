/**
 * Run one of the bench's PyTorch reference scripts and read the JSON object
 * it prints on its last stdout line. One BLAS thread per torch thread
 * (`OPENBLAS_NUM_THREADS=1` unless set) and, when the environment has none,
 * `OPENBLAS_CORETYPE = coreType` (e.g. this process's BLAS core), so both
 * sides of a comparison use the same kernels.
 *
 * @example
 * const run = await runPythonJson<TorchReferenceRun>(python, "torch_reference.py", ["--json"]);
 * @throws Error naming the script (and its arguments' first entry) with python's stderr when it fails
 */
export async function runPythonJson<T>(
  python: string,
  script: string,
  args: string[],
  coreType?: string,
  what = script,
): Promise<T> {
  const path = new URL(`./${script}`, import.meta.url).pathname;
  const core = Deno.env.get("OPENBLAS_CORETYPE") ?? coreType;
  const out = await new Deno.Command(python, {
    args: [path, ...args],
    env: {
      OPENBLAS_NUM_THREADS: Deno.env.get("OPENBLAS_NUM_THREADS") ?? "1",
      ...(core ? { OPENBLAS_CORETYPE: core } : {}),
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`bench/${what} failed: ${dec.decode(out.stderr).trim()}`);
  }
  const lines = dec.decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as T;
}
