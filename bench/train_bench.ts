/**
 * Training benchmark: ms/step and samples/s with Adam for each benchmark
 * model on each available backend path, the tensor count after N steps (must
 * not grow), an optional per-kernel profile, and the PyTorch reference.
 * Writes `bench/results.json`.
 *
 * ```sh
 * deno task bench:train                                  # blas + wasm, all models
 * deno run -A bench/train_bench.ts --paths=blas --models=resnet1d --steps=5 --profile
 * ```
 * Flags: `--paths=blas,wasm,cpu,tensorflow` (default `blas,wasm`; unavailable
 * ones are reported and skipped), `--models=...`, `--steps=N` (default 10),
 * `--warmup=N` (default 2), `--profile` (top kernels of one step), `--threads=N`
 * (BLAS threads; default all CPUs — use 1 on a machine shared with other jobs:
 * OpenBLAS threads busy-wait and collapse when the cores are oversubscribed),
 * `--out=FILE` (default bench/results.json; `--out=` to skip writing).
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendPath, initBackend } from "../lib/backend/select.ts";
import { BENCH_MODELS, type BenchModelName, buildBenchModel } from "./models.ts";

/** PyTorch 1.13 training-step times on this 2-core machine (from issue 4), ms. */
export const TORCH_REFERENCE_MS: Partial<Record<BenchModelName, number>> = {
  transformer: 113,
  resnet1d: 142,
  multiresnet: 85,
};

/** One benchmark row of `bench/results.json`. */
export interface TrainBenchResult {
  model: BenchModelName;
  /** Backend path (`blas`, `wasm`, `cpu`, `tensorflow`). */
  backend: BackendPath;
  /** Backend description from initBackend. */
  backendSummary: string;
  batch: number;
  params: number;
  /** Median ms per training step over the measured steps. */
  msPerStep: number;
  /** batch / (msPerStep / 1000). */
  samplesPerSec: number;
  steps: number;
  /** tf.memory().numTensors after warm-up and after the measured steps. */
  tensorsBefore: number;
  tensorsAfter: number;
  /** First and last loss (sanity: training moves). */
  lossFirst: number;
  lossLast: number;
  /** PyTorch reference ms/step and torch/ours ratio (>1: we are faster). */
  torchMs?: number;
  speedVsTorch?: number;
  /** Top kernels by time in one profiled step: [name, ms]. */
  profile?: [string, number][];
}

/** Options for {@link runTrainBench}. */
export interface TrainBenchOptions {
  paths?: BackendPath[];
  models?: BenchModelName[];
  /** Measured steps per model. Default 10. */
  steps?: number;
  /** Unmeasured warm-up steps. Default 2. */
  warmup?: number;
  /** Profile one step per kernel. Default false. */
  profile?: boolean;
  /** BLAS threads (cores). Default: all logical CPUs. */
  threads?: number;
  /** Print progress. Default true. */
  verbose?: boolean;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function profileStep(step: () => number): Promise<[string, number][]> {
  const info = await tf.profile(() => {
    step();
  });
  const by = new Map<string, number>();
  for (const k of info.kernels) {
    const t = await (k.kernelTimeMs as number | Promise<number>);
    by.set(k.name, (by.get(k.name) ?? 0) + (typeof t === "number" ? t : 0));
  }
  return [...by.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10)
    .map(([n, t]) => [n, Math.round(t * 10) / 10]);
}

/** Run the benchmark; returns one row per (model, available path). */
export async function runTrainBench(opts: TrainBenchOptions = {}): Promise<TrainBenchResult[]> {
  const paths = opts.paths ?? ["blas", "wasm"];
  const models = opts.models ?? [...BENCH_MODELS];
  const steps = opts.steps ?? 10, warmup = opts.warmup ?? 2;
  const log = (opts.verbose ?? true) ? (s: string) => console.log(s) : () => {};
  const rows: TrainBenchResult[] = [];
  for (const path of paths) {
    const info = await initBackend({ prefer: [path], verbose: false, threads: opts.threads });
    if (info.path !== path) {
      log(`skip ${path}: ${info.skipped.map((s) => s.reason).join("; ")}`);
      continue;
    }
    log(`== ${path}: ${info.summary}`);
    for (const name of models) {
      const m = buildBenchModel(name, { seed: 1 });
      let lossFirst = NaN;
      for (let i = 0; i < warmup; i++) {
        const l = m.step();
        if (i === 0) lossFirst = l;
      }
      const tensorsBefore = tf.memory().numTensors;
      const times: number[] = [];
      let lossLast = NaN;
      for (let i = 0; i < steps; i++) {
        const t0 = performance.now();
        lossLast = m.step();
        times.push(performance.now() - t0);
        if (i === 0 && warmup === 0) lossFirst = lossLast;
      }
      const tensorsAfter = tf.memory().numTensors;
      const ms = median(times);
      const torchMs = TORCH_REFERENCE_MS[name];
      const row: TrainBenchResult = {
        model: name,
        backend: path,
        backendSummary: info.summary,
        batch: m.batch,
        params: m.params,
        msPerStep: Math.round(ms * 10) / 10,
        samplesPerSec: Math.round(m.batch / (ms / 1000)),
        steps,
        tensorsBefore,
        tensorsAfter,
        lossFirst,
        lossLast,
      };
      if (torchMs) {
        row.torchMs = torchMs;
        row.speedVsTorch = Math.round((torchMs / ms) * 100) / 100;
      }
      if (opts.profile) row.profile = await profileStep(() => m.step());
      m.dispose();
      rows.push(row);
      log(
        `${name.padEnd(12)} ${path.padEnd(5)} batch ${String(m.batch).padStart(3)}  ` +
          `${row.msPerStep.toFixed(1).padStart(8)} ms/step  ${
            String(row.samplesPerSec).padStart(6)
          } samples/s  tensors ${tensorsBefore}→${tensorsAfter}` +
          (torchMs ? `  torch ${torchMs} ms (x${row.speedVsTorch})` : "") +
          `  loss ${lossFirst.toFixed(3)}→${lossLast.toFixed(3)}`,
      );
      if (row.profile) {
        log("   " + row.profile.map(([n, t]) => `${n} ${t}`).join(", "));
      }
    }
  }
  return rows;
}

function parseArgs(args: string[]): TrainBenchOptions & { out: string } {
  const get = (k: string) => args.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
  const list = <T>(k: string) => get(k)?.split(",").filter((s) => s) as T[] | undefined;
  const models = list<BenchModelName>("models");
  for (const m of models ?? []) {
    if (!BENCH_MODELS.includes(m)) throw new Error(`--models: unknown model '${m}'`);
  }
  return {
    paths: list<BackendPath>("paths"),
    models,
    steps: get("steps") ? Number(get("steps")) : undefined,
    warmup: get("warmup") ? Number(get("warmup")) : undefined,
    profile: args.includes("--profile"),
    threads: get("threads") ? Number(get("threads")) : undefined,
    out: get("out") ?? new URL("./results.json", import.meta.url).pathname,
  };
}

/** CLI entry: run and write JSON. */
export async function main(args: string[] = Deno.args): Promise<TrainBenchResult[]> {
  const opts = parseArgs(args);
  const rows = await runTrainBench(opts);
  if (opts.out) {
    const doc = {
      date: new Date().toISOString(),
      cpus: navigator.hardwareConcurrency,
      tfjs: tf.version.tfjs,
      results: rows,
    };
    await Deno.writeTextFile(opts.out, JSON.stringify(doc, null, 2) + "\n");
    console.log(`wrote ${opts.out}`);
  }
  return rows;
}

if (import.meta.main) await main();
