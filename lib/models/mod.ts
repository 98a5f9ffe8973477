/**
 * Models layer: the harnet ResNet-V2 family (ssl-wearables), its heads, the
 * SelfPAB transformer encoder (transformer.ts), Gjoreski's spectro-temporal
 * Multi-ResNet (multi_resnet.ts), the custom tfjs layers they need, safe
 * PyTorch checkpoint loading and the mapping of PyTorch state dicts onto our
 * models.
 *
 * @example
 * import { harnet10, loadHarnetWeights, loadTorchStateDict } from "./lib/models/mod.ts";
 * const model = harnet10({ head: "mtl" });
 * loadHarnetWeights(model, await loadTorchStateDict("mtl_best.mdl"));
 */
export * from "./layers.ts";
export * from "./batchnorm.ts";
export * from "./heads.ts";
export * from "./harnet.ts";
export * from "./pytorch.ts";
export * from "./weights.ts";
export * from "./finite.ts";
export * from "./forest.ts";
export * from "./lstm.ts";
export * from "./transformer.ts";
export * from "./multi_resnet.ts";
export * from "./selfpab.ts";
export * from "./dontfreeze_encoders.ts";
export * from "./dontfreeze_classifier.ts";
