import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import { loadModel, saveModel } from "../../lib/train/save.ts";
import { CheckpointError } from "../../lib/errors.ts";
import { tempDir } from "../_helpers.ts";
import { convModel, flatWeights, toyData, useCpu } from "./_fixtures.ts";

await useCpu();

Deno.test("saveModel/loadModel round-trip: weights, predictions, config and classes", async () => {
  const { path, cleanup } = await tempDir();
  try {
    const m = convModel(5, { batchNorm: true, dropout: 0.1 });
    const bn = m.getLayer("layer1_bn").getWeights();
    m.getLayer("layer1_bn").setWeights(bn.map((w, i) => (i >= 2 ? tf.fill(w.shape, 0.3 + i) : w)));
    const dir = join(path, "model");
    const classes = ["sitting", "walking", "running"];
    await saveModel(m, dir, { classes, config: { windowSec: 10, rateHz: 30 } });
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "har.json",
      "model.json",
      "weights.bin",
    ]);
    const { model, meta } = await loadModel(dir);
    assertEquals(meta.classes, classes);
    assertEquals(meta.config, { windowSec: 10, rateHz: 30 });
    assertEquals(flatWeights(model), flatWeights(m));
    const d = toyData(8, 3);
    const x = tf.tensor(d.x, d.shape).transpose([0, 2, 1]);
    const a = (m.predict(x) as tf.Tensor).dataSync();
    const b = (model.predict(x) as tf.Tensor).dataSync();
    assertEquals(Array.from(b), Array.from(a));
    // also loadable by plain tfjs from the same files
    const json = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    assertEquals(json.weightsManifest[0].paths, ["./weights.bin"]);
    tf.dispose([x]);
    m.dispose();
    model.dispose();
  } finally {
    await cleanup();
  }
});

Deno.test("loadModel errors name the missing/bad file", async () => {
  const { path, cleanup } = await tempDir();
  try {
    await assertRejects(() => loadModel(join(path, "nope")), CheckpointError, "model.json");
    const m = convModel(1);
    await saveModel(m, path);
    await Deno.writeTextFile(join(path, "har.json"), '{"format":"other"}');
    await assertRejects(() => loadModel(path), CheckpointError, "har.json");
    m.dispose();
  } finally {
    await cleanup();
  }
});
