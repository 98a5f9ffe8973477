import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { plotEmbedding, plotSignal, plotXY } from "../../lib/plots/figures.ts";
import {
  CLASS_PALETTE,
  classColor,
  classSymbol,
  deltaE76,
  hexToLab,
  UNLABELLED_COLOR,
} from "../../lib/plots/palette.ts";
import { PALETTE, paletteColor } from "../../lib/plots/plotly.ts";
import type { Recording } from "../../lib/data/types.ts";

const WISDM18 = "ABCDEFGHIJKLMOPQRS".split("").map((c) => `activity ${c}`);

Deno.test("hexToLab / deltaE76: reference values", () => {
  const white = hexToLab("#ffffff"), black = hexToLab("#000");
  assertAlmostEquals(white[0], 100, 1e-3);
  assertAlmostEquals(white[1], 0, 1e-3);
  assertAlmostEquals(black[0], 0, 1e-9);
  // sRGB red: L* 53.24, a* 80.09, b* 67.20
  const red = hexToLab("#ff0000");
  assertAlmostEquals(red[0], 53.24, 0.01);
  assertAlmostEquals(red[1], 80.09, 0.01);
  assertAlmostEquals(red[2], 67.2, 0.01);
  assertAlmostEquals(deltaE76("#ffffff", "#000000"), 100, 1e-3);
  assertEquals(deltaE76("#1f77b4", "#1f77b4"), 0);
  assertThrows(() => hexToLab("blue"), Error, "not a colour");
});

Deno.test("CLASS_PALETTE: ≥ 20 colours, pairwise far apart, none near white or the unlabelled grey", () => {
  assert(CLASS_PALETTE.length >= 20, `${CLASS_PALETTE.length} colours`);
  assertEquals(new Set(CLASS_PALETTE.map((c) => c.toLowerCase())).size, CLASS_PALETTE.length);
  let min = Infinity, pair = "";
  for (let i = 0; i < CLASS_PALETTE.length; i++) {
    assert(hexToLab(CLASS_PALETTE[i])[0] <= 85, `${CLASS_PALETTE[i]} is near white`);
    assert(deltaE76(CLASS_PALETTE[i], UNLABELLED_COLOR) > 15, `${CLASS_PALETTE[i]} ~ unlabelled`);
    for (let j = i + 1; j < CLASS_PALETTE.length; j++) {
      const d = deltaE76(CLASS_PALETTE[i], CLASS_PALETTE[j]);
      if (d < min) [min, pair] = [d, `${CLASS_PALETTE[i]} ${CLASS_PALETTE[j]}`];
    }
  }
  assert(min > 20, `closest pair ${pair}: ΔE ${min.toFixed(1)}`);
  // the first 10 are category10 (figures of ≤ 10 classes keep their colours)
  assertEquals(CLASS_PALETTE.slice(0, 3), ["#1f77b4", "#ff7f0e", "#2ca02c"]);
  // one palette: series colours are the class colours
  assertEquals(PALETTE, CLASS_PALETTE);
  for (let i = -3; i < 30; i++) assertEquals(paletteColor(i), classColor(i));
  assertEquals(classColor(CLASS_PALETTE.length), CLASS_PALETTE[0]);
});

Deno.test("plotEmbedding with 18 classes: 18 distinct colours ΔE > 15, symbols cycle, same class same colour in every panel", () => {
  const n = 18 * 5;
  const labels = Array.from({ length: n }, (_, i) => i % 18);
  const xy = (seed: number) => Array.from({ length: n }, (_, i) => [Math.sin(i * seed), i]);
  const panels = [1, 2, 3].map((s) => plotEmbedding(xy(s), labels, WISDM18));
  const colors = panels[0].data.map((t) => t.marker!.color as string);
  assertEquals(colors.length, 18);
  assertEquals(new Set(colors).size, 18);
  for (let i = 0; i < 18; i++) {
    for (let j = i + 1; j < 18; j++) {
      const d = deltaE76(colors[i], colors[j]);
      assert(
        d > 15,
        `${WISDM18[i]} ${colors[i]} vs ${WISDM18[j]} ${colors[j]}: ΔE ${d.toFixed(1)}`,
      );
    }
  }
  // across panels (raw / random / ssl) a class keeps its colour and symbol
  for (const p of panels.slice(1)) {
    assertEquals(
      p.data.map((t) => [t.name, t.marker!.color, t.marker!.symbol]),
      panels[0].data.map(
        (t) => [t.name, t.marker!.color, t.marker!.symbol],
      ),
    );
  }
  // a subset of classes: each keeps the colour it has in the full panel
  const sub = plotEmbedding([[0, 0], [1, 1]], [17, 4], WISDM18);
  assertEquals(sub.data.map((t) => t.marker!.color), [classColor(4), classColor(17)]);
  // symbols: more than one shape above 10 classes, circles up to 10
  assert(new Set(panels[0].data.map((t) => t.marker!.symbol)).size > 1);
  assertEquals(classSymbol(7, 10), "circle");
  assertEquals(classSymbol(1, 18), "square");
  const five = plotEmbedding([[0, 0], [1, 1]], [0, 4], ["a", "b", "c", "d", "e"]);
  assertEquals(five.data.map((t) => t.marker!.symbol), ["circle", "circle"]);
});

Deno.test("plotSignal shades 18 classes in 18 distinct palette colours, none an axis-line colour", () => {
  const len = 18 * 20;
  const rec: Recording = {
    dataset: "synthetic",
    subject: "s1",
    source: "synthetic-18",
    placement: "wrist",
    rateHz: 10,
    axes: [0, 1, 2].map(() => new Float32Array(len)),
    axisNames: ["x", "y", "z"],
    labels: Int32Array.from({ length: len }, (_, i) => Math.floor(i / 20)),
    labelNames: WISDM18,
  };
  const fig = plotSignal(rec);
  const shade = fig.layout.shapes!.map((s) => s.fillcolor!);
  assertEquals(new Set(shade).size, 18);
  const axes = fig.data.slice(0, 3).map((t) => t.line!.color!);
  for (const c of shade) assert(!axes.includes(c), `${c} is an axis colour`);
});

Deno.test("plotXY: colours, dashes, log x axis with ticks, reference lines", () => {
  const fig = plotXY([
    { name: "aot uniform", x: [64, 128], y: [0.5, 0.6], color: classColor(0) },
    { name: "aot std-drawn", x: [64, 128], y: [0.5, 0.7], color: classColor(0), dash: "dash" },
  ], {
    xType: "log",
    xTickVals: [1, 2, 30],
    xTickText: ["1", "2", "all (30)"],
    hLines: [{ y: 0.5, label: "chance" }, { y: 0.7 }],
    legendBelow: true,
  });
  assertEquals(fig.data[0].line, { color: classColor(0) });
  assertEquals(fig.data[1].line, { color: classColor(0), dash: "dash" });
  assertEquals(fig.layout.xaxis!.type, "log");
  assertEquals(fig.layout.xaxis!.ticktext, ["1", "2", "all (30)"]);
  assertEquals(fig.layout.shapes!.map((s) => s.y0), [0.5, 0.7]);
  assertEquals(fig.layout.annotations!.map((a) => a.text), ["chance"]);
  assertThrows(
    () => plotXY({ y: [1] }, { xTickVals: [1], xTickText: ["a", "b"] }),
    Error,
    "xTickText",
  );
  const hidden = plotXY([{ y: [1] }, { y: [2], showlegend: false }]);
  assertEquals(hidden.layout.showlegend, false);
});
