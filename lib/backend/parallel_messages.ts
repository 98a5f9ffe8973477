/**
 * The protocol between `DataParallelTrainer` (parallel_trainer.ts) and
 * its workers (parallel_worker.ts): the messages each way ({@link ToWorker},
 * {@link FromWorker}), the main thread's end of one worker
 * ({@link WorkerHandle}: numbered requests, replies matched by id, failures
 * rejecting every pending request) and {@link transferList}.
 *
 * Bulk data does not travel in messages: after `share`, gradients, states
 * and weights live in SharedArrayBuffers (see parallel_trainer.ts).
 *
 * @example
 * ```ts
 * const h = new WorkerHandle(0, new Worker(url, { type: "module" }));
 * const reply = await h.request({ type: "memory" }); // { id, ok: true, numTensors }
 * h.terminate();
 * ```
 * @module
 */
import type { BackendPath } from "./select.ts";
import type { FlatOptimizerState, ParallelOptimizerSpec } from "./parallel_optimizer.ts";
import type { HostTensor, ModelFactorySpec, ReplicaWeights } from "./parallel_replica.ts";

/** Messages main → worker. */
export type ToWorker =
  | {
    id: number;
    type: "init";
    model: ModelFactorySpec;
    optimizer: ParallelOptimizerSpec;
    backend: BackendPath[];
    blasThreads: number;
    /** This worker's index. */
    worker: number;
  }
  | {
    id: number;
    type: "share";
    /** Gradient slots: worker k writes floats [k·numParams, (k+1)·numParams). */
    grads: SharedArrayBuffer;
    /** State slots, laid out like `grads`. */
    state: SharedArrayBuffer;
    /** The trainable weights (numParams floats), updated in shards. */
    params: SharedArrayBuffer;
    /** The variables `[first, end)` this worker updates. */
    owned: [number, number];
    workers: number;
    /** Cross-replica exchanges inside a step (replica_sync.ts `createSyncBuffer`). */
    sync: SharedArrayBuffer;
  }
  | {
    id: number;
    type: "grads";
    inputs: HostTensor[];
    targets: HostTensor[];
    seed?: number;
    /** Learning rate of this step's update. */
    learningRate: number;
    /** Trained variables (trainable order; null: all) of this step. */
    active: boolean[] | null;
    /**
     * Synchronised layers (batch norm over the whole batch): the workers with
     * a shard and this shard's loss weight; null: each shard on its own.
     */
    sync: { participants: number[]; weight: number } | null;
  }
  | { id: number; type: "apply"; weights: number[] }
  | { id: number; type: "getWeights" }
  | { id: number; type: "setWeights"; weights: ReplicaWeights }
  | { id: number; type: "getOptimizerState" }
  | { id: number; type: "setOptimizerState"; state: FlatOptimizerState }
  | { id: number; type: "memory" }
  | { id: number; type: "dispose" };

/** Messages worker → main: `{ id, ok: true, ... }` or `{ id, ok: false, error }`. */
export type FromWorker =
  & { id: number }
  & (
    | { ok: false; error: string }
    | {
      ok: true;
      backend?: string;
      loss?: number;
      /** Metrics the shard's loss reported (grads; see `StepContext.report`). */
      metrics?: Record<string, number>;
      numParams?: number;
      numState?: number;
      /** Size of each trainable variable (init). */
      variableSizes?: number[];
      numTensors?: number;
      weights?: ReplicaWeights;
      /** The optimizer state of the variables this worker updates (its range only). */
      optimizerState?: FlatOptimizerState;
      /** Wall time of the gradient computation in the worker, ms. */
      ms?: number;
      /** CPU time of the worker thread during it, ms (10 ms resolution; NaN when unknown). */
      cpuMs?: number;
    }
  );

/** A successful reply. */
export type Reply = Extract<FromWorker, { ok: true }>;
/** A message without its `id` (the handle numbers requests). */
export type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

/**
 * The main thread's end of one worker: {@link request} posts a message with
 * a fresh id and resolves with the reply of that id (rejects with the
 * worker's error, prefixed `parallel worker <index>:`). An uncaught error in
 * the worker, {@link terminate}, or a reply that does not come within
 * `replyTimeoutMs` (a stuck worker) rejects every pending and later request,
 * so a caller fails with the worker and the message named instead of
 * waiting forever.
 */
export class WorkerHandle {
  private nextId = 1;
  private pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private failed: Error | null = null;

  /**
   * @param index the worker's index (in error messages)
   * @param worker a started module worker running parallel_worker.ts
   * @param replyTimeoutMs longest wait for one reply, ms (default: no limit)
   */
  constructor(
    readonly index: number,
    readonly worker: Worker,
    readonly replyTimeoutMs = Infinity,
  ) {
    worker.onmessage = (ev: MessageEvent<FromWorker>) => {
      const msg = ev.data;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg);
      else p.reject(new Error(`parallel worker ${index}: ${msg.error}`));
    };
    worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      this.fail(new Error(`parallel worker ${index}: ${ev.message}`));
    };
  }

  private fail(e: Error): void {
    this.failed = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Send `msg` (transferring `transfer`) and wait for its reply. */
  request(msg: WithoutId<ToWorker>, transfer: Transferable[] = []): Promise<Reply> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    const reply = new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
    const limit = this.replyTimeoutMs;
    if (!Number.isFinite(limit)) return reply;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const e = new Error(
          `parallel worker ${this.index}: no reply to "${msg.type}" within ${limit / 1000} s ` +
            `(the worker is stuck, or the machine is far oversubscribed)`,
        );
        this.fail(e);
        reject(e);
      }, limit);
    });
    return Promise.race([reply, timeout]).finally(() => clearTimeout(timer));
  }

  /** Stop the worker; pending and later requests reject. */
  terminate(): void {
    this.worker.terminate();
    this.fail(new Error(`parallel worker ${this.index}: terminated`));
  }
}

/** The buffers of typed arrays, for a postMessage transfer list. */
export function transferList(arrays: (Float32Array | Int32Array)[]): Transferable[] {
  return arrays.map((a) => a.buffer as ArrayBuffer);
}
