/**
 * Per-epoch training history as plain rows and as an arquero table.
 *
 * @example
 * const t = historyTable(result.history); // columns epoch, trainLoss, valLoss, valF1, lr, seconds
 * t.print();
 */
import * as aq from "arquero";

/** One epoch of training. */
export interface EpochRecord {
  /** Epoch number, 1-based. */
  epoch: number;
  /** Mean training loss over the epoch's samples. */
  trainLoss: number;
  /** Validation loss (NaN without validation data). */
  valLoss: number;
  /** Validation macro F1 (NaN without validation data). */
  valF1: number;
  /** Learning rate of the epoch's last step. */
  lr: number;
  /** Wall-clock duration of the epoch (s), including validation. */
  seconds: number;
  /**
   * Further metrics of the epoch: `train/<name>` (means over the epoch of
   * what the loss reported, e.g. `train/aot/acc`), `val/<name>` (from a
   * validation source or callback).
   */
  [metric: string]: number;
}

/** The columns of a history table, in order. */
export const HISTORY_COLUMNS = ["epoch", "trainLoss", "valLoss", "valF1", "lr", "seconds"] as const;

/** An arquero table of the history (one row per epoch; the base columns, then any metrics). */
export function historyTable(rows: EpochRecord[]): aq.ColumnTable {
  const cols: Record<string, number[]> = {};
  const extra = [...new Set(rows.flatMap((r) => Object.keys(r)))]
    .filter((k) => !(HISTORY_COLUMNS as readonly string[]).includes(k));
  for (const c of [...HISTORY_COLUMNS, ...extra]) cols[c] = rows.map((r) => r[c] ?? NaN);
  return aq.table(cols);
}

/** Rows back from an arquero history table. */
export function historyRows(table: aq.ColumnTable): EpochRecord[] {
  return table.objects() as unknown as EpochRecord[];
}
