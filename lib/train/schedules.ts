/**
 * Learning-rate schedules as pure functions of the optimiser step
 * (0-based: step 0 is the first update). The training loop sets
 * `optimizer.lr = schedule.lrAt(step)` before every update.
 *
 * @example
 * const s = linearWarmupDecay({ lrPeak: 1e-3, warmupSteps: 100, totalSteps: 1000 });
 * s.lrAt(0);    // 0 (transformers' get_linear_schedule_with_warmup)
 * s.lrAt(50);   // 5e-4
 * s.lrAt(100);  // 1e-3
 * s.lrAt(1000); // 0
 */
import { ConfigError } from "../errors.ts";

/** A learning-rate schedule. */
export interface Schedule {
  /** Kind, for history/spec output. */
  readonly name: string;
  /** Learning rate for optimiser step `step` (0-based). */
  lrAt(step: number): number;
}

/** Options for {@link constantLr}. */
export interface ConstantArgs {
  /** The learning rate. */
  lr: number;
}

/** The same learning rate at every step. */
export function constantLr(args: ConstantArgs): Schedule {
  checkLr("constantLr lr", args.lr);
  return { name: "constant", lrAt: () => args.lr };
}

/** Options for {@link linearWarmupDecay}. */
export interface LinearWarmupDecayArgs {
  /** Peak learning rate, reached at the end of warm-up. */
  lrPeak: number;
  /** Steps of linear warm-up from 0 to `lrPeak`. */
  warmupSteps: number;
  /** Total optimiser steps; the rate decays linearly to 0 at this step. */
  totalSteps: number;
}

/**
 * Linear warm-up then linear decay to 0 (SelfPAB; transformers'
 * `get_linear_schedule_with_warmup`): `lr = lrPeak·step/warmup` for
 * `step < warmup`, else `lrPeak·max(0, (total − step)/(total − warmup))`.
 */
export function linearWarmupDecay(args: LinearWarmupDecayArgs): Schedule {
  const { lrPeak, warmupSteps, totalSteps } = args;
  checkLr("linearWarmupDecay lrPeak", lrPeak);
  if (!(warmupSteps >= 0) || !(totalSteps >= warmupSteps)) {
    throw new ConfigError(
      `linearWarmupDecay: need 0 <= warmupSteps <= totalSteps, got ${warmupSteps}, ${totalSteps}`,
    );
  }
  return {
    name: "linearWarmupDecay",
    lrAt(step: number): number {
      if (step < warmupSteps) return lrPeak * step / Math.max(1, warmupSteps);
      return lrPeak * Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
    },
  };
}

/** Options for {@link exponentialDecay}. */
export interface ExponentialDecayArgs {
  /** Initial learning rate. */
  lr: number;
  /** Multiplicative factor per decay period (PyTorch `ExponentialLR(gamma)`). */
  gamma: number;
  /**
   * Steps per decay period (default 1). Set it to the steps per epoch for
   * PyTorch's per-epoch `ExponentialLR`.
   */
  stepsPerDecay?: number;
}

/** `lr·gamma^floor(step / stepsPerDecay)`. */
export function exponentialDecay(args: ExponentialDecayArgs): Schedule {
  const { lr, gamma, stepsPerDecay = 1 } = args;
  checkLr("exponentialDecay lr", lr);
  if (!(gamma > 0)) throw new ConfigError(`exponentialDecay gamma: must be > 0, got ${gamma}`);
  if (!(stepsPerDecay >= 1)) {
    throw new ConfigError(`exponentialDecay stepsPerDecay: must be >= 1, got ${stepsPerDecay}`);
  }
  return {
    name: "exponentialDecay",
    lrAt: (step: number) => lr * Math.pow(gamma, Math.floor(step / stepsPerDecay)),
  };
}

function checkLr(field: string, lr: number): void {
  if (!(lr >= 0) || !Number.isFinite(lr)) {
    throw new ConfigError(`${field}: must be a finite number >= 0, got ${lr}`);
  }
}
