/**
 * Optimisers with PyTorch semantics over `tf.Variable`s: {@link Adam},
 * {@link AdamW} (decoupled weight decay) and {@link SGD} (momentum,
 * dampening, Nesterov). The learning rate is a plain field set before each
 * step (so any schedule can drive it) and the full state (moments, per-
 * parameter step counts) serialises to plain arrays for checkpoints.
 *
 * Parameters are identified by a caller-chosen string `key` (the training
 * loop uses the weight's index in `model.weights`), so state saved from one
 * process restores into a freshly built model in another.
 *
 * @example
 * const opt = adamW({ lr: 1e-3, weightDecay: 0.01 });
 * opt.lr = schedule.lrAt(step);
 * opt.applyGradients([{ key: "w0", variable: v }], [grad]);
 * const state = opt.getState(); // JSON + Float32Arrays
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../errors.ts";

/** One trainable parameter: a stable key and its variable. */
export interface Param {
  /** Stable identifier, e.g. `"w3"` or the weight name. */
  key: string;
  /** The variable updated in place. */
  variable: tf.Variable;
}

/** One saved slot (moment buffer) of one parameter. */
export interface SlotState {
  /** Tensor shape. */
  shape: number[];
  /** Values, row-major. */
  data: Float32Array;
}

/** Serialisable optimiser state. */
export interface OptimizerState {
  /** Optimiser kind: `"adam"`, `"adamw"`, `"sgd"`. */
  name: string;
  /** Hyperparameters (for checking a resume uses the same optimiser). */
  config: Record<string, number | boolean>;
  /** Learning rate at save time. */
  lr: number;
  /** Per-parameter state: steps taken and slot buffers. */
  params: Record<string, { step: number; slots: Record<string, SlotState> }>;
}

/** The interface every optimiser implements. */
export interface Optimizer {
  /** `"adam"`, `"adamw"` or `"sgd"`. */
  readonly name: string;
  /** Learning rate used by the next {@link Optimizer.applyGradients} call. */
  lr: number;
  /** Hyperparameters other than `lr`. */
  readonly config: Record<string, number | boolean>;
  /**
   * One optimisation step: update each `params[i].variable` with `grads[i]`
   * (null/undefined grads are skipped, like PyTorch's `p.grad is None`).
   */
  applyGradients(params: Param[], grads: (tf.Tensor | null | undefined)[]): void;
  /** Copy the state out (moments, steps) as plain data. */
  getState(): OptimizerState;
  /** Restore a state from {@link Optimizer.getState}; disposes current buffers. */
  setState(state: OptimizerState): void;
  /** Free all buffers. */
  dispose(): void;
}

interface ParamState {
  step: number;
  slots: Record<string, tf.Variable>;
}

abstract class BaseOptimizer implements Optimizer {
  abstract readonly name: string;
  lr: number;
  abstract readonly config: Record<string, number | boolean>;
  protected state = new Map<string, ParamState>();

  constructor(lr: number) {
    if (!(lr >= 0)) throw new ConfigError(`optimizer lr: must be >= 0, got ${lr}`);
    this.lr = lr;
  }

  protected slot(ps: ParamState, name: string, like: tf.Tensor): tf.Variable {
    let v = ps.slots[name];
    if (!v) {
      v = tf.variable(tf.zerosLike(like), false);
      ps.slots[name] = v;
    }
    return v;
  }

  protected paramState(key: string): ParamState {
    let ps = this.state.get(key);
    if (!ps) {
      ps = { step: 0, slots: {} };
      this.state.set(key, ps);
    }
    return ps;
  }

  applyGradients(params: Param[], grads: (tf.Tensor | null | undefined)[]): void {
    if (params.length !== grads.length) {
      throw new ConfigError(
        `${this.name}.applyGradients: ${params.length} params but ${grads.length} grads`,
      );
    }
    tf.tidy(() => {
      for (let i = 0; i < params.length; i++) {
        const g = grads[i];
        if (!g) continue;
        const ps = this.paramState(params[i].key);
        ps.step += 1;
        this.update(params[i].variable, g, ps);
      }
    });
  }

  /** Update one parameter in place (inside a tidy). */
  protected abstract update(p: tf.Variable, g: tf.Tensor, ps: ParamState): void;

  getState(): OptimizerState {
    const params: OptimizerState["params"] = {};
    for (const [key, ps] of this.state) {
      const slots: Record<string, SlotState> = {};
      for (const [name, v] of Object.entries(ps.slots)) {
        slots[name] = { shape: v.shape.slice(), data: Float32Array.from(v.dataSync()) };
      }
      params[key] = { step: ps.step, slots };
    }
    return { name: this.name, config: { ...this.config }, lr: this.lr, params };
  }

  setState(state: OptimizerState): void {
    if (state.name !== this.name) {
      throw new ConfigError(
        `optimizer state: saved by "${state.name}", restoring into "${this.name}"`,
      );
    }
    this.dispose();
    this.lr = state.lr;
    for (const [key, saved] of Object.entries(state.params)) {
      const slots: Record<string, tf.Variable> = {};
      for (const [name, s] of Object.entries(saved.slots)) {
        slots[name] = tf.variable(tf.tensor(s.data, s.shape, "float32"), false);
      }
      this.state.set(key, { step: saved.step, slots });
    }
  }

  dispose(): void {
    for (const ps of this.state.values()) for (const v of Object.values(ps.slots)) v.dispose();
    this.state.clear();
  }
}

/** Options for {@link adam} and {@link adamW}. */
export interface AdamArgs {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** First-moment decay β1 (default 0.9). */
  beta1?: number;
  /** Second-moment decay β2 (default 0.999). */
  beta2?: number;
  /** Denominator epsilon (default 1e-8). */
  eps?: number;
  /**
   * Weight decay. For Adam: L2 added to the gradient (`g += wd·p`, PyTorch
   * `Adam(weight_decay)`, default 0). For AdamW: decoupled, `p -= lr·wd·p`
   * before the Adam step (PyTorch `AdamW`, default 0.01).
   */
  weightDecay?: number;
}

/** Adam / AdamW with PyTorch's update rule (bias-corrected, eps outside the sqrt). */
export class Adam extends BaseOptimizer {
  readonly name: string;
  readonly config: Record<string, number | boolean>;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;
  private readonly decoupled: boolean;

  constructor(args: AdamArgs = {}, decoupled = false) {
    super(args.lr ?? 1e-3);
    this.beta1 = args.beta1 ?? 0.9;
    this.beta2 = args.beta2 ?? 0.999;
    this.eps = args.eps ?? 1e-8;
    this.weightDecay = args.weightDecay ?? (decoupled ? 0.01 : 0);
    this.decoupled = decoupled;
    this.name = decoupled ? "adamw" : "adam";
    for (const [k, v] of [["beta1", this.beta1], ["beta2", this.beta2]] as const) {
      if (!(v >= 0 && v < 1)) {
        throw new ConfigError(`${this.name} ${k}: must be in [0, 1), got ${v}`);
      }
    }
    this.config = {
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      weightDecay: this.weightDecay,
    };
  }

  protected update(p: tf.Variable, g: tf.Tensor, ps: ParamState): void {
    const lr = this.lr, wd = this.weightDecay;
    let param: tf.Tensor = p;
    if (wd !== 0 && this.decoupled) param = p.mul(1 - lr * wd);
    else if (wd !== 0) g = g.add(p.mul(wd));
    const m = this.slot(ps, "m", p), v = this.slot(ps, "v", p);
    const mNew = m.mul(this.beta1).add(g.mul(1 - this.beta1));
    const vNew = v.mul(this.beta2).add(g.square().mul(1 - this.beta2));
    m.assign(mNew);
    v.assign(vNew);
    const bc1 = 1 - Math.pow(this.beta1, ps.step);
    const bc2 = 1 - Math.pow(this.beta2, ps.step);
    const denom = vNew.sqrt().div(Math.sqrt(bc2)).add(this.eps);
    p.assign(param.sub(mNew.div(denom).mul(lr / bc1)));
  }
}

/** Adam (PyTorch `torch.optim.Adam`). */
export function adam(args: AdamArgs = {}): Adam {
  return new Adam(args, false);
}

/** AdamW (PyTorch `torch.optim.AdamW`): decoupled weight decay, default 0.01. */
export function adamW(args: AdamArgs = {}): Adam {
  return new Adam(args, true);
}

/** Options for {@link sgd}. */
export interface SGDArgs {
  /** Learning rate (default 0.01). */
  lr?: number;
  /** Momentum factor (default 0: plain SGD). */
  momentum?: number;
  /** Dampening of the momentum (default 0). */
  dampening?: number;
  /** L2 weight decay added to the gradient (default 0). */
  weightDecay?: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
}

/** SGD with momentum, PyTorch semantics (`buf = g` on the first step). */
export class SGD extends BaseOptimizer {
  readonly name = "sgd";
  readonly config: Record<string, number | boolean>;
  private readonly momentum: number;
  private readonly dampening: number;
  private readonly weightDecay: number;
  private readonly nesterov: boolean;

  constructor(args: SGDArgs = {}) {
    super(args.lr ?? 0.01);
    this.momentum = args.momentum ?? 0;
    this.dampening = args.dampening ?? 0;
    this.weightDecay = args.weightDecay ?? 0;
    this.nesterov = args.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new ConfigError("sgd nesterov: requires momentum > 0 and dampening 0");
    }
    this.config = {
      momentum: this.momentum,
      dampening: this.dampening,
      weightDecay: this.weightDecay,
      nesterov: this.nesterov,
    };
  }

  protected update(p: tf.Variable, g: tf.Tensor, ps: ParamState): void {
    if (this.weightDecay !== 0) g = g.add(p.mul(this.weightDecay));
    if (this.momentum !== 0) {
      const first = !ps.slots["momentum"];
      const buf = this.slot(ps, "momentum", p);
      const bNew = first ? g : buf.mul(this.momentum).add(g.mul(1 - this.dampening));
      buf.assign(bNew);
      g = this.nesterov ? g.add(bNew.mul(this.momentum)) : bNew;
    }
    p.assign(p.sub(g.mul(this.lr)));
  }
}

/** SGD (PyTorch `torch.optim.SGD`). */
export function sgd(args: SGDArgs = {}): SGD {
  return new SGD(args);
}

/** A plain-data optimiser description, e.g. from an experiment spec. */
export type OptimizerSpec =
  | ({ name: "adam" } & AdamArgs)
  | ({ name: "adamw" } & AdamArgs)
  | ({ name: "sgd" } & SGDArgs);

/** Build an optimiser from a {@link OptimizerSpec}. */
export function makeOptimizer(spec: OptimizerSpec): Optimizer {
  switch (spec.name) {
    case "adam":
      return adam(spec);
    case "adamw":
      return adamW(spec);
    case "sgd":
      return sgd(spec);
    default:
      throw new ConfigError(
        `optimizer name: unknown "${(spec as { name: string }).name}" (adam, adamw, sgd)`,
      );
  }
}
