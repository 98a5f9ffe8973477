/**
 * Non-finite numeric fields and timestamps in a wrong unit, across every
 * text reader: `Infinity`, `-Infinity`, `inf`, `1e400` in a sample or any
 * non-finite timestamp is a DataFormatError naming file, line and field;
 * `NaN` in a sample is a missing sample (kept, counted, windows dropped).
 */
import { assert, assertEquals, assertRejects, assertStrictEquals } from "@std/assert";
import { join } from "node:path";
import { DataFormatError } from "../../lib/errors.ts";
import { TextScanner } from "../../lib/data/text.ts";
import { checkRate, timestampUnitHint } from "../../lib/data/rate.ts";
import { readWisdm } from "../../lib/data/wisdm.ts";
import { readDaphnet } from "../../lib/data/daphnet.ts";
import { readMobiFallFile } from "../../lib/data/mobifall.ts";
import { readHarthCsv } from "../../lib/data/harth.ts";
import { readHmpFile } from "../../lib/data/hmp.ts";
import { tempDir } from "../_helpers.ts";

Deno.test("TextScanner.tryNumber reads every spelling of infinity whole", () => {
  const sc = new TextScanner(
    "Infinity,-Infinity,inf,-INF,+Infinity,1e400,-1e400,nan,Infinityx",
    "t",
  );
  const want = [Infinity, -Infinity, Infinity, -Infinity, Infinity, Infinity, -Infinity, NaN];
  for (const w of want) {
    assertStrictEquals(sc.tryNumber(), w);
    assert(sc.accept(44), `delimiter after ${w} at ${sc.pos}`);
  }
  // a word that merely starts like one is not a number
  assertStrictEquals(sc.tryNumber(), undefined);
});

Deno.test("TextScanner.finite names file, line, field and the text", () => {
  const sc = new TextScanner("1,2\n3,-Infinity\n", "x.csv");
  sc.skipLine();
  sc.number("a");
  sc.expect(44, "a");
  const v = sc.number("b");
  let e: unknown;
  try {
    sc.finite(v, "b", true);
  } catch (err) {
    e = err;
  }
  assert(e instanceof DataFormatError);
  assertEquals(
    e.message,
    'x.csv line 2: b: non-finite value "-Infinity" (only NaN may mark a missing sample)',
  );
  assert(Number.isNaN(sc.finite(NaN, "b", true)));
});

/** Write `lines` into `dir/name` and return the path. */
async function write(dir: string, name: string, lines: string[]): Promise<string> {
  const p = join(dir, name);
  await Deno.writeTextFile(p, lines.join("\n") + "\n");
  return p;
}

Deno.test("every text reader: Infinity / 1e400 samples and non-finite timestamps are errors; NaN is missing", async () => {
  const t = await tempDir();
  try {
    // WISDM: pid,code,timestamp_ns,x,y,z;
    const w = Array.from(
      { length: 50 },
      (_, i) => `1600,A,${90426708196641 + i * 50000000},0.1,0.2,9.8;`,
    );
    const wisdm = async (row: number, text: string) =>
      readWisdm(
        await write(t.path, "data_1600_accel_watch.txt", w.map((l, i) => i === row ? text : l)),
      );
    for (const [bad, field] of [["Infinity", "x"], ["1e400", "x"], ["-inf", "x"]]) {
      await assertRejects(
        () => wisdm(3, `1600,A,${90426708196641 + 150000000},${bad},0.2,9.8;`),
        DataFormatError,
        `data_1600_accel_watch.txt line 4: ${field}: non-finite value "${bad}"`,
      );
    }
    await assertRejects(
      () => wisdm(3, `1600,A,${90426708196641 + 150000000},0.1,0.2,Infinity;`),
      DataFormatError,
      'line 4: z: non-finite value "Infinity"',
    );
    await assertRejects(
      () => wisdm(3, "1600,A,NaN,0.1,0.2,9.8;"),
      DataFormatError,
      'line 4: timestamp: non-finite value "NaN"',
    );
    const nan = await wisdm(3, `1600,A,${90426708196641 + 150000000},NaN,0.2,9.8;`);
    assertEquals(nan.meta!.nanSamples, 1);

    // Daphnet: time_ms + 9 axes (mg) + label, space separated
    const d = Array.from(
      { length: 100 },
      (_, i) => `${Math.round(i * 15.625)} 1 2 3 4 5 6 7 8 1000 1`,
    );
    const daph = async (row: number, text: string) =>
      readDaphnet(await write(t.path, "S09R01.txt", d.map((l, i) => i === row ? text : l)));
    await assertRejects(
      () => daph(5, "78 1 2 Infinity 4 5 6 7 8 9 1"),
      DataFormatError,
      'S09R01.txt line 6: ankle_z: non-finite value "Infinity"',
    );
    await assertRejects(
      () => daph(5, "Infinity 1 2 3 4 5 6 7 8 9 1"),
      DataFormatError,
      'line 6: time_ms: non-finite value "Infinity"',
    );

    // MobiFall: header, @DATA, timestamp_ns, x, y, z
    const m = [
      "#Activity: FOL",
      "@DATA",
      ...Array.from({ length: 50 }, (_, i) => `${1e12 + i * 1.15e7}, 0.1, 0.2, 9.8`),
    ];
    const mobi = async (row: number, text: string) =>
      readMobiFallFile(
        await write(t.path, "FOL_acc_1_1.txt", m.map((l, i) => i === row ? text : l)),
      );
    await assertRejects(
      () => mobi(4, `${1e12 + 2 * 1.15e7}, 0.1, 1e400, 9.8`),
      DataFormatError,
      'FOL_acc_1_1.txt line 5: y: non-finite value "1e400"',
    );

    // HARTH: a numeric timestamp "Infinity" is not a time; an axis Infinity is not a value
    const h = [
      "timestamp,back_x,back_y,back_z,thigh_x,thigh_y,thigh_z,label",
      ...Array.from({ length: 60 }, (_, i) => `${i * 20},0,0,-1,1,0,0,6`),
    ];
    const harth = async (row: number, text: string) =>
      readHarthCsv(await write(t.path, "S001.csv", h.map((l, i) => i === row ? text : l)));
    await assertRejects(
      () => harth(3, "Infinity,0,0,-1,1,0,0,6"),
      DataFormatError,
      'S001.csv line 4: timestamp: not a date-time "Infinity"',
    );
    await assertRejects(
      () => harth(3, "40,0,0,-1,Infinity,0,0,6"),
      DataFormatError,
      'S001.csv line 4: thigh_x: non-finite value "Infinity"',
    );

    // a header naming a column twice would silently use the last one
    await assertRejects(
      async () =>
        readHarthCsv(
          await write(t.path, "S002.csv", [h[0].replace("back_y", "back_x"), ...h.slice(1)]),
        ),
      DataFormatError,
      'S002.csv: column "back_x" appears twice (columns 2 and 3)',
    );

    // HMP: codes 0..63 only
    await Deno.mkdir(join(t.path, "Walk"));
    const hmp = await write(join(t.path, "Walk"), "Accelerometer-2011-03-24-10-24-39-walk-f1.txt", [
      "30 30 50",
      "30 Infinity 50",
    ]);
    await assertRejects(
      () => readHmpFile(hmp),
      DataFormatError,
      "line 2: y: code Infinity outside 0..63",
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("timestamps in the wrong unit are named (ms vs ns vs s vs µs)", async () => {
  assertEquals(timestampUnitHint(64000, 64, "ms"), "timestamps look like s, not ms");
  assertEquals(timestampUnitHint(0.064, 64, "ms"), "timestamps look like µs, not ms");
  assertEquals(timestampUnitHint(2e7, 20, "ns"), "timestamps look like ms, not ns");
  assertEquals(timestampUnitHint(25, 20, "ns"), ""); // a phone running fast is not a unit fault
  assertEquals(timestampUnitHint(200, 20, "ns"), ""); // 10×: no unit explains it
  const sec = Float64Array.from({ length: 100 }, (_, i) => i / 64); // seconds read as ms
  let e: unknown;
  try {
    checkRate("S01R01.txt", sec, 64);
  } catch (err) {
    e = err;
  }
  assert(
    e instanceof DataFormatError && e.message.endsWith("timestamps look like s, not ms"),
    String(e),
  );
  const t = await tempDir();
  try {
    // WISDM with ms timestamps instead of ns: was read as a 20 MHz recording
    const rows = Array.from({ length: 60 }, (_, i) => `1600,A,${90426708 + i * 50},0.1,0.2,9.8;`);
    const p = await write(t.path, "data_1600_accel_watch.txt", rows);
    await assertRejects(
      () => readWisdm(p),
      DataFormatError,
      "data_1600_accel_watch.txt: timestamps give 2.000e+7 Hz (median interval 0.00005000 ms), WISDM's nominal rate is 20 Hz: timestamps look like ms, not ns",
    );
    // MobiFall in µs instead of ns
    const m = [
      "@DATA",
      ...Array.from({ length: 50 }, (_, i) => `${1e9 + i * 11500}, 0.1, 0.2, 9.8`),
    ];
    await assertRejects(
      async () => readMobiFallFile(await write(t.path, "STD_acc_1_1.txt", m)),
      DataFormatError,
      "timestamps look like µs, not ns",
    );
  } finally {
    await t.cleanup();
  }
});
