import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { scoreBySubject } from "../../lib/eval/subjects.ts";
import { cohenKappa, f1Score } from "../../lib/eval/metrics.ts";

Deno.test("scoreBySubject: one row per subject, sorted, each scored on its own windows", () => {
  const yTrue = [0, 1, 1, 0, 2, 2, 1];
  const yPred = [0, 1, 0, 0, 2, 1, 1];
  const subj = ["b", "b", "a", "a", "b", "a", "c"];
  const rows = scoreBySubject(yTrue, yPred, subj);
  assertEquals(rows.map((r) => r.subject), ["a", "b", "c"]);
  assertEquals(rows.map((r) => r.n), [3, 3, 1]);
  const a = [2, 3, 5];
  assertAlmostEquals(
    rows[0].f1Macro,
    f1Score(a.map((i) => yTrue[i]), a.map((i) => yPred[i])),
    1e-12,
  );
  assertEquals(rows[1].f1Macro, 1);
  assertEquals(rows[1].kappa, 1);
  assertEquals(rows[2].f1Macro, 1);
  assertEquals(Number.isNaN(rows[2].kappa), Number.isNaN(cohenKappa([1], [1])));
  assertThrows(() => scoreBySubject([0], [0, 1], ["a"]), RangeError);
});
