/**
 * {@link DataParallelTrainer}: N Web Workers, each with its own backend and
 * {@link ModelReplica}, train one model on shards of each batch; gradients
 * are averaged through shared memory and every replica takes the same
 * optimizer step. The protocol, the batch-norm caveat and the local fallback
 * are described in parallel.ts (the module users import); how a batch is
 * split ({@link shardSizes}) and which worker updates which variables
 * ({@link partitionVariables}) live here.
 *
 * @example
 * ```ts
 * const trainer = await DataParallelTrainer.create({
 *   model: { module: new URL("./my_model.ts", import.meta.url).href, export: "build" },
 *   optimizer: { kind: "adam", learningRate: 1e-3 },
 *   workers: 2,
 * });
 * const { loss, metrics } = await trainer.step([x], [y]);
 * await trainer.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendPath } from "./select.ts";
import {
  checkLearningRate,
  type FlatOptimizerState,
  type ParallelOptimizerSpec,
  type ResolvedOptimizerSpec,
  resolveOptimizerSpec,
} from "./parallel_optimizer.ts";
import {
  type HostTensor,
  type ModelFactorySpec,
  ModelReplica,
  type ReplicaWeights,
  sliceRows,
  toHost,
} from "./parallel_replica.ts";
import { transferList, WorkerHandle } from "./parallel_messages.ts";
import { abortSync, createSyncBuffer, resetSync } from "./replica_sync.ts";

/** Arguments of {@link DataParallelTrainer.create}. */
export interface DataParallelTrainerArgs {
  /** The model factory each worker (or the local fallback) calls. */
  model: ModelFactorySpec;
  /** The optimizer each replica runs. */
  optimizer: ParallelOptimizerSpec;
  /**
   * Number of workers. Default `navigator.hardwareConcurrency` (all logical
   * CPUs). `0` runs locally in the calling thread (no workers).
   */
  workers?: number;
  /**
   * Backend paths each worker tries, in order (see `initBackend`). Default
   * `["blas", "wasm", "cpu"]`. The local fallback uses the calling thread's
   * current backend and does not call `initBackend`.
   */
  backend?: BackendPath[];
  /** OpenBLAS threads per worker. Default 1 (the workers already fill the cores). */
  blasThreads?: number;
  /**
   * Fall back to local training when workers cannot start (no `Worker`,
   * worker script or backend failure). Default true; false rethrows.
   */
  fallback?: boolean;
  /**
   * Copy worker 0's weights to the other workers at start. Default true;
   * false skips the round trip when the factory builds the same weights in
   * every worker (e.g. from values in its args).
   */
  broadcastWeights?: boolean;
  /**
   * Batch norm with the statistics of the whole batch (exchanged between the
   * workers inside the step: replica_sync.ts, as PyTorch's `SyncBatchNorm`),
   * so N workers train like one thread. Default true; false normalises each
   * shard with its own statistics (PyTorch DDP's default; a little faster).
   */
  syncBatchNorm?: boolean;
  /**
   * Longest wait for one worker reply (starting, a step's gradients, an
   * update, a weight copy), ms. Default 20 min. When it passes, the trainer
   * fails with the worker and the request named (at start: falls back to
   * local training when `fallback` allows) instead of waiting forever on a
   * stuck worker. `Infinity` waits without limit.
   */
  replyTimeoutMs?: number;
}

/** Default {@link DataParallelTrainerArgs.replyTimeoutMs}: 20 minutes. */
export const REPLY_TIMEOUT_MS = 20 * 60 * 1000;

/** What one {@link DataParallelTrainer.step} returns. */
export interface ParallelStepResult {
  /** Full-batch mean loss before the update (weighted mean of the shard losses). */
  loss: number;
  /** Samples per worker (empty shards get none). */
  shards: number[];
  /** `tf.memory().numTensors` in each replica after the update. */
  numTensors: number[];
  /**
   * Per worker: wall time of its forward + backward pass, ms (0 for an empty
   * shard). Empty in local mode.
   */
  workerMs: number[];
  /**
   * Per worker: thread CPU time during that pass, ms (10 ms resolution, NaN
   * where /proc is unreadable). Much less than `workerMs` means the worker
   * waited for a core (the machine is oversubscribed).
   */
  workerCpuMs: number[];
  /**
   * The metrics the replicas' losses reported (`StepContext.report`), by
   * name: the weighted mean over the shards that reported the name, with the
   * loss's shard weights (renormalised over those shards). Empty when
   * nothing was reported.
   */
  metrics: Record<string, number>;
}

/**
 * Split variables (their sizes, in order) into `k` contiguous ranges
 * `[first, end)` of about equal total size: which worker updates which
 * variables.
 *
 * @example
 * ```ts
 * partitionVariables([10, 1, 1, 8], 2); // [[0, 1], [1, 4]]
 * ```
 */
export function partitionVariables(sizes: number[], k: number): [number, number][] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const bounds = [0];
  let acc = 0, v = 0;
  for (let part = 1; part < k; part++) {
    // end this part at the variable boundary closest to part/k of the total
    const target = (total * part) / k;
    while (v < sizes.length && acc + sizes[v] / 2 < target) acc += sizes[v++];
    bounds.push(Math.max(v, bounds[bounds.length - 1]));
  }
  bounds.push(sizes.length);
  return Array.from({ length: k }, (_, i) => [bounds[i], bounds[i + 1]]);
}

/**
 * Split `n` samples into `k` contiguous shards whose sizes differ by at most
 * one, larger shards first.
 *
 * @example
 * ```ts
 * shardSizes(15, 2); // [8, 7]
 * ```
 */
export function shardSizes(n: number, k: number): number[] {
  const base = Math.floor(n / k), extra = n % k;
  return Array.from({ length: k }, (_, i) => base + (i < extra ? 1 : 0));
}

/**
 * Combine the shards' reported metrics: for each name, `Σ w_k·m_k / Σ w_k`
 * over the shards `k` that reported it with a weight > 0 (all shards
 * reporting: the same weighted mean as the loss).
 *
 * @example
 * ```ts
 * weightedMetrics([{ acc: 1 }, { acc: 0 }], [0.75, 0.25]); // { acc: 0.75 }
 * ```
 */
export function weightedMetrics(
  shards: Record<string, number>[],
  weights: number[],
): Record<string, number> {
  const sum: Record<string, number> = {}, mass: Record<string, number> = {};
  shards.forEach((m, k) => {
    if (!(weights[k] > 0)) return;
    for (const [name, v] of Object.entries(m)) {
      sum[name] = (sum[name] ?? 0) + weights[k] * v;
      mass[name] = (mass[name] ?? 0) + weights[k];
    }
  });
  return Object.fromEntries(Object.keys(sum).map((name) => [name, sum[name] / mass[name]]));
}

/** Options of {@link DataParallelTrainer.step}. */
export interface ParallelStepOptions {
  /** Seed passed to every replica's loss as `context.seed` (e.g. to seed dropout). */
  seed?: number;
  /**
   * Weight of each sample in the batch (default 1 each). Shard `k`'s
   * gradient is weighted by the sum of its samples' weights instead of its
   * size: exact when the loss is a weighted mean with these weights (e.g.
   * class-weighted cross-entropy).
   */
  sampleWeights?: ArrayLike<number>;
  /**
   * Learning rate from this step on, as {@link DataParallelTrainer.setLearningRate}
   * (sent with the step, no extra message). Default: unchanged.
   */
  learningRate?: number;
  /**
   * Trained variables from this step on, as {@link DataParallelTrainer.setActive}
   * (sent with the step). Default: unchanged.
   */
  active?: boolean[] | null;
}

/**
 * Data-parallel trainer: N worker replicas, gradients averaged through
 * shared memory, identical optimizer steps in every replica. See the
 * documentation of parallel.ts for the protocol and batch norm.
 */
export class DataParallelTrainer {
  private disposed = false;
  /** Learning rate of the next step (sent with it). */
  private learningRate: number;
  /** Trained variables of the next step (sent with it); null: all. */
  private active: boolean[] | null = null;

  private constructor(
    /** `"workers"`: N Web Workers; `"local"`: the calling thread only. */
    readonly mode: "workers" | "local",
    private readonly handles: WorkerHandle[],
    private readonly local: ModelReplica | null,
    /** Backend summary of each worker (or of the calling thread in local mode). */
    readonly backends: string[],
    optimizer: ResolvedOptimizerSpec,
    /** Why the trainer runs locally although workers were asked for, if so. */
    readonly fallbackReason?: string,
    /** The workers' cross-replica buffer; null: shards are not synchronised. */
    private readonly sync: SharedArrayBuffer | null = null,
  ) {
    this.learningRate = optimizer.learningRate;
  }

  /** Number of replicas computing shards (1 in local mode). */
  get numWorkers(): number {
    return this.mode === "local" ? 1 : this.handles.length;
  }

  /** Start the workers (or the local replica) and synchronise their weights. */
  static async create(args: DataParallelTrainerArgs): Promise<DataParallelTrainer> {
    const n = Math.floor(args.workers ?? navigator.hardwareConcurrency ?? 1);
    if (!(n >= 0)) {
      throw new RangeError(`DataParallelTrainer: workers must be >= 0, got ${args.workers}`);
    }
    const replyTimeoutMs = args.replyTimeoutMs ?? REPLY_TIMEOUT_MS;
    if (!(replyTimeoutMs > 0)) {
      throw new RangeError(
        `DataParallelTrainer: replyTimeoutMs must be > 0 ms, got ${args.replyTimeoutMs}`,
      );
    }
    // a bad optimizer spec is a caller error in every mode
    const optimizer = resolveOptimizerSpec(args.optimizer, "DataParallelTrainer optimizer");
    const fallback = args.fallback ?? true;
    const local = async (reason?: string) =>
      new DataParallelTrainer(
        "local",
        [],
        await ModelReplica.create(args.model, args.optimizer),
        [`${tf.getBackend()} (calling thread)`],
        optimizer,
        reason,
      );
    if (n === 0) return local();
    const missing = typeof Worker === "undefined"
      ? "Web Workers are not available"
      : typeof SharedArrayBuffer === "undefined"
      ? "SharedArrayBuffer is not available"
      : null;
    if (missing) {
      if (!fallback) throw new Error(`DataParallelTrainer: ${missing}`);
      return local(missing);
    }
    const handles: WorkerHandle[] = [];
    try {
      const url = new URL("./parallel_worker.ts", import.meta.url).href;
      for (let i = 0; i < n; i++) {
        handles.push(
          new WorkerHandle(
            i,
            new Worker(url, { type: "module" }),
            replyTimeoutMs,
          ),
        );
      }
      const replies = await Promise.all(handles.map((h, i) =>
        h.request({
          type: "init",
          model: args.model,
          optimizer: args.optimizer,
          backend: args.backend ?? ["blas", "wasm", "cpu"],
          blasThreads: args.blasThreads ?? 1,
          worker: i,
        })
      ));
      const numParams = replies[0].numParams!, numState = replies[0].numState!;
      const odd = replies.findIndex((r) => r.numParams !== numParams || r.numState !== numState);
      if (odd >= 0) {
        throw new Error(
          `the model factory built ${replies[odd].numParams} parameters in worker ${odd}, ` +
            `${numParams} in worker 0 (it must build the same model everywhere)`,
        );
      }
      const grads = new SharedArrayBuffer(4 * n * numParams);
      const state = new SharedArrayBuffer(4 * n * numState);
      const params = new SharedArrayBuffer(4 * numParams);
      const sync = createSyncBuffer(n);
      const parts = partitionVariables(replies[0].variableSizes!, n);
      await Promise.all(
        handles.map((h, k) =>
          h.request({ type: "share", grads, state, params, owned: parts[k], workers: n, sync })
        ),
      );
      const trainer = new DataParallelTrainer(
        "workers",
        handles,
        null,
        replies.map((r) => r.backend ?? "?"),
        optimizer,
        undefined,
        (args.syncBatchNorm ?? true) ? sync : null,
      );
      if (n > 1 && (args.broadcastWeights ?? true)) {
        await trainer.setWeights(await trainer.getWeights(0));
      }
      return trainer;
    } catch (e) {
      for (const h of handles) h.terminate();
      const msg = (e as Error).message;
      // a broken model factory fails locally too: report it, do not mask it
      if (!fallback || /model factory|is not a function|must return/.test(msg)) throw e;
      return local(`workers failed to start: ${msg}`);
    }
  }

  private check(): void {
    if (this.disposed) throw new Error("DataParallelTrainer: used after dispose()");
  }

  /**
   * One optimizer step on a batch: `inputs` and `targets` (tensors or host
   * arrays) share the batch size along axis 0 and are split into shards.
   * Two round trips to the workers: the gradients (with the learning rate
   * and the active mask), then the averaged update.
   */
  async step(
    inputs: (tf.Tensor | HostTensor)[],
    targets: (tf.Tensor | HostTensor)[],
    options: ParallelStepOptions = {},
  ): Promise<ParallelStepResult> {
    this.check();
    if (options.learningRate !== undefined) await this.setLearningRate(options.learningRate);
    if (options.active !== undefined) await this.setActive(options.active);
    const xs = inputs.map((t, i) => toHost(t, `inputs[${i}]`));
    const ys = targets.map((t, i) => toHost(t, `targets[${i}]`));
    const all = [...xs, ...ys];
    if (all.length === 0) throw new Error("DataParallelTrainer.step: no inputs");
    const batch = all[0].shape[0];
    for (const [i, h] of all.entries()) {
      if (h.shape[0] !== batch) {
        throw new RangeError(
          `DataParallelTrainer.step: tensor ${i} has batch ${h.shape[0]}, tensor 0 has ${batch}`,
        );
      }
    }
    if (batch === 0) throw new RangeError("DataParallelTrainer.step: empty batch");
    const sw = options.sampleWeights;
    if (sw && sw.length !== batch) {
      throw new RangeError(
        `DataParallelTrainer.step: ${sw.length} sample weights for a batch of ${batch}`,
      );
    }
    if (this.local) {
      this.local.setLearningRate(this.learningRate);
      this.local.setActive(this.active);
      const r = this.local.gradients(xs, ys, { seed: options.seed });
      this.local.apply(r.grads);
      return {
        loss: r.loss,
        shards: [batch],
        numTensors: [tf.memory().numTensors],
        workerMs: [],
        workerCpuMs: [],
        metrics: r.metrics,
      };
    }
    const shards = shardSizes(batch, this.handles.length);
    // shard weights: share of the batch (or of the total sample weight);
    // an empty shard writes no gradient and gets weight 0
    const mass = shards.map(() => 0);
    let from = 0;
    shards.forEach((n, k) => {
      for (let i = from; i < from + n; i++) mass[k] += sw ? sw[i] : 1;
      from += n;
    });
    const total = mass.reduce((a, b) => a + b, 0);
    if (!(total > 0)) {
      throw new RangeError("DataParallelTrainer.step: the sample weights sum to 0");
    }
    const weights = mass.map((m) => m / total);
    const participants = shards.flatMap((n, k) => n > 0 ? [k] : []);
    const sync = this.sync && participants.length > 1 ? this.sync : null;
    if (sync) resetSync(sync);
    from = 0;
    const gradReplies = await Promise.all(this.handles.map((h, i) => {
      const to = from + shards[i];
      const sx = xs.map((x) => sliceRows(x, from, to));
      const sy = ys.map((y) => sliceRows(y, from, to));
      from = to;
      if (shards[i] === 0) return Promise.resolve(null);
      return h.request(
        {
          type: "grads",
          inputs: sx,
          targets: sy,
          seed: options.seed,
          learningRate: this.learningRate,
          active: this.active,
          sync: sync ? { participants, weight: weights[i] } : null,
        },
        transferList([...sx, ...sy].map((s) => s.data)),
      ).catch((e) => {
        // the others would wait for this worker at their next exchange
        if (sync) abortSync(sync);
        throw e;
      });
    }));
    let loss = 0;
    gradReplies.forEach((r, k) => {
      if (r && weights[k] > 0) loss += weights[k] * r.loss!;
    });
    const metrics = weightedMetrics(gradReplies.map((r) => r?.metrics ?? {}), weights);
    // each worker averages the shared gradient slots of its variables and
    // updates them in the shared weights; each copies the shared weights
    // into its model at its next step (all updates are done by then)
    const applied = await Promise.all(
      this.handles.map((h) => h.request({ type: "apply", weights })),
    );
    return {
      loss,
      shards,
      numTensors: applied.map((r) => r.numTensors ?? -1),
      workerMs: gradReplies.map((r) => r?.ms ?? 0),
      workerCpuMs: gradReplies.map((r) => r?.cpuMs ?? NaN),
      metrics,
    };
  }

  /** Copies of the weights of one replica (default worker 0). */
  async getWeights(worker = 0): Promise<ReplicaWeights> {
    this.check();
    if (this.local) return this.local.getWeights();
    const h = this.handles[worker];
    if (!h) throw new RangeError(`DataParallelTrainer.getWeights: no worker ${worker}`);
    return (await h.request({ type: "getWeights" })).weights!;
  }

  /** Set the weights of every replica (optimizer state is kept). */
  async setWeights(weights: ReplicaWeights): Promise<void> {
    this.check();
    if (this.local) return this.local.setWeights(weights);
    await Promise.all(this.handles.map((h) => h.request({ type: "setWeights", weights })));
  }

  /**
   * Train only the trainable variables whose `mask` entry is true (in the
   * factory's `trainable` order; null: all), e.g. to freeze an encoder,
   * from the next step on (sent with it). Frozen variables get no gradient,
   * no update and keep their optimizer state.
   */
  // deno-lint-ignore require-await
  async setActive(mask: boolean[] | null): Promise<void> {
    this.check();
    this.active = mask && !mask.every((a) => a) ? mask.slice() : null;
  }

  /**
   * A copy of the optimizer state: each worker sends the part it updates
   * (contiguous variable ranges in worker order), concatenated here.
   */
  async getOptimizerState(): Promise<FlatOptimizerState> {
    this.check();
    const parts = this.local
      ? [this.local.getOptimizerState()]
      : (await Promise.all(this.handles.map((h) => h.request({ type: "getOptimizerState" }))))
        .map((r) => r.optimizerState!);
    const out: FlatOptimizerState = {
      ...parts[0],
      learningRate: this.learningRate,
      steps: parts.flatMap((p) => p.steps),
      slots: {},
    };
    for (const name of Object.keys(parts[0].slots)) {
      const a = new Float32Array(parts.reduce((n, p) => n + p.slots[name].length, 0));
      let off = 0;
      for (const p of parts) {
        a.set(p.slots[name], off);
        off += p.slots[name].length;
      }
      out.slots[name] = a;
    }
    return out;
  }

  /**
   * Set the optimizer state of every replica (e.g. when resuming from a
   * checkpoint); its learning rate becomes the trainer's.
   */
  async setOptimizerState(state: FlatOptimizerState): Promise<void> {
    this.check();
    this.learningRate = checkLearningRate(state.learningRate);
    if (this.local) return this.local.setOptimizerState(state);
    await Promise.all(this.handles.map((h) => h.request({ type: "setOptimizerState", state })));
  }

  /** Set the learning rate of the next steps (e.g. from a schedule; sent with each step). */
  // deno-lint-ignore require-await
  async setLearningRate(learningRate: number): Promise<void> {
    this.check();
    this.learningRate = checkLearningRate(learningRate);
  }

  /** `tf.memory().numTensors` of each replica. */
  async numTensors(): Promise<number[]> {
    this.check();
    if (this.local) return [tf.memory().numTensors];
    return (await Promise.all(this.handles.map((h) => h.request({ type: "memory" }))))
      .map((r) => r.numTensors ?? -1);
  }

  /**
   * Largest absolute difference between any replica's weights and worker
   * 0's (0 when the replicas are in sync; always 0 in local mode).
   */
  async maxReplicaDifference(): Promise<number> {
    if (this.local) return 0;
    const ws = await Promise.all(this.handles.map((_, i) => this.getWeights(i)));
    let d = 0;
    for (const w of ws.slice(1)) {
      for (const k of ["trainable", "state"] as const) {
        w[k].forEach((a, i) => {
          const b = ws[0][k][i];
          for (let j = 0; j < a.length; j++) d = Math.max(d, Math.abs(a[j] - b[j]));
        });
      }
    }
    return d;
  }

  /** Free every replica and stop the workers. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.local) {
      this.local.dispose();
      return;
    }
    await Promise.allSettled(this.handles.map((h) => h.request({ type: "dispose" })));
    for (const h of this.handles) h.terminate();
  }
}
