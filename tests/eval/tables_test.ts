import { assert, assertAlmostEquals, assertEquals, assertStringIncludes } from "@std/assert";
import * as aq from "arquero";
import {
  classificationReport,
  classificationReportMarkdown,
  columnLabel,
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
    "| dataset | protocol | method | folds | F1 macro | Cohen's kappa | published F1 |",
  );
  // machine keys on request; the CSV keeps them
  assertStringIncludes(
    toMarkdown(t, { labels: false }),
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

Deno.test("columnLabel: human headers for machine keys; the table keys stay", () => {
  assertEquals(columnLabel("f1Macro"), "F1 macro");
  assertEquals(columnLabel("kappa"), "Cohen's kappa");
  assertEquals(columnLabel("f1Macro_ci"), "pooled F1 [95 % CI]");
  assertEquals(columnLabel("kappa_ci"), "pooled kappa [95 % CI]");
  assertEquals(columnLabel("f1PooledCi95"), "pooled F1 [95 % CI]");
  assertEquals(columnLabel("subjects"), "test subjects");
  assertEquals(columnLabel("windowsPerClass"), "windows per class");
  const t = summaryTable(results);
  assertEquals(t.columnNames().slice(0, 5), ["dataset", "protocol", "method", "folds", "f1Macro"]);
  const md = toMarkdown(t, { labels: { folds: "splits" } });
  assertStringIncludes(md.split("\n")[0], "| splits | F1 macro |");
  for (const key of ["f1Macro", "f1PooledCi95", "f1Macro_ci"]) {
    assert(!toMarkdown(aq.from([{ [key]: 1 }])).includes(key), `${key} shown to people`);
  }
});

Deno.test("summaryTable unit 'subject': a test-subjects count, never 'folds 43'", () => {
  const perSubject = ["s1", "s2", "s3", "s4"].map((s, i) => ({
    dataset: "wisdm",
    protocol: "kfold2",
    method: "rf",
    fold: s,
    f1Macro: 0.5 + i / 10,
    kappa: 0.4,
  }));
  const row = summaryTable(perSubject, { unit: "subject" }).objects()[0] as Record<string, unknown>;
  assertEquals(row.subjects, 4);
  assert(!("folds" in row), "no folds column counting subjects");
  assertStringIncludes(
    toMarkdown(summaryTable(perSubject, { unit: "subject" })),
    "| test subjects |",
  );
});

Deno.test("classificationReport: scikit-learn's classification_report numbers", () => {
  // sklearn.metrics.classification_report([0,0,1,1,2,2,2], [0,1,1,1,2,0,2], output_dict=True)
  const yTrue = [0, 0, 1, 1, 2, 2, 2], yPred = [0, 1, 1, 1, 2, 0, 2];
  const r = classificationReport(yTrue, yPred, ["a", "b", "c"]);
  const near = (x: number, y: number) => assertAlmostEquals(x, y, 1e-12);
  near(r[0].precision, 0.5), near(r[0].recall, 0.5), near(r[0].f1, 0.5);
  near(r[1].precision, 2 / 3), near(r[1].recall, 1), near(r[1].f1, 0.8);
  near(r[2].precision, 1), near(r[2].recall, 2 / 3), near(r[2].f1, 0.8);
  assertEquals(r.map((x) => x.support), [2, 2, 3, 7, 7, 7]);
  assertEquals(r.slice(3).map((x) => x.label), ["accuracy", "macro avg", "weighted avg"]);
  near(r[3].f1, 5 / 7);
  near(r[4].precision, (0.5 + 2 / 3 + 1) / 3);
  near(r[4].f1, (0.5 + 0.8 + 0.8) / 3);
  near(r[5].f1, (0.5 * 2 + 0.8 * 2 + 0.8 * 3) / 7);
  // a class never true nor predicted: zeros, support 0 (zero_division=0)
  const z = classificationReport([0, 0], [0, 0], ["a", "b"]);
  assertEquals([z[1].precision, z[1].recall, z[1].f1, z[1].support], [0, 0, 0, 0]);
  const md = classificationReportMarkdown(yTrue, yPred, ["a", "b|c", "d"]);
  const lines = md.trim().split("\n");
  assertEquals(lines[0], "| class | precision | recall | F1 | support |");
  assertEquals(lines[2], "| a | 0.500 | 0.500 | 0.500 | 2 |");
  assertStringIncludes(lines[3], "b\\|c");
  assertEquals(lines[5], "| **accuracy** |  |  | 0.714 | 7 |");
  assertEquals(lines.length, 2 + 6);
});
