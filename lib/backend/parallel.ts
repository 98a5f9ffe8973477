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
 *    (`tf.variableGrads`) and sends them back as one transferable
 *    Float32Array;
 * 3. the main thread averages them weighted by shard size — exactly the
 *    gradient of the full-batch mean loss, up to float rounding — and sends
 *    the average back (an all-reduce through the main thread);
 * 4. every worker applies the same optimizer step to the same weights, so the
 *    replicas stay identical (same code, same inputs, deterministic kernels).
 *
 * The weights are broadcast from worker 0 when the trainer starts, so
 * replicas start identical even when the factory is not seeded.
 *
 * Batch normalisation: in training mode each worker normalises with its own
 * shard's statistics (like PyTorch DistributedDataParallel without SyncBatchNorm),
 * so a model with batch norm is not exactly equivalent to single-process
 * training on the full batch. The non-trainable state (`ParallelModel.state`,
 * e.g. moving mean/variance) is averaged weighted by shard size after every
 * step, which keeps replicas identical; the averaged moving mean equals the
 * single-process one exactly, the averaged moving variance misses the
 * between-shard spread of the means (it is the mean of the shard variances).
 * Randomness inside the loss (dropout) also differs per worker.
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
 * @example
 * ```ts
 * // my_model.ts exports: export function build(args: { units: number }): ParallelModel
 * const trainer = await DataParallelTrainer.create({
 *   model: { module: new URL("./my_model.ts", import.meta.url).href, export: "build", args: { units: 32 } },
 *   optimizer: { kind: "adam", learningRate: 1e-3 },
 *   workers: 2,
 * });
 * const { loss } = await trainer.step([x], [y]); // x, y: tf.Tensor or HostTensor
 * await trainer.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendPath } from "./select.ts";

/** A dense array with its shape, as sent between threads. */
export interface HostTensor {
  /** Row-major values; axis 0 is the batch axis. */
  data: Float32Array | Int32Array;
  /** Shape; `shape[0]` is the batch size. */
  shape: number[];
}

/** A model replica as built by a factory module, in each worker. */
export interface ParallelModel {
  /** Trainable variables, in the same order in every replica. */
  trainable: tf.Variable[];
  /**
   * Non-trainable state averaged across workers after each step (weighted by
   * shard size), e.g. batch-norm moving mean and variance. Default none.
   */
  state?: tf.Variable[];
  /**
   * Mean loss over one shard (the mean over samples, so that the weighted
   * mean of shard gradients is the full-batch gradient). Called inside
   * `tf.variableGrads`; `inputs` and `targets` are the shard's tensors in the
   * order given to {@link DataParallelTrainer.step}.
   */
  loss(inputs: tf.Tensor[], targets: tf.Tensor[]): tf.Scalar;
  /** Free the model's variables and any other tensors (optional). */
  dispose?(): void;
}

/** Where a worker finds the model: `(await import(module))[export](args)`. */
export interface ModelFactorySpec {
  /** Absolute module URL, e.g. `new URL("./my_model.ts", import.meta.url).href`. */
  module: string;
  /** Name of the exported factory function. Default `"default"`. */
  export?: string;
  /** Structured-clonable argument passed to the factory. Default undefined. */
  args?: unknown;
}

/** A tfjs optimizer, described so that each worker can create an identical one. */
export type ParallelOptimizerSpec =
  | {
    /** Adam (tf.train.adam). */
    kind: "adam";
    /** Step size. */
    learningRate: number;
    /** First-moment decay. Default 0.9. */
    beta1?: number;
    /** Second-moment decay. Default 0.999. */
    beta2?: number;
    /** Denominator epsilon. Default tfjs's (1e-7). */
    epsilon?: number;
  }
  | {
    /** Plain SGD (tf.train.sgd). */
    kind: "sgd";
    /** Step size. */
    learningRate: number;
  }
  | {
    /** SGD with momentum (tf.train.momentum). */
    kind: "momentum";
    /** Step size. */
    learningRate: number;
    /** Momentum factor, e.g. 0.9. */
    momentum: number;
    /** Nesterov momentum. Default false. */
    useNesterov?: boolean;
  };

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
}

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
}

/** Flat weights of one replica. */
export interface ReplicaWeights {
  /** Trainable variables, in order. */
  trainable: Float32Array[];
  /** State variables, in order. */
  state: Float32Array[];
}

function optimizerFrom(spec: ParallelOptimizerSpec): tf.Optimizer {
  switch (spec.kind) {
    case "adam":
      return tf.train.adam(spec.learningRate, spec.beta1, spec.beta2, spec.epsilon);
    case "sgd":
      return tf.train.sgd(spec.learningRate);
    case "momentum":
      return tf.train.momentum(spec.learningRate, spec.momentum, spec.useNesterov);
    default:
      throw new Error(
        `parallel: optimizer.kind '${(spec as { kind: string }).kind}' is not supported ` +
          `(adam, sgd, momentum)`,
      );
  }
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Concatenate tensors' values (a null entry: `sizes[i]` zeros, e.g. a variable without gradient). */
function concatInto(tensors: (tf.Tensor | null)[], sizes?: number[]): Float32Array {
  const n = (t: tf.Tensor | null, i: number) => t?.size ?? sizes?.[i] ?? 0;
  const out = new Float32Array(tensors.reduce((a, t, i) => a + n(t, i), 0));
  let off = 0;
  tensors.forEach((t, i) => {
    if (t) out.set(t.dataSync() as Float32Array, off);
    off += n(t, i);
  });
  return out;
}

/**
 * One model replica: builds the model from its factory and runs the two
 * halves of a step (gradients of a shard; apply averaged gradients). Used
 * inside each worker, and by the local fallback.
 */
export class ModelReplica {
  private constructor(
    private readonly model: ParallelModel,
    private readonly optimizer: tf.Optimizer,
  ) {}

  /** Import the factory module, build the model and the optimizer. */
  static async create(
    spec: ModelFactorySpec,
    optimizer: ParallelOptimizerSpec,
  ): Promise<ModelReplica> {
    let mod: Record<string, unknown>;
    try {
      mod = await import(spec.module);
    } catch (e) {
      throw new Error(`${spec.module}: cannot import the model factory (${(e as Error).message})`);
    }
    const name = spec.export ?? "default";
    const factory = mod[name];
    if (typeof factory !== "function") {
      throw new Error(`${spec.module}: export '${name}' is not a function`);
    }
    const model = await (factory as (a: unknown) => ParallelModel | Promise<ParallelModel>)(
      spec.args,
    );
    if (!model || !Array.isArray(model.trainable) || typeof model.loss !== "function") {
      throw new Error(
        `${spec.module}: '${name}' must return { trainable: tf.Variable[], loss(inputs, targets) }`,
      );
    }
    return new ModelReplica(model, optimizerFrom(optimizer));
  }

  /** Number of trainable scalars. */
  get numParams(): number {
    return this.model.trainable.reduce((a, v) => a + v.size, 0);
  }

  /** Mean loss and flat gradients (trainable order) of one shard, plus the flat state after the forward pass. */
  gradients(
    inputs: HostTensor[],
    targets: HostTensor[],
  ): { loss: number; grads: Float32Array; state: Float32Array } {
    const vars = this.model.trainable;
    // no tf.tidy around variableGrads: it keeps every intermediate of the
    // forward pass alive until the end and made the step 2x slower
    const xs = inputs.map((h) => tf.tensor(h.data, h.shape));
    const ys = targets.map((h) => tf.tensor(h.data, h.shape));
    let value: tf.Scalar | null = null;
    let grads: tf.NamedTensorMap = {};
    try {
      ({ value, grads } = tf.variableGrads(() => this.model.loss(xs, ys), vars));
      const flat = concatInto(vars.map((v) => grads[v.name] ?? null), vars.map((v) => v.size));
      return {
        loss: value.dataSync()[0],
        grads: flat,
        state: concatInto(this.model.state ?? []),
      };
    } finally {
      tf.dispose([...xs, ...ys, ...(value ? [value] : []), ...Object.values(grads)]);
    }
  }

  /** Apply flat averaged gradients with the optimizer; then set the flat averaged state (if given). */
  apply(grads: Float32Array, state?: Float32Array): void {
    const vars = this.model.trainable;
    if (grads.length !== this.numParams) {
      throw new RangeError(
        `parallel: gradient has ${grads.length} values, the model ${this.numParams}`,
      );
    }
    tf.tidy(() => {
      const named: tf.NamedTensorMap = {};
      let off = 0;
      for (const v of vars) {
        named[v.name] = tf.tensor(grads.subarray(off, off + v.size), v.shape, "float32");
        off += v.size;
      }
      this.optimizer.applyGradients(named);
    });
    if (state) this.setFlat(this.model.state ?? [], state);
  }

  private setFlat(vars: tf.Variable[], flat: Float32Array): void {
    const n = vars.reduce((a, v) => a + v.size, 0);
    if (flat.length !== n) {
      throw new RangeError(`parallel: ${flat.length} values for variables of ${n}`);
    }
    let off = 0;
    for (const v of vars) {
      const t = tf.tensor(flat.slice(off, off + v.size), v.shape, v.dtype);
      v.assign(t);
      t.dispose();
      off += v.size;
    }
  }

  /** Copies of the weights. */
  getWeights(): ReplicaWeights {
    const read = (vs: tf.Variable[]) => vs.map((v) => (v.dataSync() as Float32Array).slice());
    return { trainable: read(this.model.trainable), state: read(this.model.state ?? []) };
  }

  /** Overwrite the weights (same layout as {@link getWeights}). */
  setWeights(w: ReplicaWeights): void {
    const flat = (xs: Float32Array[]) => {
      const out = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
      let off = 0;
      for (const x of xs) {
        out.set(x, off);
        off += x.length;
      }
      return out;
    };
    this.setFlat(this.model.trainable, flat(w.trainable));
    this.setFlat(this.model.state ?? [], flat(w.state));
  }

  /** Change the optimizer's learning rate (for schedules); the moments are kept. */
  setLearningRate(lr: number): void {
    if (!(lr >= 0)) throw new RangeError(`parallel: learning rate must be >= 0, got ${lr}`);
    const opt = this.optimizer as unknown as {
      setLearningRate?: (lr: number) => void;
      learningRate: number;
    };
    if (typeof opt.setLearningRate === "function") opt.setLearningRate(lr);
    else opt.learningRate = lr;
  }

  /** Free the optimizer state and the model. */
  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose?.();
  }
}

/** Messages main → worker. */
export type ToWorker =
  | {
    id: number;
    type: "init";
    model: ModelFactorySpec;
    optimizer: ParallelOptimizerSpec;
    backend: BackendPath[];
    blasThreads: number;
  }
  | { id: number; type: "grads"; inputs: HostTensor[]; targets: HostTensor[] }
  | { id: number; type: "apply"; grads: Float32Array; state?: Float32Array }
  | { id: number; type: "getWeights" }
  | { id: number; type: "setWeights"; weights: ReplicaWeights }
  | { id: number; type: "memory" }
  | { id: number; type: "setLearningRate"; learningRate: number }
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
      grads?: Float32Array;
      state?: Float32Array;
      numTensors?: number;
      weights?: ReplicaWeights;
      /** Wall time of the gradient computation in the worker, ms. */
      ms?: number;
      /** CPU time of the worker thread during it, ms (10 ms resolution; NaN when unknown). */
      cpuMs?: number;
    }
  );

type Reply = Extract<FromWorker, { ok: true }>;
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

class WorkerHandle {
  private nextId = 1;
  private pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private failed: Error | null = null;

  constructor(readonly index: number, readonly worker: Worker) {
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

  request(msg: WithoutId<ToWorker>, transfer: Transferable[] = []): Promise<Reply> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  terminate(): void {
    this.worker.terminate();
    this.fail(new Error(`parallel worker ${this.index}: terminated`));
  }
}

/** The buffers of typed arrays, for a postMessage transfer list. */
export function transferList(arrays: (Float32Array | Int32Array)[]): Transferable[] {
  return arrays.map((a) => a.buffer as ArrayBuffer);
}

/** Split `n` samples into `k` contiguous shards whose sizes differ by at most one. */
export function shardSizes(n: number, k: number): number[] {
  const base = Math.floor(n / k), extra = n % k;
  return Array.from({ length: k }, (_, i) => base + (i < extra ? 1 : 0));
}

function toHost(t: tf.Tensor | HostTensor, what: string): HostTensor {
  if (t instanceof tf.Tensor) {
    if (t.dtype !== "float32" && t.dtype !== "int32") {
      throw new TypeError(`parallel: ${what} has dtype ${t.dtype} (float32 or int32 expected)`);
    }
    return { data: t.dataSync() as Float32Array | Int32Array, shape: t.shape.slice() };
  }
  if (sizeOf(t.shape) !== t.data.length) {
    throw new RangeError(
      `parallel: ${what} has ${t.data.length} values for shape [${t.shape}]`,
    );
  }
  return t;
}

function sliceRows(h: HostTensor, from: number, to: number): HostTensor {
  const row = sizeOf(h.shape.slice(1));
  return { data: h.data.slice(from * row, to * row), shape: [to - from, ...h.shape.slice(1)] };
}

/**
 * Data-parallel trainer: N worker replicas, gradients averaged through the
 * main thread, identical optimizer steps in every replica. See the module
 * documentation for the protocol and the batch-norm caveat.
 */
export class DataParallelTrainer {
  private disposed = false;

  private constructor(
    /** `"workers"`: N Web Workers; `"local"`: the calling thread only. */
    readonly mode: "workers" | "local",
    private readonly handles: WorkerHandle[],
    private readonly local: ModelReplica | null,
    /** Backend summary of each worker (or of the calling thread in local mode). */
    readonly backends: string[],
    /** Why the trainer runs locally although workers were asked for, if so. */
    readonly fallbackReason?: string,
  ) {}

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
    const fallback = args.fallback ?? true;
    const local = async (reason?: string) =>
      new DataParallelTrainer(
        "local",
        [],
        await ModelReplica.create(args.model, args.optimizer),
        [`${tf.getBackend()} (calling thread)`],
        reason,
      );
    if (n === 0) return local();
    if (typeof Worker === "undefined") {
      if (!fallback) throw new Error("DataParallelTrainer: Web Workers are not available");
      return local("Web Workers are not available");
    }
    const handles: WorkerHandle[] = [];
    try {
      const url = new URL("./parallel_worker.ts", import.meta.url).href;
      for (let i = 0; i < n; i++) {
        handles.push(new WorkerHandle(i, new Worker(url, { type: "module" })));
      }
      const replies = await Promise.all(handles.map((h) =>
        h.request({
          type: "init",
          model: args.model,
          optimizer: args.optimizer,
          backend: args.backend ?? ["blas", "wasm", "cpu"],
          blasThreads: args.blasThreads ?? 1,
        })
      ));
      const trainer = new DataParallelTrainer(
        "workers",
        handles,
        null,
        replies.map((r) => r.backend ?? "?"),
      );
      if (n > 1) await trainer.setWeights(await trainer.getWeights(0));
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
   */
  async step(
    inputs: (tf.Tensor | HostTensor)[],
    targets: (tf.Tensor | HostTensor)[],
  ): Promise<ParallelStepResult> {
    this.check();
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
    if (this.local) {
      const r = this.local.gradients(xs, ys);
      this.local.apply(r.grads);
      return {
        loss: r.loss,
        shards: [batch],
        numTensors: [tf.memory().numTensors],
        workerMs: [],
        workerCpuMs: [],
      };
    }
    const shards = shardSizes(batch, this.handles.length);
    let from = 0;
    const gradReplies = await Promise.all(this.handles.map((h, i) => {
      const to = from + shards[i];
      const sx = xs.map((x) => sliceRows(x, from, to));
      const sy = ys.map((y) => sliceRows(y, from, to));
      from = to;
      if (shards[i] === 0) return Promise.resolve(null);
      return h.request(
        { type: "grads", inputs: sx, targets: sy },
        transferList([...sx, ...sy].map((s) => s.data)),
      );
    }));
    // weighted average (weights n_i / batch), each element rounded once
    let loss = 0;
    const live = gradReplies.map((r, i) => ({ r, w: shards[i] / batch })).filter((x) => x.r);
    const avg = (pick: (r: Reply) => Float32Array) => {
      const arrays = live.map(({ r, w }) => ({ a: pick(r!), w }));
      const out = new Float32Array(arrays[0].a.length);
      for (let j = 0; j < out.length; j++) {
        let s = 0;
        for (const { a, w } of arrays) s += w * a[j];
        out[j] = s;
      }
      return out;
    };
    for (const { r, w } of live) loss += w * r!.loss!;
    const grads = live.length === 1 ? live[0].r!.grads! : avg((r) => r.grads!);
    const state = live.length === 1 ? live[0].r!.state! : avg((r) => r.state!);
    const applied = await Promise.all(this.handles.map((h, i) => {
      const last = i === this.handles.length - 1;
      const g = last ? grads : grads.slice();
      const s = last ? state : state.slice();
      return h.request({ type: "apply", grads: g, state: s }, transferList([g, s]));
    }));
    return {
      loss,
      shards,
      numTensors: applied.map((r) => r.numTensors ?? -1),
      workerMs: gradReplies.map((r) => r?.ms ?? 0),
      workerCpuMs: gradReplies.map((r) => r?.cpuMs ?? NaN),
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

  /** Set the learning rate of every replica's optimizer (e.g. from a schedule, before a step). */
  async setLearningRate(learningRate: number): Promise<void> {
    this.check();
    if (this.local) return this.local.setLearningRate(learningRate);
    await Promise.all(
      this.handles.map((h) => h.request({ type: "setLearningRate", learningRate })),
    );
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
