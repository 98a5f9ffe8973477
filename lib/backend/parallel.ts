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
 * The learning rate and the mask of trained variables travel with each
 * step's gradients message. The weights are broadcast from worker 0 when the
 * trainer starts, so replicas start identical even when the factory is not
 * seeded (`broadcastWeights: false` skips this when they are).
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
import { ConfigError } from "../errors.ts";
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
  loss(inputs: tf.Tensor[], targets: tf.Tensor[], context?: StepContext): tf.Scalar;
  /** Free the model's variables and any other tensors (optional). */
  dispose?(): void;
}

/** What a replica's loss is told about the step (e.g. to seed dropout). */
export interface StepContext {
  /** The seed given to {@link DataParallelTrainer.step} (undefined when none was given). */
  seed?: number;
  /** Index of the replica's worker (0 in local mode). */
  worker: number;
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

/**
 * An optimizer, described so that each worker can create an identical one.
 * Every kind runs as a fused loop over flat Float32Arrays
 * ({@link FlatOptimizer}). `adam`, `sgd` and `momentum` follow tfjs
 * (`tf.train.adam` / `sgd` / `momentum`); the `torch-*` kinds follow PyTorch
 * (`torch.optim.Adam` / `AdamW` / `SGD`, as lib/train/optimisers.ts).
 */
export type ParallelOptimizerSpec =
  | {
    /** Adam with tfjs's update (tf.train.adam: eps added to the bias-corrected sqrt). */
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
    /** SGD with momentum (tf.train.momentum: the accumulator starts at zero). */
    kind: "momentum";
    /** Step size. */
    learningRate: number;
    /** Momentum factor, e.g. 0.9. */
    momentum: number;
    /** Nesterov momentum. Default false. */
    useNesterov?: boolean;
  }
  | {
    /**
     * PyTorch Adam (`torch-adam`, L2 weight decay added to the gradient) or
     * AdamW (`torch-adamw`, decoupled decay `p -= lr·wd·p`); per-variable step
     * counts for the bias correction, eps added after `sqrt(v) / sqrt(bc2)`.
     */
    kind: "torch-adam" | "torch-adamw";
    /** Step size. */
    learningRate: number;
    /** First-moment decay. Default 0.9. */
    beta1?: number;
    /** Second-moment decay. Default 0.999. */
    beta2?: number;
    /** Denominator epsilon. Default 1e-8. */
    eps?: number;
    /** Weight decay. Default 0 (torch-adam), 0.01 (torch-adamw). */
    weightDecay?: number;
  }
  | {
    /** PyTorch SGD: momentum buffer = gradient on the first step, dampening, Nesterov. */
    kind: "torch-sgd";
    /** Step size. */
    learningRate: number;
    /** Momentum factor. Default 0 (plain SGD). */
    momentum?: number;
    /** Dampening of the momentum. Default 0. */
    dampening?: number;
    /** L2 weight decay added to the gradient. Default 0. */
    weightDecay?: number;
    /** Nesterov momentum. Default false. */
    nesterov?: boolean;
  };

/** A {@link ParallelOptimizerSpec} with every default filled in (see {@link resolveOptimizerSpec}). */
export type ResolvedOptimizerSpec = EveryFieldRequired<ParallelOptimizerSpec>;
type EveryFieldRequired<T> = T extends unknown ? Required<T> : never;

/** The PyTorch-semantics kinds (`torch-adam`, `torch-adamw`, `torch-sgd`), resolved. */
export type ResolvedTorchSpec = Extract<ResolvedOptimizerSpec, { kind: `torch-${string}` }>;

/** Every {@link ParallelOptimizerSpec} kind. */
export const OPTIMIZER_KINDS: readonly ParallelOptimizerSpec["kind"][] = [
  "adam",
  "sgd",
  "momentum",
  "torch-adam",
  "torch-adamw",
  "torch-sgd",
];

/**
 * Check a spec and fill in its defaults: the one place that knows them, for
 * {@link FlatOptimizer} and for lib/train/optimisers.ts (which names its
 * errors with `who`, e.g. `"adamw"`).
 *
 * @throws ConfigError naming the field: an unknown kind, `learningRate < 0`,
 *   a beta outside [0, 1), a negative epsilon / momentum / weight decay,
 *   Nesterov without momentum or with dampening.
 * @example
 * ```ts
 * resolveOptimizerSpec({ kind: "torch-adamw", learningRate: 1e-3 });
 * // { kind: "torch-adamw", learningRate: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 }
 * ```
 */
export function resolveOptimizerSpec(
  spec: ParallelOptimizerSpec,
  who = "optimizer",
): ResolvedOptimizerSpec {
  if (!OPTIMIZER_KINDS.includes(spec?.kind)) {
    throw new ConfigError(
      `${who} kind: '${spec?.kind}' is not supported (${OPTIMIZER_KINDS.join(", ")})`,
    );
  }
  if (!(spec.learningRate >= 0)) {
    throw new ConfigError(`${who} lr (learning rate): must be >= 0, got ${spec.learningRate}`);
  }
  const inUnit = (name: string, v: number) => {
    if (!(v >= 0 && v < 1)) throw new ConfigError(`${who} ${name}: must be in [0, 1), got ${v}`);
    return v;
  };
  const nonNegative = (name: string, v: number) => {
    if (!(v >= 0)) throw new ConfigError(`${who} ${name}: must be >= 0, got ${v}`);
    return v;
  };
  const lr = spec.learningRate;
  switch (spec.kind) {
    case "adam":
      return {
        kind: "adam",
        learningRate: lr,
        beta1: inUnit("beta1", spec.beta1 ?? 0.9),
        beta2: inUnit("beta2", spec.beta2 ?? 0.999),
        epsilon: nonNegative("epsilon", spec.epsilon ?? 1e-7),
      };
    case "sgd":
      return { kind: "sgd", learningRate: lr };
    case "momentum":
      return {
        kind: "momentum",
        learningRate: lr,
        momentum: nonNegative("momentum", spec.momentum),
        useNesterov: spec.useNesterov ?? false,
      };
    case "torch-adam":
    case "torch-adamw":
      return {
        kind: spec.kind,
        learningRate: lr,
        beta1: inUnit("beta1", spec.beta1 ?? 0.9),
        beta2: inUnit("beta2", spec.beta2 ?? 0.999),
        eps: nonNegative("eps", spec.eps ?? 1e-8),
        weightDecay: nonNegative(
          "weightDecay",
          spec.weightDecay ?? (spec.kind === "torch-adamw" ? 0.01 : 0),
        ),
      };
    case "torch-sgd": {
      const out: ResolvedTorchSpec = {
        kind: "torch-sgd",
        learningRate: lr,
        momentum: nonNegative("momentum", spec.momentum ?? 0),
        dampening: spec.dampening ?? 0,
        weightDecay: nonNegative("weightDecay", spec.weightDecay ?? 0),
        nesterov: spec.nesterov ?? false,
      };
      if (out.nesterov && (out.momentum <= 0 || out.dampening !== 0)) {
        throw new ConfigError(`${who} nesterov: needs momentum > 0 and dampening 0`);
      }
      return out;
    }
  }
}

/**
 * The slot buffers (moments) a kind keeps, by name: `m`, `v` (Adam kinds),
 * `momentum` (momentum kinds; torch-sgd only with momentum ≠ 0).
 */
export function optimizerSlotNames(spec: ResolvedOptimizerSpec): string[] {
  switch (spec.kind) {
    case "adam":
    case "torch-adam":
    case "torch-adamw":
      return ["m", "v"];
    case "momentum":
      return ["momentum"];
    case "torch-sgd":
      return spec.momentum !== 0 ? ["momentum"] : [];
    default:
      return [];
  }
}

/**
 * The state of a {@link FlatOptimizer}: per-variable step counts and the
 * slot buffers laid out like the flat parameters (a variable's slice of a
 * slot is meaningful once its step count is > 0).
 */
export interface FlatOptimizerState {
  /** The spec's kind. */
  kind: ParallelOptimizerSpec["kind"];
  /** Current learning rate. */
  learningRate: number;
  /**
   * Optimizer steps taken per variable. A frozen variable's count does not
   * advance (torch kinds: it is the variable's bias-correction step; tfjs
   * adam keeps one optimizer-wide count in `scalars`).
   */
  steps: number[];
  /** Slot buffers by name (`m`, `v`, `momentum`), each as long as the flat parameters. */
  slots: Record<string, Float32Array>;
  /** Scalar state (tfjs adam: `accBeta1`, `accBeta2`). */
  scalars: Record<string, number>;
}

const f32 = Math.fround;

// The update loops: small monomorphic functions over one variable's range
// [from, to) so that V8 optimises each one (a shared switch inside the loop
// was 2x slower). Values are computed in float64 and rounded once when stored.

/** Plain SGD: `p -= lr·(g + l2·p)`. */
function sgdLoop(
  p: Float32Array,
  g: Float32Array,
  from: number,
  to: number,
  lr: number,
  l2: number,
): void {
  if (l2 === 0) {
    for (let j = from; j < to; j++) p[j] -= lr * g[j];
  } else {
    for (let j = from; j < to; j++) p[j] -= lr * f32(g[j] + l2 * p[j]);
  }
}

/** Options of {@link momentumLoop}. */
interface MomentumArgs {
  /** Momentum factor μ (≠ 0). */
  mu: number;
  /** Nesterov: step along `g + μ·buf` instead of `buf`. */
  nesterov: boolean;
  /** Dampening: the gradient enters the buffer as `(1 - dampening)·g`. */
  dampening: number;
  /** First step of the variable: `buf = g` (PyTorch), else `μ·buf + …`. */
  first: boolean;
  /** L2 weight decay added to the gradient (`g + l2·p`). */
  l2: number;
}

/**
 * Momentum: `buf = mu·buf + (1 - dampening)·g` (`buf = g` on the first step
 * when `first`), then `p -= lr·(nesterov ? g + mu·buf : buf)`; `l2` adds
 * `l2·p` to the gradient first.
 */
function momentumLoop(
  p: Float32Array,
  g: Float32Array,
  buf: Float32Array,
  from: number,
  to: number,
  lr: number,
  o: MomentumArgs,
): void {
  const { mu, l2, first, nesterov } = o, keepG = 1 - o.dampening;
  for (let j = from; j < to; j++) {
    const gj = l2 !== 0 ? f32(g[j] + l2 * p[j]) : g[j];
    const b = first ? gj : f32(mu * buf[j] + keepG * gj);
    buf[j] = b;
    p[j] -= lr * (nesterov ? f32(gj + mu * b) : b);
  }
}

/** Adam constants: both tfjs's and PyTorch's forms are `p·keep - stepSize·m / (sqrt(v·invBc2)/sqrtBc2 + eps)`. */
interface AdamConstants {
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  /** lr / (1 - beta1^t). */
  stepSize: number;
  /** tfjs: 1 / (1 - beta2^t) inside the sqrt; PyTorch: 1. */
  invBc2: number;
  /** 1 / sqrt(1 - beta2^t) (PyTorch); tfjs: 1. */
  invSqrtBc2: number;
  eps: number;
  /** Decoupled weight decay factor 1 - lr·wd (AdamW), else 1. */
  keep: number;
  /** L2 weight decay added to the gradient (Adam weight_decay), else 0. */
  l2: number;
}

function adamLoop(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  from: number,
  to: number,
  c: AdamConstants,
): void {
  const {
    beta1,
    oneMinusBeta1,
    beta2,
    oneMinusBeta2,
    stepSize,
    invBc2,
    invSqrtBc2,
    eps,
    keep,
    l2,
  } = c;
  for (let j = from; j < to; j++) {
    const pj = p[j];
    const gj = l2 !== 0 ? f32(g[j] + l2 * pj) : g[j];
    const mj = beta1 * m[j] + oneMinusBeta1 * gj;
    const vj = beta2 * v[j] + oneMinusBeta2 * (gj * gj);
    m[j] = mj;
    v[j] = vj;
    p[j] = pj * keep - (stepSize * m[j]) / (Math.sqrt(invBc2 * v[j]) * invSqrtBc2 + eps);
  }
}

/**
 * PyTorch's update rules (`torch.optim.Adam` / `AdamW` / `SGD`) on ranges of
 * Float32Arrays: the one implementation behind the `torch-*` kinds of
 * {@link FlatOptimizer} and the optimisers of lib/train/optimisers.ts. Keeps
 * no per-variable state itself (the caller owns step counts and slots); it
 * caches the Adam constants of the last `(t, lr)`.
 *
 * @example
 * ```ts
 * const rule = new TorchUpdate({ kind: "torch-adamw", learningRate: 1e-3 });
 * const p = new Float32Array([1, -2]), g = new Float32Array([0.5, 0.1]);
 * const slots = Object.fromEntries(rule.slotNames.map((n) => [n, new Float32Array(2)]));
 * rule.apply(1, 1e-3, p, g, slots); // first step of this variable
 * ```
 */
export class TorchUpdate {
  /** The resolved hyperparameters (`learningRate`: the spec's initial one). */
  readonly spec: ResolvedTorchSpec;
  /** Slot buffers each variable needs (see {@link optimizerSlotNames}). */
  readonly slotNames: readonly string[];
  private cached: { t: number; lr: number; c: AdamConstants | null } = { t: 0, lr: NaN, c: null };

  /**
   * @param spec a `torch-*` spec (checked and completed by {@link resolveOptimizerSpec})
   * @param who names the optimizer in error messages
   */
  constructor(spec: ParallelOptimizerSpec, who = "optimizer") {
    const r = resolveOptimizerSpec(spec, who);
    if (!r.kind.startsWith("torch-")) {
      throw new ConfigError(`${who} kind: TorchUpdate needs a torch-* kind, got '${r.kind}'`);
    }
    this.spec = r as ResolvedTorchSpec;
    this.slotNames = optimizerSlotNames(r);
  }

  private adam(t: number, lr: number): AdamConstants {
    const c = this.cached;
    if (c.c && c.t === t && c.lr === lr) return c.c;
    const s = this.spec as Extract<ResolvedTorchSpec, { kind: "torch-adam" | "torch-adamw" }>;
    const decoupled = s.kind === "torch-adamw";
    c.t = t;
    c.lr = lr;
    c.c = {
      beta1: s.beta1,
      oneMinusBeta1: 1 - s.beta1,
      beta2: s.beta2,
      oneMinusBeta2: 1 - s.beta2,
      stepSize: lr / (1 - Math.pow(s.beta1, t)),
      invBc2: 1,
      invSqrtBc2: 1 / Math.sqrt(1 - Math.pow(s.beta2, t)),
      eps: s.eps,
      keep: decoupled ? 1 - lr * s.weightDecay : 1,
      l2: decoupled ? 0 : s.weightDecay,
    };
    return c.c;
  }

  /**
   * Update `p[from, to)` in place with `g[from, to)`: step `t` (1-based, the
   * variable's count after this step), learning rate `lr`, the slot buffers
   * `slots` (by {@link slotNames}, laid out like `p`, zeros before step 1).
   */
  apply(
    t: number,
    lr: number,
    p: Float32Array,
    g: Float32Array,
    slots: Record<string, Float32Array>,
    from = 0,
    to: number = p.length,
  ): void {
    const s = this.spec;
    if (s.kind === "torch-sgd") {
      if (s.momentum === 0) sgdLoop(p, g, from, to, lr, s.weightDecay);
      else {
        momentumLoop(p, g, slots.momentum, from, to, lr, {
          mu: s.momentum,
          nesterov: s.nesterov,
          dampening: s.dampening,
          first: t === 1,
          l2: s.weightDecay,
        });
      }
    } else adamLoop(p, g, slots.m, slots.v, from, to, this.adam(t, lr));
  }
}

/**
 * A fused optimizer over flat Float32Arrays: one pass over all parameters per
 * step, moments kept as Float32Arrays (no tensors, no kernels). Reproduces
 * tf.train.adam/sgd/momentum, and the PyTorch-semantics optimisers of
 * lib/train/optimisers.ts (through the same {@link TorchUpdate}), to float32
 * rounding (each element is computed in float64 and rounded once when stored).
 *
 * @example
 * ```ts
 * const opt = new FlatOptimizer({ kind: "adam", learningRate: 1e-3 }, [6, 3]); // two variables
 * const params = new Float32Array(9), grads = new Float32Array(9).fill(0.5);
 * opt.step(params, grads); // params -= 1e-3 · m̂ / (sqrt(v̂) + 1e-7)
 * ```
 */
export class FlatOptimizer {
  /** Learning rate of the next step. */
  learningRate: number;
  /** The spec with its defaults filled in. */
  readonly spec: ResolvedOptimizerSpec;
  /** Offset of each variable in the flat parameters, and the total size last. */
  private readonly offsets: number[];
  private readonly total: number;
  private readonly torch: TorchUpdate | null;
  private steps: number[];
  private slots: Record<string, Float32Array>;
  private accBeta1 = 1;
  private accBeta2 = 1;

  /**
   * @param spec the optimizer and its hyperparameters
   * @param sizes number of scalars of each variable, in parameter order
   */
  constructor(spec: ParallelOptimizerSpec, readonly sizes: number[]) {
    this.spec = resolveOptimizerSpec(spec, "parallel optimizer");
    this.torch = this.spec.kind.startsWith("torch-") ? new TorchUpdate(this.spec) : null;
    this.learningRate = spec.learningRate;
    this.offsets = [0];
    for (const n of sizes) this.offsets.push(this.offsets[this.offsets.length - 1] + n);
    this.total = this.offsets[sizes.length];
    this.steps = sizes.map(() => 0);
    this.slots = Object.fromEntries(
      optimizerSlotNames(this.spec).map((k) => [k, new Float32Array(this.total)]),
    );
    if (this.spec.kind === "adam") {
      this.accBeta1 = f32(this.spec.beta1);
      this.accBeta2 = f32(this.spec.beta2);
    }
  }

  /** Offset of variable `k` in the flat parameters (`k = sizes.length`: the total). */
  offset(k: number): number {
    return this.offsets[k];
  }

  /**
   * One step: update `params` in place with `grads` (both as long as the sum
   * of `sizes`). Variables whose `active` entry is false are left alone
   * (frozen: no update, no step count, moments kept). With `vars`, only the
   * variables `[vars[0], vars[1])` are updated (a shard of the update; the
   * tfjs-adam step count still advances once).
   */
  step(
    params: Float32Array,
    grads: Float32Array,
    active?: ArrayLike<boolean> | null,
    vars: [number, number] = [0, this.sizes.length],
  ): void {
    if (params.length !== this.total || grads.length !== this.total) {
      throw new RangeError(
        `parallel: optimizer step with ${params.length} parameters and ${grads.length} ` +
          `gradients, the model has ${this.total}`,
      );
    }
    const s = this.spec, lr = this.learningRate;
    // tfjs adam: one set of constants for every variable (its scalars are float32)
    const tfAdam: AdamConstants | null = s.kind === "adam"
      ? {
        beta1: f32(s.beta1),
        oneMinusBeta1: f32(1 - s.beta1),
        beta2: f32(s.beta2),
        oneMinusBeta2: f32(1 - s.beta2),
        stepSize: lr / f32(1 - this.accBeta1),
        invBc2: 1 / f32(1 - this.accBeta2),
        invSqrtBc2: 1,
        eps: s.epsilon,
        keep: 1,
        l2: 0,
      }
      : null;
    const momentum: MomentumArgs | null = s.kind === "momentum"
      ? { mu: f32(s.momentum), nesterov: s.useNesterov, dampening: 0, first: false, l2: 0 }
      : null;
    for (let k = vars[0]; k < vars[1]; k++) {
      if (active && !active[k]) continue;
      const from = this.offsets[k], to = this.offsets[k + 1];
      const t = ++this.steps[k];
      if (this.torch) this.torch.apply(t, lr, params, grads, this.slots, from, to);
      else if (tfAdam) adamLoop(params, grads, this.slots.m, this.slots.v, from, to, tfAdam);
      else if (momentum) momentumLoop(params, grads, this.slots.momentum, from, to, lr, momentum);
      else sgdLoop(params, grads, from, to, lr, 0);
    }
    if (s.kind === "adam") {
      this.accBeta1 = f32(this.accBeta1 * f32(s.beta1));
      this.accBeta2 = f32(this.accBeta2 * f32(s.beta2));
    }
  }

  /**
   * A copy of the state (for checkpoints and for moving it between threads).
   * With `vars`, only the variables `[vars[0], vars[1])`: their step counts
   * and their part of each slot (what one worker of a sharded update holds).
   */
  getState(vars: [number, number] = [0, this.sizes.length]): FlatOptimizerState {
    const [v0, v1] = vars, from = this.offsets[v0], to = this.offsets[v1];
    return {
      kind: this.spec.kind,
      learningRate: this.learningRate,
      steps: this.steps.slice(v0, v1),
      slots: Object.fromEntries(
        Object.entries(this.slots).map(([k, a]) => [k, a.slice(from, to)]),
      ),
      scalars: this.spec.kind === "adam"
        ? { accBeta1: this.accBeta1, accBeta2: this.accBeta2 }
        : {},
    };
  }

  /** Restore a state from {@link getState} (same kind and layout). */
  setState(state: FlatOptimizerState): void {
    if (state.kind !== this.spec.kind) {
      throw new Error(`parallel: optimizer state of '${state.kind}' given to '${this.spec.kind}'`);
    }
    if (state.steps.length !== this.sizes.length) {
      throw new RangeError(
        `parallel: optimizer state for ${state.steps.length} variables, the model has ${this.sizes.length}`,
      );
    }
    for (const k of Object.keys(this.slots)) {
      const a = state.slots[k];
      if (!a || a.length !== this.total) {
        throw new RangeError(
          `parallel: optimizer state slot '${k}' has ${a?.length} values, expected ${this.total}`,
        );
      }
      this.slots[k].set(a);
    }
    this.steps = state.steps.slice();
    this.learningRate = state.learningRate;
    if (this.spec.kind === "adam") {
      this.accBeta1 = state.scalars.accBeta1;
      this.accBeta2 = state.scalars.accBeta2;
    }
  }
}

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
   * variables) of one shard, plus the flat state after the forward pass.
   * Writes into `out.grads` / `out.state` when given (e.g. shared memory).
   */
  gradients(
    inputs: HostTensor[],
    targets: HostTensor[],
    out: { grads?: Float32Array; state?: Float32Array; seed?: number } = {},
  ): { loss: number; grads: Float32Array; state: Float32Array } {
    this.syncShared();
    const all = this.model.trainable;
    const vars = this.active ? all.filter((_, i) => this.active![i]) : all;
    // no tf.tidy around variableGrads: it keeps every intermediate of the
    // forward pass alive until the end and made the step 2x slower
    const xs = inputs.map((h) => tf.tensor(h.data, h.shape));
    const ys = targets.map((h) => tf.tensor(h.data, h.shape));
    let value: tf.Scalar | null = null;
    let grads: tf.NamedTensorMap = {};
    const context: StepContext = { seed: out.seed, worker: this.worker };
    try {
      // everything frozen: the loss only
      if (vars.length === 0) value = tf.tidy(() => this.model.loss(xs, ys, context));
      else ({ value, grads } = tf.variableGrads(() => this.model.loss(xs, ys, context), vars));
      const flat = concatInto(
        all.map((v) => grads[v.name] ?? null),
        this.sizes,
        out.grads,
      );
      return {
        loss: value.dataSync()[0],
        grads: flat,
        state: concatInto(this.model.state ?? [], undefined, out.state),
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
   * null trains all. Frozen variables get no gradient and no update.
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

function checkLearningRate(lr: number): number {
  if (!(lr >= 0)) throw new RangeError(`parallel: learning rate must be >= 0, got ${lr}`);
  return lr;
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

/**
 * Split variables (their sizes, in order) into `k` contiguous ranges
 * `[first, end)` of about equal total size: which worker updates which
 * variables.
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
 * shared memory, identical optimizer steps in every replica. See the module
 * documentation for the protocol and the batch-norm caveat.
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
        handles.push(new WorkerHandle(i, new Worker(url, { type: "module" })));
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
      const parts = partitionVariables(replies[0].variableSizes!, n);
      await Promise.all(
        handles.map((h, k) =>
          h.request({ type: "share", grads, state, params, owned: parts[k], workers: n })
        ),
      );
      const trainer = new DataParallelTrainer(
        "workers",
        handles,
        null,
        replies.map((r) => r.backend ?? "?"),
        optimizer,
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
        },
        transferList([...sx, ...sy].map((s) => s.data)),
      );
    }));
    let loss = 0;
    gradReplies.forEach((r, k) => {
      if (r && weights[k] > 0) loss += weights[k] * r.loss!;
    });
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
