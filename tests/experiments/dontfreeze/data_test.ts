/**
 * The "Don't freeze" data protocol (lib/experiments/dontfreeze/data.ts,
 * ../shared/specs/dont-freeze.md §1, §9): resampling and band limit on
 * synthetic tones, the 5-group rotated folds, and on the real data the four
 * targets and the unlabelled source (window counts and rates printed, user
 * disjointness, every group tested once, seeded determinism, the subject
 * exclusion, the cache, missing-data errors).
 */
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import type { Recording, Windows } from "../../../lib/data/types.ts";
import { ConfigError, DatasetUnavailableError } from "../../../lib/errors.ts";
import {
  DONT_FREEZE_SIGNAL,
  DONT_FREEZE_TARGETS,
  type DontFreezeTarget,
  type DontFreezeTargetName,
  foldsFromGroups,
  formatDontFreezeSourceReport,
  formatDontFreezeTargetReport,
  loadDontFreezeSource,
  loadDontFreezeTarget,
  prepareDontFreezeRecordings,
  resolveDontFreezeSignal,
  type UserGroupFold,
  userGroupFolds,
  userGroups,
} from "../../../lib/experiments/dontfreeze/data.ts";
import { sharedData, tempDir } from "../../_helpers.ts";

// ---------------------------------------------------------------------------
// Synthetic

/** A 3-axis recording: `tones` (Hz, amplitude) on every axis, at `rateHz` for `sec` s. */
function toneRecording(rateHz: number, sec: number, tones: [number, number][]): Recording {
  const n = Math.round(rateHz * sec);
  const axis = () =>
    Float32Array.from(
      { length: n },
      (_, i) => tones.reduce((s, [f, a]) => s + a * Math.sin(2 * Math.PI * f * i / rateHz), 0),
    );
  return {
    dataset: "synthetic",
    subject: "s1",
    placement: "wrist",
    rateHz,
    axes: [axis(), axis(), axis()],
    axisNames: ["x", "y", "z"],
    source: "tone",
  };
}

/** Amplitude of the `f` Hz component of `x` (sampled at `rateHz`), by projection (middle half, no edges). */
function amplitude(x: Float32Array, f: number, rateHz: number): number {
  const a = Math.floor(x.length / 4), b = Math.floor((3 * x.length) / 4);
  let s = 0, c = 0;
  for (let i = a; i < b; i++) {
    s += x[i] * Math.sin(2 * Math.PI * f * i / rateHz);
    c += x[i] * Math.cos(2 * Math.PI * f * i / rateHz);
  }
  return (2 / (b - a)) * Math.hypot(s, c);
}

Deno.test("signal defaults: 50 Hz, 100-sample windows every 50, linear up-sampling, 20 Hz anti-alias, 10 Hz band limit", () => {
  const s = resolveDontFreezeSignal();
  assertEquals(s, { ...DONT_FREEZE_SIGNAL });
  assertEquals([s.rateHz, s.length, s.step, s.upsampling], [50, 100, 50, "linear"]);
  assertEquals([s.antiAliasHz, s.bandLimitHz], [20, 10]);
  assertEquals(resolveDontFreezeSignal({ bandLimitHz: null }).bandLimitHz, null);
  assertThrows(() => resolveDontFreezeSignal({ bandLimitHz: 25 }), ConfigError, "bandLimitHz");
  assertThrows(() => resolveDontFreezeSignal({ antiAliasHz: 30 }), ConfigError, "antiAliasHz");
  assertThrows(() => resolveDontFreezeSignal({ bandLimitTaps: 50 }), ConfigError, "bandLimitTaps");
  assertThrows(() => resolveDontFreezeSignal({ stepSec: 3 }), ConfigError, "step");
  assertThrows(
    () => resolveDontFreezeSignal({ upsampling: "cubic" as "linear" }),
    ConfigError,
    "upsampling",
  );
});

Deno.test("prepareDontFreezeRecordings: 20/32 Hz up-sampled, 100 Hz anti-aliased, 10 Hz band limit on by default", () => {
  const s = resolveDontFreezeSignal();
  // WISDM-like 20 Hz: a 2 Hz tone survives, 50 Hz grid, 2.5× the samples (linear interpolation
  // attenuates it by up to sinc²(2/20) ≈ 0.97; FFT interpolation does not)
  const wisdm = toneRecording(20, 20, [[2, 1]]);
  const [w] = prepareDontFreezeRecordings([wisdm], s);
  assertEquals(w.rateHz, 50);
  assertEquals(w.axes[0].length, Math.floor(19.95 * 50) + 1);
  assertAlmostEquals(amplitude(w.axes[0], 2, 50), 0.98, 0.02);
  const [wf] = prepareDontFreezeRecordings(
    [wisdm],
    resolveDontFreezeSignal({ upsampling: "fourier" }),
  );
  assertAlmostEquals(amplitude(wf.axes[0], 2, 50), 1, 0.01);
  // HMP-like 32 Hz with a 14 Hz component: removed by the band limit, kept without it
  const hmp = toneRecording(32, 20, [[2, 1], [14, 0.5]]);
  const [on] = prepareDontFreezeRecordings([hmp], s);
  const [off] = prepareDontFreezeRecordings([hmp], resolveDontFreezeSignal({ bandLimitHz: null }));
  assert(
    amplitude(on.axes[0], 14, 50) < 0.01,
    `14 Hz with band limit ${amplitude(on.axes[0], 14, 50)}`,
  );
  // (linear interpolation keeps sinc²(14/32) ≈ 0.5 of it)
  assert(amplitude(off.axes[0], 14, 50) > 0.2, `14 Hz without ${amplitude(off.axes[0], 14, 50)}`);
  assertAlmostEquals(amplitude(on.axes[0], 2, 50), 1, 0.03);
  // AX3-like 100 Hz with a 30 Hz tone (aliases to 20 Hz at 50 Hz): the anti-alias filter removes it
  const [ax] = prepareDontFreezeRecordings(
    [toneRecording(100, 20, [[1, 1], [30, 0.5]])],
    resolveDontFreezeSignal({ bandLimitHz: null }),
  );
  assert(amplitude(ax.axes[0], 20, 50) < 0.02, `alias ${amplitude(ax.axes[0], 20, 50)}`);
  assertAlmostEquals(amplitude(ax.axes[0], 1, 50), 1, 0.02);
});

/** Subjects and labels: `users` users × `per` windows, user u holding classes `classesOf(u)`. */
function toyLabels(users: number, per: number, classesOf: (u: number) => number[]) {
  const subject: string[] = [], y: number[] = [];
  for (let u = 0; u < users; u++) {
    const cs = classesOf(u);
    for (let i = 0; i < per; i++) {
      subject.push(`u${u}`);
      y.push(cs[i % cs.length]);
    }
  }
  return { subject, y: Int32Array.from(y) };
}

function checkFolds(folds: UserGroupFold[], subject: readonly string[], k: number): void {
  const n = subject.length;
  const repeats = folds.length / k;
  for (let r = 0; r < repeats; r++) {
    const rf = folds.filter((f) => f.repeat === r);
    assertEquals(rf.map((f) => f.testGroup), Array.from({ length: k }, (_, i) => i));
    assertEquals(rf.map((f) => f.valGroup).sort(), Array.from({ length: k }, (_, i) => i));
    const tested = rf.flatMap((f) => f.testSubjects);
    assertEquals(new Set(tested).size, tested.length, "every user tested exactly once");
    assertEquals(new Set(tested).size, new Set(subject).size);
    for (const f of rf) {
      assertEquals(f.trainGroups.length, k - 2);
      const [tr, va, te] = [f.trainSubjects, f.valSubjects, f.testSubjects].map((s) => new Set(s));
      for (const u of va) assert(!tr.has(u) && !te.has(u), `${f.name}: ${u} in val and train/test`);
      for (const u of te) assert(!tr.has(u), `${f.name}: ${u} in test and train`);
      assertEquals(f.train.length + f.val.length + f.test.length, n);
      const all = new Set([...f.train, ...f.val, ...f.test]);
      assertEquals(all.size, n, `${f.name}: the parts cover every window once`);
      for (const i of f.test) assert(te.has(subject[i]));
      for (const i of f.val) assert(va.has(subject[i]));
      assertEquals(f.seed, f.repeatSeed * 1000 + f.index);
      // repeats share the users
      const f0 = folds[f.index];
      assertEquals([f.trainSubjects, f.valSubjects, f.testSubjects], [
        f0.trainSubjects,
        f0.valSubjects,
        f0.testSubjects,
      ]);
    }
  }
}

Deno.test("userGroupFolds: 5 groups, fold i tests group i and validates on i+1, every group tested and validated once, 5 repeats", () => {
  const { subject, y } = toyLabels(24, 10, (u) => (u < 9 ? [0, 1, 2] : [2]));
  const folds = userGroupFolds(subject, { seed: 3, y });
  assertEquals(folds.length, 25);
  assertEquals(folds.map((f) => f.name).slice(0, 6), [
    "groups5/0/r0",
    "groups5/1/r0",
    "groups5/2/r0",
    "groups5/3/r0",
    "groups5/4/r0",
    "groups5/0/r1",
  ]);
  assertEquals([...new Set(folds.map((f) => f.repeatSeed))], [3, 4, 5, 6, 7]);
  checkFolds(folds, subject, 5);
  // stratified: the 9 users with classes 0 and 1 are spread 2/2/2/2/1 (a class in every group)
  const groups = userGroups(subject, { seed: 3, y });
  assertEquals(groups.map((g) => g.length).sort(), [4, 5, 5, 5, 5]);
  const rare = groups.map((g) => g.filter((u) => Number(u.slice(1)) < 9).length).sort();
  assertEquals(rare, [1, 2, 2, 2, 2]);
  // seeded: same seed same groups, another seed other groups; random dealing also 5/5/5/5/4
  assertEquals(userGroups(subject, { seed: 3, y }), groups);
  assert(JSON.stringify(userGroups(subject, { seed: 4, y })) !== JSON.stringify(groups));
  const random = userGroups(subject, { seed: 3, grouping: "random" });
  assertEquals(random.map((g) => g.length).sort(), [4, 5, 5, 5, 5]);
  checkFolds(foldsFromGroups(subject, random, { seeds: [9] }), subject, 5);
  assertEquals(foldsFromGroups(subject, random, { seeds: [9] })[0].name, "groups5/0");
  // errors name the fault
  assertThrows(
    () => userGroups(subject, { seed: 0, y: y.subarray(0, 10) }),
    ConfigError,
    "needs y",
  );
  assertThrows(
    () => userGroups(["a", "b", "c", "d"], { seed: 0, grouping: "random" }),
    ConfigError,
    "4 users for 5 groups",
  );
  assertThrows(() => foldsFromGroups(subject, [["u0"], ["u1"], ["u2"]]), ConfigError, "no group");
  assertThrows(
    () => foldsFromGroups(["a", "b", "c"], [["a"], ["b", "a"], ["c"]]),
    ConfigError,
    "groups 0 and 1",
  );
});

// ---------------------------------------------------------------------------
// Real data

const data = sharedData();
const cache = data ? await tempDir() : null;
if (cache) {
  globalThis.addEventListener("unload", () => Deno.removeSync(cache.path, { recursive: true }));
}

const EXPECTED: Record<DontFreezeTargetName, { users: number; classes: number }> = {
  "hmp-adl": { users: 16, classes: 14 },
  "mobifall": { users: 24, classes: 13 },
  "wisdm-phone": { users: 22, classes: 18 },
  "daphnet": { users: 5, classes: 2 },
};

/** Median over windows of |mean acceleration vector| (g): ≈ 1 for data in g. */
function medianGravity(w: Windows): number {
  const L = w.length, per = w.channels * L;
  const v: number[] = [];
  for (let i = 0; i < w.n; i += 7) {
    let s = 0;
    for (let c = 0; c < w.channels; c++) {
      let m = 0;
      for (let t = 0; t < L; t++) m += w.x[i * per + c * L + t];
      s += (m / L) ** 2;
    }
    v.push(Math.sqrt(s));
  }
  return v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
}

Deno.test({
  name:
    "targets on the real data: 50 Hz × 100 samples in g, every class, 5 user groups (Daphnet 4), rotated folds, warnings, cache",
  ignore: !data,
  fn: async () => {
    const got: Partial<Record<DontFreezeTargetName, DontFreezeTarget>> = {};
    for (const name of DONT_FREEZE_TARGETS) {
      const t = await loadDontFreezeTarget(name, { cacheDir: cache!.path });
      got[name] = t;
      console.log(formatDontFreezeTargetReport(t));
      const w = t.windows;
      assertEquals([w.rateHz, w.channels, w.length], [50, 3, 100]);
      assertEquals(w.x.length, w.n * 300);
      assertEquals(t.classes.length, EXPECTED[name].classes);
      assertEquals(t.report.users.length, EXPECTED[name].users, name);
      assert(t.report.perClass.every((c) => c > 0), `${name}: every class has windows`);
      assertEquals(t.report.perClass.reduce((a, b) => a + b, 0), w.n);
      const g = medianGravity(w);
      assert(g > 0.8 && g < 1.2, `${name}: median |mean a| ${g} g`);
      const k = name === "daphnet" ? 4 : 5;
      assertEquals(t.folds.length, 5 * k);
      assertEquals(t.groups.length, k);
      const sizes = t.groups.map((x) => x.length);
      assert(Math.max(...sizes) - Math.min(...sizes) <= 1, `${name}: group sizes ${sizes}`);
      checkFolds(t.folds, w.subject, k);
      // every group (each is a test and a validation group once) holds two classes or more
      for (const per of t.report.groupPerClass) {
        assert(per.filter((c) => c > 0).length >= 2, `${name}: group classes ${per}`);
      }
      assert(!t.report.fromCache);
    }
    // Daphnet: S06 (no freeze) shares a group, so every group holds freezes
    const daphnet = got["daphnet"]!;
    assertEquals(daphnet.groups.map((x) => x.length).sort(), [1, 1, 1, 2]);
    assert(daphnet.groups.find((x) => x.includes("S06"))!.length === 2);
    assert(daphnet.report.groupPerClass.every((per) => per[1] > 0), "a freeze in every group");
    // 5 groups would leave S06 alone: refused, naming the group and the class
    await assertRejects(
      () => loadDontFreezeTarget("daphnet", { cacheDir: cache!.path, groups: 5 }),
      ConfigError,
      'holds only class "no_freeze"',
    );
    assertEquals(got["mobifall"]!.groups.map((x) => x.length).sort(), [4, 5, 5, 5, 5]);
    // HMP: eat_meat and eat_soup (one user) are named in the warnings; the rest is in every training part
    const hmp = got["hmp-adl"]!;
    const warned = hmp.report.warnings.map((s) => /class "(\w+)"/.exec(s)![1]).sort();
    assertEquals(warned, ["eat_meat", "eat_soup"]);
    for (const f of hmp.report.folds) {
      assert(f.missing.train.every((c) => c === "eat_meat" || c === "eat_soup"));
    }
    for (const name of ["mobifall", "wisdm-phone", "daphnet"] as const) {
      assertEquals(got[name]!.report.warnings, [], `${name}: every class in every training part`);
    }
    // the error variant names the class; the cache gives the same windows
    await assertRejects(
      () => loadDontFreezeTarget("hmp-adl", { cacheDir: cache!.path, onMissingClass: "error" }),
      ConfigError,
      "eat_meat",
    );
    const again = await loadDontFreezeTarget("daphnet", { cacheDir: cache!.path });
    assert(again.report.fromCache);
    assertEquals(again.windows.x, got["daphnet"]!.windows.x);
    assertEquals(again.groups, got["daphnet"]!.groups);
    // another seed: other groups, same windows
    const other = await loadDontFreezeTarget("hmp-adl", { cacheDir: cache!.path, seed: 1 });
    assert(JSON.stringify(other.groups) !== JSON.stringify(hmp.groups));
    assertEquals(other.windows.n, hmp.windows.n);
    // the band limit off gives other windows of the same count
    const raw = await loadDontFreezeTarget("daphnet", { cacheDir: null, bandLimitHz: null });
    assertEquals(raw.windows.n, again.windows.n);
    assert(raw.windows.x.some((v, i) => v !== again.windows.x[i]));
  },
});

Deno.test({
  name:
    "source on the real data: WISDM watch (no labels) + .cwa at 50 Hz, ~10 % of users validate, WISDM-phone subjects removed",
  ignore: !data,
  fn: async () => {
    const src = await loadDontFreezeSource({ cacheDir: cache!.path });
    console.log(formatDontFreezeSourceReport(src));
    const r = src.report;
    for (const w of [src.train, src.val]) {
      assertEquals([w.rateHz, w.channels, w.length], [50, 3, 100]);
      assert(w.y.every((v) => v === -1), "unlabelled");
      const g = medianGravity(w);
      assert(g > 0.8 && g < 1.2, `median |mean a| ${g} g`);
    }
    const [tr, va] = [new Set(src.train.subject), new Set(src.val.subject)];
    for (const u of va) assert(!tr.has(u), `${u} in train and val`);
    // 46 watch users − the 18 that are also WISDM phone subjects = 28; round(16/151 · 28) = 3 validate
    assertEquals(r.excluded.length, 18);
    assertEquals(r.users.val.length, 3);
    assertEquals(r.users.train.length, 28 - 3 + 1);
    assert(tr.has("tiny-sample"), "the .cwa recording trains");
    const phone =
      (await loadDontFreezeTarget("wisdm-phone", { cacheDir: cache!.path })).report.users;
    for (const u of phone) {
      assert(!tr.has(u) && !va.has(u), `WISDM phone subject ${u} in the source`);
    }
    assertEquals(r.windows.total, src.train.n + src.val.n);
    assertEquals(r.perSource["axivity-sample"].val.windows, 0);
    assert(r.hours.total > 25 && r.hours.total < 32, `hours ${r.hours.total}`);
    // seeded split
    const same = await loadDontFreezeSource({ cacheDir: cache!.path, seed: 0, excludeTargets: [] });
    const other = await loadDontFreezeSource({
      cacheDir: cache!.path,
      seed: 1,
      excludeTargets: [],
    });
    console.log(formatDontFreezeSourceReport(same));
    assertEquals(same.report.excluded, []);
    assertEquals(same.report.users.val.length, 5, "5 of all 46 watch users");
    assertEquals(same.report.users.train.length, 46 - 5 + 1);
    assert(JSON.stringify(other.report.users.val) !== JSON.stringify(same.report.users.val));
    const again = await loadDontFreezeSource({
      cacheDir: cache!.path,
      seed: 1,
      excludeTargets: [],
    });
    assertEquals(again.report.users, other.report.users);
    assertEquals(again.val.x, other.val.x);
    // explicit subjects
    const fewer = await loadDontFreezeSource({
      cacheDir: cache!.path,
      excludeTargets: [],
      excludeSubjects: ["1600", "1601", "9999"],
      datasets: ["wisdm-watch"],
    });
    assertEquals(fewer.report.excluded, ["1600", "1601"]);
    assertEquals(fewer.report.excludedAbsent, ["9999"]);
    assert(!fewer.train.subject.includes("1600") && !fewer.val.subject.includes("1601"));
    assert(!fewer.train.subject.includes("tiny-sample"));
  },
});

Deno.test({
  name: "missing data and bad names: errors naming the dataset and the folder",
  ignore: !data,
  fn: async () => {
    const empty = await tempDir();
    try {
      await assertRejects(
        () => loadDontFreezeTarget("mobifall", { dataDir: empty.path, cacheDir: null }),
        DatasetUnavailableError,
        `"mobifall" not found`,
      );
      const e = await assertRejects(
        () => loadDontFreezeSource({ dataDir: empty.path, cacheDir: null, excludeTargets: [] }),
        DatasetUnavailableError,
      );
      assert((e as Error).message.includes("wisdm-watch") && e.message.includes(empty.path));
      await assertRejects(
        () => loadDontFreezeSource({ dataDir: empty.path, cacheDir: null }),
        DatasetUnavailableError,
        "wisdm-phone",
      );
    } finally {
      await empty.cleanup();
    }
    await assertRejects(
      () => loadDontFreezeTarget("pamap2" as DontFreezeTargetName),
      ConfigError,
      "unknown name",
    );
    await assertRejects(
      () => loadDontFreezeTarget("daphnet", { classes: ["freeze", "walk"], cacheDir: null }),
      ConfigError,
      `"walk"`,
    );
  },
});
