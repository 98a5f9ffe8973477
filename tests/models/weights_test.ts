import { assert, assertEquals, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { join } from "node:path";
import { CheckpointError } from "../../lib/errors.ts";
import {
  harnet,
  harnet10,
  harnet5,
  harnetEncoder,
  predictArrays,
} from "../../lib/models/harnet.ts";
import { loadTorchStateDict, type StateDict, type TorchTensor } from "../../lib/models/pytorch.ts";
import { exportStateDict, loadHarnetWeights, stateDictKeys } from "../../lib/models/weights.ts";
import { oracle } from "../_helpers.ts";

await tf.setBackend("wasm");

function readNpyF32(path: string): { data: Float32Array; shape: number[] } {
  // Minimal little-endian float32 .npy reader (the fixtures are '<f4', C order).
  const b = Deno.readFileSync(path);
  const hl = new DataView(b.buffer).getUint16(8, true);
  const header = new TextDecoder().decode(b.subarray(10, 10 + hl));
  assert(header.includes("'<f4'"), `${path}: expected <f4, header ${header}`);
  const shape = header.match(/\(([^)]*)\)/)![1].split(",").filter((s) => s.trim()).map(Number);
  return { data: new Float32Array(b.slice(10 + hl).buffer), shape };
}

const f32 = (shape: number[], values: number[]): TorchTensor => ({
  shape,
  dtype: "float32",
  data: Float32Array.from(values),
});

Deno.test("oracle: harnet10 + mtl_checkpoint.mdl reproduces PyTorch's features to 1e-3", async () => {
  const dir = oracle("harnet10");
  if (!dir) return;
  const sd = await loadTorchStateDict(join(dir, "mtl_checkpoint.mdl"));
  const model = harnet10({ head: "mtl" });
  const res = loadHarnetWeights(model, sd, { file: "mtl_checkpoint.mdl" });
  assertEquals(res.missing, []);
  assertEquals(res.unexpected, []);
  assertEquals(res.loaded.length, stateDictKeys(model).length);
  const x = readNpyF32(join(dir, "x.npy"));
  const want = readNpyF32(join(dir, "features.npy"));
  assertEquals(x.shape, [4, 3, 300]);
  const [got] = predictArrays(harnetEncoder(model), x.data, [4, 3, 300]);
  assertEquals(got.shape, want.shape);
  let maxDiff = 0;
  for (let i = 0; i < want.data.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(got.data[i] - want.data[i]));
  }
  assert(maxDiff <= 1e-3, `max |tfjs - torch| = ${maxDiff}`);
  // Not trivially zero: the features carry signal.
  assert(want.data.some((v) => v > 0.1));
  model.dispose();
});

Deno.test("oracle: loading into an eva-head model reports missing and unexpected keys", async () => {
  const dir = oracle("harnet10");
  if (!dir) return;
  const sd = await loadTorchStateDict(join(dir, "mtl_checkpoint.mdl"));
  const model = harnet10({ head: "eva", numClasses: 5 });
  const err = assertThrows(() => loadHarnetWeights(model, sd, { file: "ck.mdl" }), CheckpointError);
  assert(err.message.startsWith("ck.mdl: state dict does not match the model"), err.message);
  assert(err.message.includes("classifier.linear1.weight"), err.message);
  assert(err.message.includes("module.aot_h.linear1.weight"), err.message);
  const res = loadHarnetWeights(model, sd, { strict: false });
  assertEquals(res.missing.sort(), [
    "classifier.linear1.bias",
    "classifier.linear1.weight",
    "classifier.linear2.bias",
    "classifier.linear2.weight",
  ]);
  assertEquals(res.unexpected.length, 8);
  assert(
    res.unexpected.every((k) =>
      /^module\.(aot|scale|permute|time_w)_h\.linear1\.(weight|bias)$/.test(k)
    ),
  );
  // harnet5's shapes (and downsampling filters) differ: always an error, even non-strict.
  const h5 = harnet5();
  const e5 = assertThrows(() => loadHarnetWeights(h5, sd, { strict: false }), CheckpointError);
  assert(/size mismatch|not the Downsample filter/.test(e5.message), e5.message);
  [model, h5].forEach((m) => m.dispose());
});

Deno.test("PyTorch layouts: conv [out,in,k] and linear [out,in] map onto tfjs correctly", () => {
  // One stage: circular conv (2 filters, k=3, 3 input channels) → BN → ReLU → avg-downsample ×2,
  // then a linear head; checked against a direct computation of the PyTorch forward pass.
  const model = harnet({
    stages: [{
      channels: 2,
      kernelSize: 3,
      resBlocks: 0,
      resKernelSize: 3,
      downFactor: 2,
      downOrder: 0,
    }],
    inputSamples: 4,
    head: "linear",
    numClasses: 3,
  });
  const W = Array.from({ length: 18 }, (_, i) => ((i * 7) % 11) / 10 - 0.5); // [2,3,3]
  const gamma = [1.5, 0.5], beta = [0.1, -0.2], mean = [0.3, -0.1], vari = [2, 0.5];
  const L = Array.from({ length: 12 }, (_, i) => ((i * 5) % 7) / 7 - 0.4); // [3, 4]: 3 classes, 4 features
  const lb = [0.01, 0.02, 0.03];
  const sd: StateDict = new Map([
    ["module.feature_extractor.layer1.0.weight", f32([2, 3, 3], W)],
    ["module.feature_extractor.layer1.1.weight", f32([2], gamma)],
    ["module.feature_extractor.layer1.1.bias", f32([2], beta)],
    ["module.feature_extractor.layer1.1.running_mean", f32([2], mean)],
    ["module.feature_extractor.layer1.1.running_var", f32([2], vari)],
    ["module.feature_extractor.layer1.1.num_batches_tracked", {
      shape: [],
      dtype: "int64",
      data: new BigInt64Array([3n]),
    }],
    ["module.feature_extractor.layer1.3.kernel", f32([2, 1, 2], [0.5, 0.5, 0.5, 0.5])],
    ["module.classifier.linear1.weight", f32([3, 4], L)],
    ["module.classifier.linear1.bias", f32([3], lb)],
  ]);
  const res = loadHarnetWeights(model, sd);
  assertEquals(res.ignored.sort(), [
    "feature_extractor.layer1.1.num_batches_tracked",
    "feature_extractor.layer1.3.kernel",
  ]);
  const x = [[1, 2, 3, 4], [0, -1, 0.5, 2], [3, 0, -2, 1]]; // [3 channels, 4 samples]
  // reference forward pass, PyTorch layout
  const conv = [0, 1].map((o) =>
    [0, 1, 2, 3].map((t) => {
      let acc = 0;
      for (let c = 0; c < 3; c++) {
        for (let j = 0; j < 3; j++) acc += W[(o * 3 + c) * 3 + j] * x[c][(t + j - 1 + 4) % 4];
      }
      const bnv = gamma[o] * (acc - mean[o]) / Math.sqrt(vari[o] + 1e-5) + beta[o];
      return Math.max(0, bnv);
    })
  );
  const feats = conv.flatMap((row) => [(row[0] + row[1]) / 2, (row[2] + row[3]) / 2]); // channel-major
  const logits = [0, 1, 2].map((k) => lb[k] + feats.reduce((s, f, i) => s + L[k * 4 + i] * f, 0));
  const [got] = predictArrays(model, Float32Array.from(x.flat()), [1, 3, 4]);
  got.data.forEach((v, i) =>
    assert(Math.abs(v - logits[i]) < 1e-5, `logit ${i}: ${v} vs ${logits[i]}`)
  );
  const [gotFeats] = predictArrays(harnetEncoder(model), Float32Array.from(x.flat()), [1, 3, 4]);
  gotFeats.data.forEach((v, i) =>
    assert(Math.abs(v - feats[i]) < 1e-5, `feature ${i}: ${v} vs ${feats[i]}`)
  );
  // A Downsample kernel of another order is rejected.
  sd.set(
    "module.feature_extractor.layer1.3.kernel",
    f32([2, 1, 3], [0.25, 0.5, 0.25, 0.25, 0.5, 0.25]),
  );
  assertThrows(() => loadHarnetWeights(model, sd), CheckpointError, "not the Downsample filter");
  model.dispose();
});

Deno.test("exportStateDict → loadHarnetWeights round-trips every weight", () => {
  const a = harnet({ variant: "laptop10", head: "eva", numClasses: 3, seed: 1 });
  const b = harnet({ variant: "laptop10", head: "eva", numClasses: 3, seed: 2 });
  const sd = exportStateDict(a);
  assertEquals(sd.get("feature_extractor.layer1.0.weight")!.shape, [16, 3, 5]);
  assertEquals(sd.get("classifier.linear2.weight")!.shape, [3, 512]);
  const res = loadHarnetWeights(b, sd);
  assertEquals([res.missing, res.unexpected], [[], []]);
  const wa = a.getWeights(), wb = b.getWeights();
  assertEquals(wa.length, wb.length);
  wa.forEach((w, i) => assertEquals(Array.from(w.dataSync()), Array.from(wb[i].dataSync())));
  [a, b].forEach((m) => m.dispose());
});
