import { assert, assertEquals, assertThrows } from "@std/assert";
import { ConfigError } from "../../lib/errors.ts";
import {
  PUBLISHED_SELFPAB,
  SELFPAB_SCALES,
  selfpabSpec,
  validateSelfpabSpec,
} from "../../lib/experiments/selfpab/spec.ts";
import {
  classFrameCounts,
  losoFolds,
  sequencesOf,
  subjectFolds,
} from "../../lib/experiments/selfpab/sequences.ts";
import type { SelfpabSegment } from "../../lib/experiments/selfpab/data.ts";
import type { NormParams } from "../../lib/signal/spectrogram.ts";

Deno.test("selfpabSpec: every scale validates; paper scale is the released configuration", () => {
  for (const s of SELFPAB_SCALES) validateSelfpabSpec(selfpabSpec(s));
  const p = selfpabSpec("paper");
  assertEquals([p.model.dModel, p.model.layers, p.model.heads, p.model.ffUnits], [
    1500,
    4,
    6,
    2048,
  ]);
  assertEquals(p.model.headHidden, 1028);
  assertEquals([p.pretrain.batchSize, p.pretrain.cropFrames, p.pretrain.lr], [64, 599, 1e-4]);
  assertEquals([p.downstream.epochs, p.downstream.batchSize, p.downstream.shiftFrames], [
    15,
    100,
    12,
  ]);
  assertEquals(p.downstream.unfreezeAtFraction, 0.75);
  assertEquals([p.rateHz, p.nFft, p.hop], [50, 50, 25]);
  const headline = PUBLISHED_SELFPAB.find((r) => r.approach.startsWith("SelfPAB"))!;
  assertEquals([headline.harth[0], headline.har70[0]], [81.3, 78.5]);
});

Deno.test("selfpabSpec: overrides merge one level deep, bad values are named", () => {
  const s = selfpabSpec("smoke", { seed: 9, model: { dModel: 64 } });
  assertEquals(s.seed, 9);
  assertEquals(s.model.dModel, 64);
  assertEquals(s.model.layers, selfpabSpec("smoke").model.layers, "other model fields kept");
  const bad: [Parameters<typeof selfpabSpec>[1], RegExp][] = [
    [{ model: { heads: 5 } }, /model\.heads/],
    [{ pretrain: { cropFrames: 10 } }, /cropFrames/],
    [{ downstream: { unfreezeAtFraction: 1.5 } }, /unfreezeAtFraction/],
    [{ downstream: { shiftFrames: 500 } }, /shiftFrames/],
    [{ variants: [] }, /variants/],
    [{ thighLowpassHz: 30 }, /thighLowpassHz/],
  ];
  for (const [o, re] of bad) {
    const e = assertThrows(() => selfpabSpec("smoke", o), ConfigError);
    assert(re.test((e as Error).message), (e as Error).message);
  }
  assertThrows(() => selfpabSpec("huge" as never), ConfigError, "unknown");
});

/** A 50 Hz segment: class 1 as a 3 Hz oscillation, class 0 still. */
function seg(subject: string, trial: string, labels: number[]): SelfpabSegment {
  const n = labels.length;
  const ax = (phase: number) =>
    Float32Array.from(
      { length: n },
      (_, i) => (labels[i] === 1 ? 0.5 * Math.sin(2 * Math.PI * 3 * i / 50 + phase) : 0) + 1,
    );
  return {
    dataset: "toy",
    subject,
    placement: "thigh",
    rateHz: 50,
    axes: [ax(0), ax(1), ax(2)].map((a, k) => a.map((v, i) => v + 1e-3 * Math.sin(i * (k + 1)))),
    axisNames: ["x", "y", "z"],
    labels: Int32Array.from(labels),
    labelNames: ["still", "move"],
    source: `${subject}-${trial}.csv`,
    trial,
  };
}

const norm: NormParams = {
  mean: new Float64Array(78),
  std: new Float64Array(78).fill(1),
  dir: "toy",
} as unknown as NormParams;

Deno.test("sequencesOf: frames, labels, keys; a short segment is dropped; wrong statistics named", () => {
  const segs = [
    seg("a", "t1", [...Array(500).fill(0), ...Array(500).fill(1)]),
    seg("b", "t1", Array(300).fill(1)),
    seg("b", "t2", Array(20).fill(0)), // shorter than one frame
  ];
  const logs: string[] = [];
  const seqs = sequencesOf(segs, { axes: ["x", "y", "z"], norm, log: (m) => logs.push(m) });
  assertEquals(seqs.length, 2);
  assert(logs.some((l) => /dropped 1/.test(l)));
  assertEquals(seqs[0].key, "toy:a:t1");
  assertEquals(seqs[0].subject, "toy:a");
  assertEquals(seqs[0].frames.frames, Math.floor((1000 - 50) / 25) + 1);
  assertEquals(seqs[0].frames.features, 78);
  const l = seqs[0].frameLabels!;
  assertEquals(l[0], 0);
  assertEquals(l[l.length - 1], 1);
  assertEquals(classFrameCounts(seqs, [0, 1], 2)[1] > 0, true);
  assertThrows(
    () => sequencesOf(segs, { axes: ["x", "y"], norm }),
    ConfigError,
    "78 normalisation values",
  );
});

Deno.test("losoFolds / subjectFolds: every subject tested once, never trained on in its fold", () => {
  const segs = ["a", "b", "c", "d", "e", "f"].flatMap((s, i) => [
    seg(s, "t1", Array(200).fill(i === 2 ? 0 : 1)),
    seg(s, "t2", Array(200).fill(0)),
  ]);
  const seqs = sequencesOf(segs, { axes: ["x", "y", "z"], norm });
  const loso = losoFolds(seqs);
  assertEquals(loso.map((f) => f.name), ["a", "b", "c", "d", "e", "f"]);
  assertEquals(loso.find((f) => f.name === "c")!.kind, "specificity");
  assertEquals(loso.find((f) => f.name === "a")!.kind, "freeze");
  const idx = seqs.map((_, i) => i);
  const kf = subjectFolds(seqs, idx, 3, 1);
  assertEquals(kf.length, 3);
  const tested = kf.flatMap((f) => f.testSubjects).sort();
  assertEquals(tested, ["toy:a", "toy:b", "toy:c", "toy:d", "toy:e", "toy:f"]);
  for (const f of [...loso, ...kf]) {
    const testS = new Set(f.test.map((i) => seqs[i].subject));
    assert(
      f.train.every((i) => !testS.has(seqs[i].subject)),
      `${f.name}: no test subject in training`,
    );
    assertEquals(f.train.length + f.test.length, seqs.length);
  }
});
