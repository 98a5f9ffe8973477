import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { join } from "node:path";
import { DataFormatError } from "../../lib/errors.ts";
import {
  parseWisdmActivityKey,
  readWisdm,
  STANDARD_GRAVITY,
  WISDM_ACTIVITIES,
  WISDM_CODES,
} from "../../lib/data/wisdm.ts";
import { readText } from "../../lib/data/text.ts";
import { sharedData, tempDir } from "../_helpers.ts";

Deno.test("WISDM activity names agree with activity_key.txt", async () => {
  const dir = sharedData("wisdm-2019");
  if (!dir) return;
  const key = parseWisdmActivityKey(await readText(join(dir, "activity_key.txt")));
  assertEquals(key.size, 18);
  assertEquals(WISDM_CODES.map((c) => key.get(c)), [...WISDM_ACTIVITIES]);
});

Deno.test("readWisdm: real watch file 1600", async () => {
  const dir = sharedData("wisdm-2019/raw/watch/accel");
  if (!dir) return;
  const rec = await readWisdm(join(dir, "data_1600_accel_watch.txt.gz"));
  assertEquals(rec.axes[0].length, 65462); // `zcat | wc -l`
  assertEquals(rec.subject, "1600");
  assertEquals(rec.dataset, "wisdm-watch");
  assertEquals(rec.placement, "wrist");
  assertEquals(rec.rateHz, 20);
  // first row: 1600,A,90426708196641,7.091625,-0.5916671,8.195502;
  assertAlmostEquals(rec.axes[0][0], 7.091625 / STANDARD_GRAVITY, 1e-6);
  assertAlmostEquals(rec.axes[1][0], -0.5916671 / STANDARD_GRAVITY, 1e-6);
  assertAlmostEquals(rec.axes[2][0], 8.195502 / STANDARD_GRAVITY, 1e-6);
  assertEquals(rec.labelNames![rec.labels![0]], "walking");
  assertEquals(rec.timestampsMs![1], 49.5);
  // all 18 activities present, each ~3 minutes at 20 Hz
  const counts = new Map<number, number>();
  for (const l of rec.labels!) counts.set(l, (counts.get(l) ?? 0) + 1);
  assertEquals(counts.size, 18);
  for (const c of counts.values()) assert(c > 2000 && c < 4500, `count ${c}`);
  // garbled clock across segments is kept and counted, not dropped
  assertEquals(rec.meta!.backwardJumps, 8);
  // |a| median ≈ 1 g
  const mags = Array.from(rec.axes[0], (x, i) => Math.hypot(x, rec.axes[1][i], rec.axes[2][i]))
    .sort((a, b) => a - b);
  assertAlmostEquals(mags[mags.length >> 1], 1, 0.15);
});

Deno.test("readWisdm: real phone file is placement pocket", async () => {
  const dir = sharedData("wisdm-2019/raw/phone/accel");
  if (!dir) return;
  const rec = await readWisdm(join(dir, "data_1600_accel_phone.txt.gz"));
  assertEquals(rec.dataset, "wisdm-phone");
  assertEquals(rec.placement, "pocket");
  assertEquals(rec.device, "phone");
  assertAlmostEquals(rec.meta!.measuredRateHz as number, 20, 1);
});

Deno.test("readWisdm: bad input is reported with file, line and fault", async () => {
  const t = await tempDir();
  try {
    const good = (i: number) => `1600,A,${90426708196641 + i * 50000000},1.0,2.0,9.8;`;
    const rows = Array.from({ length: 900 }, (_, i) => good(i));
    const write = async (name: string, lines: string[]) => {
      await Deno.writeTextFile(join(t.path, name), lines.join("\n") + "\n");
      return join(t.path, name);
    };
    const five = [...rows];
    five[811] = "1600,A,90426708196641,1.0,2.0;";
    await assertRejects(
      async () => readWisdm(await write("data_1600_accel_watch.txt", five)),
      DataFormatError,
      "data_1600_accel_watch.txt line 812: 5 fields, expected 6",
    );
    const garbage = [...rows];
    garbage[9] = "1600,A,90426708196641,1.0,abc,9.8;";
    await assertRejects(
      async () => readWisdm(await write("g_watch.txt", garbage)),
      DataFormatError,
      'g_watch.txt line 10: y: non-numeric value "abc"',
    );
    const code = [...rows];
    code[4] = "1600,N,90426708196641,1.0,2.0,9.8;";
    await assertRejects(
      async () => readWisdm(await write("c_watch.txt", code)),
      DataFormatError,
      'line 5: unknown activity code "N"',
    );
    const nan = [...rows];
    nan[3] = `1600,A,${90426708196641 + 3 * 50000000},NaN,2.0,9.8;`;
    const rec = await readWisdm(await write("n_watch.txt", nan));
    assert(Number.isNaN(rec.axes[0][3]));
    assertEquals(rec.meta!.nanSamples, 1);
    await assertRejects(
      async () => readWisdm(await write("empty_watch.txt", [])),
      DataFormatError,
      "empty file",
    );
    await assertRejects(
      async () => readWisdm(await write("ok_watch.txt", rows), { rateHz: 50 }),
      DataFormatError,
      "claimed rate 50 Hz but timestamps give 20.00 Hz",
    );
    // a file that really runs at 25 Hz (some WISDM phone files do): with no
    // claim the reader reports the measured rate; a 20 Hz claim is an error
    const fast = Array.from(
      { length: 40 },
      (_, i) => `1607,A,${90426708196641 + i * 40000000},1.0,2.0,9.8;`,
    );
    const p25 = await write("data_1607_accel_phone.txt", fast);
    const r25 = await readWisdm(p25);
    assertEquals(r25.rateHz, 25);
    assertStringIncludes(String(r25.meta!.rateNote), "25 Hz");
    await assertRejects(
      () => readWisdm(p25, { rateHz: 20 }),
      DataFormatError,
      "claimed rate 20 Hz but timestamps give 25.00 Hz",
    );
  } finally {
    await t.cleanup();
  }
});
