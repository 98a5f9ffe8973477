import { assert, assertEquals, assertThrows } from "@std/assert";
import type { Recording } from "../../lib/data/types.ts";
import { ConfigError } from "../../lib/errors.ts";
import { concatWindows, makeWindows, makeWindowsWithReport } from "../../lib/signal/windows.ts";
import { resample } from "../../lib/signal/resample.ts";

/** x = sample index, y = -index, z = subject code; labels given per sample. */
function rec(
  subject: string,
  n: number,
  rateHz: number,
  labels?: number[],
  names?: string[],
): Recording {
  return {
    dataset: "t",
    subject,
    placement: "wrist",
    rateHz,
    axes: [
      Float32Array.from({ length: n }, (_, i) => i),
      Float32Array.from({ length: n }, (_, i) => -i),
      new Float32Array(n).fill(7),
    ],
    axisNames: ["x", "y", "z"],
    labels: labels ? Int32Array.from(labels) : undefined,
    labelNames: names,
    source: `${subject}.txt`,
  };
}

Deno.test("makeWindows: count, layout [n, c, len], starts and overlap", () => {
  // 10 Hz, 35 s: windows of 10 s every 5 s at 0,5,...,25 → 6 windows (30 s would end at 40 s)
  const r = rec("a", 350, 10);
  const w = makeWindows([r], { windowSec: 10, overlapSec: 5, rateHz: 10 });
  assertEquals([w.n, w.channels, w.length], [6, 3, 100]);
  assertEquals(Array.from(w.startSec!), [0, 5, 10, 15, 20, 25]);
  // window 2 channel 0 starts at sample 100, channel 1 = -sample
  assertEquals(w.x[2 * 300], 100);
  assertEquals(w.x[2 * 300 + 99], 199);
  assertEquals(w.x[2 * 300 + 100], -100);
  assertEquals(w.x[2 * 300 + 200], 7);
  assertEquals(w.subject, Array(6).fill("a"));
  assertEquals(Array.from(w.y), Array(6).fill(-1)); // unlabelled recordings keep y = -1
  assertEquals(w.x.length, 6 * 300);
  // stepSec overrides overlap; no window spans two recordings
  const w2 = makeWindows([rec("a", 150, 10), rec("b", 150, 10)], {
    windowSec: 10,
    stepSec: 10,
    rateHz: 10,
  });
  assertEquals(w2.n, 2);
  assertEquals(w2.subject, ["a", "b"]);
});

Deno.test("makeWindows: majority vs pure labels, minLabelFraction, classes order and filter", () => {
  // 40 samples at 1 Hz; windows of 10 s step 10: [a×10] [a×6,b×4] [b×10] [-1×10]
  const lab = [...Array(16).fill(0), ...Array(14).fill(1), ...Array(10).fill(-1)];
  const r = rec("s", 40, 1, lab, ["walk", "sit"]);
  const maj = makeWindows([r], { windowSec: 10, rateHz: 1 });
  assertEquals(maj.classes, ["sit", "walk"]); // sorted occurring names
  assertEquals(Array.from(maj.y), [1, 1, 0]); // unlabelled window dropped by default
  const pure = makeWindowsWithReport([r], { windowSec: 10, rateHz: 1, labelPolicy: "pure" });
  assertEquals(Array.from(pure.windows.y), [1, 0]);
  assertEquals(pure.report.dropped, { impure: 1, unlabelled: 1 });
  assertEquals(pure.report.total, 4);
  const frac = makeWindowsWithReport([r], { windowSec: 10, rateHz: 1, minLabelFraction: 0.7 });
  assertEquals(frac.report.dropped.minority, 1);
  const keep = makeWindows([r], { windowSec: 10, rateHz: 1, dropUnlabelled: false });
  assertEquals(Array.from(keep.y), [1, 1, 0, -1]);
  const only = makeWindowsWithReport([r], { windowSec: 10, rateHz: 1, classes: ["walk"] });
  assertEquals(only.windows.classes, ["walk"]);
  assertEquals(Array.from(only.windows.y), [0, 0]);
  assertEquals(only.report.dropped.class, 1);
});

Deno.test("makeWindows: timestamped windows never span a gap; NaN windows dropped", () => {
  const t: number[] = [];
  for (let i = 0; i < 30; i++) t.push(i * 100); // 0..2.9 s at 10 Hz
  for (let i = 0; i < 30; i++) t.push(10000 + i * 100); // jump 7.1 s
  const r = { ...rec("g", 60, 10), timestampsMs: Float64Array.from(t) };
  const { windows, report } = makeWindowsWithReport([r], { windowSec: 2, stepSec: 1, rateHz: 10 });
  // starts every 10 samples: 0,10,20,30,40 ; those starting at 20 span the gap
  assertEquals(Array.from(windows.startSec!), [0, 1, 10, 11]);
  assertEquals(report.dropped.gap, 1);
  // after resample (split) the same holds without timestamps
  const segs = resample(r, 10);
  assertEquals(segs.length, 2);
  const w2 = makeWindows(segs, { windowSec: 2, stepSec: 1, rateHz: 10 });
  assertEquals(Array.from(w2.startSec!), [0, 1, 10, 11]);
  const nanRec = rec("n", 40, 10);
  nanRec.axes[1][25] = NaN;
  const nr = makeWindowsWithReport([nanRec], { windowSec: 1, rateHz: 10 });
  assertEquals(nr.windows.n, 3);
  assertEquals(nr.report.dropped.nan, 1);
});

Deno.test("makeWindows: perWindowResize windows at the device rate then resizes (ssl-wearables)", () => {
  const r = rec("a", 640, 32); // 20 s at 32 Hz
  const w = makeWindows([r], { windowSec: 10, overlapSec: 5, rateHz: 30, perWindowResize: true });
  assertEquals([w.n, w.length], [3, 300]);
  assertEquals(w.x[900], 160); // window 1 (offset 3 × 300) starts at sample 160
  assertEquals(w.x[900 + 300], -160); // its channel 1
  assertEquals(w.x[299], 319); // end point kept
  assertThrows(() => makeWindows([r], { windowSec: 10, rateHz: 30 }), ConfigError, "a.txt");
});

Deno.test("makeWindows: bad options give named errors; concatWindows merges classes", () => {
  const r = rec("a", 100, 10, Array(100).fill(0), ["x"]);
  assertThrows(() => makeWindows([r], { windowSec: 0, rateHz: 10 }), ConfigError, "windowSec");
  assertThrows(
    () => makeWindows([r], { windowSec: 5, overlapSec: 5, rateHz: 10 }),
    ConfigError,
    "step",
  );
  assertThrows(
    () => makeWindows([r], { windowSec: 5, rateHz: 10, labelPolicy: "any" as "pure" }),
    ConfigError,
    "labelPolicy",
  );
  const a = makeWindows([r], { windowSec: 5, rateHz: 10 });
  const b = makeWindows([rec("b", 50, 10, Array(50).fill(0), ["y"])], { windowSec: 5, rateHz: 10 });
  const c = concatWindows([a, b]);
  assertEquals(c.classes, ["x", "y"]);
  assertEquals(Array.from(c.y), [0, 0, 1]);
  assertEquals(c.subject, ["a", "a", "b"]);
  assert(c.x.length === 3 * 3 * 50);
});
