/**
 * Showing figures: in a Deno Jupyter notebook `show` displays the figure
 * (Plotly mimetype + HTML fallback); everywhere it records the figure under
 * a name so the notebook runner can export it to `results/` afterwards.
 *
 * Recording: when `$HAR_FIGURES_DIR` is set (the runner sets it), `show`
 * writes `<dir>/<name>.json` (the plain figure) and appends
 * `{"name", "file"}` to `<dir>/manifest.jsonl`. Showing the same name twice
 * keeps the last figure.
 *
 * @example
 * import { plotConfusion, show } from "../lib/mod.ts";
 * await show(plotConfusion(cm, classes, { normalize: true }), { name: "confusion" });
 */
import { join } from "node:path";
import { ConfigError } from "../errors.ts";
import { writeTextAtomic } from "../fs.ts";
import { figureSnippet } from "./html.ts";
import { type Figure, fitTitle, toPlainFigure } from "./plotly.ts";

/** Environment variable naming the folder where `show` records figures. */
export const FIGURES_DIR_ENV = "HAR_FIGURES_DIR";

/** Name of the manifest file inside `$HAR_FIGURES_DIR`. */
export const FIGURES_MANIFEST = "manifest.jsonl";

/** Options of {@link show}. */
export interface ShowOptions {
  /**
   * Name the figure is exported under (`results/<notebook>/<name>.png`).
   * Letters, digits, `.`, `_` and `-` (other characters become `_`).
   * Default `figure-<n>` (n counts figures shown in this process).
   */
  name?: string;
}

/** A figure recorded by {@link show}. */
export interface ShownFigure {
  /** Sanitised name. */
  name: string;
  /** The plain (JSON-safe) figure. */
  figure: Figure;
}

const shown: ShownFigure[] = [];

/** True inside a `deno jupyter` kernel (where `Deno.jupyter` is usable). */
export function isJupyter(): boolean {
  try {
    // Accessing Deno.jupyter outside the jupyter subcommand throws.
    // deno-lint-ignore no-explicit-any
    return typeof (Deno as any).jupyter?.display === "function";
  } catch {
    return false;
  }
}

/**
 * A safe figure/file name: characters outside `[A-Za-z0-9._-]` become `_`.
 *
 * @example
 * figureName("per-class F1 (HHAR)"); // "per-class_F1__HHAR_"
 */
export function figureName(name: string): string {
  const s = name.trim().replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_");
  if (!s) throw new ConfigError(`show: figure name ${JSON.stringify(name)} is empty`);
  return s;
}

/**
 * Display `fig` in the notebook and record it under `options.name`.
 *
 * In Jupyter the output carries `application/vnd.plotly.v1+json` (rendered
 * natively by JupyterLab/VS Code with Plotly support), a `text/html`
 * fallback and a `text/plain` line ({@link figureBundle}; long titles are
 * wrapped to the figure width in both figure forms). Outside Jupyter (`deno run`) it prints
 * one line to stdout and nothing else; use `saveFigure` to write files.
 *
 * @example
 * await show(plotPerClassF1(classes, f1), { name: "f1" });
 */
export async function show(fig: Figure, options: ShowOptions = {}): Promise<void> {
  if (!fig || !Array.isArray(fig.data) || typeof fig.layout !== "object" || fig.layout === null) {
    throw new ConfigError("show: fig must be a Plotly figure {data: Trace[], layout: {...}}");
  }
  const name = figureName(options.name ?? `figure-${shown.length + 1}`);
  const figure = toPlainFigure(fig);
  const i = shown.findIndex((f) => f.name === name);
  if (i >= 0) shown.splice(i, 1);
  shown.push({ name, figure });
  await recordToDir(name, figure);
  const bundle = figureBundle(figure, name);
  if (isJupyter()) {
    await Deno.jupyter.display(bundle, { raw: true });
  } else {
    console.log(
      `${bundle["text/plain"]} not in Jupyter: use saveFigure(fig, path) to write PNG/HTML`,
    );
  }
}

/** The MIME bundle {@link show} displays for one figure. */
export interface FigureBundle {
  /** The plain figure, title wrapped to the figure width ({@link fitTitle}). */
  "application/vnd.plotly.v1+json": Figure;
  /** Fallback for frontends without a Plotly renderer (same wrapped title). */
  "text/html": string;
  /** `<Figure name: title (n traces)>`, the title on one line. */
  "text/plain": string;
  [mime: string]: unknown;
}

/**
 * The notebook output of `fig` shown as `name`: the Plotly JSON (with a
 * title longer than the figure's width wrapped into lines and the top margin
 * grown to hold them, as in exported PNG/HTML, so no frontend clips it), the
 * HTML fallback and a one-line text form.
 *
 * @example
 * figureBundle({ data: [], layout: { width: 300, title: { text: "A long title that does not fit in 300 px" } } }, "f")
 *   ["application/vnd.plotly.v1+json"].layout.title!.text; // "A long title that does not<br>fit in 300 px"
 */
export function figureBundle(fig: Figure, name: string): FigureBundle {
  const plainFig = toPlainFigure(fig);
  const title = String(plainFig.layout.title?.text ?? "").replace(/<br\s*\/?>/gi, " ");
  return {
    "application/vnd.plotly.v1+json": fitTitle(plainFig),
    "text/html": figureSnippet(plainFig),
    "text/plain": `<Figure ${name}${title ? `: ${title}` : ""} (${plainFig.data.length} traces)>`,
  };
}

/** Figures recorded by {@link show} in this process, in order (last show per name). */
export function shownFigures(): ShownFigure[] {
  return shown.slice();
}

/** Forget the figures recorded in this process (not the files in `$HAR_FIGURES_DIR`). */
export function clearShownFigures(): void {
  shown.length = 0;
}

async function recordToDir(name: string, figure: Figure): Promise<void> {
  const dir = Deno.env.get(FIGURES_DIR_ENV);
  if (!dir) return;
  await Deno.mkdir(dir, { recursive: true });
  const file = `${name}.json`;
  await writeTextAtomic(join(dir, file), JSON.stringify(figure));
  await Deno.writeTextFile(
    join(dir, FIGURES_MANIFEST),
    JSON.stringify({ name, file }) + "\n",
    { append: true },
  );
}

/**
 * Read the figures recorded in `dir` (a `$HAR_FIGURES_DIR`), in first-shown
 * order, one entry per name (its last version). Empty when nothing was shown.
 */
export async function readRecordedFigures(dir: string): Promise<ShownFigure[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, FIGURES_MANIFEST));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const order: string[] = [];
  const files = new Map<string, string>();
  text.split("\n").forEach((line, k) => {
    if (!line.trim()) return;
    let entry: { name?: unknown; file?: unknown };
    try {
      entry = JSON.parse(line);
    } catch {
      throw new ConfigError(`${join(dir, FIGURES_MANIFEST)} line ${k + 1}: not JSON`);
    }
    if (typeof entry.name !== "string" || typeof entry.file !== "string") {
      throw new ConfigError(`${join(dir, FIGURES_MANIFEST)} line ${k + 1}: missing name/file`);
    }
    if (!files.has(entry.name)) order.push(entry.name);
    files.set(entry.name, entry.file);
  });
  const out: ShownFigure[] = [];
  for (const name of order) {
    const path = join(dir, files.get(name)!);
    const figure = JSON.parse(await Deno.readTextFile(path)) as Figure;
    out.push({ name, figure });
  }
  return out;
}
