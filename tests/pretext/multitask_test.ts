import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertGreater,
  assertNotEquals,
  assertThrows,
} from "@std/assert";
import type { Windows } from "../../lib/data/types.ts";
import { ConfigError } from "../../lib/errors.ts";
import {
  makeMultitaskBatch,
  multitaskWindow,
  PRETEXT_TASKS,
  type PretextTask,
} from "../../lib/pretext/multitask.ts";
import { rng } from "../../lib/signal/random.ts";
import { reverseTime } from "../../lib/pretext/transforms.ts";
import { wisdmWindows } from "./_real.ts";
import { maxAbsDiff, norms, rows, sorted, testWindow } from "./_signals.ts";

const C = 3, L = 300, SIZE = C * L;

function syntheticWindows(n: number, subjects = 8): Windows {
  const x = new Float32Array(n * SIZE);
  for (let i = 0; i < n; i++) x.set(testWindow(C, L, 100 + i), i * SIZE);
  return {
    x,
    n,
    channels: C,
    length: L,
    y: new Int32Array(n).fill(-1),
    classes: [],
    subject: Array.from({ length: n }, (_, i) => `s${i % subjects}`),
    rateHz: 30,
  };
}
const row = (x: Float32Array, i: number) => x.subarray(i * SIZE, (i + 1) * SIZE);
const range = (n: number, mod: number) => Array.from({ length: n }, (_, i) => i % mod);

const W = syntheticWindows(64);

Deno.test("makeMultitaskBatch: shape, deterministic for a seed, different for another", () => {
  const idx = range(40, 64);
  const a = makeMultitaskBatch(W, idx, { seed: 1 });
  assertEquals([a.n, a.channels, a.length, a.x.length], [40, C, L, 40 * SIZE]);
  assertEquals([...a.indices], idx);
  assertEquals(a.tasks, [...PRETEXT_TASKS]);
  const b = makeMultitaskBatch(W, idx, { seed: 1 });
  assertEquals([...a.x], [...b.x]);
  for (const t of PRETEXT_TASKS) assertEquals([...a.labels[t]], [...b.labels[t]]);
  const c = makeMultitaskBatch(W, idx, { seed: 2 });
  assertNotEquals([...a.x], [...c.x]);
});

Deno.test("makeMultitaskBatch: labels are independent fair coins per task (positiveRatio 0.5)", () => {
  const n = 2000;
  const b = makeMultitaskBatch(W, range(n, 64), { seed: 7, augment: false });
  for (const t of PRETEXT_TASKS) {
    const m = b.labels[t].reduce((s, v) => s + v, 0) / n;
    assertAlmostEquals(m, 0.5, 0.04, `${t} positive rate ${m}`);
    assert(b.labels[t].every((v) => v === 0 || v === 1));
  }
  for (let i = 0; i < 4; i++) {
    for (let j = i + 1; j < 4; j++) {
      const [ti, tj] = [PRETEXT_TASKS[i], PRETEXT_TASKS[j]];
      let both = 0;
      for (let k = 0; k < n; k++) both += b.labels[ti][k] & b.labels[tj][k];
      assertAlmostEquals(both / n, 0.25, 0.04, `${ti}&${tj}`);
    }
  }
  const p = makeMultitaskBatch(W, range(n, 64), { seed: 7, augment: false, positiveRatio: 0.2 });
  assertAlmostEquals(p.labels.aot.reduce((s, v) => s + v, 0) / n, 0.2, 0.03);
});

Deno.test("makeMultitaskBatch: label 1 means the transform was applied, 0 means untouched", () => {
  const idx = range(120, 64);
  const check = (task: PretextTask, extra: Record<string, unknown> = {}) => {
    const b = makeMultitaskBatch(W, idx, { seed: 3, tasks: [task], augment: false, ...extra });
    for (const t of PRETEXT_TASKS) if (t !== task) assert(b.labels[t].every((v) => v === 0));
    let ones = 0;
    for (let i = 0; i < b.n; i++) {
      const raw = row(W.x, idx[i]), out = row(b.x, i);
      if (b.labels[task][i] === 0) {
        assertEquals(maxAbsDiff(out, raw), 0, `${task} label 0 row ${i} was changed`);
        continue;
      }
      ones++;
      if (task === "aot") assertEquals([...out], [...reverseTime(raw)]);
      if (task === "scale") {
        rows(out).forEach((r, c) => {
          const f = r[5] / rows(raw)[c][5];
          assert(Math.abs(f - 1) >= 0.15 - 1e-6, `scale factor ${f}`);
          for (let t = 0; t < L; t += 10) assertAlmostEquals(r[t], rows(raw)[c][t] * f, 1e-5);
        });
      }
      if (task === "permute") {
        rows(out).forEach((r, c) => assertEquals(sorted(r), sorted(rows(raw)[c])));
        assertGreater(maxAbsDiff(out, raw), 0); // allowIdentity: false below
      }
      if (task === "time_w") {
        assertGreater(maxAbsDiff(out, raw), 0.01);
        rows(out).forEach((r, c) => assertAlmostEquals(r[L - 1], rows(raw)[c][L - 1], 1e-6));
      }
    }
    assert(ones > 40 && ones < 80, `${task}: ${ones} of 120 applied`);
  };
  check("aot");
  check("scale");
  check("permute", { permute: { allowIdentity: false } });
  check("time_w");
});

Deno.test("makeMultitaskBatch: all tasks compose in ssl-wearables order", () => {
  const idx = range(300, 64);
  const b = makeMultitaskBatch(W, idx, { seed: 11, augment: false });
  let none = 0, aotOnly = 0;
  for (let i = 0; i < b.n; i++) {
    const l = PRETEXT_TASKS.map((t) => b.labels[t][i]);
    const raw = row(W.x, idx[i]), out = row(b.x, i);
    if (l.every((v) => v === 0)) {
      none++;
      assertEquals(maxAbsDiff(out, raw), 0);
    } else if (l.join() === "1,0,0,0") {
      aotOnly++;
      assertEquals([...out], [...reverseTime(raw)]);
    } else if (l.join() !== "0,0,1,0") {
      // (permute alone may draw the identity order, 1 in 24, as ssl-wearables)
      assertGreater(maxAbsDiff(out, raw), 0);
    }
  }
  assert(none > 5 && aotOnly > 5, `rows untouched ${none}, aot only ${aotOnly}`);
  // The batch reproduces multitaskWindow drawn from the same stream.
  const rand = rng(11);
  for (let i = 0; i < 5; i++) {
    const r = multitaskWindow(row(W.x, idx[i]), {}, rand);
    assertEquals([...r.x], [...row(b.x, i)]);
    for (const t of PRETEXT_TASKS) assertEquals(r.labels[t], b.labels[t][i]);
  }
});

Deno.test("makeMultitaskBatch: augmentation keeps norms, shared per subject by default", () => {
  // Window 0 repeated for 2 subjects; no pretext task: only the augmentation acts.
  const base = testWindow(C, L, 1);
  const w: Windows = { ...syntheticWindows(4, 2) };
  for (let i = 0; i < 4; i++) w.x.set(base, i * SIZE);
  w.subject = ["a", "a", "b", "b"];
  const b = makeMultitaskBatch(w, [0, 1, 2, 3], { seed: 5, tasks: [] });
  assertEquals(maxAbsDiff(row(b.x, 0), row(b.x, 1)), 0);
  assertEquals(maxAbsDiff(row(b.x, 2), row(b.x, 3)), 0);
  assertGreater(maxAbsDiff(row(b.x, 0), row(b.x, 2)), 0.01);
  assertGreater(maxAbsDiff(row(b.x, 0), base), 0.01);
  for (let i = 0; i < 4; i++) {
    const nb = norms(row(b.x, i)), n0 = norms(base);
    for (let t = 0; t < L; t++) assertAlmostEquals(nb[t], n0[t], 1e-5 * Math.max(1, n0[t]));
  }
  const perWindow = makeMultitaskBatch(w, [0, 1], {
    seed: 5,
    tasks: [],
    augment: { scope: "window" },
  });
  assertGreater(maxAbsDiff(row(perWindow.x, 0), row(perWindow.x, 1)), 0.01);
  const off = makeMultitaskBatch(w, [0, 1], { seed: 5, tasks: [], augment: false });
  assertEquals(maxAbsDiff(row(off.x, 0), base), 0);
  const swapOnly = makeMultitaskBatch(w, [0], { seed: 5, tasks: [], augment: { rotate: false } });
  assertEquals(sorted(row(swapOnly.x, 0)), sorted(base));
});

Deno.test("makeMultitaskBatch: errors name the field and the fault", () => {
  assertThrows(() => makeMultitaskBatch(W, [0, 64], { seed: 0 }), ConfigError, "indices[1]");
  assertThrows(() => makeMultitaskBatch(W, [0], { seed: 0.5 }), ConfigError, "seed");
  assertThrows(
    () => makeMultitaskBatch(W, [0], { seed: 0, tasks: ["rotation" as PretextTask] }),
    ConfigError,
    "unknown pretext task",
  );
  assertThrows(
    () => makeMultitaskBatch(W, [0], { seed: 0, positiveRatio: 2 }),
    ConfigError,
    "positiveRatio",
  );
  const two: Windows = { ...W, channels: 2, length: 450 };
  assertThrows(() => makeMultitaskBatch(two, [0], { seed: 0 }), ConfigError, "tri-axial");
  assertEquals(makeMultitaskBatch(two, [0], { seed: 0, augment: false }).channels, 2);
  assertThrows(
    () => makeMultitaskBatch({ ...W, n: 65 }, [0], { seed: 0 }),
    ConfigError,
    "windows.x",
  );
});

Deno.test("makeMultitaskBatch on real WISDM watch windows (10 s at 20 Hz)", async () => {
  const w = await wisdmWindows(["1600", "1601"], 200, 40);
  if (!w) return;
  assertEquals(w.n, 40);
  const idx = range(400, w.n);
  const b = makeMultitaskBatch(w, idx, { seed: 0 });
  assertEquals(b.x.length, 400 * 3 * 200);
  assert(b.x.every(Number.isFinite));
  for (const t of PRETEXT_TASKS) {
    const m = b.labels[t].reduce((s, v) => s + v, 0) / b.n;
    assertAlmostEquals(m, 0.5, 0.08, `${t} positive rate ${m}`);
  }
  // Untransformed rows are only rotated / swapped: per-sample norms (|a| in g) kept.
  let checked = 0;
  for (let i = 0; i < b.n; i++) {
    if (PRETEXT_TASKS.some((t) => b.labels[t][i] === 1)) continue;
    const raw = w.x.subarray(idx[i] * 600, (idx[i] + 1) * 600);
    const nr = norms(raw), nb = norms(b.x.subarray(i * 600, (i + 1) * 600));
    for (let t = 0; t < 200; t++) assertAlmostEquals(nb[t], nr[t], 1e-4 * Math.max(1, nr[t]));
    checked++;
  }
  assertGreater(checked, 5);
});
