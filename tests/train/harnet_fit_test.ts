/**
 * The training layer on the real model and the selected fast backend:
 * harnet (laptop10) trains with `fit` on whatever `initBackend()` picks
 * (wasm + our kernels, BLAS when present), first blocks frozen then
 * transferred to a second model, and survives a save/load round trip.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertLess } from "@std/assert";
import { initBackend } from "../../lib/backend/mod.ts";
import { harnet } from "../../lib/models/harnet.ts";
import { firstKBlocks, selectWeights, transferWeights } from "../../lib/train/freeze.ts";
import { fit } from "../../lib/train/loop.ts";
import { loadModel, saveModel } from "../../lib/train/save.ts";
import { tempDir } from "../_helpers.ts";
import { toyData } from "./_fixtures.ts";

Deno.test("harnet laptop10 trains with fit on the selected backend; freeze, transfer, save/load", async () => {
  const info = await initBackend();
  const data = toyData(48, 5, 300, 3);
  const model = harnet({ variant: "laptop10", head: "linear", numClasses: 3, seed: 1 });
  const frozen = firstKBlocks(1);
  // Batch-norm running statistics keep updating in training mode (as in PyTorch,
  // where requires_grad=False does not stop them): compare the parameters only.
  const params = (m: tf.LayersModel) =>
    selectWeights(m, frozen).filter((w) => !/moving|running/.test(w.name));
  const before = params(model).map((w) => w.variable.dataSync().slice());
  assert(before.length > 0, "firstKBlocks(1) selects harnet's first stage");
  const tensors0 = tf.memory().numTensors;
  const res = await fit(model, data, {
    epochs: 3,
    batchSize: 16,
    seed: 3,
    optimizer: { name: "adam", lr: 3e-3 },
    freeze: frozen,
    progress: false,
  });
  const rows = res.rows;
  assertEquals(rows.length, 3);
  assertLess(rows[2].trainLoss, rows[0].trainLoss, `loss falls on ${info.summary}`);
  const after = params(model).map((w) => w.variable.dataSync());
  after.forEach((w, i) =>
    assertEquals(Array.from(w), Array.from(before[i]), "frozen stays frozen")
  );
  assert(tf.memory().numTensors <= tensors0 + 5, "no tensor leak across fit");

  const other = harnet({ variant: "laptop10", head: "linear", numClasses: 3, seed: 9 });
  transferWeights(model, other, { select: frozen });
  const moved = params(other).map((w) => w.variable.dataSync());
  moved.forEach((w, i) => assertEquals(Array.from(w), Array.from(before[i])));

  const tmp = await tempDir();
  try {
    await saveModel(model, tmp.path, { classes: ["a", "b", "c"] });
    const { model: back, meta } = await loadModel(tmp.path);
    assertEquals(meta.classes, ["a", "b", "c"]);
    const x = tf.tensor3d(data.x.subarray(0, 2 * 900), [2, 3, 300]);
    const y1 = model.predict(x) as tf.Tensor, y2 = back.predict(x) as tf.Tensor;
    const d = tf.max(tf.abs(tf.sub(y1, y2))).dataSync()[0];
    assertLess(d, 1e-5);
    tf.dispose([x, y1, y2]);
    back.dispose();
  } finally {
    await tmp.cleanup();
    model.dispose();
    other.dispose();
  }
});
