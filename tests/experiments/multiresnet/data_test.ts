import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { join } from "node:path";
import type { Recording } from "../../../lib/data/types.ts";
import { ConfigError, DatasetUnavailableError } from "../../../lib/errors.ts";
import { rng } from "../../../lib/random.ts";
import { stft } from "../../../lib/signal/stft.ts";
import {
  loadTransferDatasets,
  nestedAdaptationSubsets,
  sharedSubjectPartition,
  spectrogramWindows,
  subsetPart,
  TRANSFER_DATASETS,
  TRANSFER_DEFINITIONS,
  type TransferDataset,
  type TransferPart,
  windowTransferRecordings,
} from "../../../lib/experiments/multiresnet/data.ts";
import { sharedData, tempDir } from "../../_helpers.ts";

const PARTS = ["train", "val", "test"] as const;

// ---------------------------------------------------------------------------
// Synthetic

Deno.test("spectrogramWindows: [n, 7, 17, 3] at 80 samples, nFft 32, hop 8, = 10·log10 of a direct stft power", () => {
  const n = 3, L = 80, C = 3;
  const r = rng(5);
  const x = Float32Array.from({ length: n * L * C }, () => r.normal());
  const s = spectrogramWindows(x, n, L, C, { nFft: 32, hop: 8 });
  const frames = 7, bins = 17;
  assertEquals(s.length, n * frames * bins * C);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < C; c++) {
      const axis = Float32Array.from({ length: L }, (_, t) => x[(i * L + t) * C + c]);
      const ref = stft(axis, { nFft: 32, hop: 8, power: 2 });
      assertEquals([ref.frames, ref.bins], [frames, bins]);
      for (let k = 0; k < frames * bins; k++) {
        const got = s[((i * frames * bins) + k) * C + c];
        assertAlmostEquals(got, 10 * Math.log10(ref.data[k] + 1e-10), 1e-4);
      }
    }
  }
  // a constant 1 g axis: DC power (Σ hann)² = 16² = 256 → 24.08 dB; other bins ~ −100 dB
  const ones = new Float32Array(L * C).fill(1);
  const s1 = spectrogramWindows(ones, 1, L, C, { nFft: 32, hop: 8 });
  assertAlmostEquals(s1[0], 10 * Math.log10(256), 1e-4);
  assert(s1[2 * C] < -90);
  assertThrows(() => spectrogramWindows(x, n, 16, C, { nFft: 32, hop: 8 }), ConfigError);
});

function fakePart(n: number, L: number, C: number, F: number, B: number): TransferPart {
  return {
    x: Float32Array.from({ length: n * L * C }, (_, k) => k),
    spec: Float32Array.from({ length: n * F * B * C }, (_, k) => -k),
    y: Int32Array.from({ length: n }, (_, i) => i % 3),
    subject: Array.from({ length: n }, (_, i) => `s${i}`),
    source: Array.from({ length: n }, (_, i) => `t${i}`),
    n,
  };
}

Deno.test("subsetPart: gathers x, spec, y, subject, source in the order given", () => {
  const dims = { length: 4, channels: 3, frames: 2, bins: 5 };
  const p = fakePart(6, 4, 3, 2, 5);
  const q = subsetPart(p, [4, 1], dims);
  assertEquals(q.n, 2);
  assertEquals(Array.from(q.x.subarray(0, 12)), Array.from(p.x.subarray(4 * 12, 5 * 12)));
  assertEquals(Array.from(q.x.subarray(12)), Array.from(p.x.subarray(12, 24)));
  assertEquals(Array.from(q.spec.subarray(30)), Array.from(p.spec.subarray(30, 60)));
  assertEquals(Array.from(q.y), [1, 1]);
  assertEquals(q.subject, ["s4", "s1"]);
  assertEquals(q.source, ["t4", "t1"]);
  assertThrows(() => subsetPart(p, [6], dims), ConfigError);
});

/** Labels with unequal class sizes: 0 ×500, 1 ×300, 2 ×120, 3 ×50, 4 ×20, 5 ×10 (shuffled). */
function imbalancedLabels(): Int32Array {
  const sizes = [500, 300, 120, 50, 20, 10];
  const y = sizes.flatMap((s, c) => new Array(s).fill(c));
  return Int32Array.from(rng(3).shuffle(y));
}

Deno.test("nestedAdaptationSubsets: nested, stratified, one per class from n ≥ classes, seeded", () => {
  const y = imbalancedLabels();
  const C = 6, N = y.length;
  const sizes = [6, 20, 50, 100, 400, 1000];
  const subs = nestedAdaptationSubsets(y, C, sizes, 7);
  assertEquals(subs.map((s) => s.length), sizes);
  const counts = new Array(C).fill(0);
  y.forEach((c) => counts[c]++);
  for (let k = 0; k < sizes.length; k++) {
    const s = subs[k];
    // ascending, distinct, in range
    for (let j = 1; j < s.length; j++) assert(s[j] > s[j - 1]);
    assert(s[0] >= 0 && s[s.length - 1] < N);
    // nested
    if (k > 0) {
      const big = new Set(subs[k]);
      for (const i of subs[k - 1]) assert(big.has(i), `size ${sizes[k - 1]} ⊄ ${sizes[k]}`);
    }
    // stratified: every class; within one window of its share, small classes held at 1
    // (the windows those take beyond their share, `excess`, come out of the others)
    const c = new Array(C).fill(0);
    for (const i of s) c[y[i]]++;
    const excess = Math.ceil(
      counts.reduce((a, nc) => a + Math.max(0, 1 - (sizes[k] * nc) / N), 0) - 1e-9,
    );
    for (let cl = 0; cl < C; cl++) {
      const share = (sizes[k] * counts[cl]) / N;
      assert(c[cl] >= 1, `size ${sizes[k]}: class ${cl} missing`);
      assert(
        c[cl] <= Math.max(1, Math.ceil(share) + 1),
        `size ${sizes[k]} class ${cl}: ${c[cl]} vs ${share}`,
      );
      assert(
        c[cl] >= Math.floor(share) - 1 - excess,
        `size ${sizes[k]} class ${cl}: ${c[cl]} vs ${share}`,
      );
    }
  }
  // the full part is every window
  assertEquals(nestedAdaptationSubsets(y, C, [N], 1)[0].length, N);
  // deterministic by seed, different across seeds, any order of sizes
  assertEquals(nestedAdaptationSubsets(y, C, sizes, 7), subs);
  const other = nestedAdaptationSubsets(y, C, sizes, 8);
  assert(other[2].some((v, j) => v !== subs[2][j]), "seeds 7 and 8 gave the same subset");
  const rev = nestedAdaptationSubsets(y, C, [...sizes].reverse(), 7);
  assertEquals(rev.reverse(), subs);
  // sizes beyond the part, and bad labels, are errors
  assertThrows(
    () => nestedAdaptationSubsets(y, C, [20, N + 1], 0),
    ConfigError,
    "larger than the part",
  );
  assertThrows(() => nestedAdaptationSubsets(y, C, [0], 0), ConfigError);
  assertThrows(() => nestedAdaptationSubsets(y, 3, [10], 0), ConfigError, "outside");
});

Deno.test("sharedSubjectPartition: one part per subject, close to 40/10/50 in every dataset, seeded", () => {
  const r = rng(11);
  const a: Record<string, number> = {}, b: Record<string, number> = {};
  for (let s = 0; s < 40; s++) a[`u${s}`] = 100 + r.int(100);
  for (let s = 20; s < 60; s += 2) b[`u${s}`] = 50 + r.int(80); // overlap + own subjects
  const fractions = { train: 0.4, val: 0.1, test: 0.5 };
  const part = sharedSubjectPartition([a, b], { fractions, seed: 3 });
  assertEquals(
    Object.keys(part).sort(),
    [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(),
  );
  for (const d of [a, b]) {
    const total = Object.values(d).reduce((x, y) => x + y, 0);
    for (const p of PARTS) {
      const share = Object.entries(d).filter(([s]) =>
        part[s] === p
      ).reduce((x, [, v]) => x + v, 0) /
        total;
      assert(Math.abs(share - fractions[p]) < 0.03, `${p}: ${share}`);
    }
  }
  assertEquals(sharedSubjectPartition([a, b], { fractions, seed: 3 }), part);
  assertThrows(
    () => sharedSubjectPartition([a], { fractions: { train: 0.5, val: 0.1, test: 0.5 }, seed: 0 }),
    ConfigError,
  );
});

/** A regular 32 Hz recording: 9 s of class a, 1 s unlabelled, 20 s of class b; x = the class. */
function twoActivities(): Recording {
  const rate = 32, n = 30 * rate;
  const labels = Int32Array.from(
    { length: n },
    (_, i) => (i < 9 * rate ? 0 : i < 10 * rate ? -1 : 1),
  );
  const x = Float32Array.from(labels, (l) => (l === 1 ? 1 : 0));
  return {
    dataset: "synthetic",
    subject: "s1",
    placement: "wrist",
    rateHz: rate,
    axes: [x, new Float32Array(n), new Float32Array(n).fill(1)],
    axisNames: ["x", "y", "z"],
    labels,
    labelNames: ["a", "b"],
    source: "trial.txt",
  };
}

Deno.test("windowTransferRecordings: no window crosses a label change or a gap; runs start windows afresh", () => {
  const o = { rateHz: 20, windowSec: 4, overlapSec: 2, classes: ["a", "b"] };
  const { windows: w, report, runs } = windowTransferRecordings([twoActivities()], o);
  assertEquals(runs, 2);
  // run a: 9 s → 180 samples → 3 windows; run b: 20 s → 400 samples → 9 windows
  assertEquals(w.n, 12);
  assertEquals(w.length, 80);
  assertEquals(Array.from(w.y), [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  assertEquals(report.dropped.impure ?? 0, 0);
  // every sample of a window carries its class (x = class, also after the anti-aliasing filter)
  for (let i = 0; i < w.n; i++) {
    const xs = w.x.subarray(i * 3 * 80, i * 3 * 80 + 80);
    for (const v of xs) assertAlmostEquals(v, w.y[i], 1e-5);
  }
  // the first window of run b starts at its first sample (10 s), the next 2 s later
  assertAlmostEquals(w.startSec![3], 10, 1e-9);
  assertAlmostEquals(w.startSec![4], 12, 1e-9);

  // a timestamped 20 Hz recording with a 5 s clock gap inside one activity
  const t: number[] = [];
  for (let i = 0; i < 200; i++) t.push(i * 50); // 0 … 9.95 s
  for (let i = 0; i < 200; i++) t.push(15000 + i * 50); // 15 … 24.95 s
  const n = t.length;
  const rec: Recording = {
    dataset: "synthetic",
    subject: "s2",
    placement: "wrist",
    rateHz: 20,
    axes: [0, 1, 2].map(() => Float32Array.from(t, (v) => v / 1000)),
    axisNames: ["x", "y", "z"],
    timestampsMs: Float64Array.from(t),
    labels: new Int32Array(n),
    labelNames: ["a"],
    source: "gap.txt",
  };
  const g = windowTransferRecordings([rec], { ...o, classes: ["a"] }).windows;
  assertEquals(g.n, 8); // 4 windows per 10 s piece
  for (let i = 0; i < g.n; i++) {
    const xs = g.x.subarray(i * 240, i * 240 + 80); // the time itself: a gap would jump by 5 s
    for (let k = 1; k < 80; k++) assertAlmostEquals(xs[k] - xs[k - 1], 0.05, 1e-4);
  }
});

Deno.test("loadTransferDatasets: unknown name is a ConfigError, a missing dataset the registry's error", async () => {
  await assertRejects(
    () => loadTransferDatasets(["hmp-11" as "hmp-10"], { cacheDir: null }),
    ConfigError,
    "unknown transfer dataset",
  );
  const tmp = await tempDir();
  try {
    await assertRejects(
      () => loadTransferDatasets(["hmp-10"], { dataDir: tmp.path, cacheDir: null }),
      DatasetUnavailableError,
      `dataset "hmp-adl" not found`,
    );
  } finally {
    await tmp.cleanup();
  }
});

// ---------------------------------------------------------------------------
// Real data: all four loaded once

const haveAll = () =>
  ["wisdm-2019", "hmp-adl", "mobifall-v2"].map((d) => sharedData(d)).every((d) => d !== null);

let loaded: Promise<Record<string, TransferDataset>> | null = null;
function allDatasets(): Promise<Record<string, TransferDataset>> {
  loaded ??= loadTransferDatasets(TRANSFER_DATASETS, { cacheDir: null });
  return loaded;
}

Deno.test("real data: window counts near the spec's, classes, every class in train and test, fractions 40/10/50 ± 0.1, units g", async () => {
  if (!haveAll()) return;
  const data = await allDatasets();
  for (const name of TRANSFER_DATASETS) {
    const ds = data[name], r = ds.report, def = TRANSFER_DEFINITIONS[name];
    const per = ds.classes.map((c, k) =>
      `${c} ${r.perClass.train[k]}/${r.perClass.val[k]}/${r.perClass.test[k]}`
    );
    console.log(
      `${name}: ${r.windows} windows (spec ${def.specWindows}, ${
        ((100 * (r.windows - def.specWindows)) / def.specWindows).toFixed(2)
      } %); fractions ${PARTS.map((p) => r.fractions[p].toFixed(3)).join("/")}; ` +
        `${
          PARTS.map((p) => r.units[p].length).join("/")
        } ${r.unitKind}; majority ${r.majorityClass} ` +
        `F1 micro ${(100 * r.majorityF1Micro).toFixed(1)} macro ${
          (100 * r.majorityF1Macro).toFixed(2)
        }\n  ${per.join(", ")}`,
    );
    assertEquals(ds.classes, [...def.classes]);
    assert(
      Math.abs(r.windows - def.specWindows) <= 0.05 * def.specWindows,
      `${name}: ${r.windows}`,
    );
    assertEquals(ds.train.n + ds.val.n + ds.test.n, r.windows);
    assertEquals([ds.length, ds.channels, ds.frames, ds.bins, ds.rateHz], [80, 3, 7, 17, 20]);
    for (const p of PARTS) {
      const part = ds[p];
      assertEquals(part.x.length, part.n * 80 * 3);
      assertEquals(part.spec.length, part.n * 7 * 17 * 3);
      assertEquals(part.y.length, part.n);
      assertEquals(r.perClass[p].reduce((a, b) => a + b, 0), part.n);
      assert(
        Math.abs(r.fractions[p] - { train: 0.4, val: 0.1, test: 0.5 }[p]) <= 0.1,
        `${name} ${p}`,
      );
    }
    for (let k = 0; k < ds.classes.length; k++) {
      assert(r.perClass.train[k] > 0 && r.perClass.test[k] > 0, `${name}: ${ds.classes[k]}`);
    }
    // the majority baseline: micro = the test share of the train-majority class
    const m = ds.classes.indexOf(r.majorityClass);
    assertEquals(r.perClass.train[m], Math.max(...r.perClass.train));
    assertAlmostEquals(r.majorityF1Micro, r.perClass.test[m] / ds.test.n, 1e-12);
    const p = r.majorityF1Micro;
    assertAlmostEquals(r.majorityF1Macro, (2 * p) / (1 + p) / ds.classes.length, 1e-12);
    // pure windows over label runs: nothing was impure
    assertEquals(r.dropped.impure ?? 0, 0, `${name}: impure windows`);
    // units: g (the mean |a| of the training windows is about 1 g)
    let sum = 0;
    const x = ds.train.x;
    for (let i = 0; i < x.length; i += 3) sum += Math.hypot(x[i], x[i + 1], x[i + 2]);
    const meanG = sum / (x.length / 3);
    assert(meanG > 0.85 && meanG < 1.3, `${name}: mean |a| ${meanG} g`);
    assert(r.resampled.includes("→ 20 Hz"), r.resampled);
  }
  // spec §6.1 per-class counts of MobiFall-8 at native rates, within 25 % (short trials gain a window at 20 Hz)
  const mf = data["mobifall-8"].report;
  TRANSFER_DEFINITIONS["mobifall-8"].specPerClass!.forEach((s, k) => {
    const got = mf.perClass.train[k] + mf.perClass.val[k] + mf.perClass.test[k];
    assert(Math.abs(got - s) <= 0.25 * s, `mobifall-8 class ${k}: ${got} vs ${s}`);
  });
  assert(data["hmp-10"].report.resampled.includes("anti-aliased"));
  assert(data["wisdm-watch-18"].report.resampled.includes("no filtering"));
});

Deno.test("real data: WISDM watch and phone share one subject partition; HMP trials and MobiFall subjects in one part each", async () => {
  if (!haveAll()) return;
  const data = await allDatasets();
  const partOf = (ds: TransferDataset, key: "subject" | "source") => {
    const m = new Map<string, Set<string>>();
    for (const p of PARTS) {
      for (const k of ds[p][key]) {
        if (!m.has(k)) m.set(k, new Set());
        m.get(k)!.add(p);
      }
    }
    return m;
  };
  const watch = partOf(data["wisdm-watch-18"], "subject");
  const phone = partOf(data["wisdm-phone-18"], "subject");
  let shared = 0;
  for (const [s, parts] of [...watch, ...phone]) {
    assertEquals(parts.size, 1, `subject ${s} in ${[...parts]}`);
  }
  for (const [s, parts] of phone) {
    if (!watch.has(s)) continue;
    shared++;
    assertEquals(
      [...watch.get(s)!],
      [...parts],
      `subject ${s}: watch ${[...watch.get(s)!]}, phone ${[...parts]}`,
    );
  }
  assert(shared >= 15, `${shared} subjects in both devices`);
  const w = data["wisdm-watch-18"].report, ph = data["wisdm-phone-18"].report;
  for (const p of PARTS) {
    for (const s of ph.units[p]) if (watch.has(s)) assert(w.units[p].includes(s));
  }
  // HMP: split by trial, no trial in two parts; trials are the units
  const hmp = data["hmp-10"];
  const trials = partOf(hmp, "source");
  for (const [t, parts] of trials) assertEquals(parts.size, 1, `trial ${t} in ${[...parts]}`);
  assertEquals(hmp.report.unitKind, "trials");
  assertEquals(PARTS.reduce((a, p) => a + hmp.report.units[p].length, 0), trials.size);
  // MobiFall: subjects in one part, 9 ADL subjects 4/1/4 and 15 fall-only 6/2/7 at seed 0
  const mf = data["mobifall-8"];
  for (const [s, parts] of partOf(mf, "subject")) assertEquals(parts.size, 1, `subject ${s}`);
  assert(mf.report.split.includes("9 ADL subjects 4/1/4"), mf.report.split);
  assert(mf.report.split.includes("15 fall-only subjects 6/2/7"), mf.report.split);
  // spectrogram of a real window equals a direct stft of its first axis
  const part = hmp.train;
  const i = 17, axis = Float32Array.from({ length: 80 }, (_, t) => part.x[(i * 80 + t) * 3]);
  const ref = stft(axis, { nFft: 32, hop: 8, power: 2 });
  for (let k = 0; k < 7 * 17; k++) {
    assertAlmostEquals(part.spec[(i * 7 * 17 + k) * 3], 10 * Math.log10(ref.data[k] + 1e-10), 1e-4);
  }
  // ladder on a real training part: nested and every class from the first rung
  const sub = nestedAdaptationSubsets(mf.train.y, 8, [20, 100, mf.train.n], 0);
  assertEquals(new Set(Array.from(sub[0], (j) => mf.train.y[j])).size, 8);
  assertEquals(sub[2].length, mf.train.n);
});

Deno.test("real data: the windows cache gives the same datasets; another seed another partition", async () => {
  if (!sharedData("hmp-adl")) return;
  const tmp = await tempDir();
  try {
    const cacheDir = join(tmp.path, "cache");
    const a = (await loadTransferDatasets(["hmp-10"], { cacheDir }))["hmp-10"];
    const b = (await loadTransferDatasets(["hmp-10"], { cacheDir }))["hmp-10"];
    assertEquals([a.report.fromCache, b.report.fromCache], [false, true]);
    assertEquals(b.report.resampled, a.report.resampled);
    for (const p of PARTS) {
      assertEquals(b[p].n, a[p].n);
      assertEquals(b[p].source, a[p].source);
      assertEquals(b[p].y, a[p].y);
      assert(b[p].x.every((v, k) => v === a[p].x[k]));
    }
    const c = (await loadTransferDatasets(["hmp-10"], { cacheDir, seed: 1 }))["hmp-10"];
    assert(c.report.fromCache);
    assert(c.report.units.test.join() !== a.report.units.test.join(), "seed 1 gave seed 0's split");
    assert(Math.abs(c.report.fractions.train - 0.4) <= 0.1);
  } finally {
    await tmp.cleanup();
  }
});
