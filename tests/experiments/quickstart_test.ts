import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { sharedData, tempDir } from "../_helpers.ts";
import {
  ADL5_SAMPLE,
  quickstartData,
  runQuickstart,
  SAMPLE_DATA_DIR,
  wisdmWatchSubjects,
  writeQuickstart,
} from "../../lib/experiments/quickstart.ts";
import { SYNTHETIC_CLASSES } from "../../lib/data/synthetic.ts";
import { BENCHMARKS, benchmarkWindows } from "../../lib/data/benchmarks.ts";
import { PROJECT_ROOT } from "../../lib/data/paths.ts";
import { DatasetUnavailableError } from "../../lib/errors.ts";

const SAMPLE = join(SAMPLE_DATA_DIR, "hmp-adl-sample");
const COMMITTED = join(PROJECT_ROOT, "results", "quickstart");

Deno.test("quickstart on synthetic data (requested) is clearly labelled and learns it", async () => {
  const tmp = await tempDir();
  try {
    const data = await quickstartData({ scale: "smoke", synthetic: true });
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

Deno.test("quickstart without WISDM runs on the shipped ADL sample: adl5's 635 windows, RF ≈ published 0.764", async () => {
  const tmp = await tempDir();
  try {
    // a data folder without WISDM (as a fresh clone's datasets/): the sample, not synthetic
    const data = await quickstartData({ dataDir: tmp.path });
    assertEquals(data.source, "hmp-adl-sample");
    assertStringIncludes(data.note, "real data");
    assertStringIncludes(data.fallback ?? "", tmp.path, "says WISDM was looked for and where");
    assert(!data.note.includes(PROJECT_ROOT), "no machine-specific path in what is written");
    const w = data.windows;
    assertEquals(w.n, 635);
    assertEquals(new Set(w.subject).size, 7);
    assertEquals(w.classes, [...BENCHMARKS.adl5.classes]);
    assertEquals([w.channels, w.length, w.rateHz], [3, 300, 30]);
    assertEquals(data.example.rateHz, 32);
    assertEquals(data.example.labelNames, ["walk"]);
    const run = await runQuickstart(data, {}); // laptop scale: the command's 300 trees
    assertEquals(run.result.spec.protocol, "loso");
    assertEquals(run.result.folds.length, 7);
    assertEquals(run.result.summary.published, 0.764);
    const f1 = run.result.summary.f1MacroSubjectMean;
    assert(Math.abs(f1 - 0.764) <= 0.05, `RF F1 ${f1.toFixed(3)} not within 0.05 of 0.764`);
    // every window tested once (LOSO)
    assertEquals(run.confusion.flat().reduce((a, b) => a + b, 0), 635);
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("quickstart source choice: --sample forces the sample, a missing named source is an error", async () => {
  const tmp = await tempDir();
  try {
    const forced = await quickstartData({ scale: "smoke", source: "hmp-adl-sample" });
    assertEquals(forced.source, "hmp-adl-sample");
    assertEquals(forced.fallback, undefined);
    await assertRejects(
      () => quickstartData({ scale: "smoke", source: "wisdm-watch", dataDir: tmp.path }),
      DatasetUnavailableError,
      "wisdm-watch",
    );
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("the shipped sample holds exactly adl5's trial files: checksums, and windows equal to the full dataset's", async () => {
  // every file listed in SHA256SUMS, matching; nothing unlisted
  const listed = new Map<string, string>();
  for (const line of (await Deno.readTextFile(join(SAMPLE, "SHA256SUMS"))).trim().split("\n")) {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    assert(m, `bad SHA256SUMS line: ${line}`);
    listed.set(m[2], m[1]);
  }
  const found: string[] = [];
  const walk = async (d: string, rel: string) => {
    for await (const e of Deno.readDir(d)) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(join(d, e.name), r);
      else if (r !== "SHA256SUMS") found.push(r);
    }
  };
  await walk(SAMPLE, "");
  assertEquals(found.sort(), [...listed.keys()].sort(), "files on disk = files in SHA256SUMS");
  for (const f of found) {
    const h = await crypto.subtle.digest("SHA-256", await Deno.readFile(join(SAMPLE, f)));
    const hex = Array.from(new Uint8Array(h), (v) => v.toString(16).padStart(2, "0")).join("");
    assertEquals(hex, listed.get(f), `sha256 of ${f}`);
  }
  assertEquals(found.filter((f) => f.endsWith(".txt.gz")).length, 429);
  const size = (await Promise.all(found.map((f) => Deno.stat(join(SAMPLE, f)))))
    .reduce((a, s) => a + s.size, 0);
  assert(size < 5e6, `sample is ${size} bytes (target < 5 MB)`);

  // and windowed it is adl5 on the full dataset, window for window
  const full = sharedData("hmp-adl") ? sharedData()! : null;
  if (!full) {
    console.warn("SKIP: full HMP ADL comparison (set HAR_DATA_DIR)");
    return;
  }
  const a = await benchmarkWindows(ADL5_SAMPLE, { dataDir: SAMPLE_DATA_DIR });
  const b = await benchmarkWindows("adl5", { dataDir: full });
  assertEquals(a.n, b.n);
  assertEquals(Array.from(a.y), Array.from(b.y));
  assertEquals(a.subject, b.subject);
  assertEquals(a.source!.map((s) => s.replace(/\.gz$/, "")), b.source);
  assertEquals(a.x, b.x);
});

Deno.test("quickstart outputs are reproducible: two runs give byte-identical files", async () => {
  const tmp = await tempDir();
  try {
    const dirs = [join(tmp.path, "a"), join(tmp.path, "b")];
    for (const d of dirs) {
      const data = await quickstartData({ scale: "smoke", source: "hmp-adl-sample" });
      await writeQuickstart(await runQuickstart(data, { scale: "smoke" }), d);
    }
    const names = [...Deno.readDirSync(dirs[0])].map((e) => e.name).sort();
    assertEquals(names, [...Deno.readDirSync(dirs[1])].map((e) => e.name).sort());
    for (const n of ["summary.md", "summary.csv", "result.json", "confusion.html"]) {
      assert(names.includes(n), n);
    }
    for (const n of names) {
      assertEquals(
        await Deno.readFile(join(dirs[0], n)),
        await Deno.readFile(join(dirs[1], n)),
        `${n} differs between two runs`,
      );
    }
    const rec = JSON.parse(await Deno.readTextFile(join(dirs[0], "result.json")));
    for (const k of ["createdAt", "durationsSec", "pooled"]) assert(!(k in rec), k);
    assert(!("trainSec" in rec.folds[0]));
  } finally {
    await tmp.cleanup();
  }
});

async function git(args: string[]): Promise<{ code: number; out: string } | null> {
  try {
    const r = await new Deno.Command("git", {
      args,
      cwd: PROJECT_ROOT,
      stdout: "piped",
      stderr: "null",
    })
      .output();
    return { code: r.code, out: new TextDecoder().decode(r.stdout) };
  } catch {
    return null; // no git
  }
}

Deno.test("the main job on a fresh clone writes to a git-ignored folder, and the committed results are what it produces", async () => {
  // the default output folder is ignored; the sample is not
  const inRepo = await git(["rev-parse", "--is-inside-work-tree"]);
  if (inRepo?.code === 0) {
    assertEquals((await git(["check-ignore", "-q", "out/quickstart/summary.md"]))!.code, 0);
    const walk = [...Deno.readDirSync(join(SAMPLE, "Walk"))][0].name;
    assertEquals(
      (await git(["check-ignore", "-q", `datasets/hmp-adl-sample/Walk/${walk}`]))!.code,
      1,
      "the shipped sample must not be git-ignored",
    );
  } else console.warn("SKIP: git checks (not a git work tree)");

  // the command as a fresh clone runs it: no HAR_DATA_DIR
  const tmp = await tempDir();
  try {
    const env = { ...Deno.env.toObject() };
    delete env.HAR_DATA_DIR;
    const out = join(tmp.path, "q");
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "tools/quickstart.ts", "--out", out],
      cwd: PROJECT_ROOT,
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(r.stdout);
    assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
    assertStringIncludes(stdout, "windows: 635 (5 classes, 7 subjects");
    assert(!stdout.includes("no WISDM"), "a fresh clone's default needs no explanation");
    for (const n of ["summary.md", "summary.csv", "result.json"]) {
      assertEquals(
        await Deno.readTextFile(join(out, n)),
        await Deno.readTextFile(join(COMMITTED, n)),
        `results/quickstart/${n} is not what \`deno task quickstart\` writes: regenerate it with ` +
          "`deno task quickstart --sample --out results/quickstart`",
      );
    }
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
