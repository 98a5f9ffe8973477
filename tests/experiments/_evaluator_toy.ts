/**
 * Synthetic windows and a tiny conv-encoder recipe for the evaluator tests
 * (not a test file): a separable 3-class problem over several subjects and
 * trials, a two-block conv encoder whose weights are named by prefix
 * (`enc_block1_*`, `enc_block2_*`; head `head`), and a recipe that records
 * what the evaluator does with it (weights at every training step, the
 * final weights, how often features / head / classifier were built).
 */
import * as tf from "@tensorflow/tfjs";
import type { Windows } from "../../lib/data/types.ts";
import type { DownstreamModel, SettingSpec } from "../../lib/experiments/evaluator.ts";
import { WeightedLayerSum } from "../../lib/models/layers.ts";
import { rng } from "../../lib/random.ts";
import {
  readWeights,
  selectorFn,
  weightEntries,
  type WeightSelector,
} from "../../lib/train/freeze.ts";
import { fit } from "../../lib/train/loop.ts";

/** Samples per window. */
export const LENGTH = 32;
/** Class names of the toy problem. */
export const CLASSES = ["rest", "walk", "run"];

/** Options of {@link toyWindows}. */
export interface ToyWindowsOptions {
  /** Subjects `s1…sN` (default 6). */
  subjects?: number;
  /** Windows per class per subject (default 10). */
  perClass?: number;
  /** Trials per subject (`Windows.source` `t0…`; default 2). */
  trials?: number;
  /** Seed of the noise (default 1). */
  seed?: number;
}

/**
 * `[n, 3, 32]` windows at 10 Hz whose class sets the mean of one channel
 * and the frequency of a sine on all three, with a per-subject gain and
 * offset and noise: separable, but not trivially. Windows of a subject are
 * dealt round-robin into its trials, so every trial holds every class.
 */
export function toyWindows(opts: ToyWindowsOptions = {}): Windows {
  const S = opts.subjects ?? 6, K = opts.perClass ?? 10, T = opts.trials ?? 2;
  const r = rng(opts.seed ?? 1);
  const n = S * CLASSES.length * K;
  const x = new Float32Array(n * 3 * LENGTH);
  const y = new Int32Array(n);
  const subject: string[] = [], source: string[] = [];
  let i = 0;
  for (let s = 0; s < S; s++) {
    const gain = 0.8 + 0.4 * r.next(), offset = 0.2 * (r.next() - 0.5);
    for (let k = 0; k < K; k++) {
      for (let c = 0; c < CLASSES.length; c++) {
        y[i] = c;
        subject.push(`s${s + 1}`);
        source.push(`t${(k * CLASSES.length + c) % T}`);
        const phase = 2 * Math.PI * r.next();
        for (let ch = 0; ch < 3; ch++) {
          for (let t = 0; t < LENGTH; t++) {
            x[(i * 3 + ch) * LENGTH + t] = offset + (ch === c ? 1 : 0) +
              gain * 0.6 * Math.sin((c + 1) * 0.5 * t + phase) + 0.3 * r.normal();
          }
        }
        i++;
      }
    }
  }
  return {
    x,
    n,
    channels: 3,
    length: LENGTH,
    y,
    classes: [...CLASSES],
    subject,
    rateHz: 10,
    source,
  };
}

/** Calls `onTrainingStep` on every forward pass in training mode; identity otherwise. */
class StepProbe extends tf.layers.Layer {
  /** @nocollapse */
  static className = "EvaluatorTestStepProbe";
  constructor(private readonly onTrainingStep: () => void) {
    super({ name: "probe" });
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return s;
  }
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (kwargs?.training === true) this.onTrainingStep();
    return x.clone();
  }
}

/** Options of {@link toyNet}. */
export interface ToyNetOptions {
  /** Seed of the weights. */
  seed: number;
  /** Units of the head (default 3). */
  numClasses?: number;
  /** Name of the head layer (default `"head"`). */
  headName?: string;
  /** Classify a `WeightedLayerSum` (`layer_sum`) of both blocks' pooled outputs. */
  layerSum?: boolean;
  /** Called on every training-mode forward pass. */
  onTrainingStep?: () => void;
}

/**
 * Two conv blocks (`enc_block1_conv` 8×k5 + max-pool, `enc_block2_conv`
 * 8×k3), global average pooling (`enc_gap`, the 8 frozen features) and a
 * dense head, on channels-last `[32, 3]` inputs.
 */
export function toyNet(o: ToyNetOptions): tf.LayersModel {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: o.seed * 10 + k });
  const input = tf.input({ shape: [LENGTH, 3] });
  const c1 = tf.layers.conv1d({
    filters: 8,
    kernelSize: 5,
    activation: "relu",
    name: "enc_block1_conv",
    kernelInitializer: init(1),
  }).apply(input) as tf.SymbolicTensor;
  const p1 = tf.layers.maxPooling1d({ poolSize: 2, name: "enc_block1_pool" })
    .apply(c1) as tf.SymbolicTensor;
  const c2 = tf.layers.conv1d({
    filters: 8,
    kernelSize: 3,
    activation: "relu",
    name: "enc_block2_conv",
    kernelInitializer: init(2),
  }).apply(p1) as tf.SymbolicTensor;
  let h = tf.layers.globalAveragePooling1d({ name: "enc_gap" }).apply(c2) as tf.SymbolicTensor;
  if (o.layerSum) {
    const g1 = tf.layers.globalAveragePooling1d({ name: "enc_block1_gap" })
      .apply(p1) as tf.SymbolicTensor;
    h = new WeightedLayerSum({ name: "layer_sum" }).apply([g1, h]) as tf.SymbolicTensor;
  }
  if (o.onTrainingStep) h = new StepProbe(o.onTrainingStep).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({
    units: o.numClasses ?? 3,
    name: o.headName ?? "head",
    kernelInitializer: init(3),
  }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** Weight values by name (`originalName`). */
export type Snapshot = Map<string, Float32Array>;

/** Copies of all weights of a model, by name. */
export function snapshot(model: tf.LayersModel): Snapshot {
  const entries = weightEntries(model);
  const values = readWeights(entries);
  return new Map(entries.map((e, i) => [e.name, values[i]]));
}

/** The selected weights of a snapshot, concatenated in name order (throws when none match). */
export function pick(s: Snapshot, sel: WeightSelector): Float32Array {
  const f = selectorFn(sel);
  const names = [...s.keys()].filter(f).sort();
  if (names.length === 0) throw new Error(`pick: no weight matches ${String(sel)}`);
  const out: number[] = [];
  for (const n of names) out.push(...s.get(n)!);
  return Float32Array.from(out);
}

/** Largest absolute difference of two equally long arrays. */
export function maxDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`maxDiff: lengths ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** What happened to one classifier the evaluator built. */
export interface Trace {
  /** The setting it was built for. */
  setting: SettingSpec;
  /** Its seed. */
  seed: number;
  /** Weights right after it was built (before any transfer). */
  built: Snapshot;
  /** Weights seen by each training-mode forward pass, in order (step 0 first). */
  steps: Snapshot[];
  /** Weights when the evaluator disposed it (after training and restore-best). */
  final: Snapshot | null;
}

/** Call counts of the recipe's functions. */
export interface RecipeCounts {
  classifier: number;
  features: number;
  head: number;
}

/** A recording recipe: its {@link DownstreamModel}, traces and call counts. */
export interface ToyRecipe {
  model: DownstreamModel;
  traces: Trace[];
  counts: RecipeCounts;
}

/** Encoder weights of the toy net. */
export const ENCODER = "enc";
/** The first k blocks of the toy net. */
export const blockPrefixes = (k: number): string[] =>
  Array.from({ length: k }, (_, i) => `enc_block${i + 1}`);

/**
 * The toy recipe: classifier = {@link toyNet} (with a `layer_sum` when the
 * setting asks for `layerSum`), encoder `"enc"`, blocks `enc_block1…k`,
 * frozen features = `enc_gap` of the pre-trained model, a dense head.
 * With `trace` every classifier records its weights at every training step.
 */
export function toyRecipe(opts: { trace?: boolean } = {}): ToyRecipe {
  const traces: Trace[] = [];
  const counts: RecipeCounts = { classifier: 0, features: 0, head: 0 };
  const model: DownstreamModel = {
    classifier: ({ numClasses, seed, setting }) => {
      counts.classifier++;
      let m: tf.LayersModel | null = null;
      const trace: Trace | null = opts.trace
        ? { setting, seed, built: new Map(), steps: [], final: null }
        : null;
      m = toyNet({
        seed,
        numClasses,
        layerSum: setting.layerSum === true,
        onTrainingStep: trace ? () => trace.steps.push(snapshot(m!)) : undefined,
      });
      if (trace) {
        trace.built = snapshot(m);
        traces.push(trace);
        const dispose = m.dispose.bind(m);
        m.dispose = () => {
          trace.final = snapshot(m!);
          return dispose();
        };
      }
      return m;
    },
    encoderWeights: ENCODER,
    blockWeights: (k) => blockPrefixes(k),
    features: (pretrained, w) => {
      counts.features++;
      const enc = tf.model({
        inputs: pretrained.inputs,
        outputs: pretrained.getLayer("enc_gap").output,
      });
      const out = tf.tidy(() => {
        const x = tf.tensor3d(w.x, [w.n, w.channels, w.length]).transpose([0, 2, 1]);
        return enc.predict(x) as tf.Tensor;
      });
      const f = { x: out.dataSync() as Float32Array, dim: out.shape[1] as number };
      out.dispose();
      return f;
    },
    head: (dim, numClasses, seed) => {
      counts.head++;
      const input = tf.input({ shape: [dim] });
      const out = tf.layers.dense({
        units: numClasses,
        name: "frozen_head",
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }).apply(input) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: out });
    },
    channelsLast: true,
  };
  return { model, traces, counts };
}

/**
 * A "pre-trained" toy net (head `pre_head`): trained for a few epochs on
 * other windows of the same problem (seed `seed`), so its encoder differs
 * from every fresh one and its features separate the classes.
 */
export async function pretrainedNet(seed: number, epochs = 6): Promise<tf.LayersModel> {
  const w = toyWindows({ subjects: 3, perClass: 12, seed: seed + 7 });
  const m = toyNet({ seed, headName: "pre_head" });
  await fit(m, { x: w.x, shape: [w.n, 3, LENGTH], y: w.y }, {
    epochs,
    batchSize: 16,
    optimizer: { name: "adam", lr: 1e-2 },
    seed,
    progress: false,
    channelsLast: true,
    workers: 0,
  });
  return m;
}
