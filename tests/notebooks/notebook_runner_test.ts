/**
 * The headless notebook runner on the REAL Deno Jupyter kernel: no output
 * lost (late timer output, merged streams, in-place display updates), a
 * failing cell stops the run with a non-zero exit naming the cell, and the
 * figures a notebook shows are exported as PNG + HTML.
 *
 * Skips (with a message) when /usr/bin/python3 lacks jupyter_client.
 */
import { basename, join } from "node:path";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { haveJupyter, tempDir } from "../_helpers.ts";
import { PROJECT_ROOT, runNotebook } from "../../tools/notebook_runner.ts";
import { outPath, parseArgs } from "../../tools/run_notebooks.ts";

interface Cell {
  cell_type: string;
  source: string | string[];
  execution_count?: number | null;
  outputs?: Output[];
}
interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}

const joinText = (t: string | string[] | undefined) => Array.isArray(t) ? t.join("") : t ?? "";

function notebook(cells: { code?: string; md?: string }[]): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
    cells: cells.map((c, i) =>
      c.md !== undefined ? { id: `c${i}`, cell_type: "markdown", metadata: {}, source: c.md } : {
        id: `c${i}`,
        cell_type: "code",
        metadata: {},
        source: c.code,
        execution_count: null,
        outputs: [],
      }
    ),
  });
}

Deno.test("parseArgs: flags, defaults and errors", () => {
  const a = parseArgs(["--scale", "laptop", "a.ipynb", "--timeout=60", "--formats", "png"]);
  assertEquals(a.scale, "laptop");
  assertEquals(a.notebooks, ["a.ipynb"]);
  assertEquals(a.timeoutSec, 60);
  assertEquals(a.formats, ["png"]);
  assertEquals(a.figures, true);
  assertEquals(parseArgs(["--no-figures"]).figures, false);
  for (
    const [bad, msg] of [
      [["--scale", "huge"], "--scale"],
      [["--timeout", "-1"], "--timeout"],
      [["--formats", "svg"], "--formats"],
      [["--bogus"], "unknown option --bogus"],
      [["--out"], "--out needs a value"],
    ] as [string[], string][]
  ) {
    let err = "";
    try {
      parseArgs(bad);
    } catch (e) {
      err = (e as Error).message;
    }
    assertStringIncludes(err, msg);
  }
  assertEquals(outPath("/x/nb/a.ipynb", undefined, 2), "/x/nb/a.ipynb");
  assertEquals(outPath("/x/nb/a.ipynb", "/tmp/o", 2), "/tmp/o/a.ipynb");
  assertEquals(outPath("/x/nb/a.ipynb", "/tmp/o.ipynb", 1), "/tmp/o.ipynb");
});

Deno.test({
  name: "runner: 99_smoke keeps late/merged/updated outputs and exports figures",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (!(await haveJupyter())) return;
    const tmp = await tempDir();
    try {
      const out = join(tmp.path, "99_smoke.ipynb");
      const results = join(tmp.path, "results");
      const r = await runNotebook(join(PROJECT_ROOT, "notebooks", "99_smoke.ipynb"), {
        out,
        resultsDir: results,
        scale: "smoke",
        timeoutSec: 120,
        progress: false,
      });
      assert(r.ok, `runner failed: ${r.status} ${r.ename}: ${r.evalue}\n${r.log ?? ""}`);
      const nb = JSON.parse(await Deno.readTextFile(out)) as { cells: Cell[] };
      const code = nb.cells.filter((c) => c.cell_type === "code");
      assertEquals(code.length, 6);
      // Every code cell was executed, in order.
      assertEquals(code.map((c) => c.execution_count), [1, 2, 3, 4, 5, 6]);
      const texts = (c: Cell) =>
        (c.outputs ?? []).filter((o) => o.output_type === "stream").map((o) => joinText(o.text));
      assertEquals(texts(code[0]), ["scale: smoke\n"]);
      // The timer's print arrives after idle: kept with its own cell.
      assertEquals(texts(code[1]), ["late output\n"]);
      const res = code[1].outputs!.find((o) => o.output_type === "execute_result");
      assertStringIncludes(joinText(res?.data?.["text/plain"] as string[]), "timer set");
      // ...and not leaked into the next cell; consecutive chunks merged into one output.
      assertEquals(texts(code[2]), ["line 0\nline 1\nline 2\n"]);
      // update_display_data replaced the display in place.
      assertEquals(code[3].outputs!.length, 1);
      assertEquals(joinText(code[3].outputs![0].data?.["text/plain"] as string[]), "progress 3/3");
      // show() displays the Plotly mimetype.
      const plotly = code[4].outputs!.find((o) => o.data?.["application/vnd.plotly.v1+json"]);
      assert(plotly, "figure cell has no application/vnd.plotly.v1+json output");
      // Figures exported as PNG + HTML, sharing one plotly.min.js at the results root.
      assertEquals(r.figures.map((f) => f.name), ["sine", "confusion"]);
      for (const name of ["sine", "confusion"]) {
        const png = await Deno.readFile(join(results, "99_smoke", `${name}.png`));
        assertEquals(Array.from(png.slice(0, 4)), [0x89, 0x50, 0x4e, 0x47]);
        assert(png.length > 2000, `${name}.png is only ${png.length} bytes`);
        const html = await Deno.readTextFile(join(results, "99_smoke", `${name}.html`));
        assertStringIncludes(html, `<script src="../plotly.min.js"></script>`);
        assertStringIncludes(html, "Plotly.newPlot");
      }
      assert((await Deno.stat(join(results, "plotly.min.js"))).size > 1e6);
    } finally {
      await tmp.cleanup();
    }
  },
});

Deno.test({
  name: "run_notebooks CLI: a failing cell exits non-zero naming the cell, partial notebook saved",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (!(await haveJupyter())) return;
    const tmp = await tempDir();
    try {
      const nbPath = join(tmp.path, "fails.ipynb");
      await Deno.writeTextFile(
        nbPath,
        notebook([
          { code: 'console.log("first ok"); console.log(Deno.env.get("HAR_SCALE"))' },
          { md: "## then it breaks" },
          { code: 'throw new RangeError("cell two is broken")' },
          { code: 'console.log("never runs")' },
        ]),
      );
      const outDir = join(tmp.path, "out");
      const r = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          join(PROJECT_ROOT, "tools", "run_notebooks.ts"),
          nbPath,
          "--out",
          outDir,
          "--scale",
          "laptop",
          "--timeout",
          "120",
          "--results",
          join(tmp.path, "results"),
        ],
        cwd: PROJECT_ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(r.stderr);
      assertEquals(r.code, 1, `expected exit 1, got ${r.code}; stderr:\n${stderr}`);
      assertMatch(stderr, /FAILED .*fails\.ipynb cell 2 \(error\): RangeError: cell two is broken/);
      const nb = JSON.parse(await Deno.readTextFile(join(outDir, "fails.ipynb"))) as {
        cells: Cell[];
      };
      const [c0, , c2, c3] = nb.cells;
      assertEquals(
        (c0.outputs ?? []).map((o) => joinText(o.text)).join(""),
        "first ok\nlaptop\n",
      );
      const err = (c2.outputs ?? []).find((o) => o.output_type === "error");
      assertEquals(err?.ename, "RangeError");
      assertEquals(err?.evalue, "cell two is broken");
      assertEquals(c3.execution_count, null);
      assertEquals(c3.outputs, []);
      // The input notebook is untouched with --out.
      const input = JSON.parse(await Deno.readTextFile(nbPath)) as { cells: Cell[] };
      assertEquals(input.cells[0].outputs, []);
    } finally {
      await tmp.cleanup();
    }
  },
});

Deno.test({
  name: "runner: a cell over --timeout stops the run as CellTimeoutError",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (!(await haveJupyter())) return;
    const tmp = await tempDir();
    try {
      const nbPath = join(tmp.path, "slow.ipynb");
      await Deno.writeTextFile(
        nbPath,
        notebook([
          { code: "await new Promise((r) => setTimeout(r, 60_000));" },
          { code: 'console.log("never runs")' },
        ]),
      );
      const r = await runNotebook(nbPath, { timeoutSec: 2, progress: false, exportFigures: false });
      assertEquals(r.ok, false);
      assertEquals(r.status, "timeout");
      assertEquals(r.failedCell, 0);
      assertEquals(r.ename, "CellTimeoutError");
      const nb = JSON.parse(await Deno.readTextFile(nbPath)) as { cells: Cell[] };
      assertEquals(nb.cells[0].outputs?.[0].ename, "CellTimeoutError");
      assertEquals(nb.cells[1].execution_count, null);
    } finally {
      await tmp.cleanup();
    }
  },
});

Deno.test("embedStaticImages: a figure output gets its exported PNG; others are left alone", async () => {
  const { embedStaticImages } = await import("../../tools/notebook_runner.ts");
  const tmp = await tempDir();
  try {
    const png = new Uint8Array([137, 80, 78, 71, 1, 2, 3]);
    await Deno.writeFile(join(tmp.path, "fig-a.png"), png);
    await Deno.writeFile(join(tmp.path, "fig-big.png"), png);
    const fig = (name: string, y: number[] = []) => ({
      output_type: "display_data",
      data: {
        "application/vnd.plotly.v1+json": { data: [{ y }] },
        "text/html": "<div>plot</div>",
        "text/plain": `<Figure ${name}: t (1 traces)>`,
      },
    });
    const big = Array.from({ length: 300 }, (_, i) => i / 7);
    const nbPath = join(tmp.path, "nb.ipynb");
    await Deno.writeTextFile(
      nbPath,
      JSON.stringify({
        cells: [{
          cell_type: "code",
          outputs: [fig("fig-a"), fig("fig-b"), fig("fig-big", big)],
        }],
      }),
    );
    assertEquals(await embedStaticImages(nbPath, tmp.path, { maxPlotlyBytes: 1000 }), 2);
    const [a, b, c] = JSON.parse(await Deno.readTextFile(nbPath)).cells[0].outputs;
    assertEquals(a.data["image/png"], btoa(String.fromCharCode(...png)));
    assertEquals(a.data["text/html"], undefined, "the HTML copy is dropped beside a PNG");
    assertEquals(
      a.data["application/vnd.plotly.v1+json"],
      { data: [{ y: [] }] },
      "small JSON kept",
    );
    assertEquals(b.data["image/png"], undefined, "no PNG exported for fig-b");
    assertEquals(b.data["text/html"], "<div>plot</div>", "outputs without a PNG are untouched");
    assertEquals(c.data["image/png"], btoa(String.fromCharCode(...png)));
    assertEquals(c.data["application/vnd.plotly.v1+json"], undefined, "large JSON dropped");
    assertStringIncludes(c.data["text/plain"], `results/${basename(tmp.path)}/fig-big.html`);
  } finally {
    await tmp.cleanup();
  }
});
