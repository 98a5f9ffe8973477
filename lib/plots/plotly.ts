/**
 * Plotly figure types: the plain JSON specs every function in `lib/plots`
 * returns. A {@link Figure} is exactly what `Plotly.newPlot(div, data, layout)`
 * takes, and what Jupyter's `application/vnd.plotly.v1+json` mimetype carries.
 *
 * Only the fields this project uses are typed; any other Plotly attribute is
 * still accepted through the index signatures.
 *
 * @example
 * const fig: Figure = {
 *   data: [{ type: "scatter", mode: "lines", x: [0, 1, 2], y: [1, 0, 1], name: "x" }],
 *   layout: { title: { text: "demo" }, xaxis: { title: { text: "time (s)" } } },
 * };
 */
import { CLASS_PALETTE, classColor } from "./palette.ts";

/** Numeric or categorical values of one trace coordinate. */
export type Values = ArrayLike<number> | (string | number | null)[];

/** Marker style of scatter/bar traces. */
export interface Marker {
  /** One colour, or one value/colour per point. */
  color?: string | (string | number)[];
  /** Marker size in px (scatter). */
  size?: number;
  /** Opacity in [0, 1]. */
  opacity?: number;
  /** Colour scale when `color` holds numbers. */
  colorscale?: string | [number, string][];
  [key: string]: unknown;
}

/** One Plotly trace (scatter, bar, heatmap, …). */
export interface Trace {
  /** Trace type: `"scatter"`, `"scattergl"`, `"bar"`, `"heatmap"`, … */
  type: string;
  /** Legend name. */
  name?: string;
  /** `"lines"`, `"markers"`, `"lines+markers"`, … (scatter). */
  mode?: string;
  x?: Values;
  y?: Values;
  /** Heatmap values, row-major rows (`z[row][col]`). */
  z?: (number | null)[][];
  /** Per-point or per-cell text. */
  text?: string | string[] | string[][];
  /** Text template drawn on the plot (`"%{text}"`). */
  texttemplate?: string;
  /** `"auto"`, `"inside"`, `"outside"`, `"none"` (bar). */
  textposition?: string;
  /** Hover template. */
  hovertemplate?: string;
  marker?: Marker;
  /** Line style (scatter). */
  line?: { color?: string; width?: number; dash?: string; [key: string]: unknown };
  /** Bar orientation: `"v"` or `"h"`. */
  orientation?: "v" | "h";
  /** Heatmap colour scale. */
  colorscale?: string | [number, string][];
  /** Heatmap colour range. */
  zmin?: number;
  zmax?: number;
  /** Whether the trace appears in the legend. */
  showlegend?: boolean;
  /** Legend group. */
  legendgroup?: string;
  /** Fill mode (`"toself"` for shaded areas). */
  fill?: string;
  fillcolor?: string;
  opacity?: number;
  [key: string]: unknown;
}

/** An axis title, as Plotly ≥ 2 spells it. */
export interface Title {
  text: string;
  [key: string]: unknown;
}

/** An axis. */
export interface Axis {
  title?: Title;
  /** `"linear"`, `"log"`, `"category"`, … */
  type?: string;
  /** Axis range `[min, max]` in data units. */
  range?: [number, number];
  /** Reverse the axis (`"reversed"`) for matrix-style heatmaps. */
  autorange?: boolean | "reversed";
  /** Tick values/labels for categorical axes. */
  tickvals?: (number | string)[];
  ticktext?: string[];
  /** Lock this axis' scale to another (`"x"`) for square cells. */
  scaleanchor?: string;
  /** Constrain (`"domain"`) for square heatmaps. */
  constrain?: string;
  zeroline?: boolean;
  [key: string]: unknown;
}

/** A layout shape (windows overlay uses rectangles). */
export interface Shape {
  type: "rect" | "line" | "circle" | "path";
  /** `"x"` (data units) or `"paper"` (0..1). */
  xref?: string;
  yref?: string;
  x0?: number | string;
  x1?: number | string;
  y0?: number | string;
  y1?: number | string;
  fillcolor?: string;
  opacity?: number;
  line?: { color?: string; width?: number; dash?: string };
  /** `"below"` or `"above"` the traces. */
  layer?: "below" | "above";
  [key: string]: unknown;
}

/** A text annotation. */
export interface Annotation {
  text: string;
  x?: number | string;
  y?: number | string;
  xref?: string;
  yref?: string;
  showarrow?: boolean;
  font?: { color?: string; size?: number };
  [key: string]: unknown;
}

/** Figure layout. */
export interface Layout {
  title?: Title;
  xaxis?: Axis;
  yaxis?: Axis;
  /** Figure width in px (also the PNG export width). */
  width?: number;
  /** Figure height in px (also the PNG export height). */
  height?: number;
  /** `"group"`, `"stack"`, … (bar charts). */
  barmode?: string;
  shapes?: Shape[];
  annotations?: Annotation[];
  showlegend?: boolean;
  legend?: Record<string, unknown>;
  margin?: { l?: number; r?: number; t?: number; b?: number; pad?: number };
  template?: unknown;
  [key: string]: unknown;
}

/** A Plotly figure: `{data, layout}`, plain JSON. */
export interface Figure {
  data: Trace[];
  layout: Layout;
}

/** Default figure size (px) used when a layout gives none. */
export const DEFAULT_WIDTH = 800;
/** Default figure height (px). */
export const DEFAULT_HEIGHT = 500;

/**
 * The categorical palette of every figure: {@link CLASS_PALETTE} (24
 * colours; the first 10 are Plotly's/D3's category10), cycled for classes,
 * series and axes so a class keeps its colour across figures.
 */
export const PALETTE: readonly string[] = CLASS_PALETTE;

/** Colour for index `i` (cycles {@link PALETTE}; the same as {@link classColor}). */
export function paletteColor(i: number): string {
  return classColor(i);
}

/**
 * Figure to JSON-safe plain data: typed arrays become number arrays and
 * non-finite numbers become `null` (Plotly's gap), so `JSON.stringify`
 * round-trips it.
 *
 * @example
 * toPlainFigure({ data: [{ type: "scatter", y: new Float32Array([1, NaN]) }], layout: {} });
 * // → { data: [{ type: "scatter", y: [1, null] }], layout: {} }
 */
export function toPlainFigure(fig: Figure): Figure {
  return plain(fig) as Figure;
}

function plain(v: unknown): unknown {
  if (typeof v === "number") return Number.isFinite(v) ? v + 0 : null; // +0: no -0 in JSON
  if (v === null || typeof v !== "object") return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    return Array.from(
      v as unknown as ArrayLike<number>,
      (x) => (Number.isFinite(x) ? x + 0 : null),
    );
  }
  if (Array.isArray(v)) return v.map(plain);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (x !== undefined) out[k] = plain(x);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Titles that fit

/** Plotly's default title font size (px). */
export const TITLE_FONT_SIZE = 17;

/** Horizontal room (px) kept free on each side of a title. */
const TITLE_PAD = 12;

/**
 * Approximate advance widths (em) of the font titles render in: Plotly asks
 * for Open Sans, and headless Chromium on Linux falls back to the wider
 * DejaVu Sans, so these follow DejaVu (measured: an 80-character title at
 * 17 px renders ≈ 720 px).
 */
function charEm(c: string): number {
  if (c === " ") return 0.32;
  if (/[iljI.,:;'|!()[\]{}]/.test(c)) return 0.36;
  if (/[ftrJ\-/]/.test(c)) return 0.46;
  if (/[mwMW@]/.test(c)) return 1.0;
  if (/[A-Z]/.test(c)) return 0.78;
  if (/[0-9]/.test(c)) return 0.64;
  if (/[a-z]/.test(c)) return 0.62;
  return 0.72; // symbols, non-Latin: wide side
}

/**
 * Estimated rendered width (px) of a title line, conservatively (slightly
 * wide): Plotly's default font at `fontSize` px. HTML tags (`<b>`) are not
 * counted; `<br>` splits lines and the widest line counts.
 *
 * @example
 * titleWidthPx("Confusion matrix"); // ≈ 150
 */
export function titleWidthPx(text: string, fontSize = TITLE_FONT_SIZE): number {
  // reduce, not Math.max(...): no argument spreads in lib/ (tests/spread_scan_test.ts)
  return String(text).split(/<br\s*\/?>/i).reduce(
    (m, line) =>
      Math.max(
        m,
        [...line.replace(/<[^>]*>/g, "")].reduce((w, c) => w + charEm(c) * fontSize, 0),
      ),
    0,
  );
}

/**
 * `layout` with a title that fits the figure: a title wider than the figure
 * (minus a small pad) is wrapped at spaces into `<br>`-separated lines, and
 * the top margin grows to hold them, so PNG exports never clip it. Titles
 * that fit, and layouts without one, are returned unchanged. Returns a new
 * figure; `fig` is not modified.
 *
 * @example
 * fitTitle({ data: [], layout: { width: 300, title: { text: "A long title that does not fit in 300 px" } } })
 *   .layout.title!.text; // "A long title that does not<br>fit in 300 px"
 */
export function fitTitle(fig: Figure): Figure {
  const title = fig.layout.title;
  if (!title || typeof title.text !== "string" || title.text === "") return fig;
  const font = title.font as { size?: number } | undefined;
  const size = typeof font?.size === "number" ? font.size : TITLE_FONT_SIZE;
  const width = fig.layout.width ?? DEFAULT_WIDTH;
  const room = Math.max(size * 4, width - 2 * TITLE_PAD);
  if (titleWidthPx(title.text, size) <= room) return fig;
  const lines: string[] = [];
  for (const para of title.text.split(/<br\s*\/?>/i)) {
    let line = "";
    for (const word of para.split(" ")) {
      const next = line ? `${line} ${word}` : word;
      if (line && titleWidthPx(next, size) > room) {
        lines.push(line);
        line = word;
      } else line = next;
    }
    lines.push(line);
  }
  const needTop = Math.ceil(lines.length * size * 1.35 + 40);
  const layout: Layout = { ...fig.layout, title: { ...title, text: lines.join("<br>") } };
  if ((fig.layout.margin?.t ?? 100) < needTop) layout.margin = { ...fig.layout.margin, t: needTop };
  return { data: fig.data, layout };
}
