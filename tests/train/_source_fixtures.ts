/**
 * Models, batch sources and a shard-level reference loss for
 * loop_sources_test.ts and _fit_source_child.ts (not a test file). Every
 * model is batch-norm and dropout free, so a data-parallel step equals the
 * single-thread one up to float rounding.
 */
import * as tf from "@tensorflow/tfjs";
import { rng } from "../../lib/random.ts";
import { shardSizes } from "../../lib/backend/parallel.ts";
import type { Windows } from "../../lib/data/types.ts";
import { PRETEXT_TASKS } from "../../lib/pretext/tasks.ts";
import type { Batch, BatchContext, BatchSource, LossFn } from "../../lib/train/loop.ts";
import { toyData } from "./_fixtures.ts";

const glorot = (seed: number) => tf.initializers.glorotUniform({ seed });

/** Rows `idx` of `[n, ...row]` data as one array. */
function rows(x: Float32Array, rowSize: number, idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * rowSize);
  for (let i = 0; i < idx.length; i++) {
    out.set(x.subarray(idx[i] * rowSize, (idx[i] + 1) * rowSize), i * rowSize);
  }
  return out;
}

/**
 * A random-access source over toyData (3 classes, `[n, 3, 16]`): step `s`
 * draws `sizes[s]` rows from the step seed, so batches depend on fit's
 * generator only. `seen` collects every context it is asked for.
 */
export function randomAccessSource(
  sizes: readonly number[],
  opts: {
    seen?: BatchContext[];
    poolSeed?: number;
    /** Per-class weights: `Batch.sampleWeights` = weight of each row's class (0 when unlabelled). */
    sampleWeights?: readonly number[];
    /** Mark every this-many-th row unlabelled (-1). */
    unlabelledEvery?: number;
  } = {},
): BatchSource {
  const pool = toyData(90, opts.poolSeed ?? 3);
  return {
    stepsPerEpoch: sizes.length,
    batch: (ctx) => {
      opts.seen?.push({ ...ctx });
      const r = rng(ctx.seed);
      const idx = Array.from({ length: sizes[ctx.step] }, () => r.int(90));
      const y = Int32Array.from(
        idx,
        (i, k) => opts.unlabelledEvery && k % opts.unlabelledEvery === 0 ? -1 : pool.y[i],
      );
      const b: Batch = {
        x: { data: rows(pool.x, 48, idx), shape: [idx.length, 3, 16] },
        y: { data: y, shape: [idx.length] },
      };
      if (opts.sampleWeights) {
        b.sampleWeights = Array.from(y, (c) => (c < 0 ? 0 : opts.sampleWeights![c]));
      }
      return b;
    },
  };
}

/**
 * A generator source over toyData yielding `tf.Tensor` batches (fit
 * disposes them): epoch `e` is a shuffle (from the epoch seed) cut into
 * batches of `sizes`; odd epochs end one batch early (a generator may end
 * its epoch). `seen` collects the epoch contexts.
 */
export function generatorSource(
  sizes: readonly number[],
  opts: { seen?: { epoch: number; epochSeed: number }[] } = {},
): BatchSource {
  const pool = toyData(90, 4);
  return {
    stepsPerEpoch: sizes.length,
    epoch: function* ({ epoch, epochSeed }) {
      opts.seen?.push({ epoch, epochSeed });
      const order = rng(epochSeed).permutation(90);
      let from = 0;
      const steps = epoch % 2 === 1 ? sizes.length - 1 : sizes.length;
      for (let s = 0; s < steps; s++) {
        const idx = order.subarray(from, from + sizes[s]);
        from += sizes[s];
        yield {
          x: tf.tensor3d(rows(pool.x, 48, idx), [idx.length, 3, 16]),
          y: tf.tensor1d(Int32Array.from(idx, (i) => pool.y[i]), "int32"),
        };
      }
    },
  };
}

/** Rows of toyData drawn from a step seed: `[n, 3, 16]` windows, labels, and the generator. */
function drawRows(pool: ReturnType<typeof toyData>, n: number, seed: number) {
  const r = rng(seed);
  const idx = Array.from({ length: n }, () => r.int(pool.shape[0]));
  return { x: rows(pool.x, 48, idx), y: Int32Array.from(idx, (i) => pool.y[i]), r };
}

/** A 0/1 mask of `n` values, each 1 with probability `p`, from `r`. */
function mask01(n: number, r: ReturnType<typeof rng>, p = 0.4): Float32Array {
  return Float32Array.from({ length: n }, () => (r.next() < p ? 1 : 0));
}

/**
 * Two inputs and three targets for {@link twoInputModel}: `x = [window
 * [n, 3, 16], features [n, 4]]` (channel means and a noise value), `y =
 * [labels [n], clean window [n, 3, 16], channel mask [n, 3]]`.
 */
export function twoInputSource(sizes: readonly number[]): BatchSource {
  const pool = toyData(90, 5);
  return {
    stepsPerEpoch: sizes.length,
    batch: ({ step, seed }) => {
      const n = sizes[step];
      const { x, y, r } = drawRows(pool, n, seed);
      const vec = new Float32Array(n * 4);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < 3; c++) {
          let m = 0;
          for (let t = 0; t < 16; t++) m += x[(i * 3 + c) * 16 + t] / 16;
          vec[i * 4 + c] = m;
        }
        vec[i * 4 + 3] = r.normal();
      }
      return {
        x: [{ data: x, shape: [n, 3, 16] }, { data: vec, shape: [n, 4] }],
        y: [
          { data: y, shape: [n] },
          { data: x.slice(), shape: [n, 3, 16] },
          { data: mask01(n * 3, r, 0.6), shape: [n, 3] },
        ],
      };
    },
  };
}

/**
 * Masked reconstruction batches for {@link reconModel}: `x` the window with
 * the masked values zeroed, `y = [clean window, mask]`. `mask: "element"`
 * masks single values (`[n, 3, 16]`, every 4th sample's mask empty);
 * `"channel"` whole channels (`[n, 3]`), with `sampleWeights` = masked
 * values per sample (what the `"element"` reduction's mean weighs them by).
 */
export function reconSource(sizes: readonly number[], mask: "element" | "channel"): BatchSource {
  const pool = toyData(90, 6);
  return {
    stepsPerEpoch: sizes.length,
    batch: ({ step, seed }) => {
      const n = sizes[step];
      const { x, r } = drawRows(pool, n, seed);
      const m = mask === "element" ? mask01(n * 48, r) : mask01(n * 3, r, 0.5);
      if (mask === "element") { for (let i = 0; i < n; i += 4) m.fill(0, i * 48, (i + 1) * 48); }
      const per = mask === "element" ? 48 : 3, scale = mask === "element" ? 1 : 16;
      const masked = x.map((v, k) => (m[Math.floor(k / (48 / per))] ? 0 : v));
      const b: Batch = {
        x: { data: masked, shape: [n, 3, 16] },
        y: [{ data: x, shape: [n, 3, 16] }, {
          data: m,
          shape: mask === "element" ? [n, 3, 16] : [n, 3],
        }],
      };
      if (mask === "channel") {
        b.sampleWeights = Array.from({ length: n }, (_, i) => {
          let s = 0;
          for (let c = 0; c < per; c++) s += m[i * per + c];
          return s * scale;
        });
      }
      return b;
    },
  };
}

/** Two noisy views of the same windows for {@link twoViewModel}; no targets. */
export function viewSource(sizes: readonly number[]): BatchSource {
  const pool = toyData(90, 7);
  return {
    stepsPerEpoch: sizes.length,
    batch: ({ step, seed }) => {
      const n = sizes[step];
      const { x, r } = drawRows(pool, n, seed);
      const a = x.map((v) => v + 0.3 * r.normal());
      const b = x.map((v) => 1.2 * v + 0.3 * r.normal());
      return { x: [{ data: a, shape: [n, 3, 16] }, { data: b, shape: [n, 3, 16] }] };
    },
  };
}

/** Sequences `[n, 4, 6]` (a per-sequence direction plus noise) for {@link cpcModel}; no targets. */
export function cpcSource(sizes: readonly number[]): BatchSource {
  return {
    stepsPerEpoch: sizes.length,
    batch: ({ step, seed }) => {
      const n = sizes[step];
      const r = rng(seed);
      const x = new Float32Array(n * 24);
      for (let i = 0; i < n; i++) {
        const dir = Array.from({ length: 6 }, () => r.normal());
        for (let t = 0; t < 4; t++) {
          for (let f = 0; f < 6; f++) {
            x[i * 24 + t * 6 + f] = dir[f] * (1 + 0.2 * t) + 0.3 * r.normal();
          }
        }
      }
      return { x: { data: x, shape: [n, 4, 6] } };
    },
  };
}

/** Synthetic unlabelled tri-axial windows `[n, 3, length]` of 3 subjects (for the pretext). */
export function synthWindows(n: number, seed: number, length = 48): Windows {
  const r = rng(seed);
  const x = new Float32Array(n * 3 * length);
  for (let i = 0; i < n; i++) {
    const f = 0.1 + 0.4 * r.next(), a = 0.5 + r.next();
    for (let c = 0; c < 3; c++) {
      const ph = r.next() * 6;
      for (let t = 0; t < length; t++) {
        x[(i * 3 + c) * length + t] = a * Math.sin(f * t * (c + 1) + ph) + 0.1 * r.normal() +
          (c === 2 ? 1 : 0);
      }
    }
  }
  return {
    x,
    n,
    channels: 3,
    length,
    y: new Int32Array(n).fill(-1),
    classes: [],
    subject: Array.from({ length: n }, (_, i) => `s${i % 3}`),
    rateHz: 30,
  };
}

/**
 * A small multi-task model on `[length, 3]` inputs: conv encoder, then one
 * 2-unit logits head `<task>_h` per pretext task, in PRETEXT_TASKS order
 * (harnet's `"mtl"` head layout).
 */
export function mtlModel(seed: number, length = 48): tf.LayersModel {
  const input = tf.input({ shape: [length, 3] });
  const conv = tf.layers.conv1d({
    filters: 4,
    kernelSize: 5,
    strides: 2,
    activation: "relu",
    name: "enc_conv",
    kernelInitializer: glorot(seed),
  }).apply(input) as tf.SymbolicTensor;
  const feat = tf.layers.flatten({ name: "enc_flat" }).apply(conv) as tf.SymbolicTensor;
  const heads = PRETEXT_TASKS.map((t, k) =>
    tf.layers.dense({ units: 2, name: `${t}_h`, kernelInitializer: glorot(seed + 1 + k) })
      .apply(feat) as tf.SymbolicTensor
  );
  return tf.model({ inputs: input, outputs: heads, name: "mtl_toy" });
}

/**
 * Two inputs (a `[16, 3]` window and a `[4]` feature vector), two outputs:
 * class logits `[n, 3]` and a flat reconstruction `[n, 48]` of the window.
 */
export function twoInputModel(seed: number): tf.LayersModel {
  const win = tf.input({ shape: [16, 3], name: "win" });
  const vec = tf.input({ shape: [4], name: "vec" });
  const conv = tf.layers.conv1d({
    filters: 4,
    kernelSize: 3,
    activation: "relu",
    name: "w_conv",
    kernelInitializer: glorot(seed),
  }).apply(win) as tf.SymbolicTensor;
  const f = tf.layers.flatten({ name: "w_flat" }).apply(conv) as tf.SymbolicTensor;
  const v = tf.layers.dense({
    units: 4,
    activation: "tanh",
    name: "v_dense",
    kernelInitializer: glorot(seed + 1),
  }).apply(vec) as tf.SymbolicTensor;
  const h = tf.layers.concatenate({ name: "joint" }).apply([f, v]) as tf.SymbolicTensor;
  const cls = tf.layers.dense({ units: 3, name: "cls", kernelInitializer: glorot(seed + 2) })
    .apply(h) as tf.SymbolicTensor;
  const rec = tf.layers.dense({ units: 48, name: "rec", kernelInitializer: glorot(seed + 3) })
    .apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: [win, vec], outputs: [cls, rec], name: "two_in" });
}

/** One conv encoder on `[16, 3]` inputs, flat `[n, 48]` output (an autoencoder-style reconstruction). */
export function reconModel(seed: number): tf.LayersModel {
  const m = tf.sequential({ name: "recon" });
  m.add(tf.layers.conv1d({
    inputShape: [16, 3],
    filters: 4,
    kernelSize: 3,
    activation: "relu",
    name: "r_conv",
    kernelInitializer: glorot(seed),
  }));
  m.add(tf.layers.flatten({ name: "r_flat" }));
  m.add(tf.layers.dense({ units: 48, name: "r_out", kernelInitializer: glorot(seed + 1) }));
  return m;
}

/**
 * SimCLR-style: two `[16, 3]` view inputs through one shared encoder and
 * projection (the same layers applied twice), two `[n, 8]` outputs.
 */
export function twoViewModel(seed: number): tf.LayersModel {
  const a = tf.input({ shape: [16, 3], name: "view_a" });
  const b = tf.input({ shape: [16, 3], name: "view_b" });
  const conv = tf.layers.conv1d({
    filters: 4,
    kernelSize: 3,
    activation: "relu",
    name: "s_conv",
    kernelInitializer: glorot(seed),
  });
  const flat = tf.layers.flatten({ name: "s_flat" });
  const proj = tf.layers.dense({ units: 8, name: "s_proj", kernelInitializer: glorot(seed + 1) });
  const enc = (x: tf.SymbolicTensor) =>
    proj.apply(flat.apply(conv.apply(x) as tf.SymbolicTensor)) as tf.SymbolicTensor;
  return tf.model({ inputs: [a, b], outputs: [enc(a), enc(b)], name: "two_view" });
}

/**
 * CPC-style on `[steps=4, 6]` inputs: a shared per-step dense context, then
 * predictions `[n, 4, 5]` and encoded futures `[n, 4, 5]`.
 */
export function cpcModel(seed: number): tf.LayersModel {
  const x = tf.input({ shape: [4, 6], name: "seq" });
  const h = tf.layers.dense({
    units: 8,
    activation: "tanh",
    name: "c_ctx",
    kernelInitializer: glorot(seed),
  }).apply(x) as tf.SymbolicTensor;
  const pred = tf.layers.dense({ units: 5, name: "c_pred", kernelInitializer: glorot(seed + 1) })
    .apply(h) as tf.SymbolicTensor;
  const enc = tf.layers.dense({ units: 5, name: "c_enc", kernelInitializer: glorot(seed + 2) })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: [pred, enc], name: "cpc_toy" });
}

/** Gaussian noise array of `n` values from `seed`. */
export function noise(n: number, seed: number, sd = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => sd * r.normal());
}

/**
 * The loss the data-parallel path computes: the batch is cut as the
 * trainer cuts it (`shardSizes(n, workers)`, contiguous rows of every
 * target and output), `inner` is evaluated on each shard, and the shard
 * losses and reports are averaged weighted by the shards' masses: their
 * sizes, or their sums of `rowWeights(targets)` (what `Batch.sampleWeights`
 * gives the trainer). For a batch-level loss this is not the full-batch loss.
 */
export function shardedLoss(
  inner: LossFn,
  workers: number,
  rowWeights?: (targets: tf.Tensor[]) => Float32Array,
): LossFn {
  return (targets, outputs, ctx) =>
    tf.tidy(() => {
      const n = outputs[0].shape[0];
      const sizes = shardSizes(n, workers);
      const w = rowWeights?.(targets) ?? new Float32Array(n).fill(1);
      const mass = sizes.map((s, k) => {
        const from = sizes.slice(0, k).reduce((a, b) => a + b, 0);
        return w.subarray(from, from + s).reduce((a, b) => a + b, 0);
      });
      const totalMass = mass.reduce((a, b) => a + b, 0);
      const sums: Record<string, number> = {}, seen: Record<string, number> = {};
      let total: tf.Scalar = tf.scalar(0);
      let from = 0;
      sizes.forEach((s, k) => {
        const share = mass[k] / totalMass;
        if (s > 0 && share > 0) {
          const cut = (t: tf.Tensor) => t.slice([from], [s]);
          const reports: Record<string, number> = {};
          const l = inner(targets.map(cut), outputs.map(cut), {
            seed: ctx?.seed,
            report: (name, v) => (reports[name] = typeof v === "number" ? v : v.dataSync()[0]),
          });
          for (const [name, v] of Object.entries(reports)) {
            sums[name] = (sums[name] ?? 0) + v * share;
            seen[name] = (seen[name] ?? 0) + share;
          }
          total = total.add(l.mul(share));
        }
        from += s;
      });
      if (ctx?.report) {
        for (const [name, v] of Object.entries(sums)) ctx.report(name, v / seen[name]);
      }
      return total;
    });
}
