import { assert, assertAlmostEquals, assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import { DataFormatError } from "../../lib/errors.ts";
import { MOBIFALL_CODES, readMobiFall, readMobiFallFile } from "../../lib/data/mobifall.ts";
import { STANDARD_GRAVITY } from "../../lib/data/wisdm.ts";
import { sharedData, tempDir } from "../_helpers.ts";

Deno.test("readMobiFallFile: real fall trial", async () => {
  const dir = sharedData("mobifall-v2");
  if (!dir) return;
  const rec = await readMobiFallFile(join(dir, "sub2", "FALLS", "FKL", "FKL_acc_2_3.txt.gz"));
  // 800 lines: 15 header lines, the @DATA line (16), then 784 rows
  assertEquals(rec.axes[0].length, 800 - 16);
  assertAlmostEquals(rec.axes[1][0], 9.873688 / STANDARD_GRAVITY, 1e-6);
  assertEquals(rec.timestampsMs![1], (374439636000 - 374239226000) / 1e6);
  assertEquals(rec.subject, "sub2");
  assertEquals(rec.labelNames![rec.labels![0]], "FKL");
  assertEquals(rec.meta!.fall, true);
  assertEquals(rec.meta!.trial, 3);
  assert(rec.rateHz > 80 && rec.rateHz < 110, `median rate ${rec.rateHz}`);
});

Deno.test("readMobiFall: whole folder, ADL and falls", async () => {
  const dir = sharedData("mobifall-v2");
  if (!dir) return;
  const recs = await readMobiFall(dir);
  assertEquals(new Set(recs.map((r) => r.subject)).size, 24);
  const codes = new Set(recs.map((r) => r.labelNames![r.labels![0]]));
  assertEquals([...codes].sort(), [...MOBIFALL_CODES].sort());
  assert(recs.some((r) => r.meta!.fall === false) && recs.some((r) => r.meta!.fall === true));
  for (const r of recs) {
    assertEquals(r.timestampsMs!.length, r.axes[0].length);
    assert(r.rateHz > 50 && r.rateHz < 250, `${r.source}: ${r.rateHz}`);
  }
});

Deno.test("readMobiFallFile: missing @DATA and bad rows", async () => {
  const t = await tempDir();
  try {
    const f = join(t.path, "WAL_acc_1_1.txt");
    await Deno.writeTextFile(f, "#header\n1, 2, 3, 4\n");
    await assertRejects(() => readMobiFallFile(f), DataFormatError, "no @DATA");
    await Deno.writeTextFile(f, "#h\n@DATA\n1000000, 1, 2, 3\n2000000, 1, 2\n");
    await assertRejects(() => readMobiFallFile(f), DataFormatError, "line 4: 3 fields, expected 4");
    await Deno.writeTextFile(f, "#h\n@DATA\n1000000, 1, 2, 3\n2000000, 1, zz, 3\n");
    await assertRejects(
      () => readMobiFallFile(f),
      DataFormatError,
      'line 4: y: non-numeric value "zz"',
    );
  } finally {
    await t.cleanup();
  }
});
