import { assert, assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import { ConfigError } from "../../lib/errors.ts";
import {
  type Fold,
  labelsPerClass,
  leaveOneSubjectOut,
  nSubjects,
  subjectKFold,
  subjectShuffleSplit,
} from "../../lib/data/splits.ts";
import { rng } from "../../lib/signal/random.ts";

/** 46 subjects with 3..7 windows each, interleaved. */
const SUBJECTS: string[] = [];
for (let rep = 0; rep < 7; rep++) {
  for (let s = 0; s < 46; s++) if (rep < 3 + (s % 5)) SUBJECTS.push(`${1600 + s}`);
}

function checkFold(f: Fold, subjects: string[]): void {
  const tr = new Set(f.train), va = new Set(f.val), te = new Set(f.test);
  for (const i of f.val) assert(!tr.has(i) && !te.has(i), "val overlaps train/test");
  for (const i of f.test) assert(!tr.has(i), "test overlaps train");
  assertEquals(tr.size + va.size + te.size, subjects.length); // every window in exactly one part
  const subj = (idx: Int32Array) => new Set(Array.from(idx, (i) => subjects[i]));
  const trs = subj(f.train), vas = subj(f.val), tes = subj(f.test);
  for (const s of tes) assert(!trs.has(s) && !vas.has(s), `test subject ${s} in train/val`);
  for (const s of vas) assert(!trs.has(s), `val subject ${s} in train`);
  assertEquals([...tes].sort(), f.testSubjects);
  assertEquals([...vas].sort(), f.valSubjects);
  assertEquals([...trs].sort(), f.trainSubjects);
}

Deno.test("subjectKFold: 5 folds, each subject tested once, 7:1:2 by subject, seeded", () => {
  const folds = subjectKFold(SUBJECTS, { k: 5, seed: 42 });
  assertEquals(folds.length, 5);
  const tested = folds.flatMap((f) => f.testSubjects).sort();
  assertEquals(tested, [...new Set(SUBJECTS)].sort());
  for (const f of folds) {
    checkFold(f, SUBJECTS);
    assert(f.testSubjects.length === 9 || f.testSubjects.length === 10);
    // ceil(0.125 × 36 or 37) = 5 validation subjects
    assertEquals(f.valSubjects.length, 5);
  }
  assertEquals(subjectKFold(SUBJECTS, { k: 5, seed: 42 }), folds);
  assertNotEquals(
    subjectKFold(SUBJECTS, { k: 5, seed: 43 })[0].testSubjects,
    folds[0].testSubjects,
  );
  assertThrows(
    () => subjectKFold(["a", "b"], { k: 5, seed: 1 }),
    ConfigError,
    "2 subjects for 5 folds",
  );
});

Deno.test("leaveOneSubjectOut: one fold per subject; val = first other subject, or seeded", () => {
  const subs = ["m2", "f1", "f1", "m1", "f2", "m2", "f3", "m3", "m4", "f1"];
  const folds = leaveOneSubjectOut(subs);
  assertEquals(folds.map((f) => f.testSubjects[0]), ["f1", "f2", "f3", "m1", "m2", "m3", "m4"]);
  for (const f of folds) checkFold(f, subs);
  assertEquals(folds[0].valSubjects, ["f2"]); // ssl-wearables: first remaining group
  assertEquals(folds[1].valSubjects, ["f1"]);
  assertEquals(Array.from(folds[0].test), [1, 2, 9]);
  const seeded = leaveOneSubjectOut(subs, { seed: 3 });
  const rest = ["f2", "f3", "m1", "m2", "m3", "m4"];
  assertEquals(seeded[0].valSubjects, [rng(3).shuffle([...rest])[0]]); // same PRNG as lib/signal/random
  assertEquals(leaveOneSubjectOut(subs, { valSubjects: 0 })[0].val.length, 0);
  assertThrows(() => leaveOneSubjectOut(["a", "b"]), ConfigError, "at least 3");
});

Deno.test("subjectShuffleSplit: GroupShuffleSplit sizes (ceil), disjoint parts", () => {
  const folds = subjectShuffleSplit(SUBJECTS, { seed: 42 });
  assertEquals(folds.length, 5);
  for (const f of folds) {
    checkFold(f, SUBJECTS);
    assertEquals(f.testSubjects.length, 10); // ceil(0.2 × 46)
    assertEquals(f.valSubjects.length, 5); // ceil(0.125 × 36)
    assertEquals(f.trainSubjects.length, 31);
  }
});

Deno.test("labelsPerClass: k per class from the candidates, seeded, never unlabelled", () => {
  const y = Int32Array.from({ length: 100 }, (_, i) => (i % 10 === 9 ? -1 : i % 3));
  const pick = labelsPerClass(y, 5, { seed: 1 });
  assertEquals(pick.length, 15);
  for (let c = 0; c < 3; c++) assertEquals(Array.from(pick).filter((i) => y[i] === c).length, 5);
  assert(Array.from(pick).every((i) => y[i] >= 0));
  assertEquals(labelsPerClass(y, 5, { seed: 1 }), pick);
  assertNotEquals(labelsPerClass(y, 5, { seed: 2 }), pick);
  const cand = [0, 1, 2, 3, 4, 5];
  const few = labelsPerClass(y, 10, { seed: 1, indices: cand });
  assertEquals(Array.from(few), cand); // fewer than k per class → all of them
});

Deno.test("nSubjects: windows of n subjects among the candidates", () => {
  const folds = subjectKFold(SUBJECTS, { k: 5, seed: 7 });
  const idx = nSubjects(SUBJECTS, 4, { seed: 3, indices: folds[0].train });
  const subs = new Set(Array.from(idx, (i) => SUBJECTS[i]));
  assertEquals(subs.size, 4);
  for (const s of subs) assert(folds[0].trainSubjects.includes(s));
  // all windows of the chosen subjects within the candidates
  assertEquals(idx.length, Array.from(folds[0].train).filter((i) => subs.has(SUBJECTS[i])).length);
  assertThrows(() => nSubjects(SUBJECTS, 100, { seed: 1 }), ConfigError, "n must be");
});
