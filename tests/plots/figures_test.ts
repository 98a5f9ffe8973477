import { join } from "node:path";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { sharedData } from "../_helpers.ts";
import type { Recording } from "../../lib/data/types.ts";
import { readHmpFile } from "../../lib/data/hmp.ts";
import { ConfigError } from "../../lib/errors.ts";
import {
  labelSegments,
  plotBoxes,
  plotConfusion,
  plotEmbedding,
  plotPerClassF1,
  plotSignal,
  plotWindows,
  plotXY,
  rowNormalize,
} from "../../lib/plots/figures.ts";
import { type Figure, paletteColor, toPlainFigure } from "../../lib/plots/plotly.ts";

/** 60 s at 10 Hz, x = t, y = -t, z = 1; labels: 0 for 20 s, -1 for 10 s, 1 for 30 s. */
function synthetic(): Recording {
  const n = 600;
  return {
    dataset: "synthetic",
    subject: "s1",
    placement: "wrist",
    rateHz: 10,
    axes: [
      Float32Array.from({ length: n }, (_, i) => i / 10),
      Float32Array.from({ length: n }, (_, i) => -i / 10),
      new Float32Array(n).fill(1),
    ],
    axisNames: ["x", "y", "z"],
    labels: Int32Array.from({ length: n }, (_, i) => (i < 200 ? 0 : i < 300 ? -1 : 1)),
    labelNames: ["walk", "sit"],
    source: "synthetic.csv",
  };
}

/** A spec Plotly can take: JSON round-trips, every trace has a type. */
function assertValidSpec(fig: Figure): void {
  assert(Array.isArray(fig.data) && fig.data.length > 0, "figure has no traces");
  assertEquals(typeof fig.layout, "object");
  for (const t of fig.data) assert(typeof t.type === "string", "trace without type");
  assertEquals(JSON.parse(JSON.stringify(toPlainFigure(fig))), toPlainFigure(fig));
}

Deno.test("plotSignal: one line per axis over the requested span, labels shaded", () => {
  const rec = synthetic();
  const fig = plotSignal(rec, { startSec: 10, durationSec: 25 });
  assertValidSpec(fig);
  const lines = fig.data.filter((t) => t.mode === "lines");
  assertEquals(lines.map((t) => t.name), ["x", "y", "z"]);
  const x = lines[0].x as number[];
  assertEquals(x.length, 250); // 25 s at 10 Hz
  assertAlmostEquals(x[0], 10, 1e-9);
  assertAlmostEquals(x[x.length - 1], 34.9, 1e-9);
  assertAlmostEquals((lines[1].y as number[])[0], -10, 1e-6);
  // Two labelled segments in the span (walk 10–20 s, sit 30–35 s): two rectangles + legend keys.
  assertEquals(fig.layout.shapes!.length, 2);
  assertEquals(fig.layout.shapes![0].x0, 10);
  assertAlmostEquals(fig.layout.shapes![1].x0 as number, 30, 1e-9);
  assertEquals(fig.data.filter((t) => t.legendgroup === "labels").map((t) => t.name), [
    "walk",
    "sit",
  ]);
  assertEquals(plotSignal(rec, { axes: ["z"], showLabels: false }).data.length, 1);
});

Deno.test("plotSignal: min/max decimation keeps the extremes, bad args are ConfigErrors", () => {
  const rec = synthetic();
  rec.axes[2][333] = 5; // a spike
  const fig = plotSignal(rec, { maxPoints: 60, axes: [2] });
  const y = fig.data[0].y as number[];
  assert(y.length <= 60 && y.length > 10, `decimated to ${y.length} points`);
  assertEquals(Math.max(...y), 5);
  assertThrows(() => plotSignal(rec, { axes: ["w"] }), ConfigError, 'axis "w"');
  assertThrows(() => plotSignal(rec, { startSec: 100 }), ConfigError, "past the end");
  assertThrows(() => plotSignal(rec, { durationSec: 0 }), ConfigError, "durationSec");
});

Deno.test("plotSignal/plotWindows on a real HMP trial", async () => {
  const dir = sharedData("hmp-adl");
  if (!dir) return;
  const rec = await readHmpFile(join(dir, "Walk", "Accelerometer-2011-03-24-09-51-07-walk-f1.txt"));
  const fig = plotSignal(rec, { durationSec: 10 });
  assertValidSpec(fig);
  const first = fig.data[0];
  assertEquals((first.x as number[]).length, Math.ceil(10 * rec.rateHz));
  assertAlmostEquals((first.y as number[])[5], rec.axes[0][5], 1e-6);
  assert(fig.data.some((t) => t.name === "walk"), "walk label in the legend");
  const w = plotWindows(rec, { windowSec: 2, overlapSec: 1, durationSec: 10 });
  assertValidSpec(w);
  // 2 s windows every 1 s starting at 0: those overlapping [0, 10) s.
  const rects = w.layout.shapes!.filter((s) => (s.y0 as number) >= 0.8);
  assertEquals(rects.length, 10);
});

Deno.test("plotWindows: grid windows, labels, staggered rows and errors", () => {
  const rec = synthetic();
  const fig = plotWindows(rec, {
    windowSec: 10,
    overlapSec: 5,
    windowLabels: Int32Array.from({ length: 11 }, (_, i) => (i < 4 ? 0 : 1)),
  });
  assertValidSpec(fig);
  const rects = fig.layout.shapes!;
  assertEquals(rects.length, 11); // (60 - 10) / 5 + 1
  assertEquals(rects.map((r) => r.x0), [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50]);
  // 50 % overlap: windows alternate between two rows so none is hidden.
  assertEquals(new Set(rects.map((r) => r.y0)).size, 2);
  assertEquals(fig.layout.annotations!.map((a) => a.text).slice(3, 5), ["walk", "sit"]);
  // Explicit starts (Windows.startSec).
  const ex = plotWindows(rec, { windowSec: 5, windowStartSec: [1, 30], showLabels: false });
  assertEquals(ex.layout.shapes!.map((s) => [s.x0, s.x1]), [[1, 6], [30, 35]]);
  assertThrows(() => plotWindows(rec, { windowSec: 5, overlapSec: 5 }), ConfigError, "overlapSec");
  assertThrows(
    () => plotWindows(rec, { windowSec: 10, windowLabels: [0, 1] }),
    ConfigError,
    "windowLabels has 2 entries, expected 6",
  );
});

Deno.test("plotPerClassF1: bars per class, grouped series, sorting", () => {
  const fig = plotPerClassF1(["walk", "sit", "stand"], [0.5, 0.9, 0.7]);
  assertValidSpec(fig);
  assertEquals(fig.data[0].type, "bar");
  assertEquals(fig.data[0].x, ["walk", "sit", "stand"]);
  assertEquals(fig.data[0].text, ["0.50", "0.90", "0.70"]);
  const sorted = plotPerClassF1(["walk", "sit", "stand"], [0.5, 0.9, 0.7], { sort: true });
  assertEquals(sorted.data[0].x, ["sit", "stand", "walk"]);
  const grouped = plotPerClassF1(["a", "b"], { scratch: [0.1, 0.2], ssl: [0.3, 0.4] });
  assertEquals(grouped.data.map((t) => t.name), ["scratch", "ssl"]);
  assertEquals(grouped.layout.barmode, "group");
  assertThrows(() => plotPerClassF1(["a", "b"], [0.1]), ConfigError, "expected 2");
});

Deno.test("plotConfusion: counts, row normalisation like scikit-learn, validation", () => {
  const cm = [[5, 1, 0], [2, 6, 2], [0, 0, 0]];
  const fig = plotConfusion(cm, ["a", "b", "c"]);
  assertValidSpec(fig);
  const t = fig.data[0];
  assertEquals(t.type, "heatmap");
  assertEquals(t.z, cm);
  assertEquals(t.text, [["5", "1", "0"], ["2", "6", "2"], ["0", "0", "0"]]);
  assertEquals(fig.layout.yaxis!.autorange, "reversed"); // first class on top
  const norm = plotConfusion(cm, ["a", "b", "c"], { normalize: true });
  const z = norm.data[0].z as number[][];
  assertAlmostEquals(z[0][0], 5 / 6, 1e-12);
  assertEquals(z[1], [0.2, 0.6, 0.2]);
  assertEquals(z[2], [0, 0, 0]); // empty row: 0, as sklearn's nan_to_num
  assertEquals((norm.data[0].text as string[][])[1], ["0.20", "0.60", "0.20"]);
  assertEquals(norm.data[0].customdata, cm);
  assertStringIncludes(norm.layout.title!.text, "row-normalised");
  // Flat row-major input gives the same figure.
  assertEquals(plotConfusion([5, 1, 0, 2, 6, 2, 0, 0, 0], ["a", "b", "c"]).data[0].z, cm);
  assertEquals(rowNormalize([[1, 3], [0, 0]]), [[0.25, 0.75], [0, 0]]);
  assertThrows(() => plotConfusion([[1, 2]], ["a", "b"]), ConfigError, "1 rows, expected 2");
  assertThrows(() => plotConfusion([[1, -2], [0, 1]], ["a", "b"]), ConfigError, "cm[0][1]");
});

Deno.test("plotEmbedding: one trace per class, unlabelled last, flat or nested input", () => {
  const xy = new Float32Array([0, 1, 2, 3, 4, 5, 6, 7]);
  const fig = plotEmbedding(xy, [1, 0, -1, 1], ["walk", "sit"]);
  assertValidSpec(fig);
  assertEquals(fig.data.map((t) => t.name), ["walk", "sit", "unlabelled"]);
  assertEquals(fig.data[1].x, [0, 6]);
  assertEquals(fig.data[1].y, [1, 7]);
  assertEquals(fig.data[0].x, [2]);
  // A class keeps its palette colour whatever classes are present.
  assertEquals(fig.data[0].marker!.color, paletteColor(0));
  assertEquals(fig.data[1].marker!.color, paletteColor(1));
  assertEquals(fig.data[2].marker!.color, "#bbbbbb");
  const nested = plotEmbedding([[0, 1], [2, 3], [4, 5], [6, 7]], [1, 0, -1, 1], ["walk", "sit"]);
  assertEquals(nested.data, fig.data);
  assertThrows(() => plotEmbedding(xy, [0, 0, 5, 0], ["a"]), ConfigError, "labels[2] = 5");
  assertThrows(() => plotEmbedding(xy, [0, 0], ["a"]), ConfigError, "expected 4");
});

Deno.test("plotXY: line/bar/scatter series, NaN gaps, errors", () => {
  const fig = plotXY([{ name: "a", y: [1, NaN, 3] }, {
    name: "b",
    x: ["p", "q", "r"],
    y: [3, 2, 1],
  }], {
    kind: "line",
    title: "t",
    yTitle: "F1",
  });
  assertValidSpec(fig);
  assertEquals(fig.data[0].x, [0, 1, 2]);
  assertEquals(fig.data[0].y, [1, null, 3]);
  assertEquals(fig.data[0].mode, "lines+markers");
  assertEquals(fig.layout.showlegend, true);
  assertEquals(plotXY({ y: [1, 2] }, { kind: "bar" }).data[0].type, "bar");
  assertEquals(plotXY({ y: [1, 2] }, { kind: "scatter" }).data[0].mode, "markers");
  const err = plotXY({ y: [1, 2], error: [0.1, 0.2] });
  assertEquals(err.data[0].error_y, { type: "data", array: [0.1, 0.2], visible: true });
  assertThrows(() => plotXY({ x: [1], y: [1, 2] }), ConfigError, "x has 1 values, y has 2");
  assertThrows(() => plotXY([]), ConfigError, "no series");
});

Deno.test("labelSegments and toPlainFigure", () => {
  assertEquals(labelSegments([0, 0, -1, 1, 1, 0]), [
    { label: 0, from: 0, to: 2 },
    { label: 1, from: 3, to: 5 },
    { label: 0, from: 5, to: 6 },
  ]);
  const plain = toPlainFigure({
    data: [{ type: "scatter", y: new Float32Array([1, NaN, Infinity]), name: undefined }],
    layout: {},
  });
  assertEquals(plain, { data: [{ type: "scatter", y: [1, null, null] }], layout: {} });
});

Deno.test("plotSignal falls back to sample index when timestamps go backwards (WISDM clocks)", () => {
  const n = 100;
  const ts = Float64Array.from({ length: n }, (_, i) => (i < 50 ? i * 50 : (i - 80) * 50));
  const axis = Float32Array.from({ length: n }, (_, i) => i);
  const fig = plotSignal({
    dataset: "t",
    subject: "s",
    placement: "wrist",
    rateHz: 20,
    axes: [axis],
    axisNames: ["x"],
    timestampsMs: ts,
    source: "backwards.txt",
  }, { startSec: 0, durationSec: 2 });
  const x = fig.data[0].x as number[];
  assertEquals(x.length, 40);
  assertAlmostEquals(x[39], 39 / 20, 1e-9);
});

Deno.test("plotBoxes: one box trace per group, grouped by series, non-finite values dropped", () => {
  const fig = plotBoxes([
    { name: "frozen", series: "ours", values: [-3, 1, NaN] },
    { name: "tuned", series: "ours", values: [2, 4] },
    { name: "frozen", series: "paper", values: [-12] },
  ], { yTitle: "Δ", hLines: [{ y: 0 }] });
  assertEquals(fig.data.length, 3);
  assertEquals(fig.data.map((t) => t.type), ["box", "box", "box"]);
  assertEquals(fig.data[0].y, [-3, 1]);
  assertEquals(fig.data[0].x, ["frozen", "frozen"]);
  assertEquals(fig.data.map((t) => t.showlegend), [true, false, true]);
  assertEquals((fig.layout as Record<string, unknown>).boxmode, "group");
  assertEquals(fig.layout.shapes?.length, 1);
  assertThrows(() => plotBoxes([]), ConfigError);
});
