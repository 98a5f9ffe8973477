import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { ConfigError, DataFormatError } from "../../lib/errors.ts";
import type { Recording } from "../../lib/data/types.ts";
import { DAPHNET_AXES, DAPHNET_CLASSES } from "../../lib/data/daphnet.ts";
import { MOBIFALL_CODES } from "../../lib/data/mobifall.ts";
import { WISDM_ACTIVITIES } from "../../lib/data/wisdm.ts";
import { rng } from "../../lib/random.ts";
import {
  DAPHNET_HUNT4_CHANNELS,
  daphnetLosoFolds,
  downAxis,
  excludeSubjects,
  fftLowpass,
  findDeadChannels,
  fourierResampleChannels,
  hoursOf,
  loadDaphnetDual,
  loadThighPool,
  nestedSubsets,
  prepareDaphnetDual,
  prepareDaphnetThigh,
  prepareMobiFall,
  prepareWisdmPhone,
  resampledLength,
  resampleLabelsNearest,
  roundHalfEven,
  type SelfpabSegment,
} from "../../lib/experiments/selfpab/data.ts";
import { sharedData } from "../_helpers.ts";

const quiet = () => {};

/** A synthetic 9-axis Daphnet run at 64 Hz: noise + gravity on each sensor's y (vertical). */
function daphnetRun(
  name: string,
  n: number,
  labels: (i: number) => number,
  opts: { deadThighFrom?: number; seed?: number; offsets?: number[] } = {},
): Recording {
  const r = rng(opts.seed ?? 1);
  const axes = DAPHNET_AXES.map((a, c) => {
    const base = opts.offsets?.[c] ?? (a.endsWith("_y") ? 0.9 : 0.1 * (c % 3));
    return Float32Array.from(
      { length: n },
      (_, i) =>
        a.startsWith("thigh") && opts.deadThighFrom !== undefined && i >= opts.deadThighFrom
          ? 0
          : base + 0.05 * r.normal(),
    );
  });
  const subject = /^(S\d+)/.exec(name)![1];
  return {
    dataset: "daphnet",
    subject,
    placement: "ankle+thigh+trunk",
    device: "daphnet",
    rateHz: 64,
    axes,
    axisNames: [...DAPHNET_AXES],
    timestampsMs: Float64Array.from({ length: n }, (_, i) => i * 15.625),
    labels: Int32Array.from({ length: n }, (_, i) => labels(i)),
    labelNames: [...DAPHNET_CLASSES],
    source: `/data/daphnet-fog/${name}.txt.gz`,
    meta: { run: Number(/R(\d+)/.exec(name)![1]) },
  };
}

function meanOf(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

Deno.test("roundHalfEven / resampledLength / resampleLabelsNearest follow Python's rounding", () => {
  // Python: round(0.5)=0, round(1.5)=2, round(2.5)=2, round(-1.5)=-2, round(2.4999)=2
  assertEquals([0.5, 1.5, 2.5, -1.5, 2.4999, 3.7].map(roundHalfEven), [0, 2, 2, -2, 2, 4]);
  // python3: round(16*(50/64)) = 12 (12.5 to even); round(52095*(50/64)) = 40699
  assertEquals(resampledLength(16, 64, 50), 12);
  assertEquals(resampledLength(52095, 64, 50), 40699);
  // np.round((10/4)*np.arange(4)) = [0, 2, 5, 8]
  const lab = Int32Array.from([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  assertEquals([...resampleLabelsNearest(lab, 4)], [10, 12, 15, 18]);
});

Deno.test("fourierResampleChannels equals scipy.signal.resample; too few samples is an error", () => {
  // python3: scipy.signal.resample(x, 10) of the 13 values below (scipy 1.17)
  const x = [0.3, -1.2, 0.8, 2.0, -0.5, 0.1, 1.7, -2.2, 0.4, 0.9, -0.3, 1.1, 0.0];
  const want = [
    0.0131256196,
    -0.9758739172,
    2.2573041309,
    -0.5875559438,
    1.1484440747,
    -0.5517563785,
    -0.4517473644,
    0.7432902353,
    0.2441015308,
    0.5452833972,
  ]; // deno-fmt-ignore
  // 13 * 50/65 = 10 exactly
  const r = fourierResampleChannels([x], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1], 65, 50, "f.txt");
  want.forEach((v, i) => assertAlmostEquals(r.axes[0][i], v, 1e-6));
  // labels: np.round((13/10) * np.arange(10)) = 0,1,3,4,5,6,8,9,10,12 (6.5 → 6, half to even)
  assertEquals([...r.labels!], [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  // 16 samples 64 → 50 Hz: 12 samples (python: round(12.5) = 12)
  const x16 = Array.from({ length: 16 }, (_, i) => (i % 5) - 1.5);
  const r16 = fourierResampleChannels([x16], undefined, 64, 50, "f.txt");
  assertEquals(r16.axes[0].length, 12);
  // scipy.signal.resample(np.arange(16)%5-1.5, 12)[[0, 3, 11]]
  assertAlmostEquals(r16.axes[0][0], -2.0301893008, 1e-6);
  assertAlmostEquals(r16.axes[0][3], 2.050067977, 1e-6);
  assertAlmostEquals(r16.axes[0][11], 0.2764263725, 1e-6);
  const e = assertThrows(
    () => fourierResampleChannels([[1, 2]], undefined, 64, 20, "/d/S09R01.txt"), // 2 → round(0.625) = 1
    DataFormatError,
  );
  assert(/S09R01\.txt.*too few samples/.test(e.message), e.message);
});

Deno.test("findDeadChannels: flat stretches over a large part of the run, or constant throughout", () => {
  const r = rng(3);
  const n = 6400; // 100 s at 64 Hz
  const live = Float32Array.from({ length: n }, () => r.normal());
  const deadPart = Float32Array.from(live, (v, i) => (i > 4000 ? 0 : v)); // 37.5 % flat, 37 s
  const holds = Float32Array.from(live, (v, i) => (i % 1000 < 320 ? 0.5 : v)); // 5-s holds, 32 %
  const constant = new Float32Array(n).fill(0.98);
  const dead = findDeadChannels([live, deadPart, holds, constant], ["a", "b", "c", "d"], 64);
  assertEquals(dead.map((d) => d.channel), ["b", "d"]);
  assertAlmostEquals(dead[0].deadFraction, 2399 / n, 1e-9);
  assertAlmostEquals(dead[0].longestConstantSec, 2399 / 64, 1e-9);
  assertEquals(dead[0].heldValue, 0);
  assertEquals(dead[1].deadFraction, 1);
  // the holds count once they are long enough
  assertEquals(
    findDeadChannels([holds], ["c"], 64, { minConstantSec: 4 }).map((d) => d.channel),
    ["c"],
  );
  assertThrows(() => findDeadChannels([live], ["a"], 64, { maxDeadFraction: 0 }), ConfigError);
});

Deno.test("prepareDaphnetDual: HUNT4 order, mg→g kept, 64→50 Hz, labels, dead thigh excluded or an error", () => {
  const n = 64 * 60;
  // file axes get distinct offsets so the mapping can be read off the output means
  const offsets = [0.01, 0.02, 0.03, 0.11, 0.12, 0.13, 0.21, 0.22, 0.23];
  const lab = (i: number) => (i < 640 ? -1 : i < 2000 ? 0 : 1);
  const ok = daphnetRun("S01R02", n, lab, { offsets });
  const bad = daphnetRun("S03R03", n, lab, { deadThighFrom: 1000, seed: 2 });
  const logs: string[] = [];
  const d = prepareDaphnetDual([ok, bad], { log: (m) => logs.push(m) });
  assertEquals(d.runs.length, 1);
  const run = d.runs[0];
  assertEquals(run.axisNames, [...DAPHNET_HUNT4_CHANNELS]);
  assertEquals(run.rateHz, 50);
  assertEquals(run.trial, "S01R02");
  assertEquals(run.axes[0].length, 3000); // 3840 * 50/64
  // trunk_vert = trunk_y (0.22), trunk_lat = trunk_z (0.23), trunk_fwd = trunk_x (0.21), thigh: 0.12 0.13 0.11
  const means = run.axes.map(meanOf);
  [0.22, 0.23, 0.21, 0.12, 0.13, 0.11].forEach((m, c) => assertAlmostEquals(means[c], m, 0.005));
  // labels by nearest index: output i ← input round(i*64/50)
  for (const i of [0, 499, 500, 1562, 1563, 2999]) {
    assertEquals(run.labels[i], lab(Math.min(n - 1, roundHalfEven(i * (n / 3000)))));
  }
  assertEquals(
    d.report[0].freezeSamples + d.report[0].noFreezeSamples + d.report[0].maskedSamples,
    3000,
  );
  // the dead thigh: excluded, reason recorded and logged
  assertEquals(d.excluded.length, 1);
  assertEquals(d.excluded[0].trial, "S03R03");
  assertEquals(d.excluded[0].channels.sort(), ["thigh_x", "thigh_y", "thigh_z"]);
  assert(/thigh_y/.test(d.excluded[0].reason));
  assert(logs.length === 1 && /S03R03\.txt\.gz/.test(logs[0]), logs.join("\n"));
  assert(d.report[1].excluded);
  const e = assertThrows(
    () => prepareDaphnetDual([bad], { onDeadSensor: "error", log: quiet }),
    DataFormatError,
  );
  assert(/S03R03\.txt\.gz.*dead sensor channel.*thigh_y/.test(e.message), e.message);
});

Deno.test("prepareDaphnetDual: missing placement, non-finite value, bad timestamps, too short", () => {
  const lab = () => 0;
  const noTrunk = daphnetRun("S02R01", 640, lab);
  noTrunk.axes = noTrunk.axes.slice(0, 6);
  noTrunk.axisNames = noTrunk.axisNames.slice(0, 6);
  let e = assertThrows(() => prepareDaphnetDual([noTrunk], { log: quiet }), DataFormatError);
  assert(
    /S02R01\.txt\.gz.*missing trunk\/thigh channel\(s\) trunk_y, trunk_z, trunk_x/.test(e.message),
    e.message,
  );

  const nan = daphnetRun("S02R01", 640, lab);
  nan.axes[7][123] = NaN; // trunk_y
  e = assertThrows(() => prepareDaphnetDual([nan], { log: quiet }), DataFormatError);
  assert(
    /S02R01\.txt\.gz: channel trunk_y: non-finite value NaN at sample 123/.test(e.message),
    e.message,
  );

  const dup = daphnetRun("S02R01", 640, lab);
  dup.timestampsMs![50] = dup.timestampsMs![49];
  e = assertThrows(() => prepareDaphnetDual([dup], { log: quiet }), DataFormatError);
  assert(/S02R01\.txt\.gz: data row 51: timestamp .* repeats/.test(e.message), e.message);
  const back = daphnetRun("S02R01", 640, lab);
  back.timestampsMs![50] = 10;
  e = assertThrows(() => prepareDaphnetDual([back], { log: quiet }), DataFormatError);
  assert(/goes backwards/.test(e.message), e.message);

  const short = daphnetRun("S02R01", 1, lab);
  e = assertThrows(() => prepareDaphnetDual([short], { log: quiet }), DataFormatError);
  assert(/too few samples/.test(e.message), e.message);
});

Deno.test("daphnetLosoFolds: folds from the data, freeze subjects vs specificity-only", () => {
  const n = 64 * 20;
  const runs = prepareDaphnetDual([
    daphnetRun("S07R02", n, (i) => (i > 600 && i < 700 ? 1 : 0)),
    daphnetRun("S06R02", n, () => 0),
    daphnetRun("S01R01", n, () => 0),
    daphnetRun("S01R02", n, (i) => (i === 1000 ? 1 : 0)),
  ], { log: quiet }).runs;
  const folds = daphnetLosoFolds(runs);
  assertEquals(folds.map((f) => [f.testSubject, f.kind]), [
    ["S01", "freeze"],
    ["S06", "specificity"],
    ["S07", "freeze"],
  ]);
  assertEquals(folds[0].testTrials, ["S01R01", "S01R02"]);
  assertEquals(folds[0].trainSubjects, ["S06", "S07"]);
  assertEquals(folds[2].trainTrials.sort(), ["S01R01", "S01R02", "S06R02"]);
  assert(folds[0].freezeSamples >= 1 && folds[1].freezeSamples === 0);
});

Deno.test("downAxis / reorientation: the axis whose |mean| is closest to 1 g goes to x", () => {
  const c = (v: number) => new Float32Array(100).fill(v);
  assertEquals(downAxis([c(0.2), c(-0.98), c(1.3)]), { index: 1, negative: true });
  assertEquals(downAxis([c(0.9), c(0.1), c(0.1)]), { index: 0, negative: false });
  // a WISDM-like recording, gravity on z
  const r = rng(4);
  const n = 20 * 30;
  const rec: Recording = {
    dataset: "wisdm-phone",
    subject: "1600",
    placement: "pocket",
    device: "phone",
    rateHz: 20,
    axes: [0.1, 0.3, -1].map((m) => Float32Array.from({ length: n }, () => m + 0.02 * r.normal())),
    axisNames: ["x", "y", "z"],
    timestampsMs: Float64Array.from({ length: n }, (_, i) => i * 50),
    labels: Int32Array.from({ length: n }, (_, i) => (i < 300 ? 0 : 3)),
    labelNames: [...WISDM_ACTIVITIES],
    source: "data_1600_accel_phone.txt",
  };
  const on = prepareWisdmPhone([rec], { log: quiet }).segments;
  assertEquals(on.length, 2);
  assertEquals(on.map((s) => s.trial), ["0#0", "3#0"]);
  assertEquals(on[0].axes[0].length, 750); // 300 * 50/20
  assertAlmostEquals(meanOf(on[0].axes[0]), -1, 0.01);
  assertAlmostEquals(meanOf(on[0].axes[2]), 0.1, 0.01);
  assertEquals(on[0].meta!.downAxis, "z");
  assertEquals([...new Set(on[1].labels)], [3]);
  const off = prepareWisdmPhone([rec], { reorient: false, log: quiet }).segments;
  assertAlmostEquals(meanOf(off[0].axes[0]), 0.1, 0.01);
  // per-segment scope: the second activity has gravity on x
  const rec2 = { ...rec, axes: rec.axes.map((a) => Float32Array.from(a)) };
  for (let i = 300; i < n; i++) {
    rec2.axes[0][i] = 1 + 0.02 * r.normal();
    rec2.axes[2][i] = 0.02 * r.normal();
  }
  const seg = prepareWisdmPhone([rec2], { reorientScope: "segment", log: quiet }).segments;
  assertEquals([seg[0].meta!.downAxis, seg[1].meta!.downAxis], ["z", "x"]);
});

Deno.test("prepareWisdmPhone: splits at gaps, drops short pieces, rejects repeated timestamps", () => {
  const n = 400;
  const rec: Recording = {
    dataset: "wisdm-phone",
    subject: "1601",
    placement: "pocket",
    rateHz: 20,
    axes: [0, 1, 2].map((k) =>
      Float32Array.from({ length: n }, (_, i) => (k === 1 ? 1 : 0) + Math.sin(i + k))
    ),
    axisNames: ["x", "y", "z"],
    // 5-s gap after row 200, then a 10-row piece of another activity
    timestampsMs: Float64Array.from({ length: n }, (_, i) => i * 50 + (i >= 200 ? 5000 : 0)),
    labels: Int32Array.from({ length: n }, (_, i) => (i < 390 ? 1 : 2)),
    labelNames: [...WISDM_ACTIVITIES],
    source: "data_1601_accel_phone.txt",
  };
  const { segments, report } = prepareWisdmPhone([rec], { log: quiet });
  assertEquals(segments.map((s) => s.trial), ["1#0", "1#1"]);
  assertEquals(report.gapSplits, 1);
  assertEquals(report.droppedShort, 1); // the 10-row (0.5 s) piece
  assertAlmostEquals(report.hours, (200 + 190) / 20 / 3600, 1e-9);
  const dup = { ...rec, timestampsMs: Float64Array.from(rec.timestampsMs!) };
  dup.timestampsMs[100] = dup.timestampsMs[99];
  const e = assertThrows(() => prepareWisdmPhone([dup], { log: quiet }), DataFormatError);
  assert(/data_1601_accel_phone\.txt: data row 101: .* repeats/.test(e.message), e.message);
});

Deno.test("prepareMobiFall: irregular samples → uniform grid → 50 Hz; ADL codes only; low-pass", () => {
  const r = rng(5);
  const make = (code: string, trial: number, n: number): Recording => {
    const t = new Float64Array(n);
    for (let i = 1; i < n; i++) t[i] = t[i - 1] + 10 + 3 * r.next(); // ~87 Hz, jittered
    const f = (ti: number) =>
      Math.sin(2 * Math.PI * 2 * ti / 1000) + 0.3 * Math.sin(2 * Math.PI * 15 * ti / 1000);
    return {
      dataset: "mobifall",
      subject: "sub3",
      placement: "pocket",
      device: "phone",
      rateHz: 1000 / 11.5,
      axes: [
        Float32Array.from(t, f),
        Float32Array.from(t, () => 1 + 0.01 * r.normal()),
        Float32Array.from(t, () => 0.01 * r.normal()),
      ],
      axisNames: ["x", "y", "z"],
      timestampsMs: t,
      labels: new Int32Array(n).fill(MOBIFALL_CODES.indexOf(code)),
      labelNames: [...MOBIFALL_CODES],
      source: `${code}_acc_3_${trial}.txt`,
      meta: { code, trial },
    };
  };
  const recs = [make("WAL", 1, 870), make("FOL", 1, 500), make("CSI", 2, 900)];
  const { segments } = prepareMobiFall(recs, { reorient: false, log: quiet });
  assertEquals(segments.map((s) => s.trial), ["WAL_1", "CSI_2"]);
  assertEquals(segments[0].labelNames, [
    "STD",
    "WAL",
    "JOG",
    "JUM",
    "STU",
    "STN",
    "SCH",
    "CSI",
    "CSO",
  ]);
  assertEquals([...new Set(segments[0].labels)], [1]);
  assertEquals([...new Set(segments[1].labels)], [7]);
  // the 50 Hz output follows the analytic signal (away from the FFT's wrap-around edges)
  const seg = segments[0];
  assertAlmostEquals(seg.meta!.gridHz as number, 1000 / 11.5, 1e-9);
  let maxErr = 0;
  for (let i = 50; i < seg.axes[0].length - 50; i++) {
    const ti = (i * 1000) / 50; // the grid starts at t = 0
    const want = Math.sin(2 * Math.PI * 2 * ti / 1000) +
      0.3 * Math.sin(2 * Math.PI * 15 * ti / 1000);
    maxErr = Math.max(maxErr, Math.abs(seg.axes[0][i] - want));
  }
  assert(maxErr < 0.1, `max error ${maxErr}`);
  // 10 Hz low-pass removes the 15 Hz part: only the 2 Hz sine is left
  const from2Hz = (s: SelfpabSegment) => {
    let m = 0;
    for (let i = 50; i < s.axes[0].length - 50; i++) {
      m = Math.max(m, Math.abs(s.axes[0][i] - Math.sin(2 * Math.PI * 2 * i / 50)));
    }
    return m;
  };
  const lp = prepareMobiFall(recs, { reorient: false, lowpassHz: 10, log: quiet }).segments[0];
  assert(from2Hz(seg) > 0.25, `before low-pass ${from2Hz(seg)}`);
  assert(from2Hz(lp) < 0.1, `after low-pass ${from2Hz(lp)}`);
  // with the falls
  assertEquals(
    prepareMobiFall(recs, { mobifallCodes: MOBIFALL_CODES, log: quiet }).segments.length,
    3,
  );
  assertThrows(() => prepareMobiFall(recs, { mobifallCodes: ["XXX"] }), ConfigError);
  const back = make("WAL", 3, 300);
  back.timestampsMs![10] = back.timestampsMs![9] - 1;
  const e = assertThrows(() => prepareMobiFall([back], { log: quiet }), DataFormatError);
  assert(/WAL_acc_3_3\.txt: data row 11: .* goes backwards/.test(e.message), e.message);
});

Deno.test("fftLowpass: keeps content below the cut-off, removes content above", () => {
  const n = 500;
  const x = Float32Array.from(
    { length: n },
    (_, i) => Math.sin(2 * Math.PI * 2 * i / 50) + Math.sin(2 * Math.PI * 15 * i / 50),
  );
  const y = fftLowpass(x, 50, 10);
  for (let i = 0; i < n; i++) assertAlmostEquals(y[i], Math.sin(2 * Math.PI * 2 * i / 50), 1e-6);
});

Deno.test("prepareDaphnetThigh: thigh only, missing placement is a clear error", () => {
  const ok = daphnetRun("S01R02", 64 * 30, () => 0);
  const dead = daphnetRun("S03R03", 64 * 30, () => 0, { deadThighFrom: 100 });
  const { segments, report } = prepareDaphnetThigh([ok, dead], { log: quiet });
  assertEquals(segments.length, 1);
  assertEquals(segments[0].dataset, "daphnet-thigh");
  assertEquals(segments[0].axes[0].length, 1500);
  assertAlmostEquals(meanOf(segments[0].axes[0]), 0.9, 0.01); // thigh_y (vertical) → x
  assertEquals(report.excluded.map((x) => x.trial), ["S03R03"]);
  const noThigh = { ...ok, axes: ok.axes.slice(0, 3), axisNames: ok.axisNames.slice(0, 3) };
  const e = assertThrows(() => prepareDaphnetThigh([noThigh], { log: quiet }), DataFormatError);
  assert(/S01R02\.txt\.gz: missing placement "thigh"/.test(e.message), e.message);
});

function fakeSegments(): SelfpabSegment[] {
  const out: SelfpabSegment[] = [];
  const r = rng(9);
  for (let k = 0; k < 120; k++) {
    const n = Math.round(50 * (60 + 600 * r.next())); // 1-11 min
    out.push({
      dataset: k % 3 === 0 ? "mobifall" : "wisdm-phone",
      subject: `s${k % 7}`,
      placement: "pocket",
      rateHz: 50,
      axes: [new Float32Array(n), new Float32Array(n), new Float32Array(n)],
      axisNames: ["x", "y", "z"],
      labels: new Int32Array(n),
      labelNames: ["a"],
      source: `f${k}`,
      trial: `t${k}`,
    });
  }
  return out;
}

Deno.test("nestedSubsets: seeded, nested, reaching each target; short pool flagged", () => {
  const segs = fakeSegments();
  const total = hoursOf(segs);
  const logs: string[] = [];
  const subs = nestedSubsets(segs, [1, 3, 5, 1000], 11, (m) => logs.push(m));
  for (let i = 0; i < 3; i++) {
    const s = subs[i];
    assert(s.hours >= s.targetHours, `${s.hours} < ${s.targetHours}`);
    assert(s.hours - s.targetHours < 11 / 60 + 1e-9, "overshoot ≤ one segment");
    assertAlmostEquals(s.hours, hoursOf(s.segments), 1e-9);
    const big = new Set(subs[i + 1].segments);
    assert(s.segments.every((g) => big.has(g)), "nested");
    assert(!s.short);
  }
  assert(subs[3].short && subs[3].segments.length === segs.length);
  assertAlmostEquals(subs[3].hours, total, 1e-9);
  assertEquals(logs.length, 1);
  assertAlmostEquals(
    Object.values(subs[1].hoursBySource).reduce((a, b) => a + b, 0),
    subs[1].hours,
    1e-9,
  );
  const again = nestedSubsets(segs, [1, 3, 5], 11, quiet);
  assertEquals(again[1].segments.map((g) => g.trial), subs[1].segments.map((g) => g.trial));
  const other = nestedSubsets(segs, [3], 12, quiet);
  assert(
    other[0].segments.map((g) => g.trial).join() !== subs[1].segments.map((g) => g.trial).join(),
  );
  assertThrows(() => nestedSubsets(segs, [3, 1], 1, quiet), ConfigError);
  assertThrows(() => nestedSubsets([], [1], 1, quiet), ConfigError);
});

Deno.test("excludeSubjects: a fold's test subjects never reach pre-training", () => {
  const segs = fakeSegments();
  segs[0].dataset = "daphnet-thigh";
  segs[0].subject = "S01";
  const kept = excludeSubjects(segs, ["mobifall:s0", "wisdm-phone:s1", "daphnet:S01"]);
  assert(kept.every((g) => !(g.dataset === "mobifall" && g.subject === "s0")));
  assert(kept.every((g) => !(g.dataset === "wisdm-phone" && g.subject === "s1")));
  assert(!kept.includes(segs[0]));
  assert(kept.some((g) => g.subject === "s0")); // wisdm-phone:s0 is another person
  assertEquals(
    kept.length,
    segs.filter((g) =>
      !(g.dataset === "mobifall" && g.subject === "s0") &&
      !(g.dataset === "wisdm-phone" && g.subject === "s1") && g !== segs[0]
    ).length,
  );
  const e = assertThrows(() => excludeSubjects(segs, ["s0"]), ConfigError);
  assert(/"s0" is not "<dataset>:<subject>"/.test(e.message));
});

Deno.test("real Daphnet: dual-sensor runs, dead S03R03 thigh, folds from the data", async () => {
  if (!sharedData("daphnet-fog")) return;
  const logs: string[] = [];
  const d = await loadDaphnetDual({ log: (m) => logs.push(m) });
  assertEquals(d.runs.map((r) => r.trial), [
    "S01R02",
    "S02R01",
    "S02R02",
    "S03R02",
    "S06R02",
    "S07R02",
  ]);
  assertEquals(d.excluded.map((x) => x.trial), ["S03R03"]);
  assert(/thigh/.test(d.excluded[0].reason) && logs.some((l) => /S03R03/.test(l)));
  for (const r of d.report.filter((x) => !x.excluded)) {
    // the vertical (file y) axis carries gravity: trunk_vert has the largest |mean| of the
    // trunk (not in the excluded S03R03: trunk y 0.51 g, z -0.52 g)
    const m = r.channelMeanG.map(Math.abs);
    assert(m[0] > 0.5 && m[0] > m[1] && m[0] > m[2], `${r.trial} trunk means ${r.channelMeanG}`);
    assertEquals(r.samplesOut, roundHalfEven(r.samplesIn * (50 / 64)));
  }
  assertEquals(d.runs[0].axes[0].length, 40699);
  // spec §7.1: freeze ≈ 4.4 min in total, 43 episodes
  let freeze = 0, episodes = 0;
  for (const r of d.runs) {
    for (let i = 0; i < r.labels.length; i++) {
      if (r.labels[i] === 1) {
        freeze++;
        if (i === 0 || r.labels[i - 1] !== 1) episodes++;
      }
    }
  }
  assertAlmostEquals(freeze / 50 / 60, 4.4, 0.05);
  assertEquals(episodes, 43);
  const folds = daphnetLosoFolds(d.runs);
  assertEquals(folds.filter((f) => f.kind === "freeze").map((f) => f.testSubject), [
    "S01",
    "S02",
    "S03",
    "S07",
  ]);
  assertEquals(folds.filter((f) => f.kind === "specificity").map((f) => f.testSubject), ["S06"]);
  const onErr = await loadDaphnetDual({ subjects: ["S03"], onDeadSensor: "error", log: quiet })
    .then(() => null, (e) => e);
  assert(onErr instanceof DataFormatError && /S03R03.*thigh/.test(onErr.message), String(onErr));
});

Deno.test("real thigh pool: hours per source, 393 WISDM segments, 50 Hz in g", async () => {
  if (!sharedData("wisdm-2019") || !sharedData("mobifall-v2") || !sharedData("daphnet-fog")) return;
  const pool = await loadThighPool({ mobifallCodes: MOBIFALL_CODES, log: quiet });
  const h = pool.hoursBySource;
  console.log("thigh pool hours:", JSON.stringify(h));
  // spec §7.2: WISDM 19.9 h counted at the nominal 20 Hz (393 segments); one phone runs at
  // 25 Hz and most at 19.86 Hz, so the resampled duration is a little less
  assertEquals(pool.bySource["wisdm-phone"].segments, 393);
  assert(h["wisdm-phone"] > 19.5 && h["wisdm-phone"] < 19.95, String(h["wisdm-phone"]));
  // MobiFall with the falls: 3.30 h (python3 over the timestamps: 3.302 h in 630 files)
  assertEquals(pool.bySource["mobifall"].recordings, 630);
  assertAlmostEquals(h["mobifall"], 3.30, 0.02);
  // Daphnet thigh without S03R03: (417906 - 70269) rows / 64 Hz = 1.509 h (1.81 h with it)
  assertAlmostEquals(h["daphnet-thigh"], 1.509, 0.002);
  for (const s of pool.segments) {
    assertEquals(s.rateHz, 50);
    assertEquals(s.axes.length, 3);
  }
  // reoriented: x holds gravity on average
  const wal = pool.segments.filter((s) =>
    s.dataset === "mobifall" && s.labelNames[s.labels[0]] === "STD"
  );
  const mx = wal.map((s) => Math.abs(meanOf(s.axes[0])));
  assert(mx.every((m) => m > 0.7 && m < 1.3), `STD |mean x| ${mx.slice(0, 5)}`);
});
