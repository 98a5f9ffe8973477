/**
 * `deno task bench`: the training benchmark (bench/train_bench.ts) and, when
 * present, the data benchmark (bench/data_bench.ts) and the convolution
 * kernel benchmark (bench/conv_bench.ts), each run as its own process so a
 * failure there does not hide the training figures.
 *
 * Arguments are passed to the training benchmark (see its flags).
 * @module
 */
import { main as trainBench } from "./train_bench.ts";

for (const [file, what] of [["data_bench.ts", "data"], ["conv_bench.ts", "convolution kernel"]]) {
  const url = new URL(`./${file}`, import.meta.url);
  let present = false;
  try {
    present = Deno.statSync(url).isFile;
  } catch {
    present = false;
  }
  if (!present) {
    console.log(`(bench/${file} not present: skipping the ${what} benchmark)`);
    continue;
  }
  console.log(`== ${what} benchmark (bench/${file})`);
  const st = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", url.pathname],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!st.success) console.error(`bench/${file} exited with code ${st.code}`);
}
console.log("== training benchmark (bench/train_bench.ts)");
await trainBench(Deno.args);
