/**
 * Multi-task self-supervised pre-training (Yuan et al. 2024 / ssl-wearables
 * `mtl.py`): a harnet with four binary heads (arrow of time, scaling,
 * permutation, time warping), each batch's windows drawn with probability ∝
 * their standard deviation (`weightedSampler`), transformed by
 * `makeMultitaskBatch` (each task's transform applied with p = 0.5, then a
 * random axis swap + 3-D rotation per subject), and the equal-weight sum of
 * the four cross-entropies minimised with Adam.
 *
 * The loop checkpoints atomically at every epoch end (weights, batch-norm
 * statistics, Adam moments, history) and resumes from the last completed
 * epoch; every random choice of epoch `e`, step `s` derives from
 * `(seed, e, s)`, so a resumed run reproduces an uninterrupted one.
 *
 * @example
 * const model = buildYuanModel(spec, "mtl");
 * const res = await pretrainMultitask(model, pool, { epochs: 2, seed: 1, checkpointDir: "ck" });
 * res.history[0].valAcc.aot; // held-out accuracy of the arrow-of-time head
 * await saveWeights(model, "results/yuan/weights/mtl.bin");
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import type { Windows } from "../../data/types.ts";
import { CheckpointError, ConfigError } from "../../errors.ts";
import { harnet } from "../../models/harnet.ts";
import { loadTorchStateDict } from "../../models/pytorch.ts";
import { loadHarnetWeights, type LoadWeightsResult } from "../../models/weights.ts";
import type { HarnetHead } from "../../models/heads.ts";
import { makeMultitaskBatch, PRETEXT_TASKS, type PretextTask } from "../../pretext/multitask.ts";
import { weightedSampler } from "../../signal/sampling.ts";
import { readCheckpoint, type StoredTensor, writeCheckpoint } from "../../train/checkpoint.ts";
import { makeOptimizer, type OptimizerState } from "../../train/optimisers.ts";
import type { YuanSpec } from "./spec.ts";

/**
 * The experiment's network with `head` (`"mtl"` for pre-training, `"eva"`
 * for classification): the spec's harnet variant or custom stages, input
 * `[N, 3, windowSec * rateHz]`.
 */
export function buildYuanModel(
  spec: YuanSpec,
  head: HarnetHead,
  opts: { numClasses?: number; seed?: number } = {},
): tf.LayersModel {
  return harnet({
    variant: spec.model.variant,
    stages: spec.model.stages,
    inputSamples: spec.model.stages ? Math.round(spec.windowSec * spec.rateHz) : undefined,
    rateHz: spec.rateHz,
    head,
    numClasses: opts.numClasses,
    hiddenUnits: spec.model.hiddenUnits,
    seed: opts.seed ?? spec.seed,
  });
}

/**
 * Copy the encoder (`feature_extractor.*` layers, including batch-norm
 * statistics) from `src` to the same-named layers of `dst`.
 *
 * @returns the layer names copied
 * @throws ConfigError when `dst` lacks a layer or a shape differs.
 */
export function copyEncoderWeights(src: tf.LayersModel, dst: tf.LayersModel): string[] {
  const copied: string[] = [];
  for (const layer of src.layers) {
    if (!layer.name.startsWith("feature_extractor") || layer.weights.length === 0) continue;
    let target: tf.layers.Layer;
    try {
      target = dst.getLayer(layer.name);
    } catch {
      throw new ConfigError(`copyEncoderWeights: destination has no layer "${layer.name}"`);
    }
    const w = layer.getWeights();
    const shapes = target.getWeights().map((t) => t.shape.join("x"));
    if (w.map((t) => t.shape.join("x")).join() !== shapes.join()) {
      throw new ConfigError(`copyEncoderWeights: layer "${layer.name}" shapes differ`);
    }
    target.setWeights(w);
    copied.push(layer.name);
  }
  if (copied.length === 0) {
    throw new ConfigError("copyEncoderWeights: source has no encoder layers");
  }
  return copied;
}

/**
 * The experiment's MTL network initialised from a PyTorch checkpoint (the
 * released ssl-wearables harnet weights, e.g. `mtl_best.mdl`, with the
 * `paper` spec's harnet10): encoder weights must all be present; heads the
 * checkpoint lacks keep their initialisation (listed in `missing`).
 *
 * @throws CheckpointError when encoder weights are missing or shapes differ.
 */
export async function loadTorchPretrained(
  spec: YuanSpec,
  path: string,
): Promise<{ model: tf.LayersModel; result: LoadWeightsResult }> {
  const model = buildYuanModel(spec, "mtl");
  const result = loadHarnetWeights(model, await loadTorchStateDict(path), {
    file: path,
    strict: false,
  });
  const encMissing = result.missing.filter((k) => k.startsWith("feature_extractor"));
  if (encMissing.length > 0) {
    model.dispose();
    throw new CheckpointError(
      path,
      `${encMissing.length} encoder weights missing (e.g. ${
        encMissing[0]
      }); is it a ${spec.model.variant} checkpoint?`,
    );
  }
  return { model, result };
}

/** Save all weights of `model` (incl. batch-norm statistics) atomically to `path`. */
export async function saveWeights(
  model: tf.LayersModel,
  path: string,
  meta: Record<string, unknown> = {},
): Promise<void> {
  const tensors: Record<string, StoredTensor> = {};
  const names: string[] = [];
  model.weights.forEach((w, i) => {
    const t = w.read();
    tensors[`w/${i}`] = { shape: t.shape.slice(), data: t.dataSync() as Float32Array };
    names.push(w.originalName);
  });
  await writeCheckpoint(path, { meta: { ...meta, names, model: model.name }, tensors });
}

/**
 * Load weights written by {@link saveWeights} into a model of the same
 * architecture; returns the stored metadata, or null when `path` is absent.
 *
 * @throws CheckpointError on a count or shape mismatch.
 */
export async function loadWeights(
  model: tf.LayersModel,
  path: string,
): Promise<Record<string, unknown> | null> {
  const ck = await readCheckpoint(path);
  if (!ck) return null;
  const names = ck.meta.names as string[];
  if (!Array.isArray(names) || names.length !== model.weights.length) {
    throw new CheckpointError(
      path,
      `holds ${names?.length} weights, model has ${model.weights.length}`,
    );
  }
  const values = model.weights.map((w, i) => {
    const t = ck.tensors[`w/${i}`];
    if (!t || t.shape.join() !== w.shape.join()) {
      throw new CheckpointError(
        path,
        `weight ${i} ("${
          names[i]
        }"): shape [${t?.shape}] vs model [${w.shape}] ("${w.originalName}")`,
      );
    }
    return tf.tensor(t.data, t.shape, "float32");
  });
  model.setWeights(values);
  values.forEach((v) => v.dispose());
  return ck.meta;
}

/** Arguments of {@link pretrainMultitask}. */
export interface PretrainArgs {
  /** Epochs (passes of `windowsPerEpoch` draws). */
  epochs: number;
  /** Draws per epoch (default: the number of training windows). */
  windowsPerEpoch?: number | null;
  /** Windows per optimiser step (default 64). */
  batchSize?: number;
  /** Adam learning rate (default 1e-4, ssl-wearables). */
  lr?: number;
  /** `"std"` (default) draws windows ∝ their std; `"uniform"` draws uniformly. */
  weighting?: "std" | "uniform";
  /** Pretext tasks (default all four). */
  tasks?: readonly PretextTask[];
  /** Held-out windows for validation loss / per-task accuracy (fixed transforms, no augmentation). */
  validation?: Windows;
  /** Seed of sampling, transforms and augmentation. */
  seed: number;
  /** Folder for `pretrain.ckpt`; resumes from it when present. */
  checkpointDir?: string;
  /** Resume from the checkpoint (default true). */
  resume?: boolean;
  /** Progress messages. */
  log?: (msg: string) => void;
  /** Called after each epoch (e.g. to write the curve). */
  onEpochEnd?: (row: PretrainEpoch, history: PretrainEpoch[]) => void | Promise<void>;
}

/** One epoch of the pre-training curve. */
export interface PretrainEpoch {
  /** 1-based epoch. */
  epoch: number;
  /** Mean training loss (sum of the task cross-entropies / number of tasks). */
  trainLoss: number;
  /** Training accuracy per task. */
  trainAcc: Record<string, number>;
  /** Validation loss (NaN without validation). */
  valLoss: number;
  /** Validation accuracy per task (empty without validation). */
  valAcc: Record<string, number>;
  /** Wall-clock seconds of the epoch. */
  seconds: number;
}

/** What {@link pretrainMultitask} returns. */
export interface PretrainResult {
  /** The curve. */
  history: PretrainEpoch[];
  /** Optimiser steps in total. */
  steps: number;
  /** Epoch resumed from (0 for a fresh run). */
  resumedFromEpoch: number;
}

/** Mix the seed, epoch and step into one 31-bit seed. */
function mixSeed(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  return h & 0x7fffffff;
}

function mtlLoss(outs: tf.Tensor[], labels: tf.Tensor[]): tf.Scalar {
  let total = tf.scalar(0);
  outs.forEach((o, k) => {
    const l = tf.losses.softmaxCrossEntropy(tf.oneHot(labels[k], 2), o);
    total = total.add(l);
  });
  return total.div(outs.length) as tf.Scalar;
}

/**
 * Evaluate the MTL heads on `windows` with transforms drawn from `seed`
 * (no orientation augmentation): mean loss and per-task accuracy.
 */
export function evaluateMultitask(
  model: tf.LayersModel,
  windows: Windows,
  opts: { seed: number; tasks?: readonly PretextTask[]; batchSize?: number },
): { loss: number; acc: Record<string, number> } {
  const tasks = [...(opts.tasks ?? PRETEXT_TASKS)];
  const bs = opts.batchSize ?? 128;
  const correct = new Float64Array(tasks.length);
  let lossSum = 0;
  for (let s = 0; s < windows.n; s += bs) {
    const idx = Array.from({ length: Math.min(bs, windows.n - s) }, (_, i) => s + i);
    const b = makeMultitaskBatch(windows, idx, {
      tasks,
      augment: false,
      seed: mixSeed(opts.seed, s),
    });
    tf.tidy(() => {
      const x = tf.tensor3d(b.x, [b.n, b.channels, b.length]);
      const outs = model.apply(x, { training: false }) as tf.Tensor[];
      const sel = selectHeads(outs, tasks);
      const labs = tasks.map((t) => tf.tensor1d(b.labels[t], "int32"));
      lossSum += mtlLoss(sel, labs).dataSync()[0] * b.n;
      sel.forEach((o, k) => {
        correct[k] += o.argMax(-1).toInt().equal(labs[k]).sum().dataSync()[0];
      });
    });
  }
  const acc: Record<string, number> = {};
  tasks.forEach((t, k) => (acc[t] = correct[k] / windows.n));
  return { loss: lossSum / windows.n, acc };
}

function selectHeads(outs: tf.Tensor[], tasks: readonly PretextTask[]): tf.Tensor[] {
  if (!Array.isArray(outs) || outs.length !== PRETEXT_TASKS.length) {
    throw new ConfigError('pretrainMultitask: the model needs the four MTL heads (head: "mtl")');
  }
  return tasks.map((t) => outs[PRETEXT_TASKS.indexOf(t)]);
}

/**
 * Pre-train `model` (built with `head: "mtl"`) on unlabelled `windows`. See
 * the module docs.
 *
 * @throws ConfigError on bad arguments; CheckpointError on a checkpoint that
 *   does not fit the model.
 */
export async function pretrainMultitask(
  model: tf.LayersModel,
  windows: Windows,
  args: PretrainArgs,
): Promise<PretrainResult> {
  if (!(args.epochs >= 1)) {
    throw new ConfigError(`pretrain epochs: must be >= 1, got ${args.epochs}`);
  }
  if (windows.n < 1) throw new ConfigError("pretrain windows: empty");
  const log = args.log ?? (() => {});
  const tasks = [...(args.tasks ?? PRETEXT_TASKS)];
  const batchSize = args.batchSize ?? 64;
  const perEpoch = args.windowsPerEpoch ?? windows.n;
  const optimizer = makeOptimizer({ name: "adam", lr: args.lr ?? 1e-4 });
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const params = vars.map((v, i) => ({ key: `w${i}`, variable: v }));
  const history: PretrainEpoch[] = [];
  let startEpoch = 0;
  let steps = 0;
  const ckptPath = args.checkpointDir ? join(args.checkpointDir, "pretrain.ckpt") : null;

  if (ckptPath && (args.resume ?? true)) {
    const ck = await readCheckpoint(ckptPath);
    if (ck) {
      const m = ck.meta;
      if (m.seed !== args.seed || m.perEpoch !== perEpoch || m.batchSize !== batchSize) {
        throw new CheckpointError(
          ckptPath,
          `written for seed ${m.seed}, ${m.perEpoch} windows/epoch, batch ${m.batchSize}; this run has ${args.seed}, ${perEpoch}, ${batchSize}`,
        );
      }
      const n = model.weights.length;
      if ((m.nWeights as number) !== n) {
        throw new CheckpointError(ckptPath, `holds ${m.nWeights} weights, model has ${n}`);
      }
      const vals = model.weights.map((w, i) => {
        const t = ck.tensors[`w/${i}`];
        if (!t || t.shape.join() !== w.shape.join()) {
          throw new CheckpointError(ckptPath, `weight ${i} shape [${t?.shape}] vs [${w.shape}]`);
        }
        return tf.tensor(t.data, t.shape, "float32");
      });
      model.setWeights(vals);
      vals.forEach((v) => v.dispose());
      const os = m.optimizer as OptimizerState;
      for (const [key, p] of Object.entries(os.params)) {
        for (const [slot, s] of Object.entries(p.slots)) {
          s.data = ck.tensors[`opt/${key}/${slot}`].data;
        }
      }
      optimizer.setState(os);
      history.push(...(m.history as PretrainEpoch[]));
      startEpoch = m.epoch as number;
      steps = m.steps as number;
      log(`pretrain: resumed after epoch ${startEpoch} (${steps} steps)`);
    }
  }

  const saveCkpt = async (epoch: number) => {
    if (!ckptPath) return;
    const tensors: Record<string, StoredTensor> = {};
    model.weights.forEach((w, i) => {
      const t = w.read();
      tensors[`w/${i}`] = { shape: t.shape.slice(), data: t.dataSync() as Float32Array };
    });
    const os = optimizer.getState();
    for (const [key, p] of Object.entries(os.params)) {
      for (const [slot, s] of Object.entries(p.slots)) {
        tensors[`opt/${key}/${slot}`] = { shape: s.shape, data: s.data };
        s.data = new Float32Array(0);
      }
    }
    await writeCheckpoint(ckptPath, {
      meta: {
        epoch,
        steps,
        history,
        seed: args.seed,
        perEpoch,
        batchSize,
        nWeights: model.weights.length,
        optimizer: os,
      },
      tensors,
    });
  };

  for (let epoch = startEpoch; epoch < args.epochs; epoch++) {
    const t0 = performance.now();
    let lossSum = 0, count = 0;
    const correct = new Float64Array(tasks.length);
    let step = 0;
    for (
      const idx of weightedSampler(windows, {
        seed: mixSeed(args.seed, epoch, 1),
        weighting: args.weighting ?? "std",
        batchSize,
        numSamples: perEpoch,
        replace: perEpoch > windows.n,
      })
    ) {
      const b = makeMultitaskBatch(windows, idx, {
        tasks,
        seed: mixSeed(args.seed, epoch, step, 2),
      });
      const loss = tf.tidy(() => {
        const x = tf.tensor3d(b.x, [b.n, b.channels, b.length]);
        const labs = tasks.map((t) => tf.tensor1d(b.labels[t], "int32"));
        let outsKept: tf.Tensor[] = [];
        const { value, grads } = tf.variableGrads(() => {
          const sel = selectHeads(model.apply(x, { training: true }) as tf.Tensor[], tasks);
          outsKept = sel.map((o) => tf.keep(o.argMax(-1).toInt()));
          return mtlLoss(sel, labs);
        }, vars);
        optimizer.applyGradients(params, vars.map((v) => grads[v.name]));
        outsKept.forEach((p, k) => {
          correct[k] += p.equal(labs[k]).sum().dataSync()[0];
          p.dispose();
        });
        return value.dataSync()[0];
      });
      if (!Number.isFinite(loss)) {
        throw new ConfigError(`pretrain: loss is ${loss} at epoch ${epoch + 1} step ${step}`);
      }
      lossSum += loss * b.n;
      count += b.n;
      step++;
      steps++;
    }
    const trainAcc: Record<string, number> = {};
    tasks.forEach((t, k) => (trainAcc[t] = correct[k] / count));
    let valLoss = NaN, valAcc: Record<string, number> = {};
    if (args.validation && args.validation.n > 0) {
      const r = evaluateMultitask(model, args.validation, { seed: mixSeed(args.seed, 7), tasks });
      valLoss = r.loss;
      valAcc = r.acc;
    }
    const row: PretrainEpoch = {
      epoch: epoch + 1,
      trainLoss: lossSum / count,
      trainAcc,
      valLoss,
      valAcc,
      seconds: (performance.now() - t0) / 1000,
    };
    history.push(row);
    await saveCkpt(epoch + 1);
    log(
      `pretrain epoch ${epoch + 1}/${args.epochs}: loss ${row.trainLoss.toFixed(4)} val ${
        valLoss.toFixed(4)
      } acc ${tasks.map((t) => `${t} ${(valAcc[t] ?? trainAcc[t]).toFixed(2)}`).join(" ")} (${
        row.seconds.toFixed(0)
      } s)`,
    );
    await args.onEpochEnd?.(row, history);
  }
  optimizer.dispose();
  return { history, steps, resumedFromEpoch: startEpoch };
}
