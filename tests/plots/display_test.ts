import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { tempDir } from "../_helpers.ts";
import { ConfigError } from "../../lib/errors.ts";
import {
  clearShownFigures,
  figureName,
  FIGURES_DIR_ENV,
  FIGURES_MANIFEST,
  isJupyter,
  readRecordedFigures,
  show,
  shownFigures,
} from "../../lib/plots/display.ts";
import type { Figure } from "../../lib/plots/plotly.ts";

const fig = (title: string): Figure => ({
  data: [{ type: "bar", x: ["a", "b"], y: new Float32Array([1, 2]) }],
  layout: { title: { text: title } },
});

/** Run `fn` with console.log captured; returns the logged lines. */
async function captureLog(fn: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  try {
    await fn();
  } finally {
    console.log = orig;
  }
  return lines;
}

Deno.test("figureName sanitises, rejects empty names", () => {
  assertEquals(figureName("per-class F1 (HHAR)"), "per-class_F1__HHAR_");
  assertEquals(figureName("conf.v2"), "conf.v2");
  assertEquals(figureName("../x"), "__x"); // no path separators, no leading dots
  let err: unknown;
  try {
    figureName("  ");
  } catch (e) {
    err = e;
  }
  assert(err instanceof ConfigError);
});

Deno.test("show outside Jupyter: one stdout line, records figures by name", async () => {
  assertEquals(isJupyter(), false);
  const prev = Deno.env.get(FIGURES_DIR_ENV);
  Deno.env.delete(FIGURES_DIR_ENV);
  clearShownFigures();
  try {
    const lines = await captureLog(async () => {
      await show(fig("first"), { name: "f1 score" });
    });
    assertEquals(lines.length, 1);
    assertStringIncludes(lines[0], "f1_score");
    assertStringIncludes(lines[0], "saveFigure");
    await captureLog(() => show(fig("anon")));
    assertEquals(shownFigures().map((f) => f.name), ["f1_score", "figure-2"]);
    // Typed arrays become plain arrays in the record.
    assertEquals(shownFigures()[0].figure.data[0].y, [1, 2]);
    await assertRejects(
      () => show({ data: "x" } as unknown as Figure),
      ConfigError,
      "Plotly figure",
    );
  } finally {
    clearShownFigures();
    if (prev !== undefined) Deno.env.set(FIGURES_DIR_ENV, prev);
  }
});

Deno.test("show records into $HAR_FIGURES_DIR; readRecordedFigures keeps the last per name", async () => {
  const tmp = await tempDir();
  const prev = Deno.env.get(FIGURES_DIR_ENV);
  Deno.env.set(FIGURES_DIR_ENV, join(tmp.path, "figs"));
  clearShownFigures();
  try {
    await captureLog(async () => {
      await show(fig("one"), { name: "a" });
      await show(fig("two"), { name: "b" });
      await show(fig("one again"), { name: "a" });
    });
    const manifest = await Deno.readTextFile(join(tmp.path, "figs", FIGURES_MANIFEST));
    assertEquals(manifest.trim().split("\n").length, 3);
    const rec = await readRecordedFigures(join(tmp.path, "figs"));
    assertEquals(rec.map((f) => f.name), ["a", "b"]);
    assertEquals(rec[0].figure.layout.title?.text, "one again");
    assertEquals(await readRecordedFigures(join(tmp.path, "nothing")), []);
    await Deno.writeTextFile(join(tmp.path, "figs", FIGURES_MANIFEST), "{oops\n", { append: true });
    await assertRejects(
      () => readRecordedFigures(join(tmp.path, "figs")),
      ConfigError,
      "line 4: not JSON",
    );
  } finally {
    clearShownFigures();
    if (prev === undefined) Deno.env.delete(FIGURES_DIR_ENV);
    else Deno.env.set(FIGURES_DIR_ENV, prev);
    await tmp.cleanup();
  }
});
