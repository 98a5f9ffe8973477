/**
 * The whole Yuan et al. experiment as one resumable run: data → multi-task
 * pre-training → the four downstream settings on ADL and WISDM → table vs
 * paper → ablations (labelled subjects; amount of unlabelled data) → UMAP.
 *
 * Everything lands in `outDir` as soon as it is computed, atomically:
 * `spec.json`, `pretrain/history.json`, `weights/mtl.bin`,
 * `folds/<dataset>/<setting>/fold<k>.json`, `summary.{md,csv,json}`,
 * `ablations/{subjects,fractions}/*.json` + `ablations/summary.json`,
 * `umap/<dataset>.json`. Training checkpoints go to `outDir/checkpoints/`
 * (git-ignored). With `resume`, finished pieces are read back instead of
 * recomputed and an interrupted training resumes from its checkpoint; a
 * killed run loses at most the current epoch.
 *
 * @example
 * await runYuan(yuanSpec("smoke"), { outDir: ".cache/yuan/smoke", resume: true });
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import type { Windows } from "../../data/types.ts";
import { nSubjects } from "../../data/splits.ts";
import { ConfigError } from "../../errors.ts";
import { rng } from "../../random.ts";
import { selectWindows } from "../../signal/quality.ts";
import { writeTextAtomic } from "../../eval/tables.ts";
import {
  downstreamFolds,
  downstreamWindows,
  encoderFeatures,
  type FoldOutcome,
  runDeepFold,
  runFrozenFold,
  runRfFolds,
} from "./downstream.ts";
import { loadPretrainWindows, poolFraction, splitPool } from "./pretrain_data.ts";
import {
  buildYuanModel,
  loadTorchPretrained,
  loadWeights,
  type PretrainEpoch,
  pretrainMultitask,
  saveWeights,
} from "./pretrain.ts";
import { readJson, subjectMean, writeJson, yuanMarkdown, yuanRows, yuanTable } from "./results.ts";
import type { DownstreamDataset, YuanSpec } from "./spec.ts";
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
  /** Progress messages (default console.log with a timestamp). */
  log?: (msg: string) => void;
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
  pretrainHistory: PretrainEpoch[];
  outcomes: FoldOutcome[];
  ablations: AblationPoint[];
  umap: UmapResult[];
  /** Windows per dataset / pool. */
  data: Record<string, unknown>;
}

const ts = () => new Date().toISOString().slice(11, 19);

async function rmrf(p: string) {
  try {
    await Deno.remove(p, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/**
 * Run (or resume) the experiment. See the module docs.
 *
 * @throws ConfigError when resuming with a different spec.
 */
export async function runYuan(spec: YuanSpec, opts: RunYuanOptions): Promise<YuanRunResult> {
  const out = opts.outDir;
  const log = opts.log ?? ((m: string) => console.log(`[${ts()}] ${m}`));
  const stages = new Set(opts.stages ?? YUAN_STAGES);
  const datasets = opts.datasets ?? ["adl", "wisdm"];
  const resume = opts.resume ?? false;
  const specPath = join(out, "spec.json");
  if (resume) {
    const old = await readJson<YuanSpec>(specPath);
    if (old && JSON.stringify(old) !== JSON.stringify(spec)) {
      throw new ConfigError(
        `${specPath}: written for a different spec (scale ${old.scale}); resume with the same spec or start over without --resume`,
      );
    }
  } else {
    for (const d of ["pretrain", "weights", "folds", "ablations", "umap", "checkpoints"]) {
      await rmrf(join(out, d));
    }
  }
  await writeJson(specPath, spec);
  const ck = (name: string) => join(out, "checkpoints", name);

  // ---------------- data ----------------
  const pool = await loadPretrainWindows({
    sources: spec.pretrain.sources,
    rateHz: spec.rateHz,
    windowSec: spec.windowSec,
    stepSec: spec.pretrain.stepSec,
    maxWindowsPerSource: spec.pretrain.maxWindowsPerSource,
    seed: spec.seed,
    dataDir: opts.dataDir,
    cacheDir: opts.cacheDir,
    log,
  });
  const poolSplit = splitPool(
    poolFraction(pool.windows, spec.pretrain.fraction, spec.seed),
    spec.pretrain.valWindows,
    spec.seed,
  );
  const labelled: Partial<Record<DownstreamDataset, Windows>> = {};
  for (const d of datasets) {
    labelled[d] = await downstreamWindows(spec, d, opts.dataDir);
    log(
      `${d}: ${labelled[d]!.n} windows, ${new Set(labelled[d]!.subject).size} subjects, ${
        labelled[d]!.classes.length
      } classes`,
    );
  }
  const data = {
    pool: {
      windows: pool.windows.n,
      perSource: pool.perSource,
      train: poolSplit.train.n,
      val: poolSplit.val.n,
    },
    ...Object.fromEntries(datasets.map((d) => [d, {
      windows: labelled[d]!.n,
      subjects: [...new Set(labelled[d]!.subject)].sort(),
      classes: labelled[d]!.classes,
    }])),
  };
  await writeJson(join(out, "data.json"), data);

  // ---------------- pre-training ----------------
  const pretrainModel = async (
    train: Windows,
    name: string,
  ): Promise<{ model: tf.LayersModel; history: PretrainEpoch[] }> => {
    const model = buildYuanModel(spec, "mtl");
    const wPath = name === "mtl" ? join(out, "weights", "mtl.bin") : ck(`${name}.bin`);
    const hPath = join(out, "pretrain", `${name}-history.json`);
    if (resume) {
      const meta = await loadWeights(model, wPath);
      const h = await readJson<PretrainEpoch[]>(hPath);
      if (meta && h) {
        log(`pretrain ${name}: weights loaded from ${wPath}`);
        return { model, history: h };
      }
    }
    const p = spec.pretrain;
    const res = await pretrainMultitask(model, train, {
      epochs: p.epochs,
      windowsPerEpoch: p.windowsPerEpoch,
      batchSize: p.batchSize,
      lr: p.lr,
      weighting: p.weighting,
      validation: poolSplit.val,
      seed: spec.seed,
      checkpointDir: ck(`pretrain-${name}`),
      resume,
      log: (m) => log(`${name}: ${m}`),
      onEpochEnd: (_row, h) => writeJson(hPath, h),
    });
    await saveWeights(model, wPath, { spec, name, trainWindows: train.n });
    await writeJson(hPath, res.history);
    return { model, history: res.history };
  };

  let ssl: tf.LayersModel | null = null;
  let pretrainHistory: PretrainEpoch[] = [];
  if (opts.torchWeights) {
    const t = await loadTorchPretrained(spec, opts.torchWeights);
    ssl = t.model;
    log(
      `loaded ${t.result.loaded.length} tensors from ${opts.torchWeights} (heads missing: ${t.result.missing.length})`,
    );
  } else {
    const r = await pretrainModel(poolSplit.train, "mtl");
    ssl = r.model;
    pretrainHistory = r.history;
  }

  // ---------------- downstream ----------------
  const outcomes: FoldOutcome[] = [];
  const writeSummary = async () => {
    const rows = yuanRows(outcomes, spec);
    await writeJson(join(out, "summary.json"), rows);
    await writeTextAtomic(join(out, "summary.md"), yuanMarkdown(rows, spec));
    await writeTextAtomic(join(out, "summary.csv"), yuanTable(rows).toCSV());
  };
  const foldFile = (d: string, s: string, k: number) => join(out, "folds", d, s, `fold${k}.json`);
  const cached = async (path: string, make: () => Promise<FoldOutcome>): Promise<FoldOutcome> => {
    if (resume) {
      const o = await readJson<FoldOutcome>(path);
      if (o) return o;
    }
    const o = await make();
    await writeJson(path, o);
    return o;
  };
  const featCache = new Map<string, { x: Float32Array; dim: number }>();
  const features = (model: tf.LayersModel, key: string, w: Windows) => {
    if (!featCache.has(key)) featCache.set(key, encoderFeatures(model, w));
    return featCache.get(key)!;
  };

  if (stages.has("downstream")) {
    for (const d of datasets) {
      const w = labelled[d]!;
      const folds = downstreamFolds(spec, d, w);
      // rf: all folds in one call (the forest baseline owns its loop)
      let rf: FoldOutcome[] | null = null;
      if (resume) {
        const got = await Promise.all(
          folds.map((_, k) => readJson<FoldOutcome>(foldFile(d, "rf", k))),
        );
        if (got.every((g) => g)) rf = got as FoldOutcome[];
      }
      if (!rf) {
        log(`${d} rf: ${folds.length} folds, ${spec.downstream.rfTrees} trees`);
        rf = await runRfFolds(spec, d, w, folds);
        for (const o of rf) await writeJson(foldFile(d, "rf", o.fold), o);
      }
      outcomes.push(...rf);
      await writeSummary();
      for (const setting of ["scratch", "frozen", "finetune"] as const) {
        for (const [k, fold] of folds.entries()) {
          const o = await cached(foldFile(d, setting, k), async () => {
            if (setting === "frozen") {
              return await runFrozenFold({
                spec,
                dataset: d,
                windows: w,
                features: features(ssl!, `ssl-${d}`, w),
                fold,
                foldIndex: k,
              });
            }
            return await runDeepFold({
              spec,
              dataset: d,
              windows: w,
              fold,
              foldIndex: k,
              setting,
              pretrained: ssl ?? undefined,
              checkpointDir: ck(`${d}-${setting}-fold${k}`),
            });
          });
          outcomes.push(o);
          log(
            `${d} ${setting} fold ${k + 1}/${folds.length} (test ${o.testSubjects.join(",")}): F1 ${
              o.f1Macro.toFixed(3)
            } kappa ${o.kappa.toFixed(3)} [train ${o.nTrain}, ${o.history.length} epochs, ${
              o.seconds.toFixed(0)
            } s]`,
          );
          await writeSummary();
        }
      }
    }
  }

  // ---------------- ablation: labelled subjects (WISDM) ----------------
  const ablations: AblationPoint[] = [];
  const writeAblations = () => writeJson(join(out, "ablations", "summary.json"), ablations);
  if (stages.has("ablation-subjects") && labelled.wisdm) {
    const w = labelled.wisdm;
    const folds = downstreamFolds(spec, "wisdm", w);
    const fi = Math.min(spec.ablations.fold, folds.length - 1);
    const fold = folds[fi];
    const nTrainSubjects = fold.trainSubjects.length;
    for (const n of spec.ablations.labelledSubjects) {
      const count = n <= 0 || n >= nTrainSubjects ? nTrainSubjects : n;
      for (const setting of ["scratch", "finetune"] as const) {
        const path = join(out, "ablations", "subjects", `${setting}-n${count}.json`);
        const o = await cached(path, async () => {
          // all training subjects = the main run's fold (computed above or on an
          // earlier, resumed run: the folder is wiped when not resuming)
          const main = count === nTrainSubjects
            ? await readJson<FoldOutcome>(foldFile("wisdm", setting, fi))
            : null;
          if (main) return main;
          const idx = nSubjects(w.subject, count, { seed: spec.seed + count, indices: fold.train });
          return await runDeepFold({
            spec,
            dataset: "wisdm",
            windows: w,
            fold,
            foldIndex: fi,
            setting,
            pretrained: ssl ?? undefined,
            trainIndices: idx,
            checkpointDir: ck(`subjects-${setting}-n${count}`),
            label: setting,
          });
        });
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
        log(
          `ablation subjects=${count} ${setting}: F1 ${
            m.mean.toFixed(3)
          } (train ${o.nTrain} windows)`,
        );
        await writeAblations();
      }
    }
  }

  // ---------------- UMAP ----------------
  const umap: UmapResult[] = [];
  if (stages.has("umap") && ssl) {
    const random = buildYuanModel(spec, "mtl", { seed: spec.seed + 99 });
    for (const d of datasets) {
      const path = join(out, "umap", `${d}.json`);
      let r = resume ? await readJson<UmapResult>(path) : null;
      if (!r) {
        const w0 = labelled[d]!;
        const idx = rng(spec.seed).shuffle(Array.from({ length: w0.n }, (_, i) => i))
          .slice(0, spec.umap.maxWindows).sort((a, b) => a - b);
        const w = selectWindows(w0, idx);
        const reps: Record<string, { x: Float32Array; dim: number }> = {
          raw: { x: w.x, dim: w.channels * w.length },
          random: encoderFeatures(random, w),
          ssl: encoderFeatures(ssl, w),
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
          log(`umap ${d} ${name}: ${w.n} windows, 5-NN accuracy ${knn[name].toFixed(3)}`);
        }
        r = {
          dataset: d,
          classes: w.classes,
          y: Array.from(w.y),
          subject: w.subject,
          embeddings,
          knn,
        };
        await writeJson(path, r);
      }
      umap.push(r);
    }
    random.dispose();
  }

  // ---------------- ablation: amount of unlabelled data ----------------
  if (stages.has("ablation-fractions")) {
    for (const f of spec.ablations.fractions) {
      const pct = Math.round(f * 100);
      let model: tf.LayersModel | null = null;
      for (const d of datasets) {
        const w = labelled[d]!;
        const folds = downstreamFolds(spec, d, w);
        const outs: FoldOutcome[] = [];
        for (const [k, fold] of folds.entries()) {
          const path = join(out, "ablations", "fractions", `f${pct}-${d}-fold${k}.json`);
          const o = await cached(path, async () => {
            if (f === 1 && ssl) {
              return await runFrozenFold({
                spec,
                dataset: d,
                windows: w,
                features: features(ssl, `ssl-${d}`, w),
                fold,
                foldIndex: k,
              });
            }
            if (!model) {
              const sub = poolFraction(poolSplit.train, f, spec.seed + 17);
              log(`ablation fraction ${pct} %: pre-training on ${sub.n} windows`);
              model = (await pretrainModel(sub, `mtl-f${pct}`)).model;
            }
            return await runFrozenFold({
              spec,
              dataset: d,
              windows: w,
              features: features(model, `f${pct}-${d}`, w),
              fold,
              foldIndex: k,
              label: `frozen-f${pct}`,
            });
          });
          outs.push(o);
        }
        const m = subjectMean(outs);
        ablations.push({
          ablation: "fractions",
          dataset: d,
          setting: "frozen",
          x: f,
          f1Mean: m.mean,
          f1Sd: m.sd,
          n: m.n,
        });
        log(`ablation fraction ${pct} % ${d} frozen: F1 ${m.mean.toFixed(3)}`);
        await writeAblations();
      }
      if (model) (model as tf.LayersModel).dispose();
    }
  }

  const result: YuanRunResult = { spec, pretrainHistory, outcomes, ablations, umap, data };
  await writeJson(join(out, "results.json"), {
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
