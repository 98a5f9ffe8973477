import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import {
  AntiAliasDownsample1D,
  CircularPad1D,
  downsampleKernel,
  downsampleLength,
} from "../../lib/models/layers.ts";

await tf.setBackend("wasm");

/** Reference: PyTorch F.conv1d(x, kernel per channel, stride, zero padding, groups=C) on [T, C]. */
function refDownsample(x: number[][], factor: number, order: number): number[][] {
  const k = Array.from(downsampleKernel(factor, order));
  const p = (order * (factor - 1)) / 2;
  const t = x.length;
  const out: number[][] = [];
  for (let s = 0; s + k.length <= t + 2 * p; s += factor) {
    out.push(x[0].map((_, c) => {
      let acc = 0;
      for (let j = 0; j < k.length; j++) {
        const i = s + j - p;
        if (i >= 0 && i < t) acc += k[j] * x[i][c];
      }
      return acc;
    }));
  }
  return out;
}

Deno.test("downsampleKernel is the box filter convolved `order` times, normalised", () => {
  assertEquals(Array.from(downsampleKernel(2, 2)), [0.125, 0.375, 0.375, 0.125]);
  assertEquals(Array.from(downsampleKernel(3, 1)), [1, 2, 3, 2, 1].map((v) => v / 9));
  assertEquals(Array.from(downsampleKernel(4, 0)), [0.25, 0.25, 0.25, 0.25]);
  assertEquals(downsampleKernel(5, 1).length, 9);
  // harnet10's length chain 300 → 150 → 75 → 15 → 3 → 1
  assertEquals(
    [[2, 2], [2, 2], [5, 1], [5, 1], [3, 1]].reduce(
      (l, [f, o]) => [...l, downsampleLength(l[l.length - 1], f, o)],
      [300],
    ),
    [300, 150, 75, 15, 3, 1],
  );
});

Deno.test("AntiAliasDownsample1D equals the per-channel strided convolution of ssl-wearables", () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5;
  for (const [factor, order, t] of [[2, 2, 37], [3, 1, 12], [5, 1, 75], [4, 0, 4], [3, 1, 3]]) {
    const x = Array.from({ length: t }, () => [rnd(), rnd(), rnd()]);
    const layer = new AntiAliasDownsample1D({ factor, order });
    const y = tf.tidy(() =>
      (layer.apply(tf.tensor3d([x])) as tf.Tensor).arraySync() as number[][][]
    );
    const ref = refDownsample(x, factor, order);
    assertEquals(y[0].length, ref.length, `length for factor ${factor} order ${order}`);
    assertEquals(y[0].length, downsampleLength(t, factor, order));
    ref.forEach((row, i) => row.forEach((v, c) => assertAlmostEquals(y[0][i][c], v, 1e-6)));
  }
  assertThrows(
    () => new AntiAliasDownsample1D({ factor: 2, order: 1 }),
    RangeError,
    "must be even",
  );
  assertThrows(() => new AntiAliasDownsample1D({ factor: 1, order: 0 }), RangeError, "factor");
});

Deno.test("CircularPad1D wraps the time axis like padding_mode='circular'", () => {
  const x = tf.tensor3d([[[1, 10], [2, 20], [3, 30], [4, 40]]]);
  const y = new CircularPad1D({ padding: 2 }).apply(x) as tf.Tensor;
  assertEquals(y.shape, [1, 8, 2]);
  assertEquals((y.arraySync() as number[][][])[0].map((r) => r[0]), [3, 4, 1, 2, 3, 4, 1, 2]);
  assertEquals((y.arraySync() as number[][][])[0].map((r) => r[1]), [
    30,
    40,
    10,
    20,
    30,
    40,
    10,
    20,
  ]);
  assertThrows(() => new CircularPad1D({ padding: -1 }), RangeError);
  tf.dispose([x, y]);
});

Deno.test("custom layers serialise through getConfig / fromConfig", () => {
  const d = new AntiAliasDownsample1D({ factor: 5, order: 1, name: "down" });
  const cfg = d.getConfig();
  assertEquals([cfg.factor, cfg.order, cfg.name], [5, 1, "down"]);
  const back = tf.serialization.SerializationMap.getMap().classNameMap["AntiAliasDownsample1D"];
  // deno-lint-ignore no-explicit-any
  const d2 = (back[1] as any)(AntiAliasDownsample1D, cfg) as AntiAliasDownsample1D;
  assertEquals([d2.factor, d2.order], [5, 1]);
  const p = new CircularPad1D({ padding: 3 });
  assertEquals(p.getConfig().padding, 3);
  assertEquals(p.computeOutputShape([null, 10, 4]), [null, 16, 4]);
});

Deno.test("gradients flow through CircularPad1D and AntiAliasDownsample1D (finite differences)", () => {
  const pad = new CircularPad1D({ padding: 2 });
  const down = new AntiAliasDownsample1D({ factor: 2, order: 2 });
  const w = tf.tensor3d([[[0.3], [-1.2], [0.7], [2.0], [-0.4]]]); // [1, 5, 1] weights on the output
  const f = (x: tf.Tensor) => tf.sum(tf.mul(down.apply(pad.apply(x)) as tf.Tensor, w)) as tf.Scalar;
  const x0 = [0.5, -1, 2, 0.25, 1.5, -0.75];
  const g = tf.tidy(() => Array.from(tf.grad(f)(tf.tensor3d(x0, [1, 6, 1])).dataSync()));
  const eps = 1e-2;
  for (let i = 0; i < x0.length; i++) {
    const up = x0.slice(), dn = x0.slice();
    up[i] += eps;
    dn[i] -= eps;
    const num = tf.tidy(() =>
      (f(tf.tensor3d(up, [1, 6, 1])).dataSync()[0] - f(tf.tensor3d(dn, [1, 6, 1])).dataSync()[0]) /
      (2 * eps)
    );
    assertAlmostEquals(g[i], num, 1e-3);
  }
  assert(g.some((v) => Math.abs(v) > 0.05));
  w.dispose();
});
