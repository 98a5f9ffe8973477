import { assert, assertEquals, assertGreater, assertNotEquals, assertThrows } from "@std/assert";
import type { Windows } from "../../lib/data/types.ts";
import { ConfigError } from "../../lib/errors.ts";
import { makeMultitaskBatch, PRETEXT_TASKS } from "../../lib/pretext/multitask.ts";
import {
  multitaskSource,
  type MultitaskSourceArgs,
  subjectBatchPlan,
} from "../../lib/pretext/multitask_source.ts";
import { samplingWeights, weightedSampler } from "../../lib/signal/sampling.ts";
import type { Batch, BatchContext, BatchSource } from "../../lib/train/batches.ts";
import { mixSeed } from "../../lib/train/random.ts";

type Tensorish = { data: Float32Array | Int32Array; shape: number[] };

const C = 3, L = 60;

/** The pool of the recorded hashes: 37 windows of 6 subjects (s0..s5 in turn). */
function hashPool(): Windows {
  const n = 37;
  const x = new Float32Array(n * C * L).map((_, i) =>
    Math.sin(i * 0.37) * ((Math.floor(i / (C * L)) % 5) * 0.3) + (i % 7) * 0.01
  );
  const subject = Array.from({ length: n }, (_, i) => `s${i % 6}`);
  return {
    x,
    n,
    channels: C,
    length: L,
    y: new Int32Array(n),
    classes: ["a"],
    subject,
    rateHz: 30,
  };
}

/**
 * `counts[s]` windows per subject `s`; window k of a subject is "active"
 * (x = sin, std ≈ 0.3 g of |a|) when `active(k)`, else almost still (x =
 * 0.002·sin). Returns the pool and which windows are active.
 */
function subjectPool(counts: number[], active = (k: number) => k % 2 === 0) {
  const n = counts.reduce((a, b) => a + b, 0);
  const x = new Float32Array(n * C * L);
  const subject: string[] = [];
  const isActive: boolean[] = [];
  let i = 0;
  counts.forEach((m, s) => {
    for (let k = 0; k < m; k++, i++) {
      const amp = active(k) ? 1 : 0.002;
      for (let t = 0; t < L; t++) {
        x[i * C * L + t] = amp * Math.sin((2 * Math.PI * (t + 3 * i)) / 15);
        x[i * C * L + L + t] = 0.01 * Math.cos(t / 7 + i);
        x[i * C * L + 2 * L + t] = 1;
      }
      subject.push(`p${s}`);
      isActive.push(active(k));
    }
  });
  const w: Windows = {
    x,
    n,
    channels: C,
    length: L,
    y: new Int32Array(n),
    classes: ["a"],
    subject,
    rateHz: 30,
  };
  return { w, isActive };
}

function fnv(h: number, a: Float32Array | Int32Array): number {
  for (const b of new Uint8Array(a.buffer, a.byteOffset, a.byteLength)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

async function get(src: BatchSource, epoch: number, step: number): Promise<Batch> {
  if (!src.batch) throw new Error("random-access source expected");
  return await src.batch({ epoch, step } as BatchContext);
}

async function sourceHash(src: BatchSource, epochs: number[]): Promise<string> {
  let h = 0x811c9dc5;
  for (const epoch of epochs) {
    for (let step = 0; step < src.stepsPerEpoch; step++) {
      const b = await get(src, epoch, step);
      h = fnv(h, (b.x as Tensorish).data);
      for (const y of b.y as Tensorish[]) h = fnv(h, y.data);
    }
  }
  return h.toString(16);
}

Deno.test('sampling "pool" with replace: false gives the batches of before the options existed', async () => {
  const w = hashPool();
  // hashes recorded from the code before `sampling` and `replace` were added (epochs 0, 1, 4)
  const cases: [MultitaskSourceArgs, number, number, string][] = [
    [{ batchSize: 8, seed: 3, replace: false }, 5, 37, "e7ff9464"],
    // draws beyond the pool were with replacement before, as now by default
    [{ batchSize: 5, seed: 9, windowsPerEpoch: 50, weighting: "uniform" }, 10, 50, "594f4f2d"],
    [
      { batchSize: 5, seed: 9, windowsPerEpoch: 50, weighting: "uniform", replace: false },
      10,
      50,
      "594f4f2d",
    ],
    [{ batchSize: 6, seed: 1, evaluation: true }, 7, 37, "18e9a246"],
    [{ batchSize: 8, seed: 3, sampling: "pool", replace: false }, 5, 37, "e7ff9464"],
    // evaluation ignores the sampling options
    [{ batchSize: 6, seed: 1, evaluation: true, sampling: "subjects" }, 7, 37, "18e9a246"],
  ];
  for (const [args, steps, samples, hash] of cases) {
    const src = multitaskSource(w, args);
    assertEquals([src.stepsPerEpoch, src.samplesPerEpoch], [steps, samples], JSON.stringify(args));
    assertEquals(await sourceHash(src, [0, 1, 4]), hash, JSON.stringify(args));
  }
  // and they are the std-weighted sampler's batches of mixSeed(seed, epoch, 1), transformed
  for (const replace of [false, true]) {
    const src = multitaskSource(
      w,
      replace ? { batchSize: 8, seed: 3 } : { batchSize: 8, seed: 3, replace },
    );
    const plan = [...weightedSampler(w, { seed: mixSeed(3, 2, 1), batchSize: 8, replace })];
    for (const step of [0, 4]) {
      const want = makeMultitaskBatch(w, plan[step], {
        tasks: [...PRETEXT_TASKS],
        seed: mixSeed(3, 2, step, 2),
      });
      assertEquals((await get(src, 2, step)).x as Tensorish, {
        data: want.x,
        shape: [want.n, C, L],
      });
    }
  }
});

Deno.test('sampling "pool": draws with replacement keep the std weighting; an epoch without replacement undoes it', async () => {
  // 1,000 windows, 80 % nearly still; an epoch draws 70 % of the pool (as the Yuan long scale did)
  const { w, isActive } = subjectPool([250, 250, 250, 250], (k) => k % 5 === 0);
  const weights = samplingWeights(w);
  let wStill = 0, wAll = 0;
  weights.forEach((v, i) => {
    wAll += v;
    if (!isActive[i]) wStill += v;
  });
  const expected = wStill / wAll; // the still share of the std weighting (≈ 0)
  const stillShare = async (args: MultitaskSourceArgs) => {
    const src = multitaskSource(w, {
      ...args,
      batchSize: 50,
      windowsPerEpoch: 700,
      augment: false,
    });
    let still = 0, all = 0;
    for (const epoch of [0, 1, 2]) {
      for (let step = 0; step < src.stepsPerEpoch; step++) {
        const b = await get(src, epoch, step);
        const x = (b.x as Tensorish).data;
        const n = (b.x as Tensorish).shape[0];
        for (let i = 0; i < n; i++) {
          let peak = 0; // the x axis: amplitude 1 when active, 0.002 when still (transforms keep that)
          for (let t = 0; t < L; t++) peak = Math.max(peak, Math.abs(x[i * C * L + t]));
          if (peak < 0.1) still++;
          all++;
        }
      }
    }
    return still / all;
  };
  const withReplacement = await stillShare({ seed: 5 });
  assert(
    Math.abs(withReplacement - expected) < 0.02,
    `with replacement: ${withReplacement} vs ${expected}`,
  );
  assertEquals(await stillShare({ seed: 5, replace: true }), withReplacement);
  // without replacement at least 500 of the 700 draws are still windows
  const without = await stillShare({ seed: 5, replace: false });
  assert(without >= 500 / 700 - 1e-9, `without replacement: ${without}`);
  // uniform draws: the pool's 80 %
  const uniform = await stillShare({ seed: 5, weighting: "uniform" });
  assert(Math.abs(uniform - 0.8) < 0.03, `uniform: ${uniform}`);
});

Deno.test('sampling "subjects": subjectsPerBatch subjects × equal counts, distinct draws, one pass per epoch', async () => {
  const { w } = subjectPool([12, 9, 15, 10, 11, 8, 13]); // 7 subjects
  const args: MultitaskSourceArgs = {
    batchSize: 12,
    sampling: "subjects",
    subjectsPerBatch: 3,
    seed: 5,
  };
  const plan = subjectBatchPlan(w, args);
  assertEquals(plan.stepsPerEpoch, 2); // floor(7 / 3)
  assertEquals(plan.windowsPerSubject, 4);
  assertEquals(plan.subjects, ["p0", "p1", "p2", "p3", "p4", "p5", "p6"]);
  const firstSubjects = new Set<string>();
  for (let epoch = 0; epoch < 6; epoch++) {
    const seen = new Set<string>();
    for (let step = 0; step < plan.stepsPerEpoch; step++) {
      const idx = plan.indices(epoch, step);
      assertEquals(idx.length, 12);
      const subj = Array.from(idx, (i) => w.subject[i]);
      // concatenated subject after subject, 4 each, 3 distinct subjects
      for (let j = 0; j < 3; j++) {
        const block = subj.slice(4 * j, 4 * j + 4);
        assertEquals(new Set(block).size, 1, `epoch ${epoch} step ${step}: ${subj}`);
      }
      assertEquals(new Set(subj).size, 3);
      // draws within a subject are distinct (every subject has >= 4 windows)
      assertEquals(new Set(idx).size, 12);
      for (const s of new Set(subj)) {
        assert(!seen.has(s), `subject ${s} twice in epoch ${epoch}`);
        seen.add(s);
      }
      if (step === 0) firstSubjects.add(subj.join());
    }
    assertEquals(seen.size, 6); // one subject left over per pass
  }
  assertGreater(firstSubjects.size, 1); // the subjects are reshuffled each epoch
  // the source: these windows, transformed with the step's seed
  const src = multitaskSource(w, args);
  assertEquals([src.stepsPerEpoch, src.samplesPerEpoch], [2, 24]);
  const b = await get(src, 3, 1);
  const want = makeMultitaskBatch(w, plan.indices(3, 1), {
    tasks: [...PRETEXT_TASKS],
    seed: mixSeed(5, 3, 1, 2),
  });
  assertEquals(b.x as Tensorish, { data: want.x, shape: [12, C, L] });
  assertEquals(
    b.y as Tensorish[],
    PRETEXT_TASKS.map((t) => ({ data: want.labels[t], shape: [12] })),
  );
});

Deno.test('sampling "subjects": windows drawn ∝ std within a subject (seeded)', () => {
  // 10 subjects × 20 windows, half of them active; 5 draws per subject out of 20
  const { w, isActive } = subjectPool(Array(10).fill(20));
  const args = (weighting: "std" | "uniform"): MultitaskSourceArgs => ({
    batchSize: 10,
    sampling: "subjects",
    subjectsPerBatch: 2,
    seed: 11,
    weighting,
  });
  const share = (weighting: "std" | "uniform") => {
    const plan = subjectBatchPlan(w, args(weighting));
    let act = 0, total = 0;
    for (let epoch = 0; epoch < 20; epoch++) {
      for (let step = 0; step < plan.stepsPerEpoch; step++) {
        for (const i of plan.indices(epoch, step)) {
          act += isActive[i] ? 1 : 0;
          total++;
        }
      }
    }
    return { act: act / total, total };
  };
  const std = share("std"), uni = share("uniform");
  assertEquals(std.total, 20 * 5 * 10);
  // std ∝ weights: the active windows carry > 99 % of each subject's weight, so with
  // 5 of 10 active per subject the draws are almost all active ones
  assert(std.act > 0.97, `active share ${std.act}`);
  // uniform: half active (1000 draws; sd of the share < 0.016)
  assert(Math.abs(uni.act - 0.5) < 0.08, `uniform active share ${uni.act}`);
});

Deno.test('sampling "subjects": same (seed, epoch, step) → same batch; resumable, random access', async () => {
  const { w } = subjectPool([8, 8, 8, 8, 8]);
  const args: MultitaskSourceArgs = {
    batchSize: 8,
    sampling: "subjects",
    subjectsPerBatch: 2,
    seed: 21,
    windowsPerEpoch: 40, // 5 steps: 2 per pass, so 3 passes (reshuffled each)
  };
  const a = multitaskSource(w, args), b = multitaskSource(w, args);
  assertEquals([a.stepsPerEpoch, a.samplesPerEpoch], [5, 40]);
  // b visited out of order (as after a resume) gives the same batches as a in order
  const order = [[1, 4], [0, 2], [1, 0], [0, 0], [1, 3]];
  const fromB = new Map<string, Batch>();
  for (const [e, s] of order) fromB.set(`${e}:${s}`, await get(b, e, s));
  for (const e of [0, 1]) {
    for (let s = 0; s < 5; s++) {
      const x = await get(a, e, s);
      const y = fromB.get(`${e}:${s}`);
      if (y) assertEquals(x, y, `epoch ${e} step ${s}`);
    }
  }
  assertNotEquals(
    ((await get(a, 0, 0)).x as Tensorish).data,
    ((await get(a, 1, 0)).x as Tensorish).data,
  );
  const other = multitaskSource(w, { ...args, seed: 22 });
  assertNotEquals(
    ((await get(a, 0, 0)).x as Tensorish).data,
    ((await get(other, 0, 0)).x as Tensorish).data,
  );
  // subject orders cycle: every pass of an epoch covers 4 of the 5 subjects once
  const plan = subjectBatchPlan(w, args);
  for (const pass of [0, 1]) {
    const subj = [0, 1].flatMap((g) =>
      Array.from(plan.indices(0, 2 * pass + g), (i) => w.subject[i])
    );
    assertEquals(new Set(subj).size, 4);
  }
});

Deno.test('sampling "subjects": a subject with too few windows is drawn with replacement', () => {
  const { w } = subjectPool([2, 10, 10]);
  const plan = subjectBatchPlan(w, {
    batchSize: 12,
    sampling: "subjects",
    subjectsPerBatch: 3,
    seed: 1,
  });
  for (let epoch = 0; epoch < 5; epoch++) {
    const idx = plan.indices(epoch, 0);
    const per = new Map<string, number[]>();
    idx.forEach((i) => per.set(w.subject[i], [...(per.get(w.subject[i]) ?? []), i]));
    assertEquals([...per.values()].map((l) => l.length), [4, 4, 4]);
    assert(new Set(per.get("p0")).size <= 2);
    assertEquals(new Set(per.get("p1")).size, 4);
  }
});

Deno.test("multitaskSource: ConfigErrors for bad subject batch sizes", () => {
  const { w } = subjectPool([6, 6, 6, 6]);
  const bad: [MultitaskSourceArgs, string][] = [
    [{ seed: 1, batchSize: 8, sampling: "subjects" }, "needs subjectsPerBatch"],
    [{ seed: 1, batchSize: 9, sampling: "subjects", subjectsPerBatch: 2 }, "multiple of"],
    [{ seed: 1, batchSize: 8, sampling: "subjects", subjectsPerBatch: 5 }, "1..4"],
    [{ seed: 1, batchSize: 8, sampling: "subjects", subjectsPerBatch: 0 }, "1..4"],
    [{ seed: 1, batchSize: 8, sampling: "subjects", subjectsPerBatch: 1.5 }, "1..4"],
    [{ seed: 1, batchSize: 0, sampling: "subjects", subjectsPerBatch: 2 }, "multiple of"],
    [
      { seed: 1, batchSize: 8, sampling: "subjects", subjectsPerBatch: 2, windowsPerEpoch: 0 },
      "windowsPerEpoch",
    ],
    [{ seed: 1, batchSize: 8, subjectsPerBatch: 2 }, 'needs sampling: "subjects"'],
    [
      { seed: 1, batchSize: 8, sampling: "subjects", subjectsPerBatch: 2, replace: true },
      'replace applies to sampling: "pool"',
    ],
    // deno-lint-ignore no-explicit-any
    [{ seed: 1, batchSize: 8, sampling: "subject" as any }, 'sampling must be "pool" or'],
  ];
  for (const [args, msg] of bad) {
    assertThrows(() => multitaskSource(w, args), ConfigError, msg);
  }
  assertThrows(
    () =>
      multitaskSource({ ...w, subject: w.subject.slice(1) }, {
        seed: 1,
        sampling: "subjects",
        subjectsPerBatch: 2,
        batchSize: 4,
      }),
    ConfigError,
    "windows.subject",
  );
});
