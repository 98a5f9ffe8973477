/**
 * Child process for parallel_trainer_test.ts: OpenBLAS's process-wide thread
 * count around DataParallelTrainer workers (a child, because the suite's test
 * modules share one process and its OpenBLAS). Prints JSON.
 */
import { blasThreadsNow, initBackend } from "../../lib/backend/select.ts";
import { DataParallelTrainer, type DataParallelTrainerArgs } from "../../lib/backend/parallel.ts";

const info = await initBackend({ prefer: ["blas"], threads: 2, verbose: false });
if (info.path !== "blas") {
  console.log(JSON.stringify({ skip: info.skipped.map((s) => s.reason).join("; ") }));
} else {
  const args: DataParallelTrainerArgs = {
    model: {
      module: new URL("./_parallel_model.ts", import.meta.url).href,
      export: "build",
      args: { seed: 3 },
    },
    optimizer: { kind: "adam", learningRate: 1e-3 },
    workers: 2,
    backend: ["blas", "wasm", "cpu"],
    fallback: false,
  };
  const seen: Record<string, number | null> = { start: blasThreadsNow() };
  const a = await DataParallelTrainer.create(args);
  seen.workersRunning = blasThreadsNow();
  const b = await DataParallelTrainer.create(args);
  await a.dispose();
  seen.oneTrainerLeft = blasThreadsNow();
  await b.dispose();
  seen.allDisposed = blasThreadsNow();
  console.log(JSON.stringify(seen));
}
