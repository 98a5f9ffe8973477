/**
 * The downstream evaluator (lib/experiments/evaluator.ts) on a synthetic,
 * separable 3-class problem (6 subjects × 3 classes × 10 windows of
 * `[3, 32]`, two trials per subject) with a two-block conv encoder recipe
 * that records the weights every training step sees (tests/experiments/
 * _evaluator_toy.ts): every setting, the layer-sum path, the protocols of
 * `makeFolds`, pieces and resume, the scores and their summary, and bad
 * configurations.
 */
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertGreater,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { initBackend } from "../../lib/backend/mod.ts";
import { type FoldPlan, makeFolds, type ProtocolSpec } from "../../lib/data/splits.ts";
import { ConfigError } from "../../lib/errors.ts";
import {
  type RunResult,
  runResultToJson,
  summarizeRuns,
  summaryMarkdown,
} from "../../lib/eval/run_result.ts";
import {
  type DownstreamModel,
  type DownstreamTrainingArgs,
  type EvaluateArgs,
  evaluateDownstream,
  type NamedFold,
  type SettingSpec,
} from "../../lib/experiments/evaluator.ts";
import { runExperiment } from "../../lib/experiments/scaffold.ts";
import { tempDir } from "../_helpers.ts";
import {
  blockPrefixes,
  CLASSES,
  ENCODER,
  maxDiff,
  pick,
  pretrainedNet,
  type Snapshot,
  snapshot,
  type ToyRecipe,
  toyRecipe,
  toyWindows,
  type Trace,
} from "./_evaluator_toy.ts";

await initBackend({ verbose: false });

const W = toyWindows();
const PRE = await pretrainedNet(100);
const PRE_W = snapshot(PRE);
const TRAINING: DownstreamTrainingArgs = {
  epochs: 4,
  batchSize: 32,
  lr: 5e-3,
  patience: 4, // = epochs: never stops early, so every run takes all its steps
  workers: 0,
};
const SEED = 3;

function folds(spec: ProtocolSpec, seed = SEED): FoldPlan[] {
  return makeFolds(spec, W, seed);
}

function evaluate(
  rec: ToyRecipe | null,
  plans: NamedFold[],
  settings: SettingSpec[],
  extra: Partial<EvaluateArgs> = {},
): Promise<RunResult[]> {
  return evaluateDownstream({
    benchmark: "toy",
    protocol: (plans[0] as FoldPlan).protocol ?? "custom",
    windows: W,
    folds: plans,
    settings,
    model: rec?.model,
    pretrained: PRE,
    training: TRAINING,
    rf: { nEstimators: 10 },
    seed: SEED,
    ...extra,
  });
}

/** Exactly equal weights (the transferred / frozen ones are copied bit for bit). */
function assertSame(a: Snapshot, b: Snapshot, sel: string | string[], msg: string): void {
  assertEquals(maxDiff(pick(a, sel), pick(b, sel)), 0, msg);
}

/** Clearly different weights (other init, or trained). */
function assertDiffer(a: Snapshot, b: Snapshot, sel: string | string[], msg: string): void {
  assertGreater(maxDiff(pick(a, sel), pick(b, sel)), 1e-6, msg);
}

/** Macro F1 over the labels in truth ∪ predictions, from a confusion matrix (by hand). */
function macroF1(cm: number[][]): number {
  const k = cm.length;
  const f1s: number[] = [];
  for (let c = 0; c < k; c++) {
    const tp = cm[c][c];
    const fn = cm[c].reduce((a, b) => a + b, 0) - tp;
    const fp = cm.reduce((a, row) => a + row[c], 0) - tp;
    if (tp + fn + fp === 0) continue; // label absent from truth and predictions
    f1s.push((2 * tp) / (2 * tp + fp + fn));
  }
  return f1s.reduce((a, b) => a + b, 0) / f1s.length;
}

function confusionOf(yTrue: number[], yPred: number[]): number[][] {
  const cm = CLASSES.map(() => CLASSES.map(() => 0));
  yTrue.forEach((t, i) => cm[t][yPred[i]]++);
  return cm;
}

/** History rows without their wall-clock seconds (for run-to-run equality). */
const curve = (r: RunResult) => (r.history ?? []).map(({ seconds: _s, ...rest }) => rest);

const DEEP = new Set(["scratch", "frozen", "finetune", "frozen-unfrozen", "transfer"]);

/** Everything a RunResult of `plan` under `setting` must hold. */
function checkRun(r: RunResult, plan: FoldPlan, setting: SettingSpec, name: string): void {
  const deep = DEEP.has(setting.kind);
  const where = `${name} ${plan.name}`;
  assertEquals(r.benchmark, "toy");
  assertEquals(r.setting, name);
  assertEquals(r.protocol, plan.protocol);
  assertEquals(r.fold, plan.name);
  assertEquals(r.seed, plan.seed, where);
  assertEquals(r.repeat, plan.repeat, where);
  assertEquals(r.classes, CLASSES);
  assertEquals(r.testSubjects, plan.testSubjects, where);
  if (deep) {
    assertEquals(r.trainSubjects, plan.trainSubjects, where);
    assertEquals(r.valSubjects, plan.valSubjects, where);
    assertEquals(r.nTrain, plan.train.length, where);
    assertEquals(r.nVal, plan.val.length, where);
  } else {
    // rf trains on the training and validation windows
    assertEquals(
      r.trainSubjects,
      [...new Set([...plan.trainSubjects, ...plan.valSubjects])].sort(),
    );
    assertEquals(r.valSubjects, []);
    assertEquals(r.nTrain, plan.train.length + plan.val.length, where);
  }
  // predictions are the test windows, in order
  const yTrue = Array.from(plan.test, (i) => W.y[i]);
  assertEquals(r.metrics.n, plan.test.length, where);
  assertEquals(r.predictions!.yTrue, yTrue, where);
  assertEquals(r.predictions!.subject, Array.from(plan.test, (i) => W.subject[i]), where);
  assert(r.predictions!.yPred.every((p) => p >= 0 && p < CLASSES.length), where);
  // confusion: all classes, rows true, counts of the predictions
  assertEquals(r.confusion, confusionOf(yTrue, r.predictions!.yPred), where);
  assertEquals(r.confusion.flat().reduce((a, b) => a + b, 0), plan.test.length);
  assertAlmostEquals(r.metrics.f1Macro, macroF1(r.confusion), 1e-12, where);
  const acc = r.confusion.reduce((a, row, c) => a + row[c], 0) / plan.test.length;
  assertAlmostEquals(r.metrics.accuracy, acc, 1e-12, where);
  assertEquals(r.metrics.f1PerClass.length, CLASSES.length);
  assertEquals(r.perSubject.map((s) => s.subject), r.testSubjects, where);
  assertEquals(r.perSubject.reduce((a, s) => a + s.n, 0), plan.test.length, where);
  // timings
  const t = r.timings;
  assert(Number.isFinite(t.fitSec) && t.fitSec > 0, `${where} fitSec ${t.fitSec}`);
  assert(Number.isFinite(t.predictSec) && t.predictSec >= 0, `${where} predictSec`);
  assert(t.totalSec >= t.fitSec, `${where} totalSec ${t.totalSec} < fitSec ${t.fitSec}`);
  if (deep) {
    const h = r.history!;
    assert(h.length >= 1 && h.length <= TRAINING.epochs, `${where} history ${h.length}`);
    assertEquals(h.map((row) => row.epoch), h.map((_, i) => i + 1));
    assert(h.every((row) => Number.isFinite(row.trainLoss)), where);
    if (plan.val.length > 0) {
      assertEquals(h.length, TRAINING.epochs, `${where}: patience = epochs, no early stop`);
      assert(h.every((row) => Number.isFinite(row.valLoss)), where);
      assert(r.bestEpoch! >= 1 && r.bestEpoch! <= h.length, `${where} bestEpoch ${r.bestEpoch}`);
    } else assertEquals(r.bestEpoch, null, where);
  } else {
    assertEquals(r.history ?? [], [], where);
    assertEquals(r.bestEpoch ?? null, null);
    const imp = Object.values(r.featureImportances!);
    assertAlmostEquals(imp.reduce((a, b) => a + b, 0), 1, 1e-6);
  }
}

const tracesOf = (rec: ToyRecipe, kind: string) =>
  rec.traces.filter((t) => t.setting.kind === kind);
const last = (t: Trace) => t.final!;

// ---------------------------------------------------------------------------
// 1. settings

Deno.test("every setting: one RunResult per fold, each trained as its setting says", async () => {
  const plans = folds({ kind: "loso", valSubjects: 1, maxFolds: 2 });
  const settings: SettingSpec[] = [
    { kind: "scratch" },
    { kind: "frozen" },
    { kind: "finetune" },
    { kind: "frozen-unfrozen", unfreezeAtFraction: 0.5 },
    { kind: "transfer", blocks: 1 },
    { kind: "rf" },
  ];
  const names = ["scratch", "frozen", "finetune", "frozen-unfrozen", "transfer-k1", "rf"];
  const rec = toyRecipe({ trace: true });
  const runs = await evaluate(rec, plans, settings);
  // setting-major, fold-minor
  assertEquals(
    runs.map((r) => `${r.setting} ${r.fold}`),
    names.flatMap((n) => plans.map((p) => `${n} ${p.name}`)),
  );
  runs.forEach((r, i) =>
    checkRun(r, plans[i % 2], settings[Math.floor(i / 2)], names[Math.floor(i / 2)])
  );

  // frozen: features computed once for the whole call (not per fold), one head per fold
  assertEquals(rec.counts.features, 1);
  assertEquals(rec.counts.head, plans.length);
  // one classifier per fold of each classifier setting, with the fold's seed
  assertEquals(rec.counts.classifier, 4 * plans.length);
  assertEquals(rec.traces.map((t) => t.seed), [0, 1, 2, 3].flatMap(() => plans.map((p) => p.seed)));
  for (const t of rec.traces) {
    assert(t.steps.length > 0 && t.final, `${t.setting.kind}: trained and disposed`);
    assertDiffer(t.steps[0], last(t), "head", `${t.setting.kind}: the head trains`);
  }
  // scratch: fresh weights, nothing from the pre-trained model
  for (const t of tracesOf(rec, "scratch")) {
    assertSame(t.steps[0], t.built, ENCODER, "scratch starts from its own init");
    assertDiffer(t.steps[0], PRE_W, ENCODER, "scratch is not the pre-trained encoder");
    assertDiffer(t.steps[0], last(t), ENCODER, "scratch trains the encoder");
  }
  const [s0, s1] = tracesOf(rec, "scratch");
  assertDiffer(s0.built, s1.built, ENCODER, "folds have their own seeds");
  // finetune: the pre-trained encoder + the fresh head, all trained
  for (const t of tracesOf(rec, "finetune")) {
    assertSame(t.steps[0], PRE_W, ENCODER, "finetune starts from the pre-trained encoder");
    assertSame(t.steps[0], t.built, "head", "finetune's head is fresh");
    assertDiffer(t.steps[1], PRE_W, ENCODER, "finetune trains the encoder from step 1");
  }
  // frozen-unfrozen starts from the pre-trained encoder, frozen at first
  for (const t of tracesOf(rec, "frozen-unfrozen")) {
    assertSame(t.steps[0], PRE_W, ENCODER, "frozen-unfrozen transfers the encoder");
    assertSame(t.steps[1], PRE_W, ENCODER, "frozen-unfrozen: frozen at step 1");
    assertDiffer(last(t), PRE_W, ENCODER, "frozen-unfrozen: unfrozen later");
  }
  // transfer-k1: block 1 pre-trained and frozen, block 2 fresh and trained
  for (const t of tracesOf(rec, "transfer")) {
    const b1 = blockPrefixes(1), b2 = ["enc_block2"];
    for (const s of [...t.steps, last(t)]) assertSame(s, PRE_W, b1, "block 1 stays pre-trained");
    assertSame(t.steps[0], t.built, b2, "block 2 is the fresh init");
    assertDiffer(t.steps[0], PRE_W, b2, "block 2 is not transferred");
    assertDiffer(last(t), t.built, b2, "block 2 trains");
  }

  // a second call computes the frozen features once more (per call), for any number of folds
  const three = folds({ kind: "loso", valSubjects: 1, maxFolds: 3 });
  const frozen = await evaluate(rec, three, [{ kind: "frozen" }]);
  assertEquals(frozen.length, 3);
  assertEquals(rec.counts.features, 2);
  frozen.forEach((r, i) => checkRun(r, three[i], { kind: "frozen" }, "frozen"));
  // the frozen setting trains only a head on features: no classifier is built
  assertEquals(rec.counts.classifier, 4 * plans.length);
});

Deno.test("scratch ignores the pre-trained model (same results with another or none)", async () => {
  const plans = folds({ kind: "loso", valSubjects: 1, maxFolds: 2 });
  const other = await pretrainedNet(200);
  const outs: RunResult[][] = [];
  for (const pretrained of [PRE, other, undefined]) {
    outs.push(await evaluate(toyRecipe(), plans, [{ kind: "scratch" }], { pretrained }));
  }
  other.dispose();
  for (const o of outs.slice(1)) {
    assertEquals(o.map((r) => r.predictions), outs[0].map((r) => r.predictions));
    assertEquals(o.map(curve), outs[0].map(curve));
  }
});

Deno.test("frozen-unfrozen: encoder frozen for exactly the first fraction of the steps", async () => {
  // no validation subjects: no early stopping and no restore-best, every step is taken
  const plans = folds({ kind: "loso", valSubjects: 0, maxFolds: 1 });
  const nTrain = plans[0].train.length;
  const T = TRAINING.epochs * Math.ceil(nTrain / TRAINING.batchSize);
  const rec = toyRecipe({ trace: true });
  const runs = await evaluate(rec, plans, [
    { kind: "frozen-unfrozen", unfreezeAtFraction: 0.5, name: "fu-0.5" },
    { kind: "frozen-unfrozen", unfreezeAtFraction: 1, name: "fu-1" },
    { kind: "frozen-unfrozen", name: "fu-default" },
  ]);
  runs.forEach((r, i) =>
    checkRun(r, plans[0], { kind: "frozen-unfrozen" }, ["fu-0.5", "fu-1", "fu-default"][i])
  );
  const [half, never, dflt] = rec.traces;
  for (const [t, frac] of [[half, 0.5], [dflt, 0.75]] as const) {
    assertEquals(t.steps.length, T, "one training forward pass per step");
    const u = Math.floor(frac * T); // fit unfreezes before step u
    // the forward pass of step s sees the weights after steps 0..s-1
    for (let s = 0; s <= u; s++) {
      assertSame(t.steps[s], PRE_W, ENCODER, `${frac}: step ${s} frozen`);
    }
    for (let s = u + 1; s < T; s++) {
      assertDiffer(t.steps[s], PRE_W, ENCODER, `${frac}: step ${s} after unfreezing`);
    }
    assertDiffer(t.steps[1], t.steps[0], "head", `${frac}: the head trains from step 0`);
  }
  // unfreezeAtFraction 1: the encoder never trains, the head does
  assertEquals(never.steps.length, T);
  for (const s of [...never.steps, last(never)]) assertSame(s, PRE_W, ENCODER, "fraction 1 frozen");
  assertDiffer(last(never), never.built, "head", "fraction 1: the head trains");
  assertDiffer(last(half), PRE_W, ENCODER, "fraction 0.5: the encoder trained in the end");
});

Deno.test("transfer: first k blocks pre-trained (frozen or not), later blocks fresh", async () => {
  const plans = folds({ kind: "loso", valSubjects: 1, maxFolds: 1 });
  const rec = toyRecipe({ trace: true });
  const settings: SettingSpec[] = [
    { kind: "transfer", blocks: 1 },
    { kind: "transfer", blocks: 1, freezeTransferred: false, name: "transfer-k1-trained" },
    { kind: "transfer", blocks: 2 },
  ];
  const runs = await evaluate(rec, plans, settings);
  assertEquals(runs.map((r) => r.setting), ["transfer-k1", "transfer-k1-trained", "transfer-k2"]);
  runs.forEach((r, i) => checkRun(r, plans[0], settings[i], r.setting));
  const [k1, k1t, k2] = rec.traces;
  const b1 = blockPrefixes(1), b2 = ["enc_block2"];
  // k = 1, frozen: block 1 = pre-trained at every step and after training
  for (const s of [...k1.steps, last(k1)]) assertSame(s, PRE_W, b1, "k1: block 1 frozen");
  assertSame(k1.steps[0], k1.built, b2, "k1: block 2 fresh");
  assertDiffer(k1.steps[0], PRE_W, b2, "k1: block 2 not transferred");
  assertDiffer(last(k1), k1.built, b2, "k1: block 2 trained");
  // k = 1, not frozen: starts pre-trained, then trains
  assertSame(k1t.steps[0], PRE_W, b1, "k1 trained: block 1 transferred");
  assertSame(k1t.steps[0], k1t.built, b2, "k1 trained: block 2 fresh");
  assertDiffer(last(k1t), PRE_W, b1, "k1 trained: block 1 trained");
  // k = 2: the whole encoder transferred and frozen; only the head trains
  for (const s of [...k2.steps, last(k2)]) assertSame(s, PRE_W, ENCODER, "k2: blocks 1-2 frozen");
  assertSame(k2.steps[0], k2.built, "head", "k2: head fresh");
  assertDiffer(last(k2), k2.built, "head", "k2: head trained");
});

Deno.test("rf: hand-crafted features + forest, seeded, no model recipe needed", async () => {
  const plans = folds({ kind: "loso", valSubjects: 1, maxFolds: 2 });
  const a = await evaluate(null, plans, [{ kind: "rf" }], {
    training: undefined,
    pretrained: undefined,
  });
  const b = await evaluate(null, plans, [{ kind: "rf" }], {
    training: undefined,
    pretrained: undefined,
  });
  a.forEach((r, i) => checkRun(r, plans[i], { kind: "rf" }, "rf"));
  assertEquals(a.map((r) => r.predictions), b.map((r) => r.predictions));
  assert(a.every((r) => Object.keys(r.featureImportances!).includes("xMean")));
  for (const r of a) assertGreater(r.metrics.f1Macro, 0.6, `rf ${r.fold} F1 ${r.metrics.f1Macro}`);
});

// ---------------------------------------------------------------------------
// 2. weighted layer sum

Deno.test("layerSum: the setting reaches the recipe, whose WeightedLayerSum trains", async () => {
  // The evaluator has no layer-sum code of its own: it hands `setting` (with
  // `layerSum`) to the recipe's classifier, which builds the weighted sum
  // (lib/models/layers.ts WeightedLayerSum over both blocks' pooled outputs).
  const plans = folds({ kind: "loso", valSubjects: 1, maxFolds: 1 });
  const rec = toyRecipe({ trace: true });
  const settings: SettingSpec[] = [
    { kind: "scratch", layerSum: true, name: "scratch-layersum" },
    { kind: "finetune", layerSum: true, name: "finetune-layersum" },
    { kind: "finetune" },
  ];
  const runs = await evaluate(rec, plans, settings);
  runs.forEach((r, i) => checkRun(r, plans[0], settings[i], r.setting));
  const [sc, ft, plain] = rec.traces;
  for (const t of [sc, ft]) {
    assertEquals(t.setting.layerSum, true);
    assertEquals(
      [...t.built.get("layer_sum/layer_weights")!],
      [0, 0],
      "softmax weights start at 0",
    );
    assertDiffer(last(t), t.built, "layer_sum", `${t.setting.name}: mixing weights train`);
  }
  assertSame(ft.steps[0], PRE_W, ENCODER, "finetune + layer sum still transfers the encoder");
  assertEquals(plain.setting.layerSum, undefined);
  assert(!plain.built.has("layer_sum/layer_weights"), "no layer sum unless asked");
});

// ---------------------------------------------------------------------------
// 3. protocols

function subjectsOf(idx: Int32Array): string[] {
  return [...new Set(Array.from(idx, (i) => W.subject[i]))].sort();
}

function assertDisjoint(parts: string[][], what: string): void {
  const seen = new Map<string, number>();
  parts.forEach((p, k) => {
    for (const s of p) {
      assert(!seen.has(s), `${what}: ${s} in parts ${seen.get(s)} and ${k}`);
      seen.set(s, k);
    }
  });
}

Deno.test("protocol loso: every subject tested once, validation from the training subjects", async () => {
  const plans = folds({ kind: "loso", valSubjects: 1 });
  assertEquals(
    plans.map((p) => p.name),
    ["s1", "s2", "s3", "s4", "s5", "s6"].map((s) => `loso/${s}`),
  );
  const runs = await evaluate(null, plans, [{ kind: "rf" }], { training: undefined });
  runs.forEach((r, i) => checkRun(r, plans[i], { kind: "rf" }, "rf"));
  assertEquals(runs.flatMap((r) => r.testSubjects).sort(), ["s1", "s2", "s3", "s4", "s5", "s6"]);
  for (const p of plans) {
    assertEquals(p.valSubjects.length, 1);
    assertDisjoint([p.trainSubjects, p.valSubjects, p.testSubjects], p.name);
    assertEquals(p.train.length + p.val.length + p.test.length, W.n);
  }
});

Deno.test("protocol subject k-fold: train/val/test subjects disjoint in every fold and run", async () => {
  const plans = folds({ kind: "subject-kfold", k: 3, valSubjects: 1 });
  assertEquals(plans.map((p) => p.name), ["kfold3/0", "kfold3/1", "kfold3/2"]);
  const rec = toyRecipe();
  const runs = await evaluate(rec, plans, [{ kind: "scratch" }]);
  runs.forEach((r, i) => {
    const p = plans[i];
    checkRun(r, p, { kind: "scratch" }, "scratch");
    // from the plan's window indices, not only its subject lists
    const parts = [subjectsOf(p.train), subjectsOf(p.val), subjectsOf(p.test)];
    assertEquals(parts, [p.trainSubjects, p.valSubjects, p.testSubjects]);
    assertDisjoint(parts, p.name);
    assertDisjoint([r.trainSubjects, r.valSubjects, r.testSubjects], r.fold);
    assertEquals(p.testSubjects.length, 2);
    assertEquals(p.valSubjects.length, 1);
  });
  // every subject is tested exactly once
  assertEquals(runs.flatMap((r) => r.testSubjects).sort(), ["s1", "s2", "s3", "s4", "s5", "s6"]);
});

Deno.test("protocol fixed subject partition: by fractions and by explicit lists", async () => {
  const byFrac = folds({
    kind: "subject-partition",
    fractions: { train: 0.5, val: 0.17, test: 0.33 },
  });
  assertEquals(byFrac.map((p) => p.name), ["partition50-17-33/0"]);
  const p = byFrac[0];
  // equal windows per subject: 3 / 1 / 2 subjects
  assertEquals([p.trainSubjects.length, p.valSubjects.length, p.testSubjects.length], [3, 1, 2]);
  assertDisjoint([p.trainSubjects, p.valSubjects, p.testSubjects], p.name);
  const lists = folds({
    kind: "subject-partition",
    subjects: { train: ["s1", "s2", "s3"], val: ["s4"], test: ["s5", "s6"] },
    name: "fixed",
  });
  // one protocol per evaluate call (RunResult.protocol is the call's)
  const runs = [
    ...await evaluate(toyRecipe(), byFrac, [{ kind: "scratch" }]),
    ...await evaluate(toyRecipe(), lists, [{ kind: "scratch" }]),
  ];
  assertEquals(runs.map((r) => r.protocol), ["partition50-17-33", "fixed"]);
  checkRun(runs[0], p, { kind: "scratch" }, "scratch");
  checkRun(runs[1], lists[0], { kind: "scratch" }, "scratch");
  assertEquals(runs[1].fold, "fixed/0");
  assertEquals(runs[1].testSubjects, ["s5", "s6"]);
  assertEquals(runs[1].valSubjects, ["s4"]);
  assertEquals(runs[1].trainSubjects, ["s1", "s2", "s3"]);
});

Deno.test("protocol by trial: trials disjoint across train/val/test, windows follow", async () => {
  const plans = folds({ kind: "by-trial", k: 3 });
  assertEquals(plans.length, 3);
  const key = (i: number) => `${W.subject[i]}/${W.source![i]}`; // sources repeat across subjects
  const tested: string[] = [];
  for (const p of plans) {
    assertDisjoint([p.trainTrials!, p.valTrials!, p.testTrials!], p.name);
    assertEquals(p.trainTrials!.length + p.valTrials!.length + p.testTrials!.length, 12);
    assertEquals([...new Set(Array.from(p.test, key))].sort(), p.testTrials);
    assertEquals([...new Set(Array.from(p.val, key))].sort(), p.valTrials);
    assertEquals([...new Set(Array.from(p.train, key))].sort(), p.trainTrials);
    tested.push(...p.testTrials!);
  }
  assertEquals(tested.sort(), [...new Set(Array.from({ length: W.n }, (_, i) => key(i)))].sort());
  const runs = await evaluate(toyRecipe(), plans, [{ kind: "rf" }, { kind: "scratch" }]);
  runs.forEach((r, i) =>
    checkRun(r, plans[i % 3], r.setting === "rf" ? { kind: "rf" } : { kind: "scratch" }, r.setting)
  );
});

Deno.test("label budgets: k windows per class and n labelled subjects reach training", async () => {
  const perClass = folds({ kind: "loso", valSubjects: 1, labelsPerClass: 2, maxFolds: 2 });
  const nSubj = folds({ kind: "loso", valSubjects: 1, labelledSubjects: 2, maxFolds: 2 });
  assertEquals(perClass[0].name, "loso+2perclass/s1");
  assertEquals(nSubj[0].name, "loso+2subjects/s1");
  for (const p of perClass) {
    const counts = CLASSES.map((_, c) => Array.from(p.train).filter((i) => W.y[i] === c).length);
    assertEquals(counts, [2, 2, 2], p.name);
    assert(Array.from(p.train).every((i) => p.trainPool.includes(i)), "budget cut from the pool");
    assertEquals(p.trainPool.length, 4 * 30);
  }
  for (const p of nSubj) {
    assertEquals(p.trainSubjects.length, 2);
    assertEquals(p.train.length, 2 * 30);
    assertDisjoint([p.trainSubjects, p.valSubjects, p.testSubjects], p.name);
  }
  const rec = toyRecipe({ trace: true });
  const runs = [
    ...await evaluate(rec, perClass, [{ kind: "scratch" }]),
    ...await evaluate(rec, nSubj, [{ kind: "scratch" }]),
  ];
  runs.forEach((r, i) => checkRun(r, [...perClass, ...nSubj][i], { kind: "scratch" }, "scratch"));
  assertEquals(runs.map((r) => r.nTrain), [6, 6, 60, 60]);
  // 6 windows: one step per epoch; 60 windows: two
  assertEquals(rec.traces.map((t) => t.steps.length), [4, 4, 8, 8]);
});

Deno.test("repeated seeds: distinct folds, repeat/seed in every RunResult, reproducible", async () => {
  const plans = folds({ kind: "loso", valSubjects: 1, repeats: 2, maxFolds: 2 });
  assertEquals(plans.map((p) => p.name), ["loso/s1/r0", "loso/s2/r0", "loso/s1/r1", "loso/s2/r1"]);
  assertEquals(plans.map((p) => p.seed), [3000, 3001, 4000, 4001]);
  assertEquals(plans.map((p) => p.repeat), [0, 0, 1, 1]);
  assertEquals(plans.map((p) => p.testSubjects), [["s1"], ["s2"], ["s1"], ["s2"]]);
  // makeFolds is deterministic in its seed, and the seed matters
  assertEquals(folds({ kind: "loso", valSubjects: 1, repeats: 2, maxFolds: 2 }), plans);
  const other = makeFolds({ kind: "loso", valSubjects: 1, repeats: 2, maxFolds: 2 }, W, 11);
  assertNotEquals(other.map((p) => p.seed), plans.map((p) => p.seed));

  const rec = toyRecipe({ trace: true });
  const a = await evaluate(rec, plans, [{ kind: "scratch" }]);
  a.forEach((r, i) => checkRun(r, plans[i], { kind: "scratch" }, "scratch"));
  assertEquals(
    a.map((r) => [r.fold, r.repeat, r.seed]),
    plans.map((p) => [p.name, p.repeat, p.seed]),
  );
  // repeats of one test subject start from different weights
  assertDiffer(rec.traces[0].built, rec.traces[2].built, ENCODER, "r0 vs r1 init");
  // the same seed gives the same results
  const b = await evaluate(toyRecipe(), plans, [{ kind: "scratch" }]);
  assertEquals(b.map((r) => r.predictions), a.map((r) => r.predictions));
  assertEquals(b.map(curve), a.map(curve));
  assertEquals(b.map((r) => r.metrics), a.map((r) => r.metrics));
});

// ---------------------------------------------------------------------------
// 4. pieces and resume

Deno.test("pieces: keys <benchmark>/<setting>/<fold>, a second call is served from the cache", async () => {
  const plans = folds({ kind: "loso", valSubjects: 1, repeats: 2, maxFolds: 1 });
  const settings: SettingSpec[] = [
    { kind: "scratch" },
    { kind: "frozen" },
    { kind: "finetune", name: "ft" },
    { kind: "transfer", blocks: 2 },
    { kind: "rf" },
  ];
  const cache = new Map<string, RunResult>();
  const keys: string[] = [];
  const piece = async (key: string, compute: () => Promise<RunResult>) => {
    keys.push(key);
    if (!cache.has(key)) cache.set(key, await compute());
    return cache.get(key)!;
  };
  const rec = toyRecipe();
  const first = await evaluate(rec, plans, settings, { piece });
  const expected = ["scratch", "frozen", "ft", "transfer-k2", "rf"]
    .flatMap((s) => ["loso-s1-r0", "loso-s1-r1"].map((f) => `toy/${s}/${f}`));
  assertEquals(keys, expected);
  assertEquals(
    first.map((r) => r.setting),
    ["scratch", "frozen", "ft", "transfer-k2", "rf"].flatMap((s) => [s, s]),
  );
  const counts = { ...rec.counts };
  assertEquals(counts, { classifier: 6, features: 1, head: 2 });

  const second = await evaluate(rec, plans, settings, { piece });
  assertEquals(rec.counts, counts, "nothing trained, no features computed");
  assertEquals(keys.slice(expected.length), expected);
  assertEquals(second.length, first.length);
  second.forEach((r, i) => assert(r === first[i], `cached result ${i} returned as is`));
});

Deno.test("resume through the scaffold: a second run reads every fold back", async () => {
  const tmp = await tempDir();
  try {
    const plans = folds({ kind: "loso", valSubjects: 1, maxFolds: 2 });
    const rec = toyRecipe();
    const run = (resume: boolean) =>
      runExperiment(
        {
          name: "evaluator-test",
          spec: { v: 1 },
          outDir: tmp.path,
          resume,
          logFile: null,
          log: () => {},
          cacheDir: null,
        },
        (exp) =>
          evaluate(rec, plans, [{ kind: "scratch" }, { kind: "frozen" }, { kind: "rf" }], {
            piece: (key, f) => exp.piece(`folds/${key}`, f),
          }),
      );
    const a = await run(false);
    const counts = { ...rec.counts };
    assertEquals(counts.classifier, 2);
    const b = await run(true);
    assertEquals(rec.counts, counts, "resumed: nothing recomputed");
    assertEquals(b, a);
    for (const s of ["scratch", "frozen", "rf"]) {
      for (const f of ["loso-s1", "loso-s2"]) {
        const back = JSON.parse(await Deno.readTextFile(`${tmp.path}/folds/toy/${s}/${f}.json`));
        assertEquals(back.setting, s);
      }
    }
  } finally {
    await tmp.cleanup();
  }
});

// ---------------------------------------------------------------------------
// 5. the numbers

Deno.test("scores: scratch clearly above chance; summary mean ± sd and pooled by hand", async () => {
  const plans = folds({ kind: "subject-kfold", k: 3, valSubjects: 1 });
  const runs = await evaluate(toyRecipe(), plans, [{ kind: "scratch" }, { kind: "rf" }], {
    training: { ...TRAINING, epochs: 6, patience: 6 },
  });
  const scratch = runs.filter((r) => r.setting === "scratch");
  for (const r of scratch) {
    assertGreater(r.metrics.f1Macro, 0.6, `${r.fold} F1 ${r.metrics.f1Macro}`);
  }
  const meanF1 = scratch.reduce((a, r) => a + r.metrics.f1Macro, 0) / scratch.length;
  assertGreater(meanF1, 0.8, `scratch mean F1 ${meanF1} (chance ≈ 0.33)`);

  const table = summarizeRuns(runs, { bootstrap: false });
  const rows = table.objects() as Record<string, number | string>[];
  assertEquals(rows.map((r) => r.setting), ["scratch", "rf"]);
  for (const row of rows) {
    const g = runs.filter((r) => r.setting === row.setting);
    assertEquals(row.benchmark, "toy");
    assertEquals(row.folds, 3);
    assertEquals(row.subjects, 6);
    assertEquals(row.n, 6, "over subjects: one unit per test subject");
    // mean ± sd (ddof 1) over the per-subject F1s, each recomputed from the predictions
    const per = ["s1", "s2", "s3", "s4", "s5", "s6"].map((s) => {
      const r = g.find((r) => r.testSubjects.includes(s))!;
      const p = r.predictions!;
      const t = p.yTrue.filter((_, i) => p.subject[i] === s);
      const q = p.yPred.filter((_, i) => p.subject[i] === s);
      const f1 = macroF1(confusionOf(t, q));
      assertAlmostEquals(r.perSubject.find((x) => x.subject === s)!.f1Macro, f1, 1e-12);
      return f1;
    });
    const mean = per.reduce((a, b) => a + b, 0) / per.length;
    const sd = Math.sqrt(per.reduce((a, b) => a + (b - mean) ** 2, 0) / (per.length - 1));
    assertAlmostEquals(row.f1Macro_mean as number, mean, 1e-12);
    assertAlmostEquals(row.f1Macro_sd as number, sd, 1e-12);
    assertEquals(row.f1Macro, `${mean.toFixed(3)} ± ${sd.toFixed(3)}`);
    // pooled: macro F1 of all test windows = of the summed confusion matrices
    const pooled = g.reduce(
      (cm, r) => cm.map((row, i) => row.map((v, j) => v + r.confusion[i][j])),
      CLASSES.map(() => CLASSES.map(() => 0)),
    );
    assertAlmostEquals(row.f1Macro_pooled as number, macroF1(pooled), 1e-12);
    assertEquals(row.f1Macro_ci, macroF1(pooled).toFixed(3));
  }
  // over folds: mean of the fold scores
  const byFold = summarizeRuns(runs, { over: "fold", bootstrap: false }).objects()[0] as Record<
    string,
    number
  >;
  assertEquals(byFold.n, 3);
  assertAlmostEquals(byFold.f1Macro_mean, meanF1, 1e-12);
  // the markdown shows the same numbers, one row per setting
  const md = summaryMarkdown(table);
  const lines = md.trim().split("\n");
  assertEquals(lines.length, 4);
  assertStringIncludes(
    lines[0],
    "| benchmark | setting | folds | test subjects | n (scores averaged) | F1 macro | pooled F1 [95 % CI] |",
  );
  for (const [i, row] of rows.entries()) {
    assertStringIncludes(
      lines[2 + i],
      `| toy | ${row.setting} | 3 | 6 | 6 | ${row.f1Macro} | ${row.f1Macro_ci} |`,
    );
  }
  // with the bootstrap: an interval around the same pooled score
  const boot = summarizeRuns(runs, { bootstrap: { replicates: 200, seed: 1 } }).objects() as Record<
    string,
    number
  >[];
  for (const [i, row] of boot.entries()) {
    assertAlmostEquals(row.f1Macro_pooled, rows[i].f1Macro_pooled as number, 1e-12);
    assert(row.f1Macro_low <= row.f1Macro_pooled && row.f1Macro_pooled <= row.f1Macro_high);
  }
});

// ---------------------------------------------------------------------------
// 6. bad configurations

Deno.test("bad config: ConfigError naming the problem, before anything trains", async () => {
  const plans = folds({ kind: "loso", valSubjects: 1, maxFolds: 1 });
  const without = (k: keyof DownstreamModel): ToyRecipe => {
    const r = toyRecipe();
    delete r.model[k];
    return r;
  };
  const cases: [string, ToyRecipe | null, SettingSpec, Partial<EvaluateArgs>, string][] = [
    ["frozen without features()", without("features"), { kind: "frozen" }, {}, "features()"],
    [
      "transfer without blockWeights()",
      without("blockWeights"),
      { kind: "transfer", blocks: 1 },
      {},
      "blockWeights()",
    ],
    ["transfer without blocks", toyRecipe(), { kind: "transfer" }, {}, "blocks >= 1"],
    ["transfer with 0 blocks", toyRecipe(), { kind: "transfer", blocks: 0 }, {}, "blocks >= 1"],
    [
      "finetune without pretrained",
      toyRecipe(),
      { kind: "finetune" },
      { pretrained: undefined },
      "pre-trained model",
    ],
    [
      "frozen without pretrained",
      toyRecipe(),
      { kind: "frozen" },
      { pretrained: undefined },
      "pre-trained model",
    ],
    ["transfer without pretrained", toyRecipe(), { kind: "transfer", blocks: 1 }, {
      pretrained: undefined,
    }, "pre-trained model"],
    ["frozen-unfrozen without pretrained", toyRecipe(), { kind: "frozen-unfrozen" }, {
      pretrained: undefined,
    }, "pre-trained model"],
    [
      "scratch without training",
      toyRecipe(),
      { kind: "scratch" },
      { training: undefined },
      "training args",
    ],
    ["scratch without a recipe", null, { kind: "scratch" }, {}, "model recipe"],
  ];
  for (const [what, rec, bad, extra, msg] of cases) {
    // a valid setting first: every setting is checked before anything trains
    const err = await assertRejects(
      () => evaluate(rec, plans, [{ kind: "scratch" }, bad], extra),
      ConfigError,
      msg,
    );
    if (rec) assertEquals(rec.counts.classifier + rec.counts.features, 0, `${what}: nothing ran`);
    assert(err.message.length > msg.length, `${what}: ${err.message}`);
  }
  // a wrong encoder prefix: nothing to transfer
  const wrong = toyRecipe();
  wrong.model.encoderWeights = "encoder";
  await assertRejects(
    () => evaluate(wrong, plans, [{ kind: "finetune" }]),
    ConfigError,
    "matched no weight",
  );
  // an impossible unfreeze fraction, from fit
  await assertRejects(
    () => evaluate(toyRecipe(), plans, [{ kind: "frozen-unfrozen", unfreezeAtFraction: 1.5 }]),
    ConfigError,
    "unfreezeAtFraction",
  );
});

// ---------------------------------------------------------------------------
// regressions (once known bugs)

Deno.test({
  name: "an unknown setting kind is a ConfigError, before anything trains",
  fn: async () => {
    const plans = folds({ kind: "loso", valSubjects: 1, maxFolds: 1 });
    const rec = toyRecipe();
    await assertRejects(
      () => evaluate(rec, plans, [{ kind: "fine-tune" as SettingSpec["kind"] }]),
      ConfigError,
      "fine-tune",
    );
    assertEquals(rec.counts.classifier, 0);
  },
});

Deno.test({
  name: "two settings with one default name do not share a piece (layerSum)",
  fn: async () => {
    const plans = folds({ kind: "loso", valSubjects: 1, maxFolds: 1 });
    const cache = new Map<string, RunResult>();
    const piece = async (key: string, compute: () => Promise<RunResult>) => {
      if (!cache.has(key)) cache.set(key, await compute());
      return cache.get(key)!;
    };
    const rec = toyRecipe({ trace: true });
    const runs = await evaluate(
      rec,
      plans,
      [{ kind: "finetune" }, { kind: "finetune", layerSum: true }],
      { piece },
    );
    assertEquals(rec.traces.length, 2, "both settings trained");
    assertEquals(runs.map((r) => r.setting), ["finetune", "finetune-layersum"]);
    assertEquals(cache.size, 2, "one piece each");
    // the same name given twice is refused before anything trains
    const again = toyRecipe();
    await assertRejects(
      () =>
        evaluate(again, plans, [{ kind: "scratch", name: "a" }, { kind: "finetune", name: "a" }]),
      ConfigError,
      '"a"',
    );
    assertEquals(again.counts.classifier, 0);
  },
});

Deno.test({
  name: "an undefined kappa (NaN) survives a JSON piece cache",
  fn: async () => {
    // a test set of one class that the forest predicts perfectly: kappa 0/0
    const idx = (f: (i: number) => boolean) => Int32Array.from([...Array(W.n).keys()].filter(f));
    const fold: NamedFold = {
      name: "one-class",
      train: idx((i) => W.subject[i] !== "s6"),
      val: new Int32Array(0),
      test: idx((i) => W.subject[i] === "s6" && W.y[i] === 0),
      trainSubjects: ["s1", "s2", "s3", "s4", "s5"],
      valSubjects: [],
      testSubjects: ["s6"],
    };
    const [probe] = await evaluate(null, [fold], [{ kind: "rf" }]);
    fold.test = Int32Array.from(fold.test.filter((_, j) => probe.predictions!.yPred[j] === 0));
    const [fresh] = await evaluate(null, [fold], [{ kind: "rf" }]);
    assert(Number.isNaN(fresh.metrics.kappa), `kappa ${fresh.metrics.kappa}`);
    // what Experiment.piece does: the value comes back from its JSON file
    const [cached] = await evaluate(null, [fold], [{ kind: "rf" }], {
      piece: async (_k, f) => JSON.parse(runResultToJson(await f())),
    });
    assert(Number.isNaN(cached.metrics.kappa), `cached kappa ${cached.metrics.kappa}`);
  },
});
