/**
 * The reconstruction pretext (lib/pretext/reconstruction.ts with lib/models
 * `autoencoder`; ../shared/specs/dont-freeze.md §2.3, §3.3): batches whose
 * target is the input, the MSE (0 for a perfect reconstruction, the mean
 * squared offset otherwise), a short `fit` that lowers it, and the autoencoder
 * + MSE gradients on the fast engines against tfjs cpu.
 */
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/mod.ts";
import { ConfigError } from "../../lib/errors.ts";
import { autoencoder } from "../../lib/models/dontfreeze_encoders.ts";
import {
  makeReconstructionBatch,
  reconstructionLoss,
  reconstructionSource,
} from "../../lib/pretext/reconstruction.ts";
import type { Batch, HostTensor } from "../../lib/train/batches.ts";
import { lossFromSpec } from "../../lib/train/losses.ts";
import { evaluateSource, fit } from "../../lib/train/loop.ts";
import { checkGradientsAgainstCpu, hostBatch, syntheticWindows } from "./_dontfreeze.ts";

await initBackend({ verbose: false, threads: 1 });

const ctx = (epoch: number, step: number) => ({
  epoch,
  step,
  globalStep: 0,
  seed: 0,
  epochSeed: 0,
});
const pool = syntheticWindows(12, 1);

Deno.test("batches: x the channels-last windows, y = [x]; every window once per epoch; evaluation in order", () => {
  const b = makeReconstructionBatch(pool, [5, 2]);
  const x = b.x as HostTensor;
  assertEquals(x.shape, [2, 100, 3]);
  assertEquals(x.data[(1 * 100 + 7) * 3 + 1], pool.x[(2 * 3 + 1) * 100 + 7]);
  assertEquals((b.y as HostTensor[])[0].data, x.data);
  const src = reconstructionSource(pool, { seed: 3, batchSize: 5 });
  assertEquals(src.stepsPerEpoch, 3);
  const firstRows = (e: number) =>
    Array.from({ length: 3 }, (_, s) => {
      const h = (src.batch!(ctx(e, s)) as Batch).x as HostTensor;
      return Array.from({ length: h.shape[0] }, (_, r) => h.data[r * 300]);
    }).flat();
  const e0 = firstRows(0);
  assertEquals(e0.length, 12);
  assertEquals([...e0].sort(), Array.from({ length: 12 }, (_, i) => pool.x[i * 300]).sort());
  assertEquals(firstRows(0), e0); // deterministic
  assert(firstRows(1).some((v, i) => v !== e0[i]), "reshuffled every epoch");
  const ev = reconstructionSource(pool, { seed: 3, batchSize: 5, evaluation: true });
  assertEquals(((ev.batch!(ctx(0, 2)) as Batch).x as HostTensor).data[0], pool.x[10 * 300]);
  assertThrows(
    () => reconstructionSource(pool, { seed: 0, batchSize: 0 }),
    ConfigError,
    "batchSize",
  );
});

Deno.test("MSE: 0 for a perfect reconstruction, the mean squared offset otherwise", () => {
  const loss = lossFromSpec(reconstructionLoss());
  const y = tf.randomNormal([4, 100, 3], 0, 1, "float32", 2);
  assertEquals(loss([y], [y]).dataSync()[0], 0);
  assertAlmostEquals(loss([y], [y.add(0.1)]).dataSync()[0], 0.01, 1e-6);
  const noise = tf.randomNormal([4, 100, 3], 0, 1, "float32", 3);
  const expect = noise.sub(y).square().mean().dataSync()[0];
  assertAlmostEquals(loss([y], [noise]).dataSync()[0], expect, 1e-5);
  tf.dispose([y, noise]);
});

Deno.test("a short fit (workers 0) lowers the reconstruction MSE on synthetic windows", async () => {
  const train = syntheticWindows(40, 4);
  const model = autoencoder({ seed: 1 });
  const val = reconstructionSource(train, { seed: 2, batchSize: 40, evaluation: true });
  const loss = lossFromSpec(reconstructionLoss());
  // first pass in training mode so the moving batch-norm statistics are those of the data
  await fit(model, reconstructionSource(train, { seed: 2, batchSize: 20 }), {
    epochs: 1,
    optimizer: { name: "adam", lr: 0 },
    loss: reconstructionLoss(),
    progress: false,
    workers: 0,
  });
  const before = await evaluateSource(model, val, loss);
  await fit(model, reconstructionSource(train, { seed: 2, batchSize: 20 }), {
    epochs: 15,
    optimizer: { name: "adam", lr: 2e-3 },
    loss: reconstructionLoss(),
    progress: false,
    workers: 0,
    seed: 1,
  });
  const after = await evaluateSource(model, val, loss);
  assert(after.loss < 0.6 * before.loss, `MSE ${before.loss} → ${after.loss}`);
  model.dispose();
});

Deno.test("autoencoder + MSE: gradients on the fast engines equal tfjs cpu's (1e-4 relative)", async () => {
  const model = autoencoder({ seed: 5 });
  const b = makeReconstructionBatch(syntheticWindows(4, 6), [0, 1, 2, 3]);
  const checked = await checkGradientsAgainstCpu(
    model,
    lossFromSpec(reconstructionLoss()),
    hostBatch([b.x as HostTensor], b.y as HostTensor[]),
  );
  assert(checked.length >= 1);
  model.dispose();
});
