import { assert, assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { ConfigError } from "../../lib/errors.ts";
import {
  checkHarnetInput,
  getHarnetConfig,
  harnet,
  harnet10,
  harnet30,
  harnet5,
  harnetConfig,
  harnetEncoder,
  predictArrays,
  withHead,
} from "../../lib/models/harnet.ts";

await tf.setBackend("wasm");

function trainable(m: tf.LayersModel): number {
  return m.trainableWeights.reduce(
    (a, w) => a + w.shape.reduce((x: number, y) => x * (y as number), 1),
    0,
  );
}

// Trainable parameters derived from ssl-wearables' Resnet (resnet_version=1):
// per stage conv in·out·5 + m ResBlocks (2 BN of 2·out + 2 convs out²·5) + BN 2·out;
// EvaClassifier F·512 + 512 + 512·classes + classes; MTL 4 × (F·2 + 2).
const FEATURE_PARAMS = { harnet5: 4227904, harnet10: 10457408, harnet30: 10457408 };

Deno.test("harnet5/10/30: input lengths, feature sizes and parameter counts match ssl-wearables", () => {
  const cases = [
    { f: harnet5, name: "harnet5", t: 150, dim: 512 },
    { f: harnet10, name: "harnet10", t: 300, dim: 1024 },
    { f: harnet30, name: "harnet30", t: 900, dim: 1024 },
  ] as const;
  for (const { f, name, t, dim } of cases) {
    const m = f({ head: "eva", numClasses: 2 });
    assertEquals(m.inputs[0].shape, [null, 3, t]);
    assertEquals(m.outputs[0].shape, [null, 2]);
    assertEquals(getHarnetConfig(m)!.featureDim, dim);
    assertEquals(trainable(m), FEATURE_PARAMS[name] + dim * 512 + 512 + 512 * 2 + 2, name);
    const enc = harnetEncoder(m);
    assertEquals(enc.outputs[0].shape, [null, dim]);
    assertEquals(trainable(enc), FEATURE_PARAMS[name]);
    m.dispose();
  }
});

Deno.test("multi-task heads: four binary heads, [N, 2] logits each", () => {
  const m = harnet({ variant: "laptop10", head: "mtl", seed: 3 });
  assertEquals(m.outputs.length, 4);
  assertEquals(m.outputNames, [
    "aot_h.linear1",
    "scale_h.linear1",
    "permute_h.linear1",
    "time_w_h.linear1",
  ]);
  const x = new Float32Array(2 * 3 * 300).map((_, i) => Math.sin(i / 10));
  const outs = predictArrays(m, x, [2, 3, 300]);
  assertEquals(outs.map((o) => o.shape), [[2, 2], [2, 2], [2, 2], [2, 2]]);
  assert(outs.every((o) => o.data.every(Number.isFinite)));
  m.dispose();
});

Deno.test("laptop10 is the same structure, smaller; seeds make weights reproducible", () => {
  const a = harnet({ variant: "laptop10", head: "eva", numClasses: 6, seed: 1 });
  const b = harnet({ variant: "laptop10", head: "eva", numClasses: 6, seed: 1 });
  const c = harnet({ variant: "laptop10", head: "eva", numClasses: 6, seed: 2 });
  assert(trainable(a) < 1_000_000 && trainable(a) > 100_000, `laptop10 has ${trainable(a)} params`);
  assertEquals(getHarnetConfig(a)!.featureDim, 256);
  assertEquals(a.outputs[0].shape, [null, 6]);
  const w = (m: tf.LayersModel) =>
    Array.from(m.getLayer("feature_extractor.layer2.1.conv1").getWeights()[0].dataSync());
  assertEquals(w(a), w(b));
  assertNotEquals(w(a), w(c));
  // Kaiming normal, fan-out, ReLU gain: std ≈ sqrt(2 / (out · k)) = sqrt(2 / 160)
  const v = w(a);
  const std = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
  assert(std > 0.6 * Math.sqrt(2 / 160) && std < 1.2 * Math.sqrt(2 / 160), `std ${std}`);
  [a, b, c].forEach((m) => m.dispose());
});

Deno.test("checkHarnetInput names the expected length in seconds", () => {
  const cfg = harnetConfig({ variant: "harnet10" });
  assertThrows(
    () => checkHarnetInput(cfg, [4, 3, 150]),
    ConfigError,
    "harnet10 expects 300 samples (10 s at 30 Hz), got 150",
  );
  assertThrows(() => checkHarnetInput(cfg, [4, 6, 300]), ConfigError, "3 channels");
  assertThrows(() => checkHarnetInput(cfg, [4, 300]), ConfigError, "expects input [N, 3, 300]");
  checkHarnetInput(cfg, [1, 3, 300]);
  assertThrows(
    () => harnetConfig({ variant: "harnet10", inputSamples: 40 }),
    ConfigError,
    "too short",
  );
  assertThrows(
    // deno-lint-ignore no-explicit-any
    () => harnetConfig({ variant: "resnet99" as any }),
    ConfigError,
    "unknown harnet variant",
  );
});

Deno.test("withHead shares the encoder; the model survives a tfjs save/load round trip", async () => {
  const m = harnet({ variant: "laptop10", head: "mtl", seed: 5 });
  const clf = withHead(m, "eva", { numClasses: 4, seed: 9 });
  assertEquals(clf.outputs[0].shape, [null, 4]);
  assertEquals(getHarnetConfig(clf)!.head, "eva");
  assert(m.getLayer("feature_extractor.layer1.0") === clf.getLayer("feature_extractor.layer1.0"));
  const x = new Float32Array(3 * 3 * 300).map((_, i) => Math.cos(i / 7) + (i % 5) / 10);
  const before = predictArrays(clf, x, [3, 3, 300])[0].data;
  let saved: tf.io.ModelArtifacts | undefined;
  await clf.save(tf.io.withSaveHandler((art) => {
    saved = art;
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
  assertEquals(getHarnetConfig(loaded)!.numClasses, 4);
  const after = predictArrays(loaded, x, [3, 3, 300])[0].data;
  after.forEach((v, i) =>
    assert(Math.abs(v - before[i]) < 1e-5, `output ${i}: ${v} vs ${before[i]}`)
  );
  [m, loaded].forEach((mm) => mm.dispose());
});

Deno.test("predictArrays keeps tensor memory flat and batches consistently", () => {
  const m = harnet({ variant: "laptop10", seed: 11 });
  const x = new Float32Array(5 * 3 * 300).map((_, i) => Math.sin(i * 0.37));
  const before = tf.memory().numTensors;
  const a = predictArrays(m, x, [5, 3, 300], { batchSize: 2 })[0];
  const b = predictArrays(m, x, [5, 3, 300], { batchSize: 5 })[0];
  assertEquals(tf.memory().numTensors, before);
  assertEquals(a.shape, [5, 256]);
  a.data.forEach((v, i) => assert(Math.abs(v - b.data[i]) < 1e-5));
  m.dispose();
});
