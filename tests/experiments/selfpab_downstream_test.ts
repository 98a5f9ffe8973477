import { assert, assertAlmostEquals, assertEquals, assertRejects } from "@std/assert";
import type * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/mod.ts";
import { ConfigError, DataFormatError } from "../../lib/errors.ts";
import {
  runSelfpabDownstream,
  scoreActivities,
  scoreFreezeDetection,
  type SelfpabDownstreamArgs,
} from "../../lib/experiments/selfpab/downstream.ts";
import { selfpabPretrainModel } from "../../lib/experiments/selfpab/pretrain.ts";
import { selfpabSpec } from "../../lib/experiments/selfpab/spec.ts";
import type {
  SelfpabFold,
  SelfpabFoldOutcome,
  SelfpabSequence,
} from "../../lib/experiments/selfpab/types.ts";
import { selfpabEncoderWeights } from "../../lib/models/selfpab.ts";
import { rng } from "../../lib/random.ts";
import { frameLabels } from "../../lib/signal/spectrogram.ts";

await initBackend({ verbose: false });

const F = 12, RATE = 50, HOP = 25, NFFT = 50;
const NAMES = ["walk", "freeze"];

/**
 * A sequence of T frames (S = 25(T − 1) + 50 samples): class blocks of
 * 10–30 frames; class-1 frames have +1.5 in features 0–3 (spectrogram-like
 * separability); the 50 Hz thigh signal oscillates at 5 Hz (freeze band) in
 * class 1 and 1.5 Hz in class 0. The first 100 samples are unlabelled (−1).
 */
function synthSequence(subject: string, trial: string, T: number, seed: number): SelfpabSequence {
  const r = rng(seed);
  const S = HOP * (T - 1) + NFFT;
  const labels = new Int32Array(S);
  let c = r.int(2), left = 250 + r.int(500);
  for (let i = 0; i < S; i++) {
    if (left-- <= 0) {
      c = 1 - c;
      left = 250 + r.int(500);
    }
    labels[i] = c;
  }
  labels.fill(-1, 0, 100);
  const axes = [0, 1, 2].map(() => new Float32Array(S));
  for (let i = 0; i < S; i++) {
    const f = labels[i] === 1 ? 5 : 1.5;
    const v = 0.3 * Math.sin(2 * Math.PI * f * i / RATE);
    axes[0][i] = 1 + v + 0.02 * r.normal();
    axes[1][i] = 0.5 * v + 0.02 * r.normal();
    axes[2][i] = 0.2 * v + 0.02 * r.normal();
  }
  const fl = frameLabels(labels);
  assertEquals(fl.frames, T);
  const data = new Float32Array(T * F);
  for (let t = 0; t < T; t++) {
    const lab = fl.labels[t] >= 0 ? fl.labels[t] : labels[Math.min(S - 1, t * HOP + 25)];
    for (let f = 0; f < F; f++) {
      data[t * F + f] = 0.5 * r.normal() + (lab === 1 && f < 4 ? 1.5 : 0);
    }
  }
  return {
    key: `toy:${subject}:${trial}`,
    dataset: "toy",
    subject: `toy:${subject}`,
    trial,
    frames: { data, frames: T, features: F, channels: 3, bins: 4 },
    frameLabels: fl.labels,
    segment: {
      dataset: "toy",
      subject,
      placement: "thigh",
      rateHz: RATE,
      axes,
      axisNames: ["thigh_vert", "thigh_lat", "thigh_fwd"],
      labels,
      labelNames: NAMES,
      source: `toy/${subject}/${trial}`,
      trial,
    },
  };
}

// 4 subjects × 2 sequences of 100 frames, plus one short (25 frames < 40-frame windows) each for A and D
const SEQS: SelfpabSequence[] = [];
for (const [si, s] of ["A", "B", "C", "D"].entries()) {
  SEQS.push(synthSequence(s, "r1", 100, 10 * si + 1), synthSequence(s, "r2", 100, 10 * si + 2));
}
SEQS.push(synthSequence("A", "short", 25, 99), synthSequence("D", "short", 25, 98));
const FOLD: SelfpabFold = {
  name: "D",
  train: [0, 1, 2, 3, 4, 5, 8],
  test: [6, 7, 9],
  testSubjects: ["toy:D"],
  kind: "freeze",
};

// 25 windows / batch 8 → 4 steps per epoch
const EPOCHS = 12, STEPS = 4 * EPOCHS;
const SPEC = selfpabSpec("smoke", {
  model: { dModel: 16, layers: 1, heads: 2, ffUnits: 32, dropout: 0, headHidden: 16 },
  downstream: {
    epochs: EPOCHS,
    batchSize: 8,
    windowFrames: 40,
    shiftFrames: 20,
    lr: 3e-3,
    maxTrainWindows: null,
    forestTrees: 15,
    unfreezeAtFraction: 0.5,
  },
});

function base(setting: string, extra: Partial<SelfpabDownstreamArgs> = {}): SelfpabDownstreamArgs {
  return {
    spec: SPEC,
    sequences: SEQS,
    fold: FOLD,
    setting,
    labelNames: NAMES,
    positiveClass: 1,
    seed: 3,
    workers: 0,
    ...extra,
  };
}

function accuracy(o: SelfpabFoldOutcome): number {
  let n = 0, ok = 0;
  for (const s of o.sequences) {
    s.yTrue.forEach((t, i) => {
      if (t < 0) return;
      n++;
      if (s.yPred[i] === t) ok++;
    });
  }
  return ok / n;
}

function checkShapes(o: SelfpabFoldOutcome) {
  assertEquals(o.sequences.map((s) => s.key), FOLD.test.map((i) => SEQS[i].key));
  for (const [j, s] of o.sequences.entries()) {
    const q = SEQS[FOLD.test[j]];
    assertEquals(s.yTrue.length, q.frames.frames);
    assertEquals(s.yPred.length, q.frames.frames);
    assertEquals(s.scoreFrames!.length, q.frames.frames);
    assertEquals(s.scoreSamples!.length, q.segment.labels.length);
    assertEquals(s.yTrueSamples, Array.from(q.segment.labels));
    assertEquals(s.yTrue, Array.from(q.frameLabels!));
    assert(s.yTrue.slice(0, 2).every((v) => v === -1), "unlabelled frames stay -1");
    for (const v of s.scoreFrames!) assert(v >= 0 && v <= 1 + 1e-6, `score ${v}`);
    s.yPred.forEach((p, i) => assertEquals(p, s.scoreFrames![i] > 0.5 ? 1 : 0));
  }
}

/** Encoder weight values by name. */
function encoderValues(model: tf.LayersModel): Map<string, Float32Array> {
  const sel = selfpabEncoderWeights();
  const m = new Map<string, Float32Array>();
  for (const w of model.weights) {
    if (sel.test(w.originalName)) m.set(w.originalName, w.read().dataSync() as Float32Array);
  }
  return m;
}

function sameValues(a: Map<string, Float32Array>, b: Map<string, Float32Array>): boolean {
  assertEquals([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, v] of a) {
    const u = b.get(k)!;
    for (let i = 0; i < v.length; i++) if (v[i] !== u[i]) return false;
  }
  return true;
}

Deno.test("scratch and mlp learn the visible class well above chance; lengths re-assembled", async () => {
  for (const setting of ["scratch", "mlp"]) {
    const o = await runSelfpabDownstream(base(setting));
    checkShapes(o);
    const acc = accuracy(o);
    assert(acc > 0.85, `${setting}: frame accuracy ${acc}`);
    const f = scoreFreezeDetection([o]);
    assert(f.aurocFrames > 0.9, `${setting}: AUROC ${f.aurocFrames}`);
    assert(f.aurocSamples > 0.9, `${setting}: sample AUROC ${f.aurocSamples}`);
    // 7 training sequences: 6 × ⌈(101 − 40)/20⌉ = 24 windows + 1 short = 25 → 4 steps per epoch
    assertEquals(o.training!.windows, 25);
    assertEquals(o.training!.steps, STEPS);
    assert(Number.isFinite(o.training!.finalLoss as number));
    assertEquals(o.training!.unfreezeStep, null);
  }
});

Deno.test("selfpab: encoder frozen exactly until the unfreeze step, then trained; frozen: never", async () => {
  const pre = selfpabPretrainModel(SPEC, F, 5);
  const start = encoderValues(pre);
  for (const setting of ["selfpab", "frozen", "selfpab-3h"]) {
    const unchanged: boolean[] = [];
    let headMoved = false;
    let head0: Float32Array | null = null;
    const o = await runSelfpabDownstream(base(setting, {
      pretrained: pre,
      onStep: ({ model }) => {
        unchanged.push(sameValues(start, encoderValues(model)));
        const h = model.weights.find((w) => w.originalName.startsWith("head_"))!;
        const v = h.read().dataSync() as Float32Array;
        if (head0 && v.some((x, i) => x !== head0![i])) headMoved = true;
        head0 = Float32Array.from(v);
      },
    }));
    checkShapes(o);
    assertEquals(o.setting, setting);
    assertEquals(unchanged.length, STEPS);
    assert(headMoved, `${setting}: the head trains`);
    if (setting === "frozen") {
      assert(unchanged.every((u) => u), "frozen: encoder never changes");
      assertEquals(o.training!.unfreezeStep, null);
    } else {
      const u = STEPS / 2;
      assertEquals(o.training!.unfreezeStep, u);
      assertEquals(unchanged.slice(0, u), new Array(u).fill(true));
      assertEquals(unchanged.slice(u), new Array(STEPS - u).fill(false));
    }
  }
  // the pre-trained model itself is not modified
  assert(sameValues(start, encoderValues(pre)));
  pre.dispose();
});

Deno.test("forest and freeze-index give outcomes of the right shape that separate the classes", async () => {
  const forest = await runSelfpabDownstream(base("forest"));
  checkShapes(forest);
  assert(accuracy(forest) > 0.75, `forest accuracy ${accuracy(forest)}`);
  const fi = await runSelfpabDownstream(base("freeze-index"));
  checkShapes(fi);
  const s = scoreFreezeDetection([fi]);
  assert(s.aurocSamples > 0.8, `freeze-index AUROC ${s.aurocSamples}`);
  assert(s.f1Samples > 0.6, `freeze-index F1 ${s.f1Samples}`);
  assert(typeof fi.training!.threshold === "number");
  assertEquals(fi.training!.steps, 0);
});

Deno.test("clear errors", async () => {
  await assertRejects(() => runSelfpabDownstream(base("selfpab")), ConfigError, "pre-trained");
  const pre = selfpabPretrainModel(SPEC, F + 3, 1);
  await assertRejects(
    () => runSelfpabDownstream(base("frozen", { pretrained: pre })),
    ConfigError,
    "15 features",
  );
  pre.dispose();
  await assertRejects(
    () => runSelfpabDownstream(base("freeze-index", { labelNames: ["a", "b", "c"] })),
    ConfigError,
    "binary",
  );
  await assertRejects(() => runSelfpabDownstream(base("nonsense")), ConfigError, "unknown");
  const odd = structuredClone(SEQS[0]);
  odd.frames = { ...odd.frames, features: 6, data: new Float32Array(100 * 6) };
  await assertRejects(
    () => runSelfpabDownstream(base("mlp", { sequences: [odd, ...SEQS.slice(1)] })),
    DataFormatError,
    "features per frame",
  );
  const unl = structuredClone(SEQS[0]);
  unl.frameLabels!.fill(-1);
  await assertRejects(
    () =>
      runSelfpabDownstream(
        base("mlp", { sequences: [unl, SEQS[6]], fold: { ...FOLD, train: [0], test: [1] } }),
      ),
    ConfigError,
    "no labelled training frame",
  );
});

const seq = (
  key: string,
  subject: string,
  yTrue: number[],
  yPred: number[],
  scores?: number[],
) => ({
  key,
  subject,
  yTrue,
  yPred,
  ...(scores ? { scoreFrames: scores, scoreSamples: scores, yTrueSamples: yTrue } : {}),
});

Deno.test("scoreFreezeDetection against hand-computed values", () => {
  const o1: SelfpabFoldOutcome = {
    setting: "x",
    fold: "S01",
    labelNames: NAMES,
    seconds: 0,
    sequences: [seq("a", "S01", [0, 0, 1, 1, -1], [0, 1, 1, 0, 1], [0.1, 0.6, 0.7, 0.4, 0.9])],
  };
  const o2: SelfpabFoldOutcome = {
    setting: "x",
    fold: "S02",
    labelNames: NAMES,
    seconds: 0,
    sequences: [seq("b", "S02", [0, 1], [0, 1], [0.2, 0.8])],
  };
  const o3: SelfpabFoldOutcome = {
    setting: "x",
    fold: "S03",
    labelNames: NAMES,
    seconds: 0,
    sequences: [seq("c", "S03", [0, 0, 0, -1], [1, 0, 0, 1], [0.9, 0.1, 0.2, 0.7])],
  };
  const s = scoreFreezeDetection([o1, o2, o3]);
  // S01: pos {0.7, 0.4}, neg {0.1, 0.6}: pairs (0.7>0.1, 0.7>0.6, 0.4>0.1, 0.4<0.6) → 3/4
  assertAlmostEquals(s.perFold[0].aurocFrames, 0.75, 1e-12);
  // S01 F1: tp 1, fp 1, fn 1 → 2/4
  assertAlmostEquals(s.perFold[0].f1Frames, 0.5, 1e-12);
  assertEquals(s.perFold[0].freezeFrames, 2);
  assertAlmostEquals(s.perFold[1].aurocFrames, 1, 1e-12);
  // pooled: pos {0.7, 0.4, 0.8}, neg {0.1, 0.6, 0.2}: 9 pairs, only 0.4 < 0.6 wrong → 8/9
  assertAlmostEquals(s.aurocFrames, 8 / 9, 1e-12);
  assertAlmostEquals(s.aurocSamples, 8 / 9, 1e-12);
  // pooled F1: tp 2, fp 1, fn 1 → 4/6; samples at ≥ 0.5: the same predictions
  assertAlmostEquals(s.f1Frames, 4 / 6, 1e-12);
  assertAlmostEquals(s.f1Samples, 4 / 6, 1e-12);
  assertEquals(s.perFold.map((p) => p.fold), ["S01", "S02"]);
  // S03 has no freeze: 1 false alarm in 3 labelled frames (the -1 frame's alarm not counted)
  assertEquals(s.specificity!.length, 1);
  assertAlmostEquals(s.specificity![0].falseAlarmRate, 1 / 3, 1e-12);
});

Deno.test("scoreActivities: per-subject macro F1 mean ± SEM, pooled confusion, -1 ignored", () => {
  const names = ["a", "b", "c"];
  const o: SelfpabFoldOutcome = {
    setting: "scratch",
    fold: "f1",
    labelNames: names,
    seconds: 0,
    sequences: [
      // S1: perfect on a, b (c absent and never predicted → skipped): F1 1
      seq("s1", "S1", [0, 1, 1, -1], [0, 1, 1, 2]),
      // S2: truth [0,0,2,2], pred [0,2,2,2]: a: 2·1/(2+0+1)=2/3, c: 2·2/(4+1+0)=0.8, b skipped
      seq("s2", "S2", [0, 0, 2, 2], [0, 2, 2, 2]),
    ],
  };
  const o2: SelfpabFoldOutcome = {
    ...o,
    fold: "f2",
    // S3: truth [1,1], pred [0,1]: a: 0 (fp 1), b: 2/3 → mean 1/3
    sequences: [seq("s3", "S3", [1, 1, -1], [0, 1, 0])],
  };
  const s = scoreActivities([o, o2]);
  const f = [1, (2 / 3 + 0.8) / 2, (0 + 2 / 3) / 2];
  const mean = (f[0] + f[1] + f[2]) / 3;
  const sd = Math.sqrt(f.reduce((a, v) => a + (v - mean) ** 2, 0) / 2);
  assertEquals(s.subjects, 3);
  assertAlmostEquals(s.subjectF1Mean, mean, 1e-12);
  assertAlmostEquals(s.subjectF1Sem, sd / Math.sqrt(3), 1e-12);
  // pooled confusion (rows true): a → [2, 0, 1], b → [1, 3, 0], c → [0, 0, 2]
  assertEquals(s.confusion, [[2, 0, 1], [1, 3, 0], [0, 0, 2]]);
  const pc = [2 / 3, 6 / 7, 4 / 5];
  s.perClassF1.forEach((v, i) => assertAlmostEquals(v, pc[i], 1e-12));
  assertAlmostEquals(s.pooledF1, (pc[0] + pc[1] + pc[2]) / 3, 1e-12);
  assertEquals(s.labelNames, names);
});

Deno.test("-1 frames do not count in the loss: their content does not change mlp training", async () => {
  const noisy = SEQS.map((s) => {
    const c = structuredClone(s);
    const r = rng(7);
    c.frameLabels!.forEach((l, t) => {
      if (l < 0) { for (let f = 0; f < F; f++) c.frames.data[t * F + f] = 50 * r.normal(); }
    });
    return c;
  });
  const a = await runSelfpabDownstream(base("mlp"));
  const b = await runSelfpabDownstream(base("mlp", { sequences: noisy }));
  assertEquals(b.training!.finalLoss, a.training!.finalLoss);
  // predictions on the labelled test frames are the same (the MLP is per frame)
  a.sequences.forEach((s, j) =>
    s.yTrue.forEach((t, i) => {
      if (t >= 0) assertAlmostEquals(b.sequences[j].scoreFrames![i], s.scoreFrames![i], 1e-6);
    })
  );
});

Deno.test("weighted-sum layer mode trains", async () => {
  const spec = selfpabSpec("smoke", {
    model: { ...SPEC.model, layers: 2 },
    downstream: { ...SPEC.downstream, layerMode: "weighted-sum" },
  });
  const o = await runSelfpabDownstream(base("scratch", { spec }));
  checkShapes(o);
  assert(accuracy(o) > 0.85, `weighted-sum accuracy ${accuracy(o)}`);
});

Deno.test("two workers: the frame-weighted data-parallel step trains the same kind of model", async () => {
  const o = await runSelfpabDownstream(base("scratch", { workers: 2 }));
  assertEquals(o.training!.workers, 2);
  checkShapes(o);
  assertEquals(o.training!.steps, STEPS);
  assert(accuracy(o) > 0.85, `2 workers: accuracy ${accuracy(o)}`);
});
