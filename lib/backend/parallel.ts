/**
 * Data-parallel training on several CPU cores with Deno Web Workers.
 *
 * tfjs runs one op at a time on one thread, and most of a training step is
 * single-threaded glue (elementwise ops, reductions, im2col), so one process
 * uses about one core however many BLAS threads it has. A
 * {@link DataParallelTrainer} starts N workers, each with its own backend
 * (`initBackend()`, OpenBLAS limited to one thread per worker) and its own
 * replica of the same model, built in the worker from a serialisable
 * description: the URL of a factory module plus structured-clonable args.
 *
 * One step:
 * 1. the main thread splits the batch along axis 0 into N shards;
 * 2. each worker computes its shard's mean loss and the gradients
 *    (`tf.variableGrads`) and writes them into its slot of a
 *    SharedArrayBuffer (no copies through messages);
 * 3. each worker averages the N slots weighted by shard size (or by the
 *    shards' total sample weight) — exactly the gradient of the full-batch
 *    mean loss, up to float rounding — for its own share of the variables,
 *    and updates that share of the weights, kept in shared memory, with a
 *    fused optimizer ({@link FlatOptimizer}: plain loops over Float32Arrays,
 *    no tensors); the update is thus split across the cores;
 * 4. once every worker is done, each copies the shared weights into its
 *    model (one `assign` per variable), so the replicas stay identical; it
 *    does so lazily, when the next step's gradients message arrives (or the
 *    weights are read), which saves a round trip per step.
 *
 * Metrics: the loss may report per-step numbers (e.g. each head's
 * cross-entropy and accuracy) with `context.report(name, value)`
 * ({@link StepContext}); `step` returns their shard-weighted mean, with the
 * loss's weights, as `metrics`.
 *
 * The learning rate and the mask of trained variables travel with each
 * step's gradients message. The weights are broadcast from worker 0 when the
 * trainer starts, so replicas start identical even when the factory is not
 * seeded (`broadcastWeights: false` skips this when they are).
 *
 * Batch normalisation: by default (`syncBatchNorm`, true) the workers'
 * batch-norm layers (lib/models/batchnorm.ts) exchange their per-channel
 * statistics inside the step (replica_sync.ts, one barrier per exchange:
 * the shard counts, means and variances forward, the loss-weighted sums of
 * the output gradient backward), so every shard is normalised with the
 * statistics of the whole batch and the gradients, moving mean and moving
 * variance are those of single-thread training to float rounding (PyTorch's
 * SyncBatchNorm). With `syncBatchNorm: false` each worker normalises with its
 * own shard's statistics (PyTorch DistributedDataParallel's default): not
 * equivalent to training on the full batch, and measurably worse for small
 * shards (the Yuan laptop pre-training on 2×32 windows learned worse
 * features). The non-trainable state (`ParallelModel.state`, e.g. the moving
 * statistics) is averaged, weighted by shard size, after every step, which
 * keeps replicas identical. Layers other than our batch norm that use batch
 * statistics (none in lib/models) are not synchronised.
 * Randomness inside the loss (dropout) differs per worker.
 *
 * OpenBLAS is one library per process: its thread count
 * (`openblas_set_num_threads`) is shared by the workers and the main thread,
 * so starting workers with `blasThreads: 1` also makes BLAS calls of the
 * main thread single-threaded until it calls `initBackend`/`loadOpenBlas`
 * again (which re-applies its own thread count).
 *
 * When Web Workers are unavailable (a runtime without `Worker`) or fail to
 * start, or when `workers: 0` is asked for, the trainer runs the same model in
 * the calling thread on the full batch (`mode === "local"`).
 *
 * The parts: parallel_optimizer.ts (the flat optimisers and their specs),
 * parallel_replica.ts (the model replica and what describes it),
 * parallel_messages.ts (the worker protocol), parallel_trainer.ts (the
 * trainer); parallel_worker.ts is the worker body. Import from here.
 *
 * @example
 * ```ts
 * // my_model.ts exports: export function build(args: { units: number }): ParallelModel
 * const trainer = await DataParallelTrainer.create({
 *   model: { module: new URL("./my_model.ts", import.meta.url).href, export: "build", args: { units: 32 } },
 *   optimizer: { kind: "adam", learningRate: 1e-3 },
 *   workers: 2,
 * });
 * const { loss, metrics } = await trainer.step([x], [y]); // x, y: tf.Tensor or HostTensor
 * await trainer.dispose();
 * ```
 * @module
 */
export {
  FlatOptimizer,
  type FlatOptimizerState,
  OPTIMIZER_KINDS,
  optimizerSlotNames,
  type ParallelOptimizerSpec,
  type ResolvedOptimizerSpec,
  type ResolvedTorchSpec,
  resolveOptimizerSpec,
  TorchUpdate,
} from "./parallel_optimizer.ts";
export {
  type HostTensor,
  importFactory,
  type ModelFactorySpec,
  ModelReplica,
  type ParallelModel,
  type ReplicaWeights,
  type StepContext,
} from "./parallel_replica.ts";
export { type FromWorker, type ToWorker, transferList } from "./parallel_messages.ts";
export {
  DataParallelTrainer,
  type DataParallelTrainerArgs,
  type ParallelStepOptions,
  type ParallelStepResult,
  partitionVariables,
  shardSizes,
  weightedMetrics,
} from "./parallel_trainer.ts";
