/**
 * Model factory for the metric-reporting tests (loaded by the trainer's
 * workers): the tiny classifier of _parallel_model.ts whose loss reports
 * metrics through `context.report` (see {@link buildReporting}).
 */
import * as tf from "@tensorflow/tfjs";
import type { ParallelModel } from "../../lib/backend/parallel.ts";
import { build, type TinyModelArgs } from "./_parallel_model.ts";

/** Arguments of {@link buildReporting}. */
export interface ReportingModelArgs extends TinyModelArgs {
  /**
   * Report a mistake instead of the metrics: `"twice"` reports `ce` twice,
   * `"vector"` reports a tensor of 4 values. Default none.
   */
  mistake?: "twice" | "vector";
}

/**
 * The replica of {@link build}, whose loss reports
 * - `ce`: the loss itself (a tf.Scalar);
 * - `class0`: the shard's share of class-0 targets, mean of `y[:, 0]` (a tf.Scalar);
 * - `worker`: the replica's worker index (a number);
 * - `only1`: 5, reported by worker 1 only.
 */
export function buildReporting(args: ReportingModelArgs): ParallelModel {
  const m = build(args);
  return {
    ...m,
    loss: (xs, ys, ctx) => {
      const loss = m.loss(xs, ys, ctx);
      const report = ctx?.report;
      if (!report) throw new Error("_parallel_report_model: no context.report given");
      if (args.mistake === "vector") report("ce", ys[0].mean(0));
      report("ce", loss);
      if (args.mistake === "twice") report("ce", loss);
      report("class0", ys[0].slice([0, 0], [-1, 1]).mean() as tf.Scalar);
      report("worker", ctx.worker);
      if (ctx.worker === 1) report("only1", 5);
      return loss;
    },
  };
}
