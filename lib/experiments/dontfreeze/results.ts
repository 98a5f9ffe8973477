/**
 * The "Don't freeze" results from the cells of a run
 * (lib/experiments/dontfreeze/run.ts), next to the paper's numbers of the
 * datasets each target stands in for (§8, {@link PAPER_ANALOGUES}):
 *
 * - `table2`: macro F1 (%) mean ± sd over the (fold, repeat) runs per target
 *   × pretext × setting, and the paired changes against the baseline
 *   (Figure 1's distribution);
 * - `labels`: per target × pretext × setting, macro F1 against labelled
 *   windows per class (Figure 2), the full training part last;
 * - `table1`: per target × pretext, the fine-tuned encoder from before the
 *   pretext, its best-validation and its last epoch (§7);
 * - `expectations`: the §9.3 orderings checked one by one.
 *
 * Model selection (§5): with several downstream configurations, per target,
 * setting, encoder source and repeat the configuration with the highest mean
 * validation macro F1 over the folds is kept; its test scores are reported.
 *
 * The baseline of a pretext row is the baseline of that pretext's encoder
 * architecture (§2 [P]: "its architecture without any pretext"), so the
 * multi-task and SimCLR rows share the TPN baseline.
 *
 * @example
 * const r = buildDontFreezeResults({ spec, cells, pretexts, targetPretexts: [], search: [], expected });
 * await Deno.writeTextFile("summary.md", dontFreezeSummaryMarkdown(r));
 * @module
 */
import { meanSd } from "../../eval/bootstrap.ts";
import type { DontFreezeTargetName } from "./data.ts";
import type { DontFreezeCell, DontFreezeStudy, PretextRecord, SearchRecord } from "./run.ts";
import {
  type DontFreezePretextName,
  type DontFreezeSetting,
  type DontFreezeSpec,
  PAPER_ANALOGUES,
  PAPER_TABLE1,
  PAPER_TABLE2,
  type PaperDataset,
  type PaperF1,
  PRETEXT_ENCODER,
  STOPPING_POINTS,
  type StoppingPoint,
} from "./spec.ts";

/** Our value of one table cell. */
export interface Table2Value {
  /** Runs (fold × repeat) found. */
  n: number;
  /** Mean macro F1, % (NaN without runs). */
  mean: number;
  /** Sample standard deviation over the runs, % (NaN below 2 runs). */
  sd: number;
}

/** One row: a target and a pretext. */
export interface Table2Row {
  /** Target. */
  target: DontFreezeTargetName;
  /** Pretext. */
  pretext: DontFreezePretextName;
  /** Ours per setting. */
  ours: Partial<Record<DontFreezeSetting, Table2Value>>;
  /** Paper's per analogue dataset and setting (§8.1). */
  paper: { dataset: PaperDataset; values: Partial<Record<DontFreezeSetting, PaperF1>> }[];
}

/** A paired change against the baseline (Figure 1). */
export interface BaselineDelta {
  target: DontFreezeTargetName;
  pretext: DontFreezePretextName;
  setting: DontFreezeSetting;
  fold: number;
  repeat: number;
  /** Macro F1 of the setting minus the baseline's (same encoder, fold, repeat), points. */
  delta: number;
}

/** `table2.json`. */
export interface DontFreezeTable2 {
  /** Scale of the run. */
  scale: string;
  /** Settings (columns). */
  settings: DontFreezeSetting[];
  /** Rows, targets then pretexts in the spec's order. */
  rows: Table2Row[];
  /** Paired changes against the baseline, every non-baseline run. */
  deltas: BaselineDelta[];
  /** The paper's changes against the baseline per setting (§8.3, from its Table 2 means). */
  paperDeltas: {
    setting: DontFreezeSetting;
    dataset: PaperDataset;
    pretext: DontFreezePretextName;
    delta: number;
  }[];
}

/** One Figure 2 line. */
export interface LabelsSeries {
  target: DontFreezeTargetName;
  pretext: DontFreezePretextName;
  setting: DontFreezeSetting;
  /** One point per labelled windows per class, then `perClass: null` for the whole training part. */
  points: ({ perClass: number | null } & Table2Value)[];
}

/** One Table 1 row. */
export interface Table1Row {
  target: DontFreezeTargetName;
  pretext: DontFreezePretextName;
  /** Ours per stopping point (the fine-tuned encoder's macro F1, %). */
  ours: Partial<Record<StoppingPoint, Table2Value>>;
  /** Per stopping point: sd over repeats of the fold-averaged scores (§8.2 caveat), %. */
  sdOfFoldMeans: Partial<Record<StoppingPoint, number>>;
  /** The paper's (§8.2) for each analogue dataset. */
  paper: { dataset: PaperDataset; values: Record<StoppingPoint, PaperF1> }[];
}

/**
 * How converged one setting's downstream classifiers were when training
 * ended: a classifier whose best validation epoch is among its last and whose
 * training loss still falls was stopped by the step budget, not by having
 * learned what it can, so settings are then compared on how fast they learn.
 */
export interface ConvergenceRow {
  setting: DontFreezeSetting;
  /** Cells with a training history. */
  cells: number;
  /** Median epochs run. */
  medianEpochs: number;
  /** Share of cells whose best validation epoch is in the last 10 % of the epochs run, in [0, 1]. */
  lateBest: number;
  /**
   * Median over cells of the last epoch's training loss divided by the
   * training loss at 75 % of the epochs (1: flat over the last quarter; 0.8: still falling 20 %).
   */
  lastQuarterLossRatio: number;
}

/** Per setting, {@link ConvergenceRow} of the cells' training histories. */
export function downstreamConvergence(
  cells: readonly DontFreezeCell[],
  settings: readonly DontFreezeSetting[],
): ConvergenceRow[] {
  const median = (v: number[]) => {
    const a = [...v].sort((x, y) => x - y);
    return a.length ? (a[(a.length - 1) >> 1] + a[a.length >> 1]) / 2 : NaN;
  };
  return settings.map((setting) => {
    const hs = cells.filter((c) => c.setting === setting).map((c) => ({
      h: c.run.history ?? [],
      best: c.bestEpoch,
    })).filter((x) => x.h.length >= 4);
    return {
      setting,
      cells: hs.length,
      medianEpochs: median(hs.map((x) => x.h.length)),
      lateBest: hs.length
        ? hs.filter((x) => x.best !== null && x.best > 0.9 * x.h.length).length / hs.length
        : NaN,
      lastQuarterLossRatio: median(
        hs.map((x) =>
          x.h[x.h.length - 1].trainLoss / x.h[Math.floor(0.75 * x.h.length) - 1].trainLoss
        )
          .filter(Number.isFinite),
      ),
    };
  });
}

/** One §9.3 check. */
export interface DontFreezeExpectation {
  /** E1…E7 (§9.3 order). */
  id: string;
  /** What the paper found. */
  expectation: string;
  /** Whether ours agrees (null: not measurable from this run). */
  holds: boolean | null;
  /** What we measured. */
  measured: string;
}

/** Everything {@link buildDontFreezeResults} computes. */
export interface DontFreezeResults {
  /** Scale. */
  scale: string;
  /** Cells found / expected per study. */
  cells: Record<DontFreezeStudy, { found: number; expected: number }>;
  /** Table 2 and Figure 1. */
  table2: DontFreezeTable2;
  /** Figure 2. */
  labels: LabelsSeries[];
  /** Table 1. */
  table1: Table1Row[];
  /** §9.3. */
  expectations: DontFreezeExpectation[];
  /** Pretexts: source runs (main, stopping) and the search. */
  pretexts: {
    pretext: DontFreezePretextName;
    on: string;
    config: number;
    epochs: number;
    bestEpoch: number;
    bestValLoss: number;
    lastValLoss: number;
    fitSec: number;
  }[];
  /** The search candidates. */
  search: SearchRecord[];
  /** How far each setting's classifiers had converged (Table 2 cells). */
  convergence: ConvergenceRow[];
  /** Target pretexts: mean best epoch and fit time per (target, pretext). */
  targetPretexts: {
    target: DontFreezeTargetName;
    pretext: DontFreezePretextName;
    runs: number;
    meanBestEpoch: number;
    meanFitSec: number;
  }[];
}

const mean = (v: readonly number[]) => v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;

/**
 * The cells kept after model selection (§5): per (study, target, setting,
 * encoder source, labels, point, repeat), the downstream configuration
 * with the best mean validation macro F1 over the folds.
 */
export function selectConfigs(cells: readonly DontFreezeCell[]): DontFreezeCell[] {
  const groups = new Map<string, DontFreezeCell[]>();
  for (const c of cells) {
    const what = c.setting === "baseline" ? c.encoder : c.pretext;
    const k = [c.study, c.target, c.setting, what, c.perClass, c.point, c.repeat].join("|");
    (groups.get(k) ?? groups.set(k, []).get(k)!).push(c);
  }
  const out: DontFreezeCell[] = [];
  for (const g of groups.values()) {
    const configs = [...new Set(g.map((c) => c.config))];
    if (configs.length === 1) {
      for (const c of g) out.push(c);
      continue;
    }
    let best = configs[0], bestV = -Infinity;
    for (const k of configs) {
      const v = mean(g.filter((c) => c.config === k).map((c) => c.valF1));
      if (v > bestV) [best, bestV] = [k, v];
    }
    for (const c of g) if (c.config === best) out.push(c);
  }
  return out;
}

const isBaselineOf = (c: DontFreezeCell, p: DontFreezePretextName) =>
  c.setting === "baseline" && c.encoder === PRETEXT_ENCODER[p];

/** Every result of the cells so far (see the module docs). */
export function buildDontFreezeResults(o: {
  spec: DontFreezeSpec;
  cells: readonly DontFreezeCell[];
  pretexts: readonly PretextRecord[];
  targetPretexts: readonly PretextRecord[];
  search: readonly SearchRecord[];
  expected: Record<DontFreezeStudy, number>;
}): DontFreezeResults {
  const { spec } = o;
  const kept = selectConfigs(o.cells);
  const t2 = kept.filter((c) => c.study === "table2");
  const f1 = (v: DontFreezeCell[]) => meanSd(v.map((c) => 100 * c.macroF1));
  const forRow = (
    pool: DontFreezeCell[],
    t: DontFreezeTargetName,
    p: DontFreezePretextName,
    s: DontFreezeSetting,
  ) =>
    pool.filter((c) =>
      c.target === t && c.setting === s && (s === "baseline" ? isBaselineOf(c, p) : c.pretext === p)
    );

  // Table 2 and the paired deltas
  const rows: Table2Row[] = [];
  const deltas: BaselineDelta[] = [];
  for (const target of spec.data.targets) {
    for (const pretext of spec.pretexts) {
      const ours: Table2Row["ours"] = {};
      for (const s of spec.settings) ours[s] = f1(forRow(t2, target, pretext, s));
      rows.push({
        target,
        pretext,
        ours,
        paper: PAPER_ANALOGUES[target].map((d) => ({
          dataset: d,
          values: Object.fromEntries(spec.settings.map((s) => [s, PAPER_TABLE2[d][pretext][s]])),
        })),
      });
      const base = forRow(t2, target, pretext, "baseline");
      for (const s of spec.settings) {
        if (s === "baseline") continue;
        for (const c of forRow(t2, target, pretext, s)) {
          const b = base.find((x) => x.fold === c.fold && x.repeat === c.repeat);
          if (b) {
            deltas.push({
              target,
              pretext,
              setting: s,
              fold: c.fold,
              repeat: c.repeat,
              delta: 100 * (c.macroF1 - b.macroF1),
            });
          }
        }
      }
    }
  }
  const paperDeltas: DontFreezeTable2["paperDeltas"] = [];
  for (
    const [dataset, byPretext] of Object.entries(PAPER_TABLE2) as [
      PaperDataset,
      typeof PAPER_TABLE2[PaperDataset],
    ][]
  ) {
    for (
      const [pretext, v] of Object.entries(byPretext) as [
        DontFreezePretextName,
        typeof byPretext["cpc"],
      ][]
    ) {
      for (const s of spec.settings) {
        if (s !== "baseline") {
          paperDeltas.push({ setting: s, dataset, pretext, delta: v[s].mean - v.baseline.mean });
        }
      }
    }
  }

  // Figure 2
  const lab = kept.filter((c) => c.study === "labels");
  const labels: LabelsSeries[] = [];
  if (spec.labels.perClass.length) {
    for (const target of spec.labels.targets ?? spec.data.targets) {
      for (const pretext of spec.pretexts) {
        for (const setting of spec.settings) {
          const pool = forRow(lab, target, pretext, setting);
          const full = forRow(t2, target, pretext, setting).filter((c) =>
            spec.labels.folds.includes(c.fold) && c.repeat < spec.labels.repeats
          );
          labels.push({
            target,
            pretext,
            setting,
            points: [
              ...spec.labels.perClass.map((k) => ({
                perClass: k,
                ...f1(pool.filter((c) => c.perClass === k)),
              })),
              { perClass: null, ...f1(full) },
            ],
          });
        }
      }
    }
  }

  // Table 1
  const table1: Table1Row[] = [];
  if (spec.stopping.enabled) {
    const st = kept.filter((c) => c.study === "stopping");
    const bestCells = (t: DontFreezeTargetName, p: DontFreezePretextName) =>
      spec.stopping.separateRun
        ? st.filter((c) => c.target === t && c.pretext === p && c.point === "best")
        : forRow(t2, t, p, "finetune-source").filter((c) =>
          spec.stopping.folds.includes(c.fold) && c.repeat < spec.stopping.repeats
        );
    for (const target of spec.stopping.targets ?? spec.data.targets) {
      for (const pretext of spec.pretexts) {
        const ours: Table1Row["ours"] = {};
        const sdOfFoldMeans: Table1Row["sdOfFoldMeans"] = {};
        for (const point of STOPPING_POINTS) {
          const v = point === "best"
            ? bestCells(target, pretext)
            : st.filter((c) => c.target === target && c.pretext === pretext && c.point === point);
          ours[point] = f1(v);
          const reps = [...new Set(v.map((c) => c.repeat))];
          sdOfFoldMeans[point] = meanSd(
            reps.map((r) => mean(v.filter((c) => c.repeat === r).map((c) => 100 * c.macroF1))),
          ).sd;
        }
        table1.push({
          target,
          pretext,
          ours,
          sdOfFoldMeans,
          paper: PAPER_ANALOGUES[target].map((d) => ({
            dataset: d,
            values: PAPER_TABLE1[d][pretext],
          })),
        });
      }
    }
  }

  const table2: DontFreezeTable2 = {
    scale: spec.scale,
    settings: [...spec.settings],
    rows,
    deltas,
    paperDeltas,
  };
  const count = (s: DontFreezeStudy) => ({
    found: o.cells.filter((c) => c.study === s).length,
    expected: o.expected[s],
  });
  const tp = new Map<string, PretextRecord[]>();
  for (const r of o.targetPretexts) {
    if (r.on === "source") continue;
    const k = `${r.on.target}|${r.pretext}`;
    (tp.get(k) ?? tp.set(k, []).get(k)!).push(r);
  }
  return {
    scale: spec.scale,
    cells: { table2: count("table2"), labels: count("labels"), stopping: count("stopping") },
    table2,
    labels,
    table1,
    expectations: checkDontFreezeExpectations(
      spec,
      table2,
      labels,
      table1,
      // Table 1's checkpoints come from the stopping re-run when there is one (listed after the main runs)
      spec.stopping.separateRun ? o.pretexts.slice(spec.pretexts.length) : o.pretexts,
    ),
    pretexts: o.pretexts.map((p, i) => ({
      pretext: p.pretext,
      on: i < spec.pretexts.length ? "source" : "source (stopping re-run)",
      config: p.configIndex,
      epochs: p.history.length,
      bestEpoch: p.bestEpoch,
      bestValLoss: p.bestValLoss,
      lastValLoss: p.history.at(-1)?.valLoss ?? NaN,
      fitSec: p.fitSec,
    })),
    search: [...o.search],
    convergence: downstreamConvergence(t2, spec.settings),
    targetPretexts: [...tp.entries()].map(([k, v]) => {
      const [target, pretext] = k.split("|") as [DontFreezeTargetName, DontFreezePretextName];
      return {
        target,
        pretext,
        runs: v.length,
        meanBestEpoch: mean(v.map((r) => r.bestEpoch)),
        meanFitSec: mean(v.map((r) => r.fitSec)),
      };
    }),
  };
}

const pts = (v: number) => `${v >= 0 ? "+" : ""}${v.toFixed(1)}`;

/**
 * E6's margin, points: the gain at ≤ 10 labels per class must exceed the
 * gain at ≥ 50 by this much to count as shrinking. Two fine-tunings of the
 * same CPC weights on HMP ADL differed by ~3 points (36.2 vs 38.9,
 * `results/dontfreeze` Table 1 best vs last), so a smaller difference is
 * reported as no difference.
 */
export const E6_MARGIN_POINTS = 3;

/**
 * The §9.3 expected orderings, each with what we measured (soft checks: the
 * paper's sds are 4–8 points; comparisons are of paired or averaged cells).
 * `stoppingPretexts` are the source pretext runs Table 1's checkpoints come
 * from: where a run's best validation epoch is its last one, "best" and
 * "last" are the same weights and E7 cannot be measured for that pretext.
 */
export function checkDontFreezeExpectations(
  spec: DontFreezeSpec,
  t2: DontFreezeTable2,
  labels: readonly LabelsSeries[],
  t1: readonly Table1Row[],
  stoppingPretexts: readonly Pick<PretextRecord, "pretext" | "bestEpoch" | "history">[] = [],
): DontFreezeExpectation[] {
  const out: DontFreezeExpectation[] = [];
  const m = (r: Table2Row, s: DontFreezeSetting) => r.ours[s]?.mean ?? NaN;
  const has = (s: DontFreezeSetting) => spec.settings.includes(s);
  const ok = (v: number) => Number.isFinite(v);

  // E1 tuned > frozen
  {
    let wins = 0, n = 0;
    for (const r of t2.rows) {
      for (const src of ["source", "target"] as const) {
        const a = m(r, `finetune-${src}`), b = m(r, `frozen-${src}`);
        if (ok(a) && ok(b)) {
          n++;
          if (a > b) wins++;
        }
      }
    }
    out.push({
      id: "E1",
      expectation: "fine-tuned > frozen for every pretext, target and source (paper: 31 of 32)",
      holds: n ? wins >= Math.ceil(0.75 * n) : null,
      measured: n ? `${wins} of ${n} (target, pretext, source) cells` : "no paired cells",
    });
  }
  // E2 frozen below, tuned above the baseline
  {
    const d = (s: DontFreezeSetting) =>
      mean(t2.deltas.filter((x) => x.setting === s).map((x) => x.delta));
    const fr = mean(
      ["frozen-source", "frozen-target"].filter((s) => has(s as DontFreezeSetting)).map((s) =>
        d(s as DontFreezeSetting)
      ).filter(ok),
    );
    const tu = mean(
      ["finetune-source", "finetune-target"].filter((s) => has(s as DontFreezeSetting)).map((s) =>
        d(s as DontFreezeSetting)
      ).filter(ok),
    );
    out.push({
      id: "E2",
      expectation: "frozen usually below the baseline (paper: mean Δ −11.9 source, −6.7 target), " +
        "fine-tuned above it (+2.8, +2.3)",
      holds: ok(fr) && ok(tu) ? fr < 0 && tu > 0 : null,
      measured: ["frozen-source", "frozen-target", "finetune-source", "finetune-target"]
        .filter((s) => has(s as DontFreezeSetting))
        .map((s) => `${s} ${ok(d(s as DontFreezeSetting)) ? pts(d(s as DontFreezeSetting)) : "–"}`)
        .join(", ") + " (mean paired Δ, points)",
    });
  }
  // E3 frozen SimCLR worst
  {
    const byP = spec.pretexts.map((p) => ({
      p,
      v: mean(t2.rows.filter((r) => r.pretext === p).map((r) => m(r, "frozen-source")).filter(ok)),
    })).filter((x) => ok(x.v));
    const worst = byP.length ? byP.reduce((a, b) => (b.v < a.v ? b : a)) : null;
    out.push({
      id: "E3",
      expectation: "frozen SimCLR (rotation only) is the worst frozen encoder",
      holds: worst && spec.pretexts.includes("simclr") ? worst.p === "simclr" : null,
      measured: byP.map((x) => `${x.p} ${x.v.toFixed(1)}`).join(", ") +
        " (mean frozen-source macro F1)",
    });
  }
  // E4 CPC and multi-task give the largest tuned gains
  {
    const byP = spec.pretexts.map((p) => ({
      p,
      v: mean(
        t2.deltas.filter((x) => x.pretext === p && x.setting === "finetune-source").map((x) =>
          x.delta
        ),
      ),
    })).filter((x) => ok(x.v)).sort((a, b) => b.v - a.v);
    const top = byP.slice(0, 2).map((x) => x.p).sort();
    out.push({
      id: "E4",
      expectation:
        "CPC and multi-task give the largest fine-tuned gains (paper: CPC +6.4 with the source)",
      holds: byP.length >= 2 ? top.join() === ["cpc", "multitask"].join() : null,
      measured: byP.map((x) => `${x.p} ${pts(x.v)}`).join(", ") + " (mean finetune-source Δ)",
    });
  }
  // E5 source ≥ target after tuning
  {
    let wins = 0, n = 0;
    for (const r of t2.rows) {
      const a = m(r, "finetune-source"), b = m(r, "finetune-target");
      if (ok(a) && ok(b)) {
        n++;
        if (a >= b) wins++;
      }
    }
    out.push({
      id: "E5",
      expectation:
        "fine-tuned from the large source ≥ from the target in most cells (paper: 11 of 16; " +
        "our source is ~28 h, not ~3,800 h, so this may invert)",
      holds: n ? wins > n / 2 : null,
      measured: n ? `${wins} of ${n} (target, pretext) cells` : "no paired cells",
    });
  }
  // E6 the gain shrinks as labels grow
  {
    const gainAt = (pick: (k: number | null) => boolean) => {
      const v: number[] = [];
      for (const s of labels.filter((x) => x.setting === "finetune-source")) {
        const b = labels.find((x) =>
          x.target === s.target && x.pretext === s.pretext && x.setting === "baseline"
        );
        if (!b) continue;
        for (const p of s.points) {
          const q = b.points.find((x) => x.perClass === p.perClass);
          if (pick(p.perClass) && q && ok(p.mean) && ok(q.mean)) v.push(p.mean - q.mean);
        }
      }
      return mean(v);
    };
    const low = gainAt((k) => k !== null && k <= 10), high = gainAt((k) => k === null || k >= 50);
    out.push({
      id: "E6",
      expectation:
        "the fine-tuning gain over the baseline is largest at 2–10 labelled windows per class " +
        `and shrinks (by ≥ ${E6_MARGIN_POINTS} points) at 50–100 and the full data`,
      holds: ok(low) && ok(high) ? low - high >= E6_MARGIN_POINTS : null,
      measured: `finetune-source − baseline: ${ok(low) ? pts(low) : "–"} at ≤ 10 per class, ` +
        `${ok(high) ? pts(high) : "–"} at ≥ 50 and full` +
        (ok(low) && ok(high) && Math.abs(low - high) < E6_MARGIN_POINTS
          ? ` (a difference under ${E6_MARGIN_POINTS} points, the run-to-run noise: no difference)`
          : ""),
    });
  }
  // E7 stopping point
  {
    const gap = (p: DontFreezePretextName) =>
      mean(
        t1.filter((r) => r.pretext === p).map((r) =>
          (r.ours.best?.mean ?? NaN) - (r.ours.last?.mean ?? NaN)
        ).filter(ok),
      );
    // best = last epoch: the two checkpoints are the same weights (the validation loss never rose)
    const sameWeights = (p: DontFreezePretextName) => {
      const r = stoppingPretexts.find((x) => x.pretext === p);
      return r !== undefined && r.history.length > 0 && r.bestEpoch === r.history.length;
    };
    const cpc = gap("cpc"), mt = gap("multitask"), rec = gap("reconstruction");
    const cpcSame = sameWeights("cpc");
    const same = (["cpc", "multitask", "reconstruction"] as const).filter(sameWeights);
    out.push({
      id: "E7",
      expectation:
        "CPC's best-validation encoder beats its last-epoch one (paper: by 2–7 points); " +
        "multi-task and reconstruction barely depend on the stopping point (|best − last| < 0.5)",
      holds: ok(cpc) && !cpcSame
        ? cpc > 0 &&
          (["multitask", "reconstruction"] as const).filter((p) => !sameWeights(p)).map(gap)
            .filter(ok).every((g) => Math.abs(g) < 0.5)
        : null,
      measured:
        `best − last: cpc ${ok(cpc) ? pts(cpc) : "–"}, multitask ${ok(mt) ? pts(mt) : "–"}, ` +
        `reconstruction ${ok(rec) ? pts(rec) : "–"} (mean over targets, points)` +
        (same.length
          ? `; best epoch = last epoch for ${same.join(", ")} (the same weights: ` +
            `a difference there is fine-tuning noise${
              cpcSame ? ", and CPC never overfitted its pretext, so E7 is not measurable" : ""
            })`
          : ""),
    });
  }
  return out;
}

const fmt = (v: { mean: number; sd: number } | undefined) =>
  !v || !Number.isFinite(v.mean)
    ? "–"
    : Number.isFinite(v.sd)
    ? `${v.mean.toFixed(1)} ± ${v.sd.toFixed(1)}`
    : v.mean.toFixed(1);

/** `summary.md`: Table 2, Figure 2's numbers, Table 1, the checks and the pretexts. */
export function dontFreezeSummaryMarkdown(r: DontFreezeResults): string {
  const t = r.table2;
  const cols = t.settings;
  const c = r.cells;
  const lines = [
    `# Don't freeze (#15): scale ${r.scale}`,
    "",
    `Cells: Table 2 ${c.table2.found} of ${c.table2.expected}, labels per class ${c.labels.found} of ` +
    `${c.labels.expected}, stopping point ${c.stopping.found} of ${c.stopping.expected}.`,
    "",
    "## Table 2: macro F1 (%)",
    "",
    `Mean ± sd over the (fold, repeat) runs on the test users (runs per cell in brackets); the ` +
    `baseline of a row is its pretext's encoder architecture trained from scratch (multi-task and ` +
    `SimCLR share the TPN). Rows "↳ paper <dataset>" are §8.1 Table 2 for the dataset the target ` +
    `stands in for (§9.2), 25 runs each.`,
    "",
    `| target | pretext | ${cols.join(" | ")} |`,
    `|---|---|${cols.map(() => "---").join("|")}|`,
  ];
  const add = (xs: readonly string[]) => {
    for (const x of xs) lines.push(x);
  };
  for (const row of t.rows) {
    lines.push(
      `| ${row.target} | ${row.pretext} | ${
        cols.map((s) => `${fmt(row.ours[s])} (${row.ours[s]?.n ?? 0})`).join(" | ")
      } |`,
    );
    for (const p of row.paper) {
      lines.push(
        `| ↳ paper ${p.dataset} | ${row.pretext} | ${
          cols.map((s) => fmt(p.values[s])).join(" | ")
        } |`,
      );
    }
  }
  if (r.labels.length) {
    const ks = r.labels[0].points.map((p) => p.perClass === null ? "all" : String(p.perClass));
    add([
      "",
      "## Figure 2: macro F1 (%) against labelled windows per class",
      "",
      `| target | pretext | setting | ${ks.join(" | ")} |`,
      `|---|---|---|${ks.map(() => "---").join("|")}|`,
      ...r.labels.map((s) =>
        `| ${s.target} | ${s.pretext} | ${s.setting} | ${s.points.map(fmt).join(" | ")} |`
      ),
    ]);
  }
  if (r.table1.length) {
    lines.push(
      "",
      "## Table 1: the fine-tuned source encoder by stopping point, macro F1 (%)",
      "",
      "| target | pretext | before pretext | best validation | last epoch |",
      "|---|---|---|---|---|",
    );
    for (const row of r.table1) {
      lines.push(
        `| ${row.target} | ${row.pretext} | ${
          STOPPING_POINTS.map((p) => fmt(row.ours[p])).join(" | ")
        } |`,
      );
      for (const p of row.paper) {
        lines.push(
          `| ↳ paper ${p.dataset} | ${row.pretext} | ${
            STOPPING_POINTS.map((q) => fmt(p.values[q])).join(" | ")
          } |`,
        );
      }
    }
  }
  add([
    "",
    "## The paper's findings (§9.3)",
    "",
    "| | expectation | holds | measured |",
    "|---|---|---|---|",
    ...r.expectations.map((e) =>
      `| ${e.id} | ${e.expectation} | ${
        e.holds === null ? "–" : e.holds ? "yes" : "no"
      } | ${e.measured} |`
    ),
    "",
    "## Pretexts on the source",
    "",
    "| pretext | run | configuration | epochs | best epoch | best val loss | last val loss | fit s |",
    "|---|---|---|---|---|---|---|---|",
    ...r.pretexts.map((p) =>
      `| ${p.pretext} | ${p.on} | c${p.config} | ${p.epochs} | ${p.bestEpoch} | ${
        p.bestValLoss.toFixed(4)
      } | ${Number.isFinite(p.lastValLoss) ? p.lastValLoss.toFixed(4) : "–"} | ${
        p.fitSec.toFixed(0)
      } |`
    ),
  ]);
  if (r.convergence.some((x) => x.cells)) {
    add([
      "",
      "## Downstream convergence (Table 2 cells)",
      "",
      "A best validation epoch in the last 10 % of the epochs and a training loss still falling over the last " +
      "quarter mean the classifier stopped at its step budget, still learning.",
      "",
      "| setting | cells | median epochs | best epoch in the last 10 % | last / 75 % training loss (median) |",
      "|---|---|---|---|---|",
      ...r.convergence.map((x) =>
        `| ${x.setting} | ${x.cells} | ${
          Number.isFinite(x.medianEpochs) ? x.medianEpochs : "–"
        } | ${Number.isFinite(x.lateBest) ? `${(100 * x.lateBest).toFixed(0)} %` : "–"} | ${
          Number.isFinite(x.lastQuarterLossRatio) ? x.lastQuarterLossRatio.toFixed(2) : "–"
        } |`
      ),
    ]);
  }
  if (r.search.length) {
    add([
      "",
      "## Search (§4.1: lowest validation loss wins)",
      "",
      "| pretext | candidate | lr | weight decay | batch | K | τ | epochs | best val loss |",
      "|---|---|---|---|---|---|---|---|---|",
      ...r.search.map((s) =>
        `| ${s.pretext} | c${s.index} | ${s.config.lr} | ${s.config.weightDecay} | ${s.config.batchSize} | ${
          s.pretext === "cpc" ? s.config.cpcSteps : "–"
        } | ${s.pretext === "simclr" ? s.config.temperature : "–"} | ${s.epochs} | ${
          Number.isFinite(s.bestValLoss) ? s.bestValLoss.toFixed(4) : "diverged"
        } |`
      ),
    ]);
  }
  if (r.targetPretexts.length) {
    add([
      "",
      "## Pretexts on the targets' training users (per fold)",
      "",
      "| target | pretext | runs | mean best epoch | mean fit s |",
      "|---|---|---|---|---|",
      ...r.targetPretexts.map((p) =>
        `| ${p.target} | ${p.pretext} | ${p.runs} | ${p.meanBestEpoch.toFixed(1)} | ${
          p.meanFitSec.toFixed(0)
        } |`
      ),
    ]);
  }
  lines.push("");
  return lines.join("\n");
}
