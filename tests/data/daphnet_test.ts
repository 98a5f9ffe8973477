import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { join } from "node:path";
import { DataFormatError } from "../../lib/errors.ts";
import { readDaphnet, selectPlacement } from "../../lib/data/daphnet.ts";
import { sharedData, tempDir } from "../_helpers.ts";

Deno.test("readDaphnet: real run, 9 axes in g, labels", async () => {
  const dir = sharedData("daphnet-fog");
  if (!dir) return;
  const rec = await readDaphnet(join(dir, "S01R02.txt.gz"));
  assertEquals(rec.axes.length, 9);
  assertEquals(rec.axes[0].length, 52095);
  assertEquals(rec.subject, "S01");
  assertEquals(rec.meta!.run, 2);
  // first row: 15 40 29 -960 0 0 0 0 0 0 0
  assertAlmostEquals(rec.axes[0][0], 0.040, 1e-6);
  assertAlmostEquals(rec.axes[2][0], -0.960, 1e-6);
  assertEquals(rec.labels![0], -1); // label 0 = outside the experiment → unlabelled
  const l = rec.labels!;
  assert(l.includes(0) && l.includes(1), "has no_freeze and freeze");
  assertEquals(rec.labelNames, ["no_freeze", "freeze"]);
  assertAlmostEquals(rec.meta!.measuredRateHz as number, 64, 1);
  const ankle = selectPlacement(rec, "ankle");
  assertEquals(ankle.axisNames, ["x", "y", "z"]);
  assertEquals(ankle.placement, "ankle");
  assertEquals(ankle.axes[2], rec.axes[2]);
  assertEquals(selectPlacement(rec, "trunk").axes[0], rec.axes[6]);
  assertThrows(
    () => selectPlacement(rec, "wrist"),
    DataFormatError,
    'no axes for placement "wrist"',
  );
});

Deno.test("readDaphnet: wrong field count, bad label, wrong rate claim", async () => {
  const t = await tempDir();
  try {
    const f = join(t.path, "S09R01.txt");
    const row = (i: number, lab = 1) => `${Math.round(i * 15.625)} 1 2 3 4 5 6 7 8 9 ${lab}`;
    const rows = Array.from({ length: 100 }, (_, i) => row(i));
    await Deno.writeTextFile(f, [...rows, "1600 1 2 3"].join("\n"));
    await assertRejects(
      () => readDaphnet(f),
      DataFormatError,
      "S09R01.txt line 101: 4 fields, expected 11",
    );
    await Deno.writeTextFile(f, [...rows, row(100, 7)].join("\n"));
    await assertRejects(() => readDaphnet(f), DataFormatError, "label: 7 is not 0, 1 or 2");
    await Deno.writeTextFile(f, rows.join("\n"));
    assertAlmostEquals((await readDaphnet(f)).axes[8][0], 0.009, 1e-7);
    await assertRejects(
      () => readDaphnet(f, { rateHz: 32 }),
      DataFormatError,
      "claimed rate 32 Hz",
    );
  } finally {
    await t.cleanup();
  }
});
