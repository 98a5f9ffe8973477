/**
 * The SelfPAB experiment (spec §7) as one resumable run on the data we have:
 *
 * - `dual` (variant A): Daphnet trunk + thigh → 156-feature HUNT4-normalised
 *   spectrograms; per LOSO fold, masked-reconstruction pre-training on the
 *   other subjects' runs (label-0 parts included), then freeze detection
 *   with every downstream setting; AUROC and freeze F1 pooled per frame and
 *   per sample.
 * - `thigh` (variant B): the ~24 h thigh/pocket pool (WISDM phone,
 *   MobiFall, Daphnet thigh) → 78 features (HUNT4_T); per fold k one
 *   pre-training on the pool without fold k's test subjects of both tasks,
 *   then MobiFall ADL (9 classes) and WISDM phone (18) fold k; per-subject
 *   macro F1 mean ± SEM.
 * - `amount`: the thigh pre-training on nested subsets of `spec.amount.hours`
 *   (same number of steps), the `selfpab` setting on the first
 *   `spec.amount.folds` folds of both thigh tasks; the whole pool is the
 *   last point.
 *
 * Everything lands in `outDir` as it is computed (scaffold pieces):
 * `pretrain/<variant>/<name>.json` (history, trivial anchors),
 * `outcomes/<task>/<setting>/<fold>.json` (test predictions,
 * {@link SelfpabFoldOutcome}), `summary.{md,json}`, `data.json`,
 * `run.json`, `run.log`. Pre-trained models go to `outDir/checkpoints/`
 * (git-ignored); with `resume` a fold whose downstream pieces are all done
 * never needs its model, and a missing model is pre-trained again
 * (seeded, so the same run).
 *
 * @example
 * await runSelfpab(selfpabSpec("smoke"), { outDir: ".cache/selfpab/smoke", resume: true });
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { ConfigError } from "../../errors.ts";
import { hunt4NormDir, readNormParams } from "../../signal/spectrogram.ts";
import { mixSeed } from "../../train/random.ts";
import { type Experiment, startExperiment } from "../scaffold.ts";
import {
  DAPHNET_HUNT4_CHANNELS,
  excludeSubjects,
  hoursOf,
  loadDaphnetDual,
  loadThighPool,
  nestedSubsets,
  type SelfpabSegment,
} from "./data.ts";
import {
  type ActivityScore,
  type FreezeDetectionScore,
  runSelfpabDownstream,
  scoreActivities,
  scoreFreezeDetection,
} from "./downstream.ts";
import {
  loadSelfpabPretrained,
  pretrainSelfpab,
  saveSelfpabPretrained,
  type SelfpabPretrainHistoryRow,
} from "./pretrain.ts";
import { selfpabMarkdown } from "./results.ts";
import { losoFolds, sequencesOf, sequencesOfDatasets, subjectFolds } from "./sequences.ts";
import type { SelfpabSetting, SelfpabSpec, SelfpabVariant } from "./spec.ts";
import type { SelfpabFold, SelfpabFoldOutcome, SelfpabSequence } from "./types.ts";

/** Stages of a run, in order. */
export type SelfpabStage = "dual" | "thigh" | "amount";

/** All stages. */
export const SELFPAB_STAGES: readonly SelfpabStage[] = ["dual", "thigh", "amount"];

/** The downstream tasks. */
export type SelfpabTask = "daphnet-fog" | "mobifall" | "wisdm-phone";

/** Folds of the thigh tasks (subject-wise k-fold). */
export const THIGH_FOLDS = 5;

/** Options of {@link runSelfpab}. */
export interface RunSelfpabOptions {
  /** Output folder (e.g. `results/selfpab`). */
  outDir: string;
  /** Reuse finished pieces (default false: start over). */
  resume?: boolean;
  /** Stages to run (default: `dual` and `thigh` as the spec's variants say, then `amount`). */
  stages?: SelfpabStage[];
  /** Data folder (default `$HAR_DATA_DIR` or `./datasets`). */
  dataDir?: string;
  /** Progress messages (default the scaffold's: stderr with the elapsed time). */
  log?: (msg: string) => void;
  /** Workers of every training (default `"auto"`: both cores when the native backend is up). */
  workers?: number | "auto";
}

/** One pre-training as recorded (the model itself is in `checkpoints/`). */
export interface SelfpabPretrainRecord {
  variant: SelfpabVariant | "amount";
  /** `"<fold>"` or `"<fold>-<hours>h"`. */
  name: string;
  /** Sequences and hours pre-trained on. */
  sequences: number;
  hours: number;
  /** Subjects left out (the fold's test subjects). */
  excluded: string[];
  history: SelfpabPretrainHistoryRow[];
  trivial: { mean: number; interpolate: number };
  finalValL1: number;
  steps: number;
}

/** One point of the pre-training-amount curve. */
export interface SelfpabAmountPoint {
  task: SelfpabTask;
  /** Hours asked for (the whole pool: its hours). */
  targetHours: number;
  /** Hours pre-trained on (mean over the folds). */
  hours: number;
  /** Per-subject macro F1 mean ± SEM over the test subjects of the folds. */
  f1Mean: number;
  f1Sem: number;
  /** Validation masked L1 of the pre-training (mean over folds). */
  valL1: number;
  folds: number;
}

/** Scores of one task and setting. */
export interface SelfpabScoreRow {
  task: SelfpabTask;
  setting: string;
  folds: number;
  freeze?: FreezeDetectionScore;
  activity?: ActivityScore;
}

/** A fold outcome with its task. */
export type SelfpabTaskOutcome = SelfpabFoldOutcome & { task: SelfpabTask };

/** What {@link runSelfpab} returns (also `outDir/results.json`). */
export interface SelfpabRunResult {
  spec: SelfpabSpec;
  pretraining: SelfpabPretrainRecord[];
  outcomes: SelfpabTaskOutcome[];
  scores: SelfpabScoreRow[];
  amount: SelfpabAmountPoint[];
  data: Record<string, unknown>;
}

const THIGH_AXES = ["x", "y", "z"];

/** The label names of a task's sequences (all the same; checked). */
function labelNamesOf(seqs: SelfpabSequence[], idx: number[], task: string): string[] {
  const names = seqs[idx[0]]?.segment.labelNames;
  if (!names) throw new ConfigError(`selfpab ${task}: no labelled sequence`);
  for (const i of idx) {
    if (seqs[i].segment.labelNames.join(",") !== names.join(",")) {
      throw new ConfigError(
        `selfpab ${task}: ${seqs[i].key} has classes ${
          seqs[i].segment.labelNames.join(",")
        }, others ${names.join(",")}`,
      );
    }
  }
  return names;
}

/** Settings of a task: the freeze index only where the task is binary (Daphnet). */
function settingsFor(spec: SelfpabSpec, binary: boolean): SelfpabSetting[] {
  return spec.downstream.settings.filter((s) => binary || s !== "freeze-index");
}

const NEEDS_ENCODER = new Set<string>(["selfpab", "frozen"]);

/**
 * Run (or resume) the experiment. See the module docs.
 *
 * @throws ConfigError when resuming with a different spec; DatasetUnavailableError naming a missing dataset
 */
export async function runSelfpab(
  spec: SelfpabSpec,
  opts: RunSelfpabOptions,
): Promise<SelfpabRunResult> {
  const exp = await startExperiment({
    name: "selfpab",
    spec,
    outDir: opts.outDir,
    resume: opts.resume ?? false,
    dataDir: opts.dataDir,
    cacheDir: null,
    log: opts.log,
  });
  try {
    const r = await selfpabBody(exp, spec, opts);
    await exp.finish();
    return r;
  } catch (e) {
    await exp.fail(e);
    throw e;
  }
}

async function selfpabBody(
  exp: Experiment<SelfpabSpec>,
  spec: SelfpabSpec,
  opts: RunSelfpabOptions,
): Promise<SelfpabRunResult> {
  const log = exp.progress;
  const workers = opts.workers ?? "auto";
  const resume = opts.resume ?? false;
  const stages = new Set<SelfpabStage>(
    opts.stages ??
      [
        ...spec.variants,
        ...(spec.variants.includes("thigh") && spec.amount.hours.length ? ["amount" as const] : []),
      ],
  );
  const modelDir = (name: string) => join(exp.outDir, "checkpoints", name);
  if (!resume) await rmrf(join(exp.outDir, "checkpoints"));
  await exp.writeJson("spec.json", spec);
  const data: Record<string, unknown> = {};
  const pretraining: SelfpabPretrainRecord[] = [];
  const outcomes: SelfpabTaskOutcome[] = [];
  const scores: SelfpabScoreRow[] = [];
  const amount: SelfpabAmountPoint[] = [];
  const maxFolds = spec.downstream.maxFolds ?? Infinity;

  /** Pre-train (or read back) one model; the model is loaded lazily. */
  const pretrained = (
    variant: SelfpabPretrainRecord["variant"],
    name: string,
    pool: SelfpabSequence[],
    excluded: string[],
  ) => {
    const dir = modelDir(`${variant}-${name}`);
    let model: tf.LayersModel | null = null;
    const train = async () => {
      const r = await pretrainSelfpab({
        spec,
        pool: pool.map((s) => s.frames),
        poolNames: pool.map((s) => s.key),
        seed: mixSeed(spec.seed, hashName(`${variant}/${name}`)),
        workers,
        checkpointDir: join(exp.outDir, "checkpoints", `pretrain-${variant}-${name}`),
        log,
      });
      await saveSelfpabPretrained(dir, r);
      model = r.model;
      return r;
    };
    return {
      record: () =>
        exp.piece(`pretrain/${variant}/${name}`, async (): Promise<SelfpabPretrainRecord> => {
          const r = await train();
          return {
            variant,
            name,
            sequences: pool.length,
            hours: hoursOf(pool.map((s) => s.segment)),
            excluded,
            history: r.history,
            trivial: r.trivial,
            finalValL1: r.finalValL1,
            steps: r.steps,
          };
        }),
      model: async (): Promise<tf.LayersModel> => {
        if (model) return model;
        try {
          model = (await loadSelfpabPretrained(dir)).model;
        } catch (e) {
          log(
            `pretrain ${variant}/${name}: no saved model (${(e as Error).message}); training again`,
          );
          model = (await train()).model;
        }
        return model;
      },
    };
  };

  /** Every setting on one fold of one task, as pieces; the outcomes (also collected). */
  const downstream = async (
    task: SelfpabTask,
    seqs: SelfpabSequence[],
    fold: SelfpabFold,
    labelNames: string[],
    settings: string[],
    encoder: () => Promise<tf.LayersModel>,
    binary: boolean,
  ): Promise<SelfpabTaskOutcome[]> => {
    const got: SelfpabTaskOutcome[] = [];
    for (const setting of settings) {
      const base = setting.replace(/-[^-]+h$/, "");
      const o = await exp.piece(
        `outcomes/${task}/${setting}/${fold.name}`,
        async () =>
          runSelfpabDownstream({
            spec,
            sequences: seqs,
            fold,
            setting,
            labelNames,
            pretrained: NEEDS_ENCODER.has(base) ? await encoder() : undefined,
            positiveClass: binary ? 1 : undefined,
            seed: mixSeed(spec.seed, hashName(`${task}/${setting}/${fold.name}`)),
            workers,
            log,
          }),
      );
      const t = { ...o, task };
      got.push(t);
      if (!outcomes.some((x) => x.task === task && x.setting === o.setting && x.fold === o.fold)) {
        outcomes.push(t);
      }
    }
    return got;
  };

  const score = (task: SelfpabTask, settings: string[], binary: boolean) => {
    for (const setting of settings) {
      const os = outcomes.filter((o) => o.setting === setting && o.task === task);
      if (os.length === 0) continue;
      scores.push({
        task,
        setting,
        folds: os.length,
        ...(binary ? { freeze: scoreFreezeDetection(os) } : { activity: scoreActivities(os) }),
      });
    }
  };

  const writeSummary = async () => {
    const result = { spec, pretraining, outcomes, scores, amount, data };
    await exp.writeJson("summary.json", { scores, amount, pretraining: pretraining.map(brief) });
    await exp.writeText("summary.md", selfpabMarkdown(result));
  };

  // ---------------- variant A: dual sensor, Daphnet freezing of gait ----------------
  if (stages.has("dual")) {
    await exp.stage("dual", async () => {
      const dual = await loadDaphnetDual({ dataDir: exp.dataDir, log });
      const norm = await readNormParams(hunt4NormDir("HUNT4"), { features: 156 });
      const seqs = sequencesOf(dual.runs, { axes: DAPHNET_HUNT4_CHANNELS, norm, log });
      const folds = losoFolds(seqs).slice(0, maxFolds);
      const labelNames = labelNamesOf(seqs, seqs.map((_, i) => i), "daphnet-fog");
      data.dual = {
        runs: seqs.map((s) => ({ key: s.key, frames: s.frames.frames })),
        excluded: dual.excluded,
        hours: hoursOf(dual.runs),
        folds: folds.map((f) => ({ name: f.name, kind: f.kind, test: f.test.length })),
      };
      await exp.writeJson("data.json", data);
      const settings = settingsFor(spec, true);
      for (const fold of folds) {
        const pool = fold.train.map((i) => seqs[i]);
        const p = pretrained("dual", fold.name, pool, fold.testSubjects);
        if (settings.some((s) => NEEDS_ENCODER.has(s))) pretraining.push(await p.record());
        await downstream("daphnet-fog", seqs, fold, labelNames, settings, p.model, true);
      }
      score("daphnet-fog", settings, true);
      await writeSummary();
    });
  }

  // ---------------- variant B: thigh only ----------------
  let thigh: { seqs: SelfpabSequence[]; folds: Record<string, SelfpabFold[]> } | null = null;
  const loadThigh = async () => {
    if (thigh) return thigh;
    const pool = await loadThighPool({
      dataDir: exp.dataDir,
      lowpassHz: spec.thighLowpassHz,
      log,
    });
    const norm = await readNormParams(hunt4NormDir("HUNT4_T"), { features: 78 });
    const seqs = sequencesOf(pool.segments, { axes: THIGH_AXES, norm, log });
    const folds: Record<string, SelfpabFold[]> = {};
    for (const task of ["mobifall", "wisdm-phone"] as const) {
      folds[task] = subjectFolds(
        seqs,
        sequencesOfDatasets(seqs, [task]),
        THIGH_FOLDS,
        spec.seed,
      );
    }
    data.thigh = {
      hoursBySource: pool.hoursBySource,
      sequences: seqs.length,
      folds: Object.fromEntries(
        Object.entries(folds).map(([t, fs]) => [t, fs.map((f) => f.testSubjects)]),
      ),
    };
    await exp.writeJson("data.json", data);
    thigh = { seqs, folds };
    return thigh;
  };
  /** The pool of fold k: every thigh sequence but fold k's test subjects of both tasks. */
  const thighPool = (t: NonNullable<typeof thigh>, k: number) => {
    const excluded = [
      ...t.folds["mobifall"][k].testSubjects,
      ...t.folds["wisdm-phone"][k].testSubjects,
    ];
    const keep = new Set(
      excludeSubjects(t.seqs.map((s) => s.segment), excluded) as SelfpabSegment[],
    );
    return { pool: t.seqs.filter((s) => keep.has(s.segment)), excluded };
  };

  if (stages.has("thigh")) {
    await exp.stage("thigh", async () => {
      const t = await loadThigh();
      const settings = settingsFor(spec, false);
      const nFolds = Math.min(THIGH_FOLDS, maxFolds);
      for (let k = 0; k < nFolds; k++) {
        const { pool, excluded } = thighPool(t, k);
        const p = pretrained("thigh", `fold${k + 1}`, pool, excluded);
        if (settings.some((s) => NEEDS_ENCODER.has(s))) pretraining.push(await p.record());
        for (const task of ["mobifall", "wisdm-phone"] as const) {
          const fold = t.folds[task][k];
          const names = labelNamesOf(t.seqs, fold.test, task);
          await downstream(task, t.seqs, fold, names, settings, p.model, false);
        }
      }
      for (const task of ["mobifall", "wisdm-phone"] as const) score(task, settings, false);
      await writeSummary();
    });
  }

  // ---------------- the pre-training-amount curve ----------------
  if (stages.has("amount") && spec.amount.hours.length > 0) {
    await exp.stage("amount", async () => {
      const t = await loadThigh();
      const nFolds = Math.min(spec.amount.folds, THIGH_FOLDS);
      const perPoint = new Map<
        string,
        { target: number; hours: number[]; valL1: number[]; outcomes: SelfpabFoldOutcome[] }
      >();
      for (let k = 0; k < nFolds; k++) {
        const { pool, excluded } = thighPool(t, k);
        const poolHours = hoursOf(pool.map((s) => s.segment));
        const subsets = nestedSubsets(
          pool.map((s) => s.segment),
          spec.amount.hours.filter((h) => h < poolHours),
          mixSeed(spec.seed, k),
          log,
        );
        const bySegment = new Map(pool.map((s) => [s.segment, s]));
        const points = [
          ...subsets.map((s) => ({
            label: `${s.targetHours}h`,
            target: s.targetHours,
            seqs: s.segments.map((g) => bySegment.get(g)!),
          })),
          { label: "all", target: Infinity, seqs: pool },
        ];
        for (const pt of points) {
          const isAll = pt.label === "all";
          // the whole pool is the thigh stage's model and its "selfpab" outcome
          const p = isAll
            ? pretrained("thigh", `fold${k + 1}`, pool, excluded)
            : pretrained("amount", `fold${k + 1}-${pt.label}`, pt.seqs, excluded);
          const rec = await p.record();
          if (!pretraining.some((r) => r.variant === rec.variant && r.name === rec.name)) {
            pretraining.push(rec);
          }
          const setting = isAll ? "selfpab" : `selfpab-${pt.label}`;
          for (const task of ["mobifall", "wisdm-phone"] as const) {
            const fold = t.folds[task][k];
            const names = labelNamesOf(t.seqs, fold.test, task);
            const [o] = await downstream(task, t.seqs, fold, names, [setting], p.model, false);
            const key = `${task}|${pt.label}`;
            const acc = perPoint.get(key) ??
              { target: pt.target, hours: [], valL1: [], outcomes: [] };
            acc.hours.push(rec.hours);
            acc.valL1.push(rec.finalValL1);
            acc.outcomes.push(o);
            perPoint.set(key, acc);
          }
        }
      }
      const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
      for (const [key, acc] of perPoint) {
        const task = key.split("|")[0] as SelfpabTask;
        const s = scoreActivities(acc.outcomes);
        amount.push({
          task,
          targetHours: Number.isFinite(acc.target) ? acc.target : mean(acc.hours),
          hours: mean(acc.hours),
          f1Mean: s.subjectF1Mean,
          f1Sem: s.subjectF1Sem,
          valL1: mean(acc.valL1),
          folds: acc.outcomes.length,
        });
      }
      amount.sort((a, b) => a.task.localeCompare(b.task) || a.hours - b.hours);
      await writeSummary();
    });
  }

  const result: SelfpabRunResult = { spec, pretraining, outcomes, scores, amount, data };
  await writeSummary();
  return result;
}

/** A pre-training record without its curve. */
function brief(r: SelfpabPretrainRecord) {
  const { history: _h, ...rest } = r;
  return { ...rest, historyRows: r.history.length };
}

/** 32-bit FNV-1a of a name: stable per-piece seeds. */
function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

async function rmrf(p: string) {
  try {
    await Deno.remove(p, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
