import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { join } from "node:path";
import { initBackend } from "../../lib/backend/mod.ts";
import {
  buildYuanModel,
  checkExpectations,
  embedUmap,
  encoderFeatures,
  knnAccuracy,
  loadPretrainWindows,
  loadTorchPretrained,
  poolFraction,
  readJson,
  runYuan,
  splitPool,
  stdDrawn,
  stillFraction,
  yuanProtocol,
  yuanRecipe,
  type YuanRow,
  yuanSpec,
  yuanWindows,
} from "../../lib/experiments/yuan/mod.ts";
import { evaluateDownstream, featureStats } from "../../lib/experiments/evaluator.ts";
import { CheckpointError, ConfigError } from "../../lib/errors.ts";
import { readCheckpoint, writeCheckpoint } from "../../lib/train/checkpoint.ts";
import { exportStateDict, saveTorchStateDict } from "../../lib/models/mod.ts";
import type { Windows } from "../../lib/data/types.ts";
import { exists } from "../../lib/data/paths.ts";
import { rng } from "../../lib/random.ts";
import { leaveOneSubjectOut, makeFolds } from "../../lib/data/splits.ts";
import { multitaskLoss, multitaskSource } from "../../lib/pretext/multitask_source.ts";
import { fit, type FitArgs } from "../../lib/train/loop.ts";
import { transferWeights } from "../../lib/train/freeze.ts";
import { loadWeights, saveWeights } from "../../lib/train/save.ts";
import { haveJupyter, sharedData, tempDir } from "../_helpers.ts";
import { runAndCheckNotebook } from "../notebooks/_check.ts";
import { PROJECT_ROOT } from "../../tools/notebook_runner.ts";

await initBackend({ verbose: false });

Deno.test("yuanSpec: scales, overrides merged one level deep, bad values named", () => {
  const s = yuanSpec("smoke", { seed: 7, downstream: { epochs: 3 } });
  assertEquals(s.seed, 7);
  assertEquals(s.downstream.epochs, 3);
  assertEquals(s.downstream.patience, 5); // untouched sibling kept
  assertEquals(yuanSpec("paper").model.variant, "harnet10");
  assertEquals(yuanSpec("paper").model.hiddenUnits, 512);
  assertThrows(
    () => yuanSpec("smoke", { pretrain: { fraction: 0 } }),
    ConfigError,
    "pretrain.fraction",
  );
  assertThrows(() => yuanSpec("huge" as "smoke"), ConfigError, "unknown");
  assertThrows(
    () => yuanSpec("smoke", { pretrain: { sources: ["uk-biobank" as "daphnet"] } }),
    ConfigError,
    "uk-biobank",
  );
});

function synthWindows(n: number, seed: number, classes = 2): Windows {
  const r = rng(seed);
  const x = new Float32Array(n * 3 * 300);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % classes;
    const f = 0.5 + 1.5 * y[i];
    for (let c = 0; c < 3; c++) {
      for (let t = 0; t < 300; t++) {
        x[(i * 3 + c) * 300 + t] = Math.sin((2 * Math.PI * f * t) / 30 + c) * (0.3 + y[i]) +
          0.05 * r.normal();
      }
    }
  }
  return {
    x,
    n,
    channels: 3,
    length: 300,
    y,
    classes: Array.from({ length: classes }, (_, i) => `c${i}`),
    subject: Array.from({ length: n }, (_, i) => `s${Math.floor((i * 4) / n)}`),
    rateHz: 30,
  };
}

Deno.test("pre-training pool: real sources, 30 Hz 10 s windows, cache round trip, nested fractions", async () => {
  if (!sharedData("hmp-adl") || !sharedData("daphnet-fog")) return;
  const tmp = await tempDir();
  try {
    const opts = {
      sources: ["hmp-adl", "daphnet"] as ("hmp-adl" | "daphnet")[],
      maxWindowsPerSource: 40,
      seed: 3,
      cacheDir: tmp.path,
    };
    const a = await loadPretrainWindows(opts);
    assertEquals(a.fromCache, false);
    assertEquals(a.windows.n, 80);
    assertEquals([a.windows.channels, a.windows.length, a.windows.rateHz], [3, 300, 30]);
    assertEquals(a.perSource["daphnet"].windows, 40);
    // each Daphnet run gives three placements as separate streams
    assertEquals(a.perSource["daphnet"].recordings % 3, 0);
    assert(a.windows.subject.every((s) => s.startsWith("hmp-adl:") || s.startsWith("daphnet:")));
    assert(a.windows.x.every(Number.isFinite));
    const b = await loadPretrainWindows(opts);
    assertEquals(b.fromCache, true);
    assertEquals(b.windows.x, a.windows.x);
    assertEquals(b.windows.subject, a.windows.subject);
    const tenth = poolFraction(a.windows, 0.25, 1), half = poolFraction(a.windows, 0.5, 1);
    assertEquals([tenth.n, half.n], [20, 40]);
    const key = (w: Windows, i: number) => w.x.subarray(i * 900, i * 900 + 5).join();
    const halfKeys = new Set(Array.from({ length: half.n }, (_, i) => key(half, i)));
    for (let i = 0; i < tenth.n; i++) assert(halfKeys.has(key(tenth, i)), "fractions are nested");
    const { train, val } = splitPool(a.windows, 10, 2);
    assertEquals([train.n, val.n], [70, 10]);
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("std-drawn held-out windows: ∝ std without replacement, far fewer still windows", () => {
  // 200 windows: the first half still (std ≈ 0.005 g), the second moving
  const n = 200, len = 300, r = rng(3);
  const x = new Float32Array(n * 3 * len);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      for (let t = 0; t < len; t++) {
        x[(i * 3 + c) * len + t] = (c === 2 ? 1 : 0) +
          (i < n / 2 ? 0.005 * r.normal() : 0.4 * Math.sin(t / 4 + c) + 0.1 * r.normal());
      }
    }
  }
  const w: Windows = {
    x,
    n,
    channels: 3,
    length: len,
    y: new Int32Array(n),
    classes: ["none"],
    subject: Array.from({ length: n }, (_, i) => `s${i % 5}`),
    rateHz: 30,
  };
  assertAlmostEquals(stillFraction(w), 0.5, 1e-9);
  const d = stdDrawn(w, 50, 7)!;
  assertEquals(d.n, 50);
  // distinct windows (no replacement), in index order: check through their first samples
  const firsts = Array.from({ length: d.n }, (_, i) => d.x[i * 3 * len]);
  assertEquals(new Set(firsts).size, 50);
  // a moving window is ~80x more likely than a still one: (nearly) no still windows drawn
  assert(stillFraction(d) < 0.1, `still fraction of the std-drawn set ${stillFraction(d)}`);
  assertEquals(stdDrawn(w, 50, 7)!.x, d.x, "seeded");
  assertEquals(stdDrawn(w, 0, 7), null);
  assertEquals(stdDrawn(w, 500, 7)!.n, n, "at most every window once");
});

Deno.test("multi-task pre-training through fit: per-task accuracy, exact resume after a kill", async () => {
  const spec = yuanSpec("smoke");
  const w = synthWindows(48, 1);
  const val = synthWindows(16, 2);
  const tmp = await tempDir();
  try {
    const source = () => multitaskSource(w, { windowsPerEpoch: 32, batchSize: 16, seed: 5 });
    const args: FitArgs = {
      epochs: 2,
      optimizer: { name: "adam", lr: 1e-3 },
      loss: multitaskLoss(),
      validation: multitaskSource(val, { seed: 5, evaluation: true }),
      seed: 5,
      progress: false,
    };
    const full = buildYuanModel(spec, "mtl");
    const r = await fit(full, source(), args);
    assertEquals(r.rows.length, 2);
    assertEquals(r.steps, 4);
    const tasks = ["aot", "scale", "permute", "time_w"];
    for (const h of r.rows) {
      assert(Number.isFinite(h.trainLoss) && Number.isFinite(h.valLoss));
      for (const t of tasks) {
        assert(h[`val/${t}/acc`] >= 0 && h[`val/${t}/acc`] <= 1, t);
        assert(h[`train/${t}/acc`] >= 0 && h[`train/${t}/acc`] <= 1, t);
      }
      // the loss is the mean of the four heads' cross-entropies
      const heads = tasks.map((t) => h[`val/${t}/loss`]);
      assertAlmostEquals(h.valLoss, heads.reduce((a, b) => a + b, 0) / 4, 1e-5);
    }
    // killed after step 3 (checkpoint every step), then resumed: same weights
    const ck = join(tmp.path, "ck");
    const a = buildYuanModel(spec, "mtl");
    await assertRejects(() =>
      fit(a, source(), {
        ...args,
        checkpointDir: ck,
        checkpointEverySteps: 1,
        onStep: ({ step }) => {
          if (step === 3) throw new Error("killed");
        },
      })
    );
    const b = buildYuanModel(spec, "mtl");
    const rb = await fit(b, source(), { ...args, checkpointDir: ck });
    assertEquals(rb.resumedFromStep, 2);
    const wf = full.getWeights().map((t) => t.dataSync());
    const wb = b.getWeights().map((t) => t.dataSync());
    wf.forEach((v, i) => assertEquals(wb[i], v));
    assertEquals(rb.rows.map((x) => x.valLoss), r.rows.map((x) => x.valLoss));
    // weights file round trip
    const path = join(tmp.path, "mtl.bin");
    await saveWeights(b, path);
    const c = buildYuanModel(spec, "mtl", { seed: 99 });
    await loadWeights(c, path);
    c.getWeights().forEach((t, i) => assertEquals(t.dataSync(), wb[i]));
    // the encoder moves into a classifier
    const clf = buildYuanModel(spec, "eva", { numClasses: 3, seed: 11 });
    const copied = transferWeights(b, clf, { select: "feature_extractor", strict: false });
    assert(copied.length > 5);
    assertEquals(encoderFeatures(clf, val).x, encoderFeatures(b, val).x);
    [full, a, b, c, clf].forEach((m) => m.dispose());
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("checkExpectations: ±0.05 band, fine-tuned ≥ frozen, fine-tuned > scratch", () => {
  const row = (setting: YuanRow["setting"], f1: number, published: number): YuanRow => ({
    dataset: "adl",
    protocol: "loso",
    setting,
    folds: 7,
    subjects: 7,
    f1Mean: f1,
    f1Sd: 0,
    kappaMean: 0,
    kappaSd: 0,
    f1FoldMean: f1,
    published,
    delta: f1 - published,
  });
  const e = checkExpectations([
    row("rf", 0.80, 0.764),
    row("scratch", 0.30, 0.414),
    row("frozen", 0.6, 0.645),
    row("finetune", 0.55, 0.829),
  ]);
  const get = (n: string) => e.find((x) => x.name === n)!.pass;
  assertEquals(get("rf within ±0.05 of published (adl)"), true);
  assertEquals(get("scratch within ±0.05 of published (adl)"), false);
  assertEquals(get("fine-tuned ≥ frozen (adl)"), false);
  assertEquals(get("SSL fine-tuned > scratch (adl)"), true);
  assertEquals(get("rf within ±0.05 of published (wisdm)"), null);
});

Deno.test("UMAP is seeded; k-NN accuracy separates separable from shuffled labels", () => {
  const w = synthWindows(40, 4);
  const a = embedUmap(w.x, 900, { seed: 1, nNeighbors: 5, nEpochs: 50 });
  const b = embedUmap(w.x, 900, { seed: 1, nNeighbors: 5, nEpochs: 50 });
  assertEquals(a.length, 40);
  assertEquals(a, b);
  assertEquals(knnAccuracy(w.x, 900, w.y, 3), 1);
  const shuffled = rng(0).shuffle(Array.from(w.y));
  assert(knnAccuracy(w.x, 900, shuffled, 3) < 0.8);
});

Deno.test("ADL downstream: the adl5 benchmark, LOSO folds, one scratch fold through the evaluator", async () => {
  if (!sharedData("hmp-adl")) return;
  const spec = yuanSpec("smoke");
  const w = await yuanWindows(spec, "adl");
  assertEquals(new Set(w.subject).size, 4);
  assertEquals(w.classes.length, 5);
  const folds = makeFolds(yuanProtocol(spec, "adl"), w, spec.seed);
  assertEquals(folds.length, 2);
  assertEquals(folds[0].testSubjects, ["f1"]);
  assertEquals(folds[0].valSubjects, ["f2"]); // ssl-wearables: first remaining subject
  const [o] = await evaluateDownstream({
    benchmark: "adl5",
    protocol: "loso",
    windows: w,
    folds: folds.slice(0, 1),
    settings: [{ kind: "scratch" }],
    model: yuanRecipe(spec),
    training: { ...spec.downstream, workers: 0 },
    seed: spec.seed,
  });
  assertEquals(o.nTrain, spec.downstream.maxTrainWindows);
  assertEquals(o.predictions!.yTrue.length, folds[0].test.length);
  assert(o.metrics.f1Macro >= 0 && o.metrics.f1Macro <= 1);
  assertEquals(o.perSubject.map((p) => p.subject), ["f1"]);
  assertEquals(o.history!.length, spec.downstream.epochs);
});

Deno.test("runYuan smoke end to end: every stage writes results; --resume recomputes nothing", async () => {
  if (!sharedData("hmp-adl") || !sharedData("wisdm-2019") || !sharedData("daphnet-fog")) return;
  const tmp = await tempDir();
  try {
    const spec = yuanSpec("smoke");
    const logs: string[] = [];
    const cacheDir = join(tmp.path, "cache");
    const r = await runYuan(spec, { outDir: tmp.path, cacheDir, log: (m) => logs.push(m) });
    // 2 datasets × 4 settings × 2 folds
    assertEquals(r.outcomes.length, 16);
    assertEquals(r.ablations.filter((a) => a.ablation === "subjects").length, 4);
    assertEquals(r.ablations.filter((a) => a.ablation === "fractions").length, 4);
    assertEquals(r.umap.map((u) => Object.keys(u.embeddings).sort()), [
      ["random", "raw", "ssl"],
      ["random", "raw", "ssl"],
    ]);
    assertEquals(r.umap[0].embeddings.raw.length, spec.umap.maxWindows);
    const summary = await readJson<YuanRow[]>(join(tmp.path, "summary.json"));
    assertEquals(summary!.length, 8);
    // held-out accuracy per task on uniform and on std-drawn windows, every epoch
    for (const h of r.pretrainHistory) {
      for (const t of ["aot", "scale", "permute", "time_w"]) {
        for (const k of [`val/${t}/acc`, `valstd/${t}/acc`]) {
          assert(h[k] >= 0 && h[k] <= 1, `${k} = ${h[k]}`);
        }
      }
      assert(Number.isFinite(h["valstd/loss"]));
    }
    const data = await readJson<{ pool: Record<string, unknown> }>(join(tmp.path, "data.json"));
    assertEquals(data!.pool.valStd, spec.pretrain.valStdWindows);
    const still = data!.pool.stillFraction as { val: number; valStd: number };
    assert(still.valStd <= still.val, JSON.stringify(still));
    const md = await Deno.readTextFile(join(tmp.path, "summary.md"));
    assert(md.includes("0.829") && md.includes("Expectations"));
    // resume on a new machine (the git-ignored checkpoints gone): everything
    // read back, identical numbers, no training; every pre-training's weights
    // (the amount ablation's too) live in weights/, which is committed
    await Deno.remove(join(tmp.path, "checkpoints"), { recursive: true });
    assert(exists(join(tmp.path, "weights", "mtl-f50.bin")));
    const logs2: string[] = [];
    const r2 = await runYuan(spec, {
      outDir: tmp.path,
      cacheDir,
      resume: true,
      log: (m) => logs2.push(m),
    });
    assertEquals(
      r2.outcomes.map((o) => o.metrics.f1Macro),
      r.outcomes.map((o) => o.metrics.f1Macro),
    );
    assert(logs.some((l) => l.includes("pretrain mtl epoch")));
    assert(!logs2.some((l) => l.includes("pretrain mtl epoch")), logs2.join("\n"));
    const run = JSON.parse(await Deno.readTextFile(join(tmp.path, "run.json")));
    assertEquals(run.status, "done");
    // the notebook reads this run (the suite runs the pipeline once)
    if (await haveJupyter()) {
      const nb = join(PROJECT_ROOT, "notebooks", "01_multitask_resnet.ipynb");
      await runAndCheckNotebook(nb, join(tmp.path, "01.ipynb"), join(tmp.path, "figures"), {
        env: { HAR_YUAN_OUT: tmp.path },
      });
    }
    // a different spec must not resume into these results
    await assertRejectsConfig(() =>
      runYuan(yuanSpec("smoke", { seed: 1 }), {
        outDir: tmp.path,
        cacheDir,
        resume: true,
        log: () => {},
      })
    );
    // all-NaN pre-trained weights: --resume fails naming the file and the weight,
    // and summary.md keeps the real numbers (no F1 from a NaN network)
    const wFile = join(tmp.path, "weights", "mtl.bin");
    const ck = (await readCheckpoint(wFile))!;
    for (const [k, t] of Object.entries(ck.tensors)) if (k.startsWith("w/")) t.data.fill(NaN);
    await writeCheckpoint(wFile, ck);
    await assertRejects(
      () => runYuan(spec, { outDir: tmp.path, cacheDir, resume: true, log: () => {} }),
      CheckpointError,
      `${wFile}: tensor 'weight 0 (`,
    );
    assertEquals(await Deno.readTextFile(join(tmp.path, "summary.md")), md);
  } finally {
    await tmp.cleanup();
  }
});

async function assertRejectsConfig(fn: () => Promise<unknown>) {
  try {
    await fn();
  } catch (e) {
    assert(e instanceof ConfigError, String(e));
    return;
  }
  throw new Error("expected a ConfigError");
}

Deno.test("released-weights path: a PyTorch checkpoint of the encoder loads into the MTL network", async () => {
  const spec = yuanSpec("smoke");
  const tmp = await tempDir();
  try {
    const src = buildYuanModel(spec, "mtl", { seed: 123 });
    const path = join(tmp.path, "mtl_best.mdl");
    await saveTorchStateDict(path, exportStateDict(src));
    const { model, result } = await loadTorchPretrained(spec, path);
    assert(result.loaded.length > 10);
    const w = synthWindows(8, 9);
    assertEquals(encoderFeatures(model, w).x, encoderFeatures(src, w).x);
    // a checkpoint of another architecture is refused, naming the file
    const other = buildYuanModel(yuanSpec("laptop"), "mtl");
    const bad = join(tmp.path, "laptop.mdl");
    await saveTorchStateDict(bad, exportStateDict(other));
    await assertRejects(() => loadTorchPretrained(spec, bad), Error, "laptop.mdl");
    [src, model, other].forEach((m) => m.dispose());
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("frozen setting: tiny-scale features are standardised with training-fold statistics", async () => {
  const spec = yuanSpec("smoke", {
    downstream: { frozenEpochs: 40, maxTrainWindows: null, lr: 1e-2 },
  });
  const w = synthWindows(80, 6, 2);
  // one informative feature at a 1e-3 scale plus noise features
  const r = rng(1);
  const dim = 8;
  const x = new Float32Array(w.n * dim);
  for (let i = 0; i < w.n; i++) {
    for (let j = 0; j < dim; j++) {
      x[i * dim + j] = 1e-3 * (j === 0 ? w.y[i] + 0.1 * r.normal() : r.normal());
    }
  }
  const stats = featureStats({ x, dim }, [0, 1, 2, 3]);
  assertAlmostEquals(stats.mean[0], 1e-3 * 0.5, 2e-4);
  const folds = leaveOneSubjectOut(w.subject, { valSubjects: 1 });
  const [o] = await evaluateDownstream({
    benchmark: "synthetic",
    protocol: "loso",
    windows: w,
    folds: folds.slice(0, 1),
    settings: [{ kind: "frozen" }],
    model: { ...yuanRecipe(spec), features: () => ({ x, dim }) },
    pretrained: buildYuanModel(spec, "mtl"),
    training: { ...spec.downstream, standardizeFeatures: true, workers: 0 },
    seed: spec.seed,
  });
  assertEquals(o.predictions!.yTrue.length, 20);
  // a collapsed classifier (one class for everything) would score ≤ 0.5 here
  assert(o.metrics.f1Macro >= 0.8, `F1 ${o.metrics.f1Macro}`);
});
