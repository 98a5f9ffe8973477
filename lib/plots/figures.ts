/**
 * Figure builders: pure functions from project data to Plotly
 * {@link Figure} specs. Nothing here touches the DOM, Jupyter or files;
 * display with `show` (display.ts), save with `saveFigure` (export.ts).
 *
 * @example
 * const fig = plotSignal(rec, { startSec: 10, durationSec: 30 });
 * await show(fig, { name: "signal" });
 */
import type { Recording } from "../data/types.ts";
import { ConfigError } from "../errors.ts";
import { classColor, classSymbol, UNLABELLED_COLOR } from "./palette.ts";
import {
  type Annotation,
  type Axis,
  type Figure,
  type Layout,
  paletteColor,
  type Shape,
  titleWidthPx,
  type Trace,
} from "./plotly.ts";

/**
 * Class `c`'s colour in signal plots (label shading, window tints): the
 * shared palette shifted past the first 3 colours, which draw the x/y/z
 * axis lines, so a shaded class never takes the colour of an axis.
 */
const shadeColor = (c: number) => classColor(c + 3);

// ---------------------------------------------------------------------------
// Raw signal
// ---------------------------------------------------------------------------

/** Options of {@link plotSignal}. */
export interface PlotSignalOptions {
  /** First second shown, from the recording start (s). Default 0. */
  startSec?: number;
  /** Length of the span shown (s). Default: to the end of the recording. */
  durationSec?: number;
  /** Axes to draw, by name (`"x"`) or index. Default: all axes. */
  axes?: (string | number)[];
  /**
   * Most points drawn per axis; longer spans are decimated by keeping the
   * min and max of each bucket (peaks survive). Default 10000.
   */
  maxPoints?: number;
  /** Shade labelled segments by class (when the recording has labels). Default true. */
  showLabels?: boolean;
  /** Figure title. Default `"<dataset> subject <subject> (<placement>)"`. */
  title?: string;
  /** Figure width in px. */
  width?: number;
  /** Figure height in px. Default 400. */
  height?: number;
}

/**
 * Line plot of a recording's accelerometer axes (g) over time (s), with
 * labelled segments shaded by class.
 *
 * Time comes from `rec.timestampsMs` when present and non-decreasing
 * (irregular data), else from `sample / rec.rateHz`.
 *
 * @example
 * const fig = plotSignal(rec, { startSec: 0, durationSec: 60, axes: ["x", "y", "z"] });
 * fig.data.length; // 3 traces (one per axis) + one legend entry per class shown
 */
export function plotSignal(rec: Recording, options: PlotSignalOptions = {}): Figure {
  const span = signalSpan(rec, options.startSec, options.durationSec);
  const axisIdx = resolveAxes(rec, options.axes);
  const maxPoints = options.maxPoints ?? 10000;
  if (!(maxPoints >= 2)) {
    throw new ConfigError(`plotSignal: options.maxPoints must be >= 2, got ${maxPoints}`);
  }
  const keep = decimationIndex(rec, axisIdx, span.i0, span.i1, maxPoints);
  const t = Array.from(keep, (i) => span.timeSec(i));
  const data: Trace[] = axisIdx.map((a, k) => ({
    type: "scatter",
    mode: "lines",
    name: rec.axisNames[a] ?? `axis ${a}`,
    x: t,
    y: Array.from(keep, (i) => rec.axes[a][i]),
    line: { width: 1, color: paletteColor(k) },
  }));
  const layout: Layout = {
    title: {
      text: options.title ?? `${rec.dataset} subject ${rec.subject} (${rec.placement})`,
    },
    xaxis: { title: { text: "time (s)" } },
    yaxis: { title: { text: "acceleration (g)" } },
    height: options.height ?? 400,
    margin: { t: 50, r: 20 },
    legend: { orientation: "h", y: -0.2 },
  };
  if (options.width) layout.width = options.width;
  if ((options.showLabels ?? true) && rec.labels && rec.labelNames) {
    const seg = labelSegments(rec.labels, span.i0, span.i1);
    const shapes: Shape[] = seg.map((s) => ({
      type: "rect",
      xref: "x",
      yref: "paper",
      x0: span.timeSec(s.from),
      x1: span.timeSec(Math.min(s.to, span.i1 - 1)),
      y0: 0,
      y1: 1,
      fillcolor: shadeColor(s.label),
      opacity: 0.15,
      line: { width: 0 },
      layer: "below",
    }));
    layout.shapes = shapes;
    // One invisible legend trace per class present, so the shading has a key.
    const present = [...new Set(seg.map((s) => s.label))].sort((a, b) => a - b);
    for (const c of present) {
      data.push({
        type: "scatter",
        mode: "markers",
        name: rec.labelNames[c] ?? `class ${c}`,
        x: [null],
        y: [null],
        marker: { color: shadeColor(c), size: 10, symbol: "square", opacity: 0.4 },
        legendgroup: "labels",
      });
    }
  }
  return { data, layout };
}

// ---------------------------------------------------------------------------
// Windows overlay
// ---------------------------------------------------------------------------

/** Options of {@link plotWindows}. */
export interface PlotWindowsOptions extends PlotSignalOptions {
  /** Window length (s). */
  windowSec: number;
  /** Overlap between consecutive windows (s), `0 <= overlapSec < windowSec`. Default 0. */
  overlapSec?: number;
  /**
   * Explicit window start times (s from the recording start), e.g.
   * `Windows.startSec` for one subject. Overrides the regular grid from
   * `windowSec`/`overlapSec`.
   */
  windowStartSec?: ArrayLike<number>;
  /** Class index per window (`Windows.y`), parallel to `windowStartSec` or the grid; -1 = none. */
  windowLabels?: ArrayLike<number>;
  /** Class names for `windowLabels` (`Windows.classes`). Default `rec.labelNames`. */
  classes?: string[];
}

/**
 * The raw signal with the sliding windows drawn over it: alternate windows
 * are shaded (so overlaps show as darker bands) and, when `windowLabels` is
 * given, each window is tinted by its class and captioned with the class
 * name.
 *
 * @example
 * // 10 s windows with 5 s overlap over the first minute
 * const fig = plotWindows(rec, { windowSec: 10, overlapSec: 5, durationSec: 60 });
 */
export function plotWindows(rec: Recording, options: PlotWindowsOptions): Figure {
  const { windowSec } = options;
  const overlapSec = options.overlapSec ?? 0;
  if (!(windowSec > 0)) {
    throw new ConfigError(`plotWindows: options.windowSec must be > 0, got ${windowSec}`);
  }
  if (!(overlapSec >= 0 && overlapSec < windowSec)) {
    throw new ConfigError(
      `plotWindows: options.overlapSec must be in [0, windowSec=${windowSec}), got ${overlapSec}`,
    );
  }
  const fig = plotSignal(rec, { ...options, showLabels: options.showLabels ?? false });
  const span = signalSpan(rec, options.startSec, options.durationSec);
  const t0 = span.timeSec(span.i0);
  const t1 = span.timeSec(span.i1 - 1);
  let starts: number[];
  if (options.windowStartSec) {
    starts = Array.from(options.windowStartSec);
  } else {
    const recStart = span.timeSec(0);
    const recEnd = span.timeSec(span.n - 1) + 1 / rec.rateHz;
    starts = [];
    const stepSec = windowSec - overlapSec;
    for (let k = 0; recStart + k * stepSec + windowSec <= recEnd + 1e-9; k++) {
      starts.push(recStart + k * stepSec);
    }
  }
  const labels = options.windowLabels;
  if (labels && labels.length !== starts.length) {
    throw new ConfigError(
      `plotWindows: options.windowLabels has ${labels.length} entries, expected ${starts.length} (one per window)`,
    );
  }
  const classes = options.classes ?? rec.labelNames ?? [];
  // Windows form a strip above the signal, packed greedily into as few rows
  // as needed so that overlapping windows never cover each other.
  const visible: number[] = [];
  for (let w = 0; w < starts.length; w++) {
    if (!(starts[w] + windowSec <= t0 || starts[w] >= t1)) visible.push(w);
  }
  visible.sort((p, q) => starts[p] - starts[q]);
  const rowEnd: number[] = [];
  const rowOf = visible.map((w) => {
    let r = rowEnd.findIndex((end) => end <= starts[w] + 1e-9);
    if (r < 0) r = rowEnd.push(0) - 1;
    rowEnd[r] = starts[w] + windowSec;
    return r;
  });
  const rows = Math.max(1, rowEnd.length);
  const stripBottom = 0.8, rowHeight = (1 - stripBottom) / rows;
  const shapes: Shape[] = fig.layout.shapes ?? [];
  const annotations: Annotation[] = [];
  for (const [k, w] of visible.entries()) {
    const a = Math.max(starts[w], t0), b = Math.min(starts[w] + windowSec, t1);
    const label = labels ? labels[w] : -1;
    const row = rowOf[k];
    const y0 = stripBottom + row * rowHeight + 0.1 * rowHeight;
    const y1 = stripBottom + (row + 1) * rowHeight - 0.1 * rowHeight;
    shapes.push({
      type: "rect",
      xref: "x",
      yref: "paper",
      x0: a,
      x1: b,
      y0,
      y1,
      fillcolor: label >= 0 ? shadeColor(label) : "#aaaaaa",
      opacity: 0.6,
      line: { width: 1, color: "#444444" },
    });
    if (label >= 0 && visible.length <= 40) {
      annotations.push({
        text: classes[label] ?? `class ${label}`,
        x: (a + b) / 2,
        y: (y0 + y1) / 2,
        xref: "x",
        yref: "paper",
        showarrow: false,
        font: { size: 10 },
      });
    }
  }
  fig.layout.shapes = shapes;
  if (annotations.length) fig.layout.annotations = annotations;
  fig.layout.yaxis = { ...fig.layout.yaxis, domain: [0, stripBottom - 0.03] };
  fig.layout.xaxis = { ...fig.layout.xaxis, range: [t0, t1] };
  // One legend entry per window class shown.
  if (labels) {
    const present = [...new Set(visible.map((w) => labels[w]).filter((c) => c >= 0))].sort(
      (a, b) => a - b,
    );
    for (const c of present) {
      fig.data.push({
        type: "scatter",
        mode: "markers",
        name: `window: ${classes[c] ?? `class ${c}`}`,
        x: [null],
        y: [null],
        marker: { color: shadeColor(c), size: 10, symbol: "square" },
      });
    }
  }
  fig.layout.title = {
    text: options.title ??
      `${rec.dataset} subject ${rec.subject}: ${windowSec} s windows, ${overlapSec} s overlap`,
  };
  return fig;
}

// ---------------------------------------------------------------------------
// Per-class F1
// ---------------------------------------------------------------------------

/** Options of {@link plotPerClassF1}. */
export interface PlotPerClassF1Options {
  /** Figure title. Default `"Per-class F1"`. */
  title?: string;
  /** Sort classes by F1 (of the first series), descending. Default false. */
  sort?: boolean;
  /** Draw the value on each bar. Default true. */
  showValues?: boolean;
  /** Figure width in px. */
  width?: number;
  /** Figure height in px. Default 450. */
  height?: number;
}

/**
 * Bar chart of per-class F1 in [0, 1]. `f1s` is one array (one bar per
 * class) or a record of named arrays (grouped bars, e.g. one per method).
 *
 * @example
 * plotPerClassF1(["walk", "sit"], [0.91, 0.78]);
 * plotPerClassF1(["walk", "sit"], { scratch: [0.8, 0.6], ssl: [0.9, 0.7] });
 */
export function plotPerClassF1(
  classes: string[],
  f1s: ArrayLike<number> | Record<string, ArrayLike<number>>,
  options: PlotPerClassF1Options = {},
): Figure {
  const series: [string, ArrayLike<number>][] = isArrayLike(f1s)
    ? [["F1", f1s]]
    : Object.entries(f1s);
  if (series.length === 0) throw new ConfigError("plotPerClassF1: f1s has no series");
  for (const [name, v] of series) {
    if (v.length !== classes.length) {
      throw new ConfigError(
        `plotPerClassF1: f1s${
          series.length > 1 ? `["${name}"]` : ""
        } has ${v.length} values, expected ${classes.length} (one per class)`,
      );
    }
  }
  let order = classes.map((_, i) => i);
  if (options.sort) {
    const first = series[0][1];
    order = order.sort((a, b) => (first[b] ?? 0) - (first[a] ?? 0));
  }
  const showValues = options.showValues ?? true;
  const data: Trace[] = series.map(([name, v], k) => {
    const y = order.map((i) => (Number.isFinite(v[i]) ? v[i] : null));
    return {
      type: "bar",
      name,
      x: order.map((i) => classes[i]),
      y,
      marker: { color: paletteColor(k) },
      ...(showValues
        ? { text: y.map((f) => (f === null ? "" : f.toFixed(2))), textposition: "outside" }
        : {}),
      hovertemplate: "%{x}: F1 %{y:.3f}<extra>" + name + "</extra>",
    };
  });
  const layout: Layout = {
    title: { text: options.title ?? "Per-class F1" },
    xaxis: { title: { text: "class" }, type: "category" },
    yaxis: { title: { text: "F1" }, range: [0, 1.08] },
    barmode: "group",
    showlegend: series.length > 1,
    height: options.height ?? 450,
  };
  if (options.width) layout.width = options.width;
  return { data, layout };
}

// ---------------------------------------------------------------------------
// Confusion matrix
// ---------------------------------------------------------------------------

/** Options of {@link plotConfusion}. */
export interface PlotConfusionOptions {
  /**
   * Normalise each row (true class) to sum to 1, like scikit-learn's
   * `confusion_matrix(normalize="true")`; empty rows become 0. Cells then
   * show the proportion, with the count in the hover. Default false (counts).
   */
  normalize?: boolean;
  /** Figure title. Default `"Confusion matrix"` (+ `" (row-normalised)"`). */
  title?: string;
  /** Plotly colour scale (name or `[fraction, colour]` stops). Default: white → dark blue. */
  colorscale?: string | [number, string][];
  /** Figure width in px. Default `max(450, 60 * classes + 200, title width + 40)`. */
  width?: number;
  /** Figure height in px. Default `max(400, 60 * classes + 150)`. */
  height?: number;
}

/**
 * Confusion-matrix heatmap: rows are true classes (top to bottom), columns
 * predicted classes (scikit-learn's convention `cm[true][pred]`), each cell
 * annotated with its count or row proportion.
 *
 * `cm` is a square matrix as rows, or a flat row-major array of
 * `classes.length²` counts.
 *
 * @example
 * plotConfusion([[5, 1], [2, 7]], ["walk", "sit"], { normalize: true });
 */
export function plotConfusion(
  cm: ArrayLike<number>[] | ArrayLike<number>,
  classes: string[],
  options: PlotConfusionOptions = {},
): Figure {
  const k = classes.length;
  const counts = toSquare(cm, k);
  const normalize = options.normalize ?? false;
  const z = normalize ? rowNormalize(counts) : counts;
  const text = z.map((row) =>
    row.map((v) => (normalize ? v.toFixed(2) : Number.isInteger(v) ? String(v) : v.toFixed(2)))
  );
  const customdata = counts.map((row) => row.map((v) => v));
  const size = 60 * k;
  const data: Trace[] = [{
    type: "heatmap",
    x: classes,
    y: classes,
    z,
    text,
    texttemplate: "%{text}",
    customdata,
    hovertemplate: normalize
      ? "true %{y}<br>pred %{x}<br>%{z:.3f} (%{customdata} windows)<extra></extra>"
      : "true %{y}<br>pred %{x}<br>%{z} windows<extra></extra>",
    colorscale: options.colorscale ?? BLUES,
    zmin: 0,
    ...(normalize ? { zmax: 1 } : {}),
    showscale: true,
  }];
  const title = options.title ?? `Confusion matrix${normalize ? " (row-normalised)" : ""}`;
  const layout: Layout = {
    title: { text: title },
    xaxis: {
      title: { text: "predicted" },
      type: "category",
      constrain: "domain",
      automargin: true,
    },
    yaxis: {
      title: { text: "true" },
      type: "category",
      automargin: true,
      autorange: "reversed",
      scaleanchor: "x",
      constrain: "domain",
    },
    // wide enough for the title too (PNG exports clip what does not fit)
    width: options.width ?? Math.max(450, size + 200, Math.ceil(titleWidthPx(title) + 40)),
    height: options.height ?? Math.max(400, size + 150),
  };
  return { data, layout };
}

/** Light-to-dark blue scale (matplotlib's "Blues" end points), low = white. */
const BLUES: [number, string][] = [[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]];

/**
 * Row-normalise a confusion matrix (each true-class row sums to 1; a row
 * with no samples stays all 0, as scikit-learn's `nan_to_num` leaves it).
 *
 * @example
 * rowNormalize([[1, 3], [0, 0]]); // [[0.25, 0.75], [0, 0]]
 */
export function rowNormalize(cm: number[][]): number[][] {
  return cm.map((row) => {
    const s = row.reduce((a, b) => a + b, 0);
    return row.map((v) => (s > 0 ? v / s : 0));
  });
}

// ---------------------------------------------------------------------------
// 2-D embedding scatter
// ---------------------------------------------------------------------------

/** Options of {@link plotEmbedding}. */
export interface PlotEmbeddingOptions {
  /** Figure title. Default `"Embedding"`. */
  title?: string;
  /** Marker size (px). Default 5. */
  markerSize?: number;
  /** Marker opacity in [0, 1]. Default 0.7. */
  opacity?: number;
  /** Axis titles. Default `["dim 1", "dim 2"]`. */
  axisTitles?: [string, string];
  /** Figure width in px. Default 700. */
  width?: number;
  /** Figure height in px. Default 600. */
  height?: number;
}

/**
 * Scatter of 2-D embeddings (UMAP, t-SNE, PCA) with one trace — one colour
 * and legend entry — per class. Points with label -1 form an
 * `"unlabelled"` grey trace.
 *
 * Class `c` is drawn in `classColor(c)` (the shared 24-colour
 * `CLASS_PALETTE`) whatever classes are present, so panels of the
 * same class list (raw / random-init / SSL features) colour a class alike;
 * above 10 classes the marker symbol also cycles (`classSymbol`).
 *
 * `xy` is `n` rows of `[x, y]`, or a flat row-major `Float32Array` of
 * `2n` values (what `umap-js` or a `[n, 2]` tensor's `dataSync()` gives).
 *
 * @example
 * plotEmbedding([[0, 1], [2, 3]], [0, 1], ["walk", "sit"]);
 */
export function plotEmbedding(
  xy: ArrayLike<number>[] | ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: string[],
  options: PlotEmbeddingOptions = {},
): Figure {
  const n = labels.length;
  const get = pointAccessor(xy, n);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (!(c === -1 || (Number.isInteger(c) && c >= 0 && c < classes.length))) {
      throw new ConfigError(
        `plotEmbedding: labels[${i}] = ${c} is not a class index in [0, ${classes.length}) or -1`,
      );
    }
    const g = groups.get(c);
    if (g) g.push(i);
    else groups.set(c, [i]);
  }
  const order = [...groups.keys()].sort((a, b) => (a === -1 ? 1 : b === -1 ? -1 : a - b));
  const data: Trace[] = order.map((c) => {
    const idx = groups.get(c)!;
    return {
      type: "scatter",
      mode: "markers",
      name: c === -1 ? "unlabelled" : classes[c],
      x: idx.map((i) => get(i, 0)),
      y: idx.map((i) => get(i, 1)),
      marker: {
        color: c === -1 ? UNLABELLED_COLOR : classColor(c),
        symbol: c === -1 ? "circle" : classSymbol(c, classes.length),
        size: options.markerSize ?? 5,
        opacity: options.opacity ?? 0.7,
      },
    };
  });
  const [ax, ay] = options.axisTitles ?? ["dim 1", "dim 2"];
  return {
    data,
    layout: {
      title: { text: options.title ?? "Embedding" },
      xaxis: { title: { text: ax }, zeroline: false },
      yaxis: { title: { text: ay }, zeroline: false },
      width: options.width ?? 700,
      height: options.height ?? 600,
      // many classes: a tighter legend so 18–24 entries fit next to the plot
      legend: classes.length > 12
        ? { itemsizing: "constant", font: { size: 11 }, tracegroupgap: 0 }
        : { itemsizing: "constant" },
    },
  };
}

// ---------------------------------------------------------------------------
// Generic helper
// ---------------------------------------------------------------------------

/** One named series for {@link plotXY}. */
export interface Series {
  /** Legend name. */
  name?: string;
  /** x values (numbers or categories). Default `0..y.length-1`. */
  x?: ArrayLike<number> | (string | number)[];
  /** y values. */
  y: ArrayLike<number>;
  /** Per-point error bars (± value), drawn symmetric. */
  error?: ArrayLike<number>;
  /** Colour. Default: the palette colour of the series' index. */
  color?: string;
  /** Line dash (`"solid"`, `"dash"`, `"dot"`, `"dashdot"`); line plots. Default solid. */
  dash?: string;
  /** Draw markers on a line series. Default true. */
  markers?: boolean;
  /** Legend group (series of one group toggle together). */
  legendgroup?: string;
  /** Show the series in the legend. Default true. */
  showlegend?: boolean;
}

/** A horizontal reference line across the whole plot (chance level, a baseline). */
export interface HLine {
  /** y value. */
  y: number;
  /** Label written above the line, at its right end (or left, see `side`). */
  label?: string;
  /** End of the line the label sits at. Default `"right"`. */
  side?: "left" | "right";
  /** Colour. Default `"#555555"`. */
  color?: string;
  /** Dash. Default `"dash"`. */
  dash?: string;
}

/** Options of {@link plotXY}. */
export interface PlotXYOptions {
  /** `"line"`, `"bar"` (grouped) or `"scatter"` (markers). Default `"line"`. */
  kind?: "line" | "bar" | "scatter";
  /** Figure title. */
  title?: string;
  /** x-axis title. */
  xTitle?: string;
  /** y-axis title. */
  yTitle?: string;
  /** `"log"` for a log y axis. Default linear. */
  yType?: "linear" | "log";
  /** Fixed y range `[min, max]`. */
  yRange?: [number, number];
  /** `"log"` for a log x axis, `"category"` for categories. Default: Plotly's guess. */
  xType?: "linear" | "log" | "category";
  /** Ticks at these x values (e.g. `[1, 2, 4, 8, 30]` on a log axis). */
  xTickVals?: number[];
  /** Labels of `xTickVals` (e.g. `["1", "2", "4", "8", "all (30)"]`). */
  xTickText?: string[];
  /** Horizontal reference lines (drawn as shapes, labelled at the right). */
  hLines?: HLine[];
  /** Legend below the plot (long legends; keeps the plot width). Default false. */
  legendBelow?: boolean;
  /** Figure width in px. */
  width?: number;
  /** Figure height in px. Default 450. */
  height?: number;
}

/**
 * Generic line / bar / scatter plot of one or several series (learning
 * curves, accuracy vs labels-per-class, timings), with optional log axes
 * and horizontal reference lines.
 *
 * @example
 * plotXY([{ name: "SSL", x: [1, 5, 10], y: [0.4, 0.6, 0.7] }], {
 *   kind: "line", xTitle: "labels per class", yTitle: "macro F1", xType: "log",
 *   hLines: [{ y: 0.65, label: "RF" }],
 * });
 */
export function plotXY(series: Series | Series[], options: PlotXYOptions = {}): Figure {
  const list = Array.isArray(series) ? series : [series];
  if (list.length === 0) throw new ConfigError("plotXY: no series given");
  const kind = options.kind ?? "line";
  if (!["line", "bar", "scatter"].includes(kind)) {
    throw new ConfigError(`plotXY: options.kind must be "line", "bar" or "scatter", got "${kind}"`);
  }
  if (options.xTickText && options.xTickText.length !== (options.xTickVals?.length ?? -1)) {
    throw new ConfigError(
      `plotXY: options.xTickText has ${options.xTickText.length} labels, xTickVals ${
        options.xTickVals?.length ?? "none"
      }`,
    );
  }
  const data: Trace[] = list.map((s, k) => {
    const n = s.y.length;
    if (s.x && s.x.length !== n) {
      throw new ConfigError(
        `plotXY: series ${k}${
          s.name ? ` ("${s.name}")` : ""
        }: x has ${s.x.length} values, y has ${n}`,
      );
    }
    if (s.error && s.error.length !== n) {
      throw new ConfigError(
        `plotXY: series ${k}${
          s.name ? ` ("${s.name}")` : ""
        }: error has ${s.error.length} values, y has ${n}`,
      );
    }
    const x = s.x
      ? Array.from(s.x as ArrayLike<number | string>)
      : Array.from({ length: n }, (_, i) => i);
    const color = s.color ?? paletteColor(k);
    const trace: Trace = {
      type: kind === "bar" ? "bar" : "scatter",
      name: s.name ?? `series ${k + 1}`,
      x,
      y: Array.from(s.y, (v) => (Number.isFinite(v) ? v : null)) as (number | null)[],
      marker: { color },
    };
    if (kind === "line") {
      trace.mode = s.markers === false ? "lines" : "lines+markers";
      trace.line = { color, ...(s.dash ? { dash: s.dash } : {}) };
    }
    if (kind === "scatter") trace.mode = "markers";
    if (s.error) trace.error_y = { type: "data", array: Array.from(s.error), visible: true };
    if (s.legendgroup) trace.legendgroup = s.legendgroup;
    if (s.showlegend === false) trace.showlegend = false;
    return trace;
  });
  const xaxis: Axis = { title: { text: options.xTitle ?? "" } };
  if (options.xType) xaxis.type = options.xType;
  if (options.xTickVals) {
    xaxis.tickvals = options.xTickVals;
    if (options.xTickText) xaxis.ticktext = options.xTickText;
  }
  const layout: Layout = {
    xaxis,
    yaxis: {
      title: { text: options.yTitle ?? "" },
      ...(options.yType ? { type: options.yType } : {}),
      ...(options.yRange ? { range: options.yRange } : {}),
    },
    showlegend: list.filter((s) => s.showlegend !== false).length > 1,
    height: options.height ?? 450,
    ...(kind === "bar" ? { barmode: "group" } : {}),
  };
  if (options.legendBelow) layout.legend = { orientation: "h", y: -0.25 };
  if (options.hLines?.length) {
    layout.shapes = hLineShapes(options.hLines);
    const labelled = options.hLines.filter((h) => h.label);
    if (labelled.length) {
      layout.annotations = labelled.map((h) => ({
        text: h.label!,
        xref: "paper",
        yref: "y",
        x: h.side === "left" ? 0 : 1,
        y: h.y,
        xanchor: h.side === "left" ? "left" : "right",
        yanchor: "bottom",
        showarrow: false,
        font: { color: h.color ?? "#555555", size: 11 },
      }));
    }
  }
  if (options.title) layout.title = { text: options.title };
  if (options.width) layout.width = options.width;
  return { data, layout };
}

/** One box of {@link plotBoxes}: a named sample of values. */
export interface BoxGroup {
  /** Box label (the x category). */
  name: string;
  /** Values (non-finite ones are dropped). */
  values: ArrayLike<number>;
  /** Colour. Default: the palette colour of the group's index. */
  color?: string;
  /** Legend group / trace name for grouped boxes (several groups per category). */
  series?: string;
}

/** Options of {@link plotBoxes}. */
export interface PlotBoxesOptions {
  /** Title. */
  title?: string;
  /** x-axis title. */
  xTitle?: string;
  /** y-axis title. */
  yTitle?: string;
  /** Draw every value beside its box (default true). */
  points?: boolean;
  /** Horizontal reference lines. */
  hLines?: HLine[];
  /** Height, px (default 450). */
  height?: number;
  /** Width, px. */
  width?: number;
}

/**
 * Box plots of several samples side by side (median, quartiles, whiskers at
 * 1.5 IQR, the mean as a dashed line, every point jittered beside its box):
 * e.g. the change of macro F1 against a baseline per setting.
 *
 * @throws ConfigError for no group
 * @example
 * ```ts
 * const fig = plotBoxes([{ name: "frozen", values: [-12, -3] }, { name: "tuned", values: [2, 4] }],
 *   { yTitle: "Δ macro F1 (points)" });
 * ```
 */
export function plotBoxes(groups: BoxGroup[], options: PlotBoxesOptions = {}): Figure {
  if (groups.length === 0) throw new ConfigError("plotBoxes: no group given");
  const series = [...new Set(groups.map((g) => g.series ?? ""))];
  const data: Trace[] = groups.map((g, k) => {
    const y = Array.from(g.values).filter((v) => Number.isFinite(v));
    const color = g.color ?? paletteColor(g.series ? series.indexOf(g.series) : k);
    const t: Trace = {
      type: "box",
      name: g.series ?? g.name,
      x: y.map(() => g.name),
      y,
      marker: { color },
      boxmean: true,
      boxpoints: options.points === false ? false : "all",
      jitter: 0.4,
      pointpos: 0,
    } as Trace;
    if (g.series) {
      t.legendgroup = g.series;
      t.showlegend = groups.findIndex((h) => h.series === g.series) === k;
    } else t.showlegend = false;
    return t;
  });
  const layout: Layout = {
    xaxis: { title: { text: options.xTitle ?? "" }, type: "category" },
    yaxis: { title: { text: options.yTitle ?? "" }, zeroline: true },
    showlegend: series.length > 1,
    height: options.height ?? 450,
    ...(series.length > 1 ? { boxmode: "group" } : {}),
  } as Layout;
  if (options.hLines?.length) {
    layout.shapes = hLineShapes(options.hLines);
  }
  if (options.title) layout.title = { text: options.title };
  if (options.width) layout.width = options.width;
  return { data, layout };
}

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

/** Layout shapes of horizontal reference lines across the plot. */
function hLineShapes(lines: HLine[]): Layout["shapes"] {
  return lines.map((h) => ({
    type: "line",
    xref: "paper",
    yref: "y",
    x0: 0,
    x1: 1,
    y0: h.y,
    y1: h.y,
    line: { color: h.color ?? "#555555", width: 1.5, dash: h.dash ?? "dash" },
  }));
}

interface Span {
  /** First sample index shown. */
  i0: number;
  /** One past the last sample index shown. */
  i1: number;
  /** Samples in the recording. */
  n: number;
  /** Time (s from the recording start) of sample i. */
  timeSec: (i: number) => number;
}

function signalSpan(rec: Recording, startSec = 0, durationSec?: number): Span {
  const n = rec.axes.length ? rec.axes[0].length : 0;
  if (n === 0) throw new ConfigError(`plot: recording ${rec.source} has no samples`);
  if (!(rec.rateHz > 0)) {
    throw new ConfigError(`plot: recording ${rec.source} has rateHz ${rec.rateHz}, expected > 0`);
  }
  // Timestamps that go backwards (WISDM's device clock) cannot place samples on
  // a time axis: fall back to sample index / rate for those recordings.
  const ts = rec.timestampsMs && isNonDecreasing(rec.timestampsMs) ? rec.timestampsMs : undefined;
  const timeSec = ts ? (i: number) => (ts[i] - ts[0]) / 1000 : (i: number) => i / rec.rateHz;
  if (!(startSec >= 0)) throw new ConfigError(`plot: startSec must be >= 0, got ${startSec}`);
  if (durationSec !== undefined && !(durationSec > 0)) {
    throw new ConfigError(`plot: durationSec must be > 0, got ${durationSec}`);
  }
  const endSec = durationSec === undefined ? Infinity : startSec + durationSec;
  const i0 = firstAtOrAfter(timeSec, n, startSec);
  const i1 = firstAtOrAfter(timeSec, n, endSec);
  if (i0 >= n || i1 <= i0) {
    throw new ConfigError(
      `plot: startSec ${startSec} is past the end of ${rec.source} (${
        timeSec(n - 1).toFixed(1)
      } s)`,
    );
  }
  return { i0, i1, n, timeSec };
}

function isNonDecreasing(ts: Float64Array): boolean {
  for (let i = 1; i < ts.length; i++) if (ts[i] < ts[i - 1]) return false;
  return true;
}

/** Smallest i in [0, n] with timeSec(i) >= t (times are non-decreasing). */
function firstAtOrAfter(timeSec: (i: number) => number, n: number, t: number): number {
  if (t === Infinity) return n;
  let lo = 0, hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (timeSec(mid) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function resolveAxes(rec: Recording, axes?: (string | number)[]): number[] {
  if (!axes) return rec.axes.map((_, i) => i);
  return axes.map((a) => {
    const i = typeof a === "number" ? a : rec.axisNames.indexOf(a);
    if (!(i >= 0 && i < rec.axes.length)) {
      throw new ConfigError(
        `plotSignal: axis ${JSON.stringify(a)} not in ${rec.source} (axes: ${
          rec.axisNames.join(", ")
        })`,
      );
    }
    return i;
  });
}

/**
 * Sample indices to draw: everything when the span fits in `maxPoints`, else
 * per bucket the first sample plus the min and max of every drawn axis, in
 * time order.
 */
function decimationIndex(
  rec: Recording,
  axisIdx: number[],
  i0: number,
  i1: number,
  maxPoints: number,
): Int32Array {
  const len = i1 - i0;
  if (len <= maxPoints) return Int32Array.from({ length: len }, (_, k) => i0 + k);
  const perBucket = 1 + 2 * axisIdx.length;
  const buckets = Math.max(1, Math.floor(maxPoints / perBucket));
  const out: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const s = i0 + Math.floor((b * len) / buckets);
    const e = i0 + Math.floor(((b + 1) * len) / buckets);
    const pick = new Set<number>([s]);
    for (const a of axisIdx) {
      const v = rec.axes[a];
      let lo = s, hi = s;
      for (let i = s + 1; i < e; i++) {
        if (v[i] < v[lo]) lo = i;
        if (v[i] > v[hi]) hi = i;
      }
      pick.add(lo);
      pick.add(hi);
    }
    for (const i of [...pick].sort((x, y) => x - y)) out.push(i);
  }
  return Int32Array.from(out);
}

/** Runs of equal labels in [i0, i1), skipping -1: `{label, from, to}` (to exclusive). */
export function labelSegments(
  labels: ArrayLike<number>,
  i0 = 0,
  i1 = labels.length,
): { label: number; from: number; to: number }[] {
  const out: { label: number; from: number; to: number }[] = [];
  let i = i0;
  while (i < i1) {
    const c = labels[i];
    let j = i + 1;
    while (j < i1 && labels[j] === c) j++;
    if (c >= 0) out.push({ label: c, from: i, to: j });
    i = j;
  }
  return out;
}

function isArrayLike(v: unknown): v is ArrayLike<number> {
  return Array.isArray(v) || ArrayBuffer.isView(v);
}

function toSquare(cm: ArrayLike<number>[] | ArrayLike<number>, k: number): number[][] {
  if (k === 0) throw new ConfigError("plotConfusion: classes is empty");
  const rows = cm as ArrayLike<unknown>;
  const nested = rows.length > 0 && typeof rows[0] === "object" && rows[0] !== null;
  let out: number[][];
  if (nested) {
    const r = cm as ArrayLike<number>[];
    if (r.length !== k) {
      throw new ConfigError(
        `plotConfusion: cm has ${r.length} rows, expected ${k} (one per class)`,
      );
    }
    out = Array.from(r, (row, i) => {
      if (row.length !== k) {
        throw new ConfigError(
          `plotConfusion: cm row ${i} has ${row.length} columns, expected ${k}`,
        );
      }
      return Array.from(row);
    });
  } else {
    const flat = cm as ArrayLike<number>;
    if (flat.length !== k * k) {
      throw new ConfigError(
        `plotConfusion: flat cm has ${flat.length} values, expected ${k * k} (${k}×${k})`,
      );
    }
    out = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => flat[i * k + j]));
  }
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const v = out[i][j];
      if (!(Number.isFinite(v) && v >= 0)) {
        throw new ConfigError(`plotConfusion: cm[${i}][${j}] = ${v}, expected a count >= 0`);
      }
    }
  }
  return out;
}

function pointAccessor(
  xy: ArrayLike<number>[] | ArrayLike<number>,
  n: number,
): (i: number, d: 0 | 1) => number {
  const first = (xy as ArrayLike<unknown>)[0];
  if (n > 0 && typeof first === "object" && first !== null) {
    const rows = xy as ArrayLike<number>[];
    if (rows.length !== n) {
      throw new ConfigError(`plotEmbedding: xy has ${rows.length} rows, labels has ${n}`);
    }
    for (let i = 0; i < n; i++) {
      if (rows[i].length < 2) {
        throw new ConfigError(`plotEmbedding: xy[${i}] has ${rows[i].length} values, expected 2`);
      }
    }
    return (i, d) => rows[i][d];
  }
  const flat = xy as ArrayLike<number>;
  if (flat.length !== 2 * n) {
    throw new ConfigError(
      `plotEmbedding: flat xy has ${flat.length} values, expected ${2 * n} (2 per label)`,
    );
  }
  return (i, d) => flat[2 * i + d];
}
