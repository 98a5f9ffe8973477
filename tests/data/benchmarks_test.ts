/**
 * The benchmark definitions and their windows. The pinned SHA-256 digests
 * were computed with the preparation code before the benchmarks existed
 * (commit f2ec598: `baselineWindows(ADL_RF_SPEC)` and
 * `baselineWindows({ ...WISDM_RF_SPEC, subjects: ["1600", "1616", "1633"] })`
 * on the shared datasets), so "the same windows, byte for byte" is checked
 * against the old code, not against itself.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { join } from "node:path";
import {
  type Benchmark,
  benchmark,
  benchmarkFolds,
  BENCHMARKS,
  benchmarkSubjects,
  benchmarkWindows,
  deriveBenchmark,
  publishedResult,
  windowBenchmarkRecordings,
} from "../../lib/data/benchmarks.ts";
import { readNpy } from "../../lib/data/npy.ts";
import type { Recording, Windows } from "../../lib/data/types.ts";
import { ConfigError, DataFormatError } from "../../lib/errors.ts";
import {
  ADL_RF_SPEC,
  baselineWindows,
  PUBLISHED_RF_F1,
  WISDM_EXCLUDED_SUBJECTS,
  WISDM_RF_SPEC,
} from "../../lib/experiments/baseline.ts";
import { wisdmWatchSubjects } from "../../lib/experiments/quickstart.ts";
import { ADL_CLASSES, ADL_SUBJECTS, prepareAdl } from "../../lib/signal/adl.ts";
import { exists } from "../../lib/data/paths.ts";
import { sharedData, tempDir } from "../_helpers.ts";

async function sha256(bytes: ArrayBufferView): Promise<string> {
  const b = new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
  const h = await crypto.subtle.digest("SHA-256", b);
  return Array.from(new Uint8Array(h), (v) => v.toString(16).padStart(2, "0")).join("");
}

async function digests(w: Windows): Promise<{ x: string; y: string; subject: string }> {
  return {
    x: await sha256(w.x),
    y: await sha256(w.y),
    subject: await sha256(new TextEncoder().encode(w.subject.join("\n"))),
  };
}

function count(keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort());
}

const names = (w: Windows) => Array.from(w.y, (k) => w.classes[k]);

function assertSameWindows(a: Windows, b: Windows, what: string): void {
  assertEquals([a.n, a.channels, a.length, a.rateHz], [b.n, b.channels, b.length, b.rateHz], what);
  assertEquals(a.classes, b.classes, what);
  assert(a.x.length === b.x.length && a.x.every((v, i) => Object.is(v, b.x[i])), `${what}: x`);
  assertEquals(Array.from(a.y), Array.from(b.y), `${what}: y`);
  assertEquals(a.subject, b.subject, `${what}: subject`);
}

Deno.test("adl5: ssl-wearables' 635 windows of 3×300 at 30 Hz, byte for byte as before", async () => {
  const data = sharedData();
  if (!data || !sharedData("hmp-adl")) return;
  const b = benchmark("adl5");
  const w = await benchmarkWindows(b, { dataDir: data });
  assertEquals([w.n, w.channels, w.length, w.rateHz], [b.reference.windows, 3, 300, 30]);
  assertEquals(w.classes, [...b.classes]);
  assertEquals([...new Set(w.subject)].sort(), [...b.subjects.keep!]);
  assertEquals(new Set(w.subject).size, 7);
  // the pre-benchmark preparation (commit f2ec598), pinned
  assertEquals(await digests(w), {
    x: "f1762666dbcf9fc680698f1c68620c0792ba911d837b2b8f1b22caec330ec7f4",
    y: "ae7abf09b826d1311feb7bb2c0b7be43ef569293e6b92f4842b6c0fcddfb9a0a",
    subject: "4c8e3c4d201c793634aaed09217ac0112ef5dd1aa6dd28d93a0fa2c9ce84d8c2",
  });
  // the old entry points give the same arrays
  assertSameWindows(await baselineWindows({ ...ADL_RF_SPEC, dataDir: data }), w, "baseline");
  const viaAdl = await prepareAdl(join(data, "hmp-adl"));
  assertSameWindows(viaAdl, w, "prepareAdl");
  assertEquals(viaAdl.source, w.source);
  // class counts per (subject, class) are those of the authors' own Y.npy / pid.npy
  const ref = sharedData("ssl-wearables-adl-reference");
  if (ref) {
    const Y = (await readNpy(join(ref, "Y.npy"))).data as string[];
    const pid = (await readNpy(join(ref, "pid.npy"))).data as string[];
    assertEquals(w.n, Y.length);
    assertEquals(count(names(w)), count(Y));
    assertEquals(
      count(w.subject.map((s, i) => `${s}/${names(w)[i]}`)),
      count(pid.map((s, i) => `${s}/${Y[i]}`)),
    );
  }
  // source: the trial file relative to the dataset root; 17 windows come from *_MODEL trials
  const trials = new Set(w.source);
  for (const t of trials) assert(Deno.statSync(join(data, "hmp-adl", t)).isFile, t);
  assertEquals(w.source!.filter((s) => /_MODEL\//.test(s)).length, 17);
  // startSec: the 5-s step from the trial start, restarting at 0 for every trial
  const seen = new Map<string, number>();
  w.source!.forEach((s, i) => {
    const k = seen.get(s) ?? 0;
    assertEquals(w.startSec![i], 5 * k, `${s} window ${k}`);
    seen.set(s, k + 1);
  });
  // the re-exported constants are the benchmark's
  assertEquals([...ADL_SUBJECTS], [...b.subjects.keep!]);
  assertEquals([...ADL_CLASSES], [...b.classes]);
});

Deno.test("wisdm-watch: exclusions, 18 classes, the same windows as the RF baseline", async () => {
  const data = sharedData();
  if (!data || !sharedData("wisdm-2019")) return;
  const b = benchmark("wisdm-watch");
  assertEquals([...b.subjects.exclude], ["1616", "1618", "1637", "1639", "1642"]);
  assertEquals([...WISDM_EXCLUDED_SUBJECTS], [...b.subjects.exclude]);
  // a 3-subject variant with an excluded subject named: pinned from the old code
  const small = deriveBenchmark(b, { subjects: ["1600", "1616", "1633"] });
  const ws = await benchmarkWindows(small, { dataDir: data });
  assertEquals([...new Set(ws.subject)].sort(), ["1600", "1633"]);
  assertEquals(await digests(ws), {
    x: "6b4ecd9fb14e1eadb8d9a485022701bd04f9a544f21185de3862f08f72a0a9c8",
    y: "925eca69bdcef3b7aae71e753e295cf14981ac3b9d4d982cbdb29d066521ae42",
    subject: "f2ac7fbdb819fc77b5b2839271b606b56e0e4c3c9a079dbff1e00e5f8e708c94",
  });
  // the full benchmark: every present subject but the excluded ones
  const w = await benchmarkWindows(b, { dataDir: data });
  const present = await wisdmWatchSubjects(data);
  const kept = benchmarkSubjects(b, present);
  assertEquals([...new Set(w.subject)].sort(), kept);
  assertEquals(
    kept.length,
    present.length - present.filter((s) => b.subjects.exclude.includes(s)).length,
  );
  assertEquals(w.classes.length, 18);
  assertEquals([w.channels, w.length, w.rateHz], [3, 300, 30]);
  assertEquals(new Set(w.y).size, 18);
  assertSameWindows(await baselineWindows({ ...WISDM_RF_SPEC, dataDir: data }), w, "baseline");
  // source: one id per activity run (file#class); windows of a run have that class
  w.source!.forEach((s, i) => assertEquals(s.split("#")[1], w.classes[w.y[i]], s));
  assert(w.source!.every((s) => s.startsWith("raw/watch/accel/data_")));
  // startSec is on the recording's clock (from its first sample; WISDM's clock can jump
  // backwards, so it may be negative): distinct activity runs of a file start at distinct times
  const first = new Map<string, number>();
  w.source!.forEach((s, i) => first.set(s, Math.min(first.get(s) ?? Infinity, w.startSec![i])));
  const perFile = new Map<string, number[]>();
  for (const [s, t] of first) {
    const f = s.split("#")[0];
    perFile.set(f, [...(perFile.get(f) ?? []), t]);
  }
  for (const [f, starts] of perFile) {
    assertEquals(new Set(starts).size, starts.length, `${f}: activity runs share a start`);
  }
});

Deno.test("unknown benchmark: a clear error listing the known names", async () => {
  const e = assertThrows(() => benchmark("adl-6"), ConfigError);
  for (const n of Object.keys(BENCHMARKS)) assert(e.message.includes(n), e.message);
  assert(e.message.includes('"adl-6"'));
  await assertRejects(() => benchmarkWindows("nope"), ConfigError, "known: adl5, wisdm-watch");
  assertThrows(() => benchmark("toString"), ConfigError, "unknown benchmark");
});

Deno.test("published numbers: Yuan et al.'s four settings, matching the shared data README", async () => {
  const methods = ["rf-handcrafted", "resnet-scratch", "ssl-frozen", "ssl-finetune"];
  const table: Record<string, number[]> = {};
  const shared = sharedData();
  const readme = shared ? join(shared, "README.md") : null;
  if (readme && exists(readme)) {
    for (const line of (await Deno.readTextFile(readme)).split("\n")) {
      const cells = line.split("|").map((c) => c.trim());
      const key = cells[1]?.startsWith("ADL")
        ? "adl5"
        : cells[1]?.startsWith("WISDM watch")
        ? "wisdm-watch"
        : null;
      if (key) table[key] = cells.slice(3, 7).map(Number);
    }
    assertEquals(Object.keys(table).sort(), ["adl5", "wisdm-watch"], `${readme}: table not found`);
  }
  for (const b of Object.values(BENCHMARKS)) {
    for (const [i, m] of methods.entries()) {
      const p = publishedResult(b, m);
      assert(p, `${b.name}: no published ${m}`);
      assert(p.value > 0 && p.value < 1, `${b.name} ${m}: ${p.value}`);
      assert(p.source.includes("Yuan et al. 2024"), p.source);
      assertEquals(p.metric, "f1-macro");
      if (table[b.name]) assertEquals(p.value, table[b.name][i], `${b.name} ${m}`);
    }
  }
  assertEquals(PUBLISHED_RF_F1["hmp-adl"], publishedResult("adl5", "rf-handcrafted")!.value);
  assertEquals(
    PUBLISHED_RF_F1["wisdm-watch"],
    publishedResult("wisdm-watch", "rf-handcrafted")!.value,
  );
  assertEquals(publishedResult("adl5", "rf-handcrafted", "kappa"), null);
  // the definitions are plain data
  assertEquals(JSON.parse(JSON.stringify(BENCHMARKS)), BENCHMARKS);
});

Deno.test("benchmark specs: the RF specs and protocols derive from the definitions", () => {
  const adl = benchmark("adl5"), wisdm = benchmark("wisdm-watch");
  assertEquals(ADL_RF_SPEC.protocol, "loso");
  assertEquals(ADL_RF_SPEC.subjects, [...adl.subjects.keep!]);
  assertEquals(ADL_RF_SPEC.classes, [...adl.classes]);
  assertEquals([ADL_RF_SPEC.rateHz, ADL_RF_SPEC.windowSec, ADL_RF_SPEC.overlapSec], [30, 10, 5]);
  assertEquals(WISDM_RF_SPEC.protocol, "kfold");
  assertEquals(WISDM_RF_SPEC.k, wisdm.protocol.kind === "subject-kfold" ? wisdm.protocol.k : -1);
  assertEquals(WISDM_RF_SPEC.excludeSubjects, [...wisdm.subjects.exclude]);
  assertEquals(WISDM_RF_SPEC.subjects, undefined);
  // the folds of the default protocols
  const subj = (s: string[], per: number) => ({ subject: s.flatMap((x) => Array(per).fill(x)) });
  const loso = benchmarkFolds(adl, subj([...adl.subjects.keep!], 3), { seed: 1 });
  assertEquals(loso.length, 7);
  assertEquals(loso.map((f) => f.testSubjects[0]), [...adl.subjects.keep!]);
  assertEquals(loso[0].valSubjects, ["f2"]); // first remaining subject in sorted order
  assertEquals(loso[3].valSubjects, ["f1"]);
  const ids = Array.from({ length: 43 }, (_, i) => String(1600 + i));
  const kf = benchmarkFolds(wisdm, subj(ids, 2), { seed: 42 });
  assertEquals(kf.length, 5);
  assertEquals(kf.flatMap((f) => f.testSubjects).sort(), ids);
  for (const f of kf) {
    const train = ids.length - f.testSubjects.length;
    assertEquals(f.valSubjects.length, Math.ceil(0.125 * train));
    assertEquals(f.valSubjects.filter((s) => f.testSubjects.includes(s)), []);
  }
});

/** A WISDM-like timestamped recording: 40 s walking, a 5-s clock gap, 40 s jogging, then 20 s unlabelled. */
function toyRecording(placement = "wrist"): Recording {
  const rate = 20, n = 100 * rate - 5 * rate;
  const t = new Float64Array(n), labels = new Int32Array(n);
  const axes = [0, 1, 2].map(() => new Float32Array(n));
  for (let i = 0; i < n; i++) {
    const sec = i / rate;
    t[i] = (sec < 40 ? sec : sec + 5) * 1000;
    labels[i] = sec < 40 ? 0 : sec < 75 ? 1 : -1;
    axes.forEach((a, c) => (a[i] = c + Math.sin(i / 7)));
  }
  return {
    dataset: "wisdm-watch",
    subject: "1600",
    placement,
    rateHz: rate,
    axes,
    axisNames: ["x", "y", "z"],
    timestampsMs: t,
    labels,
    labelNames: ["walking", "jogging"],
    source: "toy.txt",
  };
}

Deno.test("windowBenchmarkRecordings: gaps, label runs, merges, placement (no data needed)", () => {
  const toy: Benchmark = {
    ...benchmark("wisdm-watch"),
    name: "toy",
    classes: ["walking", "jogging"],
  };
  const w = windowBenchmarkRecordings(toy, [toyRecording()]);
  // walking 0-40 s: starts 0..30 (7 windows); jogging 45-80 s on the clock, 35 s of it: 6 windows
  assertEquals(count(names(w)), { jogging: 6, walking: 7 });
  assertEquals(w.source!.slice(0, 1), ["toy.txt#walking"]);
  assertEquals(w.source!.at(-1), "toy.txt#jogging");
  assertEquals(Array.from(w.startSec!), [0, 5, 10, 15, 20, 25, 30, 45, 50, 55, 60, 65, 70]);
  assertEquals([w.channels, w.length, w.rateHz], [3, 300, 30]);
  // merged classes: both runs become one class
  const merged = windowBenchmarkRecordings(
    { ...toy, classes: ["moving"], classMap: { walking: "moving", jogging: "moving" } },
    [toyRecording()],
  );
  assertEquals(merged.n, w.n);
  assertEquals(merged.classes, ["moving"]);
  assert(merged.x.every((v, i) => v === w.x[i]));
  // excluded subjects give nothing
  assertEquals(
    windowBenchmarkRecordings({ ...toy, subjects: { ...toy.subjects, exclude: ["1600"] } }, [
      toyRecording(),
    ]).n,
    0,
  );
  assertThrows(
    () => windowBenchmarkRecordings(toy, [toyRecording("pocket")]),
    DataFormatError,
    'placement "pocket"',
  );
  assertThrows(
    () => windowBenchmarkRecordings({ ...toy, classMap: { walking: "strolling" } }, []),
    ConfigError,
    '"strolling" is not a class',
  );
  assertThrows(
    () => windowBenchmarkRecordings({ ...toy, classes: ["walking", "flying"] }, []),
    ConfigError,
    'class "flying" is in none of wisdm-watch',
  );
  assertThrows(
    () => windowBenchmarkRecordings({ ...toy, overlapSec: 10 }, []),
    ConfigError,
    "overlapSec must be in [0, windowSec = 10)",
  );
});

Deno.test("deriveBenchmark: variants drop the published numbers, the original is unchanged", () => {
  const adl = benchmark("adl5");
  const four = deriveBenchmark("adl5", { subjects: ["f1", "f2", "m1", "m2"] });
  assertEquals(four.name, "adl5*");
  assertEquals(four.published, []);
  assertEquals([...four.subjects.keep!], ["f1", "f2", "m1", "m2"]);
  assertEquals(adl.subjects.keep!.length, 7);
  assert(adl.published.length > 0);
  assertEquals(deriveBenchmark(adl, { rateHz: 30, classes: [...adl.classes] }), adl);
  assertEquals(deriveBenchmark(adl, { windowSec: 5, overlapSec: 2.5 }).windowSec, 5);
  assertEquals(benchmarkSubjects("wisdm-watch", ["1600", "1616", "1601"]), ["1600", "1601"]);
});

Deno.test("benchmarkWindows cache: a hit gives the same windows; a damaged file is named", async () => {
  const data = sharedData();
  if (!data || !sharedData("hmp-adl")) return;
  const tmp = await tempDir();
  try {
    const b = deriveBenchmark("adl5", { subjects: ["f1", "m2"], name: "adl5-two" });
    const first = await benchmarkWindows(b, { dataDir: data, cacheDir: tmp.path });
    const files = [...Deno.readDirSync(tmp.path)].map((e) => e.name).sort();
    assertEquals(files.length, 2);
    assert(files[0].startsWith("adl5-two-") && files[0].endsWith(".f32"), files[0]);
    const again = await benchmarkWindows(b, { dataDir: data, cacheDir: tmp.path });
    assertSameWindows(again, first, "cache");
    assertEquals(again.source, first.source);
    assertEquals(Array.from(again.startSec!), Array.from(first.startSec!));
    // another definition is another cache entry
    await benchmarkWindows({ ...b, overlapSec: 0 }, { dataDir: data, cacheDir: tmp.path });
    assertEquals([...Deno.readDirSync(tmp.path)].length, 4);
    // a truncated cache file is an error naming it
    const f32 = join(tmp.path, files[0]);
    await Deno.truncate(f32, 100);
    await assertRejects(
      () => benchmarkWindows(b, { dataDir: data, cacheDir: tmp.path }),
      DataFormatError,
      files[0],
    );
  } finally {
    await tmp.cleanup();
  }
});
