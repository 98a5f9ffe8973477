/**
 * Training curves: train/validation loss per epoch (left axis) and
 * validation macro F1 (right axis), as a Plotly `{data, layout}`.
 *
 * @example
 * const res = await fit(model, train, { epochs: 10, validation: val });
 * const fig = plotHistory(res.history);
 * await Deno.jupyter.display(fig); // or export via the plots layer
 */
import type * as aq from "arquero";
import type { EpochRecord } from "../train/history.ts";
import { classColor } from "./palette.ts";
import type { Figure, Layout, Trace } from "./plotly.ts";

/** Options for {@link plotHistory}. */
export interface PlotHistoryOptions {
  /** Figure title (default `"Training history"`). */
  title?: string;
  /** Also plot the learning rate on a log axis (default false). */
  showLr?: boolean;
  /** Mark this 1-based epoch (e.g. the restored best) with a dashed line. */
  markEpoch?: number | null;
  /** Figure width/height (px, default 720 × 420). */
  width?: number;
  height?: number;
}

function isTable(h: unknown): h is aq.ColumnTable {
  return typeof (h as aq.ColumnTable).objects === "function";
}

const finite = (v: number) => (Number.isFinite(v) ? v : null);

/** The training-curve figure of a `fit` history (table or rows). */
export function plotHistory(
  history: aq.ColumnTable | EpochRecord[],
  options: PlotHistoryOptions = {},
): Figure {
  const rows = (isTable(history) ? history.objects() : history) as EpochRecord[];
  const epoch = rows.map((r) => r.epoch);
  const hasVal = rows.some((r) => Number.isFinite(r.valLoss));
  const hasF1 = rows.some((r) => Number.isFinite(r.valF1));
  const data: Trace[] = [{
    type: "scatter",
    mode: "lines+markers",
    name: "train loss",
    x: epoch,
    y: rows.map((r) => finite(r.trainLoss)),
    line: { color: classColor(0) },
  }];
  if (hasVal) {
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: "validation loss",
      x: epoch,
      y: rows.map((r) => finite(r.valLoss)),
      line: { color: classColor(1) },
    });
  }
  if (hasF1) {
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: "validation macro F1",
      x: epoch,
      y: rows.map((r) => finite(r.valF1)),
      yaxis: "y2",
      line: { color: classColor(2), dash: "dot" },
    });
  }
  if (options.showLr) {
    data.push({
      type: "scatter",
      mode: "lines",
      name: "learning rate",
      x: epoch,
      y: rows.map((r) => finite(r.lr)),
      yaxis: "y3",
      line: { color: "#7f7f7f", width: 1 },
    });
  }
  const layout: Layout = {
    title: { text: options.title ?? "Training history" },
    width: options.width ?? 720,
    height: options.height ?? 420,
    xaxis: { title: { text: "epoch" }, dtick: rows.length <= 20 ? 1 : undefined },
    yaxis: { title: { text: "loss" }, rangemode: "tozero" },
    legend: { orientation: "h", y: -0.2 },
    margin: { t: 50, r: 70 },
  };
  if (hasF1) {
    layout.yaxis2 = {
      title: { text: "macro F1" },
      overlaying: "y",
      side: "right",
      range: [0, 1],
    };
  }
  if (options.showLr) {
    layout.yaxis3 = {
      type: "log",
      overlaying: "y",
      side: "right",
      anchor: "free",
      position: 1,
      showgrid: false,
      showticklabels: false,
    };
  }
  if (options.markEpoch != null) {
    layout.shapes = [{
      type: "line",
      xref: "x",
      yref: "paper",
      x0: options.markEpoch,
      x1: options.markEpoch,
      y0: 0,
      y1: 1,
      line: { dash: "dash", color: "#999" },
    }];
  }
  return { data, layout };
}
