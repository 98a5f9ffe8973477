// The transfer building blocks on synthetic parts (no data needed): batches, caps, what a
// transferred model copies under each reading, and that adaptation leaves frozen blocks alone.
import { assert, assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import { initBackend } from "../../../lib/backend/mod.ts";
import { ConfigError } from "../../../lib/errors.ts";
import type { TransferPart } from "../../../lib/experiments/multiresnet/data.ts";
import { multiResNetSpec } from "../../../lib/experiments/multiresnet/spec.ts";
import {
  adaptModel,
  buildMultiResNet,
  gatherBatch,
  partSource,
  predictPart,
  spectrogramFramesOf,
  stratifiedCap,
  transferredModel,
} from "../../../lib/experiments/multiresnet/transfer.ts";
import { readWeights, weightEntries } from "../../../lib/train/freeze.ts";
import { rng } from "../../../lib/random.ts";

await initBackend({ verbose: false });

const dims = { length: 40, channels: 3, frames: 3, bins: 17 };

function part(n: number, classes: number, seed: number): TransferPart {
  const r = rng(seed);
  const y = Int32Array.from({ length: n }, (_, i) => i % classes);
  const x = new Float32Array(n * dims.length * dims.channels);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < dims.length; t++) {
      for (let c = 0; c < 3; c++) {
        x[(i * dims.length + t) * 3 + c] = Math.sin((t * (y[i] + 1)) / 5 + c) + 0.1 * r.normal();
      }
    }
  }
  const spec = Float32Array.from({ length: n * dims.frames * dims.bins * 3 }, () => r.normal());
  return {
    x,
    spec,
    y,
    subject: Array.from({ length: n }, (_, i) => `s${i % 4}`),
    source: Array.from({ length: n }, (_, i) => `t${i}`),
    n,
  };
}

function tinySpec() {
  const s = multiResNetSpec("smoke");
  s.model = { ...s.model, numBlocks: 2, dense: [16, 16] };
  s.adaptation = { ...s.adaptation, epochs: 2, batchSize: 16 };
  s.workers = 0;
  return s;
}

const ds = (classes: number) => ({
  ...dims,
  classes: Array.from({ length: classes }, (_, i) => `c${i}`),
});

const byName = (m: Parameters<typeof weightEntries>[0]) =>
  new Map(weightEntries(m).map((e) => [e.name, readWeights([e])[0]]));

Deno.test("gatherBatch / partSource: raw and spectrogram rows of the chosen windows; every window once per epoch", async () => {
  const p = part(10, 2, 1);
  const b = gatherBatch(p, dims, [3, 7]);
  assertEquals(b.x[0].shape, [2, 40, 3]);
  assertEquals(b.x[1].shape, [2, 3, 17, 3]);
  assertEquals(Array.from(b.y.data), [p.y[3], p.y[7]]);
  assertEquals(b.x[0].data[0], p.x[3 * 120]);
  assertEquals(b.x[1].data[153], p.spec[7 * 153]);
  const src = partSource(p, dims, [0, 2, 4, 6, 8], 2);
  assertEquals(src.stepsPerEpoch, 3);
  const seen: number[] = [];
  for (let step = 0; step < 3; step++) {
    const bb = await src.batch!({ epoch: 0, step, globalStep: step, seed: 1, epochSeed: 9 });
    const xs = bb.x as { data: Float32Array }[];
    for (let i = 0; i < xs[0].data.length / 120; i++) {
      seen.push([0, 2, 4, 6, 8].find((j) => p.x[j * 120] === xs[0].data[i * 120])!);
    }
  }
  assertEquals(seen.sort((a, b) => a - b), [0, 2, 4, 6, 8]);
});

Deno.test("stratifiedCap keeps every class in proportion, seeded; spectrogramFramesOf is channel-major", () => {
  const y = Int32Array.from({ length: 1000 }, (_, i) => (i < 900 ? 0 : 1 + (i % 2)));
  const a = stratifiedCap(y, 100, 1), b = stratifiedCap(y, 100, 2);
  assertEquals(a.length, 100);
  assertEquals(Array.from(a).filter((i) => y[i] === 0).length, 90);
  assert(Array.from(a).some((i) => y[i] === 2));
  assertNotEquals(Array.from(a), Array.from(b));
  assertEquals(stratifiedCap(y, null, 1).length, 1000);
  // never more than the cap, whatever the rounding (here 3 × 33.3)
  const y3 = Int32Array.from({ length: 300 }, (_, i) => i % 3);
  assertEquals(stratifiedCap(y3, 100, 1).length, 100);
  assertEquals(
    stratifiedCap(Int32Array.from({ length: 301 }, (_, i) => i % 7), 200, 1).length,
    200,
  );
  const p = part(2, 2, 3);
  const f = spectrogramFramesOf(p, dims, 1);
  assertEquals([f.frames, f.features, f.bins, f.channels], [3, 51, 17, 3]);
  // frame 2, axis 1, bin 5
  assertEquals(f.data[2 * 51 + 1 * 17 + 5], p.spec[153 + (2 * 17 + 5) * 3 + 1]);
});

Deno.test("transferredModel: copy-all copies everything but the softmax; copy-k-only only blocks 1..k", () => {
  const spec = tinySpec();
  const source = buildMultiResNet(ds(4), spec, 1, "source");
  const src = byName(source);
  const all = transferredModel(source, ds(3), spec, { k: 1, seed: 2 });
  assertEquals(all.frozen, ["block1_"]);
  const dst = byName(all.model);
  for (const [name, v] of dst) {
    const same = src.has(name) && src.get(name)!.length === v.length &&
      src.get(name)!.every((x, i) => x === v[i]);
    if (name.startsWith("head_logits")) assert(!same, `${name} must be fresh`);
    else if (!/moving_mean|bias|beta/.test(name)) assert(same, `${name} must be copied`);
  }
  const s2 = { ...spec, transfer: { ...spec.transfer, reading: "copy-k-only" as const } };
  const only = transferredModel(source, ds(3), s2, { k: 1, seed: 2 });
  assert(only.copied.every((n) => n.startsWith("block1_")), only.copied.join());
  const fresh = byName(only.model).get("block2_ch0_conv1/kernel")!;
  assertNotEquals(Array.from(fresh), Array.from(src.get("block2_ch0_conv1/kernel")!));
  assertThrows(
    () => transferredModel(source, ds(3), s2, { k: 0, seed: 2 }),
    ConfigError,
    "baseline",
  );
  assertThrows(
    () => transferredModel(source, ds(3), spec, { k: 3, seed: 2 }),
    ConfigError,
    "exceeds",
  );
  [source, all.model, only.model].forEach((m) => m.dispose());
});

Deno.test("adaptModel: frozen blocks (weights and BN statistics) bit-identical, the rest trains", async () => {
  const spec = tinySpec();
  const source = buildMultiResNet(ds(4), spec, 1, "source");
  const t = transferredModel(source, ds(3), spec, { k: 1, seed: 2 });
  const before = byName(t.model);
  const p = part(48, 3, 4);
  await adaptModel(t.model, p, dims, Array.from({ length: 48 }, (_, i) => i), spec, {
    seed: 0,
    freeze: t.frozen,
  });
  const after = byName(t.model);
  let frozenStats = 0;
  for (const [name, v] of after) {
    const b = before.get(name)!;
    const same = v.every((x, i) => Object.is(x, b[i]));
    if (name.startsWith("block1_")) {
      assert(same, `${name} changed`);
      if (/moving_/.test(name)) frozenStats++;
    } else if (/block2_ch0_conv1\/kernel|head_logits\/kernel|spec_ch0_conv\/kernel/.test(name)) {
      assert(!same, `${name} did not train`);
    }
  }
  assert(frozenStats >= 2 * 3 * 5, `${frozenStats} frozen BN statistics checked`);
  const yPred = predictPart(t.model, p, dims, [0, 1, 2]);
  assertEquals(yPred.length, 3);
  assert(Array.from(yPred).every((v) => v >= 0 && v < 3));
  source.dispose();
  t.model.dispose();
});
