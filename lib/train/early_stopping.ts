/**
 * Early stopping on a validation metric with patience, plus the macro F1
 * it can monitor.
 *
 * @example
 * const es = new EarlyStopping({ monitor: "valF1", patience: 5 });
 * for (const epoch of epochs) {
 *   const { improved, stop } = es.update(valF1, epoch);
 *   if (improved) snapshotWeights();
 *   if (stop) break;
 * }
 */
import { ConfigError } from "../errors.ts";

/**
 * Macro-averaged F1 (sklearn `f1_score(average="macro")`): the mean F1 over
 * the labels present in `yTrue` or `yPred`; a label with no true and no
 * predicted sample is not counted, one with zero precision+recall scores 0.
 * Pairs with `yTrue < 0` (unlabelled) are skipped.
 */
export function macroF1(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  if (yTrue.length !== yPred.length) {
    throw new ConfigError(`macroF1: ${yTrue.length} true labels but ${yPred.length} predictions`);
  }
  const tp = new Map<number, number>(),
    fp = new Map<number, number>(),
    fn = new Map<number, number>();
  const inc = (m: Map<number, number>, k: number) => m.set(k, (m.get(k) ?? 0) + 1);
  const labels = new Set<number>();
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i], p = yPred[i];
    if (t < 0) continue;
    labels.add(t);
    labels.add(p);
    if (t === p) inc(tp, t);
    else {
      inc(fp, p);
      inc(fn, t);
    }
  }
  if (labels.size === 0) return 0;
  let sum = 0;
  for (const k of labels) {
    const a = tp.get(k) ?? 0, b = fp.get(k) ?? 0, c = fn.get(k) ?? 0;
    sum += a === 0 ? 0 : (2 * a) / (2 * a + b + c);
  }
  return sum / labels.size;
}

/** Options for {@link EarlyStopping}. */
export interface EarlyStoppingArgs {
  /**
   * Metric of the epoch record to watch: `"valLoss"` (lower is better),
   * `"valF1"` (higher is better), or any other key of the record (e.g. a
   * custom validation metric `"val/aot/acc"`), with `mode`.
   */
  monitor: string;
  /**
   * `"min"` (lower is better) or `"max"`. Default: `"min"` for names ending
   * in `loss` / `Loss`, `"max"` otherwise (F1, accuracy, kappa).
   */
  mode?: "min" | "max";
  /** Epochs without improvement before stopping (default 5). */
  patience?: number;
  /** Minimum change that counts as an improvement (default 0). */
  minDelta?: number;
  /** Restore the best epoch's weights at the end of training (default true). */
  restoreBest?: boolean;
}

/** Serialisable early-stopping state. */
export interface EarlyStoppingState {
  /** Best value so far (null before the first epoch). */
  best: number | null;
  /** Epoch (0-based) of the best value, -1 before the first. */
  bestEpoch: number;
  /** Epochs since the last improvement. */
  wait: number;
}

/** Patience-based early stopping (ssl-wearables / Keras semantics). */
export class EarlyStopping {
  readonly monitor: string;
  readonly mode: "min" | "max";
  readonly patience: number;
  readonly minDelta: number;
  readonly restoreBest: boolean;
  best: number | null = null;
  bestEpoch = -1;
  wait = 0;

  constructor(args: EarlyStoppingArgs) {
    if (typeof args.monitor !== "string" || args.monitor === "") {
      throw new ConfigError(`earlyStopping monitor: a metric name, got ${String(args.monitor)}`);
    }
    if (args.mode !== undefined && args.mode !== "min" && args.mode !== "max") {
      throw new ConfigError(`earlyStopping mode: "min" or "max", got "${args.mode}"`);
    }
    this.monitor = args.monitor;
    this.mode = args.mode ?? (/loss$/i.test(args.monitor) ? "min" : "max");
    this.patience = args.patience ?? 5;
    this.minDelta = args.minDelta ?? 0;
    this.restoreBest = args.restoreBest ?? true;
    if (!(this.patience >= 1)) {
      throw new ConfigError(`earlyStopping patience: must be >= 1, got ${this.patience}`);
    }
  }

  /** Record one epoch's value; says whether it improved and whether to stop. */
  update(value: number, epoch: number): { improved: boolean; stop: boolean } {
    const better = this.best === null ||
      (this.mode === "min" ? value < this.best - this.minDelta : value > this.best + this.minDelta);
    if (better) {
      this.best = value;
      this.bestEpoch = epoch;
      this.wait = 0;
      return { improved: true, stop: false };
    }
    this.wait++;
    return { improved: false, stop: this.wait >= this.patience };
  }

  /** State for checkpoints. */
  getState(): EarlyStoppingState {
    return { best: this.best, bestEpoch: this.bestEpoch, wait: this.wait };
  }

  /** Restore from {@link EarlyStopping.getState}. */
  setState(s: EarlyStoppingState): void {
    this.best = s.best;
    this.bestEpoch = s.bestEpoch;
    this.wait = s.wait;
  }
}
