/**
 * The encoders of "Don't freeze: Finetune encoders for better Self-Supervised
 * HAR" (Fortes Rey et al. 2023; ../shared/specs/dont-freeze.md §2) and the
 * pretext models built on them (§3), as serialisable `tf.LayersModel`s on
 * channels-last windows `[batch, 100, 3]` (2 s at 50 Hz, accelerometer x, y, z
 * in g, §1.1; pass `channelsLast: true` to `fit` / the evaluator for
 * `Windows` data, the pretext batch sources of lib/pretext emit this layout).
 *
 * | encoder | spec | layers | representation |
 * |---|---|---|---|
 * | {@link tpnEncoder} ("TPN", multi-task and SimCLR) | §2.2 | Conv1D 32×24, 64×16, 96×8 (valid, ReLU, L2 1e-4, Dropout 0.1) → global max pool (96) → **Dense(256)+ReLU** | 256 |
 * | {@link cpcEncoder} (CPC [4]) | §2.1 | 3 × [reflect pad 1 → Conv1D k3 no bias → ReLU → Dropout 0.2], 32/64/128 → 2-layer GRU 256 (inter-layer dropout 0.2) → last step | 256 |
 * | {@link autoencoderEncoder} / {@link autoencoder} | §2.3 [D] | 3 × [Conv1D k3 same → BN → ReLU → MaxPool 2], 32/64/128 → Flatten (1536) → **Dense(256)+ReLU**; decoder mirrored | 256 |
 *
 * All three output 256-d: "we add a linear layer with relu activation to
 * encoders … that have a smaller representation size" [P]; the added layer
 * sits before the pretext heads and transfers with the encoder (§2 [D];
 * `addedDense: false` drops it, §11.2).
 *
 * Layer naming, for freezing and transfer (lib/train/freeze.ts): every
 * encoder layer's name starts with {@link ENCODER_PREFIX} (`"encoder_"`), the
 * 256-d layer is {@link REPRESENTATION_LAYER} (`"encoder_representation"`),
 * and pretext heads are `mtl_…`, `simclr_…`, `cpc_…` or `decoder_…`. So
 * {@link dontFreezeEncoderWeights}`()` selects the encoder in a pretext model
 * and in any classifier built from the same encoder builder, and
 * `transferWeights(pretext, encoder, { select: dontFreezeEncoderWeights() })`
 * copies it by name.
 *
 * Pretext models: {@link multitask8Model} (TPN + eight `Dense(256, relu) →
 * Dense(1)` heads, one logit each, §3.1), {@link simclrModel} (two views
 * through one TPN and the projection head 256 → 128 → 50, §3.4),
 * {@link cpcModel} (CPC encoder + `W_k` predictions of K future steps from
 * `c_t`, §2.1), {@link autoencoder} (§3.3). Their batch sources and losses are
 * in lib/pretext (`multitask8Source`, `simclrSource`, `cpcSource`,
 * `reconstructionSource`).
 *
 * Initialisation: the Keras references (TPN, heads, SimCLR) and the [D]
 * autoencoder use Keras' defaults (Glorot-uniform kernels, zero biases); the
 * PyTorch CPC reference uses PyTorch's (convolutions and `W_k` U(±1/√fan_in),
 * GRU U(±1/√H)); every random tensor is seeded per layer from `seed`.
 *
 * @example
 * ```ts
 * const enc = tpnEncoder();                       // [null, 100, 3] → [null, 256]
 * const mtl = multitask8Model({ seed: 1 });       // 8 logit outputs [null, 1]
 * const cpc = cpcModel({ steps: 28 });            // inputs [x, start] → [pred, future]
 * freeze(classifier, dontFreezeEncoderWeights()); // the frozen setting
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "../backend/quiet_tfjs.ts";
import { ConfigError } from "../errors.ts";
import { MULTITASK8_TASKS, type Multitask8Task } from "../pretext/multitask8.ts";
import { CPC_DEFAULT_STEPS } from "../pretext/cpc.ts";
import { batchNormalization } from "./batchnorm.ts";
import { harnetDense, harnetKernelInit, layerSeed } from "./heads.ts";
import {
  LastTimeStep,
  ReflectPad1D,
  TimePrefix,
  TimeStepGather,
  TorchGRU,
  UpSampling1D,
  ZeroPadding1D,
} from "./dontfreeze_layers.ts";

export * from "./dontfreeze_layers.ts";

type Sym = tf.SymbolicTensor;

/** Prefix of every encoder layer name (the weights frozen / transferred). */
export const ENCODER_PREFIX = "encoder_";
/** Name of the layer whose output is the representation (256-d by default). */
export const REPRESENTATION_LAYER = "encoder_representation";
/** Size of every encoder's representation, §2 [P]. */
export const DONT_FREEZE_REPRESENTATION_UNITS = 256;

/**
 * The encoder's weights in any model built here (pretext or classifier):
 * the prefix {@link ENCODER_PREFIX}, a `WeightSelector` for lib/train/freeze.ts
 * (`freeze`, `transferWeights`) and the evaluator's `encoderWeights`.
 *
 * @example
 * transferWeights(pretext, tpnEncoder(), { select: dontFreezeEncoderWeights() });
 */
export function dontFreezeEncoderWeights(): string {
  return ENCODER_PREFIX;
}

function posInt(where: string, what: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) {
    throw new ConfigError(`${where} ${what}: must be a positive integer, got ${v}`);
  }
  return v as number;
}

function rate(where: string, what: string, v: number): number {
  if (!(v >= 0 && v < 1)) throw new ConfigError(`${where} ${what}: must be in [0, 1), got ${v}`);
  return v;
}

function intList(where: string, what: string, v: readonly number[], n?: number): number[] {
  if (!Array.isArray(v) || v.length === 0 || (n !== undefined && v.length !== n)) {
    throw new ConfigError(
      `${where} ${what}: expected ${n ?? "a non-empty list of"} positive integers, got [${v}]`,
    );
  }
  return v.map((x, i) => posInt(where, `${what}[${i}]`, x));
}

const glorot = (seed: number, name: string) =>
  tf.initializers.glorotUniform({ seed: layerSeed(seed, name) });

function dropout(x: Sym, r: number, name: string): Sym {
  return r > 0 ? tf.layers.dropout({ rate: r, name }).apply(x) as Sym : x;
}

// ======================================================================= TPN

/** Arguments of {@link tpnEncoder} (§2.2). */
export interface TpnEncoderArgs {
  /** Samples per window (default 100: 2 s at 50 Hz, §1.1). */
  inputSamples?: number;
  /** Input channels (default 3: accelerometer x, y, z). */
  channels?: number;
  /** Filters of the three convolutions (default [32, 64, 96], §2.2). */
  filters?: readonly number[];
  /** Kernel sizes in samples, one per convolution, 'valid' padding (default [24, 16, 8], §2.2). */
  kernelSizes?: readonly number[];
  /** Dropout probability after each convolution (default 0.1, §2.2). */
  dropout?: number;
  /**
   * L2 factor λ of the convolution kernels' regulariser `λ·Σw²` (default 1e-4,
   * §2.2; 0: none). It is a tfjs layer regulariser: tfjs' `model.fit` and
   * `model.calculateLosses()` see it, lib/train's `fit` does not add layer
   * penalties (use the optimiser's `weightDecay`, which §4's search varies).
   */
  l2?: number;
  /**
   * Append the paper's `Dense(representationUnits) + ReLU` after the global
   * max pooling (default true, §2 [P]/[D]); false: the 96-d pooled features are
   * the representation (§11.2's other reading, the layer added downstream).
   */
  addedDense?: boolean;
  /** Units of the added dense layer (default 256, §2 [P]). */
  representationUnits?: number;
  /** Seed of the weight initialisation (default 0). */
  seed?: number;
  /** Model name (default `"tpn_encoder"`). */
  name?: string;
}

/** {@link TpnEncoderArgs} with every default filled in and the derived sizes. */
export interface ResolvedTpnEncoderArgs
  extends Required<Omit<TpnEncoderArgs, "filters" | "kernelSizes">> {
  /** Filters per convolution. */
  filters: number[];
  /** Kernel sizes per convolution. */
  kernelSizes: number[];
  /** Length after each convolution (index 0 = input): 100 → 77 → 62 → 55. */
  lengths: number[];
  /** Size of the representation (256, or the last filter count without the added layer). */
  representationDim: number;
}

/** Validate {@link TpnEncoderArgs} and fill in the defaults (ConfigError naming the field). */
export function resolveTpnEncoderArgs(args: TpnEncoderArgs = {}): ResolvedTpnEncoderArgs {
  const w = "tpnEncoder";
  const inputSamples = posInt(w, "inputSamples", args.inputSamples ?? 100);
  const channels = posInt(w, "channels", args.channels ?? 3);
  const filters = intList(w, "filters", args.filters ?? [32, 64, 96]);
  const kernelSizes = intList(w, "kernelSizes", args.kernelSizes ?? [24, 16, 8], filters.length);
  const lengths = [inputSamples];
  for (const k of kernelSizes) {
    const l = lengths[lengths.length - 1] - k + 1;
    if (l < 1) {
      throw new ConfigError(
        `${w}: ${inputSamples} samples are too short for 'valid' kernels [${kernelSizes}]`,
      );
    }
    lengths.push(l);
  }
  const l2 = args.l2 ?? 1e-4;
  if (!(l2 >= 0)) throw new ConfigError(`${w} l2: must be >= 0, got ${l2}`);
  const addedDense = args.addedDense ?? true;
  const representationUnits = posInt(w, "representationUnits", args.representationUnits ?? 256);
  return {
    inputSamples,
    channels,
    filters,
    kernelSizes,
    dropout: rate(w, "dropout", args.dropout ?? 0.1),
    l2,
    addedDense,
    representationUnits,
    seed: args.seed ?? 0,
    name: args.name ?? "tpn_encoder",
    lengths,
    representationDim: addedDense ? representationUnits : filters[filters.length - 1],
  };
}

/**
 * The TPN layers (created once), as a function applying them: applied to two
 * inputs, the weights are shared (SimCLR's two views).
 */
function tpnTrunk(a: ResolvedTpnEncoderArgs): (x: Sym) => Sym {
  const layers: tf.layers.Layer[] = [];
  a.filters.forEach((f, i) => {
    const name = `${ENCODER_PREFIX}conv${i + 1}`;
    layers.push(tf.layers.conv1d({
      name,
      filters: f,
      kernelSize: a.kernelSizes[i],
      padding: "valid",
      activation: "relu",
      kernelInitializer: glorot(a.seed, name),
      kernelRegularizer: a.l2 > 0 ? tf.regularizers.l2({ l2: a.l2 }) : undefined,
    }));
    if (a.dropout > 0) {
      layers.push(tf.layers.dropout({ rate: a.dropout, name: `${ENCODER_PREFIX}dropout${i + 1}` }));
    }
  });
  layers.push(tf.layers.globalMaxPooling1d({
    name: a.addedDense ? `${ENCODER_PREFIX}pool` : REPRESENTATION_LAYER,
  }));
  if (a.addedDense) {
    layers.push(tf.layers.dense({
      name: REPRESENTATION_LAYER,
      units: a.representationUnits,
      activation: "relu",
      kernelInitializer: glorot(a.seed, REPRESENTATION_LAYER),
    }));
  }
  return (x) => layers.reduce((h, l) => l.apply(h) as Sym, x);
}

/**
 * The multi-task / SimCLR "TPN" encoder (Saeed et al.; SelfHAR's
 * `create_1d_conv_core_model`, Tang's `create_base_model`; §2.2) with the
 * paper's added `Dense(256) + ReLU`: `[batch, 100, 3]` → `[batch, 256]`. 109,248
 * parameters at the defaults (84,416 convolutional + 24,832 dense).
 *
 * @example
 * const enc = tpnEncoder({ seed: 3 });
 * (enc.predict(tf.zeros([8, 100, 3])) as tf.Tensor).shape; // [8, 256]
 */
export function tpnEncoder(args: TpnEncoderArgs = {}): tf.LayersModel {
  const a = resolveTpnEncoderArgs(args);
  const x = tf.input({ shape: [a.inputSamples, a.channels], name: "window" });
  return tf.model({ inputs: x, outputs: tpnTrunk(a)(x), name: a.name });
}

/** Arguments of {@link multitask8Model} (§3.1). */
export interface Multitask8ModelArgs {
  /** The TPN encoder (defaults of {@link TpnEncoderArgs}; its seed defaults to this seed). */
  encoder?: TpnEncoderArgs;
  /** Task heads, in output order (default all eight, {@link MULTITASK8_TASKS}). */
  tasks?: readonly Multitask8Task[];
  /** Hidden units of each head's `Dense(·, relu)` (default 256, SelfHAR `attach_multitask_transform_head`). */
  headUnits?: number;
  /** Seed of the weight initialisation (default 0). */
  seed?: number;
  /** Model name (default `"multitask8"`). */
  name?: string;
}

/**
 * Saeed et al.'s multi-task transformation recognition model (§3.1): the TPN
 * encoder, then per task `mtl_<task>_dense` (`Dense(256, relu)`) →
 * `mtl_<task>` (`Dense(1)`), one output `[batch, 1]` per task in `tasks`
 * order. The heads output **logits**: SelfHAR's `Dense(1, sigmoid)` + binary
 * cross-entropy is `multitask8Loss` (lib/pretext/multitask8.ts: sigmoid
 * cross-entropy from logits, summed over the heads). 66,049 parameters per head.
 *
 * @example
 * const m = multitask8Model({ seed: 1 });
 * m.outputs.length; // 8
 */
export function multitask8Model(args: Multitask8ModelArgs = {}): tf.LayersModel {
  const seed = args.seed ?? 0;
  const a = resolveTpnEncoderArgs({ seed, ...args.encoder });
  const tasks = [...(args.tasks ?? MULTITASK8_TASKS)];
  if (tasks.length === 0) throw new ConfigError("multitask8Model tasks: empty");
  for (const t of tasks) {
    if (!MULTITASK8_TASKS.includes(t)) {
      throw new ConfigError(
        `multitask8Model tasks: unknown task "${t}" (known: ${MULTITASK8_TASKS.join(", ")})`,
      );
    }
  }
  if (new Set(tasks).size !== tasks.length) {
    throw new ConfigError(`multitask8Model tasks: duplicates in [${tasks}]`);
  }
  const units = posInt("multitask8Model", "headUnits", args.headUnits ?? 256);
  const x = tf.input({ shape: [a.inputSamples, a.channels], name: "window" });
  const rep = tpnTrunk(a)(x);
  const outputs = tasks.map((t) => {
    const h = tf.layers.dense({
      name: `mtl_${t}_dense`,
      units,
      activation: "relu",
      kernelInitializer: glorot(seed, `mtl_${t}_dense`),
    }).apply(rep) as Sym;
    return tf.layers.dense({
      name: `mtl_${t}`,
      units: 1,
      kernelInitializer: glorot(seed, `mtl_${t}`),
    }).apply(h) as Sym;
  });
  return tf.model({ inputs: x, outputs, name: args.name ?? "multitask8" });
}

/** Arguments of {@link simclrModel} (§3.4). */
export interface SimclrModelArgs {
  /** The TPN encoder (defaults of {@link TpnEncoderArgs}; its seed defaults to this seed). */
  encoder?: TpnEncoderArgs;
  /**
   * Units of the projection head's dense layers, ReLU between them, the last
   * linear (default [256, 128, 50], Tang's `attach_simclr_head`, §3.4).
   */
  projectionUnits?: readonly number[];
  /** Seed of the weight initialisation (default 0). */
  seed?: number;
  /** Model name (default `"simclr"`). */
  name?: string;
}

/**
 * SimCLR (Tang et al.; §3.4): inputs `view_a`, `view_b` (`[batch, 100, 3]`,
 * two augmentations of the same windows), both through one TPN encoder and
 * one projection head `simclr_proj1` (Dense 256, ReLU) → `simclr_proj2` (Dense
 * 128, ReLU) → `simclr_proj3` (Dense 50) with shared weights; outputs the two
 * projections `[batch, 50]` (view a, view b) for NT-Xent (lib/pretext/simclr.ts
 * `simclrLoss`). Two inputs rather than one stacked batch, so fit's workers
 * split both views the same way.
 *
 * @example
 * const m = simclrModel();
 * const [za, zb] = m.predict([va, vb]) as tf.Tensor[]; // [n, 50] each
 */
export function simclrModel(args: SimclrModelArgs = {}): tf.LayersModel {
  const seed = args.seed ?? 0;
  const a = resolveTpnEncoderArgs({ seed, ...args.encoder });
  const units = intList("simclrModel", "projectionUnits", args.projectionUnits ?? [256, 128, 50]);
  const trunk = tpnTrunk(a);
  const head = units.map((u, i) =>
    tf.layers.dense({
      name: `simclr_proj${i + 1}`,
      units: u,
      activation: i < units.length - 1 ? "relu" : "linear",
      kernelInitializer: glorot(seed, `simclr_proj${i + 1}`),
    })
  );
  const project = (x: Sym) => head.reduce((h, l) => l.apply(h) as Sym, trunk(x));
  const va = tf.input({ shape: [a.inputSamples, a.channels], name: "view_a" });
  const vb = tf.input({ shape: [a.inputSamples, a.channels], name: "view_b" });
  return tf.model({
    inputs: [va, vb],
    outputs: [project(va), project(vb)],
    name: args.name ?? "simclr",
  });
}

// ======================================================================= CPC

/** The recurrent layer of {@link cpcEncoder}. */
export type CpcRecurrent = "torch-gru" | "tfjs-gru";

/** Arguments of {@link cpcEncoder} (§2.1). */
export interface CpcEncoderArgs {
  /** Samples per window (default 100: 2 s at 50 Hz, §1.1). */
  inputSamples?: number;
  /** Input channels (default 3). */
  channels?: number;
  /** Filters of the three conv blocks (default [32, 64, 128], §2.1); the last is z's size. */
  filters?: readonly number[];
  /** Kernel size in samples, odd (default 3, §2.1); reflect padding (k − 1)/2 keeps the length. */
  kernelSize?: number;
  /** Dropout probability after each conv block's ReLU (default 0.2, §2.1). */
  dropout?: number;
  /** GRU hidden units (default 256, §2.1): the representation size. */
  gruUnits?: number;
  /** Stacked GRU layers (default 2, §2.1). */
  gruLayers?: number;
  /** Dropout between GRU layers (PyTorch `nn.GRU(dropout=…)`; default 0.2, §2.1). */
  gruDropout?: number;
  /**
   * `"torch-gru"` (default): {@link TorchGRU}, the reference's `nn.GRU`
   * equations and parameter count; `"tfjs-gru"`: `tf.layers.gru` (Keras
   * `reset_after=False`, one bias) with sigmoid gates.
   */
  recurrent?: CpcRecurrent;
  /** Seed of the weight initialisation (default 0). */
  seed?: number;
  /** Model name (default `"cpc_encoder"`). */
  name?: string;
}

/** {@link CpcEncoderArgs} with every default filled in. */
export interface ResolvedCpcEncoderArgs extends Required<Omit<CpcEncoderArgs, "filters">> {
  /** Filters per conv block. */
  filters: number[];
}

/** Validate {@link CpcEncoderArgs} and fill in the defaults (ConfigError naming the field). */
export function resolveCpcEncoderArgs(args: CpcEncoderArgs = {}): ResolvedCpcEncoderArgs {
  const w = "cpcEncoder";
  const kernelSize = posInt(w, "kernelSize", args.kernelSize ?? 3);
  if (kernelSize % 2 !== 1) {
    throw new ConfigError(`${w} kernelSize: must be odd, got ${kernelSize}`);
  }
  const inputSamples = posInt(w, "inputSamples", args.inputSamples ?? 100);
  if (inputSamples <= (kernelSize - 1) / 2) {
    throw new ConfigError(
      `${w}: ${inputSamples} samples are too short to reflect-pad for kernel ${kernelSize}`,
    );
  }
  const recurrent = args.recurrent ?? "torch-gru";
  if (recurrent !== "torch-gru" && recurrent !== "tfjs-gru") {
    throw new ConfigError(`${w} recurrent: must be "torch-gru" or "tfjs-gru", got "${recurrent}"`);
  }
  return {
    inputSamples,
    channels: posInt(w, "channels", args.channels ?? 3),
    filters: intList(w, "filters", args.filters ?? [32, 64, 128]),
    kernelSize,
    dropout: rate(w, "dropout", args.dropout ?? 0.2),
    gruUnits: posInt(w, "gruUnits", args.gruUnits ?? 256),
    gruLayers: posInt(w, "gruLayers", args.gruLayers ?? 2),
    gruDropout: rate(w, "gruDropout", args.gruDropout ?? 0.2),
    recurrent,
    seed: args.seed ?? 0,
    name: args.name ?? "cpc_encoder",
  };
}

/**
 * The CPC encoder's layers on `x`: `z` (conv features per step, `[batch, T,
 * filters.at(-1)]`) and `recurrent`, applying the GRU stack (created once) to
 * a sequence of z.
 */
function cpcTrunk(a: ResolvedCpcEncoderArgs, x: Sym): { z: Sym; recurrent: (seq: Sym) => Sym } {
  const pad = (a.kernelSize - 1) / 2;
  let z = x;
  a.filters.forEach((f, i) => {
    const b = `${ENCODER_PREFIX}conv${i + 1}`;
    if (pad > 0) z = new ReflectPad1D({ name: `${b}_pad`, padding: pad }).apply(z) as Sym;
    z = tf.layers.conv1d({
      name: b,
      filters: f,
      kernelSize: a.kernelSize,
      padding: "valid",
      useBias: false,
      kernelInitializer: harnetKernelInit("torch", a.seed, b, f * a.kernelSize),
    }).apply(z) as Sym;
    z = tf.layers.reLU({ name: `${b}_relu` }).apply(z) as Sym;
    z = dropout(z, a.dropout, `${b}_dropout`);
  });
  const layers: tf.layers.Layer[] = [];
  for (let l = 1; l <= a.gruLayers; l++) {
    const name = `${ENCODER_PREFIX}gru${l}`;
    layers.push(
      a.recurrent === "torch-gru"
        ? new TorchGRU({
          name,
          units: a.gruUnits,
          returnSequences: true,
          seed: layerSeed(a.seed, name),
        })
        : tf.layers.gru({
          name,
          units: a.gruUnits,
          returnSequences: true,
          recurrentActivation: "sigmoid",
          kernelInitializer: glorot(a.seed, name),
          recurrentInitializer: tf.initializers.orthogonal({
            seed: layerSeed(a.seed, `${name}.r`),
          }),
        }),
    );
    if (l < a.gruLayers && a.gruDropout > 0) {
      layers.push(tf.layers.dropout({ rate: a.gruDropout, name: `${name}_dropout` }));
    }
  }
  return { z, recurrent: (seq) => layers.reduce((h, l) => l.apply(h) as Sym, seq) };
}

/**
 * The CPC encoder of Haresamudram et al. [4] (§2.1): three reflect-padded
 * Conv1D blocks (no bias, ReLU, Dropout 0.2; length kept) → 2-layer GRU 256 →
 * the last step's output, `[batch, 100, 3]` → `[batch, 256]` (the
 * reference classifier's `encoder[:, -1, :]`; no added dense layer needed).
 * 722,208 parameters at the defaults with `"torch-gru"` (31,008 conv +
 * 296,448 + 394,752 GRU).
 *
 * @example
 * const enc = cpcEncoder();
 * transferWeights(cpcPretext, enc, { select: dontFreezeEncoderWeights() });
 */
export function cpcEncoder(args: CpcEncoderArgs = {}): tf.LayersModel {
  const a = resolveCpcEncoderArgs(args);
  const x = tf.input({ shape: [a.inputSamples, a.channels], name: "window" });
  const { z, recurrent } = cpcTrunk(a, x);
  const rep = new LastTimeStep({ name: REPRESENTATION_LAYER }).apply(recurrent(z)) as Sym;
  return tf.model({ inputs: x, outputs: rep, name: a.name });
}

/** Arguments of {@link cpcModel}. */
export interface CpcModelArgs {
  /** The encoder (defaults of {@link CpcEncoderArgs}; its seed defaults to this seed). */
  encoder?: CpcEncoderArgs;
  /**
   * Future steps K predicted from `c_t` (default 28, the reference's
   * `num_steps_prediction`; §2.1 [D], §4 searches 4…28). Needs K < inputSamples.
   */
  steps?: number;
  /** Seed of the weight initialisation (default 0). */
  seed?: number;
  /** Model name (default `"cpc"`). */
  name?: string;
}

/**
 * The CPC pretext model (§2.1 steps 1–4): inputs `window` `[batch, T, 3]` and
 * `start` `[batch, 1]` (int32 time index t, `0 ≤ t ≤ T − K − 1`, the same for
 * the whole batch in the reference; lib/pretext/cpc.ts `cpcSource` draws it).
 * `z = enc(x)` `[batch, T, 128]`, `c = GRU(z[:, :t+1])` as the reference
 * ({@link TimePrefix}: up to the batch's latest start, so per-window starts
 * work too), `c_t` gathered at t,
 * `cpc_wk` (one `Dense(K·128)` = the K `Linear(256 → 128)` of the reference
 * side by side, PyTorch init) reshaped to the predictions `[batch, K, 128]`,
 * and the targets `z_{t+1..t+K}` `[batch, K, 128]`. Outputs `[predictions,
 * future]` for `infoNceLoss` (lib/train/losses.ts; `cpcLoss()`).
 *
 * @example
 * const m = cpcModel({ steps: 12 });
 * const [pred, fut] = m.apply([x, start]) as tf.Tensor[]; // [n, 12, 128] each
 */
export function cpcModel(args: CpcModelArgs = {}): tf.LayersModel {
  const seed = args.seed ?? 0;
  const a = resolveCpcEncoderArgs({ seed, ...args.encoder });
  const k = posInt("cpcModel", "steps", args.steps ?? CPC_DEFAULT_STEPS);
  if (k >= a.inputSamples) {
    throw new ConfigError(
      `cpcModel steps: ${k} future steps need more than ${k} samples, got ${a.inputSamples}`,
    );
  }
  const d = a.filters[a.filters.length - 1];
  const x = tf.input({ shape: [a.inputSamples, a.channels], name: "window" });
  const start = tf.input({ shape: [1], name: "start", dtype: "int32" });
  const { z, recurrent } = cpcTrunk(a, x);
  // the GRU on z[:, :t+1] only (causal: c_t is the same as on the whole window)
  const prefix = new TimePrefix({ name: "cpc_prefix" }).apply([z, start]) as Sym;
  const c = recurrent(prefix);
  const ct = new TimeStepGather({ name: "cpc_context", offsets: [0] }).apply([c, start]) as Sym;
  const flat = tf.layers.flatten({ name: "cpc_context_flat" }).apply(ct) as Sym;
  const wk = harnetDense("cpc_wk", k * d, seed, false, "torch").apply(flat) as Sym;
  const pred = tf.layers.reshape({ name: "cpc_predictions", targetShape: [k, d] }).apply(wk) as Sym;
  const future = new TimeStepGather({
    name: "cpc_future",
    offsets: Array.from({ length: k }, (_, i) => i + 1),
  }).apply([z, start]) as Sym;
  return tf.model({ inputs: [x, start], outputs: [pred, future], name: args.name ?? "cpc" });
}

// ======================================================================= autoencoder

/** Arguments of {@link autoencoder} / {@link autoencoderEncoder} (§2.3 [D]). */
export interface AutoencoderArgs {
  /** Samples per window (default 100). */
  inputSamples?: number;
  /** Input channels (default 3). */
  channels?: number;
  /** Filters of the encoder's conv blocks (default [32, 64, 128], §2.3 [D]); the decoder mirrors them. */
  filters?: readonly number[];
  /** Kernel size of every convolution, 'same' padding (default 3). */
  kernelSize?: number;
  /** Max-pooling window and stride after each encoder block (default 2; 'valid': 100 → 50 → 25 → 12). */
  poolSize?: number;
  /** Units of the representation `Dense + ReLU` after the flatten (default 256, §2 [P]). */
  representationUnits?: number;
  /** Batch-norm momentum of the moving statistics, tfjs convention (default 0.9 = PyTorch 0.1, [3]). */
  batchNormMomentum?: number;
  /** Batch-norm epsilon (default 1e-5, PyTorch's). */
  batchNormEpsilon?: number;
  /** Seed of the weight initialisation (default 0). */
  seed?: number;
  /** Model name (default `"autoencoder"`, or `"autoencoder_encoder"` for the encoder alone). */
  name?: string;
}

/** {@link AutoencoderArgs} with every default filled in and the derived lengths. */
export interface ResolvedAutoencoderArgs
  extends Required<Omit<AutoencoderArgs, "filters" | "name">> {
  /** Filters per encoder block. */
  filters: number[];
  /** Length before each pooling (index 0 = input) and after the last: 100, 50, 25, 12. */
  lengths: number[];
  /** Flattened size before the representation (lengths.at(-1) × last filters = 1536). */
  flatDim: number;
}

/** Validate {@link AutoencoderArgs} and fill in the defaults (ConfigError naming the field). */
export function resolveAutoencoderArgs(args: AutoencoderArgs = {}): ResolvedAutoencoderArgs {
  const w = "autoencoder";
  const inputSamples = posInt(w, "inputSamples", args.inputSamples ?? 100);
  const filters = intList(w, "filters", args.filters ?? [32, 64, 128]);
  const poolSize = posInt(w, "poolSize", args.poolSize ?? 2);
  const lengths = [inputSamples];
  for (let i = 0; i < filters.length; i++) {
    const l = Math.floor(lengths[i] / poolSize);
    if (l < 1) {
      throw new ConfigError(
        `${w}: ${inputSamples} samples cannot be pooled ${filters.length} times by ${poolSize}`,
      );
    }
    lengths.push(l);
  }
  const momentum = args.batchNormMomentum ?? 0.9;
  if (!(momentum >= 0 && momentum <= 1)) {
    throw new ConfigError(`${w} batchNormMomentum: must be in [0, 1], got ${momentum}`);
  }
  const eps = args.batchNormEpsilon ?? 1e-5;
  if (!(eps > 0)) throw new ConfigError(`${w} batchNormEpsilon: must be > 0, got ${eps}`);
  return {
    inputSamples,
    channels: posInt(w, "channels", args.channels ?? 3),
    filters,
    kernelSize: posInt(w, "kernelSize", args.kernelSize ?? 3),
    poolSize,
    representationUnits: posInt(w, "representationUnits", args.representationUnits ?? 256),
    batchNormMomentum: momentum,
    batchNormEpsilon: eps,
    seed: args.seed ?? 0,
    lengths,
    flatDim: lengths[lengths.length - 1] * filters[filters.length - 1],
  };
}

function aeBlocks(a: ResolvedAutoencoderArgs) {
  const bn = (x: Sym, name: string) =>
    batchNormalization({ name, epsilon: a.batchNormEpsilon, momentum: a.batchNormMomentum })
      .apply(x) as Sym;
  const relu = (x: Sym, name: string) => tf.layers.reLU({ name }).apply(x) as Sym;
  // no bias where batch norm follows (its mean subtraction cancels a bias exactly)
  const conv = (x: Sym, name: string, filters: number, useBias = false) =>
    tf.layers.conv1d({
      name,
      filters,
      kernelSize: a.kernelSize,
      padding: "same",
      useBias,
      kernelInitializer: glorot(a.seed, name),
    }).apply(x) as Sym;
  return { bn, relu, conv };
}

/** The autoencoder's encoder on `x` → the representation. */
function aeEncode(a: ResolvedAutoencoderArgs, x: Sym): Sym {
  const { bn, relu, conv } = aeBlocks(a);
  let h = x;
  a.filters.forEach((f, i) => {
    const p = `${ENCODER_PREFIX}block${i + 1}_`;
    h = relu(bn(conv(h, `${p}conv`, f), `${p}bn`), `${p}relu`);
    h = tf.layers.maxPooling1d({
      name: `${p}pool`,
      poolSize: a.poolSize,
      strides: a.poolSize,
      padding: "valid",
    }).apply(h) as Sym;
  });
  h = tf.layers.flatten({ name: `${ENCODER_PREFIX}flatten` }).apply(h) as Sym;
  return tf.layers.dense({
    name: REPRESENTATION_LAYER,
    units: a.representationUnits,
    activation: "relu",
    kernelInitializer: glorot(a.seed, REPRESENTATION_LAYER),
  }).apply(h) as Sym;
}

/**
 * The encoder of {@link autoencoder} alone (same layer names, so the
 * pre-trained weights transfer by name): `[batch, 100, 3]` → `[batch, 256]`.
 */
export function autoencoderEncoder(args: AutoencoderArgs = {}): tf.LayersModel {
  const a = resolveAutoencoderArgs(args);
  const x = tf.input({ shape: [a.inputSamples, a.channels], name: "window" });
  return tf.model({ inputs: x, outputs: aeEncode(a, x), name: args.name ?? "autoencoder_encoder" });
}

/**
 * The 1-D convolutional autoencoder of §2.3 [D] (the [3] reference's 2-D VGG
 * blocks collapse 3 channels, so this is the spec's 1-D design):
 *
 * ```
 * encoder: [Conv1D(32, k3, same) → BN → ReLU → MaxPool 2] [50] → [… 64 …] [25] → [… 128 …] [12]
 *          → Flatten (1536) → Dense(256) + ReLU            (encoder_representation)
 * decoder: Dense(1536) → BN → ReLU → Reshape [12, 128] → Upsample ×2 [24] → zero-pad right 1 [25]
 *          → Conv1D(64, k3) → BN → ReLU → Upsample ×2 [50] → Conv1D(32, k3) → BN → ReLU
 *          → Upsample ×2 [100] → Conv1D(3, k3, linear)     (decoder_output)
 * ```
 *
 * (the right padding after each upsampling restores the length the matching
 * pooling floored away: 1, 0, 0 for 100 samples; convolutions and the dense
 * layer followed by batch norm have no bias, which the normalisation would
 * cancel). The output is linear, not
 * tanh: the data is in g, not z-scored (§2.3). Input `[batch, 100, 3]`, output
 * the reconstruction `[batch, 100, 3]` for the MSE (`reconstructionLoss`).
 *
 * @example
 * const ae = autoencoder();
 * const enc = autoencoderEncoder(); // then transferWeights(ae, enc, { select: dontFreezeEncoderWeights() })
 */
export function autoencoder(args: AutoencoderArgs = {}): tf.LayersModel {
  const a = resolveAutoencoderArgs(args);
  const { bn, relu, conv } = aeBlocks(a);
  const x = tf.input({ shape: [a.inputSamples, a.channels], name: "window" });
  const rep = aeEncode(a, x);
  const nb = a.filters.length;
  let h = tf.layers.dense({
    name: "decoder_dense",
    units: a.flatDim,
    useBias: false,
    kernelInitializer: glorot(a.seed, "decoder_dense"),
  }).apply(rep) as Sym;
  h = relu(bn(h, "decoder_dense_bn"), "decoder_dense_relu");
  h = tf.layers.reshape({
    name: "decoder_reshape",
    targetShape: [a.lengths[nb], a.filters[nb - 1]],
  }).apply(h) as Sym;
  for (let j = nb - 1; j >= 0; j--) {
    const p = `decoder_block${j + 1}_`;
    h = new UpSampling1D({ name: `${p}up`, size: a.poolSize }).apply(h) as Sym;
    const missing = a.lengths[j] - a.lengths[j + 1] * a.poolSize;
    if (missing > 0) {
      h = new ZeroPadding1D({ name: `${p}pad`, padding: [0, missing] }).apply(h) as Sym;
    }
    if (j > 0) h = relu(bn(conv(h, `${p}conv`, a.filters[j - 1]), `${p}bn`), `${p}relu`);
    else h = conv(h, "decoder_output", a.channels, true);
  }
  return tf.model({ inputs: x, outputs: h, name: args.name ?? "autoencoder" });
}
