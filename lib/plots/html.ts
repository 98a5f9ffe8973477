/**
 * HTML for a figure: a standalone page that loads a shared plotly.js by
 * relative URL (what `saveFigure` writes), and an embeddable snippet (what
 * `show` puts in a notebook's `text/html` output).
 *
 * @example
 * const page = figurePage(fig, { plotlySrc: "../plotly.min.js", title: "confusion" });
 */
import { DEFAULT_HEIGHT, DEFAULT_WIDTH, type Figure, fitTitle, toPlainFigure } from "./plotly.ts";

/** The plotly.js version pinned in the import map (`plotly.js-dist-min`). */
export const PLOTLY_VERSION = "2.35.2";

/** Public CDN copy of the pinned plotly.js, used only by notebook HTML fallbacks. */
export const PLOTLY_CDN = `https://cdn.plot.ly/plotly-${PLOTLY_VERSION}.min.js`;

/** Options of {@link figurePage}. */
export interface FigurePageOptions {
  /** URL of plotly.min.js as seen from the page, e.g. `"../plotly.min.js"`. */
  plotlySrc: string;
  /** Page `<title>`. Default: the figure title or `"figure"`. */
  title?: string;
}

/** JSON safe to inline in a `<script>` (no `</script>`, no U+2028/9 breaks). */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** Escape text for HTML content/attributes. */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/**
 * A standalone, interactive HTML page for `fig` that loads plotly.js from
 * `plotlySrc` (one shared copy per results folder, not one per figure: the
 * exporter copies the pinned `plotly.min.js` there, and `results/plotly.min.js`
 * is committed so committed figures open offline), falling back to the
 * pinned CDN copy when the local file is absent (a page moved elsewhere).
 * The title is wrapped to the figure width ({@link fitTitle}).
 */
export function figurePage(fig: Figure, options: FigurePageOptions): string {
  const plainFig = fitTitle(toPlainFigure(fig));
  const title = options.title ?? plainFig.layout.title?.text ?? "figure";
  const w = plainFig.layout.width ?? DEFAULT_WIDTH;
  const h = plainFig.layout.height ?? DEFAULT_HEIGHT;
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>${escapeHtml(String(title))}</title>
<script src="${escapeHtml(options.plotlySrc)}"></script>
<script>window.Plotly || document.write('<script src="${PLOTLY_CDN}"><\\/script>');</script>
</head>
<body style="margin:0">
<div id="figure" style="width:${w}px;height:${h}px"></div>
<script>
var fig = ${scriptJson(plainFig)};
Plotly.newPlot("figure", fig.data, fig.layout, {responsive: true, displaylogo: false});
</script>
</body>
</html>
`;
}

let snippetCounter = 0;

/**
 * An HTML snippet for notebook frontends without a Plotly renderer: it uses
 * `window.Plotly` when present, else loads the pinned plotly.js from the CDN.
 * Frontends with a Plotly renderer use the `application/vnd.plotly.v1+json`
 * output instead and never run this.
 */
export function figureSnippet(fig: Figure): string {
  const plainFig = fitTitle(toPlainFigure(fig));
  const id = `har-fig-${Date.now().toString(36)}-${(snippetCounter++).toString(36)}`;
  const h = plainFig.layout.height ?? DEFAULT_HEIGHT;
  return `<div id="${id}" style="width:100%;height:${h}px"></div>
<script>
(function () {
  var fig = ${scriptJson(plainFig)};
  function draw() { window.Plotly.newPlot("${id}", fig.data, fig.layout, {displaylogo: false}); }
  if (window.Plotly) { draw(); return; }
  var s = document.createElement("script");
  s.src = "${PLOTLY_CDN}";
  s.onload = draw;
  document.head.appendChild(s);
})();
</script>`;
}
