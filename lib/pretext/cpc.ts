/**
 * Contrastive predictive coding for HAR (Haresamudram et al. [4], as "Don't
 * freeze" describes it: "a specific point of time is selected … negatives are
 * representations for that time in other instances of the batch";
 * ../shared/specs/dont-freeze.md §2.1, §3.2): the batch source and the loss.
 * The model (conv encoder with reflect padding, 2-layer GRU, the `W_k`
 * prediction head) is lib/models/dontfreeze_encoders.ts `cpcModel`.
 *
 * Per step (reference `CPC.forward` / `compute_cpc_loss`):
 *
 * 1. `z = enc(x)`, `[B, T, 128]`; one random start per **batch**
 *    `t ~ U{0, …, T − K − 1}` (`torch.randint(T − K)`), given to the model as
 *    its `start` input (`[B, 1]` int32, every row t);
 * 2. `c_t = GRU(z)[:, t]`, `pred_k = W_k c_t`, targets `z_{t+k}`, k = 1…K;
 * 3. `logits_k = z_{t+k} · pred_kᵀ` `[B, B]`, log-softmax per row, positives
 *    on the diagonal, `loss = −Σ_k Σ_i diag_i / (B·K)`: lib/train/losses.ts
 *    `infoNceLoss` (in-batch negatives at the same future step), `{ kind:
 *    "info-nce" }`, which also reports the reference's accuracy.
 *
 * t of epoch e, step s is drawn from `mixSeed(seed, e, s, 31)` (evaluation:
 * `mixSeed(seed, 32, s)`, the same every validation pass), so resumed runs
 * and workers (every shard gets the batch's t) agree. Reference defaults
 * (§2.1): K = 28, batch 64, Adam lr 5e-4.
 *
 * @example
 * ```ts
 * const model = cpcModel({ steps: 28, seed: 1 });                 // lib/models
 * await fit(model, cpcSource(pool, { steps: 28, seed: 1 }), {
 *   epochs: 50, optimizer: { name: "adam", lr: 5e-4 }, loss: cpcLoss(),
 *   validation: cpcSource(held, { steps: 28, seed: 1, evaluation: true }),
 * });
 * ```
 * @module
 */
import type { Windows } from "../data/types.ts";
import { ConfigError } from "../errors.ts";
import { rng } from "../signal/random.ts";
import type { Batch, BatchSource } from "../train/batches.ts";
import type { BuiltinLossSpec } from "../train/losses.ts";
import { mixSeed } from "../train/random.ts";
import {
  checkBatchSize,
  epochWindowPlan,
  evaluationIndices,
  type PretextEpochArgs,
  type PretextEvaluationArgs,
  putChannelsLast,
  windowView,
} from "./dontfreeze_sampling.ts";

/** Future steps K predicted by default (the reference's `num_steps_prediction`, §2.1 [D]). */
export const CPC_DEFAULT_STEPS = 28;

/** The K values §4's search draws from ([D]). */
export const CPC_STEPS_GRID: readonly number[] = [4, 8, 12, 16, 20, 24, 28];

/** Options of {@link cpcSource}. */
export interface CpcSourceArgs extends PretextEpochArgs, PretextEvaluationArgs {
  /** Future steps K, as the model's `steps` (default 28, §2.1). */
  steps?: number;
  /** Windows per step (default 64, the reference's batch). */
  batchSize?: number;
  /** Seed of the epoch sampling and the start times. */
  seed: number;
}

/**
 * Draw a CPC start time for a window of `length` samples and `steps` future
 * steps: uniform in `0 … length − steps − 1` (`torch.randint(length − steps)`).
 *
 * @throws ConfigError when `steps` ≥ `length`
 */
export function cpcStart(length: number, steps: number, seed: number): number {
  if (!Number.isInteger(steps) || steps < 1 || steps >= length) {
    throw new ConfigError(`cpc steps: must be an integer in 1..${length - 1}, got ${steps}`);
  }
  return rng(seed).int(length - steps);
}

/** A CPC batch of the windows `idx`: `x = [windows (channels-last), start]`, no targets. */
export function makeCpcBatch(windows: Windows, idx: ArrayLike<number>, start: number): Batch {
  const n = idx.length, c = windows.channels, len = windows.length;
  const x = new Float32Array(n * c * len);
  for (let r = 0; r < n; r++) putChannelsLast(windowView(windows, idx[r]), c, x, r);
  return {
    x: [
      { data: x, shape: [n, len, c] },
      { data: new Int32Array(n).fill(start), shape: [n, 1] },
    ],
  };
}

/**
 * The CPC batch source for `fit`: the plan's windows per epoch
 * (lib/pretext/dontfreeze_sampling.ts), `batchSize` per step, each step with
 * its start time t (see the module doc). `x = [window [B, T, C], start [B, 1]]`
 * (the inputs of `cpcModel`), no `y`. With `evaluation`: every window once, in
 * order, fixed t per step.
 *
 * @throws ConfigError for an empty pool or bad sizes
 */
export function cpcSource(windows: Windows, args: CpcSourceArgs): BatchSource {
  const where = "cpcSource";
  if (!(windows.n >= 1)) throw new ConfigError(`${where} windows: empty`);
  const steps = args.steps ?? CPC_DEFAULT_STEPS;
  cpcStart(windows.length, steps, 0); // validates steps
  const batchSize = checkBatchSize(where, args.batchSize ?? 64);
  if (args.evaluation) {
    return {
      stepsPerEpoch: Math.ceil(windows.n / batchSize),
      samplesPerEpoch: windows.n,
      batch: ({ step }) =>
        makeCpcBatch(
          windows,
          evaluationIndices(windows.n, batchSize, step),
          cpcStart(windows.length, steps, mixSeed(args.seed, 32, step)),
        ),
    };
  }
  const plan = epochWindowPlan(windows, args);
  const total = plan.windowsPerEpoch;
  return {
    stepsPerEpoch: Math.ceil(total / batchSize),
    samplesPerEpoch: total,
    batch: ({ epoch, step }) => {
      const s = step * batchSize;
      const idx = plan.indices(epoch).subarray(s, Math.min(total, s + batchSize));
      return makeCpcBatch(
        windows,
        idx,
        cpcStart(windows.length, steps, mixSeed(args.seed, epoch, step, 31)),
      );
    },
  };
}

/**
 * The CPC loss as data (§2.1 step 5–6): lib/train/losses.ts InfoNCE over the
 * model's outputs `[predictions, future]` (each `[B, K, 128]`), in-batch
 * negatives at the same future step, no temperature (τ = 1, as the reference).
 *
 * @example
 * lossFromSpec(cpcLoss())([], model.apply([x, start]) as tf.Tensor[]);
 */
export function cpcLoss(args: { temperature?: number } = {}): BuiltinLossSpec {
  return {
    kind: "info-nce",
    args: {
      prediction: 0,
      encoded: 1,
      ...(args.temperature ? { temperature: args.temperature } : {}),
    },
  };
}
