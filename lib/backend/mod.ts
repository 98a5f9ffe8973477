/**
 * lib/backend: fast CPU training for TensorFlow.js — backend selection, wasm
 * training kernels, OpenBLAS through Deno FFI, our native C kernels
 * (compiled on the machine), data-parallel training on Web Workers.
 * @module
 */
export * from "./select.ts";
export * from "./blas.ts";
export * from "./heap_gemm.ts";
export * from "./install.ts";
export * from "./gradients.ts";
export * from "./native.ts";
export * from "./activation_kernels.ts";
export { hasNonFinite, NAN_GUARDED_KERNELS, nanGuardKernels, runOnCpu } from "./nan_guard.ts";
export { applyBiasActivation, callWasmKernel, heapBatchMatMul } from "./matmul_kernels.ts";
export {
  col2im,
  CONV_SCRATCH_FLOATS,
  heapConv2D,
  heapConv2DBackpropFilter,
  heapConv2DBackpropInput,
  im2col,
  nativeGeometry,
} from "./conv_kernels.ts";
export {
  BATCH_NORM_GRAD,
  BATCH_NORM_TRAIN,
  BATCH_NORM_TRAIN_GRAD,
  heapBatchNorm,
  heapBatchNormGrad,
  registerFastBatchNormGradient,
  unregisterFastBatchNormGradient,
} from "./norm_kernels.ts";
export {
  DataParallelTrainer,
  type DataParallelTrainerArgs,
  FlatOptimizer,
  type FlatOptimizerState,
  type HostTensor,
  importFactory,
  type ModelFactorySpec,
  ModelReplica,
  OPTIMIZER_KINDS,
  optimizerSlotNames,
  type ParallelModel,
  type ParallelOptimizerSpec,
  type ParallelStepOptions,
  type ParallelStepResult,
  partitionVariables,
  type ReplicaWeights,
  type ResolvedOptimizerSpec,
  type ResolvedTorchSpec,
  resolveOptimizerSpec,
  shardSizes,
  type StepContext,
  TorchUpdate,
} from "./parallel.ts";
