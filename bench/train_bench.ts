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
 * Flags: `--paths=blas,wasm,cpu,tensorflow,blas-x2,wasm-x2` (default
 * `blas-x2,blas,wasm`; unavailable ones are reported and skipped; `P-xN` is
 * data-parallel training with N Web Workers each on path P with one BLAS
 * thread, see lib/backend/parallel.ts), `--models=...`, `--steps=N` (default 10),
 * `--warmup=N` (default 2), `--profile` (top kernels of one step), `--threads=N`
 * (BLAS threads; default all CPUs — use 1 on a machine shared with other jobs:
 * OpenBLAS threads busy-wait and collapse when the cores are oversubscribed),
 * `--no-torch`, `--out=FILE` (default bench/results.json; `--out=` to skip
 * writing).
 *
 * PyTorch side by side: when a python imports torch ({@link findTorchPython}),
 * bench/torch_reference.py runs the same models right after ours in the same
 * invocation (same steps and warm-up; as many torch threads as workers next
 * to a `P-xN` row, as many as this process's BLAS threads next to the others)
 * and each row's `torchMs` is its median step (`torchSource: "same run"`).
 * With `--no-torch` or no torch, the rows fall back to bench/torch_results.json
 * (an earlier run; compare only if it was made on this machine).
 * @module
 */
import { runPythonJson } from "./python_json.ts";
import * as tf from "@tensorflow/tfjs";
import { BACKEND_PATHS, type BackendPath, initBackend } from "../lib/backend/select.ts";
import { DataParallelTrainer, type HostTensor } from "../lib/backend/parallel.ts";
import {
  BENCH_MODEL_LABELS,
  BENCH_MODELS,
  benchBatch,
  type BenchModelName,
  buildBenchModel,
  DEFAULT_BATCH,
} from "./models.ts";

/**
 * A benchmark path: a backend path run in this process, or `P-xN`: N
 * data-parallel workers each running path P (e.g. `blas-x2`).
 */
export type BenchPath = BackendPath | `${BackendPath}-x${number}`;

/** Split a {@link BenchPath} into backend path and worker count (0: this process). */
export function parseBenchPath(p: string): { path: BackendPath; workers: number } {
  const m = /^([a-z]+)(?:-x(\d+))?$/.exec(p);
  const path = m?.[1] as BackendPath;
  if (!m || !BACKEND_PATHS.includes(path) || (m[2] !== undefined && Number(m[2]) < 1)) {
    throw new Error(`--paths: unknown path '${p}' (e.g. blas, wasm, cpu, blas-x2)`);
  }
  return { path, workers: m[2] === undefined ? 0 : Number(m[2]) };
}

/** CPU time (user + system) of this process so far, ms; NaN when /proc is unreadable. */
export function processCpuMs(): number {
  try {
    const f = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) * 10; // clock ticks of 10 ms
  } catch {
    return NaN;
  }
}

/** The 1/5/15-minute load averages from /proc/loadavg (empty when unreadable). */
export function loadAverage(): number[] {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).map(Number);
  } catch {
    return [];
  }
}

/**
 * PyTorch 1.13 training-step times quoted by issue 4, ms (measured on another
 * 2-core machine: AMD Zen 5, full-width AVX-512). Used only when no
 * same-machine reference ({@link loadTorchReference}) exists. (Its 85 ms
 * "Multi-ResNet" was the 2-D-conv guess, not the `multiresnet` benchmark model.)
 */
export const TORCH_REFERENCE_MS: Partial<Record<BenchModelName, number>> = {
  transformer: 113,
  resnet1d: 142,
};

/**
 * Models bench/torch_reference.py knows that have no tfjs benchmark model:
 * skipped when reading its results. `multiresnet2d-guess` is the earlier
 * 2-D-conv guess at the Multi-ResNet (rows measured before it was replaced
 * are relabelled so).
 */
export const TORCH_ONLY_MODELS: readonly string[] = ["multiresnet2d-guess"];

/** A same-machine PyTorch reference written by bench/torch_reference.py. */
export interface TorchReference {
  /** Where it was read from. */
  file: string;
  /** When it was measured (ISO date). */
  date: string;
  /** torch version. */
  torch: string;
  /** torch.set_num_threads. */
  threads: number;
  /** ms/step by model. */
  msPerStep: Partial<Record<BenchModelName, number>>;
}

/**
 * Read `bench/torch_results.json` (bench/torch_reference.py's output on this
 * machine), once per file; null when absent. A malformed file is an error
 * naming it.
 */
export function loadTorchReference(
  file = new URL("./torch_results.json", import.meta.url),
): TorchReference | null {
  const key = String(file);
  if (!torchRefCache.has(key)) torchRefCache.set(key, readTorchReference(file));
  return torchRefCache.get(key)!;
}

const torchRefCache = new Map<string, TorchReference | null>();

function readTorchReference(file: URL | string): TorchReference | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch {
    return null;
  }
  const path = file instanceof URL ? file.pathname : file;
  let j: {
    date?: string;
    torch?: string;
    threads?: number;
    results?: { model: string; msPerStep: number }[];
  };
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(j.results)) throw new Error(`${path}: no 'results' array`);
  const msPerStep: TorchReference["msPerStep"] = {};
  for (const r of j.results) {
    if (TORCH_ONLY_MODELS.includes(r.model)) continue;
    if (!BENCH_MODELS.includes(r.model as BenchModelName) || !(r.msPerStep > 0)) {
      throw new Error(`${path}: bad row ${JSON.stringify(r)}`);
    }
    msPerStep[r.model as BenchModelName] = r.msPerStep;
  }
  return {
    file: path,
    date: j.date ?? "?",
    torch: j.torch ?? "?",
    threads: j.threads ?? 0,
    msPerStep,
  };
}

/** `model name` and family/model numbers from /proc/cpuinfo ("" when unreadable). */
export function cpuModel(): string {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    const get = (k: string) => info.match(new RegExp(`^${k}\\s*:\\s*(.*)$`, "m"))?.[1] ?? "?";
    return `${get("model name")} (family ${get("cpu family")}, model ${get("model")})`;
  } catch {
    return "";
  }
}

/** The PyTorch ms/step to compare with: same machine when measured, else the issue's. */
export function torchMsFor(name: BenchModelName, ref = loadTorchReference()): number | undefined {
  return ref?.msPerStep[name] ?? TORCH_REFERENCE_MS[name];
}

/** What {@link findTorchPython} found. */
export interface TorchPython {
  /** True when one of the interpreters imports torch. */
  ok: boolean;
  /** That interpreter (empty when none). */
  python: string;
  /** Its torch version, or why none worked. */
  reason: string;
}

/**
 * The first python that imports torch, of `$HAR_PYTHON`, `/usr/bin/python3`
 * (where Debian's `python3-torch` lives, even when a pyenv shim comes first
 * on PATH) and `python3`.
 */
export async function findTorchPython(): Promise<TorchPython> {
  const env = Deno.env.get("HAR_PYTHON");
  const candidates = [...new Set([env, "/usr/bin/python3", "python3"].filter((p) => !!p))];
  const why: string[] = [];
  const dec = new TextDecoder();
  for (const python of candidates as string[]) {
    const out = await new Deno.Command(python, {
      args: ["-c", "import torch; print(torch.__version__)"],
      stdout: "piped",
      stderr: "piped",
    }).output().catch((e: Error) => ({
      success: false,
      stdout: new Uint8Array(),
      stderr: new TextEncoder().encode(e.message),
    }));
    if (out.success) return { ok: true, python, reason: dec.decode(out.stdout).trim() };
    const err = dec.decode(out.stderr).trim().split("\n");
    why.push(`${python}: ${err[err.length - 1] || "failed"}`);
  }
  return { ok: false, python: "", reason: why.join("; ") };
}

/** What bench/torch_reference.py `--json` prints (the fields read here). */
export interface TorchReferenceRun {
  date: string;
  torch: string;
  threads: number;
  cpu: string;
  mkldnn: boolean;
  blas: string[];
  results: {
    model: string;
    batch: number;
    /** Trainable parameters (compare with the tfjs model's). */
    params: number;
    /** Mean ms/step of the median run. */
    msPerStep: number;
    /** Median single step over all timed steps. */
    medianStepMs: number;
    lossLast: number;
  }[];
}

/**
 * Run bench/torch_reference.py on `models` with `threads` torch threads (one
 * BLAS thread per torch thread: `OPENBLAS_NUM_THREADS=1` unless set), one
 * run of `steps` timed steps after `warmup`.
 *
 * @throws Error with python's stderr when the script fails
 */
export async function runTorchReference(o: {
  /** Python with torch ({@link findTorchPython}). */
  python: string;
  models: string[];
  threads: number;
  steps: number;
  warmup: number;
  /** `OPENBLAS_CORETYPE` when the environment has none (e.g. this process's BLAS core). */
  coreType?: string;
}): Promise<TorchReferenceRun> {
  return await runPythonJson<TorchReferenceRun>(o.python, "torch_reference.py", [
    `--models=${o.models.join(",")}`,
    `--threads=${o.threads}`,
    `--steps=${o.steps}`,
    `--warmup=${o.warmup}`,
    "--repeats=1",
    "--json",
  ], o.coreType);
}

/** One benchmark row of `bench/results.json`. */
export interface TrainBenchResult {
  model: BenchModelName;
  /** Bench path (`blas`, `wasm`, `cpu`, `tensorflow`, or `P-xN` for N data-parallel workers). */
  backend: BenchPath;
  /** Data-parallel workers (0: trained in the benchmark's own thread). */
  workers: number;
  /** Backend description from initBackend. */
  backendSummary: string;
  batch: number;
  params: number;
  /** Median ms per training step over the measured steps. */
  msPerStep: number;
  /** batch / (msPerStep / 1000). */
  samplesPerSec: number;
  steps: number;
  /** tf.memory().numTensors after warm-up and after the measured steps (workers: the largest). */
  tensorsBefore: number;
  tensorsAfter: number;
  /** First and last loss (sanity: training moves). */
  lossFirst: number;
  lossLast: number;
  /** PyTorch reference ms/step and torch/ours ratio (>1: we are faster). */
  torchMs?: number;
  speedVsTorch?: number;
  /** Where `torchMs` comes from: this invocation, bench/torch_results.json, or issue 4. */
  torchSource?: "same run" | "bench/torch_results.json" | "issue 4";
  /** torch threads of a same-run `torchMs`. */
  torchThreads?: number;
  /** Trainable parameters of the PyTorch model (same run). */
  torchParams?: number;
  /**
   * Data-parallel rows: median over steps of the slowest worker's forward +
   * backward wall time, and of its thread CPU time (ms). CPU time well below
   * wall time means the workers waited for a core (shared machine); the CPU
   * time is what the pass costs on a free core.
   */
  workerMs?: number;
  workerCpuMs?: number;
  /**
   * CPU time of the whole process (all threads, workers included) per
   * measured step, ms (mean; NaN where /proc is unreadable). Above `msPerStep`
   * when more than one core was busy.
   */
  cpuMsPerStep: number;
  /** /proc/loadavg (1, 5, 15 min) when the row finished: the machine is shared. */
  loadAvg: number[];
  /** Top kernels by time in one profiled step: [name, ms]. */
  profile?: [string, number][];
}

/** Options for {@link runTrainBench}. */
export interface TrainBenchOptions {
  /** Paths to run, in order. Default `["blas-x2", "blas", "wasm"]`. */
  paths?: BenchPath[];
  /** Models to run. Default all. */
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
  /** Run bench/torch_reference.py side by side when a python has torch. Default true. */
  torch?: boolean;
}

/** The PyTorch side of one {@link runTrainBench} call. */
export interface TorchSideInfo {
  /** True when PyTorch ran in this invocation. */
  available: boolean;
  /** Why not, when it did not. */
  reason?: string;
  python?: string;
  torch?: string;
  blas?: string[];
  mkldnn?: boolean;
  /** torch thread counts run. */
  threads?: number[];
}

/** What the last {@link runTrainBench} found of PyTorch (for the results file). */
let lastTorchSide: TorchSideInfo = { available: false, reason: "not run" };

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
  const paths = opts.paths ?? ["blas-x2", "blas", "wasm"];
  const models = opts.models ?? [...BENCH_MODELS];
  const steps = opts.steps ?? 10, warmup = opts.warmup ?? 2;
  const log = (opts.verbose ?? true) ? (s: string) => console.log(s) : () => {};
  for (const name of models) log(`${name}: ${BENCH_MODEL_LABELS[name]}`);
  const rows: TrainBenchResult[] = [];
  /** Per row: torch threads to compare with (workers, or this process's BLAS threads). */
  const torchThreads = new Map<TrainBenchResult, number>();
  let coreType: string | undefined;
  for (const benchPath of paths) {
    const { path, workers } = parseBenchPath(benchPath);
    if (workers > 0) {
      const got = await runParallel(benchPath, path, workers, models, steps, warmup, log);
      got.forEach((r) => torchThreads.set(r, workers));
      rows.push(...got);
      continue;
    }
    const info = await initBackend({ prefer: [path], verbose: false, threads: opts.threads });
    if (info.path !== path) {
      log(`skip ${path}: ${info.skipped.map((s) => s.reason).join("; ")}`);
      continue;
    }
    coreType ??= info.blas?.coreName;
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
      const cpu0 = processCpuMs();
      for (let i = 0; i < steps; i++) {
        const t0 = performance.now();
        lossLast = m.step();
        times.push(performance.now() - t0);
        if (i === 0 && warmup === 0) lossFirst = lossLast;
      }
      const tensorsAfter = tf.memory().numTensors;
      const row = makeRow(name, path, 0, info.summary, m.batch, m.params, times, {
        cpuMsPerStep: Math.round((processCpuMs() - cpu0) / steps),
        tensorsBefore,
        tensorsAfter,
        lossFirst,
        lossLast,
      });
      if (opts.profile) row.profile = await profileStep(() => m.step());
      m.dispose();
      rows.push(row);
      torchThreads.set(row, info.blas?.threads ?? 1);
      logRow(log, row);
    }
  }
  lastTorchSide = { available: false, reason: "disabled (--no-torch)" };
  if ((opts.torch ?? true) && rows.length > 0) {
    await torchSideBySide(rows, torchThreads, { steps, warmup, coreType, log });
  }
  return rows;
}

/**
 * Run PyTorch on the rows' models, once per torch thread count, and attach
 * its median step to each row (replacing the file reference).
 */
async function torchSideBySide(
  rows: TrainBenchResult[],
  threadsOf: Map<TrainBenchResult, number>,
  o: { steps: number; warmup: number; coreType?: string; log: (s: string) => void },
): Promise<void> {
  const t = await findTorchPython();
  if (!t.ok) {
    lastTorchSide = { available: false, reason: t.reason };
    o.log(`(PyTorch side skipped: ${t.reason}; torch column from bench/torch_results.json)`);
    return;
  }
  const side: TorchSideInfo = { available: true, python: t.python, torch: t.reason, threads: [] };
  const counts = [...new Set(rows.map((r) => threadsOf.get(r)!))].sort((a, b) => a - b);
  for (const threads of counts) {
    const mine = rows.filter((r) => threadsOf.get(r) === threads);
    const models = [...new Set(mine.map((r) => r.model))];
    o.log(`== PyTorch ${t.reason}, ${threads} thread(s): ${models.join(", ")}`);
    let run: TorchReferenceRun;
    try {
      run = await runTorchReference({ python: t.python, models, threads, ...o });
    } catch (e) {
      o.log(`(PyTorch side failed: ${(e as Error).message})`);
      continue;
    }
    Object.assign(side, { torch: run.torch, blas: run.blas, mkldnn: run.mkldnn });
    side.threads!.push(threads);
    for (const r of mine) {
      const tr = run.results.find((x) => x.model === r.model);
      if (!tr) continue;
      if (tr.params !== r.params) {
        o.log(`warning: PyTorch ${r.model} has ${tr.params} parameters, tfjs ${r.params}`);
      }
      r.torchMs = tr.medianStepMs;
      r.torchThreads = threads;
      r.torchParams = tr.params;
      r.torchSource = "same run";
      r.speedVsTorch = Math.round((tr.medianStepMs / r.msPerStep) * 100) / 100;
    }
    for (const tr of run.results) {
      o.log(`torch ${tr.model.padEnd(12)} ${threads}t  ${tr.medianStepMs.toFixed(1)} ms/step`);
    }
  }
  lastTorchSide = side;
  for (const r of rows) if (r.torchSource === "same run") logRow(o.log, r);
}

function makeRow(
  name: BenchModelName,
  backend: BenchPath,
  workers: number,
  summary: string,
  batch: number,
  params: number,
  times: number[],
  r: {
    cpuMsPerStep: number;
    tensorsBefore: number;
    tensorsAfter: number;
    lossFirst: number;
    lossLast: number;
  },
): TrainBenchResult {
  const ms = median(times);
  const ref = loadTorchReference();
  const torchMs = torchMsFor(name, ref);
  const row: TrainBenchResult = {
    model: name,
    backend,
    workers,
    backendSummary: summary,
    batch,
    params,
    msPerStep: Math.round(ms * 10) / 10,
    samplesPerSec: Math.round(batch / (ms / 1000)),
    steps: times.length,
    ...r,
    loadAvg: loadAverage(),
  };
  if (torchMs) {
    row.torchMs = torchMs;
    row.speedVsTorch = Math.round((torchMs / ms) * 100) / 100;
    row.torchSource = ref?.msPerStep[name] !== undefined ? "bench/torch_results.json" : "issue 4";
  }
  return row;
}

function logRow(log: (s: string) => void, row: TrainBenchResult): void {
  log(
    `${row.model.padEnd(12)} ${row.backend.padEnd(7)} batch ${String(row.batch).padStart(3)}  ` +
      `${row.msPerStep.toFixed(1).padStart(8)} ms/step  ${
        String(row.samplesPerSec).padStart(6)
      } samples/s  tensors ${row.tensorsBefore}→${row.tensorsAfter}` +
      (row.torchMs
        ? `  torch ${row.torchMs} ms (x${row.speedVsTorch}; ${
          row.torchSource === "same run" ? `same run, ${row.torchThreads} threads` : row.torchSource
        })`
        : "") +
      `  loss ${row.lossFirst.toFixed(3)}→${row.lossLast.toFixed(3)}  load ${
        row.loadAvg.join(" ")
      }  process cpu ${row.cpuMsPerStep} ms/step` +
      (row.workerMs !== undefined
        ? `  worker pass ${row.workerMs} ms (thread cpu ${row.workerCpuMs ?? "?"} ms)`
        : ""),
  );
  if (row.profile) log("   " + row.profile.map(([n, t]) => `${n} ${t}`).join(", "));
}

const toHost = (t: tf.Tensor): HostTensor => ({
  data: (t.dataSync() as Float32Array).slice(),
  shape: t.shape.slice(),
});

/** Data-parallel rows: N workers on `path`, batch split in N shards, Adam lr 1e-3 as in-process. */
async function runParallel(
  benchPath: BenchPath,
  path: BackendPath,
  workers: number,
  models: BenchModelName[],
  steps: number,
  warmup: number,
  log: (s: string) => void,
): Promise<TrainBenchResult[]> {
  const rows: TrainBenchResult[] = [];
  await tf.ready(); // the main thread only makes the data and averages gradients
  for (const name of models) {
    const trainer = await DataParallelTrainer.create({
      model: {
        module: new URL("./models.ts", import.meta.url).href,
        export: "benchReplica",
        args: { name, seed: 1 },
      },
      optimizer: { kind: "adam", learningRate: 1e-3 },
      workers,
      backend: [path],
      fallback: false,
    });
    const bad = trainer.backends.find((b) => !b.startsWith(path === "blas" ? "wasm+blas" : path));
    if (bad) {
      await trainer.dispose();
      log(`skip ${benchPath}: a worker could not use '${path}' (${bad})`);
      return rows;
    }
    if (name === models[0]) log(`== ${benchPath}: ${workers} workers × ${trainer.backends[0]}`);
    const batch = DEFAULT_BATCH[name];
    const data = benchBatch(name, batch, 1);
    const xs = data.inputs.map(toHost), ys = data.targets.map(toHost);
    tf.dispose([...data.inputs, ...data.targets]);
    const w0 = await trainer.getWeights();
    const params = w0.trainable.reduce((a, w) => a + w.length, 0);
    let lossFirst = NaN, lossLast = NaN;
    for (let i = 0; i < warmup; i++) {
      const r = await trainer.step(xs, ys);
      if (i === 0) lossFirst = r.loss;
    }
    const tensorsBefore = Math.max(...await trainer.numTensors());
    const times: number[] = [], wMs: number[] = [], wCpu: number[] = [];
    let numTensors: number[] = [];
    const cpu0 = processCpuMs();
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      const r = await trainer.step(xs, ys);
      times.push(performance.now() - t0);
      wMs.push(Math.max(...r.workerMs));
      wCpu.push(Math.max(...r.workerCpuMs));
      lossLast = r.loss;
      numTensors = r.numTensors;
      if (i === 0 && warmup === 0) lossFirst = lossLast;
    }
    const cpuMsPerStep = Math.round((processCpuMs() - cpu0) / steps);
    const drift = await trainer.maxReplicaDifference();
    await trainer.dispose();
    if (drift !== 0) log(`warning: ${name} replicas differ by ${drift}`);
    const row = makeRow(
      name,
      benchPath,
      workers,
      `${workers}× ${trainer.backends[0]}`,
      batch,
      params,
      times,
      {
        tensorsBefore,
        cpuMsPerStep,
        tensorsAfter: Math.max(...numTensors),
        lossFirst,
        lossLast,
      },
    );
    row.workerMs = Math.round(median(wMs));
    if (wCpu.every(Number.isFinite)) row.workerCpuMs = Math.round(median(wCpu));
    rows.push(row);
    logRow(log, row);
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
    paths: list<BenchPath>("paths"),
    models,
    steps: get("steps") ? Number(get("steps")) : undefined,
    warmup: get("warmup") ? Number(get("warmup")) : undefined,
    profile: args.includes("--profile"),
    threads: get("threads") ? Number(get("threads")) : undefined,
    torch: !args.includes("--no-torch"),
    out: get("out") ?? new URL("./results.json", import.meta.url).pathname,
  };
}

/** CLI entry: run and write JSON. */
export async function main(args: string[] = Deno.args): Promise<TrainBenchResult[]> {
  const opts = parseArgs(args);
  const rows = await runTrainBench(opts);
  if (opts.out) {
    const ref = loadTorchReference();
    const doc = {
      date: new Date().toISOString(),
      cpus: navigator.hardwareConcurrency,
      cpu: cpuModel(),
      tfjs: tf.version.tfjs,
      models: Object.fromEntries(
        [...new Set(rows.map((r) => r.model))].map((m) => [m, BENCH_MODEL_LABELS[m]]),
      ),
      torchReference: lastTorchSide.available
        ? { source: "same run (bench/torch_reference.py)", ...lastTorchSide }
        : ref
        ? {
          source: "same machine (bench/torch_reference.py)",
          ...ref,
          file: "bench/torch_results.json",
        }
        : { source: "issue 4 (another machine)", msPerStep: TORCH_REFERENCE_MS },
      results: rows,
    };
    await Deno.writeTextFile(opts.out, JSON.stringify(doc, null, 2) + "\n");
    console.log(`wrote ${opts.out}`);
  }
  return rows;
}

if (import.meta.main) await main();
