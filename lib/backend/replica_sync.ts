/**
 * Cross-replica reductions inside one data-parallel step: the workers of a
 * `DataParallelTrainer` exchange small per-channel vectors through shared
 * memory in the middle of their forward and backward passes, so that layers
 * whose training-mode output depends on the whole batch (batch
 * normalisation: lib/models/batchnorm.ts) see the statistics of the whole
 * batch, not of their shard. With it, training on N workers computes the
 * single-thread gradients (to float rounding) for models with batch norm too
 * (PyTorch's `SyncBatchNorm`).
 *
 * The trainer allocates one buffer ({@link createSyncBuffer}), gives it to
 * every worker, and tells each worker, per step, which workers take part
 * (those with a non-empty shard) and its shard's loss weight. A worker
 * handles its step inside {@link withReplicaSync}; layers call
 * {@link activeReplicaSync} and, when it is set, {@link ReplicaSync.allGather}
 * their vectors. Every participant must make the same calls in the same
 * order (the same model on every worker guarantees it).
 *
 * Protocol: one barrier per exchange. Each exchange writes to one of two
 * banks (alternating), so a fast worker writing exchange r+1 never
 * overwrites what a slow one still reads of exchange r (both passed the
 * barrier of r+1's predecessor). The main thread resets the buffer before a
 * step and can {@link abortSync} it (a worker failed): waiting workers throw.
 *
 * @example
 * ```ts
 * // main thread
 * const buf = createSyncBuffer(2);
 * // worker k
 * const sync = new ReplicaSync(buf, k, 2);
 * const out = withReplicaSync(sync.begin([0, 1], 0.5), () => replica.gradients(xs, ys));
 * // inside a layer, on every participant
 * const parts = activeReplicaSync()?.allGather(Float64Array.of(n, ...mean));
 * ```
 * @module
 */

/** Control words: arrivals at the current barrier, generation, abort flag. */
const ARRIVED = 0, GENERATION = 1, ABORT = 2, CONTROL_BYTES = 16;

/** Doubles each worker may send per exchange (e.g. 1 + 2·channels for batch norm). */
export const SYNC_CAPACITY = 1 + 2 * 8192;

/** How long a worker waits at a barrier before giving up, ms. */
export const SYNC_TIMEOUT_MS = 10 * 60 * 1000;

/** A shared buffer for `workers` replicas (control words + two banks of slots). */
export function createSyncBuffer(workers: number): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_BYTES + 8 * 2 * workers * (SYNC_CAPACITY + 1));
}

/** Reset the control words before a step (main thread; no worker is inside a step). */
export function resetSync(buf: SharedArrayBuffer): void {
  const c = new Int32Array(buf, 0, 4);
  Atomics.store(c, ARRIVED, 0);
  Atomics.store(c, ABORT, 0);
}

/** Make every worker waiting at (or reaching) a barrier throw (main thread). */
export function abortSync(buf: SharedArrayBuffer): void {
  const c = new Int32Array(buf, 0, 4);
  Atomics.store(c, ABORT, 1);
  Atomics.notify(c, GENERATION);
}

/** One step's participation: who exchanges, and this shard's loss weight. */
export interface SyncStep {
  /** Worker indices taking part, ascending (each has a non-empty shard). */
  participants: number[];
  /** This worker's shard weight in the batch loss (`Σ weights = 1`). */
  weight: number;
  /** Exchange all vectors with the participants (see {@link ReplicaSync.allGather}). */
  allGather(values: Float64Array): Float64Array[];
}

/** A worker's end of the sync buffer. */
export class ReplicaSync {
  private readonly control: Int32Array;
  private readonly data: Float64Array;
  private participants: number[] = [];
  private weight = 1;
  private exchange = 0;

  /**
   * @param buf the trainer's {@link createSyncBuffer} buffer
   * @param worker this worker's index
   * @param workers the number of workers the buffer was made for
   */
  constructor(buf: SharedArrayBuffer, readonly worker: number, readonly workers: number) {
    this.control = new Int32Array(buf, 0, 4);
    this.data = new Float64Array(buf, CONTROL_BYTES, 2 * workers * (SYNC_CAPACITY + 1));
  }

  /** Start a step with these participants (this worker among them) and shard weight. */
  begin(participants: number[], weight: number): SyncStep {
    if (!participants.includes(this.worker)) {
      throw new Error(`ReplicaSync: worker ${this.worker} is not among [${participants}]`);
    }
    this.participants = participants.slice();
    this.weight = weight;
    this.exchange = 0;
    return {
      participants: this.participants,
      weight,
      allGather: (v) => this.allGather(v),
    };
  }

  /**
   * Send `values` (at most {@link SYNC_CAPACITY}) and return every
   * participant's vector, in participant order (this worker's included).
   * Every participant sends the same length.
   *
   * @throws Error when the buffer is too small, lengths differ, the step
   * was aborted or a barrier timed out
   */
  allGather(values: Float64Array): Float64Array[] {
    if (values.length > SYNC_CAPACITY) {
      throw new Error(
        `ReplicaSync: ${values.length} values per exchange, at most ${SYNC_CAPACITY} fit`,
      );
    }
    const slot = SYNC_CAPACITY + 1;
    const bank = (this.exchange++ % 2) * this.workers * slot;
    const at = (k: number) => bank + k * slot;
    this.data[at(this.worker)] = values.length;
    this.data.set(values, at(this.worker) + 1);
    this.barrier();
    return this.participants.map((k) => {
      const n = this.data[at(k)];
      if (n !== values.length) {
        throw new Error(
          `ReplicaSync: worker ${k} sent ${n} values, worker ${this.worker} ${values.length} ` +
            `(the replicas' layers differ)`,
        );
      }
      return this.data.slice(at(k) + 1, at(k) + 1 + n);
    });
  }

  private barrier(): void {
    const c = this.control, p = this.participants.length;
    const generation = Atomics.load(c, GENERATION);
    if (Atomics.add(c, ARRIVED, 1) === p - 1) {
      Atomics.store(c, ARRIVED, 0);
      Atomics.add(c, GENERATION, 1);
      Atomics.notify(c, GENERATION);
      return;
    }
    const deadline = performance.now() + SYNC_TIMEOUT_MS;
    while (Atomics.load(c, GENERATION) === generation) {
      if (Atomics.load(c, ABORT)) {
        throw new Error(`ReplicaSync: step aborted (another worker failed)`);
      }
      if (performance.now() > deadline) {
        throw new Error(
          `ReplicaSync: worker ${this.worker} waited ${SYNC_TIMEOUT_MS} ms for the other workers`,
        );
      }
      Atomics.wait(c, GENERATION, generation, 100);
    }
  }
}

let current: SyncStep | null = null;

/** The step being synchronised in this thread, or null (no data-parallel step). */
export function activeReplicaSync(): SyncStep | null {
  return current;
}

/** Run `f` with `step` as the active sync (restored after, also on throw). */
export function withReplicaSync<T>(step: SyncStep | null, f: () => T): T {
  const prev = current;
  current = step;
  try {
    return f();
  } finally {
    current = prev;
  }
}
