/**
 * The whole Yuan et al. experiment as one resumable run: data → multi-task
 * pre-training → the four downstream settings on ADL and WISDM → table vs
 * paper → ablations (labelled subjects; amount of unlabelled data) → UMAP.
 *
 It is a composition of the platform: the benchmarks
 * (lib/data/benchmarks.ts), the protocols (`makeFolds`), the one training
 * loop (`fit` with the multi-task batch source and loss), the downstream
 * evaluator and the experiment scaffold (run record, resumable pieces).
 *
 * Everything lands in `outDir` as soon as it is computed, atomically:
 * `run.json` (spec, commit, backend, durations, data checksums),
 * `pretrain/<name>-history.json`, `weights/<name>.bin` (`mtl`, and
 * `mtl-f<pct>` for the amount ablation),
 * `folds/<benchmark>/<setting>/<fold>.json` (one `RunResult` each),
 * `summary.{md,csv,json}`, `summary-pooled.md`, `ablations/…` +
 * `ablations/summary.json`, `umap/<dataset>.json`. Training checkpoints go
 * to `outDir/checkpoints/` (git-ignored). With `resume`, finished pieces
 * are read back instead of recomputed and an interrupted training resumes
 * from its checkpoint; a killed run loses at most the current epoch.
 *
 * @example
 * await runYuan(yuanSpec("smoke"), { outDir: ".cache/yuan/smoke", resume: true });
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { benchmarkProtocol, benchmarkWindows } from "../../data/benchmarks.ts";
import type { Windows } from "../../data/types.ts";
import { type FoldPlan, makeFolds, nSubjects, type ProtocolSpec } from "../../data/splits.ts";
import { type RunResult, summarizeRuns, summaryMarkdown } from "../../eval/run_result.ts";
import { multitaskLoss, multitaskSource } from "../../pretext/multitask_source.ts";
import { PRETEXT_TASKS } from "../../pretext/tasks.ts";
import { rng } from "../../random.ts";
import { selectWindows } from "../../signal/quality.ts";
import type { EpochRecord } from "../../train/history.ts";
import { evaluateSource, fit } from "../../train/loop.ts";
import { type BuiltinLossSpec, lossFromSpec } from "../../train/losses.ts";
import { mixSeed } from "../../train/random.ts";
import { weightedSampler, windowStd } from "../../signal/sampling.ts";
import { loadWeights, saveWeights } from "../../train/save.ts";
import { PAPER_RF_ARGS } from "../baseline.ts";
import { evaluateDownstream, type SettingSpec } from "../evaluator.ts";
import { type Experiment, startExperiment } from "../scaffold.ts";
import { buildYuanModel, encoderFeatures, loadTorchPretrained, yuanRecipe } from "./model.ts";
import {
  loadPretrainWindows,
  poolFraction,
  type PretrainDataOptions,
  splitPool,
} from "./pretrain_data.ts";
import { subjectMean, yuanMarkdown, yuanRows, yuanTable } from "./results.ts";
import { type DownstreamDataset, YUAN_BENCHMARKS, type YuanSpec } from "./spec.ts";
import { embedUmap, knnAccuracy } from "./umap.ts";

/** Stages of a run, in order. */
export type YuanStage =
  | "pretrain"
  | "downstream"
  | "ablation-subjects"
  | "umap"
  | "ablation-fractions";

/** All stages. */
export const YUAN_STAGES: readonly YuanStage[] = [
  "pretrain",
  "downstream",
  "ablation-subjects",
  "umap",
  "ablation-fractions",
];

/** Options of {@link runYuan}. */
export interface RunYuanOptions {
  /** Output folder (e.g. `results/yuan`). */
  outDir: string;
  /** Reuse finished pieces and resume checkpoints (default false: start over). */
  resume?: boolean;
  /** Stages to run (default all; later stages need `pretrain`'s weights). */
  stages?: YuanStage[];
  /** Datasets (default both). */
  datasets?: DownstreamDataset[];
  /** Data folder (default `dataDir()`). */
  dataDir?: string;
  /** Start from released PyTorch harnet weights instead of pre-training (e.g. `mtl_best.mdl`). */
  torchWeights?: string;
  /** Cache folder of the pre-training pool (default `.cache/yuan`). */
  cacheDir?: string;
  /** Progress messages (default console.error with the elapsed time). */
  log?: (msg: string) => void;
  /** Workers of every `fit` (default `"auto"`: both cores when the native backend is up). */
  workers?: number | "auto";
}

/** One point of an ablation curve. */
export interface AblationPoint {
  /** Ablation name. */
  ablation: "subjects" | "fractions";
  /** Dataset. */
  dataset: DownstreamDataset;
  /** Setting (`scratch`, `finetune`, `frozen`). */
  setting: string;
  /** x value: labelled subjects, or fraction of the unlabelled pool. */
  x: number;
  /** Macro F1 mean / sd over test subjects. */
  f1Mean: number;
  f1Sd: number;
  /** Test subjects scored. */
  n: number;
}

/** The UMAP output of one dataset. */
export interface UmapResult {
  /** Dataset. */
  dataset: DownstreamDataset;
  /** Class names. */
  classes: string[];
  /** Class per point. */
  y: number[];
  /** Subject per point. */
  subject: string[];
  /** 2-D coordinates per representation (`raw`, `random`, `ssl`). */
  embeddings: Record<string, number[][]>;
  /** Leave-one-out 5-NN accuracy per representation (before UMAP). */
  knn: Record<string, number>;
}

/** What {@link runYuan} returns (also written to `outDir/results.json`). */
export interface YuanRunResult {
  spec: YuanSpec;
  /** Pre-training curve (fit's epoch records: `train/<task>/acc`, `val/<task>/acc`, …). */
  pretrainHistory: EpochRecord[];
  /** One result per dataset, setting and fold. */
  outcomes: RunResult[];
  ablations: AblationPoint[];
  umap: UmapResult[];
  /** Windows per dataset / pool. */
  data: Record<string, unknown>;
}

async function rmrf(p: string) {
  try {
    await Deno.remove(p, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/**
 * The protocol of each downstream dataset: its benchmark's (ADL LOSO with
 * the first remaining subject as validation; WISDM subject k-fold, 7:1:2),
 * with the spec's fold count and smoke-scale truncation.
 */
export function yuanProtocol(spec: YuanSpec, dataset: DownstreamDataset): ProtocolSpec {
  const p = benchmarkProtocol(YUAN_BENCHMARKS[dataset]);
  const maxFolds = spec.downstream.maxFolds ?? undefined;
  return p.kind === "subject-kfold"
    ? { ...p, k: spec.downstream.wisdmFolds, maxFolds, name: `kfold${spec.downstream.wisdmFolds}` }
    : { ...p, maxFolds };
}

/**
 * The labelled windows of `dataset`: its benchmark's reference windows
 * (`adl5`, `wisdm-watch`), the smoke scale's subject subset applied.
 */
export async function yuanWindows(
  spec: YuanSpec,
  dataset: DownstreamDataset,
  dir?: string,
): Promise<Windows> {
  const w = await benchmarkWindows(YUAN_BENCHMARKS[dataset], { dataDir: dir });
  const keep = dataset === "adl"
    ? spec.downstream.adlSubjects && new Set(spec.downstream.adlSubjects)
    : spec.downstream.wisdmSubjects !== null &&
      new Set(
        rng(spec.seed).shuffle([...new Set(w.subject)].sort()).slice(
          0,
          spec.downstream.wisdmSubjects,
        ),
      );
  if (!keep) return w;
  const idx: number[] = [];
  for (let i = 0; i < w.n; i++) if (keep.has(w.subject[i])) idx.push(i);
  return selectWindows(w, idx);
}

/**
 * `n` windows of `w` drawn ∝ their std without replacement (ssl-wearables'
 * test loader), in index order; null when `n` is 0 or `w` is empty.
 */
export function stdDrawn(w: Windows, n: number, seed: number): Windows | null {
  const k = Math.min(n, w.n);
  if (k < 1) return null;
  const [idx] = weightedSampler(w, {
    seed: mixSeed(seed, 0x57d),
    weighting: "std",
    numSamples: k,
    batchSize: k,
    replace: false,
  });
  return selectWindows(w, Array.from(idx).sort((a, b) => a - b));
}

/**
 * The pre-training pool's loader options for `spec` (what `runYuan` and the
 * by-hand reference tools load).
 */
export function pretrainPoolOptions(
  spec: YuanSpec,
  opts: Pick<PretrainDataOptions, "dataDir" | "cacheDir" | "log"> = {},
): PretrainDataOptions {
  const p = spec.pretrain;
  return {
    sources: p.sources,
    rateHz: spec.rateHz,
    windowSec: spec.windowSec,
    stepSec: p.stepSec,
    maxWindowsPerSource: p.maxWindowsPerSource,
    seed: spec.seed,
    ...opts,
  };
}

/**
 * The pool as pre-training uses it: the spec's fraction, split (seeded) into
 * training and `valWindows` uniformly drawn held-out windows, and
 * `valStdWindows` of those drawn ∝ std (null when 0).
 */
export function pretrainHeldOut(
  spec: YuanSpec,
  pool: Windows,
): { train: Windows; val: Windows; valStd: Windows | null } {
  const p = spec.pretrain;
  const split = splitPool(poolFraction(pool, p.fraction, spec.seed), p.valWindows, spec.seed);
  return { ...split, valStd: stdDrawn(split.val, p.valStdWindows, spec.seed) };
}

/** Fraction of windows whose magnitude std is below `thresholdG` (g): nearly still. */
export function stillFraction(w: Windows, thresholdG = 0.02): number {
  if (w.n === 0) return NaN;
  return windowStd(w).reduce((a, s) => a + (s < thresholdG ? 1 : 0), 0) / w.n;
}

const DEEP: SettingSpec[] = [{ kind: "scratch" }, { kind: "frozen" }, { kind: "finetune" }];

/**
 * Run (or resume) the experiment. See the module docs.
 *
 * @throws ConfigError when resuming with a different spec.
 */
export async function runYuan(spec: YuanSpec, opts: RunYuanOptions): Promise<YuanRunResult> {
  const exp = await startExperiment({
    name: "yuan",
    spec,
    outDir: opts.outDir,
    resume: opts.resume ?? false,
    dataDir: opts.dataDir,
    cacheDir: opts.cacheDir,
    log: opts.log,
  });
  try {
    const r = await yuanBody(exp, spec, opts);
    await exp.finish();
    return r;
  } catch (e) {
    await exp.fail(e);
    throw e;
  }
}

async function yuanBody(
  exp: Experiment<YuanSpec>,
  spec: YuanSpec,
  opts: RunYuanOptions,
): Promise<YuanRunResult> {
  const out = opts.outDir;
  const log = (m: string) => exp.log(m);
  const stages = new Set(opts.stages ?? YUAN_STAGES);
  const datasets = opts.datasets ?? ["adl", "wisdm"];
  const resume = opts.resume ?? false;
  const workers = opts.workers ?? "auto";
  const ck = (name: string) => join(out, "checkpoints", name);
  if (!resume) await rmrf(join(out, "checkpoints"));
  await exp.writeJson("spec.json", spec);

  // ---------------- data ----------------
  const pool = await exp.stage("data", () =>
    loadPretrainWindows(
      pretrainPoolOptions(spec, { dataDir: exp.dataDir, cacheDir: opts.cacheDir, log }),
    ));
  // valStd: the held-out windows as ssl-wearables' test loader draws them (∝ std)
  const { valStd, ...poolSplit } = pretrainHeldOut(spec, pool.windows);
  const labelled: Partial<Record<DownstreamDataset, Windows>> = {};
  const folds: Partial<Record<DownstreamDataset, FoldPlan[]>> = {};
  for (const d of datasets) {
    const w = await exp.windows(`${d}-windows`, () => yuanWindows(spec, d, exp.dataDir), {
      spec: { benchmark: YUAN_BENCHMARKS[d], downstream: spec.downstream, seed: spec.seed },
    });
    labelled[d] = w;
    folds[d] = makeFolds(yuanProtocol(spec, d), w, spec.seed);
    log(
      `${d}: ${w.n} windows, ${new Set(w.subject).size} subjects, ${w.classes.length} classes, ${
        folds[d]!.length
      } folds`,
    );
  }
  const data = {
    pool: {
      windows: pool.windows.n,
      perSource: pool.perSource,
      train: poolSplit.train.n,
      val: poolSplit.val.n,
      valStd: valStd?.n ?? 0,
      /** Fraction of nearly still windows (magnitude std < 0.02 g) per held-out set. */
      stillFraction: {
        val: stillFraction(poolSplit.val),
        valStd: valStd ? stillFraction(valStd) : null,
      },
    },
    ...Object.fromEntries(datasets.map((d) => [d, {
      benchmark: YUAN_BENCHMARKS[d],
      windows: labelled[d]!.n,
      subjects: [...new Set(labelled[d]!.subject)].sort(),
      classes: labelled[d]!.classes,
    }])),
  };
  await exp.writeJson("data.json", data);

  // ---------------- pre-training: fit on the multi-task batch source ----------------
  const pretrainModel = async (
    train: Windows,
    name: string,
  ): Promise<{ model: tf.LayersModel; history: EpochRecord[] }> => {
    const model = buildYuanModel(spec, "mtl");
    // in weights/ (committed), not checkpoints/ (git-ignored): a later session
    // on another machine resumes the ablation without pre-training again
    const wPath = join(out, "weights", `${name}.bin`);
    const p = spec.pretrain;
    const stdLoss = lossFromSpec(multitaskLoss() as BuiltinLossSpec);
    let trained = false;
    const history = await exp.piece(`pretrain/${name}-history`, async () => {
      const res = await fit(
        model,
        multitaskSource(train, {
          batchSize: p.batchSize,
          windowsPerEpoch: p.windowsPerEpoch,
          weighting: p.weighting,
          sampling: p.sampling,
          replace: p.sampling === "pool" ? p.replace : undefined,
          subjectsPerBatch: p.sampling === "subjects" ? p.subjectsPerBatch : undefined,
          seed: spec.seed,
        }),
        {
          epochs: p.epochs,
          optimizer: { name: "adam", lr: p.lr, amsgrad: p.amsgrad },
          loss: multitaskLoss(),
          validation: poolSplit.val.n > 0
            ? multitaskSource(poolSplit.val, { seed: spec.seed, evaluation: true })
            : undefined,
          // per-task accuracy on the std-drawn held-out windows: `valstd/<task>/acc`
          validate: valStd
            ? async (m) => {
              const r = await evaluateSource(
                m,
                multitaskSource(valStd, { seed: spec.seed, evaluation: true }),
                stdLoss,
                { seed: spec.seed },
              );
              return Object.fromEntries([
                ["valstd/loss", r.loss],
                ...Object.entries(r.metrics).map(([k, v]) => [k.replace(/^val\//, "valstd/"), v]),
              ]);
            }
            : undefined,
          seed: spec.seed,
          checkpointDir: ck(`pretrain-${name}`),
          resume,
          workers,
          progress: false,
          onEpochEnd: (r) =>
            log(
              `pretrain ${name} epoch ${r.epoch}/${p.epochs}: loss ${r.trainLoss.toFixed(4)} val ${
                r.valLoss.toFixed(4)
              } acc ${
                PRETEXT_TASKS.map((t) =>
                  `${t} ${(r[`val/${t}/acc`] ?? r[`train/${t}/acc`] ?? NaN).toFixed(2)}${
                    r[`valstd/${t}/acc`] === undefined ? "" : `/${r[`valstd/${t}/acc`].toFixed(2)}`
                  }`
                ).join(" ")
              }${valStd ? " (uniform/std-drawn)" : ""} (${r.seconds.toFixed(0)} s)`,
            ),
        },
      );
      await saveWeights(model, wPath, { spec, name, trainWindows: train.n, workers: res.workers });
      trained = true;
      return res.rows;
    });
    if (!trained && !(await loadWeights(model, wPath))) {
      throw new Error(`${wPath}: missing, but ${name}'s pre-training is recorded as done`);
    }
    return { model, history };
  };

  let ssl: tf.LayersModel | null = null;
  let pretrainHistory: EpochRecord[] = [];
  if (opts.torchWeights) {
    const t = await loadTorchPretrained(spec, opts.torchWeights);
    ssl = t.model;
    log(
      `loaded ${t.result.loaded.length} tensors from ${opts.torchWeights} (heads missing: ${t.result.missing.length})`,
    );
  } else {
    const r = await exp.stage("pretrain", () => pretrainModel(poolSplit.train, "mtl"));
    ssl = r.model;
    pretrainHistory = r.history;
  }

  // ---------------- downstream: the evaluator ----------------
  const recipe = yuanRecipe(spec);
  const d = spec.downstream;
  const training = {
    epochs: d.epochs,
    frozenEpochs: d.frozenEpochs,
    batchSize: d.batchSize,
    lr: d.lr,
    patience: d.patience,
    maxTrainWindows: d.maxTrainWindows,
    standardizeFeatures: true,
    workers,
  };
  const outcomes: RunResult[] = [];
  const writeSummary = async () => {
    const rows = yuanRows(outcomes, spec);
    await exp.writeJson("summary.json", rows);
    await exp.writeText("summary.md", yuanMarkdown(rows, spec, "", outcomes));
    await exp.writeText("summary.csv", yuanTable(rows).toCSV());
  };
  const evaluate = (
    dataset: DownstreamDataset,
    settings: SettingSpec[],
    foldList: FoldPlan[],
    prefix: string,
    pretrained: tf.LayersModel | null = ssl,
  ) =>
    evaluateDownstream({
      experiment: "yuan",
      benchmark: YUAN_BENCHMARKS[dataset],
      protocol: foldList[0]?.protocol ?? "",
      windows: labelled[dataset]!,
      folds: foldList,
      settings,
      model: recipe,
      pretrained: pretrained ?? undefined,
      training,
      rf: { ...PAPER_RF_ARGS, nEstimators: d.rfTrees },
      seed: spec.seed,
      piece: (key, f) => exp.piece(`${prefix}/${key}`, f),
      checkpointDir: (key) => ck(`${prefix}/${key}`),
      log,
    });

  if (stages.has("downstream")) {
    await exp.stage("downstream", async () => {
      for (const ds of datasets) {
        const settings: SettingSpec[] = [{ kind: "rf" }, ...(ssl ? DEEP : DEEP.slice(0, 1))];
        for (const s of settings) {
          for (const o of await evaluate(ds, [s], folds[ds]!, "folds")) outcomes.push(o);
          await writeSummary();
        }
      }
    });
  }

  // ---------------- ablation: labelled subjects (WISDM) ----------------
  const ablations: AblationPoint[] = [];
  const writeAblations = () => exp.writeJson("ablations/summary.json", ablations);
  if (stages.has("ablation-subjects") && labelled.wisdm) {
    await exp.stage("ablation-subjects", async () => {
      const w = labelled.wisdm!;
      const fi = Math.min(spec.ablations.fold, folds.wisdm!.length - 1);
      const fold = folds.wisdm![fi];
      const nTrainSubjects = fold.trainSubjects.length;
      for (const n of spec.ablations.labelledSubjects) {
        const count = n <= 0 || n >= nTrainSubjects ? nTrainSubjects : n;
        for (const setting of ["scratch", "finetune"] as const) {
          if (setting === "finetune" && !ssl) continue;
          // all training subjects = the main run's fold (a finished piece)
          const [o] = count === nTrainSubjects
            ? await evaluate("wisdm", [{ kind: setting }], [fold], "folds")
            : await evaluate("wisdm", [{ kind: setting }], [{
              ...fold,
              name: `${fold.name}-n${count}`,
              train: nSubjects(w.subject, count, { seed: spec.seed + count, indices: fold.train }),
            }], "ablations/subjects");
          const m = subjectMean([o]);
          ablations.push({
            ablation: "subjects",
            dataset: "wisdm",
            setting,
            x: count,
            f1Mean: m.mean,
            f1Sd: m.sd,
            n: m.n,
          });
          log(`ablation subjects=${count} ${setting}: F1 ${m.mean.toFixed(3)}`);
          await writeAblations();
        }
      }
    });
  }

  // ---------------- UMAP ----------------
  const umap: UmapResult[] = [];
  if (stages.has("umap") && ssl) {
    await exp.stage("umap", async () => {
      const random = buildYuanModel(spec, "mtl", { seed: spec.seed + 99 });
      for (const ds of datasets) {
        const r = await exp.piece(`umap/${ds}`, () => {
          const w0 = labelled[ds]!;
          const idx = rng(spec.seed).shuffle(Array.from({ length: w0.n }, (_, i) => i))
            .slice(0, spec.umap.maxWindows).sort((a, b) => a - b);
          const w = selectWindows(w0, idx);
          const reps: Record<string, { x: Float32Array; dim: number }> = {
            raw: { x: w.x, dim: w.channels * w.length },
            random: encoderFeatures(random, w),
            ssl: encoderFeatures(ssl!, w),
          };
          const embeddings: Record<string, number[][]> = {};
          const knn: Record<string, number> = {};
          for (const [name, rep] of Object.entries(reps)) {
            embeddings[name] = embedUmap(rep.x, rep.dim, {
              seed: spec.seed,
              nNeighbors: spec.umap.nNeighbors,
              minDist: spec.umap.minDist,
              nEpochs: spec.umap.nEpochs,
            }).map((p) => p.map((v) => Math.round(v * 1e4) / 1e4));
            knn[name] = knnAccuracy(rep.x, rep.dim, w.y, 5);
            log(`umap ${ds} ${name}: ${w.n} windows, 5-NN accuracy ${knn[name].toFixed(3)}`);
          }
          return Promise.resolve({
            dataset: ds,
            classes: w.classes,
            y: Array.from(w.y),
            subject: w.subject,
            embeddings,
            knn,
          } as UmapResult);
        });
        umap.push(r);
      }
      random.dispose();
    });
  }

  // ---------------- ablation: amount of unlabelled data ----------------
  if (stages.has("ablation-fractions") && ssl) {
    await exp.stage("ablation-fractions", async () => {
      for (const f of spec.ablations.fractions) {
        const pct = Math.round(f * 100);
        let model: tf.LayersModel | null = f === 1 ? ssl : null;
        for (const ds of datasets) {
          if (!model) {
            const sub = poolFraction(poolSplit.train, f, spec.seed + 17);
            log(`ablation fraction ${pct} %: pre-training on ${sub.n} windows`);
            model = (await pretrainModel(sub, `mtl-f${pct}`)).model;
          }
          const outs = f === 1
            ? await evaluate(ds, [{ kind: "frozen" }], folds[ds]!, "folds", model)
            : await evaluate(
              ds,
              [{ kind: "frozen", name: `frozen-f${pct}` }],
              folds[ds]!,
              "ablations/fractions",
              model,
            );
          const m = subjectMean(outs);
          ablations.push({
            ablation: "fractions",
            dataset: ds,
            setting: "frozen",
            x: f,
            f1Mean: m.mean,
            f1Sd: m.sd,
            n: m.n,
          });
          log(`ablation fraction ${pct} % ${ds} frozen: F1 ${m.mean.toFixed(3)}`);
          await writeAblations();
        }
        if (model && model !== ssl) model.dispose();
      }
    });
  }

  await writeSummary();
  if (outcomes.length) {
    await exp.writeText(
      "summary-pooled.md",
      summaryMarkdown(
        summarizeRuns(outcomes, {
          bootstrap: { replicates: 1000, seed: spec.seed },
        }),
      ),
    );
  }
  const result: YuanRunResult = { spec, pretrainHistory, outcomes, ablations, umap, data };
  await exp.writeJson("results.json", {
    spec,
    data,
    pretrainHistory,
    summary: yuanRows(outcomes, spec),
    ablations,
    umapKnn: umap.map((u) => ({ dataset: u.dataset, ...u.knn })),
    finishedAt: new Date().toISOString(),
  });
  return result;
}
