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
 * Linear warm-up from 0 then linear decay to 0 (transformers'
 * `get_linear_schedule_with_warmup`; SelfPAB's own schedule, which warms up
 * from and decays to `lrPeak·0.01`, is {@link linearWuSchedule}): `lr = lrPeak·step/warmup` for
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

/** Options for {@link linearWuSchedule}. */
export interface LinearWuScheduleArgs {
  /** Peak learning rate (SelfPAB: 1e-4, the optimiser's initial lr). */
  lrPeak: number;
  /** Total optimiser steps (`len(train_dl)·epochs`); the rate reaches `lrEnd` at the last one. */
  totalSteps: number;
  /** Fraction (0–1) of `totalSteps` spent warming up (default 0.07). */
  warmupFraction?: number;
  /** Learning rate at the start of the warm-up and at the end (default `lrPeak·0.01`, SelfPAB's). */
  lrEnd?: number;
  /**
   * The first step uses `lrPeak` (default true): the reference sets the
   * rate only after each optimiser step, so step 1 runs at the optimiser's
   * initial lr, the peak. False: step 1 uses the formula (≈ `lrEnd`).
   */
  firstStepPeak?: boolean;
}

/**
 * SelfPAB's `LinearWUSchedule` (src/models.py; spec §2.4) exactly as applied:
 * optimiser step k (1-based, `k = step + 1`) uses, with `p = min(k/total, 1)`
 * and `w` the warm-up fraction,
 * `p < w`: `(1 − p/(w + 1e-6))·lrEnd + p/(w + 1e-6)·lrPeak` (linear warm-up
 * from `lrEnd`); else `(1 − q)·lrPeak + q·lrEnd`, `q = (p − w)/(1 − w)`
 * (linear decay to `lrEnd` at the last step); and step 1 uses `lrPeak` (the
 * scheduler's quirk, see `firstStepPeak`). With the defaults (1e-4, 7 %):
 * step 1 = 1e-4, step 2 ≈ 1e-6, the peak at 7 % of the steps, 1e-6 at the end.
 *
 * @example
 * const s = linearWuSchedule({ lrPeak: 1e-4, totalSteps: 1000 });
 * s.lrAt(0);   // 1e-4 (step 1)
 * s.lrAt(1);   // 3.83e-6 (step 2)
 * s.lrAt(69);  // 1e-4 (step 70 = 7 %)
 * s.lrAt(999); // 1e-6
 */
export function linearWuSchedule(args: LinearWuScheduleArgs): Schedule {
  const { lrPeak, totalSteps } = args;
  const warm = args.warmupFraction ?? 0.07;
  const lrEnd = args.lrEnd ?? lrPeak * 0.01;
  const firstStepPeak = args.firstStepPeak ?? true;
  checkLr("linearWuSchedule lrPeak", lrPeak);
  checkLr("linearWuSchedule lrEnd", lrEnd);
  if (!Number.isInteger(totalSteps) || totalSteps < 1) {
    throw new ConfigError(
      `linearWuSchedule totalSteps: must be an integer >= 1, got ${totalSteps}`,
    );
  }
  if (!(warm >= 0 && warm < 1)) {
    throw new ConfigError(`linearWuSchedule warmupFraction: must be in [0, 1), got ${warm}`);
  }
  return {
    name: "linearWuSchedule",
    lrAt(step: number): number {
      const k = step + 1;
      if (k <= 1 && firstStepPeak) return lrPeak;
      const p = Math.min(k / totalSteps, 1);
      if (p < warm) {
        const pw = p / (warm + 1e-6);
        return (1 - pw) * lrEnd + pw * lrPeak;
      }
      const q = (p - warm) / (1 - warm);
      return (1 - q) * lrPeak + q * lrEnd;
    },
  };
}

/** Options for {@link exponentialTfDecay}. */
export interface ExponentialTfDecayArgs {
  /** Initial learning rate (the first step's; SelfPAB downstream: 1e-4). */
  lr: number;
  /** Steps over which the rate is multiplied by `decayRate` (default 200, SelfPAB's). */
  decaySteps?: number;
  /** Factor per `decaySteps` steps, applied continuously (default 0.8, SelfPAB's; the paper says 0.1). */
  decayRate?: number;
}

/**
 * SelfPAB's `ExponentialTFDecay` (`ExponentialSchedule`, src/models.py; spec
 * §3.3), TensorFlow's continuous `ExponentialDecay`: optimiser step k
 * (1-based) uses `lr·decayRate^((k − 1)/decaySteps)`, i.e.
 * `lrAt(step) = lr·decayRate^(step/decaySteps)` (0-based; not staircased).
 *
 * @example
 * const s = exponentialTfDecay({ lr: 1e-4 });
 * s.lrAt(0);   // 1e-4
 * s.lrAt(200); // 8e-5
 * s.lrAt(400); // 6.4e-5
 */
export function exponentialTfDecay(args: ExponentialTfDecayArgs): Schedule {
  const { lr } = args;
  const decaySteps = args.decaySteps ?? 200;
  const decayRate = args.decayRate ?? 0.8;
  checkLr("exponentialTfDecay lr", lr);
  if (!(decaySteps > 0) || !Number.isFinite(decaySteps)) {
    throw new ConfigError(`exponentialTfDecay decaySteps: must be > 0, got ${decaySteps}`);
  }
  if (!(decayRate > 0) || !Number.isFinite(decayRate)) {
    throw new ConfigError(`exponentialTfDecay decayRate: must be > 0, got ${decayRate}`);
  }
  return {
    name: "exponentialTfDecay",
    lrAt: (step: number) => lr * Math.pow(decayRate, step / decaySteps),
  };
}

/** Options for {@link kerasDecay}. */
export interface KerasDecayArgs {
  /** Initial learning rate (Gjoreski et al.: 1e-3). */
  lr: number;
  /** Keras' legacy optimiser `decay` per step (Gjoreski et al.: 1e-3; 0: constant). */
  decay: number;
}

/**
 * Keras' legacy optimiser argument `decay` (Keras ≤ 2.2 `Adam(lr, decay)`,
 * the "learning rate of 10^-3 and a decay of 10^-3" of Gjoreski et al.):
 * inverse-time decay per optimiser step, `lrAt(step) = lr / (1 + decay·step)`
 * (0-based; Keras uses its `iterations` counter before the increment).
 *
 * @example
 * const s = kerasDecay({ lr: 1e-3, decay: 1e-3 });
 * s.lrAt(0);    // 1e-3
 * s.lrAt(1000); // 5e-4
 */
export function kerasDecay(args: KerasDecayArgs): Schedule {
  const { lr, decay } = args;
  checkLr("kerasDecay lr", lr);
  if (!(decay >= 0) || !Number.isFinite(decay)) {
    throw new ConfigError(`kerasDecay decay: must be a finite number >= 0, got ${decay}`);
  }
  return { name: "kerasDecay", lrAt: (step: number) => lr / (1 + decay * step) };
}

function checkLr(field: string, lr: number): void {
  if (!(lr >= 0) || !Number.isFinite(lr)) {
    throw new ConfigError(`${field}: must be a finite number >= 0, got ${lr}`);
  }
}
