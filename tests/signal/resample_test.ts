import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import type { Recording } from "../../lib/data/types.ts";
import { ConfigError } from "../../lib/errors.ts";
import {
  findSegments,
  fourierResample,
  interpLinear,
  lowpassFir,
  resample,
  resizeLinear,
} from "../../lib/signal/resample.ts";

function sine(rateHz: number, seconds: number, hz: number, labels?: Int32Array): Recording {
  const n = Math.round(rateHz * seconds);
  const ax = Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * hz * i) / rateHz));
  return {
    dataset: "test",
    subject: "s1",
    placement: "wrist",
    rateHz,
    axes: [ax, ax.map((v) => 2 * v), new Float32Array(n).fill(1)],
    axisNames: ["x", "y", "z"],
    labels,
    labelNames: labels ? ["a", "b"] : undefined,
    source: "synthetic-sine",
  };
}

Deno.test("resizeLinear equals scipy interp1d on linspace(0,1) grids (ssl-wearables resize)", () => {
  const y = Array.from({ length: 10 }, (_, i) => i ** 1.5);
  const expected = [
    0,
    1.9142135623730951,
    5.196152422706632,
    9.590169943749475,
    14.696938456699069,
    20.573838087710826,
    27,
  ];
  const got = resizeLinear(y, 7);
  expected.forEach((e, i) => assertAlmostEquals(got[i], e, 1e-5));
  // 320 -> 300 keeps both end points
  const x = Float32Array.from({ length: 320 }, (_, i) => Math.cos(i / 7));
  const r = resizeLinear(x, 300);
  assertEquals(r.length, 300);
  assertAlmostEquals(r[0], x[0], 1e-7);
  assertAlmostEquals(r[299], x[319], 1e-7);
});

Deno.test("fourierResample equals scipy.signal.resample (down, up, odd, even, identity)", () => {
  const x = [0.5, -1.25, 2.0, 0.75, -0.3, 1.1, 0.0, -2.2, 0.9, 1.7, -0.6, 0.25];
  // values from scipy 1.17 signal.resample(x, n)
  const ref: Record<number, number[]> = {
    5: [-0.2647329099, 0.9270749813, 0.149609231, -0.3526912975, 0.7282399951],
    8: [
      0.1852670901,
      0.2058749494,
      1.1395725942,
      0.191294957,
      -0.0436004234,
      -1.019550084,
      1.6687607391,
      -0.4276198224,
    ],
    7: [
      -0.3147329099,
      0.7430346139,
      0.6635495758,
      0.328566412,
      -0.9589334457,
      0.8772133617,
      0.3238023923,
    ],
    12: x,
    18: [
      0.5,
      -1.2292208278,
      -0.3873929686,
      2.0,
      1.7219532013,
      -0.0899093447,
      -0.3,
      0.6988519215,
      1.1892730502,
      0,
      -1.9531368434,
      -1.6213880469,
      0.9,
      2.0899038364,
      0.9076548486,
      -0.6,
      -0.4408512881,
      0.8892624614,
    ],
    25: [
      0.5,
      -0.8586076617,
      -1.2970247423,
      0.0178924479,
      1.8027564238,
      2.2241139241,
      1.1118459184,
      -0.1386744556,
      -0.425464446,
      0.1418150254,
      0.8857877959,
      1.2025898044,
      0.6374442262,
      -0.7690154385,
      -2.0445785235,
      -1.9475538259,
      -0.3682193215,
      1.4207575958,
      2.0952170555,
      1.4445593766,
      0.2029833223,
      -0.6911870168,
      -0.6017471035,
      0.3388609137,
      1.0529487052,
    ],
  };
  for (const [num, exp] of Object.entries(ref)) {
    const got = fourierResample(x, Number(num));
    assertEquals(got.length, Number(num));
    exp.forEach((e, i) => assertAlmostEquals(got[i], e, 1e-8, `num ${num} [${i}]`));
  }
});

Deno.test("resample linear: regular 32 Hz -> 30 Hz keeps a slow sine and the grid", () => {
  const rec = sine(32, 20, 1);
  const [out, ...rest] = resample(rec, 30);
  assertEquals(rest.length, 0);
  assertEquals(out.rateHz, 30);
  // last input sample is at 639/32 s = 19.96875 s -> grid 0..19.9667 (600 samples)
  assertEquals(out.axes[0].length, 600);
  for (let k = 0; k < 600; k += 37) {
    assertAlmostEquals(out.axes[0][k], Math.sin((2 * Math.PI * k) / 30), 0.01);
    assertAlmostEquals(out.axes[1][k], 2 * Math.sin((2 * Math.PI * k) / 30), 0.02);
  }
  assertEquals(out.meta?.offsetSec, 0);
  assertEquals(out.source, rec.source);
});

Deno.test("resample: irregular timestamps land on a regular grid; labels by nearest sample", () => {
  // samples at 0, 30, 70, 100, 160, 200 ms; value = t (ms), labels switch at 100 ms
  const t = Float64Array.from([0, 30, 70, 100, 160, 200]);
  const v = Float32Array.from(t);
  const rec: Recording = {
    dataset: "test",
    subject: "s",
    placement: "pocket",
    rateHz: 30,
    axes: [v, v, v],
    axisNames: ["x", "y", "z"],
    timestampsMs: t,
    labels: Int32Array.from([0, 0, 0, 1, 1, 1]),
    labelNames: ["a", "b"],
    source: "irregular",
  };
  const [out] = resample(rec, 20); // grid 0, 50, 100, 150, 200
  assertEquals(Array.from(out.axes[0]), [0, 50, 100, 150, 200]);
  // nearest label: 50 ms -> 30 or 70 (tie → earlier, label 0); 150 -> 160 (1)
  assertEquals(Array.from(out.labels!), [0, 0, 1, 1, 1]);
});

Deno.test("resample: gaps longer than maxGapSec split into segments (never interpolated across)", () => {
  const t: number[] = [];
  for (let i = 0; i < 100; i++) t.push(i * 10); // 0..990 ms
  for (let i = 0; i < 100; i++) t.push(5000 + i * 10); // gap of 4 s
  t.push(4000); // goes backwards: also a boundary
  const v = Float32Array.from(t, (x) => x / 1000);
  const rec: Recording = {
    dataset: "test",
    subject: "s",
    placement: "p",
    rateHz: 100,
    axes: [v, v, v],
    axisNames: ["x", "y", "z"],
    timestampsMs: Float64Array.from(t),
    source: "gappy",
    startMs: 1e12,
  };
  assertEquals(findSegments(t, 1000), [[0, 100], [100, 200], [200, 201]]);
  const segs = resample(rec, 50, { maxGapSec: 1 });
  assertEquals(segs.length, 3);
  assertEquals(segs.map((s) => s.meta?.segment), [0, 1, 2]);
  assertEquals(segs.map((s) => s.meta?.offsetSec), [0, 5, 4]);
  assertEquals(segs[1].startMs, 1e12 + 5000);
  // every value of segment 2 comes from its own span (5.0 .. 5.99 s)
  for (const val of segs[1].axes[0]) assert(val >= 5 - 1e-6 && val <= 5.99 + 1e-6);
  assertEquals(segs[0].axes[0].length, 50); // 0..980 ms at 20 ms
  // minSegmentSec drops the one-sample segment
  assertEquals(resample(rec, 50, { minSegmentSec: 0.5 }).length, 2);
  // gaps: "nan" keeps one grid with NaN inside the gap
  // (on the first 200 samples: "nan" needs time-ordered segments)
  const ordered = {
    ...rec,
    axes: rec.axes.map((a) => a.slice(0, 200)),
    timestampsMs: Float64Array.from(t.slice(0, 200)),
  };
  assertThrows(() => resample(rec, 50, { gaps: "nan" }), ConfigError, "backwards");
  const [holed] = resample(ordered, 50, { gaps: "nan" });
  assertEquals(holed.axes[0].length, Math.floor(5990 / 20) + 1);
  assert(Number.isNaN(holed.axes[0][100])); // 2000 ms: inside the gap
  assertAlmostEquals(holed.axes[0][250], 5.0, 1e-6); // 5000 ms
  assertAlmostEquals(holed.axes[0][10], 0.2, 1e-6);
  assertThrows(() => resample(rec, 50, { gaps: "nan", method: "fourier" }), ConfigError, "linear");
});

Deno.test("resample antialias removes content above the new Nyquist; linear aliases it", () => {
  // 100 Hz: 2 Hz wanted + 40 Hz unwanted; to 25 Hz (Nyquist 12.5 Hz)
  const n = 1000;
  const ax = Float32Array.from(
    { length: n },
    (_, i) => Math.sin((2 * Math.PI * 2 * i) / 100) + Math.sin((2 * Math.PI * 40 * i) / 100),
  );
  const rec: Recording = {
    dataset: "t",
    subject: "s",
    placement: "p",
    rateHz: 100,
    axes: [ax],
    axisNames: ["x"],
    source: "mix",
  };
  const [aa] = resample(rec, 25, { method: "antialias" });
  const [lin] = resample(rec, 25);
  const err = (r: Recording) => {
    let e = 0;
    for (let k = 50; k < r.axes[0].length - 50; k++) {
      e += (r.axes[0][k] - Math.sin((2 * Math.PI * 2 * k) / 25)) ** 2;
    }
    return Math.sqrt(e / (r.axes[0].length - 100));
  };
  assert(err(aa) < 0.05, `antialias rms error ${err(aa)}`);
  assert(err(lin) > 0.5, `linear should alias, rms error ${err(lin)}`);
  const h = lowpassFir(12.5, 100, 65);
  assertAlmostEquals(h.reduce((a, b) => a + b, 0), 1, 1e-12);
  assertAlmostEquals(h[0], h[64], 1e-15);
});

Deno.test("resample fourier: band-limited signal is reproduced; bad arguments are named", () => {
  const rec = sine(32, 10, 1.5);
  const [out] = resample(rec, 30, { method: "fourier" });
  assertEquals(out.axes[0].length, 300);
  for (let k = 0; k < 300; k += 13) {
    assertAlmostEquals(out.axes[0][k], Math.sin((2 * Math.PI * 1.5 * k) / 30), 1e-3);
  }
  assertThrows(() => resample(rec, 0), ConfigError, "targetHz");
  assertThrows(() => resample(rec, 30, { method: "cubic" as "linear" }), ConfigError, "cubic");
  const bad = { ...rec, labels: new Int32Array(3) };
  assertThrows(() => resample(bad, 30), ConfigError, "synthetic-sine");
});

Deno.test("interpLinear clamps outside the span and handles duplicate times", () => {
  const out = interpLinear([0, 1, 1, 2], [0, 10, 20, 30], [-1, 0.5, 1, 1.5, 3]);
  assertEquals(Array.from(out), [0, 5, 20, 25, 30]);
});
