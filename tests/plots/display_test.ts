import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { evalWithEnv, tempDir } from "../_helpers.ts";
import { ConfigError } from "../../lib/errors.ts";
import {
  clearShownFigures,
  figureBundle,
  figureName,
  FIGURES_DIR_ENV,
  FIGURES_MANIFEST,
  isJupyter,
  readRecordedFigures,
  show,
  shownFigures,
} from "../../lib/plots/display.ts";
import { type Figure, TITLE_FONT_SIZE, titleWidthPx } from "../../lib/plots/plotly.ts";

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
  // whether $HAR_FIGURES_DIR is set does not change what is printed or kept in memory
  assertEquals(isJupyter(), false);
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
  }
});

Deno.test("show records into $HAR_FIGURES_DIR; readRecordedFigures keeps the last per name", async () => {
  const tmp = await tempDir();
  // $HAR_FIGURES_DIR is set in a child process: test modules share this
  // process's environment, and another module's show() could record meanwhile
  const mod = new URL("../../lib/plots/display.ts", import.meta.url).href;
  const code = `const { show } = await import(${JSON.stringify(mod)});
    const fig = (text) => ({ data: [{ type: "bar", x: ["a"], y: [1] }], layout: { title: { text } } });
    await show(fig("one"), { name: "a" });
    await show(fig("two"), { name: "b" });
    await show(fig("one again"), { name: "a" });`;
  try {
    await evalWithEnv(code, { [FIGURES_DIR_ENV]: join(tmp.path, "figs") });
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
    await tmp.cleanup();
  }
});

Deno.test("figureBundle: the displayed Plotly JSON and HTML wrap a title wider than the figure", () => {
  const long =
    "Random forest, leave one subject out: confusion (row-normalised), pooled over every test subject";
  const f: Figure = {
    data: [{ type: "bar", x: ["a", "b"], y: new Float32Array([1, 2]) }],
    layout: { width: 320, title: { text: long } },
  };
  // the width the title needs, measured independently of the wrapping code
  assert(titleWidthPx(long) > 2 * 320, "the test title is over twice as wide as its figure");
  const b = figureBundle(f, "confusion");
  const shown = b["application/vnd.plotly.v1+json"];
  const text = String(shown.layout.title?.text);
  const lines = text.split("<br>");
  assert(lines.length >= 3, `wrapped into lines: ${text}`);
  assertEquals(lines.join(" "), long, "same words, only line breaks added");
  for (const l of lines) assert(titleWidthPx(l) <= 320, `line fits: ${l}`);
  assert(
    (shown.layout.margin?.t ?? 0) > lines.length * TITLE_FONT_SIZE,
    "top margin grown to hold every title line",
  );
  const htmlFig = JSON.parse(/var fig = (.*);\n/.exec(b["text/html"])![1]) as Figure;
  assertEquals(htmlFig.layout.title?.text, text, "the HTML fallback shows the same wrapped title");
  assertEquals(b["text/plain"], `<Figure confusion: ${long} (1 traces)>`);
  assertEquals(f.layout.title?.text, long, "the input figure is not modified");
  // typed arrays become plain arrays (JSON-safe output)
  assertEquals(shown.data[0].y, [1, 2]);
  // a title that fits is shown as it is, margins untouched
  const short = figureBundle(fig("Short"), "s")["application/vnd.plotly.v1+json"];
  assertEquals(short.layout.title?.text, "Short");
  assertEquals(short.layout.margin, undefined);
});
