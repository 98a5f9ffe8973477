/**
 * Degenerate window settings are ConfigErrors, and "no windows" says which
 * of its causes applied, with counts and an example file each.
 */
import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import type { Recording } from "../../lib/data/types.ts";
import { ConfigError } from "../../lib/errors.ts";
import {
  explainNoWindows,
  makeWindows,
  makeWindowsWithReport,
  type WindowOptions,
} from "../../lib/signal/windows.ts";
import { MAX_GRID_SAMPLES, resample } from "../../lib/signal/resample.ts";

/** `n` samples at `rateHz` from `source`, optional timestamps (ms) and labels. */
function rec(source: string, n: number, rateHz: number, extra: Partial<Recording> = {}): Recording {
  return {
    dataset: "t",
    subject: source.replace(/\..*$/, ""),
    placement: "wrist",
    rateHz,
    axes: [0, 1, 2].map(() => Float32Array.from({ length: n }, (_, i) => Math.sin(i))),
    axisNames: ["x", "y", "z"],
    source: `/data/${source}`,
    ...extra,
  };
}

Deno.test("makeWindows: fewer than 2 samples per window is a ConfigError (--rate 1e-9, --window 0.00001)", () => {
  const r = rec("a.txt", 3000, 30);
  for (const o of [{ windowSec: 10, rateHz: 1e-9 }, { windowSec: 0.00001, rateHz: 30 }]) {
    assertThrows(
      () => makeWindows([r], o),
      ConfigError,
      `makeWindows: a ${o.windowSec} s window at ${o.rateHz} Hz holds 0 sample(s); need at least 2`,
    );
  }
  assertThrows(() => makeWindows([r], { windowSec: 1 / 30, rateHz: 30 }), ConfigError, "holds 1");
  assertEquals(makeWindows([r], { windowSec: 2 / 30, rateHz: 30 }).length, 2);
  // per-window resize: the recording's own rate gives the window length
  assertThrows(
    () =>
      makeWindows([rec("b.txt", 100, 0.1)], { windowSec: 10, rateHz: 30, perWindowResize: true }),
    ConfigError,
    "/data/b.txt: a 10 s window at its 0.1 Hz holds 1 sample(s)",
  );
  for (const bad of [0, -1, NaN, Infinity]) {
    assertThrows(
      () =>
        makeWindows([rec("c.txt", 100, bad)], { windowSec: 1, rateHz: 30, perWindowResize: true }),
      ConfigError,
      "rateHz must be a positive number",
    );
  }
});

Deno.test("resample: an absurd target rate is a ConfigError, not an out-of-memory crash", () => {
  const r = rec("a.txt", 600, 30);
  assertThrows(() => resample(r, 1e12), ConfigError, `more than ${MAX_GRID_SAMPLES}`);
  assertThrows(() => resample(r, Infinity), ConfigError, "targetHz must be > 0");
});

function explain(
  recs: Recording[],
  opts: WindowOptions & { nominalHz?: number; timestampUnit?: string },
) {
  const segments = recs.flatMap((r) =>
    r.rateHz === opts.rateHz && !r.timestampsMs ? [r] : resample(r, opts.rateHz)
  );
  const result = makeWindowsWithReport(segments, opts);
  assertEquals(result.windows.n, 0);
  return explainNoWindows({
    dataset: "t",
    recordings: recs,
    segments,
    result,
    windowSec: opts.windowSec,
    nominalHz: opts.nominalHz,
    timestampUnit: opts.timestampUnit,
  });
}

Deno.test("explainNoWindows names each cause with a count and an example file", () => {
  const o = { windowSec: 10, overlapSec: 5, rateHz: 30 };
  // no recordings at all
  assertStringIncludes(
    explainNoWindows({
      dataset: "t",
      recordings: [],
      segments: [],
      result: makeWindowsWithReport([], o),
      windowSec: 10,
    }),
    "no recording was read",
  );
  // shorter than one window
  let m = explain([rec("short1.txt", 90, 30), rec("short2.txt", 150, 30)], o);
  assertStringIncludes(m, "no windows from t (2 recording(s), 2 segment(s)");
  assertStringIncludes(
    m,
    "2 recording(s)/segment(s) shorter than one 10 s window (longest 5.00 s, e.g. short2.txt)",
  );
  // timestamps all equal
  const flat = rec("flat.txt", 900, 30, { timestampsMs: new Float64Array(900) });
  m = explain([flat], o);
  assertStringIncludes(m, "1 recording(s) whose timestamps are all equal (e.g. flat.txt)");
  // timestamps going backwards
  const back = rec("back.txt", 900, 30, {
    timestampsMs: Float64Array.from({ length: 900 }, (_, i) => (i % 2 ? -1 : 1) * i * 33.3),
  });
  m = explain([back], o);
  assertStringIncludes(
    m,
    "1 recording(s) whose timestamps are not increasing (> 10 % of steps go backwards) (e.g. back.txt)",
  );
  // timestamps in seconds where the format has ms: the recording is 1000× too short
  const sec = rec("sec.txt", 900, 30, {
    timestampsMs: Float64Array.from({ length: 900 }, (_, i) => i / 30),
  });
  m = explain([sec], { ...o, nominalHz: 30 });
  assertStringIncludes(m, "1 recording(s) whose timestamps look like s, not ms (e.g. sec.txt)");
  // every step a gap
  const sparse = rec("sparse.txt", 900, 30, {
    timestampsMs: Float64Array.from({ length: 900 }, (_, i) => i * 2000),
  });
  m = explain([sparse], { ...o, nominalHz: 0.5 });
  assertStringIncludes(
    m,
    "1 recording(s) where most time steps exceed the 1 s gap limit (e.g. sparse.txt)",
  );
  // all unlabelled (Daphnet label 0) and classes not asked for
  const unl = rec("S01R01.txt", 900, 30, {
    labels: new Int32Array(900).fill(-1),
    labelNames: ["no_freeze", "freeze"],
  });
  m = explain([unl], o);
  assertStringIncludes(m, "5 unlabelled window(s)");
  assertStringIncludes(m, "(e.g. S01R01.txt)");
  const other = rec("walk.txt", 900, 30, { labels: new Int32Array(900), labelNames: ["walk"] });
  m = explain([other], { ...o, classes: ["run"] });
  assertStringIncludes(m, "5 window(s) of classes not asked for (e.g. walk.txt)");
  // NaN samples
  const nan = rec("nan.txt", 900, 30);
  nan.axes[0].fill(NaN);
  assertStringIncludes(explain([nan], o), "5 window(s) holding NaN/Inf samples (e.g. nan.txt)");
});
