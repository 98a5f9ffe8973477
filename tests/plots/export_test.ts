import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { tempDir } from "../_helpers.ts";
import {
  chromiumPath,
  ChromiumUnavailableError,
  defaultPlotlyDir,
  exportFigures,
  plotlyJsPath,
  saveFigure,
} from "../../lib/plots/export.ts";
import { figurePage, PLOTLY_VERSION } from "../../lib/plots/html.ts";
import { plotConfusion, plotXY } from "../../lib/plots/figures.ts";

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Uint8Array): [number, number] {
  assertEquals(Array.from(png.slice(0, 8)), [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const v = new DataView(png.buffer, png.byteOffset);
  return [v.getUint32(16), v.getUint32(20)];
}

Deno.test("plotly.min.js: the pinned npm copy is found", async () => {
  const p = plotlyJsPath();
  const head = (await Deno.readTextFile(p)).slice(0, 200);
  assertStringIncludes(head, `plotly.js v${PLOTLY_VERSION}`);
});

Deno.test("figurePage escapes script-breaking text and loads plotly by the given URL", () => {
  const html = figurePage(
    { data: [{ type: "bar", y: [1], name: "</script><b>x" }], layout: { title: { text: "a<b" } } },
    { plotlySrc: "../plotly.min.js" },
  );
  assertStringIncludes(html, `<script src="../plotly.min.js"></script>`);
  assertStringIncludes(html, "<title>a&lt;b</title>");
  assertEquals(html.includes("</script><b>"), false);
  assertStringIncludes(html, "\\u003c/script\\u003e");
});

Deno.test("saveFigure html: one shared plotly.min.js at the results root, relative URL", async () => {
  const tmp = await tempDir();
  try {
    const results = join(tmp.path, "results");
    assertEquals(defaultPlotlyDir(join(results, "exp", "sub", "f.html")), results);
    assertEquals(defaultPlotlyDir(join(tmp.path, "other", "f.html")), join(tmp.path, "other"));
    const fig = plotXY({ y: [1, 2, 3] }, { title: "t" });
    const a = await saveFigure(fig, join(results, "exp", "a"), { formats: ["html"] });
    assertEquals(a, { html: join(results, "exp", "a.html") });
    const b = await saveFigure(fig, join(results, "exp", "deep", "b"), { formats: ["html"] });
    const js = join(results, "plotly.min.js");
    const st = await Deno.stat(js);
    assertEquals(st.size, (await Deno.stat(plotlyJsPath())).size);
    assertStringIncludes(await Deno.readTextFile(a.html!), `src="../plotly.min.js"`);
    assertStringIncludes(await Deno.readTextFile(b.html!), `src="../../plotly.min.js"`);
    // Only one copy of plotly.js in the tree.
    const copies: string[] = [];
    const walk = async (d: string) => {
      for await (const e of Deno.readDir(d)) {
        if (e.isDirectory) await walk(join(d, e.name));
        else if (e.name.endsWith(".js")) copies.push(e.name);
      }
    };
    await walk(results);
    assertEquals(copies, ["plotly.min.js"]);
  } finally {
    await tmp.cleanup();
  }
});

Deno.test({
  name: "exportFigures: PNGs at layout size from one headless Chromium",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    try {
      Deno.statSync(chromiumPath());
    } catch {
      console.warn(`SKIP: no Chromium at ${chromiumPath()}`);
      return;
    }
    const tmp = await tempDir();
    try {
      const line = plotXY({ y: [1, 3, 2] }, { title: "line", width: 640, height: 360 });
      const cm = plotConfusion([[5, 1], [2, 7]], ["walk", "sit"], { width: 500, height: 420 });
      const out = await exportFigures([
        { fig: line, basePath: join(tmp.path, "results", "nb", "line") },
        { fig: cm, basePath: join(tmp.path, "results", "nb", "cm") },
      ]);
      assertEquals(out.map((o) => [!!o.html, !!o.png]), [[true, true], [true, true]]);
      const p1 = await Deno.readFile(out[0].png!);
      const p2 = await Deno.readFile(out[1].png!);
      assertEquals(pngSize(p1), [640, 360]);
      assertEquals(pngSize(p2), [500, 420]);
      assert(p1.length > 3000 && p2.length > 3000, "PNGs look blank");
      assertNotEquals(p1, p2);
      const hi = await saveFigure(line, join(tmp.path, "hi"), { formats: ["png"], scale: 2 });
      assertEquals(pngSize(await Deno.readFile(hi.png!)), [1280, 720]);
    } finally {
      await tmp.cleanup();
    }
  },
});

Deno.test("PNG export without Chromium: clear error naming the executable", async () => {
  const err = await assertRejects(
    () =>
      saveFigure(plotXY({ y: [1] }), "/tmp/never", {
        formats: ["png"],
        executablePath: "/nope/chromium",
      }),
    ChromiumUnavailableError,
    "/nope/chromium: not found",
  );
  assertStringIncludes(err.message, "HAR_CHROMIUM");
});
