/**
 * `deno task bench`: the training benchmark (bench/train_bench.ts), then
 * the experiments' `fit` path (bench/fit_bench.ts: Yuan pre-training and
 * downstream fine-tuning through `fit`, one core and all cores, PyTorch
 * side by side when available) and, when present, the data benchmark
 * (bench/data_bench.ts) and the convolution kernel benchmark
 * (bench/conv_bench.ts). All but the training benchmark run as their own
 * process, so a failure there does not hide the other figures.
 *
 * Arguments are passed to the training benchmark (see its flags); the
 * others run with their defaults.
 * @module
 */
import { main as trainBench } from "./train_bench.ts";

/** Run `bench/<file>` in its own process; a missing file is reported and skipped. */
async function runScript(file: string, what: string): Promise<void> {
  const url = new URL(`./${file}`, import.meta.url);
  let present = false;
  try {
    present = Deno.statSync(url).isFile;
  } catch {
    present = false;
  }
  if (!present) {
    console.log(`(bench/${file} not present: skipping the ${what} benchmark)`);
    return;
  }
  console.log(`== ${what} benchmark (bench/${file})`);
  const st = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", url.pathname],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!st.success) console.error(`bench/${file} exited with code ${st.code}`);
}

for (const [file, what] of [["data_bench.ts", "data"], ["conv_bench.ts", "convolution kernel"]]) {
  await runScript(file, what);
}
console.log("== training benchmark (bench/train_bench.ts)");
await trainBench(Deno.args);
await runScript("fit_bench.ts", "experiments' fit path");
