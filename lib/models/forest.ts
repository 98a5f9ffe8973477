/**
 * A random-forest classifier (CART trees, Gini impurity) in plain
 * TypeScript, with the semantics of scikit-learn's
 * `RandomForestClassifier` and imbalanced-learn's
 * `BalancedRandomForestClassifier` (the model behind ssl-wearables'
 * hand-crafted baseline: 3000 trees, per-tree random under-sampling of every
 * class but the minority, with replacement).
 *
 * Speed: features are quantised once into at most `maxBins` (≤ 256) bins
 * per feature (exactly one bin per distinct value when a feature has
 * ≤ `maxBins` distinct values, so splits are then identical to exact CART
 * with mid-point thresholds). Large nodes find splits from class histograms
 * over bins, small nodes by sorting their bin codes; both are O(n) / O(n log n)
 * per feature with O(1) Gini updates.
 *
 * @example
 * const rf = new RandomForest({ nEstimators: 200, seed: 42, classWeight: "balanced" });
 * rf.fit(X, nFeatures, y);                 // X: Float32Array [n, nFeatures], y: Int32Array
 * const pred = rf.predict(Xtest);          // Int32Array of class labels
 * const proba = rf.predictProba(Xtest);    // Float32Array [n, classes.length]
 * const json = JSON.stringify(rf.toJSON()); // and RandomForest.fromJSON(JSON.parse(json))
 */
import { type Rng, rng } from "../signal/random.ts";
import { ConfigError } from "../errors.ts";

/** Hyper-parameters of {@link RandomForest}; defaults follow scikit-learn. */
export interface RandomForestArgs {
  /** Number of trees; default 100. ssl-wearables uses 3000. */
  nEstimators?: number;
  /** Maximum tree depth (root = depth 0); default `null` (unlimited). */
  maxDepth?: number | null;
  /** Minimum samples (rows) to split a node; default 2. */
  minSamplesSplit?: number;
  /** Minimum samples (rows) in each leaf; default 1. */
  minSamplesLeaf?: number;
  /**
   * Features tried per split: `"sqrt"` (default), `"log2"`, `"all"`, an
   * integer count (≥ 1) or a fraction in (0, 1).
   */
  maxFeatures?: "sqrt" | "log2" | "all" | number;
  /** Draw a bootstrap sample (with replacement, n draws) per tree; default true. */
  bootstrap?: boolean;
  /**
   * Class weights: `null` (default), `"balanced"` (n / (k · count_c) on the
   * training set) or `"balanced_subsample"` (the same per tree, on its sample).
   */
  classWeight?: "balanced" | "balanced_subsample" | null;
  /**
   * imbalanced-learn's balanced random forest: before the bootstrap, each
   * tree under-samples every class except the minority to the minority's
   * count, with replacement (`sampling_strategy="not minority",
   * replacement=True`). Default false.
   */
  balanced?: boolean;
  /** Bins per feature for split finding, 2..256; default 256. */
  maxBins?: number;
  /** Seed of every random choice (samples, feature order); default 0. */
  seed?: number;
}

/** One fitted tree as flat arrays (node 0 = root). */
export interface TreeJSON {
  /** Split feature per node; -1 for leaves. */
  feature: number[];
  /** Split threshold per node: go left when `x[feature] <= threshold`. */
  threshold: number[];
  /** Left child per node (leaf: offset of its class distribution in `values`). */
  left: number[];
  /** Right child per node (-1 for leaves). */
  right: number[];
  /** Leaf class distributions, `nClasses` values each (sum 1). */
  values: number[];
}

/** A serialised forest (plain JSON data). */
export interface RandomForestJSON {
  format: "har-random-forest";
  version: 1;
  args: RandomForestArgs;
  nFeatures: number;
  /** Class labels (sorted) learnt from `y`. */
  classes: number[];
  /** Mean decrease in impurity per feature (sums to 1). */
  featureImportances: number[];
  trees: TreeJSON[];
}

interface Tree {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  values: Float32Array;
}

/** Quantised training features: column-major bin codes and per-bin value ranges. */
interface Binned {
  codes: Uint8Array; // [nFeatures, n]
  nBins: Int32Array; // per feature
  lo: Float64Array[]; // min value per bin
  hi: Float64Array[]; // max value per bin
}

function binFeatures(X: Float32Array, n: number, nf: number, maxBins: number): Binned {
  const codes = new Uint8Array(nf * n);
  const nBins = new Int32Array(nf);
  const lo: Float64Array[] = [], hi: Float64Array[] = [];
  const col = new Float64Array(n);
  for (let f = 0; f < nf; f++) {
    for (let i = 0; i < n; i++) col[i] = X[i * nf + f];
    const sorted = Float64Array.from(col).sort();
    const uniq: number[] = [];
    for (let i = 0; i < n; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) uniq.push(sorted[i]);
    // upper edges: a value v goes to the first bin b with v <= edges[b].
    let edges: number[];
    if (uniq.length <= maxBins) {
      edges = uniq.slice(0, -1).map((u, j) => (u + uniq[j + 1]) / 2);
    } else {
      edges = [];
      for (let b = 1; b < maxBins; b++) {
        const j = Math.min(uniq.length - 2, Math.floor((b * uniq.length) / maxBins) - 1);
        const e = (uniq[j] + uniq[j + 1]) / 2;
        if (!edges.length || e > edges[edges.length - 1]) edges.push(e);
      }
    }
    const k = edges.length + 1;
    nBins[f] = k;
    const l = new Float64Array(k).fill(Infinity), h = new Float64Array(k).fill(-Infinity);
    for (let i = 0; i < n; i++) {
      const v = col[i];
      let a = 0, z = edges.length; // first edge >= v
      while (a < z) {
        const mid = (a + z) >> 1;
        if (edges[mid] < v) a = mid + 1;
        else z = mid;
      }
      codes[f * n + i] = a;
      if (v < l[a]) l[a] = v;
      if (v > h[a]) h[a] = v;
    }
    lo.push(l);
    hi.push(h);
  }
  return { codes, nBins, lo, hi };
}

function resolveMaxFeatures(m: RandomForestArgs["maxFeatures"], nf: number): number {
  let k: number;
  if (m === undefined || m === "sqrt") k = Math.floor(Math.sqrt(nf));
  else if (m === "log2") k = Math.floor(Math.log2(nf));
  else if (m === "all") k = nf;
  else if (m > 0 && m < 1) k = Math.floor(m * nf);
  else if (Number.isInteger(m) && m >= 1) k = m;
  else {throw new ConfigError(
      `RandomForest: maxFeatures ${m} is not "sqrt", "log2", "all", an integer >= 1 or a fraction`,
    );}
  return Math.max(1, Math.min(nf, k));
}

/** Work buffers shared by all nodes of one tree build. */
interface Scratch {
  hist: Float64Array;
  cnt: Int32Array;
  keys: Uint32Array;
  left: Float64Array;
  right: Float64Array;
  bestLeft: Float64Array;
  saved: Float64Array;
}

class TreeBuilder {
  feature: number[] = [];
  threshold: number[] = [];
  left: number[] = [];
  right: number[] = [];
  values: number[] = [];
  importances: Float64Array;
  constructor(
    readonly bins: Binned,
    readonly n: number,
    readonly nf: number,
    readonly y: Int32Array, // class index 0..nC-1
    readonly nC: number,
    readonly maxFeatures: number,
    readonly maxDepth: number,
    readonly minSplit: number,
    readonly minLeaf: number,
    readonly r: Rng,
    readonly s: Scratch,
  ) {
    this.importances = new Float64Array(nf);
  }

  /** Build from `rows` (unique sample indices) with per-row weights `w`. */
  build(rows: Int32Array, w: Float64Array): Tree {
    const nC = this.nC;
    // Iterative depth-first growth; each stack item is a row range plus its node slot.
    type Item = { start: number; end: number; depth: number; node: number; counts: Float64Array };
    const rootCounts = new Float64Array(nC);
    for (let i = 0; i < rows.length; i++) rootCounts[this.y[rows[i]]] += w[i];
    const stack: Item[] = [{
      start: 0,
      end: rows.length,
      depth: 0,
      node: this.newNode(),
      counts: rootCounts,
    }];
    const features = Array.from({ length: this.nf }, (_, f) => f);
    const s = this.s;
    while (stack.length) {
      const it = stack.pop()!;
      const { start, end, depth, node, counts } = it;
      const nRows = end - start;
      let W = 0, sq = 0;
      for (let c = 0; c < nC; c++) {
        W += counts[c];
        sq += counts[c] * counts[c];
      }
      const impurity = W > 0 ? 1 - sq / (W * W) : 0;
      const canSplit = nRows >= this.minSplit && nRows >= 2 * this.minLeaf &&
        depth < this.maxDepth &&
        impurity > 1e-7;
      let bestF = -1, bestBin = -1, bestNextBin = -1, bestScore = -Infinity;
      if (canSplit) {
        // Fisher–Yates over features, visiting until maxFeatures non-constant ones are seen.
        let visited = 0;
        for (let i = 0; i < this.nf && (visited < this.maxFeatures || bestF < 0); i++) {
          const j = i + this.r.int(this.nf - i);
          const f = features[j];
          features[j] = features[i];
          features[i] = f;
          const res = this.bestSplit(f, rows, w, start, end, counts, W);
          if (res.constant) continue;
          visited++;
          if (res.bin >= 0 && res.score > bestScore) {
            bestScore = res.score;
            bestF = f;
            bestBin = res.bin;
            bestNextBin = res.nextBin;
            s.bestLeft.set(s.left.subarray(0, nC));
          }
        }
      }
      if (bestF < 0) {
        this.makeLeaf(node, counts, W);
        continue;
      }
      // partition rows (and weights) in place: codes <= bestBin go left.
      const codes = this.bins.codes, off = bestF * this.n;
      let i = start, j = end - 1;
      while (i <= j) {
        if (codes[off + rows[i]] <= bestBin) i++;
        else {
          let t = rows[i];
          rows[i] = rows[j];
          rows[j] = t;
          t = w[i];
          w[i] = w[j];
          w[j] = t;
          j--;
        }
      }
      const leftCounts = Float64Array.from(s.bestLeft.subarray(0, nC));
      const rightCounts = new Float64Array(nC);
      let WL = 0, sqL = 0, sqR = 0;
      for (let c = 0; c < nC; c++) {
        rightCounts[c] = counts[c] - leftCounts[c];
        WL += leftCounts[c];
        sqL += leftCounts[c] ** 2;
        sqR += rightCounts[c] ** 2;
      }
      const WR = W - WL;
      const impL = WL > 0 ? 1 - sqL / (WL * WL) : 0, impR = WR > 0 ? 1 - sqR / (WR * WR) : 0;
      this.importances[bestF] += W * impurity - WL * impL - WR * impR;
      this.feature[node] = bestF;
      this.threshold[node] = (this.bins.hi[bestF][bestBin] + this.bins.lo[bestF][bestNextBin]) / 2;
      const l = this.newNode(), rr = this.newNode();
      this.left[node] = l;
      this.right[node] = rr;
      stack.push({ start: i, end, depth: depth + 1, node: rr, counts: rightCounts });
      stack.push({ start, end: i, depth: depth + 1, node: l, counts: leftCounts });
    }
    return {
      feature: Int32Array.from(this.feature),
      threshold: Float64Array.from(this.threshold),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      values: Float32Array.from(this.values),
    };
  }

  private newNode(): number {
    this.feature.push(-1);
    this.threshold.push(0);
    this.left.push(-1);
    this.right.push(-1);
    return this.feature.length - 1;
  }

  private makeLeaf(node: number, counts: Float64Array, W: number): void {
    this.feature[node] = -1;
    this.left[node] = this.values.length;
    this.right[node] = -1;
    for (let c = 0; c < this.nC; c++) this.values.push(W > 0 ? counts[c] / W : 1 / this.nC);
  }

  /**
   * Best Gini split of rows[start:end) on feature f. Score = ΣL²/WL + ΣR²/WR
   * (maximising it minimises the weighted child impurity). On success the
   * left class weights are left in `s.left`.
   */
  private bestSplit(
    f: number,
    rows: Int32Array,
    w: Float64Array,
    start: number,
    end: number,
    counts: Float64Array,
    W: number,
  ): { constant: boolean; bin: number; nextBin: number; score: number } {
    const nC = this.nC, s = this.s, n = end - start;
    const codes = this.bins.codes, off = f * this.n;
    const nb = this.bins.nBins[f];
    const L = s.left, R = s.right;
    let bestScore = -Infinity, bestBin = -1, bestNext = -1;
    const saved = s.saved;
    let sqL = 0, sqR = 0, WL = 0;
    for (let c = 0; c < nC; c++) {
      L[c] = 0;
      R[c] = counts[c];
      sqR += counts[c] * counts[c];
    }
    const minLeaf = this.minLeaf;
    const useHist = n + nb * (nC + 1) < n * (Math.log2(n) + 2);
    if (useHist) {
      const hist = s.hist, cnt = s.cnt;
      hist.fill(0, 0, nb * nC);
      cnt.fill(0, 0, nb);
      for (let i = start; i < end; i++) {
        const b = codes[off + rows[i]];
        hist[b * nC + this.y[rows[i]]] += w[i];
        cnt[b]++;
      }
      let first = -1, last = -1;
      for (let b = 0; b < nb; b++) {
        if (cnt[b]) {
          if (first < 0) first = b;
          last = b;
        }
      }
      if (first === last) return { constant: true, bin: -1, nextBin: -1, score: 0 };
      let nL = 0;
      let prev = -1;
      for (let b = first; b <= last; b++) {
        if (!cnt[b]) continue;
        if (prev >= 0 && nL >= minLeaf && n - nL >= minLeaf) {
          const WR = W - WL;
          const score = sqL / WL + sqR / WR;
          if (score > bestScore) {
            bestScore = score;
            bestBin = prev;
            bestNext = b;
            saved.set(L.subarray(0, nC));
          }
        }
        for (let c = 0; c < nC; c++) {
          const v = hist[b * nC + c];
          if (v === 0) continue;
          sqL += 2 * L[c] * v + v * v;
          sqR += -2 * R[c] * v + v * v;
          L[c] += v;
          R[c] -= v;
          WL += v;
        }
        nL += cnt[b];
        prev = b;
      }
    } else {
      const keys = s.keys;
      for (let i = start; i < end; i++) {
        keys[i - start] = ((codes[off + rows[i]] << 24) | (i - start)) >>> 0;
      }
      const k = keys.subarray(0, n).sort();
      if (k[0] >>> 24 === k[n - 1] >>> 24) {
        return { constant: true, bin: -1, nextBin: -1, score: 0 };
      }
      for (let t = 0; t < n - 1; t++) {
        const pos = start + (k[t] & 0xffffff);
        const c = this.y[rows[pos]], v = w[pos];
        sqL += 2 * L[c] * v + v * v;
        sqR += -2 * R[c] * v + v * v;
        L[c] += v;
        R[c] -= v;
        WL += v;
        const b = k[t] >>> 24, nb2 = k[t + 1] >>> 24;
        if (b === nb2) continue;
        const nL = t + 1;
        if (nL < minLeaf || n - nL < minLeaf) continue;
        const score = sqL / WL + sqR / (W - WL);
        if (score > bestScore) {
          bestScore = score;
          bestBin = b;
          bestNext = nb2;
          saved.set(L.subarray(0, nC));
        }
      }
    }
    if (bestBin >= 0) L.set(saved.subarray(0, nC));
    return { constant: false, bin: bestBin, nextBin: bestNext, score: bestScore };
  }
}

/**
 * A random-forest classifier. Construct with {@link RandomForestArgs}, then
 * {@link RandomForest.fit}; predictions average the trees' leaf class
 * distributions (scikit-learn `predict_proba`) and take the arg-max.
 */
export class RandomForest {
  /** The hyper-parameters (defaults filled in at fit time). */
  readonly args: RandomForestArgs;
  /** Sorted class labels seen in `y` (set by `fit`). */
  classes: number[] = [];
  /** Number of features (set by `fit`). */
  nFeatures = 0;
  /** Mean decrease in impurity per feature, summing to 1 (set by `fit`). */
  featureImportances: Float64Array = new Float64Array(0);
  private trees: Tree[] = [];

  constructor(args: RandomForestArgs = {}) {
    this.args = { ...args };
    const nE = args.nEstimators ?? 100;
    if (!(Number.isInteger(nE) && nE >= 1)) {
      throw new ConfigError(`RandomForest: nEstimators ${nE} must be an integer >= 1`);
    }
    const mb = args.maxBins ?? 256;
    if (!(Number.isInteger(mb) && mb >= 2 && mb <= 256)) {
      throw new ConfigError(`RandomForest: maxBins ${mb} must be in 2..256`);
    }
    if ((args.minSamplesLeaf ?? 1) < 1) {
      throw new ConfigError("RandomForest: minSamplesLeaf must be >= 1");
    }
    if ((args.minSamplesSplit ?? 2) < 2) {
      throw new ConfigError("RandomForest: minSamplesSplit must be >= 2");
    }
  }

  /** Number of fitted trees. */
  get nTrees(): number {
    return this.trees.length;
  }

  /**
   * Fit on a row-major feature matrix.
   *
   * @param X features, `[n, nFeatures]` row-major (NaN not allowed)
   * @param nFeatures columns of X
   * @param y class label per row (integers; negatives are rejected)
   * @throws ConfigError on inconsistent shapes, NaN features or negative labels.
   */
  fit(X: Float32Array, nFeatures: number, y: ArrayLike<number>): this {
    const n = y.length;
    if (!(nFeatures >= 1) || X.length !== n * nFeatures) {
      throw new ConfigError(
        `RandomForest.fit: X has ${X.length} values, expected ${n} rows × ${nFeatures} features`,
      );
    }
    if (n === 0) throw new ConfigError("RandomForest.fit: no training rows");
    for (let i = 0; i < X.length; i++) {
      if (Number.isNaN(X[i])) {
        throw new ConfigError(
          `RandomForest.fit: X row ${Math.floor(i / nFeatures)} feature ${i % nFeatures} is NaN`,
        );
      }
    }
    const classes = [...new Set(Array.from(y))].sort((a, b) => a - b);
    if (classes[0] < 0) {
      throw new ConfigError(
        `RandomForest.fit: negative label ${classes[0]} (filter unlabelled rows first)`,
      );
    }
    const cIndex = new Map(classes.map((c, i) => [c, i]));
    const yi = Int32Array.from(y, (v) => cIndex.get(v)!);
    const nC = classes.length;
    const a = this.args;
    const maxBins = a.maxBins ?? 256;
    const bins = binFeatures(X, n, nFeatures, maxBins);
    const maxF = resolveMaxFeatures(a.maxFeatures, nFeatures);
    const r = rng(a.seed ?? 0);
    const byClass: number[][] = Array.from({ length: nC }, () => []);
    for (let i = 0; i < n; i++) byClass[yi[i]].push(i);
    const globalCw = classWeights(byClass.map((b) => b.length));
    const maxRows = n;
    const scratch: Scratch = {
      hist: new Float64Array(256 * nC),
      cnt: new Int32Array(256),
      keys: new Uint32Array(maxRows),
      left: new Float64Array(nC),
      right: new Float64Array(nC),
      bestLeft: new Float64Array(nC),
      saved: new Float64Array(nC),
    };
    if (n >= 1 << 24) throw new ConfigError(`RandomForest.fit: ${n} rows exceed the 16M-row limit`);
    this.trees = [];
    const imp = new Float64Array(nFeatures);
    const nE = a.nEstimators ?? 100;
    const counts = new Float64Array(n);
    for (let t = 0; t < nE; t++) {
      const tr = r.fork();
      counts.fill(0);
      // 1) imbalanced-learn under-sampling (all classes but the minority), with replacement.
      let pool: Int32Array;
      if (a.balanced) {
        let minority = 0;
        for (let c = 1; c < nC; c++) if (byClass[c].length < byClass[minority].length) minority = c;
        const m = byClass[minority].length;
        pool = new Int32Array(nC * m);
        let p = 0;
        for (let c = 0; c < nC; c++) {
          const idx = byClass[c];
          for (let j = 0; j < m; j++) pool[p++] = c === minority ? idx[j] : idx[tr.int(idx.length)];
        }
      } else {
        pool = Int32Array.from({ length: n }, (_, i) => i);
      }
      // 2) bootstrap from the pool (n draws with replacement), as sample counts.
      if (a.bootstrap ?? true) {
        for (let j = 0; j < pool.length; j++) counts[pool[tr.int(pool.length)]]++;
      } else {
        for (let j = 0; j < pool.length; j++) counts[pool[j]]++;
      }
      let cw = globalCw;
      if (a.classWeight === "balanced_subsample") {
        const cc = new Array<number>(nC).fill(0);
        for (let i = 0; i < n; i++) cc[yi[i]] += counts[i];
        cw = classWeights(cc);
      }
      const rowsArr: number[] = [];
      for (let i = 0; i < n; i++) if (counts[i] > 0) rowsArr.push(i);
      const rows = Int32Array.from(rowsArr);
      const w = Float64Array.from(rowsArr, (i) => counts[i] * (a.classWeight ? cw[yi[i]] : 1));
      const builder = new TreeBuilder(
        bins,
        n,
        nFeatures,
        yi,
        nC,
        maxF,
        a.maxDepth ?? Infinity,
        a.minSamplesSplit ?? 2,
        a.minSamplesLeaf ?? 1,
        tr,
        scratch,
      );
      const tree = builder.build(rows, w);
      this.trees.push(tree);
      let total = 0;
      for (const v of builder.importances) total += v;
      if (tree.feature.length > 1 && total > 0) {
        for (let f = 0; f < nFeatures; f++) imp[f] += builder.importances[f] / total;
      }
    }
    let s = 0;
    for (let f = 0; f < nFeatures; f++) s += imp[f];
    this.featureImportances = imp.map((v) => (s > 0 ? v / s : 0));
    this.classes = classes;
    this.nFeatures = nFeatures;
    return this;
  }

  /**
   * Class probabilities, row-major `[n, classes.length]`: the mean over trees
   * of each leaf's (weighted) class distribution.
   */
  predictProba(X: Float32Array): Float32Array {
    this.checkFitted(X);
    const nf = this.nFeatures, nC = this.classes.length, n = X.length / nf;
    const acc = new Float64Array(n * nC);
    for (const t of this.trees) {
      const { feature, threshold, left, right, values } = t;
      for (let i = 0; i < n; i++) {
        let node = 0;
        const row = i * nf;
        while (feature[node] >= 0) {
          node = X[row + feature[node]] <= threshold[node] ? left[node] : right[node];
        }
        const off = left[node];
        for (let c = 0; c < nC; c++) acc[i * nC + c] += values[off + c];
      }
    }
    const out = new Float32Array(n * nC);
    const k = 1 / this.trees.length;
    for (let i = 0; i < out.length; i++) out[i] = acc[i] * k;
    return out;
  }

  /** Predicted class label per row (arg-max of {@link predictProba}; ties → smallest label). */
  predict(X: Float32Array): Int32Array {
    const p = this.predictProba(X);
    const nC = this.classes.length, n = p.length / nC;
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < nC; c++) if (p[i * nC + c] > p[i * nC + best]) best = c;
      out[i] = this.classes[best];
    }
    return out;
  }

  /** Plain-JSON form (see {@link RandomForest.fromJSON}). */
  toJSON(): RandomForestJSON {
    return {
      format: "har-random-forest",
      version: 1,
      args: this.args,
      nFeatures: this.nFeatures,
      classes: this.classes,
      featureImportances: Array.from(this.featureImportances),
      trees: this.trees.map((t) => ({
        feature: Array.from(t.feature),
        threshold: Array.from(t.threshold),
        left: Array.from(t.left),
        right: Array.from(t.right),
        values: Array.from(t.values),
      })),
    };
  }

  /**
   * Rebuild a forest from {@link RandomForest.toJSON} output.
   *
   * @throws ConfigError when `json` is not a serialised forest.
   */
  static fromJSON(json: RandomForestJSON): RandomForest {
    if (json?.format !== "har-random-forest" || json.version !== 1 || !Array.isArray(json.trees)) {
      throw new ConfigError("RandomForest.fromJSON: not a har-random-forest v1 object");
    }
    const rf = new RandomForest(json.args);
    rf.nFeatures = json.nFeatures;
    rf.classes = json.classes.slice();
    rf.featureImportances = Float64Array.from(json.featureImportances);
    rf.trees = json.trees.map((t, i) => {
      const m = t.feature.length;
      if (t.threshold.length !== m || t.left.length !== m || t.right.length !== m) {
        throw new ConfigError(`RandomForest.fromJSON: tree ${i} has arrays of different lengths`);
      }
      return {
        feature: Int32Array.from(t.feature),
        threshold: Float64Array.from(t.threshold),
        left: Int32Array.from(t.left),
        right: Int32Array.from(t.right),
        values: Float32Array.from(t.values),
      };
    });
    return rf;
  }

  private checkFitted(X: Float32Array): void {
    if (!this.trees.length) throw new ConfigError("RandomForest: call fit() before predicting");
    if (X.length % this.nFeatures !== 0) {
      throw new ConfigError(
        `RandomForest: X has ${X.length} values, not a multiple of ${this.nFeatures} features`,
      );
    }
  }
}

/** scikit-learn's "balanced" weights n / (k · count_c) over classes with count > 0. */
function classWeights(counts: number[]): number[] {
  const present = counts.filter((c) => c > 0).length;
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (c > 0 ? total / (present * c) : 0));
}
