/**
 * One replica of a data-parallel model ({@link ModelReplica}) and what
 * describes it across threads: the {@link ParallelModel} a factory module
 * builds ({@link ModelFactorySpec}, {@link importFactory}), what its loss is
 * told and may report ({@link StepContext}), its flat weights
 * ({@link ReplicaWeights}) and the host arrays batches travel as
 * ({@link HostTensor}, {@link toHost}, {@link sliceRows}).
 *
 * A replica computes a shard's loss, gradients and reported metrics, and
 * applies (averaged) gradients with a {@link FlatOptimizer}; it runs in each
 * worker (parallel_worker.ts) and in the trainer's local mode.
 *
 * @example
 * ```ts
 * const replica = await ModelReplica.create({ module: url, export: "build" }, {
 *   kind: "adam",
 *   learningRate: 1e-3,
 * });
 * const { loss, grads, metrics } = replica.gradients([x], [y]); // x, y: HostTensor
 * replica.apply(grads);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  checkLearningRate,
  FlatOptimizer,
  type FlatOptimizerState,
  type ParallelOptimizerSpec,
} from "./parallel_optimizer.ts";

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
   * order given to `DataParallelTrainer.step`.
   */
  loss(inputs: tf.Tensor[], targets: tf.Tensor[], context?: StepContext): tf.Scalar;
  /**
   * Told which trainable variables are trained from the next step on
   * (`mask[i]` for `trainable[i]`; null: all), whenever that changes
   * ({@link ModelReplica.setActive}), before the step's forward pass.
   * Optional; e.g. lib/train/parallel_fit.ts sets the tfjs `trainable` flags
   * from it, so that frozen batch-norm layers can run in inference mode.
   */
  setActive?(mask: boolean[] | null): void;
  /** Free the model's variables and any other tensors (optional). */
  dispose?(): void;
}

/**
 * What a replica's loss is told about the step (e.g. to seed dropout), and
 * where it reports per-step metrics.
 *
 * @example
 * ```ts
 * loss: ([x], [y], ctx) => {
 *   const ce = tf.losses.softmaxCrossEntropy(y, net(x)) as tf.Scalar;
 *   ctx?.report?.("ce", ce); // read at once; ParallelStepResult.metrics.ce
 *   return ce;
 * }
 * ```
 */
export interface StepContext {
  /** The seed given to `DataParallelTrainer.step` (undefined when none was given). */
  seed?: number;
  /** Index of the replica's worker (0 in local mode). */
  worker: number;
  /**
   * Report a metric of this shard (e.g. one head's cross-entropy or
   * accuracy): a number or a one-element tensor, read synchronously when
   * reported (the tensor stays the caller's). Each name at most once per
   * step. `DataParallelTrainer.step` returns the shard-weighted mean of each
   * name as `ParallelStepResult.metrics` (same weights as the loss). Set by
   * {@link ModelReplica.gradients}; absent when the loss is called elsewhere.
   */
  report?: (name: string, value: number | tf.Scalar) => void;
}

/** Flat weights of one replica. */
export interface ReplicaWeights {
  /** Trainable variables, in order. */
  trainable: Float32Array[];
  /** State variables, in order. */
  state: Float32Array[];
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

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Concatenate tensors' values into `out` (a null entry: `sizes[i]` zeros,
 * e.g. a variable without gradient); a new array when `out` is not given.
 */
function concatInto(
  tensors: (tf.Tensor | null)[],
  sizes?: number[],
  out?: Float32Array,
): Float32Array {
  const n = (t: tf.Tensor | null, i: number) => t?.size ?? sizes?.[i] ?? 0;
  const total = tensors.reduce((a, t, i) => a + n(t, i), 0);
  if (out && out.length !== total) {
    throw new RangeError(`parallel: ${total} values for a buffer of ${out.length}`);
  }
  out ??= new Float32Array(total);
  let off = 0;
  tensors.forEach((t, i) => {
    if (t) out.set(t.dataSync() as Float32Array, off);
    else out.fill(0, off, off + n(t, i));
    off += n(t, i);
  });
  return out;
}

/**
 * `out[j] = Σ_k weights[k] · arrays[k][j]` for `from <= j < to` (default:
 * all) over the arrays with a weight > 0 (one array with weight 1: a plain
 * copy), each element rounded once. Every replica calls this with the same
 * arguments, so they agree bit for bit.
 */
function weightedAverage(
  arrays: Float32Array[],
  weights: number[],
  out: Float32Array,
  from = 0,
  to: number = out.length,
): Float32Array {
  const live = arrays.map((a, k) => ({ a, w: weights[k] })).filter((x) => x.w > 0);
  if (live.length === 0) throw new RangeError("parallel: weighted average of no arrays");
  if (live.length === 1 && live[0].w === 1) {
    if (live[0].a !== out) out.set(live[0].a.subarray(from, to), from);
    return out;
  }
  if (live.length === 2) {
    const [a, b] = [live[0].a, live[1].a], [wa, wb] = [live[0].w, live[1].w];
    for (let j = from; j < to; j++) out[j] = wa * a[j] + wb * b[j];
    return out;
  }
  for (let j = from; j < to; j++) {
    let s = 0;
    for (const { a, w } of live) s += w * a[j];
    out[j] = s;
  }
  return out;
}

/**
 * Import `spec.module` and return its export `spec.export` (default
 * `"default"`), which must be a function: the factory of a model
 * ({@link ModelReplica.create}) or of a loss (lib/train/parallel_fit.ts).
 * `what` names it in errors.
 *
 * @throws Error `<module>: cannot import the <what> (…)` or
 *   `<module>: export '<name>' is not a function (expected the <what>)`
 * @example
 * ```ts
 * const build = await importFactory({ module: url, export: "build" }, "model factory");
 * const model = await build({ units: 32 });
 * ```
 */
export async function importFactory(
  spec: ModelFactorySpec,
  what: string,
): Promise<(args: unknown) => unknown> {
  let mod: Record<string, unknown>;
  try {
    mod = await import(spec.module);
  } catch (e) {
    throw new Error(`${spec.module}: cannot import the ${what} (${(e as Error).message})`);
  }
  const name = spec.export ?? "default";
  const factory = mod[name];
  if (typeof factory !== "function") {
    throw new Error(`${spec.module}: export '${name}' is not a function (expected the ${what})`);
  }
  return factory as (args: unknown) => unknown;
}

/**
 * One model replica: builds the model from its factory and runs the two
 * halves of a step (gradients of a shard; apply averaged gradients with a
 * {@link FlatOptimizer}). Keeps a flat float32 master copy of the trainable
 * weights, updated by the optimizer and written to the variables (one
 * `assign` per variable). Used inside each worker, and by the local fallback.
 */
export class ModelReplica {
  private params: Float32Array;
  private owned: [number, number] | null = null;
  private readonly optimizer: FlatOptimizer;
  private active: boolean[] | null = null;
  private readonly sizes: number[];
  private readonly stateSizes: number[];
  /** Number of state scalars. */
  readonly numState: number;
  private avgGrads: Float32Array | null = null;
  private avgState: Float32Array | null = null;
  /** The shared parameters / averaged state changed since the variables were written. */
  private unsynced = false;

  private constructor(
    private readonly model: ParallelModel,
    optimizer: ParallelOptimizerSpec,
    /** Index of this replica's worker (given to the loss). */
    readonly worker: number,
  ) {
    this.sizes = model.trainable.map((v) => v.size);
    this.stateSizes = (model.state ?? []).map((v) => v.size);
    this.numState = this.stateSizes.reduce((a, b) => a + b, 0);
    this.params = concatInto(model.trainable);
    this.optimizer = new FlatOptimizer(optimizer, this.sizes);
  }

  /** Import the factory module, build the model and the optimizer. */
  static async create(
    spec: ModelFactorySpec,
    optimizer: ParallelOptimizerSpec,
    worker = 0,
  ): Promise<ModelReplica> {
    const factory = await importFactory(spec, "model factory");
    const model = await (factory as (a: unknown) => ParallelModel | Promise<ParallelModel>)(
      spec.args,
    );
    if (!model || !Array.isArray(model.trainable) || typeof model.loss !== "function") {
      throw new Error(
        `${spec.module}: '${spec.export ?? "default"}' must return ` +
          "{ trainable: tf.Variable[], loss(inputs, targets) }",
      );
    }
    return new ModelReplica(model, optimizer, worker);
  }

  /** Number of trainable scalars. */
  get numParams(): number {
    return this.params.length;
  }

  /** Size of each trainable variable, in order. */
  get variableSizes(): number[] {
    return this.sizes.slice();
  }

  /**
   * Mean loss and flat gradients (trainable order; zeros for frozen
   * variables) of one shard, the flat state after the forward pass and the
   * metrics the loss reported through `context.report` ({@link StepContext}).
   * Writes into `out.grads` / `out.state` when given (e.g. shared memory).
   *
   * @throws Error when the loss reports a name twice, or a tensor that is
   *   not one value.
   */
  gradients(
    inputs: HostTensor[],
    targets: HostTensor[],
    out: { grads?: Float32Array; state?: Float32Array; seed?: number } = {},
  ): { loss: number; grads: Float32Array; state: Float32Array; metrics: Record<string, number> } {
    this.syncShared();
    const all = this.model.trainable;
    const vars = this.active ? all.filter((_, i) => this.active![i]) : all;
    // no tf.tidy around variableGrads: it keeps every intermediate of the
    // forward pass alive until the end and made the step 2x slower
    const xs = inputs.map((h) => tf.tensor(h.data, h.shape));
    const ys = targets.map((h) => tf.tensor(h.data, h.shape));
    let value: tf.Scalar | null = null;
    let grads: tf.NamedTensorMap = {};
    const metrics: Record<string, number> = {};
    // a bad report is thrown once the gradients are computed: thrown inside
    // variableGrads, it would leak the forward pass's tensors
    let badReport: Error | null = null;
    const report = (name: string, v: number | tf.Scalar) => {
      if (badReport) return;
      if (Object.hasOwn(metrics, name)) {
        badReport = new Error(`parallel: the loss reported metric '${name}' twice in one step`);
      } else if (typeof v === "number") metrics[name] = v;
      else if (v instanceof tf.Tensor && v.size === 1) metrics[name] = v.dataSync()[0];
      else {
        const shape = v instanceof tf.Tensor ? `a tensor of shape [${v.shape}]` : typeof v;
        badReport = new Error(
          `parallel: metric '${name}' must be a number or a one-element tensor, got ${shape}`,
        );
      }
    };
    const context: StepContext = { seed: out.seed, worker: this.worker, report };
    try {
      // everything frozen: the loss only
      if (vars.length === 0) value = tf.tidy(() => this.model.loss(xs, ys, context));
      else ({ value, grads } = tf.variableGrads(() => this.model.loss(xs, ys, context), vars));
      if (badReport) throw badReport;
      const flat = concatInto(
        all.map((v) => grads[v.name] ?? null),
        this.sizes,
        out.grads,
      );
      return {
        loss: value.dataSync()[0],
        grads: flat,
        state: concatInto(this.model.state ?? [], undefined, out.state),
        metrics,
      };
    } finally {
      tf.dispose([...xs, ...ys, ...(value ? [value] : []), ...Object.values(grads)]);
    }
  }

  /** Apply flat gradients (all variables) with the optimizer and write the variables (local mode). */
  apply(grads: Float32Array): void {
    if (grads.length !== this.numParams) {
      throw new RangeError(
        `parallel: gradient has ${grads.length} values, the model ${this.numParams}`,
      );
    }
    this.optimizer.step(this.params, grads, this.active);
    this.writeVars(this.model.trainable, this.params, this.active);
  }

  /**
   * After {@link useShared}: average the shards' gradients (weights: each
   * shard's share of the batch, 0 for an empty shard) for this replica's
   * variables and update them in the shared parameters; average the shards'
   * states. The model's variables are written lazily ({@link syncShared}),
   * once every replica has done its part: at the next gradients, weights
   * read or change, or mask change.
   */
  applyAverage(grads: Float32Array[], states: Float32Array[], weights: number[]): void {
    if (!this.owned) throw new Error("parallel: applyAverage before useShared");
    this.avgGrads ??= new Float32Array(this.numParams);
    this.avgState ??= new Float32Array(this.numState);
    if (this.numState > 0) weightedAverage(states, weights, this.avgState);
    const [v0, v1] = this.owned;
    weightedAverage(
      grads,
      weights,
      this.avgGrads,
      this.optimizer.offset(v0),
      this.optimizer.offset(v1),
    );
    this.optimizer.step(this.params, this.avgGrads, this.active, this.owned);
    this.unsynced = true;
  }

  /**
   * Shard the update: keep the trainable weights in `params` (memory shared
   * by all replicas, filled with this replica's weights now) and update only
   * the variables `[vars[0], vars[1])` in {@link applyAverage}.
   */
  useShared(params: Float32Array, vars: [number, number]): void {
    if (params.length !== this.numParams) {
      throw new RangeError(
        `parallel: shared parameters of ${params.length} values, the model has ${this.numParams}`,
      );
    }
    params.set(this.params);
    this.params = params;
    this.owned = vars;
  }

  /**
   * Write the shared parameters and the averaged state to the model if an
   * {@link applyAverage} changed them since (a no-op otherwise). Called by
   * the methods that read the model; call it only once every replica has
   * finished its {@link applyAverage}.
   */
  syncShared(): void {
    if (!this.unsynced) return;
    this.unsynced = false;
    this.writeVars(this.model.trainable, this.params, this.active);
    if (this.numState > 0) this.setFlat(this.model.state ?? [], this.avgState!);
  }

  /**
   * Train only the variables whose `mask` entry is true (trainable order);
   * null trains all. Frozen variables get no gradient and no update. A
   * change is passed on to the model's `setActive` hook, when it has one.
   */
  setActive(mask: boolean[] | null): void {
    if (mask && mask.length !== this.sizes.length) {
      throw new RangeError(
        `parallel: active mask of ${mask.length} entries for ${this.sizes.length} variables`,
      );
    }
    const next = mask && !mask.every((a) => a) ? mask : null;
    const same = next === null
      ? this.active === null
      : this.active !== null && next.every((a, i) => a === this.active![i]);
    if (same) return;
    this.syncShared(); // with the mask of the update
    this.active = next && next.slice();
    this.model.setActive?.(this.active && this.active.slice());
  }

  private writeVars(vars: tf.Variable[], flat: Float32Array, active?: boolean[] | null): void {
    // the cpu backend keeps the array it is given: copy; wasm copies into its heap
    const copy = tf.getBackend() !== "wasm";
    let off = 0;
    vars.forEach((v, i) => {
      const from = off;
      off += v.size;
      if (active && !active[i]) return;
      const sub = flat.subarray(from, off);
      const t = tf.tensor(copy ? sub.slice() : sub, v.shape, v.dtype);
      v.assign(t);
      t.dispose();
    });
  }

  private setFlat(vars: tf.Variable[], flat: Float32Array): void {
    const n = vars.reduce((a, v) => a + v.size, 0);
    if (flat.length !== n) {
      throw new RangeError(`parallel: ${flat.length} values for variables of ${n}`);
    }
    this.writeVars(vars, flat);
  }

  /** Copies of the weights. */
  getWeights(): ReplicaWeights {
    this.syncShared();
    const read = (vs: tf.Variable[]) => vs.map((v) => (v.dataSync() as Float32Array).slice());
    return { trainable: read(this.model.trainable), state: read(this.model.state ?? []) };
  }

  /** Overwrite the weights (same layout as {@link getWeights}). */
  setWeights(w: ReplicaWeights): void {
    const flat = (xs: Float32Array[], sizes: number[], what: string) => {
      if (xs.length !== sizes.length || xs.some((x, i) => x.length !== sizes[i])) {
        throw new RangeError(
          `parallel: setWeights ${what}: got sizes [${xs.map((x) => x.length)}], ` +
            `the model has [${sizes}]`,
        );
      }
      const out = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
      let off = 0;
      for (const x of xs) {
        out.set(x, off);
        off += x.length;
      }
      return out;
    };
    const trainable = flat(w.trainable, this.sizes, "trainable");
    const state = flat(w.state, this.stateSizes, "state");
    this.unsynced = false; // everything is overwritten
    this.params.set(trainable);
    this.setFlat(this.model.trainable, this.params);
    this.setFlat(this.model.state ?? [], state);
  }

  /**
   * A copy of the optimizer state of the variables this replica updates:
   * all of them, or after {@link useShared} its own range (see
   * {@link FlatOptimizer.getState}).
   */
  getOptimizerState(): FlatOptimizerState {
    return this.optimizer.getState(this.owned ?? undefined);
  }

  /** Restore a full optimizer state (e.g. gathered from every replica by the trainer). */
  setOptimizerState(state: FlatOptimizerState): void {
    this.optimizer.setState(state);
  }

  /** Change the optimizer's learning rate (for schedules); the moments are kept. */
  setLearningRate(lr: number): void {
    this.optimizer.learningRate = checkLearningRate(lr);
  }

  /** Free the model. */
  dispose(): void {
    this.model.dispose?.();
  }
}

/**
 * A tensor's values and shape as a {@link HostTensor} (float32 or int32), or
 * a host tensor checked against its shape; `what` names it in errors.
 *
 * @throws TypeError for another dtype; RangeError when `data` does not fit `shape`.
 * @example
 * ```ts
 * const h = toHost(tf.zeros([4, 3]), "inputs[0]"); // { data: Float32Array(12), shape: [4, 3] }
 * ```
 */
export function toHost(t: tf.Tensor | HostTensor, what: string): HostTensor {
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

/**
 * Rows `[from, to)` of a host tensor along axis 0 (a copy).
 *
 * @example
 * ```ts
 * sliceRows({ data: new Float32Array(12), shape: [4, 3] }, 1, 3).shape; // [2, 3]
 * ```
 */
export function sliceRows(h: HostTensor, from: number, to: number): HostTensor {
  const row = sizeOf(h.shape.slice(1));
  return { data: h.data.slice(from * row, to * row), shape: [to - from, ...h.shape.slice(1)] };
}
