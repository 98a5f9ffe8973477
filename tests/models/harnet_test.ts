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
import { attachHead } from "../../lib/models/heads.ts";

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

// ---- initialisation options ----

/** Kernel (and bias) of every conv / dense layer, with fan_in and fan_out. */
function paramLayers(m: tf.LayersModel) {
  return m.layers
    .filter((l) => ["Conv1D", "Dense"].includes(l.getClassName()))
    .map((l) => {
      const [k, b] = l.getWeights();
      const shape = k.shape as number[];
      return {
        name: l.name,
        kernel: k.dataSync() as Float32Array,
        bias: b ? b.dataSync() as Float32Array : null,
        fanIn: shape.slice(0, -1).reduce((a, x) => a * x, 1),
        fanOut: shape[shape.length - 1] * (shape.length === 3 ? shape[0] : 1),
      };
    });
}

const meanSq = (v: ArrayLike<number>) => Array.from(v).reduce((s, x) => s + x * x, 0) / v.length;

/** FNV-1a over the float32 bytes of every weight, in order. */
function weightHash(m: tf.LayersModel): string {
  let h = 0x811c9dc5;
  for (const w of m.weights) {
    const d = w.read().dataSync() as Float32Array;
    for (const b of new Uint8Array(d.buffer, d.byteOffset, d.byteLength)) {
      h ^= b;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return h.toString(16);
}

Deno.test('init "kaiming" (default) gives the same weights as before the option existed', () => {
  // hashes recorded from the code before `init` was added
  const eva = harnet({ variant: "laptop10", head: "eva", numClasses: 5, seed: 3 });
  assertEquals(weightHash(eva), "814be4ed");
  const mtl = harnet({ variant: "laptop10", head: "mtl", seed: 5, init: "kaiming" });
  assertEquals(weightHash(mtl), "a3d9b2c1");
  assertEquals(weightHash(withHead(mtl, "linear", { numClasses: 3, seed: 2 })), "9783cb0f");
  assertEquals(
    weightHash(attachHead(harnetEncoder(mtl), "eva", { numClasses: 4, seed: 4 })),
    "8781bb81",
  );
  assertEquals(getHarnetConfig(eva)!.init, "kaiming");
  for (const l of paramLayers(eva)) if (l.bias) assert(l.bias.every((b) => b === 0), l.name);
  [eva, mtl].forEach((m) => m.dispose());
});

Deno.test('init "torch": kernels and biases U(±1/√fan_in), variance 1/(3·fan_in)', () => {
  const m = harnet({ variant: "laptop10", head: "eva", numClasses: 5, seed: 4, init: "torch" });
  const layers = paramLayers(m);
  assertEquals(layers.length, 5 + 4 * 2 + 2); // 5 stage convs, 4×2 block convs, 2 dense
  const pooledBias: number[] = [];
  for (const l of layers) {
    const lim = 1 / Math.sqrt(l.fanIn);
    const n = l.kernel.length;
    assert(l.kernel.every((v) => Math.abs(v) <= lim * (1 + 1e-6)), `${l.name} within ±${lim}`);
    // mean of x² for U(−L, L): L²/3, relative sd √(4/45)·3/√n ≈ 0.894/√n; allow 5 sd
    const rel = meanSq(l.kernel) / (lim * lim / 3) - 1;
    assert(Math.abs(rel) < 5 * 0.894 / Math.sqrt(n), `${l.name}: variance off by ${rel} (n ${n})`);
    if (l.bias) {
      assert(l.bias.every((b) => b !== 0 && Math.abs(b) <= lim * (1 + 1e-6)), `${l.name} bias`);
      pooledBias.push(...Array.from(l.bias, (b) => b / lim));
    }
  }
  // the biases (scaled to U(−1, 1)) have variance 1/3
  const rel = meanSq(pooledBias) * 3 - 1;
  assert(Math.abs(rel) < 5 * 0.894 / Math.sqrt(pooledBias.length), `bias variance off by ${rel}`);
  // batch norm γ = 1, β = 0
  const bn = m.getLayer("feature_extractor.layer2.1.bn1").getWeights();
  assert(bn[0].dataSync().every((g) => g === 1) && bn[1].dataSync().every((b) => b === 0));
  m.dispose();
});

Deno.test('init "ssl-wearables": untruncated Kaiming normal fan-out kernels, torch-default biases', () => {
  const m = harnet({
    variant: "laptop10",
    head: "eva",
    numClasses: 5,
    seed: 6,
    init: "ssl-wearables",
  });
  let beyond2sd = 0, total = 0;
  for (const l of paramLayers(m)) {
    const sd = Math.sqrt(2 / l.fanOut);
    const n = l.kernel.length;
    // mean of x² for N(0, σ²): σ², relative sd √2/√n; allow 5 sd
    const rel = meanSq(l.kernel) / (sd * sd) - 1;
    assert(Math.abs(rel) < 5 * Math.SQRT2 / Math.sqrt(n), `${l.name}: variance off by ${rel}`);
    beyond2sd += l.kernel.filter((v) => Math.abs(v) > 2 * sd).length;
    total += n;
    if (l.bias) {
      const lim = 1 / Math.sqrt(l.fanIn);
      assert(l.bias.every((b) => b !== 0 && Math.abs(b) <= lim * (1 + 1e-6)), `${l.name} bias`);
    }
  }
  // not truncated: P(|z| > 2) = 4.55 %
  assert(Math.abs(beyond2sd / total - 0.0455) < 0.005, `${beyond2sd / total} beyond 2σ`);
  m.dispose();
});

Deno.test("init: same seed → same weights; recorded in the metadata and kept through save/load", async () => {
  const a = harnet({ variant: "laptop10", head: "mtl", seed: 8, init: "torch" });
  const b = harnet({ variant: "laptop10", head: "mtl", seed: 8, init: "torch" });
  const c = harnet({ variant: "laptop10", head: "mtl", seed: 9, init: "torch" });
  assertEquals(weightHash(a), weightHash(b));
  assertNotEquals(weightHash(a), weightHash(c));
  // the per-layer bias seed differs from the kernel's and between layers
  const h1 = a.getLayer("aot_h.linear1").getWeights()[1].dataSync();
  const h2 = a.getLayer("scale_h.linear1").getWeights()[1].dataSync();
  assertNotEquals(Array.from(h1), Array.from(h2));
  assertEquals(getHarnetConfig(a)!.init, "torch");
  assertEquals(harnetConfig({ init: "ssl-wearables" }).init, "ssl-wearables");
  assertEquals(harnetConfig().init, "kaiming");
  assertThrows(
    // deno-lint-ignore no-explicit-any
    () => harnet({ variant: "laptop10", init: "xavier" as any }),
    ConfigError,
    "unknown init 'xavier'",
  );

  let saved: tf.io.ModelArtifacts | undefined;
  await a.save(tf.io.withSaveHandler((art) => {
    saved = art;
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
  assertEquals(getHarnetConfig(loaded)!.init, "torch");
  assertEquals(weightHash(loaded), weightHash(a));
  // a model rebuilt from its JSON (as the workers do) builds with the same initialisers
  const rebuilt = await tf.models.modelFromJSON(
    { modelTopology: a.toJSON(null, false) } as unknown as tf.io.ModelJSON,
  );
  assertEquals(weightHash(rebuilt), weightHash(a));

  // metadata written before the option existed reads as "kaiming"
  const old = harnet({ variant: "laptop10", seed: 1 });
  const { init: _init, ...legacy } = getHarnetConfig(old)!;
  old.setUserDefinedMetadata({ harnet: legacy });
  assertEquals(getHarnetConfig(old)!.init, "kaiming");
  [a, b, c, loaded, rebuilt, old].forEach((m) => m.dispose());
});

Deno.test("init: heads attached later inherit the model's init unless told otherwise", () => {
  const m = harnet({ variant: "laptop10", seed: 2, init: "torch" });
  const enc = harnetEncoder(m);
  assertEquals(getHarnetConfig(enc)!.init, "torch");
  const bias = (model: tf.LayersModel, name: string) =>
    Array.from(model.getLayer(name).getWeights()[1].dataSync());
  // inherited: torch biases (nonzero)
  const w1 = withHead(m, "eva", { numClasses: 3, seed: 1 });
  assert(bias(w1, "classifier.linear2").every((b) => b !== 0));
  assertEquals(getHarnetConfig(w1)!.headInit, undefined);
  const a1 = attachHead(enc, "linear", { numClasses: 3, seed: 1 });
  assert(bias(a1, "classifier.linear1").every((b) => b !== 0));
  // explicit: kaiming head on a torch encoder, recorded as headInit
  const w2 = withHead(m, "eva", { numClasses: 3, seed: 1, init: "kaiming" });
  assert(bias(w2, "classifier.linear2").every((b) => b === 0));
  assertEquals(getHarnetConfig(w2)!.init, "torch");
  assertEquals(getHarnetConfig(w2)!.headInit, "kaiming");
  assertEquals(getHarnetConfig(harnetEncoder(w2))!.headInit, undefined);
  const a2 = attachHead(enc, "linear", { numClasses: 3, seed: 1, init: "kaiming" });
  assert(bias(a2, "classifier.linear1").every((b) => b === 0));
  m.dispose(); // the heads share its layers
});
