/**
 * Results of the Yuan et al. experiment: the paper-style table (F1 macro
 * and Cohen's kappa, mean ± sd over test subjects, per protocol and
 * setting, next to the published F1), the checks of the issue's
 * expectations, and atomic JSON/Markdown/CSV writing.
 *
 * @example
 * const t = yuanTable(outcomes, spec);
 * console.log(toMarkdown(t));
 * checkExpectations(t); // [{ name: "RF within ±0.05 of published (adl)", pass: true, detail }]
 */
import { meanSd } from "../../eval/bootstrap.ts";
import {
  classificationReportMarkdown,
  formatMeanSd,
  type Table,
  toMarkdown,
  writeTextAtomic,
} from "../../eval/tables.ts";
import * as aq from "arquero";
import { join } from "node:path";
import { type RunResult, runResultFromJson } from "../../eval/run_result.ts";
import {
  DOWNSTREAM_SETTINGS,
  type DownstreamDataset,
  type DownstreamSetting,
  PUBLISHED_F1,
  YUAN_BENCHMARKS,
  type YuanSpec,
} from "./spec.ts";

/** One row of the summary (plain numbers, for JSON and the notebook). */
export interface YuanRow {
  /** `"adl"` or `"wisdm"`. */
  dataset: DownstreamDataset;
  /** `"loso"` / `"kfold5"`. */
  protocol: string;
  /** Setting. */
  setting: DownstreamSetting;
  /** Folds done / expected. */
  folds: number;
  /** Test subjects scored. */
  subjects: number;
  /** Mean / sd over test subjects of macro F1. */
  f1Mean: number;
  f1Sd: number;
  /** Mean / sd over test subjects of Cohen's kappa. */
  kappaMean: number;
  kappaSd: number;
  /** Mean over folds of the pooled fold macro F1. */
  f1FoldMean: number;
  /** Published macro F1 (Yuan et al. 2024). */
  published: number;
  /** Ours minus published. */
  delta: number;
}

/** Summarise fold results into one row per (dataset, setting) present. */
export function yuanRows(outcomes: RunResult[], spec: YuanSpec): YuanRow[] {
  const rows: YuanRow[] = [];
  for (const dataset of ["adl", "wisdm"] as DownstreamDataset[]) {
    for (const setting of DOWNSTREAM_SETTINGS) {
      const fs = outcomes.filter((o) =>
        o.benchmark === YUAN_BENCHMARKS[dataset] && o.setting === setting
      );
      if (fs.length === 0) continue;
      const subj = fs.flatMap((f) => f.perSubject);
      const f1 = meanSd(subj.map((s) => s.f1Macro));
      const kappa = meanSd(subj.map((s) => s.kappa).filter(Number.isFinite));
      const published = PUBLISHED_F1[dataset][setting];
      rows.push({
        dataset,
        protocol: dataset === "adl" ? "loso" : `kfold${spec.downstream.wisdmFolds}`,
        setting,
        folds: fs.length,
        subjects: subj.length,
        f1Mean: f1.mean,
        f1Sd: f1.sd,
        kappaMean: kappa.mean,
        kappaSd: kappa.sd,
        f1FoldMean: meanSd(fs.map((f) => f.metrics.f1Macro)).mean,
        published,
        delta: f1.mean - published,
      });
    }
  }
  return rows;
}

/** The paper-style table (formatted strings) of {@link yuanRows}. */
export function yuanTable(rows: YuanRow[]): Table {
  return aq.from(rows.map((r) => ({
    dataset: r.dataset === "adl" ? "ADL (HMP)" : "WISDM watch",
    protocol: r.protocol,
    setting: r.setting,
    folds: r.folds,
    subjects: r.subjects,
    f1Macro: formatMeanSd(r.f1Mean, r.f1Sd),
    kappa: formatMeanSd(r.kappaMean, r.kappaSd),
    f1FoldMean: r.f1FoldMean.toFixed(3),
    published: r.published.toFixed(3),
    delta: (r.delta >= 0 ? "+" : "") + r.delta.toFixed(3),
  })));
}

/** One expectation of the issue and whether the measured numbers meet it. */
export interface Expectation {
  /** What is expected. */
  name: string;
  /** Met, not met, or null when the numbers are missing. */
  pass: boolean | null;
  /** The measured numbers. */
  detail: string;
}

/**
 * The issue's expectations: RF and scratch within ±0.05 of the published F1
 * on both datasets; fine-tuned ≥ frozen; SSL fine-tuned > scratch.
 */
export function checkExpectations(rows: YuanRow[]): Expectation[] {
  const get = (d: DownstreamDataset, s: DownstreamSetting) =>
    rows.find((r) => r.dataset === d && r.setting === s);
  const out: Expectation[] = [];
  for (const d of ["adl", "wisdm"] as DownstreamDataset[]) {
    for (const s of ["rf", "scratch"] as DownstreamSetting[]) {
      const r = get(d, s);
      out.push({
        name: `${s} within ±0.05 of published (${d})`,
        pass: r ? Math.abs(r.delta) <= 0.05 : null,
        detail: r
          ? `${r.f1Mean.toFixed(3)} vs ${r.published.toFixed(3)} (${r.delta >= 0 ? "+" : ""}${
            r.delta.toFixed(3)
          })`
          : "not run",
      });
    }
    const fr = get(d, "frozen"), ft = get(d, "finetune"), sc = get(d, "scratch");
    out.push({
      name: `fine-tuned ≥ frozen (${d})`,
      pass: fr && ft ? ft.f1Mean >= fr.f1Mean : null,
      detail: fr && ft ? `${ft.f1Mean.toFixed(3)} vs ${fr.f1Mean.toFixed(3)}` : "not run",
    });
    out.push({
      name: `SSL fine-tuned > scratch (${d})`,
      pass: sc && ft ? ft.f1Mean > sc.f1Mean : null,
      detail: sc && ft ? `${ft.f1Mean.toFixed(3)} vs ${sc.f1Mean.toFixed(3)}` : "not run",
    });
  }
  return out;
}

/**
 * Per-class precision / recall / F1 / support (scikit-learn's
 * classification_report) of the pooled test predictions of each
 * (benchmark, setting) in `outcomes`, as Markdown sections; results without
 * stored predictions are skipped.
 */
export function yuanReports(outcomes: RunResult[]): string {
  const groups = new Map<string, RunResult[]>();
  for (const o of outcomes) {
    if (!o.predictions) continue;
    const key = `${o.benchmark} · ${o.setting}`;
    groups.set(key, [...(groups.get(key) ?? []), o]);
  }
  const out: string[] = [];
  for (const [key, g] of groups) {
    const yTrue: number[] = [], yPred: number[] = [];
    for (const o of g) {
      for (const v of o.predictions!.yTrue) yTrue.push(v);
      for (const v of o.predictions!.yPred) yPred.push(v);
    }
    out.push(
      `### ${key}: per class (all test predictions, ${g.length} folds)`,
      "",
      classificationReportMarkdown(yTrue, yPred, g[0].classes),
    );
  }
  return out.join("\n");
}

/**
 * Markdown of the table and the expectations; with `outcomes`, a per-class
 * report ({@link yuanReports}) of each setting follows.
 */
export function yuanMarkdown(
  rows: YuanRow[],
  spec: YuanSpec,
  note = "",
  outcomes: RunResult[] = [],
): string {
  const exp = checkExpectations(rows);
  const mark = (p: boolean | null) => (p === null ? "not run" : p ? "yes" : "**no**");
  return [
    `# Yuan et al. multi-task SSL: downstream results (scale: ${spec.scale})`,
    "",
    "F1 macro and Cohen's kappa: mean ± sd over test subjects (ssl-wearables' unit).",
    "F1 mean over folds: mean of the pooled fold F1. published F1: Yuan et al. 2024",
    "(UK Biobank pre-training for the SSL rows; ours pre-trains on the ~70 h available here).",
    "",
    `Run options: ${optionsLine(spec)}.`,
    note,
    "",
    toMarkdown(yuanTable(rows)),
    "",
    "## Expectations",
    "",
    "| expectation | met | measured |",
    "|---|---|---|",
    ...exp.map((e) => `| ${e.name} | ${mark(e.pass)} | ${e.detail} |`),
    "",
    ...(outcomes.some((o) => o.predictions) ? ["## Per class", "", yuanReports(outcomes)] : []),
  ].join("\n");
}

/**
 * The options a run used where we can differ from ssl-wearables, in one
 * line (network, initialisation, optimiser, sampling, steps, held-out sets,
 * training-window cap).
 */
export function optionsLine(spec: YuanSpec): string {
  const p = spec.pretrain, d = spec.downstream;
  const steps = p.epochs * Math.ceil((p.windowsPerEpoch ?? NaN) / p.batchSize);
  return [
    `${spec.model.stages ? "custom (smoke)" : spec.model.variant} harnet`,
    `init ${
      {
        "ssl-wearables": "as ssl-wearables (Kaiming normal fan-out, PyTorch default biases)",
        kaiming: "truncated Kaiming normal fan-out, zero biases",
        torch: "PyTorch defaults",
      }[spec.model.init]
    }`,
    `Adam lr ${p.lr}${p.amsgrad ? " amsgrad (as ssl-wearables)" : " (no amsgrad)"}`,
    `batch ${p.batchSize} ${
      p.sampling === "subjects"
        ? `= ${p.subjectsPerBatch} subjects × ${
          p.batchSize / p.subjectsPerBatch
        } windows (ssl-wearables' loader)`
        : `from the whole pool ${p.replace ? "with" : "without"} replacement`
    }, ${p.weighting}-weighted`,
    Number.isFinite(steps)
      ? `${steps.toLocaleString("en-US")} pre-training steps`
      : `pre-training: ${p.epochs} passes over the pool`,
    `held out ${p.valWindows} uniform${
      p.valStdWindows ? ` + ${p.valStdWindows} std-drawn` : ""
    } windows`,
    `downstream training windows per fold ${
      d.maxTrainWindows === null ? "all" : `≤ ${d.maxTrainWindows}`
    }`,
  ].join("; ");
}

/** Write `obj` as JSON atomically. */
export async function writeJson(path: string, obj: unknown): Promise<void> {
  await writeTextAtomic(
    path,
    JSON.stringify(obj, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 1),
  );
}

/** Read JSON, or null when the file does not exist. */
export async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Mean ± sd over subjects of a list of fold results (ablation points). */
export function subjectMean(outcomes: RunResult[]): { mean: number; sd: number; n: number } {
  const s = outcomes.flatMap((o) => o.perSubject.map((p) => p.f1Macro));
  const m = meanSd(s);
  return { mean: m.mean, sd: m.sd, n: s.length };
}

/**
 * The fold results of one dataset and setting written by a run into
 * `outDir/folds/<benchmark>/<setting>/`, in fold-name order (empty when
 * the folder is absent).
 */
export async function readYuanRuns(
  outDir: string,
  dataset: DownstreamDataset,
  setting: string,
): Promise<RunResult[]> {
  const dir = join(outDir, "folds", YUAN_BENCHMARKS[dataset], setting);
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".json")) names.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  names.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  return await Promise.all(
    names.map(async (n) => runResultFromJson(await Deno.readTextFile(join(dir, n)), join(dir, n))),
  );
}
