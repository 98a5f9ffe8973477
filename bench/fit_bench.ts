/**
 * The experiments' training path, timed: the `fit` calls of Yuan multi-task
 * pre-training (a harnet with the `"mtl"` head on a `multitaskSource` batch
 * source, `multitaskLoss()`, Adam) and of downstream fine-tuning (the
 * `"eva"` classifier on labelled arrays, batch 64, Adam, balanced class
 * weights, per-epoch validation and early stopping), each on one core
 * (`workers: 0`) and on all cores (`workers: "auto"`, what the experiments
 * pass), with the networks and hyper-parameters of the Yuan specs
 * (`laptop`: laptop10, `paper`: harnet10) on synthetic `[N, 3, 300]`
 * windows at 30 Hz. Unlike bench/train_bench.ts (the bare step of the bench
 * models on one fixed batch), every figure here includes what `fit` does
 * around the step: batch making, host ↔ worker transfers, class weights,
 * epoch-end validation and weight pulls — the figure a user of `deno task
 * yuan` feels.
 *
 * Per row: steps/s and windows/s over the measured steps (warm-up steps
 * excluded; the mean, so epoch ends inside the measured range count), the
 * median ms between steps, the batch source's own ms per batch, the time
 * from the `fit` call to the first step (worker start-up included), the
 * process CPU time per step and, when a python imports torch
 * ({@link findTorchPython}),
 * the same training steps in PyTorch run in the same invocation
 * (bench/torch_fit_reference.py; as many threads as this process has BLAS
 * threads next to `workers: 0`, as many as workers next to the worker rows;
 * model step only, on a fixed random batch). Writes
 * `bench/fit_results.json`.
 *
 * ```sh
 * deno task bench:fit                                   # laptop + paper, both paths
 * deno run -A bench/fit_bench.ts --specs=laptop --paths=finetune --steps=5 --out=
 * deno run -A bench/fit_bench.ts --quick --specs=smoke --no-torch --out=
 * ```
 * Flags: `--specs=laptop,paper` (Yuan scales: `smoke`, `laptop`, `paper`),
 * `--paths=pretrain,finetune`, `--workers=0,auto` (numbers or `auto`;
 * `$HAR_WORKERS` overrides `auto` as in the experiments), `--steps=N`
 * (measured steps, default 10), `--warmup=N` (default 2), `--windows=N`
 * (pool / training windows, default 2048), `--val-windows=N` (fine-tuning
 * validation windows, default `windows / 7`), `--threads=N` (BLAS threads
 * of this process, default 1 so that `workers: 0` is one core; each worker
 * always runs one), `--quick` (2 steps, 1 warm-up,
 * 192 windows), `--no-torch`, `--out=FILE` (default bench/fit_results.json;
 * `--out=` to skip writing).
 * @module
 */
import { runPythonJson } from "./python_json.ts";
import * as tf from "@tensorflow/tfjs";
import { type BackendInfo, initBackend } from "../lib/backend/select.ts";
import { benchmark } from "../lib/data/benchmarks.ts";
import type { Windows } from "../lib/data/types.ts";
import { ConfigError } from "../lib/errors.ts";
import { getHarnetConfig, harnet, type HarnetConfig } from "../lib/models/harnet.ts";
import type { HarnetHead } from "../lib/models/heads.ts";
import { multitaskLoss, multitaskSource } from "../lib/pretext/multitask_source.ts";
import { rng } from "../lib/random.ts";
import type { BatchSource } from "../lib/train/batches.ts";
import { fit, type FitArgs, type FitInput } from "../lib/train/loop.ts";
import {
  YUAN_SCALES,
  type YuanScale,
  type YuanSpec,
  yuanSpec,
} from "../lib/experiments/yuan/spec.ts";
import { cpuModel, findTorchPython, loadAverage, processCpuMs } from "./train_bench.ts";

export { findTorchPython, type TorchPython } from "./train_bench.ts";

/** The two `fit` calls of the experiments. */
export type FitBenchPath = "pretrain" | "finetune";

/** Both paths, in run order. */
export const FIT_BENCH_PATHS: readonly FitBenchPath[] = ["pretrain", "finetune"];

/** The downstream benchmark whose class count the fine-tuning head gets (18 classes). */
export const FINETUNE_BENCHMARK = "wisdm-watch";

/** One row of `bench/fit_results.json`. */
export interface FitBenchResult {
  /** Which `fit` call. */
  path: FitBenchPath;
  /** Yuan spec scale whose network and hyper-parameters were used. */
  spec: YuanScale;
  /** harnet variant (`"custom"` for the smoke scale's stages). */
  model: string;
  /** `workers` as passed to `fit` (0 or `"auto"` or a number). */
  workersRequested: number | "auto";
  /** Workers `fit` trained on (`FitResult.workers`; 0 = this thread). */
  workers: number;
  /** This process's backend path (`initBackend`). */
  backend: string;
  /** Its one-line description. */
  backendSummary: string;
  /** Windows per step. */
  batch: number;
  /** Trainable parameters. */
  params: number;
  /** Windows in the pool (pre-training) or training set (fine-tuning). */
  windows: number;
  /** Fine-tuning validation windows (0 for pre-training). */
  valWindows: number;
  /** Optimiser steps per epoch. */
  stepsPerEpoch: number;
  /** Epochs `fit` ran. */
  epochs: number;
  /** Unmeasured warm-up steps (the first ones). */
  warmup: number;
  /** Measured steps (all steps after the warm-up). */
  steps: number;
  /** Measured steps / their wall time (s⁻¹): the mean, epoch ends included. */
  stepsPerSec: number;
  /** `stepsPerSec × batch` (windows trained per second). */
  windowsPerSec: number;
  /** Median wall time between consecutive measured steps (ms). */
  msPerStep: number;
  /**
   * Median time the batch source took to make one batch (ms; fine-tuning:
   * NaN, `null` in the JSON: fit gathers array rows itself).
   */
  batchMs: number;
  /** From the `fit` call to the end of the first step (ms): model set-up, worker start-up, first step. */
  firstStepMs: number;
  /** From the last step to `fit` returning (ms): the last epoch end (validation, weight pull), worker shutdown. */
  tailMs: number;
  /** Process CPU time (all threads) per measured step (ms; NaN where /proc is unreadable). */
  cpuMsPerStep: number;
  /** Loss of the first and of the last step (sanity: training moves, finite). */
  lossFirst: number;
  lossLast: number;
  /** tf.memory().numTensors after disposing the model minus before building it (must be 0). */
  tensorsLeaked: number;
  /** /proc/loadavg (1, 5, 15 min) when the row finished: the machine is shared. */
  loadAvg: number[];
  /** PyTorch median ms/step of the same step, its threads and steps/s, and torch/ours (> 1: we are faster). */
  torchMs?: number;
  torchThreads?: number;
  torchStepsPerSec?: number;
  speedVsTorch?: number;
}

/** Options of {@link runFitBench}. */
export interface FitBenchOptions {
  /** Yuan scales to take network and hyper-parameters from (default `["laptop", "paper"]`). */
  specs?: YuanScale[];
  /** `fit` calls to time (default both, {@link FIT_BENCH_PATHS}). */
  paths?: FitBenchPath[];
  /** `workers` values to pass to `fit` (default `[0, "auto"]`). */
  workers?: (number | "auto")[];
  /** Measured steps (default 10; fine-tuning rounds up to whole epochs). */
  steps?: number;
  /** Warm-up steps excluded from the figures (default 2). */
  warmup?: number;
  /** Pool size (pre-training) and training windows (fine-tuning) (default 2048). */
  windows?: number;
  /** Fine-tuning validation windows (default `round(windows / 7)`, a WISDM fold's 7:1 train:validation). */
  valWindows?: number;
  /**
   * BLAS threads of this process (default 1: the `workers: 0` rows then use
   * one core, and PyTorch runs next to them with as many threads).
   */
  threads?: number;
  /** Run the PyTorch side when a python has torch (default true). */
  torch?: boolean;
  /** Seed of the synthetic windows, the models and `fit` (default 1). */
  seed?: number;
  /** Print progress (default true). */
  verbose?: boolean;
}

/** The PyTorch side's environment, as recorded in the results file. */
export interface TorchFitInfo {
  /** True when a python could import torch ({@link findTorchPython}). */
  available: boolean;
  /** Why not, when unavailable. */
  reason?: string;
  /** The interpreter used. */
  python?: string;
  /** torch version. */
  torch?: string;
  /** BLAS libraries mapped into the python process. */
  blas?: string[];
  /** MKL-DNN (oneDNN) available to torch. */
  mkldnn?: boolean;
}

/** Options of {@link syntheticWindows}. */
export interface SyntheticWindowsArgs {
  /** Windows to make. */
  n: number;
  /** Samples per window (default 300: 10 s at 30 Hz). */
  length?: number;
  /** Sample rate (Hz, default 30). */
  rateHz?: number;
  /** Class names; each class gets its own dominant frequency (default none: all unlabelled). */
  classes?: readonly string[];
  /** Distinct subjects, assigned round-robin (default 8; the augmentation draws per subject). */
  subjects?: number;
  /** Seed (default 1). */
  seed?: number;
}

/**
 * Accelerometer-like tri-axial windows `[n, 3, length]` in g: a gravity
 * vector of random direction (1 g) plus a sinusoid per axis (0.05–0.5 g; its
 * frequency set by the class when `classes` are given, else 0.5–3 Hz) plus
 * white noise (0.02 g), so the std-weighted sampler and the transforms see
 * realistic, non-constant signals and the classes are learnable.
 *
 * @example
 * const w = syntheticWindows({ n: 256, classes: ["walk", "sit"] }); // w.x: [256, 3, 300]
 */
export function syntheticWindows(args: SyntheticWindowsArgs): Windows {
  const { n } = args;
  const length = args.length ?? 300, rateHz = args.rateHz ?? 30, channels = 3;
  const classes = [...(args.classes ?? [])];
  const subjects = args.subjects ?? 8;
  if (!(n >= 1) || !(length >= 1) || !(subjects >= 1)) {
    throw new ConfigError(
      `syntheticWindows: n ${n}, length ${length}, subjects ${subjects} must be >= 1`,
    );
  }
  const r = rng(args.seed ?? 1);
  const x = new Float32Array(n * channels * length);
  const y = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    if (classes.length) y[i] = r.int(classes.length);
    const g = [r.normal(), r.normal(), r.normal()];
    const norm = Math.hypot(...g) || 1;
    const hz = classes.length
      ? 0.5 + (2.5 * y[i]) / Math.max(1, classes.length - 1)
      : r.uniform(0.5, 3);
    for (let c = 0; c < channels; c++) {
      const amp = r.uniform(0.05, 0.5), phase = r.uniform(0, 2 * Math.PI);
      const off = (i * channels + c) * length;
      for (let t = 0; t < length; t++) {
        x[off + t] = g[c] / norm + amp * Math.sin(2 * Math.PI * hz * t / rateHz + phase) +
          0.02 * r.normal();
      }
    }
  }
  return {
    x,
    n,
    channels,
    length,
    y,
    classes,
    subject: Array.from({ length: n }, (_, i) => `s${i % subjects}`),
    rateHz,
  };
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const round1 = (v: number) => Math.round(v * 10) / 10;
const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** The network of `spec` with `head` (as the experiment builds it). */
function specModel(spec: YuanSpec, head: HarnetHead, numClasses: number | undefined, seed: number) {
  return harnet({
    variant: spec.model.variant,
    stages: spec.model.stages,
    inputSamples: spec.model.stages ? Math.round(spec.windowSec * spec.rateHz) : undefined,
    rateHz: spec.rateHz,
    head,
    numClasses,
    hiddenUnits: spec.model.hiddenUnits,
    seed,
  });
}

/** A batch source whose `batch` calls are timed into `ms`. */
function timedSource(src: BatchSource, ms: number[]): BatchSource {
  if (!src.batch) return src;
  const inner = src.batch;
  return {
    ...src,
    batch: async (ctx) => {
      const t0 = performance.now();
      const b = await inner(ctx);
      ms.push(performance.now() - t0);
      return b;
    },
  };
}

interface Prepared {
  path: FitBenchPath;
  spec: YuanSpec;
  cfg: HarnetConfig;
  batch: number;
  lr: number;
  windows: number;
  valWindows: number;
  stepsPerEpoch: number;
  epochs: number;
  make: (batchMs: number[]) => { data: FitInput; args: Omit<FitArgs, "workers"> };
  model: () => tf.LayersModel;
}

function prepare(
  path: FitBenchPath,
  spec: YuanSpec,
  o: Required<Pick<FitBenchOptions, "steps" | "warmup" | "windows" | "seed">> & {
    valWindows: number;
  },
): Prepared {
  const samples = Math.round(spec.windowSec * spec.rateHz);
  const total = o.steps + o.warmup;
  if (path === "pretrain") {
    const p = spec.pretrain;
    const pool = syntheticWindows({
      n: o.windows,
      length: samples,
      rateHz: spec.rateHz,
      seed: o.seed,
    });
    const model = () => specModel(spec, "mtl", undefined, o.seed);
    const probe = model();
    const cfg = getHarnetConfig(probe)!;
    probe.dispose();
    return {
      path,
      spec,
      cfg,
      batch: p.batchSize,
      lr: p.lr,
      windows: o.windows,
      valWindows: 0,
      stepsPerEpoch: total,
      epochs: 1,
      model,
      make: (batchMs) => ({
        // one epoch of exactly warm-up + measured steps
        data: timedSource(
          multitaskSource(pool, {
            batchSize: p.batchSize,
            seed: o.seed,
            windowsPerEpoch: p.batchSize * total,
            weighting: p.weighting,
          }),
          batchMs,
        ),
        args: {
          epochs: 1,
          optimizer: { name: "adam", lr: p.lr },
          loss: multitaskLoss(),
          seed: o.seed,
          progress: false,
        },
      }),
    };
  }
  const d = spec.downstream;
  const classes = benchmark(FINETUNE_BENCHMARK).classes;
  const mk = (n: number, seed: number) =>
    syntheticWindows({ n, length: samples, rateHz: spec.rateHz, classes, seed });
  const train = mk(o.windows, o.seed), val = mk(o.valWindows, o.seed + 1);
  const stepsPerEpoch = Math.ceil(o.windows / d.batchSize);
  const epochs = Math.max(1, Math.ceil(total / stepsPerEpoch));
  const model = () => specModel(spec, "eva", classes.length, o.seed);
  const probe = model();
  const cfg = getHarnetConfig(probe)!;
  probe.dispose();
  return {
    path,
    spec,
    cfg,
    batch: d.batchSize,
    lr: d.lr,
    windows: o.windows,
    valWindows: o.valWindows,
    stepsPerEpoch,
    epochs,
    model,
    make: () => ({
      data: train,
      args: {
        epochs,
        batchSize: d.batchSize,
        optimizer: { name: "adam", lr: d.lr },
        classWeights: "balanced",
        numClasses: classes.length,
        validation: o.valWindows > 0 ? val : undefined,
        earlyStopping: o.valWindows > 0 ? { monitor: "valLoss", patience: d.patience } : undefined,
        seed: o.seed,
        progress: false,
      },
    }),
  };
}

/** One timed `fit` call. */
async function timeFit(
  p: Prepared,
  workers: number | "auto",
  warmup: number,
  info: BackendInfo,
): Promise<FitBenchResult> {
  const tensors0 = tf.memory().numTensors;
  const model = p.model();
  const params = model.trainableWeights.reduce(
    (a, w) => a + tf.util.sizeFromShape(w.shape as number[]),
    0,
  );
  const batchMs: number[] = [];
  const { data, args } = p.make(batchMs);
  const stamps: number[] = [], cpu: number[] = [], losses: number[] = [];
  const cpu0 = processCpuMs();
  const t0 = performance.now();
  const res = await fit(model, data, {
    ...args,
    workers,
    onStep: ({ loss }) => {
      stamps.push(performance.now());
      cpu.push(processCpuMs());
      losses.push(loss);
    },
  });
  const tEnd = performance.now();
  model.dispose();
  const tensorsLeaked = tf.memory().numTensors - tensors0;
  if (stamps.length <= warmup) {
    throw new ConfigError(
      `fit bench ${p.spec.scale} ${p.path}: ${stamps.length} steps ran, more than the ${warmup} warm-up needed`,
    );
  }
  const measured = stamps.length - warmup;
  // step i's interval ends at stamps[i]; the measured ones are i = warmup..end
  const from = warmup > 0 ? stamps[warmup - 1] : t0;
  const cpuFrom = warmup > 0 ? cpu[warmup - 1] : cpu0;
  const intervals = stamps.slice(warmup).map((t, i) =>
    t - (i + warmup > 0 ? stamps[i + warmup - 1] : t0)
  );
  const seconds = (stamps[stamps.length - 1] - from) / 1000;
  const stepsPerSec = measured / seconds;
  return {
    path: p.path,
    spec: p.spec.scale,
    model: p.cfg.variant,
    workersRequested: workers,
    workers: res.workers,
    backend: info.path,
    backendSummary: info.summary,
    batch: p.batch,
    params,
    windows: p.windows,
    valWindows: p.valWindows,
    stepsPerEpoch: p.stepsPerEpoch,
    epochs: res.rows.length,
    warmup,
    steps: measured,
    stepsPerSec: round3(stepsPerSec),
    windowsPerSec: round1(stepsPerSec * p.batch),
    msPerStep: round1(median(intervals)),
    batchMs: round1(median(batchMs.slice(warmup))),
    firstStepMs: Math.round(stamps[0] - t0),
    tailMs: Math.round(tEnd - stamps[stamps.length - 1]),
    cpuMsPerStep: Math.round((cpu[cpu.length - 1] - cpuFrom) / measured),
    lossFirst: losses[0],
    lossLast: losses[losses.length - 1],
    tensorsLeaked,
    loadAvg: loadAverage(),
  };
}

/** What bench/torch_fit_reference.py prints. */
export interface TorchFitRun {
  torch: string;
  blas: string[];
  mkldnn: boolean;
  results: {
    threads: number;
    msPerStep: number;
    stepsPerSec: number;
    params: number;
    lossLast: number;
  }[];
}

/**
 * Run bench/torch_fit_reference.py for `task` on the network `cfg` at each
 * of `threads` (one BLAS thread per torch thread: `OPENBLAS_NUM_THREADS=1`
 * unless set).
 *
 * @throws Error with python's stderr when the script fails
 */
export async function runTorchFit(
  task: FitBenchPath,
  cfg: HarnetConfig,
  o: {
    /** Python with torch ({@link findTorchPython}). */
    python: string;
    batch: number;
    lr: number;
    steps: number;
    warmup: number;
    threads: number[];
    seed: number;
    /** `OPENBLAS_CORETYPE` when the environment has none (e.g. this process's BLAS core). */
    coreType?: string;
  },
): Promise<TorchFitRun> {
  return await runPythonJson<TorchFitRun>(
    o.python,
    "torch_fit_reference.py",
    [
      `--task=${task}`,
      `--config=${JSON.stringify(cfg)}`,
      `--batch=${o.batch}`,
      `--lr=${o.lr}`,
      `--steps=${o.steps}`,
      `--warmup=${o.warmup}`,
      `--threads=${o.threads.join(",")}`,
      `--seed=${o.seed}`,
    ],
    o.coreType,
    `torch_fit_reference.py --task=${task}`,
  );
}

function logRow(log: (s: string) => void, r: FitBenchResult): void {
  log(
    `${r.spec.padEnd(6)} ${r.path.padEnd(8)} ${r.model.padEnd(8)} workers ${
      String(r.workersRequested).padEnd(4)
    }→ ${r.workers}  ${r.stepsPerSec.toFixed(2).padStart(6)} steps/s  ${
      r.windowsPerSec.toFixed(0).padStart(5)
    } windows/s  ${r.msPerStep.toFixed(0).padStart(6)} ms/step (batch ${
      Number.isNaN(r.batchMs) ? "-" : r.batchMs.toFixed(0)
    } ms)  first ${r.firstStepMs} ms  cpu ${r.cpuMsPerStep} ms/step  loss ${
      r.lossFirst.toFixed(3)
    }→${r.lossLast.toFixed(3)}` +
      (r.torchMs !== undefined
        ? `  torch ${r.torchThreads}t ${r.torchMs} ms (x${r.speedVsTorch})`
        : "") +
      `  load ${r.loadAvg.join(" ")}`,
  );
}

/**
 * Run the benchmark: one row per (spec, path, workers), PyTorch figures
 * attached when available. Returns the rows and the PyTorch environment.
 */
export async function runFitBench(
  opts: FitBenchOptions = {},
): Promise<{ rows: FitBenchResult[]; backend: BackendInfo; torch: TorchFitInfo }> {
  const specs = opts.specs ?? ["laptop", "paper"];
  const paths = opts.paths ?? [...FIT_BENCH_PATHS];
  const workerList = opts.workers ?? [0, "auto"];
  const steps = opts.steps ?? 10, warmup = opts.warmup ?? 2;
  const windows = opts.windows ?? 2048;
  const valWindows = opts.valWindows ?? Math.round(windows / 7);
  const seed = opts.seed ?? 1;
  const log = (opts.verbose ?? true) ? (s: string) => console.log(s) : () => {};
  if (!(steps >= 1) || !(warmup >= 0) || !(windows >= 1) || !(valWindows >= 0)) {
    throw new ConfigError(
      `fit bench: steps ${steps} >= 1, warmup ${warmup} >= 0, windows ${windows} >= 1, valWindows ${valWindows} >= 0 expected`,
    );
  }
  for (const p of paths) {
    if (!FIT_BENCH_PATHS.includes(p)) {
      throw new ConfigError(`fit bench paths: unknown '${p}' (pretrain, finetune)`);
    }
  }
  const backend = await initBackend({ verbose: false, threads: opts.threads ?? 1 });
  const ownThreads = backend.blas?.threads ?? 1;
  const torchThreadsOf = (r: FitBenchResult) => r.workers > 0 ? r.workers : ownThreads;
  log(`== fit bench: ${backend.summary}; ${navigator.hardwareConcurrency} CPUs`);
  let torch: TorchFitInfo = { available: false, reason: "disabled (--no-torch)" };
  let python = "";
  if (opts.torch ?? true) {
    const t = await findTorchPython();
    python = t.python;
    torch = t.ok
      ? { available: true, python: t.python, torch: t.reason }
      : { available: false, reason: t.reason };
    log(
      t.ok
        ? `PyTorch ${t.reason} (${t.python}) side by side`
        : `(PyTorch side skipped: ${t.reason})`,
    );
  }
  const rows: FitBenchResult[] = [];
  for (const scale of specs) {
    const spec = yuanSpec(scale);
    for (const path of paths) {
      const p = prepare(path, spec, { steps, warmup, windows, seed, valWindows });
      const mine: FitBenchResult[] = [];
      for (const w of workerList) {
        const row = await timeFit(p, w, warmup, backend);
        mine.push(row);
      }
      if (torch.available) {
        const threads = [...new Set(mine.map(torchThreadsOf))];
        try {
          const t = await runTorchFit(path, p.cfg, {
            python,
            coreType: backend.blas?.coreName,
            batch: p.batch,
            lr: p.lr,
            steps,
            warmup,
            threads,
            seed,
          });
          torch = { ...torch, torch: t.torch, blas: t.blas, mkldnn: t.mkldnn };
          for (const r of mine) {
            const tr = t.results.find((x) => x.threads === torchThreadsOf(r));
            if (!tr) continue;
            if (tr.params !== r.params) {
              log(
                `warning: PyTorch ${scale} ${path} has ${tr.params} parameters, tfjs ${r.params}`,
              );
            }
            r.torchMs = tr.msPerStep;
            r.torchThreads = tr.threads;
            r.torchStepsPerSec = tr.stepsPerSec;
            r.speedVsTorch = round3(r.stepsPerSec / tr.stepsPerSec);
          }
        } catch (e) {
          log(`(PyTorch side failed for ${scale} ${path}: ${(e as Error).message})`);
        }
      }
      for (const r of mine) logRow(log, r);
      rows.push(...mine);
    }
  }
  return { rows, backend, torch };
}

function parseArgs(args: string[]): FitBenchOptions & { out: string } {
  const get = (k: string) => args.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
  const list = (k: string) => get(k)?.split(",").filter((s) => s);
  const num = (k: string) => {
    const v = get(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) {
      throw new ConfigError(`--${k}: a whole number >= 0, got '${v}'`);
    }
    return n;
  };
  const specs = list("specs") as YuanScale[] | undefined;
  for (const s of specs ?? []) {
    if (!YUAN_SCALES.includes(s)) {
      throw new ConfigError(`--specs: unknown '${s}' (${YUAN_SCALES.join(", ")})`);
    }
  }
  const workers = list("workers")?.map((w) => {
    if (w === "auto") return "auto" as const;
    const n = Number(w);
    if (!Number.isInteger(n) || n < 0) {
      throw new ConfigError(`--workers: 'auto' or a whole number, got '${w}'`);
    }
    return n;
  });
  const quick = args.includes("--quick");
  return {
    specs,
    paths: list("paths") as FitBenchPath[] | undefined,
    workers,
    steps: num("steps") ?? (quick ? 2 : undefined),
    warmup: num("warmup") ?? (quick ? 1 : undefined),
    windows: num("windows") ?? (quick ? 192 : undefined),
    valWindows: num("val-windows"),
    threads: num("threads"),
    torch: !args.includes("--no-torch"),
    out: get("out") ?? new URL("./fit_results.json", import.meta.url).pathname,
  };
}

/** The results document written to `bench/fit_results.json`. */
export function fitResultsDoc(
  r: { rows: FitBenchResult[]; backend: BackendInfo; torch: TorchFitInfo },
): Record<string, unknown> {
  return {
    date: new Date().toISOString(),
    cpus: navigator.hardwareConcurrency,
    cpu: cpuModel(),
    tfjs: tf.version.tfjs,
    backend: r.backend.summary,
    harWorkers: Deno.env.get("HAR_WORKERS") ?? null,
    torchReference: r.torch.available
      ? { source: "same run (bench/torch_fit_reference.py)", ...r.torch }
      : r.torch,
    results: r.rows,
  };
}

/** CLI entry: run and write JSON (see the module doc for flags). */
export async function main(args: string[] = Deno.args): Promise<FitBenchResult[]> {
  const opts = parseArgs(args);
  const r = await runFitBench(opts);
  if (opts.out) {
    await Deno.writeTextFile(opts.out, JSON.stringify(fitResultsDoc(r), null, 2) + "\n");
    console.log(`wrote ${opts.out}`);
  }
  return r.rows;
}

if (import.meta.main) await main();
