/**
 * Executes every notebook in notebooks/ (99_smoke is covered by the runner's
 * own test) at the smoke scale with the real Deno kernel, into a temporary
 * copy, and checks that every code cell ran, no cell produced an error, and
 * every figure was exported as PNG + HTML.
 *
 * Skips (with a message) when /usr/bin/python3 lacks jupyter_client.
 */
import { basename, join } from "node:path";
import { assert, assertEquals } from "@std/assert";
import { haveJupyter, tempDir } from "../_helpers.ts";
import { listNotebooks, PROJECT_ROOT, runNotebook } from "../../tools/notebook_runner.ts";

const notebooks = (await listNotebooks(join(PROJECT_ROOT, "notebooks")))
  .filter((p) => !basename(p).startsWith("99_"));

for (const nbPath of notebooks) {
  Deno.test(`notebook ${basename(nbPath)} runs end to end at smoke scale`, async () => {
    if (!(await haveJupyter())) return;
    const tmp = await tempDir();
    try {
      const out = join(tmp.path, basename(nbPath));
      const res = await runNotebook(nbPath, {
        scale: "smoke",
        out,
        resultsDir: join(tmp.path, "results"),
        progress: false,
        timeoutSec: 600,
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
        for (const o of c.outputs ?? []) assert(o.output_type !== "error", "no error outputs");
      }
      assert(res.figures.length > 0, "the notebook shows figures");
      for (const f of res.figures) {
        assert(f.png && Deno.statSync(f.png).size > 1000, `${f.name}.png exported`);
        assert(f.html && Deno.statSync(f.html).size > 100, `${f.name}.html exported`);
      }
    } finally {
      await tmp.cleanup();
    }
  });
}
