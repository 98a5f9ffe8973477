/**
 * Paper-style result tables as arquero tables: one row per (dataset,
 * protocol, method) with "mean ± sd" over folds, optionally next to the
 * published number, rendered to Markdown or CSV.
 *
 * @example
 * const t = summaryTable(results, {
 *   published: [{ dataset: "adl", method: "rf", f1Macro: 0.764, source: "Yuan et al. 2024" }],
 * });
 * console.log(toMarkdown(t));
 * // | dataset | protocol | method | folds | F1 macro | Cohen's kappa | published F1 |
 * // | adl | loso | rf | 7 | 0.770 ± 0.080 | 0.690 ± 0.100 | 0.764 |
 * await writeCsv(t, "results/baseline/summary.csv");
 */
import * as aq from "arquero";
import { writeTextAtomic } from "../fs.ts";
import { meanSd } from "./bootstrap.ts";
import { precisionRecallFscoreSupport } from "./metrics.ts";

/** An arquero table. */
export type Table = ReturnType<typeof aq.from>;

/** One fold's (or one test subject's) scores of one method. */
export interface FoldResult {
  /** Dataset name, e.g. `"hmp-adl"`; optional. */
  dataset?: string;
  /** Evaluation protocol, e.g. `"loso"`, `"kfold5"`. */
  protocol: string;
  /** Method name, e.g. `"rf-handcrafted"`. */
  method: string;
  /** Fold index or test-subject id. */
  fold: number | string;
  /** Macro F1 of the fold, in [0, 1]. */
  f1Macro: number;
  /** Cohen's kappa of the fold. */
  kappa: number;
  /** Further numeric scores (accuracy, balancedAccuracy, …). */
  [metric: string]: number | string | undefined;
}

/** A published number to show next to ours. */
export interface PublishedNumber {
  /** Dataset it refers to (matched when both sides have one). */
  dataset?: string;
  /** Protocol (matched when both sides have one). */
  protocol?: string;
  /** Method it refers to. */
  method: string;
  /** The published macro F1. */
  f1Macro: number;
  /** Where it comes from (paper, table). */
  source?: string;
}

/**
 * The first of `published` that refers to `ours`: the same method, the
 * same dataset when both name one, and the same protocol when the published
 * number names one.
 *
 * @example
 * const published = [{ method: "rf", dataset: "adl", f1Macro: 0.76 }];
 * findPublished(published, { method: "rf", protocol: "loso" }); // the rf entry
 */
export function findPublished(
  published: readonly PublishedNumber[],
  ours: { method: unknown; dataset?: unknown; protocol?: unknown },
): PublishedNumber | undefined {
  return published.find((p) =>
    p.method === ours.method &&
    (p.dataset === undefined || ours.dataset === undefined || p.dataset === ours.dataset) &&
    (p.protocol === undefined || p.protocol === ours.protocol)
  );
}

/** Options of {@link summaryTable}. */
export interface SummaryOptions {
  /** Metric columns to summarise; default `["f1Macro", "kappa"]`. */
  metrics?: string[];
  /** Decimals of the formatted "mean ± sd"; default 3. */
  digits?: number;
  /** Published numbers, shown in a "published" column (empty when unmatched). */
  published?: PublishedNumber[];
  /** Standard-deviation ddof; default 1 (pandas). */
  ddof?: number;
  /**
   * What one result is: `"fold"` (default; counted in a `folds` column) or
   * `"subject"` (one test subject's scores, `fold` holding its id; counted
   * in a `subjects` column, shown as "test subjects", so 43 subjects of 5
   * folds never read as "folds 43").
   */
  unit?: "fold" | "subject";
}

/** All fold results as an arquero table (one row per fold). */
export function resultsTable(results: FoldResult[]): Table {
  return aq.from(results.map((r) => ({ ...r })));
}

/** "0.764 ± 0.050" (or just the mean with one fold, "—" when undefined). */
export function formatMeanSd(mean: number, sd: number, digits = 3): string {
  if (!Number.isFinite(mean)) return "—";
  if (!Number.isFinite(sd)) return mean.toFixed(digits);
  return `${mean.toFixed(digits)} ± ${sd.toFixed(digits)}`;
}

/**
 * Summarise fold results per (dataset, protocol, method): columns `dataset`
 * (when any result has one), `protocol`, `method`, `folds` (or `subjects`
 * with `unit: "subject"`), and per metric
 * `<m>` ("mean ± sd"), `<m>_mean`, `<m>_sd`; plus `published` when
 * `options.published` is given. Rows keep first-appearance order.
 */
export function summaryTable(results: FoldResult[], options: SummaryOptions = {}): Table {
  const metrics = options.metrics ?? ["f1Macro", "kappa"];
  const digits = options.digits ?? 3;
  const hasDataset = results.some((r) => r.dataset !== undefined);
  const groups = new Map<string, FoldResult[]>();
  for (const r of results) {
    const key = JSON.stringify([r.dataset ?? "", r.protocol, r.method]);
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const rows: Record<string, string | number>[] = [];
  for (const g of groups.values()) {
    const first = g[0];
    const row: Record<string, string | number> = {};
    if (hasDataset) row.dataset = first.dataset ?? "";
    row.protocol = first.protocol;
    row.method = first.method;
    if (options.unit === "subject") row.subjects = new Set(g.map((r) => String(r.fold))).size;
    else row.folds = g.length;
    for (const m of metrics) {
      const s = meanSd(g.map((r) => Number(r[m])), { ddof: options.ddof });
      row[m] = formatMeanSd(s.mean, s.sd, digits);
      row[`${m}_mean`] = s.mean;
      row[`${m}_sd`] = s.sd;
    }
    if (options.published) {
      const p = findPublished(options.published, first);
      row.published = p ? p.f1Macro.toFixed(digits) : "";
    }
    rows.push(row);
  }
  return aq.from(rows);
}

/**
 * Headers for people, by machine key (the CSV/JSON keys stay as they are).
 * `<m>_ci` columns are labelled "pooled <m> [95 % CI]"; unknown camelCase
 * keys become lower-case words (`windowsPerClass` → "windows per class").
 */
export const COLUMN_LABELS: Readonly<Record<string, string>> = {
  f1Macro: "F1 macro",
  kappa: "Cohen's kappa",
  accuracy: "accuracy",
  balancedAccuracy: "balanced accuracy",
  f1Weighted: "F1 weighted",
  precisionMacro: "precision macro",
  recallMacro: "recall macro",
  subjects: "test subjects",
  n: "n (scores averaged)",
  published: "published F1",
  delta: "Δ F1 vs published",
  f1FoldMean: "F1 mean over folds",
  f1Pooled: "pooled F1",
  f1PooledCi95: "pooled F1 [95 % CI]",
};

/** Names of metrics inside pooled-CI headers. */
const CI_LABELS: Record<string, string> = { f1Macro: "F1", kappa: "kappa" };

/**
 * The human header for a column key.
 *
 * @example
 * columnLabel("f1Macro"); // "F1 macro"
 * columnLabel("f1Macro_ci"); // "pooled F1 [95 % CI]"
 * columnLabel("windowsPerClass"); // "windows per class"
 */
export function columnLabel(key: string): string {
  if (key in COLUMN_LABELS) return COLUMN_LABELS[key];
  const ci = key.match(/^(.+)_ci$/);
  if (ci) {
    return `pooled ${CI_LABELS[ci[1]] ?? columnLabel(ci[1]).replace(/ macro$/, "")} [95 % CI]`;
  }
  return key.replace(/_/g, " ").replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(
    /\b([A-Z])(?=[a-z])/g,
    (c) => c.toLowerCase(),
  );
}

/** Options of {@link toMarkdown}. */
export interface MarkdownOptions {
  /** Columns to show, in order; default all except the numeric `_mean`/`_sd` helpers. */
  columns?: string[];
  /** Maximum decimals of numeric cells; default 3. */
  digits?: number;
  /**
   * Header per column: default {@link columnLabel} (human headers), plus
   * any overrides given here; `false` keeps the machine keys.
   */
  labels?: Record<string, string> | false;
}

/**
 * A GitHub-flavoured Markdown table with human headers ({@link columnLabel};
 * the keys of the table, and so of its CSV, are unchanged). By default the
 * `<m>_mean` / `<m>_sd` helper columns of {@link summaryTable} are hidden.
 */
export function toMarkdown(table: Table, options: MarkdownOptions = {}): string {
  const cols = options.columns ??
    table.columnNames().filter((c: string) => !/_(mean|sd)$/.test(c));
  const digits = options.digits ?? 3;
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return "";
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return "—";
      return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(digits)));
    }
    return String(v).replace(/\|/g, "\\|");
  };
  const rows = table.objects() as Record<string, unknown>[];
  const labels = options.labels;
  const head = cols.map((c: string) =>
    labels === false ? c : (labels?.[c] ?? columnLabel(c)).replace(/\|/g, "\\|")
  );
  const lines = [
    `| ${head.join(" | ")} |`,
    `| ${cols.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${cols.map((c) => cell(r[c])).join(" | ")} |`),
  ];
  return lines.join("\n") + "\n";
}

/** CSV text of a table (all columns, header row). */
export function toCsv(table: Table): string {
  return table.toCSV();
}

/** Write a table as CSV, atomically. */
export async function writeCsv(table: Table, path: string): Promise<void> {
  await writeTextAtomic(path, toCsv(table));
}

export { writeTextAtomic };

/** One row of {@link classificationReport}. */
export interface ReportRow {
  /** Class name, or `"accuracy"`, `"macro avg"`, `"weighted avg"`. */
  label: string;
  /** Precision (NaN on the accuracy row). */
  precision: number;
  /** Recall (NaN on the accuracy row). */
  recall: number;
  /** F1 (the accuracy itself on the accuracy row). */
  f1: number;
  /** True windows of the class (all windows on the summary rows). */
  support: number;
}

/**
 * scikit-learn's `classification_report`: precision, recall, F1 and
 * support per class (in `classes` order; `y` values index `classes`), then
 * accuracy, macro and support-weighted averages. Zero division gives 0, as
 * scikit-learn's default.
 *
 * @example
 * classificationReport([0, 0, 1, 1], [0, 1, 1, 1], ["walk", "sit"]);
 * // [{ label: "walk", precision: 1, recall: 0.5, f1: 0.667, support: 2 }, { label: "sit", … },
 * //  { label: "accuracy", f1: 0.75, support: 4, … }, { label: "macro avg", … }, { label: "weighted avg", … }]
 */
export function classificationReport(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  classes: readonly string[],
): ReportRow[] {
  const labels = classes.map((_, i) => i);
  const prf = precisionRecallFscoreSupport(yTrue, yPred, { labels });
  const rows: ReportRow[] = classes.map((c, i) => ({
    label: c,
    precision: prf.precision[i],
    recall: prf.recall[i],
    f1: prf.fscore[i],
    support: prf.support[i],
  }));
  const n = yTrue.length;
  let correct = 0;
  for (let i = 0; i < n; i++) if (yTrue[i] === yPred[i]) correct++;
  const total = rows.reduce((a, r) => a + r.support, 0);
  const avg = (k: "precision" | "recall" | "f1", weighted: boolean) =>
    weighted
      ? (total ? rows.reduce((a, r) => a + r[k] * r.support, 0) / total : 0)
      : (rows.length ? rows.reduce((a, r) => a + r[k], 0) / rows.length : 0);
  rows.push(
    { label: "accuracy", precision: NaN, recall: NaN, f1: n ? correct / n : NaN, support: n },
    {
      label: "macro avg",
      precision: avg("precision", false),
      recall: avg("recall", false),
      f1: avg("f1", false),
      support: total,
    },
    {
      label: "weighted avg",
      precision: avg("precision", true),
      recall: avg("recall", true),
      f1: avg("f1", true),
      support: total,
    },
  );
  return rows;
}

/**
 * {@link classificationReport} as a Markdown table (`| class | precision |
 * recall | F1 | support |`), for under a summary table.
 *
 * @example
 * classificationReportMarkdown([0, 0, 1, 1], [0, 1, 1, 1], ["walk", "sit"]);
 * // | class | precision | recall | F1 | support |
 * // | --- | --- | --- | --- | --- |
 * // | walk | 1.000 | 0.500 | 0.667 | 2 |
 * // …
 * // | accuracy |  |  | 0.750 | 4 |
 */
export function classificationReportMarkdown(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  classes: readonly string[],
  digits = 3,
): string {
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(digits) : "");
  const rows = classificationReport(yTrue, yPred, classes);
  const esc = (t: string) => t.replace(/\|/g, "\\|");
  return [
    "| class | precision | recall | F1 | support |",
    "| --- | --- | --- | --- | --- |",
    ...rows.map((r, i) => {
      const label = i >= classes.length ? `**${r.label}**` : esc(r.label);
      return `| ${label} | ${f(r.precision)} | ${f(r.recall)} | ${f(r.f1)} | ${r.support} |`;
    }),
  ].join("\n") + "\n";
}
