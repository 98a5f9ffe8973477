// The "Don't freeze" experiment end to end at the smoke scale on the real data (once in the
// suite): the search, the four source pretexts with best and last weights, the target pretexts
// per fold, every Table 2 / labels-per-class / stopping-point cell, frozen encoders unchanged and
// fine-tuned ones moved, resume without retraining, onlyFinished, a different spec refused, and
// notebook 04 executed on this run.
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import { backendInfo, initBackend } from "../../../lib/backend/mod.ts";
import { ConfigError } from "../../../lib/errors.ts";
import {
  DONT_FREEZE_PRETEXTS,
  dontFreezeSpec,
  downstreamEpochs,
  expectedDontFreezeCells,
  runDontFreeze,
} from "../../../lib/experiments/dontfreeze/mod.ts";
import { f1Score } from "../../../lib/eval/metrics.ts";
import { predictClasses } from "../../../lib/experiments/evaluator.ts";
import { dontFreezeHead } from "../../../lib/models/dontfreeze_classifier.ts";
import type { FitData } from "../../../lib/train/batches.ts";
import { fit, resolveWorkers } from "../../../lib/train/loop.ts";
import { isBatchLevelLoss } from "../../../lib/train/losses.ts";
import { adam } from "../../../lib/train/optimisers.ts";
import { multitask8Loss } from "../../../lib/pretext/multitask8.ts";
import { cpcLoss } from "../../../lib/pretext/cpc.ts";
import { reconstructionLoss } from "../../../lib/pretext/reconstruction.ts";
import { simclrLoss } from "../../../lib/pretext/simclr.ts";
import { haveJupyter, sharedData, tempDir } from "../../_helpers.ts";
import { runAndCheckNotebook } from "../../notebooks/_check.ts";
import { PROJECT_ROOT } from "../../../tools/notebook_runner.ts";

await initBackend({ verbose: false });

Deno.test("expectedDontFreezeCells: a target has as many folds as user groups (Daphnet 4)", () => {
  const spec = dontFreezeSpec("paper");
  const all = expectedDontFreezeCells(spec);
  const perFold = (s: typeof spec, targets: typeof spec.data.targets) => {
    const t = { ...s, data: { ...s.data, targets } };
    return expectedDontFreezeCells(t).table2;
  };
  const hmp = perFold(spec, ["hmp-adl"]), daphnet = perFold(spec, ["daphnet"]);
  // 5 folds for HMP ADL, 4 for Daphnet (fold 4 does not exist): same cells per fold
  assertEquals(hmp / 5, daphnet / 4);
  assertEquals(all.table2, 3 * hmp + daphnet);
  assert(all.labels > 0 && all.stopping > 0);
});

Deno.test({
  name:
    "runDontFreeze smoke: search, pretexts, Table 2 / labels / stopping cells, resume, notebook 04",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const data = sharedData();
    if (!data || !sharedData("wisdm-2019") || !sharedData("mobifall-v2")) {
      console.warn(
        "SKIP: runDontFreeze needs wisdm-2019, hmp-adl, mobifall-v2 and the .cwa sample",
      );
      return;
    }
    const tmp = await tempDir();
    try {
      const spec = dontFreezeSpec("smoke");
      const opts = { outDir: tmp.path, dataDir: data, cacheDir: join(tmp.path, "cache") };
      const logs: string[] = [];
      const r = await runDontFreeze(spec, { ...opts, log: (m) => logs.push(m) });
      const exp = expectedDontFreezeCells(spec);
      // 2 targets × (3 baselines + 4 settings × 4 pretexts) = 38; labels (MobiFall only) 19 for one
      // count; stopping (HMP only): (before, last) × 4 pretexts
      assertEquals(exp, { table2: 38, labels: 19, stopping: 8 });
      for (const s of ["table2", "labels", "stopping"] as const) {
        assertEquals(r.cells.filter((c) => c.study === s).length, exp[s], s);
        assertEquals(r.table.cells[s], { found: exp[s], expected: exp[s] });
      }
      // the search: two candidates per pretext, the first the reference default
      assertEquals(r.search.length, 2 * DONT_FREEZE_PRETEXTS.length);
      for (const s of r.search) {
        assert(Number.isFinite(s.bestValLoss) && s.epochs === 1, JSON.stringify(s));
      }
      // source pretexts: every epoch run (patience null), best and last weights on disk
      assertEquals(r.pretexts.map((p) => p.pretext), [...DONT_FREEZE_PRETEXTS]);
      for (const p of r.pretexts) {
        assertEquals(p.history.length, spec.pretext.epochs);
        assert(p.bestEpoch >= 1 && p.bestEpoch <= spec.pretext.epochs);
        for (const f of [p.weights, p.lastWeights!]) {
          assert((await Deno.stat(join(tmp.path, f))).size > 10_000, f);
        }
      }
      // target pretexts: one per target, pretext and fold, on the fold's own training users
      assertEquals(r.targetPretexts.length, 2 * 4);
      for (const p of r.targetPretexts) {
        assert(p.on !== "source" && p.on.fold === 0);
        assert(p.windowsPerEpoch <= spec.targetPretext.windowsPerEpoch!, `${p.windowsPerEpoch}`);
      }
      for (const c of r.cells) {
        assert(c.macroF1 >= 0 && c.macroF1 <= 1 && c.valF1 >= 0 && c.valF1 <= 1);
        if (c.setting === "baseline") assertEquals(c.encoderMaxAbsChange, null);
        else if (c.setting.startsWith("frozen")) assertEquals(c.encoderMaxAbsChange, 0);
        else assert(c.encoderMaxAbsChange! > 0, `${c.setting}/${c.pretext}: the encoder moved`);
        assertEquals(c.nTest, c.run.metrics.n);
        if (c.study === "labels") {
          // 5 per class (fewer only for a class with fewer training windows)
          const classes = r.data.targets[c.target].perClass.length;
          assert(c.nTrain <= 5 * classes && c.nTrain >= 5, `${c.nTrain}`);
        } else assert(c.nTrain <= spec.data.maxTrainWindows!);
      }
      assertEquals(r.table.expectations.map((e) => e.id), [
        "E1",
        "E2",
        "E3",
        "E4",
        "E5",
        "E6",
        "E7",
      ]);
      assert(r.table.expectations.every((e) => e.measured.length > 0));
      const md = await Deno.readTextFile(join(tmp.path, "summary.md"));
      for (const s of ["## Table 2", "## Figure 2", "## Table 1", "| E7 |", "## Search"]) {
        assert(md.includes(s), s);
      }
      for (const f of ["table2.json", "labels.json", "table1.json", "expectations.json"]) {
        assert(JSON.parse(await Deno.readTextFile(join(tmp.path, f))), f);
      }

      // resume: every piece read back, no training, the same tables
      const logs2: string[] = [];
      const r2 = await runDontFreeze(spec, { ...opts, resume: true, log: (m) => logs2.push(m) });
      assertEquals(JSON.stringify(r2.table), JSON.stringify(r.table));
      assert(logs.some((l) => /pretext cpc on source: 400 windows/.test(l)), logs.join("\n"));
      assert(
        !logs2.some((l) => /piece .*: done in/.test(l)),
        logs2.filter((l) => /done in/.test(l)).join("\n"),
      );
      assert(logs2.some((l) => /piece cells\/.*: reused/.test(l)));

      // onlyFinished: a cell the record does not list is skipped, not trained
      const runPath = join(tmp.path, "run.json");
      const rec = JSON.parse(await Deno.readTextFile(runPath));
      delete rec.pieces["cells/mobifall/finetune-target/cpc/fold0/r0"];
      await Deno.writeTextFile(runPath, JSON.stringify(rec));
      // … and nothing in the run folder changes (the scaffold's readOnly)
      const snapshot = () =>
        Promise.all(
          ["run.json", "run.log", "summary.md"].map((f) => Deno.readTextFile(join(tmp.path, f))),
        );
      const before = await snapshot();
      const logs3: string[] = [];
      const r3 = await runDontFreeze(spec, {
        ...opts,
        resume: true,
        onlyFinished: true,
        log: (m) => logs3.push(m),
      });
      assertEquals(r3.cells.length, r.cells.length - 1);
      assert(!logs3.some((l) => /piece .*: done in/.test(l)), logs3.join("\n"));
      assertEquals(await snapshot(), before, "an onlyFinished read writes nothing");
      await assertRejects(
        () => runDontFreeze({ ...spec, repeats: 2 }, { ...opts, resume: true, log: () => {} }),
        ConfigError,
      );

      // notebook 04 reads this run
      if (await haveJupyter()) {
        const nb = join(PROJECT_ROOT, "notebooks", "04_dont_freeze.ipynb");
        await runAndCheckNotebook(nb, join(tmp.path, "04.ipynb"), join(tmp.path, "figures"), {
          env: { HAR_DONTFREEZE_OUT: tmp.path, HAR_DATA_DIR: data },
        });
        const out = await Deno.readTextFile(join(tmp.path, "04.ipynb"));
        assert(out.includes("frozen encoder unchanged"), "notebook 04's freezing check");
      }

      // the target pretexts' weights are git-ignored: a resumed cell that needs a missing one
      // retrains it
      const rec4 = JSON.parse(await Deno.readTextFile(runPath));
      delete rec4.pieces["cells/mobifall/finetune-target/cpc/fold0/r0"];
      await Deno.writeTextFile(runPath, JSON.stringify(rec4));
      const tp = r.targetPretexts.find((p) =>
        p.pretext === "cpc" && p.on !== "source" && p.on.target === "mobifall"
      )!;
      await Deno.remove(join(tmp.path, tp.weights));
      const logs4: string[] = [];
      const r4 = await runDontFreeze(spec, { ...opts, resume: true, log: (m) => logs4.push(m) });
      assertEquals(r4.cells.length, r.cells.length);
      assert(
        logs4.some((l) => /mobifall cpc fold 0: weights not kept .* training again/.test(l)),
        logs4.filter((l) => /target-pretext|piece cells\/mobifall\/finetune-target/.test(l)).join(
          "\n",
        ),
      );
      assert((await Deno.stat(join(tmp.path, tp.weights))).size > 10_000);
      // … but the source pretexts' weights are committed: a missing one is an error naming it
      const cpc = r.pretexts.find((p) => p.pretext === "cpc")!;
      await Deno.remove(join(tmp.path, cpc.weights));
      const rec5 = JSON.parse(await Deno.readTextFile(runPath));
      delete rec5.pieces["cells/mobifall/finetune-source/cpc/fold0/r0"];
      await Deno.writeTextFile(runPath, JSON.stringify(rec5));
      await assertRejects(
        () => runDontFreeze(spec, { ...opts, resume: true, log: () => {} }),
        ConfigError,
        `weights ${join(tmp.path, cpc.weights)} are missing`,
      );
    } finally {
      await tmp.cleanup();
    }
  },
});

Deno.test('the contrastive pretexts\' losses are batch-level, so workers "auto" trains them in one thread (whole-batch negatives)', () => {
  assertEquals(dontFreezeSpec("laptop").workers, "auto");
  const losses = [multitask8Loss(), cpcLoss(), reconstructionLoss(), simclrLoss()];
  assertEquals(losses.map(isBatchLevelLoss), [false, true, false, true]);
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
  const opt = adam({ lr: 1e-3 });
  try {
    assertEquals(resolveWorkers("auto", model, cpcLoss(), opt), 0);
    assertEquals(resolveWorkers("auto", model, simclrLoss(), opt), 0);
    // with the native backend on 2+ cores a per-sample loss does get the workers
    const cores = navigator.hardwareConcurrency ?? 1;
    if (backendInfo()?.path === "blas" && cores >= 2 && !Deno.env.get("HAR_WORKERS")) {
      assertEquals(resolveWorkers("auto", model, reconstructionLoss(), opt), cores);
    }
  } finally {
    model.dispose();
  }
});

Deno.test("downstreamEpochs: a small training set gets epochs enough for minSteps optimiser steps", () => {
  const laptop = dontFreezeSpec("laptop").downstream;
  assertEquals([laptop.epochs, laptop.minSteps, laptop.patience], [30, 150, null]);
  // 2 labels per class × 14 classes: one step per epoch → 150 epochs
  assertEquals(downstreamEpochs(laptop, 28), 150);
  // 700 windows: 3 steps per epoch → 50; 1,000 windows: 4 → 38
  assertEquals(downstreamEpochs(laptop, 700), 50);
  assertEquals(downstreamEpochs(laptop, 1000), 38);
  // a large part keeps the spec's epochs
  assertEquals(downstreamEpochs(laptop, 10_000), 30);
  assertEquals(downstreamEpochs({ ...laptop, minSteps: 0 }, 28), 30);
});

Deno.test("downstream head on 2 labels per class: early stopping at a few steps leaves batch norm's running statistics unconverged (one class predicted); minSteps fixes it", async () => {
  // embeddings like a frozen encoder's: a large common mean, a small class-dependent part
  const classes = 4, dim = 16, perClass = 2, nVal = 200;
  const make = (n: number, seed: number): FitData => {
    const x = new Float32Array(n * dim), y = new Int32Array(n);
    let s = seed;
    const u = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
    for (let i = 0; i < n; i++) {
      y[i] = i % classes;
      for (let d = 0; d < dim; d++) {
        x[i * dim + d] = 1 + 0.03 * (d % classes === y[i] ? 1 : 0) + 0.003 * u();
      }
    }
    return { x, shape: [n, dim], y };
  };
  const train = make(classes * perClass, 1), val = make(nVal, 2);
  const macroF1Of = async (epochs: number, patience: number) => {
    const head = dontFreezeHead({ numClasses: classes, inputUnits: dim, seed: 3 });
    await fit(head, train, {
      epochs,
      batchSize: train.shape[0],
      optimizer: { name: "adam", lr: 5e-4 },
      numClasses: classes,
      validation: val,
      earlyStopping: { monitor: "valF1", mode: "max", patience, restoreBest: true },
      seed: 3,
      progress: false,
    });
    const pred = predictClasses(head, val);
    head.dispose();
    return f1Score(val.y, pred, { average: "macro" });
  };
  const ds = dontFreezeSpec("laptop").downstream;
  const early = await macroF1Of(6, 5);
  const floor = await macroF1Of(downstreamEpochs(ds, train.shape[0]), Infinity);
  assert(early < 0.4, `6 steps: macro F1 ${early}`);
  assert(floor > 0.9, `${downstreamEpochs(ds, train.shape[0])} steps: macro F1 ${floor}`);
});
