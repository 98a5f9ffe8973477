/**
 * Optimisers with PyTorch semantics over `tf.Variable`s: {@link Adam},
 * {@link AdamW} (decoupled weight decay) and {@link SGD} (momentum,
 * dampening, Nesterov). The learning rate is a plain field set before each
 * step (so any schedule can drive it) and the full state (moments, per-
 * parameter step counts) serialises to plain arrays for checkpoints.
 *
 * The update itself is {@link TorchUpdate} of lib/backend/parallel.ts: fused
 * loops over Float32Arrays (moments are kept as Float32Arrays, each value
 * computed in float64 and rounded once), the same code, defaults and checks
 * as the `torch-*` kinds the data-parallel workers run, so a step in
 * workers equals a step here.
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
import {
  type ParallelOptimizerSpec,
  type ResolvedTorchSpec,
  TorchUpdate,
} from "../backend/parallel.ts";
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
  /**
   * Restore a state from {@link Optimizer.getState}; disposes current buffers.
   * Refuses (ConfigError) a state whose slots are not this optimiser's, e.g.
   * one saved without `amsgrad` restored into an AMSGrad optimiser.
   */
  setState(state: OptimizerState): void;
  /** Free all buffers. */
  dispose(): void;
}

interface ParamState {
  step: number;
  /** The parameter's shape (of each slot, in saved states). */
  shape: number[];
  /** Slot buffers (moments) by name, laid out like the variable. */
  slots: Record<string, Float32Array>;
}

/**
 * The shared machinery: per-parameter step counts and Float32Array slots,
 * updated by the PyTorch rules of lib/backend/parallel.ts
 * ({@link TorchUpdate}, the same code the data-parallel workers run).
 */
abstract class BaseOptimizer implements Optimizer {
  abstract readonly name: string;
  lr: number;
  readonly config: Record<string, number | boolean>;
  protected state = new Map<string, ParamState>();
  private readonly rule: TorchUpdate;

  /** `spec`: the optimiser as a `torch-*` spec; `who` names it in errors. */
  constructor(spec: ParallelOptimizerSpec, who: string) {
    this.rule = new TorchUpdate(spec, who);
    this.lr = this.rule.spec.learningRate;
    const { kind: _k, learningRate: _lr, ...config } = this.rule.spec;
    this.config = config;
  }

  /** The hyperparameters with their defaults filled in, as a `torch-*` spec. */
  get spec(): ResolvedTorchSpec {
    return { ...this.rule.spec, learningRate: this.lr };
  }

  /** Slot names this optimiser keeps per parameter (`m`, `v`, `vmax` with AMSGrad, or `momentum`). */
  get slotNames(): readonly string[] {
    return this.rule.slotNames;
  }

  applyGradients(params: Param[], grads: (tf.Tensor | null | undefined)[]): void {
    if (params.length !== grads.length) {
      throw new ConfigError(
        `${this.name}.applyGradients: ${params.length} params but ${grads.length} grads`,
      );
    }
    if (!(this.lr >= 0)) throw new ConfigError(`${this.name} lr: must be >= 0, got ${this.lr}`);
    for (let i = 0; i < params.length; i++) {
      const g = grads[i];
      if (!g) continue;
      const v = params[i].variable;
      if (g.size !== v.size) {
        throw new ConfigError(
          `${this.name}.applyGradients: gradient ${i} has ${g.size} values, ` +
            `parameter "${params[i].key}" ${v.size}`,
        );
      }
      let ps = this.state.get(params[i].key);
      if (!ps) {
        ps = { step: 0, shape: v.shape.slice(), slots: {} };
        this.state.set(params[i].key, ps);
      }
      for (const name of this.rule.slotNames) {
        const s = (ps.slots[name] ??= new Float32Array(v.size));
        if (s.length !== v.size) {
          throw new ConfigError(
            `${this.name} state: slot ${params[i].key}/${name} has ${s.length} values, ` +
              `the parameter ${v.size}`,
          );
        }
      }
      ps.step += 1;
      // a copy: some backends (cpu) hand out the tensor's own storage
      const p = (v.dataSync() as Float32Array).slice();
      this.rule.apply(ps.step, this.lr, p, g.dataSync() as Float32Array, ps.slots);
      tf.tidy(() => {
        v.assign(tf.tensor(p, v.shape, "float32"));
      });
    }
  }

  getState(): OptimizerState {
    const params: OptimizerState["params"] = {};
    for (const [key, ps] of this.state) {
      const slots: Record<string, SlotState> = {};
      for (const [name, a] of Object.entries(ps.slots)) {
        slots[name] = { shape: ps.shape.slice(), data: a.slice() };
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
    const want = this.rule.slotNames;
    for (const [key, saved] of Object.entries(state.params)) {
      const have = Object.keys(saved.slots);
      if (have.length !== want.length || !want.every((n) => n in saved.slots)) {
        throw new ConfigError(
          `optimizer state: parameter "${key}" has slots [${have}], ${this.name} keeps ` +
            `[${want}] (saved with other settings, e.g. amsgrad or momentum)`,
        );
      }
    }
    this.dispose();
    this.lr = state.lr;
    for (const [key, saved] of Object.entries(state.params)) {
      const slots: Record<string, Float32Array> = {};
      let shape: number[] = [];
      for (const [name, s] of Object.entries(saved.slots)) {
        slots[name] = s.data.slice();
        shape = s.shape;
      }
      this.state.set(key, { step: saved.step, shape: shape.slice(), slots });
    }
  }

  dispose(): void {
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
  /**
   * AMSGrad (default false): PyTorch `Adam(amsgrad=True)` / `AdamW(amsgrad=True)`;
   * ssl-wearables pre-trains with it. A third slot, `vmax`, keeps the running
   * maximum of the second moment and replaces it in the denominator:
   * `m = β1·m + (1−β1)·g`, `v = β2·v + (1−β2)·g²`, `vmax = max(vmax, v)`,
   * `p −= lr/(1−β1^t) · m / (sqrt(vmax)/sqrt(1−β2^t) + eps)` (AdamW: the
   * decoupled decay first; Adam: the L2 term added to `g`).
   */
  amsgrad?: boolean;
}

/** Adam / AdamW with PyTorch's update rule (bias-corrected, eps outside the sqrt; optionally AMSGrad). */
export class Adam extends BaseOptimizer {
  readonly name: string;

  constructor(args: AdamArgs = {}, decoupled = false) {
    const name = decoupled ? "adamw" : "adam";
    super({
      kind: decoupled ? "torch-adamw" : "torch-adam",
      learningRate: args.lr ?? 1e-3,
      beta1: args.beta1,
      beta2: args.beta2,
      eps: args.eps,
      weightDecay: args.weightDecay,
      amsgrad: args.amsgrad,
    }, name);
    this.name = name;
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

  constructor(args: SGDArgs = {}) {
    super({
      kind: "torch-sgd",
      learningRate: args.lr ?? 0.01,
      momentum: args.momentum,
      dampening: args.dampening,
      weightDecay: args.weightDecay,
      nesterov: args.nesterov,
    }, "sgd");
  }
}

/**
 * The `torch-*` spec (defaults filled in, current lr) of an optimiser of
 * this module, e.g. to run it in data-parallel workers; null for any other
 * {@link Optimizer} implementation.
 */
export function torchSpecOf(opt: Optimizer): ResolvedTorchSpec | null {
  return opt instanceof BaseOptimizer ? opt.spec : null;
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
