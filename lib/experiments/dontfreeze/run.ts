/**
 * `runDontFreeze(spec, opts)`: the "Don't freeze" experiment (issue #15;
 * spec `../shared/specs/dont-freeze.md`, §x below) end to end, resumable
 * piece by piece (lib/experiments/scaffold.ts). Pieces, in run order:
 *
 * - `data/source`, `data/<target>`: the realised protocol (the loaders' reports);
 * - `search/<pretext>/c<i>`: the §4.1 search, one record per sampled
 *   configuration (a short run on a capped source, its best validation
 *   loss); the lowest wins (§4.4);
 * - `pretext/<pretext>`: the winner trained on the source's training users
 *   with validation-loss early stopping (or, `patience: null`, every epoch),
 *   10 % of the windows per epoch ∝ variance (§1.4); its best-validation
 *   weights `pretext/<pretext>-best.bin` and last-epoch weights
 *   `pretext/<pretext>-last.bin` (lib/train/save.ts, committed: the cells
 *   load them);
 * - `stopping-pretext/<pretext>` (`stopping.separateRun`): §7's re-run from a
 *   new initialisation, every epoch, best and last checkpoints;
 * - per target and fold: `target-pretext/<target>/<pretext>/fold<i>`, the
 *   pretext trained on the fold's unlabelled training users and validated on
 *   its validation users with the winning configuration (§4.5; weights under
 *   `checkpoints/`, retrained when missing), shared by the fold's repeats;
 * - `cells/<target>/<setting>/<encoder | pretext>/fold<i>/r<r>[/c<j>]`: Table 2,
 *   one {@link DontFreezeCell} (a `RunResult` of `scoreRun` plus what defines
 *   the cell) per target, setting, pretext (the baseline: per encoder
 *   architecture, `tpn`, `cpc`, `autoencoder`), fold, repeat and downstream
 *   configuration (`/c<j>` only with several);
 * - `labels/<target>/n<k>/<setting>/<…>/fold<i>/r<r>`: the same with k
 *   labelled training windows per class (§6, Figure 2) and the full
 *   validation part;
 * - `stopping/<target>/<before | last | best>/<pretext>/fold<i>/r<r>`: the
 *   fine-tuned encoder from the pretext's initial, best-validation and last
 *   weights (§7, Table 1; on the main run "best" is the `finetune-source` cell);
 * - `table2.json`, `labels.json`, `table1.json`, `expectations.json` and
 *   `summary.md` (lib/experiments/dontfreeze/results.ts), rewritten after
 *   every target.
 *
 * Every cell trains the §5 classifier on the fold's training part, stops on
 * the validation part's macro F1 (patience 5, best epoch restored) and is
 * scored on the test users. Frozen cells train the head alone on the
 * frozen encoder's 256-d embeddings, computed once per fold and encoder
 * (§5 [D]: the same function as the frozen end-to-end model, whose encoder
 * is deterministic: dropout off, batch norm on its moving statistics).
 *
 * Baselines: §2 [P] "we use as baseline its architecture without any
 * pretext": multi-task and SimCLR share the TPN, so one baseline per encoder
 * architecture is run and the two TPN rows show the same baseline.
 *
 * @example
 * ```ts
 * const res = await runDontFreeze(dontFreezeSpec("smoke"), { outDir: ".cache/dontfreeze-smoke" });
 * res.table.rows[0].ours["finetune-source"];
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import type { Windows } from "../../data/types.ts";
import { ConfigError } from "../../errors.ts";
import { type RunResult, scoreRun } from "../../eval/run_result.ts";
import {
  copyDontFreezeEncoder,
  dontFreezeClassifier,
  dontFreezeClassifierFromPretext,
  dontFreezeEncoder,
  type DontFreezeEncoderSpec,
  dontFreezeHead,
} from "../../models/dontfreeze_classifier.ts";
import {
  autoencoder,
  cpcModel,
  ENCODER_PREFIX,
  multitask8Model,
  simclrModel,
} from "../../models/dontfreeze_encoders.ts";
import {
  cpcLoss,
  cpcSource,
  MULTITASK8_TASKS,
  multitask8Loss,
  multitask8Source,
  type PretextEpochArgs,
  reconstructionLoss,
  reconstructionSource,
  simclrLoss,
  simclrSource,
} from "../../pretext/dontfreeze.ts";
import { selectWindows } from "../../signal/quality.ts";
import type { BatchSource, FitData } from "../../train/batches.ts";
import { forward } from "../../train/forward.ts";
import type { EpochRecord } from "../../train/history.ts";
import { fit, type FitLoss } from "../../train/loop.ts";
import type { OptimizerSpec } from "../../train/optimisers.ts";
import { mixSeed } from "../../train/random.ts";
import { loadWeights, saveWeights } from "../../train/save.ts";
import { labelsPerClass } from "../../data/splits.ts";
import { capIndices, predictClasses } from "../evaluator.ts";
import { stratifiedCap } from "../multiresnet/transfer.ts";
import { type Experiment, runExperiment } from "../scaffold.ts";
import {
  DONT_FREEZE_TARGET_DEFINITIONS,
  type DontFreezeSource,
  type DontFreezeSourceReport,
  type DontFreezeTarget,
  type DontFreezeTargetName,
  type DontFreezeTargetReport,
  loadDontFreezeSource,
  loadDontFreezeTarget,
  type UserGroupFold,
} from "./data.ts";
import {
  buildDontFreezeResults,
  type DontFreezeResults,
  dontFreezeSummaryMarkdown,
} from "./results.ts";
import {
  checkDontFreezeSpec,
  type DontFreezeDownstreamSpec,
  type DontFreezePretextName,
  type DontFreezeSetting,
  type DontFreezeSpec,
  type DownstreamConfig,
  PRETEXT_ENCODER,
  pretextCandidates,
  type PretextConfig,
  type StoppingPoint,
} from "./spec.ts";

type EncoderKind = DontFreezeEncoderSpec["kind"];

/** The study a cell belongs to. */
export type DontFreezeStudy = "table2" | "labels" | "stopping";

/** One search candidate's record (piece `search/<pretext>/c<i>`). */
export interface SearchRecord {
  /** Pretext. */
  pretext: DontFreezePretextName;
  /** Candidate index (0: the reference default). */
  index: number;
  /** The configuration. */
  config: PretextConfig;
  /** Epochs run. */
  epochs: number;
  /** Lowest validation loss (Infinity when it diverged). */
  bestValLoss: number;
  /** Wall time, s. */
  fitSec: number;
}

/** One pretext model's record (pieces `pretext/<p>`, `stopping-pretext/<p>`, `target-pretext/…`). */
export interface PretextRecord {
  /** Pretext. */
  pretext: DontFreezePretextName;
  /** Its encoder architecture. */
  encoder: EncoderKind;
  /** Where it was trained: the source, or a target fold. */
  on: "source" | { target: DontFreezeTargetName; fold: number };
  /** The configuration trained (the search's winner). */
  config: PretextConfig;
  /** Index of the configuration among the search candidates. */
  configIndex: number;
  /** Seed of the initialisation. */
  seed: number;
  /** Best-validation weights file, relative to the output folder. */
  weights: string;
  /** Last-epoch weights file, relative to the output folder, or null (not kept). */
  lastWeights: string | null;
  /** Epoch records (trainLoss, valLoss, …). */
  history: EpochRecord[];
  /** 1-based epoch of the lowest validation loss (the weights kept). */
  bestEpoch: number;
  /** Its validation loss. */
  bestValLoss: number;
  /** True when early stopping ended the run. */
  stoppedEarly: boolean;
  /** Windows: training pool, drawn per epoch, validation. */
  nTrain: number;
  windowsPerEpoch: number;
  nVal: number;
  /** Wall time of training, s. */
  fitSec: number;
}

/** One cell for one fold and repeat. */
export interface DontFreezeCell {
  /** Study: Table 2, labels per class (Figure 2) or stopping point (Table 1). */
  study: DontFreezeStudy;
  /** Target. */
  target: DontFreezeTargetName;
  /** Setting. */
  setting: DontFreezeSetting;
  /** Pretext the encoder comes from (null for the baseline). */
  pretext: DontFreezePretextName | null;
  /** Encoder architecture. */
  encoder: EncoderKind;
  /** Labelled training windows per class (labels study), else null: the whole training part. */
  perClass: number | null;
  /** Stopping point of the encoder (stopping study; `best` for Table 2's pretext cells), else null. */
  point: StoppingPoint | null;
  /** Fold (test group). */
  fold: number;
  /** Repeat. */
  repeat: number;
  /** Downstream configuration index (`spec.downstream.configs`). */
  config: number;
  /** Seed of the classifier (the fold's seed). */
  seed: number;
  /** Macro F1 on the test users, in [0, 1]. */
  macroF1: number;
  /** Accuracy, in [0, 1]. */
  accuracy: number;
  /** Best validation macro F1, in [0, 1] (model selection, §5). */
  valF1: number;
  /**
   * Largest |change| of an encoder weight after training against the
   * pretext's (0 for the frozen settings; null for the baseline).
   */
  encoderMaxAbsChange: number | null;
  /** 1-based epoch kept (highest validation macro F1). */
  bestEpoch: number | null;
  /** Windows: training, validation, test. */
  nTrain: number;
  nVal: number;
  nTest: number;
  /** The full result (confusion, per-class and per-subject F1, history, timings). */
  run: RunResult;
}

/** Options of {@link runDontFreeze}. */
export interface RunDontFreezeOptions {
  /** Output folder (pieces, run.json, tables, summary.md). */
  outDir: string;
  /** Reuse finished pieces of a previous run with the same spec (another spec is refused). */
  resume?: boolean;
  /** Data folder (default `$HAR_DATA_DIR`). */
  dataDir?: string;
  /** Windows cache folder (default the data module's `.cache/dontfreeze`; null: none). */
  cacheDir?: string | null;
  /** Progress lines. */
  log?: (msg: string) => void;
  /**
   * Only read the pieces the run record lists, computing nothing and
   * writing nothing into `outDir` (the scaffold's `readOnly`; implies
   * `resume`): a notebook over a run still in progress.
   */
  onlyFinished?: boolean;
}

/** What {@link runDontFreeze} returns. */
export interface DontFreezeRunResult {
  /** Realised protocol: the source and every target. */
  data: { source: DontFreezeSourceReport; targets: Record<string, DontFreezeTargetReport> };
  /** The search candidates. */
  search: SearchRecord[];
  /** Source pretext models (the main ones, then the stopping-point re-runs). */
  pretexts: PretextRecord[];
  /** Target pretext models. */
  targetPretexts: PretextRecord[];
  /** Every cell. */
  cells: DontFreezeCell[];
  /** Tables 1 and 2, Figure 2's series and the §9.3 checks. */
  table: DontFreezeResults;
}

/** What identifies a cell. */
export type DontFreezeCellId = Pick<
  DontFreezeCell,
  | "study"
  | "target"
  | "setting"
  | "pretext"
  | "encoder"
  | "perClass"
  | "point"
  | "fold"
  | "repeat"
  | "config"
>;

/** Piece key of a cell (see the module docs); `configs`: how many downstream configurations there are. */
export function dontFreezeCellKey(c: DontFreezeCellId, configs = 1): string {
  const what = c.setting === "baseline" ? c.encoder : c.pretext;
  const tail = `fold${c.fold}/r${c.repeat}${configs > 1 ? `/c${c.config}` : ""}`;
  switch (c.study) {
    case "table2":
      return `cells/${c.target}/${c.setting}/${what}/${tail}`;
    case "labels":
      return `labels/${c.target}/n${c.perClass}/${c.setting}/${what}/${tail}`;
    case "stopping":
      return `stopping/${c.target}/${c.point}/${what}/${tail}`;
  }
}

/** The encoder architectures whose baseline the spec needs, in pretext order. */
export function baselineEncoders(spec: DontFreezeSpec): EncoderKind[] {
  return [...new Set(spec.pretexts.map((p) => PRETEXT_ENCODER[p]))];
}

/** One (setting, pretext, encoder) column of a fold. */
type SettingJob = Pick<DontFreezeCell, "setting" | "pretext" | "encoder">;

/** The (setting, pretext, encoder) jobs of one fold, in Table 2's column order. */
function settingJobs(spec: DontFreezeSpec): SettingJob[] {
  const jobs: SettingJob[] = [];
  for (const s of spec.settings) {
    if (s === "baseline") {
      for (const e of baselineEncoders(spec)) jobs.push({ setting: s, pretext: null, encoder: e });
    } else {
      for (const p of spec.pretexts) {
        jobs.push({ setting: s, pretext: p, encoder: PRETEXT_ENCODER[p] });
      }
    }
  }
  return jobs;
}

/** The stopping points run as their own cells (on the main run "best" is Table 2's cell). */
function stoppingPointsRun(spec: DontFreezeSpec): StoppingPoint[] {
  return spec.stopping.separateRun ? ["before", "best", "last"] : ["before", "last"];
}

/** Cells the spec asks for (Table 2, labels per class, stopping point). */
export function expectedDontFreezeCells(spec: DontFreezeSpec): Record<DontFreezeStudy, number> {
  const c = spec.downstream.configs.length;
  // fold-target pairs: a target has as many folds as user groups (Daphnet 4)
  const pairs = (targets: readonly DontFreezeTargetName[], folds: readonly number[]) =>
    targets.reduce(
      (n, t) => n + folds.filter((f) => f < DONT_FREEZE_TARGET_DEFINITIONS[t].groups).length,
      0,
    );
  const tf2 = pairs(spec.data.targets, spec.data.folds);
  const tfl = pairs(spec.labels.targets ?? spec.data.targets, spec.labels.folds);
  const tfs = pairs(spec.stopping.targets ?? spec.data.targets, spec.stopping.folds);
  const jobs = settingJobs(spec).length;
  return {
    table2: tf2 * spec.repeats * jobs * c,
    labels: tfl * spec.labels.repeats * spec.labels.perClass.length * jobs * c,
    stopping: spec.stopping.enabled
      ? tfs * spec.stopping.repeats * stoppingPointsRun(spec).length * spec.pretexts.length * c
      : 0,
  };
}

/** Run the experiment (see the module docs). */
export async function runDontFreeze(
  spec: DontFreezeSpec,
  opts: RunDontFreezeOptions,
): Promise<DontFreezeRunResult> {
  checkDontFreezeSpec(spec);
  return await runExperiment({
    name: "dontfreeze",
    spec,
    outDir: opts.outDir,
    resume: opts.resume ?? false,
    readOnly: opts.onlyFinished ?? false,
    dataDir: opts.dataDir,
    cacheDir: opts.cacheDir,
    log: opts.log,
  }, (exp) => body(exp, spec, opts));
}

/** A seeded random subset of at most `max` windows (ascending order), or all (evaluator's `capIndices`). */
function capRandom(w: Windows, max: number | null, seed: number): Windows {
  if (max === null || w.n <= max) return w;
  return selectWindows(w, capIndices(Int32Array.from({ length: w.n }, (_, i) => i), max, seed));
}

/** The windows `idx` of `w`, capped class-stratified at `max`. */
function part(w: Windows, idx: Int32Array, max: number | null, seed: number): Windows {
  const y = Int32Array.from(idx, (i) => w.y[i]);
  const keep = stratifiedCap(y, max, seed);
  return selectWindows(w, Int32Array.from(keep, (k) => idx[k]));
}

/** The frozen encoder's representations `[n, dim]` of `w` (inference mode), labelled as `w`. */
export function embedWindows(encoder: tf.LayersModel, w: Windows, batchSize = 256): FitData {
  const out = encoder.outputs[0].shape;
  const dim = out[out.length - 1] as number;
  const row = w.channels * w.length;
  const x = new Float32Array(w.n * dim);
  for (let s = 0; s < w.n; s += batchSize) {
    const m = Math.min(batchSize, w.n - s);
    tf.tidy(() => {
      const xb = tf.tensor(w.x.subarray(s * row, (s + m) * row), [m, w.channels, w.length]);
      const [rep] = forward(encoder, [xb], { training: false, channelsLast: true });
      x.set(rep.dataSync() as Float32Array, s * dim);
    });
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      throw new ConfigError(`dontfreeze: the encoder gave a non-finite embedding`);
    }
  }
  return { x, shape: [w.n, dim], y: w.y };
}

async function body(
  exp: Experiment<DontFreezeSpec>,
  spec: DontFreezeSpec,
  opts: RunDontFreezeOptions,
): Promise<DontFreezeRunResult> {
  const log = exp.log;
  await exp.writeJson("spec.json", spec);
  const d = spec.data;
  const cacheDir = opts.cacheDir;
  const common = { dataDir: exp.dataDir, cacheDir, bandLimitHz: d.bandLimitHz, log: exp.progress };
  const settings = new Set(spec.settings);
  const needSource = settings.has("frozen-source") || settings.has("finetune-source") ||
    spec.stopping.enabled;
  const needTarget = settings.has("frozen-target") || settings.has("finetune-target");

  // ---------------- data ----------------
  let source: DontFreezeSource | null = null;
  const getSource = async () =>
    source ??= await exp.stage("source", async () => {
      const s = await loadDontFreezeSource({ ...common, seed: d.sourceSeed });
      return {
        ...s,
        train: capRandom(s.train, d.maxSourceTrainWindows, d.sourceSeed + 1),
        val: capRandom(s.val, d.maxSourceValWindows, d.sourceSeed + 2),
      };
    });
  const sourceReport = await exp.piece("data/source", async () => (await getSource()).report);
  const targets: Record<string, DontFreezeTarget> = {};
  const targetReports: Record<string, DontFreezeTargetReport> = {};
  for (const t of d.targets) {
    const ds = await exp.stage(
      "targets",
      () => loadDontFreezeTarget(t, { ...common, seed: d.groupSeed, repeats: spec.repeats }),
    );
    targets[t] = ds;
    targetReports[t] = await exp.piece(`data/${t}`, () => Promise.resolve(ds.report));
    log(
      `${t}: ${ds.windows.n} windows, ${ds.classes.length} classes, ${ds.report.users.length} users`,
    );
  }

  // ---------------- source pretexts: search, main run, stopping-point run ----------------
  const search: SearchRecord[] = [];
  const pretexts: PretextRecord[] = [];
  const targetPretexts: PretextRecord[] = [];
  const finished = (key: string) => !opts.onlyFinished || key in exp.record.pieces;
  // models are loaded when a cell to compute needs them (a resumed run reads its cells without)
  const loaded = new Map<string, tf.LayersModel>();
  /** The pretext model of `rec` with the weights `file`; `missing` (re)writes them when absent. */
  const loadRecorded = async (
    rec: PretextRecord,
    file: string,
    missing: (path: string) => Promise<void>,
  ) => {
    let m = loaded.get(file);
    if (m) return m;
    m = buildPretext(rec.pretext, rec.config, rec.seed);
    const path = join(exp.outDir, file);
    try {
      if (!(await loadWeights(m, path))) {
        await missing(path);
        if (!(await loadWeights(m, path))) {
          throw new ConfigError(`dontfreeze: ${path} not written`);
        }
      }
    } catch (e) {
      m.dispose();
      throw e;
    }
    loaded.set(file, m);
    return m;
  };
  /** For weights that are committed: their absence is an error. */
  const mustExist = (key: string) => (path: string) =>
    Promise.reject(
      new ConfigError(
        `dontfreeze: piece ${key} is recorded but its weights ${path} are missing; ` +
          `remove the piece from run.json (or re-run without --resume)`,
      ),
    );
  const fresh = (rec: PretextRecord) => {
    const id = `init:${rec.pretext}:${rec.seed}:${JSON.stringify(rec.config)}`;
    let m = loaded.get(id);
    if (!m) loaded.set(id, m = buildPretext(rec.pretext, rec.config, rec.seed));
    return m;
  };
  const mainRun = new Map<DontFreezePretextName, PretextRecord>();
  const stopRun = new Map<DontFreezePretextName, PretextRecord>();
  const sourceModel = (p: DontFreezePretextName, point: StoppingPoint, study: DontFreezeStudy) => {
    const main = mainRun.get(p)!;
    if (study !== "stopping" || !spec.stopping.separateRun) {
      return point === "before" ? Promise.resolve(fresh(main)) : loadRecorded(
        main,
        point === "best" ? main.weights : main.lastWeights!,
        mustExist(`pretext/${p}`),
      );
    }
    const r = stopRun.get(p)!;
    return point === "before" ? Promise.resolve(fresh(r)) : loadRecorded(
      r,
      point === "best" ? r.weights : r.lastWeights!,
      mustExist(`stopping-pretext/${p}`),
    );
  };
  const chosen = new Map<DontFreezePretextName, { config: PretextConfig; index: number }>();
  const cells: DontFreezeCell[] = [];
  const expected = expectedDontFreezeCells(spec);
  const writeTables = async () => {
    const table = buildDontFreezeResults({
      spec,
      cells,
      pretexts,
      targetPretexts,
      search,
      expected,
    });
    await exp.writeJson("table2.json", table.table2);
    await exp.writeJson("labels.json", table.labels);
    await exp.writeJson("table1.json", table.table1);
    await exp.writeJson("expectations.json", table.expectations);
    await exp.writeText("summary.md", dontFreezeSummaryMarkdown(table));
    return table;
  };
  const sourceRun = (
    p: DontFreezePretextName,
    seed: number,
    patience: number | null,
    name: "pretext" | "stopping-pretext",
  ) =>
  async () => {
    const src = await getSource();
    const c = chosen.get(p)!;
    return await trainPretext(exp, spec, {
      pretext: p,
      config: c.config,
      configIndex: c.index,
      on: "source",
      train: src.train,
      val: src.val,
      sampling: { fraction: spec.pretext.epochFraction, weighting: "variance" },
      epochs: spec.pretext.epochs,
      patience,
      seed,
      weights: `${name}/${p}-best.bin`,
      lastWeights: `${name}/${p}-last.bin`,
      checkpoint: `${name}-${p}`,
    });
  };
  try {
    await exp.stage("pretext", async () => {
      for (const p of spec.pretexts) {
        const candidates = pretextCandidates(spec, p);
        let best = { config: candidates[0], index: 0, loss: Infinity };
        if (candidates.length > 1) {
          for (const [i, config] of candidates.entries()) {
            if (!finished(`search/${p}/c${i}`)) continue;
            const rec = await exp.piece(
              `search/${p}/c${i}`,
              () => searchRun(exp, spec, p, i, config, getSource),
            );
            search.push(rec);
            const loss = rec.bestValLoss ?? Infinity;
            if (loss < best.loss) best = { config, index: i, loss };
          }
          log(`search ${p}: candidate ${best.index} wins (val loss ${best.loss.toFixed(4)})`);
        }
        chosen.set(p, best);
        if (!needSource || !finished(`pretext/${p}`)) continue;
        const main = await exp.piece(
          `pretext/${p}`,
          sourceRun(p, spec.pretextSeed, spec.pretext.patience, "pretext"),
        );
        pretexts.push(main);
        mainRun.set(p, main);
        chosen.set(p, { config: main.config, index: main.configIndex });
        if (
          spec.stopping.enabled && spec.stopping.separateRun && finished(`stopping-pretext/${p}`)
        ) {
          // §7 [P]: the winner re-initialised and run every epoch
          const r = await exp.piece(
            `stopping-pretext/${p}`,
            sourceRun(p, spec.pretextSeed + 1, null, "stopping-pretext"),
          );
          pretexts.push(r);
          stopRun.set(p, r);
        }
      }
    });
    source = null; // release the source windows

    // ---------------- cells, target by target, fold by fold ----------------
    const nConfigs = spec.downstream.configs.length;
    const jobs = settingJobs(spec);
    await exp.stage("cells", async () => {
      for (const t of d.targets) {
        const ds = targets[t];
        const folds = ds.folds.filter((f) =>
          d.folds.includes(f.testGroup) && f.repeat < spec.repeats
        );
        const targetRuns = new Map<
          string,
          { rec: PretextRecord; train: () => Promise<PretextRecord> }
        >();
        for (const f of folds) {
          // the fold's whole training part (target pretexts, label draws), only when needed
          let full: Windows | null = null;
          const fullTrain = () => full ??= selectWindows(ds.windows, f.train);
          const parts = {
            train: part(ds.windows, f.train, d.maxTrainWindows, f.seed + 1),
            val: part(ds.windows, f.val, d.maxValWindows, f.seed + 2),
            test: part(ds.windows, f.test, d.maxTestWindows, f.seed + 3),
          };
          // target pretexts of this fold (shared by its repeats; §4.5)
          for (const p of needTarget ? spec.pretexts : []) {
            const id = `${p}/fold${f.testGroup}`;
            const key = `target-pretext/${t}/${p}/fold${f.testGroup}`;
            if (targetRuns.has(id) || !finished(key) || !chosen.has(p)) continue;
            const train = () =>
              trainPretext(exp, spec, {
                pretext: p,
                config: chosen.get(p)!.config,
                configIndex: chosen.get(p)!.index,
                on: { target: t, fold: f.testGroup },
                train: fullTrain(),
                val: parts.val,
                sampling: {
                  fraction: Math.min(
                    1,
                    (spec.targetPretext.windowsPerEpoch ?? Infinity) / f.train.length,
                  ),
                  weighting: "uniform",
                },
                epochs: spec.targetPretext.epochs,
                patience: spec.targetPretext.patience,
                seed: mixSeed(spec.pretextSeed, f.testGroup, 71),
                weights: `checkpoints/target-pretext/${t}-${p}-fold${f.testGroup}.bin`,
                lastWeights: null,
                checkpoint: null,
              });
            const rec = await exp.piece(key, train);
            targetPretexts.push(rec);
            targetRuns.set(id, { rec, train });
          }
          const targetModel = (p: DontFreezePretextName) => {
            const r = targetRuns.get(`${p}/fold${f.testGroup}`)!;
            return loadRecorded(r.rec, r.rec.weights, async () => {
              exp.log(
                `target-pretext ${t} ${p} fold ${f.testGroup}: weights not kept (git-ignored); training again`,
              );
              await r.train();
            });
          };
          const available = (setting: DontFreezeSetting, p: DontFreezePretextName | null) =>
            p === null ||
            (setting.endsWith("-target")
              ? targetRuns.has(`${p}/fold${f.testGroup}`)
              : mainRun.has(p));
          const pretextOf = (
            setting: DontFreezeSetting,
            p: DontFreezePretextName | null,
            point: StoppingPoint | null,
            study: DontFreezeStudy,
          ) =>
            p === null
              ? Promise.resolve(null)
              : setting.endsWith("-target")
              ? targetModel(p)
              : sourceModel(p, point ?? "best", study);
          // frozen encoders' embeddings of this fold, per (setting, pretext) and part
          const embeddings = new Map<string, FitData>();
          const embed = async (
            setting: DontFreezeSetting,
            p: DontFreezePretextName,
            which: string,
            w: Windows,
          ) => {
            const id = `${setting}/${p}/${which}`;
            let e = embeddings.get(id);
            if (!e) {
              const enc = frozenEncoderOf(
                (await pretextOf(setting, p, "best", "table2"))!,
                PRETEXT_ENCODER[p],
              );
              try {
                e = embedWindows(enc, w);
              } finally {
                enc.dispose();
              }
              embeddings.set(id, e);
            }
            return e;
          };
          const run = async (
            id: Omit<DontFreezeCellId, "target" | "fold" | "repeat">,
            train: Windows,
          ) => {
            const cellId: DontFreezeCellId = {
              ...id,
              target: t,
              fold: f.testGroup,
              repeat: f.repeat,
            };
            const key = dontFreezeCellKey(cellId, nConfigs);
            if (!finished(key) || !available(id.setting, id.pretext)) return;
            cells.push(
              await exp.piece(key, async () => {
                const frozen = id.setting.startsWith("frozen");
                const e = (which: keyof typeof parts) =>
                  embed(
                    id.setting,
                    id.pretext!,
                    which === "train" && id.perClass ? `n${id.perClass}` : which,
                    which === "train" ? train : parts[which],
                  );
                return await runCell(exp, spec, {
                  id: cellId,
                  target: ds,
                  fold: f,
                  train,
                  val: parts.val,
                  test: parts.test,
                  embedded: frozen
                    ? {
                      train: await e("train"),
                      val: await e("val"),
                      test: await e("test"),
                    }
                    : null,
                  pretextModel: frozen
                    ? null
                    : await pretextOf(id.setting, id.pretext, id.point, id.study),
                  config: spec.downstream.configs[id.config],
                });
              }),
            );
          };
          for (const j of jobs) {
            for (let c = 0; c < nConfigs; c++) {
              await run(
                {
                  study: "table2",
                  ...j,
                  perClass: null,
                  point: j.pretext ? "best" : null,
                  config: c,
                },
                parts.train,
              );
            }
          }
          if (
            spec.labels.folds.includes(f.testGroup) && f.repeat < spec.labels.repeats &&
            (spec.labels.targets ?? d.targets).includes(t)
          ) {
            for (const k of spec.labels.perClass) {
              // §6 [D]: k per class uniformly without replacement from the fold's training users
              const train = selectWindows(
                ds.windows,
                labelsPerClass(ds.windows.y, k, {
                  seed: mixSeed(f.seed, k, 61),
                  indices: f.train,
                }),
              );
              for (const j of jobs) {
                for (let c = 0; c < nConfigs; c++) {
                  await run(
                    {
                      study: "labels",
                      ...j,
                      perClass: k,
                      point: j.pretext ? "best" : null,
                      config: c,
                    },
                    train,
                  );
                }
              }
            }
          }
          if (
            spec.stopping.enabled && spec.stopping.folds.includes(f.testGroup) &&
            f.repeat < spec.stopping.repeats && (spec.stopping.targets ?? d.targets).includes(t)
          ) {
            for (const point of stoppingPointsRun(spec)) {
              for (const p of spec.pretexts) {
                if (spec.stopping.separateRun && !stopRun.has(p)) continue;
                for (let c = 0; c < nConfigs; c++) {
                  await run(
                    {
                      study: "stopping",
                      setting: "finetune-source",
                      pretext: p,
                      encoder: PRETEXT_ENCODER[p],
                      perClass: null,
                      point,
                      config: c,
                    },
                    parts.train,
                  );
                }
              }
            }
          }
          // this fold's target pretexts are not needed again
          for (const p of spec.pretexts) {
            const r = targetRuns.get(`${p}/fold${f.testGroup}`);
            const m = r && loaded.get(r.rec.weights);
            if (m && f.repeat === spec.repeats - 1) {
              m.dispose();
              loaded.delete(r.rec.weights);
            }
          }
        }
        await writeTables();
        const mine = cells.filter((c) => c.target === t && c.study === "table2");
        log(
          `${t}: ${mine.length} Table 2 cells; mean macro F1 ${
            spec.settings.map((s) => {
              const v = mine.filter((c) => c.setting === s).map((c) => c.macroF1);
              return `${s} ${
                (100 * v.reduce((a, b) => a + b, 0) / Math.max(1, v.length)).toFixed(1)
              }`;
            }).join(", ")
          } %`,
        );
      }
    });
  } finally {
    for (const m of loaded.values()) m.dispose();
  }
  const table = await writeTables();
  return {
    data: { source: sourceReport, targets: targetReports },
    search,
    pretexts,
    targetPretexts,
    cells,
    table,
  };
}

/** The pretext model of `p` (§3) with configuration `c`, freshly initialised with `seed`. */
export function buildPretext(
  p: DontFreezePretextName,
  c: PretextConfig,
  seed: number,
): tf.LayersModel {
  switch (p) {
    case "multitask":
      return multitask8Model({ seed });
    case "cpc":
      return cpcModel({ seed, steps: c.cpcSteps });
    case "reconstruction":
      return autoencoder({ seed });
    case "simclr":
      return simclrModel({ seed });
    default:
      throw new ConfigError(`dontfreeze: unknown pretext "${p}"`);
  }
}

/** The training and validation batch sources and the loss of pretext `p`. */
function pretextData(
  p: DontFreezePretextName,
  c: PretextConfig,
  train: Windows,
  val: Windows,
  sampling: PretextEpochArgs,
  seed: number,
): { train: BatchSource; val: BatchSource; loss: FitLoss } {
  const batchSize = Math.max(1, c.batchSize);
  switch (p) {
    case "multitask":
      return {
        train: multitask8Source(train, { seed, batchSize, ...sampling }),
        val: multitask8Source(val, { seed, batchSize, evaluation: true }),
        loss: multitask8Loss(),
      };
    case "cpc":
      return {
        train: cpcSource(train, { seed, batchSize, steps: c.cpcSteps, ...sampling }),
        val: cpcSource(val, { seed, batchSize, steps: c.cpcSteps, evaluation: true }),
        loss: cpcLoss(),
      };
    case "reconstruction":
      return {
        train: reconstructionSource(train, { seed, batchSize, ...sampling }),
        val: reconstructionSource(val, { seed, batchSize, evaluation: true }),
        loss: reconstructionLoss(),
      };
    case "simclr":
      return {
        train: simclrSource(train, { seed, batchSize, ...sampling }),
        val: simclrSource(val, { seed, batchSize, evaluation: true }),
        loss: simclrLoss({ temperature: c.temperature }),
      };
    default:
      throw new ConfigError(`dontfreeze: unknown pretext "${p}"`);
  }
}

const adamOf = (c: { lr: number; weightDecay: number }): OptimizerSpec => ({
  name: "adam",
  lr: c.lr,
  ...(c.weightDecay ? { weightDecay: c.weightDecay } : {}),
});

/** One search candidate: a short run on a capped source; its lowest validation loss. */
async function searchRun(
  exp: Experiment<DontFreezeSpec>,
  spec: DontFreezeSpec,
  p: DontFreezePretextName,
  index: number,
  config: PretextConfig,
  getSource: () => Promise<DontFreezeSource>,
): Promise<SearchRecord> {
  const src = await getSource();
  const s = spec.pretext.search;
  const train = capRandom(src.train, s.maxTrainWindows, mixSeed(s.seed, 43));
  const data = pretextData(p, config, train, src.val, {
    fraction: Math.min(1, spec.pretext.epochFraction * src.train.n / train.n),
    weighting: "variance",
  }, spec.pretextSeed);
  const model = buildPretext(p, config, spec.pretextSeed);
  try {
    const t0 = performance.now();
    const r = await fit(model, data.train, {
      epochs: s.epochs,
      loss: data.loss,
      optimizer: adamOf(config),
      validation: data.val,
      earlyStopping: { monitor: "valLoss", mode: "min", patience: s.patience, restoreBest: false },
      seed: spec.pretextSeed,
      workers: spec.workers,
      progress: false,
      label: `search ${p} c${index}`,
    });
    const losses = r.rows.map((x) => x.valLoss).filter((v) => Number.isFinite(v));
    const bestValLoss = losses.reduce((a, b) => Math.min(a, b), Infinity);
    const fitSec = (performance.now() - t0) / 1000;
    exp.progress(
      `search ${p} c${index} ${JSON.stringify(config)}: val loss ${bestValLoss.toFixed(4)} ` +
        `(${r.rows.length} epochs, ${fitSec.toFixed(0)} s)`,
    );
    return { pretext: p, index, config, epochs: r.rows.length, bestValLoss, fitSec };
  } finally {
    model.dispose();
  }
}

interface PretextRunArgs {
  pretext: DontFreezePretextName;
  config: PretextConfig;
  configIndex: number;
  on: PretextRecord["on"];
  train: Windows;
  val: Windows;
  sampling: PretextEpochArgs;
  epochs: number;
  patience: number | null;
  seed: number;
  /** Best-validation weights file (relative). */
  weights: string;
  /** Last-epoch weights file (relative), or null. */
  lastWeights: string | null;
  /** fit checkpoint folder name under `checkpoints/` (resume mid-run), or null. */
  checkpoint: string | null;
}

/**
 * Train a pretext model; the best-validation weights go to `a.weights`
 * (written whenever the validation loss improves, so a resumed run keeps
 * them), the final ones to `a.lastWeights`.
 */
async function trainPretext(
  exp: Experiment<DontFreezeSpec>,
  spec: DontFreezeSpec,
  a: PretextRunArgs,
): Promise<PretextRecord> {
  const data = pretextData(a.pretext, a.config, a.train, a.val, a.sampling, a.seed);
  const model = buildPretext(a.pretext, a.config, a.seed);
  const file = join(exp.outDir, a.weights);
  const bestFile = `${file}.best.json`;
  const meta = { pretext: a.pretext, scale: spec.scale, on: a.on };
  let best = { epoch: 0, valLoss: Infinity };
  // the best so far of an interrupted run, only when fit resumes that run from its checkpoint
  const ckpt = a.checkpoint
    ? join(exp.outDir, "checkpoints", a.checkpoint, "checkpoint.bin")
    : null;
  if (ckpt && (await Deno.stat(ckpt).then(() => true, () => false))) {
    try {
      best = JSON.parse(await Deno.readTextFile(bestFile));
    } catch { /* none written yet */ }
  }
  const where = a.on === "source" ? "source" : `${a.on.target} fold ${a.on.fold}`;
  try {
    exp.log(
      `pretext ${a.pretext} on ${where}: ${a.train.n} windows (val ${a.val.n}), ` +
        `≤ ${a.epochs} epochs${a.patience === null ? "" : `, patience ${a.patience}`}`,
    );
    const t0 = performance.now();
    const r = await fit(model, data.train, {
      epochs: a.epochs,
      loss: data.loss,
      optimizer: adamOf(a.config),
      validation: data.val,
      ...(a.patience === null ? {} : {
        earlyStopping: {
          monitor: "valLoss",
          mode: "min",
          patience: a.patience,
          restoreBest: false,
        },
      }),
      onEpochEnd: async (rec) => {
        exp.progress(
          `pretext ${a.pretext} on ${where} epoch ${rec.epoch}: train ${
            rec.trainLoss.toFixed(4)
          }, ` +
            `val ${rec.valLoss.toFixed(4)} (${rec.seconds.toFixed(0)} s)`,
        );
        if (Number.isFinite(rec.valLoss) && rec.valLoss < best.valLoss) {
          best = { epoch: rec.epoch, valLoss: rec.valLoss };
          await saveWeights(model, file, { ...meta, epoch: rec.epoch, valLoss: rec.valLoss });
          await Deno.writeTextFile(bestFile, JSON.stringify(best));
        }
      },
      ...(a.checkpoint
        ? { checkpointDir: join(exp.outDir, "checkpoints", a.checkpoint), resume: true }
        : {}),
      seed: a.seed,
      workers: spec.workers,
      progress: false,
      label: `pretext ${a.pretext} ${where}`,
    });
    const fitSec = (performance.now() - t0) / 1000;
    if (!Number.isFinite(best.valLoss)) {
      throw new ConfigError(
        `dontfreeze: pretext ${a.pretext} on ${where} never had a finite validation loss ` +
          `(${r.rows.map((x) => x.valLoss).join(", ")})`,
      );
    }
    if (a.lastWeights) {
      await saveWeights(model, join(exp.outDir, a.lastWeights), { ...meta, epoch: r.rows.length });
    }
    await Deno.remove(bestFile).catch(() => {});
    exp.log(
      `pretext ${a.pretext} on ${where}: ${r.rows.length} epochs, best ${best.epoch} ` +
        `(val loss ${best.valLoss.toFixed(4)}), ${fitSec.toFixed(0)} s`,
    );
    return {
      pretext: a.pretext,
      encoder: PRETEXT_ENCODER[a.pretext],
      on: a.on,
      config: a.config,
      configIndex: a.configIndex,
      seed: a.seed,
      weights: a.weights,
      lastWeights: a.lastWeights,
      history: r.rows,
      bestEpoch: best.epoch,
      bestValLoss: best.valLoss,
      stoppedEarly: r.stoppedEarly,
      nTrain: a.train.n,
      // multi-task rows are windows × (1 + 8 transformed versions)
      windowsPerEpoch: (data.train.samplesPerEpoch ?? NaN) /
        (a.pretext === "multitask" ? MULTITASK8_TASKS.length + 1 : 1),
      nVal: a.val.n,
      fitSec,
    };
  } finally {
    model.dispose();
  }
}

/** The encoder of `pretext` alone in eval mode (dropout 0), for embeddings. */
export function frozenEncoderOf(pretext: tf.LayersModel, kind: EncoderKind): tf.LayersModel {
  const enc = dontFreezeEncoder({ kind } as DontFreezeEncoderSpec, 0, true);
  try {
    copyDontFreezeEncoder(pretext, enc);
  } catch (e) {
    enc.dispose();
    throw e;
  }
  return enc;
}

/** Largest |a − b| over the encoder weights of `model` and their namesakes in `pretext`. */
function encoderChange(pretext: tf.LayersModel, model: tf.LayersModel): number {
  const src = new Map(pretext.weights.map((w) => [w.originalName, w]));
  let max = 0;
  for (const w of model.weights) {
    if (!w.originalName.startsWith(ENCODER_PREFIX)) continue;
    const a = w.read().dataSync(), b = src.get(w.originalName)!.read().dataSync();
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  }
  return max;
}

interface CellArgs {
  id: DontFreezeCellId;
  target: DontFreezeTarget;
  fold: UserGroupFold;
  train: Windows;
  val: Windows;
  test: Windows;
  /** Frozen settings: the encoder's embeddings of the three parts. */
  embedded: { train: FitData; val: FitData; test: FitData } | null;
  pretextModel: tf.LayersModel | null;
  config: DownstreamConfig;
}

/**
 * Epochs of a downstream cell on `nTrain` windows: the spec's, raised to
 * reach `minSteps` optimiser steps (batches of `min(batchSize, nTrain)`).
 *
 * @example
 * downstreamEpochs({ epochs: 30, minSteps: 100, batchSize: 256 }, 28);   // 100 (1 step per epoch)
 * downstreamEpochs({ epochs: 30, minSteps: 100, batchSize: 256 }, 1000); // 30 (4 steps per epoch)
 */
export function downstreamEpochs(
  ds: Pick<DontFreezeDownstreamSpec, "epochs" | "minSteps" | "batchSize">,
  nTrain: number,
): number {
  const perEpoch = Math.ceil(nTrain / Math.min(ds.batchSize, nTrain));
  return Math.max(ds.epochs, Math.ceil(ds.minSteps / perEpoch));
}

async function runCell(
  exp: Experiment<DontFreezeSpec>,
  spec: DontFreezeSpec,
  a: CellArgs,
): Promise<DontFreezeCell> {
  const t = a.target, f = a.fold, { train, val, test } = a;
  const numClasses = t.classes.length;
  const seed = f.seed;
  const encoder = { kind: a.id.encoder } as DontFreezeEncoderSpec;
  let model: tf.LayersModel;
  if (a.embedded) {
    model = dontFreezeHead({ numClasses, seed, inputUnits: a.embedded.train.shape[1] });
  } else if (a.id.setting === "baseline") {
    model = dontFreezeClassifier({ numClasses, encoder, seed });
  } else {
    if (!a.pretextModel) throw new ConfigError(`dontfreeze: ${a.id.setting} needs a pretext model`);
    model = dontFreezeClassifierFromPretext(a.pretextModel, {
      numClasses,
      encoder,
      seed,
      regime: "tuned",
    });
  }
  try {
    const ds = spec.downstream;
    const c = a.config;
    const nTrain = a.embedded ? a.embedded.train.shape[0] : train.n;
    const batchSize = Math.min(ds.batchSize, nTrain);
    const t0 = performance.now();
    const epochs = downstreamEpochs(ds, nTrain);
    const r = await fit(model, a.embedded ? a.embedded.train : train, {
      epochs,
      // epochs raised for a small training set: about ds.epochs validations still
      validateEveryEpochs: Math.max(1, Math.floor(epochs / ds.epochs)),
      batchSize,
      optimizer: c.optimizer === "sgd"
        ? { name: "sgd", lr: c.lr, ...(c.weightDecay ? { weightDecay: c.weightDecay } : {}) }
        : adamOf(c),
      numClasses,
      validation: a.embedded ? a.embedded.val : val,
      earlyStopping: {
        monitor: "valF1",
        mode: "max",
        patience: ds.patience ?? Infinity,
        restoreBest: true,
      },
      channelsLast: !a.embedded,
      seed,
      // the head on embeddings is too small to gain from workers
      workers: a.embedded ? 0 : spec.workers,
      progress: false,
    });
    const fitSec = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const yPred = a.embedded ? predictClasses(model, a.embedded.test) : predictClasses(
      model,
      { x: test.x, shape: [test.n, test.channels, test.length], y: test.y },
      { channelsLast: true },
    );
    const predictSec = (performance.now() - t1) / 1000;
    const what = a.id.setting === "baseline" ? a.id.encoder : a.id.pretext!;
    const run = scoreRun({
      yTrue: test.y,
      yPred,
      subject: test.subject,
      classes: t.classes,
      benchmark: t.name,
      setting: `${a.id.setting}/${what}`,
      experiment: "dontfreeze",
      plan: f,
      nTrain,
      nVal: val.n,
      history: r.rows as unknown as Record<string, number>[],
      bestEpoch: r.bestEpoch,
      timings: { fitSec, predictSec },
      keepPredictions: false,
    });
    const change = a.embedded ? 0 : a.pretextModel ? encoderChange(a.pretextModel, model) : null;
    const valF1 = r.rows.reduce((m, x) => Math.max(m, Number.isFinite(x.valF1) ? x.valF1 : 0), 0);
    exp.progress(
      `${t.name} fold ${f.testGroup} r${f.repeat} ${a.id.study} ${a.id.setting}/${what}${
        a.id.perClass ? ` ${a.id.perClass}/class` : ""
      }${a.id.study === "stopping" ? ` ${a.id.point}` : ""}: macro F1 ${
        (100 * run.metrics.f1Macro).toFixed(1)
      } (val ${(100 * valF1).toFixed(1)}, best epoch ${r.bestEpoch}, ${fitSec.toFixed(1)} s)`,
    );
    return {
      ...a.id,
      seed,
      macroF1: run.metrics.f1Macro,
      accuracy: run.metrics.accuracy,
      valF1,
      encoderMaxAbsChange: change,
      bestEpoch: r.bestEpoch,
      nTrain,
      nVal: val.n,
      nTest: test.n,
      run,
    };
  } finally {
    model.dispose();
  }
}
