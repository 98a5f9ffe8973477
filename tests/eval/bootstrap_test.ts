import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { meanSd, percentile, subjectBootstrap } from "../../lib/eval/bootstrap.ts";
import { accuracy, cohenKappa, f1Score } from "../../lib/eval/metrics.ts";
import { ConfigError } from "../../lib/errors.ts";

Deno.test("percentile matches NumPy linear interpolation", () => {
  const s = [1, 2, 3, 4];
  assertEquals(percentile(s, 0), 1);
  assertEquals(percentile(s, 1), 4);
  assertAlmostEquals(percentile(s, 0.5), 2.5, 1e-12);
  assertAlmostEquals(percentile(s, 0.025), 1.075, 1e-12);
  assert(Number.isNaN(percentile([], 0.5)));
});

Deno.test("meanSd: sample sd by default, NaN ignored", () => {
  assertEquals(meanSd([1, 2, 3]), { mean: 2, sd: 1, n: 3 });
  assertAlmostEquals(meanSd([1, 2, 3], { ddof: 0 }).sd, Math.sqrt(2 / 3), 1e-12);
  assertEquals(meanSd([1, NaN, 3]).n, 2);
  assert(Number.isNaN(meanSd([5]).sd));
  assert(Number.isNaN(meanSd([]).mean));
});

function subjects(accs: number[], perSubject = 50) {
  // subject s gets accs[s] of its windows right (deterministic pattern).
  const yTrue: number[] = [], yPred: number[] = [], subject: string[] = [];
  accs.forEach((a, s) => {
    for (let i = 0; i < perSubject; i++) {
      const y = i % 3;
      yTrue.push(y);
      yPred.push(i < a * perSubject ? y : (y + 1) % 3);
      subject.push(`s${s}`);
    }
  });
  return { yTrue, yPred, subject };
}

Deno.test("subjectBootstrap: interval brackets the estimate, seeded, subject-level", () => {
  const preds = subjects([0.5, 0.6, 0.7, 0.8, 0.9, 1.0]);
  const ci = subjectBootstrap(preds, (t, p) => accuracy(t, p), { nBoot: 400, seed: 3 });
  assertAlmostEquals(ci.estimate, 0.75, 1e-12);
  assertEquals(ci.nSubjects, 6);
  assertEquals(ci.nValid, 400);
  assert(ci.low < ci.estimate && ci.estimate < ci.high, `${ci.low} ${ci.estimate} ${ci.high}`);
  // replicates are means of 6 drawn subject accuracies: bounded by the extremes
  assert(ci.low >= 0.5 && ci.high <= 1.0);
  // the sd of a 6-subject mean of accuracies with sd≈0.187 is ≈0.076: a 95% CI ≈ ±0.15
  assert(ci.high - ci.low > 0.15 && ci.high - ci.low < 0.45, `width ${ci.high - ci.low}`);
  const again = subjectBootstrap(preds, (t, p) => accuracy(t, p), { nBoot: 400, seed: 3 });
  assertEquals(again.samples, ci.samples);
  const other = subjectBootstrap(preds, (t, p) => accuracy(t, p), { nBoot: 400, seed: 4 });
  assert(JSON.stringify(Array.from(other.samples)) !== JSON.stringify(Array.from(ci.samples)));
  // identical subjects: no spread at all
  const flat = subjectBootstrap(subjects([0.8, 0.8, 0.8]), (t, p) => f1Score(t, p), { nBoot: 50 });
  assertAlmostEquals(flat.high - flat.low, 0, 1e-12);
});

Deno.test("subjectBootstrap drops undefined replicates and checks input", () => {
  // one-class subjects: kappa is NaN on some resamples.
  const preds = { yTrue: [0, 0, 1, 1], yPred: [0, 0, 1, 0], subject: ["a", "a", "b", "b"] };
  const ci = subjectBootstrap(preds, (t, p) => cohenKappa(t, p), { nBoot: 200, seed: 1 });
  assert(ci.nValid < 200 && ci.nValid > 0, `nValid ${ci.nValid}`);
  for (const v of ci.samples) assert(Number.isFinite(v));
  assertThrows(
    () => subjectBootstrap({ yTrue: [0], yPred: [0, 1], subject: ["a"] }, accuracy),
    ConfigError,
  );
  assertThrows(
    () => subjectBootstrap({ yTrue: [], yPred: [], subject: [] }, accuracy),
    ConfigError,
  );
});
