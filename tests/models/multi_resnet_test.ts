import { assert, assertEquals, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/mod.ts";
import { ConfigError } from "../../lib/errors.ts";
import {
  multiResNet,
  multiResNetBlockPrefixes,
  resolveMultiResNetArgs,
} from "../../lib/models/multi_resnet.ts";
import { firstKBlocks, freeze, selectWeights, transferWeights } from "../../lib/train/freeze.ts";

// the library's training backend (blas/wasm with our kernels: conv1d and attention gradients)
await initBackend({ verbose: false, threads: 1 });

const size = (shape: (number | null)[]) => shape.reduce((x: number, y) => x * (y as number), 1);
const count = (ws: { shape: (number | null)[] }[]) => ws.reduce((a, w) => a + size(w.shape), 0);

// Parameters (incl. batch-norm statistics) as the spec's §2.3 computes them, from the layer
// formulas: conv k·in·out + out, BN 4·ch, dense in·out + out.
const conv = (k: number, cin: number, cout: number) => k * cin * cout + cout;
const block = (cin: number, f: number, inputBn: boolean) =>
  (inputBn ? 4 * cin : 0) + conv(8, cin, f) + conv(5, f, f) + conv(3, f, f) + conv(1, cin, f) +
  4 * 4 * f;
const SPEC_BLOCKS = [block(1, 16, true), block(16, 32, false), block(32, 64, false)];

function batch(n: number, t: number, frames: number, seed: number): tf.Tensor[] {
  return [
    tf.randomNormal([n, t, 3], 0, 1, "float32", seed),
    tf.randomNormal([n, frames, 17, 3], 0, 1, "float32", seed + 1),
  ];
}

Deno.test("spec configuration at 20 Hz: shapes, block lengths and parameter counts", () => {
  assertEquals(SPEC_BLOCKS, [2516, 13440, 52480]); // the spec's 2.5 k / 13.4 k / 52.5 k
  const model = multiResNet({ windowLength: 80, numClasses: 10 });
  const a = resolveMultiResNetArgs({ windowLength: 80, numClasses: 10 });
  assertEquals(a.blockLengths, [80, 39, 19, 9]);
  assertEquals(a.blockFilters, [16, 32, 64]);
  assertEquals(model.inputs.map((i) => i.shape), [[null, 80, 3], [null, 7, 17, 3]]);
  assertEquals(model.outputs[0].shape, [null, 10]);
  assertEquals(model.getLayer("head_concat").outputShape, [null, 2064]);
  for (let b = 1; b <= 3; b++) {
    for (let c = 0; c < 3; c++) {
      assertEquals(count(selectWeights(model, `block${b}_ch${c}_`)), SPEC_BLOCKS[b - 1]);
    }
  }
  const spectral = conv(3, 17, 16) + 4 * 16;
  assertEquals(count(selectWeights(model, "spec_")), 3 * spectral);
  const head = conv(1, 2064, 64) + conv(1, 64, 128) + conv(1, 128, 10);
  assertEquals(count(selectWeights(model, "head_")), head);
  const total = 3 * (SPEC_BLOCKS.reduce((x, y) => x + y) + spectral) + head;
  assertEquals(model.countParams(), total);
  assertEquals(total, 349_766); // the spec's "≈ 350 k (branches 208 k, head 142 k)"
  const [raw, spec] = batch(4, 80, 7, 1);
  const y = model.predict([raw, spec]) as tf.Tensor;
  assertEquals(y.shape, [4, 10]);
  tf.dispose([raw, spec, y]);
  model.dispose();
});

Deno.test("paper rate (25 Hz): 100 → 49 → 24 → 11, concat 2544; options change the layout", () => {
  const m25 = multiResNet({ windowLength: 100, numClasses: 6, outputActivation: "softmax" });
  assertEquals(resolveMultiResNetArgs({ windowLength: 100, numClasses: 6 }).blockLengths, [
    100,
    49,
    24,
    11,
  ]);
  assertEquals(m25.getLayer("head_concat").outputShape, [null, 2544]);
  const [raw, spec] = batch(2, 100, 9, 2);
  const p = (m25.predict([raw, spec]) as tf.Tensor).sum(-1);
  p.dataSync().forEach((v) => assert(Math.abs(v - 1) < 1e-5, `softmax rows sum to 1, got ${v}`));
  const rawOnly = multiResNet({ windowLength: 80, numClasses: 5, spectral: false, numBlocks: 4 });
  assertEquals(rawOnly.inputs.map((i) => i.shape), [[null, 80, 3]]);
  assertEquals(rawOnly.getLayer("head_concat").outputShape, [null, 3 * 4 * 64]);
  const c2d = multiResNet({ windowLength: 80, numClasses: 5, spectral: { mode: "conv2d" } });
  assertEquals(c2d.getLayer("spec_ch0_conv").outputShape, [null, 7, 17, 16]);
  tf.dispose([raw, spec, p]);
  [m25, rawOnly, c2d].forEach((m) => m.dispose());
});

Deno.test("each axis has its own branch: a temporal feature depends on its axis only", () => {
  const model = multiResNet({ windowLength: 80, numClasses: 4, seed: 3 });
  const sub = tf.model({
    inputs: model.inputs,
    outputs: ["temporal_ch0_flatten", "spec_ch2_flatten"].map((n) =>
      model.getLayer(n).output as tf.SymbolicTensor
    ),
  });
  const [raw, spec] = batch(2, 80, 7, 4);
  const poke = (t: tf.Tensor, c: number) =>
    t.add(tf.oneHot(tf.fill(t.shape.slice(0, -1), c, "int32"), 3).mul(0.5));
  const [a0, s0] = sub.predict([raw, spec]) as tf.Tensor[];
  const [a1, s1] = sub.predict([poke(raw, 1), poke(spec, 1)]) as tf.Tensor[];
  assertEquals(Array.from(a1.dataSync()), Array.from(a0.dataSync()));
  assertEquals(Array.from(s1.dataSync()), Array.from(s0.dataSync()));
  const [a2] = sub.predict([poke(raw, 0), spec]) as tf.Tensor[];
  assert(a2.sub(a0).abs().max().dataSync()[0] > 1e-3);
  // distinct weights per axis
  const k0 = model.getLayer("block1_ch0_conv1").getWeights()[0];
  const k1 = model.getLayer("block1_ch1_conv1").getWeights()[0];
  assert(k0.sub(k1).abs().max().dataSync()[0] > 1e-3);
  tf.dispose([raw, spec, a0, s0, a1, s1, a2]);
  model.dispose();
});

Deno.test("serialisation: toJSON → modelFromJSON rebuilds every variant with identical outputs", async () => {
  const variants = [
    { windowLength: 80, numClasses: 5 },
    {
      windowLength: 80,
      numClasses: 5,
      spectral: { mode: "conv2d" as const },
      denseBatchNorm: true,
    },
    { windowLength: 64, numClasses: 3, spectral: false as const, kernelSizes: [5, 3], channels: 2 },
  ];
  for (const args of variants) {
    const model = multiResNet({ ...args, seed: 7 });
    const copy = await tf.models.modelFromJSON(
      JSON.parse(JSON.stringify(model.toJSON(null, false))),
    );
    copy.setWeights(model.getWeights());
    assertEquals(copy.layers.map((l) => l.name), model.layers.map((l) => l.name));
    const c = args.channels ?? 3;
    const xs = [tf.randomNormal([3, args.windowLength, c], 0, 1, "float32", 8)];
    if (args.spectral !== false) xs.push(tf.randomNormal([3, 7, 17, c], 0, 1, "float32", 9));
    const a = model.predict(xs) as tf.Tensor, b = copy.predict(xs) as tf.Tensor;
    assertEquals(Array.from(b.dataSync()), Array.from(a.dataSync()));
    assertEquals(copy.calculateLosses().length, 2); // the L2 regularisers survive
    tf.dispose([...xs, a, b]);
    model.dispose();
    copy.dispose();
  }
});

Deno.test("first-k-block prefixes select exactly blocks 1..k of every axis; transfer + freeze", () => {
  const src = multiResNet({ windowLength: 80, numClasses: 6, seed: 1 });
  const dst = multiResNet({ windowLength: 80, numClasses: 4, seed: 2 });
  assertEquals(multiResNetBlockPrefixes(0), []);
  assertEquals(multiResNetBlockPrefixes(2, 3), ["block1_", "block2_"]);
  assertThrows(() => multiResNetBlockPrefixes(4, 3), ConfigError, "exceeds");
  for (let k = 1; k <= 3; k++) {
    const sel = selectWeights(src, multiResNetBlockPrefixes(k));
    assertEquals(count(sel), 3 * SPEC_BLOCKS.slice(0, k).reduce((x, y) => x + y));
    assert(sel.every((e) => new RegExp(`^block[1-${k}]_ch[0-2]_`).test(e.name)));
    assertEquals(selectWeights(src, firstKBlocks(k)).map((e) => e.name), sel.map((e) => e.name));
  }
  // transfer blocks 1-2: those equal the source, block 3 and the head keep their own init
  const copied = transferWeights(src, dst, { select: multiResNetBlockPrefixes(2) });
  assertEquals(copied.length, selectWeights(src, multiResNetBlockPrefixes(2)).length);
  const w = (m: tf.LayersModel, l: string) => m.getLayer(l).getWeights()[0].dataSync();
  assertEquals(Array.from(w(dst, "block2_ch1_conv3")), Array.from(w(src, "block2_ch1_conv3")));
  assert(w(dst, "block3_ch1_conv3").some((v, i) => v !== w(src, "block3_ch1_conv3")[i]));
  // freeze them and take an Adam step on the trainable rest: frozen kernels stay bit-identical
  const frozen = freeze(dst, multiResNetBlockPrefixes(2));
  assert(frozen.length > 0 && frozen.every((n) => /^block[12]_/.test(n)));
  const before = Array.from(w(dst, "block1_ch0_conv1"));
  const head0 = Array.from(w(dst, "head_dense1"));
  const [raw, spec] = batch(8, 80, 7, 5);
  const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], "int32"), 4);
  const opt = tf.train.adam(1e-2);
  const vars = dst.trainableWeights.map((v) => v.read() as tf.Variable);
  assert(vars.length < dst.weights.length);
  opt.minimize(
    () => {
      const logits = dst.apply([raw, spec], { training: true }) as tf.Tensor;
      return tf.losses.softmaxCrossEntropy(labels, logits).add(tf.addN(dst.calculateLosses()))
        .asScalar();
    },
    false,
    vars,
  );
  assertEquals(Array.from(w(dst, "block1_ch0_conv1")), before);
  assert(w(dst, "head_dense1").some((v, i) => v !== head0[i]), "the head trains");
  tf.dispose([raw, spec, labels]);
  opt.dispose();
  src.dispose();
  dst.dispose();
});

Deno.test("gradients reach every trainable weight; L2 is λ·Σw² of the dense kernels", () => {
  const model = multiResNet({ windowLength: 80, numClasses: 3, seed: 4 });
  const [raw, spec] = batch(6, 80, 7, 6);
  const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], "int32"), 3);
  const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
  const { grads } = tf.variableGrads(() => {
    const logits = model.apply([raw, spec], { training: true }) as tf.Tensor;
    return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  }, vars);
  for (const v of vars) {
    assert(grads[v.name].abs().sum().dataSync()[0] > 0, `no gradient for ${v.name}`);
  }
  const l2 = tf.addN(model.calculateLosses()).dataSync()[0];
  const want = ["head_dense1", "head_dense2"].reduce(
    (s, n) => s + 1e-3 * model.getLayer(n).getWeights()[0].square().sum().dataSync()[0],
    0,
  );
  assert(Math.abs(l2 - want) < 1e-6 * Math.max(1, want), `${l2} vs ${want}`);
  tf.dispose([raw, spec, labels, ...Object.values(grads)]);
  model.dispose();
});

Deno.test("bad sizes are ConfigErrors naming the field", () => {
  assertThrows(
    () => multiResNet({ windowLength: 20, numClasses: 3, numBlocks: 5, spectral: false }),
    ConfigError,
    "block 4",
  );
  assertThrows(() => multiResNet({ windowLength: 16, numClasses: 3 }), ConfigError, "nFft 32");
  assertThrows(() => multiResNet({ windowLength: 80, numClasses: 0 }), ConfigError, "numClasses");
  assertThrows(
    () => multiResNet({ windowLength: 80, numClasses: 3, kernelSizes: [3, 0] }),
    ConfigError,
    "kernelSizes[1]",
  );
  assertThrows(
    () => multiResNet({ windowLength: 80, numClasses: 3, dropout: 1 }),
    ConfigError,
    "dropout",
  );
});
