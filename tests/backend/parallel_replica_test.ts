/**
 * ModelReplica: the loss's reported metrics come back from `gradients`
 * (numbers and one-element tensors, read at once, no tensor leak); a name
 * reported twice or a tensor of several values is an error naming the
 * metric; host-tensor helpers check their shapes.
 */
import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { ModelReplica, sliceRows, toHost } from "../../lib/backend/parallel_replica.ts";
import { tinyBatch } from "./_parallel_model.ts";

const MODULE = new URL("./_parallel_report_model.ts", import.meta.url).href;
const ADAM = { kind: "adam", learningRate: 0.01 } as const;

Deno.test("ModelReplica.gradients returns the metrics the loss reported", async () => {
  await tf.setBackend("cpu");
  const replica = await ModelReplica.create(
    { module: MODULE, export: "buildReporting", args: { seed: 3 } },
    ADAM,
    1,
  );
  const { x, y } = tinyBatch(6, 2);
  const xs = [toHost(x, "x")], ys = [toHost(y, "y")];
  try {
    const before = tf.memory().numTensors;
    const r = replica.gradients(xs, ys);
    assertEquals(tf.memory().numTensors, before);
    assertEquals(r.metrics.ce, r.loss);
    const yv = y.dataSync();
    const share = [0, 1, 2, 3, 4, 5].reduce((a, i) => a + yv[i * 4], 0) / 6;
    assertAlmostEquals(r.metrics.class0, share, 1e-6);
    assertEquals(r.metrics.worker, 1);
    assertEquals(r.metrics.only1, 5);
    // a fresh collection each step
    replica.apply(r.grads);
    const r2 = replica.gradients(xs, ys);
    assertEquals(Object.keys(r2.metrics).sort(), ["ce", "class0", "only1", "worker"]);
    assertEquals(r2.metrics.ce, r2.loss);
  } finally {
    replica.dispose();
  }
  for (
    const [mistake, msg] of [
      ["twice", "reported metric 'ce' twice"],
      ["vector", "metric 'ce' must be a number or a one-element tensor, got a tensor of shape [4]"],
    ] as const
  ) {
    const bad = await ModelReplica.create(
      { module: MODULE, export: "buildReporting", args: { seed: 3, mistake } },
      ADAM,
    );
    const before = tf.memory().numTensors;
    assertThrows(() => bad.gradients(xs, ys), Error, msg);
    assertEquals(tf.memory().numTensors, before, `${mistake}: tensors leaked`);
    bad.dispose();
  }
  tf.dispose([x, y]);
});

Deno.test("toHost / sliceRows: shapes checked, rows copied", () => {
  const h = { data: Float32Array.from({ length: 12 }, (_, i) => i), shape: [4, 3] };
  const s = sliceRows(h, 1, 3);
  assertEquals(s.shape, [2, 3]);
  assertEquals(Array.from(s.data), [3, 4, 5, 6, 7, 8]);
  s.data[0] = -1;
  assertEquals(h.data[3], 3);
  assertThrows(
    () => toHost({ data: new Float32Array(5), shape: [2, 3] }, "inputs[1]"),
    RangeError,
    "inputs[1] has 5 values",
  );
  const b = tf.tensor([true, false], [2], "bool");
  assertThrows(() => toHost(b, "targets[0]"), TypeError, "targets[0] has dtype bool");
  b.dispose();
});
