/**
 * Mapping PyTorch state dicts onto our tfjs models (and back).
 *
 * Layers are named after PyTorch module paths (see `harnet.ts`), so a state
 * dict key `<module path>.<param>` maps onto the layer `<module path>`:
 *
 * | PyTorch                         | tfjs                                  |
 * |---------------------------------|---------------------------------------|
 * | Conv1d `weight` `[out, in, k]`  | Conv1D `kernel` `[k, in, out]`        |
 * | Linear `weight` `[out, in]`     | Dense `kernel` `[in, out]`            |
 * | Linear `bias`                   | Dense `bias`                          |
 * | BatchNorm1d `weight` / `bias`   | `gamma` / `beta`                      |
 * | `running_mean` / `running_var`  | `moving_mean` / `moving_variance`     |
 * | `num_batches_tracked`           | ignored                               |
 * | Downsample buffer `kernel`      | checked against our fixed filter      |
 *
 * Keys may carry DataParallel's `module.` prefix (the released
 * `mtl_best.mdl` does) or not.
 *
 * @example
 * const model = harnet10({ head: "mtl" });
 * const sd = await loadTorchStateDict("mtl_best.mdl");
 * const { missing, unexpected } = loadHarnetWeights(model, sd, { file: "mtl_best.mdl" });
 */
import * as tf from "@tensorflow/tfjs";
import { CheckpointError } from "../errors.ts";
import { checkFiniteTensor } from "./finite.ts";
import { AntiAliasDownsample1D, downsampleKernel } from "./layers.ts";
import type { StateDict, TorchTensor } from "./pytorch.ts";

/** Options of {@link loadHarnetWeights}. */
export interface LoadWeightsOptions {
  /**
   * Throw a {@link CheckpointError} when any model weight is missing from the
   * state dict or any state-dict key has no place in the model (default true,
   * as PyTorch's `load_state_dict`). Shape mismatches always throw.
   */
  strict?: boolean;
  /** Checkpoint name used in errors (default `"<state dict>"`). */
  file?: string;
}

/** What {@link loadHarnetWeights} did. */
export interface LoadWeightsResult {
  /** State-dict keys (prefix stripped) copied into the model. */
  loaded: string[];
  /** Keys the model expects but the state dict lacks (their weights are unchanged). */
  missing: string[];
  /** State-dict keys with no place in the model (e.g. MTL heads when loading an encoder). */
  unexpected: string[];
  /** Keys deliberately skipped (`num_batches_tracked`, verified Downsample kernels). */
  ignored: string[];
}

interface Slot {
  /** The model variable. */
  variable: tf.LayerVariable;
  /** PyTorch shape → tfjs array conversion. */
  kind: "conv1d" | "dense" | "plain";
}

/** Strip DataParallel / DistributedDataParallel `module.` prefixes. */
export function stripModulePrefix(key: string): string {
  return key.replace(/^(module\.)+/, "");
}

function weightBaseName(v: tf.LayerVariable): string {
  const parts = v.originalName.split("/");
  return parts[parts.length - 1].replace(/_\d+$/, "");
}

/** The PyTorch key for every variable of `model`, and the fixed Downsample kernels. */
function modelSlots(model: tf.LayersModel): {
  slots: Map<string, Slot>;
  buffers: Map<string, Float64Array>;
  ignorable: Set<string>;
} {
  const slots = new Map<string, Slot>();
  const buffers = new Map<string, Float64Array>();
  const ignorable = new Set<string>();
  const visit = (layer: tf.layers.Layer) => {
    const cls = layer.getClassName();
    if (cls === "Functional" || cls === "Model" || cls === "Sequential") {
      for (const l of (layer as tf.LayersModel).layers) visit(l);
      return;
    }
    if (layer instanceof AntiAliasDownsample1D) {
      buffers.set(`${layer.name}.kernel`, downsampleKernel(layer.factor, layer.order));
      return;
    }
    for (const v of layer.weights) {
      const base = weightBaseName(v);
      let torch: string;
      let kind: Slot["kind"] = "plain";
      if (cls === "Conv1D" && base === "kernel") (torch = "weight"), (kind = "conv1d");
      else if (cls === "Dense" && base === "kernel") (torch = "weight"), (kind = "dense");
      else if (base === "bias") torch = "bias";
      else if (base === "gamma") torch = "weight";
      else if (base === "beta") torch = "bias";
      else if (base === "moving_mean") torch = "running_mean";
      else if (base === "moving_variance") torch = "running_var";
      else torch = base;
      slots.set(`${layer.name}.${torch}`, { variable: v, kind });
    }
    if (cls === "BatchNormalization") ignorable.add(`${layer.name}.num_batches_tracked`);
  };
  for (const l of model.layers) visit(l);
  return { slots, buffers, ignorable };
}

/** The state-dict keys (unprefixed) a model's weights correspond to, in model order. */
export function stateDictKeys(model: tf.LayersModel): string[] {
  return [...modelSlots(model).slots.keys()];
}

function torchToTf(t: TorchTensor, kind: Slot["kind"]): { values: Float32Array; shape: number[] } {
  const src = t.data;
  const values = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) values[i] = Number(src[i]);
  if (kind === "conv1d") {
    const [o, c, k] = t.shape;
    const out = new Float32Array(values.length);
    for (let a = 0; a < o; a++) {
      for (let b = 0; b < c; b++) {
        for (let j = 0; j < k; j++) out[(j * c + b) * o + a] = values[(a * c + b) * k + j];
      }
    }
    return { values: out, shape: [k, c, o] };
  }
  if (kind === "dense") {
    const [o, i] = t.shape;
    const out = new Float32Array(values.length);
    for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) out[b * o + a] = values[a * i + b];
    return { values: out, shape: [i, o] };
  }
  return { values, shape: t.shape };
}

function tfToTorch(values: Float32Array, shape: number[], kind: Slot["kind"]): TorchTensor {
  if (kind === "conv1d") {
    const [k, c, o] = shape;
    const out = new Float32Array(values.length);
    for (let a = 0; a < o; a++) {
      for (let b = 0; b < c; b++) {
        for (let j = 0; j < k; j++) out[(a * c + b) * k + j] = values[(j * c + b) * o + a];
      }
    }
    return { shape: [o, c, k], dtype: "float32", data: out };
  }
  if (kind === "dense") {
    const [i, o] = shape;
    const out = new Float32Array(values.length);
    for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) out[a * i + b] = values[b * o + a];
    return { shape: [o, i], dtype: "float32", data: out };
  }
  return { shape: [...shape], dtype: "float32", data: Float32Array.from(values) };
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Copy a PyTorch state dict into `model` (a harnet or any model whose layer
 * names are PyTorch module paths). Keys with or without `module.` prefixes
 * are accepted. Returns the loaded / missing / unexpected / ignored keys;
 * with `strict` (default) missing or unexpected keys throw. A loaded tensor
 * holding NaN/±Inf throws a CheckpointError naming the file and the key.
 */
export function loadHarnetWeights(
  model: tf.LayersModel,
  stateDict: StateDict,
  opts: LoadWeightsOptions = {},
): LoadWeightsResult {
  const file = opts.file ?? "<state dict>";
  const strict = opts.strict ?? true;
  const { slots, buffers, ignorable } = modelSlots(model);
  const res: LoadWeightsResult = { loaded: [], missing: [], unexpected: [], ignored: [] };
  const seen = new Set<string>();
  const assign: [tf.LayerVariable, tf.Tensor][] = [];
  for (const [rawKey, t] of stateDict) {
    const key = stripModulePrefix(rawKey);
    seen.add(key);
    const slot = slots.get(key);
    if (slot) {
      const { values, shape } = torchToTf(t, slot.kind);
      if (!sameShape(shape, slot.variable.shape as number[])) {
        throw new CheckpointError(
          file,
          `size mismatch for '${rawKey}': checkpoint [${t.shape}] (tfjs [${shape}]), model expects tfjs [${slot.variable.shape}]`,
        );
      }
      try {
        // PyTorch order and shape, as the user knows the tensor (int64 cannot be non-finite)
        const d = t.data;
        if (!(d instanceof BigInt64Array || d instanceof BigUint64Array)) {
          checkFiniteTensor(file, rawKey, t.shape, d);
        }
      } catch (e) {
        assign.forEach(([, a]) => a.dispose());
        throw e;
      }
      assign.push([slot.variable, tf.tensor(values, shape, "float32")]);
      res.loaded.push(key);
      continue;
    }
    const kernel = buffers.get(key);
    if (kernel) {
      const k = kernel.length;
      const ok = t.shape.length === 3 && t.shape[1] === 1 && t.shape[2] === k &&
        Array.from(t.data, Number).every((v, i) => Math.abs(v - kernel[i % k]) < 1e-6);
      if (!ok) {
        throw new CheckpointError(
          file,
          `'${rawKey}' [${t.shape}] is not the Downsample filter this model uses ([${
            Array.from(kernel, (v) => v.toFixed(4))
          }]): different downsampling factor/order`,
        );
      }
      res.ignored.push(key);
      continue;
    }
    if (ignorable.has(key)) {
      res.ignored.push(key);
      continue;
    }
    res.unexpected.push(rawKey);
  }
  for (const key of slots.keys()) if (!seen.has(key)) res.missing.push(key);
  if (strict && (res.missing.length || res.unexpected.length)) {
    assign.forEach(([, t]) => t.dispose());
    const show = (l: string[]) =>
      l.slice(0, 5).join(", ") + (l.length > 5 ? `, … (${l.length})` : "");
    throw new CheckpointError(
      file,
      `state dict does not match the model` +
        (res.missing.length ? `; missing keys: ${show(res.missing)}` : "") +
        (res.unexpected.length ? `; unexpected keys: ${show(res.unexpected)}` : "") +
        " (pass { strict: false } to load the matching part)",
    );
  }
  for (const [v, t] of assign) {
    v.write(t);
    t.dispose();
  }
  return res;
}

/**
 * Export `model`'s weights as a PyTorch-layout state dict (keys without
 * prefix, float32), including `num_batches_tracked` (as 0) and the
 * Downsample `kernel` buffers, so `saveTorchStateDict` writes a checkpoint
 * that ssl-wearables' `Resnet.load_state_dict` accepts.
 */
export function exportStateDict(model: tf.LayersModel): StateDict {
  const { slots, buffers, ignorable } = modelSlots(model);
  const out: StateDict = new Map();
  for (const [key, slot] of slots) {
    const v = slot.variable.read();
    out.set(key, tfToTorch(v.dataSync() as Float32Array, v.shape, slot.kind));
  }
  for (const key of ignorable) {
    out.set(key, { shape: [], dtype: "int64", data: new BigInt64Array(1) });
  }
  for (const [key, kernel] of buffers) {
    const layer = model.getLayer(key.slice(0, -".kernel".length));
    const channels = (layer.outputShape as number[])[2];
    const data = new Float32Array(channels * kernel.length);
    for (let c = 0; c < channels; c++) data.set(kernel, c * kernel.length);
    out.set(key, { shape: [channels, 1, kernel.length], dtype: "float32", data });
  }
  return out;
}
