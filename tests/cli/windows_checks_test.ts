/**
 * `har windows` on bad real data: unit faults, duplicates and degenerate
 * windows fail with the file and the cause; the override flags load anyway;
 * "no windows" says why.
 */
import { assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { run } from "../../cli/windows.ts";
import { readNpy } from "../../lib/data/npy.ts";
import { readText } from "../../lib/data/text.ts";
import { ConfigError, DataFormatError } from "../../lib/errors.ts";
import { sharedData, tempDir } from "../_helpers.ts";

Deno.test("har windows: Daphnet in g, a copied run, degenerate windows and 'no windows' causes", async () => {
  const shared = sharedData("daphnet-fog");
  if (!shared) return;
  const t = await tempDir();
  try {
    const dir = join(t.path, "daphnet-fog");
    await Deno.mkdir(dir);
    const lines = (await readText(join(shared, "S01R02.txt.gz"))).split("\n").slice(0, 20000);
    const toG = lines.map((l) => {
      const f = l.trim().split(/\s+/);
      return f.length === 11
        ? [f[0], ...f.slice(1, 10).map((v) => String(Number(v) / 1000)), f[10]].join(" ")
        : l;
    });
    await Deno.writeTextFile(join(dir, "S01R02.txt"), toG.join("\n"));
    const base = ["--dataset", "daphnet", "--data-dir", t.path];
    const out = join(t.path, "out");
    const e = await assertRejects(() => run([...base, "--out", out]), DataFormatError);
    assertStringIncludes(e.message, "S01R02.txt: ankle sensor: median |a|");
    assertStringIncludes(e.message, "look like g, not mg");
    await run([...base, "--out", out, "--no-unit-check"]);
    assertEquals((await readNpy(join(out, "X.npy"))).shape.slice(1), [9, 300]);

    await Deno.writeTextFile(join(dir, "S01R02.txt"), lines.join("\n"));
    await Deno.writeTextFile(join(dir, "S02R01.txt"), lines.join("\n"));
    await assertRejects(
      () => run([...base, "--out", out]),
      DataFormatError,
      "S02R01.txt: same samples as",
    );
    await Deno.remove(join(dir, "S02R01.txt"));

    for (const flags of [["--rate", "1e-9"], ["--window", "0.00001", "--overlap", "0"]]) {
      await assertRejects(
        () => run([...base, "--out", out, ...flags]),
        ConfigError,
        "need at least 2",
      );
    }
    const n = await assertRejects(
      () => run([...base, "--out", out, "--window", "1000", "--overlap", "0"]),
      ConfigError,
    );
    assertStringIncludes(n.message, "no windows from daphnet (1 recording(s)");
    assertStringIncludes(n.message, "shorter than one 1000 s window");
    assertStringIncludes(n.message, "e.g. S01R02.txt");
  } finally {
    await t.cleanup();
  }
});
