import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { join } from "node:path";
import { DataFormatError } from "../../lib/errors.ts";
import {
  checkDuplicates,
  checkRange,
  checkRecordings,
  checkUnits,
  likelyUnit,
  sensorGroups,
  stillMagnitudes,
} from "../../lib/data/checks.ts";
import { loadDataset } from "../../lib/data/registry.ts";
import { readText } from "../../lib/data/text.ts";
import type { Recording } from "../../lib/data/types.ts";
import { sharedData, tempDir } from "../_helpers.ts";

/** A 3-axis recording at 20 Hz: `n` samples of gravity `g` on z plus noise `noise`. */
function rec(g: number, n = 400, noise = 0.001, extra: Partial<Recording> = {}): Recording {
  let s = 7;
  const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5) * 2 * noise;
  const z = Float32Array.from({ length: n }, () => g + rnd());
  return {
    dataset: "wisdm-watch",
    subject: "1",
    placement: "wrist",
    rateHz: 20,
    axes: [Float32Array.from(z, () => rnd()), Float32Array.from(z, () => rnd()), z],
    axisNames: ["x", "y", "z"],
    source: "/tmp/x/data_1_accel_watch.txt",
    ...extra,
  };
}

Deno.test("likelyUnit names the unit that explains the gravity measured", () => {
  assertEquals(likelyUnit(1 / 9.80665, "m/s²"), "g"); // WISDM file already in g
  assertEquals(likelyUnit(0.001, "mg"), "g"); // Daphnet file in g
  assertEquals(likelyUnit(9.81, "g"), "m/s²"); // HARTH file in m/s²
  assertEquals(likelyUnit(1000, "g"), "mg");
  assertEquals(likelyUnit(0.0098, "mg"), "m/s²");
  assertEquals(likelyUnit(0.4, "m/s²"), null);
  assertEquals(likelyUnit(0.1, "HMP codes"), null);
});

Deno.test("stillMagnitudes groups sensors and ignores motion, NaN and dead sensors", () => {
  assertEquals(sensorGroups(["x", "y", "z"]), [{ sensor: "", axes: [0, 1, 2] }]);
  assertEquals(
    sensorGroups(["ankle_x", "ankle_y", "ankle_z", "thigh_x", "thigh_y", "thigh_z"]).map((g) =>
      g.sensor
    ),
    ["ankle", "thigh"],
  );
  const still = stillMagnitudes(rec(1))[0];
  assertEquals(still.stillBlocks, 10); // 400 samples / 40 per 2 s block
  assert(Math.abs(still.medianG - 1) < 0.01);
  // strong motion: no still block, so nothing to check (even at 0.1 g)
  assertEquals(stillMagnitudes(rec(0.1, 400, 0.5))[0].stillBlocks, 0);
  checkUnits(rec(0.1, 400, 0.5));
  // a dead sensor (all zeros) is not "too small"
  const dead = rec(0, 400, 0);
  assertEquals(stillMagnitudes(dead)[0].stillBlocks, 0);
  checkUnits(dead);
});

Deno.test("checkUnits: 10× and 1000× unit faults fail naming file and likely unit", () => {
  checkUnits(rec(1)); // fine
  checkUnits(rec(0.97));
  let e = assertThrows(() => checkUnits(rec(1 / 9.80665)), DataFormatError);
  assertStringIncludes(e.message, "data_1_accel_watch.txt");
  assertStringIncludes(e.message, "0.102 g");
  assertStringIncludes(e.message, "look like g, not m/s²");
  e = assertThrows(() => checkUnits(rec(9.81, 400, 0.001, { dataset: "harth" })), DataFormatError);
  assertStringIncludes(e.message, "look like m/s², not g");
  // unknown ratio: still an error, without a unit guess
  e = assertThrows(() => checkUnits(rec(0.3)), DataFormatError);
  assertStringIncludes(e.message, "too small");
  // meta.fileUnit overrides the dataset's unit
  e = assertThrows(
    () => checkUnits(rec(0.001, 400, 0.00001, { meta: { fileUnit: "mg" } })),
    DataFormatError,
  );
  assertStringIncludes(e.message, "look like g, not mg");
});

Deno.test("checkRange: impossible values fail naming row, time, axis and value; sensor range used", () => {
  const r = rec(1, 1000);
  checkRange(r);
  r.axes[1][811] = 1e30;
  const e = assertThrows(() => checkRange(r), DataFormatError);
  assertStringIncludes(e.message, "data row 812 (t = 40.550 s) y = 1.00e+30 g is beyond ±50 g");
  checkRange(r, Infinity); // override by limit
  checkRecordings([r], { range: false }); // or switched off
  // timestamps give the time; -Infinity is out of range too
  const t = rec(1, 400, 0.001, {
    timestampsMs: Float64Array.from({ length: 400 }, (_, i) => 1000 + i * 50),
  });
  t.axes[0][3] = -Infinity;
  assertStringIncludes(
    assertThrows(() => checkRange(t)).message,
    "data row 4 (t = 1.150 s) x = -Infinity",
  );
  // .cwa records its range: 1.5 × ±8 g
  const c = rec(1, 400, 0.001, { meta: { rangeG: 8 } });
  c.axes[2][5] = 13;
  assertStringIncludes(
    assertThrows(() => checkRange(c)).message,
    "beyond ±12 g (1.5 × the sensor's ±8 g)",
  );
  // NaN is a missing sample, not out of range
  const n = rec(1);
  n.axes[0][0] = NaN;
  checkRecordings([n]);
});

Deno.test("checkDuplicates: identical samples under another subject fail; HMP _MODEL copies pass", () => {
  const a = rec(1, 400, 0.01, { subject: "1600", source: "a/data_1600_accel_watch.txt" });
  const b = {
    ...a,
    subject: "1601",
    source: "a/data_1601_accel_watch.txt",
    labels: new Int32Array(400),
  };
  const e = assertThrows(() => checkDuplicates([a, b]), DataFormatError);
  assertStringIncludes(
    e.message,
    "data_1601_accel_watch.txt: same samples as a/data_1600_accel_watch.txt",
  );
  assertStringIncludes(e.message, "subject 1601 vs 1600");
  checkRecordings([a, b], { duplicates: false });
  // one sample different: not a duplicate
  const c = { ...b, axes: b.axes.map((x) => x.slice()) };
  c.axes[0][200] += 0.001;
  checkDuplicates([a, c]);
  // the authors' _MODEL copy of the same subject's trial is kept
  const m = { ...a, source: "Walk_MODEL/t.txt", meta: { model: true } };
  checkDuplicates([a, m]);
  // ... but not under another subject
  assertThrows(
    () => checkDuplicates([a, { ...m, subject: "f2" }]),
    DataFormatError,
    "same samples",
  );
});

/** Copy the first `lines` lines of a shared file into `dest`, mapping each line. */
async function copyLines(
  src: string,
  dest: string,
  map: (line: string, i: number) => string = (l) => l,
  lines = Infinity,
): Promise<void> {
  const text = (await readText(src)).split("\n").slice(0, lines);
  await Deno.writeTextFile(dest, text.map(map).join("\n"));
}

Deno.test("loadDataset: a real WISDM file rescaled to g, a glitch, a copied subject and a misnamed file are caught", async () => {
  const shared = sharedData("wisdm-2019/raw/watch/accel");
  if (!shared) return;
  const t = await tempDir();
  try {
    const dir = join(t.path, "wisdm-2019", "raw", "watch", "accel");
    await Deno.mkdir(dir, { recursive: true });
    const src = join(shared, "data_1600_accel_watch.txt.gz");
    const f1600 = join(dir, "data_1600_accel_watch.txt");
    await copyLines(src, f1600, (l) => l);
    assertEquals((await loadDataset("wisdm-watch", { dir: t.path })).length, 1);
    // a copy under another subject's name and pid: duplicate across subjects
    const f1601 = join(dir, "data_1601_accel_watch.txt");
    await copyLines(src, f1601, (l) => l.replace(/^1600,/, "1601,"));
    let e = await assertRejects(() => loadDataset("wisdm-watch", { dir: t.path }), DataFormatError);
    assertStringIncludes(e.message, "data_1601_accel_watch.txt: same samples as");
    assertStringIncludes(e.message, "data_1600_accel_watch.txt (subject 1601 vs 1600");
    const both = await loadDataset("wisdm-watch", { dir: t.path, checks: { duplicates: false } });
    assertEquals(both.map((r) => r.subject), ["1600", "1601"]);
    await Deno.remove(f1601);
    // the same file already in g (x/y/z divided by 9.80665)
    const toG = (l: string) => {
      const f = l.replace(/;\s*$/, "").split(",");
      if (f.length !== 6) return l;
      return [...f.slice(0, 3), ...f.slice(3).map((v) => String(Number(v) / 9.80665))].join(",") +
        ";";
    };
    await copyLines(src, f1600, toG);
    e = await assertRejects(() => loadDataset("wisdm-watch", { dir: t.path }), DataFormatError);
    assertStringIncludes(e.message, "data_1600_accel_watch.txt: median |a|");
    assertStringIncludes(e.message, "look like g, not m/s²");
    assertEquals(
      (await loadDataset("wisdm-watch", { dir: t.path, checks: { units: false } })).length,
      1,
    );
    // a 1e30 glitch on line 812
    await copyLines(src, f1600, (l, i) => i === 811 ? l.replace(/,[^,]*;/, ",1e30;") : l);
    e = await assertRejects(() => loadDataset("wisdm-watch", { dir: t.path }), DataFormatError);
    assertStringIncludes(e.message, "data_1600_accel_watch.txt: data row 812");
    assertStringIncludes(e.message, "z = 1.02e+29 g is beyond ±50 g");
    await loadDataset("wisdm-watch", { dir: t.path, checks: { range: false } });
    // a misnamed file only: no file matches the layout
    await Deno.rename(f1600, join(dir, "data_1600_watch.txt"));
    e = await assertRejects(() => loadDataset("wisdm-watch", { dir: t.path }), DataFormatError);
    assertStringIncludes(
      e.message,
      "no file matches data_<pid>_accel_watch.txt[.gz] (found 1 other file(s): data_1600_watch.txt)",
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("loadDataset: a real Daphnet run in g instead of mg is caught", async () => {
  const shared = sharedData("daphnet-fog");
  if (!shared) return;
  const t = await tempDir();
  try {
    const dir = join(t.path, "daphnet-fog");
    await Deno.mkdir(dir);
    const toG = (l: string) => {
      const f = l.trim().split(/\s+/);
      if (f.length !== 11) return l;
      return [f[0], ...f.slice(1, 10).map((v) => String(Number(v) / 1000)), f[10]].join(" ");
    };
    await copyLines(join(shared, "S01R02.txt.gz"), join(dir, "S01R02.txt"), toG, 20000);
    const e = await assertRejects(() => loadDataset("daphnet", { dir: t.path }), DataFormatError);
    assertStringIncludes(e.message, "S01R02.txt: ankle sensor: median |a|");
    assertStringIncludes(e.message, "look like g, not mg");
    await copyLines(join(shared, "S01R02.txt.gz"), join(dir, "S01R02.txt"), (l) => l, 20000);
    assertEquals((await loadDataset("daphnet", { dir: t.path })).length, 1);
  } finally {
    await t.cleanup();
  }
});

Deno.test("loadDataset: every shared dataset passes the checks (HMP _MODEL copies included)", async () => {
  const dir = sharedData();
  if (!dir) return;
  for (const name of ["hmp-adl", "daphnet", "axivity-sample"]) {
    const recs = await loadDataset(name, { dir, includeModel: true });
    assert(recs.length > 0, name);
  }
  const w = await loadDataset("wisdm-watch", { dir, subjects: ["1600", "1601", "1602", "1603"] });
  assertEquals(w.length, 4);
});

Deno.test("HMP and MobiFall folders without a single matching file are named, not empty", async () => {
  const { readHmpAdl } = await import("../../lib/data/hmp.ts");
  const { readMobiFall } = await import("../../lib/data/mobifall.ts");
  const t = await tempDir();
  try {
    await Deno.mkdir(join(t.path, "hmp", "Walk"), { recursive: true });
    await Deno.writeTextFile(join(t.path, "hmp", "Walk", "walk-f1.txt"), "30 30 50\n");
    await assertRejects(
      () => readHmpAdl(join(t.path, "hmp")),
      DataFormatError,
      "no file matches <Activity>/Accelerometer-<date>-<activity>-<subject>.txt[.gz] in Walk",
    );
    await Deno.mkdir(join(t.path, "mf", "sub1", "ADL", "STD"), { recursive: true });
    await Deno.writeTextFile(
      join(t.path, "mf", "sub1", "ADL", "STD", "STD_acc_1_1.csv"),
      "@DATA\n",
    );
    await assertRejects(
      () => readMobiFall(join(t.path, "mf")),
      DataFormatError,
      "no file matches sub<N>/{ADL,FALLS}/<CODE>/<CODE>_acc_<N>_<trial>.txt[.gz]",
    );
  } finally {
    await t.cleanup();
  }
});
