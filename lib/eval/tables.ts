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
 * // | dataset | protocol | method | folds | f1Macro | kappa | published |
 * // | adl | loso | rf | 7 | 0.770 ± 0.080 | 0.690 ± 0.100 | 0.764 |
 * await writeCsv(t, "results/baseline/summary.csv");
 */
import * as aq from "arquero";
import { writeTextAtomic } from "../fs.ts";
import { meanSd } from "./bootstrap.ts";

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
 * (when any result has one), `protocol`, `method`, `folds`, and per metric
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
    row.folds = g.length;
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

/** Options of {@link toMarkdown}. */
export interface MarkdownOptions {
  /** Columns to show, in order; default all except the numeric `_mean`/`_sd` helpers. */
  columns?: string[];
  /** Maximum decimals of numeric cells; default 3. */
  digits?: number;
}

/**
 * A GitHub-flavoured Markdown table. By default the `<m>_mean` / `<m>_sd`
 * helper columns of {@link summaryTable} are hidden.
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
  const lines = [
    `| ${cols.join(" | ")} |`,
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
