/**
 * Losses for the training loop (`fit`, lib/train/loop.ts): class-weighted
 * cross-entropy, masked L1/L2 reconstruction, SimCLR NT-Xent, CPC InfoNCE
 * and weighted multi-head sums with per-head metrics, plus sklearn-style
 * class weights.
 *
 * Every loss is a {@link LossFn} `(targets, outputs, context) => scalar`
 * built by a factory from plain-data arguments, so the same loss can be
 * described as data, `{ kind, args }` ({@link BuiltinLossSpec}), sent to a
 * worker and rebuilt there with {@link lossFromSpec}.
 *
 * @example
 * const w = balancedClassWeights(yTrain, 5);           // sklearn "balanced"
 * const loss = weightedCrossEntropy(logits, labels, w); // PyTorch CrossEntropyLoss(weight=w)
 *
 * // the same loss as data, for fit or a worker
 * const fn = lossFromSpec({ kind: "cross-entropy", args: { classWeights: Array.from(w) } });
 * const value = fn([labels], [logits]); // scalar
 *
 * // Yuan et al.'s multi-task pre-training: mean of four binary heads
 * const mtl = lossFromSpec({
 *   kind: "multi-head",
 *   args: {
 *     heads: ["aot", "scale", "permute", "time_w"].map((name, k) => ({
 *       name, loss: { kind: "cross-entropy" }, weight: 1 / 4, output: k, targets: [k],
 *     })),
 *   },
 * });
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../errors.ts";

/** What a loss is told about the step. */
export interface LossContext {
  /**
   * Record a named scalar for this step's metrics (e.g. per-head
   * loss/accuracy); read synchronously (a tensor may be disposed right
   * after the call). Optional: losses compute metrics only when it is given.
   */
  report?: (name: string, value: number | tf.Scalar) => void;
  /** Seed of the step, if any (for losses needing randomness). */
  seed?: number;
}

/**
 * A loss: targets and model outputs (each a list, in the order of the
 * batch's `y` and the model's outputs) → mean scalar over the batch (a mean
 * over samples, so that data-parallel shard gradients average to the
 * full-batch gradient where the loss decomposes).
 */
export type LossFn = (
  targets: tf.Tensor[],
  outputs: tf.Tensor[],
  context?: LossContext,
) => tf.Scalar;

/**
 * Class-weighted cross-entropy from logits, with PyTorch
 * `CrossEntropyLoss(weight=w, reduction="mean")` semantics: the weighted
 * mean divides by the sum of the weights of the targets,
 * `Σ w[yᵢ]·(−log softmax(zᵢ)[yᵢ]) / Σ w[yᵢ]`. Targets `< 0` (unlabelled) are
 * ignored (weight 0); if no target counts the loss is 0.
 *
 * @param logits `[n, classes]` unnormalised scores.
 * @param labels `[n]` int32 class indices.
 * @param weights Per-class weights (length `classes`); omitted = all 1.
 * @param fromLogits False when `logits` are already probabilities (softmax output).
 */
export function weightedCrossEntropy(
  logits: tf.Tensor,
  labels: tf.Tensor,
  weights?: ArrayLike<number>,
  fromLogits = true,
): tf.Scalar {
  return tf.tidy(() => {
    if (logits.rank !== 2) {
      throw new ConfigError(`weightedCrossEntropy logits: expected rank 2, got [${logits.shape}]`);
    }
    const k = logits.shape[1] as number;
    if (weights && weights.length !== k) {
      throw new ConfigError(
        `weightedCrossEntropy weights: ${weights.length} weights for ${k} classes`,
      );
    }
    const lab = labels.toInt().reshape([-1]);
    const valid = lab.greaterEqual(0);
    const safe = tf.where(valid, lab, tf.zerosLike(lab));
    const logp = fromLogits ? tf.logSoftmax(logits) : tf.log(tf.clipByValue(logits, 1e-12, 1));
    const picked = logp.mul(tf.oneHot(safe, k)).sum(1); // [n]
    let w = valid.toFloat();
    if (weights) w = w.mul(tf.gather(tf.tensor1d(Array.from(weights), "float32"), safe));
    const den = w.sum();
    return picked.mul(w).sum().neg().div(tf.maximum(den, 1e-12)) as tf.Scalar;
  });
}

/**
 * sklearn `compute_class_weight("balanced")`: `n / (c · count[k])` where `n`
 * counts the labelled samples and `c` the classes present. Classes absent
 * from `y` get weight 0 (sklearn raises instead); labels `< 0` are ignored.
 *
 * @param y Class index per sample.
 * @param numClasses Number of classes (length of the result).
 */
export function balancedClassWeights(y: ArrayLike<number>, numClasses: number): Float32Array {
  const counts = new Float64Array(numClasses);
  let n = 0;
  for (let i = 0; i < y.length; i++) {
    const c = y[i];
    if (c < 0) continue;
    if (c >= numClasses) {
      throw new ConfigError(`balancedClassWeights y[${i}]: class ${c} >= numClasses ${numClasses}`);
    }
    counts[c]++;
    n++;
  }
  const present = counts.filter((c) => c > 0).length;
  const w = new Float32Array(numClasses);
  for (let k = 0; k < numClasses; k++) w[k] = counts[k] > 0 ? n / (present * counts[k]) : 0;
  return w;
}

// ---------------------------------------------------------------------------
// argument checks shared by the factories

/** Reject keys a factory does not know (catches typos in loss specs). */
function checkKeys(where: string, args: object, allowed: readonly string[]): void {
  for (const k of Object.keys(args)) {
    if (!allowed.includes(k)) {
      throw new ConfigError(`${where}: unknown argument "${k}" (known: ${allowed.join(", ")})`);
    }
  }
}

/** A list index argument (non-negative integer). */
function indexArg(where: string, name: string, v: unknown, def: number): number {
  if (v === undefined) return def;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new ConfigError(`${where} ${name}: expected an index (integer >= 0), got ${v}`);
  }
  return v;
}

/** The tensor at `list[i]`, or a clear error naming the list and what is there. */
function pick(where: string, list: tf.Tensor[], what: "targets" | "outputs", i: number): tf.Tensor {
  const t = list[i];
  if (!(t instanceof tf.Tensor)) {
    throw new ConfigError(
      `${where}: ${what}[${i}] missing (the ${
        what === "targets" ? "batch's y" : "model"
      } gives ${list.length} tensor${list.length === 1 ? "" : "s"})`,
    );
  }
  return t;
}

// ---------------------------------------------------------------------------
// cross-entropy

/** Arguments of {@link crossEntropyLoss} (plain data). */
export interface CrossEntropyLossArgs {
  /** Per-class weights (length = classes, unitless, ≥ 0); omitted = all 1. PyTorch `weight`. */
  classWeights?: readonly number[];
  /** Label smoothing ε ∈ [0, 1] (fraction of the target mass spread over all classes); default 0. */
  labelSmoothing?: number;
  /** Index of the logits in the outputs (default 0). */
  output?: number;
  /** Index of the class ids in the targets (default 0). */
  target?: number;
  /** False when the output is already probabilities (a softmax layer); default true (logits). */
  fromLogits?: boolean;
}

/**
 * Softmax cross-entropy of integer class ids against logits, with PyTorch
 * `nn.CrossEntropyLoss(weight=w, label_smoothing=ε, ignore_index=<0,
 * reduction="mean")` semantics.
 *
 * Shapes: `outputs[output]` `[batch, classes]` logits (or `[batch, …,
 * classes]`, classes **last**, flattened to `[batch·…, classes]`: per-frame
 * labels; PyTorch puts classes at dim 1 instead), `targets[target]` int
 * `[batch]` (or `[batch, …]`) class ids; ids `< 0` are ignored (padding).
 *
 * With `ℓᵢ = −log softmax(zᵢ)`, valid samples `V` and `w` = 1 when omitted:
 * `loss = (1−ε)·Σᵢ w[yᵢ]·ℓᵢ[yᵢ] / Σᵢ w[yᵢ] + (ε/C)·Σᵢ Σ_c w[c]·ℓᵢ[c] / Σᵢ w[yᵢ]`
 * (sums over `V`; 0 when `V` is empty). Unweighted, this is the mean over
 * samples; class-weighted, the batch's target-weight sum is the
 * denominator (as PyTorch), so it only approximately decomposes over shards.
 *
 * Reports `accuracy` (fraction of valid samples whose arg-max is the
 * target) when the context has a reporter.
 *
 * @example
 * const loss = crossEntropyLoss({ classWeights: [1, 2, 0.5] });
 * loss([tf.tensor1d([0, 2], "int32")], [tf.tensor2d([[2, 0, -1], [0, 0, 3]])]);
 * @throws ConfigError on bad arguments, or missing / mis-shaped tensors
 */
export function crossEntropyLoss(args: CrossEntropyLossArgs = {}): LossFn {
  const where = "crossEntropyLoss";
  checkKeys(where, args, ["classWeights", "labelSmoothing", "output", "target", "fromLogits"]);
  const o = indexArg(where, "output", args.output, 0);
  const t = indexArg(where, "target", args.target, 0);
  const eps = args.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) {
    throw new ConfigError(`${where} labelSmoothing: expected a value in [0, 1], got ${eps}`);
  }
  const weights = args.classWeights ? Array.from(args.classWeights) : undefined;
  if (weights && !weights.every((w) => Number.isFinite(w) && w >= 0)) {
    throw new ConfigError(`${where} classWeights: expected finite weights >= 0, got [${weights}]`);
  }
  const fromLogits = args.fromLogits ?? true;
  return (targets, outputs, context) =>
    tf.tidy(() => {
      const out = pick(where, outputs, "outputs", o);
      const lab = pick(where, targets, "targets", t);
      if (out.rank < 2) {
        throw new ConfigError(
          `${where} outputs[${o}]: expected [batch, classes], got [${out.shape}]`,
        );
      }
      const k = out.shape[out.rank - 1];
      const logits = out.reshape([-1, k]);
      const labels = lab.toInt().reshape([-1]);
      if (labels.shape[0] !== logits.shape[0]) {
        throw new ConfigError(
          `${where}: targets[${t}] [${lab.shape}] does not match outputs[${o}] [${out.shape}] (one class id per row)`,
        );
      }
      if (weights && weights.length !== k) {
        throw new ConfigError(`${where} classWeights: ${weights.length} weights for ${k} classes`);
      }
      let loss = weightedCrossEntropy(logits, labels, weights, fromLogits);
      if (eps > 0) {
        const logp = fromLogits ? tf.logSoftmax(logits) : tf.log(tf.clipByValue(logits, 1e-12, 1));
        const valid = labels.greaterEqual(0);
        const safe = tf.where(valid, labels, tf.zerosLike(labels));
        const wc = weights ? tf.tensor1d(weights, "float32") : tf.ones([k]);
        const smooth = logp.mul(wc).sum(1).neg().mul(valid.toFloat()); // Σ_c w[c]·ℓᵢ[c], valid only
        const den = tf.gather(wc, safe).mul(valid.toFloat()).sum();
        const smoothMean = smooth.sum().div(tf.maximum(den, 1e-12));
        loss = loss.mul(1 - eps).add(smoothMean.mul(eps / k)) as tf.Scalar;
      }
      if (context?.report) {
        const valid = labels.greaterEqual(0).toFloat();
        const hit = logits.argMax(1).toInt().equal(labels).toFloat().mul(valid);
        const [c, n] = tf.stack([hit.sum(), valid.sum()]).dataSync();
        if (n > 0) context.report("accuracy", c / n);
      }
      return loss;
    });
}

// ---------------------------------------------------------------------------
// masked reconstruction

/** Arguments of {@link maskedL1Loss} / {@link maskedL2Loss} (plain data). */
export interface MaskedLossArgs {
  /** Index of the reconstruction in the outputs (default 0). */
  output?: number;
  /** Index of the clean target in the targets (default 0). */
  target?: number;
  /** Index of the 0/1 loss mask in the targets (default 1); the mask is used when the batch has it. */
  mask?: number;
  /**
   * How masked errors are averaged (default `"sample"`):
   * `"sample"`: per sample `Σ M·e / Σ M` (a sample with no masked element
   * counts 0), then the mean over the batch (SelfPAB `maskedL1`; a mean over
   * samples, so it decomposes over data-parallel shards);
   * `"element"`: `Σ M·e / Σ M` over the whole batch (every masked element
   * weighs the same; TERA-style; 0 when nothing is masked).
   */
  reduction?: "sample" | "element";
}

function maskedLoss(
  where: string,
  err: (d: tf.Tensor) => tf.Tensor,
  args: MaskedLossArgs,
): LossFn {
  checkKeys(where, args, ["output", "target", "mask", "reduction"]);
  const o = indexArg(where, "output", args.output, 0);
  const t = indexArg(where, "target", args.target, 0);
  const m = indexArg(where, "mask", args.mask, 1);
  const reduction = args.reduction ?? "sample";
  if (reduction !== "sample" && reduction !== "element") {
    throw new ConfigError(`${where} reduction: expected "sample" or "element", got "${reduction}"`);
  }
  return (targets, outputs) =>
    tf.tidy(() => {
      const pred = pick(where, outputs, "outputs", o);
      const y = pick(where, targets, "targets", t).toFloat();
      const sameShape = pred.shape.length === y.shape.length &&
        pred.shape.every((d, i) => d === y.shape[i]);
      // a flat decoder output [batch, prod(target dims)] is compared to the flattened target
      const flat = !sameShape && pred.rank === 2 && y.rank > 2 && pred.shape[0] === y.shape[0] &&
        pred.size === y.size;
      if (!sameShape && !flat) {
        throw new ConfigError(
          `${where}: outputs[${o}] [${pred.shape}] does not match targets[${t}] [${y.shape}] (same shape, or a flat [batch, ${
            y.shape.slice(1).reduce((a, b) => a * b, 1)
          }] output)`,
        );
      }
      const n = y.shape[0] ?? 1;
      const e = err(pred.reshape([n, -1]).sub(y.reshape([n, -1]))); // [n, elements]
      const maskT = targets[m];
      if (!(maskT instanceof tf.Tensor)) return e.mean() as tf.Scalar;
      let mask = maskT.toFloat();
      if (mask.rank > y.rank) {
        throw new ConfigError(
          `${where} targets[${m}] mask [${mask.shape}]: rank above the target's [${y.shape}]`,
        );
      }
      // a [batch, frames] mask covers every feature of a masked frame
      mask = mask.reshape([...mask.shape, ...new Array(y.rank - mask.rank).fill(1)]);
      if (!mask.shape.every((d, i) => d === y.shape[i] || d === 1)) {
        throw new ConfigError(
          `${where} targets[${m}] mask [${maskT.shape}]: not broadcastable to the target [${y.shape}] (leading dims must match)`,
        );
      }
      const mm = tf.broadcastTo(mask, y.shape).reshape([n, -1]);
      const num = e.mul(mm);
      if (reduction === "element") {
        const den = mm.sum();
        return num.sum().div(tf.where(den.equal(0), tf.onesLike(den), den)) as tf.Scalar;
      }
      const den = mm.sum(1);
      return num.sum(1).div(tf.where(den.equal(0), tf.onesLike(den), den)).mean() as tf.Scalar;
    });
}

/**
 * Masked L1 reconstruction loss (SelfPAB / TERA pre-training): mean
 * absolute error between `outputs[output]` and the clean `targets[target]`
 * over the positions where the mask `targets[mask]` is 1.
 *
 * Shapes: prediction and target `[batch, …]` (same shape; or a flat
 * `[batch, k]` prediction for a target of `k` elements per sample); mask of
 * the target's shape, or of its leading dims (e.g. `[batch, frames]` for a
 * `[batch, frames, features]` target: a masked frame counts all its features,
 * so counts are masked frames × features).
 *
 * Default (`reduction: "sample"`), exactly SelfPAB's `maskedL1`
 * (src/models.py; /work/shared/specs/selfpab.md §2.2):
 * `loss = mean_b [ Σ_{t,d} M·|ŷ − y| / s_b ]`, `s_b = Σ_{t,d} M` with
 * `s_b = 0 → 1` (an empty mask gives 0, not NaN). Without a mask: the mean
 * absolute error over all elements. PyTorch: `(m*(p-y).abs()).sum((1,2)) /
 * m.sum((1,2)).clamp(min=1)` then `.mean()`; unmasked `nn.L1Loss()`.
 *
 * @example
 * const loss = maskedL1Loss();
 * loss([clean, mask], [reconstruction]); // scalar
 * @throws ConfigError on bad arguments or mismatched shapes
 */
export function maskedL1Loss(args: MaskedLossArgs = {}): LossFn {
  return maskedLoss("maskedL1Loss", (d) => d.abs(), args);
}

/**
 * Masked L2 reconstruction loss: as {@link maskedL1Loss} with the squared
 * error `(ŷ − y)²` (`loss = mean_b [ Σ M·(ŷ − y)² / max(Σ M, 1) ]`); without
 * a mask the mean squared error over all elements, PyTorch `nn.MSELoss()`
 * (an autoencoder's reconstruction loss).
 *
 * @example
 * lossFromSpec({ kind: "masked-l2" })([clean], [reconstruction]); // MSE
 * @throws ConfigError on bad arguments or mismatched shapes
 */
export function maskedL2Loss(args: MaskedLossArgs = {}): LossFn {
  return maskedLoss("maskedL2Loss", (d) => d.square(), args);
}

// ---------------------------------------------------------------------------
// contrastive losses

/** Rows scaled to unit L2 norm (`x / sqrt(max(Σx², 1e-12))`, as tf.math.l2_normalize). */
function l2Rows(x: tf.Tensor): tf.Tensor {
  return x.div(tf.sqrt(tf.maximum(x.square().sum(-1, true), 1e-12)));
}

/** Arguments of {@link ntXentLoss} (plain data). */
export interface NtXentLossArgs {
  /** Softmax temperature τ > 0 (unitless; Tang et al. / "Don't freeze" search 0.05–1, default there 0.1). */
  temperature: number;
  /**
   * Output indices: the two views' projections (default `[0, 1]`), or with
   * `stacked` the single stacked output (default `[0]`).
   */
  outputs?: readonly number[];
  /** True when one output `[2·batch, dim]` holds view a (first half) then view b (second half). */
  stacked?: boolean;
  /**
   * `"mean"` (default): mean over the 2N anchors (SimCLR's definition);
   * `"sum-of-views"`: the sum of the two views' mean cross-entropies, i.e.
   * 2 × the mean (Tang et al.'s `NT_Xent_loss`, the "Don't freeze" code).
   */
  reduction?: "mean" | "sum-of-views";
}

/**
 * SimCLR NT-Xent (normalised temperature-scaled cross-entropy) over two
 * views of a batch of N windows.
 *
 * Shapes: `outputs[0]`, `outputs[1]` `[N, dim]` projections of view a and
 * view b (row i of both = the same window); or, with `stacked: true`, one
 * output `[2N, dim]` (view a rows then view b rows). Targets: none (ignored).
 *
 * With `a = aᵢ/‖aᵢ‖`, `b = bᵢ/‖bᵢ‖` (cosine similarity) and τ the
 * temperature, each of the 2N anchors has its partner as the positive and
 * the other 2N − 2 embeddings as negatives (itself excluded):
 * `ℓ(aᵢ) = −log [exp(aᵢ·bᵢ/τ) / (Σⱼ exp(aᵢ·bⱼ/τ) + Σ_{j≠i} exp(aᵢ·aⱼ/τ))]`,
 * likewise `ℓ(bᵢ)`; `loss = (1/2N)·Σᵢ [ℓ(aᵢ) + ℓ(bᵢ)]` (or twice that with
 * `reduction: "sum-of-views"`, Tang et al.'s code used by "Don't freeze":
 * `CE(i, [ab | aa − 1e9·I]) + CE(i, [ba | bb − 1e9·I])`). A batch-level
 * loss: it does not decompose over shards. PyTorch has no built-in; the
 * equivalent is `F.cross_entropy(sim.masked_fill(eye(2N), -inf) / τ,
 * partner)` on `sim = normalize(cat([a, b])) @ normalize(cat([a, b])).T`.
 *
 * Reports `accuracy` (fraction of anchors whose most similar other
 * embedding is their partner) when the context has a reporter.
 *
 * @example
 * const loss = ntXentLoss({ temperature: 0.1 });
 * loss([], [projA, projB]); // [N, 50] each
 * @throws ConfigError on bad arguments or mismatched shapes
 */
export function ntXentLoss(args: NtXentLossArgs): LossFn {
  const where = "ntXentLoss";
  if (!args || typeof args !== "object") {
    throw new ConfigError(`${where}: needs args { temperature }`);
  }
  checkKeys(where, args, ["temperature", "outputs", "stacked", "reduction"]);
  const tau = args.temperature;
  if (typeof tau !== "number" || !(tau > 0) || !Number.isFinite(tau)) {
    throw new ConfigError(`${where} temperature: expected a number > 0, got ${tau}`);
  }
  const stacked = args.stacked ?? false;
  const idx = Array.from(args.outputs ?? (stacked ? [0] : [0, 1]));
  if (idx.length !== (stacked ? 1 : 2)) {
    throw new ConfigError(
      `${where} outputs: expected ${
        stacked ? "1 index (stacked)" : "2 indices (one per view)"
      }, got [${idx}]`,
    );
  }
  idx.forEach((i, k) => indexArg(where, `outputs[${k}]`, i, 0));
  const reduction = args.reduction ?? "mean";
  if (reduction !== "mean" && reduction !== "sum-of-views") {
    throw new ConfigError(
      `${where} reduction: expected "mean" or "sum-of-views", got "${reduction}"`,
    );
  }
  return (_targets, outputs, context) =>
    tf.tidy(() => {
      let a: tf.Tensor, b: tf.Tensor;
      if (stacked) {
        const z = pick(where, outputs, "outputs", idx[0]);
        if (z.rank !== 2 || z.shape[0] % 2 !== 0) {
          throw new ConfigError(
            `${where} outputs[${idx[0]}]: expected stacked [2·batch, dim], got [${z.shape}]`,
          );
        }
        [a, b] = tf.split(z, 2, 0);
      } else {
        a = pick(where, outputs, "outputs", idx[0]);
        b = pick(where, outputs, "outputs", idx[1]);
        if (a.rank !== 2 || a.shape.some((d, i) => d !== b.shape[i]) || b.rank !== 2) {
          throw new ConfigError(
            `${where}: views outputs[${idx[0]}] [${a.shape}] and outputs[${
              idx[1]
            }] [${b.shape}] must both be [batch, dim]`,
          );
        }
      }
      const n = a.shape[0];
      a = l2Rows(a);
      b = l2Rows(b);
      const self = tf.eye(n).mul(1e9);
      const ab = tf.matMul(a, b, false, true).div(tau);
      const aa = tf.matMul(a, a, false, true).div(tau).sub(self);
      const bb = tf.matMul(b, b, false, true).div(tau).sub(self);
      const logits = tf.concat([tf.concat([ab, aa], 1), tf.concat([ab.transpose(), bb], 1)], 0); // [2N, 2N]
      const onehot = tf.concat([tf.eye(n), tf.zeros([n, n])], 1).tile([2, 1]); // partner at column i
      const nll = tf.logSoftmax(logits).mul(onehot).sum(1).neg(); // [2N]
      const loss = (reduction === "mean" ? nll.mean() : nll.mean().mul(2)) as tf.Scalar;
      if (context?.report) {
        const hit = logits.argMax(1).toInt().equal(tf.range(0, n, 1, "int32").tile([2]));
        context.report("accuracy", hit.toFloat().mean() as tf.Scalar);
      }
      return loss;
    });
}

/** Arguments of {@link infoNceLoss} (plain data). */
export interface InfoNceLossArgs {
  /** Index of the predictions `W_k c_t` in the outputs (default 0). */
  prediction?: number;
  /** Index of the encoded future `z_{t+k}` in the outputs (default 1). */
  encoded?: number;
  /** Temperature dividing the dot products (unitless, > 0); default 1 (CPC [4] uses none). */
  temperature?: number;
}

/**
 * CPC InfoNCE (Haresamudram et al.'s CPC for HAR, as "Don't freeze" §2.1
 * describes it): for each future step k, the encoded future `z_{t+k}` of
 * window i must pick its own prediction among the batch's predictions at
 * the same step; the negatives are the **other windows of the batch at the
 * same step** (no negatives from other time steps).
 *
 * Shapes: `outputs[prediction]` `[batch, steps, dim]` predictions
 * `pred_k = W_k c_t`, `outputs[encoded]` `[batch, steps, dim]` encoded
 * futures (rank 2 `[batch, dim]` = one step). Targets: none (ignored).
 *
 * `logits_k = z_k · pred_kᵀ / τ` (`[batch, batch]`, row i = target i),
 * `log_softmax` over each row, positives on the diagonal:
 * `loss = −(1/(B·K))·Σ_k Σ_i log_softmax(logits_k)[i, i]` (the reference's
 * `compute_cpc_loss`); a mean over steps and windows. A batch-level loss
 * (it does not decompose over shards). PyTorch:
 * `-torch.stack([F.log_softmax(z[:,k] @ p[:,k].T, 1).diag() for k in
 * range(K)]).mean()`.
 *
 * Reports `accuracy` when the context has a reporter: as the reference, the
 * fraction of (step, prediction j) where the row softmax is largest at row
 * j down column j (`argmax(softmax(logits_k, 1), 0) == j`).
 *
 * @example
 * const loss = infoNceLoss();
 * loss([], [predictions, encodedFuture]); // [64, 28, 128] each
 * @throws ConfigError on bad arguments or mismatched shapes
 */
export function infoNceLoss(args: InfoNceLossArgs = {}): LossFn {
  const where = "infoNceLoss";
  checkKeys(where, args, ["prediction", "encoded", "temperature"]);
  const p = indexArg(where, "prediction", args.prediction, 0);
  const e = indexArg(where, "encoded", args.encoded, 1);
  const tau = args.temperature ?? 1;
  if (typeof tau !== "number" || !(tau > 0) || !Number.isFinite(tau)) {
    throw new ConfigError(`${where} temperature: expected a number > 0, got ${tau}`);
  }
  return (_targets, outputs, context) =>
    tf.tidy(() => {
      let pred = pick(where, outputs, "outputs", p);
      let z = pick(where, outputs, "outputs", e);
      if (
        (pred.rank !== 2 && pred.rank !== 3) || pred.rank !== z.rank ||
        pred.shape.some((d, i) => d !== z.shape[i])
      ) {
        throw new ConfigError(
          `${where}: predictions outputs[${p}] [${pred.shape}] and encoded outputs[${e}] [${z.shape}] must both be [batch, steps, dim]`,
        );
      }
      if (pred.rank === 2) {
        pred = pred.expandDims(1);
        z = z.expandDims(1);
      }
      const [n, k] = pred.shape;
      const logits = tf.matMul(z.transpose([1, 0, 2]), pred.transpose([1, 0, 2]), false, true)
        .div(tau); // [K, B(targets i), B(predictions j)]
      const eye = tf.eye(n).expandDims(0);
      const loss = tf.logSoftmax(logits).mul(eye).sum().neg().div(n * k) as tf.Scalar;
      if (context?.report) {
        const col = tf.softmax(logits).argMax(1).toInt(); // [K, B]: best row per column
        const hit = col.equal(tf.range(0, n, 1, "int32").expandDims(0));
        context.report("accuracy", hit.toFloat().mean() as tf.Scalar);
      }
      return loss;
    });
}

// ---------------------------------------------------------------------------
// multi-head sums and the registry

/** One head of a {@link multiHeadLoss}. */
export interface LossHead {
  /** Head name, prefix of its metrics (`<name>/loss`, `<name>/acc`). */
  name: string;
  /** The head's loss: data ({@link BuiltinLossSpec}, works on workers) or a function (in process only). */
  loss: BuiltinLossSpec | LossFn;
  /** Weight of the head in the sum (unitless, ≥ 0); default 1. */
  weight?: number;
  /** Output index (or indices, e.g. two views for NT-Xent) the head's loss sees, in that order. */
  output: number | readonly number[];
  /** Target indices the head's loss sees, in that order (e.g. `[k]` for the k-th label). */
  targets: readonly number[];
}

/** Arguments of {@link multiHeadLoss} (plain data when every head's loss is a spec). */
export interface MultiHeadLossArgs {
  /** The heads, summed in this order. */
  heads: readonly LossHead[];
}

/**
 * A weighted sum of per-head losses, `loss = Σ_h weight_h · loss_h(targets
 * [h.targets], outputs[h.output])`: each head's loss sees only its own
 * outputs and targets (so its `output`/`target` indices, default 0, index
 * those lists). Weights 1/H give the mean of the heads (Yuan et al.'s
 * multi-task pre-training: four binary cross-entropy heads, weight 1/4).
 * PyTorch: `sum(w * loss_fn(out[i], y[j]) for …)`.
 *
 * Reports, when the context has a reporter, `<name>/loss` (the head's
 * unweighted loss) and what the head's loss reports, prefixed by the head's
 * name (`accuracy` as `<name>/acc`, e.g. for cross-entropy heads).
 *
 * @example
 * const loss = multiHeadLoss({
 *   heads: [
 *     { name: "activity", loss: { kind: "cross-entropy" }, output: 0, targets: [0] },
 *     { name: "recon", loss: { kind: "masked-l1" }, weight: 0.5, output: 1, targets: [1, 2] },
 *   ],
 * });
 * @throws ConfigError on bad heads or indices
 */
export function multiHeadLoss(args: MultiHeadLossArgs): LossFn {
  const where = "multiHeadLoss";
  if (!args || typeof args !== "object") throw new ConfigError(`${where}: needs args { heads }`);
  checkKeys(where, args, ["heads"]);
  if (!Array.isArray(args.heads) || args.heads.length === 0) {
    throw new ConfigError(`${where} heads: expected a non-empty list`);
  }
  const names = new Set<string>();
  const heads = args.heads.map((h, i) => {
    const at = `${where} heads[${i}]`;
    if (!h || typeof h !== "object") throw new ConfigError(`${at}: expected an object`);
    checkKeys(at, h, ["name", "loss", "weight", "output", "targets"]);
    if (typeof h.name !== "string" || h.name === "") {
      throw new ConfigError(`${at} name: expected a non-empty string`);
    }
    if (names.has(h.name)) throw new ConfigError(`${at} name: "${h.name}" used twice`);
    names.add(h.name);
    const weight = h.weight ?? 1;
    if (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0) {
      throw new ConfigError(
        `${at} (${h.name}) weight: expected a finite number >= 0, got ${weight}`,
      );
    }
    const outs = typeof h.output === "number" ? [h.output] : Array.from(h.output ?? []);
    if (outs.length === 0) throw new ConfigError(`${at} (${h.name}) output: missing`);
    outs.forEach((o, k) => indexArg(`${at} (${h.name})`, `output[${k}]`, o, 0));
    const tgs: readonly number[] = h.targets;
    if (!Array.isArray(tgs as unknown)) {
      throw new ConfigError(`${at} (${h.name}) targets: expected a list of target indices`);
    }
    tgs.forEach((t, k) => indexArg(`${at} (${h.name})`, `targets[${k}]`, t, 0));
    const fn = typeof h.loss === "function" ? h.loss : lossFromSpec(h.loss);
    return { name: h.name, weight, outs, targets: Array.from(tgs), fn };
  });
  return (targets, outputs, context) =>
    tf.tidy(() => {
      let total: tf.Scalar = tf.scalar(0);
      for (const h of heads) {
        const ys = h.targets.map((t) => pick(`${where} head "${h.name}"`, targets, "targets", t));
        const os = h.outs.map((o) => pick(`${where} head "${h.name}"`, outputs, "outputs", o));
        const report = context?.report;
        const sub: LossContext = {
          seed: context?.seed,
          report: report &&
            ((name, value) => report(`${h.name}/${name === "accuracy" ? "acc" : name}`, value)),
        };
        const l = h.fn(ys, os, sub);
        if (report) report(`${h.name}/loss`, l);
        total = total.add(l.mul(h.weight));
      }
      return total;
    });
}

/** The loss kinds {@link lossFromSpec} builds. */
export type LossKind =
  | "cross-entropy"
  | "masked-l1"
  | "masked-l2"
  | "nt-xent"
  | "info-nce"
  | "multi-head";

/**
 * A built-in loss described as data, `{ kind, args }` (JSON-serialisable
 * when every multi-head head's loss is a spec too); {@link lossFromSpec}
 * builds it, also in a worker. (lib/train/loop.ts's `LossKindSpec` is the
 * untyped form of the same thing; its `LossSpec` is `{ module, export, args }`.)
 */
export type BuiltinLossSpec =
  | { kind: "cross-entropy"; args?: CrossEntropyLossArgs }
  | { kind: "masked-l1"; args?: MaskedLossArgs }
  | { kind: "masked-l2"; args?: MaskedLossArgs }
  | { kind: "nt-xent"; args: NtXentLossArgs }
  | { kind: "info-nce"; args?: InfoNceLossArgs }
  | { kind: "multi-head"; args: MultiHeadLossArgs };

// deno-lint-ignore no-explicit-any
const LOSS_FACTORIES: Record<LossKind, (args: any) => LossFn> = {
  "cross-entropy": crossEntropyLoss,
  "masked-l1": maskedL1Loss,
  "masked-l2": maskedL2Loss,
  "nt-xent": ntXentLoss,
  "info-nce": infoNceLoss,
  "multi-head": multiHeadLoss,
};

/** Kinds whose value couples the samples of a batch (in-batch negatives). */
const BATCH_LEVEL_KINDS: ReadonlySet<string> = new Set(["nt-xent", "info-nce"]);

/**
 * True when a loss described as data is batch-level: its value is not a
 * mean of per-sample terms but couples the batch's samples (NT-Xent and
 * InfoNCE take the rest of the batch as negatives), itself or in one of a
 * multi-head loss's heads. Such a loss on data-parallel shards sees each
 * shard's samples as its negatives, not the whole batch's (lib/train/loop.ts
 * `resolveWorkers` keeps `"auto"` in one thread for them). A loss function
 * or a `{ module, export }` loss cannot be inspected: false.
 *
 * @example
 * isBatchLevelLoss({ kind: "nt-xent", args: { temperature: 0.1 } }); // true
 * isBatchLevelLoss({ kind: "cross-entropy" }); // false
 */
export function isBatchLevelLoss(spec: unknown): boolean {
  if (!spec || typeof spec !== "object") return false;
  const { kind, args } = spec as { kind?: unknown; args?: { heads?: unknown } };
  if (typeof kind !== "string") return false;
  if (BATCH_LEVEL_KINDS.has(kind)) return true;
  if (kind !== "multi-head" || !Array.isArray(args?.heads)) return false;
  return args.heads.some((h: { loss?: unknown }) => isBatchLevelLoss(h?.loss));
}

/** The kinds {@link lossFromSpec} knows, in registry order. */
export const LOSS_KINDS: readonly LossKind[] = Object.keys(LOSS_FACTORIES) as LossKind[];

/**
 * Build the loss a {@link BuiltinLossSpec} describes (the registry of
 * losses.ts; what `fit` and its workers call on `{ kind, args }`).
 *
 * @example
 * const spec = { kind: "nt-xent", args: { temperature: 0.1 } } as const;
 * const loss = lossFromSpec(JSON.parse(JSON.stringify(spec))); // same loss
 * @throws ConfigError for an unknown kind or bad arguments
 */
export function lossFromSpec(spec: BuiltinLossSpec): LossFn {
  if (!spec || typeof spec !== "object" || typeof spec.kind !== "string") {
    throw new ConfigError(`lossFromSpec: expected { kind, args }, got ${JSON.stringify(spec)}`);
  }
  checkKeys(`lossFromSpec (${spec.kind})`, spec, ["kind", "args"]);
  const make = Object.hasOwn(LOSS_FACTORIES, spec.kind)
    ? LOSS_FACTORIES[spec.kind as LossKind]
    : undefined;
  if (!make) {
    throw new ConfigError(
      `lossFromSpec: unknown loss kind "${spec.kind}" (known: ${LOSS_KINDS.join(", ")})`,
    );
  }
  return make(
    spec.args ?? (spec.kind === "nt-xent" || spec.kind === "multi-head" ? undefined : {}),
  );
}
