import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertGreater,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { join } from "node:path";
import {
  ADL_RF_SPEC,
  baselineTable,
  type RfBaselineSpec,
  runRfBaseline,
  writeBaselineResults,
} from "../../lib/experiments/baseline.ts";
import { f1Score } from "../../lib/eval/metrics.ts";
import { sharedData, tempDir } from "../_helpers.ts";
import type { Windows } from "../../lib/data/types.ts";
import { rng } from "../../lib/signal/random.ts";
import { ConfigError } from "../../lib/errors.ts";

Deno.test("RF baseline on a 3-subject ADL subset: LOSO folds, scores, atomic results", async () => {
  if (!sharedData("hmp-adl")) return;
  const spec: RfBaselineSpec = {
    ...ADL_RF_SPEC,
    subjects: ["f1", "m1", "m2"],
    rf: { ...ADL_RF_SPEC.rf, nEstimators: 25 },
    nBoot: 50,
  };
  const res = await runRfBaseline(spec);
  assertEquals(res.subjects, ["f1", "m1", "m2"]);
  assertEquals(res.classes, ["climb_stairs", "drink_glass", "getup_bed", "pour_water", "walk"]);
  assertEquals(res.folds.length, 3);
  assertEquals(res.featureNames.length, 22);
  // every window is tested exactly once
  assertEquals(res.pooled.yTrue.length, res.nWindows);
  assertEquals(res.folds.reduce((a, f) => a + f.nTest, 0), res.nWindows);
  for (const f of res.folds) {
    assertEquals(f.testSubjects.length, 1);
    assertEquals(f.nTrain + f.nTest, res.nWindows);
    assertEquals(f.confusion.length, 5);
    assertEquals(f.confusion.flat().reduce((a, b) => a + b, 0), f.nTest);
  }
  // LOSO: per-subject scores equal per-fold scores
  res.perSubject.forEach((s, i) => assertAlmostEquals(s.f1Macro, res.folds[i].f1Macro, 1e-12));
  // the forest learns: well above chance (0.2 for 5 balanced-ish classes)
  assertGreater(res.summary.f1MacroSubjectMean, 0.45, `F1 ${res.summary.f1MacroSubjectMean}`);
  assertAlmostEquals(res.summary.f1MacroPooled, f1Score(res.pooled.yTrue, res.pooled.yPred), 1e-12);
  const ci = res.summary.f1MacroPooledCi!;
  assert(ci[0] <= ci[1]);
  assertEquals(res.summary.published, 0.764);

  const { path, cleanup } = await tempDir();
  try {
    const written = await writeBaselineResults([res], path);
    assertEquals(written.length, 3);
    const back = JSON.parse(await Deno.readTextFile(join(path, "hmp-adl.json")));
    assertEquals(back.nWindows, res.nWindows);
    const md = await Deno.readTextFile(join(path, "summary.md"));
    assertStringIncludes(md, "| hmp-adl | loso | rf-handcrafted | 3 | 3 |");
    assertStringIncludes(md, "| folds | test subjects | F1 macro | Cohen's kappa |");
    assertStringIncludes(md, "0.764");
    // the per-class report (scikit-learn's classification_report) follows the summary
    assertStringIncludes(md, "| class | precision | recall | F1 | support |");
    assertStringIncludes(md, `| **accuracy** |  |  |`);
    assertEquals([...Deno.readDirSync(path)].filter((e) => e.name.includes(".tmp-")).length, 0);
  } finally {
    await cleanup();
  }
  assertEquals(baselineTable([res]).numRows(), 1);
});

/** Synthetic windows: class c is a (1 + c) Hz wrist oscillation, 8 subjects. */
function syntheticWindows(): Windows {
  const r = rng(5);
  const rateHz = 30, length = 300, channels = 3, subjects = 8, perClass = 6, classes = 3;
  const n = subjects * classes * perClass;
  const x = new Float32Array(n * channels * length);
  const y = new Int32Array(n), subject: string[] = [];
  let w = 0;
  for (let s = 0; s < subjects; s++) {
    for (let c = 0; c < classes; c++) {
      for (let k = 0; k < perClass; k++, w++) {
        y[w] = c;
        subject.push(`s${s}`);
        const f = (1 + c) * (0.9 + 0.2 * r.next());
        for (let i = 0; i < length; i++) {
          const t = i / rateHz;
          x[(w * 3 + 0) * length + i] = 0.1 * r.normal();
          x[(w * 3 + 1) * length + i] = 0.1 * r.normal();
          x[(w * 3 + 2) * length + i] = 1 + 0.3 * Math.sin(2 * Math.PI * f * t) + 0.1 * r.normal();
        }
      }
    }
  }
  return { x, n, channels, length, y, classes: ["a", "b", "c"], subject, rateHz };
}

Deno.test("RF baseline on synthetic windows: kfold and shuffle protocols, bad protocol", async () => {
  const windows = syntheticWindows();
  const base: RfBaselineSpec = {
    ...ADL_RF_SPEC,
    protocol: "kfold",
    k: 4,
    rf: { nEstimators: 15 },
    nBoot: 20,
  };
  const kf = await runRfBaseline(base, { windows });
  assertEquals(kf.folds.length, 4);
  assertEquals(kf.perSubject.length, 8);
  assertEquals(kf.pooled.yTrue.length, windows.n);
  assertGreater(kf.summary.f1MacroSubjectMean, 0.9);
  const sh = await runRfBaseline({ ...base, protocol: "shuffle", k: 3 }, { windows });
  assertEquals(sh.folds.length, 3);
  for (const f of sh.folds) assertEquals(f.testSubjects.length, 2); // ceil(0.2 * 8)
  assertEquals((baselineTable([kf]).objects()[0] as Record<string, unknown>).protocol, "kfold4");
  await assertRejects(
    () => runRfBaseline({ ...base, protocol: "bogus" as "loso" }, { windows }),
    ConfigError,
    "protocol must be",
  );
});
