/**
 * The "Don't freeze" downstream classifier (lib/models/dontfreeze_classifier.ts,
 * ../shared/specs/dont-freeze.md §5): the head's layers and parameter count,
 * the classifier on each encoder, the tuned / frozen models built from each
 * pretext model (weights copied as lib/train's transferWeights copies them,
 * frozen = eval-mode encoder with non-trainable weights), a short fit with
 * early stopping on synthetic windows, serialisation and argument checks.
 */
import { assert, assertAlmostEquals, assertEquals, assertLess, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/mod.ts";
import type { Windows } from "../../lib/data/types.ts";
import { ConfigError } from "../../lib/errors.ts";
import {
  CLASSIFIER_PREFIX,
  copyDontFreezeEncoder,
  CPC_REFERENCE_CLASSIFIER_UNITS,
  dontFreezeClassifier,
  dontFreezeClassifierFromPretext,
  dontFreezeEncoder,
  type DontFreezeEncoderSpec,
  dontFreezeHead,
  dontFreezeHeadWeights,
} from "../../lib/models/dontfreeze_classifier.ts";
import {
  autoencoder,
  cpcModel,
  dontFreezeEncoderWeights,
  multitask8Model,
  REPRESENTATION_LAYER,
  simclrModel,
} from "../../lib/models/dontfreeze_encoders.ts";
import { selectorFn, transferWeights } from "../../lib/train/freeze.ts";
import { fit } from "../../lib/train/loop.ts";
import { rng } from "../../lib/random.ts";
import { syntheticWindows } from "../pretext/_dontfreeze.ts";

await initBackend({ verbose: false, threads: 1 });

const size = (shape: readonly (number | null)[]) => shape.reduce((p: number, q) => p * q!, 1);
const count = (ws: { shape: readonly (number | null)[] }[]) =>
  ws.reduce((a, w) => a + size(w.shape), 0);
const names = (m: tf.LayersModel) => m.weights.map((w) => w.originalName);

/** Channels-last `[n, 100, 3]` windows. */
function channelsLast(w: Windows): tf.Tensor3D {
  return tf.tidy(() =>
    tf.tensor3d(w.x, [w.n, w.channels, w.length]).transpose([0, 2, 1]) as tf.Tensor3D
  );
}

const HEAD_BASE = 256 * 256 + 256 * 128 + 128 * 128 + 4 * (256 + 128 + 128);

Deno.test("dontFreezeHead: 256 → [256, 128, 128] dense/BN/ReLU/dropout 0.2 → C logits; 116,736 + 129·C values (§5)", () => {
  const h = dontFreezeHead({ numClasses: 14, seed: 1 });
  assertEquals(h.inputs[0].shape, [null, 256]);
  assertEquals(h.outputs[0].shape, [null, 14]);
  assertEquals(
    h.layers.slice(1).map((l) => l.name),
    [1, 2, 3].flatMap((k) =>
      ["dense", "bn", "relu", "dropout"].map((p) => `${CLASSIFIER_PREFIX}${p}${k}`)
    ).concat([`${CLASSIFIER_PREFIX}logits`]),
  );
  for (const k of [1, 2, 3]) {
    const d = h.getLayer(`${CLASSIFIER_PREFIX}dropout${k}`).getConfig();
    assertEquals(d.rate, 0.2);
    const bn = h.getLayer(`${CLASSIFIER_PREFIX}bn${k}`).getConfig();
    assertEquals([bn.momentum, bn.epsilon], [0.9, 1e-5]);
    assertEquals(h.getLayer(`${CLASSIFIER_PREFIX}dense${k}`).getConfig().useBias, false);
  }
  assertEquals(HEAD_BASE, 116_736);
  assertEquals(count(h.weights), 116_736 + 129 * 14);
  assertEquals(count(h.trainableWeights), 115_712 + 129 * 14);
  // no activation on the logits; probabilities are the loss's business
  assertEquals(h.getLayer(`${CLASSIFIER_PREFIX}logits`).getConfig().activation, "linear");
  // PyTorch nn.Linear init: |w| ≤ 1/√fan_in
  const w1 = h.getLayer(`${CLASSIFIER_PREFIX}dense1`).getWeights()[0].dataSync();
  assert(w1.every((v) => Math.abs(v) <= 1 / 16 + 1e-7));
  // the [4] reference: two hidden layers, with biases
  const ref = dontFreezeHead({
    numClasses: 6,
    units: CPC_REFERENCE_CLASSIFIER_UNITS,
    denseBias: true,
  });
  assertEquals(count(ref.weights), 256 * 256 + 256 + 256 * 128 + 128 + 4 * 384 + 129 * 6);
  h.dispose();
  ref.dispose();
});

Deno.test("dontFreezeClassifier: every encoder + head, [n, 100, 3] → [n, C]; encoder_/classifier_ weight names; seeded", () => {
  const x = channelsLast(syntheticWindows(4, 1));
  const specs: [DontFreezeEncoderSpec, number][] = [
    [{ kind: "tpn" }, 109_248],
    [{ kind: "cpc" }, 722_208],
    [{ kind: "autoencoder" }, 0],
  ];
  const isEnc = selectorFn(dontFreezeEncoderWeights());
  const isHead = selectorFn(dontFreezeHeadWeights());
  for (const [spec, encParams] of specs) {
    const m = dontFreezeClassifier({ numClasses: 5, encoder: spec, seed: 3 });
    const enc = dontFreezeEncoder(spec, 3);
    assertEquals(m.outputs[0].shape, [null, 5]);
    assertEquals(m.inputs[0].shape, [null, 100, 3]);
    if (encParams) assertEquals(count(enc.trainableWeights), encParams);
    assertEquals(count(m.weights), count(enc.weights) + HEAD_BASE + 129 * 5, spec.kind);
    assert(names(m).every((n) => isEnc(n) !== isHead(n)), `${spec.kind}: encoder xor head`);
    assertEquals(names(m).filter(isEnc).sort(), names(enc).sort());
    // the representation is the encoder's 256-d output, and the head sits on it
    assertEquals(m.getLayer(REPRESENTATION_LAYER).outputShape, [null, 256]);
    // the same seed gives the same weights, the encoder the same as dontFreezeEncoder's
    const again = dontFreezeClassifier({ numClasses: 5, encoder: spec, seed: 3 });
    const other = dontFreezeClassifier({ numClasses: 5, encoder: spec, seed: 4 });
    const flat = (mm: tf.LayersModel) => mm.getWeights().flatMap((t) => Array.from(t.dataSync()));
    assertEquals(flat(again), flat(m));
    assert(flat(other).some((v, i) => v !== flat(m)[i]));
    const y = m.predict(x) as tf.Tensor;
    assertEquals(y.shape, [4, 5]);
    assert(y.dataSync().every(Number.isFinite));
    tf.dispose([y]);
    [m, enc, again, other].forEach((mm) => mm.dispose());
  }
  x.dispose();
});

Deno.test("dontFreezeClassifierFromPretext: copies each pretext's encoder (= transferWeights), fresh head; frozen = eval-mode, non-trainable", () => {
  const x = channelsLast(syntheticWindows(3, 2));
  const cases: [tf.LayersModel, DontFreezeEncoderSpec][] = [
    [multitask8Model({ seed: 11 }), { kind: "tpn" }],
    [simclrModel({ seed: 12 }), { kind: "tpn" }],
    [cpcModel({ seed: 13, steps: 4 }), { kind: "cpc" }],
    [autoencoder({ seed: 14 }), { kind: "autoencoder" }],
  ];
  const isEnc = selectorFn(dontFreezeEncoderWeights());
  for (const [pre, spec] of cases) {
    const tuned = dontFreezeClassifierFromPretext(pre, { numClasses: 3, encoder: spec, seed: 5 });
    const frozen = dontFreezeClassifierFromPretext(pre, {
      numClasses: 3,
      encoder: spec,
      seed: 5,
      regime: "frozen",
    });
    // lib/train's transferWeights into a baseline gives the same weights
    const ref = dontFreezeClassifier({ numClasses: 3, encoder: spec, seed: 5 });
    transferWeights(pre, ref, { select: dontFreezeEncoderWeights() });
    const val = (m: tf.LayersModel) =>
      new Map(m.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));
    const [vt, vf, vr] = [val(tuned), val(frozen), val(ref)];
    const vp = val(pre);
    for (const [n, v] of vr) {
      assertEquals(vt.get(n), v, `${pre.name} tuned ${n}`);
      assertEquals(vf.get(n), v, `${pre.name} frozen ${n}`);
      if (isEnc(n)) assertEquals(v, vp.get(n), `${pre.name} ${n} from the pretext`);
    }
    // tuned trains everything; frozen only the head, and has no encoder dropout
    assertEquals(count(tuned.trainableWeights), count(ref.trainableWeights));
    assert(frozen.trainableWeights.every((w) => !isEnc(w.originalName)));
    assertEquals(count(frozen.trainableWeights), HEAD_BASE - 1024 + 129 * 3);
    assert(!frozen.layers.some((l) => isEnc(l.name) && l.getClassName() === "Dropout"));
    // eval-mode encoder = the pretext's representation in inference
    const rep = (m: tf.LayersModel) =>
      tf.model({
        inputs: m.inputs,
        outputs: m.getLayer(REPRESENTATION_LAYER).output as tf.SymbolicTensor,
      });
    const a = (rep(frozen).predict(x) as tf.Tensor).dataSync();
    const b = (rep(tuned).predict(x) as tf.Tensor).dataSync();
    a.forEach((v, i) => assertAlmostEquals(v, b[i], 1e-5));
    [tuned, frozen, ref, pre].forEach((m) => m.dispose());
  }
  // an encoder of another architecture is refused, naming the weights
  const mtl = multitask8Model({ seed: 1 });
  assertThrows(
    () => dontFreezeClassifierFromPretext(mtl, { numClasses: 3, encoder: { kind: "cpc" } }),
    ConfigError,
    "not in the pretext",
  );
  assertThrows(
    () =>
      dontFreezeClassifierFromPretext(mtl, {
        numClasses: 3,
        encoder: { kind: "tpn", args: { filters: [32, 64, 80] } },
      }),
    ConfigError,
    "shape",
  );
  const head = dontFreezeHead({ numClasses: 3 });
  assertThrows(() => copyDontFreezeEncoder(mtl, head), ConfigError, "differ");
  [mtl, head].forEach((m) => m.dispose());
  x.dispose();
});

/** Three classes of windows told apart by their dominant frequency (1, 3, 6 Hz), gravity on z. */
function toyWindows(n: number, seed: number): Windows {
  const r = rng(seed);
  const L = 100, C = 3;
  const x = new Float32Array(n * C * L);
  const y = new Int32Array(n);
  const f = [1, 3, 6];
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    y[i] = c;
    const ph = 2 * Math.PI * r.next();
    for (let ch = 0; ch < C; ch++) {
      for (let t = 0; t < L; t++) {
        x[(i * C + ch) * L + t] = (ch === 2 ? 1 : 0) +
          0.4 * Math.sin(2 * Math.PI * f[c] * t / 50 + ph + ch) + 0.1 * r.normal();
      }
    }
  }
  return {
    x,
    n,
    channels: C,
    length: L,
    y,
    classes: ["slow", "mid", "fast"],
    subject: Array.from({ length: n }, (_, i) => `u${i % 4}`),
    rateHz: 50,
  };
}

Deno.test("a short fit (TPN baseline, early stopping on valF1) lowers the loss and classifies the toy data", async () => {
  const m = dontFreezeClassifier({ numClasses: 3, encoder: { kind: "tpn" }, seed: 2 });
  const train = toyWindows(96, 1), val = toyWindows(48, 2);
  const res = await fit(m, train, {
    epochs: 10,
    batchSize: 16,
    seed: 1,
    optimizer: { name: "adam", lr: 1e-3 },
    validation: val,
    earlyStopping: { monitor: "valF1", mode: "max", patience: 3, restoreBest: true },
    channelsLast: true,
    progress: false,
    workers: 0,
  });
  const losses = res.rows.map((r) => r.trainLoss);
  console.log(
    `toy fit: train loss ${losses.map((l) => l.toFixed(3)).join(" → ")}, valF1 ${
      res.rows.map((r) => r.valF1?.toFixed(2)).join(" ")
    }, best epoch ${res.bestEpoch}`,
  );
  assertLess(losses[losses.length - 1], losses[0]);
  const best = Math.max(...res.rows.map((r) => r.valF1 ?? 0));
  assert(best > 0.8, `best valF1 ${best}`);
  m.dispose();
});

Deno.test("frozen regime: fit (frozenBatchNorm inference) trains the head only; encoder and its BN statistics bit-identical", async () => {
  const pre = autoencoder({ seed: 7 });
  const m = dontFreezeClassifierFromPretext(pre, {
    numClasses: 3,
    encoder: { kind: "autoencoder" },
    regime: "frozen",
    seed: 1,
  });
  const snap = (sel: (n: string) => boolean) =>
    m.weights.filter((w) => sel(w.originalName)).map((w) => Array.from(w.read().dataSync()));
  const isEnc = selectorFn(dontFreezeEncoderWeights()),
    isHead = selectorFn(dontFreezeHeadWeights());
  const enc0 = snap(isEnc), head0 = snap(isHead);
  await fit(m, toyWindows(48, 3), {
    epochs: 2,
    batchSize: 16,
    seed: 2,
    channelsLast: true,
    frozenBatchNorm: "inference",
    progress: false,
    workers: 0,
  });
  assertEquals(snap(isEnc), enc0);
  assert(snap(isHead).some((v, i) => v.some((u, j) => u !== head0[i][j])), "the head trained");
  // freeze: false leaves the freezing to fit's `freeze` option
  const open = dontFreezeClassifierFromPretext(pre, {
    numClasses: 3,
    encoder: { kind: "autoencoder" },
    regime: "frozen",
    freeze: false,
  });
  assertEquals(
    count(open.trainableWeights),
    count(m.trainableWeights) + count(
      pre.trainableWeights.filter((w) => isEnc(w.originalName)),
    ),
  );
  [pre, m, open].forEach((mm) => mm.dispose());
});

Deno.test("serialisation: toJSON → modelFromJSON gives the same logits (every encoder, frozen too)", async () => {
  const x = channelsLast(syntheticWindows(2, 5));
  const pre = cpcModel({ seed: 3, steps: 4 });
  const models = [
    dontFreezeClassifier({ numClasses: 4, encoder: { kind: "tpn" }, seed: 1 }),
    dontFreezeClassifier({ numClasses: 4, encoder: { kind: "autoencoder" }, seed: 1 }),
    dontFreezeClassifierFromPretext(pre, {
      numClasses: 4,
      encoder: { kind: "cpc" },
      regime: "frozen",
    }),
  ];
  for (const m of models) {
    const json = JSON.parse(JSON.stringify(m.toJSON(null, false)));
    const re = await tf.models.modelFromJSON(json);
    // by name: a frozen model lists its non-trainable encoder weights last
    const byName = new Map(m.weights.map((w) => [w.originalName, w]));
    for (const w of re.weights) w.write(byName.get(w.originalName)!.read());
    assertEquals([...names(re)].sort(), [...names(m)].sort());
    const d = tf.tidy(() =>
      (m.predict(x) as tf.Tensor).sub(re.predict(x) as tf.Tensor).abs().max().dataSync()[0]
    );
    assert(d <= 1e-6, `${m.name}: max diff ${d}`);
    m.dispose();
    re.dispose();
  }
  pre.dispose();
  x.dispose();
});

Deno.test("argument checks name the field", () => {
  assertThrows(() => dontFreezeHead({ numClasses: 1 }), ConfigError, "numClasses");
  assertThrows(() => dontFreezeHead({ numClasses: 3, dropout: 1 }), ConfigError, "dropout");
  assertThrows(() => dontFreezeHead({ numClasses: 3, units: [256, 0] }), ConfigError, "units[1]");
  assertThrows(
    () => dontFreezeHead({ numClasses: 3, init: "he" as "torch" }),
    ConfigError,
    "init",
  );
  assertThrows(
    () => dontFreezeClassifier({ numClasses: 3, encoder: { kind: "gru" } as never }),
    ConfigError,
    "kind",
  );
  const mtl = multitask8Model({ seed: 1 });
  assertThrows(
    () => dontFreezeClassifierFromPretext(mtl, { numClasses: 3, regime: "half" as "tuned" }),
    ConfigError,
    "regime",
  );
  mtl.dispose();
});
