import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { join } from "node:path";
import { EarlyStopping, macroF1 } from "../../lib/train/early_stopping.ts";
import { ConfigError } from "../../lib/errors.ts";
import { oracle } from "../_helpers.ts";

Deno.test("macroF1 on hand cases (sklearn semantics)", () => {
  // sklearn f1_score([0,1,2,2],[0,2,2,2], average='macro') = 0.6
  assertAlmostEquals(macroF1([0, 1, 2, 2], [0, 2, 2, 2]), 0.6, 1e-12);
  assertEquals(macroF1([1, 1], [1, 1]), 1);
  // a predicted-only label counts with F1 0
  assertAlmostEquals(macroF1([0, 0], [0, 1]), (2 / 3 + 0) / 2, 1e-12);
  assertAlmostEquals(macroF1([0, -1, 1], [0, 1, 1]), 1, 1e-12); // unlabelled skipped
  assertThrows(() => macroF1([0], [0, 1]), ConfigError, "2 predictions");
});

Deno.test("macroF1 matches scikit-learn oracle cases", async () => {
  const dir = oracle("metrics");
  if (!dir) return;
  const cases = JSON.parse(await Deno.readTextFile(join(dir, "cases.json"))) as {
    labels: number[];
    y_true: number[];
    y_pred: number[];
    f1_macro: number;
  }[];
  let checked = 0;
  for (const c of cases) {
    const present = new Set([...c.y_true, ...c.y_pred]);
    if (present.size !== c.labels.length) continue; // oracle used an explicit label set
    assertAlmostEquals(macroF1(c.y_true, c.y_pred), c.f1_macro, 1e-12);
    checked++;
  }
  assertEquals(checked > 0, true);
});

Deno.test("early stopping on loss: patience counts epochs without improvement", () => {
  const es = new EarlyStopping({ monitor: "valLoss", patience: 2, minDelta: 0.01 });
  const seq = [1.0, 0.8, 0.795, 0.9, 0.7, 0.75, 0.71];
  const out = seq.map((v, i) => es.update(v, i));
  assertEquals(out.map((o) => o.improved), [true, true, false, false, true, false, false]);
  assertEquals(out.map((o) => o.stop), [false, false, false, true, false, false, true]);
  assertEquals(es.bestEpoch, 4);
  assertEquals(es.best, 0.7);
});

Deno.test("early stopping on F1 maximises; state round-trips", () => {
  const es = new EarlyStopping({ monitor: "valF1", patience: 3 });
  es.update(0.5, 0);
  es.update(0.7, 1);
  es.update(0.6, 2);
  const copy = new EarlyStopping({ monitor: "valF1", patience: 3 });
  copy.setState(JSON.parse(JSON.stringify(es.getState())));
  assertEquals(copy.getState(), { best: 0.7, bestEpoch: 1, wait: 1 });
  assertEquals(copy.update(0.65, 3).stop, false);
  assertEquals(copy.update(0.69, 4).stop, true);
  // any record key can be monitored; the mode follows the name unless given
  assertEquals(new EarlyStopping({ monitor: "val/aot/acc" }).mode, "max");
  assertEquals(new EarlyStopping({ monitor: "val/recon/loss" }).mode, "min");
  const m = new EarlyStopping({ monitor: "val/err", mode: "min", patience: 1 });
  m.update(0.5, 0);
  assertEquals(m.update(0.4, 1).improved, true);
  // deno-lint-ignore no-explicit-any
  assertThrows(() => new EarlyStopping({ monitor: "" as any }), ConfigError, "monitor");
  // deno-lint-ignore no-explicit-any
  assertThrows(() => new EarlyStopping({ monitor: "x", mode: "up" as any }), ConfigError, "mode");
});
