/**
 * Data pipeline benchmark: read all WISDM watch accelerometer files, resample
 * to 30 Hz (linear, gaps > 1 s split) and cut 10 s windows with 5 s overlap.
 * Prints per-stage seconds and records (raw rows) per second, and writes
 * `bench/data_results.json`.
 *
 * @example
 * HAR_DATA_DIR=../shared/datasets deno task bench:data
 * deno run -A bench/data_bench.ts --dir /path/to/wisdm-2019/raw/watch/accel --rate 30
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { dataDir, exists, PROJECT_ROOT } from "../lib/data/paths.ts";
import type { Recording } from "../lib/data/types.ts";
import { readWisdm } from "../lib/data/wisdm.ts";
import { resample } from "../lib/signal/resample.ts";
import { makeWindowsWithReport } from "../lib/signal/windows.ts";

/** What the benchmark measured. */
export interface DataBenchResult {
  /** ISO time of the run. */
  date: string;
  /** Files read. */
  files: number;
  /** Raw rows (samples) read. */
  records: number;
  /** Samples after resampling. */
  resampledSamples: number;
  /** Contiguous segments after gap splitting. */
  segments: number;
  /** Windows produced. */
  windows: number;
  /** Seconds per stage and in total. */
  seconds: { read: number; resample: number; window: number; total: number };
  /** Raw rows per second over the whole pipeline. */
  recordsPerSec: number;
  /** Settings used. */
  settings: { rateHz: number; windowSec: number; overlapSec: number; method: string };
  /** Runtime. */
  runtime: { deno: string; v8: string; os: string; cpus: number };
}

/** Run the benchmark over every `data_*_accel_watch.txt[.gz]` in `dir`. */
export async function runDataBench(dir: string, rateHz = 30): Promise<DataBenchResult> {
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && /^data_\d+_accel_watch\.txt(\.gz)?$/.test(e.name)) {
      files.push(join(dir, e.name));
    }
  }
  files.sort();
  if (files.length === 0) throw new Error(`${dir}: no data_<pid>_accel_watch.txt files`);

  const t0 = performance.now();
  const recs: Recording[] = [];
  for (const f of files) recs.push(await readWisdm(f));
  const t1 = performance.now();
  const segs = recs.flatMap((r) => resample(r, rateHz, { method: "linear", maxGapSec: 1 }));
  const t2 = performance.now();
  const { windows, report } = makeWindowsWithReport(segs, { windowSec: 10, overlapSec: 5, rateHz });
  const t3 = performance.now();

  const records = recs.reduce((a, r) => a + r.axes[0].length, 0);
  const total = (t3 - t0) / 1000;
  const r3 = (v: number) => Number(v.toFixed(3));
  console.log(
    `dropped windows: ${JSON.stringify(report.dropped)} of ${report.total} candidates`,
  );
  return {
    date: new Date().toISOString(),
    files: files.length,
    records,
    resampledSamples: segs.reduce((a, r) => a + r.axes[0].length, 0),
    segments: segs.length,
    windows: windows.n,
    seconds: {
      read: r3((t1 - t0) / 1000),
      resample: r3((t2 - t1) / 1000),
      window: r3((t3 - t2) / 1000),
      total: r3(total),
    },
    recordsPerSec: Math.round(records / total),
    settings: { rateHz, windowSec: 10, overlapSec: 5, method: "linear" },
    runtime: {
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      os: Deno.build.os,
      cpus: navigator.hardwareConcurrency,
    },
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { dir: { type: "string" }, rate: { type: "string" }, out: { type: "string" } },
  });
  const dir = values.dir ?? join(dataDir(), "wisdm-2019", "raw", "watch", "accel");
  if (!exists(dir)) {
    console.error(`data_bench: ${dir} not found (set HAR_DATA_DIR or pass --dir)`);
    Deno.exit(1);
  }
  const res = await runDataBench(dir, values.rate ? Number(values.rate) : 30);
  console.log(
    `${res.files} files, ${res.records} records -> ${res.windows} windows: ` +
      `read ${res.seconds.read} s, resample ${res.seconds.resample} s, window ${res.seconds.window} s, ` +
      `total ${res.seconds.total} s (${res.recordsPerSec} records/s)`,
  );
  const out = values.out ?? join(PROJECT_ROOT, "bench", "data_results.json");
  await Deno.writeTextFile(out, JSON.stringify(res, null, 2) + "\n");
  console.log(`wrote ${out}`);
}
