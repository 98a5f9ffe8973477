import { assertEquals } from "@std/assert";
import type { Windows } from "../../lib/data/types.ts";
import { checkSpan, checkWindows, filterWindows, selectWindows } from "../../lib/signal/quality.ts";

function windows(
  n: number,
  len: number,
  fill: (i: number, c: number, t: number) => number,
): Windows {
  const x = new Float32Array(n * 3 * len);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      for (let t = 0; t < len; t++) x[(i * 3 + c) * len + t] = fill(i, c, t);
    }
  }
  return {
    x,
    n,
    channels: 3,
    length: len,
    y: Int32Array.from({ length: n }, (_, i) => i % 2),
    classes: ["a", "b"],
    subject: Array.from({ length: n }, (_, i) => `s${i}`),
    rateHz: 10,
    startSec: Float64Array.from({ length: n }, (_, i) => i * 5),
  };
}

Deno.test("checkWindows: counts drops per reason (gap, nan, range, flat) and keeps the rest", () => {
  const w = windows(6, 20, (i, c, t) => {
    if (i === 1 && t >= 5 && t < 17) return NaN; // 12 missing samples = 1.2 s: a gap
    if (i === 2 && c === 1 && t === 3) return NaN; // one sample: nan
    if (i === 3 && t === 0) return 9; // out of range
    if (i === 4) return 1; // flat
    return Math.sin(t + i + c);
  });
  const r = checkWindows(w, { maxGapSec: 1, maxAbsG: 8, minStdG: 0.01 });
  assertEquals(r.dropped, { gap: 1, nan: 1, range: 1, flat: 1 });
  assertEquals(Array.from(r.keptIndex), [0, 5]);
  assertEquals(r.kept, 2);
  const { windows: clean } = filterWindows(w, { maxGapSec: 1, maxAbsG: 8, minStdG: 0.01 });
  assertEquals(clean.n, 2);
  assertEquals(clean.subject, ["s0", "s5"]);
  assertEquals(Array.from(clean.startSec!), [0, 25]);
  assertEquals(clean.x[3 * 20], w.x[5 * 3 * 20]);
  // without maxGapSec every missing run counts as a gap
  assertEquals(checkWindows(w).dropped, { gap: 2 });
});

Deno.test("checkWindows: wrong length drops all; tolerance in seconds", () => {
  const w = windows(3, 20, (_i, _c, t) => t);
  assertEquals(checkWindows(w, { expectedLength: 30 }).dropped, { length: 3 });
  assertEquals(checkWindows(w, { expectedLength: 21, lengthToleranceSec: 0.1 }).kept, 3);
  assertEquals(selectWindows(w, [2, 0]).subject, ["s2", "s0"]);
});

Deno.test("checkSpan: length, gap and duration tolerance like ssl-wearables is_good_quality", () => {
  const t = Array.from({ length: 200 }, (_, i) => i * 50); // 20 Hz
  const opts = { expectedLength: 200, expectedDurationSec: 9.95 };
  assertEquals(checkSpan(t, 0, 200, opts), null);
  assertEquals(checkSpan(t, 0, 199, opts), "length");
  const gap = [...t];
  for (let i = 100; i < 200; i++) gap[i] += 1500;
  assertEquals(checkSpan(gap, 0, 200, opts), "gap");
  const slow = t.map((v) => v * 1.02); // 2 % longer than expected: beyond 1 %
  assertEquals(checkSpan(slow, 0, 200, opts), "duration");
});
