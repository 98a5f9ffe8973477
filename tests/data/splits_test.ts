import { assert, assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import { ConfigError } from "../../lib/errors.ts";
import {
  type Fold,
  type FoldPlan,
  labelsPerClass,
  leaveOneSubjectOut,
  makeFolds,
  nSubjects,
  type ProtocolSpec,
  subjectKFold,
  subjectPartition,
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

/** Every window in at most one part; no test window in train/val; plan fields consistent. */
function checkPlan(p: FoldPlan, subjects: readonly string[], subjectDisjoint = true): void {
  const tr = new Set(p.train), va = new Set(p.val), te = new Set(p.test);
  for (const i of p.test) {
    assert(!tr.has(i) && !va.has(i), `${p.name}: test window ${i} in train/val`);
  }
  for (const i of p.val) assert(!tr.has(i), `${p.name}: val window ${i} in train`);
  const pool = new Set(p.trainPool);
  for (const i of p.train) assert(pool.has(i), `${p.name}: train window outside the pool`);
  for (const i of p.trainPool) {
    assert(!va.has(i) && !te.has(i), `${p.name}: pool overlaps val/test`);
  }
  const subj = (idx: Int32Array) => [...new Set(Array.from(idx, (i) => subjects[i]))].sort();
  assertEquals(subj(p.train), p.trainSubjects);
  assertEquals(subj(p.val), p.valSubjects);
  assertEquals(subj(p.test), p.testSubjects);
  if (subjectDisjoint) {
    for (const s of p.testSubjects) {
      assert(
        !p.valSubjects.includes(s) && !p.trainSubjects.includes(s),
        `${p.name}: test subject ${s} in train/val`,
      );
    }
    for (const s of p.valSubjects) {
      assert(!p.trainSubjects.includes(s), `${p.name}: val subject ${s} in train`);
    }
  }
}

/** Labels for SUBJECTS: class = window position within its subject mod 3 (every subject has 0, 1, 2). */
const Y = (() => {
  const seen = new Map<string, number>();
  return Int32Array.from(SUBJECTS, (s) => {
    const k = seen.get(s) ?? 0;
    seen.set(s, k + 1);
    return k % 3;
  });
})();

Deno.test("makeFolds loso: every subject tested once, val from training subjects, names", () => {
  const plans = makeFolds({ kind: "loso" }, { subject: SUBJECTS }, 5);
  const subs = [...new Set(SUBJECTS)].sort();
  assertEquals(plans.length, 46);
  assertEquals(plans.flatMap((p) => p.testSubjects), subs); // coverage, once each
  for (const p of plans) {
    checkPlan(p, SUBJECTS);
    assertEquals(p.valSubjects.length, 1);
    assertEquals(p.trainSubjects.length, 44);
    assertEquals(p.train.length + p.val.length + p.test.length, SUBJECTS.length);
    assertEquals(p.protocol, "loso");
  }
  assertEquals(plans[0].name, "loso/1600");
  assertEquals([plans[0].index, plans[0].repeat, plans[0].seed, plans[3].seed], [0, 0, 5000, 5003]);
  // random validation differs between folds' streams but is fixed by the seed
  assertEquals(makeFolds({ kind: "loso" }, { subject: SUBJECTS }, 5), plans);
  assertNotEquals(
    makeFolds({ kind: "loso" }, { subject: SUBJECTS }, 6).map((p) => p.valSubjects),
    plans.map((p) => p.valSubjects),
  );
  // valChoice "first" = leaveOneSubjectOut without a seed (ssl-wearables)
  const first = makeFolds({ kind: "loso", valChoice: "first" }, { subject: SUBJECTS }, 5);
  const old = leaveOneSubjectOut(SUBJECTS, { valSubjects: 1 });
  first.forEach((p, i) => {
    assertEquals([p.train, p.val, p.test], [old[i].train, old[i].val, old[i].test]);
  });
  // fraction of training subjects (ceil), or none
  const frac = makeFolds({ kind: "loso", valFraction: 0.1 }, { subject: SUBJECTS }, 1);
  assertEquals(frac[0].valSubjects.length, 5); // ceil(0.1 × 45)
  assertEquals(
    makeFolds({ kind: "loso", valSubjects: 0 }, { subject: SUBJECTS }, 1)[0].val.length,
    0,
  );
});

Deno.test("makeFolds subject-kfold: equals subjectKFold at the base seed; coverage; val count", () => {
  const plans = makeFolds({ kind: "subject-kfold", k: 5 }, { subject: SUBJECTS }, 42);
  const old = subjectKFold(SUBJECTS, { k: 5, seed: 42 });
  assertEquals(plans.length, 5);
  plans.forEach((p, i) => {
    checkPlan(p, SUBJECTS);
    assertEquals([p.train, p.val, p.test], [old[i].train, old[i].val, old[i].test]);
    assertEquals(p.name, `kfold5/${i}`);
  });
  assertEquals(plans.flatMap((p) => p.testSubjects).sort(), [...new Set(SUBJECTS)].sort());
  const counted = makeFolds(
    { kind: "subject-kfold", k: 4, valSubjects: 3 },
    { subject: SUBJECTS },
    1,
  );
  for (const p of counted) {
    checkPlan(p, SUBJECTS);
    assertEquals(p.valSubjects.length, 3);
  }
  const firstVal = makeFolds({ kind: "subject-kfold", k: 4, valChoice: "first", valSubjects: 2 }, {
    subject: SUBJECTS,
  }, 1);
  for (const p of firstVal) {
    const rest = [...p.trainSubjects, ...p.valSubjects].sort();
    assertEquals(p.valSubjects, rest.slice(0, 2));
  }
  assertEquals(
    makeFolds({ kind: "subject-kfold", maxFolds: 2 }, { subject: SUBJECTS }, 42).length,
    2,
  );
});

Deno.test("makeFolds repeats: same test subjects, new validation and budget draws per seed", () => {
  const spec: ProtocolSpec = { kind: "subject-kfold", k: 5, repeats: 3, labelsPerClass: 2 };
  const plans = makeFolds(spec, { subject: SUBJECTS, y: Y }, 42);
  assertEquals(plans.length, 15);
  assertEquals(plans.map((p) => p.repeat), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
  assertEquals(plans.map((p) => p.repeatSeed).filter((_, i) => i % 5 === 0), [42, 43, 44]);
  assertEquals(plans[6].name, "kfold5+2perclass/1/r1");
  assertEquals(plans[6].seed, 43 * 1000 + 1);
  for (let f = 0; f < 5; f++) {
    assertEquals(plans[5 + f].testSubjects, plans[f].testSubjects);
    assertEquals(plans[10 + f].testSubjects, plans[f].testSubjects);
  }
  for (const p of plans) checkPlan(p, SUBJECTS);
  assertNotEquals(
    plans.slice(5, 10).map((p) => p.valSubjects),
    plans.slice(0, 5).map((p) => p.valSubjects),
  );
  assertNotEquals(plans[5].train, plans[0].train);
  // repeat 0 at the base seed keeps subjectKFold's validation draw
  assertEquals(plans[0].valSubjects, subjectKFold(SUBJECTS, { k: 5, seed: 42 })[0].valSubjects);
  const explicit = makeFolds({ ...spec, repeats: undefined, seeds: [7, 9] }, {
    subject: SUBJECTS,
    y: Y,
  }, 42);
  assertEquals(explicit.map((p) => p.repeatSeed).filter((_, i) => i % 5 === 0), [7, 9]);
  assertEquals(explicit[0].testSubjects, plans[0].testSubjects); // partition from the base seed
});

Deno.test("makeFolds budgets: k labelled windows per class and n labelled subjects, on train only", () => {
  const data = { subject: SUBJECTS, y: Y };
  const plans = makeFolds({ kind: "loso", labelsPerClass: 3, labelledSubjects: 3 }, data, 3);
  for (const p of plans.slice(0, 10)) {
    checkPlan(p, SUBJECTS);
    assert(p.trainSubjects.length <= 3); // windows drawn from the 3 labelled subjects
    assertEquals(p.train.length, 9); // 3 per class × 3 classes (every subject has each class)
    for (let c = 0; c < 3; c++) {
      assertEquals(Array.from(p.train).filter((i) => Y[i] === c).length, 3);
    }
    assertEquals(p.trainPool.length + p.val.length + p.test.length, SUBJECTS.length);
    assertEquals(p.protocol, "loso+3subjects+3perclass");
  }
  const subj = makeFolds({ kind: "subject-kfold", labelledSubjects: 5 }, data, 3);
  for (const p of subj) {
    assertEquals(p.trainSubjects.length, 5);
    const chosen = new Set(p.trainSubjects);
    assertEquals(
      p.train.length,
      Array.from(p.trainPool).filter((i) => chosen.has(SUBJECTS[i])).length,
    );
  }
  // 3 subjects have at most 3 × 3 windows of a class: 100 per class is more than there is
  assertThrows(
    () => makeFolds({ kind: "loso", labelsPerClass: 100, labelledSubjects: 3 }, data, 3),
    ConfigError,
    "class 0 has only",
  );
  const fewer = makeFolds(
    { kind: "loso", labelsPerClass: 100, labelledSubjects: 3, allowFewerLabels: true },
    data,
    3,
  );
  assertEquals(fewer[0].train, fewer[0].train.filter((i) => Y[i] >= 0));
  assertEquals(
    fewer[0].train.length,
    Array.from(fewer[0].trainPool).filter((i) => fewer[0].trainSubjects.includes(SUBJECTS[i]))
      .length,
  );
  assertThrows(
    () => makeFolds({ kind: "loso", labelledSubjects: 45 }, data, 3),
    ConfigError,
    "labelledSubjects 45 > 44",
  );
  assertThrows(
    () => makeFolds({ kind: "loso", labelsPerClass: 2 }, { subject: SUBJECTS }, 3),
    ConfigError,
    "needs data.y",
  );
});

/** 30 subjects with very different durations (windows), 1..60 windows. */
const UNEVEN: string[] = [];
for (let s = 0; s < 30; s++) for (let w = 0; w < 1 + ((s * 17) % 60); w++) UNEVEN.push(`s${s}`);

Deno.test("subject-partition: 40/10/50 by duration, seeded, near the fractions", () => {
  const fractions = { train: 0.4, val: 0.1, test: 0.5 };
  const count = new Map<string, number>();
  for (const s of UNEVEN) count.set(s, (count.get(s) ?? 0) + 1);
  const maxDur = Math.max(...count.values());
  for (const seed of [0, 1, 2]) {
    const [p] = makeFolds({ kind: "subject-partition", fractions }, { subject: UNEVEN }, seed);
    checkPlan(p, UNEVEN);
    assertEquals(p.name, "partition40-10-50/0");
    assertEquals(p.train.length + p.val.length + p.test.length, UNEVEN.length);
    const shares = [p.train.length, p.val.length, p.test.length].map((n) => n / UNEVEN.length);
    // within one subject's duration of each target (a random split by subject count is far worse)
    [0.4, 0.1, 0.5].forEach((f, i) =>
      assert(Math.abs(shares[i] - f) <= maxDur / UNEVEN.length, `share ${shares[i]} vs ${f}`)
    );
    const dev = shares.reduce((a, v, i) => a + Math.abs(v - [0.4, 0.1, 0.5][i]), 0);
    assert(dev < 0.01, `total deviation ${dev}`);
  }
  const a = makeFolds({ kind: "subject-partition", fractions }, { subject: UNEVEN }, 0)[0];
  assertEquals(makeFolds({ kind: "subject-partition", fractions }, { subject: UNEVEN }, 0)[0], a);
  assertNotEquals(
    makeFolds({ kind: "subject-partition", fractions }, { subject: UNEVEN }, 1)[0].testSubjects,
    a.testSubjects,
  );
  // given durations (per subject) override window counts: one long subject weighs as much as all others
  const subs = ["a", "b", "c", "d", "e"];
  const f = subjectPartition(subs, {
    fractions: { train: 0.5, val: 0, test: 0.5 },
    seed: 3,
    durationSec: { a: 400, b: 100, c: 100, d: 100, e: 100 },
  });
  const long = f.testSubjects.includes("a") ? f.testSubjects : f.trainSubjects;
  assertEquals(long, ["a"]);
  assertEquals(f.valSubjects, []);
  // per-window durations are summed per subject
  const g = subjectPartition(["a", "a", "b", "c"], {
    fractions: { train: 0.5, val: 0, test: 0.5 },
    seed: 0,
    durationSec: [1, 1, 1, 1],
  });
  assertEquals([g.trainSubjects, g.testSubjects].find((l) => l.includes("a")), ["a"]);
});

Deno.test("subject-partition: explicit lists; unlisted subjects left out", () => {
  const subs = ["a", "a", "b", "c", "d", "e"];
  const [p] = makeFolds({
    kind: "subject-partition",
    subjects: { train: ["a", "b"], val: ["c"], test: ["d"] },
  }, {
    subject: subs,
  }, 0);
  assertEquals([Array.from(p.train), Array.from(p.val), Array.from(p.test)], [[0, 1, 2], [3], [4]]);
  assertEquals(p.protocol, "partition");
  assertThrows(
    () =>
      makeFolds({ kind: "subject-partition", subjects: { train: ["a"], test: ["a"] } }, {
        subject: subs,
      }, 0),
    ConfigError,
    "more than one part",
  );
  assertThrows(
    () =>
      makeFolds({ kind: "subject-partition", subjects: { train: ["a"], test: ["z"] } }, {
        subject: subs,
      }, 0),
    ConfigError,
    "subject z has no windows",
  );
});

Deno.test("by-trial: folds over recordings of one subject, val trials from training trials", () => {
  const source: string[] = [], subject: string[] = [];
  for (let t = 0; t < 6; t++) {
    for (let w = 0; w < 3 + t; w++) source.push(`rec${t}.csv`), subject.push("p1");
  }
  const loo = makeFolds({ kind: "by-trial" }, { subject, source }, 2);
  assertEquals(loo.length, 6);
  assertEquals(loo.flatMap((p) => p.testTrials!), [
    "rec0.csv",
    "rec1.csv",
    "rec2.csv",
    "rec3.csv",
    "rec4.csv",
    "rec5.csv",
  ]);
  for (const p of loo) {
    checkPlan(p, subject, false);
    assertEquals(p.valTrials!.length, 1);
    assertEquals(p.trainTrials!.length, 4);
    const trialOf = (idx: Int32Array) => new Set(Array.from(idx, (i) => source[i]));
    assertEquals([...trialOf(p.test)], p.testTrials);
    for (const t of trialOf(p.val)) {
      assert(!p.testTrials!.includes(t) && !p.trainTrials!.includes(t));
    }
    assertEquals(p.train.length + p.val.length + p.test.length, source.length);
  }
  assertEquals(loo[0].name, "trial-loo/0");
  const k3 = makeFolds({ kind: "by-trial", k: 3, valTrials: 1 }, { subject, source }, 2);
  assertEquals(k3.length, 3);
  assertEquals(k3.flatMap((p) => p.testTrials!).sort(), [...new Set(source)].sort());
  assertEquals(k3[0].protocol, "trial-kfold3");
  // the same file name under two subjects is two trials
  const two = makeFolds({ kind: "by-trial", valTrials: 0 }, {
    subject: ["a", "b", "b"],
    source: ["t1", "t1", "t2"],
  }, 0);
  assertEquals(two.map((p) => p.testTrials![0]), ["a/t1", "b/t1", "b/t2"]);
  assertThrows(
    () => makeFolds({ kind: "by-trial" }, { subject }, 0),
    ConfigError,
    "need data.source",
  );
});

Deno.test("makeFolds: clear errors for impossible specs", () => {
  const data = { subject: ["a", "b", "c"] };
  const err = (spec: unknown, msg: string, d: { subject: string[] } = data) =>
    assertThrows(() => makeFolds(spec as ProtocolSpec, d, 0), ConfigError, msg);
  err({ kind: "subject-kfold", k: 5 }, "3 groups for 5 folds");
  err({ kind: "subject-kfold", k: 1 }, "k must be an integer >= 2");
  err({ kind: "loso", valSubjects: 2 }, "valSubjects 2 leaves no training");
  err({ kind: "loso" }, "valSubjects 1 leaves no training", { subject: ["a", "b"] });
  err({ kind: "loso", valSubjects: 1, valFraction: 0.2 }, "not both");
  err(
    { kind: "subject-partition", fractions: { train: 0.4, val: 0.1, test: 0.4 } },
    "must sum to 1, got 0.9",
  );
  err({
    kind: "subject-partition",
    fractions: { train: 0.5, val: 0, test: 0.5 },
    subjects: { train: ["a"], test: ["b"] },
  }, "either fractions or subjects");
  err(
    { kind: "subject-partition", fractions: { train: 0.4, val: 0.2, test: 0.4 } },
    "2 subjects for 3",
    { subject: ["a", "b"] },
  );
  err({ kind: "leave-two-out" }, "unknown protocol kind");
  err({ kind: "loso", repeats: 0 }, "repeats must be an integer >= 1");
  err({ kind: "loso", seeds: [1, 2], repeats: 3 }, "repeats 3 but 2 seeds");
  err({ kind: "loso", name: "a/b" }, "must not contain");
  err({ kind: "loso", labelledSubjects: 0 }, "labelledSubjects must be");
  assertThrows(
    () => makeFolds({ kind: "loso" }, { subject: ["a", "b", "c"], y: [0, 1] }, 0),
    ConfigError,
    "y has 2 entries",
  );
});
