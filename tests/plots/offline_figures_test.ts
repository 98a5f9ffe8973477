// Committed figures open anywhere: every results/**/*.html loads a plotly.min.js that exists
// relative to it (shipped, not git-ignored) with the pinned CDN copy as fallback; titles fit.
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { figurePage, figureSnippet, PLOTLY_CDN } from "../../lib/plots/html.ts";
import { plotConfusion } from "../../lib/plots/figures.ts";
import { fitTitle, titleWidthPx } from "../../lib/plots/plotly.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const RESULTS = join(ROOT, "results");

async function htmlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...await htmlFiles(p));
    else if (e.name.endsWith(".html")) out.push(p);
  }
  return out.sort();
}

function exists(p: string): boolean {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}

Deno.test("results/**/*.html: a local plotly.min.js that exists, and the CDN fallback", async () => {
  const files = await htmlFiles(RESULTS);
  assert(files.length > 0, "no HTML figures under results/");
  const bad: string[] = [];
  for (const f of files) {
    const html = await Deno.readTextFile(f);
    const src = html.match(/<script src="([^"]*plotly[^"]*\.js)"><\/script>/)?.[1];
    const rel = relative(ROOT, f);
    if (!src || /^https?:/.test(src)) bad.push(`${rel}: no local plotly script (${src})`);
    else if (!exists(resolve(dirname(f), src))) bad.push(`${rel}: ${src} does not exist`);
    if (!html.includes(`window.Plotly || document.write('<script src="${PLOTLY_CDN}"`)) {
      bad.push(`${rel}: no CDN fallback`);
    }
  }
  assertEquals(bad, []);
});

Deno.test("results/plotly.min.js is shipped: present and not git-ignored", async () => {
  assert(exists(join(RESULTS, "plotly.min.js")), "results/plotly.min.js missing");
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("git", {
      args: ["check-ignore", "-q", "results/plotly.min.js"],
      cwd: ROOT,
      stdout: "null",
      stderr: "null",
    }).output();
  } catch {
    return; // no git: nothing to check
  }
  // exit 0 = ignored (would be missing from a fresh clone), 1 = not ignored, 128 = not a repo
  assert(out.code !== 0, "results/plotly.min.js is git-ignored: committed figures would be blank");
});

Deno.test("figurePage and figureSnippet always carry the CDN fallback", () => {
  const fig = plotConfusion([[1, 0], [0, 1]], ["a", "b"]);
  const page = figurePage(fig, { plotlySrc: "../plotly.min.js" });
  assertStringIncludes(page, '<script src="../plotly.min.js"></script>');
  assertStringIncludes(page, `document.write('<script src="${PLOTLY_CDN}"`);
  assertStringIncludes(figureSnippet(fig), PLOTLY_CDN);
});

const LONG = "Random forest, leave-one-subject-out: confusion (row-normalised) (SYNTHETIC data)";

Deno.test("plotConfusion: the figure is wide enough for its title (few classes, long title)", () => {
  for (const k of [2, 5, 18]) {
    const classes = Array.from({ length: k }, (_, i) => `class${i}`);
    const cm = classes.map((_, i) => classes.map((_, j) => (i === j ? 5 : 1)));
    const fig = plotConfusion(cm, classes, { normalize: true, title: LONG });
    assert(
      titleWidthPx(LONG) <= fig.layout.width!,
      `${k} classes: title ≈ ${titleWidthPx(LONG)} px > width ${fig.layout.width}`,
    );
  }
});

Deno.test("fitTitle: wraps a title wider than its figure and makes room at the top", () => {
  const fig = { data: [], layout: { width: 420, title: { text: LONG } } };
  const fit = fitTitle(fig);
  const lines = fit.layout.title!.text.split("<br>");
  assert(lines.length >= 2, fit.layout.title!.text);
  assertEquals(lines.join(" "), LONG, "no word lost");
  for (const l of lines) assert(titleWidthPx(l) <= 420, `line "${l}" wider than 420 px`);
  assert(fit.layout.margin!.t! >= lines.length * 17, "top margin holds the lines");
  assertEquals(fig.layout.title.text, LONG, "input not modified");
  const short = { data: [], layout: { width: 800, title: { text: "Confusion matrix" } } };
  assertEquals(fitTitle(short), short, "a title that fits is unchanged");
  // the page and the PNG exporter render the fitted title
  assertStringIncludes(figurePage(fig, { plotlySrc: "p.js" }), lines[0]);
});

Deno.test("titleWidthPx: grows with the text, counts the widest <br> line, ignores tags", () => {
  assert(titleWidthPx("Confusion matrix (row-normalised)") > titleWidthPx("Confusion matrix"));
  assertEquals(titleWidthPx("<b>abc</b>"), titleWidthPx("abc"));
  assertEquals(titleWidthPx("abc<br>abcdef"), titleWidthPx("abcdef"));
});
