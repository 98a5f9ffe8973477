/**
 * bench/models.ts and bench/train_bench.ts: the `multiresnet` benchmark model
 * is lib/models/multi_resnet.ts with its defaults (80 samples × 3 axes, 7×17
 * spectrograms, 3 blocks, 18 classes) and bench/torch_reference.py's
 * `MultiResNet` has the same trainable parameter count (when a python has
 * torch); PyTorch rows of the old 2-D-conv guess are skipped as a reference.
 * The `cpc` benchmark model is lib/models/dontfreeze_encoders.ts `cpcEncoder()`
 * with its defaults plus a Dense(6) head, and bench/torch_reference.py's
 * `Cpc` has the same trainable parameter count.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import { BENCH_MULTIRESNET, benchBatch, buildBenchModel } from "../../bench/models.ts";
import {
  findTorchPython,
  loadTorchReference,
  runTorchReference,
  TORCH_ONLY_MODELS,
} from "../../bench/train_bench.ts";
import { cpcEncoder } from "../../lib/models/dontfreeze_encoders.ts";
import { multiResNet } from "../../lib/models/multi_resnet.ts";
import { tempDir } from "../_helpers.ts";

/** Trainable parameters of the benchmark Multi-ResNet (moving statistics excluded). */
const MULTIRESNET_TRAINABLE = 348_008;
/** Trainable parameters of the CPC encoder at its defaults (31,008 conv + 296,448 + 394,752 GRU). */
const CPC_ENCODER_TRAINABLE = 722_208;
/** The benchmark CPC: the encoder and its Dense(256 → 6) head. */
const CPC_TRAINABLE = CPC_ENCODER_TRAINABLE + 256 * 6 + 6;

Deno.test("bench multiresnet: lib/models/multi_resnet.ts defaults, 18 classes, one finite step", async () => {
  await tf.setBackend("cpu");
  const ref = multiResNet({ ...BENCH_MULTIRESNET });
  assertEquals(ref.inputs.map((i) => i.shape), [[null, 80, 3], [null, 7, 17, 3]]);
  assertEquals(ref.outputs[0].shape, [null, 18]);
  // countParams includes the 2 × 465 × 3 moving statistics
  assertEquals(ref.countParams() - 2 * 465 * 3, MULTIRESNET_TRAINABLE);
  ref.dispose();
  const b = benchBatch("multiresnet", 4, 1);
  assertEquals(b.inputs.map((t) => t.shape), [[4, 80, 3], [4, 7, 17, 3]]);
  assertEquals(b.targets[0].shape, [4, 18]);
  tf.dispose([...b.inputs, ...b.targets]);
  const m = buildBenchModel("multiresnet", { batch: 4 });
  assertEquals(m.params, MULTIRESNET_TRAINABLE);
  assert(Number.isFinite(m.step()));
  m.dispose();
});

Deno.test("torch reference file: rows of the 2-D-conv guess are not a multiresnet reference", async () => {
  const dir = await tempDir();
  try {
    const file = join(dir.path, "torch.json");
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        date: "d",
        torch: "t",
        threads: 2,
        results: [
          { model: "lstm", msPerStep: 10 },
          { model: "multiresnet2d-guess", msPerStep: 20 },
        ],
      }),
    );
    const ref = loadTorchReference(new URL(`file://${file}`))!;
    assertEquals(ref.msPerStep, { lstm: 10 });
    assert(TORCH_ONLY_MODELS.includes("multiresnet2d-guess"));
    // the committed same-machine file has no multiresnet row measured on the guess
    assertEquals(loadTorchReference()?.msPerStep.multiresnet, undefined);
  } finally {
    await dir.cleanup();
  }
});

/** torch_reference.py's `model` at batch 256 has `params` trainable parameters and takes a finite step. */
async function torchHasParams(model: string, params: number): Promise<void> {
  const t = await findTorchPython();
  if (!t.ok) {
    console.warn(`SKIP: python3 without torch (${t.reason})`);
    return;
  }
  const run = await runTorchReference({
    python: t.python,
    models: [model],
    threads: 1,
    steps: 1,
    warmup: 0,
  });
  const row = run.results[0];
  assertEquals([row.model, row.batch, row.params], [model, 256, params]);
  assert(row.medianStepMs > 0 && Number.isFinite(row.lossLast));
}

Deno.test("torch_reference.py MultiResNet: the same trainable parameters (when a python has torch)", () =>
  torchHasParams("multiresnet", MULTIRESNET_TRAINABLE));

Deno.test("bench cpc: lib/models/dontfreeze_encoders.ts cpcEncoder defaults + Dense(6), one finite step", async () => {
  await tf.setBackend("cpu");
  const enc = cpcEncoder();
  assertEquals(enc.inputs[0].shape, [null, 100, 3]);
  assertEquals(enc.outputs[0].shape, [null, 256]);
  assertEquals(enc.countParams(), CPC_ENCODER_TRAINABLE);
  enc.dispose();
  const b = benchBatch("cpc", 8, 1);
  assertEquals(b.inputs.map((t) => t.shape), [[8, 100, 3]]);
  assertEquals(b.targets[0].shape, [8, 6]);
  tf.dispose([...b.inputs, ...b.targets]);
  const m = buildBenchModel("cpc", { batch: 8 });
  assertEquals([m.batch, m.params], [8, CPC_TRAINABLE]);
  assert(Number.isFinite(m.step()));
  m.dispose();
});

Deno.test("torch_reference.py Cpc: the same trainable parameters (when a python has torch)", () =>
  torchHasParams("cpc", CPC_TRAINABLE));
