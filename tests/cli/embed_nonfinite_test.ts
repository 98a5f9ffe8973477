/**
 * `har embed` never turns a NaN/Inf into plausible features: a non-finite
 * input window fails naming the file, window, channel and sample, and a
 * checkpoint with a NaN weight fails naming the file and the tensor, on the
 * default (fastest) backend, with nothing written.
 */
import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import { embed } from "../../cli/embed.ts";
import { writeNpy } from "../../lib/data/npy.ts";
import { CheckpointError, DataFormatError } from "../../lib/errors.ts";
import { harnet } from "../../lib/models/harnet.ts";
import { saveTorchStateDict } from "../../lib/models/pytorch.ts";
import { exportStateDict } from "../../lib/models/weights.ts";
import { tempDir } from "../_helpers.ts";

await tf.setBackend("cpu"); // for building the fixture; embed picks the default backend

const exists = (p: string) => {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
};

Deno.test("har embed: a NaN/Inf input or weight fails naming file and place; nothing written", async () => {
  const { path, cleanup } = await tempDir();
  try {
    const model = harnet({
      variant: "laptop10",
      head: "eva",
      numClasses: 4,
      hiddenUnits: 32,
      seed: 3,
    });
    const sd = exportStateDict(model);
    model.dispose();
    const ckpt = join(path, "clf.pt");
    await saveTorchStateDict(ckpt, sd);
    const x = new Float32Array(3 * 3 * 300).map((_, i) => Math.sin(i * 0.05));
    x[(1 * 3 + 2) * 300 + 17] = NaN; // window 1, channel z, sample 17
    const xPath = join(path, "x.npy");
    await writeNpy(xPath, x, [3, 3, 300]);
    const out = join(path, "out");
    const args = { model: "laptop10" as const, weights: ckpt, input: xPath, out, batchSize: 2 };
    await assertRejects(
      () => embed(args),
      DataFormatError,
      `${xPath}: NaN at window 1, channel 2, sample 17 (1 non-finite value)`,
    );
    // float64 beyond float32's range becomes Inf in the model's float32 input
    const x64 = Float64Array.from(x, (v) => (Number.isNaN(v) ? 1e300 : v));
    const x64Path = join(path, "x64.npy");
    await writeNpy(x64Path, x64, [3, 3, 300]);
    await assertRejects(
      () => embed({ ...args, input: x64Path }),
      DataFormatError,
      `${x64Path}: Infinity at window 1, channel 2, sample 17`,
    );
    // a checkpoint with one NaN weight
    const good = join(path, "good.npy");
    x[(1 * 3 + 2) * 300 + 17] = 0;
    await writeNpy(good, x, [3, 3, 300]);
    const w = sd.get("feature_extractor.layer1.0.weight")!;
    w.data[0] = NaN;
    const bad = join(path, "nan.pt");
    await saveTorchStateDict(bad, sd);
    await assertRejects(
      () => embed({ ...args, input: good, weights: bad }),
      CheckpointError,
      `${bad}: tensor 'feature_extractor.layer1.0.weight' [${
        w.shape.join(", ")
      }] holds NaN at [0, 0, 0]`,
    );
    assertEquals(exists(out), false, "nothing written on failure");
    // the clean input and checkpoint still embed
    await embed({ ...args, input: good });
    assertEquals(exists(join(out, "features.npy")), true);
  } finally {
    await cleanup();
  }
});
