/**
 * Yuan et al.'s network as the platform sees it: the spec's harnet with the
 * multi-task head for pre-training, and the downstream recipe (classifier =
 * encoder + ssl-wearables' two-layer head, encoder = `feature_extractor.*`,
 * frozen features = the flattened encoder output).
 *
 * @example
 * const mtl = buildYuanModel(spec, "mtl");
 * const recipe = yuanRecipe(spec); // for evaluateDownstream
 */
import * as tf from "@tensorflow/tfjs";
import { CheckpointError } from "../../errors.ts";
import { harnet, harnetEncoder, predictArrays } from "../../models/harnet.ts";
import { harnetDense, type HarnetHead } from "../../models/heads.ts";
import { loadTorchStateDict } from "../../models/pytorch.ts";
import { loadHarnetWeights, type LoadWeightsResult } from "../../models/weights.ts";
import type { Windows } from "../../data/types.ts";
import type { DownstreamModel } from "../evaluator.ts";
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
    init: spec.model.init,
    seed: opts.seed ?? spec.seed,
  });
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

/**
 * Encoder features `[n, F]` of all windows (inference mode, batch-norm
 * running statistics), for the frozen setting and the UMAP.
 */
export function encoderFeatures(
  model: tf.LayersModel,
  w: Windows,
): { x: Float32Array; dim: number } {
  const enc = harnetEncoder(model);
  const [out] = predictArrays(enc, w.x, [w.n, w.channels, w.length], { batchSize: 128 });
  return { x: out.data, dim: out.shape[out.shape.length - 1] };
}

/**
 * The downstream recipe of the spec's harnet: scratch/fine-tuned classifier
 * = harnet + `"eva"` head; frozen = ssl-wearables' EvaClassifier (`dim →
 * hiddenUnits (ReLU) → classes`) on the encoder's features.
 */
export function yuanRecipe(spec: YuanSpec): DownstreamModel {
  return {
    classifier: ({ numClasses, seed }) => buildYuanModel(spec, "eva", { numClasses, seed }),
    encoderWeights: "feature_extractor",
    features: encoderFeatures,
    head: (dim, numClasses, seed) => {
      const input = tf.input({ shape: [dim] });
      const init = spec.model.init;
      const h = harnetDense("classifier.linear1", spec.model.hiddenUnits, seed, true, init)
        .apply(input);
      const out = harnetDense("classifier.linear2", numClasses, seed, false, init)
        .apply(h) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: out });
    },
  };
}
