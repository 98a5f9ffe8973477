/**
 * Child process for the kill-and-resume test (not a test file).
 *
 * Usage: deno run -A tests/train/_fit_child.ts <checkpointDir> <out.json> [slowMsPerStep]
 * Trains a small conv model with dropout, batch norm, AdamW, warm-up/decay,
 * freezing with unfreezing at 50 %, early stopping and periodic checkpoints,
 * then writes the final weights and history (without timings) to out.json.
 */
import { fit } from "../../lib/train/loop.ts";
import { linearWarmupDecay } from "../../lib/train/schedules.ts";
import { convModel, flatWeights, toyData, useCpu } from "./_fixtures.ts";

const [ckptDir, outFile, slow] = Deno.args;
const slowMs = Number(slow ?? 0);
await useCpu();
const model = convModel(11, { dropout: 0.3, batchNorm: true });
const train = toyData(96, 21);
// noisier validation so early stopping has something to do
const val = toyData(40, 22);
const batchSize = 16, epochs = 5;
const res = await fit(model, train, {
  epochs,
  batchSize,
  seed: 1234,
  optimizer: { name: "adamw", lr: 0.01, weightDecay: 0.01 },
  schedule: linearWarmupDecay({ lrPeak: 0.01, warmupSteps: 4, totalSteps: 30 }),
  classWeights: "balanced",
  validation: val,
  earlyStopping: { monitor: "valLoss", patience: 10, restoreBest: true },
  freeze: "layer1_conv",
  unfreezeAtFraction: 0.5,
  checkpointDir: ckptDir,
  checkpointEverySteps: 4,
  channelsLast: true,
  progress: false,
  onStep: slowMs > 0 ? () => new Promise((r) => setTimeout(r, slowMs)) : undefined,
});
await Deno.writeTextFile(
  outFile,
  JSON.stringify({
    weights: flatWeights(model),
    rows: res.rows.map(({ seconds: _s, ...r }) => r),
    steps: res.steps,
    bestEpoch: res.bestEpoch,
    resumedFromStep: res.resumedFromStep,
  }),
);
