import { assert, assertAlmostEquals, assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import { DataFormatError } from "../../lib/errors.ts";
import { HMP_ACTIVITIES, readHmpAdl, readHmpFile } from "../../lib/data/hmp.ts";
import { sharedData, tempDir } from "../_helpers.ts";

Deno.test("readHmpFile: real trial, codes → g, name parsing", async () => {
  const dir = sharedData("hmp-adl");
  if (!dir) return;
  const f = join(dir, "Standup_chair", "Accelerometer-2012-05-25-18-35-48-standup_chair-f4.txt");
  const rec = await readHmpFile(f);
  const first = (await Deno.readTextFile(f)).split("\n")[0].trim().split(" ").map(Number);
  assertEquals(first, [31, 53, 32]);
  first.forEach((c, a) => assertAlmostEquals(rec.axes[a][0], -1.5 + 3 * c / 63, 1e-6));
  assertEquals(rec.subject, "f4");
  assertEquals(rec.rateHz, 32);
  assertEquals(rec.placement, "wrist");
  assertEquals(rec.labelNames![rec.labels![0]], "standup_chair");
  assertEquals(rec.meta!.model, false);
  assertEquals(new Date(rec.startMs!).toISOString(), "2012-05-25T18:35:48.000Z");
});

Deno.test("readHmpAdl: 14 activities, _MODEL only on request, trial suffixes parsed", async () => {
  const dir = sharedData("hmp-adl");
  if (!dir) return;
  const recs = await readHmpAdl(dir);
  const all = await readHmpAdl(dir, { includeModel: true });
  assertEquals(all.length, 981 - 2); // 981 .txt files minus README.txt and MANUAL.txt
  assert(recs.length < all.length);
  assert(recs.every((r) => r.meta!.model === false));
  assert(all.some((r) => r.meta!.model === true));
  assertEquals(new Set(recs.map((r) => r.labelNames![r.labels![0]])).size, HMP_ACTIVITIES.length);
  assertEquals(new Set(recs.map((r) => r.subject)).size, 16);
  const walk = all.find((r) => r.source.endsWith("walk-f1_2.txt"))!;
  assertEquals(walk.meta!.model, true);
  assertEquals(walk.subject, "f1");
  assertEquals(walk.meta!.trial, 2);
  for (const r of recs) {
    for (const a of r.axes) for (const v of a) assert(v >= -1.5 && v <= 1.5);
  }
});

Deno.test("readHmpFile: bad lines name file, line and fault", async () => {
  const t = await tempDir();
  try {
    const d = join(t.path, "Walk");
    await Deno.mkdir(d);
    const f = join(d, "Accelerometer-2011-01-01-00-00-00-walk-m9.txt");
    await Deno.writeTextFile(f, "1 2 3\n4 5\n");
    await assertRejects(
      () => readHmpFile(f),
      DataFormatError,
      "walk-m9.txt line 2: 2 fields, expected 3",
    );
    await Deno.writeTextFile(f, "1 2 3\n4 99 1\n");
    await assertRejects(() => readHmpFile(f), DataFormatError, "line 2: y: code 99 outside 0..63");
    await Deno.writeTextFile(f, "1 2 x\n");
    await assertRejects(() => readHmpFile(f), DataFormatError, 'line 1: z: non-numeric value "x"');
    const g = join(d, "walk.txt");
    await Deno.writeTextFile(g, "1 2 3\n");
    await assertRejects(() => readHmpFile(g), DataFormatError, "does not match");
  } finally {
    await t.cleanup();
  }
});
