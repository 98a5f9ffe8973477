/**
 * By-hand reference tool (not used by the library or the tests): apply OUR
 * TS pretext transforms (lib/pretext/transforms.ts, augment.ts) to windows of
 * the exported pool with known parameters, draw their random parameters many
 * times, check the label convention of `makeMultitaskBatch`, and write it all
 * to `<out>/check.json` for `yuan_mtl_torch2.py --check-transforms <out>`,
 * which applies the Python (ssl-wearables-style) transforms to the same
 * windows with the same parameters and compares.
 *
 * ```sh
 * deno run -A tools/reference/transform_check.ts --pool /tmp/yuan-pool-full --out /tmp/tcheck
 * /usr/bin/python3 tools/reference/yuan_mtl_torch2.py --check-transforms /tmp/tcheck
 * ```
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { readNpy } from "../../lib/data/npy.ts";
import type { Windows } from "../../lib/data/types.ts";
import { rng } from "../../lib/random.ts";
import {
  applyPermutation,
  permutationPlan,
  reverseTime,
  scale,
  scaleFactors,
  timeWarp,
} from "../../lib/pretext/transforms.ts";
import { applyRotation, axisAngleMatrix, swapAxes } from "../../lib/pretext/augment.ts";
import { makeMultitaskBatch } from "../../lib/pretext/multitask.ts";
import { multitaskSource } from "../../lib/pretext/multitask_source.ts";
import { PRETEXT_TASKS } from "../../lib/pretext/tasks.ts";
import { yuanSpec } from "../../lib/experiments/yuan/spec.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    pool: { type: "string", default: "/tmp/yuan-pool-full" },
    out: { type: "string", default: "/tmp/tcheck" },
    draws: { type: "string", default: "20000" },
  },
});
const dir = values.pool!;
const X = await readNpy(join(dir, "train_X.npy"));
const subj = (await readNpy(join(dir, "train_subject.npy"))).data as string[];
const [n, c, L] = X.shape;
const x = X.data as Float32Array;
const windows: Windows = {
  x,
  n,
  channels: c,
  length: L,
  y: new Int32Array(n).fill(-1),
  classes: [],
  subject: subj,
  rateHz: 30,
};
const win = (i: number) => x.subarray(i * c * L, (i + 1) * c * L);
const arr = (a: ArrayLike<number>) => Array.from(a);

const r = rng(123);
const cases = [];
for (const i of [0, 1234, 5678, 12345, n - 1]) {
  const w = win(i);
  const sf = scaleFactors(3, {}, rng(i + 1));
  const plan = permutationPlan(L, {}, rng(i + 2));
  const knots = Array.from(
    { length: 3 },
    () => Array.from({ length: 6 }, () => 1 + 0.2 * r.normal()),
  );
  const axis = [r.uniform(-1, 1), r.uniform(-1, 1), r.uniform(-1, 1)];
  const angle = r.uniform(-Math.PI, Math.PI);
  const m = axisAngleMatrix(axis, angle);
  cases.push({
    index: i,
    window: arr(w),
    flip: arr(reverseTime(w)),
    // scale() draws its factors first: the same seed gives the factors above
    scale: { factors: arr(sf), out: arr(scale(w, {}, rng(i + 1))) },
    permute: {
      bounds: arr(plan.bounds),
      order: arr(plan.order),
      out: arr(applyPermutation(w, plan)),
    },
    timewarp: { knots, out: arr(timeWarp(w, { knotSpeeds: knots }, r)) },
    rotation: { axis, angle, matrix: arr(m), out: arr(applyRotation(w, m)) },
    swap: [0, 1, 2, 3, 4, 5].map((o) => arr(swapAxes(w, { order: o }, r))),
  });
}

// distributions of the random parameters (the same functions the batches call)
const N = Number(values.draws);
const d = rng(7);
const scaleF: number[][] = [], segs: number[][] = [], orders: number[][] = [], knots: number[] = [];
for (let k = 0; k < N; k++) {
  scaleF.push(arr(scaleFactors(3, {}, d)));
  const p = permutationPlan(L, {}, d);
  segs.push(arr(p.bounds.slice(1)).map((b, j) => b - p.bounds[j]));
  orders.push(arr(p.order));
  for (let q = 0; q < 18; q++) knots.push(1 + 0.2 * d.normal());
}

// label means of real training batches (the long spec's source, first 2 epochs' first 40 steps)
const spec = yuanSpec("long");
const src = multitaskSource(windows, {
  batchSize: spec.pretrain.batchSize,
  windowsPerEpoch: spec.pretrain.windowsPerEpoch,
  weighting: spec.pretrain.weighting,
  sampling: spec.pretrain.sampling,
  seed: spec.seed,
});
const labels: number[][] = [];
for (const epoch of [0, 1]) {
  for (let step = 0; step < 40; step++) {
    const b = await src.batch!({ epoch, step, globalStep: 0, seed: 0, epochSeed: 0 });
    const ys = (b.y as { data: Int32Array }[]).map((t) => t.data);
    for (let i = 0; i < ys[0].length; i++) labels.push(ys.map((y) => y[i]));
  }
}

// label convention: one task at a time, no augmentation → label 1 ⇔ window changed (aot: reversed)
const labelCheck: Record<string, unknown> = {};
const idx = Array.from({ length: 256 }, (_, k) => (k * 91) % n);
for (const t of PRETEXT_TASKS) {
  const b = makeMultitaskBatch(windows, idx, { tasks: [t], augment: false, seed: 99 });
  let agree = 0, ones = 0, reversedWhenOne = 0;
  for (let k = 0; k < idx.length; k++) {
    const out = b.x.subarray(k * c * L, (k + 1) * c * L);
    const src = win(idx[k]);
    const changed = out.some((v, j) => v !== src[j]);
    const lab = b.labels[t][k];
    ones += lab;
    if ((lab === 1) === changed || (lab === 1 && !changed && t === "permute")) agree++;
    if (t === "aot" && lab === 1) {
      const rev = reverseTime(src);
      if (out.every((v, j) => v === rev[j])) reversedWhenOne++;
    }
  }
  labelCheck[t] = {
    windows: idx.length,
    labelOnes: ones,
    labelMatchesChange: agree,
    ...(t === "aot" ? { exactlyReversedWhenLabel1: reversedWhenOne } : {}),
    otherTaskLabelsAllZero: PRETEXT_TASKS.filter((u) => u !== t).every((u) =>
      b.labels[u].every((v) => v === 0)
    ),
  };
}

await Deno.mkdir(values.out!, { recursive: true });
await Deno.writeTextFile(
  join(values.out!, "check.json"),
  JSON.stringify({
    cases,
    dist: { scaleFactors: scaleF, segLengths: segs, orders, knots, labels },
    labelCheck,
  }),
);
console.log(JSON.stringify(labelCheck));
