import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertGreater,
  assertNotEquals,
} from "@std/assert";
import { applyRotation, swapAxes } from "../../lib/pretext/augment.ts";
import { transformGallery } from "../../lib/pretext/gallery.ts";
import { applyPermutation, reverseTime, warpChannel } from "../../lib/pretext/transforms.ts";
import { rng } from "../../lib/signal/random.ts";
import { maxAbsDiff, norms, rows, sorted, testWindow } from "./_signals.ts";

const L = 300;

Deno.test("transformGallery: each entry is its transform, reproducible from the returned plans", () => {
  const x = testWindow(3, L, 4);
  const g = transformGallery(x, { seed: 2 });
  assertEquals([...g.raw], [...x]);
  assertEquals([...g.aot], [...reverseTime(x)]);
  assertEquals([...g.permute], [...applyPermutation(x, g.permutation)]);
  rows(g.permute).forEach((r, c) => assertEquals(sorted(r), sorted(rows(x)[c])));
  assertGreater(maxAbsDiff(g.permute, x), 0);
  const xr = rows(x);
  rows(g.time_w).forEach((r, c) => {
    const expect = new Float32Array(L);
    warpChannel(xr[c], g.warpTimes[c], expect);
    assertEquals([...r], [...expect]);
    assertAlmostEquals(r[0], xr[c][0], 1e-6);
  });
  assertGreater(maxAbsDiff(g.time_w, x), 0.01);
  assertNotEquals(g.axisOrder, 0);
  assertEquals([...g.swap], [...swapAxes(x, { order: g.axisOrder }, rng(0))]);
  assertEquals([...g.rotate], [...applyRotation(x, g.rotation)]);
  const nx = norms(x), nr = norms(g.rotate);
  for (let t = 0; t < L; t++) assertAlmostEquals(nr[t], nx[t], 1e-5 * Math.max(1, nx[t]));
  rows(g.scale).forEach((r, c) => {
    const f = r[10] / xr[c][10];
    assert(Math.abs(f - 1) >= 0.15 - 1e-6);
    assertAlmostEquals(r[200], xr[c][200] * f, 1e-5);
  });
  const again = transformGallery(x, { seed: 2 });
  assertEquals([...again.time_w], [...g.time_w]);
  assertEquals([...again.rotate], [...g.rotate]);
});
