import { assert, assertAlmostEquals, assertEquals, assertGreater, assertThrows } from "@std/assert";
import { RandomForest, type RandomForestJSON } from "../../lib/models/forest.ts";
import { rng } from "../../lib/signal/random.ts";
import { ConfigError } from "../../lib/errors.ts";

/** Gaussian blobs: class c has mean cos(c·(f+1)) on the first `informative` features. */
function blobs(seed: number, n: number, nf: number, nC: number, noise: number, informative = 3) {
  const r = rng(seed);
  const X = new Float32Array(n * nf), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = r.int(nC);
    y[i] = c;
    for (let f = 0; f < nf; f++) {
      X[i * nf + f] = (f < informative ? 2 * Math.cos(c * (f + 1)) : 0) + noise * r.normal();
    }
  }
  return { X, y };
}

function acc(a: Int32Array, b: Int32Array): number {
  let ok = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) ok++;
  return ok / a.length;
}

Deno.test("forest learns a separable problem perfectly", () => {
  const tr = blobs(1, 400, 6, 4, 0.05), te = blobs(2, 200, 6, 4, 0.05);
  const rf = new RandomForest({ nEstimators: 20, seed: 3 }).fit(tr.X, 6, tr.y);
  assertEquals(rf.classes, [0, 1, 2, 3]);
  assertEquals(acc(rf.predict(tr.X), tr.y), 1);
  assertEquals(acc(rf.predict(te.X), te.y), 1);
  const p = rf.predictProba(te.X.subarray(0, 6));
  let s = 0;
  for (let c = 0; c < 4; c++) s += p[c];
  assertAlmostEquals(s, 1, 1e-5);
});

Deno.test("forest beats chance on a noisy problem, importances favour informative features", () => {
  const nf = 20, nC = 5;
  const tr = blobs(4, 1500, nf, nC, 1.5), te = blobs(5, 1000, nf, nC, 1.5);
  const rf = new RandomForest({ nEstimators: 60, seed: 7 }).fit(tr.X, nf, tr.y);
  const a = acc(rf.predict(te.X), te.y);
  assertGreater(a, 0.45, `accuracy ${a} should clearly beat chance 0.2`);
  const imp = rf.featureImportances;
  assertAlmostEquals(imp.reduce((x, y) => x + y, 0), 1, 1e-9);
  const informative = imp[0] + imp[1] + imp[2];
  assertGreater(informative, 0.3, `informative importance ${informative}`);
  for (let f = 3; f < nf; f++) assert(imp[f] < Math.min(imp[0], imp[1], imp[2]), `feature ${f}`);
});

Deno.test("single exact tree: mid-point threshold, depth and leaf limits", () => {
  const X = Float32Array.from([1, 2, 3, 10, 11, 12]);
  const y = [0, 0, 0, 1, 1, 1];
  const rf = new RandomForest({ nEstimators: 1, bootstrap: false, maxFeatures: "all" }).fit(
    X,
    1,
    y,
  );
  const t = rf.toJSON().trees[0];
  assertEquals(t.feature, [0, -1, -1]);
  assertEquals(t.threshold[0], 6.5);
  assertEquals(Array.from(rf.predict(Float32Array.from([6.4, 6.6]))), [0, 1]);
  // maxDepth 1 on 3 classes: one split only.
  const y3 = [0, 0, 1, 1, 2, 2];
  const d1 = new RandomForest({ nEstimators: 1, bootstrap: false, maxDepth: 1 }).fit(X, 1, y3);
  assertEquals(d1.toJSON().trees[0].feature.length, 3);
  // minSamplesLeaf 3 forbids any split but the 3|3 one.
  const l3 = new RandomForest({ nEstimators: 1, bootstrap: false, minSamplesLeaf: 3 }).fit(
    X,
    1,
    y3,
  );
  const tl = l3.toJSON().trees[0];
  assertEquals(tl.feature.length, 3);
  assertEquals(tl.threshold[0], 6.5);
  // the right leaf holds classes 1 and 2 in 1:2 proportion
  const p = l3.predictProba(Float32Array.from([12]));
  assertAlmostEquals(p[1], 1 / 3, 1e-6);
  assertAlmostEquals(p[2], 2 / 3, 1e-6);
});

Deno.test("histogram splits (more distinct values than bins) still learn", () => {
  const n = 3000, nf = 4;
  const r = rng(11);
  const X = new Float32Array(n * nf), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < nf; f++) X[i * nf + f] = r.normal();
    y[i] = X[i * nf] + 0.5 * X[i * nf + 1] > 0.3 ? 1 : 0;
  }
  const rf = new RandomForest({ nEstimators: 30, maxBins: 32, seed: 1 }).fit(X, nf, y);
  const te = new Float32Array(1000 * nf), yt = new Int32Array(1000);
  for (let i = 0; i < 1000; i++) {
    for (let f = 0; f < nf; f++) te[i * nf + f] = r.normal();
    yt[i] = te[i * nf] + 0.5 * te[i * nf + 1] > 0.3 ? 1 : 0;
  }
  assertGreater(acc(rf.predict(te), yt), 0.9);
});

Deno.test("seeded: same seed same forest, JSON round trip predicts identically", () => {
  const tr = blobs(8, 300, 5, 3, 1), te = blobs(9, 100, 5, 3, 1);
  const a = new RandomForest({ nEstimators: 10, seed: 5 }).fit(tr.X, 5, tr.y);
  const b = new RandomForest({ nEstimators: 10, seed: 5 }).fit(tr.X, 5, tr.y);
  const c = new RandomForest({ nEstimators: 10, seed: 6 }).fit(tr.X, 5, tr.y);
  assertEquals(a.predictProba(te.X), b.predictProba(te.X));
  assert(JSON.stringify(a.toJSON()) !== JSON.stringify(c.toJSON()), "different seeds, same forest");
  const json: RandomForestJSON = JSON.parse(JSON.stringify(a.toJSON()));
  const back = RandomForest.fromJSON(json);
  assertEquals(back.predictProba(te.X), a.predictProba(te.X));
  assertEquals(back.classes, a.classes);
  assertThrows(
    () => RandomForest.fromJSON({} as RandomForestJSON),
    ConfigError,
    "not a har-random-forest",
  );
});

Deno.test("class weights and balanced sampling raise minority recall", () => {
  // class 1 is 5% of the data and overlaps class 0.
  const r = rng(21);
  const make = (n: number) => {
    const X = new Float32Array(n * 2), y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = r.next() < 0.05 ? 1 : 0;
      X[i * 2] = y[i] + 1.0 * r.normal();
      X[i * 2 + 1] = r.normal();
    }
    return { X, y };
  };
  const tr = make(2000), te = make(2000);
  const recall1 = (p: Int32Array) => {
    let tp = 0, pos = 0;
    for (let i = 0; i < p.length; i++) {
      if (te.y[i] === 1) {
        pos++;
        if (p[i] === 1) tp++;
      }
    }
    return tp / pos;
  };
  const base = { nEstimators: 40, seed: 2, minSamplesLeaf: 20 };
  const plain = recall1(new RandomForest(base).fit(tr.X, 2, tr.y).predict(te.X));
  const weighted = recall1(
    new RandomForest({ ...base, classWeight: "balanced" }).fit(tr.X, 2, tr.y).predict(te.X),
  );
  const balanced = recall1(
    new RandomForest({ ...base, minSamplesLeaf: 1, balanced: true }).fit(tr.X, 2, tr.y).predict(
      te.X,
    ),
  );
  assertGreater(weighted, plain + 0.2, `weighted ${weighted} vs plain ${plain}`);
  assertGreater(balanced, plain + 0.2, `balanced ${balanced} vs plain ${plain}`);
});

Deno.test("forest rejects bad input", () => {
  assertThrows(() => new RandomForest({ nEstimators: 0 }), ConfigError, "nEstimators");
  assertThrows(() => new RandomForest({ maxBins: 300 }), ConfigError, "maxBins");
  const rf = new RandomForest({ nEstimators: 2 });
  assertThrows(() => rf.predict(new Float32Array(4)), ConfigError, "fit()");
  assertThrows(() => rf.fit(new Float32Array(5), 2, [0, 1]), ConfigError, "expected 2 rows");
  assertThrows(() => rf.fit(Float32Array.from([0, NaN]), 1, [0, 1]), ConfigError, "NaN");
  assertThrows(() => rf.fit(Float32Array.from([0, 1]), 1, [0, -1]), ConfigError, "negative label");
  assertThrows(
    () => new RandomForest({ maxFeatures: 0 }).fit(Float32Array.from([0, 1]), 1, [0, 1]),
    ConfigError,
  );
});
