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
