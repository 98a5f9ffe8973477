/**
 * bench/fit_bench.ts in quick mode: both `fit` paths (Yuan pre-training on a
 * batch source, fine-tuning on arrays) on one core and with workers, a
 * handful of steps of the smoke spec's tiny harnet, finite rates, no leaked
 * tensors, and the results file; the PyTorch side when python3 has torch.
 */
import { assert, assertEquals, assertGreater, assertThrows } from "@std/assert";
import { join } from "node:path";
import {
  findTorchPython,
  fitResultsDoc,
  main,
  runFitBench,
  runTorchFit,
  syntheticWindows,
} from "../../bench/fit_bench.ts";
import { initBackend } from "../../lib/backend/select.ts";
import { ConfigError } from "../../lib/errors.ts";
import { getHarnetConfig, harnet } from "../../lib/models/harnet.ts";
import { SMOKE_STAGES, yuanSpec } from "../../lib/experiments/yuan/spec.ts";
import { tempDir } from "../_helpers.ts";

Deno.test("syntheticWindows: [n, 3, 300] in g, labels in range, deterministic, non-constant", () => {
  const a = syntheticWindows({ n: 20, classes: ["a", "b", "c"], seed: 3 });
  const b = syntheticWindows({ n: 20, classes: ["a", "b", "c"], seed: 3 });
  assertEquals([a.n, a.channels, a.length, a.x.length], [20, 3, 300, 20 * 900]);
  assertEquals(a.x, b.x);
  assert(a.y.every((c) => c >= 0 && c < 3));
  assertEquals(new Set(a.y).size, 3);
  assert(a.x.every(Number.isFinite));
  // each window varies (the std-weighted sampler needs it) and carries ~1 g of gravity
  for (let i = 0; i < a.n; i++) {
    const w = a.x.subarray(i * 900, (i + 1) * 900);
    const mean = [0, 1, 2].map((c) =>
      w.subarray(c * 300, (c + 1) * 300).reduce((s, v) => s + v) / 300
    );
    const g = Math.hypot(...mean);
    assert(g > 0.8 && g < 1.2, `window ${i}: gravity ${g}`);
    assertGreater(Math.max(...w) - Math.min(...w), 0.05);
  }
  const u = syntheticWindows({ n: 4 });
  assert(u.y.every((c) => c === -1));
  assertThrows(() => syntheticWindows({ n: 0 }), ConfigError, "n 0");
});

Deno.test("runFitBench quick: both paths, one core and workers, finite rates", async () => {
  const steps = 2, warmup = 1, windows = 192, valWindows = 64;
  const r = await runFitBench({
    specs: ["smoke"],
    steps,
    warmup,
    windows,
    valWindows,
    torch: false,
    verbose: false,
  });
  assertEquals(r.rows.map((x) => `${x.path}/${x.workersRequested}`), [
    "pretrain/0",
    "pretrain/auto",
    "finetune/0",
    "finetune/auto",
  ]);
  const spec = yuanSpec("smoke");
  for (const row of r.rows) {
    const what = `${row.path} workers ${row.workersRequested}`;
    for (const k of ["stepsPerSec", "windowsPerSec", "msPerStep", "firstStepMs"] as const) {
      assert(Number.isFinite(row[k]) && row[k] > 0, `${what}: ${k} = ${row[k]}`);
    }
    assert(
      Math.abs(row.windowsPerSec - row.stepsPerSec * row.batch) <= 0.1 + 1e-3 * row.windowsPerSec,
    );
    assert(Number.isFinite(row.lossFirst) && Number.isFinite(row.lossLast), what);
    assertEquals(row.tensorsLeaked, 0, `${what}: leaked tensors`);
    assertEquals(row.model, "custom");
    assertEquals(row.warmup, warmup);
    if (row.workersRequested === 0) assertEquals(row.workers, 0);
    // "auto" follows the experiments: all cores on the blas path, else this thread
    else if (
      row.backend === "blas" && navigator.hardwareConcurrency >= 2 && !Deno.env.get("HAR_WORKERS")
    ) {
      assertEquals(row.workers, navigator.hardwareConcurrency, what);
    }
  }
  const pre = r.rows.filter((x) => x.path === "pretrain");
  const fine = r.rows.filter((x) => x.path === "finetune");
  for (const row of pre) {
    // one epoch of exactly warm-up + measured steps at the spec's batch size
    assertEquals([row.steps, row.epochs, row.batch], [steps, 1, spec.pretrain.batchSize]);
    assert(Number.isFinite(row.batchMs) && row.batchMs >= 0, `batchMs ${row.batchMs}`);
  }
  const spe = Math.ceil(windows / spec.downstream.batchSize);
  for (const row of fine) {
    // whole epochs: at least the asked steps, with validation windows
    assertEquals(row.stepsPerEpoch, spe);
    assertEquals(row.steps, row.epochs * spe - warmup);
    assert(row.steps >= steps);
    assertEquals([row.batch, row.valWindows], [spec.downstream.batchSize, valWindows]);
    assert(Number.isNaN(row.batchMs));
  }
  const doc = fitResultsDoc(r) as { results: unknown[]; torchReference: { available: boolean } };
  assertEquals(doc.results.length, 4);
  assertEquals(doc.torchReference.available, false);
});

Deno.test("fit bench CLI: --quick writes the results file; bad flags are named", async () => {
  const dir = await tempDir();
  try {
    const out = join(dir.path, "fit_results.json");
    const rows = await main([
      "--quick",
      "--specs=smoke",
      "--paths=finetune",
      "--workers=0",
      "--no-torch",
      `--out=${out}`,
    ]);
    assertEquals(rows.length, 1);
    const doc = JSON.parse(await Deno.readTextFile(out));
    assertEquals(doc.results[0].path, "finetune");
    assertEquals(doc.results[0].windows, 192);
    assert(doc.results[0].stepsPerSec > 0);
    assert(typeof doc.backend === "string" && typeof doc.cpus === "number");
  } finally {
    await dir.cleanup();
  }
  await assertRejectsConfig(() => main(["--specs=huge", "--out="]), "--specs");
  await assertRejectsConfig(() => main(["--workers=two", "--out="]), "--workers");
  await assertRejectsConfig(() => main(["--paths=eval", "--no-torch", "--out="]), "eval");
});

async function assertRejectsConfig(f: () => Promise<unknown>, includes: string): Promise<void> {
  let err: unknown = null;
  try {
    await f();
  } catch (e) {
    err = e;
  }
  assert(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
  assert((err as Error).message.includes(includes), (err as Error).message);
}

Deno.test("torch_fit_reference.py: the same harnet's steps in PyTorch (when a python has torch)", async () => {
  const t = await findTorchPython();
  if (!t.ok) {
    console.warn(`SKIP: python3 without torch (${t.reason})`);
    return;
  }
  await initBackend({ verbose: false, threads: 1 });
  for (const task of ["pretrain", "finetune"] as const) {
    const model = harnet({
      stages: SMOKE_STAGES,
      inputSamples: 300,
      head: task === "pretrain" ? "mtl" : "eva",
      numClasses: 5,
      hiddenUnits: 16,
    });
    const cfg = getHarnetConfig(model)!;
    const params = model.trainableWeights.reduce(
      (a, w) => a + w.shape.reduce((x, y) => x! * y!, 1)!,
      0,
    );
    model.dispose();
    const r = await runTorchFit(task, cfg, {
      python: t.python,
      batch: 8,
      lr: 1e-3,
      steps: 2,
      warmup: 1,
      threads: [1],
      seed: 1,
    });
    // the same architecture on both sides
    assertEquals(r.results[0].params, params, `${task}: PyTorch parameter count`);
    assertEquals(r.results.length, 1);
    assertEquals(r.results[0].threads, 1);
    assert(r.results[0].msPerStep > 0 && r.results[0].stepsPerSec > 0, JSON.stringify(r));
    assert(Number.isFinite(r.results[0].lossLast));
  }
});
