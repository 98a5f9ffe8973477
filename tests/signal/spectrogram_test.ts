// SelfPAB's input pipeline (selfpab.md §1, §3.2, §3.4, §7.0): channel-major spectrogram
// frames, HUNT4 normalisation, frame labels, 599-frame windows, inference re-assembly, and
// parity with the numpy reference on a committed Daphnet fixture.
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readNpy } from "../../lib/data/npy.ts";
import type { Recording } from "../../lib/data/types.ts";
import { ConfigError, DataFormatError, DatasetUnavailableError } from "../../lib/errors.ts";
import { fourierResample } from "../../lib/signal/resample.ts";
import {
  argmaxRows,
  cutWindows,
  frameLabels,
  HUNT4_NORM,
  hunt4NormDir,
  inferencePad,
  inferencePadLength,
  inferenceWindowCount,
  normalise,
  overlapMean,
  readNormParams,
  reassemble,
  recordingFeatures,
  SELFPAB_AXIS_ORDER,
  spectrogramFeatures,
  type SpectrogramFrames,
  STD_FLOOR,
  trainingWindowCount,
} from "../../lib/signal/spectrogram.ts";
import { tempDir } from "../_helpers.ts";

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "selfpab_daphnet");

const constant = (n: number, v: number) => new Float32Array(n).fill(v);
const noise = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 * seed) + 0.01 * ((i * seed) % 5));

Deno.test("spectrogramFeatures: channel-major c*26+f frames, 156 for six channels, 78 for three", () => {
  // constant a_c g in channel c: bin 0 = 25 a_c, bin 1 = 12.5 a_c, at feature c*26 (not f*6+c)
  const levels = [1, 0.5, 0.25, 2, 0.1, 0.75];
  const f = spectrogramFeatures(levels.map((a) => constant(15000, a)), {
    sampleRateHz: 50,
    allowDeadChannels: true,
  });
  assertEquals([f.frames, f.features, f.channels, f.bins], [599, 156, 6, 26]);
  for (const t of [0, 300, 598]) {
    levels.forEach((a, c) => {
      assertAlmostEquals(f.data[t * 156 + c * 26], 25 * a, 1e-5);
      assertAlmostEquals(f.data[t * 156 + c * 26 + 1], 12.5 * a, 1e-5);
      assertAlmostEquals(f.data[t * 156 + c * 26 + 2], 0, 1e-5);
    });
  }
  const thigh = spectrogramFeatures([noise(1000, 1), noise(1000, 2), noise(1000, 3)]);
  assertEquals([thigh.frames, thigh.features], [39, 78]);
});

Deno.test("spectrogram: Daphnet S01R02 5-min fixture matches selfpab_reference.py within 1e-4", async () => {
  // Made by tests/fixtures/selfpab_daphnet/make_fixture.py (see its docstring): the first
  // 19 200 rows (64 Hz, mg) of S01R02 -> /1000 -> scipy.signal.resample to 15 000 samples
  // -> HUNT4 axis order -> selfpab_reference.stft_mag -> normalize(HUNT4 156). Here: the
  // same input through fourierResample (= scipy.signal.resample) and our pipeline.
  const raw = await readNpy(join(FIXTURE, "S01R02_5min_64hz_mg.npy.gz"));
  assertEquals(raw.shape, [19200, 6]);
  const mg = raw.data as Int16Array;
  // fixture columns: thigh_x, thigh_y, thigh_z, trunk_x, trunk_y, trunk_z (fwd, vert, lat)
  const names = ["thigh_x", "thigh_y", "thigh_z", "trunk_x", "trunk_y", "trunk_z"];
  const channels = SELFPAB_AXIS_ORDER.daphnet.dual!.map((axis) => {
    const col = names.indexOf(axis);
    const g = Float64Array.from({ length: 19200 }, (_, i) => mg[i * 6 + col] / 1000);
    return fourierResample(g, 15000);
  });
  const spec = spectrogramFeatures(channels, { sampleRateHz: 50, source: "S01R02" });
  assertEquals(spec.frames, 599);
  const z = normalise(spec, await readNormParams(hunt4NormDir("HUNT4")));
  const ref = await readNpy(join(FIXTURE, "z_every3.npy.gz"));
  assertEquals(ref.shape, [200, 156]);
  const want = ref.data as Float32Array;
  let worst = 0;
  for (let k = 0; k < 200; k++) {
    for (let f = 0; f < 156; f++) {
      const w = want[k * 156 + f], got = z.data[3 * k * 156 + f];
      const err = Math.abs(got - w) / Math.max(Math.abs(w), 1);
      worst = Math.max(worst, err);
      assert(err <= 1e-4, `frame ${3 * k} feature ${f}: ${got} vs reference ${w}`);
    }
  }
  console.log(`max relative error vs the numpy reference: ${worst.toExponential(2)}`);
  // frame labels: the reference's argmax(bincount) over file codes 0/1/2 of the 50 Hz labels
  // (nearest index round(i·19200/15000)); ours map 0 -> unlabelled (-1), 1 -> 0, 2 -> 1
  const lab64 = (await readNpy(join(FIXTURE, "S01R02_5min_labels.npy.gz"))).data as Int8Array;
  const codes50 = Int32Array.from(
    { length: 15000 },
    (_, i) => lab64[Math.round((i * 19200) / 15000)],
  );
  const refFrames = (await readNpy(join(FIXTURE, "frame_labels_ref.npy.gz"))).data as Int8Array;
  const ours = frameLabels(codes50.map((c) => c - 1));
  assertEquals(ours.frames, 599);
  let labelled = 0;
  for (let t = 0; t < 599; t++) {
    let zeros = 0;
    for (let i = 25 * t; i < 25 * t + 50; i++) if (codes50[i] === 0) zeros++;
    if (refFrames[t] > 0) {
      assertEquals(ours.labels[t], refFrames[t] - 1, `frame ${t}`);
      labelled++;
    } else if (zeros > 25) assertEquals(ours.mask[t], 0, `frame ${t}: mostly unlabelled`);
  }
  assert(labelled >= 90, `only ${labelled} labelled frames in the fixture`);
});

Deno.test("readNormParams: HUNT4 156 / HUNT4_T 78 / HUNT4_B 78; HUNT4_T = lines 79-156 of HUNT4", async () => {
  const full = await readNormParams(hunt4NormDir("HUNT4"));
  const t = await readNormParams(hunt4NormDir("HUNT4_T"));
  const b = await readNormParams(hunt4NormDir("HUNT4_B"));
  assertEquals([full.mean.length, t.mean.length, b.mean.length], [156, 78, 78]);
  for (const [k, p] of [["HUNT4", full], ["HUNT4_T", t], ["HUNT4_B", b]] as const) {
    assertEquals(p.mean.length, HUNT4_NORM[k].features);
  }
  const lines = async (name: "HUNT4" | "HUNT4_T", file: string) =>
    (await Deno.readTextFile(join(hunt4NormDir(name), file))).trim().split("\n");
  for (const file of ["mean.csv", "std.csv"]) {
    assertEquals(await lines("HUNT4_T", file), (await lines("HUNT4", file)).slice(78, 156));
  }
  assertEquals(Array.from(t.std), Array.from(full.std.subarray(78)));
  assertNotEquals(Array.from(b.mean), Array.from(full.mean.subarray(0, 78)));
  assertAlmostEquals(full.mean[0], 11.390899318695087, 1e-12); // Bx bin 0 (spec §1.3)
});

Deno.test("readNormParams: wrong counts, non-finite values, missing files name the file; std 0 -> 1e-10", async () => {
  const tmp = await tempDir();
  try {
    const write = async (sub: string, mean: string[], std: string[]) => {
      const d = join(tmp.path, sub);
      await Deno.mkdir(d, { recursive: true });
      await Deno.writeTextFile(join(d, "mean.csv"), mean.join("\n") + "\n");
      await Deno.writeTextFile(join(d, "std.csv"), std.join("\n") + "\n");
      return d;
    };
    const ones = (n: number) => Array(n).fill("1.0");
    const short = await write("short", ones(77), ones(77));
    await assertRejects(() => readNormParams(short), DataFormatError, "short/mean.csv: 77 values");
    const mixed = await write("mixed", ones(78), ones(156));
    await assertRejects(() => readNormParams(mixed), DataFormatError, "std.csv");
    const nan = await write("nan", ones(78), [...ones(40), "nan", ...ones(37)]);
    await assertRejects(() => readNormParams(nan), DataFormatError, "std.csv line 41");
    const text = await write("text", [...ones(77), "abc"], ones(78));
    await assertRejects(() => readNormParams(text), DataFormatError, "mean.csv line 78");
    const zero = await write("zero", ones(78), ["0", ...ones(77)]);
    const p = await readNormParams(zero);
    assertEquals(p.std[0], STD_FLOOR);
    await assertRejects(() => readNormParams(zero, { features: 156 }), DataFormatError, "156");
    await assertRejects(
      () => readNormParams(join(tmp.path, "absent")),
      DatasetUnavailableError,
      "absent/mean.csv",
    );
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("normalise: (x - mean)/std per feature; feature-count mismatch is a ConfigError", () => {
  const frames: SpectrogramFrames = {
    data: Float32Array.from([1, 4, 3, 8]),
    frames: 2,
    features: 2,
    channels: 1,
    bins: 2,
  };
  const z = normalise(frames, {
    mean: Float64Array.from([1, 2]),
    std: Float64Array.from([2, 4]),
    dir: "t",
  });
  assertEquals(Array.from(z.data), [0, 0.5, 1, 1.5]);
  assertEquals(Array.from(frames.data), [1, 4, 3, 8], "input untouched");
  assertThrows(
    () => normalise(frames, { mean: new Float64Array(156), std: new Float64Array(156), dir: "H" }),
    ConfigError,
    "156",
  );
});

Deno.test("frameLabels: majority over 50 samples, ties to the lowest index, unlabelled masked", () => {
  const rep = (v: number, n: number) => Array<number>(n).fill(v);
  assertEquals(Array.from(frameLabels([...rep(0, 25), ...rep(1, 50), ...rep(0, 25)]).labels), [
    0,
    1,
    0,
  ]);
  assertEquals(Array.from(frameLabels([...rep(1, 25), ...rep(0, 25)]).labels), [0]); // tie
  assertEquals(Array.from(frameLabels([...rep(2, 25), ...rep(1, 25)]).labels), [1]); // tie
  assertEquals(Array.from(frameLabels([...rep(2, 26), ...rep(1, 24)]).labels), [2]);
  // unlabelled (-1) samples do not vote; a frame mostly unlabelled is masked
  const most = frameLabels([...rep(-1, 26), ...rep(1, 24)]);
  assertEquals([most.labels[0], most.mask[0]], [-1, 0]);
  const tie = frameLabels([...rep(-1, 25), ...rep(1, 25)]); // half labelled: kept
  assertEquals([tie.labels[0], tie.mask[0]], [1, 1]);
  const strict = frameLabels([...rep(-1, 1), ...rep(1, 49)], { minLabelledFraction: 1 });
  assertEquals(strict.mask[0], 0);
  // frames = STFT frames; padEnd labels the incomplete tail (inference: ceil(S/25) frames)
  assertEquals(frameLabels(rep(0, 15000)).frames, 599);
  const padded = frameLabels([...rep(0, 100), ...rep(1, 10)], { padEnd: true });
  assertEquals(Array.from(padded.labels), [0, 0, 0, 0, 1]);
  assertEquals(padded.frames, Math.ceil(110 / 25));
  assertThrows(() => frameLabels([0.5]), ConfigError, "integer");
});

Deno.test("window counts: max(1, ceil((T+1-599)/12)) for training, ceil(T/12) for inference", () => {
  const train: [number, number][] = [[599, 1], [610, 1], [611, 2], [100, 1], [1210, 51], [
    2800,
    184,
  ]];
  for (const [T, n] of train) assertEquals(trainingWindowCount(T), n, `T = ${T}`);
  for (const [T, n] of [[600, 50], [100, 9], [12, 1], [13, 2]]) {
    assertEquals(inferenceWindowCount(T), n, `T = ${T}`);
  }
});

function rampFrames(T: number, F: number): SpectrogramFrames {
  const data = Float32Array.from({ length: T * F }, (_, i) => Math.floor(i / F) + 1);
  return { data, frames: T, features: F, channels: 1, bins: F };
}

Deno.test("cutWindows: training windows inside the recording; a short one padded with a mask", () => {
  const T = 623; // 3 windows: starts 0, 12, 24; the last ends exactly at frame 622
  const y = frameLabels(Array.from({ length: 25 * (T - 1) + 50 }, (_, i) => (i < 5000 ? 0 : 1)));
  assertEquals(y.frames, T);
  const w = cutWindows(rampFrames(T, 2), { mode: "train", labels: y });
  assertEquals([w.n, w.length, w.features], [3, 599, 2]);
  assertEquals(Array.from(w.starts), [0, 12, 24]);
  assertEquals(w.x[2 * 599 * 2], 25); // window 2, frame 0 = frame 24 (values are frame + 1)
  assertEquals(w.x[(2 * 599 + 598) * 2 + 1], 623);
  assert(w.mask.every((m) => m === 1));
  assertEquals(w.y![599 + 10], y.labels[22]);
  const short = cutWindows(rampFrames(100, 3), {
    mode: "train",
    labels: frameLabels(new Int32Array(25 * 99 + 50).fill(1)),
  });
  assertEquals(short.n, 1);
  assertEquals(short.x.length, 599 * 3);
  assertEquals(short.x[99 * 3], 100);
  assertEquals(short.x[100 * 3], 0, "padding is 0 (the HUNT4 mean)");
  assertEquals(short.mask.reduce((a, b) => a + b, 0), 100);
  assertEquals([short.y![99], short.y![100]], [1, -1]);
  const inf = cutWindows(rampFrames(30, 1), { mode: "inference", padValue: -7 });
  assertEquals(inf.n, 3);
  assertEquals(Array.from(inf.starts), [0, 12, 24]);
  assertEquals([inf.x[2 * 599 + 5], inf.x[2 * 599 + 6]], [30, -7]);
  assertThrows(
    () => cutWindows(rampFrames(30, 1), { mode: "train", labels: frameLabels(new Int32Array(50)) }),
    ConfigError,
    "frame labels",
  );
});

Deno.test("inferencePad: zero-pads so the last frame is complete, T = ceil(S/25)", () => {
  for (const S of [15000, 15001, 15024, 15025, 50, 49, 1]) {
    const [p] = inferencePad([new Float32Array(S).fill(1)]);
    assertEquals(p.length, S + inferencePadLength(S), `S = ${S}`);
    assertEquals(1 + Math.floor((p.length - 50) / 25), Math.ceil(S / 25), `frames for S = ${S}`);
    assertEquals(p[S - 1], 1);
    if (p.length > S) assertEquals(p[S], 0);
  }
  assertEquals(inferencePadLength(15000), 25);
});

Deno.test("reassemble: window -> frame -> sample overlap averaging on hand-computed cases", () => {
  assertEquals(Array.from(overlapMean(Float32Array.from([1, 1, 1, 3, 3, 3]), 2, 3, 1, 1)), [
    1,
    2,
    2,
    3,
  ]);
  // 2 windows of 4 frames, shift 2: frames [1,1,2,2,3,(3)] cut to T = 5; frames of 4 samples,
  // hop 2: samples 0-1 see frame 0; 2-3 frames 0,1; 4-5 frames 1,2; 6-7 frames 2,3; 8 frames 3,4
  const probs = reassemble(Float32Array.from([1, 1, 1, 1, 3, 3, 3, 3]), 2, {
    windowFrames: 4,
    shiftFrames: 2,
    nFft: 4,
    hop: 2,
    classes: 1,
    frames: 5,
    samples: 9,
  });
  assertEquals(Array.from(probs), [1, 1, 1, 1, 1.5, 1.5, 2, 2, 2.5]);
  // two classes: argmax per sample after averaging
  const two = reassemble(Float32Array.from([0.9, 0.1, 0.9, 0.1, 0.2, 0.8, 0.2, 0.8]), 2, {
    windowFrames: 2,
    shiftFrames: 1,
    nFft: 2,
    hop: 1,
    classes: 2,
    frames: 3,
    samples: 3,
  });
  assertEquals(Array.from(argmaxRows(two, 2)), [0, 0, 1]);
  // frame 1 = mean(0.9, 0.2) = 0.55; sample 1 = mean(f0, f1) = 0.725; sample 2 = mean(f1, f2)
  assertAlmostEquals(two[2], 0.725, 1e-6);
  assertAlmostEquals(two[4], 0.375, 1e-6);
});

Deno.test("reassemble: SelfPAB geometry, 5 min -> 600 frames -> 50 windows -> 15000 samples", () => {
  const S = 15000, T = Math.ceil(S / 25), n = inferenceWindowCount(T), W = 599;
  assertEquals([T, n], [600, 50]);
  const probs = new Float32Array(n * W);
  for (let w = 0; w < n; w++) probs.fill(w, w * W, (w + 1) * W); // window w predicts w
  const out = reassemble(probs, n, { classes: 1, frames: T, samples: S });
  assertEquals(out.length, S);
  // direct definition: frame t = mean of windows w with 12w <= t < 12w + 599; sample j =
  // mean of frames t with 25t <= j < 25t + 50
  const frame = (t: number) => {
    let s = 0, c = 0;
    for (let w = 0; w < n; w++) if (12 * w <= t && t < 12 * w + W) (s += w, c++);
    return s / c;
  };
  for (const j of [0, 24, 25, 7499, 7500, 14975, 14999]) {
    let s = 0, c = 0;
    for (let t = 0; t < T; t++) if (25 * t <= j && j < 25 * t + 50) (s += frame(t), c++);
    assertAlmostEquals(out[j], s / c, 1e-5, `sample ${j}`);
  }
  assertThrows(
    () => reassemble(probs, n, { classes: 1, frames: 599, samples: S + 50 }),
    ConfigError,
    "do not cover",
  );
});

Deno.test("bad input: non-finite samples, another rate, unequal lengths, dead channels", () => {
  const names = ["back_x", "back_y", "back_z", "thigh_x", "thigh_y", "thigh_z"];
  const ok = () => names.map((_, c) => noise(200, c + 1));
  const args = { source: "S01R02.txt.gz", channelNames: names };
  const bad = ok();
  bad[3][7] = NaN;
  assertThrows(
    () => spectrogramFeatures(bad, args),
    DataFormatError,
    "S01R02.txt.gz: thigh_x sample 7: NaN",
  );
  bad[3][7] = Infinity;
  assertThrows(() => spectrogramFeatures(bad, args), DataFormatError, "Infinity");
  assertThrows(
    () => spectrogramFeatures(ok(), { ...args, sampleRateHz: 64 }),
    ConfigError,
    "S01R02.txt.gz: sampled at 64 Hz",
  );
  const uneven = ok();
  uneven[5] = uneven[5].subarray(0, 150);
  assertThrows(() => spectrogramFeatures(uneven, args), DataFormatError, "thigh_z 150");
  const dead = ok();
  dead[4] = new Float32Array(200);
  assertThrows(() => spectrogramFeatures(dead, args), DataFormatError, "thigh_y is dead");
  dead[4] = constant(200, 0.98);
  assertThrows(() => spectrogramFeatures(dead, args), DataFormatError, "all 200 samples equal");
  assertEquals(spectrogramFeatures(dead, { ...args, allowDeadChannels: true }).features, 156);
  assertThrows(() => spectrogramFeatures([], args), DataFormatError, "no channels");
});

Deno.test("recordingFeatures: a Recording's axes in order, normalised, labelled; inference padding", () => {
  const S = 1010;
  const rec: Recording = {
    dataset: "daphnet",
    subject: "S01",
    placement: "thigh+trunk",
    rateHz: 50,
    axes: ["thigh_x", "thigh_y", "thigh_z", "trunk_x", "trunk_y", "trunk_z"].map((_, c) =>
      noise(S, c + 1)
    ),
    axisNames: ["thigh_x", "thigh_y", "thigh_z", "trunk_x", "trunk_y", "trunk_z"],
    labels: Int32Array.from({ length: S }, (_, i) => (i < 500 ? -1 : 1)),
    labelNames: ["no_freeze", "freeze"],
    source: "S01R02.txt.gz",
  };
  const axes = SELFPAB_AXIS_ORDER.daphnet.dual!;
  const r = recordingFeatures(rec, { axes, norm: null });
  assertEquals([r.frames.frames, r.frames.features, r.samples], [39, 156, S]);
  const direct = spectrogramFeatures(axes.map((a) => rec.axes[rec.axisNames.indexOf(a)]));
  assertEquals(r.frames.data, direct.data);
  assertEquals(r.labels!.frames, 39);
  assertEquals([r.labels!.mask[0], r.labels!.labels[38]], [0, 1]);
  const inf = recordingFeatures(rec, { axes, norm: null, inference: true });
  assertEquals([inf.frames.frames, inf.labels!.frames, inf.samples], [Math.ceil(S / 25), 41, S]);
  assertThrows(
    () => recordingFeatures(rec, { axes: ["back_x"], norm: null }),
    DataFormatError,
    'S01R02.txt.gz: no axis "back_x"',
  );
  assertThrows(
    () => recordingFeatures({ ...rec, rateHz: 64 }, { axes, norm: null }),
    ConfigError,
    "64 Hz",
  );
  assertThrows(
    () => recordingFeatures({ ...rec, timestampsMs: new Float64Array(S) }, { axes, norm: null }),
    ConfigError,
    "irregular",
  );
});
