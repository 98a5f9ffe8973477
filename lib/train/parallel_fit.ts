/**
 * `fit` on several cores: trains a `tf.LayersModel` (any number of inputs,
 * outputs and targets; any loss of losses.ts or a loss module) through a
 * {@link DataParallelTrainer} (lib/backend/parallel.ts). Each worker rebuilds
 * the model from its serialised topology (`model.toJSON()`, our custom layers
 * registered by importing lib/models) and the caller's weights, computes the
 * gradient of its shard with fit's loss, and applies the same fused optimizer
 * step (the optimisers of optimisers.ts run as `torch-*` kinds: the same
 * update code). The workers start from the caller's weights and optimiser
 * state; the caller's model is where the loop reads weights:
 * {@link FitWorkers.pull} copies them back before validation, checkpoints,
 * early stopping and at the end, and returns the optimiser state for
 * checkpoints (the caller's optimiser receives it at the end).
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
  type HostTensor,
  importFactory,
  type ModelFactorySpec,
  optimizerSlotNames,
  type ParallelModel,
  type ResolvedTorchSpec,
  type StepContext,
} from "../backend/parallel.ts";
import type { BackendPath } from "../backend/select.ts";
import { ConfigError } from "../errors.ts";
import { readWeights, weightEntries, type WeightEntry, writeWeights } from "./freeze.ts";
import { type LossFn, lossFromSpec } from "./losses.ts";
import { type FrozenBatchNormMode, setFrozenBatchNormMode } from "../models/batchnorm.ts";
import { defaultLoss, forward } from "./forward.ts";
import { type Optimizer, type OptimizerState, torchSpecOf } from "./optimisers.ts";
import { withSeededMathRandom } from "./random.ts";

/**
 * A loss that can be sent to workers: `(await import(module))[export](args)`
 * must return a loss function `(targets, outputs, context) => tf.Scalar`
 * (lib/train/losses.ts `LossFn`).
 */
export type LossSpec = ModelFactorySpec;

/** A loss workers can rebuild: a module factory, or `{ kind, args }` of losses.ts. */
export type WorkerLoss = LossSpec | { kind: string; args?: unknown };

/**
 * Import a {@link LossSpec} and build its loss function.
 *
 * @throws ConfigError `fit loss: …` when the module cannot be imported, the
 *   export is not a function or it does not return one
 */
export async function loadLoss(spec: LossSpec): Promise<LossFn> {
  let fn: unknown;
  try {
    fn = await (await importFactory(spec, "loss factory"))(spec.args);
  } catch (e) {
    throw new ConfigError(`fit loss: ${(e as Error).message}`);
  }
  if (typeof fn !== "function") {
    throw new ConfigError(
      `fit loss: ${spec.module} '${spec.export ?? "default"}' did not return a loss function`,
    );
  }
  return fn as LossFn;
}

function workerLoss(spec: WorkerLoss): Promise<LossFn> {
  if ("kind" in spec && typeof spec.kind === "string") {
    return Promise.resolve(lossFromSpec(spec as never));
  }
  return loadLoss(spec as LossSpec);
}

/** Arguments of the worker factory {@link fitReplica} (structured-clonable). */
export interface FitReplicaArgs {
  /** `model.toJSON(null, false)`: the serialised topology. */
  topology: object;
  /** Values of `model.weights`, in order. */
  weights: Float32Array[];
  /**
   * Names of `model.weights` (`WeightEntry.name`), in order: the rebuilt
   * model's weights are matched by name, since `model.weights` lists
   * trainable weights first and a caller's frozen weights (trainable =
   * false, which the topology does not carry) would otherwise be misplaced.
   */
  names?: string[];
  /** Per `model.weights` entry: trained by the optimiser (else averaged state). */
  trainable: boolean[];
  /** Custom loss; default the class-weighted cross-entropy below. */
  loss?: WorkerLoss;
  /** Class weights of the default loss. */
  classWeights?: number[];
  /** The default loss takes logits (true) or probabilities. */
  fromLogits: boolean;
  /** Transpose `[n, channels, length]` inputs to `[n, length, channels]`. */
  channelsLast: boolean;
  /** Modules imported before the model is rebuilt (custom layers to register). */
  imports: string[];
  /**
   * Frozen batch-norm layers (fit's `frozenBatchNorm`, default
   * `"batch-stats"`); the replica learns which weights are frozen from the
   * step's active mask.
   */
  frozenBatchNorm?: FrozenBatchNormMode;
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
  let entries = weightEntries(model);
  if (entries.length !== args.weights.length) {
    throw new ConfigError(
      `fit workers: the rebuilt model has ${entries.length} weights, the caller's ${args.weights.length}`,
    );
  }
  if (args.names) {
    const byName = new Map(entries.map((e) => [e.name, e]));
    entries = args.names.map((n) => {
      const e = byName.get(n);
      if (!e) throw new ConfigError(`fit workers: the rebuilt model has no weight "${n}"`);
      return e;
    });
    // the caller's frozen flags (not in the topology)
    entries.forEach((e, i) => e.setTrainable(args.trainable[i]));
  }
  writeWeights(entries, args.weights);
  const trainable = entries.filter((_, i) => args.trainable[i]);
  if (args.frozenBatchNorm === "inference") setFrozenBatchNormMode(model, "inference");
  const loss: LossFn = args.loss
    ? await workerLoss(args.loss)
    : defaultLoss(args.classWeights, args.fromLogits);
  return {
    trainable: trainable.map((e) => e.variable),
    state: entries.filter((_, i) => !args.trainable[i]).map((e) => e.variable),
    // the trainable flags follow fit's freeze mask, as on the caller's model
    setActive: (mask) => trainable.forEach((e, i) => e.setTrainable(mask ? mask[i] : true)),
    loss: (xs, ys, ctx?: StepContext) => {
      const run = () => {
        const out = forward(model, xs, { training: true, channelsLast: args.channelsLast });
        return loss(ys, out, { report: ctx?.report, seed: ctx?.seed });
      };
      // dropout masks: seeded per step and worker (reproducible, resumable)
      return ctx?.seed === undefined
        ? run()
        : withSeededMathRandom((ctx.seed + 0x9e3779b9 * ctx.worker) >>> 0, run);
    },
    dispose: () => model.dispose(),
  };
}

/**
 * The optimiser of optimisers.ts as its fused `torch-*` spec.
 *
 * @throws ConfigError for an optimiser of another implementation
 */
export function optimizerSpecOf(opt: Optimizer): ResolvedTorchSpec {
  const spec = torchSpecOf(opt);
  if (!spec) {
    throw new ConfigError(
      `fit workers: optimiser "${opt.name}" cannot run in workers (adam, adamw, sgd of optimisers.ts)`,
    );
  }
  return spec;
}

/**
 * {@link OptimizerState} (keys `w<index in model.weights>`) → the flat state
 * of the trainable weights `params`, in order.
 */
export function toFlatState(
  os: OptimizerState,
  spec: ResolvedTorchSpec,
  params: WeightEntry[],
): FlatOptimizerState {
  const total = params.reduce((a, e) => a + e.variable.size, 0);
  const names = optimizerSlotNames(spec);
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
  loss?: WorkerLoss;
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
  /** Batch norm over the whole batch (default true; `DataParallelTrainerArgs.syncBatchNorm`). */
  syncBatchNorm?: boolean;
  /** Frozen batch-norm layers (fit's `frozenBatchNorm`; default `"batch-stats"`). */
  frozenBatchNorm?: FrozenBatchNormMode;
}

/** The workers of one `fit` run (see the module documentation). */
export class FitWorkers {
  private constructor(
    private readonly trainer: DataParallelTrainer,
    private readonly entries: WeightEntry[],
    private readonly params: WeightEntry[],
    private readonly optimizer: Optimizer,
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
    const spec = optimizerSpecOf(args.optimizer);
    const params = entries.filter((e) => e.trainable);
    const factory: FitReplicaArgs = {
      topology: model.toJSON(null, false) as object,
      weights: readWeights(entries),
      names: entries.map((e) => e.name),
      trainable: entries.map((e) => e.trainable),
      loss: args.loss,
      classWeights: args.classWeights ? Array.from(args.classWeights) : undefined,
      fromLogits: args.fromLogits,
      channelsLast: args.channelsLast,
      imports: args.imports ?? [],
      frozenBatchNorm: args.frozenBatchNorm,
    };
    const trainer = await DataParallelTrainer.create({
      model: { module: import.meta.url, export: "fitReplica", args: factory },
      optimizer: spec,
      workers: args.workers,
      backend: args.backend,
      fallback: false,
      broadcastWeights: false, // every worker starts from factory.weights
      syncBatchNorm: args.syncBatchNorm,
    });
    try {
      const os = args.optimizer.getState();
      await trainer.setOptimizerState(toFlatState(os, spec, params));
    } catch (e) {
      await trainer.dispose();
      throw e;
    }
    return new FitWorkers(trainer, entries, params, args.optimizer);
  }

  /**
   * Copy worker 0's weights into the caller's model (when `weights`), and
   * return the optimiser state (when `optimizer`; else null), in the format
   * of the caller's optimiser, e.g. to checkpoint it or to `setState` it.
   */
  async pull(what: { weights: boolean; optimizer: boolean }): Promise<OptimizerState | null> {
    if (what.weights) {
      const w = await this.trainer.getWeights(0);
      writeWeights(this.params, w.trainable);
      writeWeights(this.entries.filter((e) => !e.trainable), w.state);
    }
    if (!what.optimizer) return null;
    const flat = await this.trainer.getOptimizerState();
    return fromFlatState(flat, this.optimizer, this.params);
  }

  /**
   * One step on a batch (inputs `xs`, targets `ys`): learning rate `lr`, `active` the trained weights
   * (per trainable weight, in `model.weights` order; frozen ones false;
   * null: all), `seed` for dropout, `sampleWeights` the per-sample loss
   * weights. Returns the batch's mean loss.
   */
  async step(
    xs: HostTensor[],
    ys: HostTensor[],
    o: { lr: number; active: boolean[] | null; seed: number; sampleWeights?: Float32Array },
  ): Promise<{ loss: number; metrics: Record<string, number> }> {
    const r = await this.trainer.step(xs, ys, {
      seed: o.seed,
      sampleWeights: o.sampleWeights,
      learningRate: o.lr,
      active: o.active,
    });
    return { loss: r.loss, metrics: r.metrics ?? {} };
  }

  /** Stop the workers. */
  async dispose(): Promise<void> {
    await this.trainer.dispose();
  }
}
