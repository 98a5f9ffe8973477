import { assert, assertAlmostEquals, assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import { DataFormatError } from "../../lib/errors.ts";
import { parseDateTimeMs, readHarthCsv } from "../../lib/data/harth.ts";
import { selectPlacement } from "../../lib/data/daphnet.ts";
import { tempDir } from "../_helpers.ts";

const HEADER = "timestamp,back_x,back_y,back_z,thigh_x,thigh_y,thigh_z,label";
function rows(n: number, index = false, rateHz = 50): string[] {
  const codes = [1, 6, 7, 13, 140];
  return Array.from({ length: n }, (_, i) => {
    const ms = Date.UTC(2019, 0, 12, 10, 0, 0) + Math.round(i * 1000 / rateHz);
    const ts = new Date(ms).toISOString().replace("T", " ").replace("Z", "");
    const vals = [-0.9 + i * 1e-3, 0.1, 0.2, -1.0, 0.05, -0.02].map((v) => v.toFixed(6));
    return `${index ? `${i},` : ""}${ts},${vals.join(",")},${codes[Math.floor(i / 20) % 5]}`;
  });
}

Deno.test("parseDateTimeMs", () => {
  assertEquals(parseDateTimeMs("2019-01-12 00:00:00.020"), Date.UTC(2019, 0, 12) + 20);
  assertEquals(parseDateTimeMs("2019-01-12T00:00:01"), Date.UTC(2019, 0, 12, 0, 0, 1));
  assertEquals(parseDateTimeMs("2019-01-12 00:00:00.123456"), Date.UTC(2019, 0, 12) + 123.456);
  assert(Number.isNaN(parseDateTimeMs("12/01/2019")));
});

Deno.test("readHarthCsv: fixture with and without index column", async () => {
  const t = await tempDir();
  try {
    const a = join(t.path, "S006.csv");
    await Deno.writeTextFile(a, [HEADER, ...rows(200)].join("\n") + "\n");
    const b = join(t.path, "S007.csv");
    await Deno.writeTextFile(b, ["," + HEADER, ...rows(200, true)].join("\r\n") + "\r\n");
    for (const f of [a, b]) {
      const rec = await readHarthCsv(f);
      assertEquals(rec.axes.length, 6);
      assertEquals(rec.axes[0].length, 200);
      assertAlmostEquals(rec.axes[0][3], -0.897, 1e-6);
      assertAlmostEquals(rec.axes[5][0], -0.02, 1e-6);
      assertEquals(rec.labelNames![rec.labels![0]], "walking");
      assertEquals(rec.labelNames![rec.labels![20]], "standing");
      assertEquals(rec.labelNames![rec.labels![60]], "cycling_sit");
      assertEquals(rec.labelNames![rec.labels![80]], "cycling_stand_inactive");
      assertEquals(rec.timestampsMs![1], 20);
      assertEquals(rec.startMs, Date.UTC(2019, 0, 12, 10));
      assertEquals(rec.rateHz, 50);
      assertEquals(selectPlacement(rec, "thigh").axes[0], rec.axes[3]);
    }
    assertEquals((await readHarthCsv(b)).subject, "S007");
    assertEquals((await readHarthCsv(b)).meta!.indexColumn, true);
  } finally {
    await t.cleanup();
  }
});

Deno.test("readHarthCsv: missing column, non-numeric value, unknown label, wrong rate", async () => {
  const t = await tempDir();
  try {
    const f = join(t.path, "S010.csv");
    await Deno.writeTextFile(f, [HEADER.replace(",thigh_z", ""), "x"].join("\n"));
    await assertRejects(
      () => readHarthCsv(f),
      DataFormatError,
      'S010.csv: missing column "thigh_z"',
    );
    const r = rows(50);
    r[5] = r[5].replace(/,0\.100000,/, ",abc,");
    await Deno.writeTextFile(f, [HEADER, ...r].join("\n"));
    await assertRejects(
      () => readHarthCsv(f),
      DataFormatError,
      'S010.csv line 7: back_y: non-numeric value "abc"',
    );
    const u = rows(50);
    u[2] = u[2].replace(/,1$/, ",99");
    await Deno.writeTextFile(f, [HEADER, ...u].join("\n"));
    await assertRejects(
      () => readHarthCsv(f),
      DataFormatError,
      "line 4: label: unknown activity code 99",
    );
    await Deno.writeTextFile(f, [HEADER, ...rows(50)].join("\n"));
    await assertRejects(
      () => readHarthCsv(f, { rateHz: 100 }),
      DataFormatError,
      "S010.csv: claimed rate 100 Hz but timestamps give 50.00 Hz",
    );
    const nan = rows(50);
    nan[1] = nan[1].replace(/,0\.200000,/, ",NaN,");
    await Deno.writeTextFile(f, [HEADER, ...nan].join("\n"));
    const rec = await readHarthCsv(f);
    assert(Number.isNaN(rec.axes[2][1]));
    assertEquals(rec.meta!.nanSamples, 1);
  } finally {
    await t.cleanup();
  }
});
