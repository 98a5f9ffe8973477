import { assert, assertEquals } from "@std/assert";
import { SYNTHETIC_CLASSES, syntheticRecordings } from "../../lib/data/synthetic.ts";

Deno.test("synthetic recordings are labelled synthetic, seeded, and separable by activity", () => {
  const a = syntheticRecordings({ subjects: 2, secondsPerActivity: 10, seed: 3 });
  const b = syntheticRecordings({ subjects: 2, secondsPerActivity: 10, seed: 3 });
  const c = syntheticRecordings({ subjects: 2, secondsPerActivity: 10, seed: 4 });
  assertEquals(a.length, 2);
  assertEquals(a[0].dataset, "synthetic");
  assertEquals(a[0].meta?.synthetic, true);
  assertEquals(a[0].axes[0], b[0].axes[0]);
  assert(a[0].axes[0][5] !== c[0].axes[0][5]);
  assertEquals(a[0].axes[0].length, 10 * 30 * SYNTHETIC_CLASSES.length);
  // running has a larger spread than sitting
  const std = (lab: number) => {
    const xs = a[0].axes[0].filter((_, i) => a[0].labels![i] === lab);
    const m = xs.reduce((s, v) => s + v, 0) / xs.length;
    return Math.sqrt(xs.reduce((s, v) => s + (v - m) ** 2, 0) / xs.length);
  };
  assert(std(SYNTHETIC_CLASSES.indexOf("running")) > 5 * std(SYNTHETIC_CLASSES.indexOf("sitting")));
});
