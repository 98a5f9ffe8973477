/**
 * Save and load trained models: the tfjs layers format (`model.json` +
 * `weights.bin`, loadable by `tf.loadLayersModel` anywhere) plus
 * `har.json` holding the experiment config and class names. Deno has no
 * `file://` handler in tfjs, so {@link fileIOHandler} provides one.
 *
 * Models using custom layers must have them registered
 * (`tf.serialization.registerClass`) before {@link loadModel}.
 *
 * @example
 * await saveModel(model, "results/run1/model", { classes, config: { windowSec: 10 } });
 * const { model: m, meta } = await loadModel("results/run1/model");
 * meta.classes; // ["sitting", ...]
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { CheckpointError } from "../errors.ts";
import { writeDirAtomic, writeTextAtomic } from "../fs.ts";
import { checkFiniteTensor } from "../models/finite.ts";
import { atomicWrite, readCheckpoint, type StoredTensor, writeCheckpoint } from "./checkpoint.ts";

/** The sidecar written next to the tfjs files. */
export interface SavedModelMeta {
  /** Format tag, `"har-model/1"`. */
  format: string;
  /** Free-form JSON config (spec, hyperparameters, input shape, …). */
  config: Record<string, unknown>;
  /** Class names indexed by output unit. */
  classes: string[];
  /** ISO time of saving. */
  savedAt: string;
  /** tfjs version that wrote the model. */
  tfjsVersion: string;
}

/** Options for {@link saveModel}. */
export interface SaveModelArgs {
  /** JSON config to store (default `{}`). */
  config?: Record<string, unknown>;
  /** Class names (default `[]`). */
  classes?: string[];
}

const MODEL_JSON = "model.json";
const WEIGHTS_BIN = "weights.bin";
const META_JSON = "har.json";

/** A tfjs IOHandler reading/writing `dir/model.json` + `dir/weights.bin`. */
export function fileIOHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      await Deno.mkdir(dir, { recursive: true });
      const weightData = artifacts.weightData === undefined
        ? new ArrayBuffer(0)
        : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJSON: Record<string, unknown> = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig) modelJSON.trainingConfig = artifacts.trainingConfig;
      if (artifacts.userDefinedMetadata) {
        modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
      }
      await atomicWrite(join(dir, WEIGHTS_BIN), new Uint8Array(weightData));
      await atomicWrite(join(dir, MODEL_JSON), new TextEncoder().encode(JSON.stringify(modelJSON)));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: "JSON",
          weightDataBytes: weightData.byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonPath = join(dir, MODEL_JSON);
      let modelJSON: tf.io.ModelJSON;
      try {
        modelJSON = JSON.parse(await Deno.readTextFile(jsonPath));
      } catch (e) {
        throw new CheckpointError(jsonPath, `cannot read tfjs model JSON: ${(e as Error).message}`);
      }
      if (!modelJSON.modelTopology) throw new CheckpointError(jsonPath, "no modelTopology field");
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: ArrayBuffer[] = [];
      for (const group of modelJSON.weightsManifest ?? []) {
        for (const w of group.weights) specs.push(w);
        for (const p of group.paths) {
          const bytes = await Deno.readFile(join(dir, p));
          buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
        }
      }
      return {
        modelTopology: modelJSON.modelTopology,
        format: modelJSON.format,
        generatedBy: modelJSON.generatedBy,
        convertedBy: modelJSON.convertedBy,
        trainingConfig: modelJSON.trainingConfig,
        userDefinedMetadata: modelJSON.userDefinedMetadata,
        weightSpecs: specs,
        weightData: tf.io.CompositeArrayBuffer.join(buffers),
      };
    },
  };
}

/**
 * Save a model (tfjs format) and its config/class names to `dir`, as one
 * atomic folder (`model.json`, `weights.bin`, `har.json` are swapped in
 * together: a killed save never pairs new weights with an old topology).
 */
export async function saveModel(
  model: tf.LayersModel,
  dir: string,
  args: SaveModelArgs = {},
): Promise<SavedModelMeta> {
  const meta: SavedModelMeta = {
    format: "har-model/1",
    config: args.config ?? {},
    classes: args.classes ?? [],
    savedAt: new Date().toISOString(),
    tfjsVersion: tf.version.tfjs,
  };
  await writeDirAtomic(dir, async (tmp) => {
    await model.save(fileIOHandler(tmp));
    await writeTextAtomic(join(tmp, META_JSON), JSON.stringify(meta, null, 2));
  }, { owns: [MODEL_JSON, WEIGHTS_BIN, META_JSON] });
  return meta;
}

/**
 * Load a model saved by {@link saveModel}.
 *
 * @throws CheckpointError when the metadata is unreadable or a weight holds
 *   NaN/±Inf (naming `weights.bin` and the weight).
 */
export async function loadModel(
  dir: string,
): Promise<{ model: tf.LayersModel; meta: SavedModelMeta }> {
  const model = await tf.loadLayersModel(fileIOHandler(dir));
  try {
    for (const w of model.weights) {
      checkFiniteTensor(
        join(dir, WEIGHTS_BIN),
        w.originalName,
        w.shape as number[],
        w.read().dataSync(),
      );
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  const metaPath = join(dir, META_JSON);
  let meta: SavedModelMeta;
  try {
    meta = JSON.parse(await Deno.readTextFile(metaPath));
  } catch (e) {
    throw new CheckpointError(metaPath, `cannot read model metadata: ${(e as Error).message}`);
  }
  if (meta.format !== "har-model/1") {
    throw new CheckpointError(metaPath, `unknown format "${meta.format}", expected "har-model/1"`);
  }
  return { model, meta };
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
 * @throws CheckpointError on a count or shape mismatch, or a weight holding
 *   NaN/±Inf (named with its index and name: a diverged or corrupted file).
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
  const stored = model.weights.map((w, i) => {
    const t = ck.tensors[`w/${i}`];
    if (!t || t.shape.join() !== w.shape.join()) {
      throw new CheckpointError(
        path,
        `weight ${i} ("${
          names[i]
        }"): shape [${t?.shape}] vs model [${w.shape}] ("${w.originalName}")`,
      );
    }
    checkFiniteTensor(path, `weight ${i} ("${names[i]}")`, t.shape, t.data);
    return t;
  });
  const values = stored.map((t) => tf.tensor(t.data, t.shape, "float32"));
  model.setWeights(values);
  values.forEach((v) => v.dispose());
  return ck.meta;
}
