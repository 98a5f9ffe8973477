/**
 * The reconstruction (autoencoder) pretext of "Don't freeze" ([3] Haresamudram
 * et al., "On the role of features in HAR"; ../shared/specs/dont-freeze.md §2.3,
 * §3.3): batches whose target is the input window, and the MSE loss. The
 * model is lib/models/dontfreeze_encoders.ts `autoencoder` (its
 * `encoder_representation` layer is the 256-d representation).
 *
 * Reference training ([3] `arguments.py`, §2.3): Adam lr 1e-3, batch 129.
 *
 * @example
 * ```ts
 * const model = autoencoder({ seed: 1 });                        // lib/models
 * await fit(model, reconstructionSource(pool, { seed: 1 }), {
 *   epochs: 50, optimizer: { name: "adam", lr: 1e-3 }, loss: reconstructionLoss(),
 *   validation: reconstructionSource(held, { seed: 1, evaluation: true }),
 * });
 * ```
 * @module
 */
import type { Windows } from "../data/types.ts";
import { ConfigError } from "../errors.ts";
import type { Batch, BatchSource } from "../train/batches.ts";
import type { BuiltinLossSpec } from "../train/losses.ts";
import {
  checkBatchSize,
  epochWindowPlan,
  evaluationIndices,
  type PretextEpochArgs,
  type PretextEvaluationArgs,
  putChannelsLast,
  windowView,
} from "./dontfreeze_sampling.ts";

/** Options of {@link reconstructionSource}. */
export interface ReconstructionSourceArgs extends PretextEpochArgs, PretextEvaluationArgs {
  /** Windows per step (default 129, the [3] reference's `batch_size`; §4 searches 64–512). */
  batchSize?: number;
  /** Seed of the epoch sampling. */
  seed: number;
}

/**
 * A reconstruction batch of the windows `idx`: `x` the windows
 * `[n, length, channels]` (channels-last), `y = [x]` (the same values: the
 * target of the MSE).
 */
export function makeReconstructionBatch(windows: Windows, idx: ArrayLike<number>): Batch {
  const n = idx.length, c = windows.channels, len = windows.length;
  const x = new Float32Array(n * c * len);
  for (let r = 0; r < n; r++) putChannelsLast(windowView(windows, idx[r]), c, x, r);
  const t = { data: x, shape: [n, len, c] };
  return { x: t, y: [t] };
}

/**
 * The reconstruction batch source for `fit`: the plan's windows per epoch
 * (lib/pretext/dontfreeze_sampling.ts), `batchSize` per step; with
 * `evaluation`, every window once in order.
 *
 * @throws ConfigError for an empty pool or a bad batch size
 */
export function reconstructionSource(
  windows: Windows,
  args: ReconstructionSourceArgs,
): BatchSource {
  const where = "reconstructionSource";
  if (!(windows.n >= 1)) throw new ConfigError(`${where} windows: empty`);
  const batchSize = checkBatchSize(where, args.batchSize ?? 129);
  if (args.evaluation) {
    return {
      stepsPerEpoch: Math.ceil(windows.n / batchSize),
      samplesPerEpoch: windows.n,
      batch: ({ step }) =>
        makeReconstructionBatch(windows, evaluationIndices(windows.n, batchSize, step)),
    };
  }
  const plan = epochWindowPlan(windows, args);
  const total = plan.windowsPerEpoch;
  return {
    stepsPerEpoch: Math.ceil(total / batchSize),
    samplesPerEpoch: total,
    batch: ({ epoch, step }) => {
      const s = step * batchSize;
      return makeReconstructionBatch(
        windows,
        plan.indices(epoch).subarray(s, Math.min(total, s + batchSize)),
      );
    },
  };
}

/**
 * The reconstruction loss as data (§2.3): the mean squared error over all
 * `T × channels` values of every window (lib/train/losses.ts `masked-l2`
 * without a mask = PyTorch `nn.MSELoss()`), output 0 against target 0.
 */
export function reconstructionLoss(): BuiltinLossSpec {
  return { kind: "masked-l2", args: { output: 0, target: 0 } };
}
