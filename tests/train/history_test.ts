import { assertEquals } from "@std/assert";
import { HISTORY_COLUMNS, historyRows, historyTable } from "../../lib/train/history.ts";

Deno.test("history table has the documented columns and round-trips rows", () => {
  const rows = [
    { epoch: 1, trainLoss: 1.2, valLoss: 1.1, valF1: 0.4, lr: 1e-3, seconds: 2.5 },
    { epoch: 2, trainLoss: 0.9, valLoss: NaN, valF1: NaN, lr: 5e-4, seconds: 2.4 },
  ];
  const t = historyTable(rows);
  assertEquals(t.columnNames(), [...HISTORY_COLUMNS]);
  assertEquals(t.numRows(), 2);
  assertEquals(t.array("trainLoss"), [1.2, 0.9]);
  assertEquals(historyRows(t), rows);
});
