/**
 * Representation analysis as in Yuan et al. (2024), Fig. 3: UMAP (umap-js)
 * of the raw windows, the features of a randomly initialised encoder and
 * the self-supervised encoder's features, coloured by class. Alongside the
 * pictures, a number: leave-one-out k-nearest-neighbour accuracy in each
 * representation (cosine distance), to say how much class structure each
 * one holds.
 *
 * @example
 * const emb = embedUmap(feats, 2, { seed: 1, nNeighbors: 15, minDist: 0.1 });
 * knnAccuracy(feats, dim, labels, 5); // 0..1
 */
import { UMAP } from "umap-js";
import { ConfigError } from "../../errors.ts";
import { rng } from "../../random.ts";

/** Options of {@link embedUmap}. */
export interface EmbedUmapOptions {
  /** Seed of UMAP's random choices. */
  seed: number;
  /** Neighbours (default 15). */
  nNeighbors?: number;
  /** Minimum distance (default 0.1). */
  minDist?: number;
  /** Optimisation epochs (default: umap-js's choice). */
  nEpochs?: number | null;
}

/** Rows of a flat `[n, dim]` array as number[][] (what umap-js takes), z-scored per column. */
export function standardRows(x: Float32Array, dim: number): number[][] {
  const n = x.length / dim;
  if (!Number.isInteger(n)) {
    throw new ConfigError(`standardRows: ${x.length} values is not n × ${dim}`);
  }
  const mean = new Float64Array(dim), sd = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += x[i * dim + j] / n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) sd[j] += (x[i * dim + j] - mean[j]) ** 2 / n;
  }
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const r = new Array<number>(dim);
    for (let j = 0; j < dim; j++) {
      const s = Math.sqrt(sd[j]);
      r[j] = s > 1e-12 ? (x[i * dim + j] - mean[j]) / s : 0;
    }
    rows.push(r);
  }
  return rows;
}

/**
 * 2-D UMAP embedding of `[n, dim]` data (columns standardised first),
 * reproducible from `seed`. Returns `n` rows of `[x, y]`.
 *
 * @throws ConfigError with fewer than 3 points.
 */
export function embedUmap(x: Float32Array, dim: number, opts: EmbedUmapOptions): number[][] {
  const rows = standardRows(x, dim);
  if (rows.length < 3) {
    throw new ConfigError(`embedUmap: need at least 3 points, got ${rows.length}`);
  }
  const r = rng(opts.seed);
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.min(opts.nNeighbors ?? 15, rows.length - 1),
    minDist: opts.minDist ?? 0.1,
    ...(opts.nEpochs ? { nEpochs: opts.nEpochs } : {}),
    random: () => r.next(),
  });
  return umap.fit(rows);
}

/**
 * Leave-one-out k-NN accuracy (majority vote, ties → nearest) with cosine
 * distance on `[n, dim]` data: a representation-quality number that does
 * not depend on UMAP's layout.
 */
export function knnAccuracy(
  x: Float32Array,
  dim: number,
  labels: ArrayLike<number>,
  k = 5,
): number {
  const n = labels.length;
  if (x.length !== n * dim) {
    throw new ConfigError(`knnAccuracy: ${x.length} values for ${n} × ${dim}`);
  }
  const rows = standardRows(x, dim);
  const norm = rows.map((r) => Math.sqrt(r.reduce((a, v) => a + v * v, 0)) || 1);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const sims: [number, number][] = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += rows[i][d] * rows[j][d];
      sims.push([dot / (norm[i] * norm[j]), j]);
    }
    sims.sort((a, b) => b[0] - a[0]);
    const votes = new Map<number, number>();
    let best = -1, bestCount = 0;
    for (const [, j] of sims.slice(0, k)) {
      const c = (votes.get(labels[j]) ?? 0) + 1;
      votes.set(labels[j], c);
      if (c > bestCount) {
        best = labels[j];
        bestCount = c;
      }
    }
    if (best === labels[i]) correct++;
  }
  return correct / n;
}
