/**
 * The optimisers of data-parallel training (`DataParallelTrainer` in
 * parallel_trainer.ts), as plain loops over flat Float32Arrays: a
 * serialisable {@link ParallelOptimizerSpec} that every worker turns into an
 * identical {@link FlatOptimizer}, the one place that checks and completes a
 * spec ({@link resolveOptimizerSpec}), and PyTorch's update rules
 * ({@link TorchUpdate}), shared with lib/train/optimisers.ts.
 *
 * No tensors and no kernels: each element is computed in float64 and rounded
 * once to float32 when stored, so replicas on different threads (or a
 * replica and the single-process optimiser) agree to float32 rounding.
 *
 * @example
 * ```ts
 * const opt = new FlatOptimizer({ kind: "torch-adamw", learningRate: 1e-3 }, [6, 3]);
 * const params = new Float32Array(9), grads = new Float32Array(9).fill(0.5);
 * opt.step(params, grads); // both variables, one AdamW step
 * const state = opt.getState(); // step counts and moments, for a checkpoint
 * ```
 * @module
 */
import { ConfigError } from "../errors.ts";

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
    /**
     * AMSGrad (PyTorch `amsgrad=True`): keep the running maximum `vmax =
     * max(vmax, v)` and divide by `sqrt(vmax) / sqrt(bc2) + eps` instead of
     * `sqrt(v) / …`. Default false.
     */
    amsgrad?: boolean;
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
 *   Nesterov without momentum or with dampening, a non-boolean `amsgrad`.
 * @example
 * ```ts
 * resolveOptimizerSpec({ kind: "torch-adamw", learningRate: 1e-3 });
 * // { kind: "torch-adamw", learningRate: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8,
 * //   weightDecay: 0.01, amsgrad: false }
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
  const boolean = (name: string, v: unknown) => {
    if (typeof v !== "boolean") {
      throw new ConfigError(`${who} ${name}: must be true or false, got ${JSON.stringify(v)}`);
    }
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
        amsgrad: boolean("amsgrad", spec.amsgrad ?? false),
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
 * The slot buffers (moments) a kind keeps, by name: `m`, `v` (Adam kinds;
 * plus `vmax`, the running maximum of `v`, with `amsgrad`), `momentum`
 * (momentum kinds; torch-sgd only with momentum ≠ 0).
 */
export function optimizerSlotNames(spec: ResolvedOptimizerSpec): string[] {
  switch (spec.kind) {
    case "adam":
      return ["m", "v"];
    case "torch-adam":
    case "torch-adamw":
      return spec.amsgrad ? ["m", "v", "vmax"] : ["m", "v"];
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
  /** Slot buffers by name (`m`, `v`, `vmax`, `momentum`), each as long as the flat parameters. */
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

/**
 * One Adam step on `[from, to)`. With `vmax` (AMSGrad, PyTorch
 * `amsgrad=True`): `vmax = max(vmax, v)` of the stored float32 values (as
 * `torch.maximum`) replaces `v` in the denominator.
 */
function adamLoop(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  vmax: Float32Array | null,
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
    // both operands are float32 values, so the max is too
    const den = vmax ? (vmax[j] = Math.max(vmax[j], v[j])) : v[j];
    p[j] = pj * keep - (stepSize * m[j]) / (Math.sqrt(invBc2 * den) * invSqrtBc2 + eps);
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
    } else {
      const vmax = s.amsgrad ? slots.vmax : null;
      adamLoop(p, g, slots.m, slots.v, vmax, from, to, this.adam(t, lr));
    }
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
      else if (tfAdam) adamLoop(params, grads, this.slots.m, this.slots.v, null, from, to, tfAdam);
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

/**
 * Check a learning rate set after construction (schedules, restored state).
 *
 * @throws RangeError when `lr` is negative or NaN.
 * @example
 * ```ts
 * optimizer.learningRate = checkLearningRate(1e-3);
 * ```
 */
export function checkLearningRate(lr: number): number {
  if (!(lr >= 0)) throw new RangeError(`parallel: learning rate must be >= 0, got ${lr}`);
  return lr;
}
