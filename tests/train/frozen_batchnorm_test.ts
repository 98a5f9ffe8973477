/**
 * fit's `frozenBatchNorm` (issue 14, Gjoreski et al. Multi-ResNet transfer):
 * with `"inference"`, frozen Multi-ResNet blocks keep every weight and the
 * batch-norm moving statistics bit-identical through adaptation, in one
 * thread and with two workers, while the rest trains; with the default
 * `"batch-stats"` the frozen blocks' moving statistics move (tfjs-layers' /
 * PyTorch's requires_grad = False behaviour); unfreezing puts the layers back
 * in training mode; a transferred frozen block stays equal to the source's;
 * checkpoints record the mode.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertRejects } from "@std/assert";
import { CheckpointError, ConfigError } from "../../lib/errors.ts";
import { multiResNet, multiResNetBlockPrefixes } from "../../lib/models/multi_resnet.ts";
import { frozenBatchNormMode } from "../../lib/models/batchnorm.ts";
import { transferWeights, weightEntries } from "../../lib/train/freeze.ts";
import type { BatchSource } from "../../lib/train/batches.ts";
import { fit, type FitArgs } from "../../lib/train/loop.ts";
import { rng } from "../../lib/random.ts";
import { tempDir } from "../_helpers.ts";
import { useCpu } from "./_fixtures.ts";

await useCpu();

const T = 40, N = 64, BATCH = 16;

/** A small Multi-ResNet: 2 blocks on 40 samples, spectrograms [2, 17, 3]. */
function model(seed: number, numClasses = 3): tf.LayersModel {
  return multiResNet({ windowLength: T, numClasses, numBlocks: 2, seed });
}

/**
 * N random windows for `m`'s inputs (raw [n, 40, 3], spectrogram [n, ...]),
 * labels in [0, classes), as a random-access source of batches of 16.
 */
function source(m: tf.LayersModel, seed: number, classes = 3): BatchSource {
  const r = rng(seed);
  const shapes = m.inputs.map((i) => i.shape.slice(1) as number[]);
  const xs = shapes.map((s) => {
    const row = s.reduce((a, b) => a * b, 1);
    // a non-zero mean and scale, so that batch and moving statistics differ
    return Float32Array.from({ length: N * row }, () => 0.5 + 2 * (r.next() - 0.5));
  });
  const y = Int32Array.from({ length: N }, () => r.int(classes));
  return {
    stepsPerEpoch: N / BATCH,
    samplesPerEpoch: N,
    batch: ({ step }) => {
      const from = step * BATCH, to = from + BATCH;
      return {
        x: xs.map((x, i) => {
          const row = x.length / N;
          return { data: x.slice(from * row, to * row), shape: [BATCH, ...shapes[i]] };
        }),
        y: { data: y.slice(from, to), shape: [BATCH] },
      };
    },
  };
}

/** Every weight by stable name (moving statistics included), as bytes. */
function snapshot(m: tf.LayersModel): Map<string, Uint8Array> {
  return new Map(
    weightEntries(m).map((e) => [
      e.name,
      new Uint8Array(Float32Array.from(e.variable.dataSync() as Float32Array).buffer),
    ]),
  );
}

const same = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

/** Names whose bytes differ between two snapshots, among those `pick` selects. */
function changed(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>, pick: RegExp): string[] {
  return [...a.keys()].filter((n) => pick.test(n) && !same(a.get(n)!, b.get(n)!));
}

function unchanged(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>, pick: RegExp): string[] {
  return [...a.keys()].filter((n) => pick.test(n) && same(a.get(n)!, b.get(n)!));
}

const BASE: FitArgs = {
  epochs: 2,
  seed: 3,
  progress: false,
  optimizer: { name: "adam", lr: 1e-2 },
  freeze: multiResNetBlockPrefixes(1),
  workerBackend: ["cpu"],
};

const STATS = /\/moving_(mean|variance)$/;

/** Check the frozen block 1 is bit-identical and block 2, spectral branch and head trained. */
function assertFrozenBlock1(before: Map<string, Uint8Array>, after: Map<string, Uint8Array>) {
  const block1 = [...before.keys()].filter((n) => n.startsWith("block1_"));
  assert(block1.some((n) => STATS.test(n)), "block 1 has batch-norm statistics");
  assertEquals(changed(before, after, /^block1_/), [], "block 1 moved");
  // everything else of the network trains: every weight and statistic of block 2 and the spectral
  // branch, every head weight
  assertEquals(unchanged(before, after, /^(block2_|spec_|head_)/), [], "not trained");
}

for (const workers of [0, 2]) {
  Deno.test(`frozenBatchNorm "inference", workers ${workers}: frozen block 1 bit-identical (statistics too), the rest trains`, async () => {
    const m = model(1);
    const before = snapshot(m);
    const r = await fit(m, source(m, 5), { ...BASE, frozenBatchNorm: "inference", workers });
    assertEquals(r.workers, workers);
    assertEquals(r.steps, 2 * N / BATCH);
    const after = snapshot(m);
    assertFrozenBlock1(before, after);
    // the weights stay frozen after fit; the layers are back in the default mode
    assert(weightEntries(m).filter((e) => e.name.startsWith("block1_")).every((e) => !e.trainable));
    assertEquals(frozenBatchNormMode(m.getLayer("block1_ch0_bn1")), "batch-stats");
    m.dispose();
  });
}

Deno.test('frozenBatchNorm "batch-stats" (default): frozen weights fixed, block 1 statistics move', async () => {
  for (const workers of [0, 2]) {
    const m = model(1);
    const before = snapshot(m);
    await fit(m, source(m, 5), { ...BASE, workers });
    const after = snapshot(m);
    const moved = changed(before, after, /^block1_/);
    assert(moved.length > 0 && moved.every((n) => STATS.test(n)), `workers ${workers}: ${moved}`);
    // every block-1 batch norm updated both statistics
    const stats = [...before.keys()].filter((n) => n.startsWith("block1_") && STATS.test(n));
    assertEquals(moved.sort(), stats.sort(), `workers ${workers}`);
    m.dispose();
  }
});

Deno.test('frozenBatchNorm "inference" + unfreezeAtFraction: fixed until the unfreeze, then trained', async () => {
  // 0.5 of 8 steps: the second epoch trains everything
  for (const workers of [0, 2]) {
    const m = model(1);
    const before = snapshot(m);
    let mid: Map<string, Uint8Array> | null = null;
    await fit(m, source(m, 5), {
      ...BASE,
      workers,
      frozenBatchNorm: "inference",
      unfreezeAtFraction: 0.5,
      // at the end of epoch 1 (the caller's model holds the workers' weights)
      validate: (vm, info) => {
        if (info.epoch === 1) mid = snapshot(vm as tf.LayersModel);
        return {};
      },
    });
    assert(mid, "validated after epoch 1");
    assertEquals(changed(before, mid!, /^block1_/), [], `workers ${workers}: before the unfreeze`);
    assertEquals(unchanged(before, mid!, /^(block2_|head_)/), [], `workers ${workers}`);
    const after = snapshot(m);
    // after it: block 1's convolutions, γ/β and moving statistics all train again
    assertEquals(unchanged(mid!, after, /^block1_/), [], `workers ${workers}: after the unfreeze`);
    assert(weightEntries(m).every((e) => e.trainable || STATS.test(e.name)));
    m.dispose();
  }
});

Deno.test("transfer + adaptation: the frozen copied block stays identical to the source's", async () => {
  // a source model with trained weights and statistics (4 classes)
  const src = model(1, 4);
  await fit(src, source(src, 7, 4), { epochs: 1, seed: 1, progress: false });
  const srcW = snapshot(src);
  // a target with another head (3 classes) and another initialisation
  const dst = model(2, 3);
  const copied = transferWeights(src, dst, { select: multiResNetBlockPrefixes(1) });
  assert(copied.some((n) => STATS.test(n)), "the statistics are transferred");
  const start = snapshot(dst);
  await fit(dst, source(dst, 9, 3), { ...BASE, frozenBatchNorm: "inference" });
  const end = snapshot(dst);
  for (const n of copied) assert(same(end.get(n)!, srcW.get(n)!), `${n} differs from the source`);
  assertEquals(unchanged(start, end, /^(block2_|head_)/), []);
  dst.dispose();
  src.dispose();
});

Deno.test("checkpoints record frozenBatchNorm: resuming with another mode is refused", async () => {
  const dir = await tempDir();
  try {
    const m = model(1);
    const data = source(m, 5);
    await fit(m, data, {
      ...BASE,
      epochs: 1,
      frozenBatchNorm: "inference",
      checkpointDir: dir.path,
    });
    const fresh = model(1); // m's block 1 stays frozen after fit
    await assertRejects(
      () => fit(fresh, data, { ...BASE, epochs: 1, checkpointDir: dir.path }),
      CheckpointError,
      'frozenBatchNorm "inference", this run has "batch-stats"',
    );
    await assertRejects(
      // deno-lint-ignore no-explicit-any
      () => fit(fresh, data, { ...BASE, epochs: 1, frozenBatchNorm: "eval" as any }),
      ConfigError,
      "frozenBatchNorm",
    );
    m.dispose();
    fresh.dispose();
  } finally {
    await dir.cleanup();
  }
});
