// The human-facing summaries carry a per-class report (scikit-learn's classification_report)
// of the pooled predictions under the summary table; machine keys stay in JSON/CSV.
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { scoreRun } from "../../lib/eval/run_result.ts";
import { yuanMarkdown, yuanRows, yuanTable } from "../../lib/experiments/yuan/results.ts";
import { yuanSpec } from "../../lib/experiments/yuan/spec.ts";

const classes = ["walk", "sit"];
const run = (setting: string, fold: string, yPred: number[]) =>
  scoreRun({
    yTrue: [0, 0, 1, 1],
    yPred,
    subject: ["a", "a", "b", "b"],
    classes,
    benchmark: "adl5",
    setting,
    protocol: "loso",
    fold,
    seed: 0,
  });

Deno.test("yuanMarkdown: human headers, per-class report per setting from the predictions", () => {
  const spec = yuanSpec("smoke");
  const outcomes = [run("scratch", "loso/a", [0, 1, 1, 1]), run("scratch", "loso/b", [0, 0, 1, 0])];
  const rows = yuanRows(outcomes, spec);
  const md = yuanMarkdown(rows, spec, "", outcomes);
  assertStringIncludes(md, "| dataset | protocol | setting | folds | test subjects | F1 macro |");
  assert(!md.includes("| f1Macro |") && !md.includes("f1FoldMean"), "no machine keys for people");
  assertStringIncludes(md, "## Per class");
  assertStringIncludes(md, "### adl5 · scratch: per class (all test predictions, 2 folds)");
  // pooled: walk true 4× (predicted right 3×), sit true 4× (right 3×)
  assertStringIncludes(md, "| walk | 0.750 | 0.750 | 0.750 | 4 |");
  assertStringIncludes(md, "| **accuracy** |  |  | 0.750 | 8 |");
  // without stored predictions: no report, the rest unchanged
  const bare = outcomes.map((o) => ({ ...o, predictions: undefined }));
  assert(!yuanMarkdown(rows, spec, "", bare).includes("Per class"));
  assertEquals(yuanMarkdown(rows, spec), yuanMarkdown(rows, spec, "", bare));
  // the CSV keeps its machine keys
  assertStringIncludes(yuanTable(rows).toCSV().split("\n")[0], "f1Macro,kappa,f1FoldMean");
});
