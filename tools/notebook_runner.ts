/**
 * Headless notebook runner: executes `.ipynb` notebooks on the real Deno
 * Jupyter kernel (through tools/nb_driver.py + Debian's jupyter_client),
 * writes them back with every output, and exports every figure the notebook
 * `show`ed to `results/<notebook>/<figure>.{png,html}`.
 *
 * The notebook reads its scale from `$HAR_SCALE` (`smoke` | `laptop` |
 * `paper`); `show` records figures into `$HAR_FIGURES_DIR`, a temporary
 * folder this runner creates per notebook and removes afterwards.
 *
 * Outside lib/ on purpose: only the figure export uses lib (lib/plots).
 *
 * @example
 * const r = await runNotebook("notebooks/00_quickstart.ipynb", { scale: "smoke" });
 * if (!r.ok) console.error(formatFailure(r));
 */
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readRecordedFigures } from "../lib/plots/display.ts";
import { exportFigures, type ExportOptions } from "../lib/plots/export.ts";
import { writeTextAtomic } from "../lib/fs.ts";

/** The project root (folder holding deno.json). */
export const PROJECT_ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The Python driver executed by {@link runNotebook}. */
export const DRIVER: string = join(PROJECT_ROOT, "tools", "nb_driver.py");

/** Scales a notebook can run at (see DESIGN.md). */
export type Scale = "smoke" | "laptop" | "long" | "paper";
/** Valid {@link Scale} values. */
export const SCALES: readonly Scale[] = ["smoke", "laptop", "long", "paper"];

/** Options of {@link runNotebook}. */
export interface RunNotebookOptions {
  /** Passed to the notebook as `$HAR_SCALE`. Default `"smoke"`. */
  scale?: Scale;
  /** Per-cell timeout (s). Default 1800. */
  timeoutSec?: number;
  /**
   * Quiet period (s) the iopub channel must stay silent after a cell is idle
   * before the next cell starts (catches Deno's late stream output). Default 0.5.
   */
  quietSec?: number;
  /** Kernel start timeout (s). Default 120. */
  startupTimeoutSec?: number;
  /** Where to write the executed notebook. Default: overwrite the input (in place). */
  out?: string;
  /**
   * Root of figure exports: figures go to `<resultsDir>/<notebook name>/`, the
   * shared plotly.min.js to `<resultsDir>/plotly.min.js`. Default `<project>/results`.
   */
  resultsDir?: string;
  /** Export the figures the notebook showed. Default true. */
  exportFigures?: boolean;
  /** Figure formats and PNG options. Default: html + png. */
  exportOptions?: ExportOptions;
  /** Kernel working directory. Default: the notebook's folder. */
  cwd?: string;
  /** Kernelspec name. Default: the notebook's, else `"deno"`. */
  kernel?: string;
  /** Python with jupyter_client + nbformat. Default `/usr/bin/python3`. */
  python?: string;
  /** Extra environment for the kernel. */
  env?: Record<string, string>;
  /** Stream the driver's progress lines to this process' stderr. Default true. */
  progress?: boolean;
}

/** Outcome of one notebook. */
export interface NotebookRunResult {
  /** The input notebook. */
  notebook: string;
  /** The executed notebook written. */
  out: string;
  /** True when every cell ran without error (and figures exported). */
  ok: boolean;
  /** `"ok"`, `"error"` (a cell raised), `"timeout"`, `"dead"` (kernel died), `"startup"`, `"export"`, `"driver"`. */
  status: string;
  /** Code cells in the notebook. */
  cells: number;
  /** Index (in `nb.cells`, 0-based, markdown included) of the failing cell. */
  failedCell?: number;
  /** Error name, value and traceback of the failure. */
  ename?: string;
  evalue?: string;
  traceback?: string[];
  /** Figures exported: name and files. */
  figures: { name: string; html?: string; png?: string }[];
  /** Wall time (s). */
  seconds: number;
  /** The driver's progress output (when `progress: false`). */
  log?: string;
}

/** Make sure the `deno` kernelspec is installed (`deno jupyter --install` otherwise). */
export async function ensureDenoKernel(python = "/usr/bin/python3"): Promise<void> {
  const probe = await new Deno.Command(python, {
    args: ["-c", "import jupyter_client.kernelspec as k; print('deno' in k.find_kernel_specs())"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!probe.success) {
    throw new Error(
      `${python}: cannot import jupyter_client (${
        new TextDecoder().decode(probe.stderr).trim().split("\n").pop()
      }); install python3-jupyter-client (apt-get install python3-jupyter-client python3-nbformat)`,
    );
  }
  if (new TextDecoder().decode(probe.stdout).trim() === "True") return;
  const inst = await new Deno.Command(Deno.execPath(), {
    args: ["jupyter", "--install"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!inst.success) {
    throw new Error(
      `deno jupyter --install failed: ${new TextDecoder().decode(inst.stderr).trim()}`,
    );
  }
}

/**
 * Execute one notebook headlessly and export its figures.
 * Never throws for notebook failures: check `result.ok` / {@link formatFailure}.
 */
export async function runNotebook(
  notebook: string,
  options: RunNotebookOptions = {},
): Promise<NotebookRunResult> {
  const t0 = performance.now();
  const nbPath = resolve(notebook);
  const out = resolve(options.out ?? nbPath);
  const scale = options.scale ?? "smoke";
  if (!SCALES.includes(scale)) {
    throw new Error(`runNotebook: scale must be one of ${SCALES.join(", ")}, got "${scale}"`);
  }
  const python = options.python ?? "/usr/bin/python3";
  await ensureDenoKernel(python);
  const figDir = await Deno.makeTempDir({ prefix: "har-figures-" });
  const name = basename(nbPath).replace(/\.ipynb$/, "");
  const args = [
    DRIVER,
    nbPath,
    "--out",
    out,
    "--timeout",
    String(options.timeoutSec ?? 1800),
    "--quiet",
    String(options.quietSec ?? 0.5),
    "--startup-timeout",
    String(options.startupTimeoutSec ?? 120),
    "--cwd",
    resolve(options.cwd ?? dirname(nbPath)),
  ];
  if (options.kernel) args.push("--kernel", options.kernel);
  const progress = options.progress ?? true;
  const result: NotebookRunResult = {
    notebook: nbPath,
    out,
    ok: false,
    status: "driver",
    cells: 0,
    figures: [],
    seconds: 0,
  };
  try {
    await Deno.mkdir(dirname(out), { recursive: true });
    const child = new Deno.Command(python, {
      args,
      env: {
        ...options.env,
        HAR_SCALE: scale,
        HAR_FIGURES_DIR: figDir,
        HAR_NOTEBOOK: name,
      },
      stdout: "piped",
      stderr: progress ? "inherit" : "piped",
    }).spawn();
    const output = await child.output();
    const text = new TextDecoder().decode(output.stdout).trim();
    if (!progress) result.log = new TextDecoder().decode(output.stderr);
    const last = text.split("\n").pop() ?? "";
    let summary: Record<string, unknown>;
    try {
      summary = JSON.parse(last);
    } catch {
      result.ename = "DriverError";
      result.evalue = `${DRIVER} produced no summary (stdout: ${text.slice(-500)}${
        result.log ? `; stderr: ${result.log.slice(-2000)}` : ""
      })`;
      return result;
    }
    result.status = String(summary.status);
    result.cells = Number(summary.cells ?? 0);
    if (summary.status !== "ok") {
      result.failedCell = summary.cell as number | undefined;
      result.ename = String(summary.ename ?? "");
      result.evalue = String(summary.evalue ?? "");
      result.traceback = (summary.traceback as string[] | undefined) ?? [];
      return result;
    }
    if (options.exportFigures ?? true) {
      try {
        const figs = await readRecordedFigures(figDir);
        const root = resolve(options.resultsDir ?? join(PROJECT_ROOT, "results"));
        const dir = join(root, name);
        // One shared plotly.min.js at the results root, for every notebook.
        const files = await exportFigures(
          figs.map((f) => ({ fig: f.figure, basePath: join(dir, f.name) })),
          { plotlyDir: root, ...options.exportOptions },
        );
        result.figures = figs.map((f, i) => ({ name: f.name, ...files[i] }));
        await embedStaticImages(out, dir);
      } catch (e) {
        result.status = "export";
        result.ename = (e as Error).name;
        result.evalue = (e as Error).message;
        return result;
      }
    }
    result.ok = true;
    return result;
  } finally {
    result.seconds = (performance.now() - t0) / 1000;
    await Deno.remove(figDir, { recursive: true }).catch(() => {});
  }
}

/**
 * Give every figure output of the notebook at `nbPath` a static
 * `image/png` (base64) beside its Plotly JSON, from `<pngDir>/<name>.png`
 * (the runner's export; the name is read from the output's
 * `<Figure name…>` text), so the figure shows on GitHub and offline.
 * Outputs without a PNG are left as they are. Returns the number embedded.
 *
 * A figure output that gets its PNG is also slimmed, so committed notebooks
 * stay small (a spectrogram or UMAP figure is ~0.5 MB of JSON, twice over):
 * its `text/html` copy is dropped, and so is a Plotly JSON larger than
 * `maxPlotlyBytes`. The interactive figure stays one click away in
 * `<pngDir>/<name>.html`, which the output's `text/plain` then names.
 *
 * @example
 * await embedStaticImages("notebooks/01_multitask_resnet.ipynb", "results/01_multitask_resnet");
 */
export async function embedStaticImages(
  nbPath: string,
  pngDir: string,
  { maxPlotlyBytes = 20_000 }: {
    /** Largest Plotly JSON (serialised, bytes) kept beside the PNG. */
    maxPlotlyBytes?: number;
  } = {},
): Promise<number> {
  const nb = JSON.parse(await Deno.readTextFile(nbPath));
  let n = 0;
  for (const cell of nb.cells ?? []) {
    for (const o of cell.outputs ?? []) {
      const data = o.data as Record<string, unknown> | undefined;
      if (!data?.["application/vnd.plotly.v1+json"]) continue;
      const plain = [data["text/plain"] ?? ""].flat().join("");
      const name = /^<Figure ([A-Za-z0-9._-]+)/.exec(plain)?.[1];
      if (!name) continue;
      let png: Uint8Array;
      try {
        png = await Deno.readFile(join(pngDir, `${name}.png`));
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) continue;
        throw e;
      }
      data["image/png"] = encodeBase64(png);
      delete data["text/html"];
      if (JSON.stringify(data["application/vnd.plotly.v1+json"]).length > maxPlotlyBytes) {
        delete data["application/vnd.plotly.v1+json"];
        const html = join(basename(pngDir), `${name}.html`);
        data["text/plain"] = `${plain} (interactive: results/${html})`;
      }
      n++;
    }
  }
  await writeTextAtomic(nbPath, JSON.stringify(nb, null, 1) + "\n");
  return n;
}

function encodeBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** Human-readable failure report: notebook, cell index, error name/value and traceback. */
export function formatFailure(r: NotebookRunResult): string {
  const where = r.failedCell !== undefined ? ` cell ${r.failedCell}` : "";
  const lines = [
    `FAILED ${r.notebook}${where} (${r.status}): ${r.ename ?? ""}: ${r.evalue ?? ""}`,
    // deno-lint-ignore no-control-regex
    ...(r.traceback ?? []).map((l) => "  " + l.replace(/\x1b\[[0-9;]*m/g, "")),
    `partial notebook saved to ${r.out}`,
  ];
  return lines.join("\n");
}

/** The notebooks in `dir` (`*.ipynb`, sorted by name, checkpoints skipped). */
export async function listNotebooks(dir = join(PROJECT_ROOT, "notebooks")): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".ipynb") && !e.name.startsWith(".")) {
      out.push(join(dir, e.name));
    }
  }
  return out.sort();
}
