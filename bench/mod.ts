/**
 * `deno task bench`: the training benchmark (bench/train_bench.ts) and, when
 * present, the data benchmark (bench/data_bench.ts, run as its own process
 * so a failure there does not hide the training figures).
 *
 * Arguments are passed to the training benchmark (see its flags).
 * @module
 */
import { main as trainBench } from "./train_bench.ts";

const dataBench = new URL("./data_bench.ts", import.meta.url);
let hasData = false;
try {
  hasData = Deno.statSync(dataBench).isFile;
} catch {
  hasData = false;
}
if (hasData) {
  console.log("== data benchmark (bench/data_bench.ts)");
  const st = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", dataBench.pathname],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!st.success) console.error(`bench/data_bench.ts exited with code ${st.code}`);
} else {
  console.log("(bench/data_bench.ts not present: skipping the data benchmark)");
}
console.log("== training benchmark (bench/train_bench.ts)");
await trainBench(Deno.args);
