/**
 * `runMultiResNet(spec, opts)`: the Gjoreski et al. transfer experiment end
 * to end, resumable piece by piece (lib/experiments/scaffold.ts):
 *
 * - `data/<dataset>`: the realised protocol (windows, per-class counts,
 *   fractions, majority F1);
 * - `sources/<dataset>/s<seed>`: one source model per dataset and seed
 *   (history, best epoch, its own test F1); its weights in
 *   `sources/<dataset>-s<seed>.bin`, which later pieces load;
 * - `cells/<target>/baseline/n<n>/s<seed>` and
 *   `cells/<target>/<source>/k<k>/n<n>/s<seed>`: one {@link TransferCell}
 *   (a `RunResult` plus what defines the cell) per target, source or
 *   baseline, transferred blocks k, adaptation size n and seed;
 * - `grid.json` / `summary.md`: the grid of mean micro / macro F1 over
 *   seeds (lib/experiments/multiresnet/results.ts), rewritten at the end.
 *
 * The baseline depends only on (target, n, seed) and is shared by the
 * three sources, as §6.8 suggests. Test windows are a fixed stratified
 * subset (`maxTestWindows`) of the target's test part, the same for every
 * cell.
 *
 * @example
 * ```ts
 * const res = await runMultiResNet(multiResNetSpec("smoke"), { outDir: ".cache/mrn-smoke" });
 * res.grid.targets[0].majorityF1Micro;
 * ```
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { ConfigError } from "../../errors.ts";
import { type RunResult, scoreRun } from "../../eval/run_result.ts";
import type { EpochRecord } from "../../train/history.ts";
import { loadWeights, saveWeights } from "../../train/save.ts";
import { type Experiment, runExperiment } from "../scaffold.ts";
import {
  loadTransferDatasets,
  nestedAdaptationSubsets,
  type TransferDataReport,
  type TransferDataset,
  type TransferDatasetName,
} from "./data.ts";
import { buildTransferGrid, type TransferGrid, transferSummaryMarkdown } from "./results.ts";
import { type MultiResNetSpec, resolveLadder } from "./spec.ts";
import {
  adaptModel,
  buildMultiResNet,
  partDims,
  predictPart,
  stratifiedCap,
  trainSourceModel,
  transferredModel,
} from "./transfer.ts";

/** One cell of the grid for one seed. */
export interface TransferCell {
  /** Target dataset. */
  target: TransferDatasetName;
  /** Source dataset, or `"baseline"` (trained on the subset from scratch). */
  source: TransferDatasetName | "baseline";
  /** Residual blocks transferred and frozen (null for the baseline). */
  k: number | null;
  /** Adaptation windows. */
  n: number;
  /** Seed. */
  seed: number;
  /** Micro F1 on the target's test windows (= accuracy for single-label classes), in [0, 1]. */
  microF1: number;
  /** Macro F1, in [0, 1]. */
  macroF1: number;
  /** Weights copied from the source (0 for the baseline). */
  copiedWeights: number;
  /** Training loss at the last epoch. */
  finalTrainLoss: number;
  /** The full result (confusion, per-class F1, per test subject, timings). */
  run: RunResult;
}

/** One source model's record. */
export interface SourceRecord {
  /** Dataset. */
  dataset: TransferDatasetName;
  /** Seed. */
  seed: number;
  /** Weights file, relative to the output folder. */
  weights: string;
  /** Epoch records. */
  history: EpochRecord[];
  /** 1-based epoch kept. */
  bestEpoch: number | null;
  /** Training / validation windows used. */
  nTrain: number;
  nVal: number;
  /** Its own test micro / macro F1 (the source's in-domain level). */
  testMicroF1: number;
  testMacroF1: number;
  /** Wall time of training, s. */
  fitSec: number;
}

/** Options of {@link runMultiResNet}. */
export interface RunMultiResNetOptions {
  /** Output folder (pieces, run.json, grid). */
  outDir: string;
  /** Reuse finished pieces of a previous run with the same spec. */
  resume?: boolean;
  /** Data folder (default `$HAR_DATA_DIR`). */
  dataDir?: string;
  /** Windows cache folder (default the scaffold's). */
  cacheDir?: string | null;
  /** Progress lines. */
  log?: (msg: string) => void;
  /** Only these targets (default all of the spec's datasets). */
  targets?: TransferDatasetName[];
  /** Only these seeds (default the spec's). */
  seeds?: number[];
  /** The datasets, already loaded with the spec's data protocol (default: loaded here). */
  datasets?: Record<string, TransferDataset>;
  /**
   * Only read back what a previous run finished: source models and cells
   * not yet computed are skipped, not trained, the grid holds what exists,
   * and nothing is written into `outDir` (the scaffold's `readOnly`; implies
   * `resume`), e.g. a notebook over a run still in progress.
   */
  onlyFinished?: boolean;
}

/** What {@link runMultiResNet} returns. */
export interface MultiResNetRunResult {
  /** Realised protocol per dataset. */
  data: Record<string, TransferDataReport>;
  /** The adaptation ladder (windows). */
  ladder: number[];
  /** Source models. */
  sources: SourceRecord[];
  /** Every cell. */
  cells: TransferCell[];
  /** The aggregated grid. */
  grid: TransferGrid;
}

/** Piece key of a cell. */
export function cellKey(c: Pick<TransferCell, "target" | "source" | "k" | "n" | "seed">): string {
  return c.source === "baseline"
    ? `cells/${c.target}/baseline/n${c.n}/s${c.seed}`
    : `cells/${c.target}/${c.source}/k${c.k}/n${c.n}/s${c.seed}`;
}

/** Run the experiment (see the module docs). */
export async function runMultiResNet(
  spec: MultiResNetSpec,
  opts: RunMultiResNetOptions,
): Promise<MultiResNetRunResult> {
  return await runExperiment({
    name: "multiresnet",
    spec,
    outDir: opts.outDir,
    resume: opts.resume ?? false,
    readOnly: opts.onlyFinished ?? false,
    dataDir: opts.dataDir,
    cacheDir: opts.cacheDir,
    log: opts.log,
  }, (exp) => body(exp, spec, opts));
}

async function body(
  exp: Experiment<MultiResNetSpec>,
  spec: MultiResNetSpec,
  opts: RunMultiResNetOptions,
): Promise<MultiResNetRunResult> {
  const log = exp.log;
  await exp.writeJson("spec.json", spec);
  const names = spec.data.datasets;
  const targets = opts.targets ?? names;
  for (const t of targets) {
    if (!names.includes(t)) throw new ConfigError(`multiresnet: target ${t} is not in the spec`);
  }
  const seeds = opts.seeds ?? spec.seeds;
  const d = spec.data;
  const sets = opts.datasets ?? await exp.stage("data", () =>
    loadTransferDatasets(names, {
      rateHz: d.rateHz,
      windowSec: d.windowSec,
      overlapSec: d.overlapSec,
      fractions: d.fractions,
      seed: d.partitionSeed,
      dataDir: exp.dataDir,
      nFft: d.nFft,
      hop: d.hop,
      cacheDir: opts.cacheDir,
    }));
  const data: Record<string, TransferDataReport> = {};
  for (const name of names) {
    const ds = sets[name];
    data[name] = await exp.piece(`data/${name}`, () => Promise.resolve(ds.report));
    log(
      `${name}: ${ds.report.windows} windows, ${ds.classes.length} classes; train/val/test ` +
        `${ds.train.n}/${ds.val.n}/${ds.test.n}; majority micro F1 ${
          (100 * ds.report.majorityF1Micro).toFixed(1)
        }`,
    );
  }
  const maxSize = names.map((n) => sets[n].train.n).reduce((a, b) => Math.min(a, b), Infinity);
  const ladder = resolveLadder(spec.adaptation.sizes, maxSize);
  log(`adaptation ladder: ${ladder.join(", ")} windows (max = smallest training part)`);

  // ---------------- source models ----------------
  const sourceModels = new Map<string, tf.LayersModel>();
  const sourceModel = async (name: TransferDatasetName, seed: number) => {
    const key = `${name}/s${seed}`;
    const have = sourceModels.get(key);
    if (have) return have;
    const rec = await sourceRecord(exp, spec, sets[name], seed);
    const model = buildMultiResNet(sets[name], spec, seed, `source_${name}`);
    const file = join(exp.outDir, rec.weights);
    if (!(await loadWeights(model, file))) {
      throw new ConfigError(
        `multiresnet: piece sources/${key} is recorded but its weights ${file} are missing; ` +
          `remove the piece from run.json (or re-run without --resume)`,
      );
    }
    sourceModels.set(key, model);
    return model;
  };
  const sources: SourceRecord[] = [];
  const cells: TransferCell[] = [];
  // the grid of what has finished, rewritten after every (n, target): a run in progress has one
  const writeGrid = async () => {
    const grid = buildTransferGrid({ spec, data, ladder, cells, sources });
    await exp.writeJson("grid.json", grid);
    await exp.writeText("summary.md", transferSummaryMarkdown(grid));
    return grid;
  };
  // ---------------- per seed: its source models, then its cells ----------------
  // the ladder is the outer loop, so a partial run has every target at the small n first
  const testIdx = Object.fromEntries(
    targets.map((
      t,
    ) => [t, stratifiedCap(sets[t].test.y, spec.maxTestWindows, 1000 + d.partitionSeed)]),
  );
  for (const seed of seeds) {
    const finished = (key: string) => !opts.onlyFinished || key in exp.record.pieces;
    await exp.stage("sources", async () => {
      for (const name of names) {
        if (finished(`sources/${name}/s${seed}`)) {
          sources.push(await sourceRecord(exp, spec, sets[name], seed));
        }
      }
    });
    const subsets = Object.fromEntries(targets.map((t) => [
      t,
      nestedAdaptationSubsets(sets[t].train.y, sets[t].classes.length, ladder, seed),
    ]));
    await exp.stage("adaptation", async () => {
      for (let li = 0; li < ladder.length; li++) {
        const n = ladder[li];
        for (const t of targets) {
          const target = sets[t];
          const cell = (source: CellArgs["source"], k: number | null) =>
            runCell(exp, spec, {
              target,
              source,
              k,
              n,
              seed,
              subset: subsets[t][li],
              testIdx: testIdx[t],
            });
          const baseKey = cellKey({ target: t, source: "baseline", k: null, n, seed });
          if (!finished(baseKey)) continue;
          cells.push(await exp.piece(baseKey, () => cell(null, null)));
          for (const s of names) {
            if (s === t) continue;
            for (const k of spec.transfer.ks) {
              const key = cellKey({ target: t, source: s, k, n, seed });
              if (!finished(key)) continue;
              cells.push(
                await exp.piece(
                  key,
                  async () => cell({ name: s, model: await sourceModel(s, seed) }, k),
                ),
              );
            }
          }
          await writeGrid();
          const done = cells.filter((c) => c.target === t && c.n === n && c.seed === seed);
          const base = done.find((c) => c.source === "baseline")!;
          const best = done.reduce((a, b) => (b.microF1 > a.microF1 ? b : a));
          log(
            `${t} n=${n} seed ${seed}: baseline ${(100 * base.microF1).toFixed(1)}, best ${
              best.source === "baseline" ? "baseline" : `${best.source} k=${best.k}`
            } ${(100 * best.microF1).toFixed(1)} (micro F1 %)`,
          );
        }
      }
    });
    // the next seed's source models replace these
    for (const m of sourceModels.values()) m.dispose();
    sourceModels.clear();
  }

  const grid = await writeGrid();
  return { data, ladder, sources, cells, grid };
}

async function sourceRecord(
  exp: Experiment<MultiResNetSpec>,
  spec: MultiResNetSpec,
  ds: TransferDataset,
  seed: number,
): Promise<SourceRecord> {
  const weights = `sources/${ds.name}-s${seed}.bin`;
  return await exp.piece(`sources/${ds.name}/s${seed}`, async () => {
    exp.log(`source ${ds.name} seed ${seed}: training`);
    const r = await trainSourceModel(ds, spec, { seed, log: exp.progress });
    try {
      const dims = partDims(ds);
      const testIdx = stratifiedCap(ds.test.y, spec.maxTestWindows, 1000 + spec.data.partitionSeed);
      const yPred = predictPart(r.model, ds.test, dims, testIdx);
      const yTrue = Array.from(testIdx, (i) => ds.test.y[i]);
      const run = scoreRun({
        yTrue,
        yPred,
        subject: Array.from(testIdx, (i) => ds.test.subject[i]),
        classes: ds.classes,
        benchmark: ds.name,
        setting: "source",
        protocol: "gjoreski-40-10-50",
        fold: "source",
        seed,
        keepPredictions: false,
      });
      await saveWeights(r.model, join(exp.outDir, weights), { dataset: ds.name, seed });
      exp.log(
        `source ${ds.name} seed ${seed}: best epoch ${r.bestEpoch}, test micro F1 ${
          (100 * run.metrics.accuracy).toFixed(1)
        } (${r.fitSec.toFixed(0)} s)`,
      );
      return {
        dataset: ds.name,
        seed,
        weights,
        history: r.history,
        bestEpoch: r.bestEpoch,
        nTrain: r.nTrain,
        nVal: r.nVal,
        testMicroF1: run.metrics.accuracy,
        testMacroF1: run.metrics.f1Macro,
        fitSec: r.fitSec,
      };
    } finally {
      r.model.dispose();
    }
  });
}

interface CellArgs {
  target: TransferDataset;
  source: { name: TransferDatasetName; model: tf.LayersModel } | null;
  k: number | null;
  n: number;
  seed: number;
  subset: Int32Array;
  testIdx: Int32Array;
}

async function runCell(
  exp: Experiment<MultiResNetSpec>,
  spec: MultiResNetSpec,
  a: CellArgs,
): Promise<TransferCell> {
  const t = a.target, dims = partDims(t);
  const built = a.source
    ? transferredModel(a.source.model, t, spec, { k: a.k!, seed: a.seed })
    : { model: buildMultiResNet(t, spec, a.seed, "baseline"), frozen: [], copied: [] };
  try {
    const fitted = await adaptModel(built.model, t.train, dims, a.subset, spec, {
      seed: a.seed,
      freeze: built.frozen,
    });
    const t0 = performance.now();
    const yPred = predictPart(built.model, t.test, dims, a.testIdx);
    const predictSec = (performance.now() - t0) / 1000;
    const run = scoreRun({
      yTrue: Array.from(a.testIdx, (i) => t.test.y[i]),
      yPred,
      subject: Array.from(a.testIdx, (i) => t.test.subject[i]),
      classes: t.classes,
      benchmark: t.name,
      setting: a.source ? `${a.source.name}/k${a.k}` : "baseline",
      experiment: "multiresnet",
      protocol: "gjoreski-40-10-50",
      fold: `n${a.n}`,
      seed: a.seed,
      nTrain: a.n,
      trainSubjects: [...new Set(Array.from(a.subset, (i) => t.train.subject[i]))].sort(),
      testSubjects: [...new Set(Array.from(a.testIdx, (i) => t.test.subject[i]))].sort(),
      history: fitted.history as unknown as Record<string, number>[],
      timings: { fitSec: fitted.fitSec, predictSec },
      keepPredictions: false,
    });
    const last = fitted.history[fitted.history.length - 1];
    exp.progress(
      `${t.name} ← ${a.source ? `${a.source.name} k=${a.k}` : "baseline"} n=${a.n}: micro F1 ${
        (100 * run.metrics.accuracy).toFixed(1)
      }, macro ${(100 * run.metrics.f1Macro).toFixed(1)} (${fitted.fitSec.toFixed(1)} s)`,
    );
    return {
      target: t.name,
      source: a.source ? a.source.name : "baseline",
      k: a.k,
      n: a.n,
      seed: a.seed,
      microF1: run.metrics.accuracy,
      macroF1: run.metrics.f1Macro,
      copiedWeights: built.copied.length,
      finalTrainLoss: last?.trainLoss ?? NaN,
      run,
    };
  } finally {
    built.model.dispose();
  }
}
