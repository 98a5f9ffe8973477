/**
 * `fit` on several cores: trains a `tf.LayersModel` through a
 * {@link DataParallelTrainer} (lib/backend/parallel.ts). Each worker rebuilds
 * the model from its serialised topology (`model.toJSON()`, our custom layers
 * registered by importing lib/models) and the caller's weights, computes the
 * gradient of its shard with fit's loss, and applies the same fused optimizer
 * step (the PyTorch-semantics optimisers of optimisers.ts, as `torch-*`
 * kinds). The caller's model and optimiser are kept as the place where the
 * loop reads weights and state: {@link FitWorkers.pull} copies them back
 * before validation, checkpoints, early stopping and at the end, and
 * {@link FitWorkers.push} sends them to the workers (start, resume).
 *
 * Used by `fit` when `workers` is set; not needed directly.
 *
 * @example
 * ```ts
 * const res = await fit(model, data, { epochs: 5, workers: 2, channelsLast: true });
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  DataParallelTrainer,
  type FlatOptimizerState,
  type ParallelModel,
  type ParallelOptimizerSpec,
  type StepContext,
} from "../backend/parallel.ts";
import type { BackendPath } from "../backend/select.ts";
import { ConfigError } from "../errors.ts";
import { weightEntries, type WeightEntry } from "./freeze.ts";
import { weightedCrossEntropy } from "./losses.ts";
import type { Optimizer, OptimizerState } from "./optimisers.ts";
import { withSeededMathRandom } from "./random.ts";

/**
 * A loss that can be sent to workers: `(await import(module))[export](args)`
 * must return the loss function `(output, labels) => tf.Scalar`.
 */
export interface LossSpec {
  /** Absolute module URL, e.g. `new URL("./my_loss.ts", import.meta.url).href`. */
  module: string;
  /** Name of the exported factory. Default `"default"`. */
  export?: string;
  /** Structured-clonable argument of the factory. Default undefined. */
  args?: unknown;
}

type LossFn = (output: tf.Tensor | tf.Tensor[], labels: tf.Tensor) => tf.Scalar;

/** Import a {@link LossSpec} and build its loss function. */
export async function loadLoss(spec: LossSpec): Promise<LossFn> {
  let mod: Record<string, unknown>;
  try {
    mod = await import(spec.module);
  } catch (e) {
    throw new ConfigError(`fit loss: cannot import ${spec.module} (${(e as Error).message})`);
  }
  const name = spec.export ?? "default";
  const factory = mod[name];
  if (typeof factory !== "function") {
    throw new ConfigError(`fit loss: ${spec.module} export '${name}' is not a function`);
  }
  const fn = await (factory as (a: unknown) => LossFn | Promise<LossFn>)(spec.args);
  if (typeof fn !== "function") {
    throw new ConfigError(`fit loss: ${spec.module} '${name}' did not return a loss function`);
  }
  return fn;
}

/** Arguments of the worker factory {@link fitReplica} (structured-clonable). */
export interface FitReplicaArgs {
  /** `model.toJSON(null, false)`: the serialised topology. */
  topology: object;
  /** Values of `model.weights`, in order. */
  weights: Float32Array[];
  /** Per `model.weights` entry: trained by the optimiser (else averaged state). */
  trainable: boolean[];
  /** Custom loss; default the class-weighted cross-entropy below. */
  loss?: LossSpec;
  /** Class weights of the default loss. */
  classWeights?: number[];
  /** The default loss takes logits (true) or probabilities. */
  fromLogits: boolean;
  /** Transpose `[n, channels, length]` inputs to `[n, length, channels]`. */
  channelsLast: boolean;
  /** Modules imported before the model is rebuilt (custom layers to register). */
  imports: string[];
}

/**
 * Worker factory: rebuild the caller's model and fit's loss. Imports
 * lib/models (our custom layers) and `args.imports` first.
 */
export async function fitReplica(args: FitReplicaArgs): Promise<ParallelModel> {
  await import("../models/mod.ts");
  for (const m of args.imports) await import(m);
  const model = await tf.models.modelFromJSON(
    args.topology as unknown as tf.io.ModelJSON["modelTopology"] as never,
  );
  const entries = weightEntries(model);
  if (entries.length !== args.weights.length) {
    throw new ConfigError(
      `fit workers: the rebuilt model has ${entries.length} weights, the caller's ${args.weights.length}`,
    );
  }
  entries.forEach((e, i) => {
    if (e.variable.size !== args.weights[i].length) {
      throw new ConfigError(
        `fit workers: weight ${i} ("${e.name}") has ${e.variable.size} values in the rebuilt ` +
          `model, ${args.weights[i].length} in the caller's`,
      );
    }
    tf.tidy(() => e.variable.assign(tf.tensor(args.weights[i], e.shape, "float32")));
  });
  const custom = args.loss ? await loadLoss(args.loss) : null;
  const loss: LossFn = custom ??
    ((out, lab) =>
      weightedCrossEntropy(
        Array.isArray(out) ? out[0] : out,
        lab,
        args.classWeights,
        args.fromLogits,
      ));
  return {
    trainable: entries.filter((_, i) => args.trainable[i]).map((e) => e.variable),
    state: entries.filter((_, i) => !args.trainable[i]).map((e) => e.variable),
    loss: ([x], [y], ctx?: StepContext) => {
      const run = () => {
        const xin = args.channelsLast ? x.transpose([0, 2, 1]) : x;
        const out = model.apply(xin, { training: true }) as tf.Tensor | tf.Tensor[];
        return loss(out, y);
      };
      // dropout masks: seeded per step and worker (reproducible, resumable)
      return ctx?.seed === undefined
        ? run()
        : withSeededMathRandom((ctx.seed + 0x9e3779b9 * ctx.worker) >>> 0, run);
    },
    dispose: () => model.dispose(),
  };
}

/** The optimiser of optimisers.ts as a fused `torch-*` spec. */
export function optimizerSpecOf(opt: Optimizer): ParallelOptimizerSpec {
  const c = opt.config;
  const num = (k: string) => c[k] as number;
  switch (opt.name) {
    case "adam":
    case "adamw":
      return {
        kind: opt.name === "adam" ? "torch-adam" : "torch-adamw",
        learningRate: opt.lr,
        beta1: num("beta1"),
        beta2: num("beta2"),
        eps: num("eps"),
        weightDecay: num("weightDecay"),
      };
    case "sgd":
      return {
        kind: "torch-sgd",
        learningRate: opt.lr,
        momentum: num("momentum"),
        dampening: num("dampening"),
        weightDecay: num("weightDecay"),
        nesterov: c.nesterov as boolean,
      };
    default:
      throw new ConfigError(
        `fit workers: optimiser "${opt.name}" cannot run in workers (adam, adamw, sgd)`,
      );
  }
}

const SLOTS: Record<string, string[]> = {
  "torch-adam": ["m", "v"],
  "torch-adamw": ["m", "v"],
  "torch-sgd": ["momentum"],
};

/**
 * {@link OptimizerState} (keys `w<index in model.weights>`) → the flat state
 * of the trainable weights `params`, in order.
 */
export function toFlatState(
  os: OptimizerState,
  spec: ParallelOptimizerSpec,
  params: WeightEntry[],
): FlatOptimizerState {
  const total = params.reduce((a, e) => a + e.variable.size, 0);
  const names = spec.kind === "torch-sgd" && !spec.momentum ? [] : SLOTS[spec.kind] ?? [];
  const slots = Object.fromEntries(names.map((n) => [n, new Float32Array(total)]));
  const steps: number[] = [];
  let off = 0;
  for (const e of params) {
    const p = os.params[`w${e.index}`];
    steps.push(p?.step ?? 0);
    for (const n of names) {
      const s = p?.slots[n];
      if (s) slots[n].set(s.data, off);
    }
    off += e.variable.size;
  }
  return { kind: spec.kind, learningRate: os.lr, steps, slots, scalars: {} };
}

/** The inverse of {@link toFlatState}. */
export function fromFlatState(
  flat: FlatOptimizerState,
  opt: Optimizer,
  params: WeightEntry[],
): OptimizerState {
  const out: OptimizerState = {
    name: opt.name,
    config: { ...opt.config },
    lr: flat.learningRate,
    params: {},
  };
  let off = 0;
  params.forEach((e, k) => {
    const n = e.variable.size;
    if (flat.steps[k] > 0) {
      out.params[`w${e.index}`] = {
        step: flat.steps[k],
        slots: Object.fromEntries(
          Object.entries(flat.slots).map((
            [name, a],
          ) => [name, { shape: e.shape.slice(), data: a.slice(off, off + n) }]),
        ),
      };
    }
    off += n;
  });
  return out;
}

/** Arguments of {@link FitWorkers.start}. */
export interface FitWorkersArgs {
  /** Number of Web Workers (>= 1). */
  workers: number;
  /** The caller's optimiser (its kind, hyperparameters and state are mirrored). */
  optimizer: Optimizer;
  /** Custom loss, or undefined for the class-weighted cross-entropy. */
  loss?: LossSpec;
  /** Class weights of the default loss. */
  classWeights?: ArrayLike<number>;
  /** The default loss takes logits. */
  fromLogits: boolean;
  /** Transpose inputs to channels-last in the workers. */
  channelsLast: boolean;
  /** Backend paths each worker tries. Default `["blas", "wasm", "cpu"]`. */
  backend?: BackendPath[];
  /** Extra modules each worker imports before rebuilding the model. */
  imports?: string[];
}

/** The workers of one `fit` run (see the module documentation). */
export class FitWorkers {
  private lr = NaN;
  private mask: boolean[] | null = null;

  private constructor(
    private readonly trainer: DataParallelTrainer,
    private readonly entries: WeightEntry[],
    private readonly params: WeightEntry[],
    private readonly optimizer: Optimizer,
    private readonly spec: ParallelOptimizerSpec,
  ) {}

  /**
   * Start the workers with the caller's current weights and optimiser state.
   * `entries`: `weightEntries(model)`, whose `trainable` flags say which
   * weights the optimiser trains (the others are averaged state).
   */
  static async start(
    model: tf.LayersModel,
    entries: WeightEntry[],
    args: FitWorkersArgs,
  ): Promise<FitWorkers> {
    if (typeof (model as { toJSON?: unknown }).toJSON !== "function") {
      throw new ConfigError(
        "fit workers: needs a tf.LayersModel (its topology is sent to workers)",
      );
    }
    if (!(args.workers >= 1)) {
      throw new ConfigError(`fit workers: must be >= 1, got ${args.workers}`);
    }
    const spec = optimizerSpecOf(args.optimizer);
    const trainable = entries.map((e) => e.trainable);
    const params = entries.filter((e) => e.trainable);
    const factory: FitReplicaArgs = {
      topology: model.toJSON(null, false) as object,
      weights: entries.map((e) => (e.variable.dataSync() as Float32Array).slice()),
      trainable,
      loss: args.loss,
      classWeights: args.classWeights ? Array.from(args.classWeights) : undefined,
      fromLogits: args.fromLogits,
      channelsLast: args.channelsLast,
      imports: args.imports ?? [],
    };
    const trainer = await DataParallelTrainer.create({
      model: { module: import.meta.url, export: "fitReplica", args: factory },
      optimizer: spec,
      workers: args.workers,
      backend: args.backend,
      fallback: false,
    });
    const fw = new FitWorkers(trainer, entries, params, args.optimizer, spec);
    try {
      await fw.pushOptimizer();
    } catch (e) {
      await trainer.dispose();
      throw e;
    }
    return fw;
  }

  /** Backend summary of each worker. */
  get backends(): string[] {
    return this.trainer.backends;
  }

  /** Send the caller's weights and optimiser state to every worker (e.g. after a resume). */
  async push(): Promise<void> {
    const read = (es: WeightEntry[]) =>
      es.map((e) => (e.variable.dataSync() as Float32Array).slice());
    await this.trainer.setWeights({
      trainable: read(this.params),
      state: read(this.entries.filter((e) => !e.trainable)),
    });
    await this.pushOptimizer();
  }

  private async pushOptimizer(): Promise<void> {
    const os = this.optimizer.getState();
    await this.trainer.setOptimizerState(toFlatState(os, this.spec, this.params));
    this.lr = NaN;
  }

  /**
   * Copy worker 0's weights into the caller's model (when `weights`) and its
   * optimiser state into the caller's optimiser.
   */
  async pull(what: { weights: boolean; optimizer: boolean }): Promise<void> {
    if (what.weights) {
      const w = await this.trainer.getWeights(0);
      const state = this.entries.filter((e) => !e.trainable);
      tf.tidy(() => {
        this.params.forEach((e, i) => e.variable.assign(tf.tensor(w.trainable[i], e.shape)));
        state.forEach((e, i) => e.variable.assign(tf.tensor(w.state[i], e.shape)));
      });
    }
    if (what.optimizer) {
      const flat = await this.trainer.getOptimizerState();
      this.optimizer.setState(fromFlatState(flat, this.optimizer, this.params));
    }
  }

  /**
   * One step on a batch: learning rate `lr`, `active` the trained weights
   * (per trainable weight, in `model.weights` order; frozen ones false),
   * `seed` for dropout, `sampleWeights` the per-sample loss weights.
   * Returns the batch's mean loss.
   */
  async step(
    x: { data: Float32Array; shape: number[] },
    y: { data: Int32Array; shape: number[] },
    o: { lr: number; active: boolean[]; seed: number; sampleWeights?: Float32Array },
  ): Promise<number> {
    if (o.lr !== this.lr) {
      await this.trainer.setLearningRate(o.lr);
      this.lr = o.lr;
    }
    const all = o.active.every((a) => a);
    const same = all
      ? this.mask === null
      : this.mask !== null && o.active.every((a, i) => a === this.mask![i]);
    if (!same) {
      await this.trainer.setActive(all ? null : o.active);
      this.mask = all ? null : o.active.slice();
    }
    const r = await this.trainer.step([x], [y], { seed: o.seed, sampleWeights: o.sampleWeights });
    return r.loss;
  }

  /** Stop the workers. */
  async dispose(): Promise<void> {
    await this.trainer.dispose();
  }
}
