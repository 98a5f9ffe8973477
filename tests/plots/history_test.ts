import { assert, assertEquals } from "@std/assert";
import { plotHistory } from "../../lib/plots/history.ts";
import { historyTable } from "../../lib/train/history.ts";

const ROWS = [
  { epoch: 1, trainLoss: 1.2, valLoss: 1.1, valF1: 0.4, lr: 1e-3, seconds: 2.5 },
  { epoch: 2, trainLoss: 0.9, valLoss: 1.0, valF1: 0.5, lr: 5e-4, seconds: 2.4 },
];

Deno.test("plotHistory: loss traces on y, F1 on y2, from a table or rows", () => {
  const fig = plotHistory(historyTable(ROWS), { markEpoch: 2 });
  assertEquals(fig.data.map((t) => t.name), [
    "train loss",
    "validation loss",
    "validation macro F1",
  ]);
  assertEquals(fig.data[0].x, [1, 2]);
  assertEquals(fig.data[1].y, [1.1, 1.0]);
  assertEquals(fig.data[2].yaxis, "y2");
  assertEquals((fig.layout.yaxis2 as { range: number[] }).range, [0, 1]);
  assertEquals(fig.layout.shapes?.[0].x0, 2);
  assertEquals(plotHistory(ROWS).data.length, 3);
  JSON.stringify(fig); // serialisable for display/export
});

Deno.test("plotHistory without validation: one trace; NaN becomes null; optional lr axis", () => {
  const rows = ROWS.map((r) => ({ ...r, valLoss: NaN, valF1: NaN }));
  const fig = plotHistory(rows);
  assertEquals(fig.data.length, 1);
  assert(!("yaxis2" in fig.layout));
  const withLr = plotHistory(rows, { showLr: true });
  assertEquals(withLr.data[1].y, [1e-3, 5e-4]);
  assertEquals((withLr.layout.yaxis3 as { type: string }).type, "log");
  const gap = plotHistory([{ ...ROWS[0], trainLoss: NaN }]);
  assertEquals(gap.data[0].y, [null]);
});
