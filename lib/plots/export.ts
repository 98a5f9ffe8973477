/**
 * Static export of figures: interactive HTML that loads ONE shared
 * `plotly.min.js` (copied from the npm package `plotly.js-dist-min` into the
 * results folder; `results/plotly.min.js` is committed, so committed pages
 * open offline, with the pinned CDN copy as fallback), and PNG rendered offline by headless Chromium through
 * playwright-core (plotly.js injected from the local copy, no CDN).
 *
 * One browser renders many figures: use {@link exportFigures} (or a
 * {@link FigureExporter}) for batches; {@link saveFigure} is the one-off.
 *
 * @example
 * await saveFigure(fig, "results/demo/confusion");
 * // → results/demo/confusion.html (loads ../plotly.min.js), results/demo/confusion.png
 */
import { createRequire } from "node:module";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../errors.ts";
import { atomicWrite } from "../fs.ts";
import { figurePage } from "./html.ts";
import { DEFAULT_HEIGHT, DEFAULT_WIDTH, type Figure, fitTitle, toPlainFigure } from "./plotly.ts";

/** Output formats of the exporters. */
export type FigureFormat = "html" | "png";

/** Chromium flags for headless, offline, sandbox-less rendering. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Chromium used for PNG export: `$HAR_CHROMIUM` or `/usr/bin/chromium`. */
export function chromiumPath(): string {
  return Deno.env.get("HAR_CHROMIUM") ?? "/usr/bin/chromium";
}

/** Raised when PNG export cannot start a browser (Chromium missing or broken). */
export class ChromiumUnavailableError extends Error {
  /** The executable that was tried. */
  readonly executablePath: string;
  constructor(executablePath: string, fault: string) {
    super(
      `${executablePath}: ${fault}. PNG export needs Chromium: install it (apt-get install chromium) ` +
        `or point $HAR_CHROMIUM at a Chromium/Chrome binary; HTML export works without it.`,
    );
    this.name = "ChromiumUnavailableError";
    this.executablePath = executablePath;
  }
}

/** Options shared by the exporters. */
export interface ExportOptions {
  /** Formats to write. Default `["html", "png"]`. */
  formats?: FigureFormat[];
  /**
   * Folder holding the shared `plotly.min.js` the HTML pages load (copied
   * there once). Default: the nearest ancestor folder named `results`, else
   * the HTML file's own folder.
   */
  plotlyDir?: string;
  /** PNG pixel density (device scale factor). Default 1 (PNG px = layout px). */
  scale?: number;
  /** Chromium executable. Default {@link chromiumPath}(). */
  executablePath?: string;
}

/** Files written for one figure. */
export interface ExportedFigure {
  /** The HTML page, when written. */
  html?: string;
  /** The PNG image, when written. */
  png?: string;
}

/**
 * Path of the pinned `plotly.min.js` inside the installed npm package.
 * Throws a {@link ConfigError} naming the fix when it is not installed.
 */
export function plotlyJsPath(): string {
  const tries: string[] = [];
  try {
    const url = import.meta.resolve("plotly.js-dist-min");
    if (url.startsWith("file:")) {
      const p = join(dirname(fileURLToPath(url)), "plotly.min.js");
      if (isFile(p)) return p;
      tries.push(p);
    }
  } catch { /* not in the import map: fall through */ }
  try {
    const p = createRequire(import.meta.url).resolve("plotly.js-dist-min/plotly.min.js");
    if (isFile(p)) return p;
    tries.push(p);
  } catch { /* no node_modules */ }
  const p = resolve(
    dirname(fileURLToPath(import.meta.url)),
    "../../node_modules/plotly.js-dist-min/plotly.min.js",
  );
  if (isFile(p)) return p;
  tries.push(p);
  throw new ConfigError(
    `plotly.min.js not found (tried ${tries.join(", ")}): run \`deno install\` in the project ` +
      `so node_modules/plotly.js-dist-min exists`,
  );
}

/**
 * Copy the pinned plotly.min.js into `dir` unless an identical-size copy is
 * already there; returns the copy's path.
 */
export async function ensurePlotlyJs(dir: string): Promise<string> {
  const src = plotlyJsPath();
  const dst = join(dir, "plotly.min.js");
  const want = (await Deno.stat(src)).size;
  try {
    if ((await Deno.stat(dst)).size === want) return dst;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${dst}.${Deno.pid}.tmp`;
  await Deno.copyFile(src, tmp);
  await Deno.rename(tmp, dst);
  return dst;
}

/**
 * Default home of the shared plotly.min.js for a page at `htmlPath`: the
 * nearest ancestor folder named `results`, else the page's folder.
 */
export function defaultPlotlyDir(htmlPath: string): string {
  const start = dirname(resolve(htmlPath));
  let d = start;
  while (true) {
    if (basename(d) === "results") return d;
    const up = dirname(d);
    if (up === d) return start;
    d = up;
  }
}

/**
 * Write the HTML page of `fig` to `htmlPath`, loading the shared
 * plotly.min.js in `plotlyDir` by relative URL (copied there if missing).
 */
export async function saveFigureHtml(
  fig: Figure,
  htmlPath: string,
  plotlyDir = defaultPlotlyDir(htmlPath),
): Promise<string> {
  const js = await ensurePlotlyJs(plotlyDir);
  let src = relative(dirname(resolve(htmlPath)), js);
  if (sep !== "/") src = src.split(sep).join("/");
  await atomicWrite(htmlPath, new TextEncoder().encode(figurePage(fig, { plotlySrc: src })));
  return htmlPath;
}

/**
 * Renders figures to PNG in one headless Chromium page (plotly.js loaded
 * once). Close it when done.
 *
 * @example
 * const ex = await FigureExporter.launch();
 * try { await Deno.writeFile("a.png", await ex.png(fig)); } finally { await ex.close(); }
 */
export class FigureExporter {
  // deno-lint-ignore no-explicit-any
  #browser: any;
  // deno-lint-ignore no-explicit-any
  #page: any;

  // deno-lint-ignore no-explicit-any
  private constructor(browser: any, page: any) {
    this.#browser = browser;
    this.#page = page;
  }

  /** Start Chromium and load plotly.js. Throws {@link ChromiumUnavailableError} when it cannot. */
  static async launch(
    options: { executablePath?: string; scale?: number } = {},
  ): Promise<FigureExporter> {
    const exe = options.executablePath ?? chromiumPath();
    if (!isFile(exe)) throw new ChromiumUnavailableError(exe, "not found");
    const js = plotlyJsPath();
    const { chromium } = await import("playwright-core");
    // deno-lint-ignore no-explicit-any
    let browser: any;
    try {
      browser = await chromium.launch({ executablePath: exe, args: [...CHROMIUM_ARGS] });
    } catch (e) {
      throw new ChromiumUnavailableError(exe, `failed to start (${(e as Error).message})`);
    }
    try {
      const page = await browser.newPage({
        viewport: { width: DEFAULT_WIDTH, height: DEFAULT_HEIGHT },
        deviceScaleFactor: options.scale ?? 1,
      });
      // Offline: nothing may leave the page.
      await page.route("**/*", (route: { abort: () => Promise<void> }) => route.abort());
      await page.setContent(
        `<!DOCTYPE html><html><head><meta charset="utf-8"></head>` +
          `<body style="margin:0;background:white"><div id="figure"></div></body></html>`,
      );
      await page.addScriptTag({ content: await Deno.readTextFile(js) });
      return new FigureExporter(browser, page);
    } catch (e) {
      await browser.close();
      throw e;
    }
  }

  /** Render `fig` at its layout size (default 800×500 px) and return PNG bytes. */
  async png(fig: Figure): Promise<Uint8Array> {
    const plainFig = fitTitle(toPlainFigure(fig));
    const width = Math.round(plainFig.layout.width ?? DEFAULT_WIDTH);
    const height = Math.round(plainFig.layout.height ?? DEFAULT_HEIGHT);
    await this.#page.setViewportSize({ width, height });
    const error: string | null = await this.#page.evaluate(
      async ({ fig, width, height }: { fig: Figure; width: number; height: number }) => {
        // deno-lint-ignore no-explicit-any
        const g = globalThis as any;
        const div = g.document.getElementById("figure");
        g.Plotly.purge(div);
        div.style.width = `${width}px`;
        div.style.height = `${height}px`;
        try {
          await g.Plotly.newPlot(div, fig.data, { ...fig.layout, width, height }, {
            staticPlot: true,
          });
          return null;
        } catch (e) {
          return String(e);
        }
      },
      { fig: plainFig, width, height },
    );
    if (error) {
      throw new ConfigError(
        `plotly could not render figure "${plainFig.layout.title?.text ?? ""}": ${error}`,
      );
    }
    const bytes: Uint8Array = await this.#page.locator("#figure").screenshot({ type: "png" });
    return new Uint8Array(bytes);
  }

  /** Close the browser. */
  async close(): Promise<void> {
    await this.#browser.close();
  }
}

/** One figure to export and where: `<basePath>.html`, `<basePath>.png`. */
export interface FigureJob {
  fig: Figure;
  /** Output path without extension. */
  basePath: string;
}

/**
 * Export many figures with one browser: for each job writes
 * `<basePath>.html` and/or `<basePath>.png`.
 *
 * @example
 * await exportFigures([
 *   { fig: f1, basePath: "results/nb/f1" },
 *   { fig: cm, basePath: "results/nb/confusion" },
 * ]);
 */
export async function exportFigures(
  jobs: FigureJob[],
  options: ExportOptions = {},
): Promise<ExportedFigure[]> {
  const formats = options.formats ?? ["html", "png"];
  for (const f of formats) {
    if (f !== "html" && f !== "png") {
      throw new ConfigError(`exportFigures: options.formats has "${f}", expected "html" or "png"`);
    }
  }
  const out: ExportedFigure[] = jobs.map(() => ({}));
  if (formats.includes("html")) {
    for (const [i, job] of jobs.entries()) {
      const html = `${job.basePath}.html`;
      out[i].html = await saveFigureHtml(
        job.fig,
        html,
        options.plotlyDir ?? defaultPlotlyDir(html),
      );
    }
  }
  if (formats.includes("png") && jobs.length) {
    const ex = await FigureExporter.launch({
      executablePath: options.executablePath,
      scale: options.scale,
    });
    try {
      for (const [i, job] of jobs.entries()) {
        const png = `${job.basePath}.png`;
        await atomicWrite(png, await ex.png(job.fig));
        out[i].png = png;
      }
    } finally {
      await ex.close();
    }
  }
  return out;
}

/**
 * Save one figure as `<basePath>.html` (interactive, shared plotly.js) and
 * `<basePath>.png` (headless Chromium). Works inside and outside Jupyter.
 * For many figures prefer {@link exportFigures} (one browser for all).
 *
 * @example
 * await saveFigure(plotConfusion(cm, classes), "results/hhar/confusion", { formats: ["png"] });
 */
export async function saveFigure(
  fig: Figure,
  basePath: string,
  options: ExportOptions = {},
): Promise<ExportedFigure> {
  return (await exportFigures([{ fig, basePath }], options))[0];
}

function isFile(p: string): boolean {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}
