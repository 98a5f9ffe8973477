import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import {
  firstKBlocks,
  freeze,
  selectorFn,
  selectWeights,
  transferWeights,
  unfreeze,
  weightEntries,
} from "../../lib/train/freeze.ts";
import { ConfigError } from "../../lib/errors.ts";
import { convModel, useCpu } from "./_fixtures.ts";

await useCpu();

Deno.test("selectors: prefix respects name boundaries, regex, lists, predicates", () => {
  const f = selectorFn("encoder");
  assertEquals(
    ["encoder/conv/kernel", "encoder.layer1.w", "encoder", "encoder2/kernel", "head/encoder"].map(
      f,
    ),
    [true, true, true, false, false],
  );
  assertEquals(selectorFn(["a", "b"])("b/x"), true);
  assertEquals(selectorFn(/bias$/)("head/bias"), true);
  assertEquals(selectorFn((n) => n.length > 3)("abc"), false);
});

Deno.test("firstKBlocks matches harnet-style and underscore block names", () => {
  const f = firstKBlocks(2);
  const names = [
    "feature_extractor.layer1.0.conv1/kernel",
    "feature_extractor.layer2.1.bn1/gamma",
    "feature_extractor.layer3.0.conv1/kernel",
    "feature_extractor.layer10.x/kernel",
    "layer1_conv/kernel",
    "classifier.linear1/kernel",
  ];
  assertEquals(names.map(f), [true, true, false, false, true, false]);
  assertEquals(firstKBlocks(1, { pattern: /conv(\d+)/, firstIndex: 0 })("conv0/kernel"), true);
});

Deno.test("freeze/unfreeze flip trainable flags; unknown selector throws", () => {
  const m = convModel(1, { batchNorm: true });
  const n0 = m.trainableWeights.length;
  const frozen = freeze(m, firstKBlocks(1));
  assertEquals(frozen, [
    "layer1_conv/kernel",
    "layer1_conv/bias",
    "layer1_bn/gamma",
    "layer1_bn/beta",
  ]);
  assertEquals(m.trainableWeights.length, n0 - 4);
  // batch-norm statistics were never trainable and stay so
  assertEquals(selectWeights(m, /moving/).every((e) => !e.trainable), true);
  unfreeze(m, frozen);
  assertEquals(m.trainableWeights.length, n0);
  assertThrows(() => freeze(m, "encoder"), ConfigError, "matches no weight");
  m.dispose();
});

Deno.test("transferWeights copies the first k blocks (incl. batch-norm stats) by name", () => {
  const src = convModel(1, { batchNorm: true });
  const dst = convModel(99, { batchNorm: true });
  // give src distinctive BN statistics
  const mm = selectWeights(src, "layer1_bn/moving_mean")[0];
  mm.variable.assign(tf.fill(mm.shape, 0.25));
  const before = weightEntries(dst).map((e) => Array.from(e.variable.dataSync()));
  const copied = transferWeights(src, dst, { select: firstKBlocks(1) });
  assertEquals(copied.length, 6); // conv kernel+bias, bn gamma/beta/mean/var
  const s = weightEntries(src), d = weightEntries(dst);
  d.forEach((e, i) => {
    const now = Array.from(e.variable.dataSync());
    if (copied.includes(e.name)) assertEquals(now, Array.from(s[i].variable.dataSync()));
    else assertEquals(now, before[i]);
  });
  assertNotEquals(
    Array.from(d.find((e) => e.name === "head/kernel")!.variable.dataSync()),
    Array.from(s.find((e) => e.name === "head/kernel")!.variable.dataSync()),
  );
  // later updates to src do not leak into dst
  const k = s[0];
  k.variable.assign(tf.zerosLike(k.variable));
  assertNotEquals(Array.from(d[0].variable.dataSync()), Array.from(k.variable.dataSync()));
  // shape mismatch is reported with the weight name
  const other = convModel(3, { classes: 5 });
  assertThrows(() => transferWeights(src, other, { select: "head" }), ConfigError, "head/kernel");
  [src, dst, other].forEach((m) => m.dispose());
});
