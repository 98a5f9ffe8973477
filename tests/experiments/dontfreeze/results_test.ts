/**
 * "Don't freeze" results (lib/experiments/dontfreeze/results.ts) and the
 * spec helpers on synthetic cells: Table 2 with the shared TPN baseline and
 * paired deltas, model selection on the mean validation F1 (§5), Figure 2's
 * series with the full-data point, Table 1 from the main run, the §9.3
 * checks both ways; the search candidates; the labels-per-class draw.
 */
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { ConfigError } from "../../../lib/errors.ts";
import { labelsPerClass } from "../../../lib/data/splits.ts";
import {
  buildDontFreezeResults,
  checkDontFreezeSpec,
  type DontFreezeCell,
  type DontFreezeSetting,
  dontFreezeSpec,
  dontFreezeSummaryMarkdown,
  downstreamConvergence,
  E6_MARGIN_POINTS,
  expectedDontFreezeCells,
  PRETEXT_ENCODER,
  PRETEXT_GRID,
  pretextCandidates,
  type PretextRecord,
  selectConfigs,
} from "../../../lib/experiments/dontfreeze/mod.ts";

type CellInit = Partial<DontFreezeCell> & Pick<DontFreezeCell, "setting" | "macroF1">;

function cell(o: CellInit): DontFreezeCell {
  const pretext = o.pretext ?? (o.setting === "baseline" ? null : "cpc");
  return {
    study: "table2",
    target: "hmp-adl",
    pretext,
    encoder: pretext ? PRETEXT_ENCODER[pretext] : "cpc",
    perClass: null,
    point: pretext ? "best" : null,
    fold: 0,
    repeat: 0,
    config: 0,
    seed: 0,
    accuracy: o.macroF1,
    valF1: o.macroF1,
    encoderMaxAbsChange: null,
    bestEpoch: 1,
    nTrain: 10,
    nVal: 10,
    nTest: 10,
    run: {} as DontFreezeCell["run"],
    ...o,
  };
}

/** A small spec: one target, CPC and multi-task, two folds, two label counts, stopping on the main run. */
function smallSpec() {
  const spec = dontFreezeSpec("smoke");
  spec.data.targets = ["hmp-adl"];
  spec.pretexts = ["cpc", "multitask"];
  spec.data.folds = [0, 1];
  spec.labels = { perClass: [2, 10], folds: [0, 1], repeats: 1, targets: null };
  spec.stopping = { enabled: true, separateRun: false, folds: [0, 1], repeats: 1, targets: null };
  return checkDontFreezeSpec(spec);
}

/** Cells where fine-tuning beats the baseline by `gain`, frozen trails it by 10 points. */
function grid(gainAt: (perClass: number | null) => number): DontFreezeCell[] {
  const out: DontFreezeCell[] = [];
  for (const fold of [0, 1]) {
    for (const perClass of [null, 2, 10]) {
      const study = perClass === null ? "table2" : "labels";
      const base = 0.5 + 0.02 * fold;
      for (const enc of ["cpc", "tpn"] as const) {
        out.push(
          cell({
            study,
            perClass,
            fold,
            setting: "baseline",
            pretext: null,
            encoder: enc,
            macroF1: base,
          }),
        );
      }
      for (const p of ["cpc", "multitask"] as const) {
        const add = (setting: DontFreezeSetting, d: number) =>
          out.push(
            cell({
              study,
              perClass,
              fold,
              setting,
              pretext: p,
              encoder: PRETEXT_ENCODER[p],
              macroF1: base + d,
            }),
          );
        add("frozen-source", -0.1);
        add("frozen-target", -0.05);
        add("finetune-source", gainAt(perClass));
        add("finetune-target", gainAt(perClass) / 2);
      }
    }
    for (const p of ["cpc", "multitask"] as const) {
      for (const [point, d] of [["before", 0], ["last", p === "cpc" ? -0.03 : 0.001]] as const) {
        out.push(
          cell({
            study: "stopping",
            fold,
            setting: "finetune-source",
            pretext: p,
            encoder: PRETEXT_ENCODER[p],
            point,
            macroF1: 0.5 + 0.02 * fold + 0.03 + d,
          }),
        );
      }
    }
  }
  return out;
}

Deno.test("buildDontFreezeResults: Table 2, paired deltas, Figure 2, Table 1 and the checks", () => {
  const spec = smallSpec();
  const cells = grid((k) => (k === null ? 0.03 : k === 2 ? 0.12 : 0.08));
  const expected = expectedDontFreezeCells(spec);
  // 2 baselines (cpc, tpn) + 4 settings × 2 pretexts = 10 per fold
  assertEquals(expected, { table2: 20, labels: 40, stopping: 8 });
  const r = buildDontFreezeResults({
    spec,
    cells,
    pretexts: [],
    targetPretexts: [],
    search: [],
    expected,
  });
  assertEquals(r.cells.table2, { found: 20, expected: 20 });
  assertEquals(r.table2.rows.map((x) => x.pretext), ["cpc", "multitask"]);
  const cpc = r.table2.rows[0];
  assertAlmostEquals(cpc.ours.baseline!.mean, 51, 1e-9);
  assertAlmostEquals(cpc.ours.baseline!.sd, Math.sqrt(2), 1e-9);
  assertAlmostEquals(cpc.ours["finetune-source"]!.mean, 54, 1e-9);
  assertEquals(cpc.paper.map((p) => p.dataset), ["myogym", "mhealth"]);
  assertEquals(cpc.paper[0].values["finetune-source"], { mean: 50.19, sd: 6.57 });
  // paired: every non-baseline Table 2 run against its own fold's baseline
  assertEquals(r.table2.deltas.length, 2 * 4 * 2);
  for (const d of r.table2.deltas.filter((x) => x.setting === "frozen-source")) {
    assertAlmostEquals(d.delta, -10, 1e-9);
  }
  // Figure 2: 2 pretexts × 5 settings, points 2, 10 and the full part
  assertEquals(r.labels.length, 10);
  const ft = r.labels.find((s) => s.pretext === "cpc" && s.setting === "finetune-source")!;
  assertEquals(ft.points.map((p) => p.perClass), [2, 10, null]);
  assertAlmostEquals(ft.points[0].mean, 63, 1e-9);
  // Table 1: best = the finetune-source Table 2 cells
  const t1 = r.table1.find((x) => x.pretext === "cpc")!;
  assertAlmostEquals(t1.ours.best!.mean, 54, 1e-9);
  assertAlmostEquals(t1.ours.last!.mean, 51, 1e-9);
  assertEquals(t1.paper[0].values.best, { mean: 55.43, sd: 5.89 });
  const e = Object.fromEntries(r.expectations.map((x) => [x.id, x]));
  assertEquals(Object.keys(e), ["E1", "E2", "E3", "E4", "E5", "E6", "E7"]);
  assertEquals(e.E1.holds, true, e.E1.measured);
  assertEquals(e.E2.holds, true, e.E2.measured);
  assertEquals(e.E3.holds, null); // no SimCLR in this spec
  assertEquals(e.E4.holds, true, e.E4.measured);
  assertEquals(e.E5.holds, true, e.E5.measured);
  assertEquals(e.E6.holds, true, e.E6.measured);
  assertEquals(e.E7.holds, true, e.E7.measured);
  const md = dontFreezeSummaryMarkdown(r);
  for (const s of ["## Table 2", "## Figure 2", "## Table 1", "| E7 |", "↳ paper myogym"]) {
    assert(md.includes(s), s);
  }
});

Deno.test("buildDontFreezeResults: the checks fail when the orderings invert", () => {
  const spec = smallSpec();
  // fine-tuning hurts more with few labels; frozen above fine-tuned
  const cells = grid((k) => (k === null ? -0.02 : -0.2)).map((c) =>
    c.setting.startsWith("frozen") ? { ...c, macroF1: c.macroF1 + 0.3 } : c
  );
  const r = buildDontFreezeResults({
    spec,
    cells,
    pretexts: [],
    targetPretexts: [],
    search: [],
    expected: expectedDontFreezeCells(spec),
  });
  const e = Object.fromEntries(r.expectations.map((x) => [x.id, x]));
  assertEquals(e.E1.holds, false, e.E1.measured);
  assertEquals(e.E2.holds, false, e.E2.measured);
  assertEquals(e.E6.holds, false, e.E6.measured);
});

Deno.test("buildDontFreezeResults: E6 needs a margin over the run-to-run noise", () => {
  const spec = smallSpec();
  const run = (gainAt: (k: number | null) => number) => {
    const r = buildDontFreezeResults({
      spec,
      cells: grid(gainAt),
      pretexts: [],
      targetPretexts: [],
      search: [],
      expected: expectedDontFreezeCells(spec),
    });
    return r.expectations.find((x) => x.id === "E6")!;
  };
  // 1 point more at few labels: within the noise
  const small = run((k) => (k === null ? 0.03 : 0.04));
  assertEquals(small.holds, false, small.measured);
  assert(small.measured.includes("no difference"), small.measured);
  // 5 points more: shrinks
  const big = run((k) => (k === null ? 0.03 : 0.08));
  assertEquals(big.holds, true, big.measured);
  assert(E6_MARGIN_POINTS > 0);
});

Deno.test("buildDontFreezeResults: E7 is not measurable when CPC's best epoch is its last (the same weights)", () => {
  const spec = smallSpec();
  const cells = grid((k) => (k === null ? 0.03 : k === 2 ? 0.12 : 0.08));
  const run = (pretext: "cpc" | "multitask", bestEpoch: number, epochs: number) =>
    ({
      pretext,
      bestEpoch,
      history: Array.from({ length: epochs }, (_, i) => ({ epoch: i + 1 })),
    }) as unknown as PretextRecord;
  const e7 = (pretexts: PretextRecord[]) =>
    buildDontFreezeResults({
      spec,
      cells,
      pretexts,
      targetPretexts: [],
      search: [],
      expected: expectedDontFreezeCells(spec),
    }).expectations.find((x) => x.id === "E7")!;
  // CPC stopped improving before its last epoch: measurable, and holds on these cells
  const distinct = e7([run("multitask", 5, 10), run("cpc", 7, 10)]);
  assertEquals(distinct.holds, true, distinct.measured);
  assert(!distinct.measured.includes("same weights"), distinct.measured);
  // CPC's validation loss fell to the end: best = last, nothing to compare
  const same = e7([run("multitask", 5, 10), run("cpc", 10, 10)]);
  assertEquals(same.holds, null, same.measured);
  assert(same.measured.includes("best epoch = last epoch for cpc"), same.measured);
  assert(same.measured.includes("not measurable"), same.measured);
  // only multi-task's checkpoints coincide: CPC is still measured, multi-task left out of the |gap| check
  const mtSame = e7([run("multitask", 10, 10), run("cpc", 7, 10)]);
  assertEquals(mtSame.holds, true, mtSame.measured);
  assert(mtSame.measured.includes("best epoch = last epoch for multitask"), mtSame.measured);
});

Deno.test("downstreamConvergence: late best epochs and a still-falling training loss per setting", () => {
  const hist = (losses: number[]) =>
    ({
      history: losses.map((l, i) => ({ epoch: i + 1, trainLoss: l })),
    }) as unknown as DontFreezeCell["run"];
  const falling = Array.from({ length: 20 }, (_, i) => 2 - 0.05 * i); // 2.0 … 1.05
  const flat = Array.from({ length: 20 }, (_, i) => (i < 8 ? 2 - 0.1 * i : 1.3));
  const cs = [
    // still learning: best at the last epoch, loss 1.05 / 1.30 at epoch 15
    cell({
      setting: "baseline",
      macroF1: 0.3,
      bestEpoch: 20,
      run: hist(falling),
    }),
    cell({
      setting: "baseline",
      macroF1: 0.3,
      bestEpoch: 19,
      run: hist(falling),
    }),
    // converged: best early, flat loss
    cell({
      setting: "frozen-source",
      macroF1: 0.3,
      bestEpoch: 9,
      run: hist(flat),
    }),
    cell({
      setting: "frozen-source",
      macroF1: 0.3,
      bestEpoch: 18,
      run: hist(flat),
    }),
    // no history: left out
    cell({ setting: "frozen-source", macroF1: 0.3, bestEpoch: 1 }),
  ];
  const [b, f, t] = downstreamConvergence(cs, ["baseline", "frozen-source", "finetune-source"]);
  assertEquals([b.cells, b.medianEpochs, b.lateBest], [2, 20, 1]);
  assertAlmostEquals(b.lastQuarterLossRatio, 1.05 / 1.3, 1e-9);
  assertEquals([f.cells, f.lateBest, f.lastQuarterLossRatio], [2, 0, 1]);
  assertEquals(t.cells, 0);
  assert(Number.isNaN(t.lateBest));
});

Deno.test("selectConfigs: per repeat the configuration with the best mean validation F1 over folds", () => {
  const cs = [
    // config 0: high val on fold 0 only; config 1: better on average
    cell({ setting: "baseline", fold: 0, config: 0, valF1: 0.9, macroF1: 0.1 }),
    cell({ setting: "baseline", fold: 1, config: 0, valF1: 0.1, macroF1: 0.1 }),
    cell({ setting: "baseline", fold: 0, config: 1, valF1: 0.6, macroF1: 0.7 }),
    cell({ setting: "baseline", fold: 1, config: 1, valF1: 0.6, macroF1: 0.7 }),
    // another repeat picks its own
    cell({ setting: "baseline", fold: 0, repeat: 1, config: 0, valF1: 0.8, macroF1: 0.2 }),
    cell({ setting: "baseline", fold: 0, repeat: 1, config: 1, valF1: 0.3, macroF1: 0.9 }),
  ];
  const kept = selectConfigs(cs);
  assertEquals(kept.length, 3);
  assertEquals(kept.filter((c) => c.repeat === 0).map((c) => c.config), [1, 1]);
  assertEquals(kept.filter((c) => c.repeat === 1).map((c) => c.config), [0]);
});

Deno.test("pretextCandidates: the default first, then distinct grid draws (K for CPC, τ for SimCLR)", () => {
  const spec = dontFreezeSpec("paper");
  for (const p of spec.pretexts) {
    const c = pretextCandidates(spec, p);
    assertEquals(c.length, 20);
    assertEquals(c[0], spec.pretext.defaults[p]);
    assertEquals(new Set(c.map((x) => JSON.stringify(x))).size, 20);
    for (const x of c.slice(1)) {
      assert((PRETEXT_GRID.lr as readonly number[]).includes(x.lr));
      assert((PRETEXT_GRID.weightDecay as readonly number[]).includes(x.weightDecay));
      const b = p === "multitask" ? x.batchSize / 9 : x.batchSize;
      assert(
        (PRETEXT_GRID.batchSize as readonly number[]).includes(b),
        `${p} batch ${x.batchSize}`,
      );
      if (p !== "cpc") assertEquals(x.cpcSteps, spec.pretext.defaults[p].cpcSteps);
      if (p !== "simclr") assertEquals(x.temperature, spec.pretext.defaults[p].temperature);
    }
    assertEquals(JSON.stringify(pretextCandidates(spec, p)), JSON.stringify(c), "seeded");
  }
  assert(new Set(pretextCandidates(spec, "cpc").map((x) => x.cpcSteps)).size > 1);
  assertEquals(pretextCandidates(dontFreezeSpec("laptop"), "cpc").length, 3);
});

Deno.test("labelsPerClass (the labels-per-class draw): k per class without replacement, all of a smaller class, seeded", () => {
  const y = Int32Array.from([0, 0, 0, 0, 0, 1, 1, 2, -1, 0, 1, 1]);
  const s = labelsPerClass(y, 3, { seed: 7 });
  const count = (c: number) => [...s].filter((i) => y[i] === c).length;
  assertEquals([count(0), count(1), count(2)], [3, 3, 1]);
  assertEquals(new Set(s).size, s.length);
  assert([...s].every((i, j) => j === 0 || i > s[j - 1]), "ascending");
  assert(![...s].some((i) => y[i] < 0), "unlabelled skipped");
  assertEquals([...labelsPerClass(y, 3, { seed: 7 })], [...s]);
  assertEquals(labelsPerClass(y, 100, { seed: 1 }).length, 11);
});

Deno.test("checkDontFreezeSpec: inconsistent specs are refused", () => {
  const bad = (f: (s: ReturnType<typeof dontFreezeSpec>) => void, msg: string) => {
    const s = dontFreezeSpec("laptop");
    f(s);
    assertThrows(() => checkDontFreezeSpec(s), ConfigError, msg);
  };
  bad((s) => (s.pretext.patience = 5), "patience: null");
  bad((s) => (s.labels.folds = [7]), "labels.folds");
  bad((s) => (s.downstream.configs = []), "configs");
  bad((s) => (s.downstream.patience = 0), "downstream.patience");
  bad((s) => (s.downstream.minSteps = 1.5), "downstream.minSteps");
  bad((s) => (s.settings = ["baseline", "frozen-source"]), "finetune-source");
  bad((s) => (s.settings = ["frozen" as DontFreezeSetting]), "unknown setting");
  for (const sc of ["smoke", "laptop", "paper"] as const) checkDontFreezeSpec(dontFreezeSpec(sc));
});
