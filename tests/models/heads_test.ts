import { assert, assertEquals, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../../lib/errors.ts";
import { harnetDense, harnetKernelInit, resolveInit } from "../../lib/models/heads.ts";

await tf.setBackend("cpu");

/** A stand-alone dense head on `dim` features, as the frozen-feature recipes build it. */
function denseOn(dim: number, units: number, seed: number, init?: "kaiming" | "torch") {
  const input = tf.input({ shape: [dim] });
  // init undefined → harnetDense's default
  const layer = harnetDense("classifier.linear1", units, seed, false, init);
  const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
  const [k, b] = layer.getWeights().map((w) => Array.from(w.dataSync()));
  return { model, k, b };
}

Deno.test('harnetDense: "torch" bias bound follows the input it is applied to; default unchanged', () => {
  for (const dim of [16, 400]) {
    const { model, k, b } = denseOn(dim, 300, 3, "torch");
    const lim = 1 / Math.sqrt(dim);
    assert(k.every((v) => Math.abs(v) <= lim * (1 + 1e-6)));
    assert(b.every((v) => v !== 0 && Math.abs(v) <= lim * (1 + 1e-6)));
    // the bias spans its range: max |b| close to the limit for 300 draws
    assert(Math.max(...b.map(Math.abs)) > 0.95 * lim);
    model.dispose();
  }
  const d = denseOn(16, 8, 3);
  assert(d.b.every((v) => v === 0));
  const kaiming = denseOn(16, 8, 3, "kaiming");
  assertEquals(d.k, kaiming.k);
  [d.model, kaiming.model].forEach((m) => m.dispose());
});

Deno.test("resolveInit / harnetKernelInit reject unknown options", () => {
  assertEquals(resolveInit(undefined), "kaiming");
  assertEquals(resolveInit(undefined, "torch"), "torch");
  // deno-lint-ignore no-explicit-any
  assertThrows(() => resolveInit("he" as any), ConfigError, "unknown init 'he'");
  // deno-lint-ignore no-explicit-any
  assertThrows(() => harnetKernelInit("he" as any, 0, "x", 1), ConfigError);
});
