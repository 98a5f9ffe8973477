/**
 * Child process for loop_sources_test.ts's kill-and-resume test (not a test file).
 *
 * Usage: deno run -A tests/train/_fit_source_child.ts <checkpointDir> <out.json> <batch|generator> [slowMsPerStep]
 * Trains the BN-free conv model on 2 cpu workers from a batch source (the
 * random-access form, or the generator form), with Adam and a schedule, a
 * validation source, per-step validation and mid-epoch checkpoints every 3
 * steps, then writes the final weights, history (without timings) and
 * validation records to out.json.
 */
import { fit } from "../../lib/train/loop.ts";
import { linearWarmupDecay } from "../../lib/train/schedules.ts";
import { convModel, flatWeights, useCpu } from "./_fixtures.ts";
import { generatorSource, randomAccessSource } from "./_source_fixtures.ts";

const [ckptDir, outFile, form, slow] = Deno.args;
const slowMs = Number(slow ?? 0);
await useCpu();
const model = convModel(13);
const sizes = [15, 9, 15, 13, 11];
const source = form === "generator" ? generatorSource(sizes) : randomAccessSource(sizes);
const res = await fit(model, source, {
  epochs: 3,
  seed: 99,
  optimizer: { name: "adam", lr: 0.02 },
  schedule: linearWarmupDecay({ lrPeak: 0.02, warmupSteps: 3, totalSteps: 15 }),
  loss: { kind: "cross-entropy", args: { labelSmoothing: 0.05 } },
  validation: randomAccessSource([20, 20], { poolSeed: 8 }),
  validateEverySteps: 4,
  checkpointDir: ckptDir,
  checkpointEverySteps: 3,
  channelsLast: true,
  progress: false,
  workers: 2,
  workerBackend: ["cpu"],
  onStep: slowMs > 0 ? () => new Promise((r) => setTimeout(r, slowMs)) : undefined,
});
await Deno.writeTextFile(
  outFile,
  JSON.stringify({
    weights: flatWeights(model),
    rows: res.rows.map(({ seconds: _s, ...r }) => r),
    validations: res.validations,
    steps: res.steps,
    workers: res.workers,
    resumedFromStep: res.resumedFromStep,
  }),
);
