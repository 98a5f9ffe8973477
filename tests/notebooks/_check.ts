/** Shared checks of an executed notebook (every code cell ran, no errors, figures exported). */
import { basename } from "node:path";
import { assert, assertEquals } from "@std/assert";
import { runNotebook, type RunNotebookOptions } from "../../tools/notebook_runner.ts";

/** Run `nbPath` at the smoke scale into `out` and check the executed copy. */
export async function runAndCheckNotebook(
  nbPath: string,
  out: string,
  resultsDir: string,
  options: RunNotebookOptions = {},
): Promise<void> {
  const res = await runNotebook(nbPath, {
    scale: "smoke",
    out,
    resultsDir,
    progress: false,
    timeoutSec: 600,
    ...options,
  });
  assert(
    res.ok,
    `${basename(nbPath)}: ${res.status} at cell ${res.failedCell}: ${res.ename}: ${res.evalue}`,
  );
  const nb = JSON.parse(await Deno.readTextFile(out));
  const code = nb.cells.filter((c: { cell_type: string }) => c.cell_type === "code");
  assertEquals(code.length, res.cells);
  for (const c of code) {
    assert(typeof c.execution_count === "number", "every code cell executed");
    for (const o of c.outputs ?? []) {
      assert(o.output_type !== "error", "no error outputs");
      if (o.data?.["application/vnd.plotly.v1+json"]) {
        assert(o.data["image/png"], "every figure output carries a static PNG (GitHub, offline)");
      }
    }
  }
  assert(res.figures.length > 0, "the notebook shows figures");
  for (const f of res.figures) {
    assert(f.png && Deno.statSync(f.png).size > 1000, `${f.name}.png exported`);
    assert(f.html && Deno.statSync(f.html).size > 100, `${f.name}.html exported`);
  }
}
