/**
 * Non-finite values where windows and weights enter a model: the finite.ts
 * helpers, predictArrays/checkFiniteInput (window, channel, sample named;
 * the file when known) and loadHarnetWeights on a state dict with a NaN or
 * Inf, and loadTransformerStateDict likewise (the key and the file named,
 * nothing loaded).
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { CheckpointError, ConfigError, DataFormatError } from "../../lib/errors.ts";
import {
  checkFiniteTensor,
  countNonFinite,
  describeNonFinite,
  firstNonFinite,
  unravelIndex,
  WINDOW_AXES,
} from "../../lib/models/finite.ts";
import { checkFiniteInput, harnet, predictArrays } from "../../lib/models/harnet.ts";
import { exportStateDict, loadHarnetWeights } from "../../lib/models/weights.ts";
import { loadTransformerStateDict, transformerEncoder } from "../../lib/models/transformer.ts";

await tf.setBackend("cpu");

Deno.test("finite helpers: first NaN/±Inf, its multi-index, a count, a phrase", () => {
  assertEquals(firstNonFinite(new Float32Array([0, 1, -3e38, 3e38])), -1);
  assertEquals(firstNonFinite([1, 2, Infinity, NaN]), 2);
  assertEquals(firstNonFinite(new Float64Array([-Infinity])), 0);
  assertEquals(countNonFinite([NaN, 1, Infinity, -Infinity]), 3);
  assertEquals(unravelIndex(0, [2, 3, 4]), [0, 0, 0]);
  assertEquals(unravelIndex(23, [2, 3, 4]), [1, 2, 3]);
  assertEquals(unravelIndex(13, [2, 3, 4]), [1, 0, 1]);
  assertEquals(describeNonFinite([1, 2], [2]), null);
  const x = new Float32Array(2 * 3 * 4);
  x[13] = NaN;
  x[20] = Infinity;
  assertEquals(
    describeNonFinite(x, [2, 3, 4], WINDOW_AXES),
    "NaN at window 1, channel 0, sample 1 (2 non-finite values)",
  );
  assertEquals(describeNonFinite(x, [2, 3, 4]), "NaN at [1, 0, 1] (2 non-finite values)");
  assertThrows(
    () => checkFiniteTensor("c.mdl", "conv1.weight", [2, 2], [0, 1, -Infinity, 2]),
    CheckpointError,
    "c.mdl: tensor 'conv1.weight' [2, 2] holds -Infinity at [1, 0] (1 non-finite value)",
  );
  checkFiniteTensor("c.mdl", "ok", [2], [0, 1]);
});

Deno.test("predictArrays / checkFiniteInput: a NaN or Inf window fails naming it (and the file)", () => {
  const m = harnet({ variant: "laptop10", seed: 1 });
  const x = new Float32Array(3 * 3 * 300).map((_, i) => Math.sin(i * 0.1));
  x[(2 * 3 + 1) * 300 + 42] = NaN; // window 2, channel y, sample 42
  assertThrows(
    () => predictArrays(m, x, [3, 3, 300]),
    ConfigError,
    "input holds NaN at window 2, channel 1, sample 42 (1 non-finite value)",
  );
  assertThrows(
    () => predictArrays(m, x, [3, 3, 300], { file: "x.npy" }),
    DataFormatError,
    "x.npy: NaN at window 2, channel 1, sample 42",
  );
  x[(2 * 3 + 1) * 300 + 42] = 0;
  x[5] = -Infinity;
  assertThrows(
    () => checkFiniteInput(x, [3, 3, 300], "w.npy"),
    DataFormatError,
    "w.npy: -Infinity at window 0, channel 0, sample 5",
  );
  x[5] = 0;
  assertEquals(predictArrays(m, x, [3, 3, 300])[0].shape, [3, 256]);
  m.dispose();
});

Deno.test("loadHarnetWeights: a NaN/Inf tensor fails naming the file and the key; nothing is loaded", () => {
  const src = harnet({ variant: "laptop10", head: "eva", numClasses: 4, hiddenUnits: 32, seed: 3 });
  const dst = harnet({ variant: "laptop10", head: "eva", numClasses: 4, hiddenUnits: 32, seed: 9 });
  const before = dst.getWeights().map((w) => Array.from(w.dataSync()));
  for (
    const [key, bad] of [["classifier.linear2.weight", NaN], [
      "feature_extractor.layer1.0.weight",
      Infinity,
    ]] as const
  ) {
    const sd = exportStateDict(src);
    const t = sd.get(key);
    assert(t, `${key} in the state dict`);
    t.data[7] = bad;
    assertThrows(
      () => loadHarnetWeights(dst, sd, { file: "clf.pt" }),
      CheckpointError,
      `clf.pt: tensor '${key}' [${t.shape.join(", ")}] holds ${bad} at [${
        unravelIndex(7, t.shape).join(", ")
      }]`,
    );
  }
  assertEquals(dst.getWeights().map((w) => Array.from(w.dataSync())), before, "weights unchanged");
  src.dispose();
  dst.dispose();
});

Deno.test("loadTransformerStateDict: a NaN weight fails naming the file and the key", () => {
  const model = transformerEncoder({
    inputSize: 4,
    frames: 5,
    dModel: 8,
    numHeads: 2,
    dimFeedforward: 16,
    numLayers: 1,
    seed: 1,
  });
  const before = model.getWeights().map((w) => Array.from(w.dataSync()));
  const data = new Float32Array(8 * 4);
  data[5] = NaN;
  const sd = new Map([["input_proj.weight", { shape: [8, 4], dtype: "float32" as const, data }]]);
  assertThrows(
    () => loadTransformerStateDict(model, sd, { file: "state_dict.pt", strict: false }),
    CheckpointError,
    "state_dict.pt: tensor 'input_proj.weight' [8, 4] holds NaN at [1, 1] (1 non-finite value)",
  );
  assertEquals(model.getWeights().map((w) => Array.from(w.dataSync())), before);
  model.dispose();
});
