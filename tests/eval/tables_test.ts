import { assert, assertAlmostEquals, assertEquals, assertStringIncludes } from "@std/assert";
import {
  type FoldResult,
  formatMeanSd,
  resultsTable,
  summaryTable,
  toCsv,
  toMarkdown,
  writeCsv,
} from "../../lib/eval/tables.ts";
import { tempDir } from "../_helpers.ts";

const results: FoldResult[] = [
  { dataset: "adl", protocol: "loso", method: "rf", fold: 0, f1Macro: 0.7, kappa: 0.6 },
  { dataset: "adl", protocol: "loso", method: "rf", fold: 1, f1Macro: 0.8, kappa: 0.7 },
  { dataset: "adl", protocol: "loso", method: "rf", fold: 2, f1Macro: 0.9, kappa: 0.8 },
  { dataset: "wisdm", protocol: "kfold5", method: "rf", fold: 0, f1Macro: 0.5, kappa: 0.4 },
];

Deno.test("summaryTable: mean ± sd per group, published column", () => {
  const t = summaryTable(results, {
    published: [{ dataset: "adl", method: "rf", f1Macro: 0.764 }],
  });
  assertEquals(t.numRows(), 2);
  const rows = t.objects() as Record<string, unknown>[];
  assertEquals(rows[0].dataset, "adl");
  assertEquals(rows[0].folds, 3);
  assertAlmostEquals(rows[0].f1Macro_mean as number, 0.8, 1e-12);
  assertAlmostEquals(rows[0].f1Macro_sd as number, 0.1, 1e-12);
  assertEquals(rows[0].f1Macro, "0.800 ± 0.100");
  assertEquals(rows[0].published, "0.764");
  assertEquals(rows[1].published, "");
  assertEquals(rows[1].f1Macro, "0.500"); // one fold: no sd
  assertEquals(formatMeanSd(NaN, NaN), "—");
});

Deno.test("toMarkdown hides helper columns; CSV round trip; atomic write", async () => {
  const t = summaryTable(results, {
    published: [{ method: "rf", f1Macro: 0.711, protocol: "kfold5" }],
  });
  const md = toMarkdown(t);
  const lines = md.trim().split("\n");
  assertEquals(lines.length, 4);
  assertStringIncludes(
    lines[0],
    "| dataset | protocol | method | folds | f1Macro | kappa | published |",
  );
  assertStringIncludes(md, "0.800 ± 0.100");
  assert(!md.includes("_mean"));
  const csv = toCsv(t);
  assertStringIncludes(csv.split("\n")[0], "f1Macro_mean");
  const { path, cleanup } = await tempDir();
  try {
    await writeCsv(t, `${path}/sub/summary.csv`);
    assertEquals(await Deno.readTextFile(`${path}/sub/summary.csv`), csv);
    const left = [...Deno.readDirSync(`${path}/sub`)].map((e) => e.name);
    assertEquals(left, ["summary.csv"]);
  } finally {
    await cleanup();
  }
  assertEquals(resultsTable(results).numRows(), 4);
});
