import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { tempDir } from "../_helpers.ts";
import {
  quickstartData,
  runQuickstart,
  wisdmWatchSubjects,
  writeQuickstart,
} from "../../lib/experiments/quickstart.ts";
import { SYNTHETIC_CLASSES } from "../../lib/data/synthetic.ts";

Deno.test("quickstart falls back to clearly labelled synthetic data and learns it", async () => {
  const tmp = await tempDir();
  try {
    // an empty data folder: no WISDM files
    const data = await quickstartData({ scale: "smoke", dataDir: tmp.path });
    assertEquals(data.source, "synthetic");
    assertStringIncludes(data.note, "SYNTHETIC");
    assertEquals(data.windows.classes, SYNTHETIC_CLASSES);
    const run = await runQuickstart(data, { scale: "smoke" });
    assertEquals(run.result.summary.published, null);
    assert(run.result.summary.f1MacroSubjectMean > 0.9, "synthetic activities are separable");
    assertEquals(run.confusion.length, SYNTHETIC_CLASSES.length);
    const total = run.confusion.flat().reduce((a, b) => a + b, 0);
    assertEquals(total, data.windows.n, "every window is tested once (k-fold)");
    assertEquals(run.table.numRows(), 1);
    const paths = await writeQuickstart(run, join(tmp.path, "out"));
    for (const p of paths) assert(Deno.statSync(p).size > 0, p);
    assertStringIncludes(await Deno.readTextFile(join(tmp.path, "out", "summary.md")), "SYNTHETIC");
    assert(paths.some((p) => p.endsWith("confusion.html")));
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("quickstart uses WISDM watch when present", async () => {
  const subjects = await wisdmWatchSubjects();
  if (subjects.length === 0) {
    console.warn("SKIP: no WISDM watch files (set HAR_DATA_DIR)");
    return;
  }
  const data = await quickstartData({ scale: "smoke" });
  assertEquals(data.source, "wisdm-watch");
  assertEquals(new Set(data.windows.subject).size, 8);
  assertEquals(data.windows.classes.length, 18);
  assertEquals(data.windows.length, 300);
  assertEquals(data.example.rateHz, 20);
});
